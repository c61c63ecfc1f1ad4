/-
Copyright (c) QuantProof contributors.
-/
import QuantProof.Spectral

/-!
# The frozen block-diagonal "Leech" kernel computes standard attention (claim `s001_leech_geometric_attention`)

Seed 001: "`LeechAttention` – multi-head attention where Q and K are transformed by the frozen
block-diagonal Leech matrix", "`generate_leech_kernel()` – returns a 24×24 orthogonal matrix", and
the config "asserts that head_dim is a multiple of 24". So within one head the coordinates are
`Fin 24 × Fin h` (position in block, block) and the kernel is `blockDiagonal B` with orthogonal
`24 × 24` blocks `B b`. For every choice of projections `W_q, W_k` (model width `m` to head width
`24 h`), every query input, every key input and every value, the head's softmax attention with the
kernel equals the one without it: the two are the same function of the parameters and the inputs,
so the forward pass and every gradient coincide. A leaf module: nothing imports it.
-/

noncomputable section

namespace QuantProof

/-- Claim `s001_leech_geometric_attention` (seed 001), refutation: for orthogonal `24 × 24` blocks
`B b`, the attention head with queries and keys transformed by `blockDiagonal B` is, as a function
of the projections `W_q, W_k`, the query input `x`, the key inputs `y` and the values `V` (any
temperature `τ`), the same function as standard attention. -/
theorem leech_attention_eq_attention {h m n e : ℕ} (B : Fin h → Matrix (Fin 24) (Fin 24) ℝ)
    (hB : ∀ b, (B b)ᵀ * B b = 1) (τ : ℝ) :
    (fun (Wq Wk : Matrix (Fin 24 × Fin h) (Fin m) ℝ) (x : Fin m → ℝ) (y : Fin n → Fin m → ℝ)
        (V : Fin n → Fin e → ℝ) =>
      attend (fun j => dot (rotate (Matrix.blockDiagonal B) (Wq.mulVec x))
        (rotate (Matrix.blockDiagonal B) (Wk.mulVec (y j))) / τ) V) =
    fun Wq Wk x y V => attend (fun j => dot (Wq.mulVec x) (Wk.mulVec (y j)) / τ) V := by
  funext Wq Wk x y V
  simp only [leech_block_kernel_score_invariance B hB]

end QuantProof

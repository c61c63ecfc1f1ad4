/-
Copyright (c) QuantProof contributors.
-/
import QuantProof.Rotation

/-!
# Gauge invariance under RoPE: what is and is not free at deploy time (seed 003 §7)

Seed 003 argues "gauge invariance justifies free-at-deploy": since `(R q)·(R k) = q·k` for a shared
orthogonal `R` (`QuantProof.attention_score_gauge_invariance`), `R` could be folded into `W_q` and
`W_k`. In a RoPE model the score of a query at position `m` and a key at position `n` is
`(P_m q)·(P_n k) = qᵀ P_{n−m} k` with `P` the rotary matrices (`quantproof.math.attention.rope_matrix`:
each plane is rotated by `[[cos θ, −sin θ], [sin θ, cos θ]]`). Folding `R` into the projections acts
*before* RoPE, so the score becomes `(R q)ᵀ P_{n−m} (R k)`.

* `QuantProof.gauge_invariance_free_at_deploy_false` — refutation: with one RoPE plane (`d = 2`),
  the reflection `R = diag(1, −1)` (orthogonal) and `q = e₀`, `k = e₁`, the folded score is `sin θ`
  and the true score is `−sin θ`; they differ whenever `sin θ ≠ 0`, e.g. at relative distance 1
  (`θ = 1`, the first RoPE frequency `base⁰ = 1`): `gauge_invariance_free_at_deploy_false_at_one`.
* `QuantProof.gauge_rotation_after_rope` — corrected (a): applied to post-RoPE queries and keys, any
  orthogonal `R` leaves every score unchanged (it then costs a `d × d` product per token).
* `QuantProof.gauge_fold_before_rope_of_commute` — corrected (b): folded before RoPE, `R` leaves every
  score unchanged when it commutes with every `P_m` (e.g. a `2 × 2` rotation on each RoPE plane);
  models without RoPE are the case `P_m = 1`.
-/

noncomputable section

namespace QuantProof

open Finset

variable {ι : Type*} [Fintype ι] [DecidableEq ι]

/-- Corrected statement (a) of `gauge_invariance_free_at_deploy` (seed 003 §7): an orthogonal `R`
applied to the post-RoPE query `P_m q` and key `P_n k` leaves the score unchanged. -/
theorem gauge_rotation_after_rope (P : ℕ → Matrix ι ι ℝ) (R : Matrix ι ι ℝ) (hR : Rᵀ * R = 1)
    (m n : ℕ) (q k : ι → ℝ) :
    dot (rotate R (rotate (P m) q)) (rotate R (rotate (P n) k)) =
      dot (rotate (P m) q) (rotate (P n) k) :=
  dot_rotate_rotate_of_orthogonal R hR _ _

/-- Corrected statement (b) of `gauge_invariance_free_at_deploy` (seed 003 §7): if the orthogonal `R`
commutes with every RoPE matrix `P_m`, folding `R` into `W_q`, `W_k` (so that RoPE acts on `R q` and
`R k`) leaves every score unchanged. -/
theorem gauge_fold_before_rope_of_commute (P : ℕ → Matrix ι ι ℝ) (R : Matrix ι ι ℝ)
    (hR : Rᵀ * R = 1) (hcomm : ∀ m, R * P m = P m * R) (m n : ℕ) (q k : ι → ℝ) :
    dot (rotate (P m) (rotate R q)) (rotate (P n) (rotate R k)) =
      dot (rotate (P m) q) (rotate (P n) k) := by
  have hm : rotate (P m) (rotate R q) = rotate R (rotate (P m) q) := by
    rw [rotate_rotate, rotate_rotate, hcomm m]
  have hn : rotate (P n) (rotate R k) = rotate R (rotate (P n) k) := by
    rw [rotate_rotate, rotate_rotate, hcomm n]
  rw [hm, hn]
  exact dot_rotate_rotate_of_orthogonal R hR _ _

/-- One RoPE plane: rotation by the angle `θ`, `[[cos θ, −sin θ], [sin θ, cos θ]]` (the block of
`quantproof.math.attention.rope_matrix`). -/
def ropePlane (θ : ℝ) : Matrix (Fin 2) (Fin 2) ℝ :=
  !![Real.cos θ, -Real.sin θ; Real.sin θ, Real.cos θ]

/-- The reflection `diag(1, −1)`. -/
def reflect2 : Matrix (Fin 2) (Fin 2) ℝ := Matrix.diagonal ![1, -1]

/-- `e₀ = (1, 0)`. -/
def vecE0 : Fin 2 → ℝ := ![1, 0]

/-- `e₁ = (0, 1)`. -/
def vecE1 : Fin 2 → ℝ := ![0, 1]

theorem reflect2_orthogonal : reflect2ᵀ * reflect2 = 1 := by
  -- `Matrix.diagonal_transpose`, `Matrix.diagonal_mul_diagonal`, `Matrix.diagonal_one`
  rw [reflect2, Matrix.diagonal_transpose, Matrix.diagonal_mul_diagonal, ← Matrix.diagonal_one]
  congr 1
  funext i
  revert i
  -- the two diagonal entries, `1 · 1` and `(−1) · (−1)`
  simp only [Fin.forall_fin_two, Matrix.cons_val_zero, Matrix.cons_val_one, Matrix.head_cons]
  norm_num

theorem rotate_diagonal (w v : ι → ℝ) : rotate (Matrix.diagonal w) v = fun i => w i * v i := by
  funext i
  -- `Matrix.mulVec_diagonal : (diagonal v *ᵥ w) x = v x * w x`
  rw [rotate_eq_mulVec, Matrix.mulVec_diagonal]

/-- The two scores of the counterexample: folded before RoPE `sin θ`, true `−sin θ`. -/
theorem gauge_scores_2d (θ : ℝ) :
    dot (rotate reflect2 vecE0) (rotate (ropePlane θ) (rotate reflect2 vecE1)) = Real.sin θ ∧
      dot vecE0 (rotate (ropePlane θ) vecE1) = -Real.sin θ := by
  rw [reflect2, rotate_diagonal, rotate_diagonal]
  -- every index is `0` or `1`: read the entries off the literals, then `ring`
  constructor <;>
  · simp only [dot, rotate, Fin.sum_univ_two, ropePlane, vecE0, vecE1, Matrix.of_apply,
      Matrix.cons_val_zero, Matrix.cons_val_one, Matrix.head_cons]
    ring

/-- Claim `gauge_invariance_free_at_deploy` (seed 003 §7), refutation: `R = diag(1, −1)` is
orthogonal, yet folding it into `W_q`, `W_k` of a RoPE model changes the score
`qᵀ P_θ k` of `q = e₀`, `k = e₁` from `−sin θ` to `sin θ` whenever `sin θ ≠ 0`. -/
theorem gauge_invariance_free_at_deploy_false :
    reflect2ᵀ * reflect2 = 1 ∧
      ∀ θ : ℝ, Real.sin θ ≠ 0 →
        dot (rotate reflect2 vecE0) (rotate (ropePlane θ) (rotate reflect2 vecE1)) ≠
          dot vecE0 (rotate (ropePlane θ) vecE1) := by
  refine ⟨reflect2_orthogonal, fun θ hθ h => hθ ?_⟩
  rw [(gauge_scores_2d θ).1, (gauge_scores_2d θ).2] at h
  linarith

/-- The refutation at an actual RoPE angle: relative distance `1` on the first RoPE plane
(frequency `base⁰ = 1`) rotates by `θ = 1`, and `sin 1 > 0`. -/
theorem gauge_invariance_free_at_deploy_false_at_one :
    dot (rotate reflect2 vecE0) (rotate (ropePlane 1) (rotate reflect2 vecE1)) ≠
      dot vecE0 (rotate (ropePlane 1) vecE1) := by
  -- `Real.sin_pos_of_pos_of_lt_pi : 0 < x → x < π → 0 < sin x`, `Real.pi_gt_three`
  have h : 0 < Real.sin 1 := Real.sin_pos_of_pos_of_lt_pi one_pos (by linarith [Real.pi_gt_three])
  exact gauge_invariance_free_at_deploy_false.2 1 h.ne'

end QuantProof

/-
Copyright (c) QuantProof contributors.
-/
import QuantProof.SignQuant

/-!
# Replacing versus blending activations (seed 002, `s002_replacing_activations`)

Seed 002 says the compressed vectors "were scaled by a blend ratio `β` and re-injected into the
residual stream, effectively replacing the original activations", i.e. `h ↦ β · Q(h)`. Cosine
similarity ignores positive scale (`cosine_mul_left_pos`), so under that reading the mean cosine
`cos(h, β Q(h))` over any set of tokens is the same for every `β > 0`
(`meanCos_replace_indep`). The sweep behind the seeds reports mean cosines that fall with `β`
(`0.9979` at `β = 0.10`, `0.9288` at `β = 0.50`, seed 000's first table), which is impossible under
the "replacing" reading (`s002_replacing_activations_false`); a blend `(1 − β) h + β Q(h)`
(`quantproof.math.lattice.blend`) is what such a trend requires.
-/

noncomputable section

namespace QuantProof

open Finset

variable {d : ℕ}

theorem dot_mul_right (u v : Fin d → ℝ) (c : ℝ) : dot u (fun i => c * v i) = c * dot u v := by
  simp only [dot]
  rw [Finset.mul_sum]
  exact Finset.sum_congr rfl fun i _ => by ring

theorem sqNorm_mul (v : Fin d → ℝ) (c : ℝ) : sqNorm (fun i => c * v i) = c ^ 2 * sqNorm v := by
  simp only [sqNorm]
  rw [Finset.mul_sum]
  exact Finset.sum_congr rfl fun i _ => by ring

theorem l2_mul_of_nonneg (v : Fin d → ℝ) {c : ℝ} (hc : 0 ≤ c) : l2 (fun i => c * v i) = c * l2 v := by
  simp only [l2]
  rw [sqNorm_mul, Real.sqrt_mul (sq_nonneg c), Real.sqrt_sq hc]

/-- Cosine similarity is invariant under a positive rescaling of its second argument. -/
theorem cosine_mul_left_pos (u v : Fin d → ℝ) {c : ℝ} (hc : 0 < c) :
    cosine u (fun i => c * v i) = cosine u v := by
  rw [cosine, cosine, dot_mul_right, l2_mul_of_nonneg v hc.le,
    show l2 u * (c * l2 v) = c * (l2 u * l2 v) by ring]
  exact mul_div_mul_left _ _ hc.ne'

/-- Mean cosine over `n` tokens between `h t` and the replacement `β · q t`. -/
def meanCos {n : ℕ} (h q : Fin n → Fin d → ℝ) (β : ℝ) : ℝ :=
  (∑ t, cosine (h t) (fun i => β * q t i)) / n

/-- Under the "replacing" reading the mean cosine does not depend on `β > 0`. -/
theorem meanCos_replace_indep {n : ℕ} (h q : Fin n → Fin d → ℝ) {β β' : ℝ} (hβ : 0 < β)
    (hβ' : 0 < β') : meanCos h q β = meanCos h q β' := by
  unfold meanCos
  congr 1
  exact Finset.sum_congr rfl fun t _ => by
    rw [cosine_mul_left_pos _ _ hβ, cosine_mul_left_pos _ _ hβ']

/-- Claim `s002_replacing_activations` (seed 002), refutation: no activations `h` and quantized
vectors `q` (any number of tokens, any width) give mean cosines `0.9979` at `β = 0.10` and `0.9288`
at `β = 0.50` when the activations are replaced by `β · q`. -/
theorem s002_replacing_activations_false {n : ℕ} (h q : Fin n → Fin d → ℝ) :
    ¬ (meanCos h q (1 / 10) = 9979 / 10000 ∧ meanCos h q (1 / 2) = 9288 / 10000) := by
  rintro ⟨h1, h2⟩
  rw [meanCos_replace_indep h q (by norm_num : (0 : ℝ) < 1 / 10) (by norm_num : (0 : ℝ) < 1 / 2),
    h2] at h1
  norm_num at h1

end QuantProof

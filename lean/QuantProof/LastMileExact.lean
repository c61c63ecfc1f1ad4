/-
Copyright (c) QuantProof contributors.
-/
import QuantProof.LastMile

/-!
# Claim `beta_local_quadratic_expansion` as stated (seed 003 §5)

At a sign-lattice point `s ∈ {±1}^d`, for a perturbation `ε` that keeps every sign
(`sᵢ(sᵢ + εᵢ) ≥ 0`) with `s + ε ≠ 0`:

`1 − β(s + ε) = (d‖ε‖² − (s·ε)²) / (d‖s + ε‖²) = ‖P_{s⊥} ε‖² / ‖s + ε‖²`,

a positive-semidefinite quadratic form over a positive weight. Here `P_{s⊥} ε = ε − ((s·ε)/d) s` is
the orthogonal projection of `ε` onto `s⊥` (`‖s‖² = d`). A leaf module: nothing imports it.
-/

noncomputable section

namespace QuantProof

open Finset

variable {d : ℕ}

/-- `‖s‖² = d` on the sign lattice. -/
theorem sqNorm_signVec {s : Fin d → ℝ} (hs : IsSignVec s) : sqNorm s = d := by
  unfold sqNorm
  rw [Finset.sum_congr rfl fun i _ => hs.sq_eq_one i, sum_const_fin, mul_one]

/-- `d ‖P_{s⊥} ε‖² = d‖ε‖² − (s·ε)²` with `P_{s⊥} ε = ε − ((s·ε)/d) s`. -/
theorem natCast_mul_sqNorm_projOrth (hd : 0 < d) {s : Fin d → ℝ} (hs : IsSignVec s)
    (ε : Fin d → ℝ) :
    (d : ℝ) * sqNorm (fun i => ε i - dot s ε / d * s i) = (d : ℝ) * sqNorm ε - dot s ε ^ 2 := by
  have e : ∀ i, (ε i - dot s ε / d * s i) ^ 2
      = ε i ^ 2 - 2 * (dot s ε / d) * (s i * ε i) + (dot s ε / d) ^ 2 := by
    intro i
    linear_combination (dot s ε / d) ^ 2 * hs.sq_eq_one i
  have hsum : sqNorm (fun i => ε i - dot s ε / d * s i)
      = sqNorm ε - 2 * (dot s ε / d) * dot s ε + (d : ℝ) * (dot s ε / d) ^ 2 := by
    show ∑ i, (ε i - dot s ε / d * s i) ^ 2
      = ∑ i, ε i ^ 2 - 2 * (dot s ε / d) * ∑ i, s i * ε i + (d : ℝ) * (dot s ε / d) ^ 2
    rw [Finset.sum_congr rfl fun i _ => e i, Finset.sum_add_distrib, Finset.sum_sub_distrib,
      ← Finset.mul_sum, sum_const_fin]
  rw [hsum]
  -- `d (S − 2x²/d + x²/d) − (d S − x²) = x² (d·d⁻¹ − 1)²`
  linear_combination (dot s ε ^ 2 * ((d : ℝ) * (d : ℝ)⁻¹ - 1)) * natCast_mul_inv hd

/-- Claim `beta_local_quadratic_expansion` (seed 003 §5) as stated: for `s ∈ {±1}^d` (`d ≥ 1`)
and `ε` with `sᵢ(sᵢ + εᵢ) ≥ 0` for all `i` and `s + ε ≠ 0`,
`1 − β(s + ε) = (d‖ε‖² − (s·ε)²)/(d‖s + ε‖²) = ‖P_{s⊥}ε‖²/‖s + ε‖²` with
`P_{s⊥}ε = ε − ((s·ε)/d) s`, the numerator `d‖ε‖² − (s·ε)²` is nonnegative (a PSD quadratic
form in `ε`) and the weight `d‖s + ε‖²` is positive. -/
theorem beta_local_quadratic_expansion_exact (hd : 0 < d) {s ε : Fin d → ℝ} (hs : IsSignVec s)
    (hnf : NoFlip s ε) (hk : s + ε ≠ 0) :
    1 - beta (s + ε) = ((d : ℝ) * sqNorm ε - dot s ε ^ 2) / ((d : ℝ) * sqNorm (s + ε)) ∧
      1 - beta (s + ε) = sqNorm (fun i => ε i - dot s ε / d * s i) / sqNorm (s + ε) ∧
      0 ≤ (d : ℝ) * sqNorm ε - dot s ε ^ 2 ∧ 0 < (d : ℝ) * sqNorm (s + ε) := by
  have h1 := beta_last_mile_quadratic_hardness hd hs hnf hk
  have hdpos : (0 : ℝ) < d := Nat.cast_pos.mpr hd
  refine ⟨h1, ?_, beta_hessian_nonneg hd hs ε, mul_pos hdpos (sqNorm_pos hk)⟩
  -- `mul_div_mul_left (a b : α) (hc : c ≠ 0) : c * a / (c * b) = a / b`
  rw [h1, ← natCast_mul_sqNorm_projOrth hd hs ε, mul_div_mul_left _ _ hdpos.ne']

end QuantProof

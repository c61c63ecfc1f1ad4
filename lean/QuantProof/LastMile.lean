/-
Copyright (c) QuantProof contributors.
-/
import QuantProof.SignQuant

/-!
# Last-mile quadratic hardness of `β` (seed 003 §5)

Near a sign-lattice point `s ∈ {±1}^d`, perturb to `k = s + ε` without flipping any sign
(`sᵢ(sᵢ + εᵢ) ≥ 0`, implied by `sgn(s + ε) = s`, see `noFlip_of_sgn`). Then, exactly,

`1 − β(s + ε) = (d ‖ε‖² − (s·ε)²) / (d ‖s + ε‖²)`,

and the numerator is a positive-semidefinite quadratic form in `ε` (Cauchy–Schwarz, since
`‖s‖² = d`). So the deficit `1 − β` vanishes to second order at the lattice: closing the last
mile to `β = 1` is quadratically hard. These back the claims
`beta_last_mile_quadratic_hardness`, `beta_local_quadratic_expansion` and `beta_hessian_nonneg`.
-/

noncomputable section

namespace QuantProof

open Finset

variable {d : ℕ}

/-- `s` is a point of the sign lattice `{±1}^d`. -/
def IsSignVec (s : Fin d → ℝ) : Prop := ∀ i, s i = 1 ∨ s i = -1

theorem IsSignVec.sq_eq_one {s : Fin d → ℝ} (hs : IsSignVec s) (i : Fin d) : s i ^ 2 = 1 := by
  rcases hs i with h | h <;> rw [h] <;> norm_num

/-- A perturbation `ε` keeps the signs of `s` ("no sign flips"): `sᵢ (sᵢ + εᵢ) ≥ 0`. -/
def NoFlip (s ε : Fin d → ℝ) : Prop := ∀ i, 0 ≤ s i * (s i + ε i)

/-- With the project convention `sgn 0 = +1`, keeping every `sgn` implies no flips. -/
theorem noFlip_of_sgn {s ε : Fin d → ℝ} (hsgn : ∀ i, sgn (s i + ε i) = s i) :
    NoFlip s ε := by
  intro i
  have h := mul_sgn_self (s i + ε i)
  rw [hsgn i] at h
  rw [mul_comm, h]
  exact abs_nonneg _

theorem l1_sign_add {s ε : Fin d → ℝ} (hs : IsSignVec s) (hnf : NoFlip s ε) :
    l1 (s + ε) = (d : ℝ) + dot s ε := by
  have h : ∀ i, |(s + ε) i| = 1 + s i * ε i := by
    intro i
    have hi := hnf i
    rw [Pi.add_apply]
    rcases hs i with h | h <;> rw [h] at hi ⊢
    · have h1 : 0 ≤ 1 + ε i := by linarith
      rw [abs_of_nonneg h1]; ring
    · have h1 : -1 + ε i ≤ 0 := by linarith
      rw [abs_of_nonpos h1]; ring
  simp only [l1]
  rw [Finset.sum_congr rfl fun i _ => h i, Finset.sum_add_distrib, sum_const_fin, mul_one, dot]

theorem sqNorm_sign_add {s ε : Fin d → ℝ} (hs : IsSignVec s) :
    sqNorm (s + ε) = (d : ℝ) + 2 * dot s ε + sqNorm ε := by
  have h : ∀ i, (s + ε) i ^ 2 = 1 + 2 * (s i * ε i) + ε i ^ 2 := by
    intro i
    rw [Pi.add_apply]
    rcases hs i with h | h <;> rw [h] <;> ring
  simp only [sqNorm, dot]
  rw [Finset.sum_congr rfl fun i _ => h i, Finset.sum_add_distrib, Finset.sum_add_distrib,
    sum_const_fin, mul_one, ← Finset.mul_sum]

/-- Claim `beta_last_mile_quadratic_hardness` (seed 003 §5; also the exact form of
`beta_local_quadratic_expansion`): at a sign-lattice point `s ∈ {±1}^d` (`d ≥ 1`) and a perturbation
`ε` with no sign flips (`sᵢ(sᵢ + εᵢ) ≥ 0`) and `s + ε ≠ 0`, the moment-ratio deficit is exactly
`1 − β(s + ε) = (d‖ε‖² − (s·ε)²) / (d ‖s + ε‖²)` — a positive-semidefinite quadratic form in `ε`
(`beta_hessian_nonneg`) over a positive weight, so `1 − β` vanishes to second order at the lattice. -/
theorem beta_last_mile_quadratic_hardness (hd : 0 < d) {s ε : Fin d → ℝ} (hs : IsSignVec s)
    (hnf : NoFlip s ε) (hk : s + ε ≠ 0) :
    1 - beta (s + ε) = ((d : ℝ) * sqNorm ε - dot s ε ^ 2) / ((d : ℝ) * sqNorm (s + ε)) := by
  have hS := sqNorm_pos hk
  have hD : (d : ℝ) * ((d : ℝ) + 2 * dot s ε + sqNorm ε) ≠ 0 := by
    rw [← sqNorm_sign_add hs]
    exact (mul_pos (Nat.cast_pos.mpr hd) hS).ne'
  rw [beta_eq hd, l1_sign_add hs hnf, sqNorm_sign_add hs]
  linear_combination (-1 : ℝ) * mul_inv_cancel₀ hD

/-- Claim `beta_hessian_nonneg` (seed 003 §5): the quadratic form in the numerator is positive
semidefinite, `(s·ε)² ≤ d ‖ε‖²` for every sign vector `s` (Cauchy–Schwarz with `‖s‖² = d`). -/
theorem beta_hessian_nonneg (hd : 0 < d) {s : Fin d → ℝ} (hs : IsSignVec s) (ε : Fin d → ℝ) :
    0 ≤ (d : ℝ) * sqNorm ε - dot s ε ^ 2 := by
  -- `Finset.sum_mul_sq_le_sq_mul_sq s f g : (∑ i ∈ s, f i * g i) ^ 2 ≤ (∑ i ∈ s, f i ^ 2) * ∑ i ∈ s, g i ^ 2`
  have hcs := Finset.sum_mul_sq_le_sq_mul_sq Finset.univ s ε
  have hs2 : ∑ i, s i ^ 2 = (d : ℝ) := by
    rw [Finset.sum_congr rfl fun i _ => hs.sq_eq_one i, sum_const_fin, mul_one]
  rw [hs2] at hcs
  show 0 ≤ (d : ℝ) * ∑ i, ε i ^ 2 - (∑ i, s i * ε i) ^ 2
  linarith

/-- Consequence: near the lattice the deficit is at most `‖ε‖² / ‖s + ε‖²`. -/
theorem one_sub_beta_le (hd : 0 < d) {s ε : Fin d → ℝ} (hs : IsSignVec s)
    (hnf : NoFlip s ε) (hk : s + ε ≠ 0) :
    1 - beta (s + ε) ≤ sqNorm ε / sqNorm (s + ε) := by
  rw [beta_last_mile_quadratic_hardness hd hs hnf hk]
  have hd' : (0 : ℝ) < d := Nat.cast_pos.mpr hd
  have hS := sqNorm_pos hk
  have e : ((d : ℝ) * sqNorm ε - dot s ε ^ 2) / ((d : ℝ) * sqNorm (s + ε))
      = sqNorm ε / sqNorm (s + ε) - dot s ε ^ 2 / ((d : ℝ) * sqNorm (s + ε)) := by
    linear_combination (sqNorm ε * (sqNorm (s + ε))⁻¹) * natCast_mul_inv hd
  have hnn : 0 ≤ dot s ε ^ 2 / ((d : ℝ) * sqNorm (s + ε)) :=
    div_nonneg (sq_nonneg _) (mul_pos hd' hS).le
  rw [e]
  linarith

/-- Claim `beta_local_quadratic_expansion` (seed 003 §5): along any ray `t ↦ s + t ε` that keeps
the signs, the deficit is exactly quadratic in `t` up to the normalising factor,
`1 − β(s + tε) = t² · (d‖ε‖² − (s·ε)²) / (d ‖s + tε‖²)`, with `‖s + tε‖² = d + 2t(s·ε) + t²‖ε‖²`
→ `d` as `t → 0`; the second-order coefficient is `(d‖ε‖² − (s·ε)²)/d² ≥ 0`
(`beta_hessian_nonneg`). -/
theorem beta_local_quadratic_expansion (hd : 0 < d) {s ε : Fin d → ℝ} (hs : IsSignVec s)
    (t : ℝ) (hnf : NoFlip s fun i => t * ε i) (hk : (s + fun i => t * ε i) ≠ 0) :
    1 - beta (s + fun i => t * ε i)
      = t ^ 2 * ((d : ℝ) * sqNorm ε - dot s ε ^ 2) / ((d : ℝ) * sqNorm (s + fun i => t * ε i)) ∧
    sqNorm (s + fun i => t * ε i) = (d : ℝ) + 2 * t * dot s ε + t ^ 2 * sqNorm ε := by
  have hsq : sqNorm (fun i => t * ε i) = t ^ 2 * sqNorm ε := by
    simp only [sqNorm, mul_pow]
    rw [Finset.mul_sum]
  have hdot : dot s (fun i => t * ε i) = t * dot s ε := by
    simp only [dot]
    rw [Finset.mul_sum]
    exact Finset.sum_congr rfl fun i _ => by ring
  refine ⟨?_, ?_⟩
  · rw [beta_last_mile_quadratic_hardness hd hs hnf hk, hsq, hdot]
    ring
  · rw [sqNorm_sign_add hs, hsq, hdot]
    ring

end QuantProof

/-
Copyright (c) QuantProof contributors.
-/
import QuantProof.Basic

/-!
# Moment ratio of the generalized Gaussian family (seed 003, `gg_shape_for_beta`)

Seed 003 says the coordinate law is "a symmetric generalised Gaussian with exponent `p` chosen so
that `μ₁²/μ₂ = β`", for every `β` on its chart, including the sign lattice `β = 1` and the learned
rotations' `β ∈ [0.919, 0.965]`. For the density `∝ exp(−|x|^p)`, `E|X| = Γ(2/p)/Γ(1/p)` and
`E X² = Γ(3/p)/Γ(1/p)`, so `β(p) = Γ(2/p)² / (Γ(1/p) Γ(3/p))`
(`quantproof.math.sign_quant.beta_generalized_gaussian`).

With `t = 1/p` and `Γ(s + 1) = s Γ(s)`, `β(p) = (3/4) · Γ(2t + 1)² / (Γ(t + 1) Γ(3t + 1))`, and
log-convexity of `Γ` on `(0, ∞)` (Mathlib's `Real.convexOn_log_Gamma`) at the midpoint `2t + 1` of
`t + 1` and `3t + 1` gives `Γ(2t + 1)² ≤ Γ(t + 1) Γ(3t + 1)`. Hence `β(p) ≤ 3/4` for every `p > 0`
(`ggBeta_le_three_quarters`): no generalized Gaussian has `β > 3/4`
(`gg_shape_for_beta_false`). Examples of the corrected statement: `β(1) = 1/2` (Laplace) and
`β(2) = 2/π` (Gaussian).
-/

noncomputable section

namespace QuantProof

/-- `β(p) = Γ(2/p)² / (Γ(1/p) Γ(3/p))`, the moment ratio of the density `∝ exp(−|x|^p)`. -/
def ggBeta (p : ℝ) : ℝ := Real.Gamma (2 / p) ^ 2 / (Real.Gamma (1 / p) * Real.Gamma (3 / p))

/-- Log-convexity of `Γ` at the midpoint: `Γ(2t + 1)² ≤ Γ(t + 1) Γ(3t + 1)` for `t > 0`. -/
theorem Gamma_mid_sq_le {t : ℝ} (ht : 0 < t) :
    Real.Gamma (2 * t + 1) ^ 2 ≤ Real.Gamma (t + 1) * Real.Gamma (3 * t + 1) := by
  have hx : t + 1 ∈ Set.Ioi (0 : ℝ) := Set.mem_Ioi.mpr (by linarith)
  have hy : 3 * t + 1 ∈ Set.Ioi (0 : ℝ) := Set.mem_Ioi.mpr (by linarith)
  -- `Real.convexOn_log_Gamma : ConvexOn ℝ (Set.Ioi 0) (Real.log ∘ Real.Gamma)`; `ConvexOn.2` reads
  -- `x ∈ s → y ∈ s → 0 ≤ a → 0 ≤ b → a + b = 1 → f (a • x + b • y) ≤ a • f x + b • f y`
  have hc := Real.convexOn_log_Gamma.2 hx hy (by norm_num : (0 : ℝ) ≤ 1 / 2)
    (by norm_num : (0 : ℝ) ≤ 1 / 2) (by norm_num)
  simp only [Function.comp_apply, smul_eq_mul] at hc
  have hmid : (1 / 2 : ℝ) * (t + 1) + 1 / 2 * (3 * t + 1) = 2 * t + 1 := by ring
  rw [hmid] at hc
  have hA : 0 < Real.Gamma (t + 1) := Real.Gamma_pos_of_pos (by linarith)
  have hB : 0 < Real.Gamma (3 * t + 1) := Real.Gamma_pos_of_pos (by linarith)
  have hM : 0 < Real.Gamma (2 * t + 1) := Real.Gamma_pos_of_pos (by linarith)
  -- `Real.log_pow : log (x ^ n) = n * log x`, `Real.log_mul : x ≠ 0 → y ≠ 0 → log (x * y) = …`,
  -- `Real.log_le_log_iff : 0 < x → 0 < y → (log x ≤ log y ↔ x ≤ y)`
  have hl : Real.log (Real.Gamma (2 * t + 1) ^ 2)
      ≤ Real.log (Real.Gamma (t + 1) * Real.Gamma (3 * t + 1)) := by
    rw [Real.log_pow, Real.log_mul hA.ne' hB.ne']
    push_cast
    linarith
  exact (Real.log_le_log_iff (pow_pos hM 2) (mul_pos hA hB)).mp hl

/-- `β(p) ≤ 3/4` for every `p > 0`. -/
theorem ggBeta_le_three_quarters {p : ℝ} (hp : 0 < p) : ggBeta p ≤ 3 / 4 := by
  have ht : 0 < 1 / p := one_div_pos.mpr hp
  have h2 : 2 / p = 2 * (1 / p) := by ring
  have h3 : 3 / p = 3 * (1 / p) := by ring
  unfold ggBeta
  rw [h2, h3]
  generalize 1 / p = t at ht ⊢
  have hsq := Gamma_mid_sq_le ht
  -- `Real.Gamma_add_one : s ≠ 0 → Γ(s + 1) = s Γ(s)`
  rw [Real.Gamma_add_one (by positivity : 2 * t ≠ 0), Real.Gamma_add_one ht.ne',
    Real.Gamma_add_one (by positivity : 3 * t ≠ 0)] at hsq
  have hG1 : 0 < Real.Gamma t := Real.Gamma_pos_of_pos ht
  have hG3 : 0 < Real.Gamma (3 * t) := Real.Gamma_pos_of_pos (by positivity)
  have hden : 0 < Real.Gamma t * Real.Gamma (3 * t) := mul_pos hG1 hG3
  have ht2 : 0 < t ^ 2 := pow_pos ht 2
  -- `hsq : (2t Γ(2t))² ≤ (t Γ(t)) (3t Γ(3t))`, i.e. `t² · 4Γ(2t)² ≤ t² · 3Γ(t)Γ(3t)`
  have key : Real.Gamma (2 * t) ^ 2 * 4 ≤ 3 * (Real.Gamma t * Real.Gamma (3 * t)) := by
    have h' : t ^ 2 * (Real.Gamma (2 * t) ^ 2 * 4) ≤ t ^ 2 * (3 * (Real.Gamma t * Real.Gamma (3 * t))) := by
      nlinarith [hsq]
    exact le_of_mul_le_mul_left h' ht2
  -- `div_le_iff₀ (hc : 0 < c) : a / c ≤ b ↔ a ≤ b * c`
  rw [div_le_iff₀ hden]
  linarith

theorem ggBeta_pos {p : ℝ} (hp : 0 < p) : 0 < ggBeta p := by
  unfold ggBeta
  have h1 : 0 < Real.Gamma (2 / p) := Real.Gamma_pos_of_pos (by positivity)
  have h2 : 0 < Real.Gamma (1 / p) := Real.Gamma_pos_of_pos (by positivity)
  have h3 : 0 < Real.Gamma (3 / p) := Real.Gamma_pos_of_pos (by positivity)
  exact div_pos (pow_pos h1 2) (mul_pos h2 h3)

/-- Claim `gg_shape_for_beta` (seed 003), refutation: no exponent `p > 0` gives a moment ratio
above `3/4`; in particular neither the sign lattice's `β = 1` nor any `β ∈ [0.919, 0.965]` of the
learned rotations is the `β` of a generalized Gaussian. -/
theorem gg_shape_for_beta_false :
    (∀ β : ℝ, 3 / 4 < β → ¬ ∃ p : ℝ, 0 < p ∧ ggBeta p = β) ∧
      (¬ ∃ p : ℝ, 0 < p ∧ ggBeta p = 1) ∧
      (∀ β : ℝ, 919 / 1000 ≤ β → ¬ ∃ p : ℝ, 0 < p ∧ ggBeta p = β) := by
  have main : ∀ β : ℝ, 3 / 4 < β → ¬ ∃ p : ℝ, 0 < p ∧ ggBeta p = β := by
    rintro β hβ ⟨p, hp, hpβ⟩
    have := ggBeta_le_three_quarters hp
    linarith
  exact ⟨main, main 1 (by norm_num), fun β hβ => main β (by linarith)⟩

theorem Gamma_two_eq : Real.Gamma 2 = 1 := by
  rw [show (2 : ℝ) = 1 + 1 by norm_num, Real.Gamma_add_one one_ne_zero, Real.Gamma_one, mul_one]

theorem Gamma_three_eq : Real.Gamma 3 = 2 := by
  rw [show (3 : ℝ) = 2 + 1 by norm_num, Real.Gamma_add_one two_ne_zero, Gamma_two_eq, mul_one]

/-- `β(1) = 1/2` (Laplace law). -/
theorem ggBeta_one : ggBeta 1 = 1 / 2 := by
  unfold ggBeta
  rw [div_one, div_one, div_one, Gamma_two_eq, Gamma_three_eq, Real.Gamma_one]
  norm_num

/-- `β(2) = 2/π` (Gaussian law), from `Γ(1/2) = √π` (`Real.Gamma_one_half_eq`). -/
theorem ggBeta_two : ggBeta 2 = 2 / Real.pi := by
  have hs : Real.Gamma (1 / 2) = Real.sqrt Real.pi := Real.Gamma_one_half_eq
  have h32 : Real.Gamma (3 / 2) = 1 / 2 * Real.sqrt Real.pi := by
    rw [show (3 / 2 : ℝ) = 1 / 2 + 1 by norm_num, Real.Gamma_add_one (by norm_num : (1 / 2 : ℝ) ≠ 0), hs]
  have hpi : Real.sqrt Real.pi * Real.sqrt Real.pi = Real.pi := Real.mul_self_sqrt Real.pi_pos.le
  have hden : Real.sqrt Real.pi * (1 / 2 * Real.sqrt Real.pi) = Real.pi / 2 := by
    linear_combination (1 / 2 : ℝ) * hpi
  unfold ggBeta
  rw [div_self (two_ne_zero : (2 : ℝ) ≠ 0), Real.Gamma_one, hs, h32, hden, one_pow, one_div_div]

/-- Claim `gg_shape_for_beta` (seed 003), corrected statement (the part proved here): the family
realises moment ratios only in `(0, 3/4]`, with `β(1) = 1/2` and `β(2) = 2/π` as examples. (The
property tests check numerically that every `β ∈ (0, 3/4)` is attained and `3/4` is not.) -/
theorem gg_shape_for_beta_corrected :
    (∀ p : ℝ, 0 < p → 0 < ggBeta p ∧ ggBeta p ≤ 3 / 4) ∧ ggBeta 1 = 1 / 2 ∧
      ggBeta 2 = 2 / Real.pi :=
  ⟨fun _ hp => ⟨ggBeta_pos hp, ggBeta_le_three_quarters hp⟩, ggBeta_one, ggBeta_two⟩

end QuantProof

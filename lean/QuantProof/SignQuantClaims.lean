/-
Copyright (c) QuantProof contributors.
-/
import QuantProof.Blend

/-!
# Seed 003 §1 as the claims state it

`QuantProof.SignQuant` proves the 1-bit identities for the project's least-squares scale
`α = ‖k‖₁ / d`. The claims say more, and this module states exactly that:

* `cos_sign_quant_formula_any_alpha` — `cos(k, α·sgn k) = ‖k‖₁ / (√d ‖k‖₂)` for **every** `α > 0`
  (claim `cos_sign_quant_formula`);
* `cos_eq_one_iff_sign_lattice_var` — `cos θ_k = 1` iff all `|kᵢ|` are equal iff `k ∈ {±a}^d` for
  some `a > 0`, and `1 − cos² θ_k = Var(|kᵢ|) / mean(kᵢ²)` (claim `cos_eq_one_iff_sign_lattice`).

A leaf module (nothing imports it), so a failure here blocks nothing else.
-/

noncomputable section

namespace QuantProof

open Finset

variable {d : ℕ}

/-- Claim `cos_sign_quant_formula` (seed 003 §1) as stated: for `d ≥ 1`, `k ≠ 0` and **any** scale
`α > 0`, the cosine between `k` and its 1-bit code `α · sgn(k)` (`sgn 0 = +1`) is
`‖k‖₁ / (√d · ‖k‖₂)`; in particular it does not depend on `α` (the least-squares `α = ‖k‖₁/d` is
`QuantProof.cos_sign_quant_formula`). -/
theorem cos_sign_quant_formula_any_alpha (hd : 0 < d) {k : Fin d → ℝ} (hk : k ≠ 0) {a : ℝ}
    (ha : 0 < a) : cosine k (fun i => a * sgn (k i)) = l1 k / (Real.sqrt d * l2 k) := by
  -- cosine ignores a positive scale of its second argument (`cosine_mul_left_pos`)
  have h1 : cosine k (fun i => a * sgn (k i)) = cosine k (fun i => sgn (k i)) :=
    cosine_mul_left_pos k (fun i => sgn (k i)) ha
  have h2 : cosSignQuant k = cosine k (fun i => sgn (k i)) :=
    cosine_mul_left_pos k (fun i => sgn (k i)) (alpha_pos hd hk)
  rw [h1, ← h2, cos_sign_quant_formula hd hk]

/-- All `|kᵢ|` equal to `α = ‖k‖₁/d` is the same as all `|kᵢ|` equal to each other. -/
theorem abs_eq_alpha_iff_abs_eq (hd : 0 < d) (k : Fin d → ℝ) :
    (∀ i, |k i| = alpha k) ↔ ∀ i j, |k i| = |k j| := by
  constructor
  · intro h i j
    rw [h i, h j]
  · intro h i
    have hl1 : l1 k = (d : ℝ) * |k i| := by
      unfold l1
      rw [Finset.sum_congr rfl fun j _ => h j i, sum_const_fin]
    rw [alpha, hl1, mul_div_cancel_left₀ _ (Nat.cast_ne_zero.mpr hd.ne')]

/-- `Var(|kᵢ|) = mean(kᵢ²) − mean(|kᵢ|)²`, written with the sum of squared deviations:
`∑ (|kᵢ| − ‖k‖₁/d)² = ‖k‖₂² − ‖k‖₁²/d`. -/
theorem sum_sq_abs_sub_mean (hd : 0 < d) (k : Fin d → ℝ) :
    ∑ i, (|k i| - l1 k / d) ^ 2 = sqNorm k - l1 k ^ 2 / d := by
  have e : ∀ i, (|k i| - l1 k / d) ^ 2 = k i ^ 2 - 2 * (l1 k / d) * |k i| + (l1 k / d) ^ 2 := by
    intro i
    rw [sub_sq, sq_abs]
    ring
  have hsum : ∑ i, (|k i| - l1 k / d) ^ 2
      = sqNorm k - 2 * (l1 k / d) * l1 k + (d : ℝ) * (l1 k / d) ^ 2 := by
    rw [Finset.sum_congr rfl fun i _ => e i, Finset.sum_add_distrib, Finset.sum_sub_distrib,
      ← Finset.mul_sum, sum_const_fin]
    rfl
  rw [hsum]
  linear_combination (l1 k ^ 2 * (d : ℝ)⁻¹) * natCast_mul_inv hd

/-- Claim `cos_eq_one_iff_sign_lattice` (seed 003 §1) as stated: for `d ≥ 1` and `k ≠ 0`,
`cos θ_k = 1` iff `|k₁| = … = |k_d|` iff `k ∈ {±a}^d` for some `a > 0`; and
`1 − cos² θ_k = Var(|kᵢ|) / mean(kᵢ²)` with `Var(|kᵢ|) = (1/d) ∑ (|kᵢ| − mean |kᵢ|)²`. -/
theorem cos_eq_one_iff_sign_lattice_var (hd : 0 < d) {k : Fin d → ℝ} (hk : k ≠ 0) :
    (cosSignQuant k = 1 ↔ ∀ i j, |k i| = |k j|) ∧
      (cosSignQuant k = 1 ↔ ∃ a : ℝ, 0 < a ∧ ∀ i, k i = a ∨ k i = -a) ∧
      1 - cosSignQuant k ^ 2 = (∑ i, (|k i| - l1 k / d) ^ 2) / d / (sqNorm k / d) := by
  have hcos := cos_eq_one_iff_sign_lattice hd hk
  have hall := abs_eq_alpha_iff_abs_eq hd k
  refine ⟨hcos.trans hall, ?_, ?_⟩
  · rw [hcos]
    constructor
    · intro h
      -- `abs_eq (hb : 0 ≤ b) : |a| = b ↔ a = b ∨ a = -b`
      exact ⟨alpha k, alpha_pos hd hk, fun i => (abs_eq (alpha_pos hd hk).le).mp (h i)⟩
    · rintro ⟨a, ha, h⟩
      refine hall.mpr fun i j => ?_
      rw [(abs_eq ha.le).mpr (h i), (abs_eq ha.le).mpr (h j)]
  · have hS : sqNorm k ≠ 0 := (sqNorm_pos hk).ne'
    have hD : (d : ℝ) ≠ 0 := Nat.cast_ne_zero.mpr hd.ne'
    rw [sum_sq_abs_sub_mean hd k, cos_sq_eq hd hk]
    -- `1 − L/(d S) = ((S − L/d)/d) / (S/d)`, cleared with `d · d⁻¹ = 1` and `S · S⁻¹ = 1`
    linear_combination (-(1 - l1 k ^ 2 * (d : ℝ)⁻¹ * (sqNorm k)⁻¹)) * mul_inv_cancel₀ hD +
      (-((d : ℝ) * (d : ℝ)⁻¹)) * mul_inv_cancel₀ hS

end QuantProof

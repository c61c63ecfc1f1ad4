/-
Copyright (c) QuantProof contributors.
-/
import QuantProof.Basic

/-!
# 1-bit sign quantization (seed 003 §1)

* `QuantProof.cos_sign_quant_formula` — `cos θ_k = ‖k‖₁ / (√d ‖k‖₂)`;
* `QuantProof.residual_energy_formula` — `‖k − Q(k)‖² / ‖k‖² = 1 − cos² θ_k = sin² θ_k`;
* `QuantProof.cos_eq_one_iff_sign_lattice` — `cos θ_k = 1 ↔ k ∈ {±α}^d`;
* moment-ratio facts: `β(k) = cos² θ_k`, `0 < β(k) ≤ 1`, reference values.

Proof style: every identity is reduced to explicit `Finset` sums; the field identities are closed
with `linear_combination` against an explicit `x * x⁻¹ = 1` (`mul_inv_cancel₀`), which keeps the
proofs independent of `field_simp`'s normal form.
-/

noncomputable section

namespace QuantProof

open Finset

variable {ι : Type*} [Fintype ι] {d : ℕ}

/-! ### `sgn` -/

theorem mul_sgn_self (x : ℝ) : x * sgn x = |x| := by
  unfold sgn
  split_ifs with h
  · rw [mul_one, abs_of_nonneg h]
  · rw [abs_of_neg (not_le.mp h)]; ring

theorem abs_mul_sgn (x : ℝ) : |x| * sgn x = x := by
  unfold sgn
  split_ifs with h
  · rw [mul_one, abs_of_nonneg h]
  · rw [abs_of_neg (not_le.mp h)]; ring

theorem sgn_sq (x : ℝ) : sgn x ^ 2 = 1 := by
  unfold sgn
  split_ifs <;> norm_num

theorem abs_sgn (x : ℝ) : |sgn x| = 1 := by
  unfold sgn
  split_ifs <;> norm_num

/-- `sgn 0 = +1` (the project convention; `Real.sign 0 = 0` differs). -/
theorem sgn_zero : sgn 0 = 1 := by
  unfold sgn
  rw [if_pos le_rfl]

/-! ### Elementary sum identities -/

theorem sum_const_fin (c : ℝ) : ∑ _i : Fin d, c = (d : ℝ) * c := by
  rw [Finset.sum_const, Finset.card_univ, Fintype.card_fin, nsmul_eq_mul]

theorem dot_comm (u v : ι → ℝ) : dot u v = dot v u := by
  unfold dot
  exact Finset.sum_congr rfl fun i _ => mul_comm (u i) (v i)

theorem dot_self (u : ι → ℝ) : dot u u = sqNorm u := by
  unfold dot sqNorm
  exact Finset.sum_congr rfl fun i _ => (sq (u i)).symm

theorem dot_sub_left (u v w : ι → ℝ) : dot (u - v) w = dot u w - dot v w := by
  simp only [dot, Pi.sub_apply, sub_mul, Finset.sum_sub_distrib]

theorem sqNorm_sub (u v : ι → ℝ) : sqNorm (u - v) = sqNorm u - 2 * dot u v + sqNorm v := by
  have h : ∀ i, (u - v) i ^ 2 = u i ^ 2 - 2 * (u i * v i) + v i ^ 2 := fun i => by
    simp only [Pi.sub_apply]; ring
  simp only [sqNorm, dot, h, Finset.sum_add_distrib, Finset.sum_sub_distrib, Finset.mul_sum]

theorem sqNorm_nonneg (k : ι → ℝ) : 0 ≤ sqNorm k :=
  Finset.sum_nonneg fun i _ => sq_nonneg (k i)

theorem sqNorm_zero : sqNorm (0 : ι → ℝ) = 0 := by
  simp [sqNorm]

theorem l1_nonneg (k : ι → ℝ) : 0 ≤ l1 k :=
  Finset.sum_nonneg fun i _ => abs_nonneg (k i)

theorem exists_ne_zero_of_ne_zero {k : ι → ℝ} (hk : k ≠ 0) : ∃ i, k i ≠ 0 := by
  by_contra h
  push_neg at h
  exact hk (funext h)

theorem sqNorm_pos {k : ι → ℝ} (hk : k ≠ 0) : 0 < sqNorm k := by
  obtain ⟨i, hi⟩ := exists_ne_zero_of_ne_zero hk
  exact Finset.sum_pos' (fun j _ => sq_nonneg (k j))
    ⟨i, Finset.mem_univ i, lt_of_le_of_ne (sq_nonneg (k i)) (Ne.symm (pow_ne_zero 2 hi))⟩

theorem l1_pos {k : ι → ℝ} (hk : k ≠ 0) : 0 < l1 k := by
  obtain ⟨i, hi⟩ := exists_ne_zero_of_ne_zero hk
  exact Finset.sum_pos' (fun j _ => abs_nonneg (k j)) ⟨i, Finset.mem_univ i, abs_pos.mpr hi⟩

theorem l2_pos {k : ι → ℝ} (hk : k ≠ 0) : 0 < l2 k :=
  Real.sqrt_pos.mpr (sqNorm_pos hk)

theorem l2_sq (k : ι → ℝ) : l2 k ^ 2 = sqNorm k :=
  Real.sq_sqrt (sqNorm_nonneg k)

theorem natCast_mul_inv (hd : 0 < d) : (d : ℝ) * (d : ℝ)⁻¹ = 1 :=
  mul_inv_cancel₀ (Nat.cast_ne_zero.mpr hd.ne')

/-! ### The quantizer -/

theorem alpha_pos (hd : 0 < d) {k : Fin d → ℝ} (hk : k ≠ 0) : 0 < alpha k :=
  div_pos (l1_pos hk) (Nat.cast_pos.mpr hd)

theorem dot_signQuant (k : Fin d → ℝ) : dot k (signQuant k) = alpha k * l1 k := by
  simp only [dot, signQuant, l1]
  rw [Finset.mul_sum]
  exact Finset.sum_congr rfl fun i _ => by rw [← mul_sgn_self]; ring

theorem sqNorm_signQuant (k : Fin d → ℝ) : sqNorm (signQuant k) = (d : ℝ) * alpha k ^ 2 := by
  simp only [sqNorm, signQuant, mul_pow, sgn_sq, mul_one]
  exact sum_const_fin _

theorem l2_signQuant (hd : 0 < d) {k : Fin d → ℝ} (hk : k ≠ 0) :
    l2 (signQuant k) = Real.sqrt d * alpha k := by
  rw [l2, sqNorm_signQuant, Real.sqrt_mul (Nat.cast_nonneg d), Real.sqrt_sq (alpha_pos hd hk).le]

/-- Claim `cos_sign_quant_formula` (seed 003 §1): for `d ≥ 1` and `k ≠ 0`, with
`Q(k) = α · sgn(k)`, `α = ‖k‖₁ / d`, `sgn 0 = +1`, the 1-bit cosine is
`cos θ_k = ‖k‖₁ / (√d · ‖k‖₂)`. (The seed says "on the unit sphere"; the formula is
scale-invariant, so no normalisation is needed.) -/
theorem cos_sign_quant_formula (hd : 0 < d) {k : Fin d → ℝ} (hk : k ≠ 0) :
    cosSignQuant k = l1 k / (Real.sqrt d * l2 k) := by
  have hα := alpha_pos hd hk
  have h2 := l2_pos hk
  have hsd : 0 < Real.sqrt d := Real.sqrt_pos.mpr (Nat.cast_pos.mpr hd)
  rw [cosSignQuant, cosine, dot_signQuant, l2_signQuant hd hk]
  rw [div_eq_div_iff (mul_pos h2 (mul_pos hsd hα)).ne' (mul_pos hsd h2).ne']
  ring

theorem cosSignQuant_pos (hd : 0 < d) {k : Fin d → ℝ} (hk : k ≠ 0) : 0 < cosSignQuant k := by
  rw [cos_sign_quant_formula hd hk]
  exact div_pos (l1_pos hk) (mul_pos (Real.sqrt_pos.mpr (Nat.cast_pos.mpr hd)) (l2_pos hk))

theorem cos_sq_eq (hd : 0 < d) {k : Fin d → ℝ} (hk : k ≠ 0) :
    cosSignQuant k ^ 2 = l1 k ^ 2 / ((d : ℝ) * sqNorm k) := by
  rw [cos_sign_quant_formula hd hk, div_pow, mul_pow, l2, Real.sq_sqrt (Nat.cast_nonneg d),
    Real.sq_sqrt (sqNorm_nonneg k)]

/-- `‖k − Q(k)‖² = ‖k‖² − ‖k‖₁² / d` (least-squares scale). -/
theorem sqNorm_sub_signQuant (hd : 0 < d) (k : Fin d → ℝ) :
    sqNorm (k - signQuant k) = sqNorm k - l1 k ^ 2 / d := by
  rw [sqNorm_sub, dot_signQuant, sqNorm_signQuant, alpha]
  linear_combination (l1 k ^ 2 * (d : ℝ)⁻¹) * natCast_mul_inv hd

/-- Claim `residual_energy_formula` (seed 003 §1): for `d ≥ 1` and `k ≠ 0`,
`‖k − Q(k)‖² / ‖k‖² = 1 − cos² θ_k` (`= sin² θ_k`). -/
theorem residual_energy_formula (hd : 0 < d) {k : Fin d → ℝ} (hk : k ≠ 0) :
    sqNorm (k - signQuant k) / sqNorm k = 1 - cosSignQuant k ^ 2 := by
  have hS : sqNorm k ≠ 0 := (sqNorm_pos hk).ne'
  rw [sqNorm_sub_signQuant hd, cos_sq_eq hd hk]
  linear_combination mul_inv_cancel₀ hS

theorem sqNorm_sub_signQuant_eq_mul (hd : 0 < d) {k : Fin d → ℝ} (hk : k ≠ 0) :
    sqNorm (k - signQuant k) = sqNorm k * (1 - cosSignQuant k ^ 2) := by
  have hS : sqNorm k ≠ 0 := (sqNorm_pos hk).ne'
  rw [sqNorm_sub_signQuant hd, cos_sq_eq hd hk]
  linear_combination (l1 k ^ 2 * (d : ℝ)⁻¹) * mul_inv_cancel₀ hS

theorem cosSignQuant_le_one (hd : 0 < d) {k : Fin d → ℝ} (hk : k ≠ 0) : cosSignQuant k ≤ 1 := by
  have h := sqNorm_sub_signQuant_eq_mul hd hk
  have hA := sqNorm_nonneg (k - signQuant k)
  have hS := sqNorm_pos hk
  have hc := cosSignQuant_pos hd hk
  have h1 : 0 ≤ 1 - cosSignQuant k ^ 2 := by
    by_contra hneg
    push_neg at hneg
    have : sqNorm k * (1 - cosSignQuant k ^ 2) < 0 := mul_neg_of_pos_of_neg hS hneg
    linarith
  nlinarith

/-- `c² = 1` and `c > 0` give `c = 1` (`(c − 1)(c + 1) = 0`). -/
theorem eq_one_of_sq_eq_one_of_pos {c : ℝ} (h : c ^ 2 = 1) (hc : 0 < c) : c = 1 := by
  have h' : (c - 1) * (c + 1) = 0 := by linear_combination h
  rcases mul_eq_zero.mp h' with h1 | h1
  · exact sub_eq_zero.mp h1
  · exfalso
    linarith

/-- Claim `cos_eq_one_iff_sign_lattice` (seed 003 §1): for `d ≥ 1` and `k ≠ 0`,
`cos θ_k = 1` iff every coordinate has magnitude `α = ‖k‖₁ / d`, i.e. `k ∈ {±α}^d`. -/
theorem cos_eq_one_iff_sign_lattice (hd : 0 < d) {k : Fin d → ℝ} (hk : k ≠ 0) :
    cosSignQuant k = 1 ↔ ∀ i, |k i| = alpha k := by
  have hres := sqNorm_sub_signQuant_eq_mul hd hk
  have hα := alpha_pos hd hk
  constructor
  · intro h1 i
    rw [h1] at hres
    have h0 : ∑ j, (k - signQuant k) j ^ 2 = 0 := by
      show sqNorm (k - signQuant k) = 0
      rw [hres]; ring
    have hall := (Finset.sum_eq_zero_iff_of_nonneg
      (fun j (_ : j ∈ Finset.univ) => sq_nonneg ((k - signQuant k) j))).mp h0
    have hi : (k - signQuant k) i = 0 := (pow_eq_zero_iff two_ne_zero).mp (hall i (Finset.mem_univ i))
    have hki : k i = alpha k * sgn (k i) := by
      rw [Pi.sub_apply, sub_eq_zero] at hi
      exact hi
    rw [hki, abs_mul, abs_sgn, mul_one, abs_of_pos hα]
  · intro h
    have h0 : sqNorm (k - signQuant k) = 0 := by
      show ∑ i, (k - signQuant k) i ^ 2 = 0
      apply Finset.sum_eq_zero
      intro i _
      have : k i = alpha k * sgn (k i) := by
        conv_lhs => rw [← abs_mul_sgn (k i)]
        rw [h i]
      simp only [Pi.sub_apply, signQuant]
      rw [← this]
      ring
    have hS := sqNorm_pos hk
    have hc := cosSignQuant_pos hd hk
    rw [h0] at hres
    have hc2 : cosSignQuant k ^ 2 = 1 := by
      have : sqNorm k * (1 - cosSignQuant k ^ 2) = 0 := hres.symm
      rcases mul_eq_zero.mp this with h' | h'
      · exact absurd h' hS.ne'
      · linarith
    exact eq_one_of_sq_eq_one_of_pos hc2 hc

/-! ### Moment ratio -/

theorem beta_eq (hd : 0 < d) (k : Fin d → ℝ) : beta k = l1 k ^ 2 / ((d : ℝ) * sqNorm k) := by
  -- `div_div_eq_mul_div : a / (b / c) = a * c / b` (avoids a nested inverse, which `ring`
  -- would treat as a fresh atom)
  rw [beta, div_div_eq_mul_div]
  linear_combination (l1 k ^ 2 * (sqNorm k)⁻¹ * (d : ℝ)⁻¹) * natCast_mul_inv hd

/-- The moment ratio of a vector is its squared 1-bit cosine, `β(k) = cos² θ_k`
(CONTRIBUTING §4). -/
theorem beta_eq_cos_sq (hd : 0 < d) {k : Fin d → ℝ} (hk : k ≠ 0) : beta k = cosSignQuant k ^ 2 := by
  rw [beta_eq hd, cos_sq_eq hd hk]

theorem beta_pos (hd : 0 < d) {k : Fin d → ℝ} (hk : k ≠ 0) : 0 < beta k := by
  rw [beta_eq_cos_sq hd hk]
  exact pow_pos (cosSignQuant_pos hd hk) 2

theorem beta_le_one (hd : 0 < d) {k : Fin d → ℝ} (hk : k ≠ 0) : beta k ≤ 1 := by
  rw [beta_eq_cos_sq hd hk]
  have h1 := cosSignQuant_le_one hd hk
  have h0 := cosSignQuant_pos hd hk
  -- `cos² = cos · cos ≤ cos · 1 ≤ 1`
  have h2 : cosSignQuant k * cosSignQuant k ≤ cosSignQuant k * 1 := mul_le_mul_of_nonneg_left h1 h0.le
  nlinarith

/-- `β(k) = 1` iff `k` lies on the sign lattice `{±α}^d`. -/
theorem beta_eq_one_iff (hd : 0 < d) {k : Fin d → ℝ} (hk : k ≠ 0) :
    beta k = 1 ↔ ∀ i, |k i| = alpha k := by
  rw [← cos_eq_one_iff_sign_lattice hd hk, beta_eq_cos_sq hd hk]
  constructor
  · intro h
    exact eq_one_of_sq_eq_one_of_pos h (cosSignQuant_pos hd hk)
  · intro h
    rw [h, one_pow]

/-- A constant vector is nonzero when `d ≥ 1`. -/
theorem const_ne_zero (hd : 0 < d) {c : ℝ} (hc : c ≠ 0) : (fun _ : Fin d => c) ≠ 0 := by
  intro h
  exact hc (congrFun h ⟨0, hd⟩)

/-- A vector with all coordinates equal (e.g. a sign-lattice point) has 1-bit cosine `1`. -/
theorem cosSignQuant_const (hd : 0 < d) {c : ℝ} (hc : c ≠ 0) :
    cosSignQuant (fun _ : Fin d => c) = 1 := by
  rw [cos_eq_one_iff_sign_lattice hd (const_ne_zero hd hc)]
  intro i
  simp only [alpha, l1]
  rw [sum_const_fin, eq_div_iff (Nat.cast_ne_zero.mpr hd.ne')]
  ring

/-- Reference value "sign lattice `β = 1`" (seed 003 §1). -/
theorem beta_const (hd : 0 < d) {c : ℝ} (hc : c ≠ 0) : beta (fun _ : Fin d => c) = 1 := by
  rw [beta_eq_cos_sq hd (const_ne_zero hd hc), cosSignQuant_const hd hc, one_pow]

/-- Reference value "uniform on `[-1, 1]`: `β = 3/4`" (seed 003 §1). `|X|` is uniform on
`[0, 1]`, so `E|X| = ∫₀¹ x dx` and `E X² = ∫₀¹ x² dx`. -/
theorem uniform_moment_ratio :
    momentRatio (∫ x in (0 : ℝ)..1, x) (∫ x in (0 : ℝ)..1, x ^ 2) = 3 / 4 := by
  -- `integral_id : ∫ x in a..b, x = (b ^ 2 - a ^ 2) / 2`,
  -- `integral_pow : ∫ x in a..b, x ^ n = (b ^ (n + 1) - a ^ (n + 1)) / (n + 1)` (root namespace)
  rw [momentRatio, integral_id, integral_pow]
  norm_num

/-- Reference value "Laplace `β = 1/2`" from its moments `E|X| = b`, `E X² = 2b²` (`b > 0`). -/
theorem laplace_moment_ratio {b : ℝ} (hb : 0 < b) : momentRatio b (2 * b ^ 2) = 1 / 2 := by
  have hb2 : b ^ 2 ≠ 0 := pow_ne_zero 2 hb.ne'
  rw [momentRatio]
  linear_combination (1 / 2 : ℝ) * mul_inv_cancel₀ hb2

/-- Claim `gaussian_moment_ratio_floor_eq` (seed 003 §2), arithmetic part: with the standard
Gaussian moments `E|X| = √(2/π)` and `E X² = 1`, the moment ratio is `2/π` and equals the square
of the isotropic floor `√(2/π)`. The analytic moment `E|X| = √(2/π)` itself is stated in
`QuantProofOpen.GaussianMoments`. -/
theorem gaussian_moment_ratio_floor_eq :
    momentRatio (Real.sqrt (2 / Real.pi)) 1 = 2 / Real.pi ∧
      Real.sqrt (2 / Real.pi) ^ 2 = 2 / Real.pi := by
  have h : Real.sqrt (2 / Real.pi) ^ 2 = 2 / Real.pi :=
    Real.sq_sqrt (div_nonneg zero_le_two Real.pi_pos.le)
  refine ⟨?_, h⟩
  rw [momentRatio, div_one, h]

end QuantProof

/-
Copyright (c) QuantProof contributors.
-/
import QuantProof.SignQuant

/-!
# Rotations: gauge invariance, the rotational ceiling, centering, SRHT (seeds 003 §2–4, §7; 001)

* `QuantProof.attention_score_gauge_invariance` — `(R q)·(R k) = q·k` whenever `Rᵀ R = 1`;
* `QuantProof.leech_block_kernel_score_invariance` — seed 001's frozen block-diagonal "Leech"
  kernel (any orthogonal `24 × 24` blocks) leaves every attention score unchanged;
* `QuantProof.dc_centering_lifts_rotational_ceiling_vacuous` — for a single nonzero vector the
  supremum over orthogonal `R` of the 1-bit cosine is attained and equals `1` (a Householder
  reflection sends the vector onto the diagonal), with or without centering: the claimed
  inequality between the two suprema holds only as `1 ≥ 1`;
* `QuantProof.l2Norm_uncentered_gt` — `‖μ·1 + v‖² = dμ² + ‖v‖² > ‖v‖²` for `∑ vᵢ = 0`, `μ ≠ 0`;
* `QuantProof.srht_achieves_isotropic_floor_not_per_vector` — an orthogonal (Hadamard-type)
  rotation can send a sign vector to `√d e₁`, whose 1-bit cosine `1/√d` is below `√(2/π)` for
  `d ≥ 2`: the isotropic "floor" is not a lower bound per vector;
* `QuantProof.isotropic_floor_pos` — `0 < √(2/π)`.
-/

noncomputable section

namespace QuantProof

open Finset

variable {ι : Type*} [Fintype ι] [DecidableEq ι] {d : ℕ}

/-! ### Matrix action -/

/-- The adjoint identity `⟨A u, v⟩ = ⟨u, Aᵀ v⟩`. -/
theorem dot_rotate (A : Matrix ι ι ℝ) (u v : ι → ℝ) : dot (rotate A u) v = dot u (rotate Aᵀ v) := by
  simp only [dot, rotate, Matrix.transpose_apply, Finset.sum_mul, Finset.mul_sum]
  rw [Finset.sum_comm]
  exact Finset.sum_congr rfl fun j _ => Finset.sum_congr rfl fun i _ => by ring

theorem rotate_rotate (A B : Matrix ι ι ℝ) (v : ι → ℝ) :
    rotate A (rotate B v) = rotate (A * B) v := by
  funext i
  simp only [rotate, Matrix.mul_apply, Finset.mul_sum, Finset.sum_mul]
  rw [Finset.sum_comm]
  exact Finset.sum_congr rfl fun l _ => Finset.sum_congr rfl fun j _ => by ring

theorem rotate_one (v : ι → ℝ) : rotate (1 : Matrix ι ι ℝ) v = v := by
  funext i
  simp only [rotate, Matrix.one_apply, ite_mul, one_mul, zero_mul]
  rw [Finset.sum_ite_eq, if_pos (Finset.mem_univ i)]

/-- Orthogonal matrices preserve inner products (general finite index type). -/
theorem dot_rotate_rotate_of_orthogonal (R : Matrix ι ι ℝ) (hR : Rᵀ * R = 1) (q k : ι → ℝ) :
    dot (rotate R q) (rotate R k) = dot q k := by
  rw [dot_rotate, rotate_rotate, hR, rotate_one]

/-- Claim `attention_score_gauge_invariance` (seed 003 §7): rotating queries and keys by the same
orthogonal `R` (`Rᵀ R = 1`) leaves every attention score unchanged, `(R q)·(R k) = q·k`. -/
theorem attention_score_gauge_invariance (R : Matrix (Fin d) (Fin d) ℝ) (hR : Rᵀ * R = 1)
    (q k : Fin d → ℝ) : dot (rotate R q) (rotate R k) = dot q k :=
  dot_rotate_rotate_of_orthogonal R hR q k

theorem sqNorm_rotate_of_orthogonal (R : Matrix ι ι ℝ) (hR : Rᵀ * R = 1) (v : ι → ℝ) :
    sqNorm (rotate R v) = sqNorm v := by
  rw [← dot_self, ← dot_self, dot_rotate_rotate_of_orthogonal R hR]

theorem rotate_ne_zero_of_orthogonal (R : Matrix ι ι ℝ) (hR : Rᵀ * R = 1) {v : ι → ℝ}
    (hv : v ≠ 0) : rotate R v ≠ 0 := by
  intro h
  have h1 := sqNorm_rotate_of_orthogonal R hR v
  rw [h, sqNorm_zero] at h1
  exact (sqNorm_pos hv).ne' h1.symm

/-! ### Seed 001: the frozen block-diagonal kernel -/

/-- A block-diagonal matrix with orthogonal blocks is orthogonal. -/
theorem blockDiagonal_orthogonal {m o : Type*} [Fintype m] [Fintype o] [DecidableEq m]
    [DecidableEq o] (B : o → Matrix m m ℝ) (hB : ∀ b, (B b)ᵀ * B b = 1) :
    (Matrix.blockDiagonal B)ᵀ * Matrix.blockDiagonal B = 1 := by
  -- `Matrix.blockDiagonal_mul` reads `blockDiagonal (fun k => M k * N k) = blockDiagonal M * blockDiagonal N`
  rw [Matrix.blockDiagonal_transpose, ← Matrix.blockDiagonal_mul]
  simp only [hB]
  exact Matrix.blockDiagonal_one

/-- Seed 001 ("`LeechAttention` — Q and K are transformed by the frozen block-diagonal Leech
matrix"; `generate_leech_kernel()` returns a `24 × 24` orthogonal matrix): whatever orthogonal
`24 × 24` blocks are used, the block-diagonal kernel applied to both queries and keys leaves every
attention score `q · k` unchanged, so the "geometric attention" computes exactly the scores of
standard attention (the kernel can be folded into `W_q`, `W_k`). Head coordinates are indexed by
`Fin 24 × Fin h` (position in block, block). -/
theorem leech_block_kernel_score_invariance {h : ℕ} (B : Fin h → Matrix (Fin 24) (Fin 24) ℝ)
    (hB : ∀ b, (B b)ᵀ * B b = 1) (q k : Fin 24 × Fin h → ℝ) :
    dot (rotate (Matrix.blockDiagonal B) q) (rotate (Matrix.blockDiagonal B) k) = dot q k :=
  dot_rotate_rotate_of_orthogonal _ (blockDiagonal_orthogonal B hB) q k

/-! ### Householder reflections -/

/-- Householder reflection `H_w = I − (2/‖w‖²) w wᵀ`. -/
def householder (w : ι → ℝ) : Matrix ι ι ℝ :=
  Matrix.of fun i j => (if i = j then (1 : ℝ) else 0) - 2 / sqNorm w * (w i * w j)

theorem householder_symm (w : ι → ℝ) (i j : ι) : householder w i j = householder w j i := by
  simp only [householder, Matrix.of_apply]
  by_cases h : i = j
  · subst h; rfl
  · rw [if_neg h, if_neg (Ne.symm h)]; ring

theorem rotate_householder (w v : ι → ℝ) (i : ι) :
    rotate (householder w) v i = v i - 2 / sqNorm w * dot w v * w i := by
  have h1 : ∀ j, householder w i j * v j
      = (if i = j then v j else 0) - 2 / sqNorm w * w i * (w j * v j) := by
    intro j
    simp only [householder, Matrix.of_apply]
    split_ifs <;> ring
  simp only [rotate]
  rw [Finset.sum_congr rfl fun j _ => h1 j, Finset.sum_sub_distrib, Finset.sum_ite_eq,
    if_pos (Finset.mem_univ i), ← Finset.mul_sum, dot]
  ring

theorem householder_orthogonal (w : ι → ℝ) (hw : w ≠ 0) :
    (householder w)ᵀ * householder w = 1 := by
  have hS : sqNorm w ≠ 0 := (sqNorm_pos hw).ne'
  ext j l
  rw [Matrix.mul_apply]
  simp only [Matrix.transpose_apply]
  have e1 : ∑ i, householder w i j * householder w i l
      = rotate (householder w) (fun i => householder w i l) j := by
    simp only [rotate]
    exact Finset.sum_congr rfl fun i _ => by rw [householder_symm w i j]
  have e2 : dot w (fun i => householder w i l) = -w l := by
    have e3 : dot w (fun i => householder w i l) = rotate (householder w) w l := by
      simp only [dot, rotate]
      exact Finset.sum_congr rfl fun i _ => by rw [householder_symm w i l, mul_comm]
    rw [e3, rotate_householder, dot_self]
    linear_combination (-2 * w l) * mul_inv_cancel₀ hS
  rw [e1, rotate_householder, e2]
  simp only [householder, Matrix.of_apply, Matrix.one_apply]
  ring

/-- Any two vectors of equal length are related by an orthogonal matrix (a Householder
reflection, or the identity). -/
theorem exists_orthogonal_map_of_sqNorm_eq (x y : ι → ℝ) (h : sqNorm x = sqNorm y) :
    ∃ R : Matrix ι ι ℝ, Rᵀ * R = 1 ∧ rotate R x = y := by
  by_cases hxy : x = y
  · exact ⟨1, by rw [Matrix.transpose_one, one_mul], by rw [rotate_one, hxy]⟩
  · have hw : x - y ≠ 0 := sub_ne_zero.mpr hxy
    refine ⟨householder (x - y), householder_orthogonal _ hw, ?_⟩
    have hS : sqNorm (x - y) ≠ 0 := (sqNorm_pos hw).ne'
    have key : sqNorm (x - y) = 2 * dot (x - y) x := by
      rw [sqNorm_sub, dot_sub_left, dot_self, dot_comm y x]
      linarith
    funext i
    rw [rotate_householder]
    simp only [Pi.sub_apply]
    linear_combination (-(x i - y i)) * mul_inv_cancel₀ hS + ((sqNorm (x - y))⁻¹ * (x i - y i)) * key

/-! ### The rotational ceiling of a single vector -/

theorem sqNorm_const (c : ℝ) : sqNorm (fun _ : Fin d => c) = (d : ℝ) * c ^ 2 := by
  simp only [sqNorm]
  exact sum_const_fin _

/-- Every nonzero vector can be rotated onto the diagonal, where its 1-bit cosine is `1`. -/
theorem exists_rotation_cos_eq_one (hd : 0 < d) {x : Fin d → ℝ} (hx : x ≠ 0) :
    ∃ R : Matrix (Fin d) (Fin d) ℝ, Rᵀ * R = 1 ∧ cosSignQuant (rotate R x) = 1 := by
  have hsd : 0 < Real.sqrt d := Real.sqrt_pos.mpr (Nat.cast_pos.mpr hd)
  have hc0 : l2 x / Real.sqrt d ≠ 0 := (div_pos (l2_pos hx) hsd).ne'
  have hnorm : sqNorm x = sqNorm (fun _ : Fin d => l2 x / Real.sqrt d) := by
    rw [sqNorm_const, div_pow, l2_sq, Real.sq_sqrt (Nat.cast_nonneg d)]
    linear_combination (-sqNorm x) * natCast_mul_inv hd
  obtain ⟨R, hR, hRx⟩ := exists_orthogonal_map_of_sqNorm_eq x _ hnorm
  exact ⟨R, hR, by rw [hRx]; exact cosSignQuant_const hd hc0⟩

/-- The set of 1-bit cosines reachable from `x` by orthogonal rotations. -/
def rotCeiling (x : Fin d → ℝ) : Set ℝ :=
  {c | ∃ R : Matrix (Fin d) (Fin d) ℝ, Rᵀ * R = 1 ∧ c = cosSignQuant (rotate R x)}

/-- For a single nonzero vector the rotational ceiling is attained and equals `1`. -/
theorem rotCeiling_isGreatest (hd : 0 < d) {x : Fin d → ℝ} (hx : x ≠ 0) :
    IsGreatest (rotCeiling x) 1 := by
  obtain ⟨R, hR, h1⟩ := exists_rotation_cos_eq_one hd hx
  refine ⟨⟨R, hR, h1.symm⟩, ?_⟩
  rintro c ⟨R', hR', rfl⟩
  exact cosSignQuant_le_one hd (rotate_ne_zero_of_orthogonal R' hR' hx)

/-- Claim `dc_centering_lifts_rotational_ceiling` (seed 003 §3–4), vacuity: for a nonzero
centered residual `v` and a nonzero uncentered key `μ·1 + v`, both suprema over orthogonal `R` of
the 1-bit cosine are attained and equal `1`. The seed's inequality
`sup_R cos θ(R, v) ≥ sup_R cos θ(R, μ·1 + v)` therefore holds only as `1 ≥ 1`: per vector,
centering cannot lift the ceiling, which is already `1`. -/
theorem dc_centering_lifts_rotational_ceiling_vacuous (hd : 0 < d) (μ : ℝ) {v : Fin d → ℝ}
    (hv : v ≠ 0) (hμv : (fun i => μ + v i) ≠ 0) :
    sSup (rotCeiling v) = 1 ∧ sSup (rotCeiling fun i => μ + v i) = 1 ∧
      sSup (rotCeiling fun i => μ + v i) ≤ sSup (rotCeiling v) := by
  have h1 := (rotCeiling_isGreatest hd hv).csSup_eq
  have h2 := (rotCeiling_isGreatest hd hμv).csSup_eq
  exact ⟨h1, h2, le_of_eq (h2.trans h1.symm)⟩

/-! ### Centering -/

theorem sqNorm_add_const (μ : ℝ) (v : Fin d → ℝ) (hv : ∑ i, v i = 0) :
    sqNorm (fun i => μ + v i) = (d : ℝ) * μ ^ 2 + sqNorm v := by
  have h : ∀ i, (μ + v i) ^ 2 = μ ^ 2 + 2 * μ * v i + v i ^ 2 := fun i => by ring
  simp only [sqNorm]
  rw [Finset.sum_congr rfl fun i _ => h i, Finset.sum_add_distrib, Finset.sum_add_distrib,
    ← Finset.mul_sum, hv, mul_zero, add_zero, sum_const_fin]

/-- Claim `l2Norm_uncentered_gt` (seed 003 §3): for `d ≥ 1`, a centered `v` (`∑ vᵢ = 0`) and
`μ ≠ 0`, `‖μ·1 + v‖² = d μ² + ‖v‖² > ‖v‖²`, hence `‖μ·1 + v‖ > ‖v‖`. -/
theorem l2Norm_uncentered_gt (hd : 0 < d) {μ : ℝ} (hμ : μ ≠ 0) (v : Fin d → ℝ)
    (hv : ∑ i, v i = 0) :
    sqNorm (fun i => μ + v i) = (d : ℝ) * μ ^ 2 + sqNorm v ∧
      sqNorm v < sqNorm (fun i => μ + v i) ∧ l2 v < l2 (fun i => μ + v i) := by
  have hsq := sqNorm_add_const μ v hv
  have hpos : 0 < (d : ℝ) * μ ^ 2 :=
    mul_pos (Nat.cast_pos.mpr hd) (lt_of_le_of_ne (sq_nonneg μ) (Ne.symm (pow_ne_zero 2 hμ)))
  have hlt : sqNorm v < sqNorm (fun i => μ + v i) := by rw [hsq]; linarith
  exact ⟨hsq, hlt, Real.sqrt_lt_sqrt (sqNorm_nonneg v) hlt⟩

/-! ### SRHT and the isotropic floor -/

/-- Claim `isotropic_floor_pos` (seed 003 §2): the isotropic floor `√(2/π)` is positive. -/
theorem isotropic_floor_pos : 0 < Real.sqrt (2 / Real.pi) :=
  Real.sqrt_pos.mpr (div_pos two_pos Real.pi_pos)

/-- The isotropic floor lies strictly between `0` and `1`, and `√(2/π) = 0.7979` to four decimals
(`0.79785 < √(2/π) < 0.79795`, from `3.1415 < π < 3.1416`). -/
theorem isotropic_floor_bounds :
    0 < Real.sqrt (2 / Real.pi) ∧ Real.sqrt (2 / Real.pi) < 1 ∧
      79785 / 100000 < Real.sqrt (2 / Real.pi) ∧ Real.sqrt (2 / Real.pi) < 79795 / 100000 := by
  -- `Real.pi_gt_d4 : 3.1415 < π`, `Real.pi_lt_d4 : π < 3.1416` (Mathlib's `Real` π bounds)
  have hlo : (31415 / 10000 : ℝ) < Real.pi := lt_of_eq_of_lt (by norm_num) Real.pi_gt_d4
  have hhi : Real.pi < 31416 / 10000 := lt_of_lt_of_eq Real.pi_lt_d4 (by norm_num)
  have hpi := Real.pi_pos
  have h2pi : 0 < 2 / Real.pi := div_pos two_pos hpi
  -- the squares of the two four-decimal bounds, as plain fractions
  have hsq1 : (79785 / 100000 : ℝ) ^ 2 = 6365646225 / 10000000000 := by norm_num
  have hsq2 : (79795 / 100000 : ℝ) ^ 2 = 6367242025 / 10000000000 := by norm_num
  -- `Real.lt_sqrt (hx : 0 ≤ x) : x < √y ↔ x ^ 2 < y`, `Real.sqrt_lt' (hy : 0 < y) : √x < y ↔ x < y ^ 2`
  refine ⟨Real.sqrt_pos.mpr h2pi, ?_, ?_, ?_⟩
  · rw [Real.sqrt_lt' one_pos, one_pow, div_lt_one hpi]
    linarith [Real.pi_gt_three]
  · -- `0.79785² · π < 0.79785² · 3.1416 < 2`
    rw [Real.lt_sqrt (by norm_num : (0 : ℝ) ≤ 79785 / 100000), hsq1, lt_div_iff₀ hpi]
    linarith
  · -- `2 < 0.79795² · 3.1415 < 0.79795² · π`
    rw [Real.sqrt_lt' (by norm_num : (0 : ℝ) < 79795 / 100000), hsq2, div_lt_iff₀ hpi]
    linarith

/-- `1/√d < √(2/π)` for `d ≥ 2` (since `π < 4`). -/
theorem one_div_sqrt_lt_isotropic_floor (hd : 2 ≤ d) :
    1 / Real.sqrt d < Real.sqrt (2 / Real.pi) := by
  have hd0 : (0 : ℝ) < d := by exact_mod_cast (lt_of_lt_of_le two_pos hd)
  have hd2 : (2 : ℝ) ≤ d := by exact_mod_cast hd
  have h1 : 1 / Real.sqrt d = Real.sqrt (1 / d) := by
    rw [Real.sqrt_div' 1 (Nat.cast_nonneg d), Real.sqrt_one]
  rw [h1]
  apply Real.sqrt_lt_sqrt (div_nonneg zero_le_one hd0.le)
  -- `1/d ≤ 1/2 < 1/(π/2) = 2/π`
  have h2 : 1 / (d : ℝ) ≤ 1 / 2 := one_div_le_one_div_of_le two_pos hd2
  have hpi4 : Real.pi < 4 := Real.pi_lt_four
  have hpi : Real.pi / 2 < 2 := by linarith
  have h3 : 1 / (2 : ℝ) < 1 / (Real.pi / 2) := one_div_lt_one_div_of_lt (by positivity) hpi
  rw [one_div_div] at h3
  linarith

/-- The 1-bit cosine of a nonzero multiple of a basis vector is `1/√d`. -/
theorem cosSignQuant_single (hd : 0 < d) {c : ℝ} (hc : c ≠ 0) (j : Fin d) :
    cosSignQuant (fun i => if i = j then c else 0) = 1 / Real.sqrt d := by
  have hne : (fun i : Fin d => if i = j then c else 0) ≠ 0 := by
    intro h
    have := congrFun h j
    simp at this
    exact hc this
  have hl1 : l1 (fun i : Fin d => if i = j then c else 0) = |c| := by
    simp only [l1]
    rw [Finset.sum_congr rfl fun i _ =>
        (show |(if i = j then c else 0)| = if i = j then |c| else 0 by split_ifs <;> simp),
      Finset.sum_ite_eq', if_pos (Finset.mem_univ j)]
  have hsq : sqNorm (fun i : Fin d => if i = j then c else 0) = c ^ 2 := by
    simp only [sqNorm]
    rw [Finset.sum_congr rfl fun i _ =>
        (show (if i = j then c else 0) ^ 2 = if i = j then c ^ 2 else 0 by split_ifs <;> simp),
      Finset.sum_ite_eq', if_pos (Finset.mem_univ j)]
  have habs : |c| ≠ 0 := abs_ne_zero.mpr hc
  rw [cos_sign_quant_formula hd hne, hl1, l2, hsq, Real.sqrt_sq_eq_abs]
  linear_combination (Real.sqrt d)⁻¹ * mul_inv_cancel₀ habs

/-- Sign vector `(1, …, 1)`. -/
def onesVec (d : ℕ) : Fin d → ℝ := fun _ => 1

/-- `√d · e₀`. -/
def sqrtDimE0 (d : ℕ) (hd : 0 < d) : Fin d → ℝ := fun i => if i = ⟨0, hd⟩ then Real.sqrt d else 0

/-- Claim `srht_achieves_isotropic_floor` (seed 003 §2), refutation as a per-vector floor: for
every `d ≥ 2` there are an orthogonal `R` and a sign vector `s` (all ones) with `R s = √d · e₀`,
whose 1-bit cosine `1/√d` is strictly below the isotropic floor `√(2/π)`. (For `d = 2^m` the
normalised Sylvester–Hadamard matrix is such an `R`; `hadamard2` below is the case `d = 2`.) The
CLT heuristic concerns typical (random) inputs; it is not a lower bound for every key. -/
theorem srht_achieves_isotropic_floor_not_per_vector (hd : 2 ≤ d) :
    ∃ R : Matrix (Fin d) (Fin d) ℝ, Rᵀ * R = 1 ∧
      rotate R (onesVec d) = sqrtDimE0 d (lt_of_lt_of_le two_pos hd) ∧
      cosSignQuant (rotate R (onesVec d)) = 1 / Real.sqrt d ∧
      cosSignQuant (rotate R (onesVec d)) < Real.sqrt (2 / Real.pi) := by
  have hd0 : 0 < d := lt_of_lt_of_le two_pos hd
  have hsd : Real.sqrt d ≠ 0 := (Real.sqrt_pos.mpr (Nat.cast_pos.mpr hd0)).ne'
  have hnorm : sqNorm (onesVec d) = sqNorm (sqrtDimE0 d hd0) := by
    have e1 : sqNorm (onesVec d) = (d : ℝ) := by
      rw [onesVec, sqNorm_const]; ring
    have e2 : sqNorm (sqrtDimE0 d hd0) = (d : ℝ) := by
      simp only [sqNorm, sqrtDimE0]
      rw [Finset.sum_congr rfl fun i _ =>
          (show (if i = (⟨0, hd0⟩ : Fin d) then Real.sqrt d else 0) ^ 2
              = if i = ⟨0, hd0⟩ then Real.sqrt d ^ 2 else 0 by split_ifs <;> simp),
        Finset.sum_ite_eq', if_pos (Finset.mem_univ _), Real.sq_sqrt (Nat.cast_nonneg d)]
    rw [e1, e2]
  obtain ⟨R, hR, hRx⟩ := exists_orthogonal_map_of_sqNorm_eq _ _ hnorm
  have hcos : cosSignQuant (rotate R (onesVec d)) = 1 / Real.sqrt d := by
    rw [hRx]
    exact cosSignQuant_single hd0 hsd ⟨0, hd0⟩
  exact ⟨R, hR, hRx, hcos, by rw [hcos]; exact one_div_sqrt_lt_isotropic_floor hd⟩

/-- The normalised `2 × 2` Hadamard matrix `(1/√2) [[1, 1], [1, -1]]`. -/
def hadamard2 : Matrix (Fin 2) (Fin 2) ℝ :=
  !![Real.sqrt 2 / 2, Real.sqrt 2 / 2; Real.sqrt 2 / 2, -(Real.sqrt 2 / 2)]

/-- The four entries of `H₂ᵀ H₂`, each computed from the literal (`Matrix.one_fin_two` writes the
identity as `!![1, 0; 0, 1]`). -/
theorem hadamard2_orthogonal : hadamard2ᵀ * hadamard2 = 1 := by
  have h : Real.sqrt 2 * Real.sqrt 2 = 2 := Real.mul_self_sqrt (by norm_num)
  rw [Matrix.one_fin_two]
  ext i j
  rw [Matrix.mul_apply, Fin.sum_univ_two]
  revert i j
  simp only [Fin.forall_fin_two, Matrix.transpose_apply, hadamard2, Matrix.of_apply,
    Matrix.cons_val_zero, Matrix.cons_val_one, Matrix.head_cons]
  refine ⟨⟨?_, ?_⟩, ?_, ?_⟩
  · linear_combination (1 / 2 : ℝ) * h
  · ring
  · ring
  · linear_combination (1 / 2 : ℝ) * h

/-- The `d = 2` instance of `srht_achieves_isotropic_floor_not_per_vector` with the Hadamard
matrix itself: `H₂ (1, 1) = (√2, 0)` and `cos = 1/√2 ≈ 0.707 < √(2/π) ≈ 0.798`. -/
theorem hadamard2_sign_vector :
    rotate hadamard2 (onesVec 2) = sqrtDimE0 2 two_pos ∧
      cosSignQuant (rotate hadamard2 (onesVec 2)) < Real.sqrt (2 / Real.pi) := by
  have h : Real.sqrt 2 * Real.sqrt 2 = 2 := Real.mul_self_sqrt (by norm_num)
  have e0 : sqrtDimE0 2 two_pos 0 = Real.sqrt 2 := by
    show (if (0 : Fin 2) = ⟨0, two_pos⟩ then Real.sqrt ((2 : ℕ) : ℝ) else 0) = Real.sqrt 2
    rw [if_pos rfl, Nat.cast_ofNat]
  have e1 : sqrtDimE0 2 two_pos 1 = 0 := by
    show (if (1 : Fin 2) = ⟨0, two_pos⟩ then Real.sqrt ((2 : ℕ) : ℝ) else 0) = 0
    rw [if_neg (by decide)]
  -- `√2/2 + √2/2 = √2` in coordinate `0`, `√2/2 − √2/2 = 0` in coordinate `1`
  have hrot : rotate hadamard2 (onesVec 2) = sqrtDimE0 2 two_pos := by
    funext i
    revert i
    simp only [Fin.forall_fin_two, e0, e1, rotate, Fin.sum_univ_two, onesVec, hadamard2,
      Matrix.of_apply, Matrix.cons_val_zero, Matrix.cons_val_one, Matrix.head_cons, mul_one]
    exact ⟨by ring, by ring⟩
  refine ⟨hrot, ?_⟩
  rw [hrot]
  have hsd : Real.sqrt ((2 : ℕ) : ℝ) ≠ 0 :=
    (Real.sqrt_pos.mpr (Nat.cast_pos.mpr two_pos)).ne'
  rw [sqrtDimE0, cosSignQuant_single two_pos hsd]
  exact one_div_sqrt_lt_isotropic_floor le_rfl

end QuantProof

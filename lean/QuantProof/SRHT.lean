/-
Copyright (c) QuantProof contributors.
-/
import QuantProof.Rotation

/-!
# The isotropic floor is not a per-key limit (claims `srht_achieves_isotropic_floor`, `isotropic_floor_pos`)

Seed 003 §2 claims that for the SRHT `R = H · D / √d` (`H` a Hadamard matrix, `D` random `±1`
signs), "and more generally any data-independent orthogonal rotation", every key `k ≠ 0` has
`cos θ(R k) → √(2/π)` as `d → ∞`. Two families of keys refute it:

* SRHT, key `e₀`: `H D e₀ / √d` is `D₀₀/√d` times the first column of `H`, which is all ones for a
  Hadamard matrix in normalised form (the Sylvester–Hadamard matrix in its natural order, and any
  Hadamard matrix after the row and column sign changes that normalise it). A vector of equal
  magnitudes has 1-bit cosine `1`, in every dimension and for every draw of the signs.
* The identity (orthogonal and data-independent), key `e₀`: `cos θ = 1/√d → 0`.

Neither sequence converges to `√(2/π) ∈ (0.797, 0.798)`. A leaf module: nothing imports it.
-/

noncomputable section

namespace QuantProof

open Finset Filter Topology

variable {ι : Type*} [Fintype ι] [DecidableEq ι] {d : ℕ}

/-- The basis vector `e_j`. -/
def basisVec (j : ι) : ι → ℝ := fun i => if i = j then 1 else 0

/-- A matrix applied to `e_j` is its column `j`. -/
theorem rotate_basisVec (M : Matrix ι ι ℝ) (j : ι) : rotate M (basisVec j) = fun i => M i j := by
  funext i
  simp only [rotate, basisVec, mul_ite, mul_one, mul_zero]
  rw [Finset.sum_ite_eq', if_pos (Finset.mem_univ j)]

/-- The SRHT `R = H · diag(D) / √d`: `Rᵢⱼ = Hᵢⱼ Dⱼ / √d`. -/
def srht (H : Matrix (Fin d) (Fin d) ℝ) (D : Fin d → ℝ) : Matrix (Fin d) (Fin d) ℝ :=
  Matrix.of fun i j => H i j * D j / Real.sqrt d

/-- For `H` with first column all ones and a sign vector `D`, `cos θ(R e₀) = 1`. -/
theorem cosSignQuant_srht_basisVec_zero (H : Matrix (Fin (d + 1)) (Fin (d + 1)) ℝ)
    (D : Fin (d + 1) → ℝ) (hH : ∀ i, H i 0 = 1) (hD : ∀ j, D j = 1 ∨ D j = -1) :
    cosSignQuant (rotate (srht H D) (basisVec 0)) = 1 := by
  have hD0 : D 0 ≠ 0 := by
    rcases hD 0 with h | h <;> rw [h] <;> norm_num
  have hs : Real.sqrt ((d + 1 : ℕ) : ℝ) ≠ 0 :=
    (Real.sqrt_pos.mpr (Nat.cast_pos.mpr (Nat.succ_pos d))).ne'
  have hcol : rotate (srht H D) (basisVec 0) = fun _ => D 0 / Real.sqrt ((d + 1 : ℕ) : ℝ) := by
    rw [rotate_basisVec]
    funext i
    simp only [srht, Matrix.of_apply, hH i, one_mul]
  rw [hcol]
  exact cosSignQuant_const (Nat.succ_pos d) (div_ne_zero hD0 hs)

/-- `√(2/π) < 1`. -/
theorem isotropic_floor_lt_one : Real.sqrt (2 / Real.pi) < 1 :=
  isotropic_floor_bounds.2.1

/-- Claim `srht_achieves_isotropic_floor` (seed 003 §2), refutation as stated ("for the SRHT, and
more generally any data-independent orthogonal rotation, and every key `k ≠ 0`,
`cos θ(R k) → √(2/π)` as `d → ∞`"):

1. SRHT: in every dimension `d + 1`, for every `H` whose first column is all ones and every sign
   vector `D`, the key `e₀` has `cos θ(H D e₀/√(d+1)) = 1`; so along any sequence of such `H, D`
   the cosine of `e₀` does not tend to `√(2/π)`.
2. The identity (orthogonal, data-independent): the key `e₀` has `cos θ = 1/√(d+1)` in dimension
   `d + 1`, which does not tend to `√(2/π)` either. -/
theorem srht_achieves_isotropic_floor_false :
    (∀ (d : ℕ) (H : Matrix (Fin (d + 1)) (Fin (d + 1)) ℝ) (D : Fin (d + 1) → ℝ),
        (∀ i, H i 0 = 1) → (∀ j, D j = 1 ∨ D j = -1) →
          cosSignQuant (rotate (srht H D) (basisVec 0)) = 1) ∧
      (∀ (H : (d : ℕ) → Matrix (Fin (d + 1)) (Fin (d + 1)) ℝ) (D : (d : ℕ) → Fin (d + 1) → ℝ),
        (∀ d i, H d i 0 = 1) → (∀ d j, D d j = 1 ∨ D d j = -1) →
          ¬ Tendsto (fun d => cosSignQuant (rotate (srht (H d) (D d)) (basisVec 0))) atTop
              (𝓝 (Real.sqrt (2 / Real.pi)))) ∧
      (∀ d : ℕ, (1 : Matrix (Fin (d + 1)) (Fin (d + 1)) ℝ)ᵀ * 1 = 1 ∧
          cosSignQuant (rotate (1 : Matrix (Fin (d + 1)) (Fin (d + 1)) ℝ) (basisVec 0)) =
            1 / Real.sqrt ((d + 1 : ℕ) : ℝ)) ∧
      ¬ Tendsto (fun d : ℕ => cosSignQuant (rotate (1 : Matrix (Fin (d + 1)) (Fin (d + 1)) ℝ)
          (basisVec 0))) atTop (𝓝 (Real.sqrt (2 / Real.pi))) := by
  -- the identity: `cos θ(e₀) = 1/√(d+1)`
  have hid : ∀ d : ℕ, cosSignQuant (rotate (1 : Matrix (Fin (d + 1)) (Fin (d + 1)) ℝ)
      (basisVec 0)) = 1 / Real.sqrt ((d + 1 : ℕ) : ℝ) := by
    intro d
    rw [rotate_one]
    exact cosSignQuant_single (Nat.succ_pos d) one_ne_zero 0
  refine ⟨fun d H D hH hD => cosSignQuant_srht_basisVec_zero H D hH hD, ?_,
    fun d => ⟨by rw [Matrix.transpose_one, one_mul], hid d⟩, ?_⟩
  · intro H D hH hD hT
    have hconst : (fun d => cosSignQuant (rotate (srht (H d) (D d)) (basisVec 0))) =
        fun _ => (1 : ℝ) :=
      funext fun d => cosSignQuant_srht_basisVec_zero (H d) (D d) (hH d) (hD d)
    rw [hconst] at hT
    -- a constant sequence has the unique limit `1`
    have h1 : Real.sqrt (2 / Real.pi) = 1 := tendsto_nhds_unique hT tendsto_const_nhds
    have h2 := isotropic_floor_lt_one
    linarith
  · intro hT
    -- `cos θ(e₀) = 1/√(d+1) ≤ 1/√2` from `d = 1` on, and `1/√2 < √(2/π)`
    have hev : ∀ᶠ d : ℕ in atTop, cosSignQuant (rotate (1 : Matrix (Fin (d + 1)) (Fin (d + 1)) ℝ)
        (basisVec 0)) ≤ 1 / Real.sqrt ((2 : ℕ) : ℝ) := by
      rw [Filter.eventually_atTop]
      refine ⟨1, fun d hd => ?_⟩
      rw [hid d]
      have h2 : ((2 : ℕ) : ℝ) ≤ ((d + 1 : ℕ) : ℝ) := by exact_mod_cast (by omega : 2 ≤ d + 1)
      have hs2 : 0 < Real.sqrt ((2 : ℕ) : ℝ) := Real.sqrt_pos.mpr (by norm_num)
      exact one_div_le_one_div_of_le hs2 (Real.sqrt_le_sqrt h2)
    have hle := le_of_tendsto hT hev
    have hlt := one_div_sqrt_lt_isotropic_floor (d := 2) le_rfl
    linarith

/-- Claim `isotropic_floor_pos` (seed 003 §2) as read in `claims.yaml`: `0 < √(2/π) < 1`
(equivalently `π > 2`), so the isotropic residual-energy floor `1 − 2/π` is strictly positive, and
`√(2/π) = 0.7979` to four decimals (`0.79785 < √(2/π) < 0.79795`). -/
theorem isotropic_floor_claim :
    0 < Real.sqrt (2 / Real.pi) ∧ Real.sqrt (2 / Real.pi) < 1 ∧ 2 < Real.pi ∧
      0 < 1 - 2 / Real.pi ∧
      79785 / 100000 < Real.sqrt (2 / Real.pi) ∧ Real.sqrt (2 / Real.pi) < 79795 / 100000 := by
  obtain ⟨h0, h1, h2, h3⟩ := isotropic_floor_bounds
  have hpi3 := Real.pi_gt_three
  have hlt : 2 / Real.pi < 1 := by
    rw [div_lt_one Real.pi_pos]
    linarith
  exact ⟨h0, h1, by linarith, by linarith, h2, h3⟩

end QuantProof

/-
Copyright (c) QuantProof contributors.
-/
import QuantProof.Rotation
import QuantProof.Det

/-!
# Folding a proper rotation before RoPE changes the scores (claim `gauge_invariance_free_at_deploy`)

In dimension `2` every rotation commutes with the RoPE plane rotation, so a refutation by a
rotation (not a reflection) needs at least two RoPE planes, `d ≥ 4`. Here `d = 4`: RoPE rotates the
plane `(0, 1)` by `m ω₀` and the plane `(2, 3)` by `m ω₁` at position `m` (`ropeAt`), and
`R = swapPlanes` exchanges the two planes (`e₀ ↔ e₂`, `e₁ ↔ e₃`): an orthogonal matrix of
determinant `1` (a proper rotation; both facts are proved from its integer entries, the
determinant by kernel computation through `detLaplace`, `QuantProof.Det`). With the query `e₀` at position `0` and
the key `e₁` at position `1`, the true score is `−sin ω₀` and the score with `R` folded into
`W_q, W_k` (RoPE then acts on `R q`, `R k`) is `−sin ω₁`: they differ whenever the two planes
turn at different speeds, as they always do in RoPE (`θᵢ = base^(−2i/d)`; with `base = 10000`,
`d = 4`: `ω₀ = 1`, `ω₁ = 1/100`). A leaf module: nothing imports it.
-/

noncomputable section

namespace QuantProof

open Finset

/-- RoPE on `d = 4`: the plane `(0, 1)` turned by `a`, the plane `(2, 3)` by `b`. -/
def rope4 (a b : ℝ) : Matrix (Fin 4) (Fin 4) ℝ :=
  !![Real.cos a, -Real.sin a, 0, 0;
     Real.sin a, Real.cos a, 0, 0;
     0, 0, Real.cos b, -Real.sin b;
     0, 0, Real.sin b, Real.cos b]

/-- The RoPE matrix at position `m` with plane frequencies `ω₀, ω₁`. -/
def ropeAt (ω₀ ω₁ : ℝ) (m : ℕ) : Matrix (Fin 4) (Fin 4) ℝ := rope4 (m * ω₀) (m * ω₁)

/-- The permutation exchanging the two RoPE planes (`e₀ ↔ e₂`, `e₁ ↔ e₃`), integer entries. -/
def swapPlanesZ : Matrix (Fin 4) (Fin 4) ℤ :=
  !![0, 0, 1, 0;
     0, 0, 0, 1;
     1, 0, 0, 0;
     0, 1, 0, 0]

/-- The same permutation over `ℝ`. -/
def swapPlanes : Matrix (Fin 4) (Fin 4) ℝ := swapPlanesZ.map (Int.cast : ℤ → ℝ)

/-- `e₀ ∈ ℝ⁴`. -/
def e0Four : Fin 4 → ℝ := ![1, 0, 0, 0]

/-- `e₁ ∈ ℝ⁴`. -/
def e1Four : Fin 4 → ℝ := ![0, 1, 0, 0]

/-- An integer matrix with orthonormal columns (checked entry by entry) is orthogonal over `ℝ`. -/
theorem cast_orthogonal_of_entries {n : ℕ} (M : Matrix (Fin n) (Fin n) ℤ)
    (h : ∀ i j : Fin n, finSum n (fun k => M k i * M k j) = if i = j then 1 else 0) :
    (M.map (Int.cast : ℤ → ℝ))ᵀ * M.map (Int.cast : ℤ → ℝ) = 1 := by
  ext i j
  rw [Matrix.mul_apply, Matrix.one_apply]
  simp only [Matrix.transpose_apply, Matrix.map_apply]
  have e := congrArg (Int.cast : ℤ → ℝ) (h i j)
  rw [finSum_eq, Int.cast_sum] at e
  simp only [Int.cast_mul] at e
  rw [e]
  split_ifs
  · exact Int.cast_one
  · exact Int.cast_zero

/-- The determinant commutes with the cast `ℤ → ℝ` (`RingHom.map_det`). -/
theorem det_cast_of_detLaplace {n : ℕ} (M : Matrix (Fin n) (Fin n) ℤ) (h : detLaplace n M = 1) :
    (M.map (Int.cast : ℤ → ℝ)).det = 1 := by
  have e := RingHom.map_det (Int.castRingHom ℝ) M
  rw [← detLaplace_eq, h, map_one, RingHom.mapMatrix_apply, Int.coe_castRingHom] at e
  exact e.symm

theorem swapPlanes_orthogonal : swapPlanesᵀ * swapPlanes = 1 :=
  cast_orthogonal_of_entries swapPlanesZ (by decide +kernel)

theorem swapPlanes_det : swapPlanes.det = 1 :=
  det_cast_of_detLaplace swapPlanesZ (by decide +kernel)

/-- The two scores: with `R` folded in, `−sin ω₁`; the true score, `−sin ω₀`. Every index is a
numeral `0 … 3` (`Fin.sum_univ_four`), read off the literals by `Matrix.cons_val_zero … _three`. -/
theorem gauge4_scores (ω₀ ω₁ : ℝ) :
    dot (rotate (ropeAt ω₀ ω₁ 0) (rotate swapPlanes e0Four))
        (rotate (ropeAt ω₀ ω₁ 1) (rotate swapPlanes e1Four)) = -Real.sin ω₁ ∧
      dot (rotate (ropeAt ω₀ ω₁ 0) e0Four) (rotate (ropeAt ω₀ ω₁ 1) e1Four) = -Real.sin ω₀ := by
  constructor <;>
  · simp only [dot, rotate, Fin.sum_univ_four, ropeAt, rope4, swapPlanes, swapPlanesZ, e0Four,
      e1Four, Matrix.map_apply, Matrix.of_apply, Matrix.cons_val_zero, Matrix.cons_val_one,
      Matrix.cons_val_two, Matrix.cons_val_three, Matrix.head_cons, Matrix.tail_cons,
      Int.cast_zero, Int.cast_one, Nat.cast_zero, Nat.cast_one, zero_mul, one_mul,
      Real.cos_zero, Real.sin_zero]
    ring

/-- Claim `gauge_invariance_free_at_deploy` (seed 003 §7), refutation with a proper rotation:
`R = swapPlanes` is orthogonal with `det R = 1`, yet folding it into `W_q`, `W_k` of a RoPE model
(`d = 4`, plane frequencies `ω₀, ω₁`) changes the score of the query `e₀` at position `0` and the
key `e₁` at position `1` whenever `sin ω₀ ≠ sin ω₁`; in particular at RoPE's own frequencies for
`d = 4`, `base = 10000`: `ω₀ = 1`, `ω₁ = 1/100`. -/
theorem gauge_invariance_free_at_deploy_false_proper_rotation :
    swapPlanesᵀ * swapPlanes = 1 ∧ swapPlanes.det = 1 ∧
      (∀ ω₀ ω₁ : ℝ, Real.sin ω₀ ≠ Real.sin ω₁ →
        dot (rotate (ropeAt ω₀ ω₁ 0) (rotate swapPlanes e0Four))
            (rotate (ropeAt ω₀ ω₁ 1) (rotate swapPlanes e1Four)) ≠
          dot (rotate (ropeAt ω₀ ω₁ 0) e0Four) (rotate (ropeAt ω₀ ω₁ 1) e1Four)) ∧
      dot (rotate (ropeAt 1 (1 / 100) 0) (rotate swapPlanes e0Four))
          (rotate (ropeAt 1 (1 / 100) 1) (rotate swapPlanes e1Four)) ≠
        dot (rotate (ropeAt 1 (1 / 100) 0) e0Four) (rotate (ropeAt 1 (1 / 100) 1) e1Four) := by
  have hne : ∀ ω₀ ω₁ : ℝ, Real.sin ω₀ ≠ Real.sin ω₁ →
      dot (rotate (ropeAt ω₀ ω₁ 0) (rotate swapPlanes e0Four))
          (rotate (ropeAt ω₀ ω₁ 1) (rotate swapPlanes e1Four)) ≠
        dot (rotate (ropeAt ω₀ ω₁ 0) e0Four) (rotate (ropeAt ω₀ ω₁ 1) e1Four) := by
    intro ω₀ ω₁ hω h
    rw [(gauge4_scores ω₀ ω₁).1, (gauge4_scores ω₀ ω₁).2] at h
    exact hω (neg_inj.mp h).symm
  -- `sin 1 ≥ 2/π > 1/2` (Jordan: `Real.mul_le_sin : 0 ≤ x → x ≤ π/2 → 2/π * x ≤ sin x`; we avoid
  -- `Real.sin_gt_sub_cube`, whose statement changed across Mathlib versions) and
  -- `sin (1/100) < 1/100` (`Real.sin_lt : 0 < x → sin x < x`)
  have hsin : Real.sin 1 ≠ Real.sin (1 / 100) := by
    have hpi3 := Real.pi_gt_three
    have hpi4 := Real.pi_lt_four
    have h1 : 2 / Real.pi * 1 ≤ Real.sin 1 := Real.mul_le_sin zero_le_one (by linarith)
    have h2 : Real.sin (1 / 100) < 1 / 100 := Real.sin_lt (by norm_num)
    have h3 : (1 : ℝ) / 2 < 2 / Real.pi := by
      rw [lt_div_iff₀ Real.pi_pos]
      linarith
    intro h
    linarith
  exact ⟨swapPlanes_orthogonal, swapPlanes_det, hne, hne 1 (1 / 100) hsin⟩

end QuantProof

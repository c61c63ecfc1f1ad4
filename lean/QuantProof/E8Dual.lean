/-
Copyright (c) QuantProof contributors.
-/
import QuantProof.Lattice

/-!
# E8 is positive definite, even, unimodular and self-dual (claim `s000_dual_e8_is_e8`)

With a basis `b₀, …, b₇` of E8 whose Gram matrix is `e8Gram` (the E8 Cartan matrix), a vector
`x = ∑ⱼ cⱼ bⱼ` of the real span lies in the dual lattice `E8* = {x | ⟨x, y⟩ ∈ ℤ for all y ∈ E8}`
iff `⟨x, bᵢ⟩ = ∑ⱼ Gᵢⱼ cⱼ ∈ ℤ` for every `i`, and in E8 iff every `cⱼ ∈ ℤ`. So `E8* = E8` reads, in
these coordinates, `(∀ i, ∑ⱼ Gᵢⱼ cⱼ ∈ ℤ) ↔ (∀ j, cⱼ ∈ ℤ)` for every real `c`
(`e8_self_dual`). It holds because `G` has an integer inverse (`e8GramInv`, checked entry by entry
by kernel computation). Positive definiteness (`e8Gram_posDef`) is the Gram matrix of a basis
being positive definite: `vᵀ G v = ∑ₖ Dₖ wₖ²` with `Dₖ > 0` (an `LDLᵀ` factorisation) and `w` a
unitriangular change of coordinates, so `vᵀ G v = 0` forces `v = 0`.

A leaf module: nothing imports it.
-/

noncomputable section

namespace QuantProof

open Finset

/-! ### Positive definiteness -/

/-- The E8 quadratic form over `ℝ`, as a polynomial in the coordinates (as `e8Form_poly`). -/
theorem e8Form_poly_real (a b c d e f g h : ℝ) :
    ∑ i, ∑ j, ![a, b, c, d, e, f, g, h] i * (e8Gram i j : ℝ) * ![a, b, c, d, e, f, g, h] j =
      2 * (a ^ 2 + b ^ 2 + c ^ 2 + d ^ 2 + e ^ 2 + f ^ 2 + g ^ 2 + h ^ 2) -
        2 * (a * c + b * d + c * d + d * e + e * f + f * g + g * h) := by
  simp only [Fin.sum_univ_succ, Fin.sum_univ_zero, e8Gram, Matrix.of_apply, Matrix.cons_val_zero,
    Matrix.cons_val_succ, Int.cast_zero, Int.cast_one, Int.cast_neg, Int.cast_ofNat]
  ring

/-- The Gram matrix of E8 is positive definite: `vᵀ G v > 0` for every real `v ≠ 0`. -/
theorem e8Gram_posDef (v : Fin 8 → ℝ) (hv : v ≠ 0) :
    0 < ∑ i, ∑ j, v i * (e8Gram i j : ℝ) * v j := by
  rw [vec8_eta v, e8Form_poly_real]
  -- `LDLᵀ`: pivots `2, 2, 3/2, 5/6, 4/5, 3/4, 2/3, 1/2`
  have key : 2 * (v 0 ^ 2 + v 1 ^ 2 + v 2 ^ 2 + v 3 ^ 2 + v 4 ^ 2 + v 5 ^ 2 + v 6 ^ 2 + v 7 ^ 2) -
      2 * (v 0 * v 2 + v 1 * v 3 + v 2 * v 3 + v 3 * v 4 + v 4 * v 5 + v 5 * v 6 + v 6 * v 7) =
      2 * (v 0 - 1 / 2 * v 2) ^ 2 + 2 * (v 1 - 1 / 2 * v 3) ^ 2 + 3 / 2 * (v 2 - 2 / 3 * v 3) ^ 2 +
        5 / 6 * (v 3 - 6 / 5 * v 4) ^ 2 + 4 / 5 * (v 4 - 5 / 4 * v 5) ^ 2 +
        3 / 4 * (v 5 - 4 / 3 * v 6) ^ 2 + 2 / 3 * (v 6 - 3 / 2 * v 7) ^ 2 + 1 / 2 * v 7 ^ 2 := by
    ring
  rw [key]
  by_contra hle
  push_neg at hle
  have t0 := sq_nonneg (v 0 - 1 / 2 * v 2)
  have t1 := sq_nonneg (v 1 - 1 / 2 * v 3)
  have t2 := sq_nonneg (v 2 - 2 / 3 * v 3)
  have t3 := sq_nonneg (v 3 - 6 / 5 * v 4)
  have t4 := sq_nonneg (v 4 - 5 / 4 * v 5)
  have t5 := sq_nonneg (v 5 - 4 / 3 * v 6)
  have t6 := sq_nonneg (v 6 - 3 / 2 * v 7)
  have t7 := sq_nonneg (v 7)
  -- every square vanishes, and back-substitution gives `v = 0`
  -- a square that is `≤ 0` vanishes, and so does its base
  have zero_of {x : ℝ} (h : x ^ 2 ≤ 0) : x = 0 :=
    (pow_eq_zero_iff two_ne_zero).mp (le_antisymm h (sq_nonneg x))
  have z7 : v 7 = 0 := zero_of (by linarith)
  have z6 : v 6 = 0 := by
    have h := zero_of (x := v 6 - 3 / 2 * v 7) (by linarith)
    linarith
  have z5 : v 5 = 0 := by
    have h := zero_of (x := v 5 - 4 / 3 * v 6) (by linarith)
    linarith
  have z4 : v 4 = 0 := by
    have h := zero_of (x := v 4 - 5 / 4 * v 5) (by linarith)
    linarith
  have z3 : v 3 = 0 := by
    have h := zero_of (x := v 3 - 6 / 5 * v 4) (by linarith)
    linarith
  have z2 : v 2 = 0 := by
    have h := zero_of (x := v 2 - 2 / 3 * v 3) (by linarith)
    linarith
  have z1 : v 1 = 0 := by
    have h := zero_of (x := v 1 - 1 / 2 * v 3) (by linarith)
    linarith
  have z0 : v 0 = 0 := by
    have h := zero_of (x := v 0 - 1 / 2 * v 2) (by linarith)
    linarith
  apply hv
  funext i
  fin_cases i
  exacts [z0, z1, z2, z3, z4, z5, z6, z7]

/-! ### Self-duality -/

/-- The inverse of the E8 Gram matrix; it has integer entries because `det = 1`. -/
def e8GramInv : Matrix (Fin 8) (Fin 8) ℤ :=
  !![ 4,  5,  7, 10,  8,  6,  4,  2;
      5,  8, 10, 15, 12,  9,  6,  3;
      7, 10, 14, 20, 16, 12,  8,  4;
     10, 15, 20, 30, 24, 18, 12,  6;
      8, 12, 16, 24, 20, 15, 10,  5;
      6,  9, 12, 18, 15, 12,  8,  4;
      4,  6,  8, 12, 10,  8,  6,  3;
      2,  3,  4,  6,  5,  4,  3,  2]

/-- `G⁻¹ G = 1`, entry by entry, by kernel computation. -/
theorem e8GramInv_mul_entries :
    ∀ i j : Fin 8, finSum 8 (fun k => e8GramInv i k * e8Gram k j) = if i = j then 1 else 0 := by
  decide +kernel

/-- Coordinates of the dual lattice: if `H G = 1` over `ℤ`, a real coordinate vector `c` pairs
integrally with every basis vector (`∑ⱼ Gᵢⱼ cⱼ ∈ ℤ` for all `i`) iff `c` is integral. -/
theorem coord_dual_iff_of_inverse {n : ℕ} (G H : Matrix (Fin n) (Fin n) ℤ)
    (hHG : ∀ i j : Fin n, finSum n (fun k => H i k * G k j) = if i = j then 1 else 0)
    (c : Fin n → ℝ) :
    (∀ i, ∃ z : ℤ, ∑ j, (G i j : ℝ) * c j = z) ↔ (∀ i, ∃ z : ℤ, c i = z) := by
  constructor
  · intro h i
    choose z hz using h
    -- row `i` of `H G = 1`, over `ℝ`
    have hrow : ∀ j, ∑ k, (H i k : ℝ) * (G k j : ℝ) = if i = j then 1 else 0 := by
      intro j
      have e := congrArg (Int.cast : ℤ → ℝ) (hHG i j)
      rw [finSum_eq, Int.cast_sum] at e
      simp only [Int.cast_mul] at e
      rw [e]
      split_ifs
      · exact Int.cast_one
      · exact Int.cast_zero
    have hsel : ∑ j, (if i = j then (1 : ℝ) else 0) * c j = c i := by
      simp only [ite_mul, one_mul, zero_mul]
      rw [Finset.sum_ite_eq, if_pos (Finset.mem_univ i)]
    refine ⟨∑ k, H i k * z k, ?_⟩
    calc c i = ∑ j, (if i = j then (1 : ℝ) else 0) * c j := hsel.symm
      _ = ∑ j, (∑ k, (H i k : ℝ) * (G k j : ℝ)) * c j := by simp only [hrow]
      _ = ∑ k, (H i k : ℝ) * ∑ j, (G k j : ℝ) * c j := by
          simp only [Finset.sum_mul, Finset.mul_sum, mul_assoc]
          exact Finset.sum_comm
      _ = ∑ k, (H i k : ℝ) * (z k : ℝ) := by simp only [hz]
      _ = ((∑ k, H i k * z k : ℤ) : ℝ) := by simp only [Int.cast_sum, Int.cast_mul]
  · intro h i
    choose z hz using h
    refine ⟨∑ j, G i j * z j, ?_⟩
    simp only [hz, Int.cast_sum, Int.cast_mul]

/-- E8 is self-dual, in the coordinates of a basis with Gram matrix `e8Gram`. -/
theorem e8_self_dual (c : Fin 8 → ℝ) :
    (∀ i, ∃ z : ℤ, ∑ j, (e8Gram i j : ℝ) * c j = z) ↔ (∀ i, ∃ z : ℤ, c i = z) :=
  coord_dual_iff_of_inverse e8Gram e8GramInv e8GramInv_mul_entries c

/-- Claim `s000_dual_e8_is_e8` (seed 000/002, "Dual E8"): the E8 Gram matrix (Cartan matrix of
the simple roots) is symmetric, positive definite, even (`vᵀ G v ∈ 2ℤ` for integer `v`) and of
determinant `1`, and E8 is self-dual: in the coordinates of the basis, a real vector pairs
integrally with all of E8 iff it lies in E8, so `E8* = E8`. The same holds for `E8 ⊕ E8`
(the seed's "E16", read as the direct sum): its Gram matrix is block-diagonal `diag(G, G)`, so the
pairing of `(c₁, c₂)` with the basis is the pair of E8 pairings, and it is integral iff `c₁` and
`c₂` are both integral. -/
theorem s000_e8_even_unimodular_self_dual :
    (∀ i j, e8Gram j i = e8Gram i j) ∧ e8Gram.det = 1 ∧
      (∀ v : Fin 8 → ℝ, v ≠ 0 → 0 < ∑ i, ∑ j, v i * (e8Gram i j : ℝ) * v j) ∧
      (∀ v : Fin 8 → ℤ, Even (∑ i, ∑ j, v i * e8Gram i j * v j)) ∧
      (∀ c : Fin 8 → ℝ,
        (∀ i, ∃ z : ℤ, ∑ j, (e8Gram i j : ℝ) * c j = z) ↔ (∀ i, ∃ z : ℤ, c i = z)) ∧
      (∀ c₁ c₂ : Fin 8 → ℝ,
        ((∀ i, ∃ z : ℤ, ∑ j, (e8Gram i j : ℝ) * c₁ j = z) ∧
            (∀ i, ∃ z : ℤ, ∑ j, (e8Gram i j : ℝ) * c₂ j = z)) ↔
          ((∀ i, ∃ z : ℤ, c₁ i = z) ∧ (∀ i, ∃ z : ℤ, c₂ i = z))) :=
  ⟨e8Gram_symm, e8Gram_det, e8Gram_posDef, e8Gram_even, e8_self_dual,
    fun c₁ c₂ => and_congr (e8_self_dual c₁) (e8_self_dual c₂)⟩

end QuantProof

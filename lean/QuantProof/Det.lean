/-
Copyright (c) QuantProof contributors.
-/
import Mathlib

/-!
# Integer determinants and sums by kernel computation

`finSum` and `detLaplace` are structurally recursive, so `decide +kernel` evaluates them on integer
literals (no `native_decide`); `finSum_eq` and `detLaplace_eq` tie them to `Finset.sum` and
`Matrix.det`. Used by `QuantProof.Lattice` (E8) and `QuantProof.GaugeRope` (a 4 × 4 rotation); kept
apart so that either can fail without blocking the other.
-/

noncomputable section

namespace QuantProof

open Finset

/-- Structurally recursive sum over `Fin n` (reduces in the kernel). -/
def finSum : (n : ℕ) → (Fin n → ℤ) → ℤ
  | 0, _ => 0
  | n + 1, f => f 0 + finSum n (fun i => f i.succ)

theorem finSum_eq : ∀ (n : ℕ) (f : Fin n → ℤ), finSum n f = ∑ i, f i
  | 0, f => (Fin.sum_univ_zero f).symm
  | n + 1, f => by rw [finSum, finSum_eq n, Fin.sum_univ_succ]

/-- Laplace expansion of the determinant along row `0`, skipping zero entries. -/
def detLaplace : (n : ℕ) → Matrix (Fin n) (Fin n) ℤ → ℤ
  | 0, _ => 1
  | n + 1, A => finSum (n + 1) fun j =>
      if A 0 j = 0 then 0 else (-1) ^ (j : ℕ) * A 0 j * detLaplace n (A.submatrix Fin.succ j.succAbove)

/-- `detLaplace` computes `Matrix.det` (`Matrix.det_succ_row_zero`:
`det A = ∑ j, (-1) ^ (j : ℕ) * A 0 j * det (A.submatrix Fin.succ j.succAbove)`). -/
theorem detLaplace_eq : ∀ (n : ℕ) (A : Matrix (Fin n) (Fin n) ℤ), detLaplace n A = A.det
  | 0, A => by
    -- `Matrix.det_fin_zero : det A = 1` for `A : Matrix (Fin 0) (Fin 0) R`; `detLaplace 0 A` is `1`
    exact Matrix.det_fin_zero.symm
  | n + 1, A => by
    rw [detLaplace, finSum_eq, Matrix.det_succ_row_zero]
    refine Finset.sum_congr rfl fun j _ => ?_
    by_cases h : A 0 j = 0
    · rw [if_pos h, h]
      ring
    · rw [if_neg h, detLaplace_eq n]

end QuantProof

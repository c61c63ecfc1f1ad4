/-
Copyright (c) QuantProof contributors.
-/
import QuantProof.LowRank

/-!
# OPEN — Eckart–Young / Ky Fan for the rank-`r` residual correction (seed 003 §6)

NOT imported by `QuantProof`; `sorry` is allowed here only.

Mathlib (at the pinned revision) has the spectral theorem but no Eckart–Young–Mirsky theorem. We
state the two seed claims with the eigen-decomposition of `Eᵀ E` as explicit hypotheses
(orthogonal `U` whose columns are eigenvectors, eigenvalues `λ` sorted decreasingly), which avoids
depending on how Mathlib orders `Matrix.IsHermitian.eigenvalues`.

The diagonal special case (`E` diagonal, projections onto coordinate subspaces) is
`QuantProof.top_k_optimal`, proved in the trusted target.
-/

namespace QuantProofOpen

open Matrix

/-- Claim `svd_topk_maximizes_gammaR` (seed 003 §6) (Ky Fan): for the residual matrix `E`
(rows = residual vectors) and any orthogonal projection `P` of rank `r` (`Pᵀ = P`, `P² = P`,
`tr P = r`), the captured energy `‖E P‖_F² = tr((E P)(E P)ᵀ)` is at most the sum of the top `r`
eigenvalues of `Eᵀ E` (the squared top-`r` singular values), and the projection onto the top-`r`
right singular vectors, `U diag(1_{j<r}) Uᵀ`, attains it: the top-`r` right singular subspace
maximises `γ_r`. OPEN. -/
theorem svd_topk_maximizes_gammaR {n d r : ℕ} (E : Matrix (Fin n) (Fin d) ℝ)
    (U : Matrix (Fin d) (Fin d) ℝ) (hU : Uᵀ * U = 1) (lam : Fin d → ℝ) (hlam : Antitone lam)
    (heig : ∀ j, (Eᵀ * E).mulVec (fun i => U i j) = lam j • (fun i => U i j)) :
    (∀ P : Matrix (Fin d) (Fin d) ℝ, Pᵀ = P → P * P = P → P.trace = r →
        ((E * P) * (E * P)ᵀ).trace ≤ ∑ j : Fin d, if (j : ℕ) < r then lam j else 0) ∧
      ((E * (U * diagonal (fun j : Fin d => if (j : ℕ) < r then (1 : ℝ) else 0) * Uᵀ)) *
          (E * (U * diagonal (fun j : Fin d => if (j : ℕ) < r then (1 : ℝ) else 0) * Uᵀ))ᵀ).trace
        = ∑ j : Fin d, if (j : ℕ) < r then lam j else 0 := by
  sorry

/-- Claim `residual_topk_eckart_young` (seed 003 §6) (Eckart–Young–Mirsky, Frobenius norm): every
matrix `B` of rank at most `r` has `‖E − B‖_F² ≥ ∑_{j ≥ r} λ_j`, and the truncated SVD
`E · U diag(1_{j<r}) Uᵀ` attains it. OPEN. -/
theorem residual_topk_eckart_young {n d r : ℕ} (E : Matrix (Fin n) (Fin d) ℝ)
    (U : Matrix (Fin d) (Fin d) ℝ) (hU : Uᵀ * U = 1) (lam : Fin d → ℝ) (hlam : Antitone lam)
    (heig : ∀ j, (Eᵀ * E).mulVec (fun i => U i j) = lam j • (fun i => U i j)) :
    (∀ B : Matrix (Fin n) (Fin d) ℝ, B.rank ≤ r →
        (∑ j : Fin d, if r ≤ (j : ℕ) then lam j else 0) ≤ ((E - B) * (E - B)ᵀ).trace) ∧
      ((E - E * (U * diagonal (fun j : Fin d => if (j : ℕ) < r then (1 : ℝ) else 0) * Uᵀ)) *
          (E - E * (U * diagonal (fun j : Fin d => if (j : ℕ) < r then (1 : ℝ) else 0) * Uᵀ))ᵀ).trace
        = ∑ j : Fin d, if r ≤ (j : ℕ) then lam j else 0 := by
  sorry

end QuantProofOpen

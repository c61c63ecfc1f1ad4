/-
Copyright (c) QuantProof contributors.
-/
import Mathlib

/-!
# OPEN — analytic moments behind the reference values (seed 003 §1–2)

NOT imported by `QuantProof`; `sorry` is allowed here only.

`QuantProof.gaussian_moment_ratio_floor_eq` proves the arithmetic `(√(2/π))² / 1 = 2/π` and
`QuantProof.laplace_moment_ratio` the arithmetic for Laplace. The analytic inputs — the first two
absolute moments of the standard Gaussian and of the standard Laplace law — are stated here.
(Uniform on `[-1, 1]` is proved in the trusted target: `QuantProof.uniform_moment_ratio`.)
-/

open MeasureTheory ProbabilityTheory

namespace QuantProofOpen

/-- `E|X| = √(2/π)` for `X ∼ N(0, 1)`. OPEN. -/
theorem gaussian_abs_moment : ∫ x, |x| ∂(gaussianReal 0 1) = Real.sqrt (2 / Real.pi) := by
  sorry

/-- `E X² = 1` for `X ∼ N(0, 1)`. OPEN (follows from the variance of `gaussianReal`). -/
theorem gaussian_second_moment : ∫ x, x ^ 2 ∂(gaussianReal 0 1) = 1 := by
  sorry

/-- Claim `gaussian_moment_ratio_floor_eq` (seed 003 §2) as stated: for `X ∼ N(0, v)` with any
variance `v = σ² > 0`, `(E|X|)² / E X² = 2/π`, independent of `σ`. OPEN. -/
theorem gaussian_moment_ratio (v : NNReal) (hv : v ≠ 0) :
    (∫ x, |x| ∂(gaussianReal 0 v)) ^ 2 / ∫ x, x ^ 2 ∂(gaussianReal 0 v) = 2 / Real.pi := by
  sorry

/-- Laplace(0, 1) half-line moments: `∫₀^∞ x e^{-x} dx = 1`, `∫₀^∞ x² e^{-x} dx = 2`, so
`E|X| = 1`, `E X² = 2` and `β = 1/2`. OPEN. -/
theorem laplace_moments :
    (∫ x in Set.Ioi (0 : ℝ), x * Real.exp (-x)) = 1 ∧
      (∫ x in Set.Ioi (0 : ℝ), x ^ 2 * Real.exp (-x)) = 2 := by
  sorry

end QuantProofOpen

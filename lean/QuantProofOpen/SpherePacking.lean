/-
Copyright (c) QuantProof contributors.
-/
import Mathlib

/-!
# OPEN — optimality of the E8 packing in dimension 8 (seed 002)

NOT imported by `QuantProof`; `sorry` is allowed here only.

Seed 002 calls (Dual) E8 "a high-symmetry structure known for optimal packing density in 8D
space". That is Viazovska's theorem (Annals of Mathematics 185 (2017); see REFERENCES.md): no
packing of unit balls in `ℝ⁸` has upper density above `π⁴/384 ≈ 0.2537`, the density of the E8
packing (E8 scaled to minimal distance `2`; E8 is unimodular, so "Dual E8" is E8 itself:
`QuantProof.e8Gram_det`). Its proof (modular forms, the Cohn–Elkies linear-programming bound) is far
beyond this project, so the statement is recorded here, open.

The statement: for a set `X` of centres with pairwise distances `≥ 2` (unit balls with disjoint
interiors) and every `ε > 0`, eventually in `R` the balls centred in the ball of radius `R` cover at
most a `π⁴/384 + ε` fraction of its volume. (Counting all centres in `B_R` rather than the balls
inside `B_R` changes nothing in the limit.)
-/

open MeasureTheory

namespace QuantProofOpen

/-- Claim `s002_dual_e8_optimal_packing` (seed 002): upper density of every unit-ball packing of
`ℝ⁸` is at most `π⁴/384`, the E8 density (Viazovska 2016). OPEN: not formalised here. -/
theorem e8_packing_density_optimal (X : Set (EuclideanSpace ℝ (Fin 8)))
    (hX : X.Pairwise fun x y => 2 ≤ dist x y) (ε : ℝ) (hε : 0 < ε) :
    ∃ R₀ : ℝ, ∀ R ≥ R₀,
      ((X ∩ Metric.ball 0 R).ncard : ℝ) *
          (volume (Metric.ball (0 : EuclideanSpace ℝ (Fin 8)) 1)).toReal ≤
        (Real.pi ^ 4 / 384 + ε) * (volume (Metric.ball (0 : EuclideanSpace ℝ (Fin 8)) R)).toReal := by
  sorry

end QuantProofOpen

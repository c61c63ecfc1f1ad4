/-
Copyright (c) QuantProof contributors.
-/
import QuantProof.SignQuant

/-!
# OPEN — corrected `iid_coord_moment_ratio_floor` (seed 003 §1) and `one_bit_residual_floor` (§2)

NOT imported by `QuantProof`; `sorry` is allowed here only. `lake build QuantProofOpen` builds it.

The literal claim (identically distributed coordinates) is refuted in
`QuantProof.iid_coord_moment_ratio_floor_false_without_independence`. The corrected statement adds
independence: if `K₀, K₁, …` are pairwise independent, identically distributed, in `L²` and not
a.s. zero, then almost surely `cos θ_{(K₀,…,K_{d-1})} → E|K₀| / √(E K₀²) = √β`. Symmetry is not
needed.

Proof sketch (not formalised): apply `ProbabilityTheory.strong_law_ae` to `|K_i|` and to `K_i²`
(both pairwise independent and identically distributed by `IndepFun.comp` /
`IdentDistrib.comp`, integrable since `K₀ ∈ L²`); on the intersection of the two almost-sure
events, `cos θ = (mean |K_i|) / √(mean K_i²)` (`QuantProof.cos_sign_quant_formula`, dividing
numerator and denominator by `d`) converges by continuity of `(a, b) ↦ a / √b` at `b = E K₀² > 0`.
-/

open MeasureTheory ProbabilityTheory Filter Topology

namespace QuantProofOpen

/-- Claim `iid_coord_moment_ratio_floor` (seed 003 §1), corrected statement (independence added).
OPEN: proof not formalised. -/
theorem iid_coord_moment_ratio_floor_corrected {Ω : Type*} [MeasurableSpace Ω] {P : Measure Ω}
    [IsProbabilityMeasure P] (K : ℕ → Ω → ℝ) (hmeas : ∀ i, Measurable (K i))
    (hindep : Pairwise fun i j => IndepFun (K i) (K j) P)
    (hident : ∀ i, IdentDistrib (K i) (K 0) P P) (hL2 : MemLp (K 0) 2 P)
    (hpos : 0 < ∫ ω, K 0 ω ^ 2 ∂P) :
    ∀ᵐ ω ∂P, Tendsto (fun d : ℕ => QuantProof.cosSignQuant (fun i : Fin (d + 1) => K i ω)) atTop
      (𝓝 ((∫ ω, |K 0 ω| ∂P) / Real.sqrt (∫ ω, K 0 ω ^ 2 ∂P))) := by
  sorry

/-- Claim `one_bit_residual_floor` (seed 003 §2): for pairwise independent, identically distributed
coordinates in `L²` (not a.s. zero), the residual energy fraction of the 1-bit quantizer with the
least-squares scale, `‖k − Q(k)‖² / ‖k‖²`, converges almost surely to `1 − β` with
`β = (E|K₀|)² / E K₀²`. OPEN: proof not formalised. It follows from
`iid_coord_moment_ratio_floor_corrected` (`cos θ → √β`), the exact identity
`QuantProof.residual_energy_formula` (`‖k − Q(k)‖²/‖k‖² = 1 − cos² θ_k` for `k ≠ 0`) and the fact
that `k ≠ 0` eventually almost surely (strong law for `K_i²`). -/
theorem one_bit_residual_floor_limit {Ω : Type*} [MeasurableSpace Ω] {P : Measure Ω}
    [IsProbabilityMeasure P] (K : ℕ → Ω → ℝ) (hmeas : ∀ i, Measurable (K i))
    (hindep : Pairwise fun i j => IndepFun (K i) (K j) P)
    (hident : ∀ i, IdentDistrib (K i) (K 0) P P) (hL2 : MemLp (K 0) 2 P)
    (hpos : 0 < ∫ ω, K 0 ω ^ 2 ∂P) :
    ∀ᵐ ω ∂P, Tendsto (fun d : ℕ =>
        QuantProof.sqNorm ((fun i : Fin (d + 1) => K i ω) -
            QuantProof.signQuant (fun i : Fin (d + 1) => K i ω)) /
          QuantProof.sqNorm (fun i : Fin (d + 1) => K i ω)) atTop
      (𝓝 (1 - (∫ ω, |K 0 ω| ∂P) ^ 2 / ∫ ω, K 0 ω ^ 2 ∂P)) := by
  sorry

end QuantProofOpen

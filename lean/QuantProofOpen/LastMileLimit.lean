/-
Copyright (c) QuantProof contributors.
-/
import QuantProof.LastMile

/-!
# OPEN — the second-order limit behind `beta_local_quadratic_expansion` (seed 003 §5)

NOT imported by `QuantProof`; `sorry` is allowed here only.

The trusted target proves the exact ray identity
`1 − β(s + tε) = t² (d‖ε‖² − (s·ε)²) / (d ‖s + tε‖²)` whenever the signs are kept
(`QuantProof.beta_local_quadratic_expansion`). The limit form below follows from it because, for
`|t| · max|εᵢ| < 1`, the signs are kept and `‖s + tε‖² → d`; the filter bookkeeping is not yet
formalised.
-/

open Filter Topology

namespace QuantProofOpen

/-- `(1 − β(s + tε)) / t² → (d‖ε‖² − (s·ε)²) / d²` as `t → 0`, `t ≠ 0`. OPEN. -/
theorem beta_local_quadratic_expansion_limit {d : ℕ} (hd : 0 < d) {s : Fin d → ℝ}
    (hs : QuantProof.IsSignVec s) (ε : Fin d → ℝ) :
    Tendsto (fun t : ℝ => (1 - QuantProof.beta (s + fun i => t * ε i)) / t ^ 2) (𝓝[≠] 0)
      (𝓝 (((d : ℝ) * QuantProof.sqNorm ε - QuantProof.dot s ε ^ 2) / (d : ℝ) ^ 2)) := by
  sorry

end QuantProofOpen

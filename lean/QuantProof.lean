/-
Copyright (c) QuantProof contributors.
-/
import QuantProof.Basic
import QuantProof.SignQuant
import QuantProof.MomentRatio.Asymptotic
import QuantProof.Rotation
import QuantProof.LastMile
import QuantProof.LowRank
import QuantProof.Lattice
import QuantProof.Memory
import QuantProof.Gauge
import QuantProof.Spectral
import QuantProof.GeneralizedGaussian
import QuantProof.Blend

/-!
# QuantProof — the trusted Lean target

Everything imported here is checked by `lake build` and audited for axioms (only `propext`,
`Classical.choice`, `Quot.sound` are allowed; no `sorry`, `native_decide`, `axiom`). Statements
whose proofs are not available live in `lean/QuantProofOpen/` and are not imported here.
See `lean/README.md`.
-/

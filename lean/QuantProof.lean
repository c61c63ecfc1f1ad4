/-
Copyright (c) QuantProof contributors.
-/
import QuantProof.Basic
import QuantProof.SignQuant
import QuantProof.MomentRatio.Asymptotic
import QuantProof.Rotation
import QuantProof.LastMile
import QuantProof.LowRank
import QuantProof.Det
import QuantProof.Lattice
import QuantProof.Memory
import QuantProof.Gauge
import QuantProof.Spectral
import QuantProof.GeneralizedGaussian
import QuantProof.Blend
import QuantProof.SignQuantClaims
import QuantProof.LastMileExact
import QuantProof.E8Dual
import QuantProof.SRHT
import QuantProof.GaugeRope
import QuantProof.LeechAttention

/-!
# QuantProof — the trusted Lean target

Everything imported here is checked by `lake build` and audited for axioms (only `propext`,
`Classical.choice`, `Quot.sound` are allowed; no `sorry`, `native_decide`, `axiom`). Statements
whose proofs are not available live in `lean/QuantProofOpen/` and are not imported here.

The runner builds each module on its own (`lake build +Module`, in import order), so a module that
fails blocks only itself and the modules importing it. The modules that state claims exactly as
`claims.yaml` words them (`SignQuantClaims`, `LastMileExact`, `E8Dual`, `SRHT`, `GaugeRope`,
`LeechAttention`) are leaves: nothing else imports them.
See `lean/README.md`.
-/

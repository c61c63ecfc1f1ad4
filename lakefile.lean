import Lake
open Lake DSL

-- QuantProof's Lean side. Mathlib is pinned to the `v4.25.0` release commit
-- 1ccd71f89cbbd82ae7d097723ce1722ca7b01c33, which builds with `leanprover/lean4:v4.25.0`
-- (see `lean-toolchain`, `lake-manifest.json` and `lean/README.md`).

package quantproof where
  leanOptions := #[⟨`autoImplicit, false⟩, ⟨`relaxedAutoImplicit, false⟩]

require mathlib from git
  "https://github.com/leanprover-community/mathlib4" @ "1ccd71f89cbbd82ae7d097723ce1722ca7b01c33"

-- The trusted target: every module imported by `lean/QuantProof.lean`.
@[default_target]
lean_lib QuantProof where
  srcDir := "lean"
  roots := #[`QuantProof]

-- Open statements (`sorry` allowed). Not a default target, not imported by `QuantProof`.
-- Build with `lake build QuantProofOpen`.
lean_lib QuantProofOpen where
  srcDir := "lean"
  globs := #[.submodules `QuantProofOpen]

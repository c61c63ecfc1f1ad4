/-
Copyright (c) QuantProof contributors.
-/
import QuantProof.Lattice

/-!
# OPEN — the 240 minimal vectors of E8 (REFERENCES "Lattices")

NOT imported by `QuantProof`; `sorry` is allowed here only.

The trusted target proves `det = 1`, symmetry, diagonal `2` and evenness of the E8 Gram matrix.
The count of minimal vectors needs either a bounded enumeration over a box containing all roots
(coefficients in `[-6, 6]`, `13⁸ ≈ 8·10⁸` candidates: far too large for kernel `decide`, and
`native_decide` is banned) or a structural argument through the `D8 ∪ (D8 + ½·1)` model.
-/

namespace QuantProofOpen

/-- E8's quadratic form in simple-root coordinates. -/
def e8Form (v : Fin 8 → ℤ) : ℤ := ∑ i, ∑ j, v i * QuantProof.e8Gram i j * v j

/-- Minimum norm `2`: every nonzero lattice vector has `vᵀ G v ≥ 2` (positive definite + even).
OPEN. -/
theorem e8_min_norm (v : Fin 8 → ℤ) (hv : v ≠ 0) : 2 ≤ e8Form v := by
  sorry

/-- Exactly `240` lattice vectors of norm `2` (the E8 roots). OPEN. -/
theorem e8_minimal_vectors_card : Set.ncard {v : Fin 8 → ℤ | e8Form v = 2} = 240 := by
  sorry

end QuantProofOpen

/-
Copyright (c) QuantProof contributors.
-/
import QuantProof.Det

/-!
# The E8 lattice: Gram matrix facts (seeds 000, 001, 002; REFERENCES "Lattices")

The Gram matrix of the simple roots of `E8` (its Cartan matrix, Bourbaki numbering: the chain
`1 – 3 – 4 – 5 – 6 – 7 – 8` with `2` attached to `4`) is an explicit `8 × 8` integer matrix. We
prove, by kernel computation only (`decide +kernel`, no `native_decide`):

* `e8Gram_det` — `det = 1` (E8 is unimodular, hence self-dual);
* `e8Gram_symm`, `e8Gram_diag` — symmetric with diagonal `2`;
* `e8Gram_even` — `vᵀ G v` is even for every integer `v` (E8 is an even lattice).

The determinant goes through `detLaplace` (`QuantProof.Det`), a structurally recursive Laplace
expansion along the first row that skips zero entries (152 recursive calls for this matrix), proved
equal to `Matrix.det` from Mathlib's `Matrix.det_succ_row_zero`. The count of 240 minimal vectors is left
open (`QuantProofOpen/E8Roots.lean`).
-/

noncomputable section

namespace QuantProof

open Finset

/-- Gram matrix of the E8 simple roots (the E8 Cartan matrix), Bourbaki numbering
(0-indexed: edges 0–2, 1–3, 2–3, 3–4, 4–5, 5–6, 6–7). -/
def e8Gram : Matrix (Fin 8) (Fin 8) ℤ :=
  !![ 2,  0, -1,  0,  0,  0,  0,  0;
      0,  2,  0, -1,  0,  0,  0,  0;
     -1,  0,  2, -1,  0,  0,  0,  0;
      0, -1, -1,  2, -1,  0,  0,  0;
      0,  0,  0, -1,  2, -1,  0,  0;
      0,  0,  0,  0, -1,  2, -1,  0;
      0,  0,  0,  0,  0, -1,  2, -1;
      0,  0,  0,  0,  0,  0, -1,  2]

set_option maxRecDepth 100000 in
theorem detLaplace_e8Gram : detLaplace 8 e8Gram = 1 := by
  decide +kernel

/-- E8 is unimodular: the Gram determinant of a basis is `1` (REFERENCES: "E8 is even and
unimodular (Gram determinant 1, so it is its own dual)"). -/
theorem e8Gram_det : e8Gram.det = 1 := by
  rw [← detLaplace_eq]
  exact detLaplace_e8Gram

theorem e8Gram_symm : ∀ i j, e8Gram j i = e8Gram i j := by
  decide +kernel

theorem e8Gram_diag : ∀ i, e8Gram i i = 2 := by
  decide +kernel

/-- The E8 quadratic form as a polynomial in the eight coordinates: with the coordinates written as
a literal vector `![a, …, h]`, every index is a chain of `Fin.succ` (`Fin.sum_univ_succ`), so the
entries reduce by `Matrix.cons_val_succ` / `Matrix.cons_val_zero` alone and the coordinates stay
the plain variables `a, …, h` for `ring`. -/
theorem e8Form_poly (a b c d e f g h : ℤ) :
    ∑ i, ∑ j, ![a, b, c, d, e, f, g, h] i * e8Gram i j * ![a, b, c, d, e, f, g, h] j =
      2 * (a ^ 2 + b ^ 2 + c ^ 2 + d ^ 2 + e ^ 2 + f ^ 2 + g ^ 2 + h ^ 2) -
        2 * (a * c + b * d + c * d + d * e + e * f + f * g + g * h) := by
  simp only [Fin.sum_univ_succ, Fin.sum_univ_zero, e8Gram, Matrix.of_apply, Matrix.cons_val_zero,
    Matrix.cons_val_succ]
  ring

/-- Every `v : Fin 8 → α` is the literal vector of its coordinates. -/
theorem vec8_eta {α : Type*} (v : Fin 8 → α) : v = ![v 0, v 1, v 2, v 3, v 4, v 5, v 6, v 7] := by
  funext i
  fin_cases i <;> rfl

/-- E8 is even: `vᵀ G v = 2 (∑ vᵢ² − ∑_{edges} v_a v_b)` for every integer coefficient vector. -/
theorem e8Gram_even (v : Fin 8 → ℤ) : Even (∑ i, ∑ j, v i * e8Gram i j * v j) := by
  rw [vec8_eta v, e8Form_poly]
  exact ⟨v 0 ^ 2 + v 1 ^ 2 + v 2 ^ 2 + v 3 ^ 2 + v 4 ^ 2 + v 5 ^ 2 + v 6 ^ 2 + v 7 ^ 2 -
    (v 0 * v 2 + v 1 * v 3 + v 2 * v 3 + v 3 * v 4 + v 4 * v 5 + v 5 * v 6 + v 6 * v 7), by ring⟩

end QuantProof

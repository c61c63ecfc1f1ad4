/-
Copyright (c) QuantProof contributors.
-/
import Mathlib

/-!
# QuantProof.Basic — definitions shared with the Python side

These definitions mirror `docs/CONTRIBUTING.md` §4 exactly:

* `sgn x = +1` for `x ≥ 0` and `-1` otherwise, so `sgn 0 = +1`;
* the 1-bit quantizer is `Q(k) = α · sgn(k)` with the least-squares scale `α = ‖k‖₁ / d`;
* the 1-bit cosine is `⟨k, Q(k)⟩ / (‖k‖₂ ‖Q(k)‖₂)`;
* the moment ratio is `β(k) = μ₁² / μ₂` with `μ₁ = mean |kᵢ|`, `μ₂ = mean kᵢ²`;
* vectors are `Fin d → ℝ`, rotations `Matrix (Fin d) (Fin d) ℝ` acting as `k ↦ R k`.

All sums are explicit `Finset` sums over `Finset.univ`, so every definition unfolds to
elementary arithmetic. Inner products and rotations are stated for an arbitrary finite index
type `ι` (the block-diagonal kernel of seed 001 is indexed by `Fin 24 × Fin h`); for vectors
`Fin d → ℝ` they are used with `ι = Fin d`.
-/

noncomputable section

namespace QuantProof

open Finset

variable {ι : Type*} [Fintype ι] {d : ℕ}

/-- The sign convention of the project: `sgn x = 1` for `x ≥ 0`, `-1` otherwise (`sgn 0 = 1`).
This is *not* `Real.sign`, which sends `0` to `0`. -/
def sgn (x : ℝ) : ℝ := if 0 ≤ x then 1 else -1

/-- Euclidean inner product `⟨u, v⟩ = ∑ᵢ uᵢ vᵢ` (the attention score `q · k`). -/
def dot (u v : ι → ℝ) : ℝ := ∑ i, u i * v i

/-- Squared Euclidean norm `‖k‖₂² = ∑ᵢ kᵢ²`. -/
def sqNorm (k : ι → ℝ) : ℝ := ∑ i, k i ^ 2

/-- Euclidean norm `‖k‖₂`. -/
def l2 (k : ι → ℝ) : ℝ := Real.sqrt (sqNorm k)

/-- `ℓ¹` norm `‖k‖₁ = ∑ᵢ |kᵢ|`. -/
def l1 (k : ι → ℝ) : ℝ := ∑ i, |k i|

/-- Least-squares scale of the 1-bit quantizer, `α = ‖k‖₁ / d`. -/
def alpha (k : Fin d → ℝ) : ℝ := l1 k / d

/-- The 1-bit quantizer `Q(k) = α · sgn(k)` (coordinatewise). -/
def signQuant (k : Fin d → ℝ) : Fin d → ℝ := fun i => alpha k * sgn (k i)

/-- Cosine similarity `⟨u, v⟩ / (‖u‖₂ ‖v‖₂)` (Lean's `x / 0 = 0` makes it `0` when a vector
vanishes; theorems assume `k ≠ 0`, matching the Python `nan`). -/
def cosine (u v : Fin d → ℝ) : ℝ := dot u v / (l2 u * l2 v)

/-- The 1-bit cosine `cos θ_k = cos(k, Q(k))`. -/
def cosSignQuant (k : Fin d → ℝ) : ℝ := cosine k (signQuant k)

/-- Moment ratio `β(k) = μ₁² / μ₂` with `μ₁ = (1/d) ∑ |kᵢ|` and `μ₂ = (1/d) ∑ kᵢ²`. -/
def beta (k : Fin d → ℝ) : ℝ := (l1 k / d) ^ 2 / (sqNorm k / d)

/-- Moment ratio of a distribution from its first two absolute moments, `(E|X|)² / E X²`. -/
def momentRatio (m1 m2 : ℝ) : ℝ := m1 ^ 2 / m2

/-- A matrix acting on a vector, `(R v)ᵢ = ∑ⱼ Rᵢⱼ vⱼ` (definitionally `Matrix.mulVec R v`). -/
def rotate (R : Matrix ι ι ℝ) (v : ι → ℝ) : ι → ℝ := fun i => ∑ j, R i j * v j

/-- `rotate` is `Matrix.mulVec` by definition (`(M *ᵥ v) i = (fun j => M i j) ⬝ᵥ v = ∑ j, M i j * v j`). -/
theorem rotate_eq_mulVec (R : Matrix ι ι ℝ) (v : ι → ℝ) : rotate R v = Matrix.mulVec R v :=
  rfl

end QuantProof

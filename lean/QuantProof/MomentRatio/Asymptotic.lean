/-
Copyright (c) QuantProof contributors.
-/
import QuantProof.SignQuant

/-!
# The asymptotic link `cos θ_K → √β` (seed 003 §1): the literal claim omits independence

Seed 003 §1 states: "if coordinates `K_i` are identically distributed, symmetric, with finite second
moment, then `cos θ_K → μ₁/√μ₂ = √β` as `d → ∞`" (`iid_coord_moment_ratio_floor`).

Identical distribution alone does not suffice. Take any random variable `X` and the fully
dependent coordinate process `K_i = X` for every `i`: the coordinates are identically distributed
(trivially, each has the law of `X`), symmetric whenever `X` is, and in `L²` whenever `X` is. But
every realisation is a constant vector, so its 1-bit cosine is `1` for every `d`
(`QuantProof.cosSignQuant_const`), whereas `√β < 1` for every law whose `|X|` is not a.s.
constant — e.g. `√(2/π)` (Gaussian), `√(3/4)` (uniform on `[-1,1]`), `√(1/2)` (Laplace).

The corrected statement (i.i.d. coordinates, via the strong law of large numbers) is stated in
`QuantProofOpen/StrongLaw.lean`.
-/

noncomputable section

namespace QuantProof

open Filter Topology MeasureTheory ProbabilityTheory

/-- Claim `iid_coord_moment_ratio_floor` (seed 003 §1), refutation of the literal statement
(no independence assumed). For any probability space `(Ω, P)` and measurable `X` with
`X ≠ 0` a.s., the coordinate process `K_i = X` (every coordinate is the same random variable) has
identically distributed coordinates, yet almost surely the 1-bit cosine of `(K_0, …, K_{d-1})`
equals `1` for every `d ≥ 1`, so it converges to `1`, not to `√β(law of X)`. -/
theorem iid_coord_moment_ratio_floor_false_without_independence {Ω : Type*} [MeasurableSpace Ω]
    (P : Measure Ω) (X : Ω → ℝ) (hX : Measurable X) (hX0 : ∀ᵐ ω ∂P, X ω ≠ 0) :
    (∀ i j : ℕ, IdentDistrib ((fun _ : ℕ => X) i) ((fun _ : ℕ => X) j) P P) ∧
      ∀ᵐ ω ∂P, (∀ d : ℕ, 0 < d → cosSignQuant (fun _ : Fin d => X ω) = 1) ∧
        Tendsto (fun d : ℕ => cosSignQuant (fun _ : Fin (d + 1) => X ω)) atTop (𝓝 1) := by
  refine ⟨fun _ _ => IdentDistrib.refl hX.aemeasurable, ?_⟩
  filter_upwards [hX0] with ω hω
  refine ⟨fun d hd => cosSignQuant_const hd hω, ?_⟩
  have h : (fun d : ℕ => cosSignQuant (fun _ : Fin (d + 1) => X ω)) = fun _ => 1 :=
    funext fun d => cosSignQuant_const (d := d + 1) (by omega) hω
  rw [h]
  exact tendsto_const_nhds

/-- The deterministic core of the counterexample: a constant vector `(x, …, x)`, `x ≠ 0`, has
1-bit cosine `1` in every dimension `d ≥ 1`. -/
theorem iid_coord_moment_ratio_floor_const_counterexample {x : ℝ} (hx : x ≠ 0) :
    (∀ d : ℕ, 0 < d → cosSignQuant (fun _ : Fin d => x) = 1) ∧
      Tendsto (fun d : ℕ => cosSignQuant (fun _ : Fin (d + 1) => x)) atTop (𝓝 1) := by
  refine ⟨fun d hd => cosSignQuant_const hd hx, ?_⟩
  have h : (fun d : ℕ => cosSignQuant (fun _ : Fin (d + 1) => x)) = fun _ => 1 :=
    funext fun d => cosSignQuant_const (d := d + 1) (by omega) hx
  rw [h]
  exact tendsto_const_nhds

/-- The limit `1` of the counterexample differs from the floor `√β` the claim predicts for the
reference laws: Gaussian `√(2/π)`, uniform `√(3/4)`, Laplace `√(1/2)`. -/
theorem iid_coord_moment_ratio_floor_limits_ne_one :
    Real.sqrt (2 / Real.pi) ≠ 1 ∧ Real.sqrt (3 / 4) ≠ 1 ∧ Real.sqrt (1 / 2) ≠ 1 := by
  have key : ∀ a : ℝ, 0 ≤ a → a < 1 → Real.sqrt a ≠ 1 := by
    intro a ha0 ha1 h
    have : Real.sqrt a < 1 := by
      rw [Real.sqrt_lt' one_pos, one_pow]
      exact ha1
    linarith
  refine ⟨key _ (div_nonneg zero_le_two Real.pi_pos.le) ?_, key _ (by norm_num) (by norm_num),
    key _ (by norm_num) (by norm_num)⟩
  rw [div_lt_one Real.pi_pos]
  linarith [Real.pi_gt_three]

end QuantProof

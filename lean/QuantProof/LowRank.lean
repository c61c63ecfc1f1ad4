/-
Copyright (c) QuantProof contributors.
-/
import QuantProof.Rotation

/-!
# Rank-`r` residual correction and top-`k` sparsification (seed 003 §6, §9)

* `QuantProof.beta_eff_formula` — the seed's `β_eff = 1 − (1 − β_1b)(1 − γ_r)`, proved as the
  energy identity for an orthogonal-projection correction of the 1-bit residual: with residual
  `r = k − k̂`, a symmetric idempotent `P` (`Pᵀ = P`, `P² = P`), `β₁ = 1 − ‖r‖²/‖k‖²`,
  `γ = ‖P r‖²/‖r‖²` and `β_eff = 1 − ‖k − (k̂ + P r)‖²/‖k‖²`. As literally written in the seed
  (`theorem beta_eff_formula (β_1b γ_r : ℝ) : β_eff = …`) the statement is a definition; the
  content is that the three quantities, each defined from energies, satisfy it.
* `QuantProof.top_k_optimal` — keeping the `k` largest-magnitude coordinates minimises
  `‖x − y‖²` over all `k`-sparse `y`.
* `QuantProof.gammaR_le_one` — `γ_r ≤ 1`.

Eckart–Young (`svd_topk_maximizes_gammaR`, `residual_topk_eckart_young`) is stated in
`QuantProofOpen/EckartYoung.lean`; `top_k_optimal` is its diagonal special case.
-/

noncomputable section

namespace QuantProof

open Finset

variable {ι : Type*} [Fintype ι] [DecidableEq ι] {d : ℕ}

/-- First-stage quality `β₁ = 1 − ‖k − k̂‖² / ‖k‖²` (for `k̂ = Q(k)` this is `cos² θ_k = β(k)`,
see `beta1_signQuant`). -/
def beta1 (k khat : ι → ℝ) : ℝ := 1 - sqNorm (k - khat) / sqNorm k

/-- Fraction of residual energy captured by the correction, `γ = ‖P r‖² / ‖r‖²`. -/
def gammaR (P : Matrix ι ι ℝ) (r : ι → ℝ) : ℝ := sqNorm (rotate P r) / sqNorm r

/-- Effective quality after adding the projected residual, `1 − ‖k − (k̂ + P r)‖² / ‖k‖²`. -/
def betaEff (P : Matrix ι ι ℝ) (k khat : ι → ℝ) : ℝ :=
  1 - sqNorm (k - (khat + rotate P (k - khat))) / sqNorm k

theorem dot_proj_self (P : Matrix ι ι ℝ) (hPt : Pᵀ = P) (hPP : P * P = P)
    (r : ι → ℝ) : dot r (rotate P r) = sqNorm (rotate P r) := by
  rw [← dot_self, dot_rotate, rotate_rotate, hPt, hPP]

/-- Pythagoras for an orthogonal projection: `‖r − P r‖² = ‖r‖² − ‖P r‖²`. -/
theorem sqNorm_sub_proj (P : Matrix ι ι ℝ) (hPt : Pᵀ = P) (hPP : P * P = P)
    (r : ι → ℝ) : sqNorm (r - rotate P r) = sqNorm r - sqNorm (rotate P r) := by
  rw [sqNorm_sub, dot_proj_self P hPt hPP]
  ring

theorem sqNorm_proj_le (P : Matrix ι ι ℝ) (hPt : Pᵀ = P) (hPP : P * P = P)
    (r : ι → ℝ) : sqNorm (rotate P r) ≤ sqNorm r := by
  have h := sqNorm_sub_proj P hPt hPP r
  have h0 := sqNorm_nonneg (r - rotate P r)
  linarith

/-- `0 ≤ γ_r ≤ 1` for an orthogonal projection. -/
theorem gammaR_le_one (P : Matrix ι ι ℝ) (hPt : Pᵀ = P) (hPP : P * P = P)
    (r : ι → ℝ) : 0 ≤ gammaR P r ∧ gammaR P r ≤ 1 := by
  refine ⟨div_nonneg (sqNorm_nonneg _) (sqNorm_nonneg _), ?_⟩
  rcases (sqNorm_nonneg r).lt_or_eq with hr | hr
  · rw [gammaR, div_le_one hr]
    exact sqNorm_proj_le P hPt hPP r
  · rw [gammaR, ← hr, div_zero]
    exact zero_le_one

/-- Claim `beta_eff_formula` (seed 003 §6): for any first-stage approximation `k̂` (e.g. the 1-bit
code `Q(k)`) and any orthogonal projection `P` (`Pᵀ = P`, `P·P = P`) applied to the residual
`r = k − k̂`, the effective quality satisfies `β_eff = 1 − (1 − β₁)(1 − γ_r)`.

The index type `ι` is arbitrary: for a single key take `ι = Fin d`; for a set of `n` keys take
`ι = Fin d × Fin n` and `P = Matrix.blockDiagonal (fun _ => P_V)` (the same rank-`r` projection for
every key, symmetric and idempotent), so that `β₁ = 1 − Σ‖eᵢ‖²/Σ‖kᵢ‖²` (the energy-weighted
`β_1b`) and `γ_r = Σ‖P_V eᵢ‖²/Σ‖eᵢ‖²`. -/
theorem beta_eff_formula (P : Matrix ι ι ℝ) (hPt : Pᵀ = P) (hPP : P * P = P)
    (k khat : ι → ℝ) :
    betaEff P k khat = 1 - (1 - beta1 k khat) * (1 - gammaR P (k - khat)) := by
  have hsplit : k - (khat + rotate P (k - khat)) = (k - khat) - rotate P (k - khat) := by abel
  have hE := sqNorm_sub_proj P hPt hPP (k - khat)
  unfold betaEff beta1 gammaR
  rw [hsplit, hE]
  by_cases hR : sqNorm (k - khat) = 0
  · have hp : sqNorm (rotate P (k - khat)) = 0 := by
      have h1 := sqNorm_nonneg (rotate P (k - khat))
      have h2 := sqNorm_proj_le P hPt hPP (k - khat)
      linarith
    rw [hR, hp]
    simp
  · linear_combination (-(sqNorm (rotate P (k - khat)) * (sqNorm k)⁻¹)) * mul_inv_cancel₀ hR

/-- With the 1-bit code as first stage, `β₁ = β(k) = cos² θ_k`. -/
theorem beta1_signQuant (hd : 0 < d) {k : Fin d → ℝ} (hk : k ≠ 0) :
    beta1 k (signQuant k) = beta k := by
  rw [beta1, residual_energy_formula hd hk, beta_eq_cos_sq hd hk]
  ring

/-- Keep the coordinates in `S`, zero the others. -/
def keepOn (S : Finset (Fin d)) (x : Fin d → ℝ) : Fin d → ℝ := fun i => if i ∈ S then x i else 0

/-- Exchange lemma: if every value on `S` dominates every value off `S`, then the sum over `S`
dominates the sum over any `T` with `|T| ≤ |S|`. -/
theorem sum_le_sum_of_top (S T : Finset (Fin d)) (f : Fin d → ℝ) (hf : ∀ i, 0 ≤ f i)
    (hcard : T.card ≤ S.card) (htop : ∀ i ∈ S, ∀ j ∉ S, f j ≤ f i) :
    ∑ j ∈ T, f j ≤ ∑ i ∈ S, f i := by
  have hIT : T ∩ S ⊆ T := fun x hx => (Finset.mem_inter.mp hx).1
  have hIS : T ∩ S ⊆ S := fun x hx => (Finset.mem_inter.mp hx).2
  -- `Finset.sum_sdiff : s₁ ⊆ s₂ → ∑ x ∈ s₂ \ s₁, f x + ∑ x ∈ s₁, f x = ∑ x ∈ s₂, f x`
  have hT : ∑ j ∈ T \ (T ∩ S), f j + ∑ j ∈ T ∩ S, f j = ∑ j ∈ T, f j := Finset.sum_sdiff hIT
  have hS : ∑ j ∈ S \ (T ∩ S), f j + ∑ j ∈ T ∩ S, f j = ∑ j ∈ S, f j := Finset.sum_sdiff hIS
  -- `Finset.card_sdiff_add_card_eq_card : s ⊆ t → #(t \ s) + #s = #t`
  have cT : (T \ (T ∩ S)).card + (T ∩ S).card = T.card := Finset.card_sdiff_add_card_eq_card hIT
  have cS : (S \ (T ∩ S)).card + (T ∩ S).card = S.card := Finset.card_sdiff_add_card_eq_card hIS
  have hcardAB : (T \ (T ∩ S)).card ≤ (S \ (T ∩ S)).card := by omega
  have hA : ∀ a ∈ T \ (T ∩ S), a ∉ S := by
    intro a ha haS
    rw [Finset.mem_sdiff] at ha
    exact ha.2 (Finset.mem_inter.mpr ⟨ha.1, haS⟩)
  have hB : ∀ b ∈ S \ (T ∩ S), b ∈ S := fun b hb => (Finset.mem_sdiff.mp hb).1
  have hAB : ∑ j ∈ T \ (T ∩ S), f j ≤ ∑ i ∈ S \ (T ∩ S), f i := by
    rcases (S \ (T ∩ S)).eq_empty_or_nonempty with hBe | hBne
    · have hAe : T \ (T ∩ S) = ∅ := by
        rw [hBe, Finset.card_empty] at hcardAB
        exact Finset.card_eq_zero.mp (Nat.le_zero.mp hcardAB)
      simp [hAe, hBe]
    · obtain ⟨m, hmA, hmB, hm0⟩ : ∃ m : ℝ, (∀ a ∈ T \ (T ∩ S), f a ≤ m) ∧
          (∀ b ∈ S \ (T ∩ S), m ≤ f b) ∧ 0 ≤ m :=
        ⟨(S \ (T ∩ S)).inf' hBne f,
          fun a ha => Finset.le_inf' hBne f fun b hb => htop b (hB b hb) a (hA a ha),
          fun b hb => Finset.inf'_le f hb,
          Finset.le_inf' hBne f fun b _ => hf b⟩
      have h1 : ∑ j ∈ T \ (T ∩ S), f j ≤ (T \ (T ∩ S)).card • m :=
        Finset.sum_le_card_nsmul _ _ _ hmA
      have h2 : (S \ (T ∩ S)).card • m ≤ ∑ i ∈ S \ (T ∩ S), f i :=
        Finset.card_nsmul_le_sum _ _ _ hmB
      rw [nsmul_eq_mul] at h1 h2
      have h3 : ((T \ (T ∩ S)).card : ℝ) * m ≤ ((S \ (T ∩ S)).card : ℝ) * m :=
        mul_le_mul_of_nonneg_right (by exact_mod_cast hcardAB) hm0
      linarith
  linarith

/-- Claim `top_k_optimal` (seed 003 §9): if `S` holds `k = |S|` largest-magnitude coordinates of
`x` (every `|x i|`, `i ∈ S`, dominates every `|x j|`, `j ∉ S`), then keeping exactly those
coordinates is an optimal `k`-sparse approximation: `‖x − keep_S x‖² ≤ ‖x − y‖²` for every `y`
supported on a set `T` with `|T| ≤ |S|`. -/
theorem top_k_optimal (x : Fin d → ℝ) (S : Finset (Fin d))
    (htop : ∀ i ∈ S, ∀ j ∉ S, |x j| ≤ |x i|)
    (y : Fin d → ℝ) (T : Finset (Fin d)) (hT : T.card ≤ S.card) (hy : ∀ i ∉ T, y i = 0) :
    sqNorm (x - keepOn S x) ≤ sqNorm (x - y) := by
  have hf : ∀ i, 0 ≤ x i ^ 2 := fun i => sq_nonneg _
  have htop' : ∀ i ∈ S, ∀ j ∉ S, x j ^ 2 ≤ x i ^ 2 := fun i hi j hj => by
    have h := htop i hi j hj
    nlinarith [abs_nonneg (x j), abs_nonneg (x i), sq_abs (x i), sq_abs (x j)]
  -- `Finset.sum_compl_add_sum : ∑ i ∈ sᶜ, f i + ∑ i ∈ s, f i = ∑ i, f i`
  have e1 : sqNorm (x - keepOn S x) = ∑ i ∈ Sᶜ, x i ^ 2 := by
    have a : ∑ i ∈ Sᶜ, (x - keepOn S x) i ^ 2 + ∑ i ∈ S, (x - keepOn S x) i ^ 2
        = ∑ i, (x - keepOn S x) i ^ 2 := Finset.sum_compl_add_sum S _
    have hS0 : ∑ i ∈ S, (x - keepOn S x) i ^ 2 = 0 :=
      Finset.sum_eq_zero fun i hi => by simp [keepOn, hi]
    have hSc : ∑ i ∈ Sᶜ, (x - keepOn S x) i ^ 2 = ∑ i ∈ Sᶜ, x i ^ 2 :=
      Finset.sum_congr rfl fun i hi => by simp [keepOn, Finset.mem_compl.mp hi]
    show ∑ i, (x - keepOn S x) i ^ 2 = ∑ i ∈ Sᶜ, x i ^ 2
    rw [← a, hS0, hSc, add_zero]
  have e2 : ∑ i ∈ Tᶜ, x i ^ 2 ≤ sqNorm (x - y) := by
    have a : ∑ i ∈ Tᶜ, (x - y) i ^ 2 + ∑ i ∈ T, (x - y) i ^ 2 = ∑ i, (x - y) i ^ 2 :=
      Finset.sum_compl_add_sum T _
    have h1 : ∑ i ∈ Tᶜ, x i ^ 2 = ∑ i ∈ Tᶜ, (x - y) i ^ 2 :=
      Finset.sum_congr rfl fun i hi => by simp [hy i (Finset.mem_compl.mp hi)]
    have h2 : 0 ≤ ∑ i ∈ T, (x - y) i ^ 2 := Finset.sum_nonneg fun i _ => sq_nonneg _
    show ∑ i ∈ Tᶜ, x i ^ 2 ≤ ∑ i, (x - y) i ^ 2
    linarith
  have e3 : ∑ i ∈ Sᶜ, x i ^ 2 ≤ ∑ i ∈ Tᶜ, x i ^ 2 := by
    have a1 : ∑ i ∈ Sᶜ, x i ^ 2 + ∑ i ∈ S, x i ^ 2 = ∑ i, x i ^ 2 := Finset.sum_compl_add_sum S _
    have a2 : ∑ i ∈ Tᶜ, x i ^ 2 + ∑ i ∈ T, x i ^ 2 = ∑ i, x i ^ 2 := Finset.sum_compl_add_sum T _
    have a3 : ∑ j ∈ T, x j ^ 2 ≤ ∑ i ∈ S, x i ^ 2 :=
      sum_le_sum_of_top S T (fun i => x i ^ 2) hf hT htop'
    linarith
  rw [e1]
  linarith

end QuantProof

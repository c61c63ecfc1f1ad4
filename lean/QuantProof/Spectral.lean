/-
Copyright (c) QuantProof contributors.
-/
import QuantProof.Rotation

/-!
# Spectral compression of activations (seed 004)

## Participation ratio of random data (`df_random_full_rank`)

Seed 004: "For random matrices: Df ≈ n (full rank)", with `Df` the participation ratio
`PR(λ) = (∑ λᵢ)² / ∑ λᵢ²` of the covariance eigenvalues (`quantproof.math.spectra.participation_ratio`).
By Cauchy–Schwarz `PR(λ)` is at most the number of nonzero `λᵢ`
(`participationRatio_le_card_ne_zero`), and for the Gram matrix `Xᴴ X` of `N` samples that number
is its rank, at most `N` (`participationRatio_gram_le`). So with the seed's own `N = 500` samples
in `n = 768` dimensions, `PR ≤ 500 < 768` whatever the data (`df_random_full_rank_false`); centering
only lowers the rank further (to `N − 1`). The corrected statement (Marchenko–Pastur,
`E PR ≈ nN/(n + N)`) is checked numerically by the property tests, not here.

## Compressed attention (`compressed_attention_is_attention`)

Seed 004's `compressed_attention` projects `Q, K, V` with the centred PCA projector `C` (`d × k`,
orthonormal columns) and mean `μ`, computes `softmax(q_c k_cᵀ / √k) v_c` and reconstructs
(`quantproof.math.spectra.compressed_attention`). With nothing truncated (`k = d`) it is *not* the
model's multi-head attention: it is one head at temperature `√d` on mean-shifted queries,
`softmax((q − μ)·kⱼ / √d) V` (`compressed_attention_full_rank`; the value path is lossless because
softmax weights sum to `1`, and `(q − μ)·(kⱼ − μ)` differs from `(q − μ)·kⱼ` by a constant). A model
with `d` heads of width `1` gives a different output on a two-key example
(`compressed_attention_is_attention_false`).
-/

noncomputable section

namespace QuantProof

open Finset

/-! ### Participation ratio -/

/-- Participation ratio `(∑ λᵢ)² / ∑ λᵢ²` (`0` when every `λᵢ = 0`; the Python returns `nan`). -/
def participationRatio {ι : Type*} [Fintype ι] (lam : ι → ℝ) : ℝ :=
  (∑ i, lam i) ^ 2 / ∑ i, lam i ^ 2

/-- Cauchy–Schwarz: `(∑ λᵢ)² ≤ #{i | λᵢ ≠ 0} · ∑ λᵢ²`. -/
theorem sq_sum_le_card_ne_zero_mul {ι : Type*} [Fintype ι] (lam : ι → ℝ) :
    (∑ i, lam i) ^ 2 ≤ ((univ.filter fun i => lam i ≠ 0).card : ℝ) * ∑ i, lam i ^ 2 := by
  set S := univ.filter fun i => lam i ≠ 0 with hS
  -- `Finset.sum_filter_of_ne : (∀ x ∈ s, f x ≠ 0 → p x) → ∑ x ∈ s with p x, f x = ∑ x ∈ s, f x`
  have h1 : ∑ i ∈ S, lam i = ∑ i, lam i := Finset.sum_filter_of_ne fun i _ h => h
  have h2 : ∑ i ∈ S, lam i ^ 2 = ∑ i, lam i ^ 2 :=
    Finset.sum_filter_of_ne fun i _ h h0 => h (by rw [h0, sq, mul_zero])
  -- `Finset.sum_mul_sq_le_sq_mul_sq s f g : (∑ i ∈ s, f i * g i) ^ 2 ≤ (∑ f i ^ 2) * ∑ g i ^ 2`
  have hcs := Finset.sum_mul_sq_le_sq_mul_sq S (fun _ => (1 : ℝ)) lam
  simp only [one_mul, one_pow, Finset.sum_const, nsmul_eq_mul, mul_one] at hcs
  rw [← h1, ← h2]
  exact hcs

/-- `PR(λ) ≤ #{i | λᵢ ≠ 0}`. -/
theorem participationRatio_le_card_ne_zero {ι : Type*} [Fintype ι] (lam : ι → ℝ) :
    participationRatio lam ≤ ((univ.filter fun i => lam i ≠ 0).card : ℝ) := by
  unfold participationRatio
  rcases (Finset.sum_nonneg fun i (_ : i ∈ univ) => sq_nonneg (lam i)).eq_or_lt with h0 | hpos
  · rw [← h0, div_zero]
    exact Nat.cast_nonneg _
  · -- `div_le_iff₀ (hc : 0 < c) : a / c ≤ b ↔ a ≤ b * c`
    rw [div_le_iff₀ hpos]
    exact sq_sum_le_card_ne_zero_mul lam

/-- The participation ratio of the eigenvalues of a Gram matrix `Xᴴ X` (`X` has `N` rows: samples)
is at most its rank, hence at most `N`. (Over `ℝ`, `Xᴴ = Xᵀ`.) -/
theorem participationRatio_gram_le {N n : ℕ} (X : Matrix (Fin N) (Fin n) ℝ) :
    participationRatio (Matrix.isHermitian_conjTranspose_mul_self X).eigenvalues ≤ N := by
  refine (participationRatio_le_card_ne_zero _).trans ?_
  -- `Matrix.IsHermitian.rank_eq_card_non_zero_eigs : A.rank = Fintype.card {i // eigenvalues i ≠ 0}`,
  -- `Fintype.card_subtype`, `Matrix.rank_conjTranspose_mul_self : (Aᴴ * A).rank = A.rank`,
  -- `Matrix.rank_le_card_height : A.rank ≤ Fintype.card m`
  have hrank := (Matrix.isHermitian_conjTranspose_mul_self X).rank_eq_card_non_zero_eigs
  rw [Fintype.card_subtype, Matrix.rank_conjTranspose_mul_self] at hrank
  have hle : X.rank ≤ N := (Matrix.rank_le_card_height X).trans (Fintype.card_fin N).le
  rw [hrank] at hle
  have hle' := (Nat.cast_le (α := ℝ)).mpr hle
  -- the two `Finset.filter`s may carry different (subsingleton) `Decidable` instances
  convert hle'

/-- Claim `df_random_full_rank` (seed 004), refutation at the seed's own scale: for *any* `500`
samples in `768` dimensions (random or not), the participation ratio of the sample Gram matrix is at
most `500`, far from "≈ n = 768". -/
theorem df_random_full_rank_false (X : Matrix (Fin 500) (Fin 768) ℝ) :
    participationRatio (Matrix.isHermitian_conjTranspose_mul_self X).eigenvalues ≤ 500 ∧
      participationRatio (Matrix.isHermitian_conjTranspose_mul_self X).eigenvalues < 768 := by
  have h := participationRatio_gram_le X
  push_cast at h
  exact ⟨h, by linarith⟩

/-! ### Softmax attention -/

/-- Softmax weights `exp sⱼ / ∑ᵢ exp sᵢ`. -/
def softmaxWeights {n : ℕ} (s : Fin n → ℝ) (j : Fin n) : ℝ :=
  Real.exp (s j) / ∑ i, Real.exp (s i)

/-- Attention of one query with scores `s` over values `V`: `∑ⱼ softmax(s)ⱼ Vⱼ`. -/
def attend {n d : ℕ} (s : Fin n → ℝ) (V : Fin n → Fin d → ℝ) : Fin d → ℝ :=
  fun c => ∑ j, softmaxWeights s j * V j c

theorem softmaxWeights_add_const {n : ℕ} (s : Fin n → ℝ) (c : ℝ) :
    softmaxWeights (fun j => s j + c) = softmaxWeights s := by
  funext j
  simp only [softmaxWeights, Real.exp_add]
  rw [← Finset.sum_mul]
  exact mul_div_mul_right _ _ (Real.exp_pos c).ne'

theorem softmaxWeights_sum_eq_one {n : ℕ} (hn : 0 < n) (s : Fin n → ℝ) : ∑ j, softmaxWeights s j = 1 := by
  have hpos : 0 < ∑ i, Real.exp (s i) :=
    Finset.sum_pos (fun i _ => Real.exp_pos (s i)) ⟨⟨0, hn⟩, Finset.mem_univ _⟩
  simp only [softmaxWeights]
  rw [← Finset.sum_div, div_self hpos.ne']

/-- Scores that differ by a constant give the same attention. -/
theorem attend_shift {n d : ℕ} (s t : Fin n → ℝ) (c : ℝ) (h : ∀ j, s j = t j + c)
    (V : Fin n → Fin d → ℝ) : attend s V = attend t V := by
  have hs : s = fun j => t j + c := funext h
  rw [hs]
  unfold attend
  rw [softmaxWeights_add_const t c]

/-! ### Seed 004's compressor -/

/-- `compress x = Cᵀ (x − μ)` (`ActivationCompressor.compress`: `(x − μ) @ components`). -/
def pcaCompress {d k : ℕ} (C : Matrix (Fin d) (Fin k) ℝ) (μ x : Fin d → ℝ) : Fin k → ℝ :=
  fun a => ∑ i, C i a * (x i - μ i)

/-- `reconstruct z = C z + μ` (`ActivationCompressor.reconstruct`: `z @ componentsᵀ + μ`). -/
def pcaReconstruct {d k : ℕ} (C : Matrix (Fin d) (Fin k) ℝ) (μ : Fin d → ℝ) (z : Fin k → ℝ) :
    Fin d → ℝ :=
  fun i => ∑ a, C i a * z a + μ i

/-- Seed 004's `compressed_attention` for one query `q` over keys `K` and values `V`:
`reconstruct (softmax(compress q · compress Kⱼ / √k) · compress V)`. -/
def compressedAttention {n d k : ℕ} (C : Matrix (Fin d) (Fin k) ℝ) (μ q : Fin d → ℝ)
    (K V : Fin n → Fin d → ℝ) : Fin d → ℝ :=
  pcaReconstruct C μ
    (attend (fun j => dot (pcaCompress C μ q) (pcaCompress C μ (K j)) / Real.sqrt k)
      (fun j => pcaCompress C μ (V j)))

theorem pcaCompress_eq_rotate {d : ℕ} (C : Matrix (Fin d) (Fin d) ℝ) (μ x : Fin d → ℝ) :
    pcaCompress C μ x = rotate Cᵀ (x - μ) := by
  funext a
  simp only [pcaCompress, rotate, Matrix.transpose_apply, Pi.sub_apply]

theorem pcaReconstruct_eq_rotate {d : ℕ} (C : Matrix (Fin d) (Fin d) ℝ) (μ z : Fin d → ℝ) :
    pcaReconstruct C μ z = rotate C z + μ := by
  funext i
  simp only [pcaReconstruct, rotate, Pi.add_apply]

theorem dot_sub_right {ι : Type*} [Fintype ι] (u v w : ι → ℝ) :
    dot u (v - w) = dot u v - dot u w := by
  simp only [dot, Pi.sub_apply, mul_sub, Finset.sum_sub_distrib]

/-- A weighted average (weights summing to `1`) commutes with `x ↦ A (x − μ)`. -/
theorem sum_weighted_rotate_sub {n d : ℕ} (A : Matrix (Fin d) (Fin d) ℝ) (p : Fin n → ℝ)
    (hp : ∑ j, p j = 1) (V : Fin n → Fin d → ℝ) (μ : Fin d → ℝ) :
    (fun c => ∑ j, p j * rotate A (V j - μ) c) = rotate A (fun c => ∑ j, p j * V j c - μ c) := by
  have hsum : ∀ l, ∑ j, p j * V j l - μ l = ∑ j, p j * (V j l - μ l) := by
    intro l
    simp only [mul_sub, Finset.sum_sub_distrib, ← Finset.sum_mul, hp, one_mul]
  funext c
  simp only [rotate, Pi.sub_apply]
  calc ∑ j, p j * ∑ l, A c l * (V j l - μ l)
      = ∑ j, ∑ l, A c l * (p j * (V j l - μ l)) := by
        refine Finset.sum_congr rfl fun j _ => ?_
        rw [Finset.mul_sum]
        exact Finset.sum_congr rfl fun l _ => by ring
    _ = ∑ l, ∑ j, A c l * (p j * (V j l - μ l)) := Finset.sum_comm
    _ = ∑ l, A c l * (∑ j, p j * V j l - μ l) := by
        refine Finset.sum_congr rfl fun l _ => ?_
        rw [hsum l, Finset.mul_sum]

/-- Claim `compressed_attention_is_attention` (seed 004), corrected statement: with nothing
truncated (`k = d`, `C` with orthonormal columns) and at least one key, the seed's
`compressed_attention` equals single-head attention at temperature `√d` on the mean-shifted query,
`softmax((q − μ)·kⱼ / √d) V`. -/
theorem compressed_attention_full_rank {n d : ℕ} (hn : 0 < n) (C : Matrix (Fin d) (Fin d) ℝ)
    (hC : Cᵀ * C = 1) (μ q : Fin d → ℝ) (K V : Fin n → Fin d → ℝ) :
    compressedAttention C μ q K V = attend (fun j => dot (q - μ) (K j) / Real.sqrt d) V := by
  -- `Matrix.mul_eq_one_comm : M * N = 1 ↔ N * M = 1` (square matrices over a commutative ring).
  -- Looked up: present at the pin; later Mathlib deprecates it in favour of the root
  -- `mul_eq_one_comm` (`IsDedekindFiniteMonoid`), which is why the namespace is spelled out.
  have hC' : C * Cᵀ = 1 := Matrix.mul_eq_one_comm.mp hC
  have hCt : (Cᵀ)ᵀ * Cᵀ = 1 := by rw [Matrix.transpose_transpose]; exact hC'
  -- scores: `compress q · compress kⱼ = (q − μ)·kⱼ − (q − μ)·μ`
  have hscores : ∀ j, dot (pcaCompress C μ q) (pcaCompress C μ (K j)) / Real.sqrt d
      = dot (q - μ) (K j) / Real.sqrt d + -(dot (q - μ) μ) / Real.sqrt d := by
    intro j
    rw [pcaCompress_eq_rotate, pcaCompress_eq_rotate, dot_rotate_rotate_of_orthogonal Cᵀ hCt,
      dot_sub_right]
    ring
  unfold compressedAttention
  rw [attend_shift _ (fun j => dot (q - μ) (K j) / Real.sqrt d) _ hscores]
  -- values: `reconstruct (∑ⱼ wⱼ Cᵀ(vⱼ − μ)) = ∑ⱼ wⱼ vⱼ` since `∑ⱼ wⱼ = 1`
  set t : Fin n → ℝ := fun j => dot (q - μ) (K j) / Real.sqrt d
  have hval : attend t (fun j => pcaCompress C μ (V j)) = rotate Cᵀ (attend t V - μ) := by
    unfold attend
    simp only [pcaCompress_eq_rotate]
    exact sum_weighted_rotate_sub Cᵀ (softmaxWeights t) (softmaxWeights_sum_eq_one hn t) V μ
  rw [hval, pcaReconstruct_eq_rotate, rotate_rotate, hC', rotate_one, sub_add_cancel]

/-- Multi-head attention with `d` heads of width `1` (scale `1/√1`): coordinate `c` attends with
scores `q_c · kⱼ,c`. -/
def headwiseAttention {n d : ℕ} (q : Fin d → ℝ) (K V : Fin n → Fin d → ℝ) : Fin d → ℝ :=
  fun c => ∑ j, softmaxWeights (fun j => q c * K j c) j * V j c

/-- The query of the counterexample. -/
def caQuery : Fin 2 → ℝ := ![1, -1]

/-- The keys of the counterexample: `k₀ = (1, 1)`, `k₁ = 0`. -/
def caKeys : Fin 2 → Fin 2 → ℝ := ![![1, 1], ![0, 0]]

/-- The values of the counterexample: `v₀ = (1, 0)`, `v₁ = 0`. -/
def caValues : Fin 2 → Fin 2 → ℝ := ![![1, 0], ![0, 0]]

/-- Claim `compressed_attention_is_attention` (seed 004), refutation: with nothing truncated
(`C = 1`, `μ = 0`, `k = d = 2`) the seed's compressed attention returns `1/2` in coordinate `0` on
this example (both keys score `0`), while multi-head attention with two heads of width `1` returns
`e/(e + 1) ≠ 1/2`. -/
theorem compressed_attention_is_attention_false :
    compressedAttention (1 : Matrix (Fin 2) (Fin 2) ℝ) 0 caQuery caKeys caValues 0 = 1 / 2 ∧
      headwiseAttention caQuery caKeys caValues 0 = Real.exp 1 / (Real.exp 1 + 1) ∧
      compressedAttention (1 : Matrix (Fin 2) (Fin 2) ℝ) 0 caQuery caKeys caValues 0 ≠
        headwiseAttention caQuery caKeys caValues 0 := by
  have hfull := compressed_attention_full_rank two_pos (1 : Matrix (Fin 2) (Fin 2) ℝ)
    (by rw [Matrix.transpose_one, one_mul]) 0 caQuery caKeys caValues
  -- both keys score `0`: `(1, −1)·(1, 1) = 0` and `(1, −1)·(0, 0) = 0`
  have hs0 : dot (caQuery - 0) (caKeys 0) = 0 := by
    simp only [dot, Fin.sum_univ_two, sub_zero, caQuery, caKeys, Matrix.cons_val_zero,
      Matrix.cons_val_one, Matrix.head_cons]
    ring
  have hs1 : dot (caQuery - 0) (caKeys 1) = 0 := by
    simp only [dot, Fin.sum_univ_two, sub_zero, caQuery, caKeys, Matrix.cons_val_zero,
      Matrix.cons_val_one, Matrix.head_cons]
    ring
  have hv0 : caValues 0 0 = 1 := rfl
  have hv1 : caValues 1 0 = 0 := rfl
  have h1 : compressedAttention (1 : Matrix (Fin 2) (Fin 2) ℝ) 0 caQuery caKeys caValues 0
      = 1 / 2 := by
    rw [hfull]
    simp only [attend, softmaxWeights, Fin.sum_univ_two, hs0, hs1, hv0, hv1, zero_div,
      Real.exp_zero, mul_one, mul_zero, add_zero]
    norm_num
  -- headwise: scores `q₀ k₀₀ = 1`, `q₀ k₁₀ = 0`, values `1, 0`: `e / (e + 1)`
  have hq : caQuery 0 = 1 := rfl
  have hk0 : caKeys 0 0 = 1 := rfl
  have hk1 : caKeys 1 0 = 0 := rfl
  have h2 : headwiseAttention caQuery caKeys caValues 0 = Real.exp 1 / (Real.exp 1 + 1) := by
    simp only [headwiseAttention, softmaxWeights, Fin.sum_univ_two, hq, hk0, hk1, hv0, hv1,
      mul_one, mul_zero, add_zero, Real.exp_zero]
  refine ⟨h1, h2, ?_⟩
  rw [h1, h2]
  intro h
  have he : 0 < Real.exp 1 + 1 := by linarith [Real.exp_pos 1]
  -- `Real.add_one_lt_exp : x ≠ 0 → x + 1 < exp x`, so `e > 2`
  have hgt : 1 + 1 < Real.exp 1 := Real.add_one_lt_exp one_ne_zero
  rw [eq_div_iff he.ne'] at h
  linarith

end QuantProof

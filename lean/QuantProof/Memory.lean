/-
Copyright (c) QuantProof contributors.
-/
import QuantProof.Basic

/-!
# Memory and unit arithmetic (seeds 004 and 001)

Seed 004 claims "Memory comparison: Standard: O(seq² × 768); Compressed: O(seq² × 9);
Reduction: 85x". But the attention score matrix `Q Kᵀ` of one head has `seq × seq` entries
whatever the width `d` of queries and keys (`scores_card`); the width enters only through the
`seq × d` activations `Q, K, V`. Counting per head `n² + 3 n d` floats (scores plus Q, K, V), the
reduction from `d = 768` to `k = 9` is `(n² + 3·n·768)/(n² + 3·n·9)`, which is below `85` for
every `n ≥ 1` (`attention_85x_reduction_false`) and for every row of the seed's table
(`attention_85x_reduction_false_table`: 26.0× at 64 tokens down to 2.1× at 2048).

Seed 001 converts losses to bits per character, `bpc = loss / (ln 2 · chars_per_token)`, and
calls `0.115–0.129` vs `0.742` "an order of magnitude better"; with the seed's own inputs the
ratio is `≈ 5.76` (Leech) and `≈ 6.43` (E8), below `10`.
-/

noncomputable section

namespace QuantProof

/-- The per-head attention score matrix `S i j = q i · k j` of `n` queries and keys of width
`d`. Its index type `Fin n × Fin n` does not involve `d`. -/
def scores {n d : ℕ} (q k : Fin n → Fin d → ℝ) : Matrix (Fin n) (Fin n) ℝ :=
  fun i j => dot (q i) (k j)

/-- Seed 004 (memory comparison): the score tensor of one head has `seq · seq` entries,
independently of the width `d` (so it is not `O(seq² × d)`). -/
theorem scores_card (n : ℕ) : Fintype.card (Fin n × Fin n) = n * n := by
  simp

/-- Per-head attention memory in floats: `n²` scores plus `3 n w` for `Q, K, V` of width `w`. -/
def attnMem (n w : ℕ) : ℕ := n ^ 2 + 3 * n * w

/-- Seed 004 ("85x memory reduction for attention computation"), refutation: for every sequence
length `n ≥ 1`, reducing the width from `768` to `9` reduces per-head attention memory by a factor
strictly less than `85`: `n² + 3·n·768 < 85 · (n² + 3·n·9)`. -/
theorem attention_85x_reduction_false (n : ℕ) (hn : 1 ≤ n) : attnMem n 768 < 85 * attnMem n 9 := by
  -- `85 (n² + 27 n) − (n² + 2304 n) = 84 n² − 9 n ≥ 75 n > 0`, from `n ≤ n²`
  have hsq : n ≤ n ^ 2 := by
    rw [sq]
    exact Nat.le_mul_self n
  unfold attnMem
  linarith

/-- The same for every row of seed 004's "Memory Benchmarks" table. -/
theorem attention_85x_reduction_false_table :
    ∀ n ∈ [64, 128, 256, 512, 1024, 2048], attnMem n 768 < 85 * attnMem n 9 := by
  intro n hn
  have hpos : ∀ m ∈ [64, 128, 256, 512, 1024, 2048], 1 ≤ m := by decide
  exact attention_85x_reduction_false n (hpos n hn)

/-- The actual reduction factor at 64 tokens is `151552 / 5824 ≈ 26.0`, at 2048 tokens
`8912896 / 4249600 ≈ 2.1`. -/
theorem attention_reduction_at_64_and_2048 :
    attnMem 64 768 = 151552 ∧ attnMem 64 9 = 5824 ∧
      attnMem 2048 768 = 8912896 ∧ attnMem 2048 9 = 4249600 := by
  unfold attnMem
  norm_num

/-- Seed 004's "Memory Benchmarks" table, checked: every figure is `seq² × d × 4` bytes in MiB
(`2²⁰` bytes), i.e. the size of a `seq × seq × d` fp32 tensor: `12, 48, 192, 768, 3072, 12288` MiB
(12 MB … 12 GB) for `d = 768` and `9/64 ≈ 0.14, 0.5625 ≈ 0.56, 2.25, 9, 36, 144` MiB for `d = 9`,
the seed's `0.14 … 144 MB`. No attention kernel stores such a tensor (the score matrix is
`seq × seq`, `scores_card`). -/
theorem attention_memory_table_values :
    ((64 : ℚ) ^ 2 * 768 * 4 / 2 ^ 20 = 12 ∧ (128 : ℚ) ^ 2 * 768 * 4 / 2 ^ 20 = 48 ∧
      (256 : ℚ) ^ 2 * 768 * 4 / 2 ^ 20 = 192 ∧ (512 : ℚ) ^ 2 * 768 * 4 / 2 ^ 20 = 768 ∧
      (1024 : ℚ) ^ 2 * 768 * 4 / 2 ^ 20 = 3072 ∧ (2048 : ℚ) ^ 2 * 768 * 4 / 2 ^ 20 = 12288) ∧
    ((64 : ℚ) ^ 2 * 9 * 4 / 2 ^ 20 = 9 / 64 ∧ (128 : ℚ) ^ 2 * 9 * 4 / 2 ^ 20 = 9 / 16 ∧
      (256 : ℚ) ^ 2 * 9 * 4 / 2 ^ 20 = 9 / 4 ∧ (512 : ℚ) ^ 2 * 9 * 4 / 2 ^ 20 = 9 ∧
      (1024 : ℚ) ^ 2 * 9 * 4 / 2 ^ 20 = 36 ∧ (2048 : ℚ) ^ 2 * 9 * 4 / 2 ^ 20 = 144) := by
  norm_num

/-- Bits per character, `bpc = loss / (ln 2 · chars_per_token)` (seed 001; REFERENCES
"Language-model units"). -/
def bpc (loss charsPerToken : ℝ) : ℝ := loss / (Real.log 2 * charsPerToken)

theorem bpc_eq (loss c : ℝ) : bpc loss c = loss / c * (Real.log 2)⁻¹ := by
  unfold bpc
  ring

/-- Bits per character of a scored text from its totals: `totalNats` nats of negative log-likelihood
over `nChars` characters is `totalNats / ln 2` bits, i.e. `totalNats / (ln 2 · nChars)` bits per
character. -/
def bitsPerChar (totalNats nChars : ℝ) : ℝ := totalNats / (Real.log 2 * nChars)

/-- Claim `s001_bpc_formula` (seed 001, "bpc calculation: loss / (ln(2) x average token length)"):
for a text of `T > 0` tokens and `C > 0` characters scored with total loss `L` nats, the bits per
character equal `bpc (L / T) (C / T)`: the mean loss per token over `ln 2` times the mean characters
per token, both means taken over the same scored text
(`quantproof.subjects.bpc.bpc_from_loss`). -/
theorem bpc_formula {L T C : ℝ} (hT : 0 < T) (hC : 0 < C) :
    bitsPerChar L C = bpc (L / T) (C / T) := by
  have hl : 0 < Real.log 2 := Real.log_pos one_lt_two
  unfold bitsPerChar bpc
  rw [div_eq_div_iff (mul_pos hl hC).ne' (mul_pos hl (div_pos hC hT)).ne']
  ring

/-- Using an assumed characters-per-token `c'` instead of the measured `c` rescales the bpc by
`c / c'` (why seed 001's assumed token lengths make its bpc comparison unreliable). -/
theorem bpc_rescale (L : ℝ) {c c' : ℝ} (hc : 0 < c) (hc' : 0 < c') :
    bpc L c' = c / c' * bpc L c := by
  have hl : 0 < Real.log 2 := Real.log_pos one_lt_two
  unfold bpc
  rw [div_mul_div_comm, div_eq_div_iff (mul_pos hl hc').ne' (mul_pos hc' (mul_pos hl hc)).ne']
  ring

/-- Seed 001, "an order of magnitude better text compression (bpc 0.115–0.129 vs 0.742)",
refutation with the seed's own inputs: TinyStories-33M loss `1.8 = 9/5` at `3.5 = 7/2`
characters per token, Leech-Lila loss `0.4018 = 2009/5000` and E8-LILA loss `0.36 = 9/25` at
`4.5 = 9/2` characters per token. The TinyStories bpc is `(81000/14063) ≈ 5.76` times the Leech
bpc and `(45/7) ≈ 6.43` times the E8 bpc; both ratios are below `10`. -/
theorem bpc_not_order_of_magnitude :
    bpc (9 / 5) (7 / 2) = 81000 / 14063 * bpc (2009 / 5000) (9 / 2) ∧
      bpc (9 / 5) (7 / 2) = 45 / 7 * bpc (9 / 25) (9 / 2) ∧
      bpc (9 / 5) (7 / 2) < 10 * bpc (2009 / 5000) (9 / 2) ∧
      bpc (9 / 5) (7 / 2) < 10 * bpc (9 / 25) (9 / 2) := by
  have hL : 0 < (Real.log 2)⁻¹ := inv_pos.mpr (Real.log_pos one_lt_two)
  simp only [bpc_eq]
  refine ⟨by ring, by ring, ?_, ?_⟩
  · nlinarith
  · nlinarith

/-- The seed's headline figures follow from its inputs, to the three decimals it quotes:
`bpc(1.8, 3.5) ∈ (0.7415, 0.7425)` (≈ 0.742), `bpc(0.4018, 4.5) ∈ (0.1285, 0.1295)` (≈ 0.129) and
`bpc(0.36, 4.5) ∈ (0.1145, 0.1155)` (≈ 0.115), using `0.6931 < ln 2 < 0.6932` (from Mathlib's
`Real.log_two_gt_d9`, `Real.log_two_lt_d9`). -/
theorem bpc_seed001_values :
    (7415 / 10000 < bpc (9 / 5) (7 / 2) ∧ bpc (9 / 5) (7 / 2) < 7425 / 10000) ∧
      (1285 / 10000 < bpc (2009 / 5000) (9 / 2) ∧ bpc (2009 / 5000) (9 / 2) < 1295 / 10000) ∧
      (1145 / 10000 < bpc (9 / 25) (9 / 2) ∧ bpc (9 / 25) (9 / 2) < 1155 / 10000) := by
  -- `Real.log_two_gt_d9 : 0.6931471803 < log 2`, `Real.log_two_lt_d9 : log 2 < 0.6931471808`
  have hlo : (6931 / 10000 : ℝ) < Real.log 2 := lt_trans (by norm_num) Real.log_two_gt_d9
  have hhi : Real.log 2 < 6932 / 10000 := lt_trans Real.log_two_lt_d9 (by norm_num)
  have hL : 0 < Real.log 2 := by linarith
  have hc1 : (0 : ℝ) < Real.log 2 * (7 / 2) := mul_pos hL (by norm_num)
  have hc2 : (0 : ℝ) < Real.log 2 * (9 / 2) := mul_pos hL (by norm_num)
  unfold bpc
  -- `lt_div_iff₀ (hc : 0 < c) : a < b / c ↔ a * c < b`,
  -- `div_lt_iff₀ (hc : 0 < c) : a / c < b ↔ a < b * c`; each goal is then linear in `log 2`
  refine ⟨⟨?_, ?_⟩, ⟨?_, ?_⟩, ⟨?_, ?_⟩⟩
  · rw [lt_div_iff₀ hc1]; linarith
  · rw [div_lt_iff₀ hc1]; linarith
  · rw [lt_div_iff₀ hc2]; linarith
  · rw [div_lt_iff₀ hc2]; linarith
  · rw [lt_div_iff₀ hc2]; linarith
  · rw [div_lt_iff₀ hc2]; linarith

end QuantProof

"""Seed 004's arithmetic: 85×, the attention-memory table, the 7B path, 3400×, 24 MB, 98.8 %.

The memory accounting is :func:`quantproof.math.spectra.attention_memory_bytes`: per head the score matrix is
seq × seq whatever the width; only Q/K/V (and the KV cache) scale with the width d. Numbers from the seed appear
here only as the claims under test."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quantproof.math.arithmetic import evaluate
from quantproof.math.spectra import attention_memory_bytes, seed004_attention_formula_bytes

GPT2 = dict(d_model=768, heads=12)  # GPT-2 small: width 768, 12 heads of 64
SEED_TABLE = [  # seq, standard, compressed — transcribed from the seed's "Memory Benchmarks"
    (64, "12 MB", "0.14 MB"), (128, "48 MB", "0.56 MB"), (256, "192 MB", "2.25 MB"),
    (512, "768 MB", "9 MB"), (1024, "3 GB", "36 MB"), (2048, "12 GB", "144 MB"),
]


def _mib(text: str) -> Fraction:
    v, u = text.split()
    return Fraction(v) * (1024 if u == "GB" else 1)


@pytest.mark.claim("compression_ratio_85x")
def test_768_over_9_is_85():
    r = evaluate("768 / 9")
    assert r == Fraction(256, 3) and int(r) == 85


@pytest.mark.claim("attention_memory_85x_reduction", role="refutes")
@given(st.integers(16, 1 << 16))
def test_score_memory_does_not_depend_on_the_width(seq):
    """Projecting Q/K/V from 768 to 9 dims leaves the seq × seq score matrices as they are; the memory ratio tends to
    the ratio of head counts (12 → 1: 12×) as seq grows, never 85×, and for a single-head model it tends to 1."""
    std = attention_memory_bytes(seq, dtype="fp32", **GPT2)
    comp = attention_memory_bytes(seq, d_model=9, heads=1, dtype="fp32")
    one_head = attention_memory_bytes(seq, d_model=768, heads=1, dtype="fp32")
    assert std["scores"] == 12 * seq * seq * 4 and comp["scores"] == seq * seq * 4
    ratio = std["total"] / comp["total"]
    if seq >= 2048:
        assert ratio < 13
    assert one_head["scores"] == comp["scores"]
    assert ratio < 768 / 9 - 1


@pytest.mark.claim("attention_memory_85x_reduction", role="corrects")
@given(st.integers(1, 1 << 16), st.sampled_from(["fp32", "fp16"]))
def test_what_the_projection_divides_by_85(seq, dtype):
    """Q/K/V (and the KV cache) are seq × d: they shrink by 768/9; so does the multiply–add count seq²·d of QKᵀ —
    the quantity the seed labels memory."""
    std = attention_memory_bytes(seq, dtype=dtype, kv_cache=True, **GPT2)
    comp = attention_memory_bytes(seq, d_model=9, heads=1, dtype=dtype, kv_cache=True)
    assert Fraction(std["qkv"]) / Fraction(comp["qkv"]) == Fraction(768, 9)
    assert Fraction(std["kv_cache"]) / Fraction(comp["kv_cache"]) == Fraction(768, 9)
    assert seed004_attention_formula_bytes(seq, 768) / seed004_attention_formula_bytes(seq, 9) == pytest.approx(768 / 9)


@pytest.mark.claim("attention_memory_table", role="refutes")
def test_gpt2_attention_at_2048_is_not_12_gb():
    """GPT-2 small, fp32, seq 2048: 12 score matrices (201 MB) + Q, K, V (18.9 MB) ≈ 0.22 GB per layer, ~55× below
    the table's 12 GB; the one-head 9-dim variant holds 16.8 MB, not 144 MB; and the ratio is ≈ 13×, not 85×."""
    std = attention_memory_bytes(2048, dtype="fp32", **GPT2)
    comp = attention_memory_bytes(2048, d_model=9, heads=1, dtype="fp32")
    assert std["total"] / 2**30 < 0.25 and 12 / (std["total"] / 2**30) > 50
    assert comp["total"] / 2**20 < 17
    assert 12 < std["total"] / comp["total"] < 14


@pytest.mark.claim("attention_memory_table", role="corrects")
@pytest.mark.parametrize("row", SEED_TABLE, ids=[str(r[0]) for r in SEED_TABLE])
def test_the_table_tabulates_seq_squared_times_width(row):
    """Every row is seq² × d × 4 B in MiB (d = 768 and d = 9, rounded as printed): a seq × seq × d tensor, which no
    standard attention kernel stores; the right per-layer figures are those of attention_memory_bytes."""
    seq, std_text, comp_text = row
    assert Fraction(int(seed004_attention_formula_bytes(seq, 768)), 2**20) == _mib(std_text)
    comp = seed004_attention_formula_bytes(seq, 9) / 2**20
    assert round(comp, 2) == float(_mib(comp_text)) or round(comp, 1) == float(_mib(comp_text))
    real = attention_memory_bytes(seq, dtype="fp32", **GPT2)["total"] / 2**20
    assert real < float(_mib(std_text)) / 10  # 768·L / (12·L + 3·768): 16× at L = 64, 55× at L = 2048


LLAMA2_7B = dict(d_model=4096, heads=32)  # assumed 7B shape: 32 layers, 32 heads, width 4096
LAYERS = 32


@pytest.mark.claim("seven_b_attention_12gb", role="refutes")
def test_12_gb_is_not_what_the_seeds_formula_gives_at_4096():
    """The seed's own formula seq²·768·4 B gives 12 GiB at seq 2048 and 48 GiB (51.5 GB) at seq 4096; with a 7B
    model's width 4096 it would be 256 GiB. 12 GB at seq 4096 follows from no consistent accounting."""
    assert seed004_attention_formula_bytes(2048, 768) == 12 * 2**30
    assert seed004_attention_formula_bytes(4096, 768) == 48 * 2**30
    assert round(seed004_attention_formula_bytes(4096, 768) / 1e9, 1) == 51.5
    assert seed004_attention_formula_bytes(4096, 4096) == 256 * 2**30


@pytest.mark.claim("seven_b_attention_12gb", role="corrects")
def test_seven_b_attention_memory_at_4096():
    """7B (Llama-2 shape), fp16, seq 4096: KV cache 2 GiB (2.15 GB) over 32 layers + one layer's eager score matrices
    1 GiB (1.07 GB; 0 with a fused kernel); weights 7e9 × 2 B = 14 GB as the seed says."""
    kv = attention_memory_bytes(4096, dtype="fp16", layers=LAYERS, kv_cache=True, **LLAMA2_7B)
    assert kv["kv_cache"] == 2 * 2**30
    assert kv["scores"] == 2**30
    fused = attention_memory_bytes(4096, dtype="fp16", materialize_scores=False, **LLAMA2_7B)
    assert fused["scores"] == 0
    assert evaluate("7 * 10^9 * fp16 / GB") == 14


# the seed's 7B path (GB): weights and attention after each step, transcribed as the claims under test
PATH = {"standard": (14, 12), "activation": (14, Fraction(144, 1000)), "weights10x": (Fraction(14, 10), Fraction(144, 1000)),
        "int4": (Fraction(35, 100), Fraction(36, 1000))}


@pytest.mark.claim("combined_3400x", role="refutes")
def test_factors_on_different_components_do_not_multiply():
    """85 × 10 × 4 = 3400, but 85× applies only to the attention part and 10× only to the weights; following the
    seed's own path the total goes 26 GB → 0.386 GB, a 67× reduction; 26 GB / 3400 would be 7.6 MB."""
    assert 85 * 10 * 4 == 3400
    total0 = sum(PATH["standard"])
    total_int4 = sum(PATH["int4"])
    assert total0 == 26 and total_int4 == Fraction(386, 1000)
    assert 60 < total0 / total_int4 < 70
    assert round(float(Fraction(26 * 1000, 3400)), 1) == 7.6  # MB


@pytest.mark.claim("combined_3400x", role="corrects")
def test_overall_reduction_with_the_claimed_holographic_factor():
    total0 = Fraction(26)
    total_int4 = sum(PATH["int4"])
    lo, hi = total0 / (total_int4 / 2), total0 / (total_int4 / 4)
    assert 130 < lo < hi < 280


@pytest.mark.claim("path_to_24mb", role="refutes")
def test_the_listed_steps_end_near_100_to_200_mb():
    """~400 MB (0.386 GB) divided by the 'additional 2–4×' is 96–193 MB, 4–8× above 24 MB."""
    total_int4_mb = sum(PATH["int4"]) * 1000
    lo, hi = total_int4_mb / 4, total_int4_mb / 2
    assert lo > 4 * 24 - 1 and hi > 8 * 24 - 1


@pytest.mark.claim("path_to_24mb", role="corrects")
def test_what_24_mb_would_need():
    """From 386 MB, 24 MB needs a further 16× (not 2–4×); from 26 GB it is a 1083× reduction overall."""
    total_int4_mb = sum(PATH["int4"]) * 1000
    assert round(float(total_int4_mb / 24), 1) == 16.1
    assert round(float(Fraction(26_000, 24))) == 1083


@pytest.mark.claim("dims_98_8_percent")
def test_nine_of_768_dimensions():
    assert round(float(evaluate("(1 - 9/768) * 100")), 1) == 98.8
    assert round(float(evaluate("9/768 * 100")), 1) == 1.2

"""Seed 004's arithmetic: 85×, the attention-memory table, the 7B path, 3400×, 24 MB, 98.8 %.

The memory accounting is :func:`quantproof.math.spectra.attention_memory_bytes`: per head the score matrix is
seq × seq whatever the width; only Q/K/V (and the KV cache) scale with the width d. The seed's own figures reach the
ledger only through quotes in claims.yaml (the ``arith`` and ``seedtab_*`` measurements); the tests here check the
accounting and the seedtab measurements on tables built for the purpose, and the few that evaluate constants are
lemmas (they cannot fail on their own)."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quantproof.evidence.measurement import Context
from quantproof.math.arithmetic import evaluate
from quantproof.math.spectra import (
    attention_memory_bytes,
    cumulative_variance,
    participation_ratio,
    seed004_attention_formula_bytes,
)
from quantproof.measurements.seed004_tables import seedtab_attention_memory, seedtab_outside, seedtab_pr_from_cumvar

GPT2 = dict(d_model=768, heads=12)  # GPT-2 small: width 768, 12 heads of 64


@pytest.mark.claim("compression_ratio_85x", role="lemma")
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


def _formula_table(seqs, d, k):
    """A table whose rows are exactly seq² × width × 4 B in MiB (the quantity the seed's table tabulates)."""
    std = [seed004_attention_formula_bytes(s, d) / 2**20 for s in seqs]
    comp = [seed004_attention_formula_bytes(s, k) / 2**20 for s in seqs]
    return std, comp


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from([32, 64, 128, 256, 512, 1024, 2048]), min_size=1, max_size=6, unique=True))
def test_seedtab_memory_recognises_the_seq_squared_times_width_formula(seqs):
    """On a table built as seq² × d × 4 B the formula deviation is 0 and the table overstates real (eager) attention
    memory at every row; on a table of the real per-layer attention memory the overstatement is exactly 1 and the
    formula does not fit."""
    std, comp = _formula_table(seqs, 768, 9)
    red = [768 / 9] * len(seqs)
    out = seedtab_attention_memory(Context(), seqs=seqs, standard=std, compressed=comp, reduction=red,
                                   d_model=768.0, k=9.0).outputs
    assert out["formula_max_rel_dev"].value < 1e-12
    assert out["overstatement_min"].value > 2
    assert out["real_reduction_max"].value < 768 / 9
    real_std = [attention_memory_bytes(s, dtype="fp32", **GPT2)["total"] / 2**20 for s in seqs]
    real_comp = [attention_memory_bytes(s, 9, 1, "fp32")["total"] / 2**20 for s in seqs]
    real_red = [a / b for a, b in zip(real_std, real_comp)]
    out = seedtab_attention_memory(Context(), seqs=seqs, standard=real_std, compressed=real_comp, reduction=real_red,
                                   d_model=768.0, k=9.0).outputs
    assert out["overstatement_min"].value == pytest.approx(1.0)
    assert out["reduction_overstatement_min"].value == pytest.approx(1.0)
    assert out["formula_max_rel_dev"].value > 0.5


def test_seedtab_memory_units_and_bad_input():
    std, comp = _formula_table([1024], 768, 9)
    gib = seedtab_attention_memory(Context(), seqs=[1024], standard=[std[0] / 1024], compressed=comp, reduction=[85],
                                   standard_unit="GiB", d_model=768.0, k=9.0).outputs
    assert gib["formula_max_rel_dev"].value < 1e-12
    with pytest.raises(ValueError):
        seedtab_attention_memory(Context(), seqs=[64, 128], standard=[1.0], compressed=[1.0], reduction=[1.0])
    with pytest.raises(ValueError):
        seedtab_attention_memory(Context(), seqs=[64], standard=[1.0], compressed=[1.0], reduction=[1.0],
                                 standard_unit="furlongs")


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1), st.floats(0.05, 0.95), st.integers(30, 800))
def test_seedtab_pr_from_cumvar_brackets_the_spectrum_it_was_printed_from(seed, ratio, d):
    """Print a geometric spectrum's C(k) at five knots to 0.1 %: its PR lies in [pr_min, pr_max]; a printed Df equal
    to the PR gives df_gap ≤ 0, a Df far below it df_gap > 0."""
    import numpy as np

    lam = ratio ** np.arange(d) * (1 + 0.01 * np.random.default_rng(seed).random(d))
    lam = np.sort(lam)[::-1]
    C = cumulative_variance(lam)
    knots = [1, 2, 5, 9, 22]
    kw = {}
    for name, k in zip("abcde", knots):
        kw[f"k_{name}"] = float(k)
        kw[f"c_{name}"] = round(float(C[k - 1]) * 100, 1)
    pr = participation_ratio(lam)
    out = seedtab_pr_from_cumvar(Context(), d=float(d), df=round(pr, 1), **kw).outputs
    assert out["pr_min"].value <= pr <= out["pr_max"].value
    assert out["df_gap"].value <= 0
    far = seedtab_pr_from_cumvar(Context(), d=float(d), df=max(0.0, out["pr_min"].value - 0.5), **kw).outputs
    assert far["df_gap"].value > 0


def test_seedtab_outside_counts_figures_outside_the_range():
    out = seedtab_outside(Context(), values=[8.08, 6.56, 9.92], lo=6.0, hi=10.0).outputs
    assert out["n_outside"].value == 0 and out["min"].value == 6.56 and out["max"].value == 9.92
    assert seedtab_outside(Context(), values=[5.0, 7.0, 11.0], lo=6.0, hi=10.0).outputs["n_outside"].value == 2


LLAMA2_7B = dict(d_model=4096, heads=32)  # assumed 7B shape: 32 layers, 32 heads, width 4096
LAYERS = 32


@pytest.mark.claim("seven_b_attention_12gb", role="lemma")
def test_seven_b_attention_memory_at_4096():
    """7B (Llama-2 shape), fp16, seq 4096: KV cache 2 GiB (2.15 GB) over 32 layers + one layer's eager score matrices
    1 GiB (1.07 GB; 0 with a fused kernel); weights 7e9 × 2 B = 14 GB as the seed says."""
    kv = attention_memory_bytes(4096, dtype="fp16", layers=LAYERS, kv_cache=True, **LLAMA2_7B)
    assert kv["kv_cache"] == 2 * 2**30
    assert kv["scores"] == 2**30
    fused = attention_memory_bytes(4096, dtype="fp16", materialize_scores=False, **LLAMA2_7B)
    assert fused["scores"] == 0
    assert evaluate("7 * 10^9 * fp16 / GB") == 14


@pytest.mark.claim("dims_98_8_percent", role="lemma")
def test_nine_of_768_dimensions():
    assert round(float(evaluate("(1 - 9/768) * 100")), 1) == 98.8
    assert round(float(evaluate("9/768 * 100")), 1) == 1.2


@pytest.mark.claim("attention_memory_85x_reduction", role="lemma")
def test_attention_memory_accounting_by_hand():
    """attention_memory_bytes and seed 004's formula against hand counts: scores heads·seq², Q/K/V seq·(d + 2·d_kv)
    with d_kv = d·kv_heads/heads, cache 2·layers·seq·d_kv, each × batch × bytes; fused kernels hold no scores;
    bad shapes refused with ValueError (seq = 0 is allowed)."""
    # seq 3, d 8, 2 heads of width 4, one KV head (d_kv = 4), fp16 (2 bytes), batch 2, 5 layers of cache
    got = attention_memory_bytes(3, 8, 2, "fp16", batch=2, layers=5, kv_heads=1, kv_cache=True)
    assert got == {"scores": 2 * 2 * 9 * 2, "qkv": 2 * 3 * (8 + 2 * 4) * 2, "kv_cache": 2 * 5 * 2 * 3 * 4 * 2,
                   "total": 72 + 192 + 480}
    one = attention_memory_bytes(3, 8, 2, "fp32", kv_cache=True)  # defaults: batch 1, one layer, kv_heads = heads
    assert one == {"scores": 2 * 9 * 4, "qkv": 3 * 24 * 4, "kv_cache": 2 * 3 * 8 * 4, "total": 72 + 288 + 192}
    fused = attention_memory_bytes(3, 8, 2, "fp32", materialize_scores=False)
    assert fused["scores"] == 0.0 and fused["kv_cache"] == 0.0 and fused["total"] == fused["qkv"] == 288.0
    assert attention_memory_bytes(0, 8, 2)["total"] == 0.0
    assert attention_memory_bytes(2, 1, 1, "int8")["total"] == 4 + 6
    for seq, d, h in ((-1, 8, 2), (3, 0, 2), (3, -4, 2), (3, 8, 0), (3, 8, -2), (3, 6, 4)):
        with pytest.raises(ValueError):
            attention_memory_bytes(seq, d, h)
    # seed 004's formula: seq² · d · bytes (4 bytes by default)
    assert seed004_attention_formula_bytes(3, 5) == 180.0
    assert seed004_attention_formula_bytes(3, 5, bytes_per=2) == 90.0

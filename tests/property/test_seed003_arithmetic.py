"""Seed 003's arithmetic (Part E: storage of per-expert rotations, residual size, R count, the lift column).

Numbers from the seed appear here only as the claims under test (expectations), never as computed results."""

from __future__ import annotations

from fractions import Fraction

import pytest

from quantproof.math.arithmetic import evaluate


@pytest.mark.claim("per_expert_r_storage_200mb", role="refutes")
def test_per_expert_rotations_are_ten_times_200_mb():
    """128 × 2816² × 2 B = 2 030 043 136 B: 2030 MB or 1936 MiB — about 10× the stated 200 MB under either unit."""
    b = evaluate("128 * 2816^2 * fp16")
    assert b == 2_030_043_136
    for unit in ("MB", "MiB"):
        assert evaluate(f"128 * 2816^2 * fp16 / {unit}") / 200 > 9


@pytest.mark.claim("per_expert_r_storage_200mb", role="corrects")
def test_per_expert_rotations_cost_two_gigabytes():
    assert evaluate("128 * 2816^2 * fp16 / GB") == Fraction(2_030_043_136, 10**9)  # 2.03 GB
    assert round(float(evaluate("128 * 2816^2 * fp16 / GiB")), 2) == 1.89  # 1.89 GiB
    # the same R storage vs the expert weights it serves (experts_gate_up, 180224 × 2816, fp16): twice their size
    assert evaluate("(128 * 2816^2) / (180224 * 2816)") == 2


@pytest.mark.claim("residual_materialization_1_9gb")
def test_expert_residual_is_1_9_gib():
    """180224 × 2816 × 4 B = 2 030 043 136 B = 1.890625 GiB (≈ 1.9 in binary units; 2.03 in decimal GB).
    Reading "180k" as 180 000 gives 1.888 GiB: the same rounding."""
    assert evaluate("180224 * 2816 * fp32") == 2_030_043_136
    assert evaluate("180224 * 2816 * fp32 / GiB") == Fraction(121, 64)
    assert round(float(evaluate("180224 * 2816 * fp32 / GiB")), 1) == 1.9
    assert round(float(evaluate("180000 * 2816 * fp32 / GiB")), 1) == 1.9
    assert round(float(evaluate("180224 * 2816 * fp32 / GB")), 2) == 2.03
    # the row count is 128 experts × (gate + up) × 704 intermediate rows
    assert evaluate("128 * 2 * 704") == 180224 and evaluate("128 * 2816") == 360448


@pytest.mark.claim("mlp_r_matrices_15_total")
def test_fifteen_mlp_rotations_over_the_pilot_layers():
    pilot_layers = [0, 7, 15, 22, 29]
    mlp_types = ["gate_proj", "up_proj", "down_proj"]
    assert len(pilot_layers) * len(mlp_types) == 15
    # storage of the 15 as written (2816 × 2816, fp16) and if down_proj's R acts on its 2112-dim rows instead
    assert round(float(evaluate("15 * 2816^2 * fp16 / MB")), 1) == 237.9
    assert round(float(evaluate("5 * (2 * 2816^2 + 2112^2) * fp16 / MB")), 1) == 203.2


# β_raw, β_learned, stated lift — transcribed from the seed's Part E table (the claim under test)
LIFT_TABLE = [
    ("L0 mlp_gate_proj", "0.780", "0.941", "+0.16"),
    ("L0 mlp_up_proj", "0.780", "0.941", "+0.16"),
    ("L0 mlp_down_proj", "0.759", "0.919", "+0.16"),
    ("L0 experts_gate_up", "0.792", "0.803", "+0.011"),
    ("L0 experts_down", "0.794", "0.799", "+0.004"),
    ("L7 mlp_gate_proj", "0.773", "0.942", "+0.17"),
]


def _interval(text: str) -> tuple[Fraction, Fraction]:
    """The values a printed decimal can stand for (round half either way)."""
    v = Fraction(text)
    decimals = len(text.split(".")[1]) if "." in text else 0
    half = Fraction(1, 2 * 10**decimals)
    return v - half, v + half


@pytest.mark.claim("part_e_lift_column")
@pytest.mark.parametrize("row", LIFT_TABLE, ids=[r[0] for r in LIFT_TABLE])
def test_lift_is_learned_minus_raw_up_to_rounding(row):
    """lift = β_learned − β_raw: the stated lift's rounding interval meets the interval of differences that the
    rounded β values allow (exact rationals). The L0 experts_down row is at the edge: 0.799 − 0.794 = 0.005, and
    +0.004 is possible only if the unrounded lift is in [0.0035, 0.0045] ∩ [0.004, 0.006]."""
    _, raw, learned, lift = row
    r_lo, r_hi = _interval(raw)
    l_lo, l_hi = _interval(learned)
    d_lo, d_hi = l_lo - r_hi, l_hi - r_lo
    s_lo, s_hi = _interval(lift.lstrip("+"))
    assert max(d_lo, s_lo) <= min(d_hi, s_hi)

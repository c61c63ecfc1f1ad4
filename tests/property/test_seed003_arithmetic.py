"""Seed 003's arithmetic (Part E: storage of per-expert rotations, residual size, R count, the lift column).

The decisive checks of these claims are ``arith`` links in claims.yaml whose figures are quoted verbatim from the
seed (``seed_values``). The tests with figures typed in here are lemmas (shown, never decisive): they restate the
same arithmetic. The count of MLP rotations is checked against the seed's own text, read from seeds/."""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import pytest

from quantproof.math.arithmetic import evaluate

SEED_003 = Path(__file__).resolve().parents[2] / "seeds" / "003_92f9ef703735c71f.txt"
NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8}


@pytest.mark.claim("per_expert_r_storage_200mb", role="lemma")
def test_per_expert_rotations_are_ten_times_200_mb():
    """128 × 2816² × 2 B = 2 030 043 136 B: 2030 MB or 1936 MiB — about 10× the stated 200 MB under either unit."""
    b = evaluate("128 * 2816^2 * fp16")
    assert b == 2_030_043_136
    for unit in ("MB", "MiB"):
        assert evaluate(f"128 * 2816^2 * fp16 / {unit}") / 200 > 9


@pytest.mark.claim("per_expert_r_storage_200mb", role="lemma")
def test_per_expert_rotations_cost_two_gigabytes():
    assert evaluate("128 * 2816^2 * fp16 / GB") == Fraction(2_030_043_136, 10**9)  # 2.03 GB
    assert round(float(evaluate("128 * 2816^2 * fp16 / GiB")), 2) == 1.89  # 1.89 GiB
    # the same R storage vs the expert weights it serves (experts_gate_up, 180224 × 2816, fp16): twice their size
    assert evaluate("(128 * 2816^2) / (180224 * 2816)") == 2


@pytest.mark.claim("residual_materialization_1_9gb", role="lemma")
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
def test_the_seeds_fifteen_mlp_rotations_match_its_table_and_layer_list():
    """Read from the seed's own text (nothing typed in): the per-layer count ("three … R matrices per layer") equals
    the MLP matrix types of its L0 table, the "five matrix types per layer" equal the table's L0 rows, and the stated
    total ("15 total across depth") equals the per-layer count times the pilot's layer list. Any disagreement among
    the seed's figures fails it."""
    raw = SEED_003.read_text(encoding="utf-8")
    text = re.sub(r"\s+", " ", raw)
    layers_m = re.search(r"trains per-matrix R on layers \[([0-9, ]+)\], (\w+) matrix types per layer", text)
    count_m = re.search(r"\((\w+) \d+×\d+ R matrices per layer, (\d+) total across depth\)", text)
    assert layers_m and count_m
    layers = [int(x) for x in layers_m.group(1).split(",")]
    l0_types = re.findall(r"^L0 (\w+) \d+×\d+ ", raw, flags=re.M)
    mlp_types = [t for t in l0_types if t.startswith("mlp_")]
    assert len(set(layers)) == len(layers) and len(set(l0_types)) == len(l0_types)
    assert NUMBER_WORDS[layers_m.group(2)] == len(l0_types)  # "five matrix types" = the table's L0 rows
    assert NUMBER_WORDS[count_m.group(1)] == len(mlp_types)  # "three" = mlp_gate_proj, mlp_up_proj, mlp_down_proj
    assert int(count_m.group(2)) == len(mlp_types) * len(layers)  # 15 = 3 × |[0, 7, 15, 22, 29]|


def test_mlp_rotation_storage_with_and_without_the_down_projection_shape():
    """15 rotations of 2816 × 2816 in fp16 vs two 2816² and one 2112² per layer over five layers."""
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


@pytest.mark.claim("part_e_lift_column", role="lemma")
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

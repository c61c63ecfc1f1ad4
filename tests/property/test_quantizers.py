"""Baselines: Lloyd–Max for N(0, 1), TurboQuant-style rotation + scalar quantizer, QJL estimator
(values and bounds from /work/shared/REFERENCES.md)."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from qp_strategies import seeds

from quantproof.math.quantizers import QJL, TurboQuantMSE, lloyd_max_gaussian, scalar_quantize, turboquant_upper_bound

# REFERENCES.md (TurboQuant, arXiv 2504.19874): Gaussian Lloyd–Max distortion for b = 1..4, to 4 decimals
REFERENCE_D = {1: 0.3634, 2: 0.1175, 3: 0.0345, 4: 0.0095}


@pytest.mark.parametrize("b", [1, 2, 3, 4])
def test_lloyd_max_distortion_matches_published_values(b):
    q = lloyd_max_gaussian(b)
    assert abs(q.distortion - REFERENCE_D[b]) <= 5e-5 + 1e-12
    assert 4.0**-b <= q.distortion <= turboquant_upper_bound(b)
    assert np.allclose(q.levels, -q.levels[::-1])  # symmetric
    # fixed point: every level is the centroid of its cell, every threshold the midpoint
    assert np.allclose(q.thresholds, (q.levels[1:] + q.levels[:-1]) / 2)


def test_one_bit_lloyd_max_is_exactly_one_minus_two_over_pi():
    q = lloyd_max_gaussian(1)
    with mpmath.workdps(30):
        assert abs(q.distortion - float(1 - 2 / mpmath.pi)) < 1e-14
        assert abs(q.levels[1] - float(mpmath.sqrt(2 / mpmath.pi))) < 1e-14


def test_lloyd_max_distortion_monte_carlo():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(400_000)
    for b in (1, 2, 3):
        q = lloyd_max_gaussian(b)
        mse = float(np.mean((x - scalar_quantize(x, q)) ** 2))
        assert mse == pytest.approx(q.distortion, rel=0.02)


@pytest.mark.parametrize("b", [1, 2, 3])
def test_turboquant_unit_vector_mse(b):
    rng = np.random.default_rng(b)
    d = 256
    X = rng.standard_normal((400, d)) * rng.uniform(0.1, 10, (400, 1))
    tq = TurboQuantMSE(d, b, rng)
    Y = tq.roundtrip(X)
    rel = np.sum((X - Y) ** 2, axis=1) / np.sum(X * X, axis=1)
    assert float(rel.mean()) == pytest.approx(lloyd_max_gaussian(b).distortion, rel=0.08)
    assert float(rel.mean()) <= turboquant_upper_bound(b)


@given(seeds(), st.integers(2, 64))
def test_qjl_estimator_is_unbiased(seed, d):
    rng = np.random.default_rng(seed)
    q, k = rng.standard_normal(d), rng.standard_normal(d)
    m, reps = 16, 1500
    ests = []
    for _ in range(reps):
        sk = QJL(d, m, rng)
        ests.append(float(sk.estimate(q[None], sk.encode(k[None]))[0, 0]))
    ests = np.array(ests)
    se = ests.std(ddof=1) / math.sqrt(reps)
    assert abs(ests.mean() - q @ k) < 5 * se + 1e-12
    assert ests.var(ddof=1) <= QJL.variance_bound(q, k, m) * 1.25

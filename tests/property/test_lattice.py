"""Lattice quantizers against brute force, exact lattice invariants, normalized second moment, blends."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from qp_strategies import seeds

import quantproof.math.lattice as L
from quantproof.math.lattice import (
    E8_NSM_EXACT,
    NSM_KNOWN,
    blend,
    blend_cosine_predicted,
    blend_error_energy,
    bruteforce_nearest,
    gram_determinant,
    gram_matrix,
    in_lattice,
    minimal_norm_and_kissing,
    nearest,
    nearest_d8,
    nearest_e8,
    nearest_e8e8,
    normalized_second_moment_mc,
    quantize_scaled,
    shell_counts,
)

# points near lattice points, deep holes and ties (half-integers, quarter-integers) as well as generic points
_coord = st.one_of(
    st.floats(-6, 6, allow_nan=False),
    st.integers(-8, 8).map(lambda k: k / 4),
    st.integers(-4, 4).map(lambda k: k / 2 + 1e-9),
)
points8 = hnp.arrays(np.float64, 8, elements=_coord)


@given(points8)
def test_nearest_e8_matches_brute_force(x):
    y = nearest_e8(x)
    assert in_lattice(y, "e8")
    _, best = bruteforce_nearest(x, "e8")
    assert float(np.sum((x - y) ** 2)) == pytest.approx(best, abs=1e-12)
    # and the brute force window is large enough: a wider search finds nothing closer
    _, wider = bruteforce_nearest(x, "e8", radius=1.6)
    assert wider == pytest.approx(best, abs=1e-12)


@given(points8)
def test_nearest_d8_matches_brute_force(x):
    y = nearest_d8(x)
    assert in_lattice(y, "d8")
    _, best = bruteforce_nearest(x, "d8")
    assert float(np.sum((x - y) ** 2)) == pytest.approx(best, abs=1e-12)


@given(hnp.arrays(np.float64, 16, elements=_coord))
def test_nearest_e8e8_is_blockwise_brute_force(x):
    y = nearest_e8e8(x)
    assert np.array_equal(y, nearest(x, "e8e8")) and in_lattice(y, "e8")
    total = sum(bruteforce_nearest(x[i:i + 8], "e8")[1] for i in (0, 8))
    assert float(np.sum((x - y) ** 2)) == pytest.approx(total, abs=1e-12)


@given(st.integers(1, 6).flatmap(lambda b: hnp.arrays(np.float64, (3, 8 * b), elements=st.floats(-50, 50))))
def test_nearest_for_any_multiple_of_eight_is_idempotent_and_in_lattice(X):
    for lat in ("e8", "d8", "z"):
        Y = nearest(X, lat)
        assert Y.shape == X.shape
        assert np.all(in_lattice(Y, lat))
        assert np.array_equal(nearest(Y, lat), Y)


def test_lengths_that_are_not_multiples_are_rejected():
    with pytest.raises(ValueError):
        nearest(np.zeros(12), "e8")
    with pytest.raises(ValueError):
        nearest(np.zeros(24), "e8e8")


def test_exact_gram_determinants_minimal_norms_and_kissing_numbers():
    assert gram_determinant("e8") == 1  # unimodular
    assert gram_determinant("d8") == 4
    assert gram_determinant("z8") == 1
    G = gram_matrix("e8")
    assert all(G[i, j].is_integer for i in range(8) for j in range(8))
    assert all(G[i, i] % 2 == 0 for i in range(8))  # even ⇒ with det 1: even unimodular, self-dual
    assert minimal_norm_and_kissing("e8") == (Fraction(2), 240)
    assert minimal_norm_and_kissing("d8") == (Fraction(2), 112)
    assert minimal_norm_and_kissing("z8") == (Fraction(1), 16)
    # theta series of E8: 240·σ₃(n) vectors of norm 2n
    sc = shell_counts("e8", 4)
    assert sc == {Fraction(2): 240 * 1, Fraction(4): 240 * 9}
    assert set(sc) <= {Fraction(2), Fraction(4)}  # even lattice: no odd norms


def test_e8_packing_density_from_the_invariants():
    """Δ = vol(ball of radius √2/2) / covolume = π⁴/384 (exact, sympy)."""
    r = sp.sqrt(2) / 2
    vol = sp.pi**4 / sp.factorial(4) * r**8
    assert sp.simplify(vol / sp.sqrt(gram_determinant("e8")) - sp.pi**4 / 384) == 0


@pytest.mark.parametrize("lat,known", [("e8", float(E8_NSM_EXACT)), ("z8", 1 / 12)])
def test_normalized_second_moment_monte_carlo(lat, known):
    est = normalized_second_moment_mc(lat, n=120_000, rng=12345)
    assert est.lo <= known <= est.hi
    assert est.hi - est.lo < 0.0015


def test_nsm_ordering_and_constants():
    assert E8_NSM_EXACT == Fraction(929, 12960)
    assert abs(float(E8_NSM_EXACT) - 0.0716821) < 5e-8
    assert NSM_KNOWN["sphere_bound"] < NSM_KNOWN["leech_24"] < NSM_KNOWN["e8"] < NSM_KNOWN["d4"] < NSM_KNOWN["z"]
    d8 = normalized_second_moment_mc("d8", n=60_000, rng=1)
    assert NSM_KNOWN["e8"] < d8.lo and d8.hi < NSM_KNOWN["z"]


@given(seeds(), st.floats(0.0, 1.0), st.sampled_from([0.05, 0.5, 2.0]), st.sampled_from(["e8", "d8", "z", "e8e8"]))
def test_blend_cosine_and_error_formulas(seed, b, scale, lat):
    rng = np.random.default_rng(seed)
    h = rng.standard_normal((4, 32))
    q = quantize_scaled(h, scale, lat)
    bl = blend(h, q, b)
    nh, nq = np.linalg.norm(h, axis=1), np.linalg.norm(q, axis=1)
    ok = nq > 0
    c = np.sum(h * q, axis=1)[ok] / (nh[ok] * nq[ok])
    pred = blend_cosine_predicted(c, nq[ok] / nh[ok], b)
    actual = np.sum(h * bl, axis=1)[ok] / (nh[ok] * np.linalg.norm(bl, axis=1)[ok])
    assert np.allclose(pred, actual, atol=1e-10)
    assert np.allclose(blend_error_energy(h, q, b), np.sum((bl - h) ** 2, axis=1), atol=1e-9)
    # error energy scales exactly as b²
    if b > 1e-6:
        assert np.allclose(blend_error_energy(h, q, b) / b**2, blend_error_energy(h, q, 1.0))


def test_quantization_error_bounded_by_covering_radius():
    rng = np.random.default_rng(0)
    X = rng.uniform(-20, 20, (5000, 8))
    assert np.max(np.linalg.norm(X - nearest_e8(X), axis=1)) <= 1 + 1e-12
    assert np.max(np.linalg.norm(X - nearest_d8(X), axis=1)) <= math.sqrt(2) + 1e-12


@pytest.mark.parametrize("name, generator, decoder, known", [
    ("Z^1", np.eye(1), L.nearest_z, 1 / 12),
    ("Z^3", np.eye(3), L.nearest_z, 1 / 12),
    ("D4", np.array([[-1, -1, 0, 0], [1, -1, 0, 0], [0, 1, -1, 0], [0, 0, 1, -1]], float), L.nearest_dn, 0.0766032),
    ("2·Z^2 (scaled)", 2 * np.eye(2), lambda x: 2 * np.round(x / 2), 1 / 12),
])
def test_normalized_second_moment_of_any_lattice(name, generator, decoder, known) -> None:
    est = L.normalized_second_moment(generator, decoder, n=60_000, rng=7)
    assert est.lo <= known <= est.hi, (name, est)


def test_a_decoder_that_is_not_nearest_point_overestimates_the_nsm() -> None:
    # rounding toward zero is a valid Z^2 decoder map onto the lattice but not the nearest point: G = 1/3 > 1/12
    est = L.normalized_second_moment(np.eye(2), np.trunc, n=60_000, rng=7)
    assert est.lo > 1 / 12 + 0.1


def test_normalized_second_moment_rejects_a_singular_generator() -> None:
    with pytest.raises(ValueError, match="singular"):
        L.normalized_second_moment(np.array([[1.0, 2.0], [2.0, 4.0]]), L.nearest_z)

"""1-bit quantization identities of seed 003 §1: cos formula, residual energy, equality case."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from qp_strategies import nonzero_vectors, rational_vectors, vectors

from quantproof.math.sign_quant import (
    moment_ratio,
    one_bit_cosine,
    one_bit_quantize,
    one_bit_scale,
    pooled_moment_ratio,
    residual_energy_fraction,
    sgn,
)


def _fsgn(x: Fraction) -> int:
    return 1 if x >= 0 else -1


def _exact_cos2(k: list[Fraction], alpha: Fraction, sign=_fsgn) -> Fraction:
    """cos²(k, α·sgn k) from the definition ⟨k, q⟩² / (‖k‖² ‖q‖²), exactly."""
    q = [alpha * sign(x) for x in k]
    dot = sum(a * b for a, b in zip(k, q))
    return dot * dot / (sum(a * a for a in k) * sum(b * b for b in q))


def _rejects_non_vectors(fn) -> None:
    """A scalar has no coordinate axis and an empty vector has d = 0: both are refused with their own message."""
    with pytest.raises(ValueError, match="at least one axis"):
        fn(3.0)
    for empty in (np.zeros(0), np.zeros((2, 0))):
        with pytest.raises(ValueError, match="d >= 1"):
            fn(empty)


def test_sgn_convention():
    assert sgn(0.0) == 1.0 and sgn(-0.0) == 1.0 and sgn(-1e-300) == -1.0 and sgn(5e-324) == 1.0
    np.testing.assert_array_equal(sgn([-2.0, 0.0, 3.0]), [-1.0, 1.0, 1.0])
    with pytest.raises(ValueError):
        sgn(float("nan"))


@pytest.mark.claim("cos_sign_quant_formula")
@given(rational_vectors(1, 10).filter(lambda k: any(x != 0 for x in k)),
       st.builds(Fraction, st.integers(1, 100), st.integers(1, 100)))
def test_cos_sign_quant_formula_exact(k, alpha):
    """Exactly (rationals): cos²(k, α sgn k) = ‖k‖₁² / (d ‖k‖₂²) for every α > 0 (the formula squared; both sides ≥ 0)."""
    d = len(k)
    l1 = sum(abs(x) for x in k)
    l2sq = sum(x * x for x in k)
    assert _exact_cos2(k, alpha) == l1 * l1 / (d * l2sq)
    # and the least-squares α = ‖k‖₁/d is one such α
    assert _exact_cos2(k, l1 / d) == l1 * l1 / (d * l2sq)


@pytest.mark.claim("cos_sign_quant_formula")
@given(nonzero_vectors(1, 64), st.one_of(st.sampled_from(["l1", "norm"]), st.floats(1e-6, 1e6)))
def test_cos_sign_quant_formula_float(k, alpha):
    """The closed form against the cosine computed from its definition, for the least-squares and norm-preserving
    scales and for any other scale α > 0 (the seed does not fix α)."""
    q = one_bit_quantize(k, alpha) if isinstance(alpha, str) else alpha * sgn(k)
    direct = float(k @ q / (np.linalg.norm(k) * np.linalg.norm(q)))
    c = float(one_bit_cosine(k))
    assert math.isclose(c, direct, rel_tol=1e-12, abs_tol=1e-12)
    # the quantizer is the one the formula is about: Q(k) = α·sgn(k), sgn(0) = +1, α = ‖k‖₁/d or ‖k‖₂/√d (the
    # library's two scales; any other α > 0 is applied by hand above)
    d = len(k)
    if isinstance(alpha, str):
        a = float(np.sum(np.abs(k)) / d) if alpha == "l1" else float(np.linalg.norm(k) / math.sqrt(d))
        assert math.isclose(float(one_bit_scale(k, alpha)[0]), a, rel_tol=1e-12)
    else:
        a = alpha
    np.testing.assert_allclose(q, np.where(k >= 0, a, -a), rtol=1e-12, atol=0)
    # rows are independent: a batch (with a zero row, which has no cosine and quantizes to zero) gives row by row
    # what single vectors give
    K = np.stack([k, -3.0 * k[::-1], np.zeros(d)])
    cb = one_bit_cosine(K)
    assert math.isclose(cb[0], c, rel_tol=1e-12) and math.isclose(cb[1], float(one_bit_cosine(k[::-1])), rel_tol=1e-12)
    assert math.isnan(cb[2])
    if isinstance(alpha, str):
        QB = one_bit_quantize(K, alpha)
        np.testing.assert_allclose(QB[0], q, rtol=1e-12, atol=0)
        np.testing.assert_allclose(QB[1], one_bit_quantize(-3.0 * k[::-1], alpha), rtol=1e-12, atol=0)
        assert np.all(QB[2] == 0.0)
    assert one_bit_cosine(K[:0]).shape == (0,)
    _rejects_non_vectors(one_bit_cosine)


@pytest.mark.claim("cos_sign_quant_formula", role="lemma")
def test_cos_formula_check_fails_when_a_zero_coordinate_is_coded_zero():
    """The exact check can come out the other way: with a code off the lattice {±α}^d (sgn(0) = 0), k = (1, 0) has
    cos² = 1 while ‖k‖₁²/(d‖k‖₂²) = 1/2. The formula needs sgn(0) ∈ {±1} (ours: +1)."""
    k = [Fraction(1), Fraction(0)]
    formula = Fraction(1, 2)
    assert _exact_cos2(k, Fraction(1), sign=lambda x: (x > 0) - (x < 0)) == 1 != formula
    assert _exact_cos2(k, Fraction(1)) == formula


@pytest.mark.claim("cos_sign_quant_formula", role="lemma")
@given(nonzero_vectors(1, 32), st.integers(-300, 300))
def test_cos_formula_scale_invariant_at_extreme_scales(k, e):
    """The implementation of the formula does not depend on the scale of k, also at 1e±300 (no overflow/underflow).
    A lemma: the closed form is scale invariant whatever the claim says, so this checks the code, not the claim."""
    c0 = float(one_bit_cosine(k))
    with np.errstate(over="ignore", under="ignore"):
        ks = k * 10.0**e
    assume(np.all(np.isfinite(ks)) and np.any(ks != 0))
    assume(np.array_equal(ks == 0, k == 0))  # no coordinate flushed to zero
    assert math.isclose(float(one_bit_cosine(ks)), c0, rel_tol=1e-9)


def test_cosine_of_zero_rows_is_nan_and_batches_work():
    K = np.array([[0.0, 0.0, 0.0], [1.0, -1.0, 1.0], [1.0, 0.0, 0.0]])
    c = one_bit_cosine(K)
    assert math.isnan(c[0]) and c[1] == 1.0 and math.isclose(c[2], 1 / math.sqrt(3))
    assert math.isnan(moment_ratio(K)[0]) and math.isclose(moment_ratio(K)[2], 1 / 3)
    assert one_bit_cosine(np.ones((2, 3, 4))).shape == (2, 3)
    assert math.isnan(pooled_moment_ratio(np.zeros((3, 4))))
    with pytest.raises(ValueError):
        one_bit_cosine([1.0, float("inf")])


@given(nonzero_vectors(1, 64))
def test_moment_ratio_is_cos_squared(k):
    assert math.isclose(float(moment_ratio(k)), float(one_bit_cosine(k)) ** 2, rel_tol=1e-12, abs_tol=1e-15)


@pytest.mark.claim("residual_energy_formula")
@given(rational_vectors(1, 10).filter(lambda k: any(x != 0 for x in k)))
def test_residual_energy_formula_exact(k):
    """Exactly: with α = ‖k‖₁/d, ‖k − α sgn k‖² / ‖k‖² = 1 − cos²θ_k = sin²θ_k."""
    d = len(k)
    l1 = sum(abs(x) for x in k)
    alpha = l1 / d
    res = sum((x - alpha * _fsgn(x)) ** 2 for x in k)
    l2sq = sum(x * x for x in k)
    assert res / l2sq == 1 - l1 * l1 / (d * l2sq)


@pytest.mark.claim("residual_energy_formula")
@given(nonzero_vectors(1, 64))
def test_residual_energy_formula_float_and_ls_optimality(k):
    f = float(residual_energy_fraction(k, "l1"))
    c = float(one_bit_cosine(k))
    assert math.isclose(f, 1 - c * c, rel_tol=1e-9, abs_tol=1e-12)
    # α = ‖k‖₁/d is the minimiser of ‖k − α sgn k‖ (so the identity is the optimal-scale residual)
    a = float(one_bit_scale(k, "l1")[0])
    s = sgn(k)

    def err(alpha: float) -> float:
        return float(np.sum((k - alpha * s) ** 2))

    for delta in (1e-3, 1e-1, 1.0):
        step = delta * max(a, 1e-12)
        assert err(a) <= err(a + step) * (1 + 1e-12) and err(a) <= err(a - step) * (1 + 1e-12)
    # the fraction is a property of the direction: the same at tiny and huge scales, row by row in a batch, and
    # undefined (nan) for a zero row
    np.testing.assert_allclose(residual_energy_fraction(k * 2.0**-900), f, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(residual_energy_fraction(k * 2.0**900), f, rtol=1e-9, atol=1e-12)
    fb = residual_energy_fraction(np.stack([k, 5.0 * k[::-1], np.zeros(len(k))]))
    assert math.isclose(fb[0], f, rel_tol=1e-12, abs_tol=1e-15)
    assert math.isclose(fb[1], float(residual_energy_fraction(k[::-1])), rel_tol=1e-12, abs_tol=1e-15)
    assert math.isnan(fb[2])
    np.testing.assert_allclose(fb[:2], 1 - one_bit_cosine(np.stack([k, k[::-1]])) ** 2, rtol=1e-9, atol=1e-12)
    # the identity needs the least-squares scale: with α = ‖k‖₂/√d the residual energy is 2(1 − cos θ) instead
    assert math.isclose(float(residual_energy_fraction(k, "norm")), 2 * (1 - c), rel_tol=1e-9, abs_tol=1e-12)
    _rejects_non_vectors(residual_energy_fraction)


@pytest.mark.claim("residual_energy_formula", role="lemma")
@given(nonzero_vectors(1, 64))
def test_residual_with_norm_preserving_scale_is_two_one_minus_cos(k):
    """With α = ‖k‖₂/√d instead, the residual energy is 2(1 − cos θ) ≥ sin²θ: the identity needs the LS scale."""
    f = float(residual_energy_fraction(k, "norm"))
    c = float(one_bit_cosine(k))
    assert math.isclose(f, 2 * (1 - c), rel_tol=1e-9, abs_tol=1e-12)
    assert f >= 1 - c * c - 1e-12


@pytest.mark.claim("cos_eq_one_iff_sign_lattice")
@given(st.lists(st.sampled_from([-2, -1, 0, 1, 2]), min_size=1, max_size=9).filter(lambda v: any(v)),
       st.builds(Fraction, st.integers(1, 50), st.integers(1, 50)))
def test_cos_eq_one_iff_sign_lattice_exact(pattern, c):
    """Exactly: cos²θ_k = 1 ⇔ all |kᵢ| are equal and nonzero ⇔ k ∈ {±α}^d for some α > 0."""
    k = [c * x for x in pattern]
    d = len(k)
    l1 = sum(abs(x) for x in k)
    cos2 = l1 * l1 / (d * sum(x * x for x in k))
    on_lattice = len({abs(x) for x in k}) == 1 and k[0] != 0
    assert (cos2 == 1) == on_lattice
    assert cos2 <= 1


@pytest.mark.claim("cos_eq_one_iff_sign_lattice")
@given(vectors(1, 64).filter(lambda v: np.any(v != 0)))
def test_cos_eq_one_iff_sign_lattice_float(k):
    m = np.abs(k)
    if np.all(m == m[0]) and m[0] > 0:
        assert one_bit_cosine(k) == pytest.approx(1.0, abs=1e-15)
    else:
        # strictly below 1, by a margin that Cauchy–Schwarz quantifies: 1 − cos² = Var|k| / mean k²
        c = float(one_bit_cosine(k))
        u = m / m.max()  # the reference computation in unit scale (k·k underflows for tiny k)
        gap = float(np.var(u) / np.mean(u * u))
        assert math.isclose(1 - c * c, gap, rel_tol=1e-6, abs_tol=1e-12)
        assert c < 1 or gap < 1e-15
    assert float(one_bit_cosine(k)) <= 1.0  # never above 1, also where rounding of √d·‖k‖₂ would put it there
    # on the lattice, in every dimension, at any scale, one row or many: exactly at most 1 and within an ulp of it
    for d in (1, 2, 3, 5, 7, 64):
        lat = np.where(np.arange(d) % 3 == 1, -1.0, 1.0)
        cs = one_bit_cosine(np.stack([lat, 1e-200 * lat, 1e200 * lat]))
        assert np.all(cs <= 1.0) and np.all(cs >= 1.0 - 1e-15)
        if d > 1:  # one coordinate off the lattice: strictly below 1 at every scale
            off = lat.copy()
            off[0] = 2.0
            co = one_bit_cosine(np.stack([off, 1e-200 * off, 1e200 * off]))
            exact = (d + 1) / math.sqrt(d * (d + 3))
            np.testing.assert_allclose(co, exact, rtol=1e-12)
    lattice_point = np.abs(k).max() * np.where(k >= 0, 1.0, -1.0)
    pair = one_bit_cosine(np.stack([k, lattice_point]))
    assert pair[1] == pytest.approx(1.0, abs=1e-15) and pair[0] == pytest.approx(float(one_bit_cosine(k)), rel=1e-12)
    _rejects_non_vectors(one_bit_cosine)

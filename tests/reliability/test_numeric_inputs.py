"""Edge inputs for the math API (py/quantproof/math): zero vectors, ties, empty arrays, wrong and mismatched shapes,
non-finite values, extreme magnitudes.

Each case checks what the function's docstring (or its module's conventions) promises: a documented value (``nan``
for a zero vector, ``sgn(0) = +1``, ties to the integer coset, ...), or a ``ValueError`` whose message says what is
wrong. The project convention for non-finite input, set by ``sign_quant`` ("Inputs must be finite") and ``lowrank``,
is a ``ValueError`` naming finiteness. Cases where a function does something undocumented (an ``IndexError``, a
numpy-internal message, a silent ``nan`` or a silent broadcast) are ``xfail(strict=True)`` with the module named in
the reason: they are reports to the module's owner, and turn red once fixed so the mark gets removed.
"""

from __future__ import annotations

import math
import warnings
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

S = pytest.importorskip("quantproof.math.sign_quant")
R = pytest.importorskip("quantproof.math.rotations")
L = pytest.importorskip("quantproof.math.lattice")
P = pytest.importorskip("quantproof.math.spectra")
W = pytest.importorskip("quantproof.math.lowrank")


@contextmanager
def no_warnings() -> Iterator[None]:
    """A documented edge case is handled, not computed through: no RuntimeWarning (0/0, overflow) leaks out."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def raises_clear(fn: Callable[[], Any], *words: str, exc: type[BaseException] = ValueError) -> None:
    with pytest.raises(exc) as ei:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn()
    msg = str(ei.value).lower()
    assert any(w.lower() in msg for w in words), f"unclear message: {ei.value!r} (expected one of {words})"


def xfail(reason: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason=reason)


# --------------------------------------------------------------------------------------------- zero vectors

def test_sign_quant_zero_rows_are_nan_and_quantize_to_zero() -> None:
    K = np.array([[0.0] * 4, [1.0, -2.0, 0.0, 3.0], [-0.0] * 4])
    with no_warnings():
        cos, beta = S.one_bit_cosine(K), S.moment_ratio(K)
        q, res = S.one_bit_quantize(K), S.residual_energy_fraction(K)
    assert math.isnan(cos[0]) and math.isnan(cos[2]) and 0 < cos[1] <= 1
    assert math.isnan(beta[0]) and math.isnan(beta[2]) and beta[1] == pytest.approx(cos[1] ** 2)
    assert np.array_equal(q[[0, 2]], np.zeros((2, 4))) and np.all(q[1] != 0)
    assert math.isnan(res[0]) and res[1] == pytest.approx(1 - beta[1])
    with no_warnings():
        assert math.isnan(S.pooled_moment_ratio(np.zeros((3, 4))))
        assert math.isnan(S.energy_weighted_moment_ratio(np.zeros((3, 4))))


def test_transforms_of_a_zero_vector_are_zero() -> None:
    with no_warnings():
        assert np.array_equal(R.fwht(np.zeros((2, 8))), np.zeros((2, 8)))
        assert np.array_equal(L.nearest_e8(np.zeros((2, 8))), np.zeros((2, 8)))


def test_spectral_and_lowrank_zero_cases_are_nan() -> None:
    with no_warnings():
        assert math.isnan(P.participation_ratio(np.zeros(5)))
        assert math.isnan(W.gamma_r(np.zeros((3, 4)), 1))
        assert math.isnan(W.gamma_r_of_basis(np.zeros((3, 4)), np.eye(4)[:, :1]))
        assert math.isnan(W.topk_energy_fraction(np.zeros((1, 4)), 2)[0])
    raises_clear(lambda: P.cumulative_variance(np.zeros(3)), "total variance")


def test_recovered_energy_fraction_of_zero_keys() -> None:
    """Documented: nan when K is all zero (no energy to recover), whatever K_hat is."""
    with no_warnings():
        assert math.isnan(W.recovered_energy_fraction(np.zeros((3, 4)), np.zeros((3, 4))))
        assert math.isnan(W.recovered_energy_fraction(np.zeros((3, 4)), np.ones((3, 4))))


# --------------------------------------------------------------------------------------------- ties

def test_sign_of_zero_and_negative_zero_is_plus_one() -> None:
    assert S.sgn([0.0, -0.0, 1e-320, -1e-320]).tolist() == [1.0, 1.0, 1.0, -1.0]
    q = S.one_bit_quantize([[0.0, -0.0, 2.0, -2.0]])
    assert q.tolist() == [[1.0, 1.0, 1.0, -1.0]]  # α = ‖k‖₁/d = 1, and the zero coordinates code to +α


def test_rounding_and_coset_ties_are_deterministic() -> None:
    assert L.nearest_z([0.5, -0.5, 1.5, -1.5]).tolist() == [1.0, 0.0, 2.0, -1.0]  # ties up
    # 0.25·1 is at squared distance 0.5 from both 0 ∈ D8 and ½·1 ∈ D8 + ½: the integer coset wins
    assert L.nearest_e8(np.full(8, 0.25)).tolist() == [0.0] * 8
    assert L.nearest_e8(np.full(8, 0.5)).tolist() == [0.5] * 8  # a lattice point maps to itself
    assert bool(np.all(L.in_lattice(L.nearest_e8(np.random.default_rng(0).normal(size=(50, 8))))))


def test_topk_ties_keep_the_lower_index_and_equal_eigenvalues_count_fully() -> None:
    assert W.topk_sparsify(np.array([[1.0, -1.0, 1.0, 0.5]]), 2).tolist() == [[1.0, -1.0, 0.0, 0.0]]
    assert P.participation_ratio([2.0, 2.0, 2.0]) == pytest.approx(3.0)
    assert W.gamma_r(np.eye(4), 2) == pytest.approx(0.5)  # four equal singular values


# --------------------------------------------------------------------------------------------- empty arrays

@pytest.mark.parametrize("fn, shape", [(S.one_bit_cosine, (0,)), (S.moment_ratio, (0,)),
                                       (S.one_bit_quantize, (0, 8)), (S.residual_energy_fraction, (0,)),
                                       (R.fwht, (0, 8)), (L.nearest_e8, (0, 8))])
def test_an_empty_batch_gives_an_empty_result(fn: Callable, shape: tuple[int, ...]) -> None:
    with no_warnings():
        assert fn(np.zeros((0, 8))).shape == shape


def test_empty_spectra_and_matrices_are_nan() -> None:
    with no_warnings():
        assert math.isnan(P.participation_ratio([]))
        assert math.isnan(W.gamma_r(np.zeros((0, 4)), 1))
    raises_clear(lambda: P.covariance_spectrum(np.zeros((0, 3))), "not enough rows")


@pytest.mark.parametrize("fn", [S.pooled_moment_ratio, S.energy_weighted_moment_ratio],
                         ids=["pooled_moment_ratio", "energy_weighted_moment_ratio"])
def test_pooled_ratios_of_an_empty_set(fn: Callable) -> None:
    try:
        with no_warnings():
            v = fn(np.zeros((0, 8)))
    except ValueError as exc:
        assert any(w in str(exc).lower() for w in ("empty", "no vectors", "at least one")), repr(exc)
    else:
        assert math.isnan(v)


# --------------------------------------------------------------------------------------------- shapes

@pytest.mark.parametrize("fn", [S.one_bit_cosine, S.moment_ratio, S.one_bit_quantize, S.pooled_moment_ratio])
def test_sign_quant_shapes(fn: Callable) -> None:
    raises_clear(lambda: fn(3.0), "at least one axis")
    raises_clear(lambda: fn(np.zeros((2, 0))), "d >= 1")
    raises_clear(lambda: fn([[1.0, 2.0], [3.0]]), "inhomogeneous", "sequence")
    raises_clear(lambda: fn([[1j]]), "complex", exc=TypeError)


def test_wrong_lengths_are_named() -> None:
    raises_clear(lambda: R.fwht(np.zeros(6)), "power-of-two")
    raises_clear(lambda: R.fwht(np.zeros((3, 0))), "power-of-two")
    raises_clear(lambda: L.nearest_e8(np.zeros(7)), "length 8")
    raises_clear(lambda: L.nearest(np.zeros(9), "e8"), "multiple of 8")
    raises_clear(lambda: W.gamma_r(np.ones(4), 1), "(n, d) matrix")
    raises_clear(lambda: W.gamma_r(np.ones((2, 2)), -1), "r must be >= 0")
    raises_clear(lambda: W.topk_sparsify(np.ones((2, 4)), 5), "0 <= k <= d")
    raises_clear(lambda: P.participation_ratio([1.0, -1.0]), "must be >= 0")
    raises_clear(lambda: P.k_for_variance([1.0, 2.0], 0.0), "frac must be in (0, 1]")
    raises_clear(lambda: R.haar_orthogonal(0), "d must be >= 1")


@pytest.mark.parametrize("fn", [R.fwht, L.nearest_e8, L.nearest_d8, L.nearest_dn, L.nearest_e8e8,
                                lambda x: L.nearest(x, "e8")],
                         ids=["fwht", "nearest_e8", "nearest_d8", "nearest_dn", "nearest_e8e8", "nearest"])
def test_a_scalar_is_not_a_vector(fn: Callable) -> None:
    raises_clear(lambda: fn(3.0), "axis", "length", "vector")


def test_mismatched_operands_raise() -> None:
    raises_clear(lambda: W.gamma_r_of_basis(np.ones((3, 4)), np.ones((5, 1))), "mismatch")
    raises_clear(lambda: W.rank_r_correct(np.ones((3, 4)), np.ones((5, 1))), "mismatch")
    raises_clear(lambda: W.recovered_energy_fraction(np.ones((3, 4)), np.ones((3, 5))), "broadcast")


def test_blend_rejects_a_quantized_point_of_another_shape() -> None:
    raises_clear(lambda: L.blend(np.ones((4, 8)), np.ones(8), 0.5), "shape")
    raises_clear(lambda: L.blend_error_energy(np.ones((4, 8)), np.ones(8), 0.5), "shape")


# --------------------------------------------------------------------------------------------- non-finite values

NON_FINITE = [np.nan, np.inf, -np.inf]


@pytest.mark.parametrize("bad", NON_FINITE, ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("fn", [S.one_bit_cosine, S.moment_ratio, S.one_bit_quantize, S.one_bit_scale,
                                S.pooled_moment_ratio, S.energy_weighted_moment_ratio, S.residual_energy_fraction,
                                lambda x: W.gamma_r(x, 1), lambda x: W.gamma_r_of_basis(x, np.eye(8)[:, :2])],
                         ids=["one_bit_cosine", "moment_ratio", "one_bit_quantize", "one_bit_scale",
                              "pooled_moment_ratio", "energy_weighted_moment_ratio", "residual_energy_fraction",
                              "gamma_r", "gamma_r_of_basis"])
def test_non_finite_input_is_refused(fn: Callable, bad: float) -> None:
    x = np.ones((2, 8))
    x[1, 3] = bad
    raises_clear(lambda: fn(x), "finite")


def test_sgn_of_nan_is_undefined_and_of_inf_follows_the_rule() -> None:
    raises_clear(lambda: S.sgn([1.0, np.nan]), "nan")
    assert S.sgn([np.inf, -np.inf]).tolist() == [1.0, -1.0]


@pytest.mark.parametrize("bad", NON_FINITE, ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("fn", [
    R.fwht, L.nearest_e8, L.nearest_dn, lambda x: L.nearest(x, "e8"), lambda x: P.participation_ratio(np.abs(x[1])),
    lambda x: P.covariance_spectrum(x),
], ids=["fwht", "nearest_e8", "nearest_dn", "nearest", "participation_ratio", "covariance_spectrum"])
def test_non_finite_input_has_a_documented_outcome(fn: Callable, bad: float) -> None:
    x = np.ones((2, 8))
    x[1, 3] = bad
    raises_clear(lambda: fn(x), "finite")


# --------------------------------------------------------------------------------------------- magnitudes

finite_rows = st.lists(st.floats(-1e3, 1e3, allow_subnormal=False), min_size=1, max_size=16).filter(
    lambda v: any(abs(x) > 1e-6 for x in v))


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(finite_rows, st.sampled_from([2.0 ** -1000, 2.0 ** -500, 1.0, 2.0 ** 500, 2.0 ** 1000]))
def test_sign_quant_is_scale_invariant_across_the_float_range(k: list[float], c: float) -> None:
    """Documented: rows are rescaled first, so 1e300 and subnormal scales give unit-scale cosines."""
    k = np.array([k])
    with no_warnings():
        assert S.one_bit_cosine(c * k)[0] == pytest.approx(S.one_bit_cosine(k)[0], rel=1e-12)
        assert S.moment_ratio(c * k)[0] == pytest.approx(S.moment_ratio(k)[0], rel=1e-12)
    assert 1 / math.sqrt(k.shape[1]) - 1e-12 <= S.one_bit_cosine(k)[0] <= 1.0


@pytest.mark.parametrize("c", [1e-320, 1e300])
def test_participation_ratio_is_scale_invariant(c: float) -> None:
    with no_warnings():
        assert P.participation_ratio(np.array([1.0, 2.0]) * c) == pytest.approx(1.8)


@pytest.mark.parametrize("c", [1e-200, 1e200])
def test_gamma_r_of_a_nonzero_matrix_at_extreme_scale(c: float) -> None:
    A = np.random.default_rng(0).normal(size=(5, 4))
    V = W.top_r_basis(A, 2)
    K_hat = A + 0.1 * np.random.default_rng(1).normal(size=A.shape)
    with no_warnings():
        assert W.gamma_r(A * c, 1) == pytest.approx(W.gamma_r(A, 1), rel=1e-9)
        assert W.gamma_r_of_basis(A * c, V) == pytest.approx(W.gamma_r_of_basis(A, V), rel=1e-9)
        assert W.recovered_energy_fraction(A * c, K_hat * c) == pytest.approx(
            W.recovered_energy_fraction(A, K_hat), rel=1e-9)

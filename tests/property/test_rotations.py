"""Rotations: FWHT/SRHT against dense references, Haar sampling, learned ℓ1 rotations, and seed 003's claims on
the isotropic floor (§2) and DC-mean centering (§3–4)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from qp_strategies import pow2, seeds

from quantproof.math.rotations import (
    SRHT,
    fit_l1_rotation,
    fit_l1_rotation_gradient,
    fwht,
    haar_orthogonal,
    hadamard_matrix,
    is_orthogonal,
    is_power_of_two,
    mean_one_bit_cosine,
    train_test_lift,
)
from quantproof.math.sign_quant import (
    ISOTROPIC_COSINE_FLOOR,
    expected_haar_one_bit_cosine,
    one_bit_cosine,
    pooled_moment_ratio,
    sgn,
)

FLOOR = ISOTROPIC_COSINE_FLOOR


# ------------------------------------------------------------------ references


@given(pow2(0, 8).flatmap(lambda d: hnp.arrays(np.float64, (3, d), elements=st.floats(-1e6, 1e6))))
def test_fwht_matches_dense_hadamard(X):
    d = X.shape[1]
    H = hadamard_matrix(d)
    assert np.allclose(H @ H.T, d * np.eye(d))
    ref = X @ H.T / math.sqrt(d)
    scale = max(1.0, float(np.max(np.abs(X))))
    assert np.allclose(fwht(X), ref, atol=1e-12 * scale * d)
    assert np.allclose(fwht(fwht(X)), X, atol=1e-9 * scale)  # involution
    assert np.allclose(np.linalg.norm(fwht(X), axis=1), np.linalg.norm(X, axis=1), rtol=1e-12, atol=1e-9 * scale)


def test_fwht_rejects_non_power_of_two():
    for d in (3, 6, 12, 24, 768):
        with pytest.raises(ValueError):
            fwht(np.ones(d))


@given(pow2(1, 7), seeds(), st.one_of(st.none(), st.integers(1, 128)))
def test_srht_apply_matches_matrix(d, seed, m):
    m = None if m is None else min(m, d)
    S = SRHT(d, np.random.default_rng(seed), m=m)
    X = np.random.default_rng(seed + 1).standard_normal((4, d))
    assert np.allclose(S.apply(X), X @ S.matrix().T, atol=1e-10)
    if m is None or m == d:
        assert is_orthogonal(S.matrix())


@given(st.integers(1, 40), seeds())
def test_haar_orthogonal_is_orthogonal(d, seed):
    R = haar_orthogonal(d, seed)
    assert is_orthogonal(R, 1e-10)


def test_haar_orthogonal_is_rotation_invariant_in_distribution():
    """Rx for a fixed x is uniform on the sphere: its mean 1-bit cosine is f(d) whatever x is (e₁ or all-ones)."""
    rng = np.random.default_rng(7)
    d, n = 8, 6000
    for x in (np.eye(d)[0], np.ones(d), np.arange(1.0, d + 1)):
        c = np.array([float(one_bit_cosine(haar_orthogonal(d, rng) @ x)) for _ in range(n)])
        se = c.std(ddof=1) / math.sqrt(n)
        assert abs(c.mean() - expected_haar_one_bit_cosine(d)) < 4.5 * se
    dets = [np.linalg.det(haar_orthogonal(d, rng)) for _ in range(400)]
    assert 120 < sum(v > 0 for v in dets) < 280


# ------------------------------------------------------------------ srht_achieves_isotropic_floor


@pytest.mark.claim("srht_achieves_isotropic_floor", role="refutes")
@given(pow2(2, 12), seeds())
def test_srht_keys_that_escape_the_floor(d, seed):
    """For every d and every draw of the SRHT signs: e₁ ↦ a ±1/√d vector (cos = 1, above the floor) and e₁ + e₂ ↦ a
    vector with d/2 zeros (cos = 1/√2 ≈ 0.707 < √(2/π) ≈ 0.798) — these do not approach √(2/π) as d grows.
    The identity is a data-independent rotation too, and a plain Hadamard maps the all-ones key to √d·e₁
    (cos = 1/√d → 0)."""
    S = SRHT(d, seed)
    e1 = np.eye(d)[0]
    e12 = e1 + np.eye(d)[1]
    assert one_bit_cosine(S.apply(e1)) == pytest.approx(1.0, abs=1e-12)
    assert one_bit_cosine(S.apply(e12)) == pytest.approx(1 / math.sqrt(2), abs=1e-12)
    assert 1 / math.sqrt(2) < FLOOR - 0.09
    assert one_bit_cosine(fwht(np.ones(d))) == pytest.approx(1 / math.sqrt(d), abs=1e-12)
    assert one_bit_cosine(np.eye(d) @ e1) == pytest.approx(1 / math.sqrt(d), abs=1e-12)
    # not only special keys: the identity (data-independent) leaves typical sign-lattice keys at cos = 1 for every d
    B = sgn(np.random.default_rng(seed).standard_normal((4, d)))  # rows: keys with i.i.d. ±1 coordinates; R = I
    assert np.allclose(one_bit_cosine(B), 1.0, atol=1e-12)


def _srht_is_its_definition() -> None:
    """SRHT and the fast transform behind it, against their dense definitions: fwht(x) = x H/√d on batches of any
    shape (input untouched), R = H D/√d with fair random signs, the subsampled R·√(d/m) with R Rᵀ = (d/m) I, and
    the sizes each refuses."""
    assert [k for k in range(-2, 70) if is_power_of_two(k)] == [1, 2, 4, 8, 16, 32, 64]
    rng = np.random.default_rng(5)
    for d in (1, 2, 8, 64):
        X = rng.standard_normal((3, 2, d))
        X0 = X.copy()
        np.testing.assert_allclose(fwht(X), X @ hadamard_matrix(d) / math.sqrt(d), atol=1e-12)
        assert np.array_equal(X, X0)
    for bad in (np.float64(1.0), np.ones(6), np.array([1.0, np.nan])):
        with pytest.raises(ValueError):
            fwht(bad)
    S = SRHT(64, 3)
    assert set(np.unique(S.signs)) == {-1.0, 1.0}  # both signs occur (all equal has probability 2⁻⁶³)
    X = rng.standard_normal((5, 64))
    np.testing.assert_allclose(S.apply(X), X @ S.matrix().T, atol=1e-12)
    assert is_orthogonal(S.matrix())
    for m in (1, 16, 63):
        P = SRHT(64, 3, m=m)
        assert P.rows is not None and len(P.rows) == m == len(set(P.rows.tolist()))
        assert np.all(np.diff(P.rows) > 0) and P.rows.min() >= 0 and P.rows.max() < 64
        np.testing.assert_allclose(P.apply(X), X @ P.matrix().T, atol=1e-12)
        np.testing.assert_allclose(P.matrix() @ P.matrix().T, (64 / m) * np.eye(m), atol=1e-10)
    assert SRHT(64, 3, m=64).rows is None
    for d, m in ((12, None), (0, None), (64, 0), (64, 65)):
        with pytest.raises(ValueError):
            SRHT(d, 3, m=m)


def _exact_srht_mean_cos(x: np.ndarray) -> float:
    """E over all 2^d sign vectors D of cos θ(H D x / √d) (exact enumeration)."""
    d = len(x)
    D = np.array(list(itertools.product([1.0, -1.0], repeat=d)))
    return float(np.mean(one_bit_cosine(fwht(D * x))))


@pytest.mark.claim("srht_achieves_isotropic_floor", role="corrects")
@given(hnp.arrays(np.float64, 8, elements=st.floats(-100, 100)).filter(lambda v: np.linalg.norm(v) > 1e-6))
def test_srht_expected_cosine_lies_in_szarek_interval(x):
    """What is true for SRHT: each coordinate of HDx/√d is a Rademacher sum with coefficient norm ‖x‖/√d, so by
    Szarek's sharp Khintchine inequality (E|Σaᵢεᵢ| ≥ ‖a‖/√2) E_D cos θ ∈ [1/√2, 1] for every x ≠ 0; both ends are
    attained (e₁ + e₂, e₁), so √(2/π) is neither a floor nor a ceiling per key."""
    m = _exact_srht_mean_cos(x)
    assert 1 / math.sqrt(2) - 1e-12 <= m <= 1 + 1e-12


@pytest.mark.claim("srht_achieves_isotropic_floor", role="corrects")
def test_srht_bounds_are_attained_and_typical_keys_sit_near_the_floor():
    _srht_is_its_definition()  # the transform every SRHT test here runs
    e = np.eye(8)
    assert _exact_srht_mean_cos(e[0]) == pytest.approx(1.0, abs=1e-12)
    assert _exact_srht_mean_cos(e[0] + e[1]) == pytest.approx(1 / math.sqrt(2), abs=1e-12)
    # delocalised (Gaussian) keys: SRHT behaves like a Haar rotation, E cos ≈ f(d) → √(2/π)
    rng = np.random.default_rng(11)
    d = 1024
    X = rng.standard_normal((64, d))
    c = np.concatenate([one_bit_cosine(SRHT(d, rng).apply(X)) for _ in range(4)])
    assert abs(float(c.mean()) - expected_haar_one_bit_cosine(d)) < 4.5 * float(c.std(ddof=1)) / math.sqrt(len(c)) + 1e-4


# ------------------------------------------------------------------ DC-mean centering


def _rotation_to_ones(x: np.ndarray) -> np.ndarray:
    """An orthogonal matrix mapping x/‖x‖ to 1/√d: a Householder reflection, built without cancellation
    (for u·t > 0 reflect u to −t and negate)."""
    d = len(x)
    u = x / np.linalg.norm(x)
    t = np.ones(d) / math.sqrt(d)
    if u @ t > 0:
        w = u + t
        w /= np.linalg.norm(w)
        return -(np.eye(d) - 2 * np.outer(w, w))
    w = u - t
    w /= np.linalg.norm(w)
    return np.eye(d) - 2 * np.outer(w, w)


@pytest.mark.claim("dc_centering_lifts_rotational_ceiling", role="vacuous")
@given(st.integers(2, 40).flatmap(lambda d: st.tuples(
    hnp.arrays(np.float64, d, elements=st.floats(-10, 10)), st.floats(-100, 100))))
def test_single_key_ceiling_is_one_on_both_sides(args):
    """For a single key, sup over O(d) of cos θ(Rx) = 1 for every x ≠ 0 (reflect x onto the all-ones direction),
    so sup_R cos θ(R, v) ≥ sup_R cos θ(R, μe + v) reads 1 ≥ 1."""
    v, mu = args
    for x in (v, mu * np.ones(len(v)) + v):
        if np.linalg.norm(x) < 1e-9:
            continue
        R = _rotation_to_ones(x)
        assert is_orthogonal(R, 1e-9)
        assert float(one_bit_cosine(R @ x)) == pytest.approx(1.0, abs=1e-9)


@pytest.mark.claim("l2Norm_uncentered_gt")
@given(st.lists(st.fractions(-50, 50, max_denominator=12), min_size=1, max_size=10),
       st.fractions(-20, 20, max_denominator=12).filter(lambda m: m != 0))
def test_adding_a_mean_offset_to_a_centered_vector_increases_its_norm(w, mu):
    """For v with Σvᵢ = 0 and μ ≠ 0: ‖μ·1 + v‖² = dμ² + ‖v‖² > ‖v‖² (exact rationals; v = w − mean(w)).
    (Cosines are scale invariant, so this norm inequality says nothing by itself about rotational ceilings.)"""
    d = len(w)
    m = sum(w) / d
    v = [x - m for x in w]
    assert sum(v) == 0
    lhs = sum((mu + x) ** 2 for x in v)
    assert lhs == d * mu * mu + sum(x * x for x in v)
    assert lhs > sum(x * x for x in v)


@pytest.mark.claim("l2Norm_uncentered_gt", role="lemma")
def test_norm_inequality_needs_the_centering_hypothesis():
    v = np.array([-1.0, -1.0, -1.0])  # not centered
    assert np.linalg.norm(1.0 * np.ones(3) + v) < np.linalg.norm(v)


def _g(theta: np.ndarray) -> np.ndarray:
    """1-bit cosine of the unit vector at angle θ in the plane."""
    return (np.abs(np.cos(theta)) + np.abs(np.sin(theta))) / math.sqrt(2)


@pytest.mark.claim("dc_centering_lifts_shared_rotation_ceiling", role="refutes")
def test_centering_lowers_the_shared_rotation_ceiling():
    """Calibration set in d = 2: kᵢ = m + ε·vᵢ with m = (1, 1), vᵢ at angles 0°, 120°, 240° (so the mean is m).
    Uncentered, R = I already gives mean cos ≥ 0.99. Centered, the keys are the vᵢ and every R ∈ O(2) (rotations,
    and reflections, which map the equilateral triple to a rotated one) gives mean cos ≤ 0.911 + grid margin:
    centering *lowers* the best achievable mean cosine. The same holds for the set's β read as the mean of cos²
    or as the pooled μ₁²/μ₂ (equal row norms: pooled β = (mean cos)²)."""
    eps = 0.05
    ang = np.deg2rad([0.0, 120.0, 240.0])
    V = np.stack([np.cos(ang), np.sin(ang)], axis=1)
    m = np.array([1.0, 1.0])
    K = m + eps * V
    assert np.allclose(K.mean(axis=0), m)
    uncentered_at_identity = mean_one_bit_cosine(K)
    assert uncentered_at_identity > 0.99

    n = 36_000
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    centered = (_g(t + ang[0]) + _g(t + ang[1]) + _g(t + ang[2])) / 3
    # |d/dθ g| ≤ sin 45° < 1, so the sup over all t is at most the grid max + half a grid step
    sup_centered = float(centered.max()) + (2 * np.pi / n) / 2
    assert sup_centered < 0.912
    # β of the set as the mean of cos² (|d/dθ g²| ≤ 2) and as the pooled moment ratio (= (mean cos)² here)
    centered_sq = (_g(t + ang[0]) ** 2 + _g(t + ang[1]) ** 2 + _g(t + ang[2]) ** 2) / 3
    sup_centered_sq = float(centered_sq.max()) + 2 * (2 * np.pi / n) / 2
    assert sup_centered_sq < 0.84 and pooled_moment_ratio(K) > 0.99 and float(np.mean(one_bit_cosine(K) ** 2)) > 0.98
    for tt in np.linspace(0, 2 * np.pi, 13):
        Rot = np.array([[np.cos(tt), -np.sin(tt)], [np.sin(tt), np.cos(tt)]])
        assert pooled_moment_ratio((K - K.mean(axis=0)) @ Rot.T) == pytest.approx(
            mean_one_bit_cosine((K - K.mean(axis=0)) @ Rot.T) ** 2, abs=1e-12)
    # cross-check the grid with the library on explicit rotations and reflections
    for tt in np.linspace(0, 2 * np.pi, 97):
        Rot = np.array([[np.cos(tt), -np.sin(tt)], [np.sin(tt), np.cos(tt)]])
        Ref = Rot @ np.diag([1.0, -1.0])
        for R in (Rot, Ref):
            assert mean_one_bit_cosine((K - K.mean(axis=0)) @ R.T) <= sup_centered + 1e-12
    assert uncentered_at_identity > sup_centered + 0.07


@pytest.mark.claim("dc_centering_lifts_shared_rotation_ceiling", role="lemma")
def test_centering_lowers_held_out_cosine_for_mean_dominated_keys():
    """The same effect in d = 16 with fitted rotations (fit on one split, evaluate on the other): keys = mean + small
    noise keep cos ≈ 0.95 uncentered, and drop to ≈ 0.8 once centered, even after the learned rotation."""
    rng = np.random.default_rng(3)
    K = 3.0 + rng.standard_normal((600, 16))
    unc = train_test_lift(K, center=False, iters=20, rng=1)
    cen = train_test_lift(K, center=True, iters=20, rng=1)
    assert unc["learned"] > cen["learned"] + 0.08


# ------------------------------------------------------------------ learned rotations


@given(st.integers(2, 12), st.integers(5, 60), seeds(), st.booleans())
def test_itq_alternation_never_decreases_the_mean_cosine(d, n, seed, center):
    rng = np.random.default_rng(seed)
    K = rng.standard_normal((n, d)) * rng.uniform(0.1, 3, d) + rng.standard_normal(d)
    rot = fit_l1_rotation(K, center=center, iters=8, rng=rng)
    h = np.array(rot.history)
    assert np.all(np.diff(h) >= -1e-12)
    assert is_orthogonal(rot.R, 1e-9)
    assert (rot.mean is not None) == center
    assert mean_one_bit_cosine(rot.apply(K)) == pytest.approx(h[-1], abs=1e-12)
    g = fit_l1_rotation_gradient(K, center=center, iters=5, rng=seed)
    assert np.all(np.diff(g.history) >= -1e-12) and is_orthogonal(g.R, 1e-8)


def test_learned_rotation_recovers_a_hidden_sign_lattice():
    """Keys that are exactly R₀·(sign vectors): a learned rotation reaches cos ≈ 1 on held-out keys."""
    rng = np.random.default_rng(5)
    d = 8
    R0 = haar_orthogonal(d, rng)
    B = np.where(rng.random((800, d)) < 0.5, -1.0, 1.0)
    K = B @ R0.T
    best = max(train_test_lift(K, center=False, iters=40, rng=s)["learned"] for s in range(4))
    assert best > 0.99
    assert mean_one_bit_cosine(K) < 0.95


def _fit_l1_rotation_plain(K, *, center, iters, rng, normalize_rows):
    """The ITQ alternation written out plainly, V̂Rᵀ recomputed for the codes and again for the history (as
    ``fit_l1_rotation`` first did): the library computes it once per iteration and must give the same bits."""
    K = np.asarray(K, dtype=np.float64)
    mean = K.mean(axis=0) if center else None
    V = K - mean if center else K
    if normalize_rows:
        n = np.linalg.norm(V, axis=-1, keepdims=True)
        V = V[n[:, 0] > 0] / n[n[:, 0] > 0]
    R = haar_orthogonal(K.shape[1], rng)
    hist = [mean_one_bit_cosine(V @ R.T)]
    for _ in range(iters):
        B = sgn(V @ R.T)
        U, _, Wt = np.linalg.svd(B.T @ V)
        R = U @ Wt
        hist.append(mean_one_bit_cosine(V @ R.T))
    return R, mean, hist


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("center", [False, True])
@pytest.mark.parametrize("normalize_rows", [True, False])
def test_fit_l1_rotation_is_bit_identical_to_the_plain_alternation(seed, center, normalize_rows):
    rng = np.random.default_rng(100 + seed)
    K = rng.standard_normal((70, 16)) * rng.uniform(0.1, 3, 16) + rng.standard_normal(16)
    K[3] = 0.0  # a zero row (dropped when rows are normalised)
    rot = fit_l1_rotation(K, center=center, iters=12, rng=seed, normalize_rows=normalize_rows)
    R, mean, hist = _fit_l1_rotation_plain(K, center=center, iters=12, rng=seed, normalize_rows=normalize_rows)
    assert np.array_equal(rot.R, R)
    assert rot.history == hist
    assert (rot.mean is None and mean is None) or np.array_equal(rot.mean, mean)

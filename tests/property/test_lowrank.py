"""Residual corrections (seed 003 §6, §9): β_eff, Ky Fan / Eckart–Young optimality of the SVD, top-k optimality,
streamed γ_r, bit costs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from qp_strategies import matrices, seeds

from quantproof.math.lowrank import (
    StreamedGram,
    best_k_sparse_bruteforce,
    beta_eff,
    eckart_young_error,
    gamma_r,
    gamma_r_of_basis,
    gamma_r_streamed,
    ky_fan_energy,
    one_bit_bits_per_coordinate,
    rank_r_bits_per_coordinate,
    rank_r_correct,
    recovered_energy_fraction,
    top_r_basis,
    topk_bits_per_coordinate,
    topk_energy_fraction,
    topk_sparsify,
    truncated_svd,
)
from quantproof.math.rotations import haar_orthogonal
from quantproof.math.sign_quant import energy_weighted_moment_ratio, one_bit_quantize, pooled_moment_ratio


def _nonzero_rows(K: np.ndarray) -> bool:
    return bool(np.all(np.linalg.norm(K, axis=1) > 1e-6))


@st.composite
def keys_and_rank(draw):
    K = draw(matrices(2, 14, 2, 10))
    assume(_nonzero_rows(K))
    r = draw(st.integers(0, K.shape[1]))
    return K, r


@pytest.mark.claim("beta_eff_formula")
@given(keys_and_rank(), seeds(), st.booleans())
def test_beta_eff_is_the_recovered_energy_fraction(Kr, seed, optimal):
    """With the LS 1-bit scale, β₁ᵦ the energy-weighted β and the correction an orthogonal projection of the residual
    onto an r-dim subspace V (optimal or not) capturing γ_r = ‖EV‖²/‖E‖²:
    1 − Σ‖k − k̃‖²/Σ‖k‖² = 1 − (1 − β₁ᵦ)(1 − γ_r)."""
    K, r = Kr
    E = K - one_bit_quantize(K)
    assume(np.sum(E * E) > 1e-9 * np.sum(K * K))
    V = top_r_basis(E, r) if optimal else haar_orthogonal(K.shape[1], seed)[:, :r]
    K_hat = rank_r_correct(K, V)
    lhs = recovered_energy_fraction(K, K_hat)
    b1 = energy_weighted_moment_ratio(K)
    g = gamma_r_of_basis(E, V)
    assert lhs == pytest.approx(beta_eff(b1, g), abs=1e-9)
    # the pooled-moment β (the project's default set-level β) is ≤ the energy-weighted one: a lower bound only
    assert pooled_moment_ratio(K) <= b1 + 1e-12
    assert beta_eff(pooled_moment_ratio(K), g) <= lhs + 1e-9


@pytest.mark.claim("beta_eff_formula", role="lemma")
def test_beta_eff_algebra():
    """A lemma: the algebra of the formula itself (true of any two numbers), not the claim that it is the recovered
    energy fraction."""
    b, g = sp.symbols("b g", real=True)
    e = 1 - (1 - b) * (1 - g)
    assert sp.expand(e - (b + g - b * g)) == 0
    # for β, γ ∈ [0, 1]: β_eff ≥ max(β, γ) and β_eff ≤ 1
    for bv in np.linspace(0, 1, 11):
        for gv in np.linspace(0, 1, 11):
            v = beta_eff(bv, gv)
            assert max(bv, gv) - 1e-15 <= v <= 1 + 1e-15
    # numbers in, a number out; arrays in, the formula element by element
    assert type(beta_eff(0.5, 0.25)) is float and beta_eff(0.5, 0.25) == 0.625
    np.testing.assert_allclose(beta_eff(np.array([0.5, 1.0, 0.0]), np.array([0.25, 0.0, 0.0])), [0.625, 1.0, 0.0])


@pytest.mark.claim("beta_eff_formula", role="lemma")
@given(keys_and_rank(), st.floats(0.2, 0.9))
def test_beta_eff_fails_for_a_scaled_correction(Kr, c):
    """Hypothesis (iii) matters: a correction c·P E with c ≠ 1 recovers 1 − (1−β)(1 − (2c − c²)γ), not β_eff."""
    K, r = Kr
    E = K - one_bit_quantize(K)
    V = top_r_basis(E, r)
    g = gamma_r_of_basis(E, V)
    assume(g > 1e-3 and np.sum(E * E) > 1e-6 * np.sum(K * K))
    lhs = recovered_energy_fraction(K, rank_r_correct(K, V, scale=c))
    b1 = energy_weighted_moment_ratio(K)
    assert lhs == pytest.approx(beta_eff(b1, (2 * c - c * c) * g), abs=1e-9)
    assert lhs < beta_eff(b1, g) - 1e-12


@pytest.mark.claim("svd_topk_maximizes_gammaR")
@given(matrices(1, 12, 1, 8), st.integers(0, 8), seeds())
def test_top_singular_subspace_maximises_gamma_r(E, r, seed):
    """Ky Fan: over all r-dim subspaces V, ‖EV‖²/‖E‖² is maximal at the top-r right singular vectors, where it is
    Σ_{i≤r}σᵢ²/Σσᵢ². Checked against random subspaces, coordinate subspaces and perturbations of the optimum."""
    d = E.shape[1]
    r = min(r, d)
    assume(np.sum(E * E) > 1e-9)
    V = top_r_basis(E, r)
    best = gamma_r_of_basis(E, V)
    assert best == pytest.approx(gamma_r(E, r), abs=1e-10)
    assert best * np.sum(E * E) == pytest.approx(ky_fan_energy(E, r), rel=1e-9, abs=1e-9)
    rng = np.random.default_rng(seed)
    for _ in range(20):
        W = haar_orthogonal(d, rng)[:, :r]
        assert gamma_r_of_basis(E, W) <= best + 1e-10
    for cols in rng.choice(d, size=(5, r), replace=True):
        W = np.eye(d)[:, sorted(set(cols))]
        assert gamma_r_of_basis(E, W) <= best + 1e-10
    if 0 < r < d:
        for scale in (1e-3, 1e-1):
            W, _ = np.linalg.qr(V + scale * rng.standard_normal(V.shape))
            assert gamma_r_of_basis(E, W) <= best + 1e-10
    # γ_r is a property of the subspace and of E's direction: the same where ‖E‖² underflows or overflows; a zero E
    # has none; a negative rank is refused
    for f in (2.0**-600, 2.0**600):
        assert gamma_r(E * f, r) == pytest.approx(best, abs=1e-10)
        assert gamma_r_of_basis(E * f, V) == pytest.approx(best, abs=1e-10)
    assert math.isnan(gamma_r(np.zeros_like(E), r)) and math.isnan(gamma_r_of_basis(np.zeros_like(E), V))
    assert math.isnan(gamma_r(E[:0], r))  # no rows: no energy
    with pytest.raises(ValueError):
        gamma_r(E, -1)


@pytest.mark.claim("residual_topk_eckart_young")
@given(matrices(1, 12, 1, 10), st.integers(0, 10), seeds())
def test_truncated_svd_is_the_best_rank_r_approximation(E, r, seed):
    """Eckart–Young: ‖E − E_r‖_F² = Σ_{i>r}σᵢ² ≤ ‖E − A‖_F² for every A of rank ≤ r."""
    r = min(r, min(E.shape))
    Er = truncated_svd(E, r)
    err = float(np.sum((E - Er) ** 2))
    assert err == pytest.approx(eckart_young_error(E, r), abs=1e-9 * (1 + float(np.sum(E * E))))
    assert np.linalg.matrix_rank(Er, tol=1e-9 * (1 + np.abs(E).max())) <= r
    rng = np.random.default_rng(seed)
    n, d = E.shape
    # the random row spaces below come from haar_orthogonal: an orthogonal matrix, the same for an int seed and
    # its Generator, built as Mezzadri's QR of the Gaussian matrix the seed draws with diag(R) > 0 (so Qᵀg = R)
    Q = haar_orthogonal(d, seed)
    assert np.array_equal(Q, haar_orthogonal(d, np.random.default_rng(seed)))
    np.testing.assert_allclose(Q @ Q.T, np.eye(d), atol=1e-12)
    R = Q.T @ np.random.default_rng(seed).standard_normal((d, d))
    assert np.allclose(np.tril(R, -1), 0.0, atol=1e-9) and np.all(np.diag(R) > 0)
    with pytest.raises(ValueError):
        haar_orthogonal(0, seed)
    for _ in range(15):
        # the best A with a given random row space W (A = E W Wᵀ) and a random rank-r product
        W = haar_orthogonal(d, rng)[:, :r]
        for A in (E @ W @ W.T, rng.standard_normal((n, r)) @ rng.standard_normal((r, d))):
            assert float(np.sum((E - A) ** 2)) >= err - 1e-9 * (1 + float(np.sum(E * E)))


@pytest.mark.claim("top_k_optimal")
@given(st.integers(1, 10).flatmap(lambda d: st.tuples(
    hnp.arrays(np.float64, d, elements=st.one_of(st.integers(-3, 3).map(float), st.floats(-100, 100))),
    st.integers(0, d))))
def test_top_k_by_magnitude_is_the_best_k_sparse_approximation(args):
    """Keeping the k largest |eᵢ| minimises ‖e − s‖₂ over all k-sparse s (brute force over all C(d, k) supports;
    ties in magnitude — frequent here — give equal errors)."""
    e, k = args
    s = topk_sparsify(e, k)
    assert np.count_nonzero(s) <= k
    err = float(np.sum((e - s) ** 2))
    best, _ = best_k_sparse_bruteforce(e, k)
    assert err == pytest.approx(best, abs=1e-9)
    tot = float(e @ e)
    if tot > 0:
        assert float(topk_energy_fraction(e, k)) == pytest.approx(1 - best / tot, abs=1e-12)
    # rows are independent: a batch gives row by row what single rows give; a zero row keeps nothing and has no
    # energy fraction; k must lie in 0..d
    E2 = np.stack([e, e[::-1], np.zeros_like(e)])
    S2 = topk_sparsify(E2, k)
    np.testing.assert_array_equal(S2[0], s)
    np.testing.assert_array_equal(S2[1], topk_sparsify(e[::-1], k))
    assert not S2[2].any()
    fr = topk_energy_fraction(E2, k)
    assert math.isnan(fr[2]) and (math.isnan(fr[0]) if tot == 0 else fr[0] == pytest.approx(1 - best / tot, abs=1e-12))
    for bad in (-1, len(e) + 1):
        with pytest.raises(ValueError):
            topk_sparsify(e, bad)


@given(matrices(1, 30, 1, 9), st.integers(0, 9), st.lists(st.integers(1, 7), min_size=1, max_size=10))
def test_streamed_gamma_r_equals_exact(E, r, sizes):
    assume(np.sum(E * E) > 1e-9)
    r = min(r, E.shape[1])
    cuts = np.cumsum(sizes)
    chunks = [c for c in np.split(E, cuts[cuts < len(E)]) if len(c)]
    assert gamma_r_streamed(iter(chunks), r) == pytest.approx(gamma_r(E, r), abs=1e-10)
    acc = StreamedGram(E.shape[1])
    for c in chunks:
        acc.add(c)
    assert acc.rows == len(E)
    V = acc.top_r_basis(r)
    assert gamma_r_of_basis(E, V) == pytest.approx(gamma_r(E, r), abs=1e-8)


def test_streamed_gram_runs_one_eigh_per_state_of_the_gram(monkeypatch):
    """γ_r for many r and the top-r basis cost one eigh; adding rows (or editing G in place) recomputes it; the
    values are those of an accumulator that never cached."""
    calls = []
    real_eigh = np.linalg.eigh

    def counting_eigh(a, *args, **kwargs):
        calls.append(a.shape)
        return real_eigh(a, *args, **kwargs)

    rng = np.random.default_rng(7)
    E = rng.standard_normal((40, 6)) * rng.uniform(0.1, 2.0, 6)

    def fresh(*chunks):  # before the counter is installed: new accumulators, the same chunks, nothing reused
        def acc():
            a = StreamedGram(6)
            for c in chunks:
                a.add(c)
            return a
        return [acc().gamma_r(r) for r in range(7)], acc().top_r_basis(3)

    want_head, basis_head = fresh(E[:10], E[10:25])
    want_all, basis_all = fresh(E[:10], E[10:25], E[25:])
    monkeypatch.setattr(np.linalg, "eigh", counting_eigh)
    acc = StreamedGram(6)
    acc.add(E[:10])
    acc.add(E[10:25])
    assert [acc.gamma_r(r) for r in range(7)] == want_head
    b = acc.top_r_basis(3)
    assert np.array_equal(b, basis_head) and len(calls) == 1
    b[:] = 0.0  # the caller's copy: the cache is untouched
    w, U = acc.eigh()
    w[:] = 0.0
    assert [acc.gamma_r(r) for r in range(7)] == want_head and np.array_equal(acc.top_r_basis(3), basis_head)
    assert len(calls) == 1
    acc.add(E[25:])
    assert [acc.gamma_r(r) for r in range(7)] == want_all and np.array_equal(acc.top_r_basis(3), basis_all)
    assert len(calls) == 2
    acc.G *= 4.0  # edited in place: the cached decomposition no longer belongs to G
    assert acc.gamma_r(2) == pytest.approx(want_all[2], abs=1e-12) and len(calls) == 3


def test_bit_costs():
    assert one_bit_bits_per_coordinate(128) == pytest.approx(1 + 16 / 128)
    d = 128
    k = d // 8
    assert topk_bits_per_coordinate(d, k) == pytest.approx((16 * 16 + 16 * 7) / 128)
    assert topk_bits_per_coordinate(d, k, index="bitmap") == pytest.approx((16 * 16 + 128) / 128)
    assert topk_bits_per_coordinate(d, k, index="combinatorial") == pytest.approx(
        (16 * 16 + math.log2(math.comb(128, 16))) / 128)
    assert topk_bits_per_coordinate(d, k, index="combinatorial") < topk_bits_per_coordinate(d, k)
    assert rank_r_bits_per_coordinate(128, 8, 10**6) == pytest.approx((8 * 16 + 8 * 128 * 16 / 1e6) / 128)
    assert topk_bits_per_coordinate(d, 0) == 0

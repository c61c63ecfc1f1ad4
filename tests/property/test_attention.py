"""Attention scores under a shared orthogonal rotation (seed 003 §7), RoPE, and seed 001's frozen Leech kernel."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from qp_strategies import seeds

from quantproof.math.attention import (
    commutes_with_rope,
    leech_attention,
    leech_kernel,
    paley_hadamard_24,
    rope,
    rope_commuting_rotation,
    rope_matrix,
    rope_then_rotate,
    rotate_then_rope,
    scores,
    softmax_attention,
)
from quantproof.math.rotations import haar_orthogonal, is_orthogonal


def _qkv(seed: int, n: int, m: int, d: int, scale: float = 1.0):
    rng = np.random.default_rng(seed)
    return (scale * rng.standard_normal((n, d)), scale * rng.standard_normal((m, d)), rng.standard_normal((m, d)))


@pytest.mark.claim("attention_score_gauge_invariance")
@given(seeds(), st.integers(1, 12), st.integers(1, 12), st.integers(1, 48), st.sampled_from([1e-3, 1.0, 30.0]),
       st.booleans())
def test_shared_orthogonal_rotation_leaves_scores_unchanged(seed, n, m, d, scale, causal):
    """(Q Rᵀ)(K Rᵀ)ᵀ = Q Rᵀ R Kᵀ = Q Kᵀ for every orthogonal R (Haar, incl. reflections); hence softmax attention
    outputs are unchanged too."""
    Q, K, V = _qkv(seed, n, m, d, scale)
    R = haar_orthogonal(d, seed + 1)
    S0, S1 = scores(Q, K), scores(Q @ R.T, K @ R.T)
    assert np.allclose(S0, S1, atol=1e-10 * (1 + np.abs(S0).max()))
    m_ = min(n, m)
    A0 = softmax_attention(Q[:m_], K[:m_], V[:m_], causal=causal)
    A1 = softmax_attention(Q[:m_] @ R.T, K[:m_] @ R.T, V[:m_], causal=causal)
    assert np.allclose(A0, A1, atol=1e-9)
    # what is invariant is the attention itself: the scores are Q Kᵀ/√d (heads broadcast), the outputs are the
    # row softmax of the scores, causally masked (query i of the last n sees keys j ≤ i + m − n), times V
    tol = 1e-12 * (1 + np.abs(S0).max())
    np.testing.assert_allclose(S0, Q @ K.T / np.sqrt(d), rtol=1e-12, atol=tol)
    np.testing.assert_allclose(scores(np.stack([Q, 2 * Q]), np.stack([K, -K])), np.stack([S0, -2 * S0]),
                               rtol=1e-12, atol=2 * tol)
    for q_rows, out in ((Q[:m_], A0), (Q[-m_:], softmax_attention(Q[-m_:], K, V, causal=causal))):
        S = scores(q_rows, K if out is not A0 else K[:m_])
        nq, nk = S.shape
        if causal:
            S = np.where(np.arange(nk)[None, :] > np.arange(nq)[:, None] + (nk - nq), -np.inf, S)
        P = np.exp(S - S.max(axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        np.testing.assert_allclose(out, P @ (V if out is not A0 else V[:m_]), rtol=1e-9, atol=1e-12)


@pytest.mark.claim("attention_score_gauge_invariance", role="lemma")
def test_a_non_orthogonal_or_one_sided_rotation_changes_scores():
    """The invariance check can come out the other way: a rotation of one side only, or a non-orthogonal map of
    both sides, changes the scores."""
    Q, K, _ = _qkv(0, 6, 6, 8)
    R = haar_orthogonal(8, 1)
    assert not np.allclose(scores(Q @ R.T, K), scores(Q, K))
    A = R * np.linspace(0.5, 2, 8)  # not orthogonal
    assert not np.allclose(scores(Q @ A.T, K @ A.T), scores(Q, K))


@given(seeds(), st.integers(1, 16).map(lambda h: 2 * h), st.sampled_from(["interleaved", "half"]))
def test_rope_is_a_position_rotation_with_relative_scores(seed, d, pairing):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((5, d))
    pos = rng.integers(0, 5000, 5)
    Y = rope(X, pos, pairing=pairing)
    for i in range(5):
        P = rope_matrix(float(pos[i]), d, pairing=pairing)
        assert is_orthogonal(P)
        assert np.allclose(Y[i], P @ X[i])
    # q at m, k at n: the score depends on n − m only
    q, k = rng.standard_normal((1, d)), rng.standard_normal((1, d))
    s1 = scores(rope(q, [3], pairing=pairing), rope(k, [10], pairing=pairing))
    s2 = scores(rope(q, [103], pairing=pairing), rope(k, [110], pairing=pairing))
    assert np.allclose(s1, s2)


@pytest.mark.claim("gauge_invariance_free_at_deploy", role="refutes")
@given(seeds(), st.sampled_from([8, 16, 64]), st.sampled_from(["interleaved", "half"]))
def test_rotation_folded_before_rope_changes_scores(seed, d, pairing):
    """Folding R into W_q, W_k acts before RoPE: scores become qᵀRᵀP_{n−m}Rk, not qᵀP_{n−m}k, for a general R."""
    Q, K, _ = _qkv(seed, 8, 8, d)
    pos = np.arange(8)
    R = haar_orthogonal(d, seed + 7)
    base = scores(rope(Q, pos, pairing=pairing), rope(K, pos, pairing=pairing))
    folded = scores(rotate_then_rope(Q, R, pos, pairing=pairing), rotate_then_rope(K, R, pos, pairing=pairing))
    assert np.max(np.abs(folded - base)) > 1e-3
    assert not commutes_with_rope(R, pairing=pairing)


@pytest.mark.claim("gauge_invariance_free_at_deploy", role="corrects")
@given(seeds(), st.sampled_from([8, 16, 64]), st.sampled_from(["interleaved", "half"]))
def test_rotation_is_free_after_rope_or_inside_ropes_commutant(seed, d, pairing):
    """What holds: (a) R applied to post-RoPE q and k leaves scores unchanged (a run-time d×d rotation, not free);
    (b) R folded before RoPE leaves them unchanged when R commutes with every P_m — e.g. a 2×2 rotation on each RoPE
    plane."""
    Q, K, _ = _qkv(seed, 8, 8, d)
    pos = np.arange(8)
    base = scores(rope(Q, pos, pairing=pairing), rope(K, pos, pairing=pairing))
    R = haar_orthogonal(d, seed + 7)
    post = scores(rope_then_rotate(Q, R, pos, pairing=pairing), rope_then_rotate(K, R, pos, pairing=pairing))
    assert np.allclose(post, base, atol=1e-10)
    C = rope_commuting_rotation(d, seed + 3, pairing=pairing)
    assert is_orthogonal(C) and commutes_with_rope(C, pairing=pairing)
    folded = scores(rotate_then_rope(Q, C, pos, pairing=pairing), rotate_then_rope(K, C, pos, pairing=pairing))
    assert np.allclose(folded, base, atol=1e-10)


@pytest.mark.claim("gauge_invariance_free_at_deploy", role="corrects")
def test_models_without_rope_fold_freely():
    """Without RoPE (absolute/learned positions added before W_q, W_k) folding R into both weights is exact."""
    rng = np.random.default_rng(2)
    X = rng.standard_normal((7, 12))
    Wq, Wk = rng.standard_normal((12, 12)), rng.standard_normal((12, 12))
    R = haar_orthogonal(12, 4)
    assert np.allclose(scores(X @ (R @ Wq).T, X @ (R @ Wk).T), scores(X @ Wq.T, X @ Wk.T))


def test_paley_hadamard_and_leech_kernel():
    H = paley_hadamard_24()
    assert set(np.unique(H)) == {-1.0, 1.0}
    assert np.allclose(H @ H.T, 24 * np.eye(24))
    for kind in ("paley", "haar"):
        B = leech_kernel(72, kind=kind, rng=0)
        assert is_orthogonal(B)
        assert np.count_nonzero(B) == 3 * 24 * 24 or kind == "haar"
        assert np.allclose(B[:24, 24:], 0) and np.allclose(B[24:48, 48:], 0)
    with pytest.raises(ValueError):
        leech_kernel(64)


@given(seeds(), st.integers(1, 4), st.booleans())
def test_leech_attention_equals_plain_attention(seed, blocks, causal):
    """Seed 001's frozen orthogonal kernel applied to both Q and K changes no score (gauge invariance): the "Leech"
    attention computes exactly ordinary softmax attention."""
    d = 24 * blocks
    Q, K, V = _qkv(seed, 9, 9, d)
    for kind in ("paley", "haar"):
        B = leech_kernel(d, kind=kind, rng=seed)
        assert np.allclose(leech_attention(Q, K, V, B, causal=causal), softmax_attention(Q, K, V, causal=causal),
                           atol=1e-10)


@pytest.mark.claim("gauge_invariance_free_at_deploy", role="lemma")
def test_rope_scores_and_rotations_match_their_definitions():
    """The helpers the claim's tests run, against their definitions: scores = Q Kᵀ/√d (batched), RoPE angles
    m·base^(−2i/d) by hand, P_m's 2×2 blocks, the commutation check at its tolerance, the commutant rotation's
    uniform plane angles, Haar orthogonal matrices as G = Q R with diag(R) > 0, and is_orthogonal's edges."""
    from scipy import stats

    # scores: one hand value, an explicit scale, and a batch whose sequence length differs from d
    np.testing.assert_allclose(scores([[1.0, 2.0, 0.0, 0.0]], [[3.0, 1.0, 0.0, 0.0]]), [[2.5]], rtol=1e-15)
    rng = np.random.default_rng(11)
    Q, K = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4))
    np.testing.assert_allclose(scores(Q, K), np.einsum("hqd,hkd->hqk", Q, K) / 2.0, rtol=1e-13)
    np.testing.assert_allclose(scores(Q, K, scale=0.25), np.einsum("hqd,hkd->hqk", Q, K) * 0.25, rtol=1e-13)
    # RoPE angles for d = 4, base 10000: θ = (1, 10000^(−1/2)) = (1, 0.01)
    from quantproof.math.attention import rope_angles
    np.testing.assert_allclose(rope_angles([0, 1, 2], 4), [[0, 0], [1, 0.01], [2, 0.02]], rtol=1e-14, atol=0)
    with pytest.raises(ValueError):
        rope_angles([0], 3)
    c1, s1, c2, s2 = np.cos(1.0), np.sin(1.0), np.cos(0.01), np.sin(0.01)
    P = rope_matrix(1.0, 4)
    np.testing.assert_allclose(P, [[c1, -s1, 0, 0], [s1, c1, 0, 0], [0, 0, c2, -s2], [0, 0, s2, c2]], rtol=1e-14)
    np.testing.assert_allclose(rope_matrix(1.0, 4, pairing="half"),
                               [[c1, 0, -s1, 0], [0, c2, 0, -s2], [s1, 0, c1, 0], [0, s2, 0, c2]], rtol=1e-14)
    # rope on heads × sequence × d equals P_m applied row by row
    X = rng.standard_normal((2, 3, 4))
    Y = rope(X, [0, 1, 5])
    for h in range(2):
        for i, m in enumerate((0, 1, 5)):
            np.testing.assert_allclose(Y[h, i], rope_matrix(float(m), 4) @ X[h, i], rtol=1e-12, atol=1e-15)
    # commutes_with_rope decides max over its default positions of |R P_m − P_m R| against tol (≤ tol commutes)
    R = haar_orthogonal(4, 5)
    gap = max(np.max(np.abs(R @ rope_matrix(float(m), 4) - rope_matrix(float(m), 4) @ R))
              for m in (1, 2, 3, 7, 100, 1000))
    assert commutes_with_rope(R, tol=gap) and not commutes_with_rope(R, tol=gap * (1 - 1e-6))
    # the commutant rotation: one 2×2 rotation per plane, angles uniform on [0, 2π)
    phis = []
    for seed in range(40):
        C = rope_commuting_rotation(64, seed)
        assert commutes_with_rope(C) and is_orthogonal(C)
        phis.append(np.arctan2(C[1::2, 0::2].diagonal(), C[0::2, 0::2].diagonal()) % (2 * np.pi))
    assert stats.kstest(np.concatenate(phis), stats.uniform(0, 2 * np.pi).cdf).pvalue > 1e-4
    # Haar orthogonal: G = Q R with the signs of diag(R) made positive (Mezzadri), sizes from 1 up, d < 1 refused
    for d in (1, 2, 7):
        H = haar_orthogonal(d, 3)
        Rf = H.T @ np.random.default_rng(3).standard_normal((d, d))
        assert np.all(np.diag(Rf) > 0) and np.allclose(np.tril(Rf, -1), 0, atol=1e-12) and is_orthogonal(H)
    with pytest.raises(ValueError):
        haar_orthogonal(0)
    # is_orthogonal: non-square (even with orthonormal rows) is not; the tolerance bound is inclusive and tight
    assert not is_orthogonal(np.eye(3)[:2]) and not is_orthogonal(np.eye(3)[:, :2])
    assert is_orthogonal(np.eye(3), tol=0.0) and not is_orthogonal(1.2 * np.eye(3))

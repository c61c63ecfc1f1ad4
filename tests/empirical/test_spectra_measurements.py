"""The plumbing of seed 004's spectral measurements on synthetic data: grouped moments and their leave-one-out
matrices, document blocks, the PR jackknife, the bootstrap of per-token errors, and the planted / Gaussian controls
of the reconstruction measurement (issue 13)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quantproof.math.spectra import participation_ratio, participation_ratio_of_moment
from quantproof.measurements import _empirical as E
from quantproof.measurements.spectra import _errors, _pr_jackknife, _weighted_medians


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(2, 7), st.booleans(), st.booleans())
def test_group_moments_leave_one_out_equals_the_direct_matrix(seed, n_groups, center, standardize):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((60, 5)) * rng.uniform(0.1, 10, 5) + rng.standard_normal(5)
    groups = np.array_split(rng.permutation(60), n_groups)
    gm = E.GroupMoments.of(X, groups)
    for drop in [None, 0, n_groups - 1]:
        keep = np.ones(60, bool)
        if drop is not None:
            keep[groups[drop]] = False
        Y = X[keep]
        if center or standardize:
            M = np.cov(Y, rowvar=False, bias=True)
        else:
            M = Y.T @ Y / len(Y)
        if standardize:
            sd = np.sqrt(np.diag(M))
            M = M / np.outer(sd, sd)
        np.testing.assert_allclose(gm.matrix(center=center, standardize=standardize, drop=drop), M, atol=1e-10)


def test_doc_blocks_keep_documents_whole():
    docs = np.repeat(np.arange(10), 7)
    blocks = E.doc_blocks(docs, 4)
    assert len(blocks) == 4
    assert sorted(np.concatenate(blocks).tolist()) == list(range(70))
    for b in blocks:
        for d in np.unique(docs[b]):
            assert set(np.flatnonzero(docs == d)) <= set(b.tolist())
    with pytest.raises(ValueError):
        E.doc_blocks(np.zeros(5, int), 3)


def test_pr_jackknife_point_estimate_is_the_participation_ratio():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((400, 12)) @ np.diag(np.linspace(0.2, 4, 12))
    groups = np.array_split(np.arange(400), 8)
    v, lo, hi = _pr_jackknife(X, groups, "centered")
    assert v == pytest.approx(participation_ratio(np.linalg.eigvalsh(np.cov(X, rowvar=False, bias=True))))
    assert lo < v < hi
    assert participation_ratio_of_moment(np.eye(12)) == pytest.approx(12)


def test_weighted_median_with_unit_weights_is_the_median():
    rng = np.random.default_rng(2)
    v = rng.random(101)
    groups = np.arange(101) % 5
    W = np.ones((3, 5))
    assert np.allclose(_weighted_medians(v, groups, W), np.median(v))
    W0 = np.zeros((1, 5))
    W0[0, 2] = 1
    assert _weighted_medians(v, groups, W0)[0] in v[groups == 2]


def test_token_error_ratio_separates_a_massive_token_from_isotropic_states():
    """The refutation's statistic: with one huge 'first token' per document, the text's Frobenius error is small and
    a typical token's error is many times larger; on isotropic Gaussian states (the control) the two are equal."""
    rng = np.random.default_rng(3)
    d, n_docs, T = 32, 12, 40
    pos = np.tile(np.arange(T), n_docs)
    groups = [np.arange(i * T, (i + 1) * T) for i in range(n_docs)]
    W = E.multinomial_weights(rng, n_docs, 50)

    def states():
        X = rng.standard_normal((n_docs * T, d))
        X[pos == 0, 3] += 1000.0
        return X

    real = _errors(states(), states(), 2, True, groups, pos, W, 8)
    assert real["rel_err"][0] < 0.1 and real["token_err_ratio"][0] > 5 and real["no_first_err_ratio"][0] > 5
    gauss = _errors(rng.standard_normal((n_docs * T, d)), rng.standard_normal((n_docs * T, d)), 2, True, groups,
                    pos, W, 8)
    assert abs(gauss["token_err_ratio"][0] - 1) < 0.1 and abs(gauss["no_first_err_ratio"][0] - 1) < 0.1

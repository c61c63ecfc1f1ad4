"""Seed 001 subjects: the frozen "Leech" kernel on Q and K, BPE characters per token, the bpc conversion."""

from __future__ import annotations

import math
import string

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quantproof.math.attention import scores
from quantproof.math.rotations import haar_orthogonal
from quantproof.subjects.bpc import LN2, bpc_from_loss, merges_of, token_counts, train_bpe
from quantproof.subjects.leech import block_diag_kernel, score_invariance

FAST = settings(max_examples=25, deadline=None, derandomize=True, database=None)


@FAST
@given(st.integers(0, 2**32 - 1), st.sampled_from([24, 48, 64, 72]), st.booleans())
@pytest.mark.claim("s001_leech_geometric_attention", role="lemma")
def test_frozen_orthogonal_kernel_leaves_every_score_unchanged(seed, head_dim, haar):
    """For a block-diagonal orthogonal kernel R (24×24 blocks; Paley-Hadamard or Haar), (qR)(kR)ᵀ = q kᵀ for all
    queries and keys: the "geometric" attention computes the same scores as plain attention. An identity (it holds
    for every input by construction), so a lemma: it checks our kernel and score code, the measurements decide."""
    g = np.random.default_rng(seed)
    block = haar_orthogonal(24, g) if haar else None
    R = block_diag_kernel(head_dim, block)
    assert np.allclose(R @ R.T, np.eye(head_dim), atol=1e-12)
    q = g.standard_normal((9, head_dim)) * g.uniform(0.1, 30)
    k = g.standard_normal((11, head_dim)) * g.uniform(0.1, 30)
    s = score_invariance(q, k, R)
    assert s["rel_fp64"] < 1e-12


@FAST
@given(st.integers(0, 2**32 - 1))
@pytest.mark.claim("s001_leech_geometric_attention", role="lemma")
def test_fixed_invertible_kernel_is_absorbed_by_learned_projections(seed):
    """Even a non-orthogonal fixed invertible M adds nothing a model could not already express: the scores
    (x W_q M)(x W_k M)ᵀ equal those of a kernel-free model with W_q' = W_q M Mᵀ (associativity: a lemma)."""
    g = np.random.default_rng(seed)
    d, hd = 32, 24
    X = g.standard_normal((7, d))
    Wq, Wk = g.standard_normal((d, hd)), g.standard_normal((d, hd))
    M = g.standard_normal((hd, hd)) + 3 * np.eye(hd)
    assert abs(np.linalg.det(M)) > 1e-6
    with_kernel = scores(X @ Wq @ M, X @ Wk @ M, scale=1.0)
    absorbed = scores(X @ (Wq @ M @ M.T), X @ Wk, scale=1.0)
    assert np.allclose(with_kernel, absorbed, rtol=1e-9, atol=1e-9 * np.abs(with_kernel).max())


def test_tiny_transformer_trains_identically_with_the_frozen_kernel():
    """Training from the same seed on the same batches with and without the frozen orthogonal kernel gives the same
    loss curve and logits up to float32 rounding (a fixed non-orthogonal kernel does not)."""
    pytest.importorskip("torch")
    from quantproof.subjects.leech import train_pair

    g = np.random.default_rng(0)
    data = g.integers(0, 64, 4000)
    data[1::2] = (data[::2] * 7 + 3) % 64                 # learnable structure
    R = block_diag_kernel(24)
    M = R * np.linspace(0.5, 2.0, 24)[None, :]
    o = train_pair(data, R, steps=12, batch=4, ctx_len=32, d_model=48, n_heads=2, n_layers=1,
                   second_kernel=M)
    assert o["initial_loss"] - o["final_loss"] > 0.1
    assert o["max_abs_loss_diff"] < 1e-4
    assert o["max_abs_logit_diff"] < 1e-4 * max(1.0, o["logit_scale"])
    assert o["max_abs_loss_diff_second"] > 1e-4


_words = st.lists(st.text(alphabet=string.ascii_lowercase[:6], min_size=1, max_size=7), min_size=30, max_size=120)


@settings(max_examples=15, deadline=None, derandomize=True, database=None)
@given(_words, st.integers(0, 2**32 - 1))
@pytest.mark.claim("s001_token_length_by_vocab", role="lemma")
def test_larger_bpe_vocabulary_never_gives_shorter_tokens_on_the_same_corpus(words, seed):
    """Two BPE tokenizers trained by the same trainer on the same corpus: the smaller one's merges are a prefix of
    the larger one's, so the larger one never produces more tokens on any text (chars/token can only grow with the
    vocabulary); the seed's 4.5 chars/token at 2048 vs 3.5 at 10k cannot be two vocabularies on one corpus. True of
    every corpus by the construction of BPE, so a lemma (it removes support, it refutes nothing)."""
    g = np.random.default_rng(seed)
    corpus = [" ".join(g.choice(words, size=12)) for _ in range(60)]
    small = train_bpe(corpus, 300, min_frequency=1)
    large = train_bpe(corpus, 400, min_frequency=1)
    ms, ml = merges_of(small), merges_of(large)
    assert ml[: len(ms)] == ms
    held = [" ".join(g.choice(words, size=9)) for _ in range(10)]
    assert np.all(token_counts(large, held) <= token_counts(small, held))


@FAST
@given(st.lists(st.tuples(st.floats(0.01, 8.0), st.integers(1, 500), st.integers(1, 4000)), min_size=1, max_size=20))
@pytest.mark.claim("s001_bpc_formula", role="lemma")
def test_bpc_is_loss_over_ln2_times_chars_per_token_on_the_same_text(docs):
    """Σ bits / Σ characters = (mean nats per token) / (ln 2 · mean characters per token) when both means are
    pooled over the same scored text: the seed's conversion formula, valid for measured, same-text quantities.
    ((a/b)/(c/b) = a/c holds by construction: a lemma that checks bpc_from_loss, never decisive.)"""
    nats = np.array([d[0] * d[1] for d in docs])          # per-document total NLL
    toks = np.array([d[1] for d in docs], dtype=float)
    chars = np.array([d[2] for d in docs], dtype=float)
    direct = (nats.sum() / LN2) / chars.sum()
    via = bpc_from_loss(nats.sum() / toks.sum(), chars.sum() / toks.sum())
    assert math.isclose(direct, via, rel_tol=1e-12)


@settings(max_examples=10, deadline=None, derandomize=True, database=None)
@given(st.sampled_from([3.5, 4.5, 5.25]), st.integers(0, 2**32 - 1))
def test_planted_corpus_gives_the_planted_characters_per_token(target, seed):
    """The should-hold control of s001_token_length_by_vocab: on a planted corpus of whole words whose mean length
    plus the space is ``target``, a trained byte-level BPE averages ``target`` characters per token (within 2 %)."""
    from quantproof.subjects.bpc import planted_corpus

    g = np.random.default_rng(seed)
    docs = planted_corpus(target, 100, g)
    tok = train_bpe(docs[:60], 2048)
    held = docs[60:]
    cpt = sum(len(t) for t in held) / token_counts(tok, held).sum()
    assert abs(cpt / target - 1) < 0.02


def test_ratio_of_ratios_of_identical_samples_is_one_and_detects_a_shift():
    from quantproof.subjects.bpc import ratio_of_ratios

    g = np.random.default_rng(0)
    chars = g.integers(500, 5000, 60).astype(float)
    toks = chars / g.normal(3.0, 0.1, 60)
    same = ratio_of_ratios(chars[:30], toks[:30], chars[30:], toks[30:], g)
    assert same.lo < 1.0 < same.hi
    shifted = ratio_of_ratios(chars[:30], toks[:30] / 1.2, chars[30:], toks[30:], g)
    assert shifted.lo > 1.1

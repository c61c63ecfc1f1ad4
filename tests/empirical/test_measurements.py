"""Empirical measurements (kcache, spectra): their logic on synthetic data, a small real-model smoke run, and
(slow) the default real-model runs behind the seed 003/004 empirical claims."""

from __future__ import annotations

import math

import numpy as np
import pytest

from quantproof.evidence.measurement import Context, registry
from quantproof.measurements import _empirical as E
from quantproof.measurements import _kcache_data as D
from quantproof.measurements import kcache_attention as A
from quantproof.measurements import kcache_ffn as F


# ------------------------------------------------------------------------------------------------ pure logic

def test_moment_stats_match_pooled_beta_and_bootstrap_is_centered():
    from quantproof.math.sign_quant import pooled_moment_ratio

    rng = np.random.default_rng(0)
    Y = rng.laplace(size=(300, 16))
    groups = np.array_split(np.arange(300), 30)
    st = E.MomentStats.of(Y, groups)
    assert st.beta() == pytest.approx(pooled_moment_ratio(Y), rel=1e-12)
    W = E.multinomial_weights(rng, len(groups), 400)
    assert W.shape == (400, 30) and np.all(W.sum(1) == 30)
    lo, hi = E.percentile_ci(st.beta(W))
    assert lo < st.beta() < hi and hi - lo < 0.1


def test_jackknife_interval_of_a_mean_matches_the_standard_error():
    rng = np.random.default_rng(1)
    x = rng.normal(size=200)
    loo = [np.delete(x, i).mean() for i in range(len(x))]
    lo, hi = E.jackknife_ci(float(x.mean()), loo)
    se = x.std(ddof=1) / math.sqrt(len(x))
    assert (hi - lo) / 2 == pytest.approx(1.959964 * se, rel=1e-6)


def test_spectrum_matches_math_covariance_spectrum():
    from quantproof.math.spectra import covariance_spectrum

    X = np.random.default_rng(2).normal(size=(120, 10)) @ np.diag(np.arange(1, 11.0)) + 3.0
    for center in (True, False):
        np.testing.assert_allclose(E.spectrum(X, center), covariance_spectrum(X, center=center), rtol=1e-9,
                                   atol=1e-9)


@pytest.mark.parametrize("name", ["none", "haar", "srht", "centered", "learned", "learned_centered"])
def test_transforms_are_affine_isometries_up_to_the_mean(name):
    rng = np.random.default_rng(3)
    Xc = rng.normal(size=(256, 16)) + 2.0
    Xh = rng.normal(size=(64, 16)) + 2.0
    T, _ = D.fit_transform(name, Xc, rng, iters=5)
    # differences of vectors keep their lengths (the transform is x ↦ (x − μ)Rᵀ with R orthogonal)
    diffs = Xh[1:] - Xh[:-1]
    TD = T(Xh)[1:] - T(Xh)[:-1]
    np.testing.assert_allclose(np.linalg.norm(TD, axis=1), np.linalg.norm(diffs, axis=1), rtol=1e-9)
    if name in ("centered", "learned_centered"):
        assert np.abs(T(Xc).mean(0)).max() < 1e-9


def test_learned_rotation_on_gaussian_overfits_in_sample_only():
    """The null the empirical claims rely on: at rows/cols = 1 a fitted rotation lifts β of its own Gaussian rows
    far above 2/π but not of fresh rows."""
    rng = np.random.default_rng(4)
    d = 32
    G = rng.standard_normal((d, d))
    T, _ = D.fit_transform("learned", G, rng, iters=30)
    assert D.beta(T(G)) > 2 / math.pi + 0.1
    assert abs(D.beta(T(rng.standard_normal((20 * d, d)))) - 2 / math.pi) < 0.02


def test_rope_matches_transformers_llama_and_commuting_rotation_folds():
    torch = pytest.importorskip("torch")
    from transformers.models.llama.modeling_llama import apply_rotary_pos_emb

    rng = np.random.default_rng(5)
    d, T = 16, 12
    pos = np.arange(T)
    X = rng.normal(size=(T, d))
    inv = 1.0 / (1e4 ** (torch.arange(0, d, 2, dtype=torch.float64) / d))
    emb = torch.cat([torch.outer(torch.arange(T, dtype=torch.float64), inv)] * 2, dim=-1)
    x = torch.from_numpy(X)[None, None]
    hf, _ = apply_rotary_pos_emb(x, x, emb.cos()[None], emb.sin()[None])
    np.testing.assert_allclose(A._rope_half(X, pos, 1e4), hf[0, 0].numpy(), atol=1e-12)
    Q = rng.normal(size=(T, d))
    S = A._rope_half(Q, pos, 1e4) @ A._rope_half(X, pos, 1e4).T
    C = A._rope_commuting(d, rng)
    Sc = A._rope_half(Q @ C.T, pos, 1e4) @ A._rope_half(X @ C.T, pos, 1e4).T
    np.testing.assert_allclose(Sc, S, atol=1e-10)
    from quantproof.math.rotations import haar_orthogonal

    R = haar_orthogonal(d, rng)
    Sf = A._rope_half(Q @ R.T, pos, 1e4) @ A._rope_half(X @ R.T, pos, 1e4).T
    assert np.abs(Sf - S).max() > 1e-3


def test_decode_inverts_the_fitted_affine_transform():
    rng = np.random.default_rng(6)
    Xc = rng.normal(size=(200, 8)) + 1.0
    for name in ("haar", "learned_centered"):
        T, _ = D.fit_transform(name, Xc, rng, iters=5)
        Y = T(Xc)
        np.testing.assert_allclose(A._decode(Xc, Y, Y), Xc, atol=1e-8)


@pytest.mark.claim("s004_low_error_means_content_preserved", role="lemma")
def test_small_frobenius_error_with_badly_reconstructed_tokens():
    """A 'massive activation' row makes ‖X − X̂‖/‖X‖ small while almost every token is reconstructed badly (built so
    by construction: a lemma showing the mechanism; the measurement on SmolLM2 decides)."""
    from quantproof.math.spectra import ActivationCompressor

    rng = np.random.default_rng(7)
    d, n = 64, 400
    X = rng.normal(size=(n, d))
    first = np.arange(0, n, 50)                      # one "first token" per 50-token sequence
    X[first, 3] += 1000.0                            # a massive activation in one dimension
    comp = ActivationCompressor.fit(X, k=2, center=True)
    R = X - comp.roundtrip(X)
    frob = np.linalg.norm(R) / np.linalg.norm(X)
    tok = np.linalg.norm(R, axis=1) / np.linalg.norm(X, axis=1)
    assert frob < 0.10
    assert np.median(tok) > 0.5


def test_parse_layers():
    assert E.parse_layers("all", 4) == [0, 1, 2, 3]
    assert E.parse_layers("every:3", 8) == [0, 3, 6, 7]
    assert E.parse_layers("0,-1", 5) == [0, 4]
    with pytest.raises(ValueError):
        E.parse_layers("9", 5)


# ------------------------------------------------------------------------------------------------ real model, fast

def test_minilm_sign_beta_and_embedding_smoke(tmp_path):
    """Real all-MiniLM-L6-v2 on real text, tiny settings (a few seconds): the measurement runs end to end."""
    pytest.importorskip("transformers")
    reg = registry()
    ctx = Context(cache_dir=tmp_path)
    res = reg["sign_beta"].func(ctx, model="minilm", kind="minilm_keys", transform="learned_centered", layers="0",
                                n_calib_docs=4, n_heldout_docs=2, max_tokens=32, iters=5, null_reps=1,
                                matched_null_heads=1, n_boot=20)
    out = res.outputs
    assert set(out) == set(reg["sign_beta"].outputs)
    for k, v in out.items():
        assert math.isfinite(v.value), k
    assert 0.3 < out["none_beta"].value < 1.0 and 0.3 < out["mean_beta"].value < 1.0
    assert out["insample_beta"].value >= out["null_heldout_beta"].value - 0.1
    assert out["dim"].value == 32
    assert any("minilm" in f for f in ctx.files) and any(f.endswith(".bz2") for f in ctx.files)
    emb = reg["embedding_spectrum"].func(Context(cache_dir=tmp_path), n_sentences=60, n_groups=5).outputs
    assert 1.0 <= emb["participation_ratio"].value <= 60
    assert emb["n_sentences"].value == 60


# ------------------------------------------------------------------------------------------------ real model, slow

@pytest.mark.slow
def test_smollm2_default_measurements_run(tmp_path):
    """The SmolLM2 measurements behind the seed 003/004 empirical claims, at their defaults (minutes on CPU)."""
    reg = registry()
    ctx = Context(cache_dir=tmp_path)
    g = reg["gauge_invariance"].func(ctx).outputs
    assert g["post_rope_max_rel_err"].value < 1e-9 and g["commuting_folded_max_rel_err"].value < 1e-9
    assert g["rope_reimpl_max_abs_err"].value < 1e-3
    h = reg["hidden_spectrum"].func(Context(cache_dir=tmp_path), model="smollm2", variant="raw").outputs
    assert 1.0 <= h["participation_ratio"].value <= 576
    s = reg["sign_beta"].func(Context(cache_dir=tmp_path), transform="haar").outputs
    assert abs(s["mean_cos_heldout"].value - math.sqrt(2 / math.pi)) < 0.05


def test_minilm_ffn_weight_beta_batch_skip_and_planted_source(tmp_path):
    """Real MiniLM FFN weights, 2 iterations: batch_fraction = 0 leaves the batch outputs out (never NaN), and the
    planted source replaces the weights by rows of the same shape (β_raw of a noisy lattice in a rotated frame is
    Gaussian-like, unlike the real weights')."""
    pytest.importorskip("transformers")
    f = registry()["ffn_weight_beta"].func
    real = f(Context(cache_dir=tmp_path), layers="0", iters=2, batch_fraction=0.0).outputs
    assert "beta_batch" not in real and "gap_minus_null" not in real
    assert all(math.isfinite(v.value) for v in real.values())
    planted = f(Context(cache_dir=tmp_path), layers="0", iters=2, batch_fraction=0.0, source="planted").outputs
    assert abs(planted["beta_raw"].value - 2 / math.pi) < 0.01
    assert abs(real["beta_raw"].value - planted["beta_raw"].value) > 0.02
    with pytest.raises(ValueError):
        f(Context(cache_dir=tmp_path), layers="0", iters=2, source="nope")

"""Seed 000 / 002 subjects: the E8⊕E8 quantiser used in the hooks, the blend, the stored code, the change-point test.

Fast tests run on generated inputs; the one test on the real SmolLM2 is marked slow.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from quantproof.math.lattice import (blend_cosine_predicted, bruteforce_nearest, generator_matrix, gram_determinant,
                                     gram_matrix, nearest_e8)
from quantproof.subjects import e8_quant
from quantproof.subjects.changepoint import changepoint_test
from quantproof.subjects.e8_bottleneck import default_band, rep_ngram_rate
from quantproof.subjects.storage import code_rows

torch = pytest.importorskip("torch")

FAST = settings(max_examples=25, deadline=None, derandomize=True, database=None)
_coord = st.one_of(st.floats(-6, 6, allow_nan=False, width=32), st.integers(-12, 12).map(lambda k: k / 4))


@FAST
@given(hnp.arrays(np.float64, (8,), elements=_coord))
def test_torch_e8_decoder_is_the_nearest_point(x):
    """The torch decoder used inside the forward hooks agrees with quantproof.math.lattice and with brute force."""
    y = e8_quant.nearest_e8_torch(torch.tensor(x, dtype=torch.float64)[None])[0].numpy()
    ref = nearest_e8(x)
    _, d_best = bruteforce_nearest(x, "e8")
    assert math.isclose(float(np.sum((x - y) ** 2)), d_best, rel_tol=1e-9, abs_tol=1e-9)
    assert np.allclose(y, ref)


@pytest.mark.claim("s000_dual_e8_is_e8")
def test_e8_is_its_own_dual_so_dual_e8_names_e8():
    """E8's Gram matrix is integral with determinant 1: E8* = E8, so "Dual E8" is E8 itself, and the dual of
    E8⊕E8 is E8⊕E8 (block-diagonal Gram matrix, determinant 1·1)."""
    G = gram_matrix("e8")
    assert all(v.is_integer for v in G)           # integral: E8 ⊆ E8*
    assert G.det() == 1                           # index [E8* : E8] = det = 1
    G16 = sp.diag(G, G)
    assert all(v.is_integer for v in G16) and G16.det() == 1
    # the matrix is a basis of E8 itself: every row has all-integer or all-half-odd coordinates with an even sum,
    # and (det 1) they generate all of it; E8 is even (every norm is even), unlike Z8
    for row in generator_matrix("e8").tolist():
        twice = [2 * v for v in row]
        assert all(t.is_integer for t in twice) and len({int(t) % 2 for t in twice}) == 1 and sum(row) % 2 == 0
    assert all(G[i, i] % 2 == 0 for i in range(8))
    # the same criterion tells E8's neighbours apart: D8 (integer rows, even sum) is integral with det 4, so D8* has
    # D8 at index 4 (not self-dual); Z8 is self-dual (det 1) but odd
    D = generator_matrix("d8")
    assert all(v.is_integer for v in D) and all(sum(r) % 2 == 0 for r in D.tolist())
    assert all(v.is_integer for v in gram_matrix("d8")) and gram_determinant("d8") == 4 == gram_matrix("d8").det()
    assert generator_matrix("z8") == sp.eye(8) and gram_determinant("z8") == 1
    with pytest.raises(ValueError):
        generator_matrix("a8")


@FAST
@given(st.integers(0, 2**32 - 1), st.floats(0.01, 0.99), st.floats(0.25, 4.0))
@pytest.mark.claim("s000_low_beta_absorbed_by_norm", role="lemma")
def test_rms_normalisation_keeps_the_blend_direction_error(seed, b, resolution):
    """RMSNorm (and LayerNorm's scaling) only removes a vector's length: the angle between the blended and the
    original hidden state survives normalisation unchanged, so only the part of the blend's perturbation along h
    can be "absorbed" by the normalisations. A lemma: cosine is invariant to per-vector scaling for *any* vectors,
    so this cannot decide the claim; the measurement of how much of the real perturbation lies along h does
    (e8b_sweep absorbed_b1000)."""
    g = np.random.default_rng(seed)
    h = torch.tensor(g.standard_normal((4, 576)) * g.uniform(0.1, 10), dtype=torch.float64)
    q = e8_quant.quantize(h, scale="rms", resolution=resolution)
    hb = e8_quant.blend(h, q, b)

    def rmsnorm(x):
        return x / x.pow(2).mean(-1, keepdim=True).sqrt()

    cos = torch.nn.functional.cosine_similarity
    before = cos(h, hb, dim=-1)
    after = cos(rmsnorm(h), rmsnorm(hb), dim=-1)
    assert torch.allclose(before, after, atol=1e-12)
    # and the angle is not zero unless Q(h) is parallel to h
    par = cos(h, q, dim=-1) > 1 - 1e-12
    assert bool(torch.all((after < 1 - 1e-12) | par))


@FAST
@given(st.integers(0, 2**32 - 1), st.floats(0.0, 1.0), st.sampled_from(["rms", "block", "sin"]))
def test_blend_cosine_in_hooks_follows_the_formula(seed, b, scale):
    """Per token, cos(h, (1−b)h + bQ(h)) is exactly the blend formula of (b, cos(h, Q(h)), ‖Q(h)‖/‖h‖)."""
    g = np.random.default_rng(seed)
    h = torch.tensor(g.standard_normal((8, 64)) * np.exp(g.normal(0, 1, (8, 1))), dtype=torch.float64)
    q = e8_quant.quantize(h, scale=scale)
    cos = torch.nn.functional.cosine_similarity
    c = cos(h, q, dim=-1).numpy()
    rho = (q.norm(dim=-1) / h.norm(dim=-1)).numpy()
    got = cos(h, e8_quant.blend(h, q, b), dim=-1).numpy()
    assert np.allclose(got, blend_cosine_predicted(c, rho, b), atol=1e-9)


@FAST
@given(st.integers(0, 2**32 - 1), st.integers(1, 40), st.floats(0.1, 8.0), st.sampled_from(["rms", "block"]))
@pytest.mark.claim("s000_kv_int8_8x", role="lemma")
def test_int8_coordinates_of_fp16_data_compress_at_most_2x(seed, rows, resolution, scale):
    """Storing one int8 per coordinate (plus scales) instead of one fp16 per value can never shrink the tensor by
    more than 2×: bytes(fp16) = 2n, bytes(int8 code) ≥ n. The stored code decodes to the reconstruction. A lemma:
    true of every input by construction (it checks our byte counting); the arithmetic fp16/int8 decides the
    claim."""
    g = np.random.default_rng(seed)
    X = (g.standard_normal((rows, 64)) * g.uniform(0.01, 50)).astype(np.float32)
    c = code_rows(X, scale=scale, resolution=resolution)
    assert c.fp16_bytes == 2 * X.size
    assert c.int8_bytes >= X.size
    assert c.ratio_int8 <= 2.0
    codes, alphas, rec = e8_quant.e8_integer_code(X, scale=scale, resolution=resolution)
    assert np.allclose(rec, c.recon)
    assert codes.dtype in (np.int8, np.int16)
    # the packed form really holds n·bits bits
    assert c.packed_bytes == math.ceil(X.size * c.code_bits / 8) + c.scale_bytes + 2


def test_default_band_maps_8_13_of_24_by_relative_depth():
    assert default_band(24) == (8, 13)
    assert default_band(30) == (10, 16)


def test_repeated_trigram_rate():
    assert rep_ngram_rate([1, 2, 3, 4, 5]) == 0.0
    assert rep_ngram_rate([1, 2, 3, 1, 2, 3]) == pytest.approx(1 - 3 / 4)
    assert math.isnan(rep_ngram_rate([1, 2]))
    assert rep_ngram_rate([7] * 10) == pytest.approx(1 - 1 / 8)


def test_changepoint_test_finds_a_planted_step_and_not_a_smooth_curve():
    """The statistical test behind the phase-transition measurements: power against a sharp step, calibration
    against a smooth quadratic (fixed seeds; 8 rows × 9 blends like the default sweep), with row-bootstrap
    intervals and the logistic's width."""
    x = np.array([0, .05, .1, .15, .2, .25, .3, .4, .5])
    g = np.random.default_rng(0)
    step = 0.1 + 0.3 * (x > 0.22) + g.normal(0, 0.05, (8, 9))
    t = changepoint_test(x, step, n_boot=60, rng=np.random.default_rng(1))
    assert t.delta_bic > 10 and t.p_value < 0.05 and 0.2 <= t.tau <= 0.25
    assert t.delta_bic_lo > 10 and t.width_hi <= 0.05 and 0.2 <= t.tau_lo <= t.tau_hi <= 0.25
    smooth = 0.1 + 0.8 * x**2 + g.normal(0, 0.05, (8, 9))
    t = changepoint_test(x, smooth, n_boot=60, rng=np.random.default_rng(2))
    assert t.delta_bic < 10 and t.p_value > 0.05 and t.width > 0.05


def test_grouped_fits_are_the_flat_least_squares_fits():
    """Fitting on per-x group means weighted by counts (plus the within-group sum of squares) gives exactly the RSS
    of ordinary least squares on the flat observations, for every model and candidate tau."""
    from quantproof.subjects.changepoint import _flat, fit_model

    x = np.array([0, .05, .1, .15, .2, .25, .3, .4, .5])
    Y = np.random.default_rng(3).normal(size=(7, 9)) + np.sin(6 * x)
    xf, yf = _flat(x, Y)
    one = np.ones_like(xf)
    for model, cols in (("linear", lambda t: np.c_[one, xf]), ("quadratic", lambda t: np.c_[one, xf, xf * xf]),
                        ("hinge", lambda t: np.c_[one, xf, np.maximum(0, xf - t)]),
                        ("step", lambda t: np.c_[xf <= t, xf * (xf <= t), xf > t, xf * (xf > t)].astype(float))):
        f = fit_model(model, xf, yf, x)
        A = cols(f.tau)
        coef, *_ = np.linalg.lstsq(A, yf, rcond=None)
        assert f.rss == pytest.approx(float(((yf - A @ coef) ** 2).sum()), rel=1e-9)
    f = fit_model("logistic", xf, yf, x)
    p = f.params
    pred = p["a"] + p["h"] / (1 + np.exp(-(xf - f.tau) / p["s"]))
    assert f.rss == pytest.approx(float(((yf - pred) ** 2).sum()), rel=1e-9)


def test_planted_controls_keep_the_noise_and_plant_the_curve():
    from quantproof.subjects.changepoint import planted

    x = np.array([0, .05, .1, .15, .2, .25, .3, .4, .5])
    g = np.random.default_rng(4)
    Y = np.array([0, .1, .4, .8, .9, .95, .9, .85, .6]) + g.normal(0, 0.1, (12, 9))
    mu = Y.mean(0)
    S = planted(x, Y, "step", tau=0.225)
    assert np.allclose(S - S.mean(0), Y - mu)                       # the same noise
    assert np.allclose(S.mean(0), mu[0] + (mu - mu[0]).max() * (x > 0.225))
    M = planted(x, Y, "smooth")
    assert np.allclose(M - M.mean(0), Y - mu)
    assert np.all(np.diff(M.mean(0)) >= -1e-12) or np.all(np.diff(M.mean(0)) <= 1e-12)  # monotone
    with pytest.raises(ValueError):
        planted(x, Y, "zigzag")


def test_fit_resolution_recovers_the_resolution_behind_a_blend_cosine_curve():
    """The resolution fitted to a blend-cosine column is the one that produced it (synthetic heavy-tailed states)."""
    g = np.random.default_rng(5)
    h = torch.tensor(g.standard_t(3, size=(64, 64)), dtype=torch.float32)
    blends = [0.1, 0.2, 0.25, 0.3, 0.5]
    target, c, rho = e8_quant.blend_cosines_at(h, blends=blends, resolution=0.6)
    fit = e8_quant.fit_resolution(h, blends=blends, cosines=target)
    assert fit["rms_error"] < 2e-4
    got, _, _ = e8_quant.blend_cosines_at(h, blends=blends, resolution=fit["resolution"])
    assert np.allclose(got, target, atol=5e-4)
    assert fit["q_cos"] == pytest.approx(c, abs=0.01)
    with pytest.raises(ValueError):
        e8_quant.fit_resolution(h, blends=[0.1], cosines=[0.9, 0.8])


def test_absorbed_fraction_brackets_rescaling_and_random_directions():
    g = np.random.default_rng(6)
    h = torch.tensor(g.standard_normal((16, 576)), dtype=torch.float64)
    new = e8_quant.blend(h, e8_quant.quantize(h, resolution=0.5), 0.1)
    scaled, gauss = e8_quant.matched_perturbations(h, new, torch.Generator().manual_seed(0))
    d = (new - h).norm(dim=-1)
    assert torch.allclose((scaled - h).norm(dim=-1), d) and torch.allclose((gauss - h).norm(dim=-1), d)
    assert torch.allclose(e8_quant.absorbed_fraction(h, scaled), torch.ones(16, dtype=torch.float64), atol=1e-9)
    assert float(e8_quant.absorbed_fraction(h, gauss).abs().max()) < 0.05
    a = e8_quant.absorbed_fraction(h, new)
    assert torch.all((a > -1) & (a < 1))
    assert torch.all(e8_quant.absorbed_fraction(h, h) == 0)


def test_planted_loop_repeats_the_head():
    from quantproof.subjects.e8_bottleneck import planted_loop

    assert planted_loop([1, 2, 3, 4, 5, 6, 7], 3) == [1, 2, 3, 1, 2, 3, 1]
    assert rep_ngram_rate(planted_loop(list(range(32)), 8)) == pytest.approx(1 - 8 / 30)


def test_seedtab_trend_largest_x_above_threshold():
    from quantproof.evidence.measurement import Context
    from quantproof.measurements.e8_bottleneck import seedtab_trend

    r = seedtab_trend(Context(), xs=[0.2, 0.25, 0.3, 0.4], ys=[0.9939, 0.9919, 0.9815, 0.9551],
                      direction="decreasing", threshold=0.99).outputs
    assert r["x_max_above"].value == 0.25 and r["n_violations"].value == 0
    r = seedtab_trend(Context(), xs=[0.25, 0.3, 0.4], ys=[0.9604, 0.9702, 0.9158], direction="decreasing").outputs
    assert r["x_max_above"].value == -1.0 and r["n_violations"].value == 1


def test_storage_rate_fit_and_pooled_cosine():
    from quantproof.measurements.storage import pooled_cosine_boot, resolution_for_bits, total_bits

    g = np.random.default_rng(7)
    X = g.standard_normal((300, 64)).astype(np.float32)
    from quantproof.subjects.storage import entropy_coded_bits

    for res, scale in ((0.3, "rms"), (2.0, "rms"), (1.0, "block")):
        assert entropy_coded_bits(X, scale=scale, resolution=res) == pytest.approx(
            total_bits(code_rows(X, scale=scale, resolution=res)), rel=1e-9)
    r = resolution_for_bits(X, 2.0)
    assert total_bits(code_rows(X, resolution=r)) <= 2.0 < total_bits(code_rows(X, resolution=r * 1.05))
    a, b = g.standard_normal((5, 40)), g.standard_normal((5, 40))
    parts = [(float(x @ y), float(x @ x), float(y @ y)) for x, y in zip(a, b)]
    v, lo, hi = pooled_cosine_boot(parts, np.random.default_rng(0), 200)
    assert v == pytest.approx(float(a.ravel() @ b.ravel() / np.linalg.norm(a) / np.linalg.norm(b)))
    assert lo <= v <= hi


def test_every_e8b_sweep_link_is_one_job():
    """All e8b_sweep links (seed 000's bind the seed's Avg Cosine column from its text; seed 002's cannot and type
    it) resolve to the same parameters: one sweep serves every claim, and the typed column equals the quoted one."""
    from pathlib import Path

    from quantproof.claims.loader import load_claims
    from quantproof.claims.seeddata import resolve

    root = Path(__file__).resolve().parents[2]
    cs = load_claims(root / "claims.yaml")
    seen = []
    for c in cs.claims:
        for m in c.measurements:
            if m.name == "e8b_sweep":
                text = (root / "seeds" / c.seed).read_text(encoding="utf-8")
                params, _ = resolve(m, text)
                seen.append((c.id, params))
    assert len(seen) >= 10
    first = seen[0][1]
    assert first["seed_blends"] == [0.1, 0.2, 0.25, 0.3, 0.5]
    for cid, p in seen:
        assert p == first, cid


@pytest.mark.slow
def test_hooks_on_smollm2_identity_at_zero_and_formula_on_real_states():
    """On the real model: b = 0 hooks leave the logits unchanged; at b > 0 the measured per-token cosine equals the
    blend formula of the measured quantiser fidelity."""
    from quantproof.capture.models import load_smollm2
    from quantproof.subjects.e8_bottleneck import BlendHooks

    model, tok, info = load_smollm2(device="cpu")
    ids = tok("The Royal Commission into the building industry held its first day of hearings.",
              return_tensors="pt")["input_ids"]
    layers = [model.model.layers[i] for i in range(10, 17)]
    with torch.no_grad():
        ref = model(ids).logits
        with BlendHooks(layers, 0.0, "rms", 1.0):
            same = model(ids).logits
        with BlendHooks(layers, 0.3, "rms", 1.0) as hk:
            diff = model(ids).logits
    assert torch.equal(ref, same)
    assert float((diff - ref).abs().max()) > 1e-3
    for s in hk.stats:
        pred = blend_cosine_predicted(s["q_cos"].double().numpy(), s["q_rho"].double().numpy(), 0.3)
        assert np.allclose(s["cos"].numpy(), pred, atol=2e-4)

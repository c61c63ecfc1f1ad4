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

from quantproof.math.lattice import blend_cosine_predicted, bruteforce_nearest, gram_matrix, nearest_e8
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


@FAST
@given(st.integers(0, 2**32 - 1), st.floats(0.01, 0.99), st.floats(0.25, 4.0))
@pytest.mark.claim("s000_low_beta_absorbed_by_norm", role="refutes")
def test_rms_normalisation_keeps_the_blend_direction_error(seed, b, resolution):
    """RMSNorm (and LayerNorm's scaling) only removes a vector's length: the angle between the blended and the
    original hidden state survives normalisation unchanged, so the blend's perturbation cannot be "absorbed" by
    the normalisations (only the norm change can)."""
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
@pytest.mark.claim("s000_kv_int8_8x", role="refutes")
def test_int8_coordinates_of_fp16_data_compress_at_most_2x(seed, rows, resolution, scale):
    """Storing one int8 per coordinate (plus scales) instead of one fp16 per value can never shrink the tensor by
    more than 2×: bytes(fp16) = 2n, bytes(int8 code) ≥ n. The stored code decodes to the reconstruction."""
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
    against a smooth quadratic (fixed seeds; 8 rows × 9 blends like the default sweep)."""
    x = np.array([0, .05, .1, .15, .2, .25, .3, .4, .5])
    g = np.random.default_rng(0)
    step = 0.1 + 0.3 * (x > 0.22) + g.normal(0, 0.05, (8, 9))
    t = changepoint_test(x, step, n_boot=60, rng=np.random.default_rng(1))
    assert t.delta_bic > 10 and t.p_value < 0.05 and 0.2 <= t.tau <= 0.25
    smooth = 0.1 + 0.8 * x**2 + g.normal(0, 0.05, (8, 9))
    t = changepoint_test(x, smooth, n_boot=60, rng=np.random.default_rng(2))
    assert t.delta_bic < 10 and t.p_value > 0.05


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

"""Every fast path equals its reference (quantproof.math) on random and adversarial inputs.

The lattice kernels must return *the same lattice points* (bit for bit, ties included); the float64 FWHT is
bit-identical to the reference; float32 FWHT is within rounding; the streamed Gram gives the full-SVD γ_r; the fast
learned rotation follows the reference's trajectory. Each backend is tested: native (C), torch (CPU; the same code
runs on CUDA), and the fallback when the native library is unavailable.
"""

from __future__ import annotations

import importlib.util
import math
import zlib
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from quantproof.kernels import _native, e8 as K8, fwht as KF, lowrank as KL, rotation as KR
from quantproof.math import lattice as L
from quantproof.math import lowrank as LR
from quantproof.math import rotations as R
from quantproof.math.sign_quant import energy_weighted_moment_ratio, one_bit_quantize

HAS_TORCH = importlib.util.find_spec("torch") is not None
needs_native = pytest.mark.skipif(_native.lib() is None, reason=f"native kernels unavailable: {_native.status()}")

FAST = {"d8": K8.nearest_d8_fast, "e8": K8.nearest_e8_fast, "e8e8": K8.nearest_e8e8_fast}
REF = {"d8": L.nearest_d8, "e8": L.nearest_e8, "e8e8": L.nearest_e8e8}
WIDTH = {"d8": 8, "e8": 8, "e8e8": 16}


def _adversarial(n: int, width: int, seed: int = 0) -> dict[str, np.ndarray]:
    g = np.random.default_rng(seed)
    half = g.integers(-8, 9, (n, width)) / 2.0                       # every coordinate a rounding tie
    quarter = g.integers(-16, 17, (n, width)) / 4.0                  # ties between the two E8 cosets
    mixed = g.integers(-3, 4, (n, width)) + g.choice([0.0, 0.25, 0.5, 0.75], (n, width))
    near = half + g.choice([-1, 0, 1], (n, width)) * 2.0 ** -40      # a hair off the ties
    near32 = half + g.choice([-1, 0, 1], (n, width)) * 2.0 ** -20    # a hair, still visible in float32
    ints = g.integers(-5, 6, (n, width)).astype(np.float64)          # odd-sum integer points: the D8 parity fix
    zeros = np.zeros((4, width))
    zeros[1, 0] = -0.0
    zeros[2] = 0.5
    zeros[3] = -0.5
    signed0 = np.zeros((2, width))
    signed0[0, 0], signed0[0, 1] = -0.0, 1.0                         # -0.0 as the argmax of |err|
    return {
        "gauss": g.standard_normal((n, width)) * 3.0,
        "half": half, "quarter": quarter, "mixed": mixed, "near": near, "near32": near32, "ints": ints,
        "special": np.concatenate([zeros, signed0]),
        "large_1e7": g.standard_normal((n, width)) * 1e7,
        "large_2e22": g.standard_normal((n, width)) * 2.0 ** 22,
        "huge_1e15": g.standard_normal((n, width)) * 1e15,
        "huge_1e30": g.standard_normal((n, width)) * 1e30,
        "mixed_scale": np.concatenate([g.standard_normal((n, width // 2)) * 1e17,
                                       g.standard_normal((n, width // 2))], axis=1),
        "tiny": g.standard_normal((n, width)) * 1e-12,
    }


CASES = sorted(_adversarial(4, 8))


@needs_native
@pytest.mark.parametrize("lattice", ["d8", "e8", "e8e8"])
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_native_equals_reference(lattice, case, dtype):
    x = _adversarial(3001, WIDTH[lattice], seed=zlib.crc32(f"{lattice}:{case}".encode()) % 1000)[case].astype(dtype)
    want = REF[lattice](x)
    got = FAST[lattice](x, out_dtype=np.float64)
    assert got.dtype == np.float64
    assert np.array_equal(got, want)
    for threads in (1, 3):  # thread splits must not change anything
        assert np.array_equal(FAST[lattice](x, out_dtype=np.float64, threads=threads), want)


@pytest.mark.skipif(not HAS_TORCH, reason="torch not installed")
@pytest.mark.parametrize("lattice", ["d8", "e8", "e8e8"])
@pytest.mark.parametrize("case", CASES)
def test_torch_backend_equals_reference(lattice, case):
    import torch

    x = _adversarial(1001, WIDTH[lattice], seed=7)[case]
    want = REF[lattice](x)
    got = FAST[lattice](torch.from_numpy(x), out_dtype=torch.float64)
    assert isinstance(got, torch.Tensor)
    assert np.array_equal(got.numpy(), want)
    got32 = FAST[lattice](torch.from_numpy(x.astype(np.float32)), out_dtype=torch.float64).numpy()
    assert np.array_equal(got32, REF[lattice](x.astype(np.float32)))


@given(hnp.arrays(np.float64, st.tuples(st.integers(1, 40), st.just(8)),
                  elements=st.one_of(st.floats(-1e3, 1e3, allow_nan=False),
                                     st.integers(-40, 40).map(lambda k: k / 4.0),
                                     st.floats(-1e18, 1e18, allow_nan=False))))
@settings(max_examples=300, deadline=None)
def test_e8_property_any_finite_input(x):
    want = L.nearest_e8(x)
    assert np.array_equal(K8.nearest_e8_fast(x), want)
    assert np.array_equal(K8.nearest_d8_fast(x), L.nearest_d8(x))
    assert np.all(L.in_lattice(want[np.all(np.abs(x) < 1e6, axis=1)], "e8"))


def test_tie_rule_is_documented_behaviour():
    """Rounding ties go up; an E8 distance tie between cosets goes to the integer coset D8."""
    x = np.array([[0.25] * 8, [0.5] + [0.0] * 7, [-0.5] * 8])
    y = K8.nearest_e8_fast(x)
    assert np.array_equal(y, L.nearest_e8(x))
    # (¼,…,¼): distance² 0.5 to 0 and to (½,…,½): the tie goes to 0 ∈ D8
    assert np.array_equal(y[0], np.zeros(8))
    # (½,0,…): rounds to (1,0,…) (odd sum), parity fix moves coordinate 0 back towards x: 0 ∈ D8
    assert np.array_equal(y[1], np.zeros(8))


def test_float32_output_and_large_magnitudes():
    x = (np.random.default_rng(3).standard_normal((1000, 8)) * 100).astype(np.float32)
    y = K8.nearest_e8_fast(x)
    assert y.dtype == np.float32
    assert np.array_equal(y.astype(np.float64), L.nearest_e8(x))
    big = np.full((1, 8), 2.0 ** 25, dtype=np.float32)
    big[0, 0] += 2.0 ** 3   # float32 integers beyond 2^24 are even; the nearest E8 point may need odd ones
    big[0, 1] = 2.0 ** 25 + 2.0
    want = L.nearest_e8(big)
    if not np.array_equal(want.astype(np.float32).astype(np.float64), want):
        with pytest.raises(ValueError, match="float32"):
            K8.nearest_e8_fast(big)
    assert np.array_equal(K8.nearest_e8_fast(big, out_dtype=np.float64), want)
    huge = np.random.default_rng(4).standard_normal((100, 8)).astype(np.float32) * np.float32(3e37)
    assert np.array_equal(K8.nearest_e8_fast(huge, out_dtype=np.float64), L.nearest_e8(huge))


def test_shapes_dtypes_and_errors():
    g = np.random.default_rng(5)
    x = g.standard_normal((3, 5, 16))
    assert np.array_equal(K8.nearest_e8e8_fast(x), L.nearest_e8e8(x))
    assert np.array_equal(K8.nearest_fast(x, "e8"), L.nearest(x, "e8"))
    assert np.array_equal(K8.nearest_fast(x, "d8"), L.nearest(x, "d8"))
    assert np.array_equal(K8.nearest_e8_fast(x[..., :8]), L.nearest_e8(x[..., :8]))
    xi = g.integers(-4, 5, (20, 8))
    assert np.array_equal(K8.nearest_e8_fast(xi), L.nearest_e8(xi))
    xf = np.asfortranarray(g.standard_normal((50, 8)))[::2]            # non-contiguous input
    assert np.array_equal(K8.nearest_e8_fast(xf), L.nearest_e8(np.ascontiguousarray(xf)))
    assert K8.nearest_e8_fast(np.zeros((0, 8))).shape == (0, 8)
    for bad, fn in ((np.zeros((4, 7)), K8.nearest_e8_fast), (np.zeros((4, 8)), K8.nearest_e8e8_fast),
                    (np.zeros(3), K8.nearest_d8_fast)):
        with pytest.raises(ValueError):
            fn(bad)
    with pytest.raises(ValueError):
        K8.nearest_fast(np.zeros((2, 12)), "e8")


def test_nonfinite_inputs_follow_the_reference():
    """Non-finite input goes to the reference, which refuses it (``lattice.nearest_e8``: a ValueError naming
    finiteness, since nan/inf has no nearest lattice point); the fast path therefore refuses it too."""
    x = np.random.default_rng(6).standard_normal((20, 8))
    x[3, 2] = np.nan
    x[7, 0] = np.inf
    with pytest.raises(ValueError, match="finite"):
        L.nearest_e8(x)
    with pytest.raises(ValueError, match="finite"):
        K8.nearest_e8_fast(x)


def _run_without_native(code: str) -> subprocess.CompletedProcess:
    import os

    env = dict(os.environ, QUANTPROOF_NATIVE="0")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)


def test_fallback_without_native_library():
    code = """
import numpy as np
from quantproof.kernels import e8, fwht, _native
from quantproof.math import lattice as L, rotations as R
assert _native.lib() is None and 'disabled' in _native.status()['why']
x = np.random.default_rng(0).integers(-8, 9, (500, 16)) / 4.0
assert np.array_equal(e8.nearest_e8e8_fast(x), L.nearest_e8e8(x))
assert np.array_equal(e8.nearest_d8_fast(x[:, :8]), L.nearest_d8(x[:, :8]))
y = np.random.default_rng(1).standard_normal((7, 64))
assert np.allclose(fwht.fwht_fast(y), R.fwht(y), rtol=0, atol=1e-12)
print('fallback ok', e8.backend('cpu'))
"""
    r = _run_without_native(code)
    assert r.returncode == 0, r.stderr
    assert "fallback ok" in r.stdout


def test_build_failure_falls_back_cleanly(tmp_path):
    """A broken compiler: a warning, status() says why, and the reference answers."""
    import os

    cc = tmp_path / "badcc"
    cc.write_text("#!/bin/sh\necho 'broken compiler' >&2\nexit 1\n")
    cc.chmod(0o755)
    code = """
import warnings, numpy as np
from quantproof.kernels import e8, _native
from quantproof.math import lattice as L
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter('always')
    assert _native.lib() is None
print('why:', _native.status()['why'])
x = np.random.default_rng(0).standard_normal((100, 8))
assert np.array_equal(e8.nearest_e8_fast(x), L.nearest_e8(x))
print('ok')
"""
    env = dict(os.environ, CC=str(cc), QUANTPROOF_KERNEL_CACHE=str(tmp_path / "cache"))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "compilation failed" in r.stdout and "ok" in r.stdout


# --------------------------------------------------------------------------------------------------------------
# FWHT / SRHT


@pytest.mark.parametrize("d", [1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 4096])
def test_fwht_float64_bit_identical(d):
    x = np.random.default_rng(d).standard_normal((33, d)) * 10.0 ** np.random.default_rng(d).integers(-3, 4, (33, 1))
    assert np.array_equal(KF.fwht_fast(x), R.fwht(x))
    y = x.copy()
    assert KF.fwht_fast(y, out=y) is y
    assert np.array_equal(y, R.fwht(x))


@pytest.mark.parametrize("d", [2, 8, 16, 32, 128, 4096])
def test_fwht_float32_within_rounding(d):
    x = np.random.default_rng(d).standard_normal((17, d)).astype(np.float32)
    got = KF.fwht_fast(x)
    assert got.dtype == np.float32
    want = R.fwht(x)
    # each output is a ±sum of d terms / √d: float32 error ≤ log₂(d)·2⁻²⁴·(Σ|x|)/√d (+ the final division)
    bound = (math.log2(d) + 2) * 2.0 ** -24 * np.abs(x.astype(np.float64)).sum(axis=1, keepdims=True) / math.sqrt(d)
    assert np.all(np.abs(got - want) <= bound)


def test_fwht_shapes_involution_and_errors():
    g = np.random.default_rng(9)
    x = g.standard_normal((2, 3, 64))
    assert np.array_equal(KF.fwht_fast(x), R.fwht(x))
    assert np.allclose(KF.fwht_fast(KF.fwht_fast(x)), x, atol=1e-12)
    assert np.array_equal(KF.fwht_fast(x.astype(np.int64)), R.fwht(x.astype(np.int64)))
    for d in (3, 6, 12, 100, 2816):
        with pytest.raises(ValueError, match="power-of-two"):
            KF.fwht_fast(np.zeros((2, d)))
        if HAS_TORCH:
            import torch

            with pytest.raises(ValueError, match="power-of-two"):
                KF.fwht_fast(torch.zeros(2, d))
    with pytest.raises(ValueError):
        KF.fwht_fast(np.zeros((2, 8)), signs=np.ones(4))


@pytest.mark.parametrize("m", [None, 16, 64])
def test_srht_equals_reference(m):
    s = R.SRHT(64, rng=3, m=m)
    x = np.random.default_rng(4).standard_normal((20, 64))
    assert np.array_equal(KF.srht_apply_fast(s, x), s.apply(x))
    x32 = x.astype(np.float32)
    assert np.allclose(KF.srht_apply_fast(s, x32), s.apply(x32), atol=1e-5)
    assert KF.srht_apply_fast(s, x32).dtype == np.float32


@pytest.mark.skipif(not HAS_TORCH, reason="torch not installed")
@pytest.mark.parametrize("d", [1, 2, 8, 64, 1024])
def test_fwht_torch_backend(d):
    import torch

    x = np.random.default_rng(d).standard_normal((9, d))
    assert np.array_equal(KF.fwht_fast(torch.from_numpy(x)).numpy(), R.fwht(x))
    s = R.SRHT(d, rng=1, m=max(1, d // 2))
    assert np.array_equal(KF.srht_apply_fast(s, torch.from_numpy(x)).numpy(), s.apply(x))


@given(st.integers(0, 10), st.integers(1, 5), st.integers(0, 2**31 - 1))
@settings(max_examples=60, deadline=None)
def test_fwht_property(logd, rows, seed):
    d = 2 ** logd
    x = np.random.default_rng(seed).standard_normal((rows, d))
    assert np.array_equal(KF.fwht_fast(x), R.fwht(x))


# --------------------------------------------------------------------------------------------------------------
# streamed γ_r / β_eff


def _keys(n, d, seed=0):
    g = np.random.default_rng(seed)
    return (g.standard_normal((n, d)) * np.linspace(0.2, 3.0, d)
            + g.standard_normal((n, 3)) @ g.standard_normal((3, d)) + 0.5).astype(np.float32)


@pytest.mark.parametrize("n,d,chunk", [(700, 48, 128), (257, 64, 1000), (1200, 96, 97)])
def test_streamed_gamma_matches_full_svd(n, d, chunk):
    E = _keys(n, d).astype(np.float64)
    E -= one_bit_quantize(E)
    rs = [0, 1, 3, 10, d, d + 5]
    got = KL.gamma_r_streamed_fast((E[i:i + chunk] for i in range(0, n, chunk)), rs, device="cpu")
    for r, gv in zip(rs, got):
        assert gv == pytest.approx(LR.gamma_r(E, r), rel=1e-11, abs=1e-12)
    assert KL.gamma_r_streamed_fast(iter([E]), 3, device="cpu") == pytest.approx(
        LR.gamma_r_streamed(iter([E]), 3), rel=1e-12)


def test_residual_stats_match_reference_definitions():
    K = _keys(1500, 80, seed=2)
    st_ = KL.residual_stats_streamed((K[i:i + 333] for i in range(0, len(K), 333)), [1, 4, 16], device="cpu")
    E = K.astype(np.float64) - one_bit_quantize(K)
    b = energy_weighted_moment_ratio(K)
    assert st_.rows == 1500 and st_.d == 80
    assert st_.beta_1b == pytest.approx(b, rel=1e-12)
    for r, gv, be in zip([1, 4, 16], st_.gamma_r, st_.beta_eff):
        assert gv == pytest.approx(LR.gamma_r(E, r), rel=1e-11)
        assert be == pytest.approx(LR.beta_eff(b, LR.gamma_r(E, r)), rel=1e-11)
    assert st_.residual_energy == pytest.approx(float(np.sum(E * E)), rel=1e-12)
    # the energy identity: residual energy = (1 − β₁ᵦ)·key energy
    assert st_.residual_energy == pytest.approx((1 - st_.beta_1b) * st_.key_energy, rel=1e-10)


def test_residual_zero_coordinates_use_sgn0_plus_one():
    K = np.array([[0.0, -0.0, 1.0, -2.0], [0.0, 0.0, 0.0, 3.0]])
    E, _, _ = KL.one_bit_residual(K)
    assert np.array_equal(E, K - one_bit_quantize(K))


def test_streamed_errors():
    with pytest.raises(ValueError):
        KL.gamma_r_streamed_fast(iter([]), 2)
    acc = KL.GramAccumulator(4, device="cpu")
    with pytest.raises(ValueError):
        acc.add(np.zeros((3, 5)))
    with pytest.raises(ValueError):
        KL.residual_stats_streamed(iter([np.array([[np.nan, 1.0]])]), [1], device="cpu")


# --------------------------------------------------------------------------------------------------------------
# learned rotation


@pytest.mark.parametrize("center", [True, False])
@pytest.mark.parametrize("normalize_rows", [True, False])
def test_fast_rotation_follows_reference_trajectory(center, normalize_rows):
    g = np.random.default_rng(11)
    K = g.standard_normal((600, 16)) * np.linspace(0.3, 3, 16) + 1.5
    ref = R.fit_l1_rotation(K, center=center, iters=12, rng=5, normalize_rows=normalize_rows)
    fast = KR.fit_l1_rotation_fast(K, center=center, iters=12, rng=5, normalize_rows=normalize_rows)
    assert np.max(np.abs(fast.R - ref.R)) < 1e-9
    assert np.max(np.abs(np.array(fast.history) - np.array(ref.history))) < 1e-12
    assert (fast.mean is None) == (ref.mean is None)
    assert np.allclose(fast.apply(K), ref.apply(K), atol=1e-9)


def test_fast_rotation_stops_at_fixed_point_and_never_decreases():
    K = np.random.default_rng(12).standard_normal((400, 8)) * np.linspace(0.5, 2, 8)
    info = KR.FitInfo()
    rot = KR.fit_l1_rotation_fast(K, center=True, iters=500, rng=1, stop_when_fixed=True, info=info)
    assert info.converged and info.iterations < 500
    assert np.all(np.diff(rot.history) >= -1e-12)
    assert R.is_orthogonal(rot.R, 1e-10)
    with pytest.raises(ValueError):
        KR.fit_l1_rotation_fast(np.zeros((3, 4)), center=False)


def test_portable_build_equals_reference(tmp_path):
    """The generic-vector variant (no -march=native: what a machine without AVX-512 compiles) is exact too."""
    import os

    code = """
import numpy as np
from quantproof.kernels import e8, fwht, _native
from quantproof.math import lattice as L, rotations as R
st = _native.status()
assert st['available'] and 'generic' in st['why'] and '-march=native' not in st['flags'], st
g = np.random.default_rng(0)
for x in (g.standard_normal((5000, 8)) * 3, g.integers(-8, 9, (5000, 8)) / 4.0, g.standard_normal((999, 8)) * 1e30,
          np.concatenate([g.standard_normal((500, 4)) * 1e17, g.standard_normal((500, 4))], 1)):
    for dt in (np.float64, np.float32):
        xx = x.astype(dt)
        assert np.array_equal(e8.nearest_e8_fast(xx, out_dtype=np.float64), L.nearest_e8(xx))
        assert np.array_equal(e8.nearest_d8_fast(xx, out_dtype=np.float64), L.nearest_d8(xx))
for d in (1, 2, 8, 16, 64, 1024):
    y = g.standard_normal((9, d))
    assert np.array_equal(fwht.fwht_fast(y), R.fwht(y))
print('generic ok')
"""
    env = dict(os.environ, QUANTPROOF_NATIVE_ARCH="generic", QUANTPROOF_KERNEL_CACHE=str(tmp_path / "cache"))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
    if "no C compiler" in r.stderr + r.stdout:
        pytest.skip("no C compiler")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "generic ok" in r.stdout

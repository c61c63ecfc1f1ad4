"""The control inputs and interval helpers of the seed-003 measurements (synthetic data, no model): each control
must carry the effect it is built to carry (planted lattice, spiky keys, heterogeneous experts) or lack it (Gaussian
nulls), and the intervals must come from the independent unit."""

from __future__ import annotations

import math

import numpy as np
import pytest

from quantproof.evidence.measurement import Context
from quantproof.measurements import _kcache_data as D
from quantproof.measurements import kcache_ffn as F
from quantproof.measurements.kcache import _insample_jackknife


def _haar_cos(X, rng):
    from quantproof.math.rotations import haar_orthogonal

    return float(np.mean(D.row_cos(X @ haar_orthogonal(X.shape[1], rng).T)))


def test_pick_layers_spread_and_fallback():
    assert D.pick_layers("spread:3", 30) == [0, 14, 29]
    assert D.pick_layers("spread:3", 6) == [0, 2, 5]
    assert D.pick_layers("spread:9", 4) == [0, 1, 2, 3]
    assert D.pick_layers("every:3", 8) == [0, 3, 6, 7]
    with pytest.raises(ValueError):
        D.pick_layers("spread:0", 5)


def test_planted_source_keeps_mean_and_scale_and_hides_a_lattice():
    rng = np.random.default_rng(0)
    d = 16
    X = rng.normal(size=(2000, d)) * np.linspace(0.5, 2, d) + 3.0
    Gc, Gh, meta = D.synthetic_pair("planted", X, X[:500], rng, 0.25)
    assert Gc.shape == X.shape and Gh.shape == (500, d)
    np.testing.assert_allclose(Gc.mean(0), X.mean(0), atol=0.1)
    s = np.sqrt(np.mean((X - X.mean(0)) ** 2))
    assert np.sqrt(np.mean((Gc - Gc.mean(0)) ** 2)) == pytest.approx(s, rel=0.03)
    assert meta["ideal_centered_beta"] == pytest.approx(1 / 1.0625)
    # the hidden structure is there: a learned centred rotation finds it (small d), a random one does not
    T, _ = D.fit_transform("learned_centered", Gc, np.random.default_rng(1), iters=50)
    assert D.beta(T(Gh)) > 0.9
    Th, _ = D.fit_transform("haar", Gc - Gc.mean(0), np.random.default_rng(2), iters=0)
    assert D.beta(Th(Gh - Gc.mean(0))) < 0.7


def test_spiky_source_defeats_srht_but_not_haar():
    rng = np.random.default_rng(3)
    d = 32
    X = rng.normal(size=(800, d))
    Gc, Gh, _ = D.synthetic_pair("spiky", X, X[:400], rng, 0.25)
    assert np.mean(D.row_cos(Gh)) < 0.3                     # energy on one coordinate: cos ≈ 1/√d
    Ts, _ = D.fit_transform("srht", Gc, rng, iters=0)
    assert np.mean(D.row_cos(Ts(Gh))) > 0.98                # ±c/√d on every coordinate
    assert abs(_haar_cos(Gh, rng) - 0.804) < 0.02           # a Haar rotation reaches the floor anyway


def test_gauss_source_has_no_structure():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(1000, 16)) * 5 + 1
    Gc, Gh, _ = D.synthetic_pair("gauss", X, X[:300], rng, 0.25)
    assert abs(D.beta(Gh) - 2 / math.pi) < 0.02
    with pytest.raises(ValueError):
        D.synthetic_pair("nope", X, X, rng, 0.25)


def test_with_source_is_reproducible_per_unit_name():
    rng = np.random.default_rng(5)
    g = [np.arange(0, 50), np.arange(50, 100)]
    u = D.Unit("L3H1", 3, 1, rng.normal(size=(100, 8)), rng.normal(size=(100, 8)), g, g)
    ctx = Context(seed=0)
    a, _ = D.with_source(ctx, [u], "planted", 0.25)
    b, _ = D.with_source(ctx, [D.Unit("L0H0", 0, 0, u.Xc, u.Xh, g, g), u], "planted", 0.25)
    np.testing.assert_array_equal(a[0].Xc, b[1].Xc)         # same unit, same rows, whatever the subset
    assert not np.array_equal(b[0].Xc, b[1].Xc)
    same, meta = D.with_source(ctx, [u], "real", 0.25)
    assert same[0] is u and meta == {}


def test_ratio_stats_and_t_interval():
    num = np.array([1.0, 2.0, 3.0, 4.0])
    den = np.array([2.0, 2.0, 2.0, 2.0])
    st = D.RatioStats.of(num, den, [np.array([0, 1]), np.array([2, 3])])
    assert st.value() == pytest.approx(10 / 8)
    w = np.array([[2.0, 0.0], [0.0, 2.0]])
    np.testing.assert_allclose(st.value(w), [3 / 4, 7 / 4])
    m, lo, hi = D.t_interval([1.0, 2.0, 3.0])
    assert m == 2.0 and hi - m == pytest.approx(4.302653 * 1.0 / math.sqrt(3), rel=1e-5)
    assert D.t_interval([1.0])[1:] == (None, None)


def test_jackknife_refits_without_each_group_and_matches_the_formula(tmp_path):
    rng = np.random.default_rng(6)
    groups = [np.arange(i * 40, (i + 1) * 40) for i in range(6)]
    units = [D.Unit(f"L{li}H0", li, 0, rng.normal(size=(240, 8)) + li, rng.normal(size=(80, 8)), groups,
                    groups[:2]) for li in range(3)]
    ctx = Context(cache_dir=tmp_path)
    ib = np.array([D.beta(u.Xc - u.Xc.mean(0)) for u in units])
    est = _insample_jackknife(ctx, units, ib, "centered", 5, {"t": 1}, 3, "0,2", 3)
    loo = []
    for drop in ([0, 1], [2, 3], [4, 5]):
        rows = np.concatenate([groups[i] for i in range(6) if i not in drop])
        loo.append(np.mean([D.beta(units[i].Xc[rows] - units[i].Xc[rows].mean(0)) for i in (0, 2)]))
    t = np.array(loo)
    se = math.sqrt(2 / 3 * np.sum((t - t.mean()) ** 2))
    assert est.value == pytest.approx(np.mean(ib[[0, 2]]))
    assert est.hi - est.value == pytest.approx(4.302653 * se, rel=1e-5)
    assert est.n == 2


def test_expert_gap_null_is_overfitting_and_planted_experts_exceed_it():
    rng = np.random.default_rng(7)
    null = F._null_gap(rng, 32, 3.55, 64.0, 30)
    assert 0.08 < null < 0.25                                # a d×d fit to 3.55·d Gaussian rows overfits
    assert F._null_gap(rng, 32, 40.0, 64.0, 30) < null       # more rows per column, less overfitting
    planted = F._planted_gap(rng, 32, 3.55, 64.0, 32, 30)
    assert planted > null + 0.03


def test_expert_gap_vs_null_uses_the_bound_figures(tmp_path):
    from quantproof.evidence.measurement import registry

    f = registry()["expert_gap_vs_null"].func
    out = f(Context(cache_dir=tmp_path), beta_batch=0.9, beta_full=0.5, batch_k=1.0, dim=100.0, full_rows=3200.0,
            null_dim=16, reps=2, iters=10, check_dims="8").outputs
    assert out["input_gap"].value == pytest.approx(0.4)
    assert out["rows_per_col"].value == pytest.approx(10.0)
    assert out["gap_minus_null"].value == pytest.approx(0.4 - out["null_gap"].value)
    assert out["gap_minus_null"].lo < out["gap_minus_null"].value < out["gap_minus_null"].hi
    with pytest.raises(ValueError):
        f(Context(cache_dir=tmp_path), dim=0.0)

"""Moment ratios of distributions (seed 003 §1–2): reference values, the Gaussian floor, the i.i.d. limit, the
generalized-Gaussian family, and E cos θ for Haar-rotated keys."""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from quantproof.math.sign_quant import (
    GG_BETA_SUPREMUM,
    beta_gaussian,
    beta_generalized_gaussian,
    beta_generalized_gaussian_mp,
    beta_laplace,
    beta_uniform,
    expected_haar_one_bit_cosine,
    expected_haar_one_bit_cosine_exact,
    generalized_gaussian_p_for_beta,
    haar_one_bit_cosine_limit,
    moment_ratio_of_density,
    one_bit_cosine,
    residual_energy_fraction,
)

x = sp.Symbol("x", real=True)


# ------------------------------------------------------------------ reference values and the Gaussian floor


def _moment_ratio_of_density_is_its_definition():
    """moment_ratio_of_density on densities where a wrong half, sign, bound or split would show: asymmetric, one-sided,
    finite, and bounds that leave out 0 (refused)."""
    # f(x) = x + 1 on [-1, 2] (asymmetric): z = 9/2, E|X| = 29/27, E X² = 3/2 (by hand), so β = (29/27)² / (3/2)
    assert moment_ratio_of_density(x + 1, x, -1, 2) == sp.Rational(29, 27) ** 2 / sp.Rational(3, 2)
    # one-sided densities: the exponential on [0, ∞) (E X = 1, E X² = 2) and its mirror on (-∞, 0]
    assert moment_ratio_of_density(sp.exp(-x), x, 0, sp.oo) == sp.Rational(1, 2)
    assert moment_ratio_of_density(sp.exp(x), x, -sp.oo, 0) == sp.Rational(1, 2)
    # an asymmetric density on the whole line: e^{-x} for x > 0 and 2e^{2x} for x < 0 (E|X|: 1 and 1/2 on each side)
    f = sp.Piecewise((sp.exp(-x), x > 0), (2 * sp.exp(2 * x), True))
    z, m1, m2 = 2, 1 + sp.Rational(1, 2), 2 + sp.Rational(1, 2)
    assert sp.simplify(moment_ratio_of_density(f, x) - (m1 / z) ** 2 / (m2 / z)) == 0
    for lo, hi in ((1, 2), (sp.Rational(1, 2), sp.oo), (-2, -1), (-sp.oo, -sp.Rational(1, 2))):
        with pytest.raises(ValueError):
            moment_ratio_of_density(sp.Integer(1), x, lo, hi)
    # the mirror image of x + 1 on [-1, 2]: 1 - x on [-2, 1] has the same β
    assert moment_ratio_of_density(1 - x, x, -2, 1) == sp.Rational(29, 27) ** 2 / sp.Rational(3, 2)


@pytest.mark.claim("reference_moment_values")
def test_reference_moment_values_by_symbolic_integration():
    assert moment_ratio_of_density(sp.exp(-sp.Abs(x)), x) == sp.Rational(1, 2) == beta_laplace()
    assert sp.simplify(moment_ratio_of_density(sp.exp(-x**2 / 2), x) - 2 / sp.pi) == 0
    assert sp.simplify(beta_gaussian() - 2 / sp.pi) == 0
    assert moment_ratio_of_density(sp.Integer(1), x, -1, 1) == sp.Rational(3, 4) == beta_uniform()
    # sign lattice: X ∈ {±a}, P(X = a) = q (any q, any a > 0): E|X| = a, E X² = a²
    a, q = sp.symbols("a q", positive=True)
    mu1 = q * sp.Abs(a) + (1 - q) * sp.Abs(-a)
    mu2 = q * a**2 + (1 - q) * (-a) ** 2
    assert sp.simplify(mu1**2 / mu2) == 1
    _moment_ratio_of_density_is_its_definition()  # the integrator these values come from
    # the seed's decimal "≈ 0.637" is checked from its quoted text (claims.yaml: arith with seed_values)


@pytest.mark.claim("gaussian_moment_ratio_floor_eq")
def test_gaussian_moment_ratio_is_two_over_pi_for_every_sigma():
    sigma = sp.Symbol("sigma", positive=True)
    beta = moment_ratio_of_density(sp.exp(-x**2 / (2 * sigma**2)), x)
    assert sp.simplify(beta - 2 / sp.pi) == 0
    assert not beta.has(sigma)
    _moment_ratio_of_density_is_its_definition()  # the integrator the identity is computed with


@pytest.mark.claim("isotropic_floor_pos")
def test_isotropic_floor_is_strictly_between_zero_and_one():
    floor = sp.sqrt(2 / sp.pi)
    assert sp.ask(sp.Q.positive(floor)) is True
    assert bool(floor < 1) is True  # ⇔ π > 2
    assert bool(1 - 2 / sp.pi > 0) is True  # the residual-energy floor 1 − 2/π is positive
    with mpmath.workdps(30):
        v = mpmath.sqrt(2 / mpmath.pi)
        assert 0 < v < 1
    # the seed's decimal "≈ 0.7979" is checked from its quoted text (claims.yaml: arith with seed_values)


# ------------------------------------------------------------------ generalized Gaussians


@pytest.mark.claim("gg_shape_for_beta", role="corrects")
@pytest.mark.parametrize("p", [sp.Rational(1, 2), 1, sp.Rational(3, 2), 2, 3, 4])
def test_generalized_gaussian_closed_form_matches_integration(p):
    """β(p) = Γ(2/p)²/(Γ(1/p)Γ(3/p)) against direct integration of exp(−|x|^p) (mpmath, 30 digits)."""
    with mpmath.workdps(30):
        pf = mpmath.mpf(sp.Rational(p).p) / sp.Rational(p).q
        z = mpmath.quad(lambda t: mpmath.exp(-t**pf), [0, 1, mpmath.inf])
        m1 = mpmath.quad(lambda t: t * mpmath.exp(-t**pf), [0, 1, mpmath.inf])
        m2 = mpmath.quad(lambda t: t * t * mpmath.exp(-t**pf), [0, 1, mpmath.inf])
        direct = (m1 / z) ** 2 / (m2 / z)
        closed = mpmath.mpf(sp.N(beta_generalized_gaussian(p), 35))
        assert abs(direct - closed) < mpmath.mpf(10) ** -25
        assert abs(beta_generalized_gaussian_mp(pf) - closed) < mpmath.mpf(10) ** -25
    assert beta_generalized_gaussian(1) == sp.Rational(1, 2)
    assert sp.simplify(beta_generalized_gaussian(2) - 2 / sp.pi) == 0


@pytest.mark.claim("gg_shape_for_beta", role="refutes")
@given(st.lists(st.tuples(st.integers(1, 100), st.integers(1, 1000)), min_size=1, max_size=8))
def test_unimodal_symmetric_laws_have_beta_at_most_three_quarters(mix):
    """|X| of a symmetric law with a density nonincreasing in |x| (every generalized Gaussian) is a mixture of
    U[0, aⱼ]: E|X| = Σwⱼaⱼ/2, E X² = Σwⱼaⱼ²/3, so β = ¾(Σwa)²/(Σwa²) ≤ ¾ (Cauchy–Schwarz), = ¾ only for one a.
    Hence no generalized Gaussian has β ∈ [¾, 1] — not the sign lattice (β = 1) nor β ≈ 0.92–0.97."""
    w = [Fraction(a) for a, _ in mix]
    a = [Fraction(b) for _, b in mix]
    m1 = sum(wi * ai for wi, ai in zip(w, a)) / 2 / sum(w)
    m2 = sum(wi * ai * ai for wi, ai in zip(w, a)) / 3 / sum(w)
    beta = m1 * m1 / m2
    assert beta <= Fraction(3, 4)
    assert (beta == Fraction(3, 4)) == (len(set(a)) == 1)


@pytest.mark.claim("gg_shape_for_beta", role="refutes")
def test_generalized_gaussian_beta_never_reaches_three_quarters():
    ps = np.logspace(-1.5, 9, 300)
    vals = [beta_generalized_gaussian_mp(p) for p in ps]
    assert all(v < GG_BETA_SUPREMUM for v in vals)
    assert all(b > a for a, b in zip(vals, vals[1:]))  # increasing in p
    assert abs(vals[-1] - mpmath.mpf(3) / 4) < 1e-8  # → ¾ as p → ∞


def test_p_for_beta_refuses_betas_outside_the_family():
    """The solver's guard (by construction, so no evidence for gg_shape_for_beta): β ∉ (0, ¾) has no exponent."""
    for beta in (0.0, 0.75, 0.85, 0.919, 0.965, 1.0):
        with pytest.raises(ValueError):
            generalized_gaussian_p_for_beta(beta)


@pytest.mark.claim("gg_shape_for_beta", role="corrects")
@given(st.floats(1e-9, 0.7499))
def test_generalized_gaussian_covers_every_beta_below_three_quarters(beta):
    """Every β in (0, ¾) is reached (checked from 1e-9 to 0.7499: p from about 0.025 to 110)."""
    p = generalized_gaussian_p_for_beta(beta)
    assert abs(float(beta_generalized_gaussian_mp(p)) - beta) < 1e-10 * max(beta, 1e-3)


# ------------------------------------------------------------------ the i.i.d. limit


@pytest.mark.claim("iid_coord_moment_ratio_floor", role="refutes")
@given(st.integers(1, 5000), st.floats(-1e6, 1e6).filter(lambda v: abs(v) > 1e-6))
def test_identically_distributed_but_dependent_coordinates_do_not_converge(d, X):
    """K_i = X for every i (X ~ N(0, 1), say): identically distributed, symmetric, finite second moment, yet
    cos θ_K = 1 for every d, while √β = √(2/π) < 1. Independence is needed."""
    K = np.full(d, X)
    assert one_bit_cosine(K) == pytest.approx(1.0, abs=1e-15)
    assert float(sp.sqrt(beta_gaussian())) < 0.8


def _t5_beta() -> float:
    with mpmath.workdps(30):
        f = lambda t: (1 + t * t / 5) ** -3  # noqa: E731  Student t, ν = 5 (unnormalised)
        z, m1, m2 = (mpmath.quad(lambda t, k=k: t**k * f(t), [0, 1, mpmath.inf]) for k in (0, 1, 2))
        return float((m1 / z) ** 2 / (m2 / z))


@pytest.mark.claim("iid_coord_moment_ratio_floor", role="corrects")
@pytest.mark.claim("one_bit_residual_floor")
def test_iid_coordinates_converge_to_sqrt_beta():
    """With i.i.d. coordinates (finite second moment) cos θ_K → √β: the error shrinks like 1/√d. Symmetry is not
    needed (the exponential law, β = 1/2, converges too). The LS residual energy 1 − cos² → 1 − β."""
    rng = np.random.default_rng(20240603)
    laws = {
        "gauss": (lambda n: rng.standard_normal(n), 2 / math.pi),
        "laplace": (lambda n: rng.laplace(size=n), 0.5),
        "uniform": (lambda n: rng.uniform(-1, 1, n), 0.75),
        "t5": (lambda n: rng.standard_t(5, n), _t5_beta()),
        "exponential (asymmetric)": (lambda n: rng.exponential(size=n), 0.5),
    }
    for name, (draw, beta) in laws.items():
        errs = {}
        for d in (2**8, 2**16):
            K = np.stack([draw(d) for _ in range(8)])
            c = one_bit_cosine(K)
            errs[d] = float(np.sqrt(np.mean((c - math.sqrt(beta)) ** 2)))
            res = residual_energy_fraction(K)
            assert abs(float(np.mean(res)) - (1 - beta)) < 6 / math.sqrt(d), name
        assert errs[2**16] < 0.02, (name, errs)
        assert errs[2**16] < errs[2**8] / 3, (name, errs)  # ~16× fewer… at least 3× smaller RMS error
    # the two quantities themselves, worked by hand: k = (3, -1) has ‖k‖₁ = 4, ‖k‖₂ = √10, so cos θ = 4/√20 and,
    # with the least-squares α = ‖k‖₁/d = 2, k − Q(k) = (1, 1): residual 2/10 = 1 − cos²; a single coordinate is
    # its own sign (cos = 1, residual 0); the scale does not matter, down to subnormal-squaring magnitudes
    for f in (1.0, 1e-200, 1e200):
        assert float(one_bit_cosine(np.array([3.0, -1.0]) * f)) == pytest.approx(4 / math.sqrt(20), rel=1e-12)
        assert float(residual_energy_fraction(np.array([3.0, -1.0]) * f)) == pytest.approx(0.2, rel=1e-12)
    assert float(one_bit_cosine([-5.0])) == 1.0 and float(residual_energy_fraction([-5.0])) == 0.0
    # batches of any shape are row by row; a zero row has no direction (nan)
    B = rng.exponential(size=(3, 4, 16)) - 0.3
    B[1, 2] = 0.0
    c3, r3 = one_bit_cosine(B), residual_energy_fraction(B)
    assert c3.shape == r3.shape == (3, 4)
    rows_c = np.array([[float(one_bit_cosine(B[i, j])) for j in range(4)] for i in range(3)])
    rows_r = np.array([[float(residual_energy_fraction(B[i, j])) for j in range(4)] for i in range(3)])
    np.testing.assert_allclose(c3, rows_c, rtol=1e-12)
    np.testing.assert_allclose(r3, rows_r, rtol=1e-12)
    assert np.isnan(c3[1, 2]) and np.isnan(r3[1, 2]) and np.isfinite(np.delete(c3.ravel(), 6)).all()
    np.testing.assert_allclose(r3, 1 - c3**2, atol=1e-12)  # least squares: the floor 1 − cos² is attained
    # the other scale, α = ‖k‖₂/√d, leaves 2(1 − cos θ) ≥ 1 − cos² θ: the least-squares α is the one on the floor
    rn = residual_energy_fraction(B, alpha="norm")
    np.testing.assert_allclose(rn, 2 * (1 - c3), atol=1e-12)
    assert np.all(np.delete(rn.ravel(), 6) >= np.delete(r3.ravel(), 6) - 1e-12)
    for bad in (np.float64(1.0), np.zeros((2, 0))):
        with pytest.raises(ValueError):
            one_bit_cosine(bad)
        with pytest.raises(ValueError):
            residual_energy_fraction(bad)


# ------------------------------------------------------------------ Haar-rotated keys


@pytest.mark.claim("srht_achieves_isotropic_floor", role="corrects")
def test_haar_expected_cosine_decreases_to_the_floor_from_above():
    """E cos θ(Rk) = f(d) = √d Γ(d/2)/(√π Γ((d+1)/2)) for Haar R and any k ≠ 0; f(d+2)/f(d) = √(d(d+2))/(d+1) < 1
    (exact, sympy) and f(d) → √(2/π); hence f(d) > √(2/π) for every d."""
    d = sp.Symbol("d", positive=True)
    f = sp.sqrt(d) * sp.gamma(d / 2) / (sp.sqrt(sp.pi) * sp.gamma((d + 1) / 2))
    ratio = f.subs(d, d + 2) / f
    assert sp.simplify(sp.expand_func(sp.gammasimp(ratio**2 - d * (d + 2) / (d + 1) ** 2))) == 0
    assert sp.simplify((d + 1) ** 2 - d * (d + 2)) == 1  # so ratio < 1
    assert sp.simplify(expected_haar_one_bit_cosine_exact(1)) == 1
    assert sp.simplify(expected_haar_one_bit_cosine_exact(2) - 2 * sp.sqrt(2) / sp.pi) == 0
    lim = float(haar_one_bit_cosine_limit())
    vals = [expected_haar_one_bit_cosine(k) for k in (1, 2, 3, 8, 64, 128, 4096, 10**6, 10**9)]
    assert all(v > lim for v in vals)
    assert all(b < a for a, b in zip(vals, vals[1:]))
    assert abs(vals[-1] - lim) < 1e-9
    with mpmath.workdps(30):
        assert abs(mpmath.sqrt(2 / mpmath.pi) - mpmath.mpf(sp.N(haar_one_bit_cosine_limit(), 35))) < 1e-28


@pytest.mark.claim("srht_achieves_isotropic_floor", role="corrects")
@pytest.mark.parametrize("d", [3, 16])
def test_haar_expected_cosine_monte_carlo(d):
    rng = np.random.default_rng(d)
    U = rng.standard_normal((40_000, d))  # directions uniform on the sphere = Haar images of any fixed k
    c = one_bit_cosine(U)
    se = float(c.std(ddof=1) / math.sqrt(len(c)))
    assert abs(float(c.mean()) - expected_haar_one_bit_cosine(d)) < 4.5 * se


@pytest.mark.claim("gg_shape_for_beta", role="lemma")
def test_generalized_gaussian_beta_and_its_inverse_match_their_definitions():
    """β(p) = Γ(2/p)²/(Γ(1/p)Γ(3/p)) at 30 digits by default (β(1/2) = 36/120, β(1) = 1/2, β(2) = 2/π), p ≤ 0
    refused with ValueError; the inverse returns the p whose β is the target, down to β far below β(10⁻³), and
    refuses exactly β ∉ (0, 3/4) with the family's reason."""
    with mpmath.workdps(40):
        for p, exact in ((0.5, mpmath.mpf(3) / 10), (1, mpmath.mpf(1) / 2), (2, 2 / mpmath.pi)):
            assert abs(beta_generalized_gaussian_mp(p) - exact) < mpmath.mpf(10) ** -28
    for p in (0.5, 2, 3.7):
        assert beta_generalized_gaussian_mp(p) == beta_generalized_gaussian_mp(p, dps=30)
    for p in (0, 0.0, -0.5, -1):
        with pytest.raises(ValueError):
            beta_generalized_gaussian_mp(p)
    for beta in (1e-250, 1e-5, 0.3, 0.5, 2 / math.pi, 0.74):
        p = generalized_gaussian_p_for_beta(beta)
        assert float(beta_generalized_gaussian_mp(p)) == pytest.approx(beta, rel=1e-9)
    assert generalized_gaussian_p_for_beta(0.3) == pytest.approx(0.5, rel=1e-14)
    assert generalized_gaussian_p_for_beta(0.5) == pytest.approx(1.0, rel=1e-14)
    for beta in (0.75, 0.8, 1.0, 0.0, -0.5):
        with pytest.raises(ValueError, match="covers exactly"):
            generalized_gaussian_p_for_beta(beta)

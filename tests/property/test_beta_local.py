"""β near the sign lattice (seed 003 §5): the exact local expansion, the Hessian, and the vanishing gradient."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

from quantproof.math.sign_quant import moment_ratio


def _beta_exact(k: list[Fraction]) -> Fraction:
    d = len(k)
    l1 = sum(abs(x) for x in k)
    return l1 * l1 / (d * sum(x * x for x in k))


@st.composite
def sign_and_perturbation(draw, max_d: int = 10):
    """s ∈ {±1}^d and rational ε with |εᵢ| ≤ 1, so sᵢ(sᵢ + εᵢ) = 1 + sᵢεᵢ ≥ 0: no sign flips (zeros allowed)."""
    d = draw(st.integers(1, max_d))
    s = draw(st.lists(st.sampled_from([-1, 1]), min_size=d, max_size=d))
    eps = [Fraction(draw(st.integers(-64, 64)), 64) / draw(st.sampled_from([1, 1, 3, 50, 1000])) for _ in s]
    return s, eps


@pytest.mark.claim("beta_local_quadratic_expansion")
@given(sign_and_perturbation())
def test_beta_local_expansion_is_exact(se):
    """For s ∈ {±1}^d and ε with sᵢ(sᵢ + εᵢ) ≥ 0 (no sign flips):
    1 − β(s + ε) = (d‖ε‖² − (s·ε)²) / (d‖s + ε‖²) = ‖P_{s⊥} ε‖² / ‖s + ε‖²  (exact rational arithmetic)."""
    s, eps = se
    d = len(s)
    k = [si + ei for si, ei in zip(s, eps)]
    assume(any(x != 0 for x in k))
    ee = sum(e * e for e in eps)
    se_ = sum(a * b for a, b in zip(s, eps))
    kk = sum(x * x for x in k)
    lhs = 1 - _beta_exact(k)
    assert lhs == (d * ee - se_ * se_) / (d * kk)
    proj = [e - se_ * si / d for e, si in zip(eps, s)]  # P_{s⊥} ε
    assert lhs == sum(p * p for p in proj) / kk
    # the quadratic form is PSD (Cauchy–Schwarz: (s·ε)² ≤ ‖s‖²‖ε‖² = d‖ε‖²)
    assert d * ee - se_ * se_ >= 0


@pytest.mark.claim("beta_local_quadratic_expansion", role="lemma")
def test_expansion_needs_the_no_sign_flip_hypothesis():
    s = [1, 1]
    eps = [Fraction(-3, 2), Fraction(0)]  # flips the first coordinate
    k = [si + ei for si, ei in zip(s, eps)]
    d, ee, se_, kk = 2, sum(e * e for e in eps), sum(a * b for a, b in zip(s, eps)), sum(x * x for x in k)
    assert 1 - _beta_exact(k) != (d * ee - se_ * se_) / (d * kk)


@pytest.mark.claim("beta_hessian_nonneg")
@pytest.mark.parametrize("d", [1, 2, 3, 4])
def test_beta_hessian_at_sign_lattice_symbolic(d):
    """Symbolically, at every s ∈ {±1}^d: Hess(1 − β)(s) = (2/d²)(d·I − s sᵀ), eigenvalues 0 (along s) and 2/d."""
    k = sp.symbols(f"k0:{d}", real=True)
    for s in itertools.product([-1, 1], repeat=d):
        # near s no coordinate vanishes, so |kᵢ| = sᵢkᵢ there
        l1 = sum(si * ki for si, ki in zip(s, k))
        gap = 1 - l1**2 / (d * sum(ki**2 for ki in k))
        H = sp.hessian(gap, k).subs(dict(zip(k, s)))
        S = sp.Matrix(s)
        expected = sp.Rational(2, d * d) * (d * sp.eye(d) - S * S.T)
        assert sp.simplify(H - expected) == sp.zeros(d, d)
        grad = sp.Matrix([sp.diff(gap, ki) for ki in k]).subs(dict(zip(k, s)))
        assert grad == sp.zeros(d, 1)
        eig = H.eigenvals()
        assert all(ev >= 0 for ev in eig)
        assert set(eig) <= {0, sp.Rational(2, d)}


@pytest.mark.claim("beta_hessian_nonneg", role="vacuous")
@given(st.lists(st.sampled_from([-1, 1]), min_size=1, max_size=10).flatmap(
    lambda s: st.tuples(st.just(s), st.lists(st.fractions(-20, 20, max_denominator=16), min_size=len(s),
                                             max_size=len(s)))))
def test_psd_hessian_at_a_sign_vector_is_forced_by_beta_at_most_one(args):
    """Why "the Hessian of 1 − β at s is PSD" holds only trivially: 1 − β ≥ 0 everywhere (Cauchy–Schwarz,
    ‖k‖₁² ≤ d‖k‖₂²) and 1 − β(s) = 0, so every sign vector is a global minimiser of 1 − β; 1 − β is smooth near s
    (no coordinate vanishes there, |kᵢ| = sᵢkᵢ). A positive semidefinite Hessian is then the second-order necessary
    condition at a minimum, true of every C² function at every minimiser: it says nothing beyond β ≤ 1. (What has
    content is the value of the Hessian, in beta_last_mile_quadratic_hardness.) Exact rationals."""
    s, k = args
    s = [Fraction(x) for x in s]
    assert _beta_exact(s) == 1
    if any(x != 0 for x in k):
        assert 1 - _beta_exact(k) >= 0
    # smooth near s: within |εᵢ| < 1 no coordinate of s + ε vanishes, and 1 − β is a rational function there
    eps = [x / 41 for x in k]  # |εᵢ| ≤ 20/41 < 1
    assert all((si + ei) * si > 0 for si, ei in zip(s, eps))


@pytest.mark.claim("beta_hessian_nonneg")
@given(st.integers(2, 48), st.integers(0, 2**31))
def test_beta_hessian_psd_numerically(d, seed):
    rng = np.random.default_rng(seed)
    s = torch.tensor(np.where(rng.random(d) < 0.5, -1.0, 1.0), dtype=torch.float64)

    def gap(k):
        return 1 - k.abs().sum() ** 2 / (d * (k * k).sum())

    H = torch.autograd.functional.hessian(gap, s).numpy()
    w = np.linalg.eigvalsh((H + H.T) / 2)
    assert w.min() >= -1e-12
    assert np.allclose(H, 2 / d**2 * (d * np.eye(d) - np.outer(s.numpy(), s.numpy())), atol=1e-12)


@pytest.mark.claim("beta_last_mile_quadratic_hardness")
@given(st.integers(2, 64), st.integers(0, 2**31))
def test_gradient_of_beta_vanishes_like_sqrt_of_the_gap(d, seed):
    """For k with no zero coordinate, ‖∇β(k)‖₂ = 2√(β(1 − β))/‖k‖₂ exactly: as β → 1 the ascent direction vanishes
    like √(1 − β) while 1 − β is quadratic in the distance to the lattice (the "last mile")."""
    rng = np.random.default_rng(seed)
    k0 = rng.standard_normal(d)
    assume(np.min(np.abs(k0)) > 1e-3)
    k = torch.tensor(k0, dtype=torch.float64, requires_grad=True)
    beta = k.abs().sum() ** 2 / (d * (k * k).sum())
    (g,) = torch.autograd.grad(beta, k)
    b = float(beta.detach())
    assert b == pytest.approx(float(moment_ratio(k0)), rel=1e-12)
    # β is the moment ratio of each row on its own, at any scale; a zero row has none; a scalar or d = 0 is refused
    rows = moment_ratio(np.stack([k0, 1e-250 * k0[::-1], 1e250 * k0, np.zeros(d)]))
    np.testing.assert_allclose(rows[:3], [b, float(moment_ratio(k0[::-1])), b], rtol=1e-12)
    assert math.isnan(rows[3])
    with pytest.raises(ValueError, match="at least one axis"):
        moment_ratio(1.0)
    with pytest.raises(ValueError, match="d >= 1"):
        moment_ratio(np.zeros((2, 0)))
    assert float(g.norm()) == pytest.approx(2 * math.sqrt(b * max(1 - b, 0.0)) / float(np.linalg.norm(k0)),
                                            rel=1e-9, abs=1e-14)


@pytest.mark.claim("beta_last_mile_quadratic_hardness")
@given(st.integers(2, 64), st.integers(0, 2**31))
def test_gap_is_quadratic_along_every_path_into_the_lattice(d, seed):
    """Along s + tε (t → 0): (1 − β)/t² → ‖P_{s⊥}ε‖²/d and ‖∇β‖/t → 2‖P_{s⊥}ε‖/d (linear in t)."""
    rng = np.random.default_rng(seed)
    s = np.where(rng.random(d) < 0.5, -1.0, 1.0)
    eps = rng.standard_normal(d)
    p = eps - (s @ eps) / d * s
    for t in (1e-2, 1e-3):
        k = s + t * eps
        gap = 1 - float(moment_ratio(k))
        tol = 10 * t * (1 + np.abs(eps).max())
        assert gap / t**2 == pytest.approx(float(p @ p) / d, rel=tol, abs=1e-7)
        kt = torch.tensor(k, requires_grad=True)
        (g,) = torch.autograd.grad(kt.abs().sum() ** 2 / (d * (kt * kt).sum()), kt)
        assert float(g.norm()) / t == pytest.approx(2 * float(np.linalg.norm(p)) / d, rel=tol, abs=1e-6)

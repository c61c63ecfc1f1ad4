"""1-bit (sign) quantization of vectors and the moment ratio β = μ₁²/μ₂.

Conventions (docs/CONTRIBUTING.md §4):

* ``sgn(x) = +1`` for ``x >= 0`` (so ``sgn(0) = sgn(-0.0) = +1``), ``-1`` otherwise;
* ``Q(k) = α · sgn(k)`` with the least-squares scale ``α = ‖k‖₁ / d`` (``alpha="l1"``) or, named explicitly,
  the norm-preserving scale ``α = ‖k‖₂ / √d`` (``alpha="norm"``);
* ``cos θ_k = ‖k‖₁ / (√d ‖k‖₂)``; ``nan`` for ``k = 0``;
* ``β(k) = μ₁²/μ₂ = cos² θ_k`` per vector; the pooled β of a set uses the pooled moments of all coordinates.

Vectors are the rows of the last axis: a batch of keys is an ``(n, d)`` array. Every function accepts any
leading shape. Inputs must be finite; rows are rescaled by their largest magnitude before norms are taken, so
huge (1e300) and tiny (subnormal) scales give the same cosines as unit-scale vectors.

Closed forms of β for distributions are returned as sympy expressions (exact) or mpmath numbers.
"""

from __future__ import annotations

from typing import Literal

import mpmath
import numpy as np
import sympy as sp
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "sgn",
    "one_bit_quantize",
    "one_bit_scale",
    "one_bit_cosine",
    "moment_ratio",
    "pooled_moment_ratio",
    "energy_weighted_moment_ratio",
    "residual_energy_fraction",
    "beta_gaussian",
    "beta_laplace",
    "beta_uniform",
    "beta_rademacher",
    "beta_generalized_gaussian",
    "beta_generalized_gaussian_mp",
    "generalized_gaussian_p_for_beta",
    "moment_ratio_of_density",
    "expected_haar_one_bit_cosine",
    "expected_haar_one_bit_cosine_exact",
    "haar_one_bit_cosine_limit",
    "ISOTROPIC_COSINE_FLOOR",
    "GG_BETA_SUPREMUM",
]

Alpha = Literal["l1", "norm"]


def _as_float_array(x: ArrayLike) -> NDArray[np.float64]:
    a = np.asarray(x)
    if a.dtype.kind == "c":
        raise TypeError("complex input is not supported")
    a = a.astype(np.float64, copy=False)
    if not np.all(np.isfinite(a)):
        raise ValueError("input must be finite (no nan/inf)")
    return a


def _rows(x: ArrayLike) -> NDArray[np.float64]:
    a = _as_float_array(x)
    if a.ndim == 0:
        raise ValueError("expected at least one axis (vectors along the last axis)")
    if a.shape[-1] == 0:
        raise ValueError("vectors must have d >= 1 coordinates")
    return a


def _scaled(a: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Rows divided by their max-abs (1 for zero rows) and that scale, keeping dims."""
    m = np.max(np.abs(a), axis=-1, keepdims=True)
    safe = np.where(m > 0, m, 1.0)
    return a / safe, m


def sgn(x: ArrayLike) -> NDArray[np.float64]:
    """Elementwise sign with ``sgn(x) = +1`` for ``x >= 0`` (including ``-0.0``) and ``-1`` otherwise."""
    a = np.asarray(x, dtype=np.float64)
    if np.any(np.isnan(a)):
        raise ValueError("sgn of nan is undefined")
    return np.where(a >= 0, 1.0, -1.0)


def one_bit_scale(K: ArrayLike, alpha: Alpha = "l1") -> NDArray[np.float64]:
    """The per-row scale α (shape ``(..., 1)``): ``‖k‖₁/d`` (least squares) or ``‖k‖₂/√d`` (``"norm"``)."""
    a = _rows(K)
    d = a.shape[-1]
    s, m = _scaled(a)
    if alpha == "l1":
        return m * (np.sum(np.abs(s), axis=-1, keepdims=True) / d)
    if alpha == "norm":
        return m * (np.sqrt(np.sum(s * s, axis=-1, keepdims=True)) / np.sqrt(d))
    raise ValueError(f"alpha must be 'l1' or 'norm', got {alpha!r}")


def one_bit_quantize(K: ArrayLike, alpha: Alpha = "l1") -> NDArray[np.float64]:
    """``Q(k) = α · sgn(k)`` row by row (zero rows map to zero)."""
    a = _rows(K)
    return one_bit_scale(a, alpha) * sgn(a)


def one_bit_cosine(K: ArrayLike) -> NDArray[np.float64]:
    """``‖k‖₁ / (√d ‖k‖₂)`` per row; ``nan`` for a zero row. Independent of the (positive) scale α."""
    a = _rows(K)
    d = a.shape[-1]
    s, m = _scaled(a)
    l1 = np.sum(np.abs(s), axis=-1)
    l2 = np.sqrt(np.sum(s * s, axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        c = l1 / (np.sqrt(d) * l2)
    c = np.where(m[..., 0] > 0, np.minimum(c, 1.0), np.nan)
    return c


def moment_ratio(K: ArrayLike) -> NDArray[np.float64]:
    """β(k) = μ₁²/μ₂ per row (= cos² θ_k); ``nan`` for a zero row."""
    a = _rows(K)
    s, m = _scaled(a)
    mu1 = np.mean(np.abs(s), axis=-1)
    mu2 = np.mean(s * s, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        b = mu1 * mu1 / mu2
    return np.where(m[..., 0] > 0, np.minimum(b, 1.0), np.nan)


def pooled_moment_ratio(K: ArrayLike) -> float:
    """β of all coordinates pooled: ``(mean |K|)² / mean K²`` over every entry.

    ``nan`` if all are zero, and for an empty set (no vectors: both means are 0/0).
    """
    a = _rows(K)
    if a.size == 0:
        return float("nan")
    m = float(np.max(np.abs(a)))
    if m == 0.0:
        return float("nan")
    s = a / m
    mu1 = float(np.mean(np.abs(s)))
    mu2 = float(np.mean(s * s))
    return min(mu1 * mu1 / mu2, 1.0)


def energy_weighted_moment_ratio(K: ArrayLike) -> float:
    """Σᵢ β(kᵢ)‖kᵢ‖² / Σᵢ ‖kᵢ‖² = 1 − (total 1-bit residual energy)/(total energy), least-squares α.

    This is the β₁ᵦ for which β_eff = 1 − (1−β₁ᵦ)(1−γ_r) is an exact energy identity (see ``lowrank``). By
    Cauchy–Schwarz it is ≥ :func:`pooled_moment_ratio` (equality iff all rows have the same ℓ1 norm).
    ``nan`` if all rows are zero, and for an empty set (no vectors: 0/0), like :func:`pooled_moment_ratio`.
    """
    a = _rows(K)
    a = a.reshape(-1, a.shape[-1])
    if a.shape[0] == 0:
        return float("nan")
    m = float(np.max(np.abs(a)))
    if m == 0.0:
        return float("nan")
    s = a / m
    d = s.shape[-1]
    l1sq = np.sum(np.abs(s), axis=-1) ** 2
    e = np.sum(s * s)
    return float(min(np.sum(l1sq) / (d * e), 1.0))


def residual_energy_fraction(K: ArrayLike, alpha: Alpha = "l1") -> NDArray[np.float64]:
    """``‖k − Q(k)‖² / ‖k‖²`` per row, computed directly from the residual (``nan`` for zero rows).

    With the least-squares α this equals sin² θ_k = 1 − β(k); with ``alpha="norm"`` it equals 2(1 − cos θ_k).
    """
    a = _rows(K)
    s, m = _scaled(a)
    q = one_bit_quantize(s, alpha)
    r = s - q
    num = np.sum(r * r, axis=-1)
    den = np.sum(s * s, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        f = num / den
    return np.where(m[..., 0] > 0, f, np.nan)


# --------------------------------------------------------------------------------------------------------------
# Closed forms for distributions: β = (E|X|)² / E X²
# --------------------------------------------------------------------------------------------------------------


def beta_gaussian() -> sp.Expr:
    """β of N(0, σ²): 2/π (exact)."""
    return 2 / sp.pi


def beta_laplace() -> sp.Expr:
    """β of a Laplace law: 1/2 (exact)."""
    return sp.Rational(1, 2)


def beta_uniform() -> sp.Expr:
    """β of U[−a, a]: 3/4 (exact)."""
    return sp.Rational(3, 4)


def beta_rademacher() -> sp.Expr:
    """β of ±1 with equal probability (the sign lattice): 1."""
    return sp.Integer(1)


def beta_generalized_gaussian(p: sp.Expr | int | float | str) -> sp.Expr:
    """β of the symmetric generalized Gaussian with density ∝ exp(−|x|^p), p > 0 (exact sympy expression).

    E|X| = Γ(2/p)/Γ(1/p), E X² = Γ(3/p)/Γ(1/p), so β(p) = Γ(2/p)² / (Γ(1/p) Γ(3/p)).
    ``p`` given as a string or int is made rational exactly (``"1/2"``).
    """
    pp = sp.nsimplify(p) if not isinstance(p, sp.Expr) else p
    if pp.is_positive is False:
        raise ValueError("p must be > 0")
    return sp.simplify(sp.gamma(2 / pp) ** 2 / (sp.gamma(1 / pp) * sp.gamma(3 / pp)))


def beta_generalized_gaussian_mp(p: float | mpmath.mpf, dps: int = 30) -> mpmath.mpf:
    """β(p) of the generalized Gaussian evaluated with mpmath (log-gamma, stable for large and small p)."""
    with mpmath.workdps(dps):
        p = mpmath.mpf(p)
        if p <= 0:
            raise ValueError("p must be > 0")
        return mpmath.exp(2 * mpmath.loggamma(2 / p) - mpmath.loggamma(1 / p) - mpmath.loggamma(3 / p))


GG_BETA_SUPREMUM = sp.Rational(3, 4)
"""sup over p of β(p): 3/4, approached as p → ∞ (uniform law) and never attained by a finite p. More generally
β ≤ 3/4 for every symmetric unimodal law (|X| is a mixture of uniforms [0, a])."""


def generalized_gaussian_p_for_beta(beta: float, dps: int = 30) -> float:
    """The exponent p with β(p) = beta. Exists only for 0 < beta < 3/4 (β is increasing in p with range (0, 3/4)).

    Raises ValueError otherwise: in particular no generalized Gaussian has β ∈ [3/4, 1].
    """
    if not (0.0 < beta < 0.75):
        raise ValueError(f"no generalized Gaussian has β = {beta}: the family covers exactly (0, 3/4)")
    with mpmath.workdps(dps):
        target = mpmath.mpf(beta)
        lo, hi = mpmath.mpf("1e-3"), mpmath.mpf(2)
        while beta_generalized_gaussian_mp(lo, dps) > target:
            lo /= 2
        while beta_generalized_gaussian_mp(hi, dps) < target:
            hi *= 2
            if hi > 1e30:
                raise ValueError("β too close to 3/4 to resolve")
        for _ in range(400):  # bisection in log p: monotone, robust
            mid = mpmath.sqrt(lo * hi)
            if beta_generalized_gaussian_mp(mid, dps) < target:
                lo = mid
            else:
                hi = mid
            if hi / lo - 1 < mpmath.mpf(10) ** (-(dps - 5)):
                break
        return float(mpmath.sqrt(lo * hi))


def moment_ratio_of_density(density: sp.Expr, x: sp.Symbol, lower: sp.Expr = -sp.oo,
                            upper: sp.Expr = sp.oo) -> sp.Expr:
    """Exact (E|X|)²/E X² of a (not necessarily normalised) density on [lower, upper], lower ≤ 0 ≤ upper.

    The integral is split at 0 and each half is written with a positive dummy t, so |x| and sign-dependent
    pieces (``Abs``, ``Piecewise``) simplify; the result is simplified by sympy.
    """
    lower, upper = sp.sympify(lower), sp.sympify(upper)
    if (lower > 0) == sp.true or (upper < 0) == sp.true:
        raise ValueError("need lower <= 0 <= upper")
    t = sp.Symbol("t", positive=True)
    f_pos = density.subs(x, t)
    f_neg = density.subs(x, -t)

    def both(g: sp.Expr) -> sp.Expr:
        out = sp.Integer(0)
        if upper != 0:
            out += sp.integrate(g * f_pos, (t, 0, upper))
        if lower != 0:
            out += sp.integrate(g * f_neg, (t, 0, -lower))
        return out

    z, m1, m2 = both(sp.Integer(1)), both(t), both(t**2)
    return sp.simplify((m1 / z) ** 2 / (m2 / z))


# --------------------------------------------------------------------------------------------------------------
# Haar-rotated keys: E cos θ for a uniform direction on S^{d-1}
# --------------------------------------------------------------------------------------------------------------


def expected_haar_one_bit_cosine_exact(d: int) -> sp.Expr:
    """E cos θ(Rk) for Haar R (equivalently k uniform on the sphere), exact:
    √d · Γ(d/2) / (√π · Γ((d+1)/2)).  (E|u₁| = Γ(d/2)/(√π Γ((d+1)/2)) for u uniform on S^{d−1}.)"""
    if int(d) != d or d < 1:
        raise ValueError("d must be a positive integer")
    dd = sp.Integer(int(d))
    return sp.sqrt(dd) * sp.gamma(dd / 2) / (sp.sqrt(sp.pi) * sp.gamma((dd + 1) / 2))


def expected_haar_one_bit_cosine(d: int, dps: int = 30) -> float:
    """Float value of :func:`expected_haar_one_bit_cosine_exact` (mpmath log-gamma, any d)."""
    if int(d) != d or d < 1:
        raise ValueError("d must be a positive integer")
    with mpmath.workdps(dps):
        dd = mpmath.mpf(int(d))
        v = mpmath.sqrt(dd / mpmath.pi) * mpmath.exp(mpmath.loggamma(dd / 2) - mpmath.loggamma((dd + 1) / 2))
        return float(v)


def haar_one_bit_cosine_limit() -> sp.Expr:
    """lim_{d→∞} E cos θ = √(2/π)."""
    return sp.sqrt(2 / sp.pi)


ISOTROPIC_COSINE_FLOOR: float = float(np.sqrt(2.0 / np.pi))
"""√(2/π) ≈ 0.7978845608, the large-d cosine of a Gaussian (isotropic) key."""

"""Synthetic inputs with a known property, planted by construction: the should-hold controls of the spectral and
reconstruction measurements (docs/REFEREE.md, rule 1).

* :func:`geometric_spectrum`: λᵢ ∝ rⁱ (i = 0 … d−1), normalised to Σλ = 1.
* :func:`geometric_ratio_for_pr`: the ratio r whose geometric spectrum of length d has participation ratio
  (Σλ)²/Σλ² equal to a target (bisection; PR grows from 1 at r → 0 to d at r → 1).
* :func:`geometric_ratio_for_k`: the ratio r whose cumulative share C(x) = (1 − rˣ)/(1 − rᵈ) reaches ``frac`` at
  x = k − ½, so that the smallest integer k with C(k) ≥ frac is k (the crossing sits mid-way between k−1 and k).
* :func:`planted_gaussian`: n Gaussian rows whose population covariance has eigenvalues λ along a random orthonormal
  basis (Haar) or the coordinate axes, so a sample of them has (up to sampling noise) the planted spectrum.
Pure functions; randomness only from the generator passed in.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .rotations import haar_orthogonal

__all__ = ["geometric_spectrum", "geometric_ratio_for_pr", "geometric_ratio_for_k", "planted_gaussian"]


def geometric_spectrum(d: int, ratio: float) -> NDArray[np.float64]:
    """The eigenvalues λ_i ∝ ratio**i, i = 0..d−1, normalised to sum 1 (largest first); ``ratio`` in (0, 1]
    (1 gives the isotropic spectrum). Refuses d < 1 and a ratio outside (0, 1]."""
    if d < 1:
        raise ValueError("d must be >= 1")
    if not 0.0 < ratio <= 1.0:
        raise ValueError("ratio must be in (0, 1]")
    lam = ratio ** np.arange(d, dtype=np.float64)
    return lam / lam.sum()


def _pr(lam: NDArray[np.float64]) -> float:
    return float(lam.sum() ** 2 / np.sum(lam * lam))


def _bisect(f, target: float, lo: float = 1e-12, hi: float = 1.0, iters: int = 200) -> float:
    """The r in [lo, hi] with f(r) = target for an increasing f."""
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        if f(mid) < target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def geometric_ratio_for_pr(pr: float, d: int) -> float:
    """Ratio r of a length-d geometric spectrum with participation ratio ``pr`` (1 ≤ pr < d)."""
    if not 1.0 <= pr < d:
        raise ValueError(f"a participation ratio of {pr} is not attainable in {d} dimensions (need 1 <= pr < d)")
    return _bisect(lambda r: _pr(geometric_spectrum(d, r)), pr, hi=1.0 - 1e-15)


def geometric_ratio_for_k(k: float, frac: float, d: int) -> float:
    """Ratio r of a length-d geometric spectrum whose cumulative share reaches ``frac`` at x = k − ½ (so the smallest
    integer k' with C(k') ≥ frac is k). Needs 1 ≤ k < d, 0 < frac < 1 and k − ½ < frac·d (even a flat spectrum
    reaches ``frac`` at frac·d)."""
    if not (1 <= k < d and 0.0 < frac < 1.0):
        raise ValueError("need 1 <= k < d and 0 < frac < 1")
    if k - 0.5 >= frac * d:
        raise ValueError(f"no decreasing spectrum of length {d} first reaches {frac} at k = {k}")
    x = float(k) - 0.5

    def share(r: float) -> float:  # C(x) decreases in r: bisect on −C
        return -(1.0 - r ** x) / (1.0 - r ** d)

    return _bisect(share, -frac, hi=1.0 - 1e-12)


def planted_gaussian(n: int, lam: ArrayLike, rng: np.random.Generator, *, rotate: bool = True) -> NDArray[np.float64]:
    """(n, d) rows ~ N(0, Q diag(λ) Qᵀ) with Q a Haar-random orthogonal matrix (``rotate=False``: Q = I, the
    eigenvectors along the coordinate axes; eigenvalue statistics such as PR, C(k), k95 do not depend on Q)."""
    lam = np.asarray(lam, dtype=np.float64)
    if lam.ndim != 1 or np.any(lam < 0) or not np.all(np.isfinite(lam)):
        raise ValueError("lam must be a finite non-negative vector")
    d = lam.shape[0]
    Z = rng.standard_normal((n, d)) * np.sqrt(lam)[None, :]
    return Z @ haar_orthogonal(d, rng).T if rotate else Z

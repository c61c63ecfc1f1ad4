"""Baseline quantizers from the literature (REFERENCES.md): Lloyd–Max for N(0, 1), TurboQuant-style rotation +
per-coordinate Lloyd–Max, and the QJL 1-bit inner-product estimator.

* Lloyd–Max (b bits, 2^b levels): alternate thresholds = midpoints of levels and levels = conditional means
  E[X | tᵢ < X ≤ tᵢ₊₁] = (φ(tᵢ) − φ(tᵢ₊₁)) / (Φ(tᵢ₊₁) − Φ(tᵢ)); distortion D = 1 − Σ Pᵢ cᵢ² at a fixed point.
  Computed numerically here; REFERENCES.md lists D = 0.3634, 0.1175, 0.0345, 0.0095 for b = 1..4.
* TurboQuant (arXiv 2504.19874): x ↦ R x/‖x‖ for a Haar R, quantize each coordinate (≈ N(0, 1/d)) with the
  Lloyd–Max codebook scaled by 1/√d, store ‖x‖; MSE of a unit vector ≈ D(b) ≤ (√3·π/2)·4^(−b).
* QJL (arXiv 2406.03482): store sgn(S k) and ‖k‖ (S: m×d Gaussian); estimate ⟨q, k⟩ by
  √(π/2)/m · ‖k‖ · ⟨S q, sgn(S k)⟩, unbiased, variance ≤ (π/2m)‖q‖²‖k‖².
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr

from .rotations import haar_orthogonal
from .sign_quant import sgn

__all__ = [
    "LloydMax",
    "lloyd_max_gaussian",
    "scalar_quantize",
    "TurboQuantMSE",
    "turboquant_upper_bound",
    "QJL",
]


def _phi(t: NDArray[np.float64]) -> NDArray[np.float64]:
    with np.errstate(over="ignore", under="ignore"):
        return np.where(np.isfinite(t), np.exp(-0.5 * np.where(np.isfinite(t), t, 0.0) ** 2) / math.sqrt(2 * math.pi), 0.0)


@dataclass(frozen=True)
class LloydMax:
    """A scalar codebook for N(0, 1): ``levels`` (ascending, 2^b), ``thresholds`` (2^b − 1 midpoints), distortion."""

    bits: int
    levels: NDArray[np.float64]
    thresholds: NDArray[np.float64]
    distortion: float
    iterations: int

    def quantize(self, x: ArrayLike) -> NDArray[np.int64]:
        return np.searchsorted(self.thresholds, np.asarray(x, dtype=np.float64), side="left").astype(np.int64)

    def dequantize(self, idx: ArrayLike) -> NDArray[np.float64]:
        return self.levels[np.asarray(idx)]


def _cell_stats(levels: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    t = (levels[1:] + levels[:-1]) / 2
    edges = np.concatenate([[-np.inf], t, [np.inf]])
    P = ndtr(edges[1:]) - ndtr(edges[:-1])
    phi = _phi(edges)
    means = (phi[:-1] - phi[1:]) / P
    return t, P, means


def lloyd_max_gaussian(bits: int, tol: float = 1e-13, max_iter: int = 200_000) -> LloydMax:
    """Lloyd–Max quantizer of N(0, 1) with 2^bits levels (symmetric initialisation at quantile midpoints)."""
    if not 1 <= bits <= 8:
        raise ValueError("bits must be in 1..8")
    L = 2**bits
    from scipy.special import ndtri

    levels = ndtri((np.arange(L) + 0.5) / L)
    it = 0
    for it in range(1, max_iter + 1):
        _, _, new = _cell_stats(levels)
        new = (new - new[::-1]) / 2  # enforce exact symmetry
        delta = float(np.max(np.abs(new - levels)))
        levels = new
        if delta < tol:
            break
    t, P, means = _cell_stats(levels)
    D = float(1.0 - np.sum(P * means * means))
    return LloydMax(bits, levels, t, D, it)


def scalar_quantize(x: ArrayLike, q: LloydMax, scale: float = 1.0) -> NDArray[np.float64]:
    """scale · Q(x / scale) with a Lloyd–Max codebook."""
    x = np.asarray(x, dtype=np.float64)
    return scale * q.dequantize(q.quantize(x / scale))


def turboquant_upper_bound(bits: int) -> float:
    """(√3·π/2)·4^(−b): TurboQuant's MSE bound for unit vectors (REFERENCES.md)."""
    return math.sqrt(3) * math.pi / 2 * 4.0 ** (-bits)


@dataclass
class TurboQuantMSE:
    """Haar rotation + per-coordinate Gaussian Lloyd–Max (scaled by 1/√d) + stored norm."""

    d: int
    bits: int
    rng: np.random.Generator | int | None = None
    R: NDArray[np.float64] = field(init=False)
    codebook: LloydMax = field(init=False)

    def __post_init__(self) -> None:
        self.R = haar_orthogonal(self.d, self.rng)
        self.codebook = lloyd_max_gaussian(self.bits)

    def quantize(self, X: ArrayLike) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        X = np.asarray(X, dtype=np.float64)
        n = np.linalg.norm(X, axis=-1, keepdims=True)
        U = np.where(n > 0, X / np.where(n > 0, n, 1.0), 0.0) @ self.R.T
        return self.codebook.quantize(U * math.sqrt(self.d)), n[..., 0]

    def dequantize(self, idx: ArrayLike, norms: ArrayLike) -> NDArray[np.float64]:
        U = self.codebook.dequantize(idx) / math.sqrt(self.d)
        return (U @ self.R) * np.asarray(norms)[..., None]

    def roundtrip(self, X: ArrayLike) -> NDArray[np.float64]:
        return self.dequantize(*self.quantize(X))


@dataclass
class QJL:
    """1-bit Johnson–Lindenstrauss sketch of keys with an unbiased inner-product estimator (queries unquantized)."""

    d: int
    m: int
    rng: np.random.Generator | int | None = None
    S: NDArray[np.float64] = field(init=False)

    def __post_init__(self) -> None:
        g = self.rng if isinstance(self.rng, np.random.Generator) else np.random.default_rng(self.rng)
        self.S = g.standard_normal((self.m, self.d))

    def encode(self, K: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        K = np.asarray(K, dtype=np.float64)
        return sgn(K @ self.S.T), np.linalg.norm(K, axis=-1)

    def estimate(self, Q: ArrayLike, code: tuple[NDArray[np.float64], NDArray[np.float64]]) -> NDArray[np.float64]:
        """Estimates of ⟨qᵢ, kⱼ⟩ (shape (n_q, n_k))."""
        signs, norms = code
        Q = np.asarray(Q, dtype=np.float64)
        return math.sqrt(math.pi / 2) / self.m * (Q @ self.S.T) @ signs.T * norms[None, :]

    @staticmethod
    def variance_bound(q: ArrayLike, k: ArrayLike, m: int) -> float:
        q = np.asarray(q, dtype=np.float64)
        k = np.asarray(k, dtype=np.float64)
        return math.pi / (2 * m) * float(q @ q) * float(k @ k)

"""Low-rank and sparse corrections of a 1-bit residual, their energy accounting and their bit costs.

Residuals are rows: ``E`` is ``(n, d)``; a rank-r correction is the orthogonal projection of every residual row
onto an r-dimensional subspace spanned by orthonormal columns ``V`` (d×r): ``E ↦ E V Vᵀ``.

* ``γ_r(E, V) = ‖E V‖_F² / ‖E‖_F²`` (energy captured); the best V (Ky Fan) is the top-r right singular vectors
  and then ``γ_r = Σ_{i≤r} σᵢ² / Σ σᵢ²`` (:func:`gamma_r`); the best rank-r approximation of E in Frobenius norm
  (Eckart–Young) is the truncated SVD with error² ``Σ_{i>r} σᵢ²``.
* ``β_eff = 1 − (1 − β₁ᵦ)(1 − γ_r)`` is the fraction of key energy recovered by "1-bit + rank-r correction" exactly
  when (i) the 1-bit scale is least squares, (ii) β₁ᵦ is the energy-weighted β (Σβᵢ‖kᵢ‖²/Σ‖kᵢ‖²), (iii) the
  correction is an orthogonal projection of the residual and γ_r is the energy fraction it captures
  (:func:`recovered_energy_fraction` computes the left-hand side directly).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .sign_quant import one_bit_quantize

__all__ = [
    "singular_values",
    "gamma_r",
    "gamma_r_of_basis",
    "gamma_r_streamed",
    "StreamedGram",
    "top_r_basis",
    "truncated_svd",
    "eckart_young_error",
    "ky_fan_energy",
    "beta_eff",
    "rank_r_correct",
    "recovered_energy_fraction",
    "topk_sparsify",
    "topk_energy_fraction",
    "best_k_sparse_bruteforce",
    "one_bit_bits_per_coordinate",
    "topk_bits_per_coordinate",
    "rank_r_bits_per_coordinate",
]


def _mat(E: ArrayLike) -> NDArray[np.float64]:
    a = np.asarray(E, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError("expected an (n, d) matrix")
    if not np.all(np.isfinite(a)):
        raise ValueError("matrix must be finite")
    return a


def singular_values(E: ArrayLike) -> NDArray[np.float64]:
    """Singular values of the (n, d) matrix E (rows are samples), in decreasing order, float64."""
    return np.linalg.svd(_mat(E), compute_uv=False)


_ENERGY_LO = 2.0 ** -960
"""Sums of squares at or above this (and finite) are computed unscaled: the squares that underflow below it change
the sum by a relative 2⁻¹⁰⁰ at most. Outside [2⁻⁹⁶⁰, ∞) the ratios below rescale first (they are scale invariant)."""


def _ordinary_energy(tot: float) -> bool:
    return _ENERGY_LO <= tot < math.inf


def gamma_r(residual: ArrayLike, r: int) -> float:
    """Σ_{i≤r} σᵢ² / Σ σᵢ² of the residual matrix (exact SVD); 1 for r ≥ rank.

    ``nan`` for a zero matrix and for an empty one (no rows). Non-finite entries raise ``ValueError`` (finite).
    The ratio is scale invariant: when Σσᵢ² would overflow or underflow (σ₁ above about 1e154 or below about
    1e-145) the singular values are divided by σ₁ first, so a nonzero matrix never gives ``nan``; ordinary magnitudes are
    computed unscaled, exactly as Σ_{i≤r} σᵢ² / Σ σᵢ².
    """
    if r < 0:
        raise ValueError("r must be >= 0")
    s = singular_values(residual)
    with np.errstate(over="ignore", under="ignore"):
        tot = float(np.sum(s * s))
    if _ordinary_energy(tot):
        return float(np.sum(s[:r] ** 2) / tot)
    if s.size == 0 or s[0] == 0.0:  # descending: s[0] = σ₁ = 0 iff E = 0
        return float("nan")
    p = s / s[0]
    return float(np.sum(p[:r] ** 2) / np.sum(p * p))


def gamma_r_of_basis(residual: ArrayLike, V: ArrayLike) -> float:
    """‖E V‖_F² / ‖E‖_F² for a basis V with orthonormal columns (any subspace, not only the optimal one).

    ``nan`` for a zero (or empty) E; non-finite E raises ``ValueError``. Like :func:`gamma_r`, E is divided by
    its largest magnitude first only when ‖E‖_F² would overflow or underflow.
    """
    E = _mat(residual)
    V = np.asarray(V, dtype=np.float64)
    with np.errstate(over="ignore", under="ignore"):
        tot = float(np.sum(E * E))
    if not _ordinary_energy(tot):
        m = float(np.max(np.abs(E), initial=0.0))
        if m == 0.0:
            return float("nan")
        E = E / m
        tot = float(np.sum(E * E))
    return float(np.sum((E @ V) ** 2) / tot)


class StreamedGram:
    """Accumulates G = Σ_b E_bᵀ E_b (d×d, float64) over row blocks; γ_r and the top-r basis are exact from G.

    The eigendecomposition of G is computed once and reused by :meth:`gamma_r`, :meth:`top_r_basis` and
    :meth:`eigh` until G changes (:meth:`add`), so γ_r for several r costs one ``eigh``.
    """

    def __init__(self, d: int) -> None:
        self.d = d
        self.G = np.zeros((d, d), dtype=np.float64)
        self.rows = 0
        self._eig: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None
        self._eig_of: NDArray[np.float64] | None = None  # the G the cached decomposition belongs to

    def add(self, block: ArrayLike) -> None:
        B = np.asarray(block, dtype=np.float64)
        if B.ndim == 1:
            B = B[None, :]
        if B.shape[1] != self.d:
            raise ValueError(f"block has {B.shape[1]} columns, expected {self.d}")
        self.G += B.T @ B
        self.rows += B.shape[0]
        self._eig = self._eig_of = None

    def _decomposition(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The (cached) eigendecomposition of G: one ``eigh`` per state of G, however many r are asked for.

        :meth:`add` drops the cache; a G changed in place by a caller (it is a public attribute) is caught by
        comparing with the copy the cache was computed from (O(d²), against the O(d³) of ``eigh``).
        """
        if self._eig is None or self._eig_of is None or not np.array_equal(self._eig_of, self.G):
            w, U = np.linalg.eigh((self.G + self.G.T) / 2)
            order = np.argsort(w)[::-1]
            self._eig = (np.clip(w[order], 0.0, None), U[:, order])
            self._eig_of = self.G.copy()
        return self._eig

    def eigh(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Eigenvalues of G (descending, clipped at 0) and their eigenvectors (columns); fresh copies each call."""
        w, U = self._decomposition()
        return w.copy(), U.copy()

    def gamma_r(self, r: int) -> float:
        w, _ = self._decomposition()
        tot = float(np.trace(self.G))
        if tot == 0.0:
            return float("nan")
        return float(np.sum(w[:r]) / tot)

    def top_r_basis(self, r: int) -> NDArray[np.float64]:
        return self._decomposition()[1][:, :r].copy()


def gamma_r_streamed(chunks: Iterable[ArrayLike], r: int, d: int | None = None) -> float:
    """γ_r of the row-stacked residual from an iterable of row blocks, via the accumulated d×d Gram matrix.

    Memory is O(d²) whatever the number of rows (e.g. 180k × 2816 expert residuals never materialised).
    """
    acc: StreamedGram | None = StreamedGram(d) if d is not None else None
    for block in chunks:
        B = np.asarray(block, dtype=np.float64)
        if B.ndim == 1:
            B = B[None, :]
        if acc is None:
            acc = StreamedGram(B.shape[1])
        acc.add(B)
    if acc is None:
        raise ValueError("no chunks")
    return acc.gamma_r(r)


def top_r_basis(residual: ArrayLike, r: int) -> NDArray[np.float64]:
    """The top-r right singular vectors (d×r, orthonormal columns)."""
    _, _, Vt = np.linalg.svd(_mat(residual), full_matrices=False)
    return Vt[:r].T


def truncated_svd(E: ArrayLike, r: int) -> NDArray[np.float64]:
    """The best rank-r approximation U_r Σ_r V_rᵀ."""
    U, s, Vt = np.linalg.svd(_mat(E), full_matrices=False)
    return (U[:, :r] * s[:r]) @ Vt[:r]


def eckart_young_error(E: ArrayLike, r: int) -> float:
    """min over rank ≤ r matrices A of ‖E − A‖_F² = Σ_{i>r} σᵢ²."""
    s = singular_values(E)
    return float(np.sum(s[r:] ** 2))


def ky_fan_energy(E: ArrayLike, r: int) -> float:
    """max over orthonormal V (d×r) of ‖E V‖_F² = Σ_{i≤r} σᵢ² (Ky Fan)."""
    s = singular_values(E)
    return float(np.sum(s[:r] ** 2))


def beta_eff(beta_1b: ArrayLike, gamma: ArrayLike) -> float | NDArray[np.float64]:
    """β_eff = 1 − (1 − β₁ᵦ)(1 − γ_r) (elementwise; a float for scalar inputs)."""
    out = 1.0 - (1.0 - np.asarray(beta_1b, dtype=np.float64)) * (1.0 - np.asarray(gamma, dtype=np.float64))
    return float(out) if out.ndim == 0 else out


def rank_r_correct(K: ArrayLike, V: ArrayLike, *, alpha: Literal["l1", "norm"] = "l1",
                   scale: float = 1.0) -> NDArray[np.float64]:
    """Reconstruction ``Q(k) + scale · P_V (k − Q(k))`` row by row (``scale=1``: orthogonal projection)."""
    K = _mat(K)
    V = np.asarray(V, dtype=np.float64)
    Q = one_bit_quantize(K, alpha)
    E = K - Q
    return Q + scale * (E @ V) @ V.T


def recovered_energy_fraction(K: ArrayLike, K_hat: ArrayLike) -> float:
    """1 − Σ‖kᵢ − k̂ᵢ‖² / Σ‖kᵢ‖² (computed directly).

    ``K_hat`` must have K's shape (no broadcasting); both must be finite (``ValueError`` otherwise). ``nan`` when K
    is all zero or empty (there is no energy to recover), whatever K_hat is. When a sum of squares would overflow
    or underflow, both matrices are divided by K's largest magnitude first (the ratio is scale invariant), so
    the result stays finite unless the error energy exceeds K's by more than the float range (then ``-inf``);
    ordinary magnitudes are computed unscaled.
    """
    K = _mat(K)
    Kh = _mat(K_hat)
    if K.shape != Kh.shape:
        raise ValueError(f"recovered_energy_fraction: shape mismatch, K_hat {Kh.shape} vs K {K.shape} "
                         "(K_hat must have K's shape; no broadcasting)")
    with np.errstate(over="ignore", under="ignore"):
        num = np.sum((K - Kh) ** 2)
        den = np.sum(K * K)
    if _ordinary_energy(float(den)) and math.isfinite(float(num)):
        return float(1.0 - num / den)
    m = float(np.max(np.abs(K), initial=0.0))
    if m == 0.0:
        return float("nan")
    with np.errstate(over="ignore", under="ignore"):
        K, Kh = K / m, Kh / m  # Σ(K/m)² ≥ 1: the denominator is now safe; an overflowing numerator means −inf
        return float(1.0 - np.sum((K - Kh) ** 2) / np.sum(K * K))


def topk_sparsify(X: ArrayLike, k: int) -> NDArray[np.float64]:
    """Keep the k largest-magnitude entries of every row (ties: lower index first), zero the rest."""
    a = np.asarray(X, dtype=np.float64)
    d = a.shape[-1]
    if not 0 <= k <= d:
        raise ValueError(f"need 0 <= k <= d={d}")
    if k == 0:
        return np.zeros_like(a)
    if k == d:
        return a.copy()
    order = np.argsort(-np.abs(a), axis=-1, kind="stable")
    keep = order[..., :k]
    out = np.zeros_like(a)
    np.put_along_axis(out, keep, np.take_along_axis(a, keep, axis=-1), axis=-1)
    return out


def topk_energy_fraction(X: ArrayLike, k: int) -> NDArray[np.float64]:
    """Per row: energy kept by top-k sparsification / total energy (``nan`` for zero rows)."""
    a = np.asarray(X, dtype=np.float64)
    s = topk_sparsify(a, k)
    num = np.sum(s * s, axis=-1)
    den = np.sum(a * a, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


def best_k_sparse_bruteforce(x: ArrayLike, k: int) -> tuple[float, tuple[int, ...]]:
    """min over supports S with |S| = k of ‖x − x_S‖² by enumerating all C(d, k) supports (small d only)."""
    from itertools import combinations

    x = np.asarray(x, dtype=np.float64)
    d = x.shape[0]
    if math.comb(d, k) > 200_000:
        raise ValueError("too many supports to enumerate")
    best, arg = math.inf, ()
    tot = float(x @ x)
    for S in combinations(range(d), k):
        err = tot - float(np.sum(x[list(S)] ** 2))
        if err < best:
            best, arg = err, S
    return best, arg


# --------------------------------------------------------------------------------------------------------------
# Bit costs per coordinate
# --------------------------------------------------------------------------------------------------------------


def one_bit_bits_per_coordinate(d: int, scale_bits: int = 16) -> float:
    """1 sign bit per coordinate plus one scale α per vector."""
    return 1.0 + scale_bits / d


def topk_bits_per_coordinate(d: int, k: int, value_bits: int = 16,
                             index: Literal["positions", "bitmap", "combinatorial"] = "positions") -> float:
    """Extra bits per coordinate of a top-k correction: k values plus the support.

    ``positions``: k·⌈log₂ d⌉ bits; ``bitmap``: d bits; ``combinatorial``: log₂ C(d, k) (the entropy bound).
    """
    if not 0 <= k <= d:
        raise ValueError("need 0 <= k <= d")
    if index == "positions":
        idx = k * math.ceil(math.log2(d)) if d > 1 else 0
    elif index == "bitmap":
        idx = d
    elif index == "combinatorial":
        idx = math.log2(math.comb(d, k))
    else:
        raise ValueError(index)
    return (k * value_bits + idx) / d


def rank_r_bits_per_coordinate(d: int, r: int, n_vectors: int, coef_bits: int = 16,
                               basis_bits: int = 16) -> float:
    """Extra bits per coordinate of a rank-r correction: r coefficients per vector + the d×r basis amortised over
    ``n_vectors`` vectors."""
    if n_vectors < 1:
        raise ValueError("n_vectors must be >= 1")
    return (r * coef_bits + r * d * basis_bits / n_vectors) / d

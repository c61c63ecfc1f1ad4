"""Rotations of key vectors: Haar-random, fast Walsh–Hadamard (FWHT), SRHT, and learned ℓ1-maximising rotations.

A rotation acts on row vectors as ``k ↦ k @ R.T`` (i.e. ``R k``), see docs/CONTRIBUTING.md §4.

The learned rotation follows the classical ITQ alternation (Gong & Lazebnik 2011, cited in REFERENCES.md):
with the rows normalised to unit length, ``max_R Σᵢ ‖R v̂ᵢ‖₁ = √d · Σᵢ cos θ(R vᵢ)``, so maximising the total ℓ1
norm of the rotated unit rows is exactly maximising the mean 1-bit cosine. Each step (B = sgn(V̂Rᵀ); R from the
orthogonal Procrustes problem max ⟨Bᵀ V̂, R⟩) cannot decrease the objective. Anything that reports a lift must fit
on one split and evaluate on another (:func:`train_test_lift`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .sign_quant import one_bit_cosine, sgn

__all__ = [
    "haar_orthogonal",
    "is_orthogonal",
    "is_power_of_two",
    "fwht",
    "hadamard_matrix",
    "SRHT",
    "LearnedRotation",
    "fit_l1_rotation",
    "fit_l1_rotation_gradient",
    "mean_one_bit_cosine",
    "train_test_lift",
]


def _rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def haar_orthogonal(d: int, rng: np.random.Generator | int | None = None) -> NDArray[np.float64]:
    """A Haar-distributed matrix of O(d): QR of a Gaussian matrix with the signs of diag(R) fixed (Mezzadri 2007)."""
    if d < 1:
        raise ValueError("d must be >= 1")
    g = _rng(rng).standard_normal((d, d))
    q, r = np.linalg.qr(g)
    s = np.sign(np.diag(r))
    s[s == 0] = 1.0
    return q * s[None, :]


def is_orthogonal(R: ArrayLike, tol: float = 1e-10) -> bool:
    """True when R is square and max |R Rᵀ − I| ≤ tol (rotations and reflections alike; the sign of det is not
    checked)."""
    R = np.asarray(R, dtype=np.float64)
    if R.ndim != 2 or R.shape[0] != R.shape[1]:
        return False
    return bool(np.max(np.abs(R @ R.T - np.eye(R.shape[0]))) <= tol)


def is_power_of_two(d: int) -> bool:
    """True for d = 1, 2, 4, 8, … (the sizes a Walsh–Hadamard transform takes)."""
    return d >= 1 and (d & (d - 1)) == 0


def fwht(x: ArrayLike) -> NDArray[np.float64]:
    """Orthonormal fast Walsh–Hadamard transform along the last axis (Sylvester order), O(d log d).

    ``fwht(x) = x @ H.T / √d = x @ H / √d`` with ``H`` the Sylvester Hadamard matrix (symmetric); it is an
    involution. The last axis must have a power-of-two length; a 0-d scalar (no vector axis) and non-finite
    input (nan/inf, for which the transform would mix nan into every coordinate) raise ``ValueError``. An empty
    batch (shape ``(0, d)``) gives an empty result.
    """
    a = np.array(x, dtype=np.float64, copy=True)
    if a.ndim == 0:
        raise ValueError("fwht needs vectors along a last axis of power-of-two length, got a 0-d scalar")
    d = a.shape[-1]
    if not is_power_of_two(d):
        raise ValueError(f"fwht needs a power-of-two length, got {d}")
    if not np.all(np.isfinite(a)):
        raise ValueError("fwht: input must be finite (no nan/inf)")
    lead = a.shape[:-1]
    a = a.reshape(-1, d)
    h = 1
    while h < d:
        a = a.reshape(-1, d // (2 * h), 2, h)
        u = a[:, :, 0, :].copy()
        v = a[:, :, 1, :]
        a[:, :, 0, :] = u + v
        a[:, :, 1, :] = u - v
        a = a.reshape(-1, d)
        h *= 2
    return (a / np.sqrt(d)).reshape(*lead, d)


def hadamard_matrix(d: int) -> NDArray[np.float64]:
    """Sylvester Hadamard matrix H (entries ±1, H Hᵀ = d I), built by Kronecker products (a plain reference)."""
    if not is_power_of_two(d):
        raise ValueError(f"need a power of two, got {d}")
    H = np.ones((1, 1))
    while H.shape[0] < d:
        H = np.block([[H, H], [H, -H]])
    return H


@dataclass
class SRHT:
    """Subsampled randomized Hadamard transform ``R = √(d/m) · P H D / √d`` acting on rows.

    ``D`` random ±1 signs, ``H`` the Sylvester Hadamard matrix, ``P`` picks ``m`` of the ``d`` rows without
    replacement. With ``m = None`` (default) no rows are dropped and ``R = H D / √d`` is orthogonal.
    """

    d: int
    rng: np.random.Generator | int | None = None
    m: int | None = None
    signs: NDArray[np.float64] = field(init=False)
    rows: NDArray[np.int64] | None = field(init=False)

    def __post_init__(self) -> None:
        if not is_power_of_two(self.d):
            raise ValueError(f"SRHT needs a power-of-two d, got {self.d}")
        g = _rng(self.rng)
        self.signs = np.where(g.random(self.d) < 0.5, -1.0, 1.0)
        if self.m is None or self.m == self.d:
            self.rows = None
        else:
            if not 1 <= self.m <= self.d:
                raise ValueError("need 1 <= m <= d")
            self.rows = np.sort(g.choice(self.d, size=self.m, replace=False))

    def apply(self, X: ArrayLike) -> NDArray[np.float64]:
        """Rows ``x ↦ R x`` in O(d log d) per row."""
        y = fwht(np.asarray(X, dtype=np.float64) * self.signs)
        if self.rows is not None:
            y = y[..., self.rows] * np.sqrt(self.d / len(self.rows))
        return y

    def matrix(self) -> NDArray[np.float64]:
        """The dense matrix ``R`` (shape ``(m, d)``), built from the plain Hadamard matrix (reference)."""
        R = hadamard_matrix(self.d) * self.signs[None, :] / np.sqrt(self.d)
        if self.rows is not None:
            R = R[self.rows] * np.sqrt(self.d / len(self.rows))
        return R


@dataclass
class LearnedRotation:
    """A fitted rotation: ``apply(K) = (K − mean) @ R.T`` (``mean`` is None when fitted uncentered)."""

    R: NDArray[np.float64]
    mean: NDArray[np.float64] | None = None
    history: list[float] = field(default_factory=list)

    def apply(self, K: ArrayLike) -> NDArray[np.float64]:
        K = np.asarray(K, dtype=np.float64)
        if self.mean is not None:
            K = K - self.mean
        return K @ self.R.T


def mean_one_bit_cosine(K: ArrayLike) -> float:
    """Mean over nonzero rows of the 1-bit cosine."""
    c = one_bit_cosine(K)
    return float(np.nanmean(c)) if np.any(np.isfinite(c)) else float("nan")


def _unit_rows(V: NDArray[np.float64]) -> NDArray[np.float64]:
    n = np.linalg.norm(V, axis=-1, keepdims=True)
    keep = (n[:, 0] > 0)
    return V[keep] / n[keep]


def _procrustes(M: NDArray[np.float64]) -> NDArray[np.float64]:
    """argmax over orthogonal R of ⟨M, R⟩_F = U Wᵀ for M = U Σ Wᵀ."""
    U, _, Wt = np.linalg.svd(M)
    return U @ Wt


def prepare_rotation_fit(K_train: ArrayLike, *, center: bool, rng: np.random.Generator | int | None, init: str,
                         normalize_rows: bool) -> tuple[NDArray[np.float64], NDArray[np.float64] | None,
                                                        NDArray[np.float64]]:
    """Training rows, mean and initial R of the sign/Procrustes alternation (shared with the fast kernel).

    Returns (V̂, mean or None, R₀): V̂ = K − mean (if ``center``), unit rows with zero rows dropped (if
    ``normalize_rows``); R₀ Haar-random (``init="haar"``) or the identity.
    """
    K = np.asarray(K_train, dtype=np.float64)
    if K.ndim != 2:
        raise ValueError("K_train must be (n, d)")
    d = K.shape[1]
    mean = K.mean(axis=0) if center else None
    V = K - mean if center else K
    Vh = _unit_rows(V) if normalize_rows else V
    if Vh.shape[0] == 0:
        raise ValueError("no nonzero training rows")
    R = haar_orthogonal(d, rng) if init == "haar" else np.eye(d)
    return Vh, mean, R


def fit_l1_rotation(
    K_train: ArrayLike,
    *,
    center: bool,
    iters: int = 50,
    rng: np.random.Generator | int | None = None,
    init: str = "haar",
    normalize_rows: bool = True,
) -> LearnedRotation:
    """ITQ-style alternation maximising Σᵢ ‖R v̂ᵢ‖₁ (= √d · Σᵢ cos θ(R vᵢ) for unit rows v̂ᵢ).

    ``center``: subtract the training mean first (the DC-mean centering of seed 003), stored in the result.
    ``normalize_rows=False`` maximises the energy-weighted objective Σ‖R vᵢ‖₁ of classical ITQ instead.
    ``history`` records the mean cosine on the training rows after every iteration (non-decreasing for
    ``normalize_rows=True``).
    """
    Vh, mean, R = prepare_rotation_fit(K_train, center=center, rng=rng, init=init, normalize_rows=normalize_rows)
    Y = Vh @ R.T                             # the rotated rows V̂Rᵀ, computed once per R
    hist = [mean_one_bit_cosine(Y)]
    for _ in range(iters):
        B = sgn(Y)                           # best codes for R
        R = _procrustes(B.T @ Vh)            # best R for the codes: max tr(Bᵀ V̂ Rᵀ) = ⟨Bᵀ V̂, R⟩
        Y = Vh @ R.T                         # used for the history now and for the codes of the next iteration
        hist.append(mean_one_bit_cosine(Y))
    return LearnedRotation(R=R, mean=mean, history=hist)


def _cayley(A: NDArray[np.float64], eta: float) -> NDArray[np.float64]:
    d = A.shape[0]
    eye = np.eye(d)
    return np.linalg.solve(eye - 0.5 * eta * A, eye + 0.5 * eta * A)


def fit_l1_rotation_gradient(
    K_train: ArrayLike,
    *,
    center: bool,
    iters: int = 100,
    lr: float = 0.5,
    rng: np.random.Generator | int | None = None,
    init: LearnedRotation | None = None,
) -> LearnedRotation:
    """(Sub)gradient ascent of the mean 1-bit cosine over SO(d) with Cayley steps and backtracking.

    f(R) = (1/n√d) Σᵢ ‖R v̂ᵢ‖₁; Euclidean gradient G = sgn(V̂Rᵀ)ᵀ V̂ /(n√d); Riemannian direction
    A = G Rᵀ − R Gᵀ (skew), step R ← cay(ηA) R; a step is accepted only if f does not decrease.
    """
    K = np.asarray(K_train, dtype=np.float64)
    n, d = K.shape
    mean = K.mean(axis=0) if center else None
    V = K - mean if center else K
    Vh = _unit_rows(V)
    R = init.R.copy() if init is not None else haar_orthogonal(d, rng)

    def f(R_: NDArray[np.float64]) -> float:
        return float(np.sum(np.abs(Vh @ R_.T)) / (len(Vh) * np.sqrt(d)))

    cur = f(R)
    hist = [cur]
    eta = lr
    for _ in range(iters):
        G = sgn(Vh @ R.T).T @ Vh / (len(Vh) * np.sqrt(d))
        A = G @ R.T - R @ G.T
        nrm = np.linalg.norm(A)
        if nrm < 1e-14:
            break
        step = eta
        while step > 1e-8:
            Rn = _cayley(A / nrm, step) @ R
            fn = f(Rn)
            if fn >= cur:
                R, cur = Rn, fn
                break
            step *= 0.5
        hist.append(cur)
    return LearnedRotation(R=R, mean=mean, history=hist)


def train_test_lift(
    K: ArrayLike,
    *,
    center: bool,
    frac_train: float = 0.5,
    iters: int = 30,
    rng: np.random.Generator | int | None = None,
) -> dict[str, float]:
    """Fit a learned rotation on a random split and report mean cosines on the *held-out* rows.

    Returns ``raw`` (no rotation, no centering), ``learned`` (held-out, fitted transform incl. centering) and
    ``lift = learned − raw``, plus ``train`` (the in-sample value, for seeing overfitting).
    """
    g = _rng(rng)
    K = np.asarray(K, dtype=np.float64)
    idx = g.permutation(len(K))
    ntr = max(1, int(round(frac_train * len(K))))
    tr, te = K[idx[:ntr]], K[idx[ntr:]]
    if len(te) == 0:
        raise ValueError("empty test split")
    rot = fit_l1_rotation(tr, center=center, iters=iters, rng=g)
    raw = mean_one_bit_cosine(te)
    learned = mean_one_bit_cosine(rot.apply(te))
    return {"raw": raw, "learned": learned, "lift": learned - raw, "train": mean_one_bit_cosine(rot.apply(tr))}

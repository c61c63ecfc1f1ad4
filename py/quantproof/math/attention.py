"""Attention scores, softmax attention, RoPE, and what an orthogonal "gauge" rotation does to them.

* Gauge invariance: for orthogonal R, ``(Q Rᵀ)(K Rᵀ)ᵀ = Q Kᵀ`` — rotating queries and keys by the same R leaves
  every score unchanged (:func:`scores`).
* RoPE applies a position-dependent block-diagonal rotation P_m (2×2 blocks, angles m·θᵢ, θᵢ = base^(−2i/d)).
  Folding R into W_q/W_k happens *before* RoPE: the scores become qᵀ Rᵀ P_{n−m} R k, equal to qᵀ P_{n−m} k for all
  offsets only when R commutes with every P_m (:func:`commutes_with_rope`), e.g. R block-diagonal with 2×2
  rotation blocks on the RoPE planes; a general R does not (:func:`rotate_then_rope` vs :func:`rope_then_rotate`).
* Seed 001's Leech attention multiplies Q and K by a frozen block-diagonal 24×24 orthogonal matrix
  (:func:`leech_kernel`, :func:`leech_attention`); by gauge invariance its scores equal those of plain attention.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "scores",
    "softmax",
    "softmax_attention",
    "rope_angles",
    "rope",
    "rope_matrix",
    "rotate_then_rope",
    "rope_then_rotate",
    "commutes_with_rope",
    "rope_commuting_rotation",
    "paley_hadamard_24",
    "leech_kernel",
    "leech_attention",
]

Pairing = Literal["interleaved", "half"]


def scores(Q: ArrayLike, K: ArrayLike, scale: float | None = None) -> NDArray[np.float64]:
    """``Q Kᵀ · scale`` with rows as vectors (default scale 1/√d); leading axes broadcast (heads, batch)."""
    Q = np.asarray(Q, dtype=np.float64)
    K = np.asarray(K, dtype=np.float64)
    d = Q.shape[-1]
    s = 1.0 / np.sqrt(d) if scale is None else scale
    return (Q @ np.swapaxes(K, -1, -2)) * s


def softmax(x: ArrayLike, axis: int = -1) -> NDArray[np.float64]:
    """exp(x − max) / Σ exp(x − max) along ``axis`` (default the last: rows of a score matrix sum to 1), in float64.
    A row of −inf (a fully masked row) gives nan, not a silent uniform row."""
    x = np.asarray(x, dtype=np.float64)
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    e = np.exp(x - m)
    return e / np.sum(e, axis=axis, keepdims=True)


def softmax_attention(Q: ArrayLike, K: ArrayLike, V: ArrayLike, *, scale: float | None = None,
                      causal: bool = False) -> NDArray[np.float64]:
    """softmax(Q Kᵀ · scale [+ causal mask]) V."""
    S = scores(Q, K, scale)
    if causal:
        n, m = S.shape[-2], S.shape[-1]
        mask = np.triu(np.ones((n, m), dtype=bool), k=1 + (m - n))
        S = np.where(mask, -np.inf, S)
    return softmax(S, axis=-1) @ np.asarray(V, dtype=np.float64)


def rope_angles(positions: ArrayLike, d: int, base: float = 10000.0) -> NDArray[np.float64]:
    """Angles m·θᵢ, θᵢ = base^(−2i/d), shape (len(positions), d/2)."""
    if d % 2:
        raise ValueError("RoPE needs an even dimension")
    pos = np.asarray(positions, dtype=np.float64).reshape(-1)
    theta = base ** (-np.arange(0, d, 2, dtype=np.float64) / d)
    return pos[:, None] * theta[None, :]


def _pair_index(d: int, pairing: Pairing) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    if pairing == "interleaved":
        return np.arange(0, d, 2), np.arange(1, d, 2)
    if pairing == "half":
        return np.arange(0, d // 2), np.arange(d // 2, d)
    raise ValueError(pairing)


def rope(X: ArrayLike, positions: ArrayLike, base: float = 10000.0, pairing: Pairing = "interleaved") -> NDArray[np.float64]:
    """Rotary position embedding of rows X (shape (..., seq, d)) at the given positions (length seq).

    ``pairing="interleaved"`` rotates planes (x₂ᵢ, x₂ᵢ₊₁) (the RoFormer paper); ``"half"`` rotates (xᵢ, x_{i+d/2})
    (GPT-NeoX / Llama "rotate_half").
    """
    X = np.asarray(X, dtype=np.float64)
    d = X.shape[-1]
    ang = rope_angles(positions, d, base)
    if ang.shape[0] != X.shape[-2]:
        raise ValueError("positions must match the sequence axis (-2)")
    c, s = np.cos(ang), np.sin(ang)
    a_idx, b_idx = _pair_index(d, pairing)
    a, b = X[..., a_idx], X[..., b_idx]
    out = np.empty_like(X)
    out[..., a_idx] = a * c - b * s
    out[..., b_idx] = a * s + b * c
    return out


def rope_matrix(position: float, d: int, base: float = 10000.0, pairing: Pairing = "interleaved") -> NDArray[np.float64]:
    """The d×d orthogonal matrix P_m with rope(x at position m) = P_m x (dense reference)."""
    ang = rope_angles([position], d, base)[0]
    a_idx, b_idx = _pair_index(d, pairing)
    P = np.zeros((d, d))
    P[a_idx, a_idx] = np.cos(ang)
    P[a_idx, b_idx] = -np.sin(ang)
    P[b_idx, a_idx] = np.sin(ang)
    P[b_idx, b_idx] = np.cos(ang)
    return P


def rotate_then_rope(X: ArrayLike, R: ArrayLike, positions: ArrayLike, base: float = 10000.0,
                     pairing: Pairing = "interleaved") -> NDArray[np.float64]:
    """R folded into the projection weights: rope(X Rᵀ)."""
    return rope(np.asarray(X, dtype=np.float64) @ np.asarray(R).T, positions, base, pairing)


def rope_then_rotate(X: ArrayLike, R: ArrayLike, positions: ArrayLike, base: float = 10000.0,
                     pairing: Pairing = "interleaved") -> NDArray[np.float64]:
    """R applied to post-RoPE vectors (at run time): rope(X) Rᵀ."""
    return rope(X, positions, base, pairing) @ np.asarray(R, dtype=np.float64).T


def commutes_with_rope(R: ArrayLike, base: float = 10000.0, pairing: Pairing = "interleaved",
                       positions: ArrayLike = (1, 2, 3, 7, 100, 1000), tol: float = 1e-9) -> bool:
    """Whether R P_m = P_m R for the given positions."""
    R = np.asarray(R, dtype=np.float64)
    d = R.shape[0]
    for m in np.asarray(positions).reshape(-1):
        P = rope_matrix(float(m), d, base, pairing)
        if np.max(np.abs(R @ P - P @ R)) > tol:
            return False
    return True


def rope_commuting_rotation(d: int, rng: np.random.Generator | int | None = None,
                            pairing: Pairing = "interleaved") -> NDArray[np.float64]:
    """A random orthogonal matrix in RoPE's commutant: an independent 2×2 rotation on every RoPE plane."""
    g = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    phi = g.uniform(0, 2 * np.pi, d // 2)
    a_idx, b_idx = _pair_index(d, pairing)
    R = np.zeros((d, d))
    R[a_idx, a_idx] = np.cos(phi)
    R[a_idx, b_idx] = -np.sin(phi)
    R[b_idx, a_idx] = np.sin(phi)
    R[b_idx, b_idx] = np.cos(phi)
    return R


def _legendre(a: int, p: int) -> int:
    a %= p
    if a == 0:
        return 0
    return 1 if pow(a, (p - 1) // 2, p) == 1 else -1


def paley_hadamard_24() -> NDArray[np.float64]:
    """A Hadamard matrix of order 24 by Paley's first construction (q = 23 ≡ 3 mod 4): H = I + S with S the
    skew conference matrix [[0, 1ᵀ], [−1, Q]], Q_ij = χ(j − i) (Legendre symbol mod 23). Entries ±1, H Hᵀ = 24 I."""
    q = 23
    Qm = np.array([[_legendre(j - i, q) for j in range(q)] for i in range(q)], dtype=np.float64)
    S = np.zeros((q + 1, q + 1))
    S[0, 1:] = 1.0
    S[1:, 0] = -1.0
    S[1:, 1:] = Qm
    return np.eye(q + 1) + S


def leech_kernel(head_dim: int, kind: Literal["paley", "haar"] = "paley",
                 rng: np.random.Generator | int | None = None) -> NDArray[np.float64]:
    """Block-diagonal orthogonal matrix with 24×24 blocks (seed 001's frozen "Leech" kernel; head_dim % 24 == 0).

    ``kind="paley"``: every block is the normalised Paley Hadamard matrix H₂₄/√24 (deterministic);
    ``kind="haar"``: independent Haar blocks. (Seed 001 calls its kernel a placeholder orthogonal matrix; no
    Leech-lattice structure is needed for what follows from orthogonality.)
    """
    if head_dim % 24:
        raise ValueError("head_dim must be a multiple of 24")
    nb = head_dim // 24
    if kind == "paley":
        blocks = [paley_hadamard_24() / np.sqrt(24.0)] * nb
    elif kind == "haar":
        from .rotations import haar_orthogonal

        g = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        blocks = [haar_orthogonal(24, g) for _ in range(nb)]
    else:
        raise ValueError(kind)
    B = np.zeros((head_dim, head_dim))
    for i, blk in enumerate(blocks):
        B[24 * i:24 * (i + 1), 24 * i:24 * (i + 1)] = blk
    return B


def leech_attention(Q: ArrayLike, K: ArrayLike, V: ArrayLike, kernel: ArrayLike | None = None, *,
                    causal: bool = False, scale: float | None = None) -> NDArray[np.float64]:
    """Attention with Q and K both multiplied by the frozen block-diagonal kernel B (rows: q ↦ B q)."""
    Q = np.asarray(Q, dtype=np.float64)
    B = leech_kernel(Q.shape[-1]) if kernel is None else np.asarray(kernel, dtype=np.float64)
    return softmax_attention(Q @ B.T, np.asarray(K, dtype=np.float64) @ B.T, V, causal=causal, scale=scale)

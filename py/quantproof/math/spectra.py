"""Covariance spectra of activations, participation ratio, variance curves, seed 004's PCA "activation compressor"
and its "compressed attention", and byte accounting of attention memory.

* Participation ratio PR = (Σλ)² / Σλ² ("effective rank Df" in seed 004); cumulative variance C(k) = Σ_{i≤k} λᵢ / Σλ.
* For N i.i.d. isotropic samples in n dimensions, E PR ≈ nN/(n + N) (Marchenko–Pastur; REFERENCES.md), not n.
* Attention memory: the score matrix of one head is seq × seq whatever the head width; Q/K/V are seq × d.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .attention import softmax

__all__ = [
    "covariance_spectrum",
    "participation_ratio",
    "cumulative_variance",
    "k_for_variance",
    "participation_ratio_bounds_from_cumulative",
    "participation_ratio_bounds_from_curve",
    "participation_ratio_of_moment",
    "marchenko_pastur_pr",
    "expected_isotropic_trace_moments",
    "ActivationCompressor",
    "compressed_attention",
    "DTYPE_BYTES",
    "attention_memory_bytes",
    "seed004_attention_formula_bytes",
]


def covariance_spectrum(X: ArrayLike, center: bool = True, ddof: int = 0) -> NDArray[np.float64]:
    """Eigenvalues (descending, clipped at 0) of the (n×d) data's covariance Xcᵀ Xc / (n − ddof)
    (``center=False``: the second-moment matrix XᵀX / (n − ddof)).

    Non-finite data (nan/inf) raise ``ValueError`` (the SVD would fail or return garbage), as do too few rows.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError("X must be (n, d)")
    if not np.all(np.isfinite(X)):
        raise ValueError("covariance_spectrum: data must be finite (no nan/inf)")
    n = X.shape[0]
    if n - ddof <= 0:
        raise ValueError("not enough rows")
    Xc = X - X.mean(axis=0) if center else X
    s = np.linalg.svd(Xc, compute_uv=False)
    lam = s * s / (n - ddof)
    out = np.zeros(X.shape[1])
    out[: len(lam)] = lam
    return np.clip(np.sort(out)[::-1], 0.0, None)


def participation_ratio(eigs: ArrayLike) -> float:
    """(Σλ)² / Σλ² (nan if all zero or empty). Scale invariant; 1 ≤ PR ≤ number of nonzero eigenvalues.

    Eigenvalues must be finite and >= 0 (``ValueError`` otherwise: a nan or inf eigenvalue has no defined PR).
    """
    lam = np.asarray(eigs, dtype=np.float64)
    if not np.all(np.isfinite(lam)):
        raise ValueError("participation_ratio: eigenvalues must be finite (no nan/inf)")
    if np.any(lam < 0):
        raise ValueError("eigenvalues must be >= 0")
    m = lam.max(initial=0.0)
    if m == 0:
        return float("nan")
    p = lam / m
    return float(p.sum() ** 2 / np.sum(p * p))


def cumulative_variance(eigs: ArrayLike) -> NDArray[np.float64]:
    """C(k) for k = 1..n, eigenvalues sorted descending first."""
    lam = np.sort(np.asarray(eigs, dtype=np.float64))[::-1]
    tot = lam.sum()
    if tot <= 0:
        raise ValueError("total variance must be > 0")
    return np.cumsum(lam) / tot


def k_for_variance(eigs: ArrayLike, frac: float) -> int:
    """Smallest k with C(k) ≥ frac (0 < frac ≤ 1)."""
    if not 0 < frac <= 1:
        raise ValueError("frac must be in (0, 1]")
    C = cumulative_variance(eigs)
    return int(np.searchsorted(C, frac - 1e-12, side="left") + 1)


def participation_ratio_bounds_from_cumulative(c1: tuple[float, float], c2: tuple[float, float] | None,
                                               n: int) -> tuple[float, float]:
    """Range of PR = 1/Σpᵢ² over all descending spectra p (Σp = 1, length n) with C(1) = p₁ ∈ c1 and, if given,
    C(2) = p₁ + p₂ ∈ c2 (e.g. the rounding intervals of published percentages). Returns (PR_min, PR_max).

    Upper bound on Σp² (→ PR_min): pᵢ ≤ p₂ for i ≥ 2, so Σp² ≤ p₁² + p₂(1 − p₁), p₂ ≤ min(p₁, C(2) − p₁).
    Lower bound on Σp² (→ PR_max): the rest spread evenly, Σp² ≥ p₁² + p₂² + (1 − p₁ − p₂)²/(n − 2).
    Both are optimised on a grid over the intervals with a Lipschitz margin (|∂/∂pᵢ| ≤ 4), so the returned range
    contains every consistent PR.
    """
    if n < 3:
        raise ValueError("need n >= 3")
    g1 = np.linspace(c1[0], c1[1], 401)
    h1 = (c1[1] - c1[0]) / 400
    if c2 is None:
        g2, h2 = np.array([np.inf]), 0.0
    else:
        g2 = np.linspace(c2[0], c2[1], 401)
        h2 = (c2[1] - c2[0]) / 400
    P1, C2 = np.meshgrid(g1, g2, indexing="ij")
    p2 = np.clip(np.minimum(P1, C2 - P1), 0.0, None)
    upper = P1 * P1 + p2 * (1 - P1)
    if c2 is None:
        lower = P1 * P1 + (1 - P1) ** 2 / (n - 1)
    else:
        lower = P1 * P1 + p2 * p2 + np.clip(1 - P1 - p2, 0.0, None) ** 2 / (n - 2)
    margin = 4.0 * (h1 + h2)
    return 1.0 / (float(upper.max()) + margin), 1.0 / max(float(lower.min()) - margin, 1e-300)


def participation_ratio_bounds_from_curve(ks: list[int] | tuple[int, ...],
                                          cs: list[tuple[float, float]] | tuple[tuple[float, float], ...],
                                          n: int) -> tuple[float, float]:
    """Range of PR = 1/Σpᵢ² over every descending spectrum p (Σp = 1, length n) whose cumulative shares satisfy
    C(k_j) ∈ cs[j] at the knots 1 ≤ k_1 < k_2 < … ≤ n (e.g. a printed curve with its rounding intervals).
    Returns (PR_min, PR_max); every consistent spectrum's PR lies inside (a relaxation: the range may be wider than
    the set of attainable values, never narrower).

    The knots cut p into blocks (k_{j−1}, k_j] (k_0 = 0, C(0) = 0) and a tail (k_m, n], with block masses
    S_j = C(k_j) − C(k_{j−1}) bounded by the intervals.

    * Σp² ≤ Σ_j f(S_j, u_j) (→ PR_min): every entry of block j is at most the smallest entry of block j−1, hence at
      most that block's average S_{j−1}/m_{j−1} (and at most u_{j−1}); with the entries of a block capped by u, Σp²
      over the block is largest when they are piled up: q·u² + r², q = ⌊S/u⌋, r = S − q·u (at most m·u²).
    * Σp² ≥ Σ_j S_j²/m_j (→ PR_max): within a block of m entries and mass S, Σp² ≥ S²/m (Cauchy–Schwarz).
    Both bounds are monotone in the masses, so the interval ends are plugged in.
    """
    ks = [int(k) for k in ks]
    if len(ks) == 0 or len(ks) != len(cs):
        raise ValueError("need as many intervals as knots, at least one")
    if n < 1 or any(k < 1 or k > n for k in ks) or any(b <= a for a, b in zip(ks, ks[1:])):
        raise ValueError("knots must be increasing integers in [1, n]")
    lo_c = [float(a) for a, _ in cs]
    hi_c = [float(b) for _, b in cs]
    if any(not (0.0 <= a <= b <= 1.0) for a, b in zip(lo_c, hi_c)):
        raise ValueError("each interval must satisfy 0 <= lo <= hi <= 1")
    knots = [0] + ks
    clo, chi = [0.0] + lo_c, [0.0] + hi_c
    blocks = []  # (size, mass_lo, mass_hi)
    for j in range(1, len(knots)):
        blocks.append((knots[j] - knots[j - 1], max(0.0, clo[j] - chi[j - 1]), max(0.0, chi[j] - clo[j - 1])))
    if ks[-1] < n:
        blocks.append((n - ks[-1], max(0.0, 1.0 - chi[-1]), max(0.0, 1.0 - clo[-1])))
    upper = lower = 0.0
    cap = 1.0
    for j, (m, s_lo, s_hi) in enumerate(blocks):
        if j > 0:
            pm, _, ps_hi = blocks[j - 1]
            cap = min(cap, ps_hi / pm)
        u = min(cap, s_hi)
        if u <= 0:
            piled = 0.0
        else:
            q = math.floor(s_hi / u + 1e-12)
            piled = m * u * u if q >= m else q * u * u + (s_hi - q * u) ** 2
        upper += piled
        lower += s_lo * s_lo / m
    if upper <= 0:
        raise ValueError("the intervals leave no mass")
    return 1.0 / upper, (1.0 / lower if lower > 0 else float(n))


def participation_ratio_of_moment(M: ArrayLike) -> float:
    """PR of the eigenvalues of a symmetric positive semi-definite matrix M (a covariance or second moment) without
    an eigendecomposition: (Σλ)²/Σλ² = (tr M)² / ‖M‖_F²."""
    M = np.asarray(M, dtype=np.float64)
    if M.ndim != 2 or M.shape[0] != M.shape[1]:
        raise ValueError("M must be square")
    fro = float(np.sum(M * M))
    if fro == 0:
        return float("nan")
    return float(np.trace(M) ** 2 / fro)


def marchenko_pastur_pr(n: int, N: int) -> float:
    """Large-(n, N) participation ratio of the sample covariance of N i.i.d. isotropic samples in n dims: nN/(n+N)."""
    return n * N / (n + N)


def expected_isotropic_trace_moments(n: int, N: int) -> tuple[float, float]:
    """(E (tr S)², E tr S²) for S = XᵀX/N, X an N×n matrix of i.i.d. N(0, 1) entries (exact):
    E(tr S)² = n² + 2n/N, E tr S² = n + n(n + 1)/N. Their ratio ≈ nN/(n + N)."""
    return n * n + 2 * n / N, n + n * (n + 1) / N


@dataclass
class ActivationCompressor:
    """Seed 004's PCA compressor: fit on calibration activations, project (seq, d) → (seq, k), reconstruct.

    ``fit(X, k=…)`` or ``fit(X, target_variance=…)``; ``center`` subtracts the calibration mean (as the seed's
    code does). ``outlier_dims`` > 0 keeps that many highest-variance raw coordinates exactly (stored apart, not
    projected), a standard remedy for rogue/massive-activation dimensions (REFERENCES.md).
    """

    components: NDArray[np.float64] | None = None  # d × k, orthonormal columns
    mean: NDArray[np.float64] | None = None
    eigenvalues: NDArray[np.float64] | None = None
    outliers: NDArray[np.int64] | None = None
    center: bool = True

    @classmethod
    def fit(cls, X: ArrayLike, *, k: int | None = None, target_variance: float | None = None,
            center: bool = True, outlier_dims: int = 0) -> "ActivationCompressor":
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ValueError("X must be (n, d)")
        d = X.shape[1]
        mean = X.mean(axis=0) if center else np.zeros(d)
        Xc = X - mean
        outliers = None
        if outlier_dims:
            outliers = np.sort(np.argsort(-np.var(X, axis=0), kind="stable")[:outlier_dims])
            Xc = Xc.copy()
            Xc[:, outliers] = 0.0
        _, s, Vt = np.linalg.svd(Xc, full_matrices=False)
        lam = s * s / X.shape[0]
        if (k is None) == (target_variance is None):
            raise ValueError("give exactly one of k or target_variance")
        if k is None:
            k = k_for_variance(lam, float(target_variance))
        if not 0 <= k <= min(Vt.shape[0], d):
            raise ValueError("k out of range")
        return cls(components=Vt[:k].T.copy(), mean=mean if center else None, eigenvalues=lam,
                   outliers=outliers, center=center)

    @property
    def k(self) -> int:
        assert self.components is not None
        return self.components.shape[1]

    def _mu(self, d: int) -> NDArray[np.float64]:
        return self.mean if self.mean is not None else np.zeros(d)

    def compress(self, X: ArrayLike) -> NDArray[np.float64]:
        """(…, d) → (…, k): (x − μ) P (outlier coordinates zeroed before projecting)."""
        X = np.asarray(X, dtype=np.float64)
        Xc = X - self._mu(X.shape[-1])
        if self.outliers is not None:
            Xc = Xc.copy()
            Xc[..., self.outliers] = 0.0
        return Xc @ self.components

    def reconstruct(self, Z: ArrayLike, X_outliers: ArrayLike | None = None) -> NDArray[np.float64]:
        """(…, k) → (…, d): z Pᵀ + μ (plus the stored outlier coordinates if given)."""
        assert self.components is not None
        Y = np.asarray(Z, dtype=np.float64) @ self.components.T + self._mu(self.components.shape[0])
        if self.outliers is not None and X_outliers is not None:
            Y = Y.copy()
            Y[..., self.outliers] = np.asarray(X_outliers)
        return Y

    def roundtrip(self, X: ArrayLike) -> NDArray[np.float64]:
        X = np.asarray(X, dtype=np.float64)
        xo = X[..., self.outliers] if self.outliers is not None else None
        return self.reconstruct(self.compress(X), xo)

    def relative_error(self, X: ArrayLike, squared: bool = False) -> NDArray[np.float64]:
        """Per row ‖x − x̂‖/‖x‖ (or its square)."""
        X = np.asarray(X, dtype=np.float64)
        r = np.linalg.norm(X - self.roundtrip(X), axis=-1) / np.linalg.norm(X, axis=-1)
        return r * r if squared else r


def compressed_attention(compressor: ActivationCompressor, query: ArrayLike, key: ArrayLike,
                         value: ArrayLike) -> NDArray[np.float64]:
    """Seed 004's ``compressed_attention``, transcribed: project Q, K, V with the compressor (centering included),
    scores = q_c k_cᵀ / √k, softmax over keys, out = A v_c, then reconstruct (adds the mean back). One head; no mask.
    """
    qc = compressor.compress(query)
    kc = compressor.compress(key)
    vc = compressor.compress(value)
    s = qc @ np.swapaxes(kc, -1, -2) / math.sqrt(compressor.k)
    a = softmax(s, axis=-1)
    return compressor.reconstruct(a @ vc)


DTYPE_BYTES: dict[str, float] = {"fp64": 8, "fp32": 4, "tf32": 4, "fp16": 2, "bf16": 2, "fp8": 1, "int8": 1,
                                 "int4": 0.5, "int2": 0.25, "int1": 0.125}


def attention_memory_bytes(seq: int, d_model: int, heads: int, dtype: str = "fp32", *, batch: int = 1,
                           layers: int = 1, materialize_scores: bool = True, kv_heads: int | None = None,
                           kv_cache: bool = False) -> dict[str, float]:
    """Bytes held by standard multi-head attention for one forward pass (per layer unless ``layers`` > 1 for the
    cache):

    * ``scores``: heads × seq × seq (one layer's attention matrix; 0 for fused kernels with
      ``materialize_scores=False`` — FlashAttention keeps O(seq) statistics instead);
    * ``qkv``: Q (seq × d_model) and K, V (seq × d_kv each, d_kv = d_model·kv_heads/heads);
    * ``kv_cache``: 2 × layers × seq × d_kv when ``kv_cache`` (decoding);
    * ``total``: their sum. Everything × batch × bytes(dtype).
    """
    if seq < 0 or d_model <= 0 or heads <= 0 or d_model % heads:
        raise ValueError("need seq >= 0 and heads dividing d_model")
    b = DTYPE_BYTES[dtype]
    kvh = heads if kv_heads is None else kv_heads
    d_kv = d_model * kvh // heads
    scores_b = float(batch * heads * seq * seq * b) if materialize_scores else 0.0
    qkv_b = float(batch * seq * (d_model + 2 * d_kv) * b)
    cache_b = float(2 * layers * batch * seq * d_kv * b) if kv_cache else 0.0
    return {"scores": scores_b, "qkv": qkv_b, "kv_cache": cache_b, "total": scores_b + qkv_b + cache_b}


def seed004_attention_formula_bytes(seq: int, d: int, bytes_per: float = 4) -> float:
    """The quantity seed 004's memory table tabulates: seq² × d × bytes (a seq × seq × d tensor; no standard attention
    kernel materialises one). With d = 768, fp32 and MiB it reproduces the table's "Standard Attention" column."""
    return float(seq) * seq * d * bytes_per

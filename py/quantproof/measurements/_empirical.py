"""Shared helpers of the empirical measurements (kcache, spectra): captures, layer selection, bootstrap.

All math (β, rotations, low-rank, quantizers, spectra) comes from ``quantproof.math``; this module only holds the
plumbing the measurements share.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..evidence.measurement import Context

# Standard capture bundles: one forward pass per (model, split) fills the cache for every measurement.
STD_DOCS = {"calibration": 24, "heldout": 16}
STD_MAX_TOKENS = 128
BUNDLES = {
    "smollm2": ("k_post_rope", "k_pre_rope", "q_pre_rope", "hidden"),
    "minilm": ("keys", "queries", "hidden"),
}
KEY_KINDS = {("smollm2", "k_post_rope"): "k_post_rope", ("smollm2", "k_pre_rope"): "k_pre_rope",
             ("minilm", "minilm_keys"): "keys", ("minilm", "keys"): "keys"}


def get_capture(ctx: Context, model: str, kinds: tuple[str, ...], split: str, n_docs: int, max_tokens: int):
    from ..capture.hooks import capture

    dtype = getattr(ctx, "dtype", None) or "float32"
    return capture(kinds, ctx=ctx, model=model, split=split, n_docs=n_docs, max_tokens=max_tokens,
                   seed=0, prefetch=BUNDLES.get(model, ()), dtype=dtype)


def capture_kind(model: str, kind: str) -> str:
    """The capture kind a measurement's ``kind`` parameter reads on ``model``: ``minilm_keys`` / ``keys`` are an
    encoder's (or a RoPE-less causal LM's) keys; RoPE kinds are taken as they are (a model without RoPE answers
    them "not applicable")."""
    if (model, kind) in KEY_KINDS:
        return KEY_KINDS[(model, kind)]
    if kind in ("keys", "minilm_keys"):
        return "keys"
    if kind in ("k_post_rope", "k_pre_rope"):
        return kind
    raise ValueError(f"kind {kind!r} is not a key kind (k_post_rope | k_pre_rope | keys | minilm_keys)")


def model_label(model: str) -> str:
    """How results name a model: a shipped substitute by its registry label, a local checkpoint by its folder or
    file name."""
    from pathlib import Path

    from ..capture.targets import SUBSTITUTES

    s = SUBSTITUTES.get(model)
    if s is not None:
        return {"smollm2": "SmolLM2-135M-Instruct (Q4_1 GGUF, dequantized fp32)",
                "minilm": "all-MiniLM-L6-v2 (fp32)"}.get(model, s.label)
    return Path(model).name or model


def parse_layers(spec: str, n: int) -> list[int]:
    """"all" | "every:K" | "0,7,15" | "last" (negative indices allowed)."""
    spec = spec.strip()
    if spec == "all":
        return list(range(n))
    if spec == "last":
        return [n - 1]
    if spec.startswith("every:"):
        k = int(spec.split(":", 1)[1])
        out = list(range(0, n, k))
        if out[-1] != n - 1:
            out.append(n - 1)
        return out
    out = []
    for tok in spec.split(","):
        i = int(tok)
        i = i + n if i < 0 else i
        if not 0 <= i < n:
            raise ValueError(f"layer {tok} out of range for {n} layers")
        out.append(i)
    return out


def parse_ints(spec: str) -> list[int]:
    return [int(t) for t in spec.split(",") if t.strip()]


# ------------------------------------------------------------------------------------------------ bootstrap

def multinomial_weights(rng: np.random.Generator, n_groups: int, n_boot: int) -> np.ndarray:
    """(n_boot, n_groups) resampling counts of a nonparametric bootstrap over groups (documents)."""
    return rng.multinomial(n_groups, np.full(n_groups, 1.0 / n_groups), size=n_boot).astype(np.float64)


def percentile_ci(samples: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    s = np.asarray(samples, dtype=np.float64)
    s = s[np.isfinite(s)]
    if s.size == 0:
        return float("nan"), float("nan")
    a = (1.0 - level) / 2.0
    return float(np.quantile(s, a)), float(np.quantile(s, 1.0 - a))


def group_sums(values: np.ndarray, groups: list[np.ndarray]) -> np.ndarray:
    """Sum of ``values`` (n, ...) over each group of row indices -> (n_groups, ...)."""
    return np.stack([values[g].sum(axis=0) for g in groups])


@dataclass
class MomentStats:
    """Per-group pooled moment sums of transformed vectors: s1 = Σ|y|, s2 = Σy², n = count of coordinates."""

    s1: np.ndarray
    s2: np.ndarray
    n: np.ndarray

    @staticmethod
    def of(Y: np.ndarray, groups: list[np.ndarray]) -> "MomentStats":
        d = Y.shape[1]
        a = np.abs(Y).sum(axis=1)
        b = (Y * Y).sum(axis=1)
        return MomentStats(group_sums(a, groups), group_sums(b, groups),
                           np.array([len(g) * d for g in groups], dtype=np.float64))

    def beta(self, w: np.ndarray | None = None) -> np.ndarray | float:
        """Pooled β; with bootstrap weights ``w`` (B, G) a (B,) array."""
        if w is None:
            s1, s2, n = self.s1.sum(), self.s2.sum(), self.n.sum()
            return float((s1 / n) ** 2 / (s2 / n))
        s1, s2, n = w @ self.s1, w @ self.s2, w @ self.n
        return (s1 / n) ** 2 / (s2 / n)


# ------------------------------------------------------------------------------------------------ spectra

def spectrum(X: np.ndarray, center: bool) -> np.ndarray:
    """Eigenvalues (descending) of the covariance (center=True) or second-moment matrix, via a d×d Gram matrix
    (faster than an SVD of the n×d data for n ≫ d; quantproof.math.spectra.covariance_spectrum is the SVD form)."""
    X = np.asarray(X, dtype=np.float64)
    if center:
        X = X - X.mean(axis=0)
    G = X.T @ X / len(X)
    w = np.linalg.eigvalsh((G + G.T) / 2)[::-1]
    return np.clip(w, 0.0, None)


def jackknife_ci(full: float, loo: list[float] | np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Normal interval from the leave-one-group-out jackknife: full ± z·se, se² = (G−1)/G Σ(θᵢ − θ̄)².

    Used for spectral statistics (PR, k95), where a with-replacement bootstrap duplicates rows and biases the
    effective rank downwards.
    """
    from scipy.stats import norm

    t = np.asarray(loo, dtype=np.float64)
    g = len(t)
    se = math.sqrt((g - 1) / g * float(np.sum((t - t.mean()) ** 2)))
    z = float(norm.ppf(0.5 + level / 2))
    return float(full - z * se), float(full + z * se)


def cached_arrays(ctx: Context, tag: str, ident: dict[str, Any], compute, *, code: str) -> dict[str, np.ndarray]:
    """Arrays computed by ``compute()`` cached under ``ctx.cache_dir/<tag>/`` as .npz, keyed by ``ident`` plus every
    source the computation can run (the import closure of the calling module ``code``, :mod:`quantproof.codehash`),
    verified by a sha256 sidecar on every read."""
    import hashlib
    import json
    from pathlib import Path

    from ..capture.hooks import _lock
    from ..codehash import code_hash_of

    key = hashlib.sha256(json.dumps({"ident": ident, "code": code_hash_of(code, __name__)},
                                    sort_keys=True).encode()).hexdigest()
    d = Path(ctx.cache_dir) / tag
    d.mkdir(parents=True, exist_ok=True)
    p, side = d / f"{key[:32]}.npz", d / f"{key[:32]}.sha256"
    with _lock(d / f"{key[:32]}.lock"):   # concurrent processes computing the same arrays wait for the first
        return _cached_arrays_locked(p, side, key, d, compute)


def _cached_arrays_locked(p, side, key: str, d, compute) -> dict[str, np.ndarray]:
    import os
    import tempfile
    from pathlib import Path

    from ..capture.hooks import _sha_file

    if p.is_file() and side.is_file():
        try:
            if side.read_text().strip() == _sha_file(p):
                with np.load(p, allow_pickle=False) as z:
                    if str(z["__key__"]) == key:
                        return {k: np.array(z[k]) for k in z.files if k != "__key__"}
        except (OSError, ValueError, KeyError, EOFError):
            pass
    arrays = compute()
    fd, tmp = tempfile.mkstemp(dir=d, suffix=".tmp.npz")
    os.close(fd)
    try:
        np.savez(tmp, __key__=np.array(key), **arrays)
        digest = _sha_file(Path(tmp))
        os.replace(tmp, p)
        side.write_text(digest + "\n")
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return arrays


# ------------------------------------------------------------------------------------------------ grouped moments

def doc_blocks(doc_ids: np.ndarray, n_groups: int) -> list[np.ndarray]:
    """Row indices grouped into at most ``n_groups`` blocks of whole documents (documents in order of first
    appearance, consecutive documents share a block): the deleted groups of a delete-a-group jackknife, so that a
    document is never split between groups."""
    doc_ids = np.asarray(doc_ids)
    _, first = np.unique(doc_ids, return_index=True)
    docs = doc_ids[np.sort(first)]
    if len(docs) < 2:
        raise ValueError("need at least two documents to resample")
    parts = np.array_split(docs, min(n_groups, len(docs)))
    return [np.flatnonzero(np.isin(doc_ids, p)) for p in parts if len(p)]


@dataclass
class GroupMoments:
    """Per-group sums of rows (s1: (G, d)), of outer products (s2: (G, d, d)) and row counts (n: (G,)), with their
    totals, so that the second moment or covariance of the data with one group left out costs O(d²), not a pass over
    the data."""

    s1: np.ndarray
    s2: np.ndarray
    n: np.ndarray

    def __post_init__(self) -> None:
        self.t1, self.t2, self.tn = self.s1.sum(0), self.s2.sum(0), float(self.n.sum())

    @staticmethod
    def of(X: np.ndarray, groups: list[np.ndarray]) -> "GroupMoments":
        X = np.asarray(X, dtype=np.float64)
        return GroupMoments(np.stack([X[g].sum(0) for g in groups]), np.stack([X[g].T @ X[g] for g in groups]),
                            np.array([len(g) for g in groups], dtype=np.float64))

    def matrix(self, *, center: bool, standardize: bool = False, drop: int | None = None) -> np.ndarray:
        """Second moment (``center=False``), covariance, or correlation (``standardize``) of the rows of every group
        but ``drop``."""
        if drop is None:
            n, M, s1 = self.tn, self.t2.copy(), self.t1
        else:
            n, M, s1 = self.tn - self.n[drop], self.t2 - self.s2[drop], self.t1 - self.s1[drop]
        M /= n
        if center or standardize:
            mu = s1 / n
            M -= np.outer(mu, mu)
        if standardize:
            sd = np.sqrt(np.clip(np.diag(M), 0.0, None))
            sd = np.where(sd > 0, sd, 1.0)
            M /= np.outer(sd, sd)
        return (M + M.T) / 2


def eigenvalues(M: np.ndarray) -> np.ndarray:
    """Eigenvalues (descending, clipped at 0) of a symmetric matrix."""
    return np.clip(np.linalg.eigvalsh(M)[::-1], 0.0, None)

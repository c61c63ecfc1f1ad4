"""Streamed rank-r residual statistics (γ_r, β₁ᵦ, β_eff) in O(d²) memory, whatever the number of rows.

The fast counterpart of ``quantproof.math.lowrank.gamma_r_streamed`` / ``StreamedGram``: the d×d Gram matrix
``G = Σ_b E_bᵀ E_b`` is accumulated in float64 by BLAS ``dsyrk`` (one triangle: half the flops of ``EᵀE``), on
CUDA with torch when a GPU is there (``device="auto"``). ``γ_r = Σ_{i≤r} λᵢ(G) / tr G`` — exactly the Ky Fan
energy ratio ``Σ_{i≤r} σᵢ² / Σ σᵢ²`` of the stacked residual (λᵢ(G) = σᵢ²), so it agrees with a full SVD of the
materialised matrix to rounding (≈1e-12 relative; asserted in tests/kernels).

:func:`residual_stats_streamed` also forms the 1-bit residual itself, chunk by chunk, from chunks of *keys*:
``E = K − α·sgn(K)`` with the least-squares ``α = ‖k‖₁/d`` (``sgn(0) = +1``), and reports the energy-weighted
``β₁ᵦ = Σ‖kᵢ‖₁²/d / Σ‖kᵢ‖²`` and ``β_eff = 1 − (1 − β₁ᵦ)(1 − γ_r)`` — the quantities of ``math.lowrank`` and
``math.sign_quant.energy_weighted_moment_ratio`` — without ever holding more than one chunk.

Nothing here imports torch unless CUDA is asked for, so a memory measurement of this module is not inflated.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["GramAccumulator", "gamma_r_streamed_fast", "residual_stats_streamed", "ResidualStats"]


def _want_cuda(device: str) -> bool:
    if device.startswith("cuda"):
        return True
    if device != "auto":
        return False
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        return False
    import sys

    if "torch" not in sys.modules:  # do not pull torch (hundreds of MB) into a CPU-only process just to ask
        return False
    import torch

    return bool(torch.cuda.is_available())


class GramAccumulator:
    """``G = Σ BᵀB`` over row blocks, float64, upper triangle by ``dsyrk`` (CPU) or ``addmm`` (CUDA)."""

    def __init__(self, d: int, device: str = "auto") -> None:
        if d < 1:
            raise ValueError("d must be >= 1")
        self.d = d
        self.rows = 0
        self.cuda = _want_cuda(device)
        if self.cuda:
            import torch

            self._dev = device if device.startswith("cuda") else "cuda"
            self._G = torch.zeros((d, d), dtype=torch.float64, device=self._dev)
        else:
            from scipy.linalg import blas

            self._syrk = blas.dsyrk
            self._G = np.zeros((d, d), dtype=np.float64, order="F")

    def add(self, block: ArrayLike) -> None:
        if self.cuda:
            import torch

            B = torch.as_tensor(block).to(self._dev, torch.float64)
            if B.ndim == 1:
                B = B[None, :]
            if B.shape[1] != self.d:
                raise ValueError(f"block has {B.shape[1]} columns, expected {self.d}")
            self._G.addmm_(B.T, B)
            self.rows += B.shape[0]
            return
        B = np.asarray(block)
        if B.ndim == 1:
            B = B[None, :]
        if B.ndim != 2 or B.shape[1] != self.d:
            raise ValueError(f"block has shape {B.shape}, expected (m, {self.d})")
        if B.shape[0] == 0:
            return
        B = np.ascontiguousarray(B, dtype=np.float64)
        # B.T is Fortran-contiguous (d, m): C ← 1·(Bᵀ)(Bᵀ)ᵀ + 1·C, upper triangle, in place (no copies)
        G = self._syrk(1.0, B.T, beta=1.0, c=self._G, trans=0, lower=0, overwrite_c=1)
        if G is not self._G:  # pragma: no cover - a scipy that copied anyway
            self._G = np.asfortranarray(G)
        self.rows += B.shape[0]

    def gram(self) -> NDArray[np.float64]:
        """The full symmetric G (float64, on the host)."""
        if self.cuda:
            G = self._G.cpu().numpy()
            return (G + G.T) / 2
        U = np.triu(self._G)
        return U + np.triu(U, 1).T

    def trace(self) -> float:
        if self.cuda:
            return float(self._G.diagonal().sum())
        return float(np.trace(self._G))

    def eigvalsh(self) -> NDArray[np.float64]:
        """Eigenvalues of G, descending, clipped at 0 (= the squared singular values of the stacked rows)."""
        if self.cuda:
            import torch

            w = torch.linalg.eigvalsh(self._G, UPLO="U").cpu().numpy()
        else:
            from ._blas import blas_threads

            with blas_threads(1):   # the tridiagonalisation is latency-bound: one thread, see _blas
                w = np.linalg.eigvalsh(self._G, UPLO="U")
        return np.clip(w[::-1], 0.0, None)

    def gamma_r(self, r: int | Sequence[int]) -> float | list[float]:
        w = self.eigvalsh()
        tot = self.trace()
        rs = [r] if np.isscalar(r) else list(r)
        if any(int(x) < 0 for x in rs):
            raise ValueError("r must be >= 0")
        out = [float("nan") if tot == 0.0 else float(np.sum(w[:int(x)]) / tot) for x in rs]
        return out[0] if np.isscalar(r) else out


def gamma_r_streamed_fast(chunks: Iterable[ArrayLike], r: int | Sequence[int], d: int | None = None,
                          device: str = "auto") -> float | list[float]:
    """γ_r of the row-stacked residual from row blocks (as ``lowrank.gamma_r_streamed``; ``r`` may be a list)."""
    acc: GramAccumulator | None = GramAccumulator(d, device) if d is not None else None
    for block in chunks:
        B = np.asarray(block) if not hasattr(block, "device") else block
        if acc is None:
            acc = GramAccumulator(B.shape[-1], device)
        acc.add(B)
    if acc is None:
        raise ValueError("no chunks")
    return acc.gamma_r(r)


@dataclass
class ResidualStats:
    rows: int
    d: int
    ranks: list[int]
    gamma_r: list[float]
    beta_1b: float                  # energy-weighted Σ‖k‖₁²/d / Σ‖k‖²
    beta_eff: list[float]           # 1 − (1 − β₁ᵦ)(1 − γ_r)
    key_energy: float               # Σ‖k‖²
    residual_energy: float          # Σ‖k − Q(k)‖² (= tr G)
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"rows": self.rows, "d": self.d, "ranks": self.ranks, "gamma_r": self.gamma_r,
                "beta_1b": self.beta_1b, "beta_eff": self.beta_eff, "key_energy": self.key_energy,
                "residual_energy": self.residual_energy, **self.extra}


def one_bit_residual(K: NDArray) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """(E = K − α sgn K, ‖k‖₁, ‖k‖²) per row of a float chunk, float64, least-squares α = ‖k‖₁/d, sgn(0) = +1.

    One float64 buffer: a float32 chunk is converted once and the residual formed in place in the converted copy
    (a float64 input is copied, never modified)."""
    K = np.asarray(K)
    E = np.array(K, dtype=np.float64, copy=True)
    d = E.shape[1]
    neg = E < 0
    l2sq = np.einsum("ij,ij->i", E, E)
    np.abs(E, out=E)
    l1 = E.sum(axis=1)
    # E = K − α·sgn(K) = sgn(K)·(|K| − α)
    E -= (l1 / d)[:, None]
    np.negative(E, out=E, where=neg)
    return E, l1, l2sq


def residual_stats_streamed(key_chunks: Iterable[ArrayLike], ranks: Sequence[int], *, device: str = "auto",
                            d: int | None = None) -> ResidualStats:
    """γ_r, β₁ᵦ and β_eff of the 1-bit residual of the row-stacked keys, one chunk at a time (O(d²) memory)."""
    acc: GramAccumulator | None = GramAccumulator(d, device) if d is not None else None
    l1sq_sum = 0.0
    energy = 0.0
    t_acc = 0.0
    for K in key_chunks:
        K = np.asarray(K)
        if K.ndim != 2:
            raise ValueError("key chunks must be (m, d)")
        if not np.all(np.isfinite(K)):
            raise ValueError("keys must be finite")
        if acc is None:
            acc = GramAccumulator(K.shape[1], device)
        t = time.perf_counter()
        E, l1, l2sq = one_bit_residual(K)
        acc.add(E)
        t_acc += time.perf_counter() - t
        l1sq_sum += float(np.sum(l1 * l1))
        energy += float(np.sum(l2sq))
        del E
    if acc is None:
        raise ValueError("no chunks")
    dd = acc.d
    beta = float("nan") if energy == 0.0 else min(l1sq_sum / (dd * energy), 1.0)
    t_eig = time.perf_counter()
    g = acc.gamma_r(list(ranks))
    t_eig = time.perf_counter() - t_eig
    assert isinstance(g, list)
    beff = [1.0 - (1.0 - beta) * (1.0 - x) for x in g]
    return ResidualStats(rows=acc.rows, d=dd, ranks=[int(r) for r in ranks], gamma_r=g, beta_1b=beta, beta_eff=beff,
                         key_energy=energy, residual_energy=acc.trace(),
                         extra={"accumulate_seconds": t_acc, "eigen_seconds": t_eig})

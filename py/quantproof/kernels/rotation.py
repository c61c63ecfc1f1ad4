"""Fast learned ℓ1 rotation (the ITQ-style sign/Procrustes alternation of ``rotations.fit_l1_rotation``).

Same iteration, same initialisation (``haar_orthogonal(d, rng)`` consumes the generator exactly as the reference),
same float64 arithmetic for the codes, so the trajectory is the reference's up to rounding (asserted in the tests:
R within 1e-9, history within 1e-12). What is saved:

* one product ``V̂Rᵀ`` per iteration instead of two (the product that gives the history value of iteration t is
  the one that gives the codes of iteration t+1);
* the mean 1-bit cosine straight from ``‖p‖₁ / (√d ‖p‖₂)`` (rows are unit vectors rotated, so no rescaling is
  needed), instead of the reference's rescaled, nan-guarded path;
* optional early stopping: ``tol`` (stop when the objective gained less than ``tol`` in one iteration) and a
  stop when the codes did not change (then R is a fixed point of the alternation: converged exactly).

``device="cuda"`` (or ``"auto"`` with a GPU) runs the products with torch in float64 on the GPU.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from quantproof.math.rotations import LearnedRotation, prepare_rotation_fit

__all__ = ["fit_l1_rotation_fast", "FitInfo"]


@dataclass
class FitInfo:
    iterations: int = 0
    converged: bool = False
    reason: str = ""
    seconds: float = 0.0
    seconds_per_iteration: float = 0.0
    times: list[float] = field(default_factory=list)  # wall time after each iteration, from the start


def _use_cuda(device: str) -> bool:
    if device.startswith("cuda"):
        return True
    if device != "auto":
        return False
    import sys

    if "torch" not in sys.modules:
        return False
    import torch

    return bool(torch.cuda.is_available())


def fit_l1_rotation_fast(K_train: ArrayLike, *, center: bool, iters: int = 50, rng=None, init: str = "haar",
                         normalize_rows: bool = True, tol: float | None = None, stop_when_fixed: bool = False,
                         device: str = "cpu", info: FitInfo | None = None,
                         blas_threads: int | None = 1) -> LearnedRotation:
    """As ``rotations.fit_l1_rotation`` (same arguments and result); ``tol``/``stop_when_fixed`` stop early.

    ``info`` (a :class:`FitInfo`) is filled with the iteration count, whether and why it stopped, and timings.
    ``blas_threads``: BLAS threads for the (n×d)·(d×d) products (default 1: they are small, and multi-threaded
    OpenBLAS on a shared machine is many times slower; ``None`` leaves the library's setting).
    """
    from ._blas import blas_threads as _limit

    with _limit(blas_threads):
        return _fit(K_train, center=center, iters=iters, rng=rng, init=init, normalize_rows=normalize_rows, tol=tol,
                    stop_when_fixed=stop_when_fixed, device=device, info=info)


def _fit(K_train, *, center, iters, rng, init, normalize_rows, tol, stop_when_fixed, device, info):
    t0 = time.perf_counter()
    Vh, mean, R = prepare_rotation_fit(K_train, center=center, rng=rng, init=init, normalize_rows=normalize_rows)
    d = Vh.shape[1]
    sqd = math.sqrt(d)
    info = info if info is not None else FitInfo()
    info.times.clear()

    if _use_cuda(device):
        import torch

        dev = device if device.startswith("cuda") else "cuda"
        Vt = torch.from_numpy(np.ascontiguousarray(Vh)).to(dev)
        Rt = torch.from_numpy(R).to(dev)

        def cos_mean(P):
            l1 = P.abs().sum(dim=1)
            l2 = torch.sqrt((P * P).sum(dim=1))
            c = torch.clamp(l1 / (sqd * l2), max=1.0)
            return float(torch.nanmean(c))

        P = Vt @ Rt.T
        hist = [cos_mean(P)]
        prev = None
        for it in range(iters):
            B = torch.where(P >= 0, 1.0, -1.0).to(torch.float64)
            U, _, Wt = torch.linalg.svd(B.T @ Vt)
            Rt = U @ Wt
            P = Vt @ Rt.T
            hist.append(cos_mean(P))
            info.times.append(time.perf_counter() - t0)
            fixed = stop_when_fixed and prev is not None and bool(torch.equal(B, prev))
            prev = B if stop_when_fixed else None
            if _stop(hist, tol, stop_when_fixed, fixed, info, it):
                break
        else:
            info.iterations = iters
        R = Rt.cpu().numpy()
    else:
        P = Vh @ R.T
        hist = [_cos_mean(P, sqd)]
        prev = None
        for it in range(iters):
            B = np.where(P >= 0, 1.0, -1.0)           # sgn with sgn(0) = +1
            U, _, Wt = np.linalg.svd(B.T @ Vh)        # Procrustes: argmax_R ⟨BᵀV̂, R⟩ = U Wᵀ
            R = U @ Wt
            P = Vh @ R.T
            hist.append(_cos_mean(P, sqd))
            info.times.append(time.perf_counter() - t0)
            fixed = stop_when_fixed and prev is not None and np.array_equal(B, prev)
            prev = B if stop_when_fixed else None
            if _stop(hist, tol, stop_when_fixed, fixed, info, it):
                break
        else:
            info.iterations = iters
    info.seconds = time.perf_counter() - t0
    info.seconds_per_iteration = info.seconds / max(1, info.iterations)
    return LearnedRotation(R=R, mean=mean, history=hist)


def _stop(hist, tol, stop_when_fixed, fixed, info: FitInfo, it: int) -> bool:
    if stop_when_fixed and fixed:
        info.iterations, info.converged, info.reason = it + 1, True, "codes unchanged (fixed point)"
        return True
    if tol is not None and hist[-1] - hist[-2] < tol:
        info.iterations, info.converged, info.reason = it + 1, True, f"objective gain < {tol:g}"
        return True
    return False


def _cos_mean(P: np.ndarray, sqd: float) -> float:
    """Mean over rows of ‖p‖₁ / (√d ‖p‖₂), capped at 1 (the rows here are unit vectors rotated: never zero)."""
    l1 = np.abs(P).sum(axis=1)
    l2 = np.sqrt(np.einsum("ij,ij->i", P, P))
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.minimum(l1 / (sqd * l2), 1.0)
    return float(np.nanmean(c))

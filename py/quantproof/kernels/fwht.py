"""Fast Walsh–Hadamard transform and SRHT (drop-in for ``quantproof.math.rotations.fwht`` / ``SRHT.apply``).

``fwht_fast(x) = x @ H / √d`` along the last axis (Sylvester order, orthonormal, an involution), O(d log d) per row.

Backends: a torch tensor stays on its device (CUDA or CPU) and is transformed with reshape butterflies; a numpy
array goes to CUDA with ``device="cuda"`` (or ``"auto"`` with a GPU and ≥ ``CUDA_MIN_ELEMENTS`` elements), else to
the native C kernel (in place on a copy, cache-resident per row, radix-8 then radix-4 passes, multi-threaded over
rows); without it, to the numpy reference.

Precision: float64 input → float64 arithmetic with the reference's butterflies in the reference's order and the
same final division by √d: the native result is bit-identical to ``rotations.fwht``. float32 input → float32
arithmetic (twice the throughput); it differs from the float64 reference by rounding only (relative error
≲ log₂d · 2⁻²⁴ per coordinate, asserted in the tests). Other dtypes are computed in float64.

A last axis that is not a power of two raises ``ValueError`` (as the reference does).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _native
from .e8 import _cuda_available, _is_torch

__all__ = ["fwht_fast", "fwht_torch", "srht_apply_fast", "is_power_of_two", "CUDA_MIN_ELEMENTS"]

CUDA_MIN_ELEMENTS = 1 << 20


def is_power_of_two(d: int) -> bool:
    return d >= 1 and (d & (d - 1)) == 0


def _check_d(d: int) -> None:
    if not is_power_of_two(d):
        raise ValueError(f"fwht needs a power-of-two length, got {d}")


def fwht_torch(x, signs=None):
    """Orthonormal FWHT of a torch tensor along its last axis, on its device (dtype kept for float32/64)."""
    import torch

    d = x.shape[-1]
    _check_d(d)
    if not torch.is_floating_point(x) or x.dtype not in (torch.float32, torch.float64):
        x = x.to(torch.float64)
    lead = x.shape[:-1]
    a = x.reshape(-1, d)
    a = a * signs if signs is not None else a.clone()
    h = 1
    while h < d:
        a = a.reshape(-1, d // (2 * h), 2, h)
        u, v = a[:, :, 0, :], a[:, :, 1, :]
        a = torch.stack((u + v, u - v), dim=2)
        h *= 2
    # a Python float: correctly rounded √d, as numpy's (torch.sqrt of a tensor can differ in the last bit)
    a = a.reshape(-1, d) / math.sqrt(d)
    return a.reshape(*lead, d)


def _torch_dtype(dt: np.dtype):
    import torch

    return torch.float32 if dt == np.float32 else torch.float64


def fwht_fast(x: ArrayLike, *, device: str = "auto", threads: int | None = None, signs: ArrayLike | None = None,
              out: np.ndarray | None = None) -> Any:
    """Orthonormal FWHT along the last axis. ``signs`` (length d, ±1): transform ``x * signs`` (an SRHT's D).

    ``out``: an array of the input's shape and dtype to write into (may be ``x`` itself: in place)."""
    if _is_torch(x):
        import torch

        sg = None
        if signs is not None:
            sg = torch.as_tensor(np.asarray(signs) if not _is_torch(signs) else signs, device=x.device)
            sg = sg.to(x.dtype if x.dtype in (torch.float32, torch.float64) else torch.float64)
        return fwht_torch(x, sg)
    a = np.asarray(x)
    if a.ndim == 0:
        raise ValueError("fwht needs at least one axis")
    d = a.shape[-1]
    _check_d(d)
    dt = a.dtype if a.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    sg = None
    if signs is not None:
        sg = np.ascontiguousarray(np.asarray(signs, dtype=dt))
        if sg.shape != (d,):
            raise ValueError(f"signs must have shape ({d},)")
    use_cuda = device.startswith("cuda") or (device == "auto" and a.size >= CUDA_MIN_ELEMENTS
                                             and _cuda_available())
    if use_cuda:
        import torch

        dev = device if device.startswith("cuda") else "cuda"
        t = torch.from_numpy(np.ascontiguousarray(a, dtype=dt)).to(dev)
        res = fwht_torch(t, None if sg is None else torch.from_numpy(sg).to(dev)).cpu().numpy()
        if out is not None:
            out[...] = res
            return out
        return res
    L = _native.lib()
    if L is None:
        from quantproof.math.rotations import fwht

        res = fwht(a * sg if sg is not None else a).astype(dt, copy=False)
        if out is not None:
            out[...] = res
            return out
        return res
    src = np.ascontiguousarray(a, dtype=dt)
    if out is None:
        buf = np.empty(src.shape, dtype=dt)
    else:
        if out.shape != a.shape or out.dtype != dt or not out.flags.c_contiguous:
            raise ValueError("out must be C-contiguous with the input's shape and dtype")
        buf = out
    rows = buf.size // d if d else 0
    if rows:
        L.qp_fwht(src.ctypes.data, buf.ctypes.data, None if sg is None else sg.ctypes.data, rows, d,
                  int(dt == np.float64), threads if threads is not None else _native.default_threads())
    return buf


def srht_apply_fast(srht, X: ArrayLike, **kw) -> Any:
    """``SRHT.apply`` through :func:`fwht_fast`: rows ``x ↦ √(d/m) · P H D x / √d``."""
    y = fwht_fast(X, signs=srht.signs, **kw)
    if srht.rows is not None:
        scale = float(np.sqrt(srht.d / len(srht.rows)))
        if _is_torch(y):
            import torch

            idx = torch.as_tensor(srht.rows, device=y.device)
            return y.index_select(-1, idx) * scale
        z = np.take(y, srht.rows, axis=-1)
        z *= scale
        return z
    return y

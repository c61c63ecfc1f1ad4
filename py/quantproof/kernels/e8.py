"""Fast nearest-point quantizers for D8, E8 and E8⊕E8 (drop-in for ``quantproof.math.lattice``).

Backends, picked per call:

* a torch tensor stays on its device (CUDA or CPU) and is decoded by :func:`nearest_e8_torch` (float64 arithmetic);
* a numpy array goes to CUDA when ``device="cuda"``, or ``device="auto"`` with a CUDA GPU and at least
  ``CUDA_MIN_VECTORS`` vectors; otherwise to the native C kernel (``_native``, multi-threaded, vectorised);
* when the native kernel is unavailable: the numpy reference (the torch kernel on CPU is no faster than it).

Exactness: every backend returns exactly the lattice points of the reference (``quantproof.math.lattice``), ties
included: rounding is ``floor(x + ½)`` (halves go up), the D8 parity fix re-rounds the *first* coordinate of
largest rounding error, towards x (``+1`` when that error is ``>= 0``), and an E8 tie between the two cosets
goes to the integer coset D8 (the half coset wins only when strictly nearer). All distance sums use numpy's
pairwise order for 8 terms, so the tie decisions agree bit for bit. (The reference's own sums follow the memory
layout of its input; for C-contiguous or float32 input it is this order. Fortran-ordered float64 input to the
reference sums sequentially, which can only matter for exact distance ties between non-representable sums.)

``out=``: a preallocated C-contiguous output array (numpy inputs), reused across calls (no page faults).

Output dtype: the input's (float32 → float32, float64 → float64; other dtypes → float64), or ``out_dtype``. A
lattice point that float32 cannot hold exactly (only possible for coordinates beyond ±2²²) raises ``ValueError``
rather than being rounded: ask for ``out_dtype=np.float64``. Non-finite inputs are passed to the reference
(whose output for them is what it is), so the fast path never disagrees with it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _native

__all__ = ["nearest_d8_fast", "nearest_e8_fast", "nearest_e8e8_fast", "nearest_fast", "nearest_e8_torch",
           "nearest_d8_torch", "backend", "CUDA_MIN_VECTORS"]

CUDA_MIN_VECTORS = 1 << 16


def _is_torch(x: Any) -> bool:
    t = type(x)
    return t.__module__.startswith("torch") and t.__name__ in ("Tensor", "Parameter")


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def backend(device: str = "auto", n_vectors: int = 1 << 20) -> str:
    """The backend a numpy input of ``n_vectors`` would use: "cuda", "native" or "numpy" (the reference)."""
    if device.startswith("cuda") or (device == "auto" and n_vectors >= CUDA_MIN_VECTORS and _cuda_available()):
        return "cuda"
    if _native.lib() is not None:
        return "native"
    return "numpy"


# --------------------------------------------------------------------------------------------------------------
# torch (any device)


def _tree8(v):
    return ((v[..., 0] + v[..., 1]) + (v[..., 2] + v[..., 3])) + ((v[..., 4] + v[..., 5]) + (v[..., 6] + v[..., 7]))


def _dn8_torch(x):
    import torch

    f = torch.floor(x + 0.5)
    s = _tree8(f)
    h = s * 0.5
    odd = torch.floor(h) != h
    err = x - f
    i = torch.argmax(torch.abs(err), dim=-1, keepdim=True)  # first maximal index (torch documents this)
    e_i = torch.gather(err, -1, i)
    step = torch.where(e_i >= 0, 1.0, -1.0).to(x.dtype)
    onehot = torch.zeros_like(f, dtype=torch.bool).scatter_(-1, i, True) & odd[..., None]
    return torch.where(onehot, f + step, f)


def nearest_d8_torch(x):
    """D8 nearest points of a torch tensor (..., 8), float64 arithmetic, on the tensor's device."""
    import torch

    if x.shape[-1] != 8:
        raise ValueError("D8 needs a last axis of length 8")
    return _dn8_torch(x.to(torch.float64))


def nearest_e8_torch(x):
    """E8 nearest points of a torch tensor (..., 8), float64 arithmetic (mirrors the reference), its device."""
    import torch

    if x.shape[-1] != 8:
        raise ValueError("E8 needs a last axis of length 8")
    x = x.to(torch.float64)
    y0 = _dn8_torch(x)
    y1 = _dn8_torch(x - 0.5) + 0.5
    d0 = _tree8((x - y0) * (x - y0))
    d1 = _tree8((x - y1) * (x - y1))
    return torch.where((d1 < d0)[..., None], y1, y0)


def _torch_blocks(x, lattice: str, out_dtype, chunk: int = 1 << 22):
    """Decode a torch tensor (..., 8k) block by block (bounded temporaries), in float64, cast to ``out_dtype``."""
    import torch

    fn = nearest_e8_torch if lattice == "e8" else nearest_d8_torch
    flat = x.reshape(-1, 8)
    out = torch.empty(flat.shape, dtype=out_dtype, device=x.device)
    for a in range(0, flat.shape[0], chunk):
        y = fn(flat[a:a + chunk])
        if out_dtype != torch.float64:
            yc = y.to(out_dtype)
            if not torch.equal(yc.to(torch.float64), y):
                raise ValueError("a lattice point is not representable in the output dtype: use float64")
            out[a:a + chunk] = yc
        else:
            out[a:a + chunk] = y
    return out.reshape(x.shape)


# --------------------------------------------------------------------------------------------------------------
# dispatch


def _reference(lattice: str):
    from quantproof.math import lattice as L

    return {"d8": L.nearest_d8, "e8": L.nearest_e8, "e8e8": L.nearest_e8e8}[lattice]


def _check_shape(shape: tuple[int, ...], lattice: str) -> None:
    n = 16 if lattice == "e8e8" else 8
    name = {"d8": "D8", "e8": "E8", "e8e8": "E8⊕E8"}[lattice]
    if len(shape) == 0 or shape[-1] != n:
        raise ValueError(f"{name} needs a last axis of length {n}")


def _run(x: Any, lattice: str, out_dtype, device: str, threads: int | None, out: np.ndarray | None = None):
    if _is_torch(x):
        import torch

        _check_shape(tuple(x.shape), lattice)
        if not torch.is_floating_point(x):
            x = x.to(torch.float64)
        od = out_dtype if out_dtype is not None else (x.dtype if x.dtype in (torch.float32, torch.float64)
                                                     else torch.float64)
        if isinstance(od, np.dtype) or od in (np.float32, np.float64):
            od = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}[np.dtype(od)]
        if not bool(torch.isfinite(x).all()):
            return torch.from_numpy(_reference(lattice)(x.detach().cpu().numpy())).to(device=x.device, dtype=od)
        return _torch_blocks(x, "d8" if lattice == "d8" else "e8", od)

    a = np.asarray(x)
    _check_shape(a.shape, lattice)
    if a.dtype not in (np.float32, np.float64):
        a = a.astype(np.float64)
    od = np.dtype(out_dtype) if out_dtype is not None else a.dtype
    if od not in (np.float32, np.float64):
        raise ValueError("out_dtype must be float32 or float64")
    n_vec = a.size // 8
    be = backend(device, n_vec)
    if be == "cuda":
        import torch

        dev = device if device.startswith("cuda") else "cuda"
        t = torch.from_numpy(np.ascontiguousarray(a)).to(dev)
        res = _run(t, lattice, {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}[od],
                   device, threads).cpu().numpy()
        if out is not None:
            if out.shape != a.shape or out.dtype != od:
                raise ValueError(f"out must be a {od} array of shape {a.shape}")
            out[...] = res
            return out
        return res
    L = _native.lib() if be == "native" else None
    if L is not None:
        a = np.ascontiguousarray(a)
        if out is None:
            out = np.empty(a.shape, dtype=od)
        elif out.shape != a.shape or out.dtype != od or not out.flags.c_contiguous or not out.flags.writeable:
            raise ValueError(f"out must be a writeable C-contiguous {od} array of shape {a.shape}")
        if n_vec:
            fl = L.qp_nearest8(a.ctypes.data, out.ctypes.data, n_vec, int(a.dtype == np.float64),
                               int(od == np.float64), int(lattice != "d8"),
                               threads if threads is not None else _native.default_threads())
            if fl & _native.NONFINITE:
                out[...] = _reference(lattice)(a).astype(od)
            if fl & _native.INEXACT32:
                raise ValueError("a lattice point has a coordinate that float32 cannot represent exactly "
                                 "(|x| beyond 2^22): pass out_dtype=np.float64")
        return out
    y = _reference(lattice)(a)
    yc = y.astype(od)
    if od != np.float64 and not np.array_equal(yc.astype(np.float64), y, equal_nan=True):
        raise ValueError("a lattice point has a coordinate that float32 cannot represent exactly: "
                         "pass out_dtype=np.float64")
    if out is not None:
        if out.shape != a.shape or out.dtype != od:
            raise ValueError(f"out must be a {od} array of shape {a.shape}")
        out[...] = yc
        return out
    return yc


def nearest_d8_fast(x: ArrayLike, *, out_dtype=None, device: str = "auto", threads: int | None = None,
                    out: np.ndarray | None = None) -> NDArray:
    """Nearest point of D8 for every 8-vector on the last axis; same points as ``lattice.nearest_d8``."""
    return _run(x, "d8", out_dtype, device, threads, out)


def nearest_e8_fast(x: ArrayLike, *, out_dtype=None, device: str = "auto", threads: int | None = None,
                    out: np.ndarray | None = None) -> NDArray:
    """Nearest point of E8 for every 8-vector on the last axis; same points as ``lattice.nearest_e8``."""
    return _run(x, "e8", out_dtype, device, threads, out)


def nearest_e8e8_fast(x: ArrayLike, *, out_dtype=None, device: str = "auto", threads: int | None = None,
                      out: np.ndarray | None = None) -> NDArray:
    """Nearest point of E8⊕E8 for every 16-vector on the last axis; same points as ``lattice.nearest_e8e8``."""
    return _run(x, "e8e8", out_dtype, device, threads, out)


def nearest_fast(x: ArrayLike, lattice: str = "e8", **kw) -> NDArray:
    """Direct sums of copies of D8/E8 covering the last axis (a multiple of 8; of 16 for e8e8), as
    ``lattice.nearest`` (except ``z``, which is plain rounding: use the reference)."""
    a = x if _is_torch(x) else np.asarray(x)
    n = 16 if lattice == "e8e8" else 8
    if lattice not in ("d8", "e8", "e8e8"):
        raise ValueError(f"unsupported lattice {lattice!r} (d8, e8, e8e8)")
    if len(a.shape) == 0 or a.shape[-1] % n:
        raise ValueError(f"length {a.shape[-1] if len(a.shape) else 0} is not a multiple of {n}")
    shp = tuple(a.shape)
    blocks = a.reshape(*shp[:-1], shp[-1] // 8, 8)
    return _run(blocks, "d8" if lattice == "d8" else "e8", kw.get("out_dtype"), kw.get("device", "auto"),
                kw.get("threads")).reshape(shp)

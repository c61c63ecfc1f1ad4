"""E8 / E8⊕E8 ("E16") nearest-point quantisation of activations, with the scalings seed 000 leaves open.

The seed says activations were mapped "onto a conceptual torus using a sinusoidal mapping and projected ... onto
Dual E8 lattice hemispheres". E8 is self-dual (even unimodular), so "Dual E8" is E8, and the 16-dimensional
"E16" is read as the direct sum E8⊕E8: a 16-vector is quantised by quantising its two 8-dimensional halves to E8
independently (nearest point of a direct sum = pair of nearest points). A hidden state of size ``d`` (576 for
SmolLM2 = 36 blocks of 16) is cut into consecutive 16-blocks (any remainder would be padded with zeros and
dropped).

Scalings (per token; every choice is a parameter and is written into the ledger):

``rms``   (default) ``α = rms(h) / resolution`` over the token's full vector; ``Q(h) = α · E8⊕E8(h / α)``. With
          ``resolution = 1`` the lattice's unit coordinate step equals the activation RMS ("lattice step matches
          the activation RMS"); larger resolution = finer lattice relative to the signal.
``block`` the same with one α per 16-block (36 scales per token for SmolLM2): finer, more side information.
``sin``   the seed's "sinusoidal mapping onto a torus", as we read it: each coordinate becomes an angle
          ``φ = (π/2) · h / max|h|`` ∈ [−π/2, π/2] (a point on a circle; the vector is a point on the torus
          (S¹)^d), ``u = sin φ``; ``u`` is quantised with the ``rms`` rule and mapped back with
          ``h = max|h| · (2/π) · arcsin(clip(û, −1, 1))``.

The nearest-point search is Conway & Sloane's (1982) decoder (D8: round, fix the parity by re-rounding the
coordinate with the largest rounding error; E8 = D8 ∪ (D8 + ½)), written in torch here so that forward hooks run on
the activations' device (GPU included); tests check it against :mod:`quantproof.math.lattice` point by point.
"""

from __future__ import annotations

import math

SCALES = ("rms", "block", "sin")


def _d8(x):
    import torch

    f = torch.floor(x + 0.5)          # ties up, as quantproof.math.lattice does
    parity = f.sum(-1).remainder(2) != 0
    err = x - f
    idx = err.abs().argmax(-1, keepdim=True)
    e = err.gather(-1, idx)
    step = torch.where(e >= 0, torch.ones_like(e), -torch.ones_like(e))
    g = f.scatter_add(-1, idx, step)
    return torch.where(parity[..., None], g, f)


def nearest_e8_torch(x):
    """Nearest E8 point to each 8-vector in the last axis (torch; any leading shape)."""
    import torch

    y0 = _d8(x)
    y1 = _d8(x - 0.5) + 0.5
    d0 = ((x - y0) ** 2).sum(-1, keepdim=True)
    d1 = ((x - y1) ** 2).sum(-1, keepdim=True)
    return torch.where(d1 < d0, y1, y0)


def nearest_e8e8_torch(x):
    """Nearest E8⊕E8 point to each 16-vector in the last axis (= nearest E8 point of each half)."""
    shp = x.shape
    return nearest_e8_torch(x.reshape(*shp[:-1], shp[-1] // 8, 8)).reshape(shp)


def _blocks(h, width: int = 16):
    import torch

    d = h.shape[-1]
    pad = (-d) % width
    if pad:
        h = torch.nn.functional.pad(h, (0, pad))
    return h.reshape(*h.shape[:-1], -1, width), d


def quantize(h, *, scale: str = "rms", resolution: float = 1.0, eps: float = 1e-12):
    """Q(h): E8⊕E8 quantisation of the last axis of ``h`` (float tensor) with the given per-token scaling."""
    import torch

    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r} (known: {', '.join(SCALES)})")
    x = h.float()
    if scale == "sin":
        a = x.abs().amax(-1, keepdim=True).clamp_min(eps)
        u = torch.sin((math.pi / 2) * x / a)
        uq = quantize(u, scale="rms", resolution=resolution, eps=eps)
        return (a * (2 / math.pi) * torch.asin(uq.clamp(-1.0, 1.0))).to(h.dtype)
    blocks, d = _blocks(x)
    if scale == "rms":
        alpha = x.pow(2).mean(-1, keepdim=True).sqrt().clamp_min(eps)[..., None] / resolution
    else:  # block
        alpha = blocks.pow(2).mean(-1, keepdim=True).sqrt().clamp_min(eps) / resolution
    q = nearest_e8e8_torch(blocks / alpha) * alpha
    return q.reshape(*x.shape[:-1], -1)[..., :d].to(h.dtype)


def blend(h, q, b: float):
    """h' = (1 − b)·h + b·Q(h)."""
    return (1.0 - b) * h + b * q


def e8_integer_code(h, *, scale: str = "rms", resolution: float = 1.0, eps: float = 1e-12):
    """The stored form of E8⊕E8-coded rows: (codes, alphas).

    Every E8 point has all-integer or all-half-integer coordinates, so ``2·point`` is an integer vector: that is
    what is stored (int8 when it fits, else int16). ``alphas`` are the per-row (``rms``) or per-block (``block``)
    scales, stored as float16. Returns numpy arrays plus the decoded reconstruction.
    """
    import numpy as np
    import torch

    x = torch.as_tensor(h).float()
    blocks, d = _blocks(x)
    if scale == "rms":
        alpha = x.pow(2).mean(-1, keepdim=True).sqrt().clamp_min(eps)[..., None] / resolution
    elif scale == "block":
        alpha = blocks.pow(2).mean(-1, keepdim=True).sqrt().clamp_min(eps) / resolution
    else:
        raise ValueError("integer codes are defined for scale 'rms' or 'block'")
    pts = nearest_e8e8_torch(blocks / alpha)
    twice = torch.round(2 * pts).to(torch.int64).cpu().numpy()
    lo, hi = int(twice.min()), int(twice.max())
    dtype = np.int8 if -128 <= lo and hi <= 127 else np.int16
    codes = twice.astype(dtype).reshape(*x.shape[:-1], -1)
    alphas = alpha.squeeze(-1).cpu().numpy().astype(np.float16)
    # decode exactly as a reader of the stored form would: fp16 scale × int / 2
    a = torch.as_tensor(alphas.astype(np.float32))[..., None]
    rec = (torch.as_tensor(codes.astype(np.float32)).reshape(blocks.shape) / 2.0 * a).reshape(*x.shape[:-1], -1)
    return codes, alphas, rec[..., :d].numpy()

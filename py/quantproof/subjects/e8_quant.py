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


# ------------------------------------------------------------------------------------------------------------
# Matching the quantiser's fidelity to a reported blend-cosine curve, and what a normalisation removes


def blend_cosines_at(h, *, blends, scale: str = "rms", resolution: float = 1.0):
    """Mean over the rows of ``h`` of cos(h, (1 − b)h + bQ(h)) for each b, computed per row from the blend formula
    of c = cos(h, Q(h)) and ρ = ‖Q(h)‖/‖h‖ (exact per row: the formula is an identity of the blend), plus the mean
    c and ρ. ``h``: float tensor (..., d)."""
    import numpy as np
    import torch

    from quantproof.math.lattice import blend_cosine_predicted

    x = h.reshape(-1, h.shape[-1]).float()
    q = quantize(x, scale=scale, resolution=resolution)
    c = torch.nn.functional.cosine_similarity(x, q, dim=-1).double().numpy()
    rho = (q.norm(dim=-1) / x.norm(dim=-1).clamp_min(1e-30)).double().numpy()
    pred = np.array([float(np.mean(blend_cosine_predicted(c, rho, b))) for b in blends])
    return pred, float(c.mean()), float(rho.mean())


def fit_resolution(h, *, blends, cosines, scale: str = "rms", lo: float = 0.02, hi: float = 2.0,
                   n_grid: int = 31, n_refine: int = 20) -> dict:
    """The resolution r whose quantiser makes the blend cosines of ``h`` (:func:`blend_cosines_at`) closest, in
    least squares over the rows, to a reported curve (``blends``, ``cosines``): a log grid on [lo, hi], then a
    golden-section search between the best grid point's neighbours (the loss need not be unimodal on the whole
    range, because c and ρ are not monotone in r when a few coordinates dominate the RMS). Returns the resolution
    and the fit's details."""
    import numpy as np

    b = [float(v) for v in blends]
    target = np.asarray(cosines, dtype=float)
    if len(b) != len(target) or not len(b):
        raise ValueError("blends and cosines need the same non-zero length")

    def loss(r: float) -> float:
        pred, _, _ = blend_cosines_at(h, blends=b, scale=scale, resolution=r)
        return float(((pred - target) ** 2).sum())

    grid = np.geomspace(lo, hi, n_grid)
    losses = [loss(float(r)) for r in grid]
    i = int(np.argmin(losses))
    a, z = np.log(grid[max(i - 1, 0)]), np.log(grid[min(i + 1, n_grid - 1)])
    g = (np.sqrt(5) - 1) / 2
    c1, c2 = z - g * (z - a), a + g * (z - a)
    f1, f2 = loss(float(np.exp(c1))), loss(float(np.exp(c2)))
    for _ in range(n_refine):
        if f1 <= f2:
            z, c2, f2 = c2, c1, f1
            c1 = z - g * (z - a)
            f1 = loss(float(np.exp(c1)))
        else:
            a, c1, f1 = c1, c2, f2
            c2 = a + g * (z - a)
            f2 = loss(float(np.exp(c2)))
    cands = [(losses[i], float(grid[i])), (f1, float(np.exp(c1))), (f2, float(np.exp(c2)))]
    best_loss, r = min(cands)
    pred, c, rho = blend_cosines_at(h, blends=b, scale=scale, resolution=r)
    return {"resolution": r, "loss": best_loss, "rms_error": float(np.sqrt(best_loss / len(b))), "q_cos": c,
            "q_rho": rho, "blends": b, "target": target.tolist(), "predicted": pred.tolist(),
            "grid": grid.tolist(), "grid_loss": losses}


def absorbed_fraction(h, new, eps: float = 1e-30):
    """Per row, the fraction of a perturbation's energy that an RMS normalisation removes:
    A = 1 − ‖n(h') − n(h)‖² / ‖(h' − h)/rms(h)‖², n(x) = x / rms(x). A = 1 for a pure rescaling of h (the
    normalisation undoes it), about 0 for a small perturbation orthogonal to h (it passes through unchanged)."""
    import torch

    x, y = h.double(), new.double()   # float64: at tiny blends the perturbation is near float32 resolution
    rms_x = x.pow(2).mean(-1, keepdim=True).sqrt().clamp_min(eps)
    rms_y = y.pow(2).mean(-1, keepdim=True).sqrt().clamp_min(eps)
    pre = ((y - x) / rms_x).pow(2).sum(-1)
    post = (y / rms_y - x / rms_x).pow(2).sum(-1)
    return torch.where(pre > 0, 1.0 - post / pre.clamp_min(eps), torch.zeros_like(pre))


def matched_perturbations(h, new, generator=None):
    """Two perturbations with the energy of ``new − h`` per row: a pure rescaling of h (h·(1 + ‖δ‖/‖h‖)) and a
    Gaussian direction (h + ‖δ‖·z/‖z‖), in float64 (cast them to inject them). Controls for
    :func:`absorbed_fraction` and for the drift of a blend."""
    import torch

    x = h.double()
    d = (new.double() - x).norm(dim=-1, keepdim=True)
    scaled = x * (1.0 + d / x.norm(dim=-1, keepdim=True).clamp_min(1e-30))
    z = torch.randn(x.shape, generator=generator, dtype=torch.float64, device="cpu").to(x.device)
    gauss = x + d * z / z.norm(dim=-1, keepdim=True).clamp_min(1e-30)
    return scaled, gauss

"""Lattice quantizers: Zⁿ, Dₙ, E8, E8⊕E8 (and E8 blocks for any length divisible by 8), with brute-force checks.

Nearest-point algorithms follow Conway & Sloane, "Fast quantizing and decoding algorithms for lattice quantizers
and codes" (IEEE Trans. IT 1982), cited in /work/shared/REFERENCES.md:

* Dₙ = {x ∈ Zⁿ : Σxᵢ even}: round every coordinate; if the sum is odd, re-round the coordinate with the largest
  rounding error the other way.
* E8 = D8 ∪ (D8 + ½·1): decode both cosets and keep the nearer.

Rounding uses ``floor(x + ½)`` (ties up) so results are deterministic. Coordinates are the last axis.

Also: generator and Gram matrices (exact, sympy), minimal norms and kissing numbers by enumeration, the
normalized second moment G by Monte Carlo with a confidence interval, and the blend (1 − b)h + b·Q(h) of seed 000.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Literal

import numpy as np
import sympy as sp
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "nearest_z",
    "nearest_dn",
    "nearest_d8",
    "nearest_e8",
    "nearest_e8e8",
    "nearest",
    "in_lattice",
    "bruteforce_nearest",
    "generator_matrix",
    "gram_matrix",
    "gram_determinant",
    "covolume",
    "shell_counts",
    "minimal_norm_and_kissing",
    "NSMEstimate",
    "normalized_second_moment",
    "normalized_second_moment_mc",
    "NSM_KNOWN",
    "E8_NSM_EXACT",
    "blend",
    "blend_cosine_predicted",
    "blend_error_energy",
    "quantize_scaled",
]

Lattice = Literal["z", "d8", "e8", "e8e8"]


def _round(x: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.floor(x + 0.5)


def nearest_z(x: ArrayLike) -> NDArray[np.float64]:
    """Nearest point of Zⁿ (coordinatewise rounding, ties up)."""
    return _round(np.asarray(x, dtype=np.float64))


def _vectors(x: ArrayLike, name: str, what: str) -> NDArray[np.float64]:
    """x as float64 with at least one axis (``what`` describes the last axis in the error message)."""
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 0:
        raise ValueError(f"{name} needs vectors along a last axis ({what}), got a 0-d scalar")
    return a


def _finite(x: NDArray[np.float64], name: str) -> None:
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name}: input must be finite (no nan/inf): it has no nearest lattice point")


def nearest_dn(x: ArrayLike) -> NDArray[np.float64]:
    """Nearest point of Dₙ (n = last axis length ≥ 2), Conway–Sloane.

    A 0-d scalar and non-finite input (nan/inf) raise ``ValueError``.
    """
    x = _vectors(x, "nearest_dn", "length n >= 2")
    if x.shape[-1] < 2:
        raise ValueError("D_n needs n >= 2")
    _finite(x, "nearest_dn")
    return _nearest_dn(x)


def _nearest_dn(x: NDArray[np.float64]) -> NDArray[np.float64]:
    f = _round(x)
    odd = (np.sum(f, axis=-1) % 2) != 0
    if np.any(odd):
        err = x - f
        i = np.argmax(np.abs(err), axis=-1)
        e_i = np.take_along_axis(err, i[..., None], axis=-1)[..., 0]
        step = np.where(e_i >= 0, 1.0, -1.0)  # move toward x (away from the rounded value)
        g = f.copy()
        flat_g = g.reshape(-1, x.shape[-1])
        rows = np.nonzero(odd.reshape(-1))[0]
        flat_g[rows, i.reshape(-1)[rows]] += step.reshape(-1)[rows]
        f = flat_g.reshape(x.shape)
    return f


def nearest_d8(x: ArrayLike) -> NDArray[np.float64]:
    """Nearest point of D8 (:func:`nearest_dn` restricted to a last axis of length 8; ``ValueError`` otherwise)."""
    x = _vectors(x, "nearest_d8", "length 8")
    if x.shape[-1] != 8:
        raise ValueError("D8 needs a last axis of length 8")
    return nearest_dn(x)


def nearest_e8(x: ArrayLike) -> NDArray[np.float64]:
    """Nearest point of E8 = D8 ∪ (D8 + ½): decode both cosets, keep the nearer (ties: the integer coset).

    The last axis must have length 8 (a 0-d scalar raises ``ValueError`` too); non-finite input (nan/inf) has no
    nearest lattice point and raises ``ValueError``. An empty batch gives an empty result.
    """
    x = _vectors(x, "nearest_e8", "length 8")
    if x.shape[-1] != 8:
        raise ValueError("E8 needs a last axis of length 8")
    _finite(x, "nearest_e8")
    y0 = _nearest_dn(x)
    y1 = _nearest_dn(x - 0.5) + 0.5
    d0 = np.sum((x - y0) ** 2, axis=-1)
    d1 = np.sum((x - y1) ** 2, axis=-1)
    return np.where((d1 < d0)[..., None], y1, y0)


def _blocks(x: NDArray[np.float64], n: int) -> NDArray[np.float64]:
    if x.ndim == 0:
        raise ValueError(f"expected vectors along a last axis (a multiple of {n}), got a 0-d scalar")
    if x.shape[-1] % n:
        raise ValueError(f"length {x.shape[-1]} is not a multiple of {n}")
    return x.reshape(*x.shape[:-1], x.shape[-1] // n, n)


def nearest_e8e8(x: ArrayLike) -> NDArray[np.float64]:
    """Nearest point of E8 ⊕ E8 (last axis 16): each 8-block decoded independently (exact for a direct sum)."""
    x = _vectors(x, "nearest_e8e8", "length 16")
    if x.shape[-1] != 16:
        raise ValueError("E8⊕E8 needs a last axis of length 16")
    return nearest_e8(_blocks(x, 8)).reshape(x.shape)


def nearest(x: ArrayLike, lattice: Lattice = "e8") -> NDArray[np.float64]:
    """Nearest point of the direct sum of copies of the lattice covering the last axis (a multiple of 8 for d8/e8,
    of 16 for e8e8; any length for z)."""
    x = np.asarray(x, dtype=np.float64)
    if lattice == "z":
        return nearest_z(x)
    if lattice == "d8":
        return nearest_dn(_blocks(x, 8)).reshape(x.shape)
    if lattice == "e8":
        return nearest_e8(_blocks(x, 8)).reshape(x.shape)
    if lattice == "e8e8":
        _blocks(x, 16)
        return nearest_e8(_blocks(x, 8)).reshape(x.shape)
    raise ValueError(lattice)


def in_lattice(y: ArrayLike, lattice: Lattice = "e8", tol: float = 1e-9) -> NDArray[np.bool_]:
    """Membership test per 8-block row (z: any length)."""
    y = np.asarray(y, dtype=np.float64)
    if lattice == "z":
        return np.all(np.abs(y - np.round(y)) <= tol, axis=-1)
    b = _blocks(y, 8)
    int_ = np.all(np.abs(b - np.round(b)) <= tol, axis=-1)
    half = np.all(np.abs(b - 0.5 - np.round(b - 0.5)) <= tol, axis=-1)
    even = (np.round(np.sum(b, axis=-1)) % 2) == 0
    ok = (int_ & even) if lattice == "d8" else ((int_ | half) & even)
    return np.all(ok, axis=-1)


def bruteforce_nearest(x: ArrayLike, lattice: Literal["z", "d8", "e8"] = "e8",
                       radius: float | None = None) -> tuple[NDArray[np.float64], float]:
    """Exhaustive nearest point of a single 8-vector: every lattice point y with |yᵢ − xᵢ| ≤ radius per coordinate.

    The default radius is the covering radius (E8: 1, D8: √2, Z⁸: √8/2): the nearest point lies within it, hence
    within it coordinatewise, so the search is exhaustive. Returns (a nearest point, its squared distance).
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    if x.shape[0] != 8:
        raise ValueError("brute force works on one 8-vector")
    if radius is None:
        radius = {"z": math.sqrt(2.0), "d8": math.sqrt(2.0), "e8": 1.0}[lattice]
    cosets = [0.0] if lattice in ("z", "d8") else [0.0, 0.5]
    best, arg = math.inf, None
    for c in cosets:
        choices = [np.arange(math.ceil(xi - radius - c), math.floor(xi + radius - c) + 1) + c for xi in x]
        grid = np.array(np.meshgrid(*choices, indexing="ij")).reshape(8, -1).T
        if lattice != "z":
            grid = grid[(np.round(np.sum(grid, axis=1)) % 2) == 0]
        if len(grid) == 0:
            continue
        dist = np.sum((grid - x) ** 2, axis=1)
        j = int(np.argmin(dist))
        if dist[j] < best:
            best, arg = float(dist[j]), grid[j]
    assert arg is not None
    return arg, best


# --------------------------------------------------------------------------------------------------------------
# Exact structure
# --------------------------------------------------------------------------------------------------------------


def generator_matrix(lattice: Literal["z8", "d8", "e8"]) -> sp.Matrix:
    """Rows generate the lattice (Conway–Sloane's generator matrices), exact rationals."""
    h = sp.Rational(1, 2)
    if lattice == "z8":
        return sp.eye(8)
    if lattice == "d8":
        rows = [[-1, -1, 0, 0, 0, 0, 0, 0]] + [[0] * i + [1, -1] + [0] * (6 - i) for i in range(7)]
        return sp.Matrix(rows)
    if lattice == "e8":
        rows = [[2, 0, 0, 0, 0, 0, 0, 0]] + [[0] * i + [-1, 1] + [0] * (6 - i) for i in range(7)]
        rows[-1] = [h] * 8
        return sp.Matrix(rows)
    raise ValueError(lattice)


def gram_matrix(lattice: Literal["z8", "d8", "e8"]) -> sp.Matrix:
    """M·Mᵀ for the generator matrix M (rows generate the lattice), exact rationals."""
    M = generator_matrix(lattice)
    return M * M.T


def gram_determinant(lattice: Literal["z8", "d8", "e8"]) -> sp.Rational:
    """det of the Gram matrix, exact (E8: 1, i.e. unimodular; D8: 4; Z8: 1)."""
    return sp.Rational(gram_matrix(lattice).det())


def covolume(lattice: Literal["z8", "d8", "e8"]) -> sp.Expr:
    """Volume of a fundamental cell = √det(Gram)."""
    return sp.sqrt(gram_determinant(lattice))


def shell_counts(lattice: Literal["z8", "d8", "e8"], max_norm2: int = 4) -> dict[Fraction, int]:
    """Number of lattice vectors of each squared norm ≤ max_norm2 (nonzero), by enumerating a box."""
    R = int(math.floor(math.sqrt(max_norm2)))
    ints = np.arange(-R, R + 1, dtype=np.int64)
    grid = np.array(list(itertools.product(ints, repeat=8)), dtype=np.int64) if R <= 2 else None
    if grid is None:
        raise ValueError("max_norm2 too large for enumeration")
    pts = []
    if lattice == "z8":
        pts.append(grid * 2)
    else:
        pts.append((grid[np.sum(grid, axis=1) % 2 == 0]) * 2)
    if lattice == "e8":
        halves = np.array([2 * k + 1 for k in range(-R - 1, R + 1) if abs(2 * k + 1) <= 2 * R], dtype=np.int64)
        hg = np.array(list(itertools.product(halves, repeat=8)), dtype=np.int64)
        hg = hg[(np.sum(hg, axis=1) // 2) % 2 == 0]  # Σ (hᵢ/2) even ⇔ Σhᵢ ≡ 0 mod 4
        pts.append(hg)
    out: dict[Fraction, int] = {}
    for P in pts:
        n4 = np.sum(P * P, axis=1)  # 4·norm²
        for v, c in zip(*np.unique(n4, return_counts=True)):
            nv = Fraction(int(v), 4)
            if 0 < nv <= max_norm2:
                out[nv] = out.get(nv, 0) + int(c)
    return dict(sorted(out.items()))


def minimal_norm_and_kissing(lattice: Literal["z8", "d8", "e8"]) -> tuple[Fraction, int]:
    """(minimal squared norm, kissing number) from :func:`shell_counts`."""
    sc = shell_counts(lattice, 4)
    m = min(sc)
    return m, sc[m]


# --------------------------------------------------------------------------------------------------------------
# Normalized second moment
# --------------------------------------------------------------------------------------------------------------

E8_NSM_EXACT = Fraction(929, 12960)
"""G(E8) = 929/12960 ≈ 0.0716821 (Conway & Sloane, SPLAG Table 2.3; REFERENCES.md)."""

NSM_KNOWN: dict[str, float] = {
    "z": 1.0 / 12.0,
    "d4": 0.0766032,
    "e8": float(E8_NSM_EXACT),
    "e8e8": float(E8_NSM_EXACT),  # a direct sum L ⊕ L has the same G as L
    "barnes_wall_16": 0.0683,
    "leech_24": 0.06577,
    "sphere_bound": 1.0 / (2.0 * math.pi * math.e),
}
"""Published values (SPLAG Table 2.3, via REFERENCES.md); the sphere bound is 1/(2πe)."""


@dataclass(frozen=True)
class NSMEstimate:
    """A Monte Carlo normalized second moment: the estimate, its ±z·SE interval, the sample size and the level."""

    value: float
    lo: float
    hi: float
    n: int
    level: float


def normalized_second_moment(generator: ArrayLike, nearest_point: Callable[[NDArray[np.float64]], ArrayLike],
                             n: int = 200_000, rng: np.random.Generator | int | None = None,
                             z: float = 3.0) -> NSMEstimate:
    """Monte Carlo normalized second moment of ANY lattice, in any dimension.

    ``generator``: a (dim × dim) matrix whose ROWS generate the lattice (full rank); ``nearest_point``: maps an
    (m, dim) array of points to their nearest lattice points (e.g. :func:`nearest_z`, :func:`nearest_dn`,
    :func:`nearest_e8`, or your own decoder). G = E‖x − Q(x)‖² / (dim · V^{2/dim}), V = |det generator|, with x
    uniform on the fundamental parallelepiped spanned by the rows (its quantization errors are then uniform on the
    Voronoi cell). Returns the estimate and a ±z·SE interval (z = 3 ≈ 99.7 %). Known values (REFERENCES.md): Zⁿ 1/12,
    D4 0.0766032, E8 929/12960 ≈ 0.0716821. A decoder that is not the nearest-point map overestimates G.
    """
    M = np.asarray(generator, dtype=np.float64)
    if M.ndim != 2 or M.shape[0] != M.shape[1] or M.shape[0] < 1:
        raise ValueError(f"normalized_second_moment: generator must be a square matrix, got shape {M.shape}")
    dim = M.shape[0]
    V = abs(float(np.linalg.det(M)))
    if not math.isfinite(V) or V == 0.0:
        raise ValueError("normalized_second_moment: the generator is singular (the rows do not span a lattice)")
    if n < 2:
        raise ValueError("normalized_second_moment: n must be at least 2")
    g = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    x = g.random((n, dim)) @ M
    q = np.asarray(nearest_point(x), dtype=np.float64)
    if q.shape != x.shape:
        raise ValueError(f"normalized_second_moment: nearest_point returned shape {q.shape}, expected {x.shape}")
    e = np.sum((x - q) ** 2, axis=1) / (dim * V ** (2 / dim))
    m, se = float(e.mean()), float(e.std(ddof=1) / math.sqrt(n))
    level = math.erf(z / math.sqrt(2))
    return NSMEstimate(m, m - z * se, m + z * se, n, level)


def normalized_second_moment_mc(lattice: Literal["z8", "d8", "e8"] = "e8", n: int = 200_000,
                                rng: np.random.Generator | int | None = None, z: float = 3.0) -> NSMEstimate:
    """:func:`normalized_second_moment` of one of the built-in 8-dimensional lattices (Conway–Sloane generators)."""
    M = np.array(generator_matrix(lattice).evalf(), dtype=np.float64)
    decoder = nearest_z if lattice == "z8" else (nearest_dn if lattice == "d8" else nearest_e8)
    return normalized_second_moment(M, decoder, n=n, rng=rng, z=z)


# --------------------------------------------------------------------------------------------------------------
# Blends (seed 000)
# --------------------------------------------------------------------------------------------------------------


def quantize_scaled(h: ArrayLike, scale: float = 1.0, lattice: Lattice = "e8") -> NDArray[np.float64]:
    """scale · Q(h / scale): the lattice quantizer at resolution ``scale``."""
    h = np.asarray(h, dtype=np.float64)
    return scale * nearest(h / scale, lattice)


def _same_shape(h: NDArray[np.float64], q: NDArray[np.float64], name: str) -> None:
    if h.shape != q.shape:
        raise ValueError(f"{name}: q = Q(h) must have h's shape {h.shape}, got shape {q.shape} (no broadcasting)")


def blend(h: ArrayLike, q: ArrayLike, b: float) -> NDArray[np.float64]:
    """(1 − b)·h + b·Q(h), with ``q = Q(h)`` already computed; ``q`` must have h's shape (``ValueError``
    otherwise: a broadcast q would blend every row towards the same point)."""
    h = np.asarray(h, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    _same_shape(h, q, "blend")
    return (1.0 - b) * h + b * q


def blend_cosine_predicted(cos_q: ArrayLike, rho: ArrayLike, b: ArrayLike) -> NDArray[np.float64]:
    """cos(h, (1−b)h + bQ(h)) from c = cos(h, Q(h)) and ρ = ‖Q(h)‖/‖h‖:
    ((1−b) + bρc) / √((1−b)² + b²ρ² + 2b(1−b)ρc)."""
    c, r, b = (np.asarray(v, dtype=np.float64) for v in (cos_q, rho, b))
    num = (1 - b) + b * r * c
    den = np.sqrt((1 - b) ** 2 + (b * r) ** 2 + 2 * b * (1 - b) * r * c)
    return num / den


def blend_error_energy(h: ArrayLike, q: ArrayLike, b: float) -> NDArray[np.float64]:
    """‖blend − h‖² = b² ‖Q(h) − h‖² per row: the blend's squared error is exactly quadratic in b (``q`` must have
    h's shape, as in :func:`blend`)."""
    h = np.asarray(h, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    _same_shape(h, q, "blend_error_energy")
    return b * b * np.sum((q - h) ** 2, axis=-1)

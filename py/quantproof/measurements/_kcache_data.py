"""Inputs and transforms shared by the seed-003 measurements (kcache, kcache_ffn, kcache_frontier,
kcache_attention): units of vectors (one attention head, or one FFN matrix), the control inputs built with the same
shapes, fitted/random transforms with a per-unit disk cache, and document-level bootstrap helpers.

Policy:

* A **unit** is one set of vectors split into calibration and held-out rows, with the document of every row
  (``groups_c``/``groups_h``: row indices per document). Everything that resamples, resamples documents.
* **Sources** (the ``source`` parameter of the measurements): ``real`` (the model's keys), and control inputs of
  the same shapes and document structure, built per unit from a generator seeded by the unit's name (so a unit
  gets the same synthetic rows in every measurement and every layer subset):

  - ``planted``: the unit's own calibration mean plus a residual that is a *noisy sign lattice under a hidden Haar
    rotation*: ``x = μ + s·(b + σg)Qᵀ/√(1+σ²)`` with ``b`` uniform in {±1}^d, ``g`` standard normal, ``s`` the
    unit's residual RMS per coordinate. The ideal rotation ``Q`` gives the centred residual β = 1/(1+σ²) (a
    sign-lattice point blurred by noise); σ = ``planted_noise``. The effect "a learned centred rotation reaches a
    high β" is present by construction.
  - ``planted_sparse``: as ``planted`` with little noise (σ = 0.05) plus ``max(1, d/16)`` spikes of amplitude 3 per
    row (random coordinates and signs) in the lattice frame: the 1-bit residual in that frame is sparse, so a top-k
    residual correction with k ≥ d/16 recovers it.
  - ``spiky``: rows with their energy on one coordinate each (``±c·e_j`` plus 1 % noise energy; ``c`` the unit's
    RMS key norm): the least Gaussian input there is, on which a structured rotation (SRHT) does not reach the
    isotropic floor.
  - ``gauss``: isotropic Gaussian rows with the unit's RMS per coordinate (no structure at all).
* Transforms are maps rows → rows fitted on calibration rows only (or drawn at random) and evaluated on held-out
  rows. Learned rotations use the ITQ alternation of ``quantproof.math.rotations.fit_l1_rotation`` (run by the fast
  kernel ``quantproof.kernels.rotation.fit_l1_rotation_fast``: the same trajectory up to rounding) and are cached
  on disk per unit, keyed on the unit's data identity, the transform, the iterations, the fold and the seed.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..evidence.measurement import Context, Estimate, MeasurementUnavailable
from . import _empirical as E

TRANSFORMS = ("none", "haar", "srht", "centered", "learned", "learned_centered")
SOURCES = ("real", "planted", "planted_sparse", "spiky", "gauss")


@dataclass
class Unit:
    """One set of vectors: a head of one layer (or one FFN matrix), split into calibration and held-out rows."""

    name: str
    layer: int
    head: int
    Xc: np.ndarray
    Xh: np.ndarray
    groups_c: list[np.ndarray]
    groups_h: list[np.ndarray]
    shared_groups: bool = True          # all units share the same documents (bootstrap draws are shared)
    extra: dict[str, Any] = field(default_factory=dict)


def groups_of(doc_index: np.ndarray) -> list[np.ndarray]:
    """Row indices of each document, documents in order of first appearance of their index."""
    _, inv = np.unique(doc_index, return_inverse=True)
    order = np.argsort(inv, kind="stable")
    bounds = np.flatnonzero(np.diff(inv[order])) + 1
    return np.split(order, bounds)


def model_label(model: str) -> str:
    return {"smollm2": "SmolLM2-135M-Instruct (Q4_1 GGUF, dequantized fp32)",
            "minilm": "all-MiniLM-L6-v2 (fp32)"}.get(model, model)


def unit_rng(ctx: Context, *parts: Any) -> np.random.Generator:
    """A generator seeded by the context seed and a stable hash of ``parts`` (a unit name, a purpose)."""
    key = zlib.crc32("/".join(str(p) for p in parts).encode())
    return np.random.default_rng([ctx.seed, key])


def pick_layers(spec: str, n: int) -> list[int]:
    """``spread:K`` (K layers evenly spread from the first to the last), else ``_empirical.parse_layers``."""
    spec = spec.strip()
    if spec.startswith("spread:"):
        k = int(spec.split(":", 1)[1])
        if k < 1:
            raise ValueError(f"spread:K needs K >= 1, got {spec!r}")
        return sorted({int(x) for x in np.round(np.linspace(0, n - 1, min(k, n)))})
    return E.parse_layers(spec, n)


# ------------------------------------------------------------------------------------------------ control inputs

def _lattice_rows(rng: np.random.Generator, n: int, d: int, sigma: float, spikes: int = 0,
                  spike_amp: float = 3.0) -> np.ndarray:
    B = np.where(rng.random((n, d)) < 0.5, -1.0, 1.0) + sigma * rng.standard_normal((n, d))
    if spikes:
        cols = np.argsort(rng.random((n, d)), axis=1)[:, :spikes]
        signs = np.where(rng.random((n, spikes)) < 0.5, -1.0, 1.0)
        np.put_along_axis(B, cols, np.take_along_axis(B, cols, 1) + spike_amp * signs, 1)
    return B


def synthetic_pair(source: str, Xc: np.ndarray, Xh: np.ndarray, rng: np.random.Generator,
                   planted_noise: float) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Calibration and held-out rows of a control input with the shapes of (Xc, Xh), built from Xc's moments."""
    from ..math.rotations import haar_orthogonal

    nc, d = Xc.shape
    nh = len(Xh)
    mu = Xc.mean(axis=0)
    s = float(np.sqrt(np.mean((Xc - mu) ** 2)))           # residual RMS per coordinate
    if source in ("planted", "planted_sparse"):
        sigma = planted_noise if source == "planted" else 0.05
        spikes = 0 if source == "planted" else max(1, d // 16)
        Q = haar_orthogonal(d, rng)
        rows = lambda n: _lattice_rows(rng, n, d, sigma, spikes)  # noqa: E731
        norm = math.sqrt(1 + sigma ** 2 + spikes * 9.0 / d)
        Gc, Gh = mu + s * rows(nc) @ Q.T / norm, mu + s * rows(nh) @ Q.T / norm
        ideal = beta(rows(4096)) if spikes else 1.0 / (1.0 + sigma ** 2)
        return Gc, Gh, {"sigma": sigma, "spikes": spikes, "ideal_centered_beta": ideal}
    if source == "spiky":
        c = float(np.sqrt(np.mean(np.sum(Xc ** 2, axis=1))))

        def rows(n):
            Y = 0.1 * c / math.sqrt(d) * rng.standard_normal((n, d))
            j = rng.integers(0, d, size=n)
            Y[np.arange(n), j] += c * np.where(rng.random(n) < 0.5, -1.0, 1.0)
            return Y
        return rows(nc), rows(nh), {"energy_on_one_coordinate": 0.99}
    if source == "gauss":
        sd = float(np.sqrt(np.mean(Xc ** 2)))
        return sd * rng.standard_normal((nc, d)), sd * rng.standard_normal((nh, d)), {}
    raise ValueError(f"unknown source {source!r} (known: {', '.join(SOURCES)})")


def with_source(ctx: Context, units: list[Unit], source: str, planted_noise: float) -> tuple[list[Unit], dict]:
    """The units with their rows replaced by the control input ``source`` (``real`` returns them unchanged)."""
    if source == "real":
        return units, {}
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r} (known: {', '.join(SOURCES)})")
    out, meta = [], {}
    for u in units:
        Gc, Gh, meta = synthetic_pair(source, u.Xc, u.Xh, unit_rng(ctx, "source", source, planted_noise, u.name),
                                      planted_noise)
        out.append(Unit(u.name, u.layer, u.head, Gc, Gh, u.groups_c, u.groups_h, u.shared_groups,
                        {**u.extra, "full": np.vstack([Gc, Gh])} if "full" in u.extra else dict(u.extra)))
    return out, {"source": source, "planted_noise": planted_noise, **meta}


# ------------------------------------------------------------------------------------------------ units

def key_units(ctx: Context, model: str, kind: str, n_calib_docs: int, n_heldout_docs: int, max_tokens: int,
              layers: str, drop_first: int) -> tuple[list[Unit], dict[str, Any]]:
    if (model, kind) in E.KEY_KINDS:
        ak = E.KEY_KINDS[(model, kind)]
    elif model not in ("smollm2", "minilm") and kind in ("k_post_rope", "k_pre_rope", "keys", "minilm_keys"):
        ak = "keys" if kind in ("keys", "minilm_keys") else kind      # a user model given by its local path
    else:
        raise ValueError(f"kind {kind!r} is not available for model {model!r} "
                         f"(smollm2: k_post_rope | k_pre_rope; minilm: minilm_keys; a local causal LM: "
                         f"k_post_rope | k_pre_rope; a local encoder: keys)")
    cal = E.get_capture(ctx, model, (ak,), "calibration", n_calib_docs, max_tokens)
    held = E.get_capture(ctx, model, (ak,), "heldout", n_heldout_docs, max_tokens)
    mc, mh = cal.token_mask(drop_first), held.token_mask(drop_first)
    gc, gh = groups_of(cal.doc_index[mc]), groups_of(held.doc_index[mh])
    units = []
    for li in pick_layers(layers, cal.n_layers(ak)):
        for h in range(cal.n_heads(ak)):
            units.append(Unit(f"L{li}H{h}", li, h, cal.head(ak, li, h)[mc].astype(np.float64),
                              held.head(ak, li, h)[mh].astype(np.float64), gc, gh))
    info = {"n_calib_tokens": int(mc.sum()), "n_heldout_tokens": int(mh.sum()), "n_calib_docs": len(gc),
            "n_heldout_docs": len(gh), "n_layers": cal.n_layers(ak),
            "capture_meta": {k: v for k, v in cal.meta.items() if k != "config"},
            "ident": {"model_sha256": cal.model_sha256, "corpus_sha256": cal.corpus_sha256, "kind": kind,
                      "calib": cal.params.to_json(), "heldout": held.params.to_json(), "drop_first": drop_first}}
    return units, info


def ffn_units(ctx: Context, model: str, layers: str, heldout_fraction: float = 0.5) -> tuple[list[Unit], dict]:
    """FFN weight matrices as sets of vectors along the hidden dimension (the axis a rotation shared with the
    activations acts on): rows of up/gate/intermediate, columns of down/output. Rows are split at random into
    calibration and held-out halves; each row is its own bootstrap group."""
    from ..capture.hooks import ffn_weights
    from ..capture.models import model_files_sha256

    W = ffn_weights(model, ctx=ctx)
    n_layers = 1 + max(int(k.split(".")[0][1:]) for k in W)
    keep = set(pick_layers(layers, n_layers))
    rng = ctx.rng(101)
    units = []
    for name in sorted(W, key=lambda k: (int(k.split(".")[0][1:]), k)):
        li = int(name.split(".")[0][1:])
        if li not in keep:
            continue
        M = W[name].astype(np.float64)
        if name.endswith(("down_proj", ".output")):
            M = M.T
        perm = rng.permutation(len(M))
        nh = int(round(heldout_fraction * len(M)))
        Xh, Xc = M[perm[:nh]], M[perm[nh:]]
        units.append(Unit(name, li, len([u for u in units if u.layer == li]), Xc, Xh,
                          [np.array([i]) for i in range(len(Xc))], [np.array([i]) for i in range(len(Xh))],
                          shared_groups=False, extra={"shape": list(W[name].shape), "full": M}))
    info = {"matrices": {u.name: u.extra["shape"] for u in units},
            "ident": {"ffn": model, "model_sha256": model_files_sha256(model, ctx)[1], "seed": ctx.seed},
            "note": ("SmolLM2 weights are dequantized Q4_1 (4-bit blocks of 32): their β reflects the 4-bit grid"
                     if model == "smollm2" else "MiniLM weights are fp32 as released")}
    return units, info


# ------------------------------------------------------------------------------------------------ transforms

def fit_rotation(X: np.ndarray, *, center: bool, iters: int, rng: np.random.Generator):
    """The learned ℓ1 rotation (ITQ alternation, Haar start) — the fast kernel of rotations.fit_l1_rotation."""
    from ..kernels.rotation import fit_l1_rotation_fast

    return fit_l1_rotation_fast(X, center=center, iters=iters, rng=rng)


def fit_transform(name: str, Xc: np.ndarray, rng: np.random.Generator, iters: int) -> tuple[Callable, list[float]]:
    """A map rows -> rows fitted on ``Xc`` (or drawn at random), and the fit's history of mean cosines."""
    from ..math.rotations import SRHT, haar_orthogonal, is_power_of_two

    d = Xc.shape[1]
    if name == "none":
        return (lambda X: X), []
    if name == "haar":
        R = haar_orthogonal(d, rng)
        return (lambda X: X @ R.T), []
    if name == "srht":
        if not is_power_of_two(d):
            raise MeasurementUnavailable(f"SRHT needs a power-of-two dimension, got {d}")
        s = SRHT(d, rng=rng)
        return s.apply, []
    if name == "centered":
        mu = Xc.mean(axis=0)
        return (lambda X: X - mu), []
    if name in ("learned", "learned_centered"):
        rot = fit_rotation(Xc, center=(name == "learned_centered"), iters=iters, rng=rng)
        return rot.apply, list(rot.history)
    raise ValueError(f"unknown transform {name!r} (known: {', '.join(TRANSFORMS)})")


def unit_transform(ctx: Context, u: Unit, transform: str, iters: int, ident: dict[str, Any], *,
                   rows: np.ndarray | None = None, tag: str = "all") -> tuple[Callable, list[float]]:
    """The transform of one unit fitted on its calibration rows (or on ``rows``, named ``tag``: a fold), drawn
    from a generator seeded by the unit's name, so the same unit gets the same transform in every measurement and
    every subset of layers. Learned rotations are cached on disk (keyed by ``ident``, the unit, ``tag``, the
    transform, ``iters`` and the seed)."""
    X = u.Xc if rows is None else rows
    rng = unit_rng(ctx, "transform", transform, tag, u.name)
    if transform not in ("learned", "learned_centered"):
        return fit_transform(transform, X, rng, iters)

    def compute() -> dict[str, np.ndarray]:
        rot = fit_rotation(X, center=(transform == "learned_centered"), iters=iters, rng=rng)
        mu = rot.mean if rot.mean is not None else np.zeros(X.shape[1])
        return {"R": rot.R, "mu": mu, "hist": np.asarray(rot.history, dtype=np.float64)}

    a = E.cached_arrays(ctx, "rotations", {**ident, "unit": u.name, "tag": tag, "transform": transform,
                                           "iters": iters, "seed": ctx.seed}, compute, code=__name__)
    R, mu = a["R"], a["mu"]
    return (lambda Y: (Y - mu) @ R.T), list(map(float, a["hist"]))


# ------------------------------------------------------------------------------------------------ statistics

def beta(Y: np.ndarray) -> float:
    """Pooled moment ratio (mean|y|)² / mean y² over all coordinates of all rows."""
    a = float(np.mean(np.abs(Y)))
    return a * a / float(np.mean(Y * Y))


def row_cos(Y: np.ndarray) -> np.ndarray:
    """1-bit cosine ‖y‖₁/(√d‖y‖₂) per row (0 for a zero row, which then carries no weight)."""
    from ..math.sign_quant import one_bit_cosine

    c = one_bit_cosine(Y)
    return np.where(np.isfinite(c), c, 0.0)


def one_bit(Y: np.ndarray) -> np.ndarray:
    from ..math.sign_quant import one_bit_quantize

    return one_bit_quantize(Y)


@dataclass
class RatioStats:
    """Per-document sums of a numerator and a denominator: the statistic is Σnum/Σden (a pooled mean)."""

    num: np.ndarray
    den: np.ndarray

    @staticmethod
    def of(num_rows: np.ndarray, den_rows: np.ndarray, groups: list[np.ndarray]) -> "RatioStats":
        return RatioStats(E.group_sums(num_rows, groups), E.group_sums(den_rows, groups))

    def value(self, w: np.ndarray | None = None) -> np.ndarray | float:
        if w is None:
            return float(self.num.sum() / self.den.sum())
        return (w @ self.num) / (w @ self.den)


def t_interval(values, level: float = 0.95) -> tuple[float, float | None, float | None]:
    """Mean and Student-t interval of independent replicate values (None, None for fewer than two)."""
    from scipy.stats import t as student

    v = np.asarray(values, dtype=np.float64)
    m = float(v.mean())
    if len(v) < 2:
        return m, None, None
    h = float(student.ppf(0.5 + level / 2, len(v) - 1)) * float(v.std(ddof=1)) / math.sqrt(len(v))
    return m, m - h, m + h


def t_estimate(values, method: str, level: float = 0.95) -> Estimate:
    m, lo, hi = t_interval(values, level)
    return Estimate(m, lo, hi, n=len(values), level=level if lo is not None else None, method=method)


def boot_estimate(value: float, boot: np.ndarray, *, n: int, method: str, level: float = 0.95) -> Estimate:
    lo, hi = E.percentile_ci(boot, level)
    return Estimate(float(value), lo, hi, n=n, level=level, method=method)


def diff_estimate(a: Estimate, b: Estimate) -> Estimate:
    """a − b with the interval [a.lo − b.hi, a.hi − b.lo] (conservative: no independence assumed)."""
    alo = a.lo if a.lo is not None else a.value
    ahi = a.hi if a.hi is not None else a.value
    blo = b.lo if b.lo is not None else b.value
    bhi = b.hi if b.hi is not None else b.value
    return Estimate(a.value - b.value, alo - bhi, ahi - blo, n=a.n, level=a.level or b.level,
                    method=f"difference; interval from the two intervals ({a.method} | {b.method})")

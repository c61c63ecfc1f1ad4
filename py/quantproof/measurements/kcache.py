"""Empirical measurements on real K-caches and FFN weights (seed 003): β and the 1-bit cosine under fixed and
learned rotations, held out and against null controls; residual corrections and their bit cost; gauge invariance
of attention scores under rotations before/after RoPE; front-token protection.

Data: SmolLM2-135M-Instruct (shipped as a 4-bit Q4_1 GGUF, run dequantized in fp32; 30 layers, 3 KV heads of 64)
and all-MiniLM-L6-v2 (fp32; 6 layers, 12 heads of 32), on English text from gensim's test data (Wikipedia + Lee
news), split by document into calibration and held-out sets (see ``quantproof.capture``). Seed 003's model
(Gemma-4-26B MoE) is not available here: numbers measured on these models *reproduce or fail to reproduce* the
seed's figures, they are not the seed's experiment.

Conventions: β is the pooled moment ratio (mean|y|)²/mean y² of all coordinates of one head's vectors, averaged over
heads; "held-out" means transforms fitted on calibration documents and evaluated on other documents; lifts are
β(transform) − β(no transform) on the same vectors. Fitted transforms: ``learned`` is the ITQ-style ℓ1 rotation of
``quantproof.math.rotations.fit_l1_rotation`` (uncentered), ``learned_centered`` subtracts the calibration mean
first (seed 003's DC-mean centering; β is then that of the centered residual, the mean being stored apart),
``centered`` subtracts the mean without rotating. Random ``haar`` / ``srht`` rotations are drawn from the context
seed. Null controls repeat the same procedure on Gaussian data of the same shape (isotropic) and on Gaussian data
with each head's calibration mean and covariance (``matched``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..evidence.measurement import Context, Estimate, MeasurementUnavailable, Plot, Result, Series, measurement
from . import _empirical as E

TRANSFORMS = ("none", "haar", "srht", "centered", "learned", "learned_centered")


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


def _groups(doc_index: np.ndarray) -> list[np.ndarray]:
    _, inv = np.unique(doc_index, return_inverse=True)
    order = np.argsort(inv, kind="stable")
    bounds = np.flatnonzero(np.diff(inv[order])) + 1
    return np.split(order, bounds)


def _model_label(model: str) -> str:
    return E.model_label(model)


def key_units(ctx: Context, model: str, kind: str, n_calib_docs: int, n_heldout_docs: int, max_tokens: int,
              layers: str, drop_first: int) -> tuple[list[Unit], dict[str, Any]]:
    ak = E.capture_kind(model, kind)
    cal = E.get_capture(ctx, model, (ak,), "calibration", n_calib_docs, max_tokens)
    held = E.get_capture(ctx, model, (ak,), "heldout", n_heldout_docs, max_tokens)
    mc, mh = cal.token_mask(drop_first), held.token_mask(drop_first)
    gc, gh = _groups(cal.doc_index[mc]), _groups(held.doc_index[mh])
    units = []
    for li in E.parse_layers(layers, cal.n_layers(ak)):
        for h in range(cal.n_heads(ak, li)):
            units.append(Unit(f"L{li}H{h}", li, h, np.asarray(cal.head(ak, li, h))[mc].astype(np.float64),
                              np.asarray(held.head(ak, li, h))[mh].astype(np.float64), gc, gh))
    info = {"n_calib_tokens": int(mc.sum()), "n_heldout_tokens": int(mh.sum()), "n_calib_docs": len(gc),
            "n_heldout_docs": len(gh), "capture_meta": {k: v for k, v in cal.meta.items() if k != "config"},
            "ident": {"model_sha256": cal.model_sha256, "corpus_sha256": cal.corpus_sha256, "kind": kind,
                      "calib": cal.params.to_json(), "heldout": held.params.to_json(), "drop_first": drop_first,
                      "units": [u.name for u in units]}}
    return units, info


def ffn_units(ctx: Context, model: str, layers: str, heldout_fraction: float = 0.5,
              matrices: str = "mlp") -> tuple[list[Unit], dict]:
    """FFN weight matrices as sets of vectors along the hidden dimension (the axis a rotation shared with the
    activations acts on): rows of up/gate/intermediate/c_fc, columns of down/output/c_proj. Rows are split at random
    into calibration and held-out halves; each row is its own bootstrap group.

    ``matrices="experts"`` (a mixture of experts): per layer the experts' matrices stacked as seed 003 stacks them,
    ``experts_gate_up`` (every expert's gate and up rows: E·2I × H) and ``experts_down`` (every expert's down
    columns: E·I × H; the seed's table lists E·H × I rows instead: we keep the hidden-space convention)."""
    from ..capture.arch import is_output_matrix
    from ..capture.hooks import ffn_weights, n_layers_of
    from ..capture.models import model_files_sha256

    if matrices not in ("mlp", "experts"):
        raise ValueError(f"matrices must be 'mlp' or 'experts', got {matrices!r}")
    keep = set(E.parse_layers(layers, n_layers_of(model, ctx)))
    W = ffn_weights(model, ctx=ctx, layers=sorted(keep), experts=matrices == "experts")
    if matrices == "experts":
        W = _stack_experts(W)
    rng = ctx.rng(101)
    units = []
    for name in sorted(W, key=lambda k: (int(k.split(".")[0][1:]), k)):
        li = int(name.split(".")[0][1:])
        M = W[name].astype(np.float64)
        if is_output_matrix(name):
            M = M.T
        perm = rng.permutation(len(M))
        nh = int(round(heldout_fraction * len(M)))
        Xh, Xc = M[perm[:nh]], M[perm[nh:]]
        units.append(Unit(name, li, len([u for u in units if u.layer == li]), Xc, Xh,
                          [np.array([i]) for i in range(len(Xc))], [np.array([i]) for i in range(len(Xh))],
                          shared_groups=False, extra={"shape": list(W[name].shape), "full": M}))
    info = {"matrices": {u.name: u.extra["shape"] for u in units},
            "ident": {"ffn": model, "model_sha256": model_files_sha256(model, ctx)[1],
                      "units": [u.name for u in units], "seed": ctx.seed},
            "note": ("SmolLM2 weights are dequantized Q4_1 (4-bit blocks of 32): their β reflects the 4-bit grid"
                     if model == "smollm2" else "MiniLM weights are fp32 as released" if model == "minilm"
                     else "weights as stored in the checkpoint, converted to float64")}
    return units, info


def _stack_experts(W: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per layer: every expert's gate and up rows stacked (``experts_gate_up``: E·2I × H) and every expert's down
    columns stacked (``experts_down``: E·I × H), both vectors of the hidden space."""
    out: dict[str, list] = {}
    for name in sorted(W, key=lambda k: (k.split(".")[0], int(k.split(".")[2]), k)):
        layer, _, e, mat = name.split(".")
        key = f"{layer}.experts_down" if mat == "down_proj" else f"{layer}.experts_gate_up"
        out.setdefault(key, []).append(W[name].T if mat == "down_proj" else W[name])
    return {k: np.concatenate(v, axis=0) for k, v in out.items()}


# ------------------------------------------------------------------------------------------------ transforms

def fit_transform(name: str, Xc: np.ndarray, rng: np.random.Generator, iters: int) -> tuple[Callable, list[float]]:
    """A map rows -> rows fitted on ``Xc`` (or drawn at random), and the fit's history of mean cosines."""
    from ..math.rotations import SRHT, fit_l1_rotation, haar_orthogonal, is_power_of_two

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
        rot = fit_l1_rotation(Xc, center=(name == "learned_centered"), iters=iters, rng=rng)
        return rot.apply, list(rot.history)
    raise ValueError(f"unknown transform {name!r} (known: {', '.join(TRANSFORMS)})")


def fitted_transforms(ctx: Context, units: list[Unit], transform: str, iters: int,
                      ident: dict[str, Any]) -> tuple[list[Callable], list[list[float]]]:
    """One fitted transform per unit, each drawn from its own seeded generator (so the same unit gets the same
    rotation in every measurement). Learned rotations are cached on disk (keyed by ``ident``, the transform,
    ``iters`` and the context seed) and shared between measurements."""
    def rng_for(i: int):
        return ctx.rng(1000 + 7 * i + TRANSFORMS.index(transform))

    if transform not in ("learned", "learned_centered"):
        out = [fit_transform(transform, u.Xc, rng_for(i), iters) for i, u in enumerate(units)]
        return [t for t, _ in out], [h for _, h in out]

    def compute() -> dict[str, np.ndarray]:
        from ..math.rotations import fit_l1_rotation

        Rs, mus, hists = [], [], []
        for i, u in enumerate(units):
            rot = fit_l1_rotation(u.Xc, center=(transform == "learned_centered"), iters=iters, rng=rng_for(i))
            Rs.append(rot.R)
            mus.append(rot.mean if rot.mean is not None else np.zeros(u.Xc.shape[1]))
            hists.append(rot.history)
        L = max(len(h) for h in hists)
        H = np.array([list(h) + [h[-1]] * (L - len(h)) for h in hists])
        if len({R.shape for R in Rs}) == 1:
            return {"R": np.stack(Rs), "mu": np.stack(mus), "hist": H}
        # heads of different sizes (Gemma-4's sliding and full layers): one array per unit
        return {**{f"R{i}": R for i, R in enumerate(Rs)}, **{f"mu{i}": m for i, m in enumerate(mus)}, "hist": H}

    a = E.cached_arrays(ctx, "rotations", {**ident, "transform": transform, "iters": iters, "seed": ctx.seed},
                        compute, code=__name__)
    Rs = a["R"] if "R" in a else [a[f"R{i}"] for i in range(len(units))]
    mus = a["mu"] if "mu" in a else [a[f"mu{i}"] for i in range(len(units))]
    Ts = [(lambda X, R=Rs[i], mu=mus[i]: (X - mu) @ R.T) for i in range(len(units))]
    return Ts, [list(map(float, h)) for h in a["hist"]]


def _beta(Y: np.ndarray) -> float:
    a = float(np.mean(np.abs(Y)))
    return a * a / float(np.mean(Y * Y))


def _mean_cos(Y: np.ndarray) -> float:
    from ..math.sign_quant import one_bit_cosine

    return float(np.nanmean(one_bit_cosine(Y)))


def _null_run(transform: str, Gc: np.ndarray, Gh: np.ndarray, rng, iters: int) -> dict[str, float]:
    T, hist = fit_transform(transform, Gc, rng, iters)
    return {"insample": _beta(T(Gc)), "heldout": _beta(T(Gh)), "none_heldout": _beta(Gh),
            "none_insample": _beta(Gc)}


def _diff(a: Estimate, b: Estimate) -> Estimate:
    """a − b with the interval [a.lo − b.hi, a.hi − b.lo] (conservative: no independence assumed)."""
    alo = a.lo if a.lo is not None else a.value
    ahi = a.hi if a.hi is not None else a.value
    blo = b.lo if b.lo is not None else b.value
    bhi = b.hi if b.hi is not None else b.value
    return Estimate(a.value - b.value, alo - bhi, ahi - blo, n=a.n, level=a.level or b.level,
                    method=f"difference; interval from the two intervals ({a.method} | {b.method})")


# ------------------------------------------------------------------------------------------------ sign_beta

@measurement(
    "sign_beta", exact={'dim': 'the head dimension of the model'}, on_model=True,
    outputs={
        "mean_beta": "β of the transformed held-out vectors (fitted transforms evaluated on held-out documents/rows), "
                     "mean over heads",
        "heldout_beta": "same as mean_beta",
        "insample_beta": "β of the transformed calibration vectors the transform was fitted on",
        "none_beta": "β of the held-out vectors without any transform",
        "lift_heldout": "heldout_beta − none_beta (CI: bootstrap over held-out documents)",
        "lift_insample": "insample_beta − β of the untransformed calibration vectors",
        "overfit_gap": "insample_beta − heldout_beta",
        "mean_cos_heldout": "mean 1-bit cosine of the transformed held-out vectors",
        "min_head_beta": "smallest held-out β over heads",
        "min_layer_beta": "smallest per-layer (head-averaged) held-out β",
        "frac_heads_ge_085": "fraction of heads with held-out β ≥ 0.85",
        "null_insample_beta": "isotropic Gaussian null of the same shape: in-sample β after the same procedure",
        "null_heldout_beta": "isotropic Gaussian null: β on fresh Gaussian rows",
        "null_lift_heldout": "isotropic Gaussian null: held-out lift",
        "null_lift_insample": "isotropic Gaussian null: in-sample lift (overfitting of a d×d fit)",
        "matched_null_lift_heldout": "Gaussian with each head's calibration mean and covariance: held-out lift",
        "matched_null_heldout_beta": "Gaussian with matched mean and covariance: held-out β after the transform",
        "lift_minus_null": "lift_heldout − null_lift_heldout (interval: the two intervals' extreme differences)",
        "excess_over_matched_null": "heldout_beta − matched_null_heldout_beta: β the transform reaches beyond what "
                                    "it reaches on Gaussian data with the keys' mean and covariance",
        "rows_per_col": "calibration rows per dimension (n_calib / d)",
        "dim": "vector dimension d",
    },
    description="β and 1-bit cosine per layer/head under none|haar|srht|centered|learned|learned_centered, "
                "held out, with Gaussian null controls",
    timeout_s=900,
)
def sign_beta(ctx: Context, *, model: str = "smollm2", kind: str = "k_post_rope",
              transform: str = "learned_centered", layers: str = "all", n_calib_docs: int = 24,
              n_heldout_docs: int = 16, max_tokens: int = 128, drop_first: int = 0, iters: int = 50,
              null_reps: int = 3, matched_null_heads: int = 8, n_boot: int = 300) -> Result:
    """β per layer/head of K-caches (SmolLM2 post/pre-RoPE, MiniLM keys) or FFN weight vectors."""
    if transform not in TRANSFORMS:
        raise ValueError(f"unknown transform {transform!r} (known: {', '.join(TRANSFORMS)})")
    if kind == "ffn_weights":
        units, info = ffn_units(ctx, model, layers)
    else:
        units, info = key_units(ctx, model, kind, n_calib_docs, n_heldout_docs, max_tokens, layers, drop_first)
    rows = []
    hist_all = []
    Ts, hists = fitted_transforms(ctx, units, transform, iters, info["ident"])
    for u, T, hist in zip(units, Ts, hists):
        Yc, Yh = T(u.Xc), T(u.Xh)
        rows.append({
            "unit": u, "heldout": E.MomentStats.of(Yh, u.groups_h), "none_h": E.MomentStats.of(u.Xh, u.groups_h),
            "insample": E.MomentStats.of(Yc, u.groups_c), "none_c": E.MomentStats.of(u.Xc, u.groups_c),
            "cos_h": _mean_cos(Yh),
        })
        if hist:
            hist_all.append(hist)
    hb = np.array([r["heldout"].beta() for r in rows])
    nb = np.array([r["none_h"].beta() for r in rows])
    ib = np.array([r["insample"].beta() for r in rows])
    nib = np.array([r["none_c"].beta() for r in rows])

    # bootstrap over documents (shared draws across heads) or over rows (FFN: per matrix)
    B = n_boot
    brng = ctx.rng(11)
    if units[0].shared_groups:
        Wh = E.multinomial_weights(brng, len(units[0].groups_h), B)
        Wc = E.multinomial_weights(brng, len(units[0].groups_c), B)
        bh = np.stack([r["heldout"].beta(Wh) for r in rows]).mean(0)
        bn = np.stack([r["none_h"].beta(Wh) for r in rows]).mean(0)
        bi = np.stack([r["insample"].beta(Wc) for r in rows]).mean(0)
        bni = np.stack([r["none_c"].beta(Wc) for r in rows]).mean(0)
    else:
        bh_l, bn_l, bi_l, bni_l = [], [], [], []
        for r in rows:
            Wh = E.multinomial_weights(brng, len(r["unit"].groups_h), B)
            Wc = E.multinomial_weights(brng, len(r["unit"].groups_c), B)
            bh_l.append(r["heldout"].beta(Wh)); bn_l.append(r["none_h"].beta(Wh))
            bi_l.append(r["insample"].beta(Wc)); bni_l.append(r["none_c"].beta(Wc))
        bh, bn, bi, bni = (np.stack(x).mean(0) for x in (bh_l, bn_l, bi_l, bni_l))
    n_h = sum(len(g) for g in units[0].groups_h)
    n_c = sum(len(g) for g in units[0].groups_c)
    d = units[0].Xc.shape[1]
    unit_word = "documents" if units[0].shared_groups else "rows"
    meth = f"percentile bootstrap over held-out {unit_word} ({B} draws), transforms fixed"

    def est(v, boot, method=meth, n=n_h):
        lo, hi = E.percentile_ci(boot)
        return Estimate(float(v), lo, hi, n=n, level=0.95, method=method)

    # null controls
    nrng = ctx.rng(13)
    shapes = {}
    for u in units:
        shapes.setdefault((len(u.Xc), len(u.Xh), u.Xc.shape[1]), 0)
        shapes[(len(u.Xc), len(u.Xh), u.Xc.shape[1])] += 1
    null = []
    for (nc, nh, dd), count in shapes.items():
        for _ in range(max(1, null_reps)):
            r = _null_run(transform, nrng.standard_normal((nc, dd)), nrng.standard_normal((nh, dd)), nrng, iters)
            null.append((count, r))
    w = np.array([c for c, _ in null], dtype=float)

    def nmean(key):
        v = np.array([r[key] for _, r in null])
        return float(np.average(v, weights=w)), v

    n_in, v_in = nmean("insample")
    n_he, v_he = nmean("heldout")
    n_none_h, v_none_h = nmean("none_heldout")
    n_none_i, v_none_i = nmean("none_insample")

    def spread(v):
        if len(v) < 2:
            return None, None
        h = 1.96 * float(np.std(v, ddof=1)) / math.sqrt(len(v))
        return float(np.mean(v)) - h, float(np.mean(v)) + h

    null_meth = f"isotropic Gaussian, {len(null)} replicate fits; interval: mean ± 1.96 s.e. over replicates"
    matched = []
    if matched_null_heads > 0 and transform != "none":
        idx = np.unique(np.linspace(0, len(units) - 1, min(matched_null_heads, len(units))).round().astype(int))
        for i in idx:
            u = units[i]
            mu = u.Xc.mean(0)
            C = np.cov(u.Xc, rowvar=False) + 1e-9 * np.eye(u.Xc.shape[1])
            L = np.linalg.cholesky(C)
            Gc = mu + nrng.standard_normal(u.Xc.shape) @ L.T
            Gh = mu + nrng.standard_normal(u.Xh.shape) @ L.T
            matched.append(_null_run(transform, Gc, Gh, nrng, iters))
    if matched:
        mlift = np.array([m["heldout"] - m["none_heldout"] for m in matched])
        mheld = np.array([m["heldout"] for m in matched])
        lo, hi = spread(mlift)
        matched_lift = Estimate(float(mlift.mean()), lo, hi, n=len(matched), level=0.95,
                                method="Gaussian with each sampled head's mean+covariance; mean ± 1.96 s.e. over heads")
        lo, hi = spread(mheld)
        matched_held = Estimate(float(mheld.mean()), lo, hi, n=len(matched), level=0.95,
                                method=matched_lift.method)
    else:
        matched_lift = Estimate(0.0, n=0, method="transform 'none': no lift by construction")
        matched_held = Estimate(float(n_none_h), n=0, method="transform 'none'")

    null_lift_est = Estimate(n_he - n_none_h, *spread(v_he - v_none_h), n=len(null), level=0.95, method=null_meth)
    layers_present = sorted({u.layer for u in units})
    per_layer = {li: [i for i, u in enumerate(units) if u.layer == li] for li in layers_present}
    lay_h = [float(hb[per_layer[li]].mean()) for li in layers_present]
    lay_i = [float(ib[per_layer[li]].mean()) for li in layers_present]
    lay_n = [float(nb[per_layer[li]].mean()) for li in layers_present]

    outs = {
        "mean_beta": est(hb.mean(), bh),
        "heldout_beta": est(hb.mean(), bh),
        "insample_beta": est(ib.mean(), bi, method=meth.replace("held-out", "calibration"), n=n_c),
        "none_beta": est(nb.mean(), bn),
        "lift_heldout": est(hb.mean() - nb.mean(), bh - bn),
        "lift_insample": est(ib.mean() - nib.mean(), bi - bni, method=meth.replace("held-out", "calibration"),
                             n=n_c),
        "overfit_gap": Estimate(float(ib.mean() - hb.mean()), n=n_h, method="point estimate"),
        "mean_cos_heldout": Estimate(float(np.mean([r["cos_h"] for r in rows])), n=n_h, method="point estimate"),
        "min_head_beta": Estimate(float(hb.min()), n=len(units), method="minimum over heads"),
        "min_layer_beta": Estimate(float(min(lay_h)), n=len(layers_present), method="minimum over layers"),
        "frac_heads_ge_085": Estimate(float(np.mean(hb >= 0.85)), n=len(units), method="fraction of heads"),
        "null_insample_beta": Estimate(n_in, *spread(v_in), n=len(null), level=0.95, method=null_meth),
        "null_heldout_beta": Estimate(n_he, *spread(v_he), n=len(null), level=0.95, method=null_meth),
        "null_lift_heldout": null_lift_est,
        "null_lift_insample": Estimate(n_in - n_none_i, *spread(v_in - v_none_i), n=len(null), level=0.95,
                                       method=null_meth),
        "matched_null_lift_heldout": matched_lift,
        "matched_null_heldout_beta": matched_held,
        "lift_minus_null": _diff(est(hb.mean() - nb.mean(), bh - bn), null_lift_est),
        "excess_over_matched_null": _diff(est(hb.mean(), bh), matched_held),
        "rows_per_col": Estimate(n_c / d, n=n_c, method="calibration rows / d"),
        "dim": Estimate(float(d), method="vector dimension"),
    }
    plots = [
        Plot(f"sign_beta_profile_{model}_{kind}_{transform}", f"Per-layer β ({_model_label(model)}, {kind}, "
             f"{transform})", "layer", "β (mean over heads)",
             [Series("none (held-out)", layers_present, lay_n),
              Series(f"{transform} (held-out)", layers_present, lay_h),
              Series(f"{transform} (in-sample)", layers_present, lay_i),
              Series("Gaussian 2/π", [layers_present[0], layers_present[-1]], [2 / math.pi] * 2)]),
        Plot(f"sign_beta_overfit_{model}_{kind}_{transform}", "In-sample vs held-out β: keys and Gaussian null",
             "rows per column (n_calib / d)", "β",
             [Series("keys in-sample", [n_c / d], [float(ib.mean())]),
              Series("keys held-out", [n_c / d], [float(hb.mean())]),
              Series("Gaussian in-sample", [n_c / d], [n_in]),
              Series("Gaussian held-out", [n_c / d], [n_he])], kind="scatter"),
    ]
    if hist_all:
        L = min(len(h) for h in hist_all)
        curve = np.mean([np.asarray(h[:L]) ** 2 for h in hist_all], axis=0)
        plots.append(Plot(f"sign_beta_convergence_{model}_{kind}_{transform}",
                          "Fit convergence: (mean 1-bit cosine)² on calibration rows, mean over heads",
                          "ITQ iteration", "(mean cos)²", [Series("calibration", list(range(L)), curve.tolist())]))
    details = {
        "per_head": [{"unit": r["unit"].name, "layer": r["unit"].layer, "head": r["unit"].head,
                      "heldout_beta": float(hb[i]), "insample_beta": float(ib[i]), "none_beta": float(nb[i])}
                     for i, r in enumerate(rows)],
        "per_layer": {str(li): {"heldout": lay_h[j], "insample": lay_i[j], "none": lay_n[j]}
                      for j, li in enumerate(layers_present)},
        "info": info, "transform": transform, "iters": iters, "n_units": len(units),
        "null_shapes": [list(s) for s in shapes],
    }
    if hist_all:
        details["fit_history_mean_cos"] = np.mean([h[:min(map(len, hist_all))] for h in hist_all], 0).tolist()
    ctx.note(f"{len(units)} units, n_calib={n_c}, n_heldout={n_h}, d={d}; seed's own model (Gemma-4-26B) "
             "is not available")
    return Result(outs, plots, details, model=_model_label(model))


# ------------------------------------------------------------------------------------------------ centering

@measurement(
    "centering_effect", on_model=True,
    outputs={
        "centered_minus_uncentered": "held-out β of the learned rotation with DC-mean centering minus without, "
                                     "mean over heads (CI: bootstrap over held-out documents)",
        "centered_beta": "held-out β with centering (learned_centered)",
        "uncentered_beta": "held-out β without centering (learned)",
        "frac_heads_centering_better": "fraction of heads where centering gives the higher held-out β",
    },
    description="does DC-mean centering before the learned rotation raise the β it reaches? (same heads, same "
                "held-out documents)",
    timeout_s=900,
)
def centering_effect(ctx: Context, *, model: str = "smollm2", kind: str = "k_post_rope", layers: str = "all",
                     n_calib_docs: int = 24, n_heldout_docs: int = 16, max_tokens: int = 128, iters: int = 50,
                     n_boot: int = 300) -> Result:
    units, info = key_units(ctx, model, kind, n_calib_docs, n_heldout_docs, max_tokens, layers, 0)
    Tc, _ = fitted_transforms(ctx, units, "learned_centered", iters, info["ident"])
    Tu, _ = fitted_transforms(ctx, units, "learned", iters, info["ident"])
    W = E.multinomial_weights(ctx.rng(19), len(units[0].groups_h), n_boot)
    bc, bu, pc, pu = [], [], [], []
    for u, tc, tu in zip(units, Tc, Tu):
        sc = E.MomentStats.of(tc(u.Xh), u.groups_h)
        su = E.MomentStats.of(tu(u.Xh), u.groups_h)
        pc.append(sc.beta()); pu.append(su.beta())
        bc.append(sc.beta(W)); bu.append(su.beta(W))
    pc, pu = np.array(pc), np.array(pu)
    bc, bu = np.stack(bc).mean(0), np.stack(bu).mean(0)
    n = info["n_heldout_tokens"]
    meth = f"percentile bootstrap over {len(units[0].groups_h)} held-out documents ({n_boot} draws)"

    def est(v, boot):
        lo, hi = E.percentile_ci(boot)
        return Estimate(float(v), lo, hi, n=n, level=0.95, method=meth)

    layers_present = sorted({u.layer for u in units})
    prof_c = [float(pc[[i for i, u in enumerate(units) if u.layer == li]].mean()) for li in layers_present]
    prof_u = [float(pu[[i for i, u in enumerate(units) if u.layer == li]].mean()) for li in layers_present]
    outs = {
        "centered_minus_uncentered": est(pc.mean() - pu.mean(), bc - bu),
        "centered_beta": est(pc.mean(), bc),
        "uncentered_beta": est(pu.mean(), bu),
        "frac_heads_centering_better": Estimate(float(np.mean(pc > pu)), n=len(units), method="fraction of heads"),
    }
    plot = Plot(f"centering_effect_{model}_{kind}", f"Learned rotation with / without DC-mean centering "
                f"({_model_label(model)}, {kind}, held-out)", "layer", "β (mean over heads)",
                [Series("centered (learned_centered)", layers_present, prof_c),
                 Series("uncentered (learned)", layers_present, prof_u)])
    return Result(outs, [plot], {"n_units": len(units), "iters": iters}, model=_model_label(model))


# ------------------------------------------------------------------------------------------------ overfit sweep

@measurement(
    "rotation_overfit_sweep", on_model=True,
    outputs={
        "null_insample_beta_r075": "Gaussian rows/cols = 0.75 (seed 003's dense-MLP shape 2112×2816): in-sample β "
                                   "of a learned rotation",
        "null_insample_beta_r355": "Gaussian rows/cols = 3.55 (seed 003's 10k-row expert batch of d=2816): "
                                   "in-sample β",
        "null_heldout_beta_r355": "Gaussian rows/cols = 3.55: β of the same rotation on fresh rows",
        "null_gap_r355": "null_insample_beta_r355 − null_heldout_beta_r355 (the batch/full gap of pure noise)",
        "null_gap_r142": "the same gap at rows/cols = 14.2 (seed 003's 10k-row batch of experts_down, d = 704)",
        "keys_gap_r1": "real keys, rows/cols = 1: in-sample − held-out β",
        "keys_gap_rmax": "real keys, largest rows/cols of the sweep: in-sample − held-out β",
    },
    description="in-sample vs held-out β of a learned rotation as a function of rows/columns, keys vs Gaussian",
    timeout_s=900,
)
def rotation_overfit_sweep(ctx: Context, *, model: str = "smollm2", kind: str = "k_post_rope",
                           center: bool = True, ratios: str = "0.5,0.75,1,2,3.55,8,14.2,32", null_dim: int = 256,
                           n_heads: int = 6, iters: int = 50) -> Result:
    """A learned rotation fitted on n = ratio·d rows, scored on those rows and on other rows."""
    from ..math.rotations import fit_l1_rotation

    rs = [float(x) for x in ratios.split(",")]
    units, info = key_units(ctx, model, kind, E.STD_DOCS["calibration"], E.STD_DOCS["heldout"],
                            E.STD_MAX_TOKENS, "all", 0)
    idx = np.unique(np.linspace(0, len(units) - 1, min(n_heads, len(units))).round().astype(int))
    rng = ctx.rng(17)
    d = units[0].Xc.shape[1]
    max_ratio = len(units[0].Xc) / d
    real_in, real_out, used = [], [], []
    for r in rs:
        n = int(round(r * d))
        if n > len(units[0].Xc) or n < 2:
            continue
        ins, outs_ = [], []
        for i in idx:
            u = units[i]
            sel = rng.choice(len(u.Xc), size=n, replace=False)
            rot = fit_l1_rotation(u.Xc[sel], center=center, iters=iters, rng=rng)
            ins.append(_beta(rot.apply(u.Xc[sel])))
            outs_.append(_beta(rot.apply(u.Xh)))
        used.append(r)
        real_in.append(float(np.mean(ins)))
        real_out.append(float(np.mean(outs_)))
    null_in, null_out = [], []
    for r in rs:
        n = max(2, int(round(r * null_dim)))
        G = rng.standard_normal((n, null_dim))
        rot = fit_l1_rotation(G, center=center, iters=iters, rng=rng)
        null_in.append(_beta(rot.apply(G)))
        null_out.append(_beta(rot.apply(rng.standard_normal((4 * null_dim, null_dim)))))

    def at(xs, ys, x):
        return float(np.interp(x, xs, ys))

    outs = {
        "null_insample_beta_r075": Estimate(at(rs, null_in, 0.75), n=int(0.75 * null_dim),
                                            method=f"one fit, d={null_dim}"),
        "null_insample_beta_r355": Estimate(at(rs, null_in, 3.55), n=int(3.55 * null_dim),
                                            method=f"one fit, d={null_dim}"),
        "null_heldout_beta_r355": Estimate(at(rs, null_out, 3.55), n=4 * null_dim, method=f"d={null_dim}"),
        "null_gap_r355": Estimate(at(rs, null_in, 3.55) - at(rs, null_out, 3.55), method=f"d={null_dim}"),
        "null_gap_r142": Estimate(at(rs, null_in, 14.2) - at(rs, null_out, 14.2), method=f"d={null_dim}"),
        "keys_gap_r1": Estimate(at(used, real_in, 1.0) - at(used, real_out, 1.0), n=len(idx),
                                method=f"mean over {len(idx)} heads"),
        "keys_gap_rmax": Estimate(real_in[-1] - real_out[-1], n=len(idx), method=f"rows/cols={used[-1]:.3g}"),
    }
    plot = Plot(f"rotation_overfit_{model}_{kind}", "Learned rotation: in-sample vs held-out β against rows/cols",
                "rows per column (n / d)", "β",
                [Series("keys in-sample", used, real_in), Series("keys held-out", used, real_out),
                 Series(f"Gaussian in-sample (d={null_dim})", rs, null_in),
                 Series(f"Gaussian held-out (d={null_dim})", rs, null_out)], log_x=True)
    return Result(outs, [plot], {"ratios": rs, "keys_ratios": used, "keys_in": real_in, "keys_out": real_out,
                                 "null_in": null_in, "null_out": null_out, "heads": [units[i].name for i in idx],
                                 "key_dim": d, "max_key_ratio": max_ratio, "center": center},
                  model=_model_label(model))


# ------------------------------------------------------------------------------------------------ FFN table

@measurement(
    "ffn_weight_beta", on_model=True,
    outputs={
        "beta_raw": "β of the weight vectors (hidden-dim axis), mean over matrices",
        "beta_learned_full": "rotation fitted on all vectors of a matrix, scored on the same vectors (in-sample)",
        "beta_batch": "rotation fitted on a subsample (batch_fraction of the rows), in-sample on the subsample",
        "beta_batch_on_full": "that rotation applied to all rows (mostly rows it never saw)",
        "batch_full_gap": "beta_batch − beta_batch_on_full",
        "beta_heldout": "rotation fitted on half the rows, scored on the other half",
        "null_beta_learned_full": "Gaussian of the same shape: in-sample β (= what a d×d rotation fits into noise)",
        "null_batch_full_gap": "Gaussian of the same shape: batch/full gap",
        "null_beta_heldout": "Gaussian of the same shape: held-out β",
        "perm_null_beta_learned_full": "the matrix's own entries shuffled (same marginal, no structure): in-sample β",
        "heldout_minus_null": "beta_heldout − null_beta_heldout (per matrix, then averaged)",
        "learned_full_minus_null": "beta_learned_full − null_beta_learned_full",
        "gap_minus_null": "batch_full_gap − null_batch_full_gap",
    },
    description="seed 003 Part E: FFN weight β_raw → β_batch → β_learned, held-out and against nulls",
    timeout_s=900,
)
def ffn_weight_beta(ctx: Context, *, model: str = "minilm", layers: str = "0,3,5", center: bool = False,
                    batch_fraction: float = 0.5, iters: int = 25, matrices: str = "mlp") -> Result:
    """``matrices``: ``mlp`` (the dense MLP) or ``experts`` (a mixture of experts' stacked expert matrices)."""
    from ..math.rotations import fit_l1_rotation

    units, info = ffn_units(ctx, model, layers, matrices=matrices)
    rng = ctx.rng(23)
    rows = []
    nulls: dict[tuple[int, int], dict[str, float]] = {}
    for u in units:
        M = u.extra["full"]
        n, d = M.shape
        full = fit_l1_rotation(M, center=center, iters=iters, rng=rng)
        sel = rng.choice(n, size=max(2, int(round(batch_fraction * n))), replace=False)
        bat = fit_l1_rotation(M[sel], center=center, iters=iters, rng=rng)
        half = fit_l1_rotation(u.Xc, center=center, iters=iters, rng=rng)
        if (n, d) not in nulls:   # the nulls depend on the shape only (perm: on this matrix's entries)
            G = rng.standard_normal((n, d))
            gfull = fit_l1_rotation(G, center=center, iters=iters, rng=rng)
            gbat = fit_l1_rotation(G[sel], center=center, iters=iters, rng=rng)
            P = rng.permutation(M.ravel()).reshape(M.shape)
            pfull = fit_l1_rotation(P, center=center, iters=iters, rng=rng)
            nulls[(n, d)] = {
                "null_beta_learned_full": _beta(gfull.apply(G)),
                "null_batch": _beta(gbat.apply(G[sel])), "null_batch_on_full": _beta(gbat.apply(G)),
                "null_beta_heldout": _beta(gfull.apply(rng.standard_normal((n, d)))),
                "perm_null_beta_learned_full": _beta(pfull.apply(P)),
                "perm_null_source": u.name,
            }
        rows.append({
            "matrix": u.name, "shape": u.extra["shape"], "rows_per_col": n / d,
            "beta_raw": _beta(M - M.mean(0) if center else M),
            "beta_learned_full": _beta(full.apply(M)),
            "beta_batch": _beta(bat.apply(M[sel])), "beta_batch_on_full": _beta(bat.apply(M)),
            "beta_heldout": _beta(half.apply(u.Xh)),
            **nulls[(n, d)],
        })

    def col(k):
        return np.array([r[k] for r in rows])

    def est(v):
        v = np.asarray(v, dtype=float)
        h = 1.96 * float(v.std(ddof=1)) / math.sqrt(len(v)) if len(v) > 1 else None
        m = float(v.mean())
        return Estimate(m, m - h if h is not None else None, m + h if h is not None else None, n=len(v),
                        level=0.95 if h is not None else None,
                        method="mean over matrices ± 1.96 s.e. (matrix-to-matrix spread)")

    outs = {
        "beta_raw": est(col("beta_raw")),
        "beta_learned_full": est(col("beta_learned_full")),
        "beta_batch": est(col("beta_batch")),
        "beta_batch_on_full": est(col("beta_batch_on_full")),
        "batch_full_gap": est(col("beta_batch") - col("beta_batch_on_full")),
        "beta_heldout": est(col("beta_heldout")),
        "null_beta_learned_full": est(col("null_beta_learned_full")),
        "null_batch_full_gap": est(col("null_batch") - col("null_batch_on_full")),
        "null_beta_heldout": est(col("null_beta_heldout")),
        "perm_null_beta_learned_full": est(col("perm_null_beta_learned_full")),
        "heldout_minus_null": est(col("beta_heldout") - col("null_beta_heldout")),
        "learned_full_minus_null": est(col("beta_learned_full") - col("null_beta_learned_full")),
        "gap_minus_null": est(col("beta_batch") - col("beta_batch_on_full")
                              - (col("null_batch") - col("null_batch_on_full"))),
    }
    names = [r["matrix"] for r in rows]
    x = list(range(len(rows)))
    plot = Plot(f"ffn_weight_beta_{model}", f"FFN weights ({_model_label(model)}): β_raw → β_batch → β_learned",
                "matrix (index; see details)", "β",
                [Series("β_raw", x, col("beta_raw").tolist()), Series("β_batch", x, col("beta_batch").tolist()),
                 Series("β_learned (full, in-sample)", x, col("beta_learned_full").tolist()),
                 Series("β held-out", x, col("beta_heldout").tolist()),
                 Series("Gaussian same shape, in-sample", x, col("null_beta_learned_full").tolist())],
                kind="bar")
    return Result(outs, [plot], {"matrices": names, "rows": rows, "info": info, "center": center},
                  model=_model_label(model))


# ------------------------------------------------------------------------------------------------ frontier

def _one_bit(Y: np.ndarray) -> np.ndarray:
    from ..math.sign_quant import one_bit_quantize

    return one_bit_quantize(Y)


def _turbo(X: np.ndarray, bits: int, rng) -> np.ndarray:
    """TurboQuant-style: Haar rotation + Gaussian Lloyd–Max per coordinate + stored norm (math.quantizers)."""
    from ..math.quantizers import TurboQuantMSE

    return TurboQuantMSE(X.shape[1], bits, rng=rng).roundtrip(X)


def _qjl(X: np.ndarray, rng) -> np.ndarray:
    """QJL-style reconstruction √(π/2)/m · ‖x‖ · Sᵀ sgn(S x) (the unbiased estimator of x; m = d sign bits)."""
    from ..math.quantizers import QJL

    d = X.shape[1]
    q = QJL(d, d, rng=rng)
    return q.estimate(np.eye(d), q.encode(X)).T


@measurement(
    "residual_frontier", exact={'beta_eff_identity_max_err': 'a maximum over every evaluated input: one input with a large value is an exact counterexample', 'bits_topk_d8': 'bits per coordinate counted from the code layout'}, on_model=True,
    outputs={
        "beta_1b": "energy-weighted β of the 1-bit code of the (transformed) held-out keys = 1 − residual energy",
        "gamma_r": "held-out residual energy captured by the rank-r basis fitted on calibration residuals",
        "beta_eff": "1 − (1 − β_1b)(1 − γ_r) (mean over heads)",
        "fidelity_rank_r": "1 − ‖k − k̂‖²/‖k‖² measured directly for 1-bit + rank-r (original coordinates)",
        "beta_eff_identity_max_err": "max over heads |β_eff − fidelity measured directly| (an exact identity)",
        "fidelity_topk_d8": "fidelity of 1-bit + top-k residual correction with k = d/8",
        "bits_topk_d8": "bits per coordinate of 1-bit + top-(d/8) (signs, fp16 scale, fp16 values, indices)",
        "turbo_fidelity_at_bits_topk_d8": "TurboQuant-style (Haar + Lloyd–Max) fidelity interpolated at the same "
                                          "bits per coordinate",
        "topk_d8_minus_turbo": "fidelity_topk_d8 − turbo_fidelity_at_bits_topk_d8 (negative: dominated)",
        "fidelity_1bit": "fidelity of the 1-bit code alone (after the transform)",
        "fidelity_haar_sign": "random Haar rotation + sign with least-squares scale (1 + 16/d bits)",
        "fidelity_qjl": "QJL-style unbiased estimate with m = d sign bits + fp16 norm",
        "fidelity_turbo_2bit": "TurboQuant-style 2-bit",
    },
    description="rank-r and top-k residual corrections of 1-bit keys vs QJL/TurboQuant-style baselines: "
                "fidelity against bits per coordinate",
    timeout_s=900,
)
def residual_frontier(ctx: Context, *, model: str = "smollm2", kind: str = "k_post_rope",
                      transform: str = "learned_centered", layers: str = "every:3", r: int = 4,
                      ranks: str = "0,1,2,4,8,16,32", topks: str = "0,1,2,4,8,16,32", turbo_bits: str = "1,2,3,4",
                      iters: int = 50, value_bits: int = 16, amortize_tokens: int = 4096) -> Result:
    from ..math import lowrank as LR
    from ..math.rotations import haar_orthogonal

    units, info = key_units(ctx, model, kind, E.STD_DOCS["calibration"], E.STD_DOCS["heldout"],
                            E.STD_MAX_TOKENS, layers, 0)
    sizes = sorted({u.Xc.shape[1] for u in units})
    if len(sizes) > 1:   # bits per coordinate depend on d: one frontier, on the head size most heads have
        from collections import Counter

        d_main = Counter(u.Xc.shape[1] for u in units).most_common(1)[0][0]
        info["head_sizes"] = {"all": sizes, "evaluated": d_main,
                              "dropped_units": [u.name for u in units if u.Xc.shape[1] != d_main]}
        ctx.note(f"head sizes {sizes} differ across layers: the frontier is evaluated on the d={d_main} heads")
        units = [u for u in units if u.Xc.shape[1] == d_main]
    rng = ctx.rng(29)
    d = units[0].Xc.shape[1]
    R_list = [x for x in E.parse_ints(ranks) if x <= d]
    K_list = [x for x in E.parse_ints(topks) if x <= d]
    if r not in R_list:
        R_list = sorted(set(R_list) | {r})
    kd8 = max(1, d // 8)
    if kd8 not in K_list:
        K_list = sorted(set(K_list) | {kd8})
    tb = E.parse_ints(turbo_bits)
    acc: dict[str, list[float]] = {}

    def add(key, v):
        acc.setdefault(key, []).append(float(v))

    ident_err = 0.0
    for u in units:
        T, _ = fit_transform(transform, u.Xc, rng, iters)
        Yc, Yh = T(u.Xc), T(u.Xh)
        e_tot = float(np.sum(u.Xh ** 2))       # energy of the original keys
        Qh = _one_bit(Yh)
        Eh = Yh - Qh
        Ec = Yc - _one_bit(Yc)
        res_e = float(np.sum(Eh ** 2))
        fid1 = 1 - res_e / e_tot
        beta1 = 1 - res_e / float(np.sum(Yh ** 2))
        add("fidelity_1bit", fid1)
        add("beta_1b", beta1)
        _, _, Vt = np.linalg.svd(Ec, full_matrices=False)
        for rr in R_list:
            V = Vt[:rr].T
            g = LR.gamma_r_of_basis(Eh, V) if rr > 0 else 0.0
            corr = Eh @ V @ V.T if rr > 0 else 0.0
            direct = 1 - float(np.sum((Eh - corr) ** 2)) / e_tot
            add(f"rank{rr}_fid", direct)
            add(f"rank{rr}_gamma", g)
            beff = float(LR.beta_eff(beta1, g))
            add(f"rank{rr}_beff", beff)
            if transform in ("none", "haar", "srht", "learned"):   # energy preserved: identity is exact
                ident_err = max(ident_err, abs(beff - direct))
            else:                                                  # centered: identity holds for centered energy
                direct_c = 1 - float(np.sum((Eh - corr) ** 2)) / float(np.sum(Yh ** 2))
                ident_err = max(ident_err, abs(beff - direct_c))
        for k in K_list:
            corr = LR.topk_sparsify(Eh, k)
            add(f"top{k}_fid", 1 - float(np.sum((Eh - corr) ** 2)) / e_tot)
        Rh = haar_orthogonal(d, rng)
        Zh = u.Xh @ Rh.T
        add("haar_sign", 1 - float(np.sum((Zh - _one_bit(Zh)) ** 2)) / e_tot)
        add("qjl", 1 - float(np.sum((u.Xh - _qjl(u.Xh, rng)) ** 2)) / e_tot)
        for b in tb:
            add(f"turbo{b}", 1 - float(np.sum((u.Xh - _turbo(u.Xh, b, rng)) ** 2)) / e_tot)

    m = {k: float(np.mean(v)) for k, v in acc.items()}
    scale_bits = 16.0 / d
    b1 = 1.0 + scale_bits
    rank_bits = [b1 + LR.rank_r_bits_per_coordinate(d, rr, amortize_tokens, value_bits) for rr in R_list]
    top_bits = [b1 + LR.topk_bits_per_coordinate(d, k, value_bits) for k in K_list]
    turbo_bits_x = [b + scale_bits for b in tb]
    turbo_y = [m[f"turbo{b}"] for b in tb]
    bits_d8 = b1 + LR.topk_bits_per_coordinate(d, kd8, value_bits)
    turbo_at = float(np.interp(bits_d8, turbo_bits_x, turbo_y))
    n_h = len(units[0].Xh)
    meth = f"mean over {len(units)} heads; held-out keys ({n_h} tokens)"
    outs = {
        "beta_1b": Estimate(m["beta_1b"], n=n_h, method=meth),
        "gamma_r": Estimate(m[f"rank{r}_gamma"], n=n_h, method=meth + f"; r={r}"),
        "beta_eff": Estimate(m[f"rank{r}_beff"], n=n_h, method=meth + f"; r={r}"),
        "fidelity_rank_r": Estimate(m[f"rank{r}_fid"], n=n_h, method=meth + f"; r={r}"),
        "beta_eff_identity_max_err": Estimate(ident_err, method="max over heads and ranks"),
        "fidelity_topk_d8": Estimate(m[f"top{kd8}_fid"], n=n_h, method=meth + f"; k={kd8}"),
        "bits_topk_d8": Estimate(bits_d8, method=f"1 + 16/d + k(16 + ⌈log2 d⌉)/d, d={d}, k={kd8}"),
        "turbo_fidelity_at_bits_topk_d8": Estimate(turbo_at, n=n_h, method="linear interpolation in bits"),
        "topk_d8_minus_turbo": Estimate(m[f"top{kd8}_fid"] - turbo_at, n=n_h, method=meth),
        "fidelity_1bit": Estimate(m["fidelity_1bit"], n=n_h, method=meth),
        "fidelity_haar_sign": Estimate(m["haar_sign"], n=n_h, method=meth),
        "fidelity_qjl": Estimate(m["qjl"], n=n_h, method=meth),
        "fidelity_turbo_2bit": Estimate(m.get("turbo2", float("nan")), n=n_h, method=meth),
    }
    series = [
        Series(f"1-bit ({transform}) + rank-r", rank_bits, [m[f"rank{rr}_fid"] for rr in R_list]),
        Series(f"1-bit ({transform}) + top-k", top_bits, [m[f"top{k}_fid"] for k in K_list]),
        Series("TurboQuant-style (Haar + Lloyd–Max)", turbo_bits_x, turbo_y),
        Series("QJL-style (m = d)", [b1], [m["qjl"]]),
        Series("Haar + sign", [b1], [m["haar_sign"]]),
        Series("top-k, k = d/8", [bits_d8], [m[f"top{kd8}_fid"]]),
    ]
    plot = Plot(f"residual_frontier_{model}_{kind}_{transform}",
                f"Fidelity vs bits per coordinate ({_model_label(model)} {kind}, held-out)",
                "bits per coordinate", "1 − ‖k − k̂‖²/‖k‖²", series)
    details = {"ranks": R_list, "topks": K_list, "rank_bits": rank_bits, "topk_bits": top_bits,
               "turbo_bits": turbo_bits_x, "means": m, "d": d, "heads": [u.name for u in units],
               "bit_accounting": "sign 1/coord; α fp16 per vector; rank-r: r fp16 coefficients per vector + basis "
                                 f"amortised over {amortize_tokens} tokens; top-k: fp16 value + ⌈log2 d⌉-bit index; "
                                 "learned rotation and mean: per head, not counted (amortised); TurboQuant: b bits/"
                                 "coord + fp16 norm; QJL: m=d sign bits + fp16 norm"}
    return Result(outs, [plot], details, model=_model_label(model))


# ------------------------------------------------------------------------------------------------ gauge

def _rope_half(X: np.ndarray, pos: np.ndarray, theta: float) -> np.ndarray:
    """transformers' Llama RoPE ("rotate_half" pairing i ↔ i + d/2), float64 (quantproof.math.attention.rope)."""
    from ..math.attention import rope

    return rope(X, pos, base=theta, pairing="half")


def _rope_layer(X: np.ndarray, pos: np.ndarray, spec: dict[str, Any]) -> np.ndarray:
    """The RoPE of one layer in float64: from θ for the default rotation (Llama, Qwen2, Gemma sliding layers),
    else from the model's own inverse frequencies and scaling (scaled or partial rotations, e.g. Gemma-4's full
    layers, which rotate a quarter of the dimensions)."""
    if spec.get("rope_type", "default") == "default" and spec.get("theta") and float(spec.get("scaling", 1.0)) == 1.0:
        return _rope_half(X, pos, float(spec["theta"]))
    inv = np.asarray(spec["inv_freq"], dtype=np.float64)
    ang = np.asarray(pos, dtype=np.float64)[:, None] * inv[None, :]
    c = np.concatenate([np.cos(ang), np.cos(ang)], axis=-1) * float(spec.get("scaling", 1.0))
    s = np.concatenate([np.sin(ang), np.sin(ang)], axis=-1) * float(spec.get("scaling", 1.0))
    X = np.asarray(X, dtype=np.float64)
    h = X.shape[-1] // 2
    rot = np.concatenate([-X[..., h:], X[..., :h]], axis=-1)
    return X * c + rot * s


def _rope_specs(cap) -> list[dict[str, Any]]:
    cfg = cap.meta.get("config") or {}
    specs = cfg.get("rope_per_layer")
    if specs:
        return specs
    theta = cfg.get("rope_theta")
    if not theta:
        raise MeasurementUnavailable("the capture metadata holds no RoPE parameters")
    return [{"rope_type": "default", "theta": theta, "scaling": 1.0}] * cap.n_layers("k_pre_rope" if "k_pre_rope"
                                                                                      in cap.arrays else
                                                                                      "k_post_rope")


def _rope_commuting(d: int, rng) -> np.ndarray:
    """Orthogonal R with an independent 2×2 rotation on every RoPE plane (i, i + d/2): commutes with RoPE."""
    from ..math.attention import rope_commuting_rotation

    return rope_commuting_rotation(d, rng, pairing="half")


def _softmax_causal(S: np.ndarray) -> np.ndarray:
    T = S.shape[-1]
    S = np.where(np.tril(np.ones((T, T), bool)), S, -np.inf)
    S = S - S.max(-1, keepdims=True)
    P = np.exp(S)
    return P / P.sum(-1, keepdims=True)


@measurement(
    "gauge_invariance", exact={'folded_max_rel_err': 'a maximum over every evaluated input: one input with a large value is an exact counterexample', 'folded_max_prob_err': 'a maximum over every evaluated input: one input with a large value is an exact counterexample', 'post_rope_max_rel_err': 'a maximum over every evaluated input: one input with a large value is an exact counterexample', 'commuting_folded_max_rel_err': 'a maximum over every evaluated input: one input with a large value is an exact counterexample', 'rope_reimpl_max_abs_err': 'a maximum over every evaluated input: one input with a large value is an exact counterexample'}, on_model=True,
    outputs={
        "post_rope_max_rel_err": "scores with Q, K rotated by the same R after RoPE vs original: max |ΔS| / max |S|",
        "folded_max_rel_err": "R folded into W_q, W_k (applied before RoPE): max |ΔS| / max |S|",
        "folded_max_prob_err": "R folded before RoPE: max abs difference of causal attention probabilities",
        "folded_mean_tv": "R folded before RoPE: mean total-variation distance of attention rows",
        "commuting_folded_max_rel_err": "R commuting with RoPE (2×2 rotations on RoPE planes) folded before RoPE",
        "rope_reimpl_max_abs_err": "our RoPE of k_proj outputs vs the model's cached keys (checks the setup)",
    },
    description="attention-score gauge invariance on real SmolLM2 queries/keys: rotation after RoPE vs folded "
                "into W_q/W_k before RoPE",
    timeout_s=600,
)
def gauge_invariance(ctx: Context, *, rotation: str = "haar", layers: str = "all", n_docs: int = 4,
                     iters: int = 30, model: str = "smollm2") -> Result:
    """``model``: any causal LM with RoPE (a model without RoPE: not applicable)."""
    cal = E.get_capture(ctx, model, ("q_pre_rope", "k_pre_rope", "k_post_rope"), "calibration",
                        E.STD_DOCS["calibration"], E.STD_MAX_TOKENS)
    specs = _rope_specs(cal)
    theta = specs[0].get("theta")
    rng = ctx.rng(31)
    lay = E.parse_layers(layers, cal.n_layers("k_pre_rope"))
    docs = cal.doc_groups()[:n_docs]
    err = {"post": 0.0, "fold": 0.0, "comm": 0.0, "prob": 0.0, "rope": 0.0}
    tvs = []
    KV = 0
    for li in lay:
        KV, H, hd = cal.n_heads("k_pre_rope", li), cal.n_heads("q_pre_rope", li), cal.head_dim("k_pre_rope", li)
        group = H // KV
        sp = specs[li]
        for kvh in range(KV):
            kpre_all = np.asarray(cal.head("k_pre_rope", li, kvh)).astype(np.float64)
            kpost_all = np.asarray(cal.head("k_post_rope", li, kvh)).astype(np.float64)
            if rotation == "learned":
                from ..math.rotations import fit_l1_rotation

                R = fit_l1_rotation(kpost_all, center=False, iters=iters, rng=rng).R
            else:
                from ..math.rotations import haar_orthogonal

                R = haar_orthogonal(hd, rng)
            C = _rope_commuting(hd, rng)
            for g in docs:
                pos = cal.positions[g]
                kp, kq = kpre_all[g], kpost_all[g]
                kr = _rope_layer(kp, pos, sp)
                err["rope"] = max(err["rope"], float(np.abs(kr - kq).max()))
                for qh in range(kvh * group, (kvh + 1) * group):
                    qp = np.asarray(cal.head("q_pre_rope", li, qh))[g].astype(np.float64)
                    q = _rope_layer(qp, pos, sp)
                    S = q @ kr.T / math.sqrt(hd)
                    smax = float(np.abs(S).max())
                    S_post = (q @ R.T) @ (kr @ R.T).T / math.sqrt(hd)
                    S_fold = _rope_layer(qp @ R.T, pos, sp) @ _rope_layer(kp @ R.T, pos, sp).T / math.sqrt(hd)
                    S_comm = _rope_layer(qp @ C.T, pos, sp) @ _rope_layer(kp @ C.T, pos, sp).T / math.sqrt(hd)
                    mask = np.tril(np.ones(S.shape, bool))
                    err["post"] = max(err["post"], float(np.abs(S_post - S)[mask].max()) / smax)
                    err["fold"] = max(err["fold"], float(np.abs(S_fold - S)[mask].max()) / smax)
                    err["comm"] = max(err["comm"], float(np.abs(S_comm - S)[mask].max()) / smax)
                    P, Pf = _softmax_causal(S), _softmax_causal(S_fold)
                    err["prob"] = max(err["prob"], float(np.abs(P - Pf).max()))
                    tvs.append(float(0.5 * np.abs(P - Pf).sum(-1).mean()))
    n = sum(cal.n_heads("k_pre_rope", li) for li in lay) * len(docs)
    outs = {
        "post_rope_max_rel_err": Estimate(err["post"], n=n, method="max over layers, heads, documents (float64)"),
        "folded_max_rel_err": Estimate(err["fold"], n=n, method="max over layers, heads, documents"),
        "folded_max_prob_err": Estimate(err["prob"], n=n, method="max over layers, heads, documents"),
        "folded_mean_tv": Estimate(float(np.mean(tvs)), n=len(tvs), method="mean over query heads and documents"),
        "commuting_folded_max_rel_err": Estimate(err["comm"], n=n, method="max (float64)"),
        "rope_reimpl_max_abs_err": Estimate(err["rope"], n=n, method="max; keys stored fp32"),
    }
    return Result(outs, [], {"rotation": rotation, "layers": lay, "n_docs": len(docs), "rope_theta": theta,
                             "pairing": "rotate_half (i, i + d/2), as transformers' Llama",
                             "rope_types": sorted({str(specs[li].get("rope_type")) for li in lay})},
                  model=_model_label(model))


# ------------------------------------------------------------------------------------------------ front tokens

@measurement(
    "front_token_protection", on_model=True,
    outputs={
        "tv_no_protect": "mean total variation between causal attention rows with exact and 1-bit keys",
        "tv_protect": "the same with the first `protect` tokens' keys kept exact",
        "tv_reduction": "1 − tv_protect / tv_no_protect",
        "first_token_attention_mass": "mean attention probability on position 0 (exact keys)",
        "first_token_beta_ratio": "β of position-0 keys / β of the other keys (after the transform)",
    },
    description="front-token (attention-sink) protection for 1-bit keys on SmolLM2: attention TV distance",
    timeout_s=600,
)
def front_token_protection(ctx: Context, *, transform: str = "haar", protect: int = 1, layers: str = "all",
                           n_docs: int = 8, iters: int = 30, model: str = "smollm2") -> Result:
    """``model``: any causal LM with RoPE (queries are rotated with the model's own RoPE)."""
    cal = E.get_capture(ctx, model, ("k_post_rope",), "calibration", E.STD_DOCS["calibration"],
                        E.STD_MAX_TOKENS)
    held = E.get_capture(ctx, model, ("q_pre_rope", "k_post_rope"), "heldout", E.STD_DOCS["heldout"],
                         E.STD_MAX_TOKENS)
    specs = _rope_specs(held)
    rng = ctx.rng(37)
    lay = E.parse_layers(layers, held.n_layers("k_post_rope"))
    docs = held.doc_groups()[:n_docs]
    tv0, tv1, mass, b0, b1 = [], [], [], [], []
    for li in lay:
        KV, H, hd = held.n_heads("k_post_rope", li), held.n_heads("q_pre_rope", li), held.head_dim("k_post_rope", li)
        group = H // KV
        for kvh in range(KV):
            T, _ = fit_transform(transform, np.asarray(cal.head("k_post_rope", li, kvh)).astype(np.float64), rng,
                                 iters)
            Kall = np.asarray(held.head("k_post_rope", li, kvh)).astype(np.float64)
            Y = T(Kall)
            first = held.positions == 0
            b0.append(_beta(Y[first]))
            b1.append(_beta(Y[~first]))
            # 1-bit code in the transformed space, mapped back with the least-squares inverse of T
            Kq = _decode(T, Kall, Y, _one_bit(Y))
            for g in docs:
                pos = held.positions[g]
                K, Kh = Kall[g], Kq[g]
                Kp = Kh.copy()
                Kp[pos < protect] = K[pos < protect]
                for qh in range(kvh * group, (kvh + 1) * group):
                    q = _rope_layer(np.asarray(held.head("q_pre_rope", li, qh))[g].astype(np.float64), pos,
                                    specs[li])
                    P = _softmax_causal(q @ K.T / math.sqrt(hd))
                    P0 = _softmax_causal(q @ Kh.T / math.sqrt(hd))
                    P1 = _softmax_causal(q @ Kp.T / math.sqrt(hd))
                    tv0.append(float(0.5 * np.abs(P - P0).sum(-1)[1:].mean()))
                    tv1.append(float(0.5 * np.abs(P - P1).sum(-1)[1:].mean()))
                    mass.append(float(P[1:, 0].mean()))
    a, b = float(np.mean(tv0)), float(np.mean(tv1))
    rng_b = ctx.rng(41)
    t0, t1 = np.array(tv0), np.array(tv1)
    idx = rng_b.integers(0, len(t0), size=(300, len(t0)))
    red = 1 - t1[idx].mean(1) / t0[idx].mean(1)
    lo, hi = E.percentile_ci(red)
    outs = {
        "tv_no_protect": Estimate(a, n=len(tv0), method="mean over layers × query heads × documents"),
        "tv_protect": Estimate(b, n=len(tv1), method="mean over layers × query heads × documents"),
        "tv_reduction": Estimate(1 - b / a, lo, hi, n=len(tv0), level=0.95,
                                 method="bootstrap over (layer, head, document) cells"),
        "first_token_attention_mass": Estimate(float(np.mean(mass)), n=len(mass), method="mean"),
        "first_token_beta_ratio": Estimate(float(np.mean(b0) / np.mean(b1)), n=len(b0), method="ratio of means"),
    }
    return Result(outs, [], {"transform": transform, "protect": protect, "layers": lay, "n_docs": len(docs)},
                  model=_model_label(model))


def _decode(T, K: np.ndarray, Y: np.ndarray, Yq: np.ndarray) -> np.ndarray:
    """Invert an affine transform Y = (K − μ) Rᵀ fitted by least squares on (K, Y) and apply it to ``Yq``."""
    n, d = K.shape
    A = np.hstack([K, np.ones((n, 1))])
    coef, *_ = np.linalg.lstsq(A, Y, rcond=None)         # Y = K M + c
    M, c = coef[:d], coef[d]
    return np.linalg.solve(M.T, (Yq - c).T).T

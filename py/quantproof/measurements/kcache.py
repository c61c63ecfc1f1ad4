"""Empirical measurements on real K-caches (seed 003): β and the 1-bit cosine under fixed and learned rotations,
held out, against null inputs and planted controls (``sign_beta``), and the effect of DC-mean centering on the
learned rotation (``centering_effect``). FFN weights: ``kcache_ffn``; residual corrections: ``kcache_frontier``;
attention (gauge, front token): ``kcache_attention``; inputs and transforms: ``_kcache_data``.

Data: SmolLM2-135M-Instruct (shipped as a 4-bit Q4_1 GGUF, run dequantized in fp32; 30 layers, 3 KV heads of 64:
its keys are those of a 4-bit-weight model, not of an fp16 one) and all-MiniLM-L6-v2 (fp32; 6 layers, 12 heads of
32), on English text from gensim's test data, split by document into calibration and held-out sets (see
``quantproof.capture``). Seed 003's model (Gemma-4-26B MoE) is not available here: numbers measured on these models
*reproduce or fail to reproduce* the seed's figures, they are not the seed's experiment.

Conventions: β is the pooled moment ratio (mean|y|)²/mean y² of all coordinates of one head's vectors, averaged over
heads; "held-out" means transforms fitted on calibration documents and evaluated on other documents; lifts are
β(transform) − β(no transform) on the same vectors. Fitted transforms: ``learned`` is the ITQ-style ℓ1 rotation
(uncentered), ``learned_centered`` subtracts the calibration mean first (seed 003's DC-mean centering; β is then that
of the centered residual, the mean being stored apart), ``centered`` subtracts the mean without rotating. Random
``haar`` / ``srht`` rotations are drawn per head from the context seed.

Uncertainty (docs/REFEREE.md rule 4): held-out statistics are bootstrapped over held-out documents (the transforms
were fitted on the calibration documents, a separate split); in-sample statistics with an interval come from a
delete-a-group jackknife over calibration documents, the rotation refitted without each group; Gaussian nulls from
independent replicate draws. Outputs without a valid interval are point estimates and say so. Outputs a run was told not to
compute (``null_reps = 0``: the isotropic null and lift_minus_null; ``matched_null_heads = 0``: the matched null and
excess_over_matched_null; ``insample_folds < 2``: insample_beta_jk) are absent from its result, never NaN.
"""

from __future__ import annotations

import math

import numpy as np

from ..evidence.measurement import Context, Estimate, Plot, Result, Series, measurement
from . import _empirical as E
from ._kcache_data import (
    TRANSFORMS,
    RatioStats,
    boot_estimate,
    diff_estimate,
    fit_transform,
    key_units,
    model_label,
    pick_layers,
    row_cos,
    t_estimate,
    unit_rng,
    unit_transform,
    with_source,
)
from ._kcache_data import beta as _beta

# ------------------------------------------------------------------------------------------------ sign_beta

_SIGN_BETA_OUTPUTS = {
    "mean_beta": "β of the transformed held-out vectors (transforms fitted on calibration documents), mean over "
                 "heads (CI: bootstrap over held-out documents)",
    "heldout_beta": "same as mean_beta",
    "insample_beta": "β of the transformed calibration vectors the transform was fitted on (point estimate: no "
                     "valid interval, the fit used these rows; see insample_beta_jk)",
    "insample_beta_jk": "in-sample β of the heads of `fold_layers` (CI: delete-a-group jackknife over "
                        "`insample_folds` groups of calibration documents, the transform refitted without each group)",
    "none_beta": "β of the held-out vectors without any transform",
    "lift_heldout": "heldout_beta − none_beta (CI: bootstrap over held-out documents)",
    "lift_insample": "insample_beta − β of the untransformed calibration vectors (point estimate)",
    "overfit_gap": "insample_beta − heldout_beta (point estimate)",
    "mean_cos_heldout": "mean 1-bit cosine of the transformed held-out vectors (CI: bootstrap over held-out "
                        "documents)",
    "min_head_beta": "smallest held-out β over heads (descriptive)",
    "min_layer_beta": "smallest per-layer (head-averaged) held-out β (descriptive)",
    "frac_heads_ge_085": "fraction of heads with held-out β ≥ 0.85 (descriptive)",
    "null_insample_beta": "isotropic Gaussian null of the same shape: in-sample β after the same procedure",
    "null_heldout_beta": "isotropic Gaussian null: β on fresh Gaussian rows",
    "null_lift_heldout": "isotropic Gaussian null: held-out lift (0 by symmetry for a rotation)",
    "null_lift_insample": "isotropic Gaussian null: in-sample lift (overfitting of a d×d fit)",
    "matched_null_lift_heldout": "Gaussian with each sampled head's calibration mean and covariance: held-out lift",
    "matched_null_heldout_beta": "Gaussian with matched mean and covariance, the same transform procedure: "
                                 "held-out β, mean over the sampled heads",
    "lift_minus_null": "lift_heldout − null_lift_heldout (interval: the two intervals' extreme differences)",
    "excess_over_matched_null": "held-out β of the keys minus that of Gaussian data with each head's calibration "
                                "mean and covariance, the same transform procedure applied to both, paired per "
                                "head over the sampled heads (CI: bootstrap over held-out documents, drawn "
                                "jointly)",
    "rows_per_col": "calibration rows per dimension (n_calib / d)",
    "dim": "vector dimension d",
}


@measurement(
    "sign_beta", exact={"dim": "the head dimension of the model", "rows_per_col": "a count of rows over d"},
    on_model=True, outputs=_SIGN_BETA_OUTPUTS,
    description="β and 1-bit cosine per layer/head under none|haar|srht|centered|learned|learned_centered, held out, "
                "on real keys or a control input (planted lattice, spiky, Gaussian), with Gaussian nulls",
    timeout_s=900,
)
def sign_beta(ctx: Context, *, model: str = "smollm2", kind: str = "k_post_rope",
              transform: str = "learned_centered", source: str = "real", planted_noise: float = 0.25,
              layers: str = "all", n_calib_docs: int = 24, n_heldout_docs: int = 16, max_tokens: int = 128,
              drop_first: int = 0, iters: int = 50, insample_folds: int = 3, fold_layers: str = "spread:3",
              null_reps: int = 3, matched_null_heads: int = 15, n_boot: int = 300) -> Result:
    """β per layer/head of K-caches (SmolLM2 post/pre-RoPE, MiniLM keys) or of a control input of their shape."""
    if transform not in TRANSFORMS:
        raise ValueError(f"unknown transform {transform!r} (known: {', '.join(TRANSFORMS)})")
    real, info = key_units(ctx, model, kind, n_calib_docs, n_heldout_docs, max_tokens, layers, drop_first)
    units, src_meta = with_source(ctx, real, source, planted_noise)
    ident = {**info["ident"], "source": source, **({"planted_noise": planted_noise} if source != "real" else {})}
    rows, hist_all = [], []
    for u in units:
        T, hist = unit_transform(ctx, u, transform, iters, ident)
        Yc, Yh = T(u.Xc), T(u.Xh)
        rows.append({"unit": u, "heldout": E.MomentStats.of(Yh, u.groups_h),
                     "none_h": E.MomentStats.of(u.Xh, u.groups_h),
                     "insample": _beta(Yc), "none_c": _beta(u.Xc),
                     "cos": RatioStats.of(row_cos(Yh), np.ones(len(Yh)), u.groups_h)})
        if hist:
            hist_all.append(hist)
    hb = np.array([r["heldout"].beta() for r in rows])
    nb = np.array([r["none_h"].beta() for r in rows])
    ib = np.array([r["insample"] for r in rows])
    nib = np.array([r["none_c"] for r in rows])

    # bootstrap over held-out documents, one draw shared by every head (the heads see the same documents)
    n_docs = len(units[0].groups_h)
    W = E.multinomial_weights(ctx.rng(11), n_docs, n_boot)
    bh = np.stack([r["heldout"].beta(W) for r in rows]).mean(0)
    bn = np.stack([r["none_h"].beta(W) for r in rows]).mean(0)
    bcos = np.stack([r["cos"].value(W) for r in rows]).mean(0)
    n_h = sum(len(g) for g in units[0].groups_h)
    n_c = sum(len(g) for g in units[0].groups_c)
    d = units[0].Xc.shape[1]
    meth = f"percentile bootstrap over {n_docs} held-out documents ({n_boot} draws), transforms fitted on calibration"

    def est(v, boot):
        return boot_estimate(v, boot, n=n_h, method=meth)

    jk = _insample_jackknife(ctx, units, ib, transform, iters, ident, insample_folds, fold_layers,
                             info["n_layers"])
    null = _isotropic_null(ctx, units, transform, iters, null_reps)
    matched = _matched_null(ctx, rows, transform, iters, matched_null_heads, W)

    layers_present = sorted({u.layer for u in units})
    per_layer = {li: [i for i, u in enumerate(units) if u.layer == li] for li in layers_present}
    lay_h = [float(hb[per_layer[li]].mean()) for li in layers_present]
    lay_i = [float(ib[per_layer[li]].mean()) for li in layers_present]
    lay_n = [float(nb[per_layer[li]].mean()) for li in layers_present]
    point = "point estimate (no valid interval)"
    lift_est = est(hb.mean() - nb.mean(), bh - bn)
    outs = {
        "mean_beta": est(hb.mean(), bh),
        "heldout_beta": est(hb.mean(), bh),
        "insample_beta": Estimate(float(ib.mean()), n=n_c, method=point + ": the transform was fitted on these rows"),
        "none_beta": est(nb.mean(), bn),
        "lift_heldout": lift_est,
        "lift_insample": Estimate(float(ib.mean() - nib.mean()), n=n_c, method=point),
        "overfit_gap": Estimate(float(ib.mean() - hb.mean()), n=n_h, method=point),
        "mean_cos_heldout": est(float(np.mean([r["cos"].value() for r in rows])), bcos),
        "min_head_beta": Estimate(float(hb.min()), n=len(units), method="minimum over heads (descriptive)"),
        "min_layer_beta": Estimate(float(min(lay_h)), n=len(layers_present), method="minimum over layers"),
        "frac_heads_ge_085": Estimate(float(np.mean(hb >= 0.85)), n=len(units), method="fraction of heads"),
        **null,
        **matched,
        "rows_per_col": Estimate(n_c / d, n=n_c, method="calibration rows / d"),
        "dim": Estimate(float(d), method="vector dimension"),
    }
    if jk is not None:
        outs["insample_beta_jk"] = jk
    if null:
        outs["lift_minus_null"] = diff_estimate(lift_est, null["null_lift_heldout"])
    label = f"{model_label(model)}, {kind}, {transform}" + (f", source {source}" if source != "real" else "")
    tag = f"{model}_{kind}_{transform}" + (f"_{source}" if source != "real" else "")
    plots = [
        Plot(f"sign_beta_profile_{tag}", f"Per-layer β ({label})", "layer", "β (mean over heads)",
             [Series("none (held-out)", layers_present, lay_n),
              Series(f"{transform} (held-out)", layers_present, lay_h),
              Series(f"{transform} (in-sample)", layers_present, lay_i),
              Series("Gaussian 2/π", [layers_present[0], layers_present[-1]], [2 / math.pi] * 2)]),
    ]
    if hist_all:
        L = min(len(h) for h in hist_all)
        curve = np.mean([np.asarray(h[:L]) ** 2 for h in hist_all], axis=0)
        plots.append(Plot(f"sign_beta_convergence_{tag}",
                          "Fit convergence: (mean 1-bit cosine)² on calibration rows, mean over heads",
                          "ITQ iteration", "(mean cos)²", [Series("calibration", list(range(L)), curve.tolist())]))
    details = {
        "per_head": [{"unit": r["unit"].name, "layer": r["unit"].layer, "head": r["unit"].head,
                      "heldout_beta": float(hb[i]), "insample_beta": float(ib[i]), "none_beta": float(nb[i])}
                     for i, r in enumerate(rows)],
        "per_layer": {str(li): {"heldout": lay_h[j], "insample": lay_i[j], "none": lay_n[j]}
                      for j, li in enumerate(layers_present)},
        "info": info, "source": {"name": source, **src_meta}, "transform": transform, "iters": iters,
        "n_units": len(units),
    }
    if hist_all:
        details["fit_history_mean_cos"] = np.mean([h[:min(map(len, hist_all))] for h in hist_all], 0).tolist()
    ctx.note(f"{len(units)} units ({source}), n_calib={n_c}, n_heldout={n_h}, d={d}; seed's own model "
             "(Gemma-4-26B) is not available")
    return Result(outs, plots, details, model=model_label(model))


def _insample_jackknife(ctx, units, ib, transform, iters, ident, k, fold_layers, n_layers) -> Estimate | None:
    """In-sample β of the heads of ``fold_layers`` with a delete-a-group jackknife interval: the calibration
    documents are split into ``k`` groups and the transform is refitted without each group in turn (its in-sample β
    taken on the rows it was fitted on); se² = (k−1)/k Σ(θᵢ − θ̄)², Student t with k − 1 degrees of freedom."""
    from scipy.stats import t as student

    if k < 2:
        return None
    keep = set(pick_layers(fold_layers, n_layers))
    sub = [i for i, u in enumerate(units) if u.layer in keep] or list(range(len(units)))
    groups = units[0].groups_c
    parts = np.array_split(np.arange(len(groups)), k)
    loo = []
    for j, p in enumerate(parts):
        rows = np.concatenate([groups[i] for i in range(len(groups)) if i not in set(p.tolist())])
        per = []
        for i in sub:
            u = units[i]
            X = u.Xc[rows]
            T, _ = unit_transform(ctx, u, transform, iters, ident, rows=X, tag=f"jk{j}of{k}")
            per.append(_beta(T(X)))
        loo.append(float(np.mean(per)))
    full = float(np.mean(ib[sub]))
    t = np.asarray(loo)
    se = math.sqrt((k - 1) / k * float(np.sum((t - t.mean()) ** 2)))
    h = float(student.ppf(0.975, k - 1)) * se
    return Estimate(full, full - h, full + h, n=len(sub), level=0.95,
                    method=f"in-sample β of {len(sub)} heads (layers {fold_layers}); delete-a-group jackknife over "
                           f"{k} groups of the {len(groups)} calibration documents, transform refitted without each "
                           f"group; Student t, {k - 1} d.f.")


def _isotropic_null(ctx, units, transform, iters, reps) -> dict[str, Estimate]:
    """The same procedure on isotropic Gaussian rows of the same shape, ``reps`` independent draws per shape."""
    names = ("null_insample_beta", "null_heldout_beta", "null_lift_heldout", "null_lift_insample")
    if reps < 1:
        return {}
    rng = ctx.rng(13)
    shapes: dict[tuple[int, int, int], int] = {}
    for u in units:
        key = (len(u.Xc), len(u.Xh), u.Xc.shape[1])
        shapes[key] = shapes.get(key, 0) + 1
    vals: dict[str, list[float]] = {k: [] for k in names}
    for (nc, nh, d), _count in shapes.items():
        for _ in range(reps):
            Gc, Gh = rng.standard_normal((nc, d)), rng.standard_normal((nh, d))
            T, _ = fit_transform(transform, Gc, rng, iters)
            ins, out = _beta(T(Gc)), _beta(T(Gh))
            vals["null_insample_beta"].append(ins)
            vals["null_heldout_beta"].append(out)
            vals["null_lift_heldout"].append(out - _beta(Gh))
            vals["null_lift_insample"].append(ins - _beta(Gc))
    meth = f"isotropic Gaussian, {sum(len(v) for v in vals.values()) // 4} replicate draws; Student t over draws"
    return {k: t_estimate(v, meth) for k, v in vals.items()}


def _matched_null(ctx, rows, transform, iters, n_heads, W) -> dict[str, Estimate]:
    """Gaussian rows with each sampled head's calibration mean and covariance, given the held-out documents'
    structure, fitted and scored exactly like the keys; paired with the keys per head, bootstrapped jointly."""
    if n_heads < 1 or transform == "none":
        return {}
    idx = np.unique(np.linspace(0, len(rows) - 1, min(n_heads, len(rows))).round().astype(int))
    gb, gn, kb, gbb, gnb, kbb = [], [], [], [], [], []
    for i in idx:
        u = rows[i]["unit"]
        rng = unit_rng(ctx, "matched-null", u.name)
        mu = u.Xc.mean(0)
        L = np.linalg.cholesky(np.cov(u.Xc, rowvar=False) + 1e-9 * np.eye(u.Xc.shape[1]))
        Gc = mu + rng.standard_normal(u.Xc.shape) @ L.T
        Gh = mu + rng.standard_normal(u.Xh.shape) @ L.T
        T, _ = fit_transform(transform, Gc, rng, iters)
        sg, sn = E.MomentStats.of(T(Gh), u.groups_h), E.MomentStats.of(Gh, u.groups_h)
        gb.append(sg.beta()); gn.append(sn.beta()); kb.append(rows[i]["heldout"].beta())
        gbb.append(sg.beta(W)); gnb.append(sn.beta(W)); kbb.append(rows[i]["heldout"].beta(W))
    gb, gn, kb = map(np.array, (gb, gn, kb))
    gbb, gnb, kbb = (np.stack(x).mean(0) for x in (gbb, gnb, kbb))
    n = sum(len(g) for g in rows[0]["unit"].groups_h)
    meth = (f"Gaussian with each of {len(idx)} evenly spread heads' mean and covariance; percentile bootstrap over "
            f"held-out documents ({W.shape[0]} draws, shared with the keys)")
    return {
        "matched_null_lift_heldout": boot_estimate(float((gb - gn).mean()), gbb - gnb, n=n, method=meth),
        "matched_null_heldout_beta": boot_estimate(float(gb.mean()), gbb, n=n, method=meth),
        "excess_over_matched_null": boot_estimate(float((kb - gb).mean()), kbb - gbb, n=n, method=meth),
    }


# ------------------------------------------------------------------------------------------------ centering

@measurement(
    "centering_effect", on_model=True,
    outputs={
        "centered_minus_uncentered": "held-out β of the learned rotation with DC-mean centering minus without, "
                                     "mean over heads (CI: bootstrap over held-out documents)",
        "centered_beta": "held-out β with centering (learned_centered)",
        "uncentered_beta": "held-out β without centering (learned)",
        "frac_heads_centering_better": "fraction of heads where centering gives the higher held-out β "
                                       "(descriptive)",
    },
    description="does DC-mean centering before the learned rotation raise the β it reaches? (same heads, same "
                "held-out documents; real keys or a planted control)",
    timeout_s=900,
)
def centering_effect(ctx: Context, *, model: str = "smollm2", kind: str = "k_post_rope", source: str = "real",
                     planted_noise: float = 0.25, layers: str = "all", n_calib_docs: int = 24,
                     n_heldout_docs: int = 16, max_tokens: int = 128, iters: int = 50, n_boot: int = 300) -> Result:
    real, info = key_units(ctx, model, kind, n_calib_docs, n_heldout_docs, max_tokens, layers, 0)
    units, src_meta = with_source(ctx, real, source, planted_noise)
    ident = {**info["ident"], "source": source, **({"planted_noise": planted_noise} if source != "real" else {})}
    W = E.multinomial_weights(ctx.rng(19), len(units[0].groups_h), n_boot)
    bc, bu, pc, pu = [], [], [], []
    for u in units:
        tc, _ = unit_transform(ctx, u, "learned_centered", iters, ident)
        tu, _ = unit_transform(ctx, u, "learned", iters, ident)
        sc, su = E.MomentStats.of(tc(u.Xh), u.groups_h), E.MomentStats.of(tu(u.Xh), u.groups_h)
        pc.append(sc.beta()); pu.append(su.beta())
        bc.append(sc.beta(W)); bu.append(su.beta(W))
    pc, pu = np.array(pc), np.array(pu)
    bc, bu = np.stack(bc).mean(0), np.stack(bu).mean(0)
    n = info["n_heldout_tokens"]
    meth = f"percentile bootstrap over {len(units[0].groups_h)} held-out documents ({n_boot} draws)"
    layers_present = sorted({u.layer for u in units})
    prof_c = [float(pc[[i for i, u in enumerate(units) if u.layer == li]].mean()) for li in layers_present]
    prof_u = [float(pu[[i for i, u in enumerate(units) if u.layer == li]].mean()) for li in layers_present]
    outs = {
        "centered_minus_uncentered": boot_estimate(pc.mean() - pu.mean(), bc - bu, n=n, method=meth),
        "centered_beta": boot_estimate(pc.mean(), bc, n=n, method=meth),
        "uncentered_beta": boot_estimate(pu.mean(), bu, n=n, method=meth),
        "frac_heads_centering_better": Estimate(float(np.mean(pc > pu)), n=len(units), method="fraction of heads"),
    }
    tag = f"{model}_{kind}" + (f"_{source}" if source != "real" else "")
    plot = Plot(f"centering_effect_{tag}", f"Learned rotation with / without DC-mean centering "
                f"({model_label(model)}, {kind}, held-out{', source ' + source if source != 'real' else ''})",
                "layer", "β (mean over heads)",
                [Series("centered (learned_centered)", layers_present, prof_c),
                 Series("uncentered (learned)", layers_present, prof_u)])
    return Result(outs, [plot], {"n_units": len(units), "iters": iters, "source": {"name": source, **src_meta}},
                  model=model_label(model))

"""Seed 000 (and its restatement, seed 002): the E8⊕E8 residual-stream bottleneck on a real causal LM, and
consistency checks of the seed's own tables.

``e8b_sweep``: SmolLM2-135M-Instruct (standing in for the seed's Qwen2.5-0.5B, which is not available offline)
with h' = (1 − b)·h + b·Q(h) injected at the output of layers 10..16 (the seed's 8–13 of 24 mapped by relative
depth), the lattice resolution fitted to the seed's own Avg Cosine column (bound from the seed's table in
claims.yaml); see :mod:`quantproof.subjects.e8_bottleneck` for every choice. One sweep over all blends is computed
per parameter set (one job serves every claim: each blend's numbers are separate outputs, named ``METRIC_bNNNN``
with NNNN = 10⁴·b, e.g. ``kl_b1000`` at b = 0.10), together with its controls (a negligible blend 1e-4, a Gaussian
null of matched energy, a planted loop, planted change points).

Uncertainty: every output is a mean over independent units (documents for activations, NLL and KL; prompts for
generations) with a percentile bootstrap over those units; the change-point outputs resample rows (prompts or
documents) and refit every model, the model choice and tau in each replicate; ``max_blend_cos_099`` redoes its grid
search in each document replicate.

``seedtab_trend`` / ``seedtab_blend_fidelity``: arithmetic on figures *reported in the seed*, bound from the seed's
text in claims.yaml: these are not measurements of any model, they check whether the seed's tables are consistent
with themselves and with the algebra of a blend.
"""

from __future__ import annotations

import numpy as np

from ..evidence.measurement import Context, Estimate, Plot, Result, Series, measurement

SWEEP_BLENDS = (0.0, 1e-4, 0.05, 0.10, 0.15, 0.20, 0.25, 0.30, 0.40, 0.50)


def tag(b: float) -> str:
    """Output-name suffix of a blend: ``b`` + 10⁴·b on four digits (0.10 -> ``b1000``, 1e-4 -> ``b0001``)."""
    return f"b{int(round(float(b) * 1e4)):04d}"


_PER_BLEND = {
    "act_cos": "mean cos(h, h') over patched layers and tokens",
    "act_cos_min": "minimum over layers and tokens of cos(h, h'), averaged over documents",
    "q_cos": "quantiser fidelity cos(h, Q(h)) at the patched layers",
    "q_rho": "norm ratio ‖Q(h)‖/‖h‖ at the patched layers",
    "kl": "KL(clean ‖ patched) per position, nats",
    "top1_agree": "fraction of positions whose argmax next token equals the clean model's",
    "ppl_ratio": "perplexity / unpatched perplexity (exp of the mean paired ΔNLL over documents)",
    "rep3": "repeated 3-gram rate of greedy continuations",
    "rep3_delta": "rep3 minus the unpatched rep3 (paired over prompts)",
    "absorbed": "fraction of the injected perturbation's energy an RMS normalisation removes",
    "absorbed_scale": "the same for a pure rescaling of h of matched energy (planted: 1 by construction)",
    "absorbed_gauss": "the same for a Gaussian direction of matched energy (null)",
    "drift_growth": "(1 − cos(final hidden state patched, clean)) / (1 − act_cos), per document",
}
_OUTPUTS = {f"{m}_{tag(b)}": f"{d} at b = {b:g}" for b in SWEEP_BLENDS for m, d in _PER_BLEND.items()}
_OUTPUTS.update({
    "rep3_025_minus_020": "rep3 at b = 0.25 minus rep3 at b = 0.20 (paired over prompts)",
    "rep3_delta_loop": "rep3 of a planted loop (each unpatched continuation's first tokens repeated) minus the "
                       "unpatched rep3: repetition by construction",
    "drift_growth_gauss": "drift_growth for a Gaussian perturbation of matched energy at gauss_blend (null)",
    "kl_gauss": "KL for a Gaussian perturbation of matched energy at gauss_blend",
    "max_blend_cos_099": "largest b in the grid up to which the mean activation cosine stays above 0.99 "
                         "(document-bootstrap interval, grid search redone in each replicate)",
    "resolution": "the lattice resolution used (fitted to the seed's Avg Cosine column on calibration documents)",
    "calibration_rms_error": "RMS difference between the seed's Avg Cosines and the fitted quantiser's",
    "kl_loglog_slope": "slope of log KL against log b over the main grid's b > 0 (2 = smooth quadratic response)",
})
for _m in ("rep3", "kl", "nll"):
    _OUTPUTS[f"cp_{_m}_delta_bic"] = (f"min BIC(smooth) − min BIC(change point) for the paired {_m} curve (> 0 "
                                      f"favours a change point), row-bootstrap interval with every fit refitted")
    _OUTPUTS[f"cp_{_m}_delta_bic_step"] = f"the same on a planted step of the {_m} curve's overall change (control)"
    _OUTPUTS[f"cp_{_m}_delta_bic_smooth"] = f"the same on a smooth power law through the {_m} means (control)"
    _OUTPUTS[f"cp_{_m}_width"] = (f"10–90% width (in b) of the logistic fitted to the paired {_m} curve: how sharp "
                                  f"the change is; row-bootstrap interval, refitted")
    _OUTPUTS[f"cp_{_m}_width_step"] = "the same on the planted step (control)"
    _OUTPUTS[f"cp_{_m}_width_smooth"] = "the same on the smooth power law (control)"
_OUTPUTS.update({
    "cp_rep3_tau": "change point of the best change-point model for rep3 (row-bootstrap interval)",
    "cp_rep3_tau_step": "the same on the planted step at cp_tau_planted (control)",
    "cp_rep3_tau_elsewhere": "the same on a planted step at cp_tau_elsewhere (control)",
})


def _label(model: str) -> str:
    from ._empirical import model_label

    return "SmolLM2-135M" if model == "smollm2" else model_label(model)


@measurement("e8b_sweep", on_model=True, outputs=_OUTPUTS, timeout_s=1800.0,
             description="E8⊕E8 residual-stream blend sweep on SmolLM2-135M at the seed's quantiser fidelity: "
                         "fidelity, NLL/KL, repetition, normalisation, change points, with controls")
def e8b_sweep(ctx: Context, *, blends: list = [0.0, 0.05, 0.10, 0.15, 0.20, 0.25, 0.30, 0.40, 0.50],  # noqa: B006
              control_blends: list = [1e-4], gauss_blend: float = 0.20,  # noqa: B006
              layer_lo: int = -1, layer_hi: int = -1, scale: str = "rms", resolution: float = 0.0,
              seed_blends: list = [], seed_cosines: list = [], n_cal_docs: int = 4,  # noqa: B006
              n_docs: int = 8, doc_tokens: int = 64, n_prompts: int = 16, prompt_tokens: int = 16,
              new_tokens: int = 32, n_boot: int = 1000, cp_boot: int = 200, model: str = "smollm2") -> Result:
    """``model``: the causal LM whose residual stream is blended (the seed's Qwen2.5-0.5B when bound); MiniLM
    scores the generations' relevance either way."""
    import torch

    from ..subjects.e8_bottleneck import SweepConfig, bkey, boot_mean, run_sweep

    torch.set_num_threads(max(1, min(torch.get_num_threads(), 2)))
    cfg = SweepConfig(blends=tuple(float(b) for b in blends), control_blends=tuple(float(b) for b in control_blends),
                      gauss_blend=float(gauss_blend), layer_lo=layer_lo, layer_hi=layer_hi, scale=scale,
                      resolution=float(resolution), seed_blends=tuple(float(b) for b in seed_blends),
                      seed_cosines=tuple(float(c) for c in seed_cosines), n_cal_docs=n_cal_docs, n_docs=n_docs,
                      doc_tokens=doc_tokens, n_prompts=n_prompts, prompt_tokens=prompt_tokens,
                      new_tokens=new_tokens, n_boot=n_boot, cp_boot=cp_boot, seed=ctx.seed)
    res = run_sweep(cfg, device=ctx.device, ctx=ctx, cache_dir=ctx.cache_dir, model=model)
    rng = ctx.rng(17)
    lvl = 0.95
    out: dict[str, Estimate] = {}
    U = res.unit_array

    def boot(v: np.ndarray, method: str, transform=None) -> Estimate:
        m, lo, hi = boot_mean(v, rng, n_boot, transform=transform)
        return Estimate(m, lo, hi, n=int(np.isfinite(v).sum()), level=lvl, method=method)

    k0 = 0.0
    for b in cfg.all_blends():
        t = tag(b)
        for m in ("act_cos", "act_cos_min", "q_cos", "q_rho", "kl", "top1_agree", "rep3", "absorbed",
                  "absorbed_scale", "absorbed_gauss"):
            unit = "prompts" if m == "rep3" else "documents"
            out[f"{m}_{t}"] = boot(U(m, b), f"mean over {unit}, percentile bootstrap over {unit}")
        out[f"ppl_ratio_{t}"] = boot(U("nll", b) - U("nll", k0), "exp(mean paired ΔNLL), bootstrap over documents",
                                     transform=np.exp)
        out[f"rep3_delta_{t}"] = boot(U("rep3", b) - U("rep3", k0), "mean paired difference, bootstrap over prompts")
        if b > 0:
            g = (1 - U("drift_cos_final", b)) / np.clip(1 - U("act_cos", b), 1e-12, None)
            out[f"drift_growth_{t}"] = boot(g, "per-document ratio, bootstrap over documents")
    if 0.25 in cfg.blends and 0.20 in cfg.blends:
        out["rep3_025_minus_020"] = boot(U("rep3", 0.25) - U("rep3", 0.20),
                                         "mean paired difference, bootstrap over prompts")
    loop = np.asarray(res.units["rep3_loop"][bkey(0.0)], dtype=float)
    out["rep3_delta_loop"] = boot(loop - U("rep3", k0), "mean paired difference, bootstrap over prompts")
    if cfg.gauss_blend >= 0:
        kg = bkey(cfg.gauss_blend)
        g = (1 - np.asarray(res.units["gauss_drift_cos_final"][kg])) / np.clip(
            1 - np.asarray(res.units["gauss_act_cos"][kg]), 1e-12, None)
        out["drift_growth_gauss"] = boot(g, "per-document ratio for the Gaussian null, bootstrap over documents")
        out["kl_gauss"] = boot(np.asarray(res.units["gauss_kl"][kg]), "mean over documents, bootstrap")

    for m, tagname in (("rep3", "rep3"), ("kl", "kl"), ("nll", "nll")):
        cps = res.meta["changepoint"].get(m)
        if not cps:
            continue
        for variant, suffix in (("real", ""), ("step", "_step"), ("smooth", "_smooth")):
            c = cps[variant]
            lo_d, hi_d = c["delta_bic_ci"]
            out[f"cp_{tagname}_delta_bic{suffix}"] = Estimate(
                c["delta_bic"], lo_d, hi_d, n=len(res.units[m][bkey(0.0)]), level=lvl,
                method=f"BIC: best smooth ({c['best_smooth']}) − best change point ({c['best_change']}); "
                       f"row bootstrap ({c['n_boot']}), every fit refitted")
            lo_w, hi_w = c["width_ci"]
            out[f"cp_{tagname}_width{suffix}"] = Estimate(
                c["width"], lo_w, hi_w, n=len(res.units[m][bkey(0.0)]), level=lvl,
                method="logistic y = a + h/(1 + exp(−(b − tau)/s)), width 2·ln 9·s; row bootstrap, refitted")
        if m == "rep3":
            for variant, suffix in (("real", ""), ("step", "_step"), ("step_elsewhere", "_elsewhere")):
                c = cps[variant]
                lo_t, hi_t = c["tau_ci"]
                out[f"cp_rep3_tau{suffix}"] = Estimate(
                    c["tau"] if c["tau"] is not None else float("nan"), lo_t, hi_t, level=lvl,
                    method=f"{c['best_change']} change point; row bootstrap, model choice and tau refitted")

    xs = np.array([b for b in cfg.blends if b > 0])
    K = np.array([U("kl", b) for b in xs]).T                               # docs × blends

    def slope(M: np.ndarray) -> float:
        y = np.log(np.clip(M.mean(0), 1e-30, None))
        return float(np.polyfit(np.log(xs), y, 1)[0])

    bs = [slope(K[rng.integers(0, K.shape[0], K.shape[0])]) for _ in range(min(n_boot, 500))]
    out["kl_loglog_slope"] = Estimate(slope(K), float(np.quantile(bs, 0.025)), float(np.quantile(bs, 0.975)),
                                      n=K.shape[0], level=lvl, method="OLS of log mean KL on log b, doc bootstrap")
    grid = sorted(cfg.blends)
    A = np.array([U("act_cos", b) for b in grid]).T                         # docs × blends

    def last_ok(M: np.ndarray) -> float:
        ok = 0.0
        for j, b in enumerate(grid):
            if M[:, j].mean() <= 0.99:
                break
            ok = b
        return ok

    bs = [last_ok(A[rng.integers(0, A.shape[0], A.shape[0])]) for _ in range(n_boot)]
    out["max_blend_cos_099"] = Estimate(last_ok(A), float(np.quantile(bs, 0.025)), float(np.quantile(bs, 0.975)),
                                        n=A.shape[0], level=lvl,
                                        method="grid search over the blends, redone in each document replicate")
    out["resolution"] = Estimate(float(res.meta["resolution"]), method="fitted on calibration documents" if
                                 res.meta.get("calibration") else "given")
    cal = res.meta.get("calibration") or {}
    if cal:
        out["calibration_rms_error"] = Estimate(cal["rms_error"], method="on the calibration documents' clean "
                                                                         "states (blend formula per token)")

    plots = []
    for m, ylab in (("act_cos", "cos(h, h')"), ("kl", "KL nats/token"), ("ppl", "perplexity"),
                    ("top1_agree", "top-1 agreement"), ("rep3", "repeated 3-gram rate"),
                    ("relevance", "prompt relevance"), ("sim_baseline", "similarity to b=0")):
        ys = [res.table[m][bkey(b)] for b in grid]
        plots.append(Plot(id=f"e8b_{m}", title=f"{m} vs blend ratio ({_label(model)}, layers "
                                                f"{res.band[0]}–{res.band[1]}, resolution "
                                                f"{res.meta['resolution']:.3g})",
                          x_label="blend ratio b", y_label=ylab,
                          series=[Series(m, list(grid), [y[0] for y in ys], [y[1] for y in ys], [y[2] for y in ys])]))
    details = {
        "band": list(res.band), "config": res.config.to_json(), "table": res.table,
        "changepoint": res.meta["changepoint"], "calibration": cal, "prompts": res.prompts,
        "generations": res.generations,
        "meta": {k2: v2 for k2, v2 in res.meta.items() if k2 not in ("changepoint", "calibration")},
        "reading": ("Qwen2.5-0.5B is not available; SmolLM2-135M-Instruct (Q4_1 GGUF dequantised) stands in, with "
                    "the lattice resolution fitted so that its blend cosines match the seed's Avg Cosine column. "
                    "A seed number not matched here is 'not reproduced', not 'false'.") if model == "smollm2" else
                   f"measured on {_label(model)}, the lattice resolution fitted to the seed's Avg Cosine column",
    }
    return Result(outputs=out, plots=plots, details=details, model=res.meta.get("model"))


# ------------------------------------------------------------------------------------------------------------
# Arithmetic on the seed's reported tables (parameters come from claims.yaml; nothing here is measured)


_SEED_FIGURES = "arithmetic on figures quoted from the seed; nothing is sampled"
_TREND = {
    "n_violations": "number of consecutive steps that go against the stated direction",
    "max_violation": "largest step against the stated direction (0 if none)",
    "range": "max − min of the values",
    "x_max_above": "largest x whose y exceeds `threshold` (−1 when none does)",
}


@measurement("seedtab_trend", in_process=True, exact={k: _SEED_FIGURES for k in _TREND}, outputs=_TREND, timeout_s=30.0, description="monotonicity of a column of figures reported in a seed (not a measurement)")
def seedtab_trend(ctx: Context, *, xs: list = [], ys: list = [], direction: str = "increasing",  # noqa: B006
                  threshold: float = 0.99) -> Result:
    x = np.asarray(xs, dtype=float)
    y = np.asarray(ys, dtype=float)
    if len(x) != len(y) or len(x) < 2:
        raise ValueError("xs and ys need the same length ≥ 2")
    if direction not in ("increasing", "decreasing"):
        raise ValueError("direction is 'increasing' or 'decreasing'")
    y = y[np.argsort(x, kind="stable")]
    xsorted = np.sort(x, kind="stable")
    d = np.diff(y) * (1 if direction == "increasing" else -1)
    against = -d[d < 0]
    return Result(outputs={
        "n_violations": Estimate(float(len(against)), method="count of steps against the direction"),
        "max_violation": Estimate(float(against.max()) if len(against) else 0.0),
        "range": Estimate(float(y.max() - y.min())),
        "x_max_above": Estimate(float(xsorted[y > threshold].max()) if (y > threshold).any() else -1.0,
                                method=f"largest x with y > {threshold}"),
    }, details={"xs": list(map(float, xsorted)), "ys": list(map(float, y)), "direction": direction,
                "threshold": threshold,
                "source": "figures reported in the seed, passed from claims.yaml"}, model="none (seed's table)")


def _implied_c(b: float, cosine: float, rho: float) -> float:
    """The quantiser cosine c ∈ [0, 1] for which the blend formula gives ``cosine`` at blend b and norm ratio ρ
    (nan when no c in [0, 1] does)."""
    from ..math.lattice import blend_cosine_predicted

    # on c ∈ [0, 1] the blend cosine increases with c (the angle of h' grows with the angle of Q); for c < 0 it
    # is not monotone, and a quantiser anti-correlated with h is not a plausible reading
    lo, hi = 0.0, 1.0
    f = lambda c: float(blend_cosine_predicted(c, rho, b))  # noqa: E731
    if not (f(lo) <= cosine <= f(hi)):
        return float("nan")
    for _ in range(200):
        mid = (lo + hi) / 2
        if f(mid) < cosine:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


_BLEND_FIDELITY = {
    "c_min": "smallest implied quantiser cosine c = cos(h, Q(h)) over the rows",
    "c_max": "largest implied c",
    "c_spread": "c_max − c_min (0 if one fixed quantiser explains every row)",
    "c_mean": "mean implied c",
    "b_cross_099": "blend at which the blend formula with c_mean crosses cosine 0.99",
    "cos_pred_at": "blend-formula cosine at blend `at_blend` with c_mean",
}


@measurement("seedtab_blend_fidelity", in_process=True, exact={k: _SEED_FIGURES for k in _BLEND_FIDELITY}, outputs=_BLEND_FIDELITY,
             timeout_s=30.0, description="quantiser fidelity implied by a seed's reported blend cosines (not a measurement)")
def seedtab_blend_fidelity(ctx: Context, *, blends: list = [], cosines: list = [], rho: float = 1.0,  # noqa: B006
                           at_blend: float = 0.25) -> Result:
    from ..math.lattice import blend_cosine_predicted

    b = np.asarray(blends, dtype=float)
    cs = np.asarray(cosines, dtype=float)
    if len(b) != len(cs) or len(b) == 0:
        raise ValueError("blends and cosines need the same non-zero length")
    cimp = np.array([_implied_c(float(bi), float(ci), rho) for bi, ci in zip(b, cs)])
    cm = float(np.nanmean(cimp))
    lo, hi = 1e-6, 1.0
    g = lambda x: float(blend_cosine_predicted(cm, rho, x))  # noqa: E731 - decreasing in b while c < 1
    for _ in range(200):
        mid = (lo + hi) / 2
        if g(mid) > 0.99:
            lo = mid
        else:
            hi = mid
    return Result(outputs={
        "c_min": Estimate(float(np.nanmin(cimp))), "c_max": Estimate(float(np.nanmax(cimp))),
        "c_spread": Estimate(float(np.nanmax(cimp) - np.nanmin(cimp))), "c_mean": Estimate(cm),
        "b_cross_099": Estimate((lo + hi) / 2), "cos_pred_at": Estimate(g(at_blend)),
    }, details={"implied_c": dict(zip(map(str, b.tolist()), cimp.tolist())), "rho": rho,
                "formula": "cos(h,(1−b)h+bQ) = ((1−b)+bρc)/√((1−b)²+b²ρ²+2b(1−b)ρc)",
                "source": "figures reported in the seed, passed from claims.yaml"}, model="none (seed's table)")

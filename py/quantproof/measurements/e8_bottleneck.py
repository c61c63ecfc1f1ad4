"""Seed 000 (and its restatement, seed 002): the E8⊕E8 residual-stream bottleneck on a real causal LM, and
consistency checks of the seed's own tables.

``e8b_sweep``: SmolLM2-135M-Instruct (standing in for the seed's Qwen2.5-0.5B, which is not available offline)
with h' = (1 − b)·h + b·Q(h) injected at the output of layers 10..16 (the seed's 8–13 of 24 mapped by relative
depth); see :mod:`quantproof.subjects.e8_bottleneck` for every choice. One sweep over all blends is computed once
per parameter set and cached (``cache_dir/subjects``); ``report_blend`` only picks which blend's numbers are
returned as outputs, the change-point tests and the log-log slope are properties of the whole sweep.

``seedtab_trend`` / ``seedtab_blend_fidelity``: arithmetic on figures *reported in the seed*, passed as
parameters from claims.yaml: these are not measurements of any model, they check whether the seed's tables are
consistent with themselves and with the algebra of a blend.
"""

from __future__ import annotations

import math

import numpy as np

from ..evidence.measurement import Context, Estimate, Plot, Result, Series, measurement

_AT_B = {
    "act_cos": "mean cos(h, h') over patched layers and tokens (at report_blend)",
    "act_cos_min": "minimum over layers and tokens of cos(h, h'), averaged over documents",
    "act_mse": "mean over tokens of mean((h − h')²) at the patched layers",
    "act_mse_max": "maximum over layers and tokens of mean((h − h')²), averaged over documents",
    "q_cos": "quantiser fidelity cos(h, Q(h)) at the patched layers",
    "q_rho": "norm ratio ‖Q(h)‖/‖h‖ at the patched layers",
    "blend_cos_predicted": "cos(h, h') predicted from the measured cos(h, Q(h)) and ρ by the blend formula",
    "drift_cos_final": "cos(final hidden state patched, clean)",
    "drift_growth": "(1 − drift_cos_final) / (1 − act_cos): > 1 when the perturbation grows through the network",
    "ppl": "teacher-forced perplexity on held-out documents",
    "ppl_ratio": "perplexity / unpatched perplexity (paired over documents)",
    "kl": "KL(clean ‖ patched) per position, nats",
    "top1_agree": "fraction of positions whose argmax next token equals the clean model's",
    "rep3": "repeated 3-gram rate of greedy continuations",
    "rep3_delta": "rep3 minus the unpatched rep3 (paired over prompts)",
    "relevance": "MiniLM cosine between prompt and continuation",
    "sim_baseline": "MiniLM cosine between patched and unpatched continuation",
    "token_agree": "fraction of continuation tokens equal to the unpatched continuation's",
}
_SWEEP = {
    "cp_rep3_delta_bic": "min BIC(smooth) − min BIC(change point) for rep3 vs b (> 0 favours a change point)",
    "cp_rep3_p": "bootstrap p-value of the change-point LR statistic for rep3 under the smooth (quadratic) null",
    "cp_rep3_tau": "change point of the best change-point model for rep3 (with a prompt-bootstrap interval)",
    "cp_kl_delta_bic": "same as cp_rep3_delta_bic for the KL divergence",
    "cp_kl_p": "bootstrap p-value for KL",
    "cp_nll_delta_bic": "same for the held-out NLL",
    "cp_nll_p": "bootstrap p-value for NLL",
    "cp_sim_delta_bic": "same for patched-to-baseline similarity",
    "cp_sim_p": "bootstrap p-value for patched-to-baseline similarity",
    "kl_loglog_slope": "slope of log KL against log b over b > 0 (2 = smooth quadratic response)",
    "max_blend_cos_099": "largest b in the grid up to which the mean activation cosine stays above 0.99",
}


def _label(model: str) -> str:
    from ._empirical import model_label

    return "SmolLM2-135M" if model == "smollm2" else model_label(model)


@measurement("e8b_sweep", on_model=True, outputs={**_AT_B, **_SWEEP}, timeout_s=1800.0,
             description="E8⊕E8 residual-stream blend sweep on SmolLM2-135M: fidelity, NLL/KL, repetition, "
                         "MiniLM relevance, change-point tests")
def e8b_sweep(ctx: Context, *, report_blend: float = 0.20,
              blends: list = [0.0, 0.05, 0.10, 0.15, 0.20, 0.25, 0.30, 0.40, 0.50],  # noqa: B006
              layer_lo: int = -1, layer_hi: int = -1, scale: str = "rms", resolution: float = 1.0,
              n_docs: int = 8, doc_tokens: int = 128, n_prompts: int = 8, prompt_tokens: int = 16,
              new_tokens: int = 32, n_boot: int = 1000, cp_boot: int = 200, model: str = "smollm2") -> Result:
    """``model``: the causal LM whose residual stream is blended (the seed's Qwen2.5-0.5B when bound); MiniLM
    scores the generations' relevance either way."""
    import torch

    from ..math.lattice import blend_cosine_predicted
    from ..subjects.e8_bottleneck import SweepConfig, bkey, boot_mean, run_sweep

    torch.set_num_threads(max(1, min(torch.get_num_threads(), 2)))
    bl = tuple(float(b) for b in blends)
    if 0.0 not in bl:
        raise ValueError("blends must include 0 (the unpatched reference)")
    if float(report_blend) not in bl:
        raise ValueError(f"report_blend {report_blend} is not one of the blends {list(bl)}")
    cfg = SweepConfig(blends=bl, layer_lo=layer_lo, layer_hi=layer_hi, scale=scale, resolution=resolution,
                      n_docs=n_docs, doc_tokens=doc_tokens, n_prompts=n_prompts, prompt_tokens=prompt_tokens,
                      new_tokens=new_tokens, n_boot=n_boot, cp_boot=cp_boot, seed=ctx.seed)
    res = run_sweep(cfg, device=ctx.device, ctx=ctx, cache_dir=ctx.cache_dir, model=model)
    k = bkey(report_blend)
    rng = ctx.rng(17)
    out: dict[str, Estimate] = {}
    lvl = 0.95
    ndoc, npr = len(res.units["nll"][k]), len(res.units["rep3"][k])

    def est(metric: str, n: int, unit: str = "") -> Estimate:
        v, lo, hi = res.table[metric][k]
        return Estimate(v, lo, hi, n=n, level=lvl, unit=unit, method="mean over units, percentile bootstrap")

    for m in ("act_cos", "act_cos_min", "act_mse", "act_mse_max", "q_cos", "q_rho", "drift_cos_final", "kl",
              "top1_agree"):
        out[m] = est(m, ndoc, "nats/token" if m == "kl" else "")
    out["ppl"] = est("ppl", ndoc)
    for m in ("rep3", "relevance", "sim_baseline", "token_agree"):
        out[m] = est(m, npr)
    # paired differences / ratios against b = 0
    k0 = bkey(0.0)
    dn = np.array(res.units["nll"][k]) - np.array(res.units["nll"][k0])
    v, lo, hi = boot_mean(dn, rng, n_boot, transform=np.exp)
    out["ppl_ratio"] = Estimate(v, lo, hi, n=ndoc, level=lvl, method="exp(mean paired ΔNLL), bootstrap over docs")
    dr = np.array(res.units["rep3"][k]) - np.array(res.units["rep3"][k0])
    v, lo, hi = boot_mean(dr, rng, n_boot)
    out["rep3_delta"] = Estimate(v, lo, hi, n=npr, level=lvl, method="mean paired difference, bootstrap over prompts")
    if report_blend > 0:
        g = (1 - np.array(res.units["drift_cos_final"][k])) / np.clip(1 - np.array(res.units["act_cos"][k]), 1e-12,
                                                                      None)
        v, lo, hi = boot_mean(g, rng, n_boot)
        out["drift_growth"] = Estimate(v, lo, hi, n=ndoc, level=lvl, method="per-document ratio, bootstrap")
    c = np.array(res.units["q_cos"][k])
    r = np.array(res.units["q_rho"][k])
    pred = blend_cosine_predicted(c, r, report_blend)
    out["blend_cos_predicted"] = Estimate(float(np.mean(pred)), n=ndoc,
                                          method="blend formula at per-document mean c and ρ (an approximation "
                                                 "of the per-token mean)")
    cps = res.meta["changepoint"]
    for m, tag in (("rep3", "rep3"), ("kl", "kl"), ("nll", "nll"), ("sim_baseline", "sim")):
        if m not in cps:
            continue
        cp = cps[m]
        out[f"cp_{tag}_delta_bic"] = Estimate(cp["delta_bic"], n=len(res.units[m][k]) * len(bl),
                                              method=f"BIC: best smooth ({cp['best_smooth']}) − best change point "
                                                     f"({cp['best_change']}); preferred: {cp['preferred']}")
        out[f"cp_{tag}_p"] = Estimate(cp["p_value"], n=cp["n_boot"],
                                      method="wild cluster bootstrap of the LR statistic under the quadratic null")
        if tag == "rep3":
            lo_t, hi_t = cp["tau_ci"]
            out["cp_rep3_tau"] = Estimate(cp["tau"] if cp["tau"] is not None else float("nan"), lo_t, hi_t,
                                          level=lvl, method=f"{cp['best_change']} change point, prompt bootstrap")
    # log-log slope of KL in b
    xs = np.array([b for b in bl if b > 0])
    Kmat = np.array([res.units["kl"][bkey(b)] for b in xs]).T            # docs × blends
    def slope(M):
        y = np.log(np.clip(M.mean(0), 1e-30, None))
        return float(np.polyfit(np.log(xs), y, 1)[0])
    sl = slope(Kmat)
    bs = [slope(Kmat[rng.integers(0, Kmat.shape[0], Kmat.shape[0])]) for _ in range(min(n_boot, 500))]
    out["kl_loglog_slope"] = Estimate(sl, float(np.quantile(bs, 0.025)), float(np.quantile(bs, 0.975)),
                                      n=Kmat.shape[0], level=lvl, method="OLS of log mean KL on log b, doc bootstrap")
    ok = 0.0
    for b in sorted(bl):
        if res.table["act_cos"][bkey(b)][0] <= 0.99:
            break
        ok = b
    out["max_blend_cos_099"] = Estimate(ok, method="grid search over the sweep's blends (the largest blend if "
                                                   "none falls to 0.99)")

    plots = []
    for m, ylab in (("act_cos", "cos(h, h')"), ("kl", "KL nats/token"), ("ppl", "perplexity"),
                    ("top1_agree", "top-1 agreement"), ("rep3", "repeated 3-gram rate"),
                    ("relevance", "prompt relevance"), ("sim_baseline", "similarity to b=0")):
        ys = [res.table[m][bkey(b)] for b in bl]
        plots.append(Plot(id=f"e8b_{m}", title=f"{m} vs blend ratio ({_label(model)}, layers "
                                                f"{res.band[0]}–{res.band[1]})",
                          x_label="blend ratio b", y_label=ylab,
                          series=[Series(m, list(bl), [y[0] for y in ys], [y[1] for y in ys], [y[2] for y in ys])]))
    details = {
        "band": list(res.band), "config": res.to_json()["config"], "table": res.table, "changepoint": cps,
        "prompts": res.prompts, "generations": res.generations, "meta": {k2: v2 for k2, v2 in res.meta.items()
                                                                          if k2 != "changepoint"},
        "reading": ("Qwen2.5-0.5B is not available; SmolLM2-135M-Instruct (Q4_1 GGUF dequantised) stands in. "
                    "A seed number not matched here is 'not reproduced', not 'false'.") if model == "smollm2" else
                   f"measured on {_label(model)}",
    }
    return Result(outputs=out, plots=plots, details=details, model=res.meta.get("model"))


# ------------------------------------------------------------------------------------------------------------
# Arithmetic on the seed's reported tables (parameters come from claims.yaml; nothing here is measured)


_SEED_FIGURES = "arithmetic on figures quoted from the seed; nothing is sampled"
_TREND = {
    "n_violations": "number of consecutive steps that go against the stated direction",
    "max_violation": "largest step against the stated direction (0 if none)",
    "range": "max − min of the values",
}


@measurement("seedtab_trend", exact={k: _SEED_FIGURES for k in _TREND}, outputs=_TREND, timeout_s=30.0, description="monotonicity of a column of figures reported in a seed (not a measurement)")
def seedtab_trend(ctx: Context, *, xs: list = [], ys: list = [], direction: str = "increasing") -> Result:  # noqa: B006
    x = np.asarray(xs, dtype=float)
    y = np.asarray(ys, dtype=float)
    if len(x) != len(y) or len(x) < 2:
        raise ValueError("xs and ys need the same length ≥ 2")
    if direction not in ("increasing", "decreasing"):
        raise ValueError("direction is 'increasing' or 'decreasing'")
    y = y[np.argsort(x, kind="stable")]
    d = np.diff(y) * (1 if direction == "increasing" else -1)
    against = -d[d < 0]
    return Result(outputs={
        "n_violations": Estimate(float(len(against)), method="count of steps against the direction"),
        "max_violation": Estimate(float(against.max()) if len(against) else 0.0),
        "range": Estimate(float(y.max() - y.min())),
    }, details={"xs": list(map(float, np.sort(x))), "ys": list(map(float, y)), "direction": direction,
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


@measurement("seedtab_blend_fidelity", exact={k: _SEED_FIGURES for k in _BLEND_FIDELITY}, outputs=_BLEND_FIDELITY,
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

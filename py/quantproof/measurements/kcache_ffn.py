"""Seed 003 Part E: learned rotations of FFN weight matrices (``ffn_weight_beta``), the overfitting null of the
seed's expert batch/full β gap (``expert_gap_vs_null``), and the in-sample/held-out sweep of a learned rotation
against rows per column (``rotation_overfit_sweep``).

Policy: a d×d rotation fitted to n rows overfits when n/d is small, so every figure the seed reports for a fitted
rotation is compared with the same fit on structureless data of the same rows/columns ratio. Weight vectors are the
hidden-dimension vectors of a matrix (rows of up/gate/intermediate, columns of down/output); uncentered, as the
seed's table. Uncertainty: matrices are the independent unit of ``ffn_weight_beta`` (Student t over matrices);
replicate Gaussian draws that of the nulls. The seed's figures enter ``expert_gap_vs_null`` only as parameters bound
from the seed's text (claims.yaml ``seed_values``), never typed here.

SmolLM2's MLP weights are dequantized Q4_1 (a 4-bit grid): weight claims use all-MiniLM-L6-v2's fp32 matrices.
``batch_fraction = 0`` skips the batch fits (the batch outputs are then absent from the result).
"""

from __future__ import annotations

import math

import numpy as np

from ..evidence.measurement import Context, Estimate, Plot, Result, Series, measurement
from . import _empirical as E
from ._kcache_data import beta as _beta
from ._kcache_data import ffn_units, fit_rotation, key_units, model_label, synthetic_pair, t_estimate, unit_rng

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
        "heldout_minus_null": "beta_heldout − null_beta_heldout (per matrix, then averaged)",
        "learned_full_minus_null": "beta_learned_full − null_beta_learned_full",
        "gap_minus_null": "batch_full_gap − null_batch_full_gap",
    },
    description="seed 003 Part E: FFN weight β_raw → β_batch → β_learned, held-out and against nulls; real weights "
                "or a planted control (rows on a rotated noisy sign lattice, same shapes)",
    timeout_s=900,
)
def ffn_weight_beta(ctx: Context, *, model: str = "minilm", layers: str = "0,3,5", center: bool = False,
                    batch_fraction: float = 0.5, iters: int = 25, source: str = "weights",
                    planted_noise: float = 0.25) -> Result:
    if source not in ("weights", "planted"):
        raise ValueError(f"unknown source {source!r} (known: weights, planted)")
    units, info = ffn_units(ctx, model, layers)
    rng = ctx.rng(23)
    rows = []
    nulls: dict[tuple[int, int], dict[str, float]] = {}
    for u in units:
        M = u.extra["full"]
        n, d = M.shape
        Xc, Xh = u.Xc, u.Xh
        if source == "planted":   # the same shape, rows on a hidden rotated lattice; split as the real rows
            P, _, _ = synthetic_pair("planted", M, M[:0], unit_rng(ctx, "ffn-planted", planted_noise, u.name),
                                     planted_noise)
            Xc, Xh = P[: len(Xc)], P[len(Xc):len(Xc) + len(Xh)]
            M = np.vstack([Xc, Xh])
        full = fit_rotation(M, center=center, iters=iters, rng=rng)
        batch = batch_fraction > 0
        sel = rng.choice(n, size=max(2, int(round(batch_fraction * n))), replace=False) if batch else None
        bat = fit_rotation(M[sel], center=center, iters=iters, rng=rng) if batch else None
        half = fit_rotation(Xc, center=center, iters=iters, rng=rng)
        if (n, d) not in nulls:   # the Gaussian nulls depend on the shape only
            G = rng.standard_normal((n, d))
            gfull = fit_rotation(G, center=center, iters=iters, rng=rng)
            nulls[(n, d)] = {"null_beta_learned_full": _beta(gfull.apply(G)),
                             "null_beta_heldout": _beta(gfull.apply(rng.standard_normal((n, d))))}
            if batch:
                gbat = fit_rotation(G[sel], center=center, iters=iters, rng=rng)
                nulls[(n, d)].update(null_batch=_beta(gbat.apply(G[sel])), null_batch_on_full=_beta(gbat.apply(G)))
        rows.append({
            "matrix": u.name, "shape": u.extra["shape"], "rows_per_col": n / d,
            "beta_raw": _beta(M - M.mean(0) if center else M),
            "beta_learned_full": _beta(full.apply(M)),
            "beta_heldout": _beta(half.apply(Xh)),
            **({"beta_batch": _beta(bat.apply(M[sel])), "beta_batch_on_full": _beta(bat.apply(M))} if batch else {}),
            **nulls[(n, d)],
        })

    def col(k):
        return np.array([r[k] for r in rows])

    meth = f"mean over {len(rows)} matrices; Student t over matrices (matrix-to-matrix spread)"

    def est(v):
        return t_estimate(np.asarray(v, dtype=float), meth)

    outs = {
        "beta_raw": est(col("beta_raw")),
        "beta_learned_full": est(col("beta_learned_full")),
        "beta_heldout": est(col("beta_heldout")),
        "null_beta_learned_full": est(col("null_beta_learned_full")),
        "null_beta_heldout": est(col("null_beta_heldout")),
        "heldout_minus_null": est(col("beta_heldout") - col("null_beta_heldout")),
        "learned_full_minus_null": est(col("beta_learned_full") - col("null_beta_learned_full")),
    }
    if batch_fraction > 0:
        outs.update({
            "beta_batch": est(col("beta_batch")),
            "beta_batch_on_full": est(col("beta_batch_on_full")),
            "batch_full_gap": est(col("beta_batch") - col("beta_batch_on_full")),
            "null_batch_full_gap": est(col("null_batch") - col("null_batch_on_full")),
            "gap_minus_null": est(col("beta_batch") - col("beta_batch_on_full")
                                  - (col("null_batch") - col("null_batch_on_full"))),
        })
    names = [r["matrix"] for r in rows]
    x = list(range(len(rows)))
    label = model_label(model) + (", planted control" if source == "planted" else "")
    plot = Plot(f"ffn_weight_beta_{model}" + ("_planted" if source == "planted" else ""),
                f"FFN weights ({label}): β_raw → β_batch → β_learned", "matrix (index; see details)", "β",
                [Series("β_raw", x, col("beta_raw").tolist()),
                 *([Series("β_batch", x, col("beta_batch").tolist())] if batch_fraction > 0 else []),
                 Series("β_learned (full, in-sample)", x, col("beta_learned_full").tolist()),
                 Series("β held-out", x, col("beta_heldout").tolist()),
                 Series("Gaussian same shape, in-sample", x, col("null_beta_learned_full").tolist())],
                kind="bar")
    return Result(outs, [plot], {"matrices": names, "rows": rows, "info": info, "center": center,
                                 "source": source, "planted_noise": planted_noise if source == "planted" else None},
                  model=model_label(model))


# ------------------------------------------------------------------------------------------------ expert gap null

def _gap_of_fit(rng, Xb: np.ndarray, X_rest: np.ndarray, rest_weight: float, iters: int) -> float:
    """β on the batch (in-sample) minus β on the whole population (batch ∪ rest) of a rotation fitted on the batch;
    the rest's moment sums are weighted by ``rest_weight`` (it stands for that many times as many rows)."""
    R = fit_rotation(Xb, center=False, iters=iters, rng=rng)
    Yb, Yr = R.apply(Xb), R.apply(X_rest)
    n = Yb.size + rest_weight * Yr.size
    m1 = (np.abs(Yb).sum() + rest_weight * np.abs(Yr).sum()) / n
    m2 = ((Yb * Yb).sum() + rest_weight * (Yr * Yr).sum()) / n
    return _beta(Yb) - m1 * m1 / m2


def _null_gap(rng, d: int, ratio: float, full_ratio: float, iters: int) -> float:
    nb = max(2, int(round(ratio * d)))
    n_rest = max(0, int(round(full_ratio * d)) - nb)
    n_fresh = min(n_rest, 16 * d)
    Xb = rng.standard_normal((nb, d))
    Xr = rng.standard_normal((max(n_fresh, 1), d))
    return _gap_of_fit(rng, Xb, Xr, (n_rest / n_fresh) if n_fresh else 0.0, iters)


def _planted_gap(rng, d: int, ratio: float, full_ratio: float, experts: int, iters: int) -> float:
    """Heterogeneous experts: each expert's rows share a mean of norm 2√d in its own random direction (plus unit
    Gaussian noise); the batch is the first rows in expert order (a local sample of a few experts)."""
    n_full = int(round(full_ratio * d))
    per = max(1, n_full // experts)
    U = rng.standard_normal((experts, d))
    U *= 2.0 * math.sqrt(d) / np.linalg.norm(U, axis=1, keepdims=True)
    X = np.repeat(U, per, axis=0) + rng.standard_normal((per * experts, d))
    nb = max(2, int(round(ratio * d)))
    rest = X[nb:]
    take = rng.choice(len(rest), size=min(len(rest), 16 * d), replace=False)   # a uniform sample of the rest
    return _gap_of_fit(rng, X[:nb], rest[take], len(rest) / len(take), iters)


@measurement(
    "expert_gap_vs_null",
    outputs={
        "input_gap": "the batch/full β gap of the input: the seed's figures (beta_batch − beta_full; exact as "
                     "quoted) or, for source=planted, the gap measured on planted heterogeneous experts",
        "null_gap": "the same gap for isotropic Gaussian rows (no experts, no structure) at the same rows per column "
                    "(batch) and the same population size, rotation fitted on the batch exactly as for the input",
        "gap_minus_null": "input_gap − null_gap (CI: Student t over replicate Gaussian draws)",
        "rows_per_col": "batch rows per column: 1000·batch_k / dim",
        "null_gap_spread_over_d": "largest minus smallest null gap over null dimensions (checks that the gap "
                                  "depends on rows/cols, not on d)",
    },
    exact={"rows_per_col": "arithmetic on the seed's stated figures"},
    description="is the seed's expert batch/full β gap larger than what fitting a d×d rotation to the batch gives "
                "on structureless data of the same rows/columns ratio?",
    timeout_s=600,
)
def expert_gap_vs_null(ctx: Context, *, beta_batch: float = 0.0, beta_full: float = 0.0, batch_k: float = 10.0,
                       dim: float = 2816.0, full_rows: float = 180224.0, source: str = "seed", null_dim: int = 128,
                       reps: int = 4, iters: int = 50, check_dims: str = "64,256", experts: int = 128) -> Result:
    """The seed reports β_batch (rotation fitted on a 10k-row subsample, scored on it) and β on the full expert
    population for two expert matrices; this compares their difference with the overfitting gap of pure noise."""
    if source not in ("seed", "planted"):
        raise ValueError(f"unknown source {source!r} (known: seed, planted)")
    if dim <= 0 or batch_k <= 0 or full_rows <= 0:
        raise ValueError("dim, batch_k and full_rows must be positive (bind them from the seed's text)")
    ratio = 1000.0 * batch_k / dim
    full_ratio = full_rows / dim
    rng = ctx.rng(43)
    null = [_null_gap(rng, null_dim, ratio, full_ratio, iters) for _ in range(reps)]
    prng = ctx.rng(47)
    if source == "seed":
        inputs = [beta_batch - beta_full] * reps
        gap = Estimate(beta_batch - beta_full, method="the seed's figures as quoted (exact)")
    else:
        inputs = [_planted_gap(prng, null_dim, ratio, full_ratio, experts, iters) for _ in range(reps)]
        gap = t_estimate(inputs, f"planted: {experts} experts with their own mean directions, batch = the first "
                                 f"rows in expert order; {reps} replicate draws, Student t")
    checks = {null_dim: float(np.mean(null))}
    for dd in E.parse_ints(check_dims):
        if dd != null_dim:
            checks[dd] = _null_gap(rng, dd, ratio, full_ratio, iters)
    meth = (f"isotropic Gaussian, d = {null_dim}, {reps} replicate draws; batch {ratio:.3g} rows/col, population "
            f"{full_ratio:.3g} rows/col; Student t over draws")
    outs = {
        "input_gap": gap,
        "null_gap": t_estimate(null, meth),
        "gap_minus_null": t_estimate(np.array(inputs) - np.array(null), meth),
        "rows_per_col": Estimate(ratio, method="1000 · batch_k / dim"),
        "null_gap_spread_over_d": Estimate(max(checks.values()) - min(checks.values()), n=len(checks),
                                           method=f"null dims {sorted(checks)} (one draw each beyond d = {null_dim})"),
    }
    return Result(outs, [], {"ratio": ratio, "full_ratio": full_ratio, "null_gaps": null, "input_gaps": inputs,
                             "null_gap_by_d": {str(k): v for k, v in sorted(checks.items())}, "source": source},
                  model="none (the seed's figures and Gaussian/planted simulations)")


# ------------------------------------------------------------------------------------------------ overfit sweep

@measurement(
    "rotation_overfit_sweep", on_model=True,
    outputs={
        "null_insample_beta_r075": "Gaussian rows/cols = 0.75 (seed 003's dense-MLP shape 2112×2816): in-sample β "
                                   "of a learned rotation",
        "null_insample_beta_r355": "Gaussian rows/cols = 3.55: in-sample β",
        "null_heldout_beta_r355": "Gaussian rows/cols = 3.55: β of the same rotation on fresh rows",
        "null_gap_r355": "null_insample_beta_r355 − null_heldout_beta_r355 (the batch/full gap of pure noise)",
        "null_gap_r142": "the same gap at rows/cols = 14.2",
        "keys_gap_r1": "real keys, rows/cols = 1: in-sample − held-out β",
        "keys_gap_rmax": "real keys, largest rows/cols of the sweep: in-sample − held-out β",
    },
    description="in-sample vs held-out β of a learned rotation as a function of rows/columns, keys vs Gaussian "
                "(descriptive: one fit per point, no intervals)",
    timeout_s=900,
)
def rotation_overfit_sweep(ctx: Context, *, model: str = "smollm2", kind: str = "k_post_rope",
                           center: bool = True, ratios: str = "0.5,0.75,1,2,3.55,8,14.2,32", null_dim: int = 256,
                           n_heads: int = 6, iters: int = 50) -> Result:
    """A learned rotation fitted on n = ratio·d rows, scored on those rows and on other rows."""
    rs = [float(x) for x in ratios.split(",")]
    units, info = key_units(ctx, model, kind, E.STD_DOCS["calibration"], E.STD_DOCS["heldout"],
                            E.STD_MAX_TOKENS, "all", 0)
    idx = np.unique(np.linspace(0, len(units) - 1, min(n_heads, len(units))).round().astype(int))
    rng = ctx.rng(17)
    d = units[0].Xc.shape[1]
    real_in, real_out, used = [], [], []
    for r in rs:
        n = int(round(r * d))
        if n > len(units[0].Xc) or n < 2:
            continue
        ins, outs_ = [], []
        for i in idx:
            u = units[i]
            sel = rng.choice(len(u.Xc), size=n, replace=False)
            rot = fit_rotation(u.Xc[sel], center=center, iters=iters, rng=rng)
            ins.append(_beta(rot.apply(u.Xc[sel])))
            outs_.append(_beta(rot.apply(u.Xh)))
        used.append(r)
        real_in.append(float(np.mean(ins)))
        real_out.append(float(np.mean(outs_)))
    null_in, null_out = [], []
    for r in rs:
        n = max(2, int(round(r * null_dim)))
        G = rng.standard_normal((n, null_dim))
        rot = fit_rotation(G, center=center, iters=iters, rng=rng)
        null_in.append(_beta(rot.apply(G)))
        null_out.append(_beta(rot.apply(rng.standard_normal((4 * null_dim, null_dim)))))

    def at(xs, ys, x):
        return float(np.interp(x, xs, ys))

    one = f"one fit, d={null_dim} (point estimate)"
    outs = {
        "null_insample_beta_r075": Estimate(at(rs, null_in, 0.75), n=int(0.75 * null_dim), method=one),
        "null_insample_beta_r355": Estimate(at(rs, null_in, 3.55), n=int(3.55 * null_dim), method=one),
        "null_heldout_beta_r355": Estimate(at(rs, null_out, 3.55), n=4 * null_dim, method=one),
        "null_gap_r355": Estimate(at(rs, null_in, 3.55) - at(rs, null_out, 3.55), method=one),
        "null_gap_r142": Estimate(at(rs, null_in, 14.2) - at(rs, null_out, 14.2), method=one),
        "keys_gap_r1": Estimate(at(used, real_in, 1.0) - at(used, real_out, 1.0), n=len(idx),
                                method=f"mean over {len(idx)} heads (point estimate)"),
        "keys_gap_rmax": Estimate(real_in[-1] - real_out[-1], n=len(idx), method=f"rows/cols={used[-1]:.3g}"),
    }
    plot = Plot(f"rotation_overfit_{model}_{kind}", "Learned rotation: in-sample vs held-out β against rows/cols",
                "rows per column (n / d)", "β",
                [Series("keys in-sample", used, real_in), Series("keys held-out", used, real_out),
                 Series(f"Gaussian in-sample (d={null_dim})", rs, null_in),
                 Series(f"Gaussian held-out (d={null_dim})", rs, null_out)], log_x=True)
    return Result(outs, [plot], {"ratios": rs, "keys_ratios": used, "keys_in": real_in, "keys_out": real_out,
                                 "null_in": null_in, "null_out": null_out, "heads": [units[i].name for i in idx],
                                 "key_dim": d, "max_key_ratio": len(units[0].Xc) / d, "center": center},
                  model=model_label(model))

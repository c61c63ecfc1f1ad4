"""Arithmetic on figures *reported in* seed 004 (not measurements): its "Memory Benchmarks" table and its
cumulative-variance block. Every figure arrives from claims.yaml through a verbatim quote of the seed (``seed_table``
rows or ``seed_values`` fragments, :mod:`quantproof.claims.seeddata`), never retyped here; the outputs are exact.

* ``seedtab_attention_memory``: each row of the table (seq, standard, compressed, reduction) against (a) the
  quantity seq² × width × bytes (a seq × seq × width tensor), and (b) what standard attention holds per layer in an
  eager implementation: heads × seq² scores plus Q, K, V (:func:`quantproof.math.spectra.attention_memory_bytes`),
  for the standard model (``heads`` heads of width ``d_model``) and the seed's compressed variant (its code: one head
  of width ``k``).
* ``seedtab_outside``: how many of a column's figures lie outside a range the seed states elsewhere (its summary of
  the same table).
* ``seedtab_pr_from_cumvar``: the range of participation ratios (Σλ)²/Σλ² of every descending spectrum of length
  ``d`` whose cumulative shares match the printed C(k) within their rounding
  (:func:`quantproof.math.spectra.participation_ratio_bounds_from_curve`), against the printed Df.
"""

from __future__ import annotations

import numpy as np

from ..evidence.measurement import Context, Estimate, Result, measurement

_SEED = "arithmetic on figures quoted from the seed; nothing is sampled"
_UNITS = {"B": 1.0, "KiB": 2.0 ** 10, "MiB": 2.0 ** 20, "GiB": 2.0 ** 30, "KB": 1e3, "MB": 1e6, "GB": 1e9}

_MEMORY = {
    "formula_max_rel_dev": "max over rows and both columns of |table − seq² × width × bytes| / table (width "
                           "`d_model` for the standard column, `k` for the compressed one)",
    "overstatement_min": "min over rows and both columns of table / per-layer eager attention memory (scores + Q, "
                         "K, V): how many times the table exceeds what attention holds, at least",
    "real_reduction_max": "max over rows of (standard attention memory) / (compressed: one head of width k)",
    "reduction_overstatement_min": "min over rows of the table's reduction / the real reduction",
}


@measurement("seedtab_attention_memory", exact={k: _SEED for k in _MEMORY}, outputs=_MEMORY, timeout_s=30.0,
             description="seed 004's memory table against seq²·width·bytes and against real attention memory "
                         "(not a measurement)")
def seedtab_attention_memory(ctx: Context, *, seqs: list = [], standard: list = [],  # noqa: B006
                             compressed: list = [], reduction: list = [],  # noqa: B006
                             standard_unit: str = "MiB", compressed_unit: str = "MiB", d_model: float = 0.0,
                             k: float = 0.0, heads: int = 12, dtype: str = "fp32") -> Result:
    """``d_model`` (the standard model's width) and ``k`` (the compressed width) are the seed's figures, bound in
    claims.yaml; ``heads`` is GPT-2 small's head count (ours)."""
    from ..math.spectra import DTYPE_BYTES, attention_memory_bytes, seed004_attention_formula_bytes

    cols = [np.asarray(x, dtype=float) for x in (seqs, standard, compressed, reduction)]
    if len({len(c) for c in cols}) != 1 or len(cols[0]) == 0:
        raise ValueError("seqs, standard, compressed and reduction need the same non-zero length")
    for u in (standard_unit, compressed_unit):
        if u not in _UNITS:
            raise ValueError(f"unknown unit {u!r} (known: {', '.join(_UNITS)})")
    if dtype not in DTYPE_BYTES:
        raise ValueError(f"unknown dtype {dtype!r}")
    if d_model != int(d_model) or k != int(k) or d_model <= 0 or k <= 0:
        raise ValueError("d_model and k must be positive integers")
    S, std, comp, red = cols
    b = DTYPE_BYTES[dtype]
    std_b, comp_b = std * _UNITS[standard_unit], comp * _UNITS[compressed_unit]
    devs, over, real_red, red_over, rows = [], [], [], [], []
    for seq, sb, cb, rr in zip(S.astype(int), std_b, comp_b, red):
        f_std = seed004_attention_formula_bytes(seq, int(d_model), b)
        f_comp = seed004_attention_formula_bytes(seq, int(k), b)
        devs += [abs(sb - f_std) / sb, abs(cb - f_comp) / cb]
        m_std = attention_memory_bytes(int(seq), int(d_model), heads, dtype)["total"]
        m_comp = attention_memory_bytes(int(seq), int(k), 1, dtype)["total"]
        over += [sb / m_std, cb / m_comp]
        real_red.append(m_std / m_comp)
        red_over.append(rr / (m_std / m_comp))
        rows.append({"seq": int(seq), "table_standard_B": sb, "formula_standard_B": f_std, "eager_standard_B": m_std,
                     "table_compressed_B": cb, "formula_compressed_B": f_comp, "eager_compressed_B": m_comp,
                     "table_reduction": float(rr), "real_reduction": m_std / m_comp})
    return Result(outputs={
        "formula_max_rel_dev": Estimate(float(max(devs)), method=f"max over {len(devs)} cells"),
        "overstatement_min": Estimate(float(min(over)), method=f"min over {len(over)} cells"),
        "real_reduction_max": Estimate(float(max(real_red)), method=f"max over {len(real_red)} rows"),
        "reduction_overstatement_min": Estimate(float(min(red_over)), method=f"min over {len(red_over)} rows"),
    }, details={"rows": rows, "model": f"{heads} heads of width {int(d_model) // heads} (standard) vs one head of "
                                       f"width {int(k)} (the seed's compressed_attention), {dtype}, one layer, "
                                       "batch 1, scores materialised (eager attention)",
                "source": "figures reported in the seed, passed from claims.yaml"},
        model="none (seed's table)")


_CUMVAR = {
    "pr_min": "smallest participation ratio of a descending spectrum of length d matching the printed C(k)",
    "pr_max": "largest such participation ratio",
    "df_gap": "pr_min − (df + df_halfwidth): > 0 when no spectrum matching the curve has the printed Df",
}


@measurement("seedtab_pr_from_cumvar", exact={k: _SEED for k in _CUMVAR}, outputs=_CUMVAR, timeout_s=30.0,
             description="participation ratios compatible with a printed cumulative-variance curve (not a "
                         "measurement)")
def seedtab_pr_from_cumvar(ctx: Context, *, k_a: float = 0.0, c_a: float = 0.0, k_b: float = 0.0,
                           c_b: float = 0.0, k_c: float = 0.0, c_c: float = 0.0, k_d: float = 0.0, c_d: float = 0.0,
                           k_e: float = 0.0, c_e: float = 0.0, d: float = 0.0, df: float = 0.0,
                           c_halfwidth: float = 0.05, df_halfwidth: float = 0.05) -> Result:
    """Knots k_a < k_b < … with C(k) in percent (printed to ``c_halfwidth`` percentage points); a knot with k = 0 is
    unused."""
    from ..math.spectra import participation_ratio_bounds_from_curve

    pts = [(k_, c_) for k_, c_ in ((k_a, c_a), (k_b, c_b), (k_c, c_c), (k_d, c_d), (k_e, c_e)) if k_ > 0]
    if not pts:
        raise ValueError("no knot given")
    if any(k_ != int(k_) for k_, _ in pts) or d != int(d) or d < 1:
        raise ValueError("knots and d must be integers")
    ks = [int(k_) for k_, _ in pts]
    h = c_halfwidth / 100.0
    cs = [(max(0.0, c_ / 100.0 - h), min(1.0, c_ / 100.0 + h)) for _, c_ in pts]
    lo, hi = participation_ratio_bounds_from_curve(ks, cs, int(d))
    return Result(outputs={
        "pr_min": Estimate(lo), "pr_max": Estimate(hi), "df_gap": Estimate(lo - (df + df_halfwidth)),
    }, details={"knots": ks, "intervals": cs, "d": int(d), "df": df, "df_interval": [df - df_halfwidth,
                                                                                      df + df_halfwidth],
                "source": "figures reported in the seed, passed from claims.yaml"}, model="none (seed's figures)")


_OUTSIDE = {"n_outside": "number of the figures outside [lo, hi]", "min": "smallest figure", "max": "largest figure"}


@measurement("seedtab_outside", exact={k: _SEED for k in _OUTSIDE}, outputs=_OUTSIDE, timeout_s=30.0,
             description="figures of a seed's table against a range the seed states (not a measurement)")
def seedtab_outside(ctx: Context, *, values: list = [], lo: float = 0.0, hi: float = 0.0) -> Result:  # noqa: B006
    v = np.asarray(values, dtype=float)
    if v.size == 0 or hi < lo:
        raise ValueError("need figures and lo <= hi")
    return Result(outputs={"n_outside": Estimate(float(np.sum((v < lo) | (v > hi)))),
                           "min": Estimate(float(v.min())), "max": Estimate(float(v.max()))},
                  details={"values": v.tolist(), "range": [lo, hi],
                           "source": "figures reported in the seed, passed from claims.yaml"},
                  model="none (seed's table)")

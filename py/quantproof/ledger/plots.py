"""The page's charts, drawn with matplotlib's SVG backend and inlined (see :mod:`quantproof.ledger.svg`).

Why matplotlib rather than Vega-Lite rendered by vl-convert: it is a plain Python dependency already familiar to
everyone who reads the measurement code (no JavaScript engine in a wheel, no second plotting grammar), its SVG
backend is deterministic once three things are fixed — ``metadata={'Date': None, …}``, ``svg.hashsalt`` and a
bundled font for text metrics (DejaVu Sans ships with matplotlib, so layout never depends on the machine's fonts) —
and with ``svg.fonttype = 'none'`` text stays text (searchable, accessible, escaped) instead of glyph outlines.

Policy:

* deterministic: the same data give the same bytes (fixed rcParams inside ``rc_context``, fixed salt, no clock);
  figures are pure functions of their normalised spec, memoised by the spec's canonical JSON;
* robust: any JSON may arrive (missing series, NaN/Inf, strings, non-positive values on log axes, unknown kinds);
  what cannot be drawn is counted and said under the plot ("3 points not drawn (…)"); never an exception;
* accessible: every chart has a ``<title>`` and a ``<desc>`` (kind, axes, series); series differ by colour, marker
  and dash; colours meet the contrast the theme checks; each plot ships with its data table in the page;
* ledger text drawn into a chart is plain text: ``text.parse_math`` is off (no mathtext), control characters are
  replaced, and :mod:`xml.etree` escapes it on output.
"""

from __future__ import annotations

import io
import json
import logging
import math
import warnings
from functools import lru_cache
from typing import Any

from .fmt import as_float, clean_text, dct, fmt_expect, fmt_num, get, lst, s, tick_label
from .svg import inline_svg
from .theme import (DASHES, MARKERS, OUTCOME_COLORS, OUTCOME_OTHER, PLOT_PALETTE, THEME, UNKNOWN_VERDICT,
                    VERDICT_COLORS)

__all__ = ["render_plot_svg", "render_interval_svg", "render_verdict_bar", "plot_spec", "expect_region", "RC"]

DPI = 72  # one SVG user unit per pixel
SALT = "quantproof-ledger"
METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}
RC: dict[str, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": SALT,
    "font.family": ["DejaVu Sans"],
    "font.size": 11,
    "text.parse_math": False,
    "text.usetex": False,
    "axes.unicode_minus": True,
    "axes.titlesize": 14,
    "axes.titleweight": 600,
    "axes.labelsize": 12,
    "axes.edgecolor": THEME["axis"],
    "axes.labelcolor": THEME["text"],
    "axes.titlecolor": THEME["text"],
    "text.color": THEME["text"],
    "xtick.color": THEME["axis"],
    "ytick.color": THEME["axis"],
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
    "legend.fontsize": 12,
    "legend.frameon": False,
    "figure.facecolor": "#ffffff",
    "axes.facecolor": "#ffffff",
    "path.simplify": False,
}


def _draw(build, width: float, height: float) -> str:
    """Run ``build(fig)`` on a fresh figure of ``width`` × ``height`` pixels and return matplotlib's SVG."""
    import matplotlib
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    with matplotlib.rc_context(RC), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. "Glyph … missing from font": the text is still written as text
        logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
        fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
        FigureCanvasSVG(fig)
        build(fig)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata=METADATA)
    return buf.getvalue()


# ------------------------------------------------------------------------------------------------ measurement plots

def _points(series: dict, log_x: bool, log_y: bool) -> tuple[list[tuple], int]:
    """[(x, y, lo, hi)] with None for values that cannot be drawn; count of points dropped."""
    xs, ys = lst(series.get("x")), lst(series.get("y"))
    los, his = lst(series.get("lo")), lst(series.get("hi"))
    pts, dropped = [], 0
    for i in range(max(len(xs), len(ys))):
        x = as_float(xs[i]) if i < len(xs) else None
        y = as_float(ys[i]) if i < len(ys) else None
        lo = as_float(los[i]) if i < len(los) else None
        hi = as_float(his[i]) if i < len(his) else None
        if log_x and x is not None and x <= 0:
            x = None
        if log_y:
            y = y if y is not None and y > 0 else None
            lo = lo if lo is not None and lo > 0 else None
            hi = hi if hi is not None and hi > 0 else None
        if x is None or y is None:
            dropped += 1
        pts.append((x, y, lo, hi))
    return pts, dropped


def plot_spec(plot: Any) -> dict[str, Any]:
    """A measurement plot (docs/LEDGER_SCHEMA.md ``plots[]``) normalised to what is drawn: kind, labels, finite
    points per series and the count of points that cannot be drawn."""
    plot = dct(plot)
    kind = s(plot.get("kind")) or "line"
    if kind not in ("line", "scatter", "bar"):
        kind = "line"
    log_x = bool(plot.get("log_x")) and kind != "bar"
    log_y = bool(plot.get("log_y"))
    series, dropped = [], 0
    for i, sr in enumerate(x for x in lst(plot.get("series")) if isinstance(x, dict)):
        pts, d = _points(sr, log_x, log_y)
        dropped += d
        series.append({"name": clean_text(sr.get("name")) or f"series {i + 1}", "points": pts})
    return {"kind": kind, "log_x": log_x, "log_y": log_y, "series": series, "dropped": dropped,
            "title": clean_text(plot.get("title")) or clean_text(plot.get("id")) or "plot",
            "x_label": clean_text(plot.get("x_label")), "y_label": clean_text(plot.get("y_label"))}


def _formatters(ax, spec: dict[str, Any], ys: list[float]) -> None:
    from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

    fmt = FuncFormatter(lambda v, _pos: tick_label(v))
    for axis, log, vals in ((ax.xaxis, spec["log_x"], None), (ax.yaxis, spec["log_y"], ys)):
        if log:
            span = (math.log10(max(vals)) - math.log10(min(vals))) if vals else 2.0
            axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0) if span < 1.5 else (1.0,)))
            axis.set_minor_formatter(NullFormatter())
        elif axis is ax.yaxis or spec["kind"] != "bar":
            axis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
        axis.set_major_formatter(fmt)


def _draw_xy(ax, spec: dict[str, Any]) -> None:
    kind = spec["kind"]
    for si, sr in enumerate(spec["series"]):
        color = PLOT_PALETTE[si % len(PLOT_PALETTE)]
        marker = MARKERS[si % len(MARKERS)]
        pts = sr["points"]
        good = [p for p in pts if p[0] is not None and p[1] is not None]
        with_ci = [p for p in good if p[2] is not None and p[3] is not None]
        if with_ci and kind == "line":
            seg: list[tuple] = []
            for p in pts + [(None, None, None, None)]:
                if p[0] is not None and p[1] is not None and p[2] is not None and p[3] is not None:
                    seg.append(p)
                elif seg:
                    ax.fill_between([q[0] for q in seg], [q[2] for q in seg], [q[3] for q in seg], color=color,
                                    alpha=0.18, linewidth=0, gid="qp-ci")
                    seg = []
        elif with_ci:
            ax.vlines([p[0] for p in with_ci], [p[2] for p in with_ci], [p[3] for p in with_ci], colors=color,
                      linewidth=1.2, gid="qp-ci")
        xs = [p[0] if p[0] is not None and p[1] is not None else math.nan for p in pts]
        ys = [p[1] if p[0] is not None and p[1] is not None else math.nan for p in pts]
        show_markers = kind == "scatter" or len(good) <= 40
        dash = DASHES[si % len(DASHES)]
        ax.plot(xs, ys, color=color, linewidth=2 if kind == "line" else 0,
                linestyle=((0, dash) if dash else "-") if kind == "line" else "none",
                marker=marker if show_markers else None, markersize=6 if kind == "scatter" else 5,
                label=sr["name"], gid="qp-series")


def _draw_bars(ax, spec: dict[str, Any]) -> list[float]:
    cats = sorted({p[0] for sr in spec["series"] for p in sr["points"] if p[0] is not None and p[1] is not None})
    present: dict[float, list[int]] = {c: [] for c in cats}
    for si, sr in enumerate(spec["series"]):
        for p in sr["points"]:
            if p[0] is not None and p[1] is not None and si not in present[p[0]]:
                present[p[0]].append(si)
    values = [p[1] for sr in spec["series"] for p in sr["points"] if p[0] is not None and p[1] is not None]
    base = 0.0
    if spec["log_y"] and values:
        base = 10.0 ** math.floor(math.log10(min(values)))
    for si, sr in enumerate(spec["series"]):
        color = PLOT_PALETTE[si % len(PLOT_PALETTE)]
        xs, hs, cis = [], [], []
        for p in sr["points"]:
            if p[0] is None or p[1] is None:
                continue
            group = present[p[0]]
            bw = 0.8 / max(len(group), 1)
            x = cats.index(p[0]) - 0.4 + (group.index(si) + 0.5) * bw
            xs.append(x)
            hs.append(p[1] - base)
            if p[2] is not None and p[3] is not None:
                cis.append((x, p[2], p[3]))
        if xs:
            bars = ax.bar(xs, hs, width=0.8 / max(max(len(g) for g in present.values()), 1) * 0.9, bottom=base,
                          color=color, alpha=0.85, label=sr["name"])
            for b in bars:
                b.set_gid("qp-bar")
        else:
            ax.bar([], [], color=color, label=sr["name"])
        if cis:
            ax.vlines([c[0] for c in cis], [c[1] for c in cis], [c[2] for c in cis], colors=THEME["text"],
                      linewidth=1.4, gid="qp-ci")
    step = max(1, math.ceil(len(cats) / 20))
    ax.set_xticks(range(len(cats)))
    ax.set_xticklabels([tick_label(c) if i % step == 0 else "" for i, c in enumerate(cats)])
    if cats:
        ax.set_xlim(-0.5, len(cats) - 0.5)
    return cats


def _legend_rows(names: list[str], width: float) -> tuple[int, int]:
    """(columns, rows) for a legend under the axes that fits ``width`` pixels."""
    if not names:
        return 1, 0
    widest = max(34 + 7.0 * len(n) for n in names)
    cols = max(1, min(len(names), int(width // (widest + 14))))
    return cols, math.ceil(len(names) / cols)


def _build_plot(spec: dict[str, Any]):
    def build(fig) -> None:
        W, H = fig.get_figwidth() * DPI, fig.get_figheight() * DPI
        ml, mr, mt, mb = 70, 18, 36, spec["_bottom"]
        ax = fig.add_axes((ml / W, mb / H, (W - ml - mr) / W, (H - mt - mb) / H), gid="qp-axes")
        ax.spines["top"].set_visible(False)
        ax.spines["right"].set_visible(False)
        if spec["log_x"]:
            ax.set_xscale("log")
        if spec["log_y"]:
            ax.set_yscale("log")
        ax.grid(True, axis="y" if spec["kind"] == "bar" else "both", color=THEME["grid"], linewidth=0.8)
        ax.set_axisbelow(True)
        if spec["kind"] == "bar":
            _draw_bars(ax, spec)
        else:
            _draw_xy(ax, spec)
        ys = [v for sr in spec["series"] for p in sr["points"] if p[0] is not None and p[1] is not None
              for v in (p[1], p[2], p[3]) if v is not None]
        _formatters(ax, spec, ys)
        if not any(p[0] is not None and p[1] is not None for sr in spec["series"] for p in sr["points"]):
            ax.text(0.5, 0.5, "no drawable points", transform=ax.transAxes, ha="center", va="center",
                    color=THEME["muted"])
        ax.set_title(spec["title"], pad=10)
        ax.set_xlabel((spec["x_label"] or "x") + (" (log)" if spec["log_x"] else ""))
        ax.set_ylabel((spec["y_label"] or "y") + (" (log)" if spec["log_y"] else ""))
        ax.xaxis.set_gid("qp-axis.x-axis")
        ax.yaxis.set_gid("qp-axis.y-axis")
        handles, labels = ax.get_legend_handles_labels()
        if handles:
            cols, _rows = _legend_rows(labels, W - ml - mr)
            leg = fig.legend(handles, labels, loc="upper left", bbox_to_anchor=(ml / W, (mb - 46) / H),
                             ncols=cols, handlelength=2.4, borderaxespad=0, columnspacing=1.2)
            leg.set_gid("qp-legend")
        if spec["dropped"]:
            why = "missing, non-finite" + (" or non-positive on a log axis" if spec["log_x"] or spec["log_y"] else "")
            n = spec["dropped"]
            fig.text(ml / W, 6 / H, f"{n} point{'s' if n != 1 else ''} not drawn ({why})", fontsize=11,
                     color=THEME["muted"], gid="qp-note")
    return build


@lru_cache(maxsize=512)
def _plot_raw(spec_json: str) -> str:
    spec = json.loads(spec_json)
    names = [sr["name"] for sr in spec["series"]]
    _cols, rows = _legend_rows(names, 600 - 70 - 18)
    bottom = 46 + 20 * rows + (18 if spec["dropped"] else 0) + 8
    spec["_bottom"] = bottom
    return _draw(_build_plot(spec), 600, 36 + 230 + bottom)


def _viewbox(raw: str) -> tuple[str, str]:
    head = raw[raw.find("<svg"):raw.find(">", raw.find("<svg"))]
    vb = head.split('viewBox="', 1)[1].split('"', 1)[0].split()
    return vb[2], vb[3]


def render_plot_svg(plot: Any, uid: str = "plot") -> str:
    """One measurement plot (``line`` | ``scatter`` | ``bar``) as an inline ``<svg class="plot">`` with axes,
    ticks, legend and confidence bands; ``uid`` makes its ids unique on the page."""
    spec = plot_spec(plot)
    raw = _plot_raw(json.dumps(spec, sort_keys=True, ensure_ascii=False, allow_nan=False))
    w, h = _viewbox(raw)
    desc = "; ".join([f"{spec['kind']} plot",
                      f"x: {spec['x_label'] or 'x'}{' (log scale)' if spec['log_x'] else ''}",
                      f"y: {spec['y_label'] or 'y'}{' (log scale)' if spec['log_y'] else ''}",
                      f"{len(spec['series'])} series: " + ", ".join(sr["name"] for sr in spec["series"])])
    return inline_svg(raw, uid=uid, title=spec["title"], desc=desc, root_attrs={
        "class": "plot", "viewBox": f"0 0 {w} {h}", "width": w, "height": h, "role": "img",
        "aria-labelledby": f"{uid}-t {uid}-d"})


# ------------------------------------------------------------------------------------------------ estimate strip

def expect_region(expect: Any, controls: dict[str, dict]) -> tuple[float | None, float | None, str] | None:
    """(lower, upper, label) of the claimed region; None bounds are unbounded; None if not drawable."""
    if not isinstance(expect, dict):
        return None
    if isinstance(expect.get("band"), list) and len(expect["band"]) == 2:
        a, b = as_float(expect["band"][0]), as_float(expect["band"][1])
        if a is not None and b is not None:
            return min(a, b), max(a, b), "claimed"
    if "value" in expect:
        x, t = as_float(expect.get("value")), as_float(expect.get("tol")) or 0.0
        if x is not None:
            return x - abs(t), x + abs(t), "claimed"
    for key, side in (("at_least", "lo"), ("greater_than", "lo"), ("at_most", "hi"), ("less_than", "hi")):
        if key in expect:
            a = as_float(expect[key])
            if a is not None:
                return (a, None, "claimed") if side == "lo" else (None, a, "claimed")
    cmp_ = expect.get("compare")
    if isinstance(cmp_, dict):
        ctrl = controls.get(s(cmp_.get("with")))
        cv = as_float(get(ctrl, "estimate", "value")) if ctrl else None
        if cv is not None:
            m = as_float(cmp_.get("margin")) or 0.0
            op = s(cmp_.get("op"))
            label = f"claimed ({s(cmp_.get('with'))} = {fmt_num(cv)})"
            if op in ("gt", "ge"):
                return cv + m, None, label
            if op in ("lt", "le"):
                return None, cv - m, label
    return None


def _build_strip(spec: dict[str, Any]):
    def build(fig) -> None:
        from matplotlib.ticker import FuncFormatter, MaxNLocator

        ax = fig.add_axes((16 / 460, 20 / 68, 428 / 460, 40 / 68))
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
        ax.set_yticks([])
        ax.set_ylim(-1, 1.6)
        lo_d, hi_d = spec["domain"]
        ax.set_xlim(lo_d, hi_d)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: tick_label(v)))
        ax.tick_params(axis="x", labelsize=10.5, length=4)
        region = spec["region"]
        if region is not None:
            a = region[0] if region[0] is not None else lo_d
            b = region[1] if region[1] is not None else hi_d
            ax.fill_between([a, b], [-0.55, -0.55], [0.55, 0.55], facecolor=THEME["region_bg"],
                            edgecolor=THEME["region_text"], linestyle=(0, (3, 2)), linewidth=1, gid="qp-region")
            mid = min(max((a + b) / 2, lo_d + (hi_d - lo_d) * 0.16), hi_d - (hi_d - lo_d) * 0.16)
            ax.text(mid, 0.75, spec["region_label"], ha="center", va="bottom", fontsize=11,
                    color=THEME["region_text"])
        color = spec["color"]
        if spec["lo"] is not None and spec["hi"] is not None:
            ax.plot([spec["lo"], spec["hi"]], [0, 0], color=color, linewidth=2, gid="qp-ci")
            ax.plot([spec["lo"], spec["hi"]], [0, 0], linestyle="none", marker="|", markersize=12,
                    markeredgewidth=2, color=color)
        ax.plot([spec["value"]], [0], marker="o", markersize=10, color=color, linestyle="none", gid="qp-estimate")
    return build


@lru_cache(maxsize=512)
def _strip_raw(spec_json: str) -> str:
    return _draw(_build_strip(json.loads(spec_json)), 460, 68)


def render_interval_svg(m: Any, controls: dict[str, dict], uid: str) -> str:
    """A measurement's estimate and interval against the claimed region, as ``<svg class="strip">``; '' when the
    measurement has no finite estimate."""
    m = dct(m)
    e = dct(m.get("estimate"))
    v, lo, hi = as_float(e.get("value")), as_float(e.get("lo")), as_float(e.get("hi"))
    if v is None:
        return ""
    region = expect_region(m.get("expect"), controls)
    pts = [p for p in (v, lo, hi) if p is not None]
    if region:
        pts += [p for p in region[:2] if p is not None]
    a, b = min(pts), max(pts)
    span = b - a
    pad = span * 0.12 if span > 0 else (abs(a) * 0.05 or 0.5)
    outcome = s(m.get("outcome"))
    label = f"estimate {fmt_num(v)}" + (f" [{fmt_num(lo)}, {fmt_num(hi)}]" if lo is not None and hi is not None
                                        else "")
    if region:
        label += f"; {region[2]} {fmt_expect(m.get('expect'))}"
    spec = {"value": v, "lo": lo if hi is not None else None, "hi": hi if lo is not None else None,
            "domain": [a - pad, b + pad], "region": list(region[:2]) if region else None,
            "region_label": f"{region[2]}: {fmt_expect(m.get('expect'))}" if region else "",
            "color": OUTCOME_COLORS.get(outcome, OUTCOME_OTHER)}
    raw = _strip_raw(json.dumps(spec, sort_keys=True, ensure_ascii=False, allow_nan=False))
    return inline_svg(raw, uid=uid, root_attrs={"class": "strip", "viewBox": "0 0 460 68", "width": "460",
                                                "height": "68", "role": "img", "aria-label": label})


# ------------------------------------------------------------------------------------------------ verdict bar

@lru_cache(maxsize=64)
def _bar_raw(segments_json: str) -> str:
    segments = json.loads(segments_json)

    def build(fig) -> None:
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_axis_off()
        total = sum(n for _v, n, _fg, _bg in segments) or 1
        ax.set_xlim(0, total)
        ax.set_ylim(0, 1)
        x = 0
        for _v, n, fg, bg in segments:
            ax.barh(0.5, n, left=x, height=1, color=bg, edgecolor=fg, linewidth=1.5, gid="qp-segment")
            x += n

    return _draw(build, 1000, 28)


def render_verdict_bar(counts: list[tuple[str, int]]) -> str:
    """The share of claims by verdict as one stacked bar (``<svg class="vbar">``); '' when there are no claims."""
    segments = [(v, n, *VERDICT_COLORS.get(v, UNKNOWN_VERDICT)) for v, n in counts if n > 0]
    if not segments:
        return ""
    raw = _bar_raw(json.dumps(segments, ensure_ascii=False))
    label = "Share of claims by verdict: " + ", ".join(f"{v} {n}" for v, n, _fg, _bg in segments)
    return inline_svg(raw, uid="vbar", root_attrs={"class": "vbar", "viewBox": "0 0 1000 28",
                                                   "preserveAspectRatio": "none", "role": "img",
                                                   "aria-label": label})

"""Render a ledger (``quantproof.ledger/1``, see docs/LEDGER_SCHEMA.md) as one self-contained HTML page.

``render_html(ledger, baseline=None) -> str`` returns a page a referee can open from disk: CSS and JavaScript are
inline, plots are inline SVG drawn here from each measurement's ``plots`` data, and a Content-Security-Policy
(``default-src 'none'`` plus the hashes of the page's own script and styles) forbids every network request and
every script that is not ours.

Rules the renderer keeps:

* every string that comes from a ledger is HTML-escaped (text and attributes); JSON embedded in a ``<script>``
  block has ``<``, ``>``, ``&`` and U+2028/2029 escaped, so ``</script>`` and ``<!--`` cannot appear in it;
* deterministic: the same ledger gives the same bytes (no clock, no randomness, mappings rendered in sorted order);
* accessible: a semantic table with sortable column buttons, labelled filters, disclosure buttons (Enter/Space)
  for each claim's details, visible focus, colour pairs with a WCAG AA contrast ratio of at least 4.5:1
  (checked by the unit tests through :func:`contrast_ratio`).
"""

from __future__ import annotations

import base64
import hashlib
import html as _html
import json
import math
import re
from collections import Counter
from importlib import resources
from typing import Any, Iterable

__all__ = [
    "render_html", "render_plot_svg", "diff_ledgers", "compute_summary", "contrast_ratio", "relative_luminance",
    "VERDICTS", "VERDICT_COLORS", "TONE_COLORS", "THEME", "PLOT_PALETTE", "contrast_pairs", "measurement_status",
    "json_for_script",
]

# --------------------------------------------------------------------------------------------------------------
# Vocabulary and colours
# --------------------------------------------------------------------------------------------------------------

VERDICTS: tuple[str, ...] = ("verified", "supported", "refuted", "mis-stated", "vacuous", "not-reproduced",
                             "conflicting", "open", "unchecked", "error")

VERDICT_HELP: dict[str, str] = {
    "verified": "an asserting Lean proof is kernel-checked",
    "supported": "asserting tests or measurements hold",
    "refuted": "the literal claim is contradicted",
    "mis-stated": "false as written, a corrected statement holds",
    "vacuous": "true only trivially",
    "not-reproduced": "the seed's figure did not reproduce on our model",
    "conflicting": "evidence disagrees",
    "open": "a conjecture, or stated only with sorry",
    "unchecked": "nothing decisive ran",
    "error": "every piece of evidence crashed",
}

# (text colour, background colour) for each verdict badge; every pair has contrast >= 4.5:1 (unit-tested).
VERDICT_COLORS: dict[str, tuple[str, str]] = {
    "verified": ("#0b4a1f", "#c9eed5"),
    "supported": ("#24511a", "#e4f4d6"),
    "refuted": ("#8a0f0f", "#fbd9d9"),
    "mis-stated": ("#733500", "#fde2c6"),
    "vacuous": ("#4a2a7a", "#ebe0f8"),
    "not-reproduced": ("#5e4600", "#fbefc0"),
    "conflicting": ("#7a1250", "#f9d7ec"),
    "open": ("#143f7a", "#dbe8fb"),
    "unchecked": ("#383d44", "#e6e8eb"),
    "error": ("#ffffff", "#8a0f0f"),
}
_UNKNOWN_VERDICT = ("#383d44", "#ffffff")

# Tones for channel statuses (text colour, background colour); also >= 4.5:1.
TONE_COLORS: dict[str, tuple[str, str]] = {
    "good": ("#0b4a1f", "#dcf3e3"),
    "bad": ("#8a0f0f", "#fde0e0"),
    "warn": ("#663d00", "#fff0cc"),
    "info": ("#143f7a", "#e0ebfc"),
    "neutral": ("#383d44", "#eceef1"),
    "error": ("#ffffff", "#8a0f0f"),
}

STATUS_TONES: dict[str, dict[str, str]] = {
    "formal": {"proved": "good", "refuted": "bad", "sorry": "warn", "build-failed": "error", "missing": "warn",
               "not-built": "neutral", "open": "info", "none": "neutral"},
    "tests": {"passed": "good", "failed": "bad", "error": "error", "skipped": "neutral", "none": "neutral",
              "not-run": "neutral"},
    "measurements": {"consistent": "good", "inconsistent": "bad", "not-run": "neutral", "error": "error",
                     "mixed": "info", "none": "neutral"},
}
STATUS_ORDER: dict[str, tuple[str, ...]] = {
    "formal": ("proved", "refuted", "sorry", "build-failed", "missing", "not-built", "open", "none"),
    "tests": ("passed", "failed", "error", "skipped", "not-run", "none"),
    "measurements": ("consistent", "inconsistent", "mixed", "not-run", "error", "none"),
}
CHANNELS = ("formal", "tests", "measurements")
CHANNEL_LABELS = {"formal": "Formal (Lean)", "tests": "Tests", "measurements": "Measurements"}
KIND_ORDER = ("theorem", "asymptotic", "arithmetic", "empirical", "definitional", "conjecture")

THEME: dict[str, str] = {
    "text": "#1b1f24",
    "muted": "#525a63",
    "bg": "#ffffff",
    "panel": "#f5f7f9",
    "border": "#c4cad1",
    "link": "#0a55c2",
    "focus": "#0a55c2",
    "accent_bg": "#12305a",
    "accent_text": "#ffffff",
    "code_bg": "#f1f3f5",
    "counterexample_bg": "#fff4f4",
    "counterexample_border": "#b42318",
}

# Series colours for plots (graphics need >= 3:1 against white; unit-tested) with distinct markers and dashes.
PLOT_PALETTE: tuple[str, ...] = ("#0a62a8", "#c0470a", "#007a52", "#a3367b", "#6b5500", "#5b4aa0", "#4d5560")
_MARKERS = ("circle", "square", "triangle", "diamond", "down", "plus", "cross")
_DASHES = ("", "6 3", "2 3", "8 3 2 3", "1 2", "10 4", "4 2 1 2")


def relative_luminance(color: str) -> float:
    """WCAG 2.x relative luminance of a ``#rgb`` / ``#rrggbb`` colour."""
    c = color.lstrip("#")
    if len(c) == 3:
        c = "".join(ch * 2 for ch in c)
    if len(c) != 6:
        raise ValueError(f"not a hex colour: {color!r}")
    chans = []
    for i in (0, 2, 4):
        v = int(c[i:i + 2], 16) / 255.0
        chans.append(v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4)
    r, g, b = chans
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: str, b: str) -> float:
    """WCAG contrast ratio (1..21) between two colours."""
    la, lb = relative_luminance(a), relative_luminance(b)
    hi, lo = max(la, lb), min(la, lb)
    return (hi + 0.05) / (lo + 0.05)


def contrast_pairs() -> list[tuple[str, str, str, float]]:
    """Every (name, foreground, background, required ratio) colour pair the page uses for text or graphics."""
    t = THEME
    pairs: list[tuple[str, str, str, float]] = [
        ("body text", t["text"], t["bg"], 4.5),
        ("body text on panel", t["text"], t["panel"], 4.5),
        ("muted text", t["muted"], t["bg"], 4.5),
        ("muted text on panel", t["muted"], t["panel"], 4.5),
        ("link", t["link"], t["bg"], 4.5),
        ("link on panel", t["link"], t["panel"], 4.5),
        ("code", t["text"], t["code_bg"], 4.5),
        ("counterexample", t["text"], t["counterexample_bg"], 4.5),
        ("header", t["accent_text"], t["accent_bg"], 4.5),
        ("focus ring", t["focus"], t["bg"], 3.0),
        ("focus ring on panel", t["focus"], t["panel"], 3.0),
    ]
    for v, (fg, bg) in VERDICT_COLORS.items():
        pairs.append((f"verdict {v}", fg, bg, 4.5))
    for tone, (fg, bg) in TONE_COLORS.items():
        pairs.append((f"tone {tone}", fg, bg, 4.5))
    for i, c in enumerate(PLOT_PALETTE):
        pairs.append((f"plot series {i}", c, t["bg"], 3.0))
    return pairs


# --------------------------------------------------------------------------------------------------------------
# Escaping and formatting helpers
# --------------------------------------------------------------------------------------------------------------

def esc(value: Any) -> str:
    """HTML-escape any value for text or a double- or single-quoted attribute."""
    if value is None:
        return ""
    return _html.escape(str(value), quote=True)


def json_for_script(obj: Any) -> str:
    """JSON safe inside ``<script type="application/json">``: no ``</``, ``<!--``, ``-->`` or raw U+2028/9."""
    text = json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _as_float(v: Any) -> float | None:
    """A finite float, or None (None, bool, non-numbers, 'nan'/'inf' strings, non-finite values)."""
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        f = float(v)
        return f if math.isfinite(f) else None
    if isinstance(v, str):
        try:
            f = float(v)
        except ValueError:
            return None
        return f if math.isfinite(f) else None
    return None


def fmt_num(v: Any) -> str:
    """Deterministic short number formatting (ints exact, floats to 6 significant digits)."""
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "∞" if v > 0 else "−∞"
        s = f"{v:.6g}"
        return s.replace("-", "−") if s.startswith("-") else s
    return str(v)


def _tick_label(v: float) -> str:
    if v == 0:
        return "0"
    s = f"{v:.4g}"
    if "e" in s:
        mant, ex = s.split("e")
        s = f"{mant}e{int(ex)}"
    return s.replace("-", "−")


def _c(v: float) -> str:
    """SVG coordinate."""
    s = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def _fmt_value(v: Any) -> str:
    """A parameter / mapping value as text (lists and dicts as compact sorted JSON)."""
    if isinstance(v, (dict, list)):
        return json.dumps(v, sort_keys=True, ensure_ascii=False)
    if isinstance(v, float) or isinstance(v, int) and not isinstance(v, bool):
        return fmt_num(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    return str(v)


def _get(d: Any, *path: str, default: Any = None) -> Any:
    cur = d
    for key in path:
        if not isinstance(cur, dict):
            return default
        cur = cur.get(key)
        if cur is None:
            return default
    return cur


def _str(v: Any) -> str:
    return "" if v is None else str(v)


def _list(v: Any) -> list:
    return v if isinstance(v, list) else []


def _dict(v: Any) -> dict:
    return v if isinstance(v, dict) else {}


_ID_SAFE = re.compile(r"[^a-z0-9_-]+")


def _dom_ids(claims: list[dict]) -> list[str]:
    """Unique, attribute-safe DOM ids for the claims (deterministic)."""
    out, seen = [], set()
    for i, c in enumerate(claims):
        raw = _str(c.get("id")) or f"claim-{i + 1}"
        base = _ID_SAFE.sub("-", raw.lower()).strip("-")[:80] or f"claim-{i + 1}"
        cand = f"c-{base}"
        if base != raw or cand in seen:
            cand = f"c-{base}-{hashlib.sha256(f'{i}:{raw}'.encode()).hexdigest()[:6]}"
        while cand in seen:
            cand += "-x"
        seen.add(cand)
        out.append(cand)
    return out


def _seed_short(seed: str) -> str:
    m = re.match(r"^(\d+)_", seed)
    return m.group(1) if m else seed


def _verdict_rank(v: str) -> int:
    return VERDICTS.index(v) if v in VERDICTS else len(VERDICTS)


def _kind_rank(k: str) -> tuple[int, str]:
    return (KIND_ORDER.index(k), k) if k in KIND_ORDER else (len(KIND_ORDER), k)


def _status_rank(channel: str, s: str) -> int:
    order = STATUS_ORDER[channel]
    return order.index(s) if s in order else len(order)


def _ordered(channel: str, values: Iterable[str]) -> list[str]:
    return sorted(set(values), key=lambda s: (_status_rank(channel, s), s))


def verdict_badge(verdict: str, extra: str = "") -> str:
    cls = verdict if verdict in VERDICT_COLORS else "unknown"
    title = VERDICT_HELP.get(verdict, "unrecognised verdict")
    return (f'<span class="badge v-{esc(cls)}{(" " + extra) if extra else ""}" title="{esc(title)}">'
            f'{esc(verdict or "—")}</span>')


def status_badge(channel: str, status: str) -> str:
    tone = STATUS_TONES.get(channel, {}).get(status, "neutral")
    return f'<span class="badge t-{tone}">{esc(status or "—")}</span>'


# --------------------------------------------------------------------------------------------------------------
# Ledger analysis (summary, channel statuses, diff)
# --------------------------------------------------------------------------------------------------------------

def measurement_status(claim: dict) -> str:
    """Aggregate of a claim's measurement outcomes: none | consistent | inconsistent | not-run | error | mixed."""
    outs = [_str(m.get("outcome")) or "not-run" for m in _list(claim.get("measurements")) if isinstance(m, dict)]
    if not outs:
        return "none"
    kinds = set(outs)
    if len(kinds) == 1:
        return outs[0]
    if "inconsistent" in kinds:
        return "inconsistent"
    if "error" in kinds:
        return "error"
    return "mixed"


def _channel_statuses(claim: dict) -> dict[str, str]:
    return {
        "formal": _str(_get(claim, "formal", "status")) or "none",
        "tests": _str(_get(claim, "tests", "status")) or "none",
        "measurements": measurement_status(claim),
    }


def compute_summary(claims: list[dict]) -> dict[str, Any]:
    """The ledger's ``summary`` recomputed from its claims (measurements channel counts every measurement)."""
    by_verdict = {v: 0 for v in VERDICTS}
    by_seed: dict[str, Counter] = {}
    by_kind: dict[str, Counter] = {}
    by_channel = {ch: Counter() for ch in CHANNELS}
    for c in claims:
        v = _str(c.get("verdict"))
        by_verdict[v] = by_verdict.get(v, 0) + 1
        by_seed.setdefault(_str(c.get("seed")), Counter())[v] += 1
        by_kind.setdefault(_str(c.get("kind")), Counter())[v] += 1
        by_channel["formal"][_str(_get(c, "formal", "status")) or "none"] += 1
        by_channel["tests"][_str(_get(c, "tests", "status")) or "none"] += 1
        for m in _list(c.get("measurements")):
            if isinstance(m, dict):
                by_channel["measurements"][_str(m.get("outcome")) or "not-run"] += 1
    return {
        "total": len(claims),
        "by_verdict": by_verdict,
        "by_seed": {k: dict(sorted(v.items())) for k, v in sorted(by_seed.items())},
        "by_kind": {k: dict(sorted(v.items())) for k, v in sorted(by_kind.items())},
        "by_channel": {k: dict(sorted(v.items())) for k, v in by_channel.items()},
    }


def _measurement_key(m: dict) -> str:
    return json.dumps([m.get("name"), m.get("output"), m.get("key"), m.get("params")], sort_keys=True,
                      ensure_ascii=False)


def _measurement_label(m: dict) -> str:
    params = _dict(m.get("params"))
    p = ", ".join(f"{k}={_fmt_value(params[k])}" for k in sorted(params))
    label = f"{_str(m.get('name'))}.{_str(m.get('output'))}"
    return f"{label}({p})" if p else label


def _claims_of(ledger: dict) -> list[dict]:
    return [c for c in _list(ledger.get("claims")) if isinstance(c, dict)]


def diff_ledgers(ledger: dict, baseline: dict) -> dict[str, Any]:
    """What changed from ``baseline`` to ``ledger``: added/removed claims, verdict and channel status changes."""
    cur = _claims_of(ledger)
    base = _claims_of(baseline)
    cur_ids = {_str(c.get("id")) for c in cur}
    base_by = {}
    for c in base:
        base_by.setdefault(_str(c.get("id")), c)
    added = [_str(c.get("id")) for c in cur if _str(c.get("id")) not in base_by]
    removed = [_str(c.get("id")) for c in base if _str(c.get("id")) not in cur_ids]
    changed = []
    seen = set()
    for c in cur:
        cid = _str(c.get("id"))
        if cid not in base_by or cid in seen:
            continue
        seen.add(cid)
        b = base_by[cid]
        entry: dict[str, Any] = {"id": cid, "title": _str(c.get("title")), "changes": []}
        bv, cv = _str(b.get("verdict")), _str(c.get("verdict"))
        if bv != cv:
            entry["verdict"] = [bv, cv]
        bs, cs = _channel_statuses(b), _channel_statuses(c)
        channels = {ch: [bs[ch], cs[ch]] for ch in CHANNELS if bs[ch] != cs[ch]}
        if channels:
            entry["channels"] = channels
        bm = {_measurement_key(m): m for m in _list(b.get("measurements")) if isinstance(m, dict)}
        cm = {_measurement_key(m): m for m in _list(c.get("measurements")) if isinstance(m, dict)}
        meas = []
        for k, m in cm.items():
            if k not in bm:
                meas.append([_measurement_label(m), None, _str(m.get("outcome"))])
            elif _str(bm[k].get("outcome")) != _str(m.get("outcome")):
                meas.append([_measurement_label(m), _str(bm[k].get("outcome")), _str(m.get("outcome"))])
        for k, m in bm.items():
            if k not in cm:
                meas.append([_measurement_label(m), _str(m.get("outcome")), None])
        if meas:
            entry["measurements"] = meas
        if _str(b.get("reason")) != _str(c.get("reason")):
            entry["reason"] = [_str(b.get("reason")), _str(c.get("reason"))]
        for field in ("statement", "quote", "title", "kind", "seed"):
            if _str(b.get(field)) != _str(c.get(field)):
                entry["changes"].append(field)
        if "verdict" in entry or "channels" in entry or "measurements" in entry:
            changed.append(entry)
    bsum = compute_summary(base)["by_verdict"]
    csum = compute_summary(cur)["by_verdict"]
    verdict_delta = {v: [bsum.get(v, 0), csum.get(v, 0)] for v in sorted(set(bsum) | set(csum), key=_verdict_rank)
                     if bsum.get(v, 0) != csum.get(v, 0)}
    prov = []
    bp, cp = _dict(baseline.get("provenance")), _dict(ledger.get("provenance"))
    for label, path in (("commit", ("commit",)), ("dirty", ("dirty",)), ("claims.yaml sha256", ("claims_sha256",)),
                        ("Lean built", ("lean", "built")), ("Lean toolchain", ("lean", "toolchain")),
                        ("Mathlib", ("lean", "mathlib")), ("device", ("device",)), ("dtype", ("dtype",)),
                        ("seed", ("seed",))):
        a, b2 = _get(bp, *path), _get(cp, *path)
        if a != b2:
            prov.append([label, _fmt_value(a), _fmt_value(b2)])
    for section in ("versions", "files"):
        a, b2 = _dict(bp.get(section)), _dict(cp.get(section))
        for k in sorted(set(a) | set(b2)):
            if a.get(k) != b2.get(k):
                prov.append([f"{section[:-1]} {k}", _fmt_value(a.get(k)) if k in a else "absent",
                             _fmt_value(b2.get(k)) if k in b2 else "absent"])
    return {"added": added, "removed": removed, "changed": changed, "verdict_delta": verdict_delta,
            "provenance": prov, "baseline_total": len(base), "total": len(cur)}


# --------------------------------------------------------------------------------------------------------------
# SVG plots
# --------------------------------------------------------------------------------------------------------------

def _nice_step(span: float, target: int = 5) -> float:
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / max(target, 1)
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag * (1 + 1e-9):
            return m * mag
    return 10 * mag


def _linear_ticks(lo: float, hi: float, target: int = 5) -> tuple[float, float, list[float]]:
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    step = _nice_step(hi - lo, target)
    start = math.floor(lo / step + 1e-9) * step
    end = math.ceil(hi / step - 1e-9) * step
    n = int(round((end - start) / step))
    ticks = [round(start + i * step, 12) for i in range(n + 1)]
    ticks = [0.0 if abs(t) < step * 1e-9 else t for t in ticks]
    return start, end, ticks


def _log_ticks(lo: float, hi: float) -> tuple[float, float, list[float]]:
    """Domain (in data units) and tick values for a log10 axis; lo, hi > 0."""
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        lo, hi = lo / 2, hi * 2
    elo, ehi = math.log10(lo), math.log10(hi)
    pad = (ehi - elo) * 0.04
    dlo, dhi = 10 ** (elo - pad), 10 ** (ehi + pad)
    ticks = [10.0 ** e for e in range(math.floor(elo - pad), math.ceil(ehi + pad) + 1)
             if dlo * (1 - 1e-9) <= 10.0 ** e <= dhi * (1 + 1e-9)]
    if len(ticks) < 3:
        extra = []
        for e in range(math.floor(elo - pad) - 1, math.ceil(ehi + pad) + 1):
            for m in (1, 2, 5):
                v = m * 10.0 ** e
                if dlo * (1 - 1e-9) <= v <= dhi * (1 + 1e-9):
                    extra.append(v)
        ticks = sorted(set(extra))
        if len(ticks) < 2:
            ticks = [dlo, dhi]
    return dlo, dhi, ticks


class _Axis:
    def __init__(self, values: list[float], log: bool, p0: float, p1: float, include_zero: bool = False,
                 categorical: list[float] | None = None):
        self.log = log
        self.p0, self.p1 = p0, p1
        self.categorical = categorical
        if categorical is not None:
            self.lo, self.hi = 0.0, float(len(categorical))
            self.ticks = list(categorical)
            return
        vals = [v for v in values if v is not None and (v > 0 or not log)]
        if not vals:
            vals = [1.0, 10.0] if log else [0.0, 1.0]
        lo, hi = min(vals), max(vals)
        if include_zero and not log:
            lo, hi = min(lo, 0.0), max(hi, 0.0)
        if log:
            self.lo, self.hi, self.ticks = _log_ticks(lo, hi)
        else:
            self.lo, self.hi, self.ticks = _linear_ticks(lo, hi)

    def __call__(self, v: float) -> float:
        if self.log:
            a, b, x = math.log10(self.lo), math.log10(self.hi), math.log10(v)
        else:
            a, b, x = self.lo, self.hi, v
        if b == a:
            return (self.p0 + self.p1) / 2
        return self.p0 + (x - a) / (b - a) * (self.p1 - self.p0)

    def category_center(self, i: int) -> float:
        return self.p0 + (i + 0.5) / max(len(self.categorical or [1]), 1) * (self.p1 - self.p0)


def _dash_attr(dash: str) -> str:
    return f' stroke-dasharray="{dash}"' if dash else ""


def _marker(shape: str, x: float, y: float, color: str, r: float = 3.6) -> str:
    X, Y = _c(x), _c(y)
    if shape == "circle":
        return f'<circle cx="{X}" cy="{Y}" r="{_c(r)}" fill="{color}"/>'
    if shape == "square":
        return f'<rect x="{_c(x - r)}" y="{_c(y - r)}" width="{_c(2 * r)}" height="{_c(2 * r)}" fill="{color}"/>'
    if shape == "triangle":
        return (f'<path d="M{_c(x)} {_c(y - r * 1.2)}L{_c(x + r * 1.1)} {_c(y + r * 0.9)}'
                f'L{_c(x - r * 1.1)} {_c(y + r * 0.9)}Z" fill="{color}"/>')
    if shape == "down":
        return (f'<path d="M{_c(x)} {_c(y + r * 1.2)}L{_c(x + r * 1.1)} {_c(y - r * 0.9)}'
                f'L{_c(x - r * 1.1)} {_c(y - r * 0.9)}Z" fill="{color}"/>')
    if shape == "diamond":
        return (f'<path d="M{_c(x)} {_c(y - r * 1.3)}L{_c(x + r * 1.3)} {_c(y)}L{_c(x)} {_c(y + r * 1.3)}'
                f'L{_c(x - r * 1.3)} {_c(y)}Z" fill="{color}"/>')
    if shape == "plus":
        return (f'<path d="M{_c(x - r)} {_c(y)}H{_c(x + r)}M{_c(x)} {_c(y - r)}V{_c(y + r)}" stroke="{color}" '
                f'stroke-width="2"/>')
    return (f'<path d="M{_c(x - r)} {_c(y - r)}L{_c(x + r)} {_c(y + r)}M{_c(x - r)} {_c(y + r)}'
            f'L{_c(x + r)} {_c(y - r)}" stroke="{color}" stroke-width="2"/>')


def _series_points(s: dict, log_x: bool, log_y: bool) -> tuple[list[tuple], int]:
    """[(x, y, lo, hi)] with None for values that cannot be drawn; count of points dropped."""
    xs, ys = _list(s.get("x")), _list(s.get("y"))
    los, his = _list(s.get("lo")), _list(s.get("hi"))
    n = max(len(xs), len(ys))
    pts, dropped = [], 0
    for i in range(n):
        x = _as_float(xs[i]) if i < len(xs) else None
        y = _as_float(ys[i]) if i < len(ys) else None
        lo = _as_float(los[i]) if i < len(los) else None
        hi = _as_float(his[i]) if i < len(his) else None
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


def render_plot_svg(plot: dict, uid: str = "plot") -> str:
    """One plot (``line`` | ``scatter`` | ``bar``) as an inline ``<svg>`` with axes, ticks, legend and CI bands."""
    plot = _dict(plot)
    kind = _str(plot.get("kind")) or "line"
    if kind not in ("line", "scatter", "bar"):
        kind = "line"
    log_x = bool(plot.get("log_x")) and kind != "bar"
    log_y = bool(plot.get("log_y"))
    series = [s for s in _list(plot.get("series")) if isinstance(s, dict)]
    title = _str(plot.get("title")) or _str(plot.get("id")) or "plot"
    x_label, y_label = _str(plot.get("x_label")), _str(plot.get("y_label"))

    data = []
    dropped = 0
    for s in series:
        pts, d = _series_points(s, log_x, log_y)
        dropped += d
        data.append((_str(s.get("name")), pts))

    W = 600
    ml, mr, mt = 70, 18, 36
    plot_h = 230
    # legend layout (rows of items, wrapped)
    legend_items, row, rows, x_cursor = [], [], [], 0.0
    for i, (name, _) in enumerate(data):
        w = 34 + 6.6 * len(name or f"series {i + 1}")
        if row and x_cursor + w > W - ml - mr:
            rows.append(row)
            row, x_cursor = [], 0.0
        row.append((i, x_cursor))
        x_cursor += w + 14
    if row:
        rows.append(row)
    legend_h = 18 * len(rows)
    x_axis_h = 46
    H = mt + plot_h + x_axis_h + legend_h + (16 if dropped else 0) + 6
    px0, px1 = ml, W - mr
    py0, py1 = mt + plot_h, mt  # y axis runs upwards

    all_x = [p[0] for _, pts in data for p in pts if p[0] is not None and p[1] is not None]
    all_y = [v for _, pts in data for p in pts if p[0] is not None and p[1] is not None
             for v in (p[1], p[2], p[3]) if v is not None]

    categories: list[float] | None = None
    if kind == "bar":
        categories = sorted(set(all_x))
        xa = _Axis([], False, px0, px1, categorical=categories)
    else:
        xa = _Axis(all_x, log_x, px0, px1)
    ya = _Axis(all_y, log_y, py0, py1, include_zero=(kind == "bar"))

    desc_parts = [f"{kind} plot", f"x: {x_label or 'x'}{' (log scale)' if log_x else ''}",
                  f"y: {y_label or 'y'}{' (log scale)' if log_y else ''}",
                  f"{len(data)} series: " + ", ".join(n or f"series {i + 1}" for i, (n, _) in enumerate(data))]
    tid, did = f"{uid}-t", f"{uid}-d"
    out = [f'<svg class="plot" viewBox="0 0 {W} {_c(H)}" width="{W}" height="{_c(H)}" role="img" '
           f'aria-labelledby="{esc(tid)} {esc(did)}" font-family="system-ui, sans-serif">',
           f'<title id="{esc(tid)}">{esc(title)}</title>',
           f'<desc id="{esc(did)}">{esc("; ".join(desc_parts))}</desc>',
           f'<rect x="0" y="0" width="{W}" height="{_c(H)}" fill="#ffffff"/>',
           f'<text x="{_c(W / 2)}" y="20" text-anchor="middle" font-size="14" font-weight="600" '
           f'fill="{THEME["text"]}">{esc(title)}</text>']
    # clip path for data
    clip = f"{uid}-clip"
    out.append(f'<clipPath id="{esc(clip)}"><rect x="{_c(px0)}" y="{_c(py1)}" width="{_c(px1 - px0)}" '
               f'height="{_c(py0 - py1)}"/></clipPath>')
    # grid + y ticks
    g = ['<g class="axis y-axis" font-size="11" fill="#3f464e">']
    for t in ya.ticks:
        y = ya(t)
        if y < py1 - 0.5 or y > py0 + 0.5:
            continue
        g.append(f'<line x1="{_c(px0)}" x2="{_c(px1)}" y1="{_c(y)}" y2="{_c(y)}" stroke="#e3e6ea"/>')
        g.append(f'<line x1="{_c(px0 - 5)}" x2="{_c(px0)}" y1="{_c(y)}" y2="{_c(y)}" stroke="#3f464e"/>')
        g.append(f'<text x="{_c(px0 - 8)}" y="{_c(y + 4)}" text-anchor="end">{esc(_tick_label(t))}</text>')
    g.append("</g>")
    out.extend(g)
    # x ticks
    g = ['<g class="axis x-axis" font-size="11" fill="#3f464e">']
    if categories is not None:
        step = max(1, math.ceil(len(categories) / 20))
        for i, t in enumerate(categories):
            x = xa.category_center(i)
            g.append(f'<line x1="{_c(x)}" x2="{_c(x)}" y1="{_c(py0)}" y2="{_c(py0 + 5)}" stroke="#3f464e"/>')
            if i % step == 0:
                g.append(f'<text x="{_c(x)}" y="{_c(py0 + 18)}" text-anchor="middle">{esc(_tick_label(t))}</text>')
    else:
        for t in xa.ticks:
            x = xa(t)
            if x < px0 - 0.5 or x > px1 + 0.5:
                continue
            g.append(f'<line x1="{_c(x)}" x2="{_c(x)}" y1="{_c(py1)}" y2="{_c(py0)}" stroke="#eef0f2"/>')
            g.append(f'<line x1="{_c(x)}" x2="{_c(x)}" y1="{_c(py0)}" y2="{_c(py0 + 5)}" stroke="#3f464e"/>')
            g.append(f'<text x="{_c(x)}" y="{_c(py0 + 18)}" text-anchor="middle">{esc(_tick_label(t))}</text>')
    g.append("</g>")
    out.extend(g)
    # axes frame
    out.append(f'<path d="M{_c(px0)} {_c(py1)}V{_c(py0)}H{_c(px1)}" fill="none" stroke="#3f464e"/>')
    # axis labels
    xl = (x_label or "x") + (" (log)" if log_x else "")
    yl = (y_label or "y") + (" (log)" if log_y else "")
    out.append(f'<text x="{_c((px0 + px1) / 2)}" y="{_c(py0 + 38)}" text-anchor="middle" font-size="12" '
               f'fill="{THEME["text"]}">{esc(xl)}</text>')
    out.append(f'<text transform="translate(16 {_c((py0 + py1) / 2)}) rotate(-90)" text-anchor="middle" '
               f'font-size="12" fill="{THEME["text"]}">{esc(yl)}</text>')

    # data
    body = [f'<g clip-path="url(#{esc(clip)})">']
    if kind == "bar" and categories is not None:
        slot = (px1 - px0) / max(len(categories), 1)
        present: dict[float, list[int]] = {c: [] for c in categories}
        for si, (_, pts) in enumerate(data):
            for p in pts:
                if p[0] is not None and p[1] is not None and si not in present[p[0]]:
                    present[p[0]].append(si)
        base_v = ya.lo if log_y else 0.0
        base_y = ya(base_v) if (log_y or ya.lo <= 0 <= ya.hi) else py0
        for si, (_, pts) in enumerate(data):
            color = PLOT_PALETTE[si % len(PLOT_PALETTE)]
            for p in pts:
                if p[0] is None or p[1] is None:
                    continue
                ci = categories.index(p[0])
                group = present[p[0]]
                inner = slot * 0.8
                bw = inner / max(len(group), 1)
                x0 = px0 + ci * slot + slot * 0.1 + group.index(si) * bw
                y = ya(p[1])
                top, bot = min(y, base_y), max(y, base_y)
                body.append(f'<rect x="{_c(x0 + 1)}" y="{_c(top)}" width="{_c(max(bw - 2, 1))}" '
                            f'height="{_c(max(bot - top, 0.5))}" fill="{color}" fill-opacity="0.85">'
                            f'<title>{esc(_tick_label(p[0]))}: {esc(fmt_num(p[1]))}</title></rect>')
                if p[2] is not None and p[3] is not None:
                    cx = x0 + bw / 2
                    body.append(f'<path d="M{_c(cx)} {_c(ya(p[2]))}V{_c(ya(p[3]))}M{_c(cx - 4)} {_c(ya(p[2]))}'
                                f'H{_c(cx + 4)}M{_c(cx - 4)} {_c(ya(p[3]))}H{_c(cx + 4)}" stroke="#1b1f24" '
                                f'stroke-width="1.4" fill="none" class="ci"/>')
    else:
        for si, (_, pts) in enumerate(data):
            color = PLOT_PALETTE[si % len(PLOT_PALETTE)]
            shape = _MARKERS[si % len(_MARKERS)]
            good = [p for p in pts if p[0] is not None and p[1] is not None]
            # CI band (line) or error bars (scatter)
            with_ci = [p for p in good if p[2] is not None and p[3] is not None]
            if with_ci and kind == "line":
                segs, cur = [], []
                for p in pts:
                    if p[0] is not None and p[1] is not None and p[2] is not None and p[3] is not None:
                        cur.append(p)
                    elif cur:
                        segs.append(cur)
                        cur = []
                if cur:
                    segs.append(cur)
                for seg in segs:
                    upper = " ".join(f"{_c(xa(p[0]))},{_c(ya(p[3]))}" for p in seg)
                    lower = " ".join(f"{_c(xa(p[0]))},{_c(ya(p[2]))}" for p in reversed(seg))
                    body.append(f'<polygon class="ci" points="{upper} {lower}" fill="{color}" '
                                f'fill-opacity="0.18" stroke="none"/>')
            elif with_ci:
                for p in with_ci:
                    x = xa(p[0])
                    body.append(f'<path class="ci" d="M{_c(x)} {_c(ya(p[2]))}V{_c(ya(p[3]))}M{_c(x - 3)} '
                                f'{_c(ya(p[2]))}H{_c(x + 3)}M{_c(x - 3)} {_c(ya(p[3]))}H{_c(x + 3)}" '
                                f'stroke="{color}" stroke-width="1.2" fill="none"/>')
            if kind == "line":
                d, pen = [], False
                for p in pts:
                    if p[0] is None or p[1] is None:
                        pen = False
                        continue
                    d.append(f"{'L' if pen else 'M'}{_c(xa(p[0]))} {_c(ya(p[1]))}")
                    pen = True
                if d:
                    dash = _DASHES[si % len(_DASHES)]
                    body.append(f'<path d="{"".join(d)}" fill="none" stroke="{color}" stroke-width="2"'
                                f'{_dash_attr(dash)} '
                                f'stroke-linejoin="round"/>')
            if kind == "scatter" or len(good) <= 40:
                r = 3.6 if kind == "scatter" else 2.8
                for p in good:
                    body.append(_marker(shape, xa(p[0]), ya(p[1]), color, r))
    body.append("</g>")
    out.extend(body)

    # legend
    ly = py0 + x_axis_h + 8
    leg = ['<g class="legend" font-size="12">']
    for r_i, row in enumerate(rows):
        y = ly + r_i * 18
        for si, x_off in row:
            name = data[si][0] or f"series {si + 1}"
            color = PLOT_PALETTE[si % len(PLOT_PALETTE)]
            x = ml + x_off
            if kind == "bar":
                leg.append(f'<rect x="{_c(x)}" y="{_c(y - 5)}" width="18" height="10" fill="{color}" '
                           f'fill-opacity="0.85"/>')
            else:
                if kind == "line":
                    dash = _DASHES[si % len(_DASHES)]
                    leg.append(f'<path d="M{_c(x)} {_c(y)}H{_c(x + 24)}" stroke="{color}" stroke-width="2"'
                               f'{_dash_attr(dash)}/>')
                leg.append(_marker(_MARKERS[si % len(_MARKERS)], x + 12, y, color, 3.4))
            leg.append(f'<text x="{_c(x + 30)}" y="{_c(y + 4)}" fill="{THEME["text"]}">{esc(name)}</text>')
    leg.append("</g>")
    out.extend(leg)
    if dropped:
        why = "missing, non-finite" + (" or non-positive on a log axis" if (log_x or log_y) else "")
        out.append(f'<text x="{_c(ml)}" y="{_c(H - 8)}" font-size="11" fill="#525a63">{dropped} point'
                   f'{"s" if dropped != 1 else ""} not drawn ({esc(why)})</text>')
    out.append("</svg>")
    return "".join(out)


def _plot_data_table(plot: dict) -> str:
    rows = []
    total = 0
    for s in _list(_dict(plot).get("series")):
        if not isinstance(s, dict):
            continue
        xs, ys = _list(s.get("x")), _list(s.get("y"))
        los, his = _list(s.get("lo")), _list(s.get("hi"))
        for i in range(max(len(xs), len(ys))):
            total += 1
            if len(rows) >= 200:
                continue
            rows.append("<tr>" + "".join(f"<td>{esc(v)}</td>" for v in (
                _str(s.get("name")),
                fmt_num(xs[i]) if i < len(xs) else "—",
                fmt_num(ys[i]) if i < len(ys) else "—",
                fmt_num(los[i]) if i < len(los) else "—",
                fmt_num(his[i]) if i < len(his) else "—")) + "</tr>")
    more = f"<p class='muted'>First 200 of {total} points.</p>" if total > 200 else ""
    return ('<details class="plot-data"><summary>Plot data</summary><div class="scroll"><table class="data">'
            '<thead><tr><th scope="col">series</th><th scope="col">x</th><th scope="col">y</th>'
            '<th scope="col">lo</th><th scope="col">hi</th></tr></thead><tbody>'
            + "".join(rows) + "</tbody></table></div>" + more + "</details>")


# --------------------------------------------------------------------------------------------------------------
# Expectations and the estimate-vs-claim strip
# --------------------------------------------------------------------------------------------------------------

_OPS = {"gt": ">", "ge": "≥", "lt": "<", "le": "≤"}


def fmt_expect(expect: Any) -> str:
    if expect is None:
        return "—"
    if not isinstance(expect, dict):
        return _fmt_value(expect)
    parts = []
    for k in sorted(expect):
        v = expect[k]
        if k == "band" and isinstance(v, list) and len(v) == 2:
            parts.append(f"in [{fmt_num(v[0])}, {fmt_num(v[1])}]")
        elif k == "value":
            tol = expect.get("tol")
            parts.append(f"= {fmt_num(v)}" + (f" ± {fmt_num(tol)}" if tol is not None else ""))
        elif k == "tol":
            continue
        elif k == "at_least":
            parts.append(f"≥ {fmt_num(v)}")
        elif k == "at_most":
            parts.append(f"≤ {fmt_num(v)}")
        elif k == "greater_than":
            parts.append(f"> {fmt_num(v)}")
        elif k == "less_than":
            parts.append(f"< {fmt_num(v)}")
        elif k == "compare" and isinstance(v, dict):
            op = _OPS.get(_str(v.get("op")), _str(v.get("op")))
            margin = v.get("margin")
            parts.append(f"{op} [{_str(v.get('with'))}]" + (f" by margin {fmt_num(margin)}" if margin else ""))
        else:
            parts.append(f"{k}: {_fmt_value(v)}")
    return " and ".join(parts) if parts else "—"


def _expect_region(expect: Any, controls: dict[str, dict]) -> tuple[float | None, float | None, str] | None:
    """(lower, upper, label) of the claimed region; None bounds are unbounded; None if not drawable."""
    if not isinstance(expect, dict):
        return None
    if isinstance(expect.get("band"), list) and len(expect["band"]) == 2:
        a, b = _as_float(expect["band"][0]), _as_float(expect["band"][1])
        if a is not None and b is not None:
            return min(a, b), max(a, b), "claimed"
    if "value" in expect:
        x, t = _as_float(expect.get("value")), _as_float(expect.get("tol")) or 0.0
        if x is not None:
            return x - abs(t), x + abs(t), "claimed"
    for key, side in (("at_least", "lo"), ("greater_than", "lo"), ("at_most", "hi"), ("less_than", "hi")):
        if key in expect:
            a = _as_float(expect[key])
            if a is not None:
                return (a, None, "claimed") if side == "lo" else (None, a, "claimed")
    cmp_ = expect.get("compare")
    if isinstance(cmp_, dict):
        ctrl = controls.get(_str(cmp_.get("with")))
        cv = _as_float(_get(ctrl, "estimate", "value")) if ctrl else None
        if cv is not None:
            m = _as_float(cmp_.get("margin")) or 0.0
            op = _str(cmp_.get("op"))
            if op in ("gt", "ge"):
                return cv + m, None, f"claimed ({_str(cmp_.get('with'))} = {fmt_num(cv)})"
            if op in ("lt", "le"):
                return None, cv - m, f"claimed ({_str(cmp_.get('with'))} = {fmt_num(cv)})"
    return None


def _interval_svg(m: dict, controls: dict[str, dict], uid: str) -> str:
    e = _dict(m.get("estimate"))
    v, lo, hi = _as_float(e.get("value")), _as_float(e.get("lo")), _as_float(e.get("hi"))
    region = _expect_region(m.get("expect"), controls)
    if v is None:
        return ""
    pts = [p for p in (v, lo, hi) if p is not None]
    if region:
        pts += [p for p in region[:2] if p is not None]
    a, b = min(pts), max(pts)
    span = b - a
    pad = span * 0.12 if span > 0 else (abs(a) * 0.05 or 0.5)
    d_lo, d_hi, ticks = _linear_ticks(a - pad, b + pad, 4)
    W, H, x0, x1 = 460, 68, 16, 444
    y = 28

    def X(t: float) -> float:
        return x0 + (t - d_lo) / (d_hi - d_lo) * (x1 - x0) if d_hi > d_lo else (x0 + x1) / 2

    outcome = _str(m.get("outcome"))
    color = {"consistent": "#0b4a1f", "inconsistent": "#8a0f0f"}.get(outcome, "#383d44")
    label = f"estimate {fmt_num(v)}" + (f" [{fmt_num(lo)}, {fmt_num(hi)}]" if lo is not None and hi is not None
                                         else "")
    if region:
        label += f"; {region[2]} {fmt_expect(m.get('expect'))}"
    out = [f'<svg class="strip" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" '
           f'aria-label="{esc(label)}" font-family="system-ui, sans-serif">']
    if region:
        ra = X(region[0]) if region[0] is not None else x0
        rb = X(region[1]) if region[1] is not None else x1
        ra, rb = max(x0, min(ra, x1)), max(x0, min(rb, x1))
        out.append(f'<rect x="{_c(ra)}" y="{y - 12}" width="{_c(max(rb - ra, 2))}" height="24" fill="#dbe8fb" '
                   f'stroke="#143f7a" stroke-dasharray="3 2"/>')
        lx = max(x0 + 70, min((ra + rb) / 2, x1 - 70))
        out.append(f'<text x="{_c(lx)}" y="{y - 16}" text-anchor="middle" font-size="11" '
                   f'fill="#143f7a">{esc(region[2])}: {esc(fmt_expect(m.get("expect")))}</text>')
    out.append(f'<line x1="{x0}" x2="{x1}" y1="{y + 16}" y2="{y + 16}" stroke="#3f464e"/>')
    for t in ticks:
        tx = X(t)
        out.append(f'<line x1="{_c(tx)}" x2="{_c(tx)}" y1="{y + 16}" y2="{y + 20}" stroke="#3f464e"/>')
        out.append(f'<text x="{_c(tx)}" y="{y + 32}" text-anchor="middle" font-size="10.5" fill="#3f464e">'
                   f'{esc(_tick_label(t))}</text>')
    if lo is not None and hi is not None:
        out.append(f'<path d="M{_c(X(lo))} {y}H{_c(X(hi))}M{_c(X(lo))} {y - 6}V{y + 6}M{_c(X(hi))} {y - 6}'
                   f'V{y + 6}" stroke="{color}" stroke-width="2" fill="none"/>')
    if v is not None:
        out.append(f'<circle cx="{_c(X(v))}" cy="{y}" r="5" fill="{color}"/>')
    out.append("</svg>")
    return "".join(out)


# --------------------------------------------------------------------------------------------------------------
# Page sections
# --------------------------------------------------------------------------------------------------------------

def _dl(items: list[tuple[str, str]], cls: str = "kv") -> str:
    """Definition list; values are already-escaped HTML."""
    return f'<dl class="{cls}">' + "".join(f"<dt>{esc(k)}</dt><dd>{v}</dd>" for k, v in items) + "</dl>"


def _counts_inline(channel: str | None, counts: dict[str, int]) -> str:
    if not counts:
        return '<span class="muted">—</span>'
    if channel is None:
        keys = sorted(counts, key=lambda v: (_verdict_rank(v), v))
        return " ".join(f'<span class="pair">{verdict_badge(k, "sm")}<span class="n">{counts[k]}</span></span>'
                        for k in keys if counts[k])
    keys = _ordered(channel, counts)
    return " ".join(f'<span class="pair">{status_badge(channel, k)}<span class="n">{counts[k]}</span></span>'
                    for k in keys if counts[k])


def _verdict_bar(by_verdict: dict[str, int], total: int) -> str:
    if total <= 0:
        return ""
    W, H = 1000, 28
    x = 0.0
    out = [f'<svg class="vbar" viewBox="0 0 {W} {H}" preserveAspectRatio="none" role="img" '
           f'aria-label="Share of claims by verdict">']
    for v in sorted(by_verdict, key=lambda k: (_verdict_rank(k), k)):
        n = by_verdict[v]
        if not n:
            continue
        w = W * n / total
        fg, bg = VERDICT_COLORS.get(v, _UNKNOWN_VERDICT)
        out.append(f'<rect x="{_c(x)}" y="0" width="{_c(w)}" height="{H}" fill="{bg}" stroke="{fg}" '
                   f'stroke-width="1.5" vector-effect="non-scaling-stroke"><title>{esc(v)}: {n}</title></rect>')
        x += w
    out.append("</svg>")
    return "".join(out)


def _summary_section(ledger: dict, claims: list[dict]) -> str:
    computed = compute_summary(claims)
    summary = _dict(ledger.get("summary")) or computed
    by_verdict = _dict(summary.get("by_verdict")) or computed["by_verdict"]
    total = summary.get("total") if isinstance(summary.get("total"), int) else len(claims)
    parts = ['<section id="summary" aria-labelledby="summary-h"><h2 id="summary-h">Summary</h2>']
    mismatch = []
    if summary is not computed:
        if total != computed["total"]:
            mismatch.append(f"total {total} vs {computed['total']} claims listed")
        for v in sorted(set(by_verdict) | set(computed["by_verdict"]), key=lambda k: (_verdict_rank(k), k)):
            a, b = by_verdict.get(v, 0), computed["by_verdict"].get(v, 0)
            if a != b:
                mismatch.append(f"{v}: summary {a}, claims {b}")
    if mismatch:
        parts.append('<p class="alert" role="alert"><strong>The ledger&#39;s summary disagrees with its claims</strong>'
                     f' ({esc("; ".join(mismatch))}). Counts below are recomputed from the claims.</p>')
        by_verdict, total = computed["by_verdict"], computed["total"]
    parts.append(f'<p class="lead"><strong>{total}</strong> claim{"s" if total != 1 else ""} from '
                 f'<strong>{len(computed["by_seed"])}</strong> seed file{"s" if len(computed["by_seed"]) != 1 else ""}.</p>')
    parts.append(_verdict_bar(by_verdict, total))
    cards = ['<ul class="cards" aria-label="Claims by verdict">']
    for v in list(VERDICTS) + sorted(k for k in by_verdict if k not in VERDICTS):
        n = by_verdict.get(v, 0)
        fg_bg = "v-" + (v if v in VERDICT_COLORS else "unknown")
        cards.append(f'<li class="card{" zero" if not n else ""}"><span class="badge {esc(fg_bg)}">{esc(v)}</span>'
                     f'<span class="count">{esc(n)}</span><span class="help">{esc(VERDICT_HELP.get(v, ""))}</span>'
                     f'</li>')
    cards.append("</ul>")
    parts.append("".join(cards))

    # channels (from the ledger's summary; recomputed when absent)
    by_channel = _dict(summary.get("by_channel")) or computed["by_channel"]
    parts.append('<h3>Evidence channels</h3><div class="channels">')
    for ch in CHANNELS:
        counts = _dict(by_channel.get(ch)) or {}
        unit = "measurements" if ch == "measurements" else "claims"
        rows = "".join(f'<tr><td>{status_badge(ch, s)}</td><td class="num">{esc(counts[s])}</td></tr>'
                       for s in _ordered(ch, counts))
        parts.append(f'<table class="mini"><caption>{esc(CHANNEL_LABELS[ch])} <span class="muted">({unit})</span>'
                     f'</caption><thead><tr><th scope="col">status</th><th scope="col" class="num">count</th></tr>'
                     f'</thead><tbody>{rows or "<tr><td colspan=2 class=muted>none</td></tr>"}</tbody></table>')
    parts.append("</div>")

    # per seed and per kind
    for label, field, keyf in (("seed", "seed", lambda s: (s,)), ("kind", "kind", _kind_rank)):
        groups: dict[str, list[dict]] = {}
        for c in claims:
            groups.setdefault(_str(c.get(field)), []).append(c)
        parts.append(f'<h3>By {label}</h3><div class="scroll"><table class="grid group-table">'
                     f'<thead><tr><th scope="col">{esc(label)}</th><th scope="col" class="num">claims</th>'
                     f'<th scope="col">verdicts</th><th scope="col">formal</th><th scope="col">tests</th>'
                     f'<th scope="col">measurements</th></tr></thead><tbody>')
        for key in sorted(groups, key=keyf):
            cs = groups[key]
            verd = Counter(_str(c.get("verdict")) for c in cs)
            formal = Counter(_channel_statuses(c)["formal"] for c in cs)
            tests = Counter(_channel_statuses(c)["tests"] for c in cs)
            meas = Counter(_str(m.get("outcome")) or "not-run" for c in cs for m in _list(c.get("measurements"))
                           if isinstance(m, dict))
            name = f'<code>{esc(key)}</code>' if field == "seed" else esc(key or "—")
            parts.append(f'<tr><th scope="row">{name}</th><td class="num">{len(cs)}</td>'
                         f'<td>{_counts_inline(None, dict(verd))}</td>'
                         f'<td>{_counts_inline("formal", dict(formal))}</td>'
                         f'<td>{_counts_inline("tests", dict(tests))}</td>'
                         f'<td>{_counts_inline("measurements", dict(meas))}</td></tr>')
        parts.append("</tbody></table></div>")
    parts.append("</section>")
    return "".join(parts)


def _code(v: Any) -> str:
    return f"<code>{esc(v)}</code>" if v not in (None, "") else '<span class="muted">—</span>'


def _yesno(v: Any, yes: str = "yes", no: str = "no") -> str:
    if v is True:
        return f'<span class="badge t-good">{esc(yes)}</span>'
    if v is False:
        return f'<span class="badge t-warn">{esc(no)}</span>'
    return '<span class="muted">unknown</span>'


def _provenance_section(ledger: dict, claims: list[dict]) -> str:
    p = _dict(ledger.get("provenance"))
    lean = _dict(p.get("lean"))
    sel = _dict(ledger.get("selection"))
    run = _dict(ledger.get("run"))
    commit = _str(p.get("commit"))
    dirty = p.get("dirty")
    dirty_html = ('<span class="badge t-warn">dirty working tree</span>' if dirty is True else
                  '<span class="badge t-good">clean</span>' if dirty is False else '<span class="muted">unknown</span>')
    built = lean.get("built")
    seeds = sorted({_as_float(_get(m, "provenance", "seed")) for c in claims for m in _list(c.get("measurements"))
                    if isinstance(m, dict) and _as_float(_get(m, "provenance", "seed")) is not None})
    seed_txt = fmt_num(p.get("seed")) if p.get("seed") is not None else "—"
    if seeds and (len(seeds) > 1 or seeds[0] != _as_float(p.get("seed"))):
        seed_txt += " (measurements: " + ", ".join(fmt_num(int(s)) if s == int(s) else fmt_num(s) for s in seeds) + ")"
    parts = ['<section id="provenance" aria-labelledby="prov-h"><h2 id="prov-h">Provenance</h2><div class="prov">']
    parts.append('<div class="panel"><h3>Code</h3>' + _dl(cls="kv stack", items=[
        ("commit", _code(commit) if commit else '<span class="muted">unknown</span>'),
        ("working tree", dirty_html),
        ("claims.yaml sha256", _code(p.get("claims_sha256"))),
        ("schema", _code(ledger.get("schema"))),
    ]) + "</div>")
    parts.append('<div class="panel"><h3>Lean</h3>' + _dl(cls="kv stack", items=[
        ("toolchain", _code(lean.get("toolchain"))),
        ("Mathlib", _code(lean.get("mathlib"))),
        ("built in this run", _yesno(built, "built", "not built")),
        ("lake", _code(lean.get("lake"))),
    ]) + ("" if built is not False else
          '<p class="note">Lean was not built: formal evidence counts as not decisive (no claim is '
          '&ldquo;verified&rdquo; through it).</p>') + "</div>")
    parts.append('<div class="panel"><h3>Device</h3>' + _dl([
        ("device", _code(p.get("device"))),
        ("device name", esc(p.get("device_name")) or '<span class="muted">—</span>'),
        ("dtype", _code(p.get("dtype"))),
        ("seed", esc(seed_txt)),
    ]) + "</div>")
    sel_claims = sel.get("claims")
    parts.append('<div class="panel"><h3>Selection</h3>' + _dl([
        ("complete run", _yesno(ledger.get("complete"), "complete", "partial")),
        ("claims", esc(", ".join(map(str, sel_claims))) if isinstance(sel_claims, list) else
         esc("all") if sel_claims is None else esc(sel_claims)),
        ("skip measurements", esc(_fmt_value(sel.get("skip_measurements")))),
        ("skip tests", esc(_fmt_value(sel.get("skip_tests")))),
        ("device requested", _code(sel.get("device"))),
    ]) + "</div>")
    parts.append("</div>")
    versions = _dict(p.get("versions"))
    parts.append('<div class="prov2"><div><h3>Versions</h3><table class="grid mini"><thead><tr><th scope="col">'
                 'package</th><th scope="col">version</th></tr></thead><tbody>'
                 + ("".join(f"<tr><td>{esc(k)}</td><td><code>{esc(_fmt_value(versions[k]))}</code></td></tr>"
                            for k in sorted(versions)) or '<tr><td colspan="2" class="muted">none recorded</td></tr>')
                 + "</tbody></table></div>")
    files = dict(_dict(p.get("files")))
    if p.get("claims_sha256"):
        files.setdefault("claims.yaml", p.get("claims_sha256"))
    parts.append('<div><h3>Files (sha256)</h3><table class="grid mini files"><thead><tr><th scope="col">file</th>'
                 '<th scope="col">sha256</th></tr></thead><tbody>'
                 + ("".join(f"<tr><td>{esc(k)}</td><td><code class='hash'>{esc(_fmt_value(files[k]))}</code></td></tr>"
                            for k in sorted(files)) or '<tr><td colspan="2" class="muted">none recorded</td></tr>')
                 + "</tbody></table></div></div>")
    if run:
        durs = _dict(run.get("durations_s"))
        cache = _dict(run.get("cache"))
        items = [("started", esc(run.get("started_at")) or "—"), ("finished", esc(run.get("finished_at")) or "—")]
        if durs:
            items.append(("durations", esc(", ".join(f"{k} {fmt_num(durs[k])} s" for k in sorted(durs)))))
        if cache:
            items.append(("cache", esc(", ".join(f"{k} {_fmt_value(cache[k])}" for k in sorted(cache)))))
        for k in sorted(run):
            if k not in ("started_at", "finished_at", "durations_s", "cache"):
                items.append((k, esc(_fmt_value(run[k]))))
        parts.append('<details class="run"><summary>Run details (vary between identical runs)</summary>'
                     + _dl(items) + "</details>")
    parts.append("</section>")
    return "".join(parts)


def _arrow(a: Any, b: Any, channel: str | None) -> str:
    def one(x: Any) -> str:
        if x is None:
            return '<span class="muted">absent</span>'
        return verdict_badge(_str(x)) if channel is None else status_badge(channel, _str(x))
    return f'<span class="pair">{one(a)} <span aria-label="changed to">→</span> {one(b)}</span>'


def _diff_section(diff: dict, baseline: dict, dom_by_id: dict[str, str]) -> str:
    bp = _dict(baseline.get("provenance"))
    parts = ['<section id="changes" aria-labelledby="changes-h"><h2 id="changes-h">Changes since baseline</h2>',
             f'<p class="lead">Baseline: commit {_code(bp.get("commit"))}, {diff["baseline_total"]} claims '
             f'(run started {esc(_get(baseline, "run", "started_at") or "—")}). Now: {diff["total"]} claims. '
             f'<strong>{len(diff["changed"])}</strong> changed, <strong>{len(diff["added"])}</strong> added, '
             f'<strong>{len(diff["removed"])}</strong> removed.</p>']
    if diff["verdict_delta"]:
        parts.append('<p>Verdict counts: ' + "; ".join(
            f'{verdict_badge(v, "sm")} {a} → {b}' for v, (a, b) in diff["verdict_delta"].items()) + "</p>")
    if diff["changed"]:
        parts.append('<div class="scroll"><table class="grid diff" id="diff-changed"><caption>Changed claims'
                     '</caption><thead><tr><th scope="col">claim</th><th scope="col">verdict</th>'
                     '<th scope="col">channels</th><th scope="col">measurements</th></tr></thead><tbody>')
        for e in diff["changed"]:
            dom = dom_by_id.get(e["id"], "")
            link = f'<a href="#{esc(dom)}">{esc(e["title"] or e["id"])}</a>' if dom else esc(e["title"] or e["id"])
            verdict = _arrow(*e["verdict"], None) if "verdict" in e else '<span class="muted">unchanged</span>'
            chans = "<br>".join(f'{esc(ch)}: {_arrow(a, b, ch)}' for ch, (a, b) in e.get("channels", {}).items())
            meas = "<br>".join(f'<code>{esc(lbl)}</code>: {_arrow(a, b, "measurements")}'
                               for lbl, a, b in e.get("measurements", []))
            parts.append(f'<tr><th scope="row">{link}<div class="cid"><code>{esc(e["id"])}</code></div></th>'
                         f'<td>{verdict}</td><td>{chans or "<span class=muted>—</span>"}</td>'
                         f'<td>{meas or "<span class=muted>—</span>"}</td></tr>')
        parts.append("</tbody></table></div>")
    else:
        parts.append("<p>No claim changed verdict or channel status.</p>")
    if diff["added"]:
        parts.append('<h3>Added claims</h3><ul class="idlist" id="diff-added">' + "".join(
            f'<li><a href="#{esc(dom_by_id.get(i, ""))}"><code>{esc(i)}</code></a></li>' for i in diff["added"])
            + "</ul>")
    if diff["removed"]:
        removed = {_str(c.get("id")): c for c in _claims_of(baseline)}
        parts.append('<h3>Removed claims</h3><ul class="idlist" id="diff-removed">' + "".join(
            f'<li><code>{esc(i)}</code> — {esc(_str(removed.get(i, {}).get("title")))} '
            f'(was {verdict_badge(_str(removed.get(i, {}).get("verdict")), "sm")})</li>' for i in diff["removed"])
            + "</ul>")
    if diff["provenance"]:
        parts.append('<details><summary>Provenance changes</summary><table class="grid mini"><thead><tr>'
                     '<th scope="col">field</th><th scope="col">baseline</th><th scope="col">now</th></tr></thead>'
                     '<tbody>' + "".join(f"<tr><td>{esc(k)}</td><td><code class='hash'>{esc(a)}</code></td>"
                                         f"<td><code class='hash'>{esc(b)}</code></td></tr>"
                                         for k, a, b in diff["provenance"]) + "</tbody></table></details>")
    parts.append("</section>")
    return "".join(parts)


def _estimate_text(e: dict) -> tuple[str, str]:
    """(value text, interval text)."""
    unit = _str(e.get("unit"))
    v = fmt_num(e.get("value")) + (f" {unit}" if unit and e.get("value") is not None else "")
    lo, hi = e.get("lo"), e.get("hi")
    if lo is None and hi is None:
        return v, "—"
    level = _as_float(e.get("level"))
    lvl = f" ({fmt_num(round(level * 100, 6))}% CI)" if level is not None else ""
    return v, f"[{fmt_num(lo)}, {fmt_num(hi)}]{lvl}"


def _measurement_block(m: dict, claim_dom: str, mi: int, controls: dict[str, dict]) -> str:
    outcome = _str(m.get("outcome")) or "not-run"
    e = _dict(m.get("estimate"))
    value, interval = _estimate_text(e) if e else ("—", "—")
    params = _dict(m.get("params"))
    prov = _dict(m.get("provenance"))
    key_html = f' <span class="role">key: {esc(m.get("key"))}</span>' if m.get("key") else ""
    head = (f'<h5>{esc(_str(m.get("name")))}<span class="muted"> → </span>{esc(_str(m.get("output")))} '
            f'{status_badge("measurements", outcome)} <span class="role">role: {esc(_str(m.get("role")) or "—")}'
            f'</span>{key_html}'
            f'</h5>')
    items = [
        ("parameters", ", ".join(f"<code>{esc(k)}={esc(_fmt_value(params[k]))}</code>" for k in sorted(params))
         or '<span class="muted">defaults</span>'),
        ("claimed", esc(fmt_expect(m.get("expect")))),
        ("value", f'<strong>{esc(value)}</strong>'),
        ("interval", esc(interval)),
        ("n", esc(fmt_num(e.get("n"))) if e else "—"),
        ("method", esc(e.get("method")) or "—" if e else "—"),
        ("outcome", status_badge("measurements", outcome) + (f" {esc(m.get('reason'))}" if m.get("reason") else "")),
        ("model", esc(m.get("model")) or '<span class="muted">—</span>'),
        ("device / dtype", f"{_code(m.get('device'))} / {_code(m.get('dtype'))}"),
    ]
    out = [f'<div class="meas m-{esc(outcome)}">{head}<div class="meas-grid">{_dl(items)}'
           f'{_interval_svg(m, controls, f"{claim_dom}-m{mi}-s")}</div>']
    plots = [p for p in _list(m.get("plots")) if isinstance(p, dict)]
    if plots:
        out.append('<div class="plots">')
        for pi, p in enumerate(plots):
            uid = f"{claim_dom}-m{mi}-p{pi}"
            out.append(f'<figure class="fig">{render_plot_svg(p, uid)}{_plot_data_table(p)}</figure>')
        out.append("</div>")
    pf, pt, pn = _dict(prov.get("files")), _dict(prov.get("tensors")), _list(prov.get("notes"))
    if pf or pt or pn or prov.get("seed") is not None:
        rows = [("seed", esc(_fmt_value(prov.get("seed"))))]
        rows += [(f"file {k}", f"<code class='hash'>{esc(_fmt_value(pf[k]))}</code>") for k in sorted(pf)]
        rows += [(f"tensor {k}", f"<code class='hash'>{esc(_fmt_value(pt[k]))}</code>") for k in sorted(pt)]
        rows += [("note", esc(n)) for n in pn]
        out.append('<details class="mprov"><summary>Measurement provenance</summary>' + _dl(rows) + "</details>")
    out.append("</div>")
    return "".join(out)


def _claim_details(c: dict, dom: str, dom_by_id: dict[str, str], change: dict | None, is_new: bool) -> str:
    formal = _dict(c.get("formal"))
    tests = _dict(c.get("tests"))
    meas = [m for m in _list(c.get("measurements")) if isinstance(m, dict)]
    related = [r for r in _list(c.get("related"))]
    rel_html = ", ".join(
        (f'<a href="#{esc(dom_by_id[_str(r)])}"><code>{esc(r)}</code></a>' if _str(r) in dom_by_id
         else f"<code>{esc(r)}</code> <span class='muted'>(not in this ledger)</span>") for r in related)
    out = [f'<div class="detail" role="region" aria-label="Details of {esc(c.get("id"))}">']
    out.append(f'<p class="reason">{verdict_badge(_str(c.get("verdict")))} <span class="why">'
               f'{esc(c.get("reason")) or "<span class=muted>No reason recorded.</span>"}</span></p>')
    if change or is_new:
        if is_new:
            out.append('<p class="chg">New since the baseline.</p>')
        else:
            bits = []
            if change and "verdict" in change:
                bits.append("verdict " + _arrow(*change["verdict"], None))
            for ch, (a, b) in (change or {}).get("channels", {}).items():
                bits.append(f"{esc(ch)} {_arrow(a, b, ch)}")
            if change and "reason" in change:
                bits.append(f'previous reason: <q>{esc(change["reason"][0])}</q>')
            out.append('<p class="chg">Since the baseline: ' + "; ".join(bits) + "</p>")
    out.append('<div class="two">')
    out.append('<div><h4>Source quote</h4><blockquote class="quote">'
               f'{esc(c.get("quote")) or "<span class=muted>—</span>"}</blockquote>'
               f'<p class="muted small">from <code>{esc(c.get("seed"))}</code></p></div>')
    out.append(f'<div><h4>Precise statement</h4><p class="statement">{esc(c.get("statement")) or "—"}</p>')
    if c.get("notes"):
        out.append(f'<h4>Notes</h4><p class="notes">{esc(c.get("notes"))}</p>')
    if related:
        out.append(f"<p><strong>Related:</strong> {rel_html}</p>")
    out.append("</div></div>")

    # formal
    decls = [d for d in _list(formal.get("declarations")) if isinstance(d, dict)]
    out.append(f'<h4>Formal {status_badge("formal", _str(formal.get("status")) or "none")}</h4>')
    if decls:
        for d in decls:
            axioms = d.get("axioms")
            ax = ("<span class='muted'>not audited</span>" if axioms is None else
                  ", ".join(f"<code>{esc(a)}</code>" for a in axioms) if isinstance(axioms, list) and axioms else
                  "<span class='muted'>none</span>" if isinstance(axioms, list) else esc(axioms))
            loc = _str(d.get("file")) + (f":{d.get('line')}" if d.get("line") is not None else "")
            out.append(f'<div class="decl"><p><code class="name">{esc(d.get("name"))}</code> '
                       f'{status_badge("formal", _str(d.get("status")) or "none")} '
                       f'<span class="role">role: {esc(d.get("role"))}</span> '
                       f'<span class="muted small">{esc(loc)}</span></p>'
                       f'<pre class="lean" aria-label="Lean statement"><code>{esc(d.get("statement")) or "—"}</code></pre>'
                       f'<p class="small">axioms: {ax}'
                       + (f' · message: <code>{esc(d.get("message"))}</code>' if d.get("message") else "")
                       + "</p></div>")
    else:
        out.append('<p class="muted">No Lean declaration.</p>')

    # tests
    items = [t for t in _list(tests.get("items")) if isinstance(t, dict)]
    counts = " · ".join(f"{fmt_num(tests.get(k, 0) or 0)} {k}" for k in ("passed", "failed", "errors", "skipped"))
    out.append(f'<h4>Tests {status_badge("tests", _str(tests.get("status")) or "none")} '
               f'<span class="muted small">{esc(counts)}</span></h4>')
    if items:
        out.append('<div class="scroll"><table class="grid tests"><thead><tr><th scope="col">test</th>'
                   '<th scope="col">role</th><th scope="col">outcome</th><th scope="col">message</th></tr></thead>'
                   '<tbody>')
        for t in items:
            out.append(f'<tr><td><code>{esc(t.get("id"))}</code></td><td>{esc(t.get("role"))}</td>'
                       f'<td>{status_badge("tests", _str(t.get("outcome")))}</td>'
                       f'<td>{esc(t.get("message")) or "<span class=muted>—</span>"}</td></tr>')
            if t.get("counterexample"):
                ce = t["counterexample"]
                ce_text = ce if isinstance(ce, str) else json.dumps(ce, sort_keys=True, indent=2, ensure_ascii=False)
                out.append(f'<tr class="ce-row"><td colspan="4"><div class="counterexample"><strong>Counterexample'
                           f'</strong><pre><code>{esc(ce_text)}</code></pre></div></td></tr>')
        out.append("</tbody></table></div>")
    else:
        out.append('<p class="muted">No tests.</p>')

    # measurements
    ms = measurement_status(c)
    out.append(f'<h4>Measurements {status_badge("measurements", ms)}</h4>')
    if meas:
        controls = {_str(m.get("key")): m for m in meas if m.get("key")}
        for mi, m in enumerate(meas):
            out.append(_measurement_block(m, dom, mi, controls))
    else:
        out.append('<p class="muted">No measurements.</p>')
    out.append("</div>")
    return "".join(out)


def _claims_section(claims: list[dict], doms: list[str], dom_by_id: dict[str, str], diff: dict | None) -> str:
    changed = {e["id"]: e for e in diff["changed"]} if diff else {}
    added = set(diff["added"]) if diff else set()
    seeds = sorted({_str(c.get("seed")) for c in claims})
    kinds = sorted({_str(c.get("kind")) for c in claims}, key=_kind_rank)
    vcount = Counter(_str(c.get("verdict")) for c in claims)
    verdicts = [v for v in VERDICTS] + sorted(v for v in vcount if v not in VERDICTS)
    st = [_channel_statuses(c) for c in claims]

    def select(name: str, label: str, values: list[str], fmt=lambda v: v) -> str:
        opts = "".join(f'<option value="{esc(v)}">{esc(fmt(v) or "—")}</option>' for v in values)
        return (f'<div class="field"><label for="f-{name}">{esc(label)}</label>'
                f'<select id="f-{name}" data-filter="{name}"><option value="">all</option>{opts}</select></div>')

    parts = ['<section id="claims" aria-labelledby="claims-h"><h2 id="claims-h">Claims</h2>']
    parts.append('<noscript><p class="note">JavaScript is off: filtering and sorting are unavailable; every '
                 "claim's details are shown below.</p></noscript>")
    parts.append('<form class="filters js-only" id="filters" role="search" aria-label="Filter claims">')
    parts.append('<div class="field grow"><label for="f-q">Search</label><input type="search" id="f-q" '
                 'placeholder="id, title, quote, statement, Lean, reason…" autocomplete="off" spellcheck="false">'
                 '</div>')
    parts.append(select("seed", "Seed", seeds))
    parts.append(select("kind", "Kind", kinds))
    for ch in CHANNELS:
        parts.append(select(ch, CHANNEL_LABELS[ch], _ordered(ch, (s[ch] for s in st))))
    parts.append('<fieldset class="verdicts"><legend>Verdicts</legend>')
    for v in verdicts:
        cls = v if v in VERDICT_COLORS else "unknown"
        dis = " disabled" if not vcount.get(v) else ""
        parts.append(f'<label class="chk"><input type="checkbox" name="verdict" value="{esc(v)}" checked{dis}>'
                     f'<span class="badge v-{esc(cls)} sm">{esc(v)}</span> <span class="n">{vcount.get(v, 0)}</span>'
                     f'</label>')
    parts.append('<span class="vbtns"><button type="button" id="v-all" class="btn sm">all</button>'
                 '<button type="button" id="v-none" class="btn sm">none</button></span></fieldset>')
    if diff is not None:
        parts.append('<label class="chk"><input type="checkbox" id="f-changed"> only claims changed or added since '
                     'the baseline</label>')
    parts.append('<div class="actions"><button type="button" id="reset" class="btn">Reset filters</button>'
                 '<button type="button" id="expand-all" class="btn">Expand shown</button>'
                 '<button type="button" id="collapse-all" class="btn">Collapse all</button></div>')
    parts.append("</form>")
    parts.append(f'<p id="count" class="count" role="status" aria-live="polite">Showing {len(claims)} of '
                 f'{len(claims)} claims.</p>')

    cols = [("title", "Claim"), ("seed", "Seed"), ("kind", "Kind"), ("verdict", "Verdict"), ("formal", "Formal"),
            ("tests", "Tests"), ("measurements", "Measurements")]
    parts.append('<div class="scroll table-wrap"><table class="claims" id="claims-table">'
                 f'<caption class="sr-only">Claims; column headers sort the table; each claim button opens its details'
                 f'</caption><thead><tr>')
    for key, label in cols:
        parts.append(f'<th scope="col" data-col="{key}"><button type="button" class="sort" data-sort="{key}">'
                     f'{esc(label)}<span class="arrow" aria-hidden="true"></span></button></th>')
    parts.append("</tr></thead>")
    ncols = len(cols)
    for i, (c, dom) in enumerate(zip(claims, doms)):
        cid = _str(c.get("id"))
        v = _str(c.get("verdict"))
        s = st[i]
        meas = [m for m in _list(c.get("measurements")) if isinstance(m, dict)]
        flag = ""
        state = ""
        if cid in added:
            flag, state = '<span class="flag flag-new">new</span>', "added"
        elif cid in changed:
            flag, state = '<span class="flag flag-chg">changed</span>', "changed"
        tcounts = _dict(c.get("tests"))
        tests_txt = (f'{fmt_num(tcounts.get("passed", 0) or 0)}/{len(_list(tcounts.get("items")))}'
                     if _list(tcounts.get("items")) else "")
        meas_txt = f"{sum(1 for m in meas if m.get('outcome') == 'consistent')}/{len(meas)}" if meas else ""
        tests_n = (f' <span class="n" title="tests passed / tests">{esc(tests_txt)}</span>' if tests_txt else "")
        meas_n = (f' <span class="n" title="consistent / measurements">{esc(meas_txt)}</span>' if meas_txt else "")
        attrs = {
            "data-order": str(i), "data-id": cid, "data-title": _str(c.get("title")) or cid,
            "data-seed": _str(c.get("seed")), "data-kind": _str(c.get("kind")), "data-verdict": v,
            "data-verdict-rank": str(_verdict_rank(v)), "data-kind-rank": str(_kind_rank(_str(c.get("kind")))[0]),
            "data-formal": s["formal"], "data-formal-rank": str(_status_rank("formal", s["formal"])),
            "data-tests": s["tests"], "data-tests-rank": str(_status_rank("tests", s["tests"])),
            "data-measurements": s["measurements"],
            "data-measurements-rank": str(_status_rank("measurements", s["measurements"])),
            "data-diff": state,
        }
        attr_html = " ".join(f'{k}="{esc(val)}"' for k, val in attrs.items())
        parts.append(f'<tbody class="claim" id="{esc(dom)}" {attr_html}>')
        parts.append(
            f'<tr class="main-row"><th scope="row" class="title-cell">'
            f'<button type="button" class="toggle" aria-expanded="false" aria-controls="{esc(dom)}-d">'
            f'<span class="chev" aria-hidden="true"></span><span class="ttl">{esc(c.get("title") or cid)}</span>'
            f'</button>{flag}<div class="cid"><code>{esc(cid)}</code></div></th>'
            f'<td><span class="seed" title="{esc(c.get("seed"))}">{esc(_seed_short(_str(c.get("seed"))))}</span></td>'
            f'<td>{esc(c.get("kind"))}</td><td class="nw">{verdict_badge(v)}</td>'
            f'<td class="nw">{status_badge("formal", s["formal"])}</td>'
            f'<td class="nw">{status_badge("tests", s["tests"])}{tests_n}</td>'
            f'<td class="nw">{status_badge("measurements", s["measurements"])}{meas_n}</td></tr>')
        parts.append(f'<tr class="detail-row" id="{esc(dom)}-d" hidden><td colspan="{ncols}">'
                     + _claim_details(c, dom, dom_by_id, changed.get(cid), cid in added) + "</td></tr>")
        parts.append("</tbody>")
    parts.append("</table></div>")
    parts.append('<p id="empty" class="empty" hidden>No claim matches these filters.</p>')
    parts.append("</section>")
    return "".join(parts)


def _measurements_section(claims: list[dict], doms: list[str]) -> str:
    rows = []
    for c, dom in zip(claims, doms):
        for m in _list(c.get("measurements")):
            if not isinstance(m, dict):
                continue
            e = _dict(m.get("estimate"))
            value, interval = _estimate_text(e) if e else ("—", "—")
            ci = interval.split(" (", 1)
            interval_html = esc(ci[0]) + (f'<div class="muted small">{esc(ci[1].rstrip(")"))}</div>'
                                          if len(ci) == 2 else "")
            params = _dict(m.get("params"))
            params_html = ", ".join(f"{esc(k)}={esc(_fmt_value(params[k]))}" for k in sorted(params))
            key_html = f' <span class="muted">[{esc(m.get("key"))}]</span>' if m.get("key") else ""
            outcome = _str(m.get("outcome")) or "not-run"
            reason_html = f' <span class="small">{esc(m.get("reason"))}</span>' if m.get("reason") else ""
            rows.append(f'<tr><td><a href="#{esc(dom)}"><code>{esc(c.get("id"))}</code></a></td>'
                        f'<td><code class="mname">{esc(_str(m.get("name")))}.{esc(_str(m.get("output")))}</code>'
                        f'{f"<div class=params><code>{params_html}</code></div>" if params_html else ""}</td>'
                        f'<td>{esc(m.get("role"))}{key_html}</td>'
                        f'<td class="claimed">{esc(fmt_expect(m.get("expect")))}</td><td class="num">{esc(value)}</td>'
                        f'<td class="nw">{interval_html}</td><td class="num">{esc(fmt_num(e.get("n")) if e else "—")}</td>'
                        f'<td>{status_badge("measurements", outcome)}'
                        f'{reason_html}</td>'
                        f'<td class="model">{esc(m.get("model")) or "—"}<div class="muted small">{esc(m.get("device"))}'
                        f'{" / " + esc(m.get("dtype")) if m.get("dtype") else ""}</div></td></tr>')
    if not rows:
        return ""
    return ('<section id="measurements" aria-labelledby="meas-h"><h2 id="meas-h">Measurements</h2>'
            '<p class="muted">Every measurement in the ledger; plots are in each claim&#39;s details.</p>'
            '<div class="scroll"><table class="grid meas-table"><thead><tr><th scope="col">claim</th>'
            '<th scope="col">measurement</th><th scope="col">role</th><th scope="col">claimed</th>'
            '<th scope="col" class="num">value</th><th scope="col">interval</th><th scope="col" class="num">n</th>'
            '<th scope="col">outcome</th><th scope="col">model / device</th></tr></thead><tbody>'
            + "".join(rows) + "</tbody></table></div></section>")


def _search_text(c: dict) -> str:
    bits: list[str] = [_str(c.get(k)) for k in ("id", "title", "seed", "kind", "verdict", "quote", "statement",
                                                  "notes", "reason")]
    for d in _list(_get(c, "formal", "declarations")):
        if isinstance(d, dict):
            bits += [_str(d.get("name")), _str(d.get("statement")), _str(d.get("status"))]
    for t in _list(_get(c, "tests", "items")):
        if isinstance(t, dict):
            bits += [_str(t.get("id")), _str(t.get("outcome")), _str(t.get("message")),
                     _str(t.get("counterexample")) if isinstance(t.get("counterexample"), str) else ""]
    for m in _list(c.get("measurements")):
        if isinstance(m, dict):
            bits += [_measurement_label(m), _str(m.get("outcome")), _str(m.get("model")), _str(m.get("reason"))]
    return "\n".join(b for b in bits if b)


# --------------------------------------------------------------------------------------------------------------
# CSS and JS
# --------------------------------------------------------------------------------------------------------------

def _asset(name: str) -> str:
    return (resources.files("quantproof.ledger") / "assets" / name).read_text(encoding="utf-8")


def _css() -> str:
    """The page's stylesheet: colour variables and badge rules from the Python constants, then assets/ledger.css."""
    t = THEME
    root = (":root{color-scheme:light;" + "".join(f"--{k}:{v};" for k, v in (
        ("text", t["text"]), ("muted", t["muted"]), ("bg", t["bg"]), ("panel", t["panel"]), ("border", t["border"]),
        ("link", t["link"]), ("focus", t["focus"]), ("code", t["code_bg"]), ("accent-bg", t["accent_bg"]),
        ("accent-text", t["accent_text"]), ("ce-bg", t["counterexample_bg"]),
        ("ce-border", t["counterexample_border"]))) + "}\n")
    rules = "".join(f".v-{v}{{color:{fg};background:{bg};border-color:{fg}33}}\n"
                    for v, (fg, bg) in VERDICT_COLORS.items())
    rules += f".v-unknown{{color:{_UNKNOWN_VERDICT[0]};background:{_UNKNOWN_VERDICT[1]};border-color:#383d44}}\n"
    rules += "".join(f".t-{k}{{color:{fg};background:{bg}}}\n" for k, (fg, bg) in TONE_COLORS.items())
    return "\n" + root + rules + _asset("ledger.css")


_NOSCRIPT_CSS = "tr.detail-row[hidden]{display:table-row}.js-only{display:none!important}"



def _sha256_b64(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


# --------------------------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------------------------

def render_html(ledger: dict, baseline: dict | None = None) -> str:
    """The ledger as one self-contained HTML page (same ledger → same bytes).

    ``baseline``, when given, is an earlier ledger: the page then has a "Changes since baseline" section and
    marks changed/added claims in the table (with a filter for them).
    """
    ledger = _dict(ledger)
    claims = _claims_of(ledger)
    doms = _dom_ids(claims)
    dom_by_id: dict[str, str] = {}
    for c, d in zip(claims, doms):
        dom_by_id.setdefault(_str(c.get("id")), d)
    diff = diff_ledgers(ledger, _dict(baseline)) if baseline is not None else None
    prov = _dict(ledger.get("provenance"))
    commit = _str(prov.get("commit"))
    css = _css()
    js = _asset("ledger.js")
    csp = (f"default-src 'none'; script-src 'sha256-{_sha256_b64(js)}'; "
           f"style-src 'sha256-{_sha256_b64(css)}' 'sha256-{_sha256_b64(_NOSCRIPT_CSS)}'; img-src data:; "
           "base-uri 'none'; form-action 'none'")
    data = {"schema": _str(ledger.get("schema")),
            "search": {d: _search_text(c) for c, d in zip(claims, doms)}}
    total = len(claims)
    dirty = prov.get("dirty")
    complete = ledger.get("complete")

    head_meta = [f"schema <code>{esc(ledger.get('schema') or 'unknown')}</code>",
                 f"{total} claim{'s' if total != 1 else ''}"]
    if commit:
        head_meta.append(f"commit <code>{esc(commit[:12])}</code>" + (" (dirty)" if dirty is True else ""))
    if prov.get("device"):
        head_meta.append(f"device <code>{esc(prov.get('device'))}</code> / <code>{esc(prov.get('dtype'))}</code>")
    toc = [("summary", "Summary"), ("provenance", "Provenance")]
    if diff is not None:
        toc.append(("changes", "Changes since baseline"))
    toc.append(("claims", "Claims"))
    if any(_list(c.get("measurements")) for c in claims):
        toc.append(("measurements", "Measurements"))

    parts = [
        "<!DOCTYPE html>\n",
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n',
        f'<meta http-equiv="Content-Security-Policy" content="{esc(csp)}">\n',
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
        '<meta name="generator" content="quantproof.ledger.html">\n',
        '<meta name="referrer" content="no-referrer">\n',
        f"<title>QuantProof claim ledger — {total} claims{esc(' — ' + commit[:12]) if commit else ''}</title>\n",
        f"<style>{css}</style>\n",
        f"<noscript><style>{_NOSCRIPT_CSS}</style></noscript>\n",
        "</head>\n<body>\n",
        '<a class="skip" href="#claims-h">Skip to the claim table</a>\n',
        '<header class="top"><div class="wrap"><h1>QuantProof claim ledger</h1>',
        f'<p class="meta">{" · ".join(head_meta)}</p>',
        '<nav class="toc" aria-label="Sections"><ul>'
        + "".join(f'<li><a href="#{k}">{esc(v)}</a></li>' for k, v in toc) + "</ul></nav>",
        "</div></header>\n",
        '<main class="wrap">\n',
    ]
    if complete is False:
        parts.append('<p class="note" role="note"><strong>Partial run.</strong> Only part of the claims or '
                     'stages ran (see Selection under Provenance); absent evidence is not a pass.</p>')
    if dirty is True:
        parts.append('<p class="note" role="note"><strong>Uncommitted changes.</strong> The working tree was dirty '
                     'when this ledger was made; the commit alone does not reproduce it.</p>')
    parts.append(_summary_section(ledger, claims))
    parts.append("\n")
    parts.append(_provenance_section(ledger, claims))
    parts.append("\n")
    if diff is not None:
        parts.append(_diff_section(diff, _dict(baseline), dom_by_id))
        parts.append("\n")
    parts.append(_claims_section(claims, doms, dom_by_id, diff))
    parts.append("\n")
    parts.append(_measurements_section(claims, doms))
    parts.append("\n</main>\n")
    parts.append('<footer><div class="wrap">Generated by <code>quantproof.ledger.html</code> from a '
                 f'<code>{esc(ledger.get("schema") or "ledger")}</code> file. This page is self-contained: it makes '
                 'no network request (its Content-Security-Policy forbids them).</div></footer>\n')
    parts.append(f'<script type="application/json" id="qp-data">{json_for_script(data)}</script>\n')
    parts.append(f"<script>{js}</script>\n")
    parts.append("</body>\n</html>\n")
    return "".join(parts)

"""Text formatting of ledger values for the page: numbers, parameters, expectations, estimates, safe JSON.

Policy: every function is pure and deterministic (no locale, no clock); each accepts any JSON value (a ledger may
be old, partial or hostile) and returns plain text. Escaping is not done here: the templates autoescape, and
:func:`json_for_script` is the one producer of text that goes inside a ``<script>`` element.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

__all__ = ["as_float", "fmt_num", "fmt_value", "fmt_params", "fmt_expect", "tick_label", "estimate_text",
           "json_for_script", "get", "s", "lst", "dct", "clean_text"]


def get(d: Any, *path: str, default: Any = None) -> Any:
    """``d[path[0]][path[1]]…``, or ``default`` where a step is missing, None or not a mapping."""
    cur = d
    for key in path:
        if not isinstance(cur, dict):
            return default
        cur = cur.get(key)
        if cur is None:
            return default
    return cur


def s(v: Any) -> str:
    """A value as text ('' for None)."""
    return "" if v is None else str(v)


def lst(v: Any) -> list:
    return v if isinstance(v, list) else []


def dct(v: Any) -> dict:
    return v if isinstance(v, dict) else {}


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(v: Any) -> str:
    """Text with C0 control characters (other than tab and newlines) replaced by U+FFFD: they are not allowed in
    XML (the plots) and have no place on a page."""
    return _CONTROL.sub("\ufffd", s(v))


def as_float(v: Any) -> float | None:
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
        text = f"{v:.6g}"
        return text.replace("-", "−") if text.startswith("-") else text
    return str(v)


def tick_label(v: float) -> str:
    """An axis tick: 4 significant digits, exponent without padding, a true minus sign."""
    if v == 0:
        return "0"
    text = f"{v:.4g}"
    if "e" in text:
        mant, ex = text.split("e")
        text = f"{mant}e{int(ex)}"
    return text.replace("-", "−")


def fmt_value(v: Any) -> str:
    """A parameter / mapping value as text (lists and dicts as compact sorted JSON)."""
    if isinstance(v, (dict, list)):
        return json.dumps(v, sort_keys=True, ensure_ascii=False)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return fmt_num(v)
    if v is None:
        return "null"
    return str(v)


def fmt_params(params: Any) -> list[str]:
    """``["k=v", …]`` in key order."""
    p = dct(params)
    return [f"{k}={fmt_value(p[k])}" for k in sorted(p)]


_OPS = {"gt": ">", "ge": "≥", "lt": "<", "le": "≤"}


def fmt_expect(expect: Any) -> str:
    """What a measurement was expected to show, e.g. ``in [0.919, 0.965]``, ``= 0.6366 ± 0.02``, ``> [control]``."""
    if expect is None:
        return "—"
    if not isinstance(expect, dict):
        return fmt_value(expect)
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
            op = _OPS.get(s(v.get("op")), s(v.get("op")))
            margin = v.get("margin")
            parts.append(f"{op} [{s(v.get('with'))}]" + (f" by margin {fmt_num(margin)}" if margin else ""))
        else:
            parts.append(f"{k}: {fmt_value(v)}")
    return " and ".join(parts) if parts else "—"


def estimate_text(e: Any) -> tuple[str, str]:
    """(value text, interval text) of an estimate ``{"value", "lo", "hi", "level", "unit"}``; ("—", "—") if none."""
    e = dct(e)
    if not e:
        return "—", "—"
    unit = s(e.get("unit"))
    v = fmt_num(e.get("value")) + (f" {unit}" if unit and e.get("value") is not None else "")
    lo, hi = e.get("lo"), e.get("hi")
    if lo is None and hi is None:
        return v, "—"
    level = as_float(e.get("level"))
    lvl = f" ({fmt_num(round(level * 100, 6))}% CI)" if level is not None else ""
    return v, f"[{fmt_num(lo)}, {fmt_num(hi)}]{lvl}"


def json_for_script(obj: Any) -> str:
    """JSON safe inside ``<script type="application/json">``: no ``</``, ``<!--``, ``-->`` or raw U+2028/9."""
    text = json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))

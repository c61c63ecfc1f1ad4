"""Render a ledger (``quantproof.ledger/1``, see docs/LEDGER_SCHEMA.md) as one self-contained HTML page.

``render_html(ledger, baseline=None) -> str`` returns a page a referee can open from disk: CSS and JavaScript are
inline, plots are inline SVG drawn with matplotlib, and a Content-Security-Policy (``default-src 'none'`` plus the
hashes of the page's own script and styles) forbids every network request and every script that is not ours.

This module is the public face of the renderer; the work is split by job:

* :mod:`.theme` — verdict/status vocabulary, colours and their WCAG contrast checks;
* :mod:`.fmt` — formatting of numbers, parameters, expectations; JSON safe in a script element;
* :mod:`.analysis` — channel statuses, the summary recomputed from the claims, the diff to a baseline;
* :mod:`.plots` and :mod:`.svg` — charts drawn by matplotlib, made CSP-safe inline SVG;
* :mod:`.view`, :mod:`.view_claim`, :mod:`.view_seeds` — the view model (plain data for the templates);
* :mod:`.render` and ``templates/`` — Jinja2 (autoescaping on) and the CSP.

Guarantees (each held by tests/e2e and tests/reliability): every ledger string is escaped; same ledger, same
bytes; self-contained and offline; colour pairs meet WCAG AA; every control works from the keyboard.
"""

from __future__ import annotations

from .analysis import compute_summary, diff_ledgers, measurement_status
from .fmt import fmt_expect, fmt_num, json_for_script
from .plots import render_interval_svg, render_plot_svg
from .render import NOSCRIPT_CSS, render_html
from .theme import (PLOT_PALETTE, STATUS_ORDER, THEME, TONE_COLORS, VERDICT_COLORS, VERDICT_HELP, VERDICTS,
                    contrast_pairs, contrast_ratio, relative_luminance)
from .view import dom_ids
from .view_claim import search_text

__all__ = [
    "render_html", "render_plot_svg", "render_interval_svg", "diff_ledgers", "compute_summary", "contrast_ratio",
    "relative_luminance", "VERDICTS", "VERDICT_COLORS", "VERDICT_HELP", "TONE_COLORS", "THEME", "PLOT_PALETTE",
    "STATUS_ORDER", "contrast_pairs", "measurement_status", "json_for_script", "fmt_num", "fmt_expect",
]

# Names the tests of the first renderer used; kept so they keep reading naturally.
_dom_ids = dom_ids
_search_text = search_text
_NOSCRIPT_CSS = NOSCRIPT_CSS

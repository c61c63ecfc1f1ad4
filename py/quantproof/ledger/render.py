"""Render the page: the Jinja2 environment, the page's assets and its Content-Security-Policy.

Policy:

* autoescaping is on for every template; the only values marked safe are produced here or by the plots module:
  the stylesheet and script (the package's own assets), the embedded JSON (:func:`json_for_script` escapes
  ``<``, ``>``, ``&``) and the plots' SVG (serialised by :mod:`xml.etree`, which escapes text);
* the CSP is ``default-src 'none'`` plus the sha256 of the page's one script and its two style blocks, so the page
  can make no request and run nothing else; templates never write ``style=`` or event-handler attributes;
* deterministic: no clock, no randomness; the same ledger gives the same bytes.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from .fmt import json_for_script
from .theme import STATUS_TONES, VERDICT_COLORS, VERDICT_HELP, theme_css
from .view import build_page

__all__ = ["render_html", "NOSCRIPT_CSS", "environment"]

# Shown only without JavaScript: every claim's details and every seed unit's panel open, the filters (which need the
# script) hidden.
NOSCRIPT_CSS = ("tr.detail-row[hidden]{display:table-row}.unit-panel[hidden]{display:block}"
                ".js-only{display:none!important}")


def _asset(name: str) -> str:
    return (resources.files("quantproof.ledger") / "assets" / name).read_text(encoding="utf-8")


def page_css() -> str:
    """The page's stylesheet: colour variables and badge rules from the theme, then assets/ledger.css."""
    return theme_css() + _asset("ledger.css")


def _sha256_b64(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def _verdict_class(v: Any) -> str:
    return v if isinstance(v, str) and v in VERDICT_COLORS else "unknown"


def _verdict_help(v: Any) -> str:
    return VERDICT_HELP.get(v, "unrecognised verdict") if isinstance(v, str) else "unrecognised verdict"


def _tone(status: Any, channel: str) -> str:
    return STATUS_TONES.get(channel, {}).get(status, "neutral") if isinstance(status, str) else "neutral"


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=PackageLoader("quantproof.ledger", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(verdict_class=_verdict_class, verdict_help=_verdict_help, tone=_tone)
    return env


def render_html(ledger: dict, baseline: dict | None = None) -> str:
    """The ledger as one self-contained HTML page (same ledger → same bytes).

    ``baseline``, when given, is an earlier ledger: the page then has a "Changes since baseline" section and
    marks changed/added claims in the table (with a filter for them).
    """
    page = build_page(ledger, baseline)
    css, js = page_css(), _asset("ledger.js")
    csp = (f"default-src 'none'; script-src 'sha256-{_sha256_b64(js)}'; "
           f"style-src 'sha256-{_sha256_b64(css)}' 'sha256-{_sha256_b64(NOSCRIPT_CSS)}'; img-src data:; "
           "base-uri 'none'; form-action 'none'")
    return environment().get_template("page.html.j2").render(
        page, csp=csp, css=Markup(css), js=Markup(js), noscript_css=Markup(NOSCRIPT_CSS),
        data_json=Markup(json_for_script(page["data"])))

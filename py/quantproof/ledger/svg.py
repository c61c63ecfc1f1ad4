"""Turn an SVG written by matplotlib into inline SVG that the page's Content-Security-Policy allows.

matplotlib's SVG backend writes a ``<style>`` element and ``style="…"`` attributes; the page's CSP
(``style-src`` with hashes only) blocks both, so a plot would lose its colours. :func:`inline_svg` rewrites the
document:

* every ``style`` attribute becomes SVG presentation attributes (``fill``, ``stroke``, ``font-size`` …) from an
  allow-list; ``<style>``, ``<metadata>`` and anything outside the allow-listed elements are dropped;
* ids become unique on the page: every referenced id (``url(#…)``, ``href="#…"``) is renamed ``<uid>-<n>`` in
  document order, unreferenced ids are removed, and a matplotlib ``gid`` of the form ``qp-NAME`` becomes
  ``class="NAME"`` (how the plotting code tags legends, axes, CI bands and bars);
* text uses one font stack (DejaVu Sans, whose metrics matplotlib laid the chart out with, then fallbacks), set
  once on the chart's root group;
* ``xlink:href`` becomes ``href``; whitespace-only text goes; path data is put on one line.

Text is escaped by :mod:`xml.etree.ElementTree` on output, so a ledger string drawn into a plot (a title, a series
name) is text here as well. The output is deterministic: the same input and uid give the same bytes.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET

__all__ = ["inline_svg", "SvgError"]


class SvgError(ValueError):
    pass


ELEMENTS = {"svg", "g", "path", "rect", "circle", "ellipse", "line", "polyline", "polygon", "text", "tspan", "defs",
            "clipPath", "use", "title", "desc"}
STYLE_PROPS = {"fill", "fill-opacity", "fill-rule", "stroke", "stroke-width", "stroke-opacity", "stroke-linejoin",
               "stroke-linecap", "stroke-dasharray", "stroke-dashoffset", "stroke-miterlimit", "opacity",
               "font-size", "font-family", "font-weight", "font-style", "text-anchor", "dominant-baseline",
               "clip-path", "visibility", "letter-spacing"}
ATTRS = STYLE_PROPS | {"id", "class", "d", "x", "y", "x1", "x2", "y1", "y2", "cx", "cy", "r", "rx", "ry", "width",
                       "height", "points", "transform", "href", "viewBox", "clipPathUnits", "dx", "dy"}
FONT_STACK = "DejaVu Sans, Verdana, Arial, sans-serif"

_URL = re.compile(r"url\(#([^)]+)\)")
_WS = re.compile(r"\s+")


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1]


def _parse_style(style: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for decl in style.split(";"):
        if ":" not in decl:
            continue
        k, _, v = decl.partition(":")
        k, v = k.strip().lower(), v.strip()
        if k in STYLE_PROPS and v:
            out[k] = v
    return out


def _referenced(root: ET.Element) -> list[str]:
    """Ids referenced anywhere (``url(#x)`` in any attribute, ``href="#x"``), in document order, no repeats."""
    seen: dict[str, None] = {}
    for el in root.iter():
        for k, v in el.attrib.items():
            if _local(k) == "href" and v.startswith("#"):
                seen.setdefault(v[1:], None)
            for m in _URL.finditer(v):
                seen.setdefault(m.group(1), None)
    return list(seen)


def _clean(el: ET.Element, rename: dict[str, str]) -> ET.Element | None:
    tag = _local(el.tag)
    if tag not in ELEMENTS:
        return None
    out = ET.Element(tag)
    attrs: dict[str, str] = {}
    classes: list[str] = []
    for k, v in el.attrib.items():
        name = _local(k)
        if name == "style":
            for pk, pv in _parse_style(v).items():
                attrs.setdefault(pk, pv)
            continue
        if name == "id":
            if v in rename:
                attrs["id"] = rename[v]
            elif v.startswith("qp-"):
                classes.extend(c for c in v[3:].split(".") if re.fullmatch(r"[a-z][a-z0-9-]*", c))
            continue
        if name not in ATTRS:
            continue
        if name == "href":
            v = "#" + rename[v[1:]] if v.startswith("#") and v[1:] in rename else ""
            if not v:
                continue
        if name in ("d", "points", "transform"):
            v = _WS.sub(" ", v).strip()
        attrs[name] = _URL.sub(lambda m: f"url(#{rename.get(m.group(1), 'none')})", v)
    attrs.pop("font-family", None)  # one font stack for the whole chart, set on its root group
    if classes:
        attrs["class"] = " ".join(dict.fromkeys(classes))
    for k in sorted(attrs, key=lambda a: (a != "class", a != "id", 0)):
        out.set(k, attrs[k])
    text = el.text if el.text and el.text.strip() else None
    out.text = text
    for child in el:
        c = _clean(child, rename)
        if c is not None:
            out.append(c)
    if el.tail and el.tail.strip() and tag in ("tspan",):
        out.tail = el.tail
    if tag == "defs" and len(out) == 0:
        return None
    return out


def inline_svg(raw: str, *, uid: str, root_attrs: dict[str, str], title: str | None = None,
               desc: str | None = None) -> str:
    """matplotlib's SVG ``raw`` as an inline ``<svg>`` element whose attributes are ``root_attrs`` (in order), with
    an accessible ``<title>`` and ``<desc>`` (ids ``<uid>-t`` / ``<uid>-d``) when given."""
    start = raw.find("<svg")
    if start < 0:
        raise SvgError("no <svg> element")
    try:
        root = ET.fromstring(raw[start:])
    except ET.ParseError as exc:
        raise SvgError(f"matplotlib wrote invalid SVG: {exc}") from None
    if _local(root.tag) != "svg":
        raise SvgError("the document element is not <svg>")
    rename = {ref: f"{uid}-{i}" for i, ref in enumerate(_referenced(root))}
    body = ET.Element("g", {"stroke-linejoin": "round", "stroke-linecap": "butt", "font-family": FONT_STACK})
    for child in root:
        c = _clean(child, rename)
        if c is not None:
            body.append(c)
    parts = ["<svg"]
    for k, v in root_attrs.items():
        parts.append(f' {k}="{html.escape(v, quote=True)}"')
    parts.append(">")
    if title is not None:
        parts.append(f'<title id="{html.escape(uid)}-t">{html.escape(title, quote=False)}</title>')
    if desc is not None:
        parts.append(f'<desc id="{html.escape(uid)}-d">{html.escape(desc, quote=False)}</desc>')
    parts.append(ET.tostring(body, encoding="unicode", short_empty_elements=False))
    parts.append("</svg>")
    return "".join(parts)

"""Segment a seed (a research write-up in seeds/) into checkable units.

A *unit* is the smallest piece of a seed a claim can adjudicate:

* ``title`` / ``heading`` — the seed's first line when it reads as a title, Markdown ``#`` headings, whole-bold
  lines, and short unpunctuated lines that read as section titles ("The Mechanism", "2 — Isotropic floor and SRHT");
* ``sentence`` — a sentence of a paragraph line; ``item`` — a sentence of a list item;
* ``header`` — a table's header row; ``row`` — a data row holding at most one figure, or a row of a table written
  without pipes; ``cell`` — a cell of a data row that holds several figures (the row's first cell is its label,
  kept as context, not a unit);
* ``formula`` — a display formula (``$$ … $$``); ``code`` — a line of a fenced code block with letters or digits
  (a line of box-drawing or punctuation only is kept as text, not a unit).

Unit ids are ``<seed number>/<section>/<hash>``: the section is a slug of the heading the unit sits under (``top``
before the first heading after the title), and the hash is the first 6 hex digits of the sha256 of the unit's kind,
context and normalised text, plus its position within the section counted among units with that same content (0
for the first). So an edit to a sentence shows up as a changed unit (a new id, the old id gone), while inserting or
deleting a unit renumbers nothing else.

Sentence boundaries: ``.``, ``!`` or ``?`` (with closing quotes or brackets) followed by white space and a letter,
digit, opening bracket or quote — never inside ``$…$`` or ``\\(…\\)`` math, after a decimal point, or after the
abbreviations in :data:`ABBREVIATIONS` (a lower-case start counts: the seeds begin formulas with symbols, as in
"≈ 3.5 characters. bpc = 1.8 / …").

Everything here is a pure function of the seed's text; :func:`segment` never reads a file.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

__all__ = ["Unit", "Line", "Block", "Segmentation", "segment", "seed_title", "normalise", "UNIT_KINDS"]

UNIT_KINDS = ("title", "heading", "sentence", "item", "header", "row", "cell", "formula", "code")
MIN_WORDS = 3  # a sentence piece with fewer words joins its neighbour
ABBREVIATIONS = ("e.g.", "i.e.", "vs.", "etc.", "Dr.", "Prof.", "Mr.", "Ms.", "Mrs.", "al.", "Fig.", "Eq.", "approx.",
                 "cf.", "No.", "St.")

_FENCE = re.compile(r"^\s*```")
_HR = re.compile(r"^\s*(?:-{3,}|\*{3,}|_{3,})\s*$")
_MD_HEADING = re.compile(r"^\s*(#{1,6})\s+(.*?)\s*#*\s*$")
_BOLD_LINE = re.compile(r"^\s*\*\*([^*]+)\*\*\s*$")
_LIST = re.compile(r"^(\s*)([-*•]|\d{1,3}[.)])\s+(?=\S)")
_NUMBERED_SECTION = re.compile(r"^\d{1,3}\s+[—–-]\s+\S")
_TABLE_SEP = re.compile(r"^\s*\|?(\s*:?-{2,}:?\s*\|)+\s*:?-*:?\s*\|?\s*$")
_URL_LINE = re.compile(r"^\s*<?https?://\S+>?\s*$")
_HAS_WORD = re.compile(r"[^\W_]", re.UNICODE)
_DIGIT = re.compile(r"\d")


@dataclass(frozen=True)
class Unit:
    id: str
    kind: str
    text: str
    start: int  # offset of the unit's first character in the seed text (str index)
    end: int    # offset one past its last character
    line: int   # 1-based line of its first character
    section: str
    context: str  # a cell's "<row label> · <column header>", else ""
    label: tuple[int, int] | None = None  # a cell's row label (start, end): part of the row, not a unit of its own


@dataclass(frozen=True)
class Line:
    """One line of a block: the units on it, or (for a line that holds none) its text; a table row's label."""

    line: int
    units: tuple[str, ...]
    text: str = ""
    label: str = ""
    indent: int = 0  # leading spaces of a code line (its unit's text is stripped)


@dataclass(frozen=True)
class Block:
    kind: str  # heading | paragraph | list | table | code | formula
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class Segmentation:
    seed: str
    title: str
    text: str
    units: tuple[Unit, ...]
    blocks: tuple[Block, ...]

    def by_id(self) -> dict[str, Unit]:
        return {u.id: u for u in self.units}


def normalise(text: str) -> str:
    """NFC, runs of white space as one space, stripped: the form quotes and units are compared in."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()


def _slug(text: str, limit: int = 28) -> str:
    words = re.findall(r"[a-z0-9]+", unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower())
    out = ""
    for w in words:
        if out and len(out) + 1 + len(w) > limit:
            break
        out = f"{out}-{w}" if out else w[:limit]
    return out or "section"


def _seed_number(seed: str) -> str:
    m = re.match(r"^(\d+)_", seed)
    return m.group(1) if m else _slug(seed.rsplit(".", 1)[0], 12)


def _heading_text(s: str) -> str:
    m = _MD_HEADING.match(s)
    if m:
        s = m.group(2)
    b = _BOLD_LINE.match(s)
    if b:
        s = b.group(1)
    return s.strip().strip("*").strip()


def _reads_as_heading(s: str, first: bool) -> bool:
    """A short, unpunctuated line that reads as a section title (see the module docstring)."""
    s = s.strip()
    if _MD_HEADING.match(s) or _BOLD_LINE.match(s):
        return True
    if not _HAS_WORD.search(s) or _URL_LINE.match(s) or _LIST.match(s) or s.startswith(("|", "$", "\\")):
        return False
    if s[-1] in ".,;:!?→" or s[0] in "↓↳•*(\"'‘“[":
        return False
    words = s.split()
    if _NUMBERED_SECTION.match(s):
        return len(words) <= 14
    if not (s[0].isupper() or s[0].isdigit()) or len(words) > (16 if first else 8):
        return False
    if re.search(r"\w:\s", s):  # "For random matrices: Df ≈ n" is a statement, not a title
        return False
    return sum(1 for w in words if _DIGIT.search(w)) <= 2


def _reads_as_row(s: str) -> bool:
    """A line of a table written without pipes ("L0 mlp_gate_proj 2112×2816 0.780 0.941 0.941 +0.16"): no sentence
    punctuation at its end, at least three figures, and figures for at least half of its words."""
    words = s.split()
    figures = sum(1 for w in words if re.fullmatch(r"[+−-]?\d[\d.,×x%]*\w*", w))
    return s[-1] not in ".,;:!?)" and figures >= 3 and 2 * figures >= len(words)


def _math_spans(text: str) -> list[tuple[int, int]]:
    spans = []
    for m in re.finditer(r"\$\$.+?\$\$|\$[^$\n]+?\$|\\\(.+?\\\)", text):
        spans.append(m.span())
    return spans


_BOUNDARY = re.compile(r"[.!?]+[\"'’”)\]]*(?=\s+[\"'‘“(\[$\\]?[^\W_])")
_ABBREVIATION = re.compile(r"(?<![^\W\d_])(?:" + "|".join(re.escape(a) for a in ABBREVIATIONS) + r")$")


def _sentences(text: str, base: int) -> list[tuple[str, int, int]]:
    """Split ``text`` (found at offset ``base``) into (sentence, start, end) with absolute offsets."""
    math = _math_spans(text)
    cuts = []
    for m in _BOUNDARY.finditer(text):
        end = m.end()
        if any(a < m.start() < b for a, b in math):
            continue
        if _ABBREVIATION.search(text[:m.start() + 1]):
            continue
        cuts.append(end)
    spans, start = [], 0
    for cut in cuts + [len(text)]:
        piece = text[start:cut]
        lead = len(piece) - len(piece.lstrip())
        body = piece.strip()
        if body and _HAS_WORD.search(body):
            spans.append((start + lead, start + lead + len(body)))
        start = cut
    merged: list[tuple[int, int]] = []
    for a, z in spans:  # a piece of one or two words ("GitHub", "arXiv:2405.07987") is not a sentence of its own
        if merged and len(text[a:z].split()) < MIN_WORDS:
            merged[-1] = (merged[-1][0], z)
        elif len(merged) == 1 and len(text[merged[0][0]:merged[0][1]].split()) < MIN_WORDS:
            merged[0] = (merged[0][0], z)
        else:
            merged.append((a, z))
    return [(text[a:z], base + a, base + z) for a, z in merged]


def _cells(line: str, base: int) -> list[tuple[str, int, int]]:
    """The cells of a Markdown table row: (text, start, end) with absolute offsets (empty cells kept)."""
    s = line.rstrip()
    first = s.index("|")
    out = []
    pos = first + 1
    while pos <= len(s):
        nxt = s.find("|", pos)
        if nxt < 0:
            nxt = len(s)
            if not s[pos:].strip():
                break
        raw = s[pos:nxt]
        lead = len(raw) - len(raw.lstrip())
        out.append((raw.strip(), base + pos + lead, base + pos + lead + len(raw.strip())))
        pos = nxt + 1
    return out


class _Builder:
    def __init__(self, seed: str, text: str):
        self.seed, self.text = seed, text
        self.prefix = _seed_number(seed)
        self.units: list[Unit] = []
        self.blocks: list[Block] = []
        self.section = "top"
        self._current: tuple[str, list[Line]] | None = None
        self._seen: dict[tuple[str, str], int] = {}
        self._ids: set[str] = set()

    def unit(self, kind: str, text: str, start: int, end: int, line: int, context: str = "",
             label: tuple[int, int] | None = None) -> str:
        key = (self.section, f"{kind}\n{context}\n{normalise(text)}")
        n = self._seen.get(key, 0)
        self._seen[key] = n + 1
        digest = hashlib.sha256(f"{key[1]}\n{n}".encode("utf-8")).hexdigest()
        size = 6
        uid = f"{self.prefix}/{self.section}/{digest[:size]}"
        while uid in self._ids:  # a 24-bit collision within a section: lengthen, deterministically
            size += 2
            uid = f"{self.prefix}/{self.section}/{digest[:size]}"
        self._ids.add(uid)
        self.units.append(Unit(uid, kind, text, start, end, line, self.section, context, label))
        return uid

    def close(self) -> None:
        if self._current and self._current[1]:
            self.blocks.append(Block(self._current[0], tuple(self._current[1])))
        self._current = None

    def add(self, kind: str, line: Line) -> None:
        if self._current is None or self._current[0] != kind:
            self.close()
            self._current = (kind, [])
        self._current[1].append(line)


def segment(seed: str, text: str) -> Segmentation:
    """The units and the block layout of one seed (``seed`` is its file name, ``text`` its content)."""
    b = _Builder(seed, text)
    lines = text.split("\n")
    offsets, pos = [], 0
    for ln in lines:
        offsets.append(pos)
        pos += len(ln) + 1
    in_code = False
    first = True
    i = 0
    table_header: list[str] = []
    while i < len(lines):
        raw, base, no = lines[i].rstrip("\r"), offsets[i], i + 1
        s = raw.strip()
        lead = len(raw) - len(raw.lstrip())
        i += 1
        if in_code:
            if _FENCE.match(raw):
                in_code = False
                b.close()
            elif _HAS_WORD.search(s):
                b.add("code", Line(no, (b.unit("code", s, base + lead, base + lead + len(s), no),), indent=lead))
            else:
                b.add("code", Line(no, (), text=raw))
            continue
        if _FENCE.match(raw):
            b.close()
            in_code = True
            b._current = ("code", [])
            continue
        if not s or _HR.match(raw):
            b.close()
            continue
        if s.startswith("$$"):
            b.close()
            start, end_line = base + lead, i - 1
            if not (len(s) >= 4 and s.endswith("$$")):  # "$$" opens a formula that a later "…$$" line closes
                while end_line + 1 < len(lines) and not lines[end_line + 1].strip().endswith("$$"):
                    end_line += 1
                end_line = min(end_line + 1, len(lines) - 1)
            end = offsets[end_line] + len(lines[end_line].rstrip())
            i = end_line + 1
            b.add("formula", Line(no, (b.unit("formula", text[start:end], start, end, no),)))
            b.close()
            first = False
            continue
        if s.startswith("|"):
            if _TABLE_SEP.match(raw):
                continue
            is_header = i < len(lines) and bool(_TABLE_SEP.match(lines[i]))
            if is_header or b._current is None or b._current[0] != "table":
                b.close()
                b._current = ("table", [])
            if is_header:
                table_header = [c[0] for c in _cells(raw, base)]
                b.add("table", Line(no, (b.unit("header", s, base + lead, base + lead + len(s), no),)))
                continue
            cells = _cells(raw, base)
            label = cells[0][0] if cells else ""
            figures = [c for c in cells[1:] if _DIGIT.search(c[0])]
            if len(figures) >= 2:
                ids = []
                for ci, (ct, cs, ce) in enumerate(cells[1:], start=1):
                    if not ct:
                        continue
                    head = table_header[ci] if ci < len(table_header) else ""
                    ids.append(b.unit("cell", ct, cs, ce, no, context=f"{label} · {head}" if head else label,
                                      label=(cells[0][1], cells[0][2])))
                b.add("table", Line(no, tuple(ids), label=label))
            else:
                b.add("table", Line(no, (b.unit("row", s, base + lead, base + lead + len(s), no),)))
            first = False
            continue
        lm = _LIST.match(raw)
        if lm:
            body_start = lm.end()
            ids = tuple(b.unit("item", t, a, z, no) for t, a, z in _sentences(raw[body_start:], base + body_start))
            b.add("list", Line(no, ids, text="" if ids else raw, label=lm.group(2)))
            first = False
            continue
        if _reads_as_heading(s, first):
            b.close()
            kind = "title" if first else "heading"
            heading = _heading_text(s)
            if not first:
                b.section = _slug(heading)
            b.add("heading", Line(no, (b.unit(kind, s, base + lead, base + lead + len(s), no),)))
            b.close()
            first = False
            continue
        b.close()
        if _reads_as_row(s):
            b.add("paragraph", Line(no, (b.unit("row", s, base + lead, base + lead + len(s), no),)))
        else:
            ids = tuple(b.unit("sentence", t, a, z, no) for t, a, z in _sentences(s, base + lead))
            b.add("paragraph", Line(no, ids, text="" if ids else raw))
        b.close()
        first = False
    b.close()
    return Segmentation(seed=seed, title=seed_title(text), text=text, units=tuple(b.units), blocks=tuple(b.blocks))


def seed_title(text: str, limit: int = 90) -> str:
    """A seed's display name, from the seed itself: its first Markdown heading or title line; else its first line
    that is not a bare link, cut at ``limit`` characters on a word boundary."""
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    for ln in lines[:1] + [x for x in lines if _MD_HEADING.match(x)][:1]:
        if _MD_HEADING.match(ln) or _reads_as_heading(ln, True):
            return _heading_text(ln)[:200]
    for ln in lines:
        if _URL_LINE.match(ln) or _FENCE.match(ln) or _HR.match(ln):
            continue
        m = _LIST.match(ln)
        t = ln[m.end():] if m else ln
        t = t.strip().strip("()").strip()
        if len(t) <= limit:
            return t
        cut = t[:limit].rsplit(" ", 1)[0].rstrip(",;:—–- ")
        return cut + "…"
    return ""

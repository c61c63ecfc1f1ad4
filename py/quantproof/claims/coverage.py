"""The source-coverage map (coverage.yaml): every unit of every seed is adjudicated by claims or marked no-claim.

Format (one YAML document, read under the same safe policy as claims.yaml — :func:`loader.compose_document`)::

    schema: 1
    seeds:
      000_69cb13203ceb3653.txt:
        - units: [000/the-mechanism/d90f0d]          # the unit ids of quantproof.claims.segment
          claims: [s000_torus_sinusoidal_mapping]    # the claims that adjudicate these units
          parts: "…"                                 # optional: the unit says several things; what is not claimed
        - units: [000/the-mechanism/d42e53]
          no_claim: heading                          # a category of NO_CLAIM
          reason: section title                      # one line: why no claim

``duplicate`` needs ``of: <unit id>`` (the unit it restates); ``definition`` needs ``used_by: [claim ids]``.
``needs-claim`` marks a checkable unit that has no claim yet: it is allowed (the check passes) but it is a gap,
counted apart and never as covered.

Checks (:func:`check_coverage`, run by ``quantproof check``; each problem one ``file:line: field: message``):
every unit of every seed is in exactly one entry; every unit id exists (an edited sentence has a new id, so its old
entry is reported and the new unit is unmapped); a claim linked in a seed's section quotes that seed; every claim is
reached by at least one unit of its seed; a claim's quote lies inside the units it covers (whitespace and Markdown
delimiters such as ``|``, ``*``, list dashes may fall between units).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .loader import (SEED_RE, ClaimsFileError, SchemaError, _Converter, _Node, _kind, compose_document,
                     read_input_file)
from .model import ClaimSet
from .segment import Segmentation, segment

__all__ = ["NO_CLAIM", "COVERED_CATEGORIES", "Entry", "CoverageMap", "load_coverage", "parse_coverage",
           "segment_seeds", "unit_status", "unit_state", "check_coverage", "coverage_counts", "quote_outside",
           "COVERAGE_FILE"]

COVERAGE_FILE = "coverage.yaml"
SEEDS_DIR = "seeds"
NO_CLAIM: dict[str, str] = {
    "narrative": "tells what the author did, wants or plans; asserts nothing we could check",
    "citation": "cites or attributes another work, source or person",
    "rhetoric": "evaluation, emphasis or persuasion without a checkable content",
    "duplicate": "restates another unit (of: …), which carries the verdict",
    "definition": "defines a term or symbol that claims use (used_by: …)",
    "heading": "a title, heading or label",
    "illustration": "code or an example that shows how something is used, not a result",
    "boilerplate": "site furniture: bylines, newsletters, links",
    "needs-claim": "checkable, but no claim adjudicates it yet (a gap)",
}
COVERED_CATEGORIES = tuple(c for c in NO_CLAIM if c != "needs-claim")
ENTRY_FIELDS = {"units", "claims", "no_claim", "reason", "of", "used_by", "parts"}
IGNORABLE = set(" \t\r\n|*-•#>`_")  # characters a quote may span between two units


@dataclass(frozen=True)
class Entry:
    seed: str
    line: int
    units: tuple[str, ...]
    claims: tuple[str, ...] = ()
    category: str | None = None
    reason: str = ""
    of: str | None = None
    used_by: tuple[str, ...] = ()
    parts: str = ""


@dataclass(frozen=True)
class CoverageMap:
    path: str
    entries: tuple[Entry, ...]
    seed_lines: dict[str, int]
    sha256: str


def _strings(conv: _Converter, node: _Node, field: str) -> tuple[str, ...] | None:
    if not isinstance(node.value, list) or not node.value or \
            not all(isinstance(x.value, str) and x.value.strip() for x in node.value):
        conv.err(node.line, field, f"must be a non-empty list of strings, got {_kind(node.value)}")
        return None
    return tuple(x.value.strip() for x in node.value)


def _entry(conv: _Converter, seed: str, item: _Node, ctx: str) -> Entry | None:
    if not isinstance(item.value, dict):
        conv.err(item.line, ctx, f"each entry must be a mapping with 'units', got {_kind(item.value)}")
        return None
    n = len(conv.errors)
    v = item.value
    for key, child in v.items():
        if key not in ENTRY_FIELDS:
            conv.err(child.line, f"{ctx}.{key}", f"unknown field (allowed: {', '.join(sorted(ENTRY_FIELDS))})")
    units = _strings(conv, v["units"], f"{ctx}.units") if "units" in v else None
    if "units" not in v:
        conv.err(item.line, f"{ctx}.units", "missing")
    claims: tuple[str, ...] = ()
    if "claims" in v:
        claims = _strings(conv, v["claims"], f"{ctx}.claims") or ()
    text: dict[str, str] = {}
    for key in ("no_claim", "reason", "of", "parts"):
        if key in v:
            if not isinstance(v[key].value, str) or not v[key].value.strip():
                conv.err(v[key].line, f"{ctx}.{key}", f"must be a non-empty string, got {_kind(v[key].value)}")
            else:
                text[key] = v[key].value.strip()
    used_by = _strings(conv, v["used_by"], f"{ctx}.used_by") or () if "used_by" in v else ()
    category = text.get("no_claim")
    if ("claims" in v) == ("no_claim" in v):
        conv.err(item.line, ctx, "needs exactly one of 'claims' (the claims that adjudicate these units) or "
                                 "'no_claim' (a category)")
    if category is not None:
        if category not in NO_CLAIM:
            conv.err(v["no_claim"].line, f"{ctx}.no_claim", f"{category!r} is not one of {', '.join(NO_CLAIM)}")
        if not text.get("reason"):
            conv.err(item.line, f"{ctx}.reason", "a no_claim entry needs a one-line reason")
        if category == "duplicate" and "of" not in text:
            conv.err(item.line, f"{ctx}.of", "a duplicate names the unit it restates (of: <unit id>)")
        if category == "definition" and not used_by:
            conv.err(item.line, f"{ctx}.used_by", "a definition names the claims that use it (used_by: [ids])")
    if "of" in text and category != "duplicate":
        conv.err(v["of"].line, f"{ctx}.of", "'of' goes with no_claim: duplicate")
    if used_by and category != "definition":
        conv.err(v["used_by"].line, f"{ctx}.used_by", "'used_by' goes with no_claim: definition")
    if "reason" in text and len(text["reason"]) > 400:
        conv.err(v["reason"].line, f"{ctx}.reason", "longer than 400 characters: one line, please")
    if len(conv.errors) > n or units is None:
        return None
    return Entry(seed=seed, line=item.line, units=units, claims=claims, category=category,
                 reason=text.get("reason", ""), of=text.get("of"), used_by=used_by, parts=text.get("parts", ""))


def parse_coverage(text: str, name: str = COVERAGE_FILE) -> CoverageMap:
    """Parse and schema-check a coverage map; raise :class:`ClaimsFileError` listing every problem."""
    conv, root = compose_document(text, name)
    entries: list[Entry] = []
    seed_lines: dict[str, int] = {}
    if not isinstance(root.value, dict):
        conv.err(root.line, "(document)", "top level must be a mapping with keys 'schema' and 'seeds'")
        raise ClaimsFileError(conv.errors)
    for key, node in root.value.items():
        if key not in ("schema", "seeds"):
            conv.err(node.line, key, "unknown top-level field (allowed: schema, seeds)")
    schema = root.value.get("schema")
    if schema is None:
        conv.err(root.line, "schema", "missing (use 'schema: 1')")
    elif type(schema.value) is not int or schema.value != 1:
        conv.err(schema.line, "schema", f"unsupported schema version {schema.value!r} (this QuantProof reads 1)")
    seeds = root.value.get("seeds")
    if seeds is None or not isinstance(seeds.value, dict):
        conv.err(seeds.line if seeds else root.line, "seeds", "must be a mapping from seed file names to entries")
        raise ClaimsFileError(conv.errors)
    for seed, section in seeds.value.items():
        if not SEED_RE.match(seed):
            conv.err(section.line, f"seeds.{seed}", "must be a plain file name like 003_xxx.txt (no paths)")
            continue
        seed_lines[seed] = section.line
        if not isinstance(section.value, list):
            conv.err(section.line, f"seeds.{seed}", f"must be a list of entries, got {_kind(section.value)}")
            continue
        for i, item in enumerate(section.value):
            e = _entry(conv, seed, item, f"{seed}[{i}]")
            if e is not None:
                entries.append(e)
    if conv.errors:
        raise ClaimsFileError(conv.errors)
    return CoverageMap(path=name, entries=tuple(entries), seed_lines=seed_lines,
                       sha256=hashlib.sha256(text.encode("utf-8")).hexdigest())


def load_coverage(path: str | Path, *, display_name: str | None = None) -> CoverageMap:
    name = display_name or str(path)
    text, _ = read_input_file(path, name)
    return parse_coverage(text, name)


def segment_seeds(repo: Path) -> dict[str, Segmentation]:
    """Every seed in ``<repo>/seeds/`` (``*.txt``, sorted by name), segmented."""
    d = repo / SEEDS_DIR
    out: dict[str, Segmentation] = {}
    if d.is_dir():
        for p in sorted(d.glob("*.txt")):
            if p.is_file() and SEED_RE.match(p.name):
                out[p.name] = segment(p.name, p.read_text(encoding="utf-8", errors="replace"))
    return out


def unit_status(cmap: CoverageMap | None, segs: dict[str, Segmentation]) -> dict[str, Entry | None]:
    """Each unit id of every seed → the map entry that covers it (the first one), or None when unmapped."""
    by_unit: dict[str, Entry | None] = {u.id: None for sg in segs.values() for u in sg.units}
    for e in cmap.entries if cmap else ():
        for uid in e.units:
            if uid in by_unit and by_unit[uid] is None:
                by_unit[uid] = e
    return by_unit


def _norm_map(text: str) -> tuple[str, list[int]]:
    """``text`` with white-space runs collapsed to one space (as claims' quotes are compared), and for every
    character of the result its offset in ``text``."""
    out, idx = [], []
    for m in re.finditer(r"\s+|\S", text):
        out.append(" " if m.group().isspace() else m.group())
        idx.append(m.start())
    s = "".join(out)
    lead = len(s) - len(s.lstrip())
    return s.strip(), idx[lead:lead + len(s.strip())]


def quote_outside(quote: str, text: str, spans: list[tuple[int, int]]) -> tuple[bool, str]:
    """(found, uncovered) for a claim's quote: ``found`` when the quote occurs in ``text`` at all; ``uncovered`` the
    first stretch of it that lies outside every span ('' when some occurrence lies inside the spans)."""
    norm, idx = _norm_map(text)
    q = re.sub(r"\s+", " ", quote).strip()
    if not q:
        return True, ""
    first_gap = None
    found = False
    start = norm.find(q)
    while start >= 0:
        found = True
        gap = [idx[k] for k in range(start, start + len(q))
               if text[idx[k]] not in IGNORABLE and not any(a <= idx[k] < b for a, b in spans)]
        if not gap:
            return True, ""
        if first_gap is None:
            a = gap[0]
            first_gap = text[a:a + 60].split("\n")[0]
        start = norm.find(q, start + 1)
    return found, first_gap or ""


def check_coverage(cmap: CoverageMap, segs: dict[str, Segmentation], cs: ClaimSet) -> list[SchemaError]:
    """Every problem of the map against the seeds and the claims (see the module docstring)."""
    errs: list[SchemaError] = []
    name = cmap.path
    claims = cs.by_id()
    all_units = {u.id: (seed, u) for seed, sg in segs.items() for u in sg.units}
    seen: dict[str, int] = {}
    reached: dict[str, list[tuple[int, int]]] = {}
    for e in cmap.entries:
        ctx = f"{e.seed}"
        if e.seed not in segs:
            errs.append(SchemaError(name, e.line, ctx, f"no seed file {SEEDS_DIR}/{e.seed}"))
            continue
        for uid in e.units:
            if uid in seen:
                errs.append(SchemaError(name, e.line, f"{ctx}.units", f"unit {uid} is already in the entry at line "
                                                                      f"{seen[uid]}"))
                continue
            seen[uid] = e.line
            owner = all_units.get(uid)
            if owner is None:
                errs.append(SchemaError(name, e.line, f"{ctx}.units", f"no unit {uid} in {e.seed} (the seed was "
                                                                      "edited, or the id is mistyped; "
                                                                      "`quantproof coverage --seed` lists the units)"))
            elif owner[0] != e.seed:
                errs.append(SchemaError(name, e.line, f"{ctx}.units", f"unit {uid} belongs to {owner[0]}"))
        for cid in e.claims + e.used_by:
            c = claims.get(cid)
            if c is None:
                errs.append(SchemaError(name, e.line, f"{ctx}.claims", f"unknown claim id {cid!r}"))
            elif cid in e.claims and c.seed != e.seed:
                errs.append(SchemaError(name, e.line, f"{ctx}.claims", f"claim {cid} quotes {c.seed}, not {e.seed} "
                                                                       "(mark this unit a duplicate instead)"))
        for cid in e.claims:
            if cid in claims:
                for u in e.units:
                    if u in all_units and all_units[u][0] == e.seed:
                        unit = all_units[u][1]
                        reached.setdefault(cid, []).append((unit.start, unit.end))
                        if unit.label:  # a cell's row label belongs to the row the cell is in
                            reached[cid].append(unit.label)
        if e.of is not None and e.of not in all_units:
            errs.append(SchemaError(name, e.line, f"{ctx}.of", f"no unit {e.of}"))
        if e.of is not None and e.of in e.units:
            errs.append(SchemaError(name, e.line, f"{ctx}.of", "a unit cannot duplicate itself"))
    for seed, sg in segs.items():
        line = cmap.seed_lines.get(seed, 0)
        missing = [u for u in sg.units if u.id not in seen]
        for u in missing:
            text = u.text if len(u.text) <= 70 else u.text[:69] + "…"
            errs.append(SchemaError(name, line, seed, f"unit {u.id} (line {u.line}, {u.kind}) is neither linked to a "
                                                      f"claim nor marked no-claim: {text!r}"))
    for c in cs.claims:
        sg = segs.get(c.seed)
        if sg is None:
            continue  # claims/validate.py reports a claim whose seed file is missing
        spans = reached.get(c.id)
        if not spans:
            errs.append(SchemaError(name, cmap.seed_lines.get(c.seed, 0), c.seed,
                                    f"claim {c.id} is reached by no unit of {c.seed}"))
            continue
        found, gap = quote_outside(c.quote, sg.text, spans)
        if found and gap:
            inside = [u.id for u in sg.units if c.quote.split()[0] in u.text][:3]
            hint = f"; the quote starts in {', '.join(inside)}" if inside else ""
            errs.append(SchemaError(name, cmap.seed_lines.get(c.seed, 0), c.id,
                                    f"the quote is not inside the units this claim covers (uncovered from "
                                    f"{gap!r}){hint}"))
    return errs


def unit_state(uid: str, status: dict[str, Entry | None], _depth: int = 0) -> str:
    """``claims`` | ``no-claim:<category>`` | ``needs-claim`` | ``unmapped``. A duplicate of a unit that is a gap
    (needs-claim, unmapped, or a duplicate of one) is a gap itself: restating an unchecked sentence checks nothing."""
    e = status.get(uid)
    if e is None:
        return "unmapped"
    if e.claims:
        return "claims"
    if e.category == "duplicate" and e.of is not None:
        target = "unmapped" if _depth > 16 or e.of not in status else unit_state(e.of, status, _depth + 1)
        return "needs-claim" if target in ("needs-claim", "unmapped") else "no-claim:duplicate"
    return "needs-claim" if e.category == "needs-claim" else f"no-claim:{e.category}"


def coverage_counts(cmap: CoverageMap | None, segs: dict[str, Segmentation]) -> dict[str, dict[str, Any]]:
    """Per seed: units, units with claims, no-claim units by category, gaps (needs-claim, or duplicates of a gap),
    unmapped units, and the share of units linked to claims or marked no-claim with a reason (gaps and unmapped
    units count against it)."""
    status = unit_status(cmap, segs)
    out: dict[str, dict[str, Any]] = {}
    for seed, sg in segs.items():
        states = [unit_state(u.id, status) for u in sg.units]
        by_cat: dict[str, int] = {}
        for st in states:
            if st.startswith("no-claim:"):
                by_cat[st[9:]] = by_cat.get(st[9:], 0) + 1
        n = len(states)
        linked = states.count("claims")
        covered = linked + sum(by_cat.values())
        out[seed] = {"units": n, "with_claims": linked, "no_claim": dict(sorted(by_cat.items())),
                     "needs_claim": states.count("needs-claim"), "unmapped": states.count("unmapped"),
                     "covered_pct": round(100.0 * covered / n, 1) if n else 100.0}
    return out

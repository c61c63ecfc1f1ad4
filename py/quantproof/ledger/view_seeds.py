"""View model of the seed documents: each seed as its author wrote it, cut into units, each unit highlighted by the
verdicts of its claims, with a panel that opens the claims (or says why the unit has none).

Policy: a pure function of the ledger's ``coverage`` section and its claims (any JSON; an old ledger has no
coverage and the page has no Seeds section). A unit's verdict is the SET of its claims' verdicts — one colour when
they agree, a neutral "mixed" highlight plus one badge per verdict when they differ — never the best of them. A
claim that is not in this ledger (a partial run) counts as "not in this run", not as any verdict.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from .analysis import channel_statuses, measurement_label, verdict_rank
from .fmt import dct, estimate_text, fmt_expect, fmt_num, get, lst, s
from .theme import VERDICT_COLORS

__all__ = ["SeedsView", "SeedDoc", "UnitView", "build_seeds", "unit_dom_ids"]

_SAFE = re.compile(r"[^a-z0-9_-]+")
STATUS_TEXT = {"claims": "adjudicated by claims", "no-claim": "no claim", "needs-claim": "needs a claim",
               "unmapped": "not in the coverage map"}


@dataclass(frozen=True)
class ClaimBrief:
    id: str
    dom: str | None
    title: str
    verdict: str
    statement: str
    reason: str
    evidence: list[str]


@dataclass
class UnitView:
    id: str
    dom: str
    panel: str
    kind: str
    text: str
    line: int
    context: str
    status: str
    status_text: str
    cls: str
    verdicts: list[tuple[str, str]]  # (verdict, css class) — the set of the claims' verdicts
    category: str
    reason: str
    of: tuple[str, str | None] | None
    used_by: list[tuple[str, str | None]]
    parts: str
    claims: list[ClaimBrief]
    label: str  # accessible name of the unit link


@dataclass
class LineView:
    line: int
    label: str
    text: str
    units: list[UnitView]
    indent: int = 0


@dataclass
class BlockView:
    kind: str
    lines: list[LineView]
    width: int = 1  # table: number of columns


@dataclass
class SeedDoc:
    seed: str
    title: str
    dom: str
    counts: dict[str, Any]
    no_claim_text: str
    blocks: list[BlockView]
    units: list[UnitView]


@dataclass
class SeedsView:
    documents: list[SeedDoc]
    names: dict[str, str]
    units_by_claim: dict[str, list[Any]]
    table: list[dict[str, Any]]
    errors: list[str]
    unreached: list[str]
    categories: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class UnitLink:
    id: str
    dom: str


def unit_dom_ids(ids: list[str]) -> dict[str, str]:
    """Attribute-safe, unique DOM ids for unit ids (deterministic)."""
    out: dict[str, str] = {}
    seen: set[str] = set()
    for i, uid in enumerate(ids):
        if uid in out:
            continue
        base = _SAFE.sub("-", uid.lower().replace("/", "--")).strip("-")[:90] or f"unit-{i}"
        cand = f"u-{base}"
        if cand in seen:
            cand = f"{cand}-{hashlib.sha256(f'{i}:{uid}'.encode()).hexdigest()[:6]}"
        while cand in seen:
            cand += "-x"
        seen.add(cand)
        out[uid] = cand
    return out


def _evidence_lines(c: dict) -> list[str]:
    """One line per piece of evidence, with its numbers (the ledger's own ``evidence`` details when present)."""
    ev = [e for e in lst(c.get("evidence")) if isinstance(e, dict)]
    if ev:
        return [f"{s(e.get('channel'))} ({s(e.get('role'))}): {s(e.get('state'))} — "
                f"{s(e.get('detail')) or s(e.get('label'))}" for e in ev]
    out = []
    st = channel_statuses(c)
    decls = [s(d.get("name")) for d in lst(get(c, "formal", "declarations")) if isinstance(d, dict)]
    if decls:
        out.append(f"Lean: {st['formal']} ({', '.join(decls)})")
    items = lst(get(c, "tests", "items"))
    if items:
        out.append(f"tests: {st['tests']}, {fmt_num(get(c, 'tests', 'passed', default=0))} of {len(items)} passed")
    for m in lst(c.get("measurements")):
        if not isinstance(m, dict):
            continue
        value, interval = estimate_text(m.get("estimate"))
        got = value + (f" {interval}" if interval != "—" else "") if value != "—" else (s(m.get("reason")) or "no value")
        out.append(f"{measurement_label(m)} = {got}; claimed {fmt_expect(m.get('expect'))}: "
                   f"{s(m.get('outcome')) or 'not-run'}")
    return out or ["no evidence linked"]


def _brief(cid: str, claims: dict[str, dict], dom_by_id: dict[str, str]) -> ClaimBrief:
    c = claims.get(cid)
    if c is None:
        return ClaimBrief(id=cid, dom=None, title=cid, verdict="not in this run", statement="", reason="",
                          evidence=[])
    return ClaimBrief(id=cid, dom=dom_by_id.get(cid), title=s(c.get("title")) or cid, verdict=s(c.get("verdict")),
                      statement=s(c.get("statement")), reason=s(c.get("reason")), evidence=_evidence_lines(c))


def _unit(u: dict, dom: str, claims: dict[str, dict], dom_by_id: dict[str, str], doms: dict[str, str]) -> UnitView:
    status = s(u.get("status")) or "unmapped"
    if status not in STATUS_TEXT:
        status = "unmapped"
    briefs = [_brief(s(cid), claims, dom_by_id) for cid in lst(u.get("claims"))]
    verdicts = sorted({b.verdict for b in briefs}, key=lambda v: (verdict_rank(v), v))
    vset = [(v, v if v in VERDICT_COLORS else "unknown") for v in verdicts]
    if status == "claims":
        cls = f"v-{vset[0][1]}" if len(vset) == 1 else "mixed"
    else:
        cls = f"u-{status}"
    category = s(u.get("category"))
    of = s(u.get("of"))
    what = ("verdicts " + ", ".join(verdicts)) if status == "claims" else \
        STATUS_TEXT[status] + (f" ({category})" if category and status != "claims" else "")
    text = s(u.get("text"))
    return UnitView(
        id=s(u.get("id")), dom=dom, panel=f"{dom}-p", kind=s(u.get("kind")), text=text, line=u.get("line") or 0,
        context=s(u.get("context")), status=status, status_text=STATUS_TEXT[status], cls=cls, verdicts=vset,
        category=category, reason=s(u.get("reason")), of=(of, doms.get(of)) if of else None,
        used_by=[(s(x), dom_by_id.get(s(x))) for x in lst(u.get("used_by"))], parts=s(u.get("parts")),
        claims=briefs, label=f"{s(u.get('kind'))}, line {u.get('line')}: {what}")


def _blocks(seed: dict, views: dict[str, UnitView]) -> list[BlockView]:
    out = []
    for b in lst(seed.get("blocks")):
        b = dct(b)
        lines = []
        for ln in lst(b.get("lines")):
            ln = dct(ln)
            indent = ln.get("indent")
            lines.append(LineView(line=ln.get("line") or 0, label=s(ln.get("label")), text=s(ln.get("text")),
                                  units=[views[s(x)] for x in lst(ln.get("units")) if s(x) in views],
                                  indent=min(indent, 40) if isinstance(indent, int) and indent > 0 else 0))
        kind = s(b.get("kind")) or "paragraph"
        width = max((len(x.units) for x in lines), default=1) + (1 if kind == "table" else 0)
        out.append(BlockView(kind=kind, lines=lines, width=max(width, 1)))
    return out


def _no_claim_text(counts: dict) -> str:
    cats = dct(counts.get("no_claim"))
    return ", ".join(f"{k} {cats[k]}" for k in sorted(cats)) or "none"


def build_seeds(ledger: dict, claims: list[dict], dom_by_id: dict[str, str]) -> SeedsView | None:
    cov = dct(ledger.get("coverage"))
    seeds = [x for x in lst(cov.get("seeds")) if isinstance(x, dict)]
    if not seeds:
        return None
    by_id: dict[str, dict] = {}
    for c in claims:
        by_id.setdefault(s(c.get("id")), c)
    all_units = [dct(u) for sd in seeds for u in lst(sd.get("units")) if isinstance(u, dict)]
    doms = unit_dom_ids([s(u.get("id")) for u in all_units])
    docs, names, table = [], {}, []
    units_by_claim: dict[str, list[UnitLink]] = {}
    for i, sd in enumerate(seeds):
        views: dict[str, UnitView] = {}
        for u in lst(sd.get("units")):
            if isinstance(u, dict) and s(u.get("id")) in doms and s(u.get("id")) not in views:
                v = _unit(u, doms[s(u.get("id"))], by_id, dom_by_id, doms)
                views[v.id] = v
                for cid in lst(u.get("claims")):
                    units_by_claim.setdefault(s(cid), []).append(UnitLink(v.id, v.dom))
        seed, title = s(sd.get("seed")), s(sd.get("title"))
        names[seed] = title
        counts = dct(sd.get("counts"))
        docs.append(SeedDoc(seed=seed, title=title or seed, dom=f"seed-{i}", counts=counts,
                            no_claim_text=_no_claim_text(counts), blocks=_blocks(sd, views),
                            units=list(views.values())))
        table.append({"seed": seed, "title": title, "dom": f"seed-{i}", "units": counts.get("units", len(views)),
                      "with_claims": counts.get("with_claims", 0), "no_claim": _no_claim_text(counts),
                      "needs_claim": counts.get("needs_claim", 0), "unmapped": counts.get("unmapped", 0),
                      "pct": fmt_num(counts.get("covered_pct")) + "%" if counts.get("covered_pct") is not None
                      else "—"})
    return SeedsView(documents=docs, names=names, units_by_claim=units_by_claim, table=table,
                     errors=[s(e) for e in lst(cov.get("errors"))],
                     unreached=[s(x) for x in lst(cov.get("unreached"))],
                     categories=sorted((s(k), s(v)) for k, v in dct(cov.get("categories")).items()))

"""View model of one claim's details: what the template ``claim_detail.html.j2`` shows, as typed records.

Policy: pure functions from a ledger claim (any JSON; every field optional, old ledgers lack the referee fields
``rule``, ``assumptions``, ``scope``, ``corrected``, ``evidence``, controls, mutation strength and Lean modules)
to records of plain text. Nothing is escaped here (the templates autoescape); the only markup produced is the
plots' SVG, which :mod:`quantproof.ledger.plots` builds through an XML serialiser.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from .analysis import measurement_label, measurement_status
from .fmt import as_float, dct, estimate_text, fmt_expect, fmt_num, fmt_params, fmt_value, get, lst, s
from .plots import render_interval_svg, render_plot_svg
from .theme import DISCRIMINATION_TONES

__all__ = ["ClaimDetail", "MeasurementView", "build_detail", "build_measurement", "search_text", "PLOT_TABLE_ROWS"]

PLOT_TABLE_ROWS = 200


@dataclass(frozen=True)
class Assumption:
    text: str
    by: str
    kind: str


@dataclass(frozen=True)
class EvidenceInput:
    channel: str
    role: str
    state: str
    label: str
    detail: str
    decisive: bool | None
    why_not: str


@dataclass(frozen=True)
class Declaration:
    name: str
    status: str
    role: str
    loc: str
    module: str
    blocked_by: str
    statement: str
    axioms: Any  # None (not audited) | list[str] | str
    message: str


@dataclass(frozen=True)
class TestItem:
    id: str
    role: str
    outcome: str
    message: str
    counterexample: str


@dataclass(frozen=True)
class Survivor:
    where: str
    change: str
    reason: str


@dataclass(frozen=True)
class Strength:
    kill_rate: str
    counts: str
    threshold: str
    verdict: str
    tone: str
    survivors: list[Survivor]
    code_hash: str
    no_project_code: list[str]
    stale: bool = False
    survivor_count: int = 0  # non-equivalent survivors; the ledger lists at most strength_gate.SURVIVORS_SHOWN


@dataclass(frozen=True)
class Control:
    label: str
    should: str
    params: list[str]
    output: str
    value: str
    interval: str
    outcome: str
    reason: str


@dataclass(frozen=True)
class PlotView:
    svg: Markup
    rows: list[tuple[str, ...]]
    total: int


@dataclass(frozen=True)
class MeasurementView:
    outcome: str
    name: str
    output: str
    role: str
    key: str
    params: list[str]
    claimed: str
    value: str
    interval_full: str
    n: str
    method: str
    reason: str
    model: str
    device: str
    dtype: str
    strip: Markup
    plots: list[PlotView]
    provenance: list[tuple[str, str, bool]]
    exact: bool
    discrimination: str
    discrimination_tone: str
    controls: list[Control]


@dataclass
class ClaimDetail:
    id: str
    verdict: str
    reason: str
    rule: str
    scope: str
    is_new: bool
    change: list[tuple]
    quote: str
    seed: str
    seed_name: str
    statement: str
    corrected: str
    notes: str
    related: list[tuple[str, str | None]]
    assumptions: list[Assumption]
    evidence: list[EvidenceInput]
    formal_status: str
    declarations: list[Declaration]
    tests_status: str
    tests_counts: str
    test_items: list[TestItem]
    strength: Strength | None
    measurement_status: str
    measurements: list[MeasurementView]
    units: list = field(default_factory=list)  # the seed units this claim adjudicates (view_seeds.UnitLink)


def _plot_rows(plot: dict) -> tuple[list[tuple[str, ...]], int]:
    rows, total = [], 0
    for sr in lst(dct(plot).get("series")):
        if not isinstance(sr, dict):
            continue
        xs, ys = lst(sr.get("x")), lst(sr.get("y"))
        los, his = lst(sr.get("lo")), lst(sr.get("hi"))
        for i in range(max(len(xs), len(ys))):
            total += 1
            if len(rows) < PLOT_TABLE_ROWS:
                rows.append((s(sr.get("name")),
                             fmt_num(xs[i]) if i < len(xs) else "—", fmt_num(ys[i]) if i < len(ys) else "—",
                             fmt_num(los[i]) if i < len(los) else "—", fmt_num(his[i]) if i < len(his) else "—"))
    return rows, total


def _control(c: Any) -> Control:
    c = dct(c)
    value, interval = estimate_text(c.get("estimate"))
    return Control(label=s(c.get("label")), should=s(c.get("should")), params=fmt_params(c.get("params")),
                   output=s(c.get("output")), value=value, interval=interval,
                   outcome=s(c.get("outcome")) or "not-run", reason=s(c.get("reason")))


def build_measurement(m: dict, uid: str, controls_by_key: dict[str, dict]) -> MeasurementView:
    """One measurement row with its estimate strip and plots; ``uid`` prefixes the SVG ids."""
    outcome = s(m.get("outcome")) or "not-run"
    e = dct(m.get("estimate"))
    value, interval = estimate_text(e)
    prov = dct(m.get("provenance"))
    pf, pt, pn = dct(prov.get("files")), dct(prov.get("tensors")), lst(prov.get("notes"))
    provenance: list[tuple[str, str, bool]] = []
    if pf or pt or pn or prov.get("seed") is not None:
        provenance.append(("seed", fmt_value(prov.get("seed")), False))
        provenance += [(f"file {k}", fmt_value(pf[k]), True) for k in sorted(pf)]
        provenance += [(f"tensor {k}", fmt_value(pt[k]), True) for k in sorted(pt)]
        provenance += [("note", s(n), False) for n in pn]
    plots = []
    for pi, p in enumerate(x for x in lst(m.get("plots")) if isinstance(x, dict)):
        rows, total = _plot_rows(p)
        plots.append(PlotView(svg=Markup(render_plot_svg(p, f"{uid}-p{pi}")), rows=rows, total=total))
    disc = s(m.get("discrimination"))
    return MeasurementView(
        outcome=outcome, name=s(m.get("name")), output=s(m.get("output")), role=s(m.get("role")),
        key=s(m.get("key")), params=fmt_params(m.get("params")), claimed=fmt_expect(m.get("expect")), value=value,
        interval_full=interval, n=fmt_num(e.get("n")) if e else "—", method=(s(e.get("method")) or "—") if e else "—",
        reason=s(m.get("reason")), model=s(m.get("model")), device=s(m.get("device")), dtype=s(m.get("dtype")),
        strip=Markup(render_interval_svg(m, controls_by_key, f"{uid}-s")), plots=plots, provenance=provenance,
        exact=m.get("exact") is True, discrimination=disc, discrimination_tone=DISCRIMINATION_TONES.get(disc, "neutral"),
        controls=[_control(c) for c in lst(m.get("controls")) if isinstance(c, dict)])


def _strength(st: Any) -> Strength | None:
    st = dct(st)
    if not st:
        return None
    rate = as_float(st.get("kill_rate"))
    thr = as_float(st.get("threshold"))
    killed, mutants = st.get("killed"), st.get("mutants")
    if isinstance(mutants, int) and isinstance(st.get("equivalent"), int):
        mutants -= st["equivalent"]  # the rate's denominator: equivalent mutants can be killed by no test
    counts = f"{fmt_num(killed)}/{fmt_num(mutants)} mutants killed" if killed is not None and mutants is not None \
        else ""
    if rate is None:
        verdict, tone = "no result", "neutral"
    elif thr is None:
        verdict, tone = "measured", "info"
    else:
        verdict, tone = ("strong", "good") if rate >= thr else ("weak", "bad")
    if st.get("stale") is True:
        verdict, tone = "stale", "bad"  # computed for code that has changed since: decides nothing
    survivors = []
    for sv in lst(st.get("survivors")):
        sv = dct(sv)
        where = s(sv.get("file")) + (f":{sv.get('line')}" if sv.get("line") is not None else "")
        survivors.append(Survivor(where=where, change=s(sv.get("change")), reason=s(sv.get("reason"))))
    return Strength(kill_rate=f"{fmt_num(round(rate * 100, 2))}%" if rate is not None else "—", counts=counts,
                    threshold=f"{fmt_num(round(thr * 100, 2))}%" if thr is not None else "", verdict=verdict,
                    tone=tone, survivors=survivors, code_hash=s(st.get("code_hash"))[:12],
                    no_project_code=[s(t) for t in lst(st.get("no_project_code"))], stale=st.get("stale") is True,
                    survivor_count=max(len(survivors), st["survivor_count"] if isinstance(st.get("survivor_count"), int)
                                       else 0))


def _decl(d: dict) -> Declaration:
    axioms = d.get("axioms")
    if axioms is not None and not isinstance(axioms, (list, str)):
        axioms = fmt_value(axioms)
    if isinstance(axioms, list):
        axioms = [s(a) for a in axioms]
    loc = s(d.get("file")) + (f":{d.get('line')}" if d.get("line") is not None else "")
    return Declaration(name=s(d.get("name")), status=s(d.get("status")) or "none", role=s(d.get("role")), loc=loc,
                       module=s(d.get("module")), blocked_by=s(d.get("blocked_by")), statement=s(d.get("statement")),
                       axioms=axioms, message=s(d.get("message")))


def _change_bits(change: dict | None) -> list[tuple]:
    bits: list[tuple] = []
    if not change:
        return bits
    if "verdict" in change:
        bits.append(("verdict", *change["verdict"]))
    for ch, (a, b) in change.get("channels", {}).items():
        bits.append(("channel", ch, a, b))
    if "reason" in change:
        bits.append(("reason", change["reason"][0]))
    return bits


def build_detail(c: dict, dom: str, dom_by_id: dict[str, str], change: dict | None, is_new: bool,
                 seed_names: dict[str, str]) -> ClaimDetail:
    formal, tests = dct(c.get("formal")), dct(c.get("tests"))
    meas = [m for m in lst(c.get("measurements")) if isinstance(m, dict)]
    controls = {s(m.get("key")): m for m in meas if m.get("key")}
    items = []
    for t in lst(tests.get("items")):
        if not isinstance(t, dict):
            continue
        ce = t.get("counterexample")
        ce_text = "" if not ce else ce if isinstance(ce, str) else json.dumps(ce, sort_keys=True, indent=2,
                                                                             ensure_ascii=False)
        items.append(TestItem(id=s(t.get("id")), role=s(t.get("role")), outcome=s(t.get("outcome")),
                              message=s(t.get("message")), counterexample=ce_text))
    evidence = []
    for e in lst(c.get("evidence")):
        if isinstance(e, dict):
            dec = e.get("decisive")
            evidence.append(EvidenceInput(channel=s(e.get("channel")), role=s(e.get("role")), state=s(e.get("state")),
                                          label=s(e.get("label")), detail=s(e.get("detail")),
                                          decisive=dec if isinstance(dec, bool) else None,
                                          why_not=s(e.get("why_not_decisive"))))
    seed = s(c.get("seed"))
    return ClaimDetail(
        id=s(c.get("id")), verdict=s(c.get("verdict")), reason=s(c.get("reason")), rule=s(c.get("rule")),
        scope=s(c.get("scope")), is_new=is_new, change=_change_bits(change), quote=s(c.get("quote")), seed=seed,
        seed_name=seed_names.get(seed, ""), statement=s(c.get("statement")), corrected=s(c.get("corrected")),
        notes=s(c.get("notes")),
        related=[(s(r), dom_by_id.get(s(r))) for r in lst(c.get("related"))],
        assumptions=[Assumption(text=s(a.get("text")), by=s(a.get("by")), kind=s(a.get("kind")))
                     for a in lst(c.get("assumptions")) if isinstance(a, dict)],
        evidence=evidence,
        formal_status=s(formal.get("status")) or "none",
        declarations=[_decl(d) for d in lst(formal.get("declarations")) if isinstance(d, dict)],
        tests_status=s(tests.get("status")) or "none",
        tests_counts=" · ".join(f"{fmt_num(tests.get(k, 0) or 0)} {k}" for k in ("passed", "failed", "errors",
                                                                                "skipped")),
        test_items=items, strength=_strength(tests.get("strength")),
        measurement_status=measurement_status(c),
        measurements=[build_measurement(m, f"{dom}-m{mi}", controls) for mi, m in enumerate(meas)],
    )


def search_text(c: dict) -> str:
    """Everything the page's search box matches for one claim (lower-cased by the script)."""
    bits: list[str] = [s(c.get(k)) for k in ("id", "title", "seed", "kind", "verdict", "quote", "statement",
                                             "notes", "reason", "rule", "corrected")]
    for a in lst(c.get("assumptions")):
        if isinstance(a, dict):
            bits.append(s(a.get("text")))
    for d in lst(get(c, "formal", "declarations")):
        if isinstance(d, dict):
            bits += [s(d.get("name")), s(d.get("statement")), s(d.get("status"))]
    for t in lst(get(c, "tests", "items")):
        if isinstance(t, dict):
            bits += [s(t.get("id")), s(t.get("outcome")), s(t.get("message")),
                     s(t.get("counterexample")) if isinstance(t.get("counterexample"), str) else ""]
    for m in lst(c.get("measurements")):
        if isinstance(m, dict):
            bits += [measurement_label(m), s(m.get("outcome")), s(m.get("model")), s(m.get("reason"))]
    return "\n".join(b for b in bits if b)

"""View model of the whole page: header, summary, provenance, changes, claim table, measurements table.

Policy: :func:`build_page` is a pure function of a ledger (and optionally a baseline ledger) returning plain data
for the templates; it tolerates any JSON shape, never mutates its input and orders every mapping
deterministically. Claim details are built by :mod:`quantproof.ledger.view_claim`, the seed documents by
:mod:`quantproof.ledger.view_seeds`.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from .analysis import (channel_statuses, claims_of, compute_summary, diff_ledgers, kind_rank, ordered_statuses,
                       status_rank, verdict_rank)
from .fmt import as_float, dct, estimate_text, fmt_expect, fmt_num, fmt_params, fmt_value, get, lst, s
from .plots import render_verdict_bar
from .theme import CHANNEL_LABELS, CHANNELS, DISCRIMINATION_TONES, VERDICT_COLORS, VERDICT_HELP, VERDICTS
from .view_claim import ClaimDetail, build_detail, search_text
from .view_seeds import build_seeds

__all__ = ["build_page", "dom_ids", "ClaimRow"]

_ID_SAFE = re.compile(r"[^a-z0-9_-]+")
COLUMNS = (("title", "Claim"), ("seed", "Seed"), ("kind", "Kind"), ("verdict", "Verdict"), ("formal", "Formal"),
           ("tests", "Tests"), ("measurements", "Measurements"))


def dom_ids(claims: list[dict]) -> list[str]:
    """Unique, attribute-safe DOM ids for the claims (deterministic)."""
    out, seen = [], set()
    for i, c in enumerate(claims):
        raw = s(c.get("id")) or f"claim-{i + 1}"
        base = _ID_SAFE.sub("-", raw.lower()).strip("-")[:80] or f"claim-{i + 1}"
        cand = f"c-{base}"
        if base != raw or cand in seen:
            cand = f"c-{base}-{hashlib.sha256(f'{i}:{raw}'.encode()).hexdigest()[:6]}"
        while cand in seen:
            cand += "-x"
        seen.add(cand)
        out.append(cand)
    return out


def seed_short(seed: str) -> str:
    m = re.match(r"^(\d+)_", seed)
    return m.group(1) if m else seed


@dataclass
class ClaimRow:
    dom: str
    id: str
    title: str
    seed_short: str
    seed_title: str
    kind: str
    verdict: str
    formal: str
    tests: str
    measurements: str
    tests_n: str
    meas_n: str
    state: str
    data: list[tuple[str, str]]
    detail: ClaimDetail


def _summary(ledger: dict, claims: list[dict], seed_names: dict[str, str]) -> dict[str, Any]:
    computed = compute_summary(claims)
    summary = dct(ledger.get("summary")) or computed
    by_verdict = dct(summary.get("by_verdict")) or computed["by_verdict"]
    total = summary.get("total") if isinstance(summary.get("total"), int) else len(claims)
    mismatch = []
    if summary is not computed:
        if total != computed["total"]:
            mismatch.append(f"total {total} vs {computed['total']} claims listed")
        for v in sorted(set(by_verdict) | set(computed["by_verdict"]), key=lambda k: (verdict_rank(k), k)):
            a, b = by_verdict.get(v, 0), computed["by_verdict"].get(v, 0)
            if a != b:
                mismatch.append(f"{v}: summary {a}, claims {b}")
    if mismatch:
        by_verdict, total = computed["by_verdict"], computed["total"]
    cards = []
    for v in list(VERDICTS) + sorted(k for k in by_verdict if k not in VERDICTS):
        cards.append({"verdict": v, "cls": v if v in VERDICT_COLORS else "unknown", "n": by_verdict.get(v, 0),
                      "help": VERDICT_HELP.get(v, "")})
    by_channel = dct(summary.get("by_channel")) or computed["by_channel"]
    channels = []
    for ch in CHANNELS:
        counts = dct(by_channel.get(ch))
        channels.append({"channel": ch, "label": CHANNEL_LABELS[ch],
                         "unit": "measurements" if ch == "measurements" else "claims",
                         "rows": [(st, counts[st]) for st in ordered_statuses(ch, counts)]})
    groups = []
    for label, fld, keyf in (("seed", "seed", lambda k: (k,)), ("kind", "kind", kind_rank)):
        grouped: dict[str, list[dict]] = {}
        for c in claims:
            grouped.setdefault(s(c.get(fld)), []).append(c)
        rows = []
        for key in sorted(grouped, key=keyf):
            cs = grouped[key]
            verd = Counter(s(c.get("verdict")) for c in cs)
            st = [channel_statuses(c) for c in cs]
            meas = Counter(s(m.get("outcome")) or "not-run" for c in cs for m in lst(c.get("measurements"))
                           if isinstance(m, dict))

            def pairs(channel: str | None, counts: Counter) -> list[tuple[str, int]]:
                keys = sorted(counts, key=lambda v: (verdict_rank(v), v)) if channel is None \
                    else ordered_statuses(channel, counts)
                return [(k, counts[k]) for k in keys if counts[k]]

            rows.append({"key": key, "name": seed_names.get(key, "") if fld == "seed" else "", "n": len(cs),
                         "verdicts": pairs(None, verd),
                         "formal": pairs("formal", Counter(x["formal"] for x in st)),
                         "tests": pairs("tests", Counter(x["tests"] for x in st)),
                         "measurements": pairs("measurements", meas)})
        groups.append({"label": label, "rows": rows})
    ordered = sorted(by_verdict, key=lambda k: (verdict_rank(k), k))
    return {"mismatch": "; ".join(mismatch), "total": total, "n_seeds": len(computed["by_seed"]),
            "vbar": Markup(render_verdict_bar([(v, by_verdict[v]) for v in ordered
                                               if isinstance(by_verdict[v], int)]) if total > 0 else ""),
            "cards": cards, "channels": channels, "groups": groups}


def _provenance(ledger: dict, claims: list[dict]) -> dict[str, Any]:
    p = dct(ledger.get("provenance"))
    lean = dct(p.get("lean"))
    sel = dct(ledger.get("selection"))
    run = dct(ledger.get("run"))
    seeds = sorted({as_float(get(m, "provenance", "seed")) for c in claims for m in lst(c.get("measurements"))
                    if isinstance(m, dict) and as_float(get(m, "provenance", "seed")) is not None})
    seed_txt = fmt_num(p.get("seed")) if p.get("seed") is not None else "—"
    if seeds and (len(seeds) > 1 or seeds[0] != as_float(p.get("seed"))):
        seed_txt += " (measurements: " + ", ".join(fmt_num(int(x)) if x == int(x) else fmt_num(x) for x in seeds) + ")"
    sel_claims = sel.get("claims")
    files = dict(dct(p.get("files")))
    if p.get("claims_sha256"):
        files.setdefault("claims.yaml", p.get("claims_sha256"))
    versions = dct(p.get("versions"))
    run_items: list[tuple[str, str]] = []
    if run:
        durs, cache = dct(run.get("durations_s")), dct(run.get("cache"))
        run_items = [("started", s(run.get("started_at")) or "—"), ("finished", s(run.get("finished_at")) or "—")]
        if durs:
            run_items.append(("durations", ", ".join(f"{k} {fmt_num(durs[k])} s" for k in sorted(durs))))
        if cache:
            run_items.append(("cache", ", ".join(f"{k} {fmt_value(cache[k])}" for k in sorted(cache))))
        run_items += [(k, fmt_value(run[k])) for k in sorted(run)
                      if k not in ("started_at", "finished_at", "durations_s", "cache")]
    return {
        "commit": s(p.get("commit")), "dirty": p.get("dirty"), "claims_sha256": p.get("claims_sha256"),
        "schema": ledger.get("schema"), "lean_toolchain": lean.get("toolchain"), "mathlib": lean.get("mathlib"),
        "built": lean.get("built"), "lake": lean.get("lake"), "device": p.get("device"),
        "device_name": s(p.get("device_name")), "dtype": p.get("dtype"), "seed_text": seed_txt,
        "complete": ledger.get("complete"),
        "selection_claims": ", ".join(map(str, sel_claims)) if isinstance(sel_claims, list)
        else "all" if sel_claims is None else s(sel_claims),
        "skip_measurements": fmt_value(sel.get("skip_measurements")), "skip_tests": fmt_value(sel.get("skip_tests")),
        "device_requested": sel.get("device"),
        "versions": [(k, fmt_value(versions[k])) for k in sorted(versions)],
        "files": [(k, fmt_value(files[k])) for k in sorted(files)],
        "run": run_items,
    }


def _diff(diff: dict, baseline: dict, dom_by_id: dict[str, str]) -> dict[str, Any]:
    removed = {s(c.get("id")): c for c in claims_of(baseline)}
    return {
        "baseline_commit": get(baseline, "provenance", "commit"),
        "baseline_started": s(get(baseline, "run", "started_at")),
        "baseline_total": diff["baseline_total"], "total": diff["total"],
        "verdict_delta": [(v, a, b) for v, (a, b) in diff["verdict_delta"].items()],
        "changed": [{"id": e["id"], "title": e["title"], "dom": dom_by_id.get(e["id"], ""),
                     "verdict": e.get("verdict"),
                     "channels": [(ch, a, b) for ch, (a, b) in e.get("channels", {}).items()],
                     "measurements": [tuple(x) for x in e.get("measurements", [])]} for e in diff["changed"]],
        "added": [(i, dom_by_id.get(i, "")) for i in diff["added"]],
        "removed": [(i, s(dct(removed.get(i)).get("title")), s(dct(removed.get(i)).get("verdict")))
                    for i in diff["removed"]],
        "provenance": [tuple(x) for x in diff["provenance"]],
    }


def _measurement_rows(claims: list[dict], doms: list[str]) -> list[dict[str, Any]]:
    rows = []
    for c, dom in zip(claims, doms):
        for m in lst(c.get("measurements")):
            if not isinstance(m, dict):
                continue
            e = dct(m.get("estimate"))
            value, interval = estimate_text(e)
            ci = interval.split(" (", 1)
            disc = s(m.get("discrimination"))
            rows.append({"dom": dom, "claim": s(c.get("id")), "name": s(m.get("name")), "output": s(m.get("output")),
                         "params": fmt_params(m.get("params")), "role": s(m.get("role")), "key": s(m.get("key")),
                         "claimed": fmt_expect(m.get("expect")), "value": value, "interval": ci[0],
                         "level": ci[1].rstrip(")") if len(ci) == 2 else "", "n": fmt_num(e.get("n")) if e else "—",
                         "outcome": s(m.get("outcome")) or "not-run", "reason": s(m.get("reason")),
                         "discrimination": disc, "discrimination_tone": DISCRIMINATION_TONES.get(disc, "neutral"),
                         "model": s(m.get("model")), "device": s(m.get("device")), "dtype": s(m.get("dtype"))})
    return rows


def _claim_rows(claims: list[dict], doms: list[str], dom_by_id: dict[str, str], diff: dict | None,
                seed_names: dict[str, str], units_by_claim: dict[str, list]) -> list[ClaimRow]:
    changed = {e["id"]: e for e in diff["changed"]} if diff else {}
    added = set(diff["added"]) if diff else set()
    rows = []
    for i, (c, dom) in enumerate(zip(claims, doms)):
        cid, v, kind, seed = s(c.get("id")), s(c.get("verdict")), s(c.get("kind")), s(c.get("seed"))
        st = channel_statuses(c)
        meas = [m for m in lst(c.get("measurements")) if isinstance(m, dict)]
        tcounts = dct(c.get("tests"))
        items = lst(tcounts.get("items"))
        state = "added" if cid in added else "changed" if cid in changed else ""
        data = [("order", str(i)), ("id", cid), ("title", s(c.get("title")) or cid), ("seed", seed), ("kind", kind),
                ("verdict", v), ("verdict-rank", str(verdict_rank(v))), ("kind-rank", str(kind_rank(kind)[0]))]
        for ch in CHANNELS:
            data += [(ch, st[ch]), (f"{ch}-rank", str(status_rank(ch, st[ch])))]
        data.append(("diff", state))
        detail = build_detail(c, dom, dom_by_id, changed.get(cid), cid in added, seed_names)
        detail.units = units_by_claim.get(cid, [])
        rows.append(ClaimRow(
            dom=dom, id=cid, title=s(c.get("title")) or cid, seed_short=seed_short(seed),
            seed_title=seed + (f" — {seed_names[seed]}" if seed in seed_names else ""), kind=kind, verdict=v,
            formal=st["formal"], tests=st["tests"], measurements=st["measurements"],
            tests_n=f"{fmt_num(tcounts.get('passed', 0) or 0)}/{len(items)}" if items else "",
            meas_n=f"{sum(1 for m in meas if m.get('outcome') == 'consistent')}/{len(meas)}" if meas else "",
            state=state, data=data, detail=detail))
    return rows


def build_page(ledger: Any, baseline: Any = None) -> dict[str, Any]:
    """Everything the page template needs (plain data; SVG as ``Markup`` built by the plots module)."""
    ledger = dct(ledger)
    claims = claims_of(ledger)
    doms = dom_ids(claims)
    dom_by_id: dict[str, str] = {}
    for c, d in zip(claims, doms):
        dom_by_id.setdefault(s(c.get("id")), d)
    diff = diff_ledgers(ledger, dct(baseline)) if baseline is not None else None
    prov = dct(ledger.get("provenance"))
    seeds = build_seeds(ledger, claims, dom_by_id)
    seed_names = seeds.names if seeds else {}
    rows = _claim_rows(claims, doms, dom_by_id, diff, seed_names, seeds.units_by_claim if seeds else {})
    statuses = [channel_statuses(c) for c in claims]
    vcount = Counter(s(c.get("verdict")) for c in claims)
    toc = [("summary", "Summary"), ("provenance", "Provenance")]
    if diff is not None:
        toc.append(("changes", "Changes since baseline"))
    if seeds and seeds.documents:
        toc.append(("seeds", "Seeds"))
    toc.append(("claims", "Claims"))
    measurement_rows = _measurement_rows(claims, doms)
    if measurement_rows:
        toc.append(("measurements", "Measurements"))
    return {
        "schema": s(ledger.get("schema")), "total": len(claims), "commit": s(prov.get("commit")),
        "dirty": prov.get("dirty"), "device": s(prov.get("device")), "dtype": s(prov.get("dtype")),
        "complete": ledger.get("complete"), "toc": toc,
        "summary": _summary(ledger, claims, seed_names), "prov": _provenance(ledger, claims),
        "diff": _diff(diff, dct(baseline), dom_by_id) if diff is not None else None,
        "seeds": seeds if seeds and seeds.documents else None,
        "coverage_rows": seeds.table if seeds else None,
        "claims": rows, "columns": COLUMNS,
        "filters": {
            "seeds": [(x, x + (f" — {seed_names[x]}" if x in seed_names else ""))
                      for x in sorted({s(c.get("seed")) for c in claims})],
            "kinds": [(k, k) for k in sorted({s(c.get("kind")) for c in claims}, key=kind_rank)],
            "channels": [(ch, CHANNEL_LABELS[ch], [(x, x) for x in ordered_statuses(ch, (st[ch] for st in statuses))])
                         for ch in CHANNELS],
            "verdicts": [(v, v if v in VERDICT_COLORS else "unknown", vcount.get(v, 0))
                         for v in list(VERDICTS) + sorted(v for v in vcount if v not in VERDICTS)],
        },
        "measurement_rows": measurement_rows,
        "data": {"schema": s(ledger.get("schema")), "search": {d: search_text(c) for c, d in zip(claims, doms)}},
    }

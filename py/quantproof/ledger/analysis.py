"""Ledger analysis for the page: channel statuses, the summary recomputed from the claims, the diff to a baseline.

Policy: pure functions of ledger dictionaries (``quantproof.ledger/1``, docs/LEDGER_SCHEMA.md) that tolerate
missing or malformed fields (an old, partial or hand-edited ledger still renders); mappings are returned in a
deterministic order.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any, Iterable

from .fmt import dct, fmt_params, fmt_value, get, lst, s
from .theme import CHANNELS, KIND_ORDER, STATUS_ORDER, VERDICTS

__all__ = ["claims_of", "measurement_status", "channel_statuses", "compute_summary", "diff_ledgers",
           "measurement_label", "verdict_rank", "kind_rank", "status_rank", "ordered_statuses"]


def claims_of(ledger: dict) -> list[dict]:
    return [c for c in lst(dct(ledger).get("claims")) if isinstance(c, dict)]


def verdict_rank(v: str) -> int:
    return VERDICTS.index(v) if v in VERDICTS else len(VERDICTS)


def kind_rank(k: str) -> tuple[int, str]:
    return (KIND_ORDER.index(k), k) if k in KIND_ORDER else (len(KIND_ORDER), k)


def status_rank(channel: str, status: str) -> int:
    order = STATUS_ORDER[channel]
    return order.index(status) if status in order else len(order)


def ordered_statuses(channel: str, values: Iterable[str]) -> list[str]:
    return sorted(set(values), key=lambda x: (status_rank(channel, x), x))


def measurement_status(claim: dict) -> str:
    """Aggregate of a claim's measurement outcomes: none | consistent | inconsistent | not-run | error | mixed."""
    outs = [s(m.get("outcome")) or "not-run" for m in lst(dct(claim).get("measurements")) if isinstance(m, dict)]
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


def channel_statuses(claim: dict) -> dict[str, str]:
    return {
        "formal": s(get(claim, "formal", "status")) or "none",
        "tests": s(get(claim, "tests", "status")) or "none",
        "measurements": measurement_status(claim),
    }


def compute_summary(claims: list[dict]) -> dict[str, Any]:
    """The ledger's ``summary`` recomputed from its claims (measurements channel counts every measurement)."""
    by_verdict = {v: 0 for v in VERDICTS}
    by_seed: dict[str, Counter] = {}
    by_kind: dict[str, Counter] = {}
    by_channel = {ch: Counter() for ch in CHANNELS}
    for c in claims:
        v = s(c.get("verdict"))
        by_verdict[v] = by_verdict.get(v, 0) + 1
        by_seed.setdefault(s(c.get("seed")), Counter())[v] += 1
        by_kind.setdefault(s(c.get("kind")), Counter())[v] += 1
        by_channel["formal"][s(get(c, "formal", "status")) or "none"] += 1
        by_channel["tests"][s(get(c, "tests", "status")) or "none"] += 1
        for m in lst(c.get("measurements")):
            if isinstance(m, dict):
                by_channel["measurements"][s(m.get("outcome")) or "not-run"] += 1
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


def measurement_label(m: dict) -> str:
    """``name.output(k=v, …)``."""
    p = ", ".join(fmt_params(m.get("params")))
    label = f"{s(m.get('name'))}.{s(m.get('output'))}"
    return f"{label}({p})" if p else label


_PROVENANCE_FIELDS = (("commit", ("commit",)), ("dirty", ("dirty",)), ("claims.yaml sha256", ("claims_sha256",)),
                      ("Lean built", ("lean", "built")), ("Lean toolchain", ("lean", "toolchain")),
                      ("Mathlib", ("lean", "mathlib")), ("device", ("device",)), ("dtype", ("dtype",)),
                      ("seed", ("seed",)))


def _claim_change(b: dict, c: dict) -> dict[str, Any]:
    cid = s(c.get("id"))
    entry: dict[str, Any] = {"id": cid, "title": s(c.get("title")), "changes": []}
    bv, cv = s(b.get("verdict")), s(c.get("verdict"))
    if bv != cv:
        entry["verdict"] = [bv, cv]
    bs, cs = channel_statuses(b), channel_statuses(c)
    channels = {ch: [bs[ch], cs[ch]] for ch in CHANNELS if bs[ch] != cs[ch]}
    if channels:
        entry["channels"] = channels
    bm = {_measurement_key(m): m for m in lst(b.get("measurements")) if isinstance(m, dict)}
    cm = {_measurement_key(m): m for m in lst(c.get("measurements")) if isinstance(m, dict)}
    meas = []
    for k, m in cm.items():
        if k not in bm:
            meas.append([measurement_label(m), None, s(m.get("outcome"))])
        elif s(bm[k].get("outcome")) != s(m.get("outcome")):
            meas.append([measurement_label(m), s(bm[k].get("outcome")), s(m.get("outcome"))])
    for k, m in bm.items():
        if k not in cm:
            meas.append([measurement_label(m), s(m.get("outcome")), None])
    if meas:
        entry["measurements"] = meas
    if s(b.get("reason")) != s(c.get("reason")):
        entry["reason"] = [s(b.get("reason")), s(c.get("reason"))]
    for field in ("statement", "quote", "title", "kind", "seed"):
        if s(b.get(field)) != s(c.get(field)):
            entry["changes"].append(field)
    return entry


def diff_ledgers(ledger: dict, baseline: dict) -> dict[str, Any]:
    """What changed from ``baseline`` to ``ledger``: added/removed claims, verdict and channel status changes."""
    cur = claims_of(ledger)
    base = claims_of(baseline)
    cur_ids = {s(c.get("id")) for c in cur}
    base_by: dict[str, dict] = {}
    for c in base:
        base_by.setdefault(s(c.get("id")), c)
    added = [s(c.get("id")) for c in cur if s(c.get("id")) not in base_by]
    removed = [s(c.get("id")) for c in base if s(c.get("id")) not in cur_ids]
    changed = []
    seen: set[str] = set()
    for c in cur:
        cid = s(c.get("id"))
        if cid not in base_by or cid in seen:
            continue
        seen.add(cid)
        entry = _claim_change(base_by[cid], c)
        if "verdict" in entry or "channels" in entry or "measurements" in entry:
            changed.append(entry)
    bsum = compute_summary(base)["by_verdict"]
    csum = compute_summary(cur)["by_verdict"]
    verdict_delta = {v: [bsum.get(v, 0), csum.get(v, 0)] for v in sorted(set(bsum) | set(csum), key=verdict_rank)
                     if bsum.get(v, 0) != csum.get(v, 0)}
    prov = []
    bp, cp = dct(dct(baseline).get("provenance")), dct(dct(ledger).get("provenance"))
    for label, path in _PROVENANCE_FIELDS:
        a, b2 = get(bp, *path), get(cp, *path)
        if a != b2:
            prov.append([label, fmt_value(a), fmt_value(b2)])
    for section in ("versions", "files"):
        a, b2 = dct(bp.get(section)), dct(cp.get(section))
        for k in sorted(set(a) | set(b2)):
            if a.get(k) != b2.get(k):
                prov.append([f"{section[:-1]} {k}", fmt_value(a.get(k)) if k in a else "absent",
                             fmt_value(b2.get(k)) if k in b2 else "absent"])
    return {"added": added, "removed": removed, "changed": changed, "verdict_delta": verdict_delta,
            "provenance": prov, "baseline_total": len(base), "total": len(cur)}

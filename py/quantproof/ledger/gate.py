"""The gate: compare a ledger with a baseline and fail on anything that must be reviewed.

Policy:
1. A verdict is a finding. Every change of an existing claim's verdict fails the gate until the baseline is updated
   on purpose (``scripts/update_baseline.sh``): a drop in strength or a flip between *for* and *against* is a
   ``REGRESSION``; any other change (not-reproduced → refuted, unchecked → supported, …) is a ``REVIEW``: a
   stronger finding must be looked at as much as a weaker one.
2. Pre-registration: the expectation, role, controls, parameters and seed figures of an existing measurement link,
   the role of an existing test or Lean link, and a claim's statement, scope, assumptions and corrected statement
   are fixed before measuring. A change to any of them is a ``REVIEW`` that fails the gate, whatever the outcome.
3. Per channel, a status that drops in rank fails the gate (formal proved → build-failed, tests passed → failed, a
   measurement consistent → inconsistent or → error); rank gains are reported, never failures.
4. A claim present in the baseline and missing from the ledger fails the gate; a new claim is reported.
5. ``--require id=level`` fails when that claim's verdict is below the level (by strength) or of the other polarity.
6. A partial ledger (``--claims``) is compared on the claims it holds; the others are listed as not judged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

STRENGTH = {"verified": 5, "refuted": 4, "mis-stated": 4, "vacuous": 4, "supported": 3, "conditional": 3,
            "not-reproduced": 3, "open": 2, "unsupported": 1, "conflicting": 1, "unchecked": 0, "error": 0}
POLARITY = {"verified": 1, "supported": 1, "conditional": 1, "refuted": -1, "mis-stated": -1, "vacuous": -1,
            "not-reproduced": -1, "open": 0, "unsupported": 0, "conflicting": 0, "unchecked": 0, "error": 0}
# "sorry" ranks with "none": linking an open (sorry) statement where there was no formal evidence is not a
# regression, while a proof that turns into sorry (proved / not-built -> sorry) still is.
FORMAL_RANK = {"proved": 6, "refuted": 6, "not-built": 4, "none": 3, "sorry": 3, "axioms-rejected": 1,
               "statement-changed": 1, "build-failed": 1, "blocked": 1, "missing": 0}
TESTS_RANK = {"passed": 4, "none": 3, "skipped": 2, "not-run": 2, "failed": 1, "error": 0}
MEAS_RANK = {"consistent": 4, "inconsistent": 4, "measured": 4, "inconclusive": 3, "not-run": 2, "error": 0}

REGRESSION, REVIEW, INFO = "REGRESSION", "REVIEW", "change"


@dataclass(frozen=True)
class Change:
    claim: str
    what: str
    old: str
    new: str
    bad: bool
    kind: str = ""  # REGRESSION | REVIEW | change

    def __str__(self) -> str:
        mark = self.kind or (REGRESSION if self.bad else INFO)
        return f"{mark:10} {self.claim}: {self.what}: {self.old} -> {self.new}"


def _regression(cid: str, what: str, old: Any, new: Any) -> Change:
    return Change(cid, what, str(old), str(new), True, REGRESSION)


def _review(cid: str, what: str, old: Any, new: Any) -> Change:
    return Change(cid, what, str(old), str(new), True, REVIEW)


def _info(cid: str, what: str, old: Any, new: Any) -> Change:
    return Change(cid, what, str(old), str(new), False, INFO)


def _j(v: Any) -> str:
    return json.dumps(v, sort_keys=True, ensure_ascii=False)


def _link_slots(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Measurement links by a slot stable under parameter edits: name.output#k (k-th link with that name.output)."""
    seen: dict[str, int] = {}
    out = {}
    for m in rows:
        base = f"{m['name']}.{m.get('output')}"
        k = seen.get(base, 0)
        seen[base] = k + 1
        out[f"{base}#{k}"] = m
    return out


def _controls_def(m: dict[str, Any]) -> list[dict[str, Any]]:
    return [{k: c.get(k) for k in ("label", "should", "params", "output")} for c in m.get("controls") or []]


PREREGISTERED = (("role", lambda m: m.get("role")), ("expectation", lambda m: m.get("expect")),
                 ("parameters", lambda m: m.get("params")), ("controls", _controls_def),
                 ("seed figures", lambda m: m.get("seed_values") or []))
CLAIM_FIXED = ("statement", "scope", "assumptions", "corrected", "premises")


def _compare_claim(cid: str, o: dict[str, Any], n: dict[str, Any]) -> list[Change]:
    changes: list[Change] = []
    ov, nv = o["verdict"], n["verdict"]
    if ov != nv:
        worse = STRENGTH.get(nv, 0) < STRENGTH.get(ov, 0) or POLARITY.get(nv, 0) * POLARITY.get(ov, 0) < 0
        changes.append((_regression if worse else _review)(cid, "verdict", ov, nv))
    for fld in CLAIM_FIXED:
        if fld in o and _j(o.get(fld)) != _j(n.get(fld)):
            changes.append(_review(cid, f"claim {fld} (pre-registered)", _short(o.get(fld)), _short(n.get(fld))))
    for ch, rank in (("formal", FORMAL_RANK), ("tests", TESTS_RANK)):
        os_, ns = o.get(ch, {}).get("status", "none"), n.get(ch, {}).get("status", "none")
        if os_ != ns:
            changes.append((_regression if rank.get(ns, 0) < rank.get(os_, 0) else _info)(cid, f"{ch} status",
                                                                                           os_, ns))
    for ch, key, items in (("formal", "name", "declarations"), ("tests", "id", "items")):
        oroles = {x[key]: x.get("role") for x in o.get(ch, {}).get(items, [])}
        nroles = {x[key]: x.get("role") for x in n.get(ch, {}).get(items, [])}
        for k in sorted(oroles.keys() & nroles.keys()):
            if oroles[k] != nroles[k]:
                changes.append(_review(cid, f"{ch} link {k}: role (pre-registered)", oroles[k], nroles[k]))
    om, nm = _link_slots(o.get("measurements", [])), _link_slots(n.get("measurements", []))
    for k in sorted(om.keys() | nm.keys()):
        a, b = om.get(k), nm.get(k)
        if a is None:
            changes.append(_info(cid, f"measurement {k}", "absent", b["outcome"]))
            continue
        if b is None:
            changes.append(_regression(cid, f"measurement {k}", a["outcome"], "absent"))
            continue
        for what, get in PREREGISTERED:
            if what in ("controls", "seed figures") and ("controls" if what == "controls" else "seed_values") not in a:
                continue  # a baseline from before the field existed
            if _j(get(a)) != _j(get(b)):
                changes.append(_review(cid, f"measurement {k}: {what} (pre-registered)", _short(get(a)),
                                       _short(get(b))))
        if a["outcome"] != b["outcome"]:
            flip = {a["outcome"], b["outcome"]} == {"consistent", "inconsistent"}
            worse = flip or MEAS_RANK.get(b["outcome"], 0) < MEAS_RANK.get(a["outcome"], 0)
            changes.append((_regression if worse else _info)(cid, f"measurement {k}", a["outcome"], b["outcome"]))
    return changes


def _short(v: Any, limit: int = 160) -> str:
    s = v if isinstance(v, str) else _j(v)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def compare(baseline: dict[str, Any], ledger: dict[str, Any]) -> list[Change]:
    old = {c["id"]: c for c in baseline.get("claims", [])}
    new = {c["id"]: c for c in ledger.get("claims", [])}
    changes: list[Change] = []
    partial = not ledger.get("complete", True)
    for cid in sorted(old.keys() - new.keys()):
        if partial:
            changes.append(_info(cid, "claim", "in the baseline", "not judged by this partial run"))
        else:
            changes.append(_regression(cid, "claim", "present", "missing"))
    for cid in sorted(new.keys() - old.keys()):
        changes.append(_info(cid, "claim", "absent", new[cid]["verdict"]))
    for cid in sorted(old.keys() & new.keys()):
        changes.extend(_compare_claim(cid, old[cid], new[cid]))
    return changes


def check_requirements(ledger: dict[str, Any], requirements: list[str]) -> list[str]:
    """``id=level`` pairs; returns one message per unmet requirement (unknown ids and levels are errors too)."""
    claims = {c["id"]: c for c in ledger.get("claims", [])}
    problems = []
    for req in requirements:
        cid, sep, level = req.partition("=")
        if not sep or level not in STRENGTH:
            problems.append(f"bad requirement {req!r}: use ID=LEVEL with LEVEL one of {', '.join(STRENGTH)}")
            continue
        if cid not in claims:
            problems.append(f"required claim {cid!r} is not in the ledger")
            continue
        got = claims[cid]["verdict"]
        if STRENGTH.get(got, 0) < STRENGTH[level] or POLARITY.get(got, 0) * POLARITY[level] < 0:
            problems.append(f"required {cid} at {level}, got {got}")
    return problems

"""The gate: compare a ledger with a baseline and fail when anything went backwards.

Policy:
1. Verdicts have a strength (how decisive the evidence is) and a polarity (for or against the claim). A change
   fails the gate when the strength drops, or when the polarity flips between *for* and *against* (a finding
   changed; that must be reviewed and the baseline updated deliberately).
2. Per channel, a status that drops in rank fails the gate (e.g. formal proved → build-failed, tests passed →
   failed, a measurement consistent → inconsistent or → error). Rank gains are reported, never failures.
3. A claim present in the baseline and missing from the ledger fails the gate; a new claim is reported.
4. ``--require id=level`` fails when that claim's verdict is below the level (by strength) or of the other polarity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

STRENGTH = {"verified": 5, "refuted": 4, "mis-stated": 4, "vacuous": 4, "supported": 3, "not-reproduced": 3,
            "open": 2, "conflicting": 1, "unchecked": 0, "error": 0}
POLARITY = {"verified": 1, "supported": 1, "refuted": -1, "mis-stated": -1, "vacuous": -1, "not-reproduced": -1,
            "open": 0, "conflicting": 0, "unchecked": 0, "error": 0}
# "sorry" ranks with "none": linking an open (sorry) statement where there was no formal evidence is not a
# regression, while a proof that turns into sorry (proved / not-built -> sorry) still is.
FORMAL_RANK = {"proved": 6, "refuted": 6, "not-built": 4, "none": 3, "sorry": 3, "axioms-rejected": 1,
               "statement-changed": 1, "build-failed": 1, "missing": 0}
TESTS_RANK = {"passed": 4, "none": 3, "skipped": 2, "not-run": 2, "failed": 1, "error": 0}
MEAS_RANK = {"consistent": 4, "inconsistent": 4, "inconclusive": 3, "not-run": 2, "error": 0}


@dataclass(frozen=True)
class Change:
    claim: str
    what: str
    old: str
    new: str
    bad: bool

    def __str__(self) -> str:
        mark = "REGRESSION" if self.bad else "change"
        return f"{mark:10} {self.claim}: {self.what}: {self.old} -> {self.new}"


def _meas_key(m: dict[str, Any]) -> str:
    import json

    return f"{m['name']}({json.dumps(m.get('params', {}), sort_keys=True)}).{m.get('output')}"


def compare(baseline: dict[str, Any], ledger: dict[str, Any]) -> list[Change]:
    old = {c["id"]: c for c in baseline.get("claims", [])}
    new = {c["id"]: c for c in ledger.get("claims", [])}
    changes: list[Change] = []
    for cid in sorted(old.keys() - new.keys()):
        changes.append(Change(cid, "claim", "present", "missing", True))
    for cid in sorted(new.keys() - old.keys()):
        changes.append(Change(cid, "claim", "absent", new[cid]["verdict"], False))
    for cid in sorted(old.keys() & new.keys()):
        o, n = old[cid], new[cid]
        ov, nv = o["verdict"], n["verdict"]
        if ov != nv:
            bad = STRENGTH.get(nv, 0) < STRENGTH.get(ov, 0) or POLARITY.get(nv, 0) * POLARITY.get(ov, 0) < 0
            changes.append(Change(cid, "verdict", ov, nv, bad))
        for ch, rank in (("formal", FORMAL_RANK), ("tests", TESTS_RANK)):
            os_, ns = o.get(ch, {}).get("status", "none"), n.get(ch, {}).get("status", "none")
            if os_ != ns:
                changes.append(Change(cid, f"{ch} status", os_, ns, rank.get(ns, 0) < rank.get(os_, 0)))
        om = {_meas_key(m): m for m in o.get("measurements", [])}
        nm = {_meas_key(m): m for m in n.get("measurements", [])}
        for k in sorted(om.keys() | nm.keys()):
            a, b = om.get(k), nm.get(k)
            if a is None:
                changes.append(Change(cid, f"measurement {k}", "absent", b["outcome"], False))
            elif b is None:
                changes.append(Change(cid, f"measurement {k}", a["outcome"], "absent", True))
            elif a["outcome"] != b["outcome"]:
                flip = {a["outcome"], b["outcome"]} == {"consistent", "inconsistent"}
                bad = flip or MEAS_RANK.get(b["outcome"], 0) < MEAS_RANK.get(a["outcome"], 0)
                changes.append(Change(cid, f"measurement {k}", a["outcome"], b["outcome"], bad))
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

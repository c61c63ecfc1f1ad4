"""Test strength in the verdicts: when a passing test counts as evidence (pure but for :func:`load_inputs`, which reads the report).

Policy (the issue's rule, docs/REFEREE.md): a test that passes decides nothing by itself; it counts as decisive
evidence only when the claim's mutation-testing record (``ledger/strength.json``, :mod:`quantproof.evidence.strength`)

1. exists — no record: "no strength record";
2. is not stale — a module, test file or tag changed since: "strength report stale for this code";
3. has a kill rate — no mutant in the code its tests run: nothing could have failed;
4. meets :data:`THRESHOLD` — else "tests kill 25/89 mutants (0.28) < 0.80".

A tagged test that runs no in-scope project code at all is **no evidence** (it checks arithmetic or a library, not
the code the claim is about), whatever the claim's kill rate. A failing test is never gated: a counterexample stands
however weak the rest of the suite is. The outcome is a reason string (or None) that the ledger builder puts into
:attr:`Evidence.blocked`; :func:`strength_record` is the ``tests.strength`` block of a claim's ledger record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..evidence.strength import THRESHOLD, ClaimStrength, load_strength

NO_RECORD = "no strength record: `quantproof strength` has not measured this claim's tests"
STALE = "strength report stale for this code: a module, test or tag changed since `quantproof strength` ran"
NO_PROJECT_CODE = "runs no project code: it kills no mutant, so it is no evidence about the code"
SURVIVORS_SHOWN = 25  # the ledger lists this many surviving mutants per claim; `quantproof strength --show` all


@dataclass(frozen=True)
class StrengthInputs:
    """What the ledger builder knows of test strength: every claim's record, or why the report is unusable."""

    records: dict[str, ClaimStrength] = field(default_factory=dict)
    problem: str | None = None  # the report could not be read (named file, reason): every passing test is blocked


def load_inputs(repo: Path) -> StrengthInputs:
    """The committed report's records; a malformed report does not stop the ledger, it blocks every test."""
    try:
        return StrengthInputs(load_strength(Path(repo)))
    except ValueError as exc:
        return StrengthInputs({}, f"strength report unusable: {exc}")


def kill_text(st: ClaimStrength) -> str:
    """'tests kill 25/89 mutants (0.28)' (equivalent mutants excluded from the count)."""
    live = st.mutants - st.equivalent
    rate = f"{st.kill_rate:.2f}" if st.kill_rate is not None else "—"
    return f"tests kill {st.killed}/{live} mutants ({rate})"


def passing_test_block(st: ClaimStrength | None, test_id: str, *, problem: str | None = None,
               threshold: float = THRESHOLD) -> str | None:
    """Why a passing test of this claim decides nothing, or None when it counts. ``st``: the claim's record."""
    if problem:
        return problem
    if st is None:
        return NO_RECORD
    if st.stale:
        return STALE
    if test_id in st.no_project_code:
        return NO_PROJECT_CODE
    if st.kill_rate is None:
        return "no mutant in the code its tests exercise: nothing could have failed"
    if st.kill_rate < threshold:
        return f"{kill_text(st)} < {threshold:.2f}"
    return None


def is_no_evidence(st: ClaimStrength | None, test_id: str) -> bool:
    """A fresh record says this test runs no project code: it counts as no evidence at all (not as 'ran')."""
    return st is not None and not st.stale and test_id in st.no_project_code


def strength_record(st: ClaimStrength | None, *, threshold: float = THRESHOLD) -> dict[str, Any] | None:
    """The ``tests.strength`` block of a claim's ledger record; None when the claim has no record."""
    if st is None:
        return None
    live = [s for s in st.survivors if not s.equivalent]
    return {"kill_rate": st.kill_rate, "killed": st.killed, "mutants": st.mutants, "equivalent": st.equivalent,
            "survivor_count": len(live), "stale": st.stale, "threshold": threshold,
            "meets_threshold": st.meets_threshold and (st.kill_rate or 0.0) >= threshold,
            "code_hash": st.code_hash, "no_project_code": list(st.no_project_code),
            "survivors": [{"file": s.file, "line": s.line, "function": s.function, "change": s.change,
                           "reason": s.reason} for s in live[:SURVIVORS_SHOWN]]}

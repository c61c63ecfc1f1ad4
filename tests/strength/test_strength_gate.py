"""Test strength in the verdicts: a passing test decides only with a fresh strength record at or above THRESHOLD.

One case per way a passing test can be held back (no record, stale, below the threshold, nothing to kill, no project
code, an unreadable report), the case where it counts, and a failing test, which is never held back; each is run
through the ledger builder's tests part and the verdict rules, and the ledger's ``tests.strength`` block is checked.
"""

from __future__ import annotations

import json

import pytest

from quantproof.claims.model import Claim
from quantproof.evidence import tests as T
from quantproof.evidence.strength import THRESHOLD, ClaimStrength, Survivor
from quantproof.ledger.build import _tests_part
from quantproof.ledger.explain import explain
from quantproof.ledger.strength_gate import (NO_PROJECT_CODE, NO_RECORD, STALE, StrengthInputs, load_inputs,
                                             passing_test_block, strength_record)
from quantproof.ledger.verdict import ClaimContext, Evidence, decide

TID = "tests/property/test_x.py::test_x"


def _st(killed: int = 90, mutants: int = 100, equivalent: int = 0, *, stale: bool = False,
        no_project_code: tuple[str, ...] = (), rate: float | None | str = "auto") -> ClaimStrength:
    live = mutants - equivalent
    kill_rate = (killed / live if live else None) if rate == "auto" else rate
    survivors = tuple(Survivor("py/quantproof/math/x.py", 10 + i, "a + b → a - b", "the claim's tests pass under it")
                      for i in range(live - killed))
    survivors += tuple(Survivor("py/quantproof/math/x.py", 99, "x → x", "no input tells them apart", True)
                       for _ in range(equivalent))
    return ClaimStrength(claim="c", kill_rate=kill_rate, killed=killed, mutants=mutants, equivalent=equivalent,
                         survivors=survivors, functions=("py/quantproof/math/x.py::f",), tests=(),
                         no_project_code=no_project_code, killed_by={"failed": killed}, errors=(), problems=(),
                         code_hash="abc", stale=stale)


def _claim() -> Claim:
    return Claim(id="c", title="t", seed="000.md", quote="q", kind="theorem", statement="s")


def _judge(outcome: str, st: ClaimStrength | None, problem: str | None = None) -> tuple[dict, list[Evidence], str]:
    idx = T.TestIndex()
    idx.by_claim["c"].append(T.TaggedTest(TID, "c", "asserts", "tests/property/test_x.py", 1))
    records = {TID: {"outcome": outcome, "claims": [{"id": "c"}]}}
    inputs = StrengthInputs({"c": st} if st is not None else {}, problem)
    part, ev = _tests_part(_claim(), idx, records, {}, False, inputs)
    return part, ev, decide("theorem", ev, context=ClaimContext(kind="theorem")).verdict


def test_meets_threshold_counts():
    part, ev, verdict = _judge("passed", _st(90, 100))
    assert ev[0].decisive and ev[0].blocked is None
    assert verdict == "supported"
    assert part["strength"]["meets_threshold"] is True and part["strength"]["kill_rate"] == pytest.approx(0.9)


def test_exactly_at_threshold_counts_and_just_below_does_not():
    assert passing_test_block(_st(80, 100), TID) is None
    assert passing_test_block(_st(79, 100), TID) == "tests kill 79/100 mutants (0.79) < 0.80"


def test_below_threshold_is_blocked_with_the_numbers():
    part, ev, verdict = _judge("passed", _st(25, 90, equivalent=1))
    assert not ev[0].decisive
    assert ev[0].blocked == "tests kill 25/89 mutants (0.28) < 0.80"
    assert ev[0].to_json()["why_not_decisive"] == ev[0].blocked
    assert verdict == "unsupported"  # R11: ran, decided nothing
    s = part["strength"]
    assert (s["killed"], s["mutants"], s["equivalent"], s["survivor_count"]) == (25, 90, 1, 64)
    assert s["meets_threshold"] is False and s["threshold"] == THRESHOLD and s["stale"] is False
    assert len(s["survivors"]) == 25 and all("equivalent" not in x for x in s["survivors"])


def test_no_record_is_blocked():
    part, ev, verdict = _judge("passed", None)
    assert ev[0].blocked == NO_RECORD and not ev[0].decisive
    assert verdict == "unsupported"
    assert part["strength"] is None


def test_stale_record_is_blocked_even_when_strong():
    part, ev, verdict = _judge("passed", _st(100, 100, stale=True))
    assert ev[0].blocked == STALE
    assert verdict == "unsupported"
    assert part["strength"]["stale"] is True and part["strength"]["meets_threshold"] is False


def test_nothing_to_kill_is_blocked():
    _, ev, verdict = _judge("passed", _st(0, 0))
    assert ev[0].blocked and "no mutant" in ev[0].blocked
    assert verdict == "unsupported"


def test_a_test_that_runs_no_project_code_is_no_evidence():
    _, ev, verdict = _judge("passed", _st(95, 100, no_project_code=(TID,)))
    assert ev[0].blocked == NO_PROJECT_CODE
    assert ev[0].state == "unknown" and not ev[0].ran
    assert verdict == "unchecked"  # R13: as if nothing ran


def test_unreadable_report_blocks_every_passing_test():
    _, ev, verdict = _judge("passed", _st(95, 100), problem="strength report unusable: bad")
    assert ev[0].blocked == "strength report unusable: bad"
    assert verdict == "unsupported"


@pytest.mark.parametrize("st", [None, _st(1, 100), _st(100, 100, stale=True)])
def test_a_failing_test_is_never_held_back(st):
    _, ev, verdict = _judge("failed", st)
    assert ev[0].decisive and ev[0].blocked is None
    assert verdict == "refuted"


def test_strength_record_none_and_explain_shows_the_block():
    assert strength_record(None) is None
    part, ev, verdict = _judge("passed", _st(25, 90, equivalent=1))
    text = explain({"id": "c", "verdict": verdict, "rule": "R11", "title": "t", "statement": "s", "reason": "r",
                    "evidence": [e.to_json() for e in ev], "tests": part})
    assert "tests kill 25/89 mutants (0.28) < 0.80" in text
    assert "mutation strength" in text and "64 surviving" in text


def test_load_inputs_reports_a_malformed_report(tmp_path):
    (tmp_path / "ledger").mkdir()
    (tmp_path / "ledger" / "strength.json").write_text(json.dumps({"schema": "other"}))
    got = load_inputs(tmp_path)
    assert got.records == {} and got.problem and "strength.json" in got.problem
    assert load_inputs(tmp_path / "nowhere").problem is None  # no report at all: every claim lacks a record


def test_page_and_markdown_show_the_strength_block():
    import copy
    import re
    from pathlib import Path

    from quantproof.ledger.html import render_html
    from quantproof.ledger.markdown import render_markdown

    led = json.loads((Path(__file__).parents[1] / "fixtures" / "ledger_referee.json").read_text())
    led = copy.deepcopy(led)
    part, _, _ = _judge("passed", _st(25, 90, equivalent=1, stale=True))
    c = next(c for c in led["claims"] if c["id"] == "cos_sign_quant_formula")
    c["tests"]["strength"] = part["strength"]
    text = re.sub(r"<[^>]+>", "", render_html(led))
    assert "Mutation testing stale kill rate 28.09% (25/89 mutants killed); threshold 80%" in text
    assert "64 surviving mutants (the first 25 listed; quantproof strength --show cos_sign_quant_formula" in text
    md = render_markdown(led)
    assert "- mutation strength: 25/89 mutants killed (0.28; threshold 0.8): **below** — stale; 64 surviving" in md

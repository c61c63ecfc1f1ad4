"""The verdict rules on synthetic evidence: one case per rule and per known way to earn a verdict unsoundly."""

from __future__ import annotations

import pytest

from quantproof.claims.model import Expectation
from quantproof.evidence.discrimination import ControlOutcome, discriminate
from quantproof.evidence.runner_measure import judge
from quantproof.ledger.verdict import ClaimContext, Evidence, decide


def ev(role: str, state: str, channel: str = "tests", **kw) -> Evidence:
    kw.setdefault("ran", state in ("holds", "fails"))
    return Evidence(channel, role, state, f"{channel}-{role}-{state}", detail=f"{channel} {role} {state} 0.123", **kw)


@pytest.mark.parametrize("kind, evidence, expected, rule", [
    # R1: evidence for meets evidence against, whichever channel and role carries it
    ("theorem", [ev("asserts", "holds"), ev("asserts", "fails")], "conflicting", "R1"),
    ("theorem", [ev("asserts", "holds"), ev("refutes", "holds")], "conflicting", "R1"),
    ("empirical", [ev("reproduces", "holds", "measurements"), ev("refutes", "holds", "measurements")],
     "conflicting", "R1"),
    # R2, R3
    ("theorem", [ev("refutes", "holds"), ev("corrects", "holds")], "mis-stated", "R2"),
    ("theorem", [ev("asserts", "fails"), ev("corrects", "holds")], "mis-stated", "R2"),
    ("theorem", [ev("refutes", "holds")], "refuted", "R3"),
    ("theorem", [ev("asserts", "fails")], "refuted", "R3"),
    ("theorem", [ev("refutes", "holds"), ev("corrects", "fails")], "refuted", "R3"),
    # R4
    ("theorem", [ev("vacuous", "holds"), ev("asserts", "holds")], "vacuous", "R4"),
    ("empirical", [ev("asserts", "holds", "measurements", trivial=True, blocked="non-discriminating")],
     "vacuous", "R4"),
    # R5: only a kernel-checked proof
    ("theorem", [ev("asserts", "holds", "formal", kernel=True), ev("asserts", "holds")], "verified", "R5"),
    # R6
    ("empirical", [ev("reproduces", "fails", "measurements"), ev("asserts", "holds")], "not-reproduced", "R6"),
    # R8
    ("empirical", [ev("reproduces", "holds", "measurements")], "supported", "R8"),
    ("theorem", [ev("asserts", "holds"), ev("asserts", "unknown", "formal")], "supported", "R8"),
    # R10
    ("conjecture", [], "open", "R10"),
    ("theorem", [ev("asserts", "unknown", "formal", open_statement=True)], "open", "R10"),
    # R11: ran, decided nothing
    ("empirical", [ev("asserts", "unknown", "measurements", ran=True)], "unsupported", "R11"),
    ("empirical", [ev("asserts", "holds", "measurements", blocked="undetermined: no control")], "unsupported", "R11"),
    ("empirical", [ev("reproduces", "fails", "measurements", blocked="non-discriminating")], "unsupported", "R11"),
    ("theorem", [ev("refutes", "fails")], "unsupported", "R11"),
    ("theorem", [ev("corrects", "fails")], "unsupported", "R11"),
    ("theorem", [ev("vacuous", "fails")], "unsupported", "R11"),
    ("theorem", [ev("asserts", "holds", blocked="kill rate 0.40 < 0.80")], "unsupported", "R11"),
    # R12, R13
    ("theorem", [ev("asserts", "unknown", error=True)], "error", "R12"),
    ("theorem", [ev("asserts", "unknown")], "unchecked", "R13"),
    ("theorem", [], "unchecked", "R13"),
    # a corrected statement alone does not make the literal claim false (nor true)
    ("theorem", [ev("corrects", "holds")], "unsupported", "R11"),
    # an unbuilt proof is never "verified", and does not run
    ("theorem", [ev("asserts", "unknown", "formal")], "unchecked", "R13"),
    # lemma and control links are never decisive
    ("theorem", [ev("lemma", "holds"), ev("lemma", "holds", "formal", kernel=True)], "unchecked", "R13"),
    ("empirical", [ev("control", "holds", "measurements")], "unchecked", "R13"),
])
def test_rules(kind: str, evidence: list[Evidence], expected: str, rule: str) -> None:
    v = decide(kind, evidence)
    assert (v.verdict, v.rule) == (expected, rule)
    assert v.reason and v.reason.endswith(".")


def test_a_reproduction_that_holds_is_not_dropped_by_a_refutation() -> None:
    v = decide("empirical", [ev("reproduces", "holds", "measurements"), ev("refutes", "holds", "measurements")])
    assert v.verdict == "conflicting" and "measurements reproduces holds" in v.reason


def test_a_failed_refutation_is_reported_not_ignored() -> None:
    v = decide("theorem", [ev("refutes", "fails")])
    assert v.verdict == "unsupported"
    assert "a refutation failed" in v.reason and "0.123" in v.reason


def test_a_failed_correction_is_named_in_a_refutation() -> None:
    v = decide("theorem", [ev("refutes", "holds"), ev("corrects", "fails")])
    assert v.verdict == "refuted" and "a proposed correction failed" in v.reason


def test_an_added_hypothesis_is_never_plain_supported() -> None:
    ctx = ClaimContext(kind="theorem", added_hypotheses=("the coordinates are independent",))
    v = decide("theorem", [ev("asserts", "holds")], context=ctx)
    assert v.verdict == "conditional" and "the coordinates are independent" in v.reason
    k = decide("theorem", [ev("asserts", "holds", "formal", kernel=True)], context=ctx)
    assert k.verdict == "conditional", "a kernel-checked proof under our hypothesis is not 'verified' either"


def test_a_refuted_premise_leaves_the_claim_unsupported() -> None:
    ctx = ClaimContext(kind="empirical", premises=(("gap_exceeds_null", "refuted"),))
    assert decide("empirical", [], context=ctx).verdict == "unsupported"
    assert "gap_exceeds_null (refuted)" in decide("empirical", [], context=ctx).reason
    ok = ClaimContext(kind="empirical", premises=(("gap_exceeds_null", "supported"),))
    assert decide("empirical", [], context=ok).verdict == "unchecked"
    # its own decisive evidence still decides
    assert decide("empirical", [ev("asserts", "holds")], context=ctx).verdict == "supported"


def test_every_lean_status_is_named_in_the_reason() -> None:
    for status in ("failed to build", "not kernel-checked", "statement changed"):
        e = Evidence("formal", "asserts", "unknown", "Lean x", detail=f"Lean x (asserts): {status}",
                     error=status == "failed to build")
        v = decide("theorem", [e, ev("asserts", "holds")])
        assert status in v.reason
        assert "exists but was not kernel-checked" not in v.reason


def test_mis_stated_reason_gives_the_corrected_statement() -> None:
    ctx = ClaimContext(kind="arithmetic", corrected="0.21/0.02 = 10.5, not 8")
    v = decide("arithmetic", [ev("asserts", "fails", "measurements"), ev("corrects", "holds", "measurements")],
               context=ctx)
    assert v.verdict == "mis-stated" and "Corrected statement: 0.21/0.02 = 10.5, not 8" in v.reason


def test_reason_names_the_model() -> None:
    v = decide("empirical", [ev("reproduces", "fails", "measurements")], "measured on SmolLM2")
    assert "SmolLM2" in v.reason


def test_evidence_json_says_why_it_did_not_decide() -> None:
    e = ev("asserts", "holds", "measurements", blocked="non-discriminating: its control 'noise' meets it too")
    j = e.to_json()
    assert j["decisive"] is False and "non-discriminating" in j["why_not_decisive"]
    assert ev("asserts", "holds").to_json()["decisive"] is True


# ------------------------------------------------------------------------------------------------ discrimination

C = ControlOutcome


@pytest.mark.parametrize("outcome, controls, exact, status, decisive", [
    ("consistent", [C("null", "fail", "inconsistent")], False, "discriminating", True),
    ("consistent", [C("null", "fail", "consistent")], False, "non-discriminating", False),
    ("consistent", [C("null", "fail", "inconclusive")], False, "undetermined", False),
    ("consistent", [C("null", "fail", "not-run")], False, "undetermined", False),
    ("consistent", [C("planted", "hold", "consistent")], False, "undetermined", False),
    ("consistent", [], False, "undetermined", False),
    ("consistent", [], True, "exact", True),
    ("consistent", [C("null", "fail", "consistent")], True, "non-discriminating", False),
    ("inconsistent", [C("planted", "hold", "consistent")], False, "discriminating", True),
    ("inconsistent", [C("planted", "hold", "inconsistent")], False, "non-discriminating", False),
    ("inconsistent", [C("null", "fail", "inconsistent")], False, "undetermined", False),
    ("inconsistent", [], True, "exact", True),
    ("consistent", [C("a", "fail", "inconsistent"), C("b", "fail", "consistent")], False, "non-discriminating", False),
    ("inconclusive", [C("null", "fail", "inconsistent")], False, None, False),
])
def test_discrimination(outcome, controls, exact, status, decisive) -> None:
    d = discriminate(outcome, controls, exact=exact)
    assert d.status == status
    assert (d.blocked is None and outcome in ("consistent", "inconsistent")) == decisive
    assert d.trivial == (status == "non-discriminating" and outcome == "consistent")


# ------------------------------------------------------------------------------------------------ judging

E = {"value": 0.5, "lo": 0.45, "hi": 0.55}


@pytest.mark.parametrize("expect, est, outcome", [
    (Expectation("value", value=0.5, tol=0.1), E, "consistent"),
    (Expectation("value", value=0.5, tol=0.01), E, "inconclusive"),
    (Expectation("value", value=0.9, tol=0.01), E, "inconsistent"),
    (Expectation("band", lo=0.919, hi=0.965), E, "inconsistent"),
    (Expectation("band", lo=0.4, hi=0.6), E, "consistent"),
    (Expectation("at_least", value=0.5), E, "inconclusive"),
    (Expectation("at_least", value=0.4), E, "consistent"),
    (Expectation("greater_than", value=0.55), E, "inconsistent"),
    (Expectation("less_than", value=0.45), E, "inconsistent"),
    (Expectation("at_most", value=0.55), E, "consistent"),
    (Expectation("value", value=2.0, tol=0.0), {"value": 2.0}, "consistent"),
])
def test_judging_uses_the_interval(expect: Expectation, est: dict, outcome: str) -> None:
    assert judge(est, expect) == outcome


def test_a_point_estimate_decides_only_when_exact() -> None:
    x = Expectation("greater_than", value=0.9)
    assert judge({"value": 0.97}, x, exact=True) == "consistent"
    assert judge({"value": 0.97}, x, exact=False) == "inconclusive"
    assert judge({"value": 0.5}, x, exact=False) == "inconclusive"
    assert judge({"value": 0.97, "lo": 0.95, "hi": 0.99}, x, exact=False) == "consistent"


def test_comparison_with_a_control() -> None:
    gt = Expectation("compare", compare_with="null", op="gt", margin=0.0)
    assert judge({"value": 0.9, "lo": 0.85, "hi": 0.95}, gt, {"value": 0.5, "lo": 0.4, "hi": 0.6}) == "consistent"
    assert judge({"value": 0.5, "lo": 0.45, "hi": 0.55}, gt, {"value": 0.5, "lo": 0.4, "hi": 0.6}) == "inconclusive"
    assert judge({"value": 0.1, "lo": 0.05, "hi": 0.15}, gt, {"value": 0.5, "lo": 0.4, "hi": 0.6}) == "inconsistent"
    assert judge({"value": 0.1}, gt, None) == "inconclusive"
    assert judge({"value": 0.9, "lo": 0.85, "hi": 0.95}, gt, {"value": 0.5}, other_exact=False) == "inconclusive"

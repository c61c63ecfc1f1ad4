"""The verdict rules, one case per rule, and the judging of uncertain estimates."""

from __future__ import annotations

import pytest

from quantproof.claims.model import Expectation
from quantproof.evidence.runner_measure import judge
from quantproof.ledger.verdict import Evidence, decide


def ev(role: str, state: str, channel: str = "tests", **kw) -> Evidence:
    return Evidence(channel, role, state, f"{channel}-{role}-{state}", **kw)


@pytest.mark.parametrize("kind, evidence, expected", [
    ("theorem", [ev("asserts", "holds"), ev("asserts", "fails")], "conflicting"),
    ("theorem", [ev("asserts", "holds"), ev("refutes", "holds")], "conflicting"),
    ("theorem", [ev("refutes", "holds"), ev("corrects", "holds")], "mis-stated"),
    ("theorem", [ev("asserts", "fails"), ev("corrects", "holds")], "mis-stated"),
    ("theorem", [ev("refutes", "holds")], "refuted"),
    ("theorem", [ev("asserts", "fails")], "refuted"),
    ("theorem", [ev("vacuous", "holds"), ev("asserts", "holds")], "vacuous"),
    ("theorem", [ev("asserts", "holds", "formal", kernel=True), ev("asserts", "holds")], "verified"),
    ("empirical", [ev("reproduces", "fails", "measurements"), ev("asserts", "holds")], "not-reproduced"),
    ("empirical", [ev("reproduces", "holds", "measurements")], "supported"),
    ("theorem", [ev("asserts", "holds"), ev("asserts", "unknown", "formal")], "supported"),
    ("conjecture", [], "open"),
    ("theorem", [ev("asserts", "unknown", "formal", open_statement=True)], "open"),
    ("theorem", [ev("asserts", "unknown", error=True)], "error"),
    ("theorem", [ev("asserts", "unknown")], "unchecked"),
    ("theorem", [], "unchecked"),
    # a corrected statement alone does not make the literal claim false
    ("theorem", [ev("corrects", "holds")], "unchecked"),
    # an unbuilt proof is never "verified"
    ("theorem", [ev("asserts", "unknown", "formal")], "unchecked"),
])
def test_rules(kind: str, evidence: list[Evidence], expected: str) -> None:
    v = decide(kind, evidence)
    assert v.verdict == expected
    assert v.reason and v.reason.endswith(".")


def test_reason_names_the_model() -> None:
    v = decide("empirical", [ev("reproduces", "fails", "measurements")], "measured on SmolLM2")
    assert "SmolLM2" in v.reason


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


def test_comparison_with_a_control() -> None:
    gt = Expectation("compare", compare_with="null", op="gt", margin=0.0)
    assert judge({"value": 0.9, "lo": 0.85, "hi": 0.95}, gt, {"value": 0.5, "lo": 0.4, "hi": 0.6}) == "consistent"
    assert judge({"value": 0.5, "lo": 0.45, "hi": 0.55}, gt, {"value": 0.5, "lo": 0.4, "hi": 0.6}) == "inconclusive"
    assert judge({"value": 0.1, "lo": 0.05, "hi": 0.15}, gt, {"value": 0.5, "lo": 0.4, "hi": 0.6}) == "inconsistent"
    assert judge({"value": 0.1}, gt, None) == "inconclusive"

"""pytest plugin: collects the outcome of every ``@pytest.mark.claim("id", role=...)`` test per claim.

Loaded for every run via ``addopts = -p quantproof.evidence.pytest_plugin`` in pyproject.toml. When
``--quantproof-report PATH`` (or the environment variable ``QUANTPROOF_TEST_REPORT``) is given it writes a JSON
report: one record per claim-tagged test with its outcome and, for a failing hypothesis property, the minimal
falsifying example hypothesis printed.

A test that refutes a claim by exhibiting a counterexample records it with the ``counterexample`` fixture::

    @pytest.mark.claim("srht_achieves_isotropic_floor", role="refutes")
    def test_srht_maps_e1_to_a_sign_vector(counterexample):
        ...
        counterexample(key="e1", d=64, cos=float(c))

and the ledger shows it beside the test (and ``quantproof explain`` prints it), with no note typed by hand.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from ..claims.model import TEST_ROLES as ROLES  # one definition of what a test may establish

_REPORT_KEY = pytest.StashKey[dict]()
_EXAMPLE_KEY = pytest.StashKey[str]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--quantproof-report", default=os.environ.get("QUANTPROOF_TEST_REPORT"),
                     help="write claim-tagged test outcomes to this JSON file")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "claim(id, role='asserts'): ties a test to a claims.yaml id")
    config.stash[_REPORT_KEY] = {}


@pytest.fixture
def counterexample(request: pytest.FixtureRequest):
    """``counterexample(name=value, ...)``: record the counterexample this test exhibits (shown in the ledger)."""

    def record(**values: Any) -> None:
        text = ", ".join(f"{k}={v!r}" for k, v in values.items())
        request.node.stash[_EXAMPLE_KEY] = f"Counterexample: {text}"[:4000]

    return record


def claim_marks(item: pytest.Item) -> list[tuple[str, str]]:
    out = []
    for mark in item.iter_markers("claim"):
        if not mark.args or not isinstance(mark.args[0], str):
            raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.claim needs the claim id as first argument")
        role = mark.kwargs.get("role", "asserts")
        if role not in ROLES:
            raise pytest.UsageError(f"{item.nodeid}: claim role {role!r} is not one of {ROLES}")
        out.append((mark.args[0], role))
    return out


_MARKERS = ("Falsifying example", "Falsifying explicit example", "Failing test case")
_COMMENT = re.compile(r"\s+#[^\n]*$", re.M)


def _normalise(text: str) -> str:
    """Drop hypothesis's explanatory end-of-line comments (they vary with its example database), cap the length."""
    return _COMMENT.sub("", text.strip())[:4000]


def _counterexample(call: pytest.CallInfo[Any], report: pytest.TestReport) -> str | None:
    """hypothesis attaches the minimal failing example to the exception as a note; fall back to the report text."""
    exc = call.excinfo.value if call.excinfo is not None else None
    for note in getattr(exc, "__notes__", None) or []:
        if str(note).startswith(_MARKERS):
            return _normalise(str(note))
    lines = (report.longreprtext or "").splitlines()
    for i, line in enumerate(lines):
        text = line[1:].strip() if line.startswith("E ") else line.strip()
        if text.startswith(_MARKERS):
            out = [text]
            for nxt in lines[i + 1:]:
                body = nxt[1:] if nxt.startswith("E ") else None
                if body is None or not body.strip() or body.strip().startswith(_MARKERS):
                    break
                out.append(body.rstrip())
            return _normalise("\n".join(out))
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]):
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    marks = claim_marks(item)
    if not marks:
        return
    records = item.config.stash[_REPORT_KEY]
    rec = records.setdefault(item.nodeid, {
        "id": item.nodeid, "claims": [{"id": c, "role": r} for c, r in marks],
        "outcome": "passed", "message": None, "counterexample": None,
    })
    if report.when == "call" and report.outcome == "passed" and _EXAMPLE_KEY in item.stash:
        rec["counterexample"] = item.stash[_EXAMPLE_KEY]
    if report.when == "call" or report.outcome != "passed":
        if report.outcome == "failed":
            rec["outcome"] = "failed" if report.when == "call" else "error"
            rec["message"] = (report.longreprtext or "").strip().splitlines()[-1][:500] if report.longreprtext else None
            rec["counterexample"] = _counterexample(call, report)
        elif report.outcome == "skipped" and rec["outcome"] == "passed":
            rec["outcome"] = "skipped"
            if isinstance(report.longrepr, tuple):
                rec["message"] = str(report.longrepr[2])[:500]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    path = session.config.getoption("--quantproof-report")
    if not path:
        return
    records = sorted(session.config.stash[_REPORT_KEY].values(), key=lambda r: r["id"])
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(json.dumps({"schema": "quantproof.tests/1", "tests": records}, indent=1, sort_keys=True))
    os.replace(tmp, out)

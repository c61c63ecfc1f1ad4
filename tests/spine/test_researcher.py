"""A researcher's first hour: scaffold a claim, run it alone, gate it alone, explain its verdict — all without
touching the committed ledger."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from quantproof.cli import PARTIAL_OUT, main


def cli(repo: Path, *args: str) -> int:
    return main(["--repo", str(repo), *args])


@pytest.fixture
def repo_with_baseline(mini_repo: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert cli(mini_repo, "run", "--quiet", "--jobs", "2") == 0
    (mini_repo / "ledger" / "baseline.json").write_bytes((mini_repo / "ledger" / "ledger.json").read_bytes())
    return mini_repo


def test_new_claim_partial_run_gate_and_explain(repo_with_baseline: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = repo_with_baseline
    committed = {p.name: p.read_bytes() for p in (repo / "ledger").iterdir() if p.is_file()}

    assert cli(repo, "new-claim", "--id", "mean_zero_again", "--seed", "toy.txt", "--kind", "empirical",
               "--quote", "The sample mean of standard normal draws is zero.", "--test") == 0
    text = (repo / "claims.yaml").read_text()
    assert "  - id: mean_zero_again" in text and (repo / "tests/claims/test_mean_zero_again.py").is_file()
    assert cli(repo, "check") == 0  # the scaffold is valid as it stands

    # the researcher fills in the statement and a measurement with a control
    text = text.replace("TODO: the precise statement, with every hypothesis and convention (see docs/REFEREE.md).",
                        "The mean of 2000 N(0, 1) draws is within 0.2 of 0.")
    text += ("    measurements:\n      - name: selftest_normal_mean\n        params: {mu: 0.0, n: 2000}\n"
             "        output: mean\n        role: asserts\n        expect: {value: 0.0, tol: 0.2}\n"
             "        control: {label: \"N(1, 1) draws\", should: fail, params: {mu: 1.0}}\n")
    (repo / "claims.yaml").write_text(text)
    assert cli(repo, "check") == 0
    capsys.readouterr()

    assert cli(repo, "run", "--quiet", "--claims", "mean_zero_again") == 0
    assert "partial run: writing" in capsys.readouterr().err
    partial = json.loads((repo / PARTIAL_OUT / "ledger.json").read_text())
    assert [c["id"] for c in partial["claims"]] == ["mean_zero_again"] and partial["complete"] is False
    assert {p.name: p.read_bytes() for p in (repo / "ledger").iterdir() if p.is_file()} == committed

    assert cli(repo, "gate", "--baseline", "ledger/baseline.json") == 0
    out = capsys.readouterr().out
    assert "mean_zero_again: claim: absent -> supported" in out
    assert "partial ledger: gated on the 1 claim(s) it holds; not judged: 4 baseline claim(s)" in out
    assert "GATE FAILED" not in out

    assert cli(repo, "explain", "mean_zero_again") == 0
    out = capsys.readouterr().out
    assert "mean_zero_again: supported  (rule R8" in out
    assert "control     'N(1, 1) draws' (should fail)" in out and "->  inconsistent" in out
    assert "expectation = 0 ± 0.2  ->  consistent" in out
    assert {p.name: p.read_bytes() for p in (repo / "ledger").iterdir() if p.is_file()} == committed


def test_a_partial_run_that_changes_a_verdict_fails_its_gate(repo_with_baseline: Path) -> None:
    repo = repo_with_baseline
    text = (repo / "claims.yaml").read_text().replace("expect: {value: 0.0, tol: 0.2}", "expect: {value: 3.0, tol: 0.2}")
    (repo / "claims.yaml").write_text(text)
    assert cli(repo, "run", "--quiet", "--claims", "mean_zero") == 0
    assert cli(repo, "gate", "--baseline", "ledger/baseline.json") == 1


def test_new_claim_refuses_bad_input_and_writes_nothing(mini_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = (mini_repo / "claims.yaml").read_text()
    assert cli(mini_repo, "new-claim", "--id", "one_plus_one", "--seed", "toy.txt", "--quote", "not in the seed",
               "--kind", "guess") == 2
    err = capsys.readouterr().err
    assert "already a claim" in err and "not found verbatim" in err and "--kind 'guess'" in err
    assert (mini_repo / "claims.yaml").read_text() == before


def test_check_takes_the_file_and_python_dash_m_runs(mini_repo: Path) -> None:
    assert cli(mini_repo, "check", str(mini_repo / "claims.yaml")) == 0
    r = subprocess.run([sys.executable, "-m", "quantproof", "--repo", str(mini_repo), "check", "claims.yaml"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "ok: 4 claims" in r.stdout


def test_a_refuting_test_records_its_counterexample(mini_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    (mini_repo / "tests" / "test_ce.py").write_text(
        "import pytest\n\n\n@pytest.mark.claim('squares_negative', role='refutes')\n"
        "def test_zero_squared(counterexample):\n    x = 0.0\n    assert not x * x < 0\n"
        "    counterexample(x=x, square=x * x)\n")
    text = (mini_repo / "claims.yaml").read_text().replace(
        "      - {test: tests/test_mini.py::test_squares_negative, role: asserts}\n",
        "      - {test: tests/test_mini.py::test_squares_negative, role: asserts}\n"
        "      - {test: tests/test_ce.py::test_zero_squared, role: refutes}\n")
    (mini_repo / "claims.yaml").write_text(text)
    assert cli(mini_repo, "run", "--quiet", "--skip-measurements", "--claims", "squares_negative") == 0
    led = json.loads((mini_repo / PARTIAL_OUT / "ledger.json").read_text())
    item = next(i for i in led["claims"][0]["tests"]["items"] if i["id"].endswith("test_zero_squared"))
    assert item["outcome"] == "passed" and item["counterexample"] == "Counterexample: x=0.0, square=0.0"

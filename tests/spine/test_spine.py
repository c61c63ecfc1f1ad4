"""The spine end to end on a miniature repository: check, run, ledger files, verdicts, gate."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from quantproof.cli import main
from quantproof.ledger.gate import compare

from .conftest import CLAIMS, make_repo


def run_cli(repo: Path, *args: str) -> int:
    return main(["--repo", str(repo), *args])


def ledger_of(repo: Path, out: str = "ledger") -> dict:
    return json.loads((repo / out / "ledger.json").read_text())


@pytest.fixture
def ran_repo(mini_repo: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no lake
    assert run_cli(mini_repo, "run", "--device", "cpu", "--jobs", "2", "--quiet") == 0
    return mini_repo


def test_check_accepts_the_mini_repo(mini_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(mini_repo, "check") == 0
    assert "ok: 4 claims" in capsys.readouterr().out


def test_run_writes_the_three_ledger_files(ran_repo: Path) -> None:
    for name in ("ledger.json", "LEDGER.md", "index.html"):
        assert (ran_repo / "ledger" / name).stat().st_size > 200
    led = ledger_of(ran_repo)
    assert led["schema"] == "quantproof.ledger/1" and led["complete"] is True
    assert led["provenance"]["lean"]["built"] is False


def test_verdicts_come_from_the_evidence(ran_repo: Path) -> None:
    claims = {c["id"]: c for c in ledger_of(ran_repo)["claims"]}
    # Lean proof present but no toolchain: supported by the test, never "verified"
    assert claims["one_plus_one"]["verdict"] == "supported"
    assert claims["one_plus_one"]["formal"]["status"] == "not-built"
    # the hypothesis property fails and its falsifying example reaches the ledger
    sq = claims["squares_negative"]
    assert sq["verdict"] == "refuted"
    assert "x=0.0" in (sq["tests"]["items"][0]["counterexample"] or "")
    assert claims["mean_zero"]["verdict"] == "supported"
    assert claims["mean_zero"]["measurements"][0]["outcome"] == "consistent"
    assert claims["mean_five"]["verdict"] == "not-reproduced"
    assert claims["mean_five"]["measurements"][0]["outcome"] == "inconsistent"


def test_statement_text_is_extracted_verbatim(ran_repo: Path) -> None:
    claims = {c["id"]: c for c in ledger_of(ran_repo)["claims"]}
    decl = claims["one_plus_one"]["formal"]["declarations"][0]
    assert decl["statement"] == "theorem one_plus_one : (1 : ℝ) + 1 = 2"
    assert decl["file"] == "lean/QuantProof/Mini.lean" and decl["line"] == 6


def test_gate_passes_on_identical_run_and_fails_on_planted_regression(ran_repo: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    led = ran_repo / "ledger" / "ledger.json"
    assert run_cli(ran_repo, "gate", "--baseline", str(led), "--ledger", str(led)) == 0
    regressed = json.loads(led.read_text())
    for c in regressed["claims"]:
        if c["id"] == "mean_zero":
            c["verdict"] = "unchecked"
            c["measurements"][0]["outcome"] = "error"
    bad = ran_repo / "regressed.json"
    bad.write_text(json.dumps(regressed))
    assert run_cli(ran_repo, "gate", "--baseline", str(led), "--ledger", str(bad)) == 1
    out = capsys.readouterr().out
    assert "REGRESSION" in out and "mean_zero" in out


def test_gate_require_levels(ran_repo: Path) -> None:
    led = str(ran_repo / "ledger" / "ledger.json")
    assert run_cli(ran_repo, "gate", "--baseline", led, "--ledger", led, "--require", "one_plus_one=supported") == 0
    assert run_cli(ran_repo, "gate", "--baseline", led, "--ledger", led, "--require", "one_plus_one=verified") == 1
    assert run_cli(ran_repo, "gate", "--baseline", led, "--ledger", led, "--require", "nope=supported") == 1


def test_gate_flags_a_polarity_flip() -> None:
    base = {"claims": [{"id": "a", "verdict": "refuted", "formal": {"status": "none"}, "tests": {"status": "passed"},
                        "measurements": []}]}
    new = {"claims": [{"id": "a", "verdict": "supported", "formal": {"status": "none"},
                       "tests": {"status": "passed"}, "measurements": []}]}
    assert any(c.bad for c in compare(base, new))
    upgrade = {"claims": [{"id": "a", "verdict": "refuted", "formal": {"status": "refuted"},
                           "tests": {"status": "passed"}, "measurements": []}]}
    assert not any(c.bad for c in compare(base, upgrade))


def test_partial_run_is_marked_and_written_apart(mini_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert run_cli(mini_repo, "run", "--claims", "one_plus_one", "--skip-measurements", "--quiet") == 0
    assert not (mini_repo / "ledger" / "ledger.json").exists(), "a partial run never writes the committed ledger"
    led = ledger_of(mini_repo, "build/partial")
    assert led["complete"] is False and [c["id"] for c in led["claims"]] == ["one_plus_one"]
    assert run_cli(mini_repo, "run", "--claims", "one_plus_one", "--skip-measurements", "--quiet",
                   "--out", "ledger") == 0, "an explicit --out ledger still writes there"
    assert ledger_of(mini_repo)["complete"] is False


def test_broken_claims_file_is_rejected_with_file_and_line(mini_repo: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    text = CLAIMS.replace("kind: empirical\n    statement: the mean of N(0,1) is 0.",
                          "kind: empirircal\n    statement: the mean of N(0,1) is 0.")
    (mini_repo / "claims.yaml").write_text(text)
    assert run_cli(mini_repo, "check") == 2
    err = capsys.readouterr().err
    line = text.splitlines().index("    kind: empirircal") + 1
    assert f"claims.yaml:{line}: mean_zero.kind:" in err


@pytest.mark.parametrize("mutation, field", [
    (("decl: QuantProof.one_plus_one", "decl: QuantProof.nowhere"), "one_plus_one.lean"),
    (("tests/test_mini.py::test_one_plus_one", "tests/test_mini.py::test_missing"), "one_plus_one.tests"),
    (("name: selftest_normal_mean\n        params: {mu: 0.0, n: 2000}\n        output: mean\n        role: asserts",
      "name: selftest_normal_mean\n        params: {mu: 0.0, n: 2000, bogus: 1}\n        output: mean\n        role: asserts"),
     "mean_zero.measurements.params"),
    (("quote: \"The mean is five.\"", "quote: \"The mean is six.\""), "mean_five.source.quote"),
    (("name: selftest_normal_mean\n        params: {mu: 0.0, n: 2000}\n        output: mean\n        role: reproduces",
      "name: no_such_measurement\n        params: {mu: 0.0, n: 2000}\n        output: mean\n        role: reproduces"),
     "mean_five.measurements.name"),
])
def test_unresolved_links_are_errors(tmp_path: Path, mutation: tuple[str, str], field: str,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    old, new = mutation
    assert old in CLAIMS
    repo = make_repo(tmp_path / "r", claims=CLAIMS.replace(old, new, 1))
    assert run_cli(repo, "check") == 2
    assert f": {field}" in capsys.readouterr().err


def test_a_tag_naming_an_unknown_claim_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from .conftest import TESTS

    repo = make_repo(tmp_path / "r", tests=TESTS + '\n\n@pytest.mark.claim("ghost")\ndef test_ghost():\n    pass\n')
    assert run_cli(repo, "check") == 2
    assert "unknown claim id 'ghost'" in capsys.readouterr().err


def test_ledger_json_is_deterministic_apart_from_run_section(mini_repo: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    cache = tmp_path / "cache"
    assert run_cli(mini_repo, "run", "--out", "a", "--quiet", "--cache-dir", str(cache)) == 0
    assert run_cli(mini_repo, "run", "--out", "b", "--quiet", "--no-cache") == 0
    a, b = ledger_of(mini_repo, "a"), ledger_of(mini_repo, "b")
    a.pop("run"), b.pop("run")
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def test_device_cuda_without_gpu_is_a_clear_error(mini_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    assert run_cli(mini_repo, "run", "--device", "cuda", "--quiet") == 2
    assert "no CUDA device is available" in capsys.readouterr().err


def test_progress_bars_are_shown_when_asked(mini_repo: Path, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert run_cli(mini_repo, "run", "--progress", "--skip-tests", "--out", "ledger") == 0
    err = capsys.readouterr().err
    assert "measurements" in err and "verdicts" in err


def test_env_report_variable_feeds_the_plugin(mini_repo: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    report = tmp_path / "r.json"
    env = dict(os.environ, QUANTPROOF_TEST_REPORT=str(report))
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "quantproof.evidence.pytest_plugin", "--rootdir",
                    str(mini_repo), "tests"], cwd=mini_repo, env=env, capture_output=True, timeout=300)
    ids = {r["id"]: r["outcome"] for r in json.loads(report.read_text())["tests"]}
    assert ids == {"tests/test_mini.py::test_one_plus_one": "passed",
                   "tests/test_mini.py::test_squares_negative": "failed"}


def test_gate_open_statement_added_is_not_a_regression_but_a_proof_turned_sorry_is() -> None:
    """Linking an open (sorry) Lean statement to a claim with no formal evidence is no regression (its verdict change
    unchecked -> open is still a finding to review); a proof that becomes sorry is a regression."""
    def led(formal: str, verdict: str) -> dict:
        return {"claims": [{"id": "c", "verdict": verdict, "formal": {"status": formal}}]}

    added = compare(led("none", "unchecked"), led("sorry", "open"))
    assert [(ch.what, ch.kind) for ch in added if ch.bad] == [("verdict", "REVIEW")]
    assert not any(ch.kind == "REGRESSION" for ch in added)
    for before in ("not-built", "proved"):
        lost = compare(led(before, "supported"), led("sorry", "supported"))
        assert [ch.what for ch in lost if ch.bad] == ["formal status"]


def _claim(verdict: str = "supported", **meas) -> dict:
    row = {"name": "m", "output": "x", "role": "asserts", "expect": {"greater_than": 0.0}, "params": {"a": 1},
           "controls": [{"label": "null", "should": "fail", "params": {"a": 0}, "output": None}],
           "seed_values": [], "outcome": "consistent", **meas}
    return {"claims": [{"id": "c", "verdict": verdict, "statement": "s", "formal": {"status": "none"},
                        "tests": {"status": "none", "items": []}, "measurements": [row]}]}


@pytest.mark.parametrize("old, new", [
    ("not-reproduced", "refuted"), ("unchecked", "supported"), ("unsupported", "supported"),
    ("supported", "verified"), ("open", "refuted")])
def test_every_verdict_change_fails_the_gate_until_reviewed(old: str, new: str) -> None:
    bad = [ch for ch in compare(_claim(old), _claim(new)) if ch.bad]
    assert [(ch.what, ch.old, ch.new) for ch in bad] == [("verdict", old, new)]


@pytest.mark.parametrize("old, new", [("supported", "unchecked"), ("supported", "refuted"),
                                      ("not-reproduced", "supported")])
def test_a_weaker_or_flipped_verdict_is_a_regression(old: str, new: str) -> None:
    assert [ch.kind for ch in compare(_claim(old), _claim(new)) if ch.bad] == ["REGRESSION"]


@pytest.mark.parametrize("field, value", [
    ("expect", {"greater_than": -1.0}), ("role", "reproduces"), ("params", {"a": 2}),
    ("controls", [{"label": "null", "should": "fail", "params": {"a": 5}, "output": None}]),
    ("controls", []), ("seed_values", [{"name": "a", "quote": "q", "value": "2"}])])
def test_a_changed_preregistered_link_fails_the_gate(field: str, value) -> None:
    changes = [ch for ch in compare(_claim(), _claim(**{field: value})) if ch.bad]
    assert len(changes) == 1 and changes[0].kind == "REVIEW" and "pre-registered" in changes[0].what


def test_a_changed_statement_fails_the_gate() -> None:
    new = _claim()
    new["claims"][0]["statement"] = "s'"
    assert [ch.what for ch in compare(_claim(), new) if ch.bad] == ["claim statement (pre-registered)"]


def test_an_unchanged_ledger_passes() -> None:
    assert not [ch for ch in compare(_claim(), _claim()) if ch.bad]

"""The formal channel against a stub ``lake`` that imitates real outputs: every formal status, and one test per
known exploit (comparator-style): a sorry hidden in a helper lemma, a redefined instance, a statement that drops a
hypothesis, an extra axiom, an escape hatch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from quantproof.cli import main
from quantproof.evidence import formal as F

from .conftest import LEAN_MINI, make_repo


def run_ledger(repo: Path, monkeypatch: pytest.MonkeyPatch, stub: Path | None, scenario: str = "ok") -> dict:
    path = f"{stub}:/usr/bin:/bin" if stub else "/usr/bin:/bin"
    monkeypatch.setenv("PATH", path)
    monkeypatch.setenv("STUB_LAKE_SCENARIO", scenario)
    assert main(["--repo", str(repo), "run", "--quiet", "--skip-measurements", "--skip-tests", "--out", "ledger"]) == 0
    return {c["id"]: c for c in json.loads((repo / "ledger" / "ledger.json").read_text())["claims"]}


def test_without_lake_the_status_is_not_built(mini_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    claims = run_ledger(mini_repo, monkeypatch, None)
    assert claims["one_plus_one"]["formal"]["status"] == "not-built"
    assert claims["one_plus_one"]["verdict"] == "unchecked"


def test_stub_lake_success_gives_proved_and_verified(mini_repo: Path, monkeypatch: pytest.MonkeyPatch,
                                                     stub_lake_path: Path) -> None:
    claims = run_ledger(mini_repo, monkeypatch, stub_lake_path, "ok")
    c = claims["one_plus_one"]
    assert c["formal"]["status"] == "proved" and c["verdict"] == "verified"
    assert c["formal"]["declarations"][0]["axioms"] == ["Classical.choice", "Quot.sound", "propext"]
    # a proved refutation: the claim is refuted on formal evidence alone
    assert claims["squares_negative"]["formal"]["status"] == "refuted"
    assert claims["squares_negative"]["verdict"] == "refuted"


def test_stub_lake_no_axioms_is_proved(mini_repo: Path, monkeypatch: pytest.MonkeyPatch, stub_lake_path: Path) -> None:
    claims = run_ledger(mini_repo, monkeypatch, stub_lake_path, "no-axioms")
    assert claims["one_plus_one"]["formal"]["status"] == "proved"


def test_stub_lake_build_error(mini_repo: Path, monkeypatch: pytest.MonkeyPatch, stub_lake_path: Path) -> None:
    claims = run_ledger(mini_repo, monkeypatch, stub_lake_path, "build-error")
    c = claims["one_plus_one"]
    assert c["formal"]["status"] == "build-failed"
    assert "build failed" in c["formal"]["declarations"][0]["message"]
    assert c["verdict"] != "verified"


def test_stub_lake_sorry_in_axioms(mini_repo: Path, monkeypatch: pytest.MonkeyPatch, stub_lake_path: Path) -> None:
    """A sorry hidden in a dependency shows up as sorryAx in #print axioms even when the text audit misses it."""
    claims = run_ledger(mini_repo, monkeypatch, stub_lake_path, "sorry")
    assert claims["one_plus_one"]["formal"]["status"] == "sorry"
    assert claims["one_plus_one"]["verdict"] in ("open", "unchecked")


def test_stub_lake_extra_axiom(mini_repo: Path, monkeypatch: pytest.MonkeyPatch, stub_lake_path: Path) -> None:
    claims = run_ledger(mini_repo, monkeypatch, stub_lake_path, "extra-axiom")
    d = claims["one_plus_one"]["formal"]["declarations"][0]
    assert d["status"] == "axioms-rejected" and "QuantProof.trustMe" in d["message"]


def test_stub_lake_unknown_constant_is_missing(mini_repo: Path, monkeypatch: pytest.MonkeyPatch,
                                               stub_lake_path: Path) -> None:
    claims = run_ledger(mini_repo, monkeypatch, stub_lake_path, "unknown")
    assert claims["one_plus_one"]["formal"]["status"] == "missing"


def test_missing_declaration_status() -> None:
    idx = F.LeanIndex()
    assert F.decl_status("QuantProof.nothing", "asserts", idx, None, {}).status == "missing"


# ------------------------------------------------------------------------------------------------ exploits

HIDDEN_SORRY = LEAN_MINI.replace(
    "/-- Claim `one_plus_one` (seed toy). -/",
    "lemma helper : (2 : ℝ) = 1 + 1 := by sorry\n\n/-- Claim `one_plus_one` (seed toy). -/")


def test_exploit_sorry_hidden_in_a_helper_lemma(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                stub_lake_path: Path) -> None:
    repo = make_repo(tmp_path / "r", lean_mini=HIDDEN_SORRY)
    idx = F.scan_lean(repo)
    assert [f.token for f in idx.findings] == ["sorry"]
    assert main(["--repo", str(repo), "check"]) == 1  # a finding, reported apart from input errors
    claims = run_ledger(repo, monkeypatch, stub_lake_path, "ok")
    # the static audit fails, so even a "successful" build cannot make the claim proved
    assert claims["one_plus_one"]["formal"]["status"] == "build-failed"
    assert claims["one_plus_one"]["verdict"] != "verified"


def test_sorry_in_comments_and_strings_is_not_a_finding(tmp_path: Path) -> None:
    lean = LEAN_MINI.replace("namespace QuantProof", "namespace QuantProof\n-- sorry\n/- a sorry -/\n"
                             "def msg : String := \"sorry\"")
    repo = make_repo(tmp_path / "r", lean_mini=lean)
    assert F.scan_lean(repo).findings == []


def test_exploit_redefined_instance(tmp_path: Path) -> None:
    lean = LEAN_MINI.replace("namespace QuantProof",
                             "namespace QuantProof\ninstance : Add ℝ := ⟨fun a b => a * b⟩")
    repo = make_repo(tmp_path / "r", lean_mini=lean)
    assert [f.token for f in F.scan_lean(repo).findings] == ["instance"]
    lean_ok = LEAN_MINI.replace("namespace QuantProof",
                                "namespace QuantProof\n-- audit: allow-instance\ninstance : Inhabited Nat := ⟨0⟩")
    assert F.scan_lean(make_repo(tmp_path / "r2", lean_mini=lean_ok)).findings == []


@pytest.mark.parametrize("escape", ["axiom trustMe : False", "theorem t : 1 = 1 := by native_decide",
                                    "unsafe def u : Nat := 0", "@[implemented_by u] def v : Nat := 0",
                                    "theorem t2 : 1 = 1 := by admit", "run_cmd pure ()", "#eval 1"])
def test_exploit_escape_hatches(tmp_path: Path, escape: str) -> None:
    repo = make_repo(tmp_path / "r", lean_mini=LEAN_MINI.replace("end QuantProof", escape + "\n\nend QuantProof"))
    assert F.scan_lean(repo).findings, escape


def test_exploit_statement_that_drops_a_hypothesis(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   stub_lake_path: Path) -> None:
    repo = make_repo(tmp_path / "r")
    assert main(["--repo", str(repo), "lean-lock"]) == 0
    weakened = LEAN_MINI.replace("theorem squares_nonneg (x : ℝ) : 0 ≤ x ^ 2 := by positivity",
                                 "theorem squares_nonneg (x : ℝ) (hx : 0 ≤ x) : 0 ≤ x ^ 2 := by positivity")
    (repo / "lean" / "QuantProof" / "Mini.lean").write_text(weakened)
    claims = run_ledger(repo, monkeypatch, stub_lake_path, "ok")
    assert claims["squares_negative"]["formal"]["declarations"][0]["status"] == "statement-changed"
    assert claims["squares_negative"]["formal"]["status"] != "refuted"
    assert claims["one_plus_one"]["formal"]["status"] == "proved"


def test_open_module_is_outside_the_default_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   stub_lake_path: Path) -> None:
    repo = make_repo(tmp_path / "r")
    (repo / "lean" / "QuantProofOpen").mkdir()
    (repo / "lean" / "QuantProofOpen" / "Hard.lean").write_text(
        "import QuantProof\nnamespace QuantProof\ntheorem hard : (2 : ℝ) < 3 := by sorry\nend QuantProof\n")
    idx = F.scan_lean(repo)
    assert idx.findings == [] and not idx.decls["QuantProof.hard"].in_default_target
    assert F.decl_status("QuantProof.hard", "asserts", idx, None, {}).status == "sorry"


def test_axiom_output_parsing_handles_wrapped_lists() -> None:
    text = ("'A.b' depends on axioms: [propext,\n Classical.choice,\n Quot.sound]\n"
            "'A.c' does not depend on any axioms\n"
            "Audit.lean:4:15: error: unknown constant 'A.d'\n")
    ax, err = F.parse_axiom_output(text)
    assert ax == {"A.b": ["Classical.choice", "Quot.sound", "propext"], "A.c": []}
    assert "A.d" in err


def test_namespace_after_a_noncomputable_section(tmp_path: Path) -> None:
    """A bare `noncomputable section` followed by `namespace X` on a later line (regression)."""
    lean = LEAN_MINI.replace("namespace QuantProof", "noncomputable section\n\nnamespace QuantProof")
    lean = lean.replace("end QuantProof", "end QuantProof\n\nend")
    idx = F.scan_lean(make_repo(tmp_path / "r", lean_mini=lean))
    assert "QuantProof.one_plus_one" in idx.decls

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
    """The stub fails QuantProof.Mini with an error inside `one_plus_one`: that declaration is build-failed with the
    error, the other declaration of the module is blocked by its own module (no error of its own)."""
    claims = run_ledger(mini_repo, monkeypatch, stub_lake_path, "build-error")
    c = claims["one_plus_one"]
    d = c["formal"]["declarations"][0]
    assert c["formal"]["status"] == "build-failed"
    assert d["status"] == "build-failed" and "unsolved goals" in d["message"] and "Mini.lean:6" in d["message"]
    assert d["module"] == "QuantProof.Mini" and d["blocked_by"] == []
    assert c["verdict"] != "verified"
    s = claims["squares_negative"]["formal"]
    assert s["declarations"][0]["status"] == "blocked"
    assert s["declarations"][0]["blocked_by"] == ["QuantProof.Mini"]
    assert "one_plus_one" in s["declarations"][0]["message"]
    assert s["status"] == "build-failed"  # blocked reads as build-failed at claim level
    assert claims["squares_negative"]["verdict"] != "refuted"


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


# ------------------------------------------------------------------------------------------ per-module build
# A repository of five modules: Base <- Uses <- Top, Other (independent), Mini (the conftest module), all imported by
# the root. The stub fails, or slows down, the modules a test names.

BASE = """import Mathlib

namespace QuantProof

/-- base -/
theorem base_fact : (2 : ℝ) + 2 = 4 := by norm_num

/-- a second declaration of the same module -/
theorem base_other : (3 : ℝ) + 3 = 6 := by norm_num

end QuantProof
"""
USES = "import QuantProof.Base\n\nnamespace QuantProof\n\ntheorem uses_fact : (2 : ℝ) + 2 = 4 := base_fact\n\nend QuantProof\n"
TOP = "import QuantProof.Uses\n\nnamespace QuantProof\n\ntheorem top_fact : (2 : ℝ) + 2 = 4 := uses_fact\n\nend QuantProof\n"
OTHER = "import Mathlib\n\nnamespace QuantProof\n\ntheorem other_fact : (1 : ℝ) < 2 := by norm_num\n\nend QuantProof\n"
ALL = ["QuantProof.one_plus_one", "QuantProof.squares_nonneg", "QuantProof.base_fact", "QuantProof.base_other",
       "QuantProof.uses_fact", "QuantProof.top_fact", "QuantProof.other_fact"]


def multi_repo(root: Path) -> Path:
    repo = make_repo(root)
    lean = repo / "lean"
    (lean / "QuantProof.lean").write_text("import QuantProof.Mini\nimport QuantProof.Top\nimport QuantProof.Other\n")
    for name, text in (("Base", BASE), ("Uses", USES), ("Top", TOP), ("Other", OTHER)):
        (lean / "QuantProof" / f"{name}.lean").write_text(text)
    return repo


def build_with(repo: Path, monkeypatch: pytest.MonkeyPatch, stub: Path, *, fail: dict | None = None,
               slow: dict | None = None, **kw) -> tuple[F.LeanIndex, F.BuildResult, dict[str, F.DeclStatus]]:
    monkeypatch.chdir(repo)
    monkeypatch.setenv("STUB_LAKE_SCENARIO", "ok")
    monkeypatch.setenv("STUB_LAKE_FAIL", json.dumps(fail or {}))
    monkeypatch.setenv("STUB_LAKE_SLOW", json.dumps(slow or {}))
    monkeypatch.setenv("STUB_LAKE_LOG", str(repo / "lake.log"))
    build = F.run_lake(repo, ALL, lake=str(stub / "lake"), **kw)
    idx = F.scan_lean(repo)
    return idx, build, {n: F.decl_status(n, "asserts", idx, build, {}) for n in ALL}


def test_build_order_follows_the_import_graph(tmp_path: Path) -> None:
    from quantproof.evidence.lean_build import build_order

    order = build_order(F.scan_lean(multi_repo(tmp_path / "r")))
    assert set(order) == {"QuantProof", "QuantProof.Mini", "QuantProof.Base", "QuantProof.Uses", "QuantProof.Top",
                          "QuantProof.Other"}
    pos = {m: i for i, m in enumerate(order)}
    assert pos["QuantProof.Base"] < pos["QuantProof.Uses"] < pos["QuantProof.Top"] < pos["QuantProof"]
    assert order[-1] == "QuantProof"


def test_every_module_builds_on_its_own_and_everything_is_proved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 stub_lake_path: Path) -> None:
    repo = multi_repo(tmp_path / "r")
    _, build, st = build_with(repo, monkeypatch, stub_lake_path)
    assert build.ok and all(m.status == "built" for m in build.modules.values())
    assert {s.status for s in st.values()} == {"proved"}
    calls = (repo / "lake.log").read_text().splitlines()
    assert "build +QuantProof.Base" in calls and "build +QuantProof" in calls  # a module target, not the library
    assert st["QuantProof.uses_fact"].module == "QuantProof.Uses"


def test_one_failing_module_among_several(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          stub_lake_path: Path) -> None:
    repo = multi_repo(tmp_path / "r")
    _, build, st = build_with(repo, monkeypatch, stub_lake_path,
                              fail={"QuantProof.Other": {"line": 5, "col": 40, "text": "linarith failed"}})
    assert not build.ok
    assert build.modules["QuantProof.Other"].status == "failed"
    assert st["QuantProof.other_fact"].status == "build-failed"
    assert "linarith failed" in st["QuantProof.other_fact"].message
    assert "Other.lean:5" in st["QuantProof.other_fact"].message
    for n in ALL:
        if n != "QuantProof.other_fact":
            assert st[n].status == "proved", (n, st[n])
    # only the root imports Other: it alone is blocked
    assert build.modules["QuantProof"].status == "blocked"
    assert build.modules["QuantProof"].blocked_by == ("QuantProof.Other",)


def test_a_failure_in_an_imported_module_blocks_its_dependants(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               stub_lake_path: Path) -> None:
    repo = multi_repo(tmp_path / "r")
    _, build, st = build_with(repo, monkeypatch, stub_lake_path,
                              fail={"QuantProof.Base": {"line": 6, "col": 2, "text": "unknown identifier 'foo'",
                                                        "style": "lean"}})
    assert st["QuantProof.base_fact"].status == "build-failed"  # the error lies in its span
    assert "unknown identifier" in st["QuantProof.base_fact"].message
    assert st["QuantProof.base_other"].status == "blocked"  # same module, no error of its own
    assert st["QuantProof.base_other"].blocked_by == ("QuantProof.Base",)
    for n in ("QuantProof.uses_fact", "QuantProof.top_fact"):
        assert st[n].status == "blocked" and st[n].blocked_by == ("QuantProof.Base",), st[n]  # the root failure
    for n in ("QuantProof.one_plus_one", "QuantProof.squares_nonneg", "QuantProof.other_fact"):
        assert st[n].status == "proved", st[n]  # the audit still ran for what built
    calls = (repo / "lake.log").read_text().splitlines()
    assert "build +QuantProof.Uses" not in calls and "build +QuantProof.Top" not in calls  # never attempted
    audit = (repo / "build" / "axiom_audit" / "Audit.lean").read_text()
    assert "import QuantProof.Base" not in audit and "QuantProof.uses_fact" not in audit
    assert F.claim_formal_status([st["QuantProof.uses_fact"]]) == "build-failed"


def test_a_timed_out_module_fails_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        stub_lake_path: Path) -> None:
    import time

    repo = multi_repo(tmp_path / "r")
    t0 = time.monotonic()
    _, build, st = build_with(repo, monkeypatch, stub_lake_path, slow={"QuantProof.Other": 30},
                              module_timeout_s=1.0)
    assert time.monotonic() - t0 < 20  # the slow build was killed, not waited for
    assert build.modules["QuantProof.Other"].status == "timed-out"
    assert st["QuantProof.other_fact"].status == "build-failed" and "timed out" in st["QuantProof.other_fact"].message
    assert st["QuantProof.base_fact"].status == "proved" and st["QuantProof.one_plus_one"].status == "proved"


def test_a_spent_time_budget_leaves_the_rest_not_attempted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           stub_lake_path: Path) -> None:
    repo = multi_repo(tmp_path / "r")
    _, build, st = build_with(repo, monkeypatch, stub_lake_path, slow={"QuantProof.Mini": 30}, timeout_s=1.5)
    assert list(build.modules)[0] == "QuantProof.Mini"  # built first (alphabetical among the root's imports)
    assert build.modules["QuantProof.Mini"].status == "timed-out"
    assert build.modules["QuantProof.Other"].status == "not-attempted"
    assert build.modules["QuantProof.Base"].status == "not-attempted"
    assert build.modules["QuantProof.Uses"].status == "blocked"
    assert "budget" in st["QuantProof.other_fact"].message
    for n, s in st.items():
        assert s.status in ("build-failed", "blocked"), (n, s)  # nothing is claimed without a build


def test_an_error_that_names_a_declaration_is_attributed_to_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               stub_lake_path: Path) -> None:
    """A kernel error is reported at a position outside the declaration's text (here: line 3, the namespace) but
    names the declaration; the error goes to that declaration, its neighbour is blocked."""
    repo = multi_repo(tmp_path / "r")
    _, build, st = build_with(repo, monkeypatch, stub_lake_path, fail={"QuantProof.Base": {
        "line": 3, "col": 0, "text": "(kernel) declaration has metavariables 'QuantProof.base_other'"}})
    errs = build.modules["QuantProof.Base"].errors
    assert [e.decl for e in errs] == ["QuantProof.base_other"] and errs[0].module == "QuantProof.Base"
    assert st["QuantProof.base_other"].status == "build-failed"
    assert st["QuantProof.base_fact"].status == "blocked" and st["QuantProof.base_fact"].blocked_by == (
        "QuantProof.Base",)


def test_parse_messages_reads_both_formats_with_continuations(tmp_path: Path) -> None:
    from quantproof.evidence.lean_build import parse_messages

    repo = multi_repo(tmp_path / "r")
    idx = F.scan_lean(repo)
    text = ("✖ [3/7] Building QuantProof.Base\n"
            "trace: .> LEAN_PATH=x lean ././././lean/QuantProof/Base.lean -R ./././lean\n"
            "warning: ././././lean/QuantProof/Base.lean:9:8: unused variable `h`\n"
            "error: ././././lean/QuantProof/Base.lean:6:45: unsolved goals\n"
            "x : ℝ\n"
            "⊢ 2 + 2 = 4\n"
            f"{repo}/lean/QuantProof/Base.lean:9:2: error: linarith failed\n"
            ".lake/packages/mathlib/Mathlib/X.lean:1:0: error: something upstream\n"
            "error: Lean exited with code 1\n"
            "Some required builds logged failures:\n- QuantProof.Base\nerror: build failed\n")
    msgs = parse_messages(text, idx, repo, "QuantProof.Base")
    assert [(m.severity, m.line, m.decl) for m in msgs] == [
        ("warning", 9, "QuantProof.base_other"), ("error", 6, "QuantProof.base_fact"),
        ("error", 9, "QuantProof.base_other"), ("error", 1, None)]
    assert "⊢ 2 + 2 = 4" in msgs[1].text and "Lean exited" not in msgs[1].text
    assert msgs[2].file == "lean/QuantProof/Base.lean"  # an absolute path inside the repository
    assert msgs[3].module == "QuantProof.Base"  # a file outside lean/: the module being built


def test_static_audit_finding_is_local_to_its_module_and_dependants(tmp_path: Path) -> None:
    repo = multi_repo(tmp_path / "r")
    (repo / "lean" / "QuantProof" / "Base.lean").write_text(BASE.replace("by norm_num\n\n/--", "by sorry\n\n/--"))
    idx = F.scan_lean(repo)
    assert [f.token for f in idx.findings] == ["sorry"]
    assert F.decl_status("QuantProof.base_other", "asserts", idx, None, {}).status == "build-failed"
    uses = F.decl_status("QuantProof.uses_fact", "asserts", idx, None, {})
    assert uses.status == "blocked" and uses.blocked_by == ("QuantProof.Base",)
    other = F.decl_status("QuantProof.other_fact", "asserts", idx, None, {})
    assert other.status == "not-built" and "static audit failed" in other.message

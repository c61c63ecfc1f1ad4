"""quantproof strength on a tiny fake package whose mutants' fates are known in advance.

calc.double: every mutant is killed; calc.clamp: ``x < lo`` -> ``x <= lo`` survives and is declared equivalent;
loops.count_up: ``total += 1`` -> ``total += 0`` never ends (a timeout); calc.half is called only by a fixture that
checks its result (a test that *errors* under a mutant); matchy.kind uses ``match``, which cosmic-ray's parser does not
understand (a module that cannot be mutated); one test only checks a product of constants (no project code).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("cosmic_ray")
pytest.importorskip("coverage")

from quantproof.evidence.strength import THRESHOLD, ClaimStrength, load_strength  # noqa: E402
from quantproof.evidence.strength.aggregate import NOT_REACHED, REACHED_NOT_CHECKED  # noqa: E402
from quantproof.evidence.strength.command import staleness  # noqa: E402
from quantproof.evidence.strength.engine import Scope, compute_strength  # noqa: E402
from quantproof.evidence.strength.equivalents import EquivalentsFileError, load_equivalents  # noqa: E402

SCOPE = Scope(source_root="src", include=("tinypkg/*.py",), exclude=("*/__init__.py",), tests_dir="tests")
FAST = (1.5, 4.0)  # per-test limit under a mutant: 1.5 s + 4 x its duration

CALC = '''\
def double(x):
    return x * 2


def clamp(x, lo):
    if x < lo:
        return lo
    return x


def half(x):
    return x / 2


def unused(x):
    return x - 1
'''

LOOPS = '''\
def count_up(n):
    total = 0
    while total < n:
        total += 1
    return total
'''

MATCHY = '''\
def kind(x):
    match x:
        case 0:
            return "zero"
        case _:
            return "other"
'''

TESTS = '''\
import pytest

from tinypkg.calc import clamp, double, half
from tinypkg.loops import count_up
from tinypkg.matchy import kind


@pytest.mark.claim("doubling")
def test_double():
    assert double(3) == 6


@pytest.mark.claim("clamping")
def test_clamp():
    assert clamp(5, 1) == 5
    assert clamp(-1, 1) == 1


@pytest.mark.claim("constants")
def test_constant_product():
    assert 85 * 10 * 4 == 3400


@pytest.fixture
def halved():
    value = half(4)
    assert value == 2  # checked while setting up: under a mutant of half() this test errors, it does not fail
    return value


@pytest.mark.claim("halving", role="refutes")
def test_halved_is_positive(halved):
    assert halved > 0


@pytest.mark.claim("looping")
def test_count_up():
    assert count_up(3) == 3


@pytest.mark.claim("kinds")
def test_kind():
    assert kind(0) == "zero"
'''

EQUIVALENTS = '''\
equivalents:
  - file: src/tinypkg/calc.py
    function: clamp
    change: "if x < lo: → if x <= lo:"
    reason: at x == lo both branches return the same value, lo
'''


def _make_repo(root: Path) -> Path:
    pkg = root / "src" / "tinypkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "calc.py").write_text(CALC)
    (pkg / "loops.py").write_text(LOOPS)
    (pkg / "matchy.py").write_text(MATCHY)
    (root / "tests").mkdir()
    (root / "tests" / "test_tiny.py").write_text(TESTS)
    (root / "tests" / "strength_equivalents.yaml").write_text(EQUIVALENTS)
    (root / "ledger").mkdir()
    return root


def _write(repo: Path, report: dict) -> None:
    (repo / SCOPE.report).write_text(json.dumps(report, indent=1, sort_keys=True))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[Path, dict]:
    repo = _make_repo(tmp_path_factory.mktemp("tiny"))
    report = compute_strength(repo, SCOPE, jobs=2, timeout=FAST)
    _write(repo, report)
    return repo, report


def test_killed_and_surviving_mutants_are_told_apart(tiny):
    _, report = tiny
    d = report["claims"]["doubling"]
    assert d["functions"] == ["src/tinypkg/calc.py::double"]
    assert d["mutants"] == 3 and d["killed"] == 3 and d["kill_rate"] == 1.0  # * -> /, 2 -> 3, 2 -> 1
    c = report["claims"]["clamping"]
    assert c["mutants"] >= 2 and c["killed"] == c["mutants"] - 1  # `not` added: killed; < -> <=: survives
    (s,) = c["survivors"]
    assert (s["file"], s["line"], s["equivalent"]) == ("src/tinypkg/calc.py", 6, True)
    assert s["change"] == "if x < lo: → if x <= lo:" and s["reason"].startswith("at x == lo")
    assert c["equivalent"] == 1 and c["kill_rate"] == 1.0  # the equivalent mutant leaves the denominator


def test_a_mutant_that_hangs_is_a_timeout_kill(tiny):
    _, report = tiny
    loop = report["claims"]["looping"]
    assert loop["killed_by"]["timeout"] >= 1
    results = report["modules"]["src/tinypkg/loops.py"]["mutants"]
    hung = [m for m in results.values() if m["change"] == "total += 1 → total += 0"]
    pos = str(report["test_index"].index("tests/test_tiny.py::test_count_up"))
    assert len(hung) == 1 and hung[0]["results"] == {pos: ["timeout"]}
    # `total = 0` -> `total = 1` still counts up to 3: reached, and the test passes under it
    assert any(s["reason"] == REACHED_NOT_CHECKED and s["line"] == 2 for s in loop["survivors"])


def test_a_test_that_errors_under_a_mutant_is_reported_for_its_claim(tiny):
    _, report = tiny
    h = report["claims"]["halving"]
    assert h["killed_by"]["error"] >= 1 and h["killed"] == h["mutants"]
    assert h["errors"] and h["errors"][0].startswith("tests/test_tiny.py::test_halved_is_positive: errored under")


def test_a_module_that_cannot_be_mutated_is_a_problem_of_its_claim_only(tiny):
    _, report = tiny
    k = report["claims"]["kinds"]
    assert k["functions"] == ["src/tinypkg/matchy.py::kind"]
    assert k["mutants"] == 0 and k["kill_rate"] is None
    assert any("matchy.py: cannot be mutated" in p and "parso" in p for p in k["problems"])
    assert report["modules"]["src/tinypkg/matchy.py"]["problem"]
    assert report["claims"]["doubling"]["problems"] == []


def test_a_test_of_constants_exercises_no_project_code(tiny):
    _, report = tiny
    c = report["claims"]["constants"]
    assert c["no_project_code"] == ["tests/test_tiny.py::test_constant_product"]
    assert c["mutants"] == 0 and c["kill_rate"] is None and not c["meets_threshold"]
    assert c["tests"][0]["exercises_project_code"] is False and c["tests"][0]["kills"] == 0


def test_unexercised_functions_are_not_mutated(tiny):
    _, report = tiny
    assert all(m["function"] != "unused" for m in report["modules"]["src/tinypkg/calc.py"]["mutants"].values())


def test_load_strength_gives_frozen_records(tiny):
    repo, report = tiny
    loaded = load_strength(repo)
    assert set(loaded) == set(report["claims"])
    d = loaded["doubling"]
    assert isinstance(d, ClaimStrength) and not d.stale and d.meets_threshold and THRESHOLD == 0.8
    assert d.code_hash == report["claims"]["doubling"]["code_hash"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.killed = 0  # type: ignore[misc]
    s = loaded["clamping"].survivors[0]
    assert (s.file, s.line, s.equivalent) == ("src/tinypkg/calc.py", 6, True)
    assert loaded["constants"].no_project_code == ("tests/test_tiny.py::test_constant_product",)


def test_nothing_changed_means_nothing_is_re_mutated(tiny):
    repo, report = tiny
    assert staleness(repo, SCOPE, report) == []
    again = compute_strength(repo, SCOPE, jobs=2, previous=report, timeout=FAST)
    assert again["run"]["mutants_run"] == 0 and again["run"]["test_results_reused"] > 0
    for key in ("claims", "modules", "tests"):
        assert again[key] == report[key]


def test_a_changed_module_is_stale_and_only_it_is_re_mutated(tiny, tmp_path):
    repo, report = tiny
    copy = tmp_path / "copy"
    shutil.copytree(repo, copy)
    calc = copy / "src" / "tinypkg" / "calc.py"
    calc.write_text(CALC.replace("return x * 2", "return x + x"))
    loaded = load_strength(copy)
    assert loaded["doubling"].stale and loaded["clamping"].stale  # both read calc.py
    assert not loaded["looping"].stale and not loaded["constants"].stale
    assert staleness(copy, SCOPE, report) == ["src/tinypkg/calc.py changed"]
    new = compute_strength(copy, SCOPE, jobs=2, previous=report, timeout=FAST)
    calc_mutants = len(new["modules"]["src/tinypkg/calc.py"]["mutants"])
    assert new["run"]["mutants_run"] == calc_mutants  # loops.py is not re-mutated
    assert new["modules"]["src/tinypkg/loops.py"] == report["modules"]["src/tinypkg/loops.py"]
    d = new["claims"]["doubling"]
    assert d["mutants"] == 1 and d["killed"] == 1  # x + x -> x - x
    _write(copy, new)
    assert not load_strength(copy)["doubling"].stale


def test_a_retagged_test_makes_its_claim_stale(tiny, tmp_path):
    repo, _ = tiny
    copy = tmp_path / "copy"
    shutil.copytree(repo, copy)
    t = copy / "tests" / "test_tiny.py"
    t.write_text(t.read_text().replace('@pytest.mark.claim("looping")', '@pytest.mark.claim("looping")\n'
                                                                         '@pytest.mark.claim("doubling")'))
    loaded = load_strength(copy)
    assert loaded["doubling"].stale and loaded["looping"].stale  # the test file changed, and doubling's tag set


def test_not_reached_survivor_reason():
    from quantproof.evidence.strength.aggregate import MutantRecord, TestCoverage, claim_strength

    cov = {"t": TestCoverage("t", "passed", 0.1, {"m.py": frozenset({2})}, frozenset({("m.py", "f")}))}
    reached = MutantRecord("m.py", "core/X#0", "core/X", 2, "f", (2,), "a → b", {"t": ("passed", None)})
    missed = MutantRecord("m.py", "core/X#1", "core/X", 3, "f", (3,), "c → d")
    e = claim_strength("c", [("t", "asserts")], cov, {("m.py", "f"): [reached, missed]}, {}, [])
    assert [s["reason"] for s in e["survivors"]] == [REACHED_NOT_CHECKED, NOT_REACHED]
    assert e["kill_rate"] == 0.0


@pytest.mark.parametrize("text, field", [
    ("equivalents:\n  - file: a.py\n    reason: because it is the same\n", "equivalents[0]"),  # no line/change
    ("equivalents:\n  - file: a.py\n    line: x\n    reason: because it is the same\n", "equivalents[0].line"),
    ("equivalents:\n  - file: a.py\n    line: 3\n    reason: same\n", "equivalents[0].reason"),
    ("equivalents:\n  - file: a.py\n    line: 3\n    why: because it is the same\n", "equivalents[0].why"),
    ("nope: 1\n", "nope"),
])
def test_bad_equivalents_are_named_by_file_line_and_field(tmp_path, text, field):
    p = tmp_path / "eq.yaml"
    p.write_text(text)
    with pytest.raises(EquivalentsFileError) as exc:
        load_equivalents(p, "eq.yaml")
    assert any(e.field == field and e.file == "eq.yaml" and e.line >= 1 for e in exc.value.errors), exc.value.errors


def test_the_committed_report_if_present_is_a_strength_report():
    """The committed ledger/strength.json loads, and names every claim that has tagged tests."""
    repo = Path(__file__).resolve().parents[2]
    if not (repo / "ledger" / "strength.json").exists():
        pytest.skip("no committed strength report")
    from quantproof.evidence.tests import scan_tests

    loaded = load_strength(repo)
    assert set(scan_tests(repo).by_claim) <= set(loaded)
    for c in loaded.values():
        assert c.kill_rate is None or 0.0 <= c.kill_rate <= 1.0
        assert c.killed <= c.mutants and len(c.survivors) == c.mutants - c.killed


def test_show_prints_a_claims_survivors_with_reasons(tiny, capsys):
    from quantproof.evidence.strength.command import show

    repo, _ = tiny
    assert show(repo, ["clamping"]) == 0
    out = capsys.readouterr().out
    assert "clamping: kill rate 1.00" in out and "src/tinypkg/calc.py:6 if x < lo: → if x <= lo:" in out
    assert "equivalent: at x == lo both branches return the same value, lo" in out
    assert show(repo, ["no_such_claim"]) == 2

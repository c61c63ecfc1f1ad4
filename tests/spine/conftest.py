"""A miniature QuantProof repository (seeds, claims.yaml, lean/, tests/) for testing the spine end to end."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

SEED = """A toy seed. The sum of two ones is two. Every square is negative.
The sample mean of standard normal draws is zero. The mean is five.
"""

LEAN_ROOT = "import QuantProof.Mini\n"
LEAN_MINI = """\
import Mathlib

namespace QuantProof

/-- Claim `one_plus_one` (seed toy). -/
theorem one_plus_one : (1 : ℝ) + 1 = 2 := by norm_num

/-- Claim `squares_negative` refuted (seed toy). -/
theorem squares_nonneg (x : ℝ) : 0 ≤ x ^ 2 := by positivity

end QuantProof
"""

CLAIMS = """\
schema: 1
claims:
  - id: one_plus_one
    title: one plus one
    source: {seed: toy.txt, quote: "The sum of two ones is two."}
    kind: theorem
    statement: 1 + 1 = 2 over the reals.
    lean:
      - decl: QuantProof.one_plus_one
        role: asserts
    tests:
      - tests/test_mini.py::test_one_plus_one
  - id: squares_negative
    title: every square is negative
    source: {seed: toy.txt, quote: "Every square is negative."}
    kind: theorem
    statement: for all real x, x^2 < 0.
    lean:
      - decl: QuantProof.squares_nonneg
        role: refutes
    tests:
      - {test: tests/test_mini.py::test_squares_negative, role: asserts}
  - id: mean_zero
    title: sample mean is zero
    source: {seed: toy.txt, quote: "The sample mean of standard normal draws is zero."}
    kind: empirical
    statement: the mean of N(0,1) is 0.
    scope: universal
    measurements:
      - name: selftest_normal_mean
        params: {mu: 0.0, n: 2000}
        output: mean
        role: asserts
        expect: {value: 0.0, tol: 0.2}
        control: {label: "N(1, 1) draws", should: fail, params: {mu: 1.0}}
  - id: mean_five
    title: the mean is five
    source: {seed: toy.txt, quote: "The mean is five."}
    kind: empirical
    statement: the mean of N(0,1) draws is 5.
    scope: seed-setting
    measurements:
      - name: selftest_normal_mean
        params: {mu: 0.0, n: 2000}
        output: mean
        role: reproduces
        expect: {value: 5.0, tol: 0.1}
        control: {label: "N(5, 1) draws (planted)", should: hold, params: {mu: 5.0}}
"""

TESTS = '''\
import pytest
from hypothesis import given, strategies as st


@pytest.mark.claim("one_plus_one")
def test_one_plus_one():
    assert 1 + 1 == 2


@pytest.mark.claim("squares_negative")
@given(st.floats(-10, 10))
def test_squares_negative(x):
    assert x * x < 0
'''


# The toy repository has no code to mutate, so `quantproof strength` cannot measure it; this hand-written record
# (claim -> (killed, mutants)) stands in for a report, so that the spine exercises the path where a claim's tests
# meet the strength threshold and count (ledger/strength_gate.py). Editing a test file afterwards makes it stale.
TOY_STRENGTH = {"one_plus_one": (9, 10)}


def write_strength_fixture(root: Path, kills: dict[str, tuple[int, int]]) -> None:
    """A ``ledger/strength.json`` for the toy repo whose records are fresh against its files as they are now."""
    import json

    from quantproof.evidence.strength.model import SCHEMA, code_hash, sha256_file
    from quantproof.evidence.tests import scan_tests

    idx = scan_tests(root)
    claims = {}
    for cid, (killed, mutants) in kills.items():
        tagged = sorted(idx.by_claim.get(cid, []), key=lambda t: t.test_id)
        files = {t.file: sha256_file(root / t.file) for t in tagged}
        claims[cid] = {"kill_rate": killed / mutants, "killed": killed, "mutants": mutants, "equivalent": 0,
                       "meets_threshold": killed / mutants >= 0.8, "killed_by": {"failed": killed},
                       "functions": ["py/toy.py::f"], "no_project_code": [], "errors": [], "problems": [],
                       "tests": [{"id": t.test_id, "role": t.role, "baseline": "passed",
                                  "exercises_project_code": True, "kills": killed} for t in tagged],
                       "survivors": [{"file": "py/toy.py", "line": 1, "function": "f", "mutant": "m#0",
                                      "change": "a → b", "reason": "the claim's tests reach it and pass under it",
                                      "equivalent": False}] * (mutants - killed),
                       "files": files, "code_hash": code_hash(files, "toy-engine", [t.test_id for t in tagged])}
    (root / "ledger").mkdir(exist_ok=True)
    (root / "ledger" / "strength.json").write_text(json.dumps(
        {"schema": SCHEMA, "threshold": 0.8, "engine": {"hash": "toy-engine"}, "claims": claims}))


def make_repo(root: Path, *, claims: str = CLAIMS, lean_mini: str = LEAN_MINI, tests: str = TESTS,
              strength: dict[str, tuple[int, int]] | None = None) -> Path:
    (root / "seeds").mkdir(parents=True)
    (root / "seeds" / "toy.txt").write_text(SEED)
    (root / "lean" / "QuantProof").mkdir(parents=True)
    (root / "lean" / "QuantProof.lean").write_text(LEAN_ROOT)
    (root / "lean" / "QuantProof" / "Mini.lean").write_text(lean_mini)
    (root / "tests").mkdir()
    (root / "tests" / "test_mini.py").write_text(textwrap.dedent(tests))
    (root / "claims.yaml").write_text(claims)
    (root / "lean-toolchain").write_text("leanprover/lean4:v4.99.0\n")
    write_strength_fixture(root, TOY_STRENGTH if strength is None else strength)
    return root


@pytest.fixture
def mini_repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


@pytest.fixture
def stub_lake_path() -> Path:
    return Path(__file__).parent / "stub_lake"

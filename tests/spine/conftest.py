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


def make_repo(root: Path, *, claims: str = CLAIMS, lean_mini: str = LEAN_MINI, tests: str = TESTS) -> Path:
    (root / "seeds").mkdir(parents=True)
    (root / "seeds" / "toy.txt").write_text(SEED)
    (root / "lean" / "QuantProof").mkdir(parents=True)
    (root / "lean" / "QuantProof.lean").write_text(LEAN_ROOT)
    (root / "lean" / "QuantProof" / "Mini.lean").write_text(lean_mini)
    (root / "tests").mkdir()
    (root / "tests" / "test_mini.py").write_text(textwrap.dedent(tests))
    (root / "claims.yaml").write_text(claims)
    (root / "lean-toolchain").write_text("leanprover/lean4:v4.99.0\n")
    return root


@pytest.fixture
def mini_repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


@pytest.fixture
def stub_lake_path() -> Path:
    return Path(__file__).parent / "stub_lake"

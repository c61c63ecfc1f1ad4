"""Typed records of claims.yaml (what a claim says and which evidence it links to)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

KINDS = ("theorem", "asymptotic", "arithmetic", "empirical", "definitional", "conjecture")
ROLES = ("asserts", "refutes", "corrects", "vacuous", "reproduces")
# "lemma": a supporting result (a Lean lemma, a test of a helper fact) shown beside the claim, never decisive alone.
FORMAL_ROLES = ("asserts", "refutes", "corrects", "vacuous", "lemma")
TEST_ROLES = FORMAL_ROLES
EXPECT_KINDS = ("value", "band", "at_least", "at_most", "greater_than", "less_than", "compare")
COMPARE_OPS = ("gt", "ge", "lt", "le")


@dataclass(frozen=True)
class Where:
    """A position in a claims file, for error messages: ``file:line``."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class LeanLink:
    decl: str
    role: str
    where: Where


@dataclass(frozen=True)
class TestLink:
    test_id: str
    where: Where


@dataclass(frozen=True)
class Expectation:
    kind: str  # one of EXPECT_KINDS
    value: float | None = None
    tol: float = 0.0
    lo: float | None = None
    hi: float | None = None
    compare_with: str | None = None
    op: str | None = None
    margin: float = 0.0

    def to_json(self) -> dict[str, Any]:
        if self.kind == "value":
            return {"value": self.value, "tol": self.tol}
        if self.kind == "band":
            return {"band": [self.lo, self.hi]}
        if self.kind == "compare":
            return {"compare": {"with": self.compare_with, "op": self.op, "margin": self.margin}}
        return {self.kind: self.value}


@dataclass(frozen=True)
class MeasurementLink:
    name: str
    params: dict[str, Any]
    output: str
    role: str
    expect: Expectation | None
    key: str | None
    where: Where


@dataclass(frozen=True)
class Claim:
    id: str
    title: str
    seed: str
    quote: str
    kind: str
    statement: str
    lean: tuple[LeanLink, ...] = ()
    tests: tuple[TestLink, ...] = ()
    measurements: tuple[MeasurementLink, ...] = ()
    related: tuple[str, ...] = ()
    notes: str = ""
    where: Where = field(default=Where("claims.yaml", 0))


@dataclass(frozen=True)
class ClaimSet:
    path: str
    claims: tuple[Claim, ...]
    sha256: str

    def by_id(self) -> dict[str, Claim]:
        return {c.id: c for c in self.claims}

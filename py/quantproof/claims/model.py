"""Typed records of claims.yaml (what a claim says and which evidence it links to)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

KINDS = ("theorem", "asymptotic", "arithmetic", "empirical", "definitional", "conjecture")
# What a piece of evidence establishes (docs/REFEREE.md):
#   asserts     the claim as stated (our precise reading)
#   refutes     the negation of the claim: a counterexample, or an effect shown absent where the claim says present
#   corrects    a corrected statement (the claim's `corrected` text)
#   vacuous     that the claim holds only trivially
#   reproduces  (measurements) the seed's figure in its setting, on the model that ran
#   lemma       a supporting result (a Lean lemma, a test of a helper fact): shown, never decisive alone
#   control     (measurements) a baseline or null model another link compares with: shown, never evidence itself
DECISIVE_ROLES = ("asserts", "refutes", "corrects", "vacuous", "reproduces")
ROLES = DECISIVE_ROLES + ("lemma", "control")
FORMAL_ROLES = ("asserts", "refutes", "corrects", "vacuous", "lemma")
TEST_ROLES = FORMAL_ROLES
MEASUREMENT_ROLES = ROLES
SCOPES = ("universal", "seed-setting")
ASSUMPTION_BY = ("seed", "ours")
ASSUMPTION_KINDS = ("hypothesis", "convention")
CONTROL_SHOULD = ("fail", "hold")
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
    role: str = "asserts"


@dataclass(frozen=True)
class Assumption:
    """A hypothesis or convention the claim's precise reading rests on, and whose it is.

    ``by: ours`` with ``kind: hypothesis`` is a hypothesis the project added to the seed's words: a claim that holds
    only under it is ``conditional``, never plain ``supported`` (ledger/verdict.py)."""

    text: str
    by: str  # seed | ours
    kind: str  # hypothesis | convention
    where: Where = field(default=Where("claims.yaml", 0))

    @property
    def added_hypothesis(self) -> bool:
        return self.by == "ours" and self.kind == "hypothesis"

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "by": self.by, "kind": self.kind}


@dataclass(frozen=True)
class Control:
    """The same measurement on an input where the link's expectation should come out the other way.

    ``should: fail`` (a null: Gaussian or permuted data, an untrained model, a random rotation): needed before a link
    that *holds* counts. ``should: hold`` (the effect planted by construction): needed before a link that *fails*
    counts. A control is either the measurement re-run with ``params`` overriding the link's, or another ``output``
    of the same run (a null computed alongside), or both."""

    label: str
    should: str  # fail | hold
    params: dict[str, Any]
    output: str | None
    where: Where = field(default=Where("claims.yaml", 0))

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "should": self.should, "params": self.params, "output": self.output}


@dataclass(frozen=True)
class SeedTable:
    """Rows quoted verbatim from the seed (one table row per line) and which 1-based column feeds which parameter."""

    rows: tuple[str, ...]
    columns: dict[str, int]
    where: Where = field(default=Where("claims.yaml", 0))
    seed: str | None = None  # another seed the rows are quoted from (default: the claim's own)


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
    controls: tuple[Control, ...] = ()
    # seed figures bound to parameters: {name: verbatim fragment of the seed holding one number, or marking it
    # as {{number}}}; substituted into an `arith` expression, or passed as a float parameter
    seed_values: dict[str, str] = field(default_factory=dict)
    seed_table: SeedTable | None = None
    # names of seed_values quoted from another seed than the claim's own (a restatement quoting its source): name -> file
    seed_values_from: dict[str, str] = field(default_factory=dict)
    # the model the seed measured (quantproof.capture.targets), when its seed names one; ``params`` runs the
    # substitute, ``target_params`` override them when the target is bound to a checkpoint (``--model``)
    target: str | None = None
    target_params: dict[str, Any] = field(default_factory=dict)


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
    assumptions: tuple[Assumption, ...] = ()
    scope: str | None = None  # empirical claims: universal | seed-setting
    corrected: str = ""  # the corrected statement, when a `corrects` link exists
    premises: tuple[str, ...] = ()  # claims this one's argument rests on (a refuted premise leaves it unsupported)

    @property
    def added_hypotheses(self) -> tuple[Assumption, ...]:
        return tuple(a for a in self.assumptions if a.added_hypothesis)


@dataclass(frozen=True)
class ClaimSet:
    path: str
    claims: tuple[Claim, ...]
    sha256: str

    def by_id(self) -> dict[str, Claim]:
        return {c.id: c for c in self.claims}

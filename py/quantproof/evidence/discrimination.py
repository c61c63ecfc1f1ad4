"""Could this measurement have come out the other way? Its controls decide.

Policy (docs/REFEREE.md, rule 1):

1. A link's expectation is evaluated on the real input and on each declared control, the same way.
2. A link that *holds* (consistent) counts only when every control that *should fail* ran and failed (inconsistent):
   then it is ``discriminating``. If such a control holds too, the link is ``non-discriminating``: the statement
   is true of the null input as well, and the link is marked ``trivial``. A should-fail control that did not run or
   straddles its expectation, or no should-fail control at all, leaves it ``undetermined``.
3. A link that *fails* (inconsistent) counts only when every control that *should hold* (the effect planted) ran
   and held: the measurement can see the effect where it is present. A should-hold control that fails too makes the
   link ``non-discriminating`` (it misses the effect even where it was planted); none, or one that did not settle,
   leaves it ``undetermined``.
4. An output exact by construction (registered ``exact``) needs no control: ``exact``. Declared controls are still
   evaluated and rule 2/3 still applies to them.
5. Inconclusive, not-run and error links decide nothing whatever their controls say: ``None``.
Pure functions; the runner supplies the outcomes.
"""

from __future__ import annotations

from dataclasses import dataclass

HOLDS, FAILS = "consistent", "inconsistent"


@dataclass(frozen=True)
class ControlOutcome:
    label: str
    should: str  # fail | hold
    outcome: str  # consistent | inconsistent | inconclusive | not-run | error
    detail: str = ""


@dataclass(frozen=True)
class Discrimination:
    status: str | None  # discriminating | non-discriminating | undetermined | exact | None
    blocked: str | None  # why the link decides nothing (None when it is decisive or did not come out)
    trivial: bool = False  # holds on a should-fail control too


def discriminate(outcome: str, controls: list[ControlOutcome], *, exact: bool) -> Discrimination:
    if outcome not in (HOLDS, FAILS):
        return Discrimination(None, None)
    want = "fail" if outcome == HOLDS else "hold"
    relevant = [c for c in controls if c.should == want]
    opposite = FAILS if outcome == HOLDS else HOLDS
    same = [c for c in relevant if c.outcome == outcome]
    if same:
        names = ", ".join(f"'{c.label}'" for c in same)
        if outcome == HOLDS:
            return Discrimination("non-discriminating",
                                  f"non-discriminating: its control {names} meets the expectation too", trivial=True)
        return Discrimination("non-discriminating",
                              f"non-discriminating: it misses the expectation even on {names}, where the effect "
                              f"was planted")
    if relevant and all(c.outcome == opposite for c in relevant):
        return Discrimination("discriminating", None)
    if relevant:
        open_ = ", ".join(f"'{c.label}' ({c.outcome})" for c in relevant if c.outcome != opposite)
        if exact:
            return Discrimination("exact", None)
        return Discrimination("undetermined", f"undetermined: its control {open_} did not come out")
    if exact:
        return Discrimination("exact", None)
    kind = "a null on which it should fail" if outcome == HOLDS else "a planted effect on which it should hold"
    return Discrimination("undetermined", f"undetermined: no control ({kind}) could show it can come out the "
                                          f"other way")

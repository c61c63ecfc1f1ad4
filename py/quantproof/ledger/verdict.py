"""Verdict rules: a claim's verdict is a pure function of its evidence, never a hand-set flag.

Each piece of evidence has a role (what it establishes: the claim as stated, its negation, a corrected statement,
that it is vacuous, or the seed's number reproduced on our model) and a state:

- ``holds``: the linked proposition was established — a Lean proof that built and passed the axiom audit
  (``kernel``), a passing test, a measurement consistent with its expectation;
- ``fails``: it was contradicted — a failing test, a measurement inconsistent with its expectation;
- ``unknown``: nothing decisive — not built, skipped, not run, inconclusive, crashed.

Rules, first match wins:

1. ``conflicting``: the claim's own statement both holds and fails (evidence disagrees).
2. ``mis-stated``: the literal claim is refuted (an ``asserts`` fails or a ``refutes`` holds) and a ``corrects`` holds.
3. ``refuted``: the literal claim is refuted.
4. ``vacuous``: a ``vacuous`` holds (the claim is true only trivially).
5. ``verified``: an ``asserts`` holds through a kernel-checked Lean proof.
6. ``not-reproduced``: a ``reproduces`` fails (the seed's figure did not reproduce on our model; not called false).
7. ``supported``: an ``asserts`` or ``reproduces`` holds.
8. ``open``: a conjecture, or a statement only present with ``sorry``.
9. ``error``: evidence exists but every piece of it crashed or timed out.
10. ``unchecked``: nothing decisive ran.
"""

from __future__ import annotations

from dataclasses import dataclass

VERDICTS = ("verified", "supported", "refuted", "mis-stated", "vacuous", "not-reproduced", "conflicting", "open",
            "error", "unchecked")


@dataclass(frozen=True)
class Evidence:
    channel: str  # formal | tests | measurements
    role: str
    state: str  # holds | fails | unknown
    label: str
    kernel: bool = False  # a kernel-checked Lean proof
    error: bool = False  # the evidence crashed / timed out (not merely "not run")
    open_statement: bool = False  # a Lean statement present only with sorry


@dataclass(frozen=True)
class Verdict:
    verdict: str
    reason: str


def _names(items: list[Evidence]) -> str:
    labels = sorted({e.label for e in items})
    if len(labels) > 3:
        return ", ".join(labels[:3]) + f" and {len(labels) - 3} more"
    return ", ".join(labels)


def decide(kind: str, evidence: list[Evidence], model_note: str = "") -> Verdict:
    def pick(role: str, state: str) -> list[Evidence]:
        return [e for e in evidence if e.role == role and e.state == state]

    asserts_hold, asserts_fail = pick("asserts", "holds"), pick("asserts", "fails")
    refutes_hold = pick("refutes", "holds")
    corrects_hold = pick("corrects", "holds")
    vacuous_hold = pick("vacuous", "holds")
    repro_hold, repro_fail = pick("reproduces", "holds"), pick("reproduces", "fails")
    against = asserts_fail + refutes_hold
    suffix = f" ({model_note})" if model_note else ""

    if asserts_hold and against:
        return Verdict("conflicting", f"Evidence disagrees: {_names(asserts_hold)} support the claim while "
                                      f"{_names(against)} contradict it.")
    if against and corrects_hold:
        return Verdict("mis-stated", f"False as written ({_names(against)}), but the corrected statement holds "
                                     f"({_names(corrects_hold)}).")
    if against:
        return Verdict("refuted", f"Contradicted by {_names(against)}{suffix}.")
    if vacuous_hold:
        return Verdict("vacuous", f"True only trivially: {_names(vacuous_hold)}.")
    kernel = [e for e in asserts_hold if e.kernel]
    if kernel:
        return Verdict("verified", f"Kernel-checked Lean proof {_names(kernel)} with only standard axioms"
                                   + (f"; also {_names([e for e in asserts_hold if not e.kernel])}."
                                      if len(kernel) < len(asserts_hold) else "."))
    if repro_fail:
        also = f" The mechanism itself is supported by {_names(asserts_hold)}." if asserts_hold else ""
        return Verdict("not-reproduced", f"The seed's figure was not reproduced: {_names(repro_fail)}{suffix}.{also}")
    if asserts_hold or repro_hold:
        sup = asserts_hold + repro_hold
        formal_unbuilt = any(e.channel == "formal" and e.state == "unknown" and not e.open_statement
                             for e in evidence)
        tail = " A Lean proof exists but was not kernel-checked here." if formal_unbuilt else ""
        return Verdict("supported", f"Supported by {_names(sup)}{suffix}.{tail}")
    if kind == "conjecture" or any(e.open_statement for e in evidence):
        return Verdict("open", "Stated as a conjecture or only with an unproved (sorry) Lean statement; no "
                               "decisive evidence either way.")
    if evidence and all(e.error for e in evidence):
        return Verdict("error", f"Every piece of evidence crashed or timed out: {_names(evidence)}.")
    if evidence:
        return Verdict("unchecked", f"No decisive evidence: {_names(evidence)} did not settle it (not built, not "
                                    f"run, skipped or inconclusive).")
    return Verdict("unchecked", "No evidence is linked to this claim; nobody could check it here.")

"""Verdict rules: a claim's verdict is a pure function of its evidence, never a hand-set flag.

Each piece of evidence has a **role** (what it would establish: the claim as stated, its negation, a corrected
statement, that it is vacuous, the seed's figure reproduced; a ``lemma`` or ``control`` establishes nothing about the
claim by itself) and a **state**:

- ``holds``: the linked proposition came out true — a Lean proof that built and passed the axiom audit
  (``kernel``), a passing test, a measurement consistent with its expectation;
- ``fails``: it came out false — a failing test, a measurement inconsistent with its expectation;
- ``unknown``: nothing either way — not built, skipped, not run, crashed, or an interval that straddles.

Evidence that holds or fails is **decisive** only if it could have come out the other way (docs/REFEREE.md):

- a measurement that holds needs a control that *should fail* (a null: Gaussian or permuted data, an untrained
  model, a random rotation) and did fail; one that fails needs a control that *should hold* (the effect planted)
  and did hold. A control that came out like the real input makes the link **non-discriminating**; no such control,
  or one that did not run, leaves it **undetermined**. Exact outputs (arithmetic on stated figures, counts,
  counterexamples) need no control.
- a passing test counts only when its claim's mutation-testing record (``ledger/strength.json``) exists, is not
  stale and has a kill rate at or above ``THRESHOLD`` (0.8) over the code its tests exercise; otherwise it is
  ``blocked`` with the numbers ("tests kill 25/89 mutants (0.28) < 0.80", "no strength record", "strength report
  stale for this code"), and a test that runs no project code is no evidence at all (``ledger/strength_gate.py``).
  A failing test needs no such record: its counterexample stands;
- ``lemma`` and ``control`` links are never decisive.

The runner records why a piece of evidence is not decisive (``blocked``); a supporting link that holds on its
should-fail control too is ``trivial``: the statement is true of null data as well.

Rules, first match wins (``for`` = a decisive ``asserts``/``reproduces`` that holds; ``against`` = a decisive
``asserts`` that fails or ``refutes`` that holds):

R1 ``conflicting``: evidence for the claim meets evidence against it.
R2 ``mis-stated``: against, and a decisive ``corrects`` holds (the claim's ``corrected`` text is given).
R3 ``refuted``: against (failed corrections are named).
R4 ``vacuous``: a decisive ``vacuous`` holds, or every supporting link that holds is trivial (true on its null).
R5 ``verified``: an ``asserts`` holds through a kernel-checked Lean proof, and the claim adds no hypothesis.
R6 ``not-reproduced``: a decisive ``reproduces`` fails (the seed's figure, on the model that ran; not "false").
R7 ``conditional``: for, but the claim's reading adds a hypothesis of ours (named): never plain ``supported``.
R8 ``supported``: for.
R9 ``unsupported``: a premise the claim rests on (its ``premises``) is refuted, mis-stated or vacuous: the
   argument is gone, although nothing shows the claim false.
R10 ``open``: a conjecture, or a statement present only with ``sorry``.
R11 ``unsupported``: evidence ran to completion and established neither the claim nor its negation (inconclusive,
    non-discriminating, undetermined, below the kill rate, a failed refutation or correction).
R12 ``error``: evidence exists and every piece of it crashed or timed out.
R13 ``unchecked``: nothing ran (not built, not run, skipped), or no evidence is linked.

The reason states the numbers of the evidence that decided (value, interval, expectation, control), every Lean
status by name, the hypotheses we added, the corrected statement, and which model ran.
"""

from __future__ import annotations

from dataclasses import dataclass, field

VERDICTS = ("verified", "supported", "conditional", "refuted", "mis-stated", "vacuous", "not-reproduced",
            "conflicting", "unsupported", "open", "error", "unchecked")

VERDICT_RULES = {
    "R1": "evidence for the claim meets evidence against it",
    "R2": "false as written, and a corrected statement holds",
    "R3": "false as written",
    "R4": "true only trivially (a vacuity link holds, or every supporting link holds on its null too)",
    "R5": "an asserts link holds through a kernel-checked Lean proof",
    "R6": "the seed's figure did not reproduce on the model that ran",
    "R7": "holds, but only under a hypothesis we added",
    "R8": "decisive evidence for the claim, none against",
    "R9": "a premise the claim rests on is refuted, mis-stated or vacuous",
    "R10": "a conjecture, or only an open (sorry) statement",
    "R11": "evidence ran but decided nothing",
    "R12": "every piece of evidence crashed or timed out",
    "R13": "nothing ran, or no evidence is linked",
}

LEAN_STATUS_TEXT = {
    "proved": "kernel-checked (lake build and the axiom audit passed)",
    "refuted": "kernel-checked (lake build and the axiom audit passed)",
    "not-built": "written and statically audited, not kernel-checked (no Lean toolchain ran)",
    "sorry": "stated with sorry (an open statement, no proof)",
    "build-failed": "failed to build",
    "blocked": "not built: a module it needs failed to build",
    "axioms-rejected": "rejected by the axiom audit (an axiom beyond propext, Classical.choice, Quot.sound)",
    "statement-changed": "its statement changed since it was pinned in lean/statements.lock.json",
    "missing": "not found under lean/",
}


@dataclass(frozen=True)
class Evidence:
    channel: str  # formal | tests | measurements
    role: str
    state: str  # holds | fails | unknown
    label: str
    detail: str = ""  # one line with the numbers: value [interval], expectation, control
    kernel: bool = False  # a kernel-checked Lean proof
    error: bool = False  # crashed / timed out (not merely "not run")
    open_statement: bool = False  # a Lean statement present only with sorry
    ran: bool = False  # ran to completion (whatever its outcome)
    blocked: str | None = None  # why a holding/failing piece decides nothing (non-discriminating, undetermined, …)
    trivial: bool = False  # a supporting link that holds on its should-fail control as well

    @property
    def decisive(self) -> bool:
        return self.state in ("holds", "fails") and self.blocked is None and self.role not in ("lemma", "control")

    def to_json(self) -> dict:
        return {"channel": self.channel, "role": self.role, "state": self.state, "label": self.label,
                "detail": self.detail, "decisive": self.decisive,
                "why_not_decisive": None if self.decisive else (self.blocked or _why_unknown(self))}


@dataclass(frozen=True)
class Verdict:
    verdict: str
    reason: str
    rule: str = ""


@dataclass(frozen=True)
class ClaimContext:
    """What the rules need to know about the claim besides its evidence."""

    kind: str
    added_hypotheses: tuple[str, ...] = ()
    corrected: str = ""
    model_note: str = ""  # e.g. "on substitute SmolLM2-135M-Instruct (Q4_1 GGUF) for Qwen2.5-0.5B"
    premises: tuple[tuple[str, str], ...] = ()  # (claim id, its verdict) of the claims this one rests on
    extra: tuple[str, ...] = field(default_factory=tuple)  # further sentences for the reason (policy notes)


def _why_unknown(e: Evidence) -> str:
    if e.role in ("lemma", "control"):
        return f"a {e.role} link is never decisive by itself"
    if e.error:
        return "crashed or timed out"
    if e.open_statement:
        return "an open (sorry) statement"
    return "did not come out either way" if e.ran else "did not run"


def _say(items: list[Evidence]) -> str:
    return "; ".join(e.detail or e.label for e in items)


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text.endswith((".", "?", "!")) else text + "."


def _context_sentences(evidence: list[Evidence], used: list[Evidence], ctx: ClaimContext) -> list[str]:
    """Lean statuses, evidence that ran without deciding, failed refutations/corrections/vacuity checks."""
    out: list[str] = []
    seen = {id(e) for e in used}
    for e in evidence:
        if id(e) in seen:
            continue
        if e.channel == "formal" and not e.decisive:
            out.append(e.detail or e.label)
        elif e.decisive and e.state == "fails" and e.role in ("refutes", "corrects", "vacuous"):
            what = {"refutes": "a refutation", "corrects": "a proposed correction", "vacuous": "a vacuity check"}
            out.append(f"{what[e.role]} failed: {e.detail or e.label}")
        elif e.decisive:
            verb = {"asserts": "the claim", "reproduces": "a reproduction", "corrects": "the correction",
                    "refutes": "a refutation", "vacuous": "a vacuity check"}.get(e.role, e.role)
            out.append(f"also decisive: {verb} {'held' if e.state == 'holds' else 'failed'}: {e.detail or e.label}")
        elif e.ran and not e.decisive and e.role not in ("control",):
            why = e.blocked or _why_unknown(e)
            out.append(f"not decisive: {e.detail or e.label} ({why})")
    if ctx.added_hypotheses:
        out.append("the reading adds the hypothesis: " + "; ".join(ctx.added_hypotheses))
    out.extend(ctx.extra)
    return [_sentence(s) for s in out]


AGAINST = ("refuted", "mis-stated", "vacuous")


def decide(kind: str, evidence: list[Evidence], model_note: str = "", *,
           context: ClaimContext | None = None) -> Verdict:
    ctx = context or ClaimContext(kind=kind, model_note=model_note)

    def pick(role: str, state: str) -> list[Evidence]:
        return [e for e in evidence if e.role == role and e.state == state and e.decisive]

    asserts_hold, asserts_fail = pick("asserts", "holds"), pick("asserts", "fails")
    refutes_hold = pick("refutes", "holds")
    corrects_hold = pick("corrects", "holds")
    vacuous_hold = pick("vacuous", "holds")
    repro_hold, repro_fail = pick("reproduces", "holds"), pick("reproduces", "fails")
    for_ = asserts_hold + repro_hold
    against = asserts_fail + refutes_hold
    trivial = [e for e in evidence if e.role in ("asserts", "reproduces") and e.state == "holds" and e.trivial]
    where = f" ({ctx.model_note})" if ctx.model_note else ""

    def done(verdict: str, rule: str, head: str, used: list[Evidence], *tail: str) -> Verdict:
        parts = [_sentence(head)] + [_sentence(t) for t in tail if t] + _context_sentences(evidence, used, ctx)
        return Verdict(verdict, " ".join(parts), rule)

    if for_ and against:
        return done("conflicting", "R1", f"Evidence disagrees{where}: for the claim {_say(for_)}; against it "
                                         f"{_say(against)}", for_ + against)
    if against and corrects_hold:
        corr = f"Corrected statement: {ctx.corrected}" if ctx.corrected else ""
        return done("mis-stated", "R2", f"False as written{where}: {_say(against)}",
                    against + corrects_hold, f"The corrected statement holds: {_say(corrects_hold)}", corr)
    if against:
        return done("refuted", "R3", f"Refuted{where}: {_say(against)}", against)
    if vacuous_hold:
        return done("vacuous", "R4", f"True only trivially{where}: {_say(vacuous_hold)}", vacuous_hold)
    if trivial and not for_:
        return done("vacuous", "R4", f"True only trivially{where}: it holds on the null controls as well: "
                                     f"{_say(trivial)}", trivial)
    kernel = [e for e in asserts_hold if e.kernel]
    if kernel and not ctx.added_hypotheses:
        return done("verified", "R5", f"Kernel-checked Lean proof with only the standard axioms: {_say(kernel)}",
                    for_)
    if repro_fail:
        also = f"The claim's mechanism itself holds: {_say(asserts_hold)}" if asserts_hold else ""
        return done("not-reproduced", "R6", f"The seed's figure was not reproduced{where}: {_say(repro_fail)}",
                    repro_fail + asserts_hold, also)
    if for_ and ctx.added_hypotheses:
        return done("conditional", "R7", f"Holds only under a hypothesis we added{where}: {_say(for_)}", for_)
    if for_:
        return done("supported", "R8", f"Supported{where}: {_say(for_)}", for_)
    gone = [f"{cid} ({v})" for cid, v in ctx.premises if v in AGAINST]
    if gone:
        return done("unsupported", "R9", f"Unsupported{where}: the premise it rests on is {', '.join(gone)}; nothing "
                                         f"shows the claim itself false", [])
    if kind == "conjecture" or any(e.open_statement for e in evidence):
        return done("open", "R10", f"Stated as a conjecture or only with an unproved (sorry) Lean statement; no "
                                   f"decisive evidence either way{where}", [])
    if any(e.ran for e in evidence if e.role not in ("lemma", "control")):
        return done("unsupported", "R11", f"Not established{where}: the evidence ran but neither supports nor "
                                          f"refutes the claim", [])
    if evidence and all(e.error for e in evidence):
        return done("error", "R12", f"Every piece of evidence crashed or timed out{where}: {_say(evidence)}", evidence)
    if evidence:
        return done("unchecked", "R13", f"Nothing decisive ran (not built, not run or skipped){where}", [])
    return done("unchecked", "R13", "No evidence is linked to this claim; nobody could check it here", [])

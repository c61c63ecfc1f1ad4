"""From mutant results to per-claim strength (pure: no I/O, no tool).

A claim's mutants are every mutant in the functions its tagged tests exercise (a function counts when a test runs a
line of its body). A mutant is killed for the claim when one of the claim's tests that reaches it (its coverage meets
the mutated statement) fails, errors or times out under it. Tests that failed on the unmutated code kill nothing.
Everything else survives, with a reason: a written equivalence, "not reached by the claim's tests" (no test of the
claim runs that statement: a coverage gap), or "the claim's tests pass under it" (reached, not checked).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .equivalents import Equivalent

KILLING = ("failed", "error", "timeout")
REACHED_NOT_CHECKED = "the claim's tests reach it and pass under it"
NOT_REACHED = "not reached by the claim's tests"


@dataclass(frozen=True)
class TestCoverage:
    test_id: str
    baseline: str  # passed | failed | error | skipped | not-run
    duration_s: float
    lines: dict[str, frozenset[int]]  # file -> lines run inside functions of in-scope modules
    functions: frozenset[tuple[str, str]]  # (file, qualname)


@dataclass
class MutantRecord:
    file: str
    mutant_id: str
    operator: str
    line: int
    function: str
    select_lines: tuple[int, ...]
    change: str | None = None
    results: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # test -> (outcome, message)
    problem: str | None = None

    def reached_by(self, cov: TestCoverage) -> bool:
        lines = cov.lines.get(self.file)
        return bool(lines) and any(ln in lines for ln in self.select_lines)


def _kill_kind(outcomes: list[str]) -> str | None:
    for kind in KILLING:
        if kind in outcomes:
            return kind
    return None


def claim_strength(claim: str, tagged: list[tuple[str, str]], coverage: dict[str, TestCoverage],
                   mutants_by_function: dict[tuple[str, str], list[MutantRecord]],
                   module_problems: dict[str, str], equivalents: list[Equivalent]) -> dict:
    """The claim's entry of the report (without its file hashes). ``tagged``: (test id, role) of its tests."""
    problems: list[str] = []
    functions: set[tuple[str, str]] = set()
    live: list[str] = []  # tests that can kill: they pass on the unmutated code
    for tid, _role in tagged:
        cov = coverage.get(tid)
        if cov is None or cov.baseline == "not-run":
            problems.append(f"{tid}: did not run on the unmutated code")
            continue
        functions |= cov.functions
        if cov.baseline == "passed":
            live.append(tid)
        else:
            problems.append(f"{tid}: {cov.baseline} on the unmutated code, so it cannot kill a mutant")
    for f in sorted({f for f, _ in functions} & set(module_problems)):
        problems.append(module_problems[f])

    kills = {tid: 0 for tid, _ in tagged}
    errored: dict[str, list[str]] = {}
    killed_by = {k: 0 for k in KILLING}
    survivors: list[dict] = []
    killed = equivalent = total = not_applied = 0
    for fn in sorted(functions):
        for m in mutants_by_function.get(fn, []):
            if m.problem is not None and not m.results:
                not_applied += 1
                continue
            total += 1
            reaching = [t for t in live if m.reached_by(coverage[t])]
            outcomes = []
            for t in reaching:
                res = m.results.get(t)
                if res is None:
                    continue
                outcomes.append(res[0])
                if res[0] in KILLING:
                    kills[t] += 1
                if res[0] == "error":
                    errored.setdefault(t, []).append(res[1] or "")
            kind = _kill_kind(outcomes)
            if kind is not None:
                killed += 1
                killed_by[kind] += 1
                continue
            eq = next((e for e in equivalents
                       if e.matches(m.file, m.function, m.line, m.change or "", m.operator, claim)), None)
            if eq is not None:
                equivalent += 1
                reason = eq.reason
            elif not reaching:
                reason = NOT_REACHED
            elif len(outcomes) < len(reaching):
                reason = f"not run: {m.problem or 'no result for ' + ', '.join(t for t in reaching if t not in m.results)}"
            else:
                reason = REACHED_NOT_CHECKED
            survivors.append({"file": m.file, "line": m.line, "function": m.function, "mutant": m.mutant_id,
                              "change": m.change or "", "reason": reason, "equivalent": eq is not None})
    if not_applied:
        problems.append(f"{not_applied} mutant(s) could not be applied or did not compile (left out)")
    denom = total - equivalent
    tests_out = []
    no_code = []
    for tid, role in tagged:
        cov = coverage.get(tid)
        runs_code = bool(cov and cov.functions)
        if cov is not None and cov.baseline != "not-run" and not runs_code:
            no_code.append(tid)
        tests_out.append({"id": tid, "role": role, "baseline": cov.baseline if cov else "not-run",
                          "exercises_project_code": runs_code, "kills": kills[tid]})
    return {
        "kill_rate": round(killed / denom, 4) if denom > 0 else None,
        "killed": killed, "mutants": total, "equivalent": equivalent,
        "killed_by": killed_by,
        "functions": [f"{f}::{q}" for f, q in sorted(functions)],
        "tests": tests_out, "no_project_code": no_code,
        "survivors": sorted(survivors, key=lambda s: (s["file"], s["line"], s["mutant"])),
        "errors": [f"{t}: errored under {len(ms)} mutant(s), e.g. {ms[0][:200]}" for t, ms in sorted(errored.items())],
        "problems": problems,
    }


def unused_equivalents(equivalents: list[Equivalent], records: list[MutantRecord],
                       killed_by_claim: dict[tuple[str, str], set[str]]) -> list[str]:
    """Entries that match no mutant, or match one that the tests of a claim they cover kill: the code moved on, or
    the entry is wrong. ``killed_by_claim``: (file, mutant id) -> the claims whose tests kill it."""
    out = []
    for e in equivalents:
        hits = [m for m in records if e.matches(m.file, m.function, m.line, m.change or "", m.operator)]
        if not hits:
            out.append(f"tests/strength_equivalents.yaml:{e.where}: matches no mutant of {e.file}")
        elif any(c for m in hits for c in killed_by_claim.get((m.file, m.mutant_id), ())
                 if e.claims is None or c in e.claims):
            out.append(f"tests/strength_equivalents.yaml:{e.where}: matches a mutant that a test kills, so it is "
                       f"not equivalent")
    return out

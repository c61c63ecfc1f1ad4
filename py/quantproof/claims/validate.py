"""Cross-reference checks of a loaded claim set (``quantproof check``).

Policy:
1. Every link must resolve: a seed file in ``seeds/`` containing the quote (whitespace-normalised), a Lean declaration
   present under ``lean/``, a listed test id that exists and is tagged with this claim, a registered measurement with
   known parameters (of the right types) and a known output.
2. Every claim tag in ``tests/`` must name a claim that exists, with a valid role.
3. Findings about the Lean sources (escapes in the default target) are *findings*, reported by ``quantproof check``
   apart from input errors: a bad claims file is the author's mistake, an escape is a proof problem.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..evidence.formal import LeanIndex, scan_lean
from ..evidence.measurement import registry
from ..evidence.tests import TestIndex, scan_tests
from .loader import SchemaError
from .model import TEST_ROLES, ClaimSet

SEEDS_DIR = "seeds"


@dataclass
class CheckReport:
    errors: list[SchemaError]
    lean: LeanIndex
    tests: TestIndex

    @property
    def ok(self) -> bool:
        return not self.errors


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def validate(cs: ClaimSet, repo: Path, *, lean: LeanIndex | None = None, tests: TestIndex | None = None) -> CheckReport:
    lean = lean if lean is not None else scan_lean(repo)
    tests = tests if tests is not None else scan_tests(repo)
    reg = registry()
    errors: list[SchemaError] = []
    seed_texts: dict[str, str | None] = {}
    ids = set(cs.by_id())

    for c in cs.claims:
        line = c.where.line
        if c.seed not in seed_texts:
            p = repo / SEEDS_DIR / c.seed
            seed_texts[c.seed] = _norm(p.read_text(encoding="utf-8", errors="replace")) if p.is_file() else None
        seed_text = seed_texts[c.seed]
        if seed_text is None:
            errors.append(SchemaError(cs.path, line, f"{c.id}.source.seed", f"no file {SEEDS_DIR}/{c.seed}"))
        elif _norm(c.quote) not in seed_text:
            errors.append(SchemaError(cs.path, line, f"{c.id}.source.quote", f"quote not found verbatim in {c.seed}"))
        for link in c.lean:
            if link.decl not in lean.decls:
                errors.append(SchemaError(cs.path, link.where.line, f"{c.id}.lean",
                                          f"declaration {link.decl} not found under lean/"))
        for t in c.tests:
            tagged = {x.claim for x in tests.by_test.get(t.test_id, [])}
            if t.test_id not in tests.all_tests:
                errors.append(SchemaError(cs.path, t.where.line, f"{c.id}.tests", f"no test {t.test_id}"))
            elif c.id not in tagged:
                errors.append(SchemaError(cs.path, t.where.line, f"{c.id}.tests",
                                          f"{t.test_id} is not tagged @pytest.mark.claim({c.id!r})"))
        for m in c.measurements:
            spec = reg.get(m.name)
            f = f"{c.id}.measurements"
            if spec is None:
                errors.append(SchemaError(cs.path, m.where.line, f"{f}.name", f"unknown measurement {m.name!r}"))
                continue
            try:
                spec.bind(m.params)
            except ValueError as exc:
                errors.append(SchemaError(cs.path, m.where.line, f"{f}.params", str(exc)))
            if m.output not in spec.outputs:
                errors.append(SchemaError(cs.path, m.where.line, f"{f}.output",
                                          f"{m.name} has no output {m.output!r} (outputs: {', '.join(sorted(spec.outputs))})"))
            if m.role == "reproduces" and m.expect is None:
                errors.append(SchemaError(cs.path, m.where.line, f"{f}.expect", "a 'reproduces' link needs an expectation"))
            if m.role in ("asserts", "refutes", "corrects", "vacuous") and m.expect is None:
                errors.append(SchemaError(cs.path, m.where.line, f"{f}.expect",
                                          f"a {m.role!r} link needs an expectation (what the evidence must show)"))

    for cid, tagged in sorted(tests.by_claim.items()):
        for t in tagged:
            if cid not in ids:
                errors.append(SchemaError(t.file, t.line, "pytest.mark.claim", f"unknown claim id {cid!r}"))
            if t.role not in TEST_ROLES:
                errors.append(SchemaError(t.file, t.line, "pytest.mark.claim",
                                          f"role {t.role!r} is not one of {', '.join(TEST_ROLES)}"))
    for p in tests.problems:
        file, _, rest = p.partition(":")
        ln, _, msg = rest.partition(":")
        errors.append(SchemaError(file, int(ln) if ln.strip().isdigit() else 0, "pytest.mark.claim", msg.strip() or p))
    return CheckReport(errors=errors, lean=lean, tests=tests)

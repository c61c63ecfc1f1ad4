"""Cross-reference checks of a loaded claim set (``quantproof check``).

Policy:
1. Every link must resolve: a seed file in ``seeds/`` containing the quote (whitespace-normalised), a Lean declaration
   present under ``lean/``, a listed test id that exists and is tagged with this claim, a registered measurement with
   known parameters (of the right types) and a known output; each control's parameters and output too; every seed
   figure bound into a parameter is quoted verbatim from the claim's seed (:mod:`quantproof.claims.seeddata`).
2. claims.yaml and the test decorators agree: every ``@pytest.mark.claim(id, role=R)`` is listed under that claim's
   ``tests`` with role R, and every listed test carries that tag with that role. A referee reads every test link and
   its role in claims.yaml.
3. A decisive measurement link (asserts, refutes, corrects, vacuous, reproduces) needs an expectation, and a control
   unless its output is exact by construction (registered ``exact``): evidence must be able to come out the other
   way. A ``control`` link has no expectation of its own.
4. A claim with a ``corrects`` link states its ``corrected`` statement. An empirical claim declares its ``scope``.
   Policy for one substitute model: a claim about the seed's own setting (``scope: seed-setting``) cannot be refuted
   by a measurement on a model standing in for the seed's (``on_model``): its figure is at most not reproduced there
   (role ``reproduces``); a universal claim (``scope: universal``) is refuted by one discriminating counterexample.
5. Findings about the Lean sources (escapes in the default target) are *findings*, reported by ``quantproof check``
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
from .model import DECISIVE_ROLES, TEST_ROLES, ClaimSet
from .seeddata import SeedDataError, other_seeds_quoted, resolve

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
    seed_raw: dict[str, str | None] = {}
    ids = set(cs.by_id())

    for c in cs.claims:
        line = c.where.line
        if c.seed not in seed_texts:
            p = repo / SEEDS_DIR / c.seed
            seed_raw[c.seed] = p.read_text(encoding="utf-8", errors="replace") if p.is_file() else None
            seed_texts[c.seed] = _norm(seed_raw[c.seed]) if seed_raw[c.seed] is not None else None
        seed_text = seed_texts[c.seed]
        if seed_text is None:
            errors.append(SchemaError(cs.path, line, f"{c.id}.source.seed", f"no file {SEEDS_DIR}/{c.seed}"))
        elif _norm(c.quote) not in seed_text:
            errors.append(SchemaError(cs.path, line, f"{c.id}.source.quote", f"quote not found verbatim in {c.seed}"))
        for link in c.lean:
            if link.decl not in lean.decls:
                errors.append(SchemaError(cs.path, link.where.line, f"{c.id}.lean",
                                          f"declaration {link.decl} not found under lean/"))
        listed = {t.test_id: t for t in c.tests}
        for t in c.tests:
            tags = [x for x in tests.by_test.get(t.test_id, []) if x.claim == c.id]
            if t.test_id not in tests.all_tests:
                errors.append(SchemaError(cs.path, t.where.line, f"{c.id}.tests", f"no test {t.test_id}"))
            elif not tags:
                errors.append(SchemaError(cs.path, t.where.line, f"{c.id}.tests",
                                          f"{t.test_id} is not tagged @pytest.mark.claim({c.id!r})"))
            elif t.role not in {x.role for x in tags}:
                errors.append(SchemaError(cs.path, t.where.line, f"{c.id}.tests",
                                          f"{t.test_id} is listed with role {t.role!r} but tagged with role "
                                          f"{', '.join(sorted({x.role for x in tags}))!r}"))
        for x in tests.by_claim.get(c.id, []):
            if x.test_id not in listed:
                errors.append(SchemaError(x.file, x.line, "pytest.mark.claim",
                                          f"{x.test_id} is tagged for claim {c.id!r} (role {x.role!r}) but not "
                                          f"listed under its tests in {cs.path} (line {line})"))
        if any(l.role == "corrects" for l in (*c.lean, *c.tests, *c.measurements)) and not c.corrected:
            errors.append(SchemaError(cs.path, line, f"{c.id}.corrected",
                                      "a claim with a 'corrects' link states its corrected statement"))
        if c.kind == "empirical" and c.scope is None:
            errors.append(SchemaError(cs.path, line, f"{c.id}.scope",
                                      "an empirical claim declares its scope: universal | seed-setting"))
        for m in c.measurements:
            spec = reg.get(m.name)
            f = f"{c.id}.measurements"
            if spec is None:
                errors.append(SchemaError(cs.path, m.where.line, f"{f}.name", f"unknown measurement {m.name!r}"))
                continue
            params = dict(m.params)
            if m.seed_values or m.seed_table:
                try:
                    others = {}
                    for name in other_seeds_quoted(m):
                        q = repo / SEEDS_DIR / name
                        if q.is_file():
                            others[name] = q.read_text(encoding="utf-8", errors="replace")
                    params, _ = resolve(m, seed_raw.get(c.seed) or "", {k: p.type for k, p in spec.params.items()},
                                        other_seeds=others)
                except SeedDataError as exc:
                    errors.append(SchemaError(cs.path, m.where.line, f"{f}.{exc.field}", str(exc)))
            try:
                spec.bind(params)
            except ValueError as exc:
                errors.append(SchemaError(cs.path, m.where.line, f"{f}.params", str(exc)))
            if m.output not in spec.outputs:
                errors.append(SchemaError(cs.path, m.where.line, f"{f}.output",
                                          f"{m.name} has no output {m.output!r} (outputs: {', '.join(sorted(spec.outputs))})"))
            if m.role in DECISIVE_ROLES and m.expect is None:
                errors.append(SchemaError(cs.path, m.where.line, f"{f}.expect",
                                          f"a {m.role!r} link needs an expectation (what the evidence must show)"))
            if m.role == "control" and m.expect is not None:
                errors.append(SchemaError(cs.path, m.where.line, f"{f}.expect",
                                          "a 'control' link is a baseline for other links to compare with; it has "
                                          "no expectation of its own"))
            if m.role in DECISIVE_ROLES and not m.controls and not spec.is_exact(m.output):
                errors.append(SchemaError(cs.path, m.where.line, f"{f}.control",
                                          f"{m.name}.{m.output} is not exact by construction, so the link needs a "
                                          f"control: the same measurement on an input where its expectation "
                                          f"should come out the other way"))
            for ctl in m.controls:
                if ctl.output is not None and ctl.output not in spec.outputs:
                    errors.append(SchemaError(cs.path, ctl.where.line, f"{f}.control.output",
                                              f"{m.name} has no output {ctl.output!r}"))
                try:
                    spec.bind({**params, **ctl.params})
                except ValueError as exc:
                    errors.append(SchemaError(cs.path, ctl.where.line, f"{f}.control.params", str(exc)))
            if m.target is not None:
                errors.extend(_target_errors(cs.path, c, m, spec, params))
            if m.role == "refutes" and spec.on_model and c.scope == "seed-setting":
                errors.append(SchemaError(cs.path, m.where.line, f"{f}.role",
                                          "policy: a measurement on a model standing in for the seed's cannot "
                                          "refute a claim about the seed's own setting; use role 'reproduces' "
                                          "(not reproduced here), or scope 'universal' if the claim is universal"))

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


def _target_errors(path: str, c, m, spec, params: dict) -> list[SchemaError]:
    """A link's ``target`` is a known model of the claim's seed, and the measurement can run on it: it takes a
    ``model`` parameter (what a binding replaces) and the target's parameters bind."""
    from ..capture.targets import TARGETS

    f = f"{c.id}.measurements.target"
    t = TARGETS.get(m.target)
    if t is None:
        return [SchemaError(path, m.where.line, f, f"unknown target {m.target!r} (known: {', '.join(sorted(TARGETS))})")]
    out = []
    if c.seed[:3] not in t.seeds:
        out.append(SchemaError(path, m.where.line, f, f"{m.target} is not a model seed {c.seed[:3]} names "
                                                      f"(it is seed {', '.join(t.seeds)}'s)"))
    if "model" not in spec.params:
        out.append(SchemaError(path, m.where.line, f, f"{m.name} takes no model parameter: a target cannot run it"))
    try:
        spec.bind({**params, **m.target_params})
    except ValueError as exc:
        out.append(SchemaError(path, m.where.line, f"{f}.params", str(exc)))
    return out

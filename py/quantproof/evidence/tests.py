"""Test evidence: which tests are tagged with which claim (found statically), and their outcomes (from pytest).

The static index reads the test files' syntax tree, never imports them, so ``quantproof check`` can verify that a
test id listed in claims.yaml exists and carries the claim's tag without running anything.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class TaggedTest:
    test_id: str  # tests/path.py::[Class::]name
    claim: str
    role: str
    file: str
    line: int


@dataclass
class TestIndex:
    by_claim: dict[str, list[TaggedTest]] = field(default_factory=lambda: defaultdict(list))
    by_test: dict[str, list[TaggedTest]] = field(default_factory=lambda: defaultdict(list))
    all_tests: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TestOutcome:
    test_id: str
    role: str
    outcome: str  # passed | failed | error | skipped | not-run
    message: str | None = None
    counterexample: str | None = None


def _claim_marks(decorators: list[ast.expr]) -> list[tuple[str | None, str, int]]:
    out = []
    for dec in decorators:
        call = dec if isinstance(dec, ast.Call) else None
        target = call.func if call else dec
        if isinstance(target, ast.Attribute) and target.attr == "claim" and _is_mark(target.value):
            cid, role = None, "asserts"
            if call and call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
                cid = call.args[0].value
            for kw in call.keywords if call else []:
                if kw.arg == "role" and isinstance(kw.value, ast.Constant):
                    role = str(kw.value.value)
            out.append((cid, role, dec.lineno))
    return out


def _is_mark(node: ast.expr) -> bool:
    # pytest.mark or mark (from pytest import mark)
    return (isinstance(node, ast.Attribute) and node.attr == "mark") or (isinstance(node, ast.Name) and node.id == "mark")


def _module_marks(tree: ast.Module) -> list[tuple[str | None, str, int]]:
    out = []
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in stmt.targets):
            vals = stmt.value.elts if isinstance(stmt.value, (ast.List, ast.Tuple)) else [stmt.value]
            out.extend(_claim_marks(list(vals)))
    return out


def scan_tests(repo: Path, tests_dir: str = "tests") -> TestIndex:
    idx = TestIndex()
    root = repo / tests_dir
    if not root.is_dir():
        return idx
    for path in sorted(root.rglob("test_*.py")):
        rel = path.relative_to(repo).as_posix()
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
        except (SyntaxError, UnicodeDecodeError) as exc:
            idx.problems.append(f"{rel}: cannot parse: {exc}")
            continue
        module_marks = _module_marks(tree)

        def visit(body: list[ast.stmt], prefix: str, inherited: list[tuple[str | None, str, int]]) -> None:
            for node in body:
                if isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
                    visit(node.body, f"{prefix}{node.name}::", inherited + _claim_marks(node.decorator_list))
                elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
                    tid = f"{rel}::{prefix}{node.name}"
                    idx.all_tests.add(tid)
                    for cid, role, line in inherited + _claim_marks(node.decorator_list):
                        if cid is None:
                            idx.problems.append(f"{rel}:{line}: claim mark without a literal claim id")
                            continue
                        t = TaggedTest(tid, cid, role, rel, node.lineno)
                        idx.by_claim[cid].append(t)
                        idx.by_test[tid].append(t)

        visit(tree.body, "", module_marks)
    return idx


def base_test_id(nodeid: str) -> str:
    """``tests/x.py::test_f[param]`` -> ``tests/x.py::test_f``."""
    return nodeid.split("[", 1)[0]


def run_pytest(repo: Path, targets: list[str], report: Path, *, timeout_s: float = 900.0,
               extra_args: list[str] | None = None, live: Any = None) -> tuple[int | None, str]:
    """Run pytest on ``targets`` in a subprocess (argument list, no shell); return (exit code or None on time-out, tail).

    ``live`` (optional, with ``add``/``discard``) is told about the running process, so that an interrupted ledger
    run can stop it instead of waiting for it."""
    report.parent.mkdir(parents=True, exist_ok=True)
    if report.exists():
        report.unlink()
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "quantproof.evidence.pytest_plugin",
           "--rootdir", str(repo), "--quantproof-report", str(report),
           *(extra_args or []), *targets]
    env = dict(os.environ)
    with subprocess.Popen(cmd, cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) as p:
        if live is not None:
            live.add(p)
        try:
            out, err = p.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired as exc:
            p.kill()
            p.wait()
            out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
            return None, out[-3000:]
        except BaseException:
            p.kill()
            p.wait()
            raise
        finally:
            if live is not None:
                live.discard(p)
    return p.returncode, ((out or "") + (err or ""))[-3000:]


def read_report(report: Path) -> dict[str, dict]:
    """Records of a plugin report keyed by node id; an unreadable report gives {} (every test then 'not-run')."""
    try:
        data = json.loads(report.read_text())
        return {r["id"]: r for r in data.get("tests", [])}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def outcomes_for_claim(claim_id: str, idx: TestIndex, records: dict[str, dict], *,
                       not_run_reason: str = "not run") -> list[TestOutcome]:
    """Outcome of every test tagged with ``claim_id`` (parametrised cases collapse: any failure fails the test)."""
    by_base: dict[str, list[dict]] = defaultdict(list)
    for nodeid, rec in records.items():
        if any(c.get("id") == claim_id for c in rec.get("claims", [])):
            by_base[base_test_id(nodeid)].append(rec)
    out = []
    for t in sorted(idx.by_claim.get(claim_id, []), key=lambda t: t.test_id):
        recs = by_base.get(t.test_id, [])
        if not recs:
            out.append(TestOutcome(t.test_id, t.role, "not-run", not_run_reason))
            continue
        order = ("error", "failed", "passed", "skipped")
        worst = min(recs, key=lambda r: order.index(r["outcome"]) if r["outcome"] in order else 0)
        outcome = worst["outcome"]
        if outcome == "skipped" and any(r["outcome"] == "passed" for r in recs):
            outcome, worst = "passed", next(r for r in recs if r["outcome"] == "passed")
        out.append(TestOutcome(t.test_id, t.role, outcome, worst.get("message"), worst.get("counterexample")))
    return out

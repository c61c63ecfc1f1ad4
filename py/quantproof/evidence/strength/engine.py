"""``quantproof strength``: coverage of the claim-tagged tests, the mutants in the code they exercise, their results.

Flow: scan the tags (static) -> run the tagged tests once under coverage.py, one context per test (in the worker
process, :mod:`.server`) -> the in-scope modules they exercise -> cosmic-ray's mutants in those functions
(:mod:`.mutants`) -> for each mutant, the tests whose coverage reaches it, minus the results the previous report
already holds -> run those in forks -> per-claim aggregation (:mod:`.aggregate`) -> the report.

Cache policy: the report is its own cache. A mutant's result for one test is reused when the module's sha256, the
engine (operators, cosmic-ray version, pytest arguments) and the test's files (its test file, the conftests above
it and the helper modules beside it) are unchanged; so an edit to one module re-mutates that module only, and an
edit to one test file re-runs that file's tests only. What a test calls in *another* module is not part of the key:
a change there is caught the next time that module or the test changes, or by a ``--full`` run.
Bad input never crashes the run: a module cosmic-ray cannot parse, a test that fails unmutated, a mutant that errors
or hangs are recorded and reported for the claims concerned.
"""

from __future__ import annotations

import fnmatch
import hashlib
import importlib.metadata
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..tests import TestIndex, scan_tests
from . import mutants as M
from .aggregate import KILLING, MutantRecord, TestCoverage, claim_strength, unused_equivalents
from .equivalents import EQUIVALENTS_PATH, load_equivalents
from .model import REPORT_PATH, SCHEMA, THRESHOLD, code_hash, sha256_file

ENGINE_VERSION = 1  # bump when a change here alters results, to invalidate every cached result

Progress = Callable[[str, int, int, str], None]


@dataclass(frozen=True)
class Scope:
    """What may be mutated, where the tests are, where the report lives (paths relative to the repository)."""
    source_root: str = "py"
    include: tuple[str, ...] = ("quantproof/math/*.py", "quantproof/kernels/*.py", "quantproof/subjects/*.py",
                                "quantproof/measurements/*.py", "quantproof/capture/*.py")
    # the native kernels' C source text, compiler driver and BLAS thread limits are not reference paths
    exclude: tuple[str, ...] = ("*/__init__.py", "quantproof/kernels/_csrc.py", "quantproof/kernels/_native.py",
                                "quantproof/kernels/_blas.py")
    tests_dir: str = "tests"
    equivalents: str = EQUIVALENTS_PATH
    report: str = REPORT_PATH

    def in_scope(self, rel: str) -> bool:
        prefix = self.source_root.rstrip("/") + "/"
        if not rel.startswith(prefix) or not rel.endswith(".py"):
            return False
        sub = rel[len(prefix):]
        return any(fnmatch.fnmatch(sub, p) for p in self.include) and not any(fnmatch.fnmatch(sub, p)
                                                                              for p in self.exclude)

    def module_name(self, rel: str) -> str:
        sub = rel[len(self.source_root.rstrip("/")) + 1:-3]
        parts = sub.split("/")
        return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def engine_info() -> dict[str, Any]:
    from .server import PYTEST_ARGS

    try:
        version = importlib.metadata.version("cosmic-ray")
    except importlib.metadata.PackageNotFoundError:
        version = None
    info = {"tool": "cosmic-ray", "tool_version": version, "engine_version": ENGINE_VERSION,
            "operators": list(M.OPERATORS), "pytest_args": list(PYTEST_ARGS)}
    info["hash"] = hashlib.sha256(json.dumps(info, sort_keys=True).encode()).hexdigest()
    return info


def test_files(repo: Path, scope: Scope, test_id: str) -> dict[str, str]:
    """The files a test's behaviour is read from: its file, the conftests above it, the helpers beside it."""
    rel = test_id.split("::", 1)[0]
    path = repo / rel
    out = {rel: sha256_file(path) or "missing"}
    tests_root = (repo / scope.tests_dir).resolve()
    d = path.parent.resolve()
    while True:
        c = d / "conftest.py"
        if c.exists():
            out[c.relative_to(repo.resolve()).as_posix()] = sha256_file(c) or "missing"
        if d == tests_root or tests_root not in d.parents:
            break
        d = d.parent
    for helper in sorted(path.parent.glob("*.py")):
        if not helper.name.startswith("test_") and helper.name != "conftest.py":
            out[helper.resolve().relative_to(repo.resolve()).as_posix()] = sha256_file(helper) or "missing"
    return out


class StrengthError(Exception):
    """The run could not be done at all (the worker could not start, the coverage run crashed)."""


class _Server:
    """The worker process (:mod:`.server`) in its own session, so that stopping it stops every fork it made."""

    def __init__(self, repo: Path, scope: Scope):
        here = Path(__file__).resolve().parents[3]  # the directory that holds this `quantproof` package
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(repo / scope.source_root), str(here)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
        env.update({"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                    "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONHASHSEED": "0",
                    "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
        env.pop("QUANTPROOF_TEST_REPORT", None)
        self.proc = subprocess.Popen([sys.executable, "-m", "quantproof.evidence.strength.server"], cwd=repo,
                                     env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     start_new_session=True)

    def send(self, req: dict) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()

    def receive(self) -> dict:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise StrengthError(f"the strength worker stopped (exit code {self.proc.poll()})")
        return json.loads(line)

    def call(self, req: dict) -> dict:
        self.send(req)
        reply = self.receive()
        if reply.get("ok") is False:
            raise StrengthError(reply.get("error", "the strength worker failed"))
        return reply

    def close(self, polite: bool = True) -> None:
        if polite and self.proc.poll() is None:
            try:
                self.send({"op": "exit"})
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired, ValueError):
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the forks it may have left
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()

    def __enter__(self) -> "_Server":
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.close(polite=exc_type is None)  # interrupted or failed: stop it and its forks at once


def _per_test_coverage(raw: dict, repo: Path, scope: Scope,
                       spans: dict[str, list[M.FunctionSpan]]) -> dict[str, TestCoverage]:
    out: dict[str, TestCoverage] = {}
    for tid, rec in raw["tests"].items():
        lines: dict[str, frozenset[int]] = {}
        functions: set[tuple[str, str]] = set()
        for f, ls in rec["lines"].items():
            if not scope.in_scope(f):
                continue
            if f not in spans:
                try:
                    spans[f] = M.function_spans((repo / f).read_text(encoding="utf-8"), f)
                except (OSError, UnicodeDecodeError, M.ModuleNotMutable):
                    spans[f] = []
            body = set()
            for ln in ls:
                fn = _body_function(spans[f], ln)
                if fn is not None:
                    body.add(ln)
                    functions.add((f, fn.qualname))
            if body:
                lines[f] = frozenset(body)
        out[tid] = TestCoverage(tid, rec["outcome"], float(rec.get("duration", 0.0)), lines, frozenset(functions))
    return out


def _body_function(spans: list[M.FunctionSpan], line: int) -> M.FunctionSpan | None:
    best = None
    for s in spans:
        if s.body_start <= line <= s.end and (best is None or s.def_line >= best.def_line):
            best = s
    return best


DEFAULT_TIMEOUT = (10.0, 6.0)  # a test's limit under a mutant: base + factor x its duration under coverage (slower)


def compute_strength(repo: Path, scope: Scope = Scope(), *, jobs: int = 2,
                     previous: dict | None = None, progress: Progress | None = None,
                     timeout: tuple[float, float] = DEFAULT_TIMEOUT,
                     log: Callable[[str], None] = lambda s: None) -> dict:
    """Run everything and return the new report (a dict for ``ledger/strength.json``)."""
    repo = Path(repo).resolve()
    t0 = time.monotonic()
    equivalents = load_equivalents(repo / scope.equivalents, scope.equivalents)  # bad input: raise before running
    idx: TestIndex = scan_tests(repo, scope.tests_dir)
    claim_ids = sorted(idx.by_claim)
    tests = sorted({t.test_id for c in claim_ids for t in idx.by_claim[c]})
    engine = engine_info()
    prev_ok = previous is not None and previous.get("engine", {}).get("hash") == engine["hash"]
    prev_tests = previous.get("test_index", []) if prev_ok else []
    cur_files = {t: test_files(repo, scope, t) for t in tests}

    with _Server(repo, scope) as srv, tempfile.TemporaryDirectory(prefix="qp-strength-") as tmp:
        log(f"coverage of {len(tests)} claim-tagged tests")
        cov_path = os.path.join(tmp, "coverage.json")
        srv.call({"op": "coverage", "repo": str(repo), "source_root": scope.source_root, "tests": tests,
                  "out": cov_path})
        raw = json.loads(Path(cov_path).read_text())
        spans: dict[str, list[M.FunctionSpan]] = {}
        coverage = _per_test_coverage(raw, repo, scope, spans)
        exercised = sorted({f for c in coverage.values() for f, _ in c.functions})
        functions_needed = {fn for c in coverage.values() for fn in c.functions}

        # mutants of every exercised module (in the exercised functions only)
        module_entries: dict[str, dict] = {}
        module_problems: dict[str, str] = {}
        records: list[MutantRecord] = []
        for f in exercised:
            source_path = repo / f
            try:
                source = M.read_source(source_path)
                sites, module_level, _ = M.enumerate_sites(source, f)
            except M.ModuleNotMutable as exc:
                module_problems[f] = f"{f}: cannot be mutated: {exc}"
                module_entries[f] = {"sha256": sha256_file(source_path), "problem": module_problems[f],
                                     "module_level": 0, "mutants": {}}
                continue
            sha = M.sha256_text(source)
            cached = {}
            pm = (previous or {}).get("modules", {}).get(f) if prev_ok else None
            if pm and pm.get("sha256") == sha:
                cached = pm.get("mutants", {})
            for s in sites:
                if (f, s.function) not in functions_needed:
                    continue
                rec = MutantRecord(f, s.mutant_id, s.operator, s.line, s.function, s.select_lines)
                c = cached.get(s.mutant_id)
                if c is not None:
                    rec.change = c.get("change")
                    rec.problem = c.get("problem")
                    for key, val in c.get("results", {}).items():
                        tid = prev_tests[int(key)] if key.isdigit() and int(key) < len(prev_tests) else None
                        if tid in cur_files and previous["tests"].get(tid, {}).get("files") == cur_files[tid]:
                            rec.results[tid] = (val[0], val[1] if len(val) > 1 else None)
                records.append(rec)
            module_entries[f] = {"sha256": sha, "problem": None, "module_level": module_level, "mutants": {}}

        # what still has to run
        live = [t for t in tests if coverage.get(t) and coverage[t].baseline == "passed"]
        items = []
        by_key: dict[str, MutantRecord] = {}
        reused = 0
        for rec in records:
            reach = [t for t in live if rec.reached_by(coverage[t])]
            todo = [t for t in reach if t not in rec.results]
            reused += len(reach) - len(todo)
            if not todo or rec.problem is not None:  # done, or known not to apply to this version of the module
                continue
            key = f"{rec.file}::{rec.mutant_id}"
            by_key[key] = rec
            items.append({"key": key, "path": str(repo / rec.file), "module": scope.module_name(rec.file),
                          "operator": rec.operator, "occurrence": int(rec.mutant_id.rsplit("#", 1)[1]),
                          "tests": todo,
                          "timeouts": {t: timeout[0] + timeout[1] * coverage[t].duration_s for t in todo}})
        items.sort(key=lambda it: -sum(coverage[t].duration_s for t in it["tests"]))
        log(f"{len(records)} mutants in {len(exercised)} modules; {len(items)} to run "
            f"({reused} cached test results reused)")
        t_mut = time.monotonic()
        if items:
            srv.call({"op": "warm", "modules": raw.get("modules", [])})
            srv.send({"op": "mutants", "repo": str(repo), "jobs": jobs, "items": items})
            done = 0
            while True:
                reply = srv.receive()
                if reply.get("done"):
                    break
                if reply.get("ok") is False:
                    raise StrengthError(reply.get("error", "the strength worker failed"))
                rec = by_key[reply["key"]]
                rec.change = reply.get("change") or rec.change
                rec.problem = reply.get("problem")
                for t, (outcome, msg) in reply.get("results", {}).items():
                    rec.results[t] = (outcome, msg)
                done += 1
                if progress:
                    progress("mutants", done, len(items), reply["key"])
                if done % max(1, len(items) // 10) == 0:
                    log(f"{done}/{len(items)} mutants run ({time.monotonic() - t_mut:.0f} s)")
        mutate_s = time.monotonic() - t_mut

    # a change text for survivors that were never run (no test reaches them)
    for rec in records:
        if rec.change is None and rec.problem is None:
            try:
                src = (repo / rec.file).read_text(encoding="utf-8")
                mutated = M.apply(src, rec.operator, int(rec.mutant_id.rsplit("#", 1)[1]))
                rec.change = M.describe_change(src, mutated) if mutated else None
                if mutated is None:
                    rec.problem = "no such mutant"
            except Exception as exc:  # noqa: BLE001  (cosmic-ray failing on one mutant: report it)
                rec.problem = f"cosmic-ray could not apply it: {exc!r}"[:300]

    return _report(repo, scope, idx, claim_ids, tests, coverage, records, module_entries, module_problems,
                   equivalents, engine, cur_files, raw,
                   {"duration_s": round(time.monotonic() - t0, 1), "mutate_s": round(mutate_s, 1),
                    "mutants_run": len(items), "test_results_reused": reused, "jobs": jobs})


def _report(repo: Path, scope: Scope, idx: TestIndex, claim_ids: list[str], tests: list[str],
            coverage: dict[str, TestCoverage], records: list[MutantRecord], module_entries: dict[str, dict],
            module_problems: dict[str, str], equivalents: list, engine: dict, cur_files: dict[str, dict],
            raw: dict, run: dict) -> dict:
    by_function: dict[tuple[str, str], list[MutantRecord]] = defaultdict(list)
    for rec in records:
        by_function[(rec.file, rec.function)].append(rec)
    test_index = list(tests)
    pos = {t: i for i, t in enumerate(test_index)}
    for rec in records:
        e = module_entries[rec.file]["mutants"]
        e[rec.mutant_id] = {"line": rec.line, "function": rec.function, "change": rec.change,
                            "problem": rec.problem,
                            "results": {str(pos[t]): ([o, m] if o == "error" and m else [o])
                                        for t, (o, m) in sorted(rec.results.items()) if t in pos}}
    eq_sha = sha256_file(repo / scope.equivalents) or "missing"
    claims_out: dict[str, dict] = {}
    killed_by_claim: dict[tuple[str, str], set[str]] = defaultdict(set)
    for cid in claim_ids:
        tagged = sorted((t.test_id, t.role) for t in idx.by_claim[cid])
        entry = claim_strength(cid, tagged, coverage, by_function, module_problems, equivalents)
        files: dict[str, str] = {}
        for f in {fn.split("::", 1)[0] for fn in entry["functions"]}:
            files[f] = module_entries[f]["sha256"] or "missing"
        for tid, _ in tagged:
            files.update(cur_files.get(tid, {}))
        files[scope.equivalents] = eq_sha
        entry["files"] = dict(sorted(files.items()))
        entry["code_hash"] = code_hash(entry["files"], engine["hash"], [t for t, _ in tagged])
        entry["meets_threshold"] = entry["kill_rate"] is not None and entry["kill_rate"] >= THRESHOLD
        claims_out[cid] = entry
    live = {t for t in tests if coverage.get(t) and coverage[t].baseline == "passed"}
    for cid in claim_ids:
        for t in idx.by_claim[cid]:
            if t.test_id not in live:
                continue
            for rec in records:
                if rec.results.get(t.test_id, ("",))[0] in KILLING:
                    killed_by_claim[(rec.file, rec.mutant_id)].add(cid)
    modules_out = module_entries
    tests_out = {}
    for t in tests:
        c = coverage.get(t)
        tests_out[t] = {"files": cur_files[t], "baseline": c.baseline if c else "not-run"}
    problems = unused_equivalents(equivalents, records, killed_by_claim)
    if raw.get("collect_errors"):
        problems += [f"collecting {n or 'the tests'}: {m}" for n, m in raw["collect_errors"]]
    in_scope_unexercised = sorted(
        p.relative_to(repo).as_posix() for p in (repo / scope.source_root).rglob("*.py")
        if scope.in_scope(p.relative_to(repo).as_posix()) and p.relative_to(repo).as_posix() not in modules_out)
    return {
        "schema": SCHEMA, "threshold": THRESHOLD, "engine": engine,
        "scope": {"source_root": scope.source_root, "include": list(scope.include), "exclude": list(scope.exclude),
                  "not_exercised": in_scope_unexercised},
        "equivalents_sha256": eq_sha,
        "claims": dict(sorted(claims_out.items())),
        "modules": dict(sorted(modules_out.items())),
        "test_index": test_index,
        "tests": dict(sorted(tests_out.items())),
        "problems": problems,
        "run": run,
    }

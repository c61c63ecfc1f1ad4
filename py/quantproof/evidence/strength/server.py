"""The strength worker process: per-test coverage of the claim-tagged tests, then each mutant's tests in a fork.

Run as ``python -m quantproof.evidence.strength.server`` by :mod:`.engine` (never by hand); it speaks JSON lines:
one request per line on stdin, one or more replies per line on stdout; progress and crashes go to stderr.

* ``{"op": "coverage", "repo", "source_root", "tests", "out"}`` -> forks a child that runs the tests under
  coverage.py, one dynamic context per test (the test id without its parameters), and writes to ``out``:
  per test its outcome, duration and the lines it ran in each file under ``source_root``; and the third-party
  modules the tests imported (``warm`` preloads them). Reply ``{"ok": true}``.
* ``{"op": "warm", "modules"}`` -> imports them here, once, so that every mutant's fork starts with numpy, scipy,
  sympy, torch, hypothesis and pytest already loaded. Reply ``{"ok": true, "failed": [...]}``.
* ``{"op": "mutants", "repo", "jobs", "items": [{"key", "path", "module", "operator", "occurrence", "tests",
  "timeouts"}]}`` -> one reply ``{"key", "change", "results": {test: [outcome, message]}, "problem"}`` per item
  as it finishes, then ``{"done": true}``.

Policy:
1. This process never imports a module under test: each mutant runs in a fresh ``os.fork()`` of it, where an import
   hook serves the mutated source (cosmic-ray's ``mutate_code``) for that one module and every other project module
   is imported from disk. Forking a process that already holds the heavy third-party imports is what makes ~1600
   mutants fit the time budget; a crash or ``os._exit`` in a mutant ends only its fork.
2. The tests run through ``pytest.main`` with the suite's own conftests and hypothesis settings, except: hypothesis's
   shrink and explain phases are dropped (a failing example is enough to kill; shrinking it is wasted time), plugin
   autoloading is off (hypothesis's plugin and the claim plugin are loaded explicitly), assertions are plain.
3. Outcome of a test under a mutant: ``failed`` (its call failed: the mutant is killed), ``error`` (setup, teardown
   or collection failed, e.g. the mutated module does not import: killed, and reported), ``timeout`` (ran past its
   limit twice: killed), ``passed`` (survived), ``skipped``. A test that times out once is re-run alone with three
   times the limit, so a busy machine does not invent kills. A fork that dies mid-test marks that test ``error``
   and the tests it had not reached are re-run in a new fork.
"""

from __future__ import annotations

import json
import os
import select
import signal
import sys
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from typing import Any

PYTEST_ARGS = ["-q", "-p", "no:cacheprovider", "-o", "addopts=", "--assert=plain", "-p", "no:unraisableexception",
               "-p", "no:threadexception", "-p", "quantproof.evidence.pytest_plugin"]
COLLECT_TIMEOUT_S = 90.0
RETRY_FACTOR = 3.0
_KILLING = ("failed", "error", "timeout")
_ORDER = ("error", "timeout", "failed", "passed", "skipped")


def base_id(nodeid: str) -> str:
    return nodeid.split("[", 1)[0]


def worst(a: str | None, b: str) -> str:
    if a is None:
        return b
    return a if _ORDER.index(a) <= _ORDER.index(b) else b


def _reply(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def _pytest_args(repo: str, tests: list[str]) -> list[str]:
    args = [*PYTEST_ARGS, "--rootdir", repo]
    try:
        import _hypothesis_pytestplugin  # noqa: F401

        args += ["-p", "_hypothesis_pytestplugin"]
    except ImportError:
        pass
    return [*args, *tests]


class _NoShrink:
    """pytest plugin: drop hypothesis's shrink/explain phases from every collected property test."""

    def pytest_collection_modifyitems(self, items: list[Any]) -> None:
        try:
            from hypothesis import Phase, settings
        except ImportError:
            return
        for item in items:
            fn = getattr(getattr(item, "obj", None), "__func__", getattr(item, "obj", None))
            s = getattr(fn, "_hypothesis_internal_use_settings", None)
            if s is None:
                continue
            phases = tuple(p for p in s.phases if p.name not in ("shrink", "explain"))
            try:
                fn._hypothesis_internal_use_settings = settings(s, phases=phases)
            except Exception:  # noqa: BLE001  (a frozen or foreign settings object: keep the suite's)
                pass


class _Outcomes:
    """pytest plugin: per test id (parameters merged) its outcome; optionally streams start/end lines to ``fd``."""

    def __init__(self, fd: int | None = None):
        self.fd = fd
        self.outcome: dict[str, str] = {}
        self.message: dict[str, str] = {}
        self.duration: dict[str, float] = {}
        self.collect_errors: list[tuple[str, str]] = []

    def _send(self, obj: dict) -> None:
        if self.fd is not None:
            os.write(self.fd, (json.dumps(obj) + "\n").encode())

    def pytest_collectreport(self, report: Any) -> None:
        if report.failed:
            msg = _short(report)
            self.collect_errors.append((report.nodeid, msg))
            self._send({"ce": report.nodeid, "m": msg})

    def pytest_runtest_logstart(self, nodeid: str, location: Any) -> None:  # noqa: ARG002
        self._send({"s": base_id(nodeid)})

    def pytest_runtest_logreport(self, report: Any) -> None:
        b = base_id(report.nodeid)
        self.duration[b] = self.duration.get(b, 0.0) + float(getattr(report, "duration", 0.0) or 0.0)
        if report.failed:
            o = "failed" if report.when == "call" else "error"
            self.outcome[b] = worst(self.outcome.get(b), o)
            self.message.setdefault(b, _short(report))
        elif report.skipped and report.when in ("setup", "call"):
            self.outcome[b] = worst(self.outcome.get(b), "skipped")
        elif report.when == "call":
            self.outcome[b] = worst(self.outcome.get(b), "passed")

    def pytest_runtest_logfinish(self, nodeid: str, location: Any) -> None:  # noqa: ARG002
        b = base_id(nodeid)
        self._send({"e": b, "o": self.outcome.get(b, "error"), "m": self.message.get(b)})


def _short(report: Any) -> str:
    text = (getattr(report, "longreprtext", "") or "").strip()
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return (lines[-1] if lines else "")[:300]


def _silence() -> None:
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)


# ------------------------------------------------------------------------------------------------ coverage

def _coverage_child(req: dict) -> None:
    import coverage
    import pytest

    repo, src = req["repo"], os.path.join(req["repo"], req["source_root"])
    cov = coverage.Coverage(data_file=None, source=[src], config_file=False, branch=False)
    outcomes = _Outcomes()

    class Contexts:
        def pytest_runtest_setup(self, item: Any) -> None:
            cov.switch_context(base_id(item.nodeid))

        def pytest_runtest_teardown(self, item: Any, nextitem: Any) -> None:  # noqa: ARG002
            cov.switch_context("")

    before = set(sys.modules)
    cov.start()
    rc = pytest.main(_pytest_args(repo, req["tests"]), plugins=[outcomes, Contexts(), _NoShrink()])
    cov.stop()
    data = cov.get_data()
    lines: dict[str, dict[str, list[int]]] = {}
    for f in data.measured_files():
        rel = os.path.relpath(f, repo)
        for ln, ctxs in (data.contexts_by_lineno(f) or {}).items():
            for c in ctxs:
                if c:
                    lines.setdefault(c, {}).setdefault(rel, []).append(ln)
    repo_abs = os.path.abspath(repo)
    third_party = sorted(
        name for name in set(sys.modules) - before
        if name.split(".")[0] not in ("quantproof", "conftest", "__main__", "coverage")
        and not os.path.abspath(getattr(sys.modules[name], "__file__", None) or "/").startswith(repo_abs + os.sep))
    out = {"exit_code": int(rc), "tests": {}, "modules": third_party, "collect_errors": outcomes.collect_errors}
    for t in req["tests"]:
        out["tests"][t] = {"outcome": outcomes.outcome.get(t, "error" if outcomes.collect_errors else "not-run"),
                           "message": outcomes.message.get(t), "duration": outcomes.duration.get(t, 0.0),
                           "lines": {f: sorted(set(ls)) for f, ls in lines.get(t, {}).items()}}
    tmp = req["out"] + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(out, fh)
    os.replace(tmp, req["out"])


def op_coverage(req: dict) -> dict:
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            _silence()
            _coverage_child(req)
        except BaseException:  # noqa: BLE001
            with open(req["out"] + ".err", "w") as fh:
                fh.write(traceback.format_exc())
            code = 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    if status != 0 or not os.path.exists(req["out"]):
        err = ""
        if os.path.exists(req["out"] + ".err"):
            with open(req["out"] + ".err") as fh:
                err = fh.read()[-2000:]
        return {"ok": False, "error": f"the coverage run failed (wait status {status}) {err}"}
    return {"ok": True}


def op_warm(req: dict) -> dict:
    import importlib

    failed = []
    for name in req.get("modules", []):
        try:
            importlib.import_module(name)
        except BaseException:  # noqa: BLE001  (a module that only imports inside pytest, or raises: skip it)
            failed.append(name)
    _warm_hypothesis()
    return {"ok": True, "failed": failed}


def _warm_hypothesis() -> None:
    """Run one trivial property here so hypothesis's one-time set-up (PRNG registration, a gc pass) is inherited."""
    try:
        from hypothesis import given, settings
        from hypothesis import strategies as st
    except ImportError:
        return

    import warnings

    @settings(max_examples=2, database=None, derandomize=True)
    @given(st.integers())
    def _probe(x: int) -> None:
        assert isinstance(x, int)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "slow code in plugin initialization": this process is no pytest run
        _probe()


# ------------------------------------------------------------------------------------------------ mutants

class _MutantFinder:
    """Import hook: ``module`` is executed from the mutated text (compiled under its real path)."""

    def __init__(self, module: str, path: str, source: str):
        self.module, self.path, self.source = module, path, source

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:  # noqa: ARG002
        if fullname != self.module:
            return None
        import importlib.util

        is_pkg = os.path.basename(self.path) == "__init__.py"
        return importlib.util.spec_from_file_location(
            fullname, self.path, loader=self,
            submodule_search_locations=[os.path.dirname(self.path)] if is_pkg else None)

    def create_module(self, spec: Any) -> None:  # noqa: ARG002
        return None

    def exec_module(self, module: Any) -> None:
        exec(compile(self.source, self.path, "exec"), module.__dict__)  # noqa: S102  (cosmic-ray's mutant of our own module)


def _mutant_child(item: dict, repo: str, fd: int) -> None:
    import builtins

    import pytest

    from . import mutants as M

    def send(obj: dict) -> None:
        os.write(fd, (json.dumps(obj) + "\n").encode())

    try:
        with open(item["path"], encoding="utf-8") as fh:
            source = fh.read()
        mutated = M.apply(source, item["operator"], item["occurrence"])
    except Exception as exc:  # noqa: BLE001
        send({"problem": f"cosmic-ray could not apply {item['operator']}#{item['occurrence']}: {exc!r}"[:500]})
        return
    if mutated is None or mutated == source:
        send({"problem": f"{item['operator']}#{item['occurrence']}: no such mutant in this version of the module"})
        return
    send({"change": M.describe_change(source, mutated)})
    try:
        compile(mutated, item["path"], "exec")
    except SyntaxError as exc:
        send({"problem": f"the mutant does not compile: {exc.msg} (line {exc.lineno})"})
        return
    from cosmic_ray.exceptions import CosmicRayTestingException

    builtins.CosmicRayTestingException = CosmicRayTestingException  # the name ExceptionReplacer writes
    sys.meta_path.insert(0, _MutantFinder(item["module"], item["path"], mutated))
    pytest.main(_pytest_args(repo, item["tests"]), plugins=[_Outcomes(fd), _NoShrink()])
    send({"fin": True})


@dataclass
class _Run:
    item: dict
    pid: int
    fd: int
    started: float
    deadline: float
    buf: bytes = b""
    current: str | None = None
    ended: set[str] = field(default_factory=set)
    timed_out: bool = False
    fin: bool = False


@dataclass
class _Acc:
    """What is known of one item so far, across the forks it took."""
    item: dict
    results: dict[str, list] = field(default_factory=dict)
    change: str | None = None
    problem: str | None = None
    open_runs: int = 0


def op_mutants(req: dict) -> None:
    repo, jobs = req["repo"], max(1, int(req.get("jobs", 1)))
    accs: dict[str, _Acc] = {}
    queue: deque[dict] = deque()
    for it in req["items"]:
        accs[it["key"]] = _Acc(it)
        queue.append({**it, "retry": False})
    running: dict[int, _Run] = {}

    def start(sub: dict) -> None:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            try:
                _silence()
                _mutant_child(sub, repo, w)
            except BaseException:  # noqa: BLE001
                try:
                    os.write(w, (json.dumps({"problem": "worker crashed: " + traceback.format_exc()[-400:]}) + "\n").encode())
                except OSError:
                    pass
            os._exit(0)
        os.close(w)
        now = time.monotonic()
        running[r] = _Run(sub, pid, r, now, now + COLLECT_TIMEOUT_S)
        accs[sub["key"]].open_runs += 1

    def limit(run: _Run, test: str) -> float:
        base = float(run.item["timeouts"].get(test, 30.0))
        return base * (RETRY_FACTOR if run.item.get("retry") else 1.0)

    def handle(run: _Run, msg: dict) -> None:
        acc = accs[run.item["key"]]
        now = time.monotonic()
        if "change" in msg:
            acc.change = msg["change"]
        elif "problem" in msg:
            acc.problem = msg["problem"]
        elif "s" in msg:
            run.current = msg["s"]
            run.deadline = now + limit(run, msg["s"])
        elif "e" in msg:
            t = msg["e"]
            if t in run.item["tests"]:
                prev = acc.results.get(t)
                acc.results[t] = [worst(prev[0] if prev else None, msg["o"]), msg.get("m")]
                run.ended.add(t)
            run.current = None
            run.deadline = now + COLLECT_TIMEOUT_S
        elif "ce" in msg:
            acc.problem = acc.problem or f"collection error under the mutant: {msg.get('m')}"
        elif msg.get("fin"):
            run.fin = True

    def finish(run: _Run) -> None:
        del running[run.fd]
        os.close(run.fd)
        try:
            os.waitpid(run.pid, 0)
        except ChildProcessError:
            pass
        acc = accs[run.item["key"]]
        acc.open_runs -= 1
        tests = run.item["tests"]
        if run.current is not None and run.current not in run.ended:
            if run.timed_out and not run.item.get("retry"):
                queue.appendleft({**run.item, "tests": [run.current], "retry": True})
            elif run.timed_out:
                acc.results[run.current] = ["timeout", f"ran past {limit(run, run.current):.0f} s (twice)"]
            else:
                acc.results[run.current] = ["error", "the test process died under the mutant"]
            run.ended.add(run.current)
        left = [t for t in tests if t not in run.ended]
        if left and (run.current is not None or run.ended) and not run.fin and acc.problem is None:
            queue.appendleft({**run.item, "tests": left})  # the fork died or hung mid-run: go on in a new one
        else:
            for t in left:
                if acc.problem is not None and acc.change is None:
                    continue  # no mutant was run at all: the problem says why
                why = acc.problem or ("collection timed out" if run.timed_out else "not reported by pytest")
                acc.results[t] = ["error", why[:300]]
        if acc.open_runs == 0 and not any(q["key"] == acc.item["key"] for q in queue):
            _reply({"key": acc.item["key"], "change": acc.change, "results": acc.results, "problem": acc.problem})

    while queue or running:
        while queue and len(running) < jobs:
            start(queue.popleft())
        now = time.monotonic()
        wait = max(0.0, min(r.deadline for r in running.values()) - now) if running else 0.0
        ready, _, _ = select.select(list(running), [], [], min(wait, 1.0))
        for fd in ready:
            run = running[fd]
            chunk = os.read(fd, 65536)
            if not chunk:
                finish(run)
                continue
            run.buf += chunk
            *lines, run.buf = run.buf.split(b"\n")
            for ln in lines:
                if ln.strip():
                    try:
                        handle(run, json.loads(ln))
                    except ValueError:
                        pass
        now = time.monotonic()
        for run in [r for r in running.values() if now > r.deadline]:
            run.timed_out = True
            try:
                os.kill(run.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            finish(run)
    _reply({"done": True})


def main() -> int:
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        op = req.get("op")
        try:
            if op == "coverage":
                _reply(op_coverage(req))
            elif op == "warm":
                _reply(op_warm(req))
            elif op == "mutants":
                op_mutants(req)
            elif op == "exit":
                return 0
            else:
                _reply({"ok": False, "error": f"unknown op {op!r}"})
        except Exception:  # noqa: BLE001
            _reply({"ok": False, "error": traceback.format_exc()[-2000:]})
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Build the ledger: run every evidence channel for the selected claims and derive verdicts.

Isolation: Lean, tests and measurements run in subprocesses with time limits; a claim whose evidence crashes is
marked (``error`` evidence) and every other claim is still judged. Nothing here is published until
:mod:`quantproof.ledger.writer` swaps complete files into place.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..claims.model import Claim, ClaimSet
from ..evidence import formal as F
from ..evidence import tests as T
from ..evidence.measurement import registry
from ..evidence.runner_measure import Job, RunOutcome, code_hash, job_key, judge, pick_output, run_jobs
from .provenance import provenance
from .verdict import VERDICTS, Evidence, decide

SCHEMA = "quantproof.ledger/1"


@dataclass
class RunOptions:
    repo: Path
    claims: list[str] | None = None
    device: str = "cpu"
    dtype: str = "float32"
    seed: int = 0
    jobs: int = 1
    skip_measurements: bool = False
    skip_tests: bool = False
    skip_lean: bool = False
    test_report: Path | None = None
    cache_dir: Path | None = None
    use_cache: bool = True
    timeout_s: float | None = None
    test_timeout_s: float = 900.0
    lake_timeout_s: float = 7200.0
    progress: Callable[[str, int, int, str], None] | None = None
    timings: dict[str, float] = field(default_factory=dict)


def _progress(opts: RunOptions, stage: str, done: int, total: int, label: str = "") -> None:
    if opts.progress:
        opts.progress(stage, done, total, label)


# --------------------------------------------------------------------------------------------- channels

def formal_channel(opts: RunOptions, claims: list[Claim]) -> tuple[F.LeanIndex, F.BuildResult | None, dict[str, str]]:
    idx = F.scan_lean(opts.repo)
    lock = F.read_lock(opts.repo)
    decls = sorted({link.decl for c in claims for link in c.lean if link.decl in idx.decls})
    build = None
    if not opts.skip_lean and F.lake_available() and idx.audit_ok:
        _progress(opts, "lean", 0, 1, "lake build")
        build = F.run_lake(opts.repo, decls, timeout_s=opts.lake_timeout_s)
        _progress(opts, "lean", 1, 1, "lake build")
    return idx, build, lock


def tests_channel(opts: RunOptions, claims: list[Claim], tindex: T.TestIndex) -> tuple[dict[str, dict], dict[str, str]]:
    """Records keyed by node id, and per test file a reason when the file's run did not complete."""
    if opts.skip_tests:
        return {}, {}
    if opts.test_report is not None:
        return T.read_report(opts.test_report), {}
    files = sorted({t.file for c in claims for t in tindex.by_claim.get(c.id, [])})
    records: dict[str, dict] = {}
    failures: dict[str, str] = {}
    tmp = Path(tempfile.mkdtemp(prefix="qp-tests-"))

    def one(i_file: tuple[int, str]) -> tuple[str, dict[str, dict], str | None]:
        i, f = i_file
        report = tmp / f"r{i}.json"
        code, tail = T.run_pytest(opts.repo, [f], report, timeout_s=opts.test_timeout_s, live=live)
        recs = T.read_report(report)
        last = tail.strip().splitlines()[-1] if tail and tail.strip() else ""
        if code is None:
            return f, recs, f"timed out after {opts.test_timeout_s:.0f} s"
        if not report.exists():  # the plugin writes it at session end: the interpreter died (os._exit, a signal)
            return f, recs, f"pytest exited {code} without writing its report (the test process died): {last}"[:300]
        if code not in (0, 1, 5) and not recs:
            return f, recs, f"pytest exited {code}: {last}"[:300]
        return f, recs, None

    done = 0
    live = _LiveProcesses()
    ex = ThreadPoolExecutor(max_workers=max(1, opts.jobs))
    try:
        for f, recs, why in ex.map(one, enumerate(files)):
            records.update(recs)
            if why:
                failures[f] = why
            done += 1
            _progress(opts, "tests", done, len(files), f)
    except BaseException:
        live.kill_all()  # an interrupt (Ctrl-C, SIGTERM) stops the pytest processes instead of waiting for them
        raise
    finally:
        ex.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(tmp, ignore_errors=True)
    return records, failures


class _LiveProcesses:
    """The pytest processes of a tests stage; once killed, any process that starts afterwards is killed at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._procs: set[Any] = set()
        self._closed = False

    def add(self, p: Any) -> None:
        with self._lock:
            self._procs.add(p)
            if self._closed:
                p.kill()

    def discard(self, p: Any) -> None:
        with self._lock:
            self._procs.discard(p)

    def kill_all(self) -> None:
        with self._lock:
            self._closed = True
            for p in self._procs:
                p.kill()


def measurement_jobs(opts: RunOptions, claims: list[Claim]) -> tuple[list[Job], dict[tuple[str, int], Job]]:
    reg = registry()
    chash = code_hash()
    jobs: dict[str, Job] = {}
    link_job: dict[tuple[str, int], Job] = {}
    for c in claims:
        for i, m in enumerate(c.measurements):
            spec = reg.get(m.name)
            if spec is None:
                continue
            params = spec.bind(m.params)
            key = job_key(m.name, params, opts.device, opts.dtype, opts.seed, chash)
            job = jobs.setdefault(key, Job(m.name, params, key))
            link_job[(c.id, i)] = job
    return list(jobs.values()), link_job


# --------------------------------------------------------------------------------------------- per-claim assembly

def _formal_part(c: Claim, idx: F.LeanIndex, build: F.BuildResult | None, lock: dict[str, str]) -> tuple[dict, list[Evidence]]:
    statuses = [F.decl_status(l.decl, l.role, idx, build, lock) for l in c.lean]
    ev = []
    for d in statuses:
        state = "holds" if d.status == "proved" else "unknown"
        ev.append(Evidence("formal", d.role, state, f"Lean {d.name.split('.')[-1]}",
                           kernel=d.status == "proved",
                           error=d.status in ("build-failed", "blocked", "axioms-rejected"),
                           open_statement=d.status == "sorry"))
    part = {"status": F.claim_formal_status(statuses),
            "declarations": [{"name": d.name, "role": d.role, "status": d.status, "file": d.file, "line": d.line,
                              "module": d.module, "blocked_by": list(d.blocked_by),
                              "statement": d.statement, "axioms": d.axioms, "message": d.message} for d in statuses]}
    return part, ev


def _tests_part(c: Claim, tindex: T.TestIndex, records: dict[str, dict], failures: dict[str, str],
                skipped_stage: bool) -> tuple[dict, list[Evidence]]:
    outcomes = T.outcomes_for_claim(c.id, tindex, records,
                                    not_run_reason="tests skipped (--skip-tests)" if skipped_stage else "not run")
    items = []
    ev = []
    for o in outcomes:
        msg = o.message
        if o.outcome == "not-run":
            f = o.test_id.split("::", 1)[0]
            msg = failures.get(f, msg)
        state = {"passed": "holds", "failed": "fails"}.get(o.outcome, "unknown")
        name = o.test_id.split("::")[-1]
        ev.append(Evidence("tests", o.role, state, f"test {name}", error=o.outcome == "error" or
                           (o.outcome == "not-run" and o.test_id.split("::", 1)[0] in failures)))
        items.append({"id": o.test_id, "role": o.role, "outcome": o.outcome, "message": msg,
                      "counterexample": o.counterexample})
    counts = Counter(i["outcome"] for i in items)
    if not items:
        status = "none"
    elif counts["error"]:
        status = "error"
    elif counts["failed"]:
        status = "failed"
    elif counts["passed"]:
        status = "passed"
    elif counts["skipped"]:
        status = "skipped"
    else:
        status = "not-run"
    part = {"status": status, "passed": counts["passed"], "failed": counts["failed"], "errors": counts["error"],
            "skipped": counts["skipped"], "not_run": counts["not-run"], "items": items}
    return part, ev


def _measurement_part(c: Claim, link_job: dict[tuple[str, int], Job], outcomes: dict[str, RunOutcome],
                      skipped_stage: bool, device: str, dtype: str) -> tuple[list[dict], list[Evidence], list[str]]:
    rows: list[dict] = []
    ev: list[Evidence] = []
    models: list[str] = []
    estimates: dict[str, dict] = {}
    for i, m in enumerate(c.measurements):
        job = link_job.get((c.id, i))
        out = outcomes.get(job.key) if job else None
        if out is not None and out.status == "ok" and m.key:
            est = pick_output(out.result, m.output)
            if est is not None:
                estimates[m.key] = est
    for i, m in enumerate(c.measurements):
        job = link_job.get((c.id, i))
        out = outcomes.get(job.key) if job else None
        row: dict[str, Any] = {"name": m.name, "params": job.params if job else m.params, "output": m.output,
                               "role": m.role, "key": m.key, "expect": m.expect.to_json() if m.expect else None,
                               "estimate": None, "model": None, "device": device, "dtype": dtype,
                               "provenance": {}, "plots": [], "reason": None}
        if skipped_stage or out is None:
            row.update(outcome="not-run", reason="not run: measurements skipped (--skip-measurements)"
                       if skipped_stage else "not run")
            ev.append(Evidence("measurements", m.role, "unknown", f"measurement {m.name}"))
        elif out.status != "ok":
            row.update(outcome="not-run" if out.status == "not-run" else "error", reason=out.reason,
                       provenance=out.provenance)
            ev.append(Evidence("measurements", m.role, "unknown", f"measurement {m.name}", error=out.status == "error"))
        else:
            est = pick_output(out.result, m.output)
            res = out.result or {}
            row.update(model=res.get("model"), provenance=out.provenance, plots=res.get("plots", []),
                       details=res.get("details", {}))
            if est is None:
                row.update(outcome="error", reason=f"measurement returned no output {m.output!r}")
                ev.append(Evidence("measurements", m.role, "unknown", f"measurement {m.name}", error=True))
            else:
                row["estimate"] = est
                other = estimates.get(m.expect.compare_with) if m.expect and m.expect.kind == "compare" else None
                verdict = judge(est, m.expect, other) if m.expect else "inconclusive"
                row["outcome"] = verdict
                state = {"consistent": "holds", "inconsistent": "fails"}.get(verdict, "unknown")
                ev.append(Evidence("measurements", m.role, state, f"measurement {m.name}.{m.output}"))
                if res.get("model"):
                    models.append(res["model"])
        rows.append(row)
    return rows, ev, sorted(set(models))


def assemble_claim(c: Claim, *, idx, build, lock, tindex, records, failures, link_job, outcomes,
                   opts: RunOptions) -> dict[str, Any]:
    formal, ev_f = _formal_part(c, idx, build, lock)
    tests, ev_t = _tests_part(c, tindex, records, failures, opts.skip_tests)
    meas, ev_m, models = _measurement_part(c, link_job, outcomes, opts.skip_measurements, opts.device, opts.dtype)
    note = f"measured on {', '.join(models)}" if models else ""
    v = decide(c.kind, ev_f + ev_t + ev_m, note)
    return {
        "id": c.id, "title": c.title, "kind": c.kind, "seed": c.seed, "quote": c.quote, "statement": c.statement,
        "notes": c.notes, "related": list(c.related), "line": c.where.line,
        "verdict": v.verdict, "reason": v.reason,
        "formal": formal, "tests": tests, "measurements": meas,
    }


def _error_claim(c: Claim, exc: BaseException) -> dict[str, Any]:
    return {"id": c.id, "title": c.title, "kind": c.kind, "seed": c.seed, "quote": c.quote,
            "statement": c.statement, "notes": c.notes, "related": list(c.related), "line": c.where.line,
            "verdict": "error", "reason": f"Assembling this claim's evidence failed: {type(exc).__name__}: {exc}"[:500],
            "formal": {"status": "none", "declarations": []},
            "tests": {"status": "none", "passed": 0, "failed": 0, "errors": 0, "skipped": 0, "not_run": 0, "items": []},
            "measurements": []}


def summarize(claims: list[dict[str, Any]]) -> dict[str, Any]:
    by_verdict = {v: 0 for v in VERDICTS}
    by_seed: dict[str, Counter] = defaultdict(Counter)
    by_kind: dict[str, Counter] = defaultdict(Counter)
    by_channel: dict[str, Counter] = {"formal": Counter(), "tests": Counter(), "measurements": Counter()}
    for c in claims:
        by_verdict[c["verdict"]] = by_verdict.get(c["verdict"], 0) + 1
        by_seed[c["seed"]][c["verdict"]] += 1
        by_kind[c["kind"]][c["verdict"]] += 1
        by_channel["formal"][c["formal"]["status"]] += 1
        by_channel["tests"][c["tests"]["status"]] += 1
        for m in c["measurements"]:
            by_channel["measurements"][m["outcome"]] += 1
    return {"total": len(claims), "by_verdict": by_verdict,
            "by_seed": {k: dict(sorted(v.items())) for k, v in sorted(by_seed.items())},
            "by_kind": {k: dict(sorted(v.items())) for k, v in sorted(by_kind.items())},
            "by_channel": {k: dict(sorted(v.items())) for k, v in by_channel.items()}}


# --------------------------------------------------------------------------------------------- the run

def build_ledger(cs: ClaimSet, opts: RunOptions) -> dict[str, Any]:
    started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    selected = list(cs.claims)
    if opts.claims:
        wanted = set(opts.claims)
        unknown = wanted - set(cs.by_id())
        if unknown:
            raise ValueError(f"unknown claim id(s): {', '.join(sorted(unknown))}")
        selected = [c for c in cs.claims if c.id in wanted]
    cache_dir = opts.cache_dir or (opts.repo / ".quantproof-cache")

    t0 = time.monotonic()
    idx, build, lock = formal_channel(opts, selected)
    opts.timings["lean"] = time.monotonic() - t0

    t0 = time.monotonic()
    tindex = T.scan_tests(opts.repo)
    records, failures = tests_channel(opts, selected, tindex)
    opts.timings["tests"] = time.monotonic() - t0

    t0 = time.monotonic()
    outcomes: dict[str, RunOutcome] = {}
    jobs, link_job = measurement_jobs(opts, selected)
    if not opts.skip_measurements and jobs:
        done = [0]

        def tick(job: Job, out: RunOutcome) -> None:
            done[0] += 1
            _progress(opts, "measurements", done[0], len(jobs), f"{job.name} ({'cached' if out.cached else out.status})")

        outcomes = run_jobs(jobs, device=opts.device, dtype=opts.dtype, seed=opts.seed, cache_dir=cache_dir,
                            n_parallel=opts.jobs, timeout_s=opts.timeout_s, use_cache=opts.use_cache, progress=tick)
    opts.timings["measurements"] = time.monotonic() - t0

    claims_out = []
    for i, c in enumerate(selected):
        try:
            claims_out.append(assemble_claim(c, idx=idx, build=build, lock=lock, tindex=tindex, records=records,
                                             failures=failures, link_job=link_job, outcomes=outcomes, opts=opts))
        except Exception as exc:  # noqa: BLE001 - one claim's failure must not hide the others
            claims_out.append(_error_claim(c, exc))
        _progress(opts, "verdicts", i + 1, len(selected), c.id)

    files: dict[str, str] = {}
    for out in outcomes.values():
        files.update((out.provenance or {}).get("files", {}))
    prov = provenance(opts.repo, device=opts.device, dtype=opts.dtype, seed=opts.seed, claims_sha256=cs.sha256,
                      lean_built=bool(build and build.ran and build.ok),
                      lean_toolchain_seen=build.toolchain if build else None, files=files)
    prov["lean"]["audit_findings"] = [str(f) for f in idx.findings]
    prov["lean"]["lake"] = "ran" if build and build.ran else "not on PATH" if not F.lake_available() else "skipped"
    cache_hits = sum(1 for o in outcomes.values() if o.cached)
    names = {j.key: j.name for j in jobs}
    return {
        "schema": SCHEMA,
        "complete": not (opts.claims or opts.skip_measurements or opts.skip_tests),
        "selection": {"claims": sorted(opts.claims) if opts.claims else None,
                      "skip_measurements": opts.skip_measurements, "skip_tests": opts.skip_tests,
                      "skip_lean": opts.skip_lean, "device": opts.device,
                      "test_source": "report" if opts.test_report else "pytest"},
        "provenance": prov,
        "summary": summarize(claims_out),
        "claims": claims_out,
        "run": {"started_at": started,
                "finished_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "durations_s": {k: round(v, 2) for k, v in opts.timings.items()},
                "measurement_seconds": {f"{names.get(o_key, '?')}:{o_key[:8]}": round(o.seconds, 2)
                                        for o_key, o in outcomes.items()},
                "cache": {"hits": cache_hits, "misses": len(outcomes) - cache_hits},
                "python": sys.executable},
    }


def dumps(ledger: dict[str, Any]) -> str:
    return json.dumps(ledger, indent=1, sort_keys=True, ensure_ascii=False) + "\n"

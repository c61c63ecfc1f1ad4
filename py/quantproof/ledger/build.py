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

from ..claims.model import Claim, ClaimSet, MeasurementLink
from ..claims.seeddata import other_seeds_quoted
from ..claims.seeddata import resolve as resolve_seed_data
from ..evidence import formal as F
from ..evidence import tests as T
from ..evidence.discrimination import ControlOutcome, discriminate
from ..evidence.measurement import registry
from ..evidence.runner_measure import (Job, RunOutcome, code_hash, has_interval, job_key, judge, pick_output,
                                       run_jobs)
from .coverage import coverage_section
from .provenance import provenance
from .strength_gate import StrengthInputs, is_no_evidence, load_inputs, passing_test_block, strength_record
from .verdict import LEAN_STATUS_TEXT, VERDICTS, ClaimContext, Evidence, decide

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
    bindings: dict[str, Any] = field(default_factory=dict)  # name -> capture.targets.Binding (--model, --models)
    executor: str = "local"  # local | ray (evidence.executors)
    ray_address: str | None = None


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


@dataclass
class MeasurementPlan:
    """Every distinct (measurement, bound parameters) job of a run, and which link or control reads which job."""

    jobs: list[Job]
    link_job: dict[tuple[str, int], Job]
    control_job: dict[tuple[str, int, int], Job]
    bound: dict[tuple[str, int], list[dict[str, Any]]]  # seed figures bound into each link's parameters
    problems: dict[tuple[str, int], str]  # links whose parameters could not be resolved
    model_runs: dict[tuple[str, int], Any] = field(default_factory=dict)  # capture.targets.ModelRun per link


def measurement_jobs(opts: RunOptions, claims: list[Claim]) -> MeasurementPlan:
    reg = registry()
    hashes: dict[str, str] = {}
    jobs: dict[str, Job] = {}
    plan = MeasurementPlan([], {}, {}, {}, {})
    seed_texts: dict[str, str] = {}

    def job_for(name: str, params: dict[str, Any], run: Any = None) -> Job:
        spec = reg[name]
        bound = spec.bind(params)
        if spec.module not in hashes:
            hashes[spec.module] = code_hash(module=spec.module)
        key = job_key(name, bound, opts.device, opts.dtype, opts.seed, hashes[spec.module],
                      model=run.key() if run is not None else None)
        return jobs.setdefault(key, Job(name, bound, key))

    for c in claims:
        for i, m in enumerate(c.measurements):
            spec = reg.get(m.name)
            if spec is None:
                continue
            try:
                params = dict(m.params)
                if m.seed_values or m.seed_table:
                    for name in {c.seed} | other_seeds_quoted(m):
                        if name not in seed_texts:
                            seed_texts[name] = (opts.repo / "seeds" / name).read_text(encoding="utf-8")
                    params, figures = resolve_seed_data(m, seed_texts[c.seed],
                                                        {k: p.type for k, p in spec.params.items()},
                                                        other_seeds=seed_texts)
                    plan.bound[(c.id, i)] = [f.to_json() for f in figures]
                run = None
                if spec.on_model and "model" in spec.params:   # which model runs: the seed's or a substitute
                    from ..capture.targets import model_run

                    params, run = model_run(m.target, m.target_params, params, spec.params["model"].default,
                                            opts.bindings)
                    plan.model_runs[(c.id, i)] = run
                plan.link_job[(c.id, i)] = job_for(m.name, params, run)
                for j, ctl in enumerate(m.controls):
                    plan.control_job[(c.id, i, j)] = job_for(m.name, {**params, **ctl.params}, run)
            except (OSError, ValueError) as exc:
                plan.problems[(c.id, i)] = f"parameters do not resolve: {exc}"
    plan.jobs = list(jobs.values())
    return plan


# --------------------------------------------------------------------------------------------- per-claim assembly

def _formal_part(c: Claim, idx: F.LeanIndex, build: F.BuildResult | None, lock: dict[str, str]) -> tuple[dict, list[Evidence]]:
    statuses = [F.decl_status(l.decl, l.role, idx, build, lock) for l in c.lean]
    ev = []
    for d in statuses:
        proved = d.status == "proved"
        short = d.name.split(".")[-1]
        text = LEAN_STATUS_TEXT.get(d.status, d.status)
        if d.status == "blocked" and d.blocked_by:
            text += f" ({', '.join(d.blocked_by)})"
        ev.append(Evidence("formal", d.role, "holds" if proved else "unknown", f"Lean {short}",
                           detail=f"Lean {short} ({d.role}): {text}", kernel=proved, ran=proved,
                           error=d.status in ("build-failed", "blocked", "axioms-rejected"),
                           open_statement=d.status == "sorry"))
    part = {"status": F.claim_formal_status(statuses),
            "declarations": [{"name": d.name, "role": d.role, "status": d.status, "file": d.file, "line": d.line,
                              "module": d.module, "blocked_by": list(d.blocked_by),
                              "statement": d.statement, "axioms": d.axioms, "message": d.message} for d in statuses]}
    return part, ev


def _tests_part(c: Claim, tindex: T.TestIndex, records: dict[str, dict], failures: dict[str, str],
                skipped_stage: bool, strength: StrengthInputs | None = None) -> tuple[dict, list[Evidence]]:
    sin = strength or StrengthInputs()
    st = sin.records.get(c.id)
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
        detail = f"test {name} ({o.role}) {o.outcome}"
        if o.counterexample:
            detail += f" — {o.counterexample.splitlines()[0][:160]}"
        blocked = passing_test_block(st, o.test_id, problem=sin.problem) if state == "holds" else None
        if blocked and is_no_evidence(st, o.test_id):
            state = "unknown"  # a test that runs no project code is no evidence at all
        ev.append(Evidence("tests", o.role, state, f"test {name}", detail=detail, ran=state != "unknown",
                           error=o.outcome == "error" or
                           (o.outcome == "not-run" and o.test_id.split("::", 1)[0] in failures),
                           blocked=blocked))
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
            "skipped": counts["skipped"], "not_run": counts["not-run"], "items": items,
            "strength": strength_record(st)}
    return part, ev


def _num(v: Any) -> str:
    return f"{float(v):.4g}" if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)


def fmt_estimate(est: dict[str, Any] | None) -> str:
    if not est:
        return "no value"
    s = _num(est.get("value"))
    if has_interval(est):
        s += f" [{_num(est['lo'])}, {_num(est['hi'])}]"
    return s


def fmt_expect(x: Any) -> str:
    if x is None:
        return "no expectation"
    if x.kind == "value":
        return f"= {_num(x.value)}" + (f" ± {_num(x.tol)}" if x.tol else "")
    if x.kind == "band":
        return f"in [{_num(x.lo)}, {_num(x.hi)}]"
    if x.kind == "compare":
        op = {"gt": ">", "ge": "≥", "lt": "<", "le": "≤"}[x.op]
        return f"{op} {x.compare_with}" + (f" + {_num(x.margin)}" if x.margin else "")
    op = {"at_least": "≥", "at_most": "≤", "greater_than": ">", "less_than": "<"}[x.kind]
    return f"{op} {_num(x.value)}"


def _judged(est: dict[str, Any] | None, m: MeasurementLink, other: dict[str, Any] | None, exact: bool,
            other_exact: bool) -> str:
    if est is None:
        return "error"
    if m.expect is None:
        return "measured"
    return judge(est, m.expect, other, exact=exact, other_exact=other_exact)


def _link_label(c: Claim, i: int, plan: MeasurementPlan) -> str:
    """How a reason names link i: name.output, plus the parameters that tell it apart from the claim's other links
    of the same name.output (model=minilm, planted_noise=0.3, …); an arith link by its expression."""
    m = c.measurements[i]
    job = plan.link_job.get((c.id, i))
    if m.name == "arith" and job:
        return f"arith({job.params.get('expr')})"
    label = f"{m.name}.{m.output}"
    if job is None:
        return label
    peers = [plan.link_job.get((c.id, k)) for k, o in enumerate(c.measurements)
             if k != i and o.name == m.name and o.output == m.output]
    peers = [p for p in peers if p is not None]
    differ = sorted(k for k in job.params if any(p.params.get(k) != job.params[k] for p in peers))
    if differ:
        label += "[" + ", ".join(f"{k}={job.params[k]}" for k in differ) + "]"
    return label


def _measurement_part(c: Claim, plan: MeasurementPlan, outcomes: dict[str, RunOutcome], skipped_stage: bool,
                      device: str, dtype: str) -> tuple[list[dict], list[Evidence], list[str]]:
    reg = registry()
    rows: list[dict] = []
    ev: list[Evidence] = []
    models: list[str] = []
    estimates: dict[str, tuple[dict, bool]] = {}
    for i, m in enumerate(c.measurements):
        job = plan.link_job.get((c.id, i))
        out = outcomes.get(job.key) if job else None
        if out is not None and out.status == "ok" and m.key:
            est = pick_output(out.result, m.output)
            if est is not None:
                estimates[m.key] = (est, reg[m.name].is_exact(m.output))
    for i, m in enumerate(c.measurements):
        job = plan.link_job.get((c.id, i))
        out = outcomes.get(job.key) if job else None
        spec = reg.get(m.name)
        exact = bool(spec and spec.is_exact(m.output))
        label = _link_label(c, i, plan)
        row: dict[str, Any] = {"name": m.name, "params": job.params if job else m.params, "output": m.output,
                               "role": m.role, "key": m.key, "expect": m.expect.to_json() if m.expect else None,
                               "estimate": None, "model": None, "device": device, "dtype": dtype,
                               "provenance": {}, "plots": [], "reason": None, "exact": exact,
                               "discrimination": None, "controls": [],
                               "seed_values": plan.bound.get((c.id, i), [])}
        run = plan.model_runs.get((c.id, i))
        if run is not None:
            row["model_run"] = run.to_json()
        if (c.id, i) in plan.problems:
            row.update(outcome="error", reason=plan.problems[(c.id, i)])
            ev.append(Evidence("measurements", m.role, "unknown", label, detail=f"{label}: {row['reason']}",
                               error=True))
            rows.append(row)
            continue
        if skipped_stage or out is None:
            row.update(outcome="not-run", reason="not run: measurements skipped (--skip-measurements)"
                       if skipped_stage else "not run")
            ev.append(Evidence("measurements", m.role, "unknown", label, detail=f"{label}: {row['reason']}"))
            rows.append(row)
            continue
        if out.status != "ok":
            row.update(outcome="not-run" if out.status == "not-run" else "error", reason=out.reason,
                       provenance=out.provenance)
            ev.append(Evidence("measurements", m.role, "unknown", label, detail=f"{label}: {out.reason}",
                               error=out.status == "error"))
            rows.append(row)
            continue
        est = pick_output(out.result, m.output)
        res = out.result or {}
        row.update(model=res.get("model"), provenance=out.provenance, plots=res.get("plots", []),
                   details=res.get("details", {}))
        if est is None:
            row.update(outcome="error", reason=f"measurement returned no output {m.output!r}")
            ev.append(Evidence("measurements", m.role, "unknown", label, detail=f"{label}: {row['reason']}",
                               error=True))
            rows.append(row)
            continue
        other, other_exact = estimates.get(m.expect.compare_with, (None, True)) \
            if m.expect and m.expect.kind == "compare" else (None, True)
        outcome = _judged(est, m, other, exact, other_exact)
        row["estimate"] = est
        row["outcome"] = outcome
        if outcome == "inconclusive" and not exact and not has_interval(est):
            row["reason"] = "a point estimate without an interval decides nothing"
        ctl_out = []
        for j, ctl in enumerate(m.controls):
            cjob = plan.control_job.get((c.id, i, j))
            cres = outcomes.get(cjob.key) if cjob else None
            cname = ctl.output or m.output
            cest = pick_output(cres.result, cname) if cres is not None and cres.status == "ok" else None
            cexact = bool(spec and spec.is_exact(cname))
            if cres is None:
                coutcome, creason = "not-run", "not run"
            elif cres.status != "ok":
                coutcome, creason = ("not-run" if cres.status == "not-run" else "error"), cres.reason
            elif cest is None:
                coutcome, creason = "error", f"no output {cname!r}"
            else:
                coutcome, creason = _judged(cest, m, other, cexact, other_exact), None
            ctl_out.append(ControlOutcome(ctl.label, ctl.should, coutcome))
            row["controls"].append({**ctl.to_json(), "params": cjob.params if cjob else ctl.params,
                                    "output": cname, "estimate": cest, "outcome": coutcome, "reason": creason})
        disc = discriminate(outcome, ctl_out, exact=exact)
        row["discrimination"] = disc.status
        state = {"consistent": "holds", "inconsistent": "fails"}.get(outcome, "unknown")
        detail = f"{label} = {fmt_estimate(est)} (expected {fmt_expect(m.expect)}: {outcome}"
        if exact and not m.controls:
            detail += ", exact"
        detail += ")"
        for crow in row["controls"]:
            detail += (f"; control '{crow['label']}' (should {crow['should']}): "
                       f"{fmt_estimate(crow['estimate']) if crow['estimate'] else crow['outcome']} → {crow['outcome']}")
        ev.append(Evidence("measurements", m.role, state, label, detail=detail,
                           ran=outcome in ("consistent", "inconsistent", "inconclusive"),
                           blocked=disc.blocked or row["reason"], trivial=disc.trivial))
        if run is not None:
            models.append(run.note())
        elif res.get("model") and not str(res["model"]).startswith("none"):
            models.append(f"on {str(res['model']).split(' (')[0].strip()}")
        rows.append(row)
    return rows, ev, sorted(set(models))


def _model_note(models: list[str]) -> str:
    """The models that ran, each as "on the seed's model X", "on substitute Y for X" or "on Y"."""
    shown = sorted(set(models))
    return f"measured {'; '.join(shown)}" if shown else ""


def assemble_claim(c: Claim, *, idx, build, lock, tindex, records, failures, plan: MeasurementPlan, outcomes,
                   opts: RunOptions, premise_verdicts: dict[str, str] | None = None,
                   strength: StrengthInputs | None = None) -> dict[str, Any]:
    formal, ev_f = _formal_part(c, idx, build, lock)
    tests, ev_t = _tests_part(c, tindex, records, failures, opts.skip_tests, strength)
    meas, ev_m, models = _measurement_part(c, plan, outcomes, opts.skip_measurements, opts.device, opts.dtype)
    evidence = ev_f + ev_t + ev_m
    pv = premise_verdicts or {}
    ctx = ClaimContext(kind=c.kind, added_hypotheses=tuple(a.text for a in c.added_hypotheses),
                       corrected=c.corrected, model_note=_model_note(models),
                       premises=tuple((p, pv[p]) for p in c.premises if p in pv))
    v = decide(c.kind, evidence, context=ctx)
    return {
        "id": c.id, "title": c.title, "kind": c.kind, "seed": c.seed, "quote": c.quote, "statement": c.statement,
        "notes": c.notes, "related": list(c.related), "line": c.where.line,
        "assumptions": [a.to_json() for a in c.assumptions], "scope": c.scope, "corrected": c.corrected or None,
        "premises": list(c.premises),
        "verdict": v.verdict, "reason": v.reason, "rule": v.rule,
        "evidence": [e.to_json() for e in evidence],
        "formal": formal, "tests": tests, "measurements": meas,
    }


def _premises_first(claims: list[Claim]) -> list[Claim]:
    """Claims in an order where every premise comes before the claims resting on it (the loader refuses loops)."""
    by_id = {c.id: c for c in claims}
    done: set[str] = set()
    out: list[Claim] = []

    def visit(c: Claim) -> None:
        if c.id in done:
            return
        done.add(c.id)
        for p in c.premises:
            if p in by_id:
                visit(by_id[p])
        out.append(c)

    for c in claims:
        visit(c)
    return out


def _error_claim(c: Claim, exc: BaseException) -> dict[str, Any]:
    return {"id": c.id, "title": c.title, "kind": c.kind, "seed": c.seed, "quote": c.quote,
            "statement": c.statement, "notes": c.notes, "related": list(c.related), "line": c.where.line,
            "assumptions": [a.to_json() for a in c.assumptions], "scope": c.scope, "corrected": c.corrected or None,
            "premises": list(c.premises), "rule": "", "evidence": [],
            "verdict": "error", "reason": f"Assembling this claim's evidence failed: {type(exc).__name__}: {exc}"[:500],
            "formal": {"status": "none", "declarations": []},
            "tests": {"status": "none", "passed": 0, "failed": 0, "errors": 0, "skipped": 0, "not_run": 0, "items": [],
                      "strength": None},
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
    started_empty = not (cache_dir.is_dir() and any(cache_dir.iterdir()))  # inner caches (captures) too

    t0 = time.monotonic()
    idx, build, lock = formal_channel(opts, selected)
    opts.timings["lean"] = time.monotonic() - t0

    t0 = time.monotonic()
    tindex = T.scan_tests(opts.repo)
    records, failures = tests_channel(opts, selected, tindex)
    opts.timings["tests"] = time.monotonic() - t0

    t0 = time.monotonic()
    outcomes: dict[str, RunOutcome] = {}
    plan = measurement_jobs(opts, selected)
    jobs = plan.jobs
    if not opts.skip_measurements and jobs:
        done = [0]

        def tick(job: Job, out: RunOutcome) -> None:
            done[0] += 1
            _progress(opts, "measurements", done[0], len(jobs), f"{job.name} ({'cached' if out.cached else out.status})")

        from ..evidence.executors import make_executor

        outcomes = run_jobs(jobs, device=opts.device, dtype=opts.dtype, seed=opts.seed, cache_dir=cache_dir,
                            n_parallel=opts.jobs, timeout_s=opts.timeout_s, use_cache=opts.use_cache, progress=tick,
                            executor=make_executor(opts.executor, opts.ray_address))
    opts.timings["measurements"] = time.monotonic() - t0

    strength = load_inputs(opts.repo)  # ledger/strength.json: which passing tests count (strength_gate)
    claims_out: list[dict[str, Any]] = []
    verdicts: dict[str, str] = {}
    for i, c in enumerate(_premises_first(selected)):  # a claim is judged after the claims it rests on
        try:
            out = assemble_claim(c, idx=idx, build=build, lock=lock, tindex=tindex, records=records,
                                 failures=failures, plan=plan, outcomes=outcomes, opts=opts,
                                 premise_verdicts=verdicts, strength=strength)
        except Exception as exc:  # noqa: BLE001 - one claim's failure must not hide the others
            out = _error_claim(c, exc)
        verdicts[c.id] = out["verdict"]
        claims_out.append(out)
        _progress(opts, "verdicts", i + 1, len(selected), c.id)
    order = {c.id: k for k, c in enumerate(selected)}
    claims_out.sort(key=lambda d: order[d["id"]])

    files: dict[str, str] = {}
    for out in outcomes.values():
        files.update((out.provenance or {}).get("files", {}))
    prov = provenance(opts.repo, device=opts.device, dtype=opts.dtype, seed=opts.seed, claims_sha256=cs.sha256,
                      lean_built=bool(build and build.ran and build.ok),
                      lean_toolchain_seen=build.toolchain if build else None, files=files)
    prov["lean"]["audit_findings"] = [str(f) for f in idx.findings]
    if opts.bindings:   # checkpoints bound to the seeds' models or to substitutes (--model, --models)
        from ..capture.targets import checkpoint_hashes

        prov["models"] = {n: {**b.to_json(), "files": checkpoint_hashes(b.files)}
                          for n, b in sorted(opts.bindings.items())}
    prov["lean"]["lake"] = "ran" if build and build.ran else "not on PATH" if not F.lake_available() else "skipped"
    cache_hits = sum(1 for o in outcomes.values() if o.cached)
    names = {j.key: j.name for j in jobs}
    reg = registry()
    # exact arithmetic on stated figures runs in the runner's process and is never cached (recomputing is cheaper
    # than reading): counted apart, so a warm run's misses are the cacheable jobs that had to run again
    in_process = sum(1 for k in outcomes if names.get(k) in reg and reg[names[k]].in_process)
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
        "coverage": coverage_section(opts.repo, cs),
        "run": {"started_at": started,
                "finished_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "durations_s": {k: round(v, 2) for k, v in opts.timings.items()},
                "measurement_seconds": {f"{names.get(o_key, '?')}:{o_key[:8]}": round(o.seconds, 2)
                                        for o_key, o in outcomes.items()},
                "cache": {"hits": cache_hits, "misses": len(outcomes) - cache_hits - in_process,
                          "in_process": in_process,
                          "cold": bool(outcomes) and cache_hits == 0 and started_empty,
                          "started_empty": started_empty},
                "python": sys.executable},
    }


def dumps(ledger: dict[str, Any]) -> str:
    return json.dumps(ledger, indent=1, sort_keys=True, ensure_ascii=False) + "\n"

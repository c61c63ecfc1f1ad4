"""Run measurements in isolated processes with a time limit, cache their results, and judge them.

Policy:
1. Each distinct (measurement, bound parameters) runs once per ledger run, in its own process: a crash, a hang
   (time limit) or a non-finite output marks that measurement and the run goes on. Measurements registered
   ``in_process`` (exact arithmetic on stated figures, with their own size limits: ``arith``, ``seedtab_*``) run in
   the runner's process instead, never cached (recomputing is cheaper than reading); an exception still marks only
   their own claims.
2. A cache entry is keyed by the measurement, its parameters, device, dtype, seed and the hash of the package's code;
   it stores the sha256 of every input file the measurement read and a checksum of its own content. An entry whose
   checksum fails, whose key differs or whose input files changed is recomputed, never served.
3. Judging: the estimate's interval I = [lo, hi] against the set S the claim expects: I ⊆ S consistent,
   I ∩ S = ∅ inconsistent, otherwise inconclusive. A point estimate without an interval is judged only when its
   output is exact by construction (registered ``exact``); otherwise it is inconclusive: a real-data point
   estimate decides nothing. Not-run and errors are never a pass.
"""

from __future__ import annotations

import hashlib
import json
import math
import multiprocessing as mp
import os
import tempfile
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..claims.model import Expectation
from .measurement import Context, MeasurementUnavailable, file_sha256, registry

CACHE_SCHEMA = "quantproof.cache/1"


@dataclass
class RunOutcome:
    """The result of running one (measurement, params) job."""

    status: str  # ok | not-run | error
    reason: str | None = None
    result: dict[str, Any] | None = None  # Result.to_json()
    provenance: dict[str, Any] = field(default_factory=dict)
    cached: bool = False
    seconds: float = 0.0


# The code a measurement's numbers can depend on: everything it imports to compute, and the process that runs it.
# The claims loader, the ledger writers, the gate and the CLI cannot change a measured value, so editing them does
# not throw away cached measurements.
MEASUREMENT_CODE = ("math", "capture", "subjects", "kernels", "measurements", "evidence/measurement.py",
                    "evidence/runner_measure.py")


def code_hash(package_dir: Path | None = None, *, module: str | None = None) -> str:
    """sha256 over the Python sources measurements depend on (all of ``package_dir`` when one is given).

    With ``module`` (a measurement's module): only what that module can run (its static import closure,
    :mod:`quantproof.codehash`) and the process that runs it, so adding or editing another measurement module
    invalidates nothing of this one's."""
    if module is not None:
        from ..codehash import code_hash_of

        return code_hash_of(module, "quantproof.evidence.runner_measure")
    if package_dir is not None:
        files = sorted(package_dir.rglob("*.py"))
        root = package_dir
    else:
        root = Path(__file__).resolve().parents[1]
        files = sorted(p for part in MEASUREMENT_CODE
                       for p in ([root / part] if part.endswith(".py") else (root / part).rglob("*.py")))
    h = hashlib.sha256()
    for p in files:
        h.update(p.relative_to(root).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def job_key(name: str, params: dict[str, Any], device: str, dtype: str, seed: int, chash: str,
            model: dict[str, Any] | None = None) -> str:
    """``model``: for a measurement on a model, which one runs (the seed's or a substitute) and its files' sha256
    (:meth:`quantproof.capture.targets.ModelRun.key`)."""
    body = {"name": name, "params": params, "device": device, "dtype": dtype, "seed": seed, "code": chash}
    if model is not None:
        body["model"] = model
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _checksum(entry: dict[str, Any]) -> str:
    body = {k: v for k, v in entry.items() if k != "checksum"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def cache_read(cache_dir: Path, key: str, file_paths_ok: Callable[[dict[str, Any]], bool] | None = None) -> dict | None:
    p = cache_dir / "measurements" / f"{key}.json"
    try:
        entry = json.loads(p.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict) or entry.get("schema") != CACHE_SCHEMA or entry.get("key") != key:
        return None
    if entry.get("checksum") != _checksum(entry) or not _well_formed(entry):
        return None
    for path, digest in (entry.get("inputs") or {}).items():
        try:
            if file_sha256(Path(path)) != digest:
                return None
        except OSError:
            return None
    return entry


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _well_formed(entry: dict[str, Any]) -> bool:
    """The shape the runner relies on (an entry can carry a valid checksum and still be from another version)."""
    res, prov, inputs = entry.get("result"), entry.get("provenance"), entry.get("inputs")
    if not isinstance(res, dict) or not isinstance(prov, dict) or not isinstance(inputs, dict):
        return False
    outs = res.get("outputs")
    if not isinstance(outs, dict) or not outs:
        return False
    if not all(isinstance(o, dict) and _finite(o.get("value")) for o in outs.values()):
        return False
    return all(isinstance(k, str) and isinstance(v, str) for k, v in inputs.items())


def cache_write(cache_dir: Path, key: str, result: dict, provenance: dict, inputs: dict[str, str]) -> None:
    d = cache_dir / "measurements"
    d.mkdir(parents=True, exist_ok=True)
    entry = {"schema": CACHE_SCHEMA, "key": key, "result": result, "provenance": provenance, "inputs": inputs}
    entry["checksum"] = _checksum(entry)
    fd, tmp = tempfile.mkstemp(dir=d, suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(entry, fh, sort_keys=True)
        os.replace(tmp, d / f"{key}.json")
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------------------------- child process

def _die_with_parent(parent_pid: int | None) -> None:
    """Linux: have the kernel kill this measurement process when the ledger run dies, even by SIGKILL, so that no
    orphan keeps computing (or hanging) after its run is gone. Elsewhere a no-op."""
    try:
        import ctypes
        import signal

        if ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL)) != 0:  # PR_SET_PDEATHSIG
            return
    except (OSError, AttributeError):
        return
    if parent_pid is not None and os.getppid() != parent_pid:  # the run died before prctl took effect
        os._exit(1)


def _child(name: str, params: dict[str, Any], ctx_fields: dict[str, Any], out_path: str) -> None:
    """Entry point of the measurement process: run, then write JSON to ``out_path``."""
    _die_with_parent(ctx_fields.get("parent_pid"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    # Parallel measurements share the cores: each process gets its share of threads (set before numpy/torch load;
    # oversubscribed BLAS/torch pools make a 2-core run several times slower).
    threads = str(ctx_fields.get("threads") or 1)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, threads)
    payload = execute(name, params, ctx_fields)
    tmp = out_path + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(payload, fh, sort_keys=True, default=str)
    os.replace(tmp, out_path)


def execute(name: str, params: dict[str, Any], ctx_fields: dict[str, Any]) -> dict[str, Any]:
    """Run one measurement in this process and return its payload (status, result or reason, provenance); every
    exception becomes an ``error`` payload."""
    payload: dict[str, Any]
    ctx = Context(device=ctx_fields["device"], dtype=ctx_fields["dtype"], seed=ctx_fields["seed"],
                  cache_dir=Path(ctx_fields["cache_dir"]))
    try:
        spec = registry()[name]
        res = spec.func(ctx, **params)
        data = res.to_json()
        bad = [k for k, v in data["outputs"].items() if not isinstance(v.get("value"), (int, float))
               or not math.isfinite(float(v["value"]))]
        if bad:
            payload = {"status": "error", "reason": f"non-finite output(s): {', '.join(bad)}", "result": data}
        else:
            payload = {"status": "ok", "result": data}
    except MeasurementUnavailable as exc:
        payload = {"status": "not-run", "reason": f"not run: {exc}"}
    except BaseException as exc:  # noqa: BLE001 - everything a measurement raises is reported, never fatal
        tb = traceback.format_exc(limit=6)
        payload = {"status": "error", "reason": f"{type(exc).__name__}: {exc}"[:800], "traceback": tb[-4000:]}
    payload["provenance"] = {"files": ctx.files, "tensors": ctx.tensors, "notes": ctx.notes, "seed": ctx.seed,
                             "device": ctx.device, "dtype": ctx.dtype, "files_abs": ctx.files_abs}
    return json.loads(json.dumps(payload, sort_keys=True, default=str))  # the same JSON a child process writes


@dataclass(frozen=True)
class Job:
    name: str
    params: dict[str, Any]
    key: str


def run_jobs(jobs: list[Job], *, device: str, dtype: str, seed: int, cache_dir: Path, n_parallel: int = 1,
             timeout_s: float | None = None, use_cache: bool = True,
             progress: Callable[[Job, RunOutcome], None] | None = None, executor=None) -> dict[str, RunOutcome]:
    """Run every job (cache first) on ``executor`` (:mod:`quantproof.evidence.executors`; local processes by
    default); return outcomes keyed by job key. Results are cached here, in the driver, whatever ran them."""
    from .executors import LocalExecutor

    reg = registry()
    results: dict[str, RunOutcome] = {}
    pending: list[Job] = []
    for job in jobs:
        spec = reg[job.name]
        if spec.device == "cuda" and not device.startswith("cuda"):
            results[job.key] = RunOutcome("not-run", "not run: needs GPU (no CUDA device in this run)")
        elif spec.in_process:  # exact arithmetic on stated figures: a process of its own would cost more than it
            t0 = time.monotonic()
            payload = execute(job.name, job.params, {"device": device, "dtype": dtype, "seed": seed,
                                                      "cache_dir": str(cache_dir)})
            payload.get("provenance", {}).pop("files_abs", None)
            results[job.key] = RunOutcome(payload["status"], payload.get("reason"), payload.get("result"),
                                          payload.get("provenance", {}), seconds=time.monotonic() - t0)
        elif use_cache and (entry := cache_read(cache_dir, job.key)) is not None:
            results[job.key] = RunOutcome("ok", None, entry["result"], entry["provenance"], cached=True)
        else:
            pending.append(job)
            continue
        if progress:
            progress(job, results[job.key])
    threads = max(1, (os.cpu_count() or 1) // max(1, min(n_parallel, len(pending) or 1)))
    ctx_fields = {"device": device, "dtype": dtype, "seed": seed, "cache_dir": str(cache_dir), "parent_pid": os.getpid(),
                  "threads": threads}

    def finish(job: Job, outcome: RunOutcome) -> None:
        inputs = outcome.provenance.pop("files_abs", {}) or {}
        if outcome.status == "ok" and use_cache:
            try:
                cache_write(cache_dir, job.key, outcome.result or {}, outcome.provenance, inputs)
            except OSError as exc:  # a cache that cannot be written costs a recomputation, no more
                warnings.warn(f"measurement cache not written ({exc})", RuntimeWarning, stacklevel=1)
        results[job.key] = outcome
        if progress:
            progress(job, outcome)

    def limit_of(job: Job) -> float:
        return timeout_s if timeout_s is not None else reg[job.name].timeout_s

    if pending:
        (executor or LocalExecutor()).run(pending, ctx_fields=ctx_fields, n_parallel=n_parallel, limit_of=limit_of,
                                          finish=finish)
    return results


def run_isolated(name: str, params: dict[str, Any], ctx_fields: dict[str, Any], limit: float) -> RunOutcome:
    """One job in its own spawned process, waited for up to ``limit`` seconds (killed after): what an executor
    that runs one job per worker (Ray) does, with the local executor's outcomes and messages."""
    mpctx = mp.get_context("spawn")
    tmpdir = Path(tempfile.mkdtemp(prefix="qp-measure-"))
    out_path = str(tmpdir / "out.json")
    fields = {**ctx_fields, "parent_pid": os.getpid()}
    proc = mpctx.Process(target=_child, args=(name, params, fields, out_path), daemon=True)
    t0 = time.monotonic()
    proc.start()
    try:
        proc.join(limit)
        elapsed = time.monotonic() - t0
        if proc.is_alive():
            proc.kill()
            proc.join(5)
            return RunOutcome("error", f"timed out after {limit:.0f} s", seconds=elapsed)
        return _read_child(out_path, proc.exitcode, elapsed)
    finally:
        if proc.is_alive():
            proc.kill()
        for p in tmpdir.glob("*"):
            p.unlink(missing_ok=True)
        tmpdir.rmdir()


def _read_child(out_path: str, exitcode: int | None, elapsed: float) -> RunOutcome:
    try:
        payload = json.loads(Path(out_path).read_text())
    except (OSError, ValueError):
        return RunOutcome("error", f"measurement process died (exit code {exitcode}) without a result", seconds=elapsed)
    return RunOutcome(payload["status"], payload.get("reason"), payload.get("result"), payload.get("provenance", {}),
                      seconds=elapsed)


# --------------------------------------------------------------------------------------------- judging

def interval(e: dict[str, Any]) -> tuple[float, float]:
    v = float(e["value"])
    lo = e.get("lo")
    hi = e.get("hi")
    lo = float(lo) if isinstance(lo, (int, float)) else v
    hi = float(hi) if isinstance(hi, (int, float)) else v
    return min(lo, v), max(hi, v)


def _satisfying_set(x: Expectation) -> tuple[float, float, bool, bool]:
    """(low, high, low_open, high_open) of the values the expectation accepts."""
    inf = math.inf
    if x.kind == "value":
        return x.value - x.tol, x.value + x.tol, False, False
    if x.kind == "band":
        return x.lo, x.hi, False, False
    if x.kind == "at_least":
        return x.value, inf, False, True
    if x.kind == "at_most":
        return -inf, x.value, True, False
    if x.kind == "greater_than":
        return x.value, inf, True, True
    if x.kind == "less_than":
        return -inf, x.value, True, True
    raise ValueError(x.kind)


def _inside(v: float, s: tuple[float, float, bool, bool]) -> bool:
    lo, hi, lo_open, hi_open = s
    return (v > lo if lo_open else v >= lo) and (v < hi if hi_open else v <= hi)


def judge_interval(lo: float, hi: float, s: tuple[float, float, bool, bool]) -> str:
    if _inside(lo, s) and _inside(hi, s):
        return "consistent"
    slo, shi, lo_open, hi_open = s
    misses = hi < slo or (hi == slo and lo_open) or lo > shi or (lo == shi and hi_open)
    return "inconsistent" if misses else "inconclusive"


def has_interval(e: dict[str, Any]) -> bool:
    return all(isinstance(e.get(k), (int, float)) and not isinstance(e.get(k), bool) for k in ("lo", "hi"))


def judge(estimate: dict[str, Any], expect: Expectation, other: dict[str, Any] | None = None, *,
          exact: bool = True, other_exact: bool = True) -> str:
    """consistent | inconsistent | inconclusive. ``exact=False`` for an output that needs an interval (rule 3)."""
    if not exact and not has_interval(estimate):
        return "inconclusive"
    lo, hi = interval(estimate)
    if expect.kind == "compare":
        if other is None or (not other_exact and not has_interval(other)):
            return "inconclusive"
        olo, ohi = interval(other)
        dlo, dhi = lo - ohi, hi - olo  # interval of (this - other)
        m = expect.margin
        s = {"gt": (m, math.inf, True, True), "ge": (m, math.inf, False, True),
             "lt": (-math.inf, -m, True, True), "le": (-math.inf, -m, True, False)}[expect.op]
        return judge_interval(dlo, dhi, s)
    return judge_interval(lo, hi, _satisfying_set(expect))


def pick_output(result: dict[str, Any] | None, output: str) -> dict[str, Any] | None:
    if not result:
        return None
    return (result.get("outputs") or {}).get(output)


"""Where measurement jobs run: local processes (the default) or tasks on a Ray cluster (an optional extra).

Policy:
1. An executor only *runs* jobs; the runner (:func:`quantproof.evidence.runner_measure.run_jobs`) decides what runs
   (cache first), writes the results cache and judges. So results, caches and ledger are the same whichever
   executor ran the jobs: both run every job in a fresh spawned process (:func:`runner_measure._child`) with the
   same thread count, seeds and time limit, and report the same outcomes and messages.
2. One fault marks one job: a measurement that raises, hangs (cut at its limit), returns non-finite outputs or kills
   its process is that job's ``error``; on Ray a worker that dies (or a task Ray cannot run) is that job's
   ``error`` too, and every other job goes on.
3. An interrupt (Ctrl-C, SIGTERM) stops every running job: local processes are killed; Ray tasks are cancelled
   with ``force=True``, which kills their workers, whose measurement processes die with them (PR_SET_PDEATHSIG).
4. Ray is optional (``pip install 'quantproof[ray]'``): ``--executor ray`` without it is a clear error (exit 2).
   Each job is one task asking for the CPU threads the local executor would give it and, on a GPU run, one GPU.
   On a multi-node cluster every node needs the same QuantProof checkout and environment, and the cache folder
   should be on a shared filesystem (else captures are recomputed per node; results are still cached by the
   driver).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from .runner_measure import Job, RunOutcome, _child, _read_child, run_isolated

EXECUTORS = ("local", "ray")


class ExecutorUnavailable(RuntimeError):
    """An executor that cannot start here (Ray not installed, no cluster at the address)."""


class LocalExecutor:
    """Jobs in spawned processes on this machine, ``n_parallel`` at a time."""

    name = "local"

    def run(self, pending: list[Job], *, ctx_fields: dict[str, Any], n_parallel: int,
            limit_of: Callable[[Job], float], finish: Callable[[Job, RunOutcome], None]) -> None:
        mpctx = mp.get_context("spawn")
        pending = list(pending)
        running: list[tuple[Job, Any, str, float, float]] = []
        tmpdir = Path(tempfile.mkdtemp(prefix="qp-measure-"))
        try:
            while pending or running:
                while pending and len(running) < max(1, n_parallel):
                    job = pending.pop(0)
                    out_path = str(tmpdir / f"{job.key}.json")
                    proc = mpctx.Process(target=_child, args=(job.name, job.params, ctx_fields, out_path),
                                         daemon=True)
                    proc.start()
                    running.append((job, proc, out_path, time.monotonic(), limit_of(job)))
                time.sleep(0.05)
                still = []
                for job, proc, out_path, t0, limit in running:
                    elapsed = time.monotonic() - t0
                    if proc.is_alive() and elapsed < limit:
                        still.append((job, proc, out_path, t0, limit))
                        continue
                    if proc.is_alive():
                        proc.kill()
                        proc.join(5)
                        outcome = RunOutcome("error", f"timed out after {limit:.0f} s", seconds=elapsed)
                    else:
                        proc.join()
                        outcome = _read_child(out_path, proc.exitcode, elapsed)
                    finish(job, outcome)
                running = still
        finally:
            for job, proc, *_ in running:
                if proc.is_alive():
                    proc.kill()
            for p in tmpdir.glob("*"):
                p.unlink(missing_ok=True)
            tmpdir.rmdir()


def _outcome_to_dict(o: RunOutcome) -> dict[str, Any]:
    return {"status": o.status, "reason": o.reason, "result": o.result, "provenance": o.provenance,
            "seconds": o.seconds}


def ray_task(name: str, params: dict[str, Any], ctx_fields: dict[str, Any], limit: float) -> dict[str, Any]:
    """The body of one Ray task: the job in its own process, exactly as :func:`run_isolated` runs it."""
    return _outcome_to_dict(run_isolated(name, params, ctx_fields, limit))


class RayExecutor:
    """Each job one Ray task (``num_cpus`` = the job's threads, ``num_gpus`` = 1 on a CUDA run)."""

    name = "ray"

    def __init__(self, address: str | None = None, *, num_cpus: int | None = None, task: Callable = ray_task):
        try:
            import ray
        except ImportError:
            raise ExecutorUnavailable("--executor ray needs Ray: pip install 'ray>=2.9' (the [ray] extra)") from None
        self.ray = ray
        self.address = address
        self.num_cpus = num_cpus
        self.task = task

    def _init(self) -> None:
        ray = self.ray
        if ray.is_initialized():
            return
        env = {k: v for k, v in os.environ.items() if k in ("PYTHONPATH", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE",
                                                              "TOKENIZERS_PARALLELISM", "QUANTPROOF_CACHE",
                                                              "QUANTPROOF_HASH_MEMO", "PATH")}
        kw: dict[str, Any] = {"ignore_reinit_error": True, "include_dashboard": False, "log_to_driver": False,
                              "configure_logging": False, "runtime_env": {"env_vars": env}}
        if self.address:
            kw["address"] = self.address
        else:
            kw["num_cpus"] = self.num_cpus or os.cpu_count() or 1
        try:
            ray.init(**kw)
        except Exception as exc:  # noqa: BLE001 - a cluster that cannot be reached is one clear error
            raise ExecutorUnavailable(f"cannot start or reach a Ray cluster"
                                      f"{' at ' + self.address if self.address else ''}: {exc}") from exc

    def run(self, pending: list[Job], *, ctx_fields: dict[str, Any], n_parallel: int,
            limit_of: Callable[[Job], float], finish: Callable[[Job, RunOutcome], None]) -> None:
        ray = self.ray
        self._init()
        remote = ray.remote(max_retries=0)(self.task)
        cpus = int(ctx_fields.get("threads") or 1)
        gpus = 1 if str(ctx_fields.get("device", "")).startswith("cuda") else 0
        refs: dict[Any, tuple[Job, float]] = {}
        try:
            for job in pending:
                ref = remote.options(num_cpus=cpus, num_gpus=gpus).remote(job.name, job.params, ctx_fields,
                                                                         limit_of(job))
                refs[ref] = (job, time.monotonic())
            while refs:
                done, _ = ray.wait(list(refs), num_returns=1, timeout=1.0)
                for ref in done:
                    job, t0 = refs.pop(ref)
                    try:
                        d = ray.get(ref)
                        outcome = RunOutcome(d["status"], d.get("reason"), d.get("result"), d.get("provenance") or {},
                                             seconds=float(d.get("seconds") or 0.0))
                    except Exception as exc:  # noqa: BLE001 - a dead worker marks its own job, the rest go on
                        outcome = RunOutcome("error", f"Ray worker died or the task failed "
                                                      f"({type(exc).__name__}): {str(exc).splitlines()[0][:300]}",
                                             seconds=time.monotonic() - t0)
                    finish(job, outcome)
        finally:
            for ref in refs:
                try:
                    ray.cancel(ref, force=True)
                except Exception:  # noqa: BLE001 - cancelling what may already be gone
                    pass


def make_executor(name: str = "local", address: str | None = None):
    if name == "local":
        if address:
            raise ExecutorUnavailable("--ray-address goes with --executor ray")
        return LocalExecutor()
    if name == "ray":
        return RayExecutor(address)
    raise ExecutorUnavailable(f"--executor must be one of {', '.join(EXECUTORS)}, got {name!r}")

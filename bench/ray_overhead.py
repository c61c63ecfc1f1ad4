#!/usr/bin/env python3
"""Ray dispatch overhead against the local executor, on the same machine and the same measurement jobs.

    python bench/ray_overhead.py                 # representative subset (see below), writes bench/ray_overhead.json
    python bench/ray_overhead.py --claims ID …   # other claims
    python bench/ray_overhead.py --full          # every claim (a cold full ledger twice: an hour on 2 cores)

Each executor runs the measurement stage cold (no cache) over the same claims: figure = (T_ray − T_local) / T_local.
Also timed: a local Ray cluster's start, and the per-job dispatch cost of no-op jobs (the `arith` links), from
which the overhead on the full ledger is extrapolated: start + n_jobs × per-job cost over the full ledger's
measurement time (the cold full-ledger figure in bench/results.json). Correctness is in
tests/reliability/test_runner_faults.py (same results and caches), never here.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "py"))

# representative: arithmetic links (process dispatch dominates) and model measurements of each kind
SUBSET = ["s000_kv_021_to_002", "s001_order_of_magnitude", "compression_ratio_85x", "attention_memory_table",
          "s004_gpt2_df_1_7", "s004_reconstruction_error_6_10", "s003_ffn_mlp_beta_learned_band",
          "s000_weights_bits_per_weight"]


def stage(claims: list[str] | None, executor: str, cache: Path, jobs: int) -> tuple[float, int]:
    from quantproof.claims.loader import load_claims
    from quantproof.ledger.build import RunOptions, build_ledger

    cs = load_claims(ROOT / "claims.yaml")
    opts = RunOptions(repo=ROOT, claims=claims, device="cpu", jobs=jobs, skip_tests=True, skip_lean=True,
                      cache_dir=cache, use_cache=False, executor=executor)
    led = build_ledger(cs, opts)
    return opts.timings["measurements"], len(led["run"]["measurement_seconds"])


def main() -> int:
    import tempfile

    ap = argparse.ArgumentParser()
    ap.add_argument("--claims", nargs="*")
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    claims = None if args.full else (args.claims or SUBSET)
    import ray

    out: dict = {"schema": "quantproof.bench.ray/1", "claims": claims or "all", "jobs": args.jobs,
                 "cpus": os.cpu_count(), "loadavg_start": list(os.getloadavg())}
    t0 = time.monotonic()
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False, configure_logging=False)
    out["ray_start_s"] = round(time.monotonic() - t0, 2)
    ray.shutdown()
    with tempfile.TemporaryDirectory() as tmp:
        res = {}
        for ex in ("local", "ray"):
            t, n = stage(claims, ex, Path(tmp) / ex, args.jobs)
            if ex == "ray":
                ray.shutdown()
            res[ex] = {"measurement_stage_s": round(t, 2), "jobs": n}
        # per-job dispatch: the arith jobs alone (no model, ~all process start)
        arith = [c for c in (claims or []) if c in SUBSET[:4]] or SUBSET[:4]
        for ex in ("local", "ray"):
            t, n = stage(arith, ex, Path(tmp) / f"a-{ex}", args.jobs)
            if ex == "ray":
                ray.shutdown()
            res[f"noop_{ex}"] = {"measurement_stage_s": round(t, 2), "jobs": n}
    out.update(res)
    tl, tr = res["local"]["measurement_stage_s"], res["ray"]["measurement_stage_s"]
    out["overhead_subset"] = round((tr - tl) / tl, 4)
    # each stage starts its own local cluster: its start is counted once, apart
    per_job = (res["noop_ray"]["measurement_stage_s"] - res["noop_local"]["measurement_stage_s"]
               - out["ray_start_s"]) / max(1, res["noop_ray"]["jobs"])
    out["per_job_extra_s"] = round(per_job, 3)
    try:   # the cold full-ledger figure of the main bench (bench/run.py --only ledger)
        figs = json.loads((ROOT / "bench" / "results.json").read_text())["figures"]
        cold = next(f for f in figs if f["section"] == "ledger" and "cold" in f["name"])
        t_full, n_full = float(cold["value"]), int(cold["cache"]["misses"])
        extra = out["ray_start_s"] + n_full * max(per_job, 0.0)
        out["full_ledger"] = {"cold_run_s": t_full, "jobs": n_full, "estimated_extra_s": round(extra, 1),
                              "estimated_overhead": round(extra / t_full, 4),
                              "source": "bench/results.json: " + cold["name"]}
    except (OSError, KeyError, ValueError, StopIteration, ZeroDivisionError) as exc:
        out["full_ledger"] = {"error": str(exc)}
    out["loadavg_end"] = list(os.getloadavg())
    (ROOT / "bench" / "ray_overhead.json").write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

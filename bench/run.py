#!/usr/bin/env python3
"""QuantProof benchmarks: every figure is a ratio measured in the same run against a baseline or a physical limit.

    python bench/run.py                      # default run (~5 min on 2 cores): writes bench/results.json, prints a table
    python bench/run.py --with-ledger        # also the ledger's cold/warm `quantproof run` (minutes more)
    python bench/run.py --big                # bigger sizes (more memory, longer)
    python bench/run.py --only e8 fwht       # some sections (limits always run: the other figures need them)
    python bench/run.py --device cpu         # force CPU even when a CUDA GPU is present (default: auto)

Sections: limits (memory-copy bandwidth, GEMM rates), e8 (E8 and E8⊕E8 nearest point), fwht (FWHT / SRHT vs
dense), lowrank (streamed γ_r/β_eff on 180224×2816 in a memory-measured subprocess), rotation (learned ℓ1
rotation), capture (SmolLM2 K-cache/hidden capture vs a plain forward), ledger (`quantproof run --skip-tests` cold
and warm), strength (`quantproof strength`: a full mutation run, a check with nothing changed, a one-module change;
opt-in with --with-strength or --only strength, ~20 minutes). Correctness is asserted in
tests/kernels/test_fast_paths.py, never here. See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "py"))

import numpy as np  # noqa: E402

SECTIONS = ("limits", "e8", "fwht", "lowrank", "rotation", "capture", "ledger", "strength")
SCHEMA = "quantproof.bench/1"


# ---------------------------------------------------------------------------------------------------------------
# helpers


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


class Timer:
    """Best-of-n wall time with a warm-up; ``sync`` (CUDA) is called before the clock stops."""

    def __init__(self, sync: Callable[[], None] | None = None) -> None:
        self.sync = sync or (lambda: None)

    def __call__(self, fn: Callable[[], Any], reps: int = 5, warmup: int = 1, min_total: float = 0.0) -> dict:
        for _ in range(warmup):
            fn()
            self.sync()
        ts: list[float] = []
        start = time.perf_counter()
        while len(ts) < reps or (time.perf_counter() - start < min_total and len(ts) < 50):
            t = time.perf_counter()
            fn()
            self.sync()
            ts.append(time.perf_counter() - t)
        return {"best": min(ts), "median": statistics.median(ts), "n": len(ts)}


def figure(section: str, name: str, size_param: str, size: float, value: float, unit: str, *,
           baseline: dict | None = None, limit: dict | None = None, target: str | None = None,
           met: bool | None = None, **extra: Any) -> dict:
    """One row: ``value`` with ``ratio = value / baseline`` (or ``baseline / value`` for times, see ``better``)."""
    row = {"section": section, "name": name, "size_param": size_param, "size": size, "value": value, "unit": unit}
    if baseline is not None:
        row["baseline"] = baseline
    if limit is not None:
        row["limit"] = limit
    if target is not None:
        row["target"] = target
        row["met"] = met
    row.update(extra)
    return row


def fmt_num(v: float | None, unit: str = "") -> str:
    if v is None:
        return "-"
    if unit == "B/s":
        return f"{v / 1e9:.2f} GB/s"
    if unit == "B":
        return f"{v / 2**20:.0f} MiB"
    if unit == "s":
        return f"{v * 1e3:.2f} ms" if v < 1 else f"{v:.2f} s"
    if unit == "vec/s":
        return f"{v / 1e6:.1f} M/s"
    if unit == "tok/s":
        return f"{v:.0f} tok/s"
    if unit == "x":
        return f"{v:.2f}x"
    if abs(v) >= 1e5 or (abs(v) < 1e-3 and v != 0):
        return f"{v:.3g}{(' ' + unit) if unit else ''}"
    return f"{v:.3f}{(' ' + unit) if unit else ''}"


def git_commit() -> str | None:
    try:
        r = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10)
        return r.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def machine_info(device: str) -> dict:
    info: dict[str, Any] = {
        "platform": platform.platform(), "python": platform.python_version(), "machine": platform.machine(),
        "cpu_model": None, "logical_cpus": os.cpu_count(), "numpy": np.__version__,
    }
    try:
        info["usable_cpus"] = len(os.sched_getaffinity(0))
    except AttributeError:
        info["usable_cpus"] = os.cpu_count()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
        mem = Path("/proc/meminfo").read_text().split()
        info["mem_total_bytes"] = int(mem[mem.index("MemTotal:") + 1]) * 1024
    except (OSError, ValueError):
        pass
    try:
        import scipy

        info["scipy"] = scipy.__version__
    except ImportError:
        pass
    try:
        cfg = np.show_config(mode="dicts")
        blas = cfg.get("Build Dependencies", {}).get("blas", {})
        info["numpy_blas"] = f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # noqa: BLE001 - older numpy
        pass
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
        info["cuda_available"] = bool(torch.cuda.is_available())
        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
    except ImportError:
        info["torch"] = None
    from quantproof.kernels import _native

    st = _native.status()
    info["native_kernels"] = {"available": st["available"], "why": st["why"], "flags": st["flags"],
                              "threads": _native.default_threads()}
    info["device"] = device
    info["commit"] = git_commit()
    return info


# ---------------------------------------------------------------------------------------------------------------
# limits


def section_limits(ctx: dict) -> list[dict]:
    """Memory-copy bandwidth (bytes copied per second; each byte read once and written once) and GEMM rates."""
    from quantproof.kernels import _native

    tm = ctx["timer"]
    rows: list[dict] = []
    sizes = [32 << 20, 256 << 20, 1 << 30] if not ctx["quick"] else [32 << 20, 256 << 20]
    if ctx["big"]:
        sizes.append(2 << 30)
    L = _native.lib()
    best_large = 0.0
    for nbytes in sizes:
        src = np.ones(nbytes // 4, dtype=np.float32)
        dst = np.empty_like(src)
        t_np = tm(lambda: np.copyto(dst, src), reps=5 if nbytes < (1 << 30) else 3)
        res = {"numpy_copyto_1thread": nbytes / t_np["best"]}
        if L is not None:
            t_n = tm(lambda: L.qp_copy(dst.ctypes.data, src.ctypes.data, nbytes, _native.default_threads()),
                     reps=5 if nbytes < (1 << 30) else 3)
            res["memcpy_all_threads"] = nbytes / t_n["best"]
        best = max(res.values())
        for method, bw in res.items():
            rows.append(figure("limits", f"memcpy[{method}]", "bytes", nbytes, bw, "B/s"))
        if nbytes == max(sizes):
            best_large = best
        del src, dst
        gc.collect()
    ctx["memcpy_bw"] = best_large
    ctx["memcpy_size"] = max(sizes)
    if ctx["cuda"]:
        import torch

        n = 1 << 30
        a = torch.empty(n // 4, dtype=torch.float32, device="cuda")
        b = torch.empty_like(a)
        t = ctx["timer"](lambda: b.copy_(a), reps=10)
        ctx["gpu_memcpy_bw"] = n / t["best"]
        rows.append(figure("limits", "memcpy[cuda_device_to_device]", "bytes", n, n / t["best"], "B/s"))
        del a, b
        torch.cuda.empty_cache()
    # GEMM rates (the compute ceiling for the dense baselines and the Gram accumulation)
    g = np.random.default_rng(0)
    for dt, name in ((np.float32, "sgemm"), (np.float64, "dgemm")):
        n = 2048
        A = g.standard_normal((n, n)).astype(dt)
        B = g.standard_normal((n, n)).astype(dt)
        t = tm(lambda: A @ B, reps=3)
        rate = 2 * n ** 3 / t["best"]
        ctx[f"{name}_rate"] = rate
        rows.append(figure("limits", f"{name}[numpy]", "n", n, rate / 1e9, "GFLOP/s"))
    return rows


# ---------------------------------------------------------------------------------------------------------------
# E8 / E8⊕E8


def section_e8(ctx: dict) -> list[dict]:
    from quantproof.kernels import e8 as K8
    from quantproof.math import lattice as L

    tm = ctx["timer"]
    rows: list[dict] = []
    cuda = ctx["cuda"]
    bw = ctx["gpu_memcpy_bw"] if cuda else ctx["memcpy_bw"]
    limit_name = "GPU device memcpy" if cuda else f"memcpy of {ctx['memcpy_size'] >> 20} MiB (best method)"
    g = np.random.default_rng(1)
    sizes = [10 ** 5, 10 ** 6, 10 ** 7] + ([4 * 10 ** 7] if ctx["big"] else [])
    ref_max = 10 ** 7 if ctx["big"] else 10 ** 6
    for lattice, width, fast, ref in (("e8", 8, K8.nearest_e8_fast, L.nearest_e8),
                                      ("e8e8", 16, K8.nearest_e8e8_fast, L.nearest_e8e8)):
        for n8 in sizes:
            n = n8 * 8 // width                                   # same bytes for E8 and E8⊕E8
            x = (g.standard_normal((n, width), dtype=np.float32) * 2.0)
            nbytes = x.nbytes
            if cuda:
                import torch

                xt = torch.from_numpy(x).cuda()
                t_fast = tm(lambda: fast(xt), reps=5)
                backend = "cuda (torch, float64 arithmetic)"
                del xt
            else:
                # into a preallocated output (as the memcpy limit is measured), and allocating a fresh one per call
                out = np.empty_like(x)
                t_fast = tm(lambda: fast(x, out=out), reps=5 if n8 <= 10 ** 6 else 3)
                t_alloc = tm(lambda: fast(x), reps=3)
                backend = K8.backend("cpu", n)
                del out
            value = nbytes / t_fast["best"]
            base = None
            if n8 <= ref_max:
                t_ref = tm(lambda: ref(x), reps=2 if n8 <= 10 ** 6 else 1, warmup=0 if n8 > 10 ** 5 else 1)
                base = {"name": f"numpy reference quantproof.math.lattice.nearest_{lattice}",
                        "value": nbytes / t_ref["best"], "unit": "B/s", "ratio": t_ref["best"] / t_fast["best"]}
            target_ok = None
            target = None
            if n8 >= 10 ** 6:
                target = ">= 0.25 x memcpy bandwidth and >= 10 x numpy reference"
                target_ok = value / bw >= 0.25 and (base is None or base["ratio"] >= 10)
            rows.append(figure("e8", f"{lattice} nearest point, float32", "vectors(8-dim)", n8, value, "B/s",
                               baseline=base, limit={"name": limit_name, "value": bw, "unit": "B/s",
                                                     "ratio": value / bw},
                               target=target, met=target_ok, backend=backend, n_vectors=n, bytes=nbytes,
                               vectors_per_s=n / t_fast["best"], time=t_fast, output="preallocated (out=)"))
            if not cuda:
                rows.append(figure("e8", f"{lattice} nearest point, float32, fresh output array", "vectors(8-dim)",
                                   n8, nbytes / t_alloc["best"], "B/s",
                                   baseline=None if base is None else dict(base, ratio=base["value"] and
                                                                            t_ref["best"] / t_alloc["best"]),
                                   limit={"name": limit_name, "value": bw, "unit": "B/s",
                                          "ratio": nbytes / t_alloc["best"] / bw}, time=t_alloc))
            del x
            gc.collect()
    # one-thread rate (per-core figure) and the torch-CPU fallback at 10^6 E8 vectors, for context
    if not cuda:
        x = g.standard_normal((10 ** 6, 8), dtype=np.float32) * 2.0
        o1 = np.empty_like(x)
        t1 = tm(lambda: K8.nearest_e8_fast(x, threads=1, out=o1), reps=5)
        rows.append(figure("e8", "e8 nearest point, float32, 1 thread", "vectors(8-dim)", 10 ** 6,
                           x.nbytes / t1["best"], "B/s",
                           limit={"name": limit_name, "value": bw, "unit": "B/s", "ratio": x.nbytes / t1["best"] / bw},
                           vectors_per_s=10 ** 6 / t1["best"]))
        try:
            import torch

            xt = torch.from_numpy(x)
            tt = tm(lambda: K8.nearest_e8_fast(xt), reps=2)
            rows.append(figure("e8", "e8 nearest point, torch backend on CPU (the GPU code)", "vectors(8-dim)",
                               10 ** 6, x.nbytes / tt["best"], "B/s",
                               limit={"name": limit_name, "value": bw, "unit": "B/s",
                                      "ratio": x.nbytes / tt["best"] / bw}))
        except ImportError:
            pass
    return rows


# ---------------------------------------------------------------------------------------------------------------
# FWHT / SRHT


def section_fwht(ctx: dict) -> list[dict]:
    from quantproof.kernels import fwht as KF
    from quantproof.math.rotations import SRHT, fwht, hadamard_matrix

    tm = ctx["timer"]
    rows: list[dict] = []
    cuda = ctx["cuda"]
    batch = 4096
    ds = [128, 1024, 4096] + ([8192] if ctx["big"] else [])
    g = np.random.default_rng(2)
    torch = None
    try:
        import torch as _torch

        torch = _torch
    except ImportError:
        pass
    bw = ctx["gpu_memcpy_bw"] if cuda else ctx["memcpy_bw"]
    for d in ds:
        X = g.standard_normal((batch, d), dtype=np.float32)
        H = (hadamard_matrix(d) / np.sqrt(d)).astype(np.float32)   # the same transform as a dense orthogonal matrix
        srht_full = SRHT(d, rng=3)                  # m = d: the orthogonal R = H D / sqrt(d)
        R_full = srht_full.matrix().astype(np.float32)
        srht = SRHT(d, rng=3, m=d // 4)
        S = srht.matrix().astype(np.float32)
        if cuda:
            Xt, Ht, St = (torch.from_numpy(a).cuda() for a in (X, H, S))
            t_fast = tm(lambda: KF.fwht_fast(Xt), reps=10)
            t_dense = tm(lambda: Xt @ Ht, reps=10)
            dense_name = "torch CUDA dense float32 matmul X @ H/sqrt(d)"
            t_srht = tm(lambda: KF.srht_apply_fast(srht, Xt), reps=10)
            t_sdense = tm(lambda: Xt @ St.T, reps=10)
            t_rfull = tm(lambda: KF.srht_apply_fast(srht_full, Xt), reps=10)
            del Xt, Ht, St
        else:
            t_fast = tm(lambda: KF.fwht_fast(X), reps=7, min_total=0.2)
            cands = {"numpy (OpenBLAS)": tm(lambda: X @ H, reps=3 if d >= 4096 else 7, min_total=0.2)}
            cands_s = {"numpy (OpenBLAS)": tm(lambda: X @ S.T, reps=3 if d >= 4096 else 7, min_total=0.2)}
            if torch is not None:
                Xt, Ht, St = torch.from_numpy(X), torch.from_numpy(H), torch.from_numpy(S)
                cands["torch (MKL)"] = tm(lambda: Xt @ Ht, reps=3 if d >= 4096 else 7, min_total=0.2)
                cands_s["torch (MKL)"] = tm(lambda: Xt @ St.T, reps=3 if d >= 4096 else 7, min_total=0.2)
            best_name = min(cands, key=lambda k: cands[k]["best"])
            t_dense = cands[best_name]
            dense_name = f"dense float32 matmul X @ H/sqrt(d), fastest of {', '.join(cands)}: {best_name}"
            t_srht = tm(lambda: KF.srht_apply_fast(srht, X), reps=7, min_total=0.2)
            sbest = min(cands_s, key=lambda k: cands_s[k]["best"])
            t_sdense = cands_s[sbest]
            t_rfull = tm(lambda: KF.srht_apply_fast(srht_full, X), reps=7, min_total=0.2)
        ratio = t_dense["best"] / t_fast["best"]
        if d == 4096:
            target, met = ">= 10 x dense at d=4096", ratio >= 10
        elif d == 128:
            target, met = ">= 1 x dense at d=128 (not slower)", ratio >= 1
        else:
            target, met = None, None
        nbytes = 2 * X.nbytes   # read + write
        rows.append(figure("fwht", "FWHT float32, batch 4096", "d", d, t_fast["best"], "s",
                           baseline={"name": dense_name, "value": t_dense["best"], "unit": "s", "ratio": ratio},
                           limit={"name": "memcpy-equivalent: (in+out bytes)/2 / memcpy bandwidth",
                                  "value": bw, "unit": "B/s", "ratio": (nbytes / 2 / t_fast["best"]) / bw},
                           target=target, met=met, time=t_fast, dense_time=t_dense))
        r_ratio = t_dense["best"] / t_rfull["best"]
        rows.append(figure("fwht", "SRHT float32 (m=d: R = HD/sqrt(d)), batch 4096", "d", d, t_rfull["best"], "s",
                           baseline={"name": dense_name.replace("H/sqrt(d)", "R (dense orthogonal)"),
                                     "value": t_dense["best"], "unit": "s", "ratio": r_ratio},
                           target=target, met=None if target is None else r_ratio >= (10 if d == 4096 else 1)))
        rows.append(figure("fwht", "SRHT float32 subsampled (m=d/4), batch 4096", "d", d, t_srht["best"], "s",
                           baseline={"name": "dense float32 (m x d) product X @ S.T", "value": t_sdense["best"],
                                     "unit": "s", "ratio": t_sdense["best"] / t_srht["best"]}))
        # float64 against the numpy reference (bit-identical results)
        if not cuda:
            X64 = X.astype(np.float64)
            t64 = tm(lambda: KF.fwht_fast(X64), reps=5, min_total=0.2)
            tref = tm(lambda: fwht(X64), reps=1 if d >= 4096 else 3, warmup=0 if d >= 4096 else 1)
            rows.append(figure("fwht", "FWHT float64, batch 4096", "d", d, t64["best"], "s",
                               baseline={"name": "numpy reference quantproof.math.rotations.fwht",
                                         "value": tref["best"], "unit": "s",
                                         "ratio": tref["best"] / t64["best"]}))
            del X64
        del X, H, S, R_full
        gc.collect()
    return rows


# ---------------------------------------------------------------------------------------------------------------
# streamed low-rank statistics


def section_lowrank(ctx: dict) -> list[dict]:
    rows: list[dict] = []
    d = 2816
    full = 180224
    sizes = [full // 16, full // 4, full] + ([full * 2] if ctx["big"] else [])
    chunk = 2048
    ranks = "16,64,256"
    dev = "cuda" if ctx["cuda"] else "cpu"
    child = Path(__file__).resolve().parent / "_lowrank_child.py"

    def run(rows_: int, mode: str) -> dict:
        cmd = [sys.executable, str(child), str(rows_), str(d), str(chunk), "0", ranks, mode, dev]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
        if r.returncode != 0:
            raise RuntimeError(f"lowrank child failed: {r.stderr[-2000:]}")
        return json.loads(r.stdout.strip().splitlines()[-1])

    ref = None
    ref_rows = sizes[0]
    log(f"lowrank: reference StreamedGram at {ref_rows} x {d}")
    ref = run(ref_rows, "reference")
    rate = ctx.get("dgemm_rate")
    for n in sizes:
        log(f"lowrank: streamed {n} x {d} (chunk {chunk})")
        res = run(n, "fast")
        mat = res["materialized_float32_bytes"]
        work = res["seconds"] - res["generate_seconds"]
        flops = n * d * d   # syrk: one triangle
        base = None
        if n == ref_rows:
            ref_work = ref["seconds"] - ref["generate_seconds"]
            base = {"name": "reference quantproof.math.lowrank.StreamedGram (numpy float64 BᵀB, eigh) on the same "
                            "chunks", "value": ref_work, "unit": "s", "ratio": ref_work / work,
                    "peak_rss_bytes": ref["peak_rss_bytes"]}
        # on CUDA the Gram lives on the GPU: its device peak is the figure (host RSS includes torch's CUDA runtime)
        peak = res["gpu_peak_bytes"] if ctx["cuda"] and res.get("gpu_peak_bytes") else res["peak_rss_bytes"]
        target = met = None
        if n == full:
            target = "peak memory <= 25% of the materialized float32 residual (2.03 GB)"
            met = peak <= 0.25 * mat
        rows.append(figure("lowrank", f"streamed gamma_r/beta_eff peak {'GPU memory' if ctx['cuda'] else 'RSS'}, "
                                      f"d={d}", "rows", n, peak, "B",
                           limit={"name": "materialized float32 residual (rows x d x 4 bytes)", "value": mat,
                                  "unit": "B", "ratio": peak / mat},
                           peak_rss_bytes=res["peak_rss_bytes"],
                           target=target, met=met, tracemalloc_peak_bytes=res["tracemalloc_peak_bytes"],
                           rss_after_imports_bytes=res["rss_after_imports_bytes"],
                           gpu_peak_bytes=res.get("gpu_peak_bytes"),
                           gamma_r=dict(zip(res["ranks"], res["gamma_r"])), beta_1b=res["beta_1b"],
                           beta_eff=dict(zip(res["ranks"], res["beta_eff"]))))
        rows.append(figure("lowrank", f"streamed gamma_r/beta_eff time (excl. generation), d={d}", "rows", n,
                           work, "s", baseline=base,
                           limit=None if rate is None else {
                               "name": "dgemm rate of this run (syrk does rows*d^2 flops)", "value": rate / 1e9,
                               "unit": "GFLOP/s", "ratio": flops / res["accumulate_seconds"] / rate},
                           accumulate_seconds=res["accumulate_seconds"], eigen_seconds=res["eigen_seconds"],
                           generate_seconds=res["generate_seconds"], chunk_rows=chunk))
    return rows


# ---------------------------------------------------------------------------------------------------------------
# learned rotation


def section_rotation(ctx: dict) -> list[dict]:
    from quantproof.kernels._blas import blas_threads
    from quantproof.kernels.rotation import FitInfo, fit_l1_rotation_fast
    from quantproof.math.rotations import fit_l1_rotation

    rows: list[dict] = []
    d = 64
    dev = "cuda" if ctx["cuda"] else "cpu"
    sizes = [4096, 16384, 65536] + ([262144] if ctx["big"] else [])
    rate = ctx.get("dgemm_rate")
    for n in sizes:
        g = np.random.default_rng(4)
        # keys: anisotropic columns, a shared low-rank part and a DC offset (as real K-caches have)
        K = (g.standard_normal((n, d)) * np.linspace(0.3, 3.0, d) + g.standard_normal((n, 4)) @ g.standard_normal(
            (4, d)) + 1.5)
        iters = 10
        tm = ctx["timer"]
        reps = 3 if n <= 16384 else 2
        # per iteration = (time of `iters` iterations − time of the setup alone) / iters, best of `reps` each
        f_it = tm(lambda: fit_l1_rotation_fast(K, center=True, iters=iters, rng=5, device=dev), reps=reps)
        f_0 = tm(lambda: fit_l1_rotation_fast(K, center=True, iters=0, rng=5, device=dev), reps=reps)
        per_fast = max(f_it["best"] - f_0["best"], 1e-9) / iters
        with blas_threads(1):   # the reference at its best on a shared machine: the same BLAS setting as ours
            r_it = tm(lambda: fit_l1_rotation(K, center=True, iters=iters, rng=5), reps=reps)
            r_0 = tm(lambda: fit_l1_rotation(K, center=True, iters=0, rng=5), reps=reps)
        per_ref = max(r_it["best"] - r_0["best"], 1e-9) / iters
        flops = 4 * n * d * d   # two (n x d x d) products per iteration
        rows.append(figure("rotation", "learned rotation: time per iteration", "keys(d=64)", n, per_fast, "s",
                           baseline={"name": "reference quantproof.math.rotations.fit_l1_rotation",
                                     "value": per_ref, "unit": "s", "ratio": per_ref / per_fast},
                           limit=None if rate is None else {"name": "dgemm rate of this run", "value": rate / 1e9,
                                                            "unit": "GFLOP/s",
                                                            "ratio": flops / per_fast / rate}))
        for tol in (1e-6,):
            fi = FitInfo()
            rot = fit_l1_rotation_fast(K, center=True, iters=2000, rng=5, tol=tol, device=dev, info=fi)
            rows.append(figure("rotation", f"learned rotation: to convergence (gain < {tol:g})", "keys(d=64)", n,
                               fi.seconds, "s", iterations=fi.iterations, converged=fi.converged,
                               reason=fi.reason, mean_cos_start=rot.history[0], mean_cos_end=rot.history[-1],
                               baseline={"name": "reference per-iteration time x iterations (estimate)",
                                         "value": per_ref * fi.iterations, "unit": "s",
                                         "ratio": per_ref * fi.iterations / fi.seconds}))
        if n <= 4096 or ctx["big"]:
            fi = FitInfo()
            rot = fit_l1_rotation_fast(K, center=True, iters=3000, rng=5, stop_when_fixed=True, device=dev, info=fi)
            rows.append(figure("rotation", "learned rotation: to a fixed point (codes unchanged)", "keys(d=64)", n,
                               fi.seconds, "s", iterations=fi.iterations, converged=fi.converged, reason=fi.reason,
                               mean_cos_end=rot.history[-1]))
    return rows


# ---------------------------------------------------------------------------------------------------------------
# real-model capture


def section_capture(ctx: dict) -> list[dict]:
    try:
        import torch

        from quantproof.capture import corpus as C
        from quantproof.capture import hooks as Hk
        from quantproof.capture import models as M
    except ImportError as exc:
        return [figure("capture", "skipped", "tokens", 0, 0.0, "", note=f"needs torch/transformers: {exc}")]
    rows: list[dict] = []
    dev = "cuda" if ctx["cuda"] else "cpu"
    threads_before = torch.get_num_threads()
    if not ctx["cuda"] and ctx["capture_threads"]:
        # torch's OpenMP threads spin at barriers: on a shared 2-core machine a 2-thread forward of this small model
        # was measured 20x slower than a 1-thread one. Both sides of the ratio use the same setting.
        torch.set_num_threads(ctx["capture_threads"])
    try:
        return _capture_rows(ctx, torch, C, Hk, M, dev, rows)
    finally:
        torch.set_num_threads(threads_before)


def _capture_rows(ctx, torch, C, Hk, M, dev, rows):
    t = time.perf_counter()
    try:
        model, tok, info = M.load_smollm2(device=dev, dtype="float32")
    except Exception as exc:  # noqa: BLE001 - MeasurementUnavailable and friends
        return [figure("capture", "skipped", "tokens", 0, 0.0, "", note=f"SmolLM2 unavailable: {exc}")]
    load_s = time.perf_counter() - t
    corp = C.load_corpus()
    docs_all = C.split_documents(corp).calibration
    sync = (lambda: torch.cuda.synchronize()) if ctx["cuda"] else (lambda: None)
    base = model.model
    total = 1024 if not ctx["big"] else 8192
    for T in (128, 512, 2048):
        # documents with at least T tokens, so every sequence has exactly T tokens
        docs = []
        for dcm in docs_all:
            if len(tok(dcm.text, truncation=True, max_length=T)["input_ids"]) >= T:
                docs.append(dcm)
            if len(docs) * T >= max(total, T):
                break
        ntok = len(docs) * T
        if not docs:
            continue

        def plain():
            with torch.no_grad():
                for dcm in docs:
                    enc = Hk._tokenize(tok, dcm.text, T, dev)
                    base(input_ids=enc["input_ids"], use_cache=False)
            sync()

        def lm():
            with torch.no_grad():
                for dcm in docs:
                    enc = Hk._tokenize(tok, dcm.text, T, dev)
                    model(input_ids=enc["input_ids"])
            sync()

        def cap(kinds):
            def f():
                Hk._capture_causal(model, tok, info, kinds, docs, T)
                sync()
            return f

        cap_kh = cap(["k_post_rope", "hidden"])
        cap_k = cap(["k_post_rope"])
        plain()  # warm-up
        cap_kh()
        res = {"plain": [], "k+hidden": [], "k": [], "lm": []}
        rounds = 3
        for i in range(rounds):   # interleaved, so that load changes hit all variants alike
            for name, fn in (("plain", plain), ("k+hidden", cap_kh), ("k", cap_k), ("lm", lm)):
                if name == "lm" and i:
                    continue
                t = time.perf_counter()
                fn()
                res[name].append(time.perf_counter() - t)
        best = {k: min(v) for k, v in res.items()}
        for name in ("k+hidden", "k"):
            over = best[name] / best["plain"] - 1.0
            rows.append(figure("capture", f"SmolLM2 capture overhead ({name})", "tokens/sequence", T, over, "",
                               baseline={"name": "plain forward of the transformer body (model.model, no cache, "
                                                 "no hooks), same documents, same tokenization",
                                         "value": ntok / best["plain"], "unit": "tok/s",
                                         "ratio": best["plain"] / best[name]},
                               target="overhead <= 10% over a plain forward", met=over <= 0.10,
                               tokens=ntok, sequences=len(docs), tokens_per_s=ntok / best[name],
                               torch_threads=torch.get_num_threads(),
                               overhead_vs_full_lm_forward=best[name] / best["lm"] - 1.0,
                               full_lm_tokens_per_s=ntok / best["lm"], times=res, model_load_seconds=load_s))
        rows.append(figure("capture", "SmolLM2 plain forward throughput", "tokens/sequence", T,
                           ntok / best["plain"], "tok/s", tokens=ntok))
    return rows


# ---------------------------------------------------------------------------------------------------------------
# ledger


def _claim_ids() -> list[str]:
    try:
        import yaml

        data = yaml.safe_load((ROOT / "claims.yaml").read_text())
        return [c["id"] for c in (data or {}).get("claims", []) or []]
    except Exception:  # noqa: BLE001
        return []


def section_ledger(ctx: dict) -> list[dict]:
    rows: list[dict] = []
    exe = shutil.which("quantproof") or str(Path(sys.executable).with_name("quantproof"))
    ids = _claim_ids()
    if not ids:
        return [figure("ledger", "skipped", "claims", 0, 0.0, "", note="claims.yaml has no claims yet")]
    dev = "cuda" if ctx["cuda"] else "cpu"
    sizes = sorted({max(1, len(ids) // 4), max(1, len(ids) // 2), len(ids)})
    tmp = Path(tempfile.mkdtemp(prefix="qp-bench-ledger-"))
    cache = tmp / "cache"        # one cache: the cold full run fills it, every warm run (any subset) only reads it

    def once(n: int) -> tuple[float, int, str, dict]:
        claims = [] if n == len(ids) else ["--claims", *ids[:n]]
        out = tmp / f"out-{n}"
        cmd = [exe, "run", "--skip-tests", "--cache-dir", str(cache), "--out", str(out), "--device",
               dev, "--quiet", *claims]
        t = time.perf_counter()
        r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=3600)
        dt = time.perf_counter() - t
        try:
            run_info = json.loads((out / "ledger.json").read_text()).get("run", {})
        except (OSError, ValueError):
            run_info = {}
        return dt, r.returncode, (r.stdout + r.stderr)[-600:], run_info.get("cache", {})

    def warm_run(n: int) -> tuple[tuple[float, int, str, dict], list]:
        """A warm run; when it missed the cache, the measured code changed under us (a concurrent commit changes
        the measurement cache key): that run refilled the cache, so run again and report that one."""
        attempts = []
        for _ in range(3):
            w = once(n)
            attempts.append({"seconds": w[0], "cache": w[3]})
            if not w[3].get("misses"):
                break
            log(f"ledger: warm run of {n} claims missed the cache {w[3]} (the code changed meanwhile): again")
        return w, attempts

    try:
        log(f"ledger: cold run, all {len(ids)} claims (fresh --cache-dir)")
        cold = once(len(ids))
        rows.append(figure("ledger", "quantproof run --skip-tests, cold (fresh --cache-dir)", "claims", len(ids),
                           cold[0], "s", target="cold full run < 600 s", met=cold[0] < 600 and cold[1] == 0,
                           returncode=cold[1], output_tail=cold[2] if cold[1] else None, cache=cold[3],
                           limit={"name": "10-minute budget", "value": 600.0, "unit": "s", "ratio": cold[0] / 600.0}))
        for n in [len(ids)] + [m for m in sizes if m != len(ids)]:   # the full warm run first: right after cold
            log(f"ledger: warm run, {n} claims")
            warm, attempts = warm_run(n)
            full = n == len(ids)
            rows.append(figure("ledger", "quantproof run --skip-tests, warm (nothing changed)", "claims", n, warm[0],
                               "s", target="warm full run < 15 s" if full else None,
                               met=(warm[0] < 15 and warm[1] == 0 and not warm[3].get("misses")) if full else None,
                               returncode=warm[1], output_tail=warm[2] if warm[1] else None, cache=warm[3],
                               attempts=attempts,
                               baseline={"name": "cold full run", "value": cold[0], "unit": "s",
                                         "ratio": cold[0] / warm[0]} if full else None,
                               limit={"name": "15-second budget", "value": 15.0, "unit": "s",
                                      "ratio": warm[0] / 15.0}))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return rows


# ---------------------------------------------------------------------------------------------------------------
# strength (mutation testing of the claim-tagged tests)


def _strength_cmd(repo: Path, *args: str) -> tuple[float, int, str, dict]:
    """Wall time, exit code, output tail, the report's ``run`` record, plus the CPU seconds of the whole process tree
    (the CLI, its worker and every fork: each is waited for, so RUSAGE_CHILDREN holds them) in ``run["cpu_s"]``.
    On a shared machine the wall time depends on the load; CPU seconds / 2 is what 2 idle cores would take."""
    import resource

    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(repo / "py"), os.environ.get("PYTHONPATH", "")]))
    cmd = [sys.executable, "-m", "quantproof.cli", "--repo", str(repo), "strength", "--quiet", *args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    r = subprocess.run(cmd, cwd=repo, capture_output=True, text=True, timeout=7200, env=env)
    dt = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = next((Path(args[i + 1]) for i, a in enumerate(args) if a == "--out"), repo / "ledger" / "strength.json")
    try:
        run_info = json.loads(out.read_text()).get("run", {}) if out.exists() else {}
    except (OSError, ValueError):
        run_info = {}
    run_info = dict(run_info, cpu_s=round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 1))
    return dt, r.returncode, (r.stdout + r.stderr)[-800:], run_info


def section_strength(ctx: dict) -> list[dict]:
    """`quantproof strength`: the full run (budget 30 min on 2 cores), a `--check` with nothing changed, and a
    `--check` after a one-module change (budget 5 min) in a scratch copy of py/ and tests/ whose report is current:
    the module edited is the one with the median number of mutants, with a comment appended (new sha256: all of
    its mutants re-run, nothing else)."""
    rows: list[dict] = []
    tmp = Path(tempfile.mkdtemp(prefix="qp-bench-strength-"))
    try:
        full_out = tmp / "full.json"
        log("strength: full run (--full, every mutant)")
        full = _strength_cmd(ROOT, "--full", "--out", str(full_out))
        rows.append(figure("strength", "quantproof strength --full", "mutants", full[3].get("mutants_run", 0),
                           full[0], "s", target="full run < 1800 s on 2 cores", met=full[0] < 1800 and full[1] == 0,
                           cpu_s=full[3].get("cpu_s"), two_core_s=(full[3].get("cpu_s") or 0) / 2,
                           returncode=full[1], output_tail=full[2] if full[1] else None, run=full[3],
                           limit={"name": "30-minute budget", "value": 1800.0, "unit": "s",
                                  "ratio": full[0] / 1800.0}))
        if full[1] != 0 or not full_out.exists():
            return rows
        copy = tmp / "repo"
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis")
        for d in ("py", "tests"):
            shutil.copytree(ROOT / d, copy / d, ignore=ignore)
        for f in ("pyproject.toml", "claims.yaml"):
            if (ROOT / f).exists():
                shutil.copy2(ROOT / f, copy / f)
        (copy / "ledger").mkdir()
        shutil.copy2(full_out, copy / "ledger" / "strength.json")
        log("strength: --check, nothing changed")
        same = _strength_cmd(copy, "--check", "--out", str(tmp / "same.json"))
        rows.append(figure("strength", "quantproof strength --check (current report)", "mutants", 0, same[0], "s",
                           target="check < 30 s", met=same[0] < 30 and same[1] == 0, returncode=same[1],
                           output_tail=same[2] if same[1] else None))
        report = json.loads(full_out.read_text())
        sizes = sorted((len(m["mutants"]), f) for f, m in report["modules"].items() if m["mutants"])
        n, module = sizes[len(sizes) // 2]
        with open(copy / module, "a", encoding="utf-8") as fh:
            fh.write("\n# bench: a one-module change\n")
        log(f"strength: --check after editing {module} ({n} mutants)")
        one = _strength_cmd(copy, "--check", "--out", str(tmp / "one.json"))
        rows.append(figure("strength", f"quantproof strength --check after editing {Path(module).name}", "mutants",
                           one[3].get("mutants_run", 0), one[0], "s", target="one-module change < 300 s",
                           met=one[0] < 300 and one[1] == 0, returncode=one[1],
                           cpu_s=one[3].get("cpu_s"), two_core_s=(one[3].get("cpu_s") or 0) / 2,
                           output_tail=one[2] if one[1] else None, run=one[3], module=module,
                           baseline={"name": "full run", "value": full[0], "unit": "s", "ratio": full[0] / one[0]},
                           limit={"name": "5-minute budget", "value": 300.0, "unit": "s", "ratio": one[0] / 300.0}))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return rows


# ---------------------------------------------------------------------------------------------------------------
# output


def print_table(results: dict) -> None:
    m = results["machine"]
    print()
    print(f"QuantProof bench — {m.get('cpu_model')} ({m.get('usable_cpus')} usable CPUs), device {m['device']}, "
          f"numpy {m['numpy']}, torch {m.get('torch')}, native kernels: "
          f"{'yes' if m['native_kernels']['available'] else 'no (' + m['native_kernels']['why'] + ')'}")
    print(f"load average (1/5/15 min): start {results['loadavg']['start']}, end {results['loadavg']['end']}; "
          f"memcpy bandwidth {results['limits'].get('memcpy_bw', 0) / 1e9:.2f} GB/s; "
          f"dgemm {results['limits'].get('dgemm_rate', 0) / 1e9:.0f} GFLOP/s; "
          f"sgemm {results['limits'].get('sgemm_rate', 0) / 1e9:.0f} GFLOP/s")
    hdr = ("figure", "size", "value", "vs baseline", "vs limit", "target", "met")
    lines = []
    for r in results["figures"]:
        if r["section"] == "limits":
            continue
        size = f"{r['size_param']}={r['size']:g}"
        val = fmt_num(r["value"], r["unit"]) if r["unit"] else (f"{100 * r['value']:+.1f}%" if r["section"] ==
                                                               "capture" else fmt_num(r["value"]))
        b = r.get("baseline")
        lim = r.get("limit")
        lines.append((r["name"], size, val, "-" if not b else f"{b['ratio']:.2f}x", "-" if not lim else
                      f"{lim['ratio']:.3f}", r.get("target") or "", {True: "MET", False: "MISSED",
                                                                       None: ""}[r.get("met")]))
    w = [max(len(str(x[i])) for x in lines + [hdr]) for i in range(len(hdr))]
    w[5] = min(w[5], 48)
    fmt = "  ".join(f"{{:{'<' if i in (0, 1, 5) else '>'}{w[i]}}}" for i in range(len(hdr)))
    print(fmt.format(*hdr))
    print("  ".join("-" * x for x in w))
    for ln in lines:
        print(fmt.format(*(str(c)[:w[i]] for i, c in enumerate(ln))))
    print()
    print("vs baseline: baseline time / our time (or our rate / baseline rate): >1 means faster than the baseline.")
    print("vs limit: our rate / the limit (memcpy bandwidth, dgemm rate), or our peak memory / materialized size.")
    t = results["targets"]
    print(f"targets: {t['met']} met, {t['missed']} missed"
          + (f" ({', '.join(t['missed_names'])})" if t["missed_names"] else ""))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results.json"))
    ap.add_argument("--only", nargs="*", choices=SECTIONS, help="run only these sections (limits always runs)")
    ap.add_argument("--skip", nargs="*", choices=SECTIONS, default=[], help="skip these sections")
    ap.add_argument("--merge", action="store_true",
                    help="keep the other sections' figures already in --out (re-run some sections only)")
    ap.add_argument("--with-ledger", action="store_true",
                    help="also time the ledger (a cold `quantproof run` takes minutes: not in the default run)")
    ap.add_argument("--with-strength", action="store_true",
                    help="also time `quantproof strength` (a full mutation run: ~20 minutes on 2 cores)")
    ap.add_argument("--big", action="store_true", help="add bigger sizes (and the reference at bigger sizes)")
    ap.add_argument("--quick", action="store_true", help="smaller limits/capture runs (a smoke run, not for numbers)")
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--capture-threads", type=int, default=1,
                    help="torch CPU threads in the capture section (default 1; 0 = torch's default)")
    args = ap.parse_args(argv)

    cuda = False
    if args.device != "cpu":
        try:
            import torch

            cuda = bool(torch.cuda.is_available())
        except ImportError:
            cuda = False
        if args.device == "cuda" and not cuda:
            print("error: --device cuda but torch sees no CUDA GPU", file=sys.stderr)
            return 2
    device = "cuda" if cuda else "cpu"
    sync = None
    if cuda:
        import torch

        sync = torch.cuda.synchronize
    ctx: dict[str, Any] = {"timer": Timer(sync), "cuda": cuda, "big": args.big, "quick": args.quick,
                           "capture_threads": args.capture_threads}
    started = time.time()
    la_start = loadavg()
    log(f"machine info (device {device}); compiling the native kernels if needed")
    machine = machine_info(device)
    figures: list[dict] = []
    section_info: dict[str, Any] = {}
    default = [s for s in SECTIONS if (s != "ledger" or args.with_ledger) and (s != "strength" or args.with_strength)]
    wanted = [s for s in SECTIONS
              if s == "limits" or ((s in args.only if args.only else s in default) and s not in args.skip)]
    funcs = {"limits": section_limits, "e8": section_e8, "fwht": section_fwht, "lowrank": section_lowrank,
             "rotation": section_rotation, "capture": section_capture, "ledger": section_ledger,
             "strength": section_strength}
    for s in wanted:
        log(f"section {s} (load average {loadavg()})")
        t = time.perf_counter()
        la = loadavg()
        try:
            rows = funcs[s](ctx)
            err = None
        except Exception as exc:  # noqa: BLE001 - one broken section must not lose the others
            import traceback

            rows, err = [], f"{type(exc).__name__}: {exc}\n{traceback.format_exc()[-3000:]}"
            log(f"section {s} failed: {exc}")
        figures.extend(rows)
        section_info[s] = {"seconds": time.perf_counter() - t, "loadavg_before": la, "loadavg_after": loadavg(),
                           "error": err}
    out = Path(args.out)
    merged_from = None
    if args.merge and out.is_file():
        try:
            prev = json.loads(out.read_text())
            rerun = set(wanted)
            kept = [f for f in prev.get("figures", []) if f["section"] not in rerun]
            figures = kept + figures
            for sname, sinfo in prev.get("sections", {}).items():
                if sname not in rerun:   # a section kept through several merges keeps the run it came from
                    section_info[sname] = dict(sinfo, from_run_started=sinfo.get("from_run_started")
                                               or prev.get("started"))
            merged_from = {"started": prev.get("started"), "loadavg": prev.get("loadavg"),
                           "sections_kept": sorted({f["section"] for f in kept}),
                           "limits": prev.get("limits")}
        except (OSError, ValueError, KeyError) as exc:
            log(f"--merge: could not read {out}: {exc}")
    targeted = [f for f in figures if f.get("target")]
    results = {
        "schema": SCHEMA,
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "started": _dt.datetime.fromtimestamp(started, _dt.timezone.utc).isoformat(),
        "seconds": time.time() - started,
        "loadavg": {"start": la_start, "end": loadavg()},
        "machine": machine,
        "limits": {k: ctx[k] for k in ("memcpy_bw", "memcpy_size", "gpu_memcpy_bw", "sgemm_rate", "dgemm_rate")
                   if k in ctx},
        "sections": section_info,
        "merged_from": merged_from,
        "figures": figures,
        "targets": {"met": sum(1 for f in targeted if f.get("met")),
                    "missed": sum(1 for f in targeted if f.get("met") is False),
                    "missed_names": [f"{f['name']} @ {f['size_param']}={f['size']:g}" for f in targeted
                                     if f.get("met") is False]},
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, indent=1, default=float) + "\n")
    os.replace(tmp, out)
    print_table(results)
    print(f"wrote {os.path.relpath(out)} in {results['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Child process of bench/run.py's low-rank section: streamed γ_r/β_eff of a generated 1-bit residual.

Run alone so that its peak memory (ru_maxrss, tracemalloc) is its own. Prints one JSON line.
The keys are generated chunk by chunk from a seeded generator (chunk i uses ``default_rng([seed, i])``): anisotropic
Gaussian columns, a rank-8 shared component and a DC offset, float32 — the residual is never materialised.

    python bench/_lowrank_child.py ROWS D CHUNK SEED R1,R2,... fast|reference DEVICE
"""

from __future__ import annotations

import json
import resource
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "py"))

import numpy as np  # noqa: E402


def peak_rss() -> int:
    """Peak resident set of this process in bytes: VmHWM (Linux; reset by exec, unlike ru_maxrss, which a child
    inherits from the parent it was forked from), else ru_maxrss."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def key_chunks(rows: int, d: int, chunk: int, seed: int, clock: list[float]):
    g0 = np.random.default_rng(seed)
    col_scale = (0.3 + 2.7 * g0.random(d)).astype(np.float32)
    W = (g0.standard_normal((8, d)) * 0.8).astype(np.float32)
    dc = (g0.standard_normal(d) * 0.5).astype(np.float32)
    for i, a in enumerate(range(0, rows, chunk)):
        t = time.perf_counter()
        m = min(chunk, rows - a)
        g = np.random.default_rng([seed, i])
        K = g.standard_normal((m, d), dtype=np.float32)
        K *= col_scale
        K += g.standard_normal((m, 8), dtype=np.float32) @ W
        K += dc
        clock[0] += time.perf_counter() - t
        yield K
        del K


def main() -> None:
    rows, d, chunk, seed = (int(v) for v in sys.argv[1:5])
    ranks = [int(v) for v in sys.argv[5].split(",")]
    mode = sys.argv[6]
    device = sys.argv[7] if len(sys.argv) > 7 else "cpu"
    if device != "cpu":
        import torch  # noqa: F401  (so that GramAccumulator sees CUDA)
    from quantproof.kernels.lowrank import residual_stats_streamed

    rss0 = peak_rss()
    tracemalloc.start()
    clock = [0.0]
    t0 = time.perf_counter()
    if mode == "fast":
        st = residual_stats_streamed(key_chunks(rows, d, chunk, seed, clock), ranks, device=device, d=d)
        out = st.to_json()
    else:
        from quantproof.math.lowrank import StreamedGram, beta_eff
        from quantproof.math.sign_quant import one_bit_quantize

        acc = StreamedGram(d)
        l1sq = energy = 0.0
        for K in key_chunks(rows, d, chunk, seed, clock):
            K64 = K.astype(np.float64)
            acc.add(K64 - one_bit_quantize(K64))
            l1sq += float(np.sum(np.sum(np.abs(K64), axis=1) ** 2))
            energy += float(np.sum(K64 * K64))
        beta = l1sq / (d * energy)
        from quantproof.kernels._blas import blas_threads

        with blas_threads(1):   # the reference's eigh at its best on a shared machine (as the fast path runs it)
            w, _ = acc.eigh()
        tot = float(np.trace(acc.G))
        g = [float(np.sum(w[:r]) / tot) for r in ranks]   # = StreamedGram.gamma_r(r), one eigh for all r
        out = {"rows": acc.rows, "d": d, "ranks": ranks, "gamma_r": g, "beta_1b": beta,
               "beta_eff": [float(beta_eff(beta, x)) for x in g]}
    seconds = time.perf_counter() - t0
    _, tm_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = peak_rss()
    gpu_peak = None
    if device != "cpu":
        import torch

        if torch.cuda.is_available():
            gpu_peak = int(torch.cuda.max_memory_allocated())
    out.update(mode=mode, device=device, seconds=seconds, generate_seconds=clock[0], chunk=chunk,
               peak_rss_bytes=rss, rss_after_imports_bytes=rss0, tracemalloc_peak_bytes=tm_peak,
               gpu_peak_bytes=gpu_peak, materialized_float32_bytes=rows * d * 4)
    print(json.dumps(out))


if __name__ == "__main__":
    main()

"""Self-test measurements: a known-answer estimate and deliberate faults, used to test the runner itself.

``selftest_normal_mean`` estimates the mean of N(mu, 1) from ``n`` seeded samples with a 95% normal-theory
interval: its answer is known, so the judging rules can be tested against real, uncertain estimates.
``selftest_fault`` misbehaves on purpose (raise, hang, NaN, hard crash, unavailable) so that the runner's
isolation is tested on the real code path. Neither is linked from the shipped claims.yaml.
"""

from __future__ import annotations

import math
import os
import time

from ..evidence.measurement import Context, Estimate, MeasurementUnavailable, Plot, Result, Series, measurement


@measurement("selftest_normal_mean", outputs={"mean": "sample mean of N(mu, 1) draws"},
             description="known-answer estimate for testing the runner")
def normal_mean(ctx: Context, *, mu: float = 0.0, n: int = 1000) -> Result:
    x = ctx.rng().normal(mu, 1.0, size=n)
    m = float(x.mean())
    half = 1.959964 * float(x.std(ddof=1)) / math.sqrt(n)
    ctx.note_tensor("samples", x)
    plot = Plot("selftest_hist", "first samples", "index", "value",
                [Series("samples", list(range(min(n, 20))), [float(v) for v in x[:20]])], kind="scatter")
    return Result({"mean": Estimate(m, m - half, m + half, n=n, level=0.95, method="normal theory")}, [plot],
                  model="none (synthetic)")


@measurement("selftest_fault", exact={'value': 'a fixed value'}, outputs={"value": "a fixed value when mode is 'ok'"}, timeout_s=60,
             description="deliberate faults for testing the runner's isolation")
def fault(ctx: Context, *, mode: str = "ok", seconds: float = 3600.0) -> Result:
    if mode == "raise":
        raise RuntimeError("deliberate failure")
    if mode == "hang":
        time.sleep(seconds)
    if mode == "nan":
        return Result({"value": Estimate(float("nan"))})
    if mode == "inf":
        return Result({"value": Estimate(float("inf"))})
    if mode == "crash":
        os._exit(139)
    if mode == "unavailable":
        raise MeasurementUnavailable("needs the package 'nothing-here' (pip install nothing-here)")
    return Result({"value": Estimate(1.0)})


@measurement("selftest_cuda_only", exact={'value': 'a fixed value'}, outputs={"value": "1.0"}, device="cuda",
             description="a GPU-only measurement: without CUDA the ledger must say 'not run: needs GPU'")
def cuda_only(ctx: Context) -> Result:
    import torch

    x = torch.ones(4, device=ctx.torch_device())
    return Result({"value": Estimate(float(x.mean().item()))})

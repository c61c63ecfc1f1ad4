"""Is a dose-response curve a "sharp phase transition" or a smooth trend?  (issue 6, seed 000)

Data: ``y[i, j]`` = a metric for prompt/document ``i`` at blend ratio ``x[j]`` (one row per prompt, the same grid
of ``x`` for every row). Models fitted by least squares to all ``n = rows * len(x)`` observations (Gaussian errors):

smooth
  ``linear``     y = a + c x                                   (k = 3 parameters with sigma)
  ``quadratic``  y = a + c x + d x^2                           (k = 4)
change-point
  ``hinge``      y = a + c x + d max(0, x - tau)               (k = 5: continuous broken stick, tau free)
  ``step``       y = a1 + c1 x (x <= tau),  a2 + c2 x (x > tau) (k = 6: two regimes, a jump at tau)
  ``logistic``   y = a + h / (1 + exp(-(x - tau) / s))         (k = 5: free steepness s; sharp when s is small)

``tau`` for hinge/step is searched over the midpoints of the grid (and the grid points for hinge); for logistic
tau and s are fitted on a grid then refined (Nelder-Mead). BIC = n ln(RSS/n) + k ln n; the preferred model has the
smallest BIC; ``delta_bic = min BIC(smooth) - min BIC(change-point)`` (> 0 favours a change point, > 10 is "very
strong" on the Kass-Raftery scale).

Because rows (prompts) are correlated across x, the likelihood-ratio statistic ``T = n ln(RSS_quadratic /
RSS_best_cp)`` is calibrated with a *wild cluster bootstrap under the smooth null*: new data = the quadratic fit
plus, for each row, the deviation vector (from the across-row mean at each x) of a row drawn with replacement, times
a random sign; refit everything, recompute T. The bootstrap p-value
includes the search over tau. The change point's uncertainty comes from a cluster bootstrap of prompts (rows).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

SMOOTH = ("linear", "quadratic")
CHANGE = ("hinge", "step", "logistic")
N_PARAMS = {"linear": 3, "quadratic": 4, "hinge": 5, "step": 6, "logistic": 5}


@dataclass
class Fit:
    model: str
    rss: float
    k: int
    n: int
    tau: float | None = None
    params: dict[str, float] = field(default_factory=dict)

    @property
    def bic(self) -> float:
        return self.n * np.log(max(self.rss, 1e-300) / self.n) + self.k * np.log(self.n)


def _lstsq(A: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    r = y - A @ coef
    return coef, float(r @ r)


def _flat(x: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    Y = np.asarray(Y, dtype=float)
    if Y.ndim == 1:
        Y = Y[None, :]
    X = np.broadcast_to(np.asarray(x, dtype=float)[None, :], Y.shape)
    ok = np.isfinite(Y)
    return X[ok].ravel(), Y[ok].ravel()


def _candidates(x: np.ndarray, with_points: bool) -> np.ndarray:
    g = np.unique(np.asarray(x, dtype=float))
    mids = (g[1:] + g[:-1]) / 2
    c = np.concatenate([mids, g[1:-1]]) if with_points else mids
    # keep at least 2 distinct x on each side so both regimes are identified
    c = np.array([t for t in np.unique(c) if (g <= t).sum() >= 2 and (g > t).sum() >= 2])
    return c


def fit_model(model: str, x: np.ndarray, y: np.ndarray, grid: np.ndarray | None = None) -> Fit:
    """Least-squares fit of one model to flat observations (x, y)."""
    n = len(y)
    one = np.ones_like(x)
    if model == "linear":
        coef, rss = _lstsq(np.c_[one, x], y)
        return Fit(model, rss, 3, n, None, {"a": coef[0], "c": coef[1]})
    if model == "quadratic":
        coef, rss = _lstsq(np.c_[one, x, x * x], y)
        return Fit(model, rss, 4, n, None, {"a": coef[0], "c": coef[1], "d": coef[2]})
    if grid is None:
        grid = np.unique(x)
    if model == "hinge":
        best = None
        for t in _candidates(grid, True):
            coef, rss = _lstsq(np.c_[one, x, np.maximum(0.0, x - t)], y)
            if best is None or rss < best.rss:
                best = Fit(model, rss, 5, n, float(t), {"a": coef[0], "c": coef[1], "d": coef[2]})
        return best if best is not None else Fit(model, np.inf, 5, n)
    if model == "step":
        best = None
        for t in _candidates(grid, False):
            lo = x <= t
            A = np.c_[lo, x * lo, ~lo, x * ~lo].astype(float)
            coef, rss = _lstsq(A, y)
            if best is None or rss < best.rss:
                best = Fit(model, rss, 6, n, float(t),
                           {"a1": coef[0], "c1": coef[1], "a2": coef[2], "c2": coef[3],
                            "jump": (coef[2] + coef[3] * t) - (coef[0] + coef[1] * t)})
        return best if best is not None else Fit(model, np.inf, 6, n)
    if model == "logistic":
        return _fit_logistic(x, y, grid)
    raise ValueError(f"unknown model {model!r}")


def _fit_logistic(x: np.ndarray, y: np.ndarray, grid: np.ndarray) -> Fit:
    from scipy.optimize import minimize

    n = len(y)
    g = np.unique(grid)
    span = float(g.max() - g.min()) or 1.0
    one = np.ones_like(x)

    def inner(tau: float, log_s: float) -> tuple[float, np.ndarray]:
        z = np.clip((x - tau) / np.exp(log_s), -60, 60)
        coef, rss = _lstsq(np.c_[one, 1.0 / (1.0 + np.exp(-z))], y)
        return rss, coef

    best = (np.inf, 0.0, 0.0)
    for tau in np.linspace(g.min(), g.max(), 21):
        for log_s in np.log(span * np.array([0.002, 0.01, 0.03, 0.1, 0.3, 1.0])):
            rss, _ = inner(tau, log_s)
            if rss < best[0]:
                best = (rss, tau, log_s)
    lo_s, hi_s = np.log(span * 1e-3), np.log(span * 3.0)
    res = minimize(lambda p: inner(float(np.clip(p[0], g.min(), g.max())),
                                   float(np.clip(p[1], lo_s, hi_s)))[0],
                   x0=[best[1], best[2]], method="Nelder-Mead",
                   options={"xatol": 1e-5, "fatol": 1e-12, "maxiter": 400})
    tau = float(np.clip(res.x[0], g.min(), g.max()))
    log_s = float(np.clip(res.x[1], lo_s, hi_s))
    rss, coef = inner(tau, log_s)
    if rss > best[0]:
        rss, coef = inner(best[1], best[2])
        tau, log_s = float(best[1]), float(best[2])
    return Fit("logistic", rss, 5, n, tau, {"a": coef[0], "h": coef[1], "s": float(np.exp(log_s)),
                                              "width_10_90": float(np.exp(log_s) * 2 * np.log(9))})


def fit_all(x: np.ndarray, Y: np.ndarray) -> dict[str, Fit]:
    xf, yf = _flat(x, Y)
    grid = np.unique(np.asarray(x, dtype=float))
    return {m: fit_model(m, xf, yf, grid) for m in SMOOTH + CHANGE}


def _lr_stat(fits: dict[str, Fit]) -> float:
    cp = min((fits[m] for m in CHANGE), key=lambda f: f.bic)
    return float(fits["quadratic"].n * np.log(max(fits["quadratic"].rss, 1e-300) / max(cp.rss, 1e-300)))


@dataclass
class ChangePointTest:
    preferred: str
    delta_bic: float                 # min BIC(smooth) - min BIC(change point); > 0 favours a change point
    best_smooth: str
    best_change: str
    tau: float | None                # change point of the best change-point model
    tau_lo: float | None
    tau_hi: float | None
    lr_stat: float
    p_value: float                   # cluster residual bootstrap under the quadratic null
    n_boot: int
    bics: dict[str, float]
    fits: dict[str, Fit]

    def summary(self) -> dict[str, Any]:
        return {
            "preferred": self.preferred, "delta_bic": self.delta_bic, "best_smooth": self.best_smooth,
            "best_change": self.best_change, "tau": self.tau, "tau_ci": [self.tau_lo, self.tau_hi],
            "lr_stat": self.lr_stat, "p_value": self.p_value, "n_boot": self.n_boot, "bic": self.bics,
            "params": {m: {**f.params, "tau": f.tau} for m, f in self.fits.items()},
        }


def changepoint_test(x, Y, *, n_boot: int = 200, rng: np.random.Generator | None = None) -> ChangePointTest:
    """Smooth vs change-point models for rows ``Y`` (prompts) over the grid ``x``; see the module docstring."""
    rng = rng if rng is not None else np.random.default_rng(0)
    x = np.asarray(x, dtype=float)
    Y = np.asarray(Y, dtype=float)
    if Y.ndim == 1:
        Y = Y[None, :]
    fits = fit_all(x, Y)
    bics = {m: float(f.bic) for m, f in fits.items()}
    best_s = min(SMOOTH, key=lambda m: bics[m])
    best_c = min(CHANGE, key=lambda m: bics[m])
    preferred = min(bics, key=lambda m: bics[m])
    delta = bics[best_s] - bics[best_c]
    T = _lr_stat(fits)
    # null: quadratic mean curve + whole-prompt residual vectors
    q = fits["quadratic"].params
    mean = q["a"] + q["c"] * x + q["d"] * x * x
    # noise = each prompt's deviation from the across-prompt mean at each x (not the quadratic's residuals: those
    # would carry a systematic misfit, i.e. the very change point under test, into the null data)
    R = Y - np.nanmean(Y, axis=0, keepdims=True)
    R = np.where(np.isfinite(R), R, 0.0)
    rows = Y.shape[0]
    exceed = 0
    done = 0
    taus = []
    for _ in range(n_boot):
        idx = rng.integers(0, rows, size=rows)
        # whole-prompt residual vectors with Rademacher signs (a wild cluster bootstrap: also works for few rows)
        Yb = mean[None, :] + R[idx] * rng.choice([-1.0, 1.0], size=(rows, 1))
        Tb = _lr_stat(fit_all(x, Yb))
        exceed += Tb >= T - 1e-12
        done += 1
        # cluster bootstrap of the observed rows for the change point's location
        Yc = Y[rng.integers(0, rows, size=rows)]
        fc = fit_model(best_c, *_flat(x, Yc), np.unique(x))
        if fc.tau is not None:
            taus.append(fc.tau)
    p = (1 + exceed) / (1 + done) if done else float("nan")
    tau_lo = float(np.percentile(taus, 2.5)) if taus else None
    tau_hi = float(np.percentile(taus, 97.5)) if taus else None
    return ChangePointTest(preferred, float(delta), best_s, best_c, fits[best_c].tau, tau_lo, tau_hi, T, float(p),
                           done, bics, fits)

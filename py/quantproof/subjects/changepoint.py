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
tau and s are searched on a coarse grid (41 × 16 over the x range and s from 10⁻³ to 3 times it) and then on a fine
grid around the best coarse point. BIC = n ln(RSS/n) + k ln n; the preferred model has the
smallest BIC; ``delta_bic = min BIC(smooth) - min BIC(change-point)`` (> 0 favours a change point, > 10 is "very
strong" on the Kass-Raftery scale).

Every model is a function of x alone, so each fit runs on the per-x group means weighted by the group sizes:
``RSS = within-group SS + sum_g n_g (mean_g - f(x_g))^2`` exactly (the fit is the same least-squares fit as on the
flat observations, only cheaper), which makes refitting inside a bootstrap affordable.

Uncertainty (the independent unit is the row: a prompt or a document; cells of one row are correlated across x):

* :func:`bootstrap_changepoint` resamples rows with replacement and refits *everything* in each replicate (all five
  models, the choice of the best change-point model, its tau): percentile intervals of ``delta_bic``, ``tau`` and
  the logistic's 10–90% width ``2·ln 9·s`` (how sharp the change is, in x units: a delta_bic > 10 alone also
  rewards a smooth S-shaped saturation, which no quadratic fits).
* :func:`changepoint_test` can also calibrate the likelihood-ratio statistic ``T = n ln(RSS_quadratic /
  RSS_best_cp)`` with a wild cluster bootstrap under the smooth null (``p_boot`` > 0): new data = the quadratic fit
  plus, for each row, the deviation vector (from the across-row mean at each x) of a row drawn with replacement,
  times a random sign; the p-value includes the search over tau.

Controls with the real data's noise (:func:`planted`): each row's deviation from the across-row mean at each x is
kept and the mean curve replaced by (a) a step at a given tau, as high as the real curve's largest change (a
transition by construction: the test should find it), or (b) a smooth power law ``a + c x^p`` fitted to the real
means (no transition by construction: the test should not find one).
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


@dataclass(frozen=True)
class Grouped:
    """Sufficient statistics of flat observations for models that depend on x only."""

    x: np.ndarray       # distinct x
    w: np.ndarray       # observations per x
    m: np.ndarray       # mean per x
    within: float       # sum of squared deviations from the group means
    n: int

    def lstsq(self, A: np.ndarray) -> tuple[np.ndarray, float]:
        """Weighted least squares of the group means on the columns of A (one row per distinct x)."""
        s = np.sqrt(self.w)
        coef, *_ = np.linalg.lstsq(A * s[:, None], self.m * s, rcond=None)
        r = self.m - A @ coef
        return coef, float(self.within + (self.w * r * r).sum())


def group(x: np.ndarray, y: np.ndarray) -> Grouped:
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    g, inv = np.unique(x, return_inverse=True)
    w = np.bincount(inv, minlength=len(g)).astype(float)
    keep = w > 0
    m = np.bincount(inv, weights=y, minlength=len(g)) / np.where(keep, w, 1.0)
    within = float(((y - m[inv]) ** 2).sum())
    return Grouped(g[keep], w[keep], m[keep], within, len(y))


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
    return _fit_grouped(model, group(x, y), grid)


def _fit_grouped(model: str, G: Grouped, grid: np.ndarray | None = None) -> Fit:
    x, n = G.x, G.n
    one = np.ones_like(x)
    if model == "linear":
        coef, rss = G.lstsq(np.c_[one, x])
        return Fit(model, rss, 3, n, None, {"a": coef[0], "c": coef[1]})
    if model == "quadratic":
        coef, rss = G.lstsq(np.c_[one, x, x * x])
        return Fit(model, rss, 4, n, None, {"a": coef[0], "c": coef[1], "d": coef[2]})
    if grid is None:
        grid = x
    if model == "hinge":
        best = None
        for t in _candidates(grid, True):
            coef, rss = G.lstsq(np.c_[one, x, np.maximum(0.0, x - t)])
            if best is None or rss < best.rss:
                best = Fit(model, rss, 5, n, float(t), {"a": coef[0], "c": coef[1], "d": coef[2]})
        return best if best is not None else Fit(model, np.inf, 5, n)
    if model == "step":
        best = None
        for t in _candidates(grid, False):
            lo = x <= t
            A = np.c_[lo, x * lo, ~lo, x * ~lo].astype(float)
            coef, rss = G.lstsq(A)
            if best is None or rss < best.rss:
                best = Fit(model, rss, 6, n, float(t),
                           {"a1": coef[0], "c1": coef[1], "a2": coef[2], "c2": coef[3],
                            "jump": (coef[2] + coef[3] * t) - (coef[0] + coef[1] * t)})
        return best if best is not None else Fit(model, np.inf, 6, n)
    if model == "logistic":
        return _fit_logistic(G, grid)
    raise ValueError(f"unknown model {model!r}")


def _logistic_rss(G: Grouped, tau: np.ndarray, log_s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """RSS, a, h of y = a + h·sigmoid((x − tau)/s) for arrays of (tau, log s): closed-form weighted regression on
    the two columns [1, sigmoid], vectorised over the candidates."""
    tau = np.atleast_1d(np.asarray(tau, dtype=float))[:, None]
    s = np.exp(np.atleast_1d(np.asarray(log_s, dtype=float)))[:, None]
    z = 1.0 / (1.0 + np.exp(-np.clip((G.x[None, :] - tau) / s, -60, 60)))
    w, m = G.w[None, :], G.m[None, :]
    W = G.w.sum()
    sx, sy = (w * z).sum(1), float((G.w * G.m).sum())
    sxx, sxy = (w * z * z).sum(1), (w * z * m).sum(1)
    syy = float((G.w * G.m * G.m).sum())
    den = W * sxx - sx * sx
    ok = den > 1e-12 * max(W * W, 1.0)
    h = np.where(ok, (W * sxy - sx * sy) / np.where(ok, den, 1.0), 0.0)
    a = (sy - h * sx) / W
    rss = G.within + np.maximum(syy - a * sy - h * sxy, 0.0)
    return rss, a, h


def _fit_logistic(G: Grouped, grid: np.ndarray) -> Fit:
    """Grid search over (tau, log s) in two vectorised stages: a coarse grid over the whole range, then a fine grid
    around the best coarse point (a and h are solved in closed form for every candidate)."""
    n = G.n
    g = np.unique(grid)
    span = float(g.max() - g.min()) or 1.0
    lo_s, hi_s = np.log(span * 1e-3), np.log(span * 3.0)
    taus = np.linspace(g.min(), g.max(), 41)
    lss = np.linspace(lo_s, hi_s, 16)
    T, S = np.meshgrid(taus, lss)
    rss, _, _ = _logistic_rss(G, T.ravel(), S.ravel())
    i = int(np.argmin(rss))
    t0, s0 = float(T.ravel()[i]), float(S.ravel()[i])
    dt, ds = taus[1] - taus[0], lss[1] - lss[0]
    T, S = np.meshgrid(np.clip(np.linspace(t0 - dt, t0 + dt, 21), g.min(), g.max()),
                       np.clip(np.linspace(s0 - ds, s0 + ds, 21), lo_s, hi_s))
    rss2, a2, h2 = _logistic_rss(G, T.ravel(), S.ravel())
    j = int(np.argmin(rss2))
    tau, log_s = float(T.ravel()[j]), float(S.ravel()[j])
    return Fit("logistic", float(rss2[j]), 5, n, tau, {"a": float(a2[j]), "h": float(h2[j]), "s": float(np.exp(log_s)),
                                                         "width_10_90": float(np.exp(log_s) * 2 * np.log(9))})


def fit_all(x: np.ndarray, Y: np.ndarray) -> dict[str, Fit]:
    G = group(*_flat(x, Y))
    grid = np.unique(np.asarray(x, dtype=float))
    return {m: _fit_grouped(m, G, grid) for m in SMOOTH + CHANGE}


def _lr_stat(fits: dict[str, Fit]) -> float:
    cp = min((fits[m] for m in CHANGE), key=lambda f: f.bic)
    return float(fits["quadratic"].n * np.log(max(fits["quadratic"].rss, 1e-300) / max(cp.rss, 1e-300)))


def _summary_of(fits: dict[str, Fit]) -> tuple[float, str, str, float | None]:
    """(delta_bic, best smooth, best change-point model, its tau)."""
    best_s = min(SMOOTH, key=lambda m: fits[m].bic)
    best_c = min(CHANGE, key=lambda m: fits[m].bic)
    return float(fits[best_s].bic - fits[best_c].bic), best_s, best_c, fits[best_c].tau


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
    p_value: float                   # wild cluster bootstrap under the quadratic null (nan when p_boot = 0)
    n_boot: int
    bics: dict[str, float]
    fits: dict[str, Fit]
    delta_bic_lo: float | None = None
    delta_bic_hi: float | None = None
    width: float | None = None       # 10–90% width of the fitted logistic (in x units): sharp when small
    width_lo: float | None = None
    width_hi: float | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "preferred": self.preferred, "delta_bic": self.delta_bic, "best_smooth": self.best_smooth,
            "best_change": self.best_change, "tau": self.tau, "tau_ci": [self.tau_lo, self.tau_hi],
            "delta_bic_ci": [self.delta_bic_lo, self.delta_bic_hi],
            "width": self.width, "width_ci": [self.width_lo, self.width_hi],
            "lr_stat": self.lr_stat, "p_value": self.p_value, "n_boot": self.n_boot, "bic": self.bics,
            "params": {m: {**f.params, "tau": f.tau} for m, f in self.fits.items()},
        }


def bootstrap_changepoint(x, Y, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """delta_bic, the best change-point model's tau and the logistic's 10–90% width in each replicate ``Y[idx[r]]``
    (rows resampled; every model, the choice of the best one and its tau refitted). Returns three arrays (tau nan
    where undefined)."""
    Y = np.asarray(Y, dtype=float)
    if Y.ndim == 1:
        Y = Y[None, :]
    d, t, w = [], [], []
    for rows in idx:
        fits = fit_all(x, Y[rows])
        dd, _, _, tt = _summary_of(fits)
        d.append(dd)
        t.append(np.nan if tt is None else tt)
        w.append(fits["logistic"].params.get("width_10_90", np.nan))
    return np.array(d), np.array(t), np.array(w)


def percentile(v: np.ndarray, level: float = 0.95) -> tuple[float | None, float | None]:
    v = np.asarray(v, dtype=float)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return None, None
    a = (1 - level) / 2
    return float(np.quantile(v, a)), float(np.quantile(v, 1 - a))


def changepoint_test(x, Y, *, n_boot: int = 200, rng: np.random.Generator | None = None, p_boot: int | None = None,
                     idx: np.ndarray | None = None) -> ChangePointTest:
    """Smooth vs change-point models for rows ``Y`` (prompts) over the grid ``x``; see the module docstring.

    ``n_boot`` row-bootstrap replicates give the intervals of delta_bic and tau (``idx`` passes the replicates'
    row indices, e.g. to use the same draws for a control); ``p_boot`` (default ``n_boot``) wild-bootstrap
    replicates give the p-value (0 skips it)."""
    rng = rng if rng is not None else np.random.default_rng(0)
    x = np.asarray(x, dtype=float)
    Y = np.asarray(Y, dtype=float)
    if Y.ndim == 1:
        Y = Y[None, :]
    rows = Y.shape[0]
    fits = fit_all(x, Y)
    bics = {m: float(f.bic) for m, f in fits.items()}
    delta, best_s, best_c, tau = _summary_of(fits)
    preferred = min(bics, key=lambda m: bics[m])
    T = _lr_stat(fits)
    if idx is None:
        idx = rng.integers(0, rows, size=(n_boot, rows))
    d_b, t_b, w_b = bootstrap_changepoint(x, Y, idx)
    d_lo, d_hi = percentile(d_b)
    t_lo, t_hi = percentile(t_b)
    w_lo, w_hi = percentile(w_b)
    p_boot = n_boot if p_boot is None else p_boot
    p = float("nan")
    if p_boot > 0:
        # null: quadratic mean curve + whole-row deviation vectors from the across-row mean at each x (not the
        # quadratic's residuals: those would carry a systematic misfit, i.e. the very change point under test, into
        # the null data), with Rademacher signs (a wild cluster bootstrap: also works for few rows)
        q = fits["quadratic"].params
        mean = q["a"] + q["c"] * x + q["d"] * x * x
        R = Y - np.nanmean(Y, axis=0, keepdims=True)
        R = np.where(np.isfinite(R), R, 0.0)
        exceed = 0
        for _ in range(p_boot):
            ib = rng.integers(0, rows, size=rows)
            Yb = mean[None, :] + R[ib] * rng.choice([-1.0, 1.0], size=(rows, 1))
            exceed += _lr_stat(fit_all(x, Yb)) >= T - 1e-12
        p = (1 + exceed) / (1 + p_boot)
    return ChangePointTest(preferred, float(delta), best_s, best_c, tau, t_lo, t_hi, T, float(p), len(idx), bics,
                           fits, d_lo, d_hi, fits["logistic"].params.get("width_10_90"), w_lo, w_hi)


def planted(x, Y, kind: str, *, tau: float = 0.225, height: float | None = None) -> np.ndarray:
    """The real rows' noise around a planted mean curve (module docstring, "Controls").

    ``kind="step"``: mean = the real mean at the smallest x, plus ``height`` (default: the real mean curve's largest
    departure from its value at the smallest x, with its sign) for x > tau. ``kind="smooth"``: mean = a + c·x^p fitted to the real means by least
    squares (p on a grid in [0.5, 4]): a smooth monotone curve with the real data's overall change."""
    x = np.asarray(x, dtype=float)
    Y = np.asarray(Y, dtype=float)
    mu = np.nanmean(Y, axis=0)
    R = Y - mu[None, :]
    if kind == "step":
        i0 = int(np.argmin(x))
        dev = mu - mu[i0]
        h = float(dev[np.argmax(np.abs(dev))]) if height is None else float(height)
        mean = mu[i0] + h * (x > tau)
    elif kind == "smooth":
        best = None
        xs = x - x.min()
        for p in np.linspace(0.5, 4.0, 36):
            A = np.c_[np.ones_like(xs), xs ** p]
            coef, *_ = np.linalg.lstsq(A, mu, rcond=None)
            r = float(((mu - A @ coef) ** 2).sum())
            if best is None or r < best[0]:
                best = (r, A @ coef)
        mean = best[1]
    else:
        raise ValueError(f"unknown planted kind {kind!r} (step | smooth)")
    return mean[None, :] + R

"""The measurement registry: named, parameterised measurements that claims.yaml can call.

A measurement is a function registered with :func:`measurement`. It takes a :class:`Context` plus keyword
parameters (each with a type annotation and a default) and returns a :class:`Result` whose ``outputs`` are
:class:`Estimate` values. claims.yaml names the measurement, its parameters, which output it reads and what the
claim asserts about that output; the runner computes, caches and judges it.

Rules for measurement code (so ``quantproof check`` stays fast and the ledger stays honest):

1. Modules in ``quantproof.measurements`` import heavy libraries (torch, transformers) inside the function body.
2. A measurement computes its numbers from data; it never reads a figure from a seed.
3. Every file a measurement reads is passed through ``ctx.use_file`` (hashed into the provenance) and every
   tensor that matters through ``ctx.note_tensor``.
4. Randomness comes from ``ctx.rng()`` / ``ctx.seed`` so that a re-run is identical.
5. A measurement that needs a GPU declares ``device="cuda"``; without CUDA the runner reports it "not run: needs GPU".
6. Uncertainty comes from the independent unit. An output computed from sampled data (documents, prompts, random
   draws) reports an interval (``lo``/``hi``) from resampling that unit, with every fitted part refit inside the
   resampling (or fitted on a separate split). An output that needs none is declared ``exact`` at registration,
   with the reason (arithmetic on stated figures, a count over a table, a counterexample: a maximum over the inputs
   evaluated). A point estimate of an output that is neither is judged ``inconclusive``.
7. ``on_model=True`` marks a measurement that runs on a real model standing in for the seed's; the ledger's reason
   names the model that ran.
"""

from __future__ import annotations

import hashlib
import inspect
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal

Number = float | int


@dataclass(frozen=True)
class Estimate:
    """A measured scalar with its uncertainty: ``lo``/``hi`` bound a confidence interval (``level``)."""

    value: float
    lo: float | None = None
    hi: float | None = None
    n: int | None = None
    level: float | None = None
    unit: str = ""
    method: str = ""

    def to_json(self) -> dict[str, Any]:
        return {k: _clean(v) for k, v in asdict(self).items()}

    @staticmethod
    def from_json(d: dict[str, Any]) -> "Estimate":
        return Estimate(**d)


@dataclass(frozen=True)
class Series:
    name: str
    x: list[float]
    y: list[float]
    lo: list[float] | None = None
    hi: list[float] | None = None


@dataclass(frozen=True)
class Plot:
    """Plot data rendered by the ledger (as inline SVG), never an image produced by the measurement."""

    id: str
    title: str
    x_label: str
    y_label: str
    series: list[Series]
    kind: Literal["line", "scatter", "bar"] = "line"
    log_x: bool = False
    log_y: bool = False

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        for s in d["series"]:
            for key in ("x", "y", "lo", "hi"):
                if s[key] is not None:
                    s[key] = [_clean(float(v)) for v in s[key]]
        return d


@dataclass
class Result:
    outputs: dict[str, Estimate]
    plots: list[Plot] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    model: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "outputs": {k: v.to_json() for k, v in sorted(self.outputs.items())},
            "plots": [p.to_json() for p in self.plots],
            "details": _clean(self.details),
            "model": self.model,
        }


class MeasurementUnavailable(Exception):
    """Raised by a measurement that cannot run here (missing package, no GPU, missing model file).

    The runner records the claim's measurement as "not run" with this message; it is never a pass.
    """


@dataclass
class Context:
    """What the runner hands a measurement: device, dtype, seeds, a cache and provenance recorders."""

    device: str = "cpu"
    dtype: str = "float32"
    seed: int = 0
    cache_dir: Path = Path(".quantproof-cache")
    files: dict[str, str] = field(default_factory=dict)
    files_abs: dict[str, str] = field(default_factory=dict)
    tensors: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def rng(self, offset: int = 0):
        import numpy as np

        return np.random.default_rng(self.seed + offset)

    def use_file(self, path: str | os.PathLike[str], label: str | None = None) -> Path:
        """Record a file read by the measurement (sha256 goes into the ledger's provenance)."""
        p = Path(path)
        digest = file_sha256(p)
        self.files[label or p.name] = digest
        self.files_abs[str(p.resolve())] = digest  # for cache staleness checks only; not published in the ledger
        return p

    def note_tensor(self, name: str, array: Any) -> None:
        """Record the sha256 of a tensor's bytes (numpy array or torch tensor) in the provenance."""
        try:
            import numpy as np

            if hasattr(array, "detach"):
                array = array.detach().cpu().numpy()
            a = np.ascontiguousarray(array)
            h = hashlib.sha256()
            h.update(str(a.dtype).encode() + str(a.shape).encode())
            h.update(a.tobytes())
            self.tensors[name] = h.hexdigest()
        except Exception as exc:  # provenance must never sink a measurement
            self.notes.append(f"could not hash tensor {name}: {exc}")

    def note(self, text: str) -> None:
        self.notes.append(text)

    def torch_device(self):
        import torch

        return torch.device(self.device)


@dataclass(frozen=True)
class ParamSpec:
    name: str
    type: type
    default: Any


@dataclass(frozen=True)
class MeasurementSpec:
    name: str
    func: Callable[..., Result]
    params: dict[str, ParamSpec]
    outputs: dict[str, str]
    device: Literal["any", "cuda"]
    description: str
    module: str
    timeout_s: float
    exact: dict[str, str] = field(default_factory=dict)  # output -> why no interval is needed
    on_model: bool = False
    in_process: bool = False  # cheap exact arithmetic: run in the runner's process (runner_measure, rule 1)

    def is_exact(self, output: str) -> bool:
        return output in self.exact

    def bind(self, params: dict[str, Any]) -> dict[str, Any]:
        """Full parameter set (defaults filled in), checking names and types; raises ValueError naming the field."""
        out: dict[str, Any] = {}
        for key in params:
            if key not in self.params:
                raise ValueError(f"unknown parameter {key!r} for measurement {self.name!r} "
                                 f"(known: {', '.join(sorted(self.params)) or 'none'})")
        for key, spec in self.params.items():
            value = params.get(key, spec.default)
            out[key] = _coerce(self.name, key, spec.type, value)
        return out


_REGISTRY: dict[str, MeasurementSpec] = {}

_ALLOWED_PARAM_TYPES = (int, float, str, bool, list)


def measurement(
    name: str,
    *,
    outputs: dict[str, str],
    device: Literal["any", "cuda"] = "any",
    description: str = "",
    timeout_s: float = 600.0,
    exact: dict[str, str] | None = None,
    on_model: bool = False,
    in_process: bool = False,
) -> Callable[[Callable[..., Result]], Callable[..., Result]]:
    """Register a measurement. Every keyword parameter needs an annotation from int/float/str/bool/list and a default.

    ``exact`` maps outputs that need no interval to the reason why (rule 6 above); ``on_model`` marks measurements
    on a real model standing in for the seed's (rule 7)."""
    unknown_exact = sorted(set(exact or {}) - set(outputs))
    if unknown_exact:
        raise ValueError(f"measurement {name}: exact names unknown outputs {unknown_exact}")

    def deco(func: Callable[..., Result]) -> Callable[..., Result]:
        sig = inspect.signature(func)
        params: dict[str, ParamSpec] = {}
        hints = inspect.get_annotations(func, eval_str=True)
        for i, (pname, p) in enumerate(sig.parameters.items()):
            if i == 0:
                continue  # the Context
            if p.kind is not inspect.Parameter.KEYWORD_ONLY:
                raise TypeError(f"measurement {name}: parameter {pname} must be keyword-only")
            if p.default is inspect.Parameter.empty:
                raise TypeError(f"measurement {name}: parameter {pname} needs a default")
            t = hints.get(pname)
            origin = getattr(t, "__origin__", t)
            if origin not in _ALLOWED_PARAM_TYPES:
                raise TypeError(f"measurement {name}: parameter {pname} has unsupported type {t!r}")
            params[pname] = ParamSpec(pname, origin, p.default)
        if name in _REGISTRY and _REGISTRY[name].func.__qualname__ != func.__qualname__:
            raise ValueError(f"measurement {name!r} registered twice")
        _REGISTRY[name] = MeasurementSpec(
            name=name,
            func=func,
            params=params,
            outputs=dict(outputs),
            device=device,
            description=description or (func.__doc__ or "").strip().split("\n")[0],
            module=func.__module__,
            timeout_s=timeout_s,
            exact=dict(exact or {}),
            on_model=on_model,
            in_process=in_process,
        )
        return func

    return deco


def registry() -> dict[str, MeasurementSpec]:
    """All registered measurements (imports every module of ``quantproof.measurements`` once)."""
    import importlib
    import pkgutil

    import quantproof.measurements as pkg

    for mod in pkgutil.iter_modules(pkg.__path__):
        if not mod.name.startswith("_"):
            name = f"{pkg.__name__}.{mod.name}"
            try:
                importlib.import_module(name)
            except Exception as exc:  # noqa: BLE001 - reported as one clear line, not a traceback
                raise MeasurementRegistryError(
                    f"measurement module {name} cannot be imported ({type(exc).__name__}: {exc}); "
                    "its measurements are unknown, so no claim can be checked") from exc
    return dict(_REGISTRY)


class MeasurementRegistryError(RuntimeError):
    """A module of ``quantproof.measurements`` failed to import."""


LARGE_FILE_BYTES = 256 << 20


def file_sha256(path: Path, _cache: dict[tuple[str, int, int], str] = {}) -> str:  # noqa: B006 - deliberate memo
    """sha256 of a file, remembered for the process by (path, size, mtime). Files of 256 MB or more (checkpoints of
    the seeds' models: a 52 GB Gemma would take a minute per measurement process) are also remembered across
    processes in ``$QUANTPROOF_HASH_MEMO`` (default ``~/.cache/quantproof/file-sha256.json``) by the same identity."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _cache:
        memo = _large_memo() if st.st_size >= LARGE_FILE_BYTES else None
        mkey = f"{key[0]}|{key[1]}|{key[2]}"
        if memo is not None and mkey in memo[1]:
            _cache[key] = memo[1][mkey]
            return _cache[key]
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        _cache[key] = h.hexdigest()
        if memo is not None:
            _store_memo(memo[0], mkey, _cache[key])
    return _cache[key]


def _large_memo() -> tuple[Path, dict[str, str]]:
    import json

    p = Path(os.environ.get("QUANTPROOF_HASH_MEMO") or Path.home() / ".cache" / "quantproof" / "file-sha256.json")
    try:
        d = json.loads(p.read_text())
        return p, {str(k): str(v) for k, v in d.items()} if isinstance(d, dict) else {}
    except (OSError, ValueError):
        return p, {}


def _store_memo(p: Path, key: str, digest: str) -> None:
    import json
    import tempfile

    try:
        _, memo = _large_memo()
        memo[key] = digest
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=p.parent, suffix=".tmp")
        with os.fdopen(fd, "w") as fh:
            json.dump(memo, fh, sort_keys=True)
        os.replace(tmp, p)
    except OSError:
        pass   # a memo that cannot be written costs a re-hash next time, no more


def _coerce(mname: str, key: str, typ: type, value: Any) -> Any:
    if typ is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if typ is bool and not isinstance(value, bool):
        raise ValueError(f"parameter {key!r} of {mname!r} must be a boolean, got {value!r}")
    if typ is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError(f"parameter {key!r} of {mname!r} must be an integer, got {value!r}")
    if not isinstance(value, typ):
        raise ValueError(f"parameter {key!r} of {mname!r} must be {typ.__name__}, got {value!r}")
    return value


def _clean(v: Any) -> Any:
    """JSON-safe values: NaN/Inf become strings so the ledger stays valid JSON; numpy scalars become Python."""
    if isinstance(v, dict):
        return {str(k): _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        try:
            v = v.item()
        except Exception:
            return str(v)
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    return v

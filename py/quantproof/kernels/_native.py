"""Build, cache and load the native kernels (a small C library compiled with the system compiler at first use).

* Source: ``_csrc.C_SOURCE``. Compiler: ``$CC``, else ``gcc``, else ``cc``. Flags: ``-O3 -march=native
  -ffp-contract=off -fno-fast-math -fopenmp-simd -pthread`` (``-march=native`` is dropped if the compiler refuses it).
  No fused multiply-add and no reassociation: the lattice kernels are bit-identical to the reference.
* Cache: ``$QUANTPROOF_KERNEL_CACHE``, else ``$XDG_CACHE_HOME/quantproof/kernels``, else
  ``~/.cache/quantproof/kernels`` (a temporary directory when none is writable). The file name is a hash of the source,
  the flags, the compiler's version, the architecture and the CPU's feature flags, so a cache shared between machines
  never serves a binary built for another CPU. Builds are atomic (temporary file + rename) and serialised by a lock.
* After loading, a self-check compares the library with the reference on a few hundred vectors (ties included); a
  library that fails it is not used.
* ``QUANTPROOF_NATIVE_ARCH=generic`` builds the portable variant (no ``-march=native``, generic vectors only; used
  by the tests to check that variant too). ``QUANTPROOF_NATIVE=0`` disables the native path. Whatever goes wrong (no compiler, a failed build, a failed
  self-check), :func:`lib` returns ``None``, :func:`status` says why, and callers fall back to torch / numpy.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import warnings
from pathlib import Path

from ._csrc import C_SOURCE

ABI = 9
FLAGS_BASE = ["-O3", "-ffp-contract=off", "-fno-fast-math", "-fno-finite-math-only", "-fopenmp-simd",
              "-std=gnu11", "-fPIC", "-shared", "-pthread"]
NONFINITE = 1
INEXACT32 = 2

_lock = threading.Lock()
_state: dict[str, object] = {"lib": None, "tried": False, "why": "not loaded yet", "path": None, "flags": None}


def cache_dir() -> Path:
    env = os.environ.get("QUANTPROOF_KERNEL_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "quantproof" / "kernels"


def _compiler() -> str | None:
    cc = os.environ.get("CC")
    if cc and shutil.which(cc.split()[0]):
        return cc
    for c in ("gcc", "cc", "clang"):
        if shutil.which(c):
            return c
    return None


def _cpu_flags() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or ""


def _cc_version(cc: str) -> str:
    try:
        r = subprocess.run([*cc.split(), "--version"], capture_output=True, text=True, timeout=30)
        return r.stdout.splitlines()[0] if r.stdout else ""
    except (OSError, subprocess.SubprocessError):
        return ""


def _writable(d: Path) -> bool:
    try:
        d.mkdir(parents=True, exist_ok=True)
        probe = d / f".probe-{os.getpid()}"
        probe.write_text("x")
        probe.unlink()
        return True
    except OSError:
        return False


def _compile(cc: str, src: Path, out: Path, flags: list[str]) -> tuple[bool, str]:
    try:
        r = subprocess.run([*cc.split(), *flags, str(src), "-o", str(out), "-lm"], capture_output=True, text=True,
                           timeout=180)
    except (OSError, subprocess.SubprocessError) as exc:
        return False, str(exc)
    return r.returncode == 0, (r.stderr or r.stdout)[-2000:]


def _build() -> tuple[Path | None, str, list[str] | None]:
    cc = _compiler()
    if cc is None:
        return None, "no C compiler found (set $CC or install gcc)", None
    d = cache_dir()
    if not _writable(d):
        d = Path(tempfile.gettempdir()) / f"quantproof-kernels-{os.getuid() if hasattr(os, 'getuid') else 'u'}"
        if not _writable(d):
            return None, f"no writable cache directory ({cache_dir()})", None
    version = _cc_version(cc)
    errors = []
    generic = os.environ.get("QUANTPROOF_NATIVE_ARCH", "native").strip().lower() == "generic"
    for arch in ((["-DQP_GENERIC"],) if generic else (["-march=native"], [])):
        flags = FLAGS_BASE + arch
        key = hashlib.sha256("\0".join([C_SOURCE, " ".join(flags), cc, version, platform.machine(), sys.platform,
                                        _cpu_flags()]).encode()).hexdigest()[:24]
        so = d / f"qp_kernels-{key}.so"
        if so.is_file():
            return so, "cached", flags
        try:
            from filelock import FileLock, Timeout
            lock = FileLock(str(d / f"qp_kernels-{key}.lock"), timeout=300)
        except ImportError:  # pragma: no cover - filelock is a dependency
            lock = None
        try:
            if lock is not None:
                lock.acquire()
            if so.is_file():
                return so, "cached", flags
            with tempfile.TemporaryDirectory(dir=d) as tmp:
                src = Path(tmp) / "qp_kernels.c"
                src.write_text(C_SOURCE)
                tmp_so = Path(tmp) / "qp_kernels.so"
                ok, msg = _compile(cc, src, tmp_so, flags)
                if ok:
                    os.replace(tmp_so, so)
                    return so, "built", flags
                errors.append(f"{' '.join(arch) or 'generic'}: {msg.strip()}")
        except Timeout:
            errors.append("timed out waiting for another process's build")
        except OSError as exc:
            errors.append(str(exc))
        finally:
            if lock is not None and lock.is_locked:
                lock.release()
    return None, "compilation failed: " + " | ".join(errors), None


def _bind(so: Path) -> ctypes.CDLL:
    L = ctypes.CDLL(str(so))
    i64, vp, ci = ctypes.c_int64, ctypes.c_void_p, ctypes.c_int
    L.qp_abi.restype = ci
    L.qp_abi.argtypes = []
    L.qp_nearest8.restype = ci
    L.qp_nearest8.argtypes = [vp, vp, i64, ci, ci, ci, ci]
    L.qp_fwht.restype = ci
    L.qp_fwht.argtypes = [vp, vp, vp, i64, i64, ci, ci]
    L.qp_lattice_impl.restype = ctypes.c_char_p
    L.qp_lattice_impl.argtypes = []
    L.qp_copy.restype = ci
    L.qp_copy.argtypes = [vp, vp, i64, ci]
    if L.qp_abi() != ABI:
        raise OSError(f"ABI {L.qp_abi()} != {ABI}")
    return L


def _self_check(L: ctypes.CDLL) -> str | None:
    """None when the library reproduces the reference on a small adversarial batch, else what differed."""
    import numpy as np

    from quantproof.math.lattice import nearest_d8, nearest_e8
    from quantproof.math.rotations import fwht

    g = np.random.default_rng(12345)
    x = np.concatenate([g.standard_normal((300, 8)) * 3, np.round(g.standard_normal((200, 8)) * 4) / 2,
                        (g.integers(-3, 4, (100, 8)) + 0.25 * g.integers(0, 4, (100, 8)))]).astype(np.float64)
    for e8, ref in ((1, nearest_e8), (0, nearest_d8)):
        for in64, xin in ((1, x), (0, x.astype(np.float32))):
            out = np.empty(x.shape, np.float64)
            fl = L.qp_nearest8(xin.ctypes.data, out.ctypes.data, len(x), in64, 1, e8, 2)
            want = ref(xin)
            if fl != 0 or not np.array_equal(out, want):
                return f"lattice kernel (e8={e8}, in64={in64}) differs from the reference"
    a = g.standard_normal((5, 64))
    b = np.empty_like(a)
    L.qp_fwht(a.ctypes.data, b.ctypes.data, None, 5, 64, 1, 1)
    if not np.array_equal(b, fwht(a)):
        return "fwht kernel differs from the reference"
    return None


def lib() -> ctypes.CDLL | None:
    """The loaded native library, or None (then :func:`status` says why)."""
    if _state["tried"]:
        return _state["lib"]  # type: ignore[return-value]
    with _lock:
        if _state["tried"]:
            return _state["lib"]  # type: ignore[return-value]
        _state["tried"] = True
        if os.environ.get("QUANTPROOF_NATIVE", "1").strip().lower() in ("0", "false", "no", "off"):
            _state["why"] = "disabled by QUANTPROOF_NATIVE=0"
            return None
        try:
            so, how, flags = _build()
            if so is None:
                _state["why"] = how
                warnings.warn(f"quantproof.kernels: native kernels unavailable ({how}); using the fallbacks",
                              RuntimeWarning, stacklevel=2)
                return None
            L = _bind(so)
            bad = _self_check(L)
            if bad:
                _state["why"] = f"self-check failed: {bad}"
                warnings.warn(f"quantproof.kernels: native self-check failed ({bad}); using the fallbacks",
                              RuntimeWarning, stacklevel=2)
                return None
            impl = L.qp_lattice_impl().decode()
            _state.update(lib=L, why=f"native, {impl} ({how}: {so})", path=str(so), flags=flags, impl=impl)
            return L
        except Exception as exc:  # noqa: BLE001 - any failure means "use the fallback"
            _state["why"] = f"{type(exc).__name__}: {exc}"
            warnings.warn(f"quantproof.kernels: native kernels unavailable ({exc}); using the fallbacks",
                          RuntimeWarning, stacklevel=2)
            return None


def status() -> dict[str, object]:
    """{'available': bool, 'why': str, 'path': str | None, 'flags': list | None}."""
    lib()
    return {"available": _state["lib"] is not None, "why": _state["why"], "path": _state["path"],
            "flags": _state["flags"]}


def reset_for_tests() -> None:
    """Forget the loaded library (tests use it to exercise the fallbacks)."""
    with _lock:
        _state.update(lib=None, tried=False, why="not loaded yet", path=None, flags=None)


def default_threads() -> int:
    env = os.environ.get("QUANTPROOF_THREADS")
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            pass
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)

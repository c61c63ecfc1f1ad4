"""Provenance of a run: commit, versions, device, Lean toolchain, claims hash."""

from __future__ import annotations

import importlib.metadata
import platform
import subprocess
from pathlib import Path
from typing import Any

from ..evidence.formal import lean_versions

PACKAGES = ("quantproof", "numpy", "scipy", "sympy", "mpmath", "torch", "transformers", "tokenizers", "gguf",
            "safetensors", "gensim", "hypothesis", "pytest")


def git_state(repo: Path) -> tuple[str | None, bool | None]:
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, timeout=30)
        if commit.returncode != 0:
            return None, None
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo,
                                capture_output=True, text=True, timeout=30)
        dirty = bool(status.stdout.strip()) if status.returncode == 0 else None
        return commit.stdout.strip(), dirty
    except (OSError, subprocess.TimeoutExpired):
        return None, None


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def device_name(device: str) -> str:
    if device.startswith("cuda"):
        try:
            import torch

            return torch.cuda.get_device_name(0)
        except Exception:  # noqa: BLE001
            return "cuda (name unavailable)"
    return f"cpu ({platform.machine()})"


def resolve_device(requested: str) -> str:
    """auto -> cuda when torch sees a GPU, else cpu; cuda without a GPU is a clear error."""
    if requested not in ("auto", "cpu", "cuda"):
        raise ValueError(f"--device must be auto, cpu or cuda (got {requested!r})")
    if requested == "cpu":
        return "cpu"
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:
        has_cuda = False
        if requested == "cuda":
            raise ValueError("--device cuda needs PyTorch with CUDA; torch is not installed "
                             "(pip install -e '.[models]')") from None
    if requested == "cuda" and not has_cuda:
        raise ValueError("--device cuda was asked for but no CUDA device is available "
                         "(torch.cuda.is_available() is False); use --device auto or cpu")
    return "cuda" if has_cuda else "cpu"


def provenance(repo: Path, *, device: str, dtype: str, seed: int, claims_sha256: str, lean_built: bool,
               lean_toolchain_seen: str | None, files: dict[str, str]) -> dict[str, Any]:
    commit, dirty = git_state(repo)
    lv = lean_versions(repo)
    return {
        "commit": commit,
        "dirty": dirty,
        "versions": versions(),
        "lean": {"toolchain": lv["toolchain"], "mathlib": lv["mathlib"], "built": lean_built,
                 "lean_version": lean_toolchain_seen},
        "device": device,
        "device_name": device_name(device),
        "dtype": dtype,
        "seed": seed,
        "files": dict(sorted(files.items())),
        "claims_sha256": claims_sha256,
    }

"""The code a computation runs, for cache keys: the static import closure of a module inside ``quantproof``.

Policy (docs/REFEREE.md, rule 9): a cached number is keyed on every source file of the package that the computation
can execute — the module itself, every ``quantproof`` module it imports (at top level or inside a function, absolute
or relative), transitively, and the ``__init__`` of every package on the way. Editing any of them invalidates the
cache; editing a module outside the closure (a new measurement module, the ledger writers, the CLI) does not.
Third-party code is not covered: after upgrading torch or transformers, run with ``--no-cache`` (README, Limits).
"""

from __future__ import annotations

import ast
import hashlib
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent  # py/quantproof
PACKAGE = ROOT.name


def _path_of(module: str) -> Path | None:
    parts = module.split(".")
    if parts[0] != PACKAGE:
        return None
    base = ROOT.joinpath(*parts[1:])
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    return None


def _package_of(module: str, path: Path) -> str:
    return module if path.name == "__init__.py" else module.rsplit(".", 1)[0]


def _imports(module: str, path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    pkg = _package_of(module, path)
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            out.add(target)
            out.update(f"{target}.{a.name}" for a in node.names)  # `from pkg import submodule`
    return {m for m in out if m.split(".")[0] == PACKAGE}


@lru_cache(maxsize=None)
def closure(module: str) -> tuple[Path, ...]:
    """Every source file ``module`` can run, sorted; raises ValueError for a module outside the package."""
    if _path_of(module) is None:
        raise ValueError(f"{module} is not a module of {PACKAGE}")
    seen: dict[str, Path] = {}
    stack = [module]
    while stack:
        m = stack.pop()
        if m in seen:
            continue
        p = _path_of(m)
        if p is None:  # `from pkg import name` where name is not a submodule
            continue
        seen[m] = p
        parts = m.split(".")
        stack.extend(".".join(parts[:k]) for k in range(1, len(parts)))  # parent packages' __init__
        stack.extend(_imports(m, p))
    return tuple(sorted(set(seen.values())))


def code_hash_of(*modules: str) -> str:
    """sha256 over the closure of ``modules`` (paths relative to the package, then contents)."""
    files = sorted({p for m in modules for p in closure(m)})
    h = hashlib.sha256()
    for p in files:
        h.update(p.relative_to(ROOT).as_posix().encode() + b"\0")
        h.update(p.read_bytes())
    return h.hexdigest()

"""Build the Lean default target one module at a time, so that a failure stays local.

Policy:
1. The modules of the default target (the import closure of ``lean/QuantProof.lean``) are built one by one with
   ``lake build +Module`` (the ``+`` marks a module; a bare ``QuantProof`` would name the library), in dependency
   order from the import graph; ties in alphabetical order, so the order is deterministic.
2. A module is not built when one of its imports did not build (it is ``blocked``, and ``blocked_by`` names the
   root failures, not the intermediate blocked modules), or when the static audit rejected it (``failed``).
3. Every message of a failed build is attributed to the project module whose file it names (else to the module being
   built) and to the declaration whose source span contains its line; a message that lies outside every
   declaration is attributed to a declaration of that module it names (``'QuantProof.x'`` or `` `x` ``), if any.
4. Time: one budget for the whole run (``timeout_s``), optionally a per-module limit; a module past its limit is
   ``timed-out`` (its process group is killed), and once the budget is spent the remaining modules are
   ``not-attempted``.
5. The axiom audit runs for every requested declaration whose module built: one file that imports exactly those
   modules and prints their axioms (``#print axioms``); declarations of modules that did not build are not audited.
6. Subprocesses get argument lists, never a shell, and run in their own process group.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

from .formal import (ROOT_MODULE, BuildResult, LeanIndex, LeanMessage, ModuleBuild, lake_available,
                     parse_axiom_output, scan_lean)

AUDIT_DIR = "build/axiom_audit"
OUTPUT_TAIL = 20000


# --------------------------------------------------------------------------------------------- order

def build_order(idx: LeanIndex) -> list[str]:
    """Modules of the default target, every module after the modules it imports."""
    mods = sorted(idx.default_modules)
    order: list[str] = []
    state: dict[str, int] = {}  # 1 = on the stack, 2 = placed

    for root in mods:
        if state.get(root):
            continue
        stack: list[tuple[str, list[str]]] = [(root, sorted(i for i in idx.imports.get(root, ())
                                                            if i in idx.default_modules))]
        state[root] = 1
        while stack:
            m, todo = stack[-1]
            if todo:
                dep = todo.pop(0)
                if not state.get(dep):  # an import cycle (state 1) is left to lake to report
                    state[dep] = 1
                    stack.append((dep, sorted(i for i in idx.imports.get(dep, ()) if i in idx.default_modules)))
            else:
                stack.pop()
                state[m] = 2
                order.append(m)
    return order


# --------------------------------------------------------------------------------------------- messages

_MSG_RE = re.compile(
    r"^(?:(?P<sev1>error|warning|info):\s+)?"
    r"(?P<path>[^\s:][^:\n]*?\.lean):(?P<line>\d+):(?P<col>\d+):\s*"
    r"(?:(?P<sev2>error|warning|info)(?:\([^)\n]*\))?:\s*)?(?P<text>.*)$")
_STATUS_PREFIXES = ("✖", "⚠", "✔", "ℹ", "trace:", "error:", "warning:", "info:", "Some required builds",
                    "Some builds logged", "Build completed", "- ")
_NAMED_RE = re.compile(r"'([^'\s]+)'|`([^`\s]+)`")


def _rel_path(raw: str, repo: Path) -> str:
    path = raw.replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    try:
        absolute = Path(path)
        if absolute.is_absolute():
            return str(absolute.resolve().relative_to(repo.resolve()))
    except (ValueError, OSError):
        return path
    return path


def parse_messages(text: str, idx: LeanIndex, repo: Path, building: str) -> list[LeanMessage]:
    """Messages of a ``lake build`` output (Lean's ``FILE:L:C: error: …`` and Lake's ``error: FILE:L:C: …``
    forms, with their continuation lines), attributed to a module and, where possible, a declaration."""
    out: list[LeanMessage] = []
    cur: dict | None = None

    def flush() -> None:
        if cur is not None:
            out.append(_attribute(cur, idx, building))

    for raw in text.splitlines():
        m = _MSG_RE.match(raw.strip())
        if m and (m.group("sev1") or m.group("sev2")):
            flush()
            cur = {"severity": m.group("sev1") or m.group("sev2"), "file": _rel_path(m.group("path"), repo),
                   "line": int(m.group("line")), "col": int(m.group("col")), "text": m.group("text").strip()}
        elif cur is not None and raw.strip() and not raw.lstrip().startswith(_STATUS_PREFIXES):
            if len(cur["text"]) < 500:
                cur["text"] = (cur["text"] + "\n" + raw.rstrip())[:500]
        elif cur is not None and raw.lstrip().startswith(_STATUS_PREFIXES):
            flush()
            cur = None
    flush()
    return out


def _attribute(msg: dict, idx: LeanIndex, building: str) -> LeanMessage:
    module = idx.module_of_file(msg["file"]) or building
    decl = None
    if idx.module_of_file(msg["file"]) is not None:
        d = idx.decl_at(module, msg["line"])
        decl = d.name if d else None
    if decl is None:
        own = {d.name: d for d in idx.decls.values() if d.module == module}
        short = {}
        for n in own:
            short.setdefault(n.rsplit(".", 1)[-1], []).append(n)
        for m in _NAMED_RE.finditer(msg["text"]):
            named = m.group(1) or m.group(2)
            if named in own:
                decl = named
                break
            if len(short.get(named, [])) == 1:
                decl = short[named][0]
                break
    return LeanMessage(msg["severity"], msg["text"], msg["file"], msg["line"], msg["col"], module, decl)


# --------------------------------------------------------------------------------------------- processes

def _run(cmd: list[str], cwd: Path, timeout: float) -> tuple[int | None, str]:
    """Run ``cmd``; ``(None, output so far)`` when it ran past ``timeout`` (its process group is killed)."""
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=max(0.1, timeout))
        return proc.returncode, out or ""
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            proc.kill()
        out, _ = proc.communicate()
        return None, out or ""
    except BaseException:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()
        raise


def _toolchain(lake: str, repo: Path) -> str | None:
    try:
        code, out = _run([lake, "env", "lean", "--version"], repo, 120)
    except OSError:
        return None
    return out.strip().splitlines()[0] if code == 0 and out.strip() else None


# --------------------------------------------------------------------------------------------- the run

def build_modules(repo: Path, idx: LeanIndex, lake: str, *, timeout_s: float,
                  module_timeout_s: float | None = None) -> dict[str, ModuleBuild]:
    """Per-module outcome of building the default target, in build order."""
    deadline = time.monotonic() + timeout_s
    rejected = idx.audit_failed_modules()
    results: dict[str, ModuleBuild] = {}
    for mod in build_order(idx):
        failed_imports = [i for i in idx.imports.get(mod, ()) if i in results and results[i].status != "built"]
        if failed_imports:
            roots: set[str] = set()
            for i in failed_imports:
                roots.update(results[i].blocked_by if results[i].status == "blocked" else (i,))
            results[mod] = ModuleBuild(mod, "blocked", blocked_by=tuple(sorted(roots)))
            continue
        if mod in rejected:
            findings = [f for f in idx.findings if idx.module_of_file(f.file) == mod]
            errs = [LeanMessage("error", f"static audit: {f.token}: {f.message}", f.file, f.line, None, mod,
                                (idx.decl_at(mod, f.line).name if idx.decl_at(mod, f.line) else None))
                    for f in findings]
            results[mod] = ModuleBuild(mod, "failed", errors=errs, output="rejected by the static audit")
            continue
        left = deadline - time.monotonic()
        if left <= 0:
            results[mod] = ModuleBuild(mod, "not-attempted",
                                       output=f"not attempted: the Lean time budget ({timeout_s:.0f} s) was spent")
            continue
        limit = left if module_timeout_s is None else min(left, module_timeout_s)
        t0 = time.monotonic()
        try:
            code, out = _run([lake, "build", f"+{mod}"], repo, limit)
        except OSError as exc:
            results[mod] = ModuleBuild(mod, "failed", output=f"could not run lake: {exc}")
            continue
        secs = round(time.monotonic() - t0, 2)
        tail = out[-OUTPUT_TAIL:]
        if code is None:
            results[mod] = ModuleBuild(mod, "timed-out", secs, output=tail + f"\nlake build +{mod} timed out "
                                                                             f"after {limit:.0f} s")
        elif code == 0:
            results[mod] = ModuleBuild(mod, "built", secs, output=tail)
        else:
            errors = [m for m in parse_messages(out, idx, repo, mod) if m.severity == "error"]
            results[mod] = ModuleBuild(mod, "failed", secs, errors=errors, output=tail)
    return results


def run_lake(repo: Path, decls: list[str], *, timeout_s: float = 7200.0, lake: str | None = None,
             module_timeout_s: float | None = None) -> BuildResult:
    """Per-module ``lake build`` of the default target, then ``#print axioms`` for each of ``decls`` whose module
    built. ``BuildResult.ok`` is true only when every module built."""
    lake = lake or lake_available()
    if not lake:
        return BuildResult(ran=False, ok=False)
    t_start = time.monotonic()
    idx = scan_lean(repo)
    res = BuildResult(ran=True, ok=False)
    res.toolchain = _toolchain(lake, repo)
    res.modules = build_modules(repo, idx, lake, timeout_s=timeout_s, module_timeout_s=module_timeout_s)
    res.ok = bool(res.modules) and all(m.status == "built" for m in res.modules.values())
    res.output = "\n".join(f"{m.module}: {m.status}" + ("" if m.status == "built" else f": {m.first_error()}")
                           for m in res.modules.values())
    wanted = sorted({d for d in decls if d in idx.decls and idx.decls[d].in_default_target
                     and res.modules.get(idx.decls[d].module, ModuleBuild("", "")).status == "built"})
    if not wanted:
        return res
    imports = sorted({idx.decls[d].module for d in wanted} | ({ROOT_MODULE} if res.ok else set()))
    audit_dir = repo / AUDIT_DIR
    audit_dir.mkdir(parents=True, exist_ok=True)
    audit = audit_dir / "Audit.lean"
    audit.write_text("".join(f"import {m}\n" for m in imports) + "".join(f"#print axioms {d}\n" for d in wanted))
    left = timeout_s - (time.monotonic() - t_start)
    try:
        code, text = _run([lake, "env", "lean", str(audit)], repo, max(60.0, left))
    except OSError as exc:
        res.ok = False
        res.output += f"\naxiom audit failed: {exc}"
        return res
    if code is None:
        res.ok = False
        res.output += "\naxiom audit timed out"
        return res
    res.axioms, res.axiom_errors = parse_axiom_output(text)
    if code != 0 and not res.axioms:
        res.output += "\naxiom audit failed:\n" + text[-5000:]
    return res

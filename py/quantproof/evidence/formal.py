"""Formal evidence from ``lean/``: a static audit that always runs, and ``lake build`` + an axiom audit when a
Lean toolchain is on PATH.

Policy (what "proved" means here):
1. The default target is the import closure of ``lean/QuantProof.lean``. Modules outside it (``lean/QuantProofOpen``)
   may hold open statements with ``sorry``; their declarations are reported as ``sorry``, never as proved.
2. The static audit rejects, in the default target: ``sorry``, ``admit``, ``sorryAx``, ``axiom`` declarations,
   ``native_decide``, ``unsafe``, ``implemented_by``, ``extern``, and ``instance`` declarations not marked
   ``-- audit: allow-instance`` (a redefined instance silently changes what a statement means). Metaprogramming
   commands that can add declarations (``run_cmd``, ``run_elab``, ``run_meta``, ``#eval``) are rejected too.
3. Each claim-linked declaration's statement text is extracted verbatim (docstring and proof excluded). If
   ``lean/statements.lock.json`` pins a statement's hash, a changed statement is an error (a proof of a weakened
   statement must not inherit the old claim's status); re-pinning is a reviewed step (``quantproof lean-lock``).
4. ``proved`` requires all of: the static audit passed, ``lake build`` succeeded, and ``#print axioms`` lists only
   ``propext``, ``Classical.choice``, ``Quot.sound``. ``sorryAx`` gives ``sorry``; any other axiom gives
   ``axioms-rejected``. Without ``lake`` the status is ``not-built``: the proof was not kernel-checked.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

ALLOWED_AXIOMS = frozenset({"propext", "Classical.choice", "Quot.sound"})
ROOT_MODULE = "QuantProof"
LEAN_DIR = "lean"
LOCK_FILE = "lean/statements.lock.json"

ESCAPE_TOKENS = ("sorry", "admit", "sorryAx", "native_decide", "unsafe", "implemented_by", "extern",
                 "run_cmd", "run_elab", "run_meta")
DECL_KEYWORDS = ("theorem", "lemma", "def", "abbrev", "instance", "structure", "inductive", "class", "axiom",
                 "opaque", "example")
MODIFIERS = ("private", "protected", "noncomputable", "partial", "nonrec", "unsafe", "scoped", "local")
FORMAL_STATUSES = ("proved", "refuted", "sorry", "axioms-rejected", "build-failed", "statement-changed", "missing",
                   "not-built", "none")


@dataclass(frozen=True)
class LeanDecl:
    name: str  # fully qualified
    kind: str
    module: str
    file: str
    line: int
    statement: str
    has_sorry: bool
    in_default_target: bool


@dataclass(frozen=True)
class AuditFinding:
    file: str
    line: int
    token: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.token}: {self.message}"


@dataclass
class LeanIndex:
    decls: dict[str, LeanDecl] = field(default_factory=dict)
    findings: list[AuditFinding] = field(default_factory=list)
    default_modules: set[str] = field(default_factory=set)
    all_modules: set[str] = field(default_factory=set)

    @property
    def audit_ok(self) -> bool:
        return not self.findings


@dataclass(frozen=True)
class DeclStatus:
    name: str
    role: str
    status: str
    file: str | None
    line: int | None
    statement: str | None
    axioms: list[str] | None
    message: str | None


@dataclass
class BuildResult:
    ran: bool
    ok: bool
    output: str = ""
    toolchain: str | None = None
    axioms: dict[str, list[str]] = field(default_factory=dict)
    axiom_errors: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------- static audit

def blank_comments(src: str) -> str:
    """Replace Lean comments (``--``, nested ``/- -/``, docstrings) and string literals by spaces, keeping offsets."""
    out = list(src)
    i, n, depth = 0, len(src), 0
    while i < n:
        if depth == 0 and src.startswith("--", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            for k in range(i, j):
                out[k] = " "
            i = j
        elif src.startswith("/-", i):
            depth += 1
            out[i] = out[i + 1] = " "
            i += 2
        elif depth > 0 and src.startswith("-/", i):
            depth -= 1
            out[i] = out[i + 1] = " "
            i += 2
        elif depth > 0:
            if out[i] != "\n":
                out[i] = " "
            i += 1
        elif src[i] == '"':
            j = i + 1
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            for k in range(i, min(j + 1, n)):
                if out[k] != "\n":
                    out[k] = " "
            i = j + 1
        else:
            i += 1
    return "".join(out)


def module_of(path: Path, lean_dir: Path) -> str:
    rel = path.relative_to(lean_dir).with_suffix("")
    return ".".join(rel.parts)


_IMPORT_RE = re.compile(r"^\s*import\s+([A-Za-z0-9_.«» ]+)$", re.M)
_NS_RE = re.compile(r"^[ \t]*(namespace|section|end|noncomputable[ \t]+section)\b[ \t]*([A-Za-z0-9_.'«»]*)", re.M)
_TOKEN_RE = re.compile(r"(?<![A-Za-z0-9_.'])(" + "|".join(re.escape(t) for t in ESCAPE_TOKENS) + r")(?![A-Za-z0-9_'])")
_SORRY_RE = re.compile(r"(?<![A-Za-z0-9_.'])(sorry|admit|sorryAx)(?![A-Za-z0-9_'])")
_EVAL_RE = re.compile(r"^\s*#eval\b", re.M)
_DECL_RE = re.compile(
    r"^[ \t]*(?:@\[[^\]]*\]\s*)*(?:(?:" + "|".join(MODIFIERS) + r")\s+)*(" + "|".join(DECL_KEYWORDS) +
    r")\b[ \t]*([^\s:({\[]*)", re.M)


def _imports(code: str) -> list[str]:
    out = []
    for m in _IMPORT_RE.finditer(code):
        out.extend(x for x in m.group(1).split() if x)
    return out


def scan_lean(repo: Path) -> LeanIndex:
    lean_dir = repo / LEAN_DIR
    idx = LeanIndex()
    if not lean_dir.is_dir():
        return idx
    files = {module_of(p, lean_dir): p for p in sorted(lean_dir.rglob("*.lean"))}
    idx.all_modules = set(files)
    codes = {m: blank_comments(p.read_text(encoding="utf-8", errors="replace")) for m, p in files.items()}
    # import closure of the root module = the default target
    todo = [ROOT_MODULE] if ROOT_MODULE in files else []
    while todo:
        m = todo.pop()
        if m in idx.default_modules:
            continue
        idx.default_modules.add(m)
        todo.extend(i for i in _imports(codes[m]) if i in files)
    for mod, path in files.items():
        rel = str(path.relative_to(repo))
        src = path.read_text(encoding="utf-8", errors="replace")
        code = codes[mod]
        default = mod in idx.default_modules
        if default:
            _escape_findings(idx, rel, src, code)
        for d in _declarations(mod, rel, src, code, default):
            idx.decls.setdefault(d.name, d)
    return idx


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _escape_findings(idx: LeanIndex, rel: str, src: str, code: str) -> None:
    for m in _TOKEN_RE.finditer(code):
        idx.findings.append(AuditFinding(rel, _line_of(code, m.start()), m.group(1),
                                         "escape hatch not allowed in the default target"))
    for m in _EVAL_RE.finditer(code):
        idx.findings.append(AuditFinding(rel, _line_of(code, m.start()), "#eval",
                                         "#eval can change the environment; not allowed in the default target"))
    lines = src.splitlines()
    for m in _DECL_RE.finditer(code):
        kw = m.group(1)
        line = _line_of(code, m.start(1))
        if kw == "axiom":
            idx.findings.append(AuditFinding(rel, line, "axiom", "axiom declarations are not allowed"))
        if kw == "instance":
            text = lines[line - 1] if line - 1 < len(lines) else ""
            prev = lines[line - 2] if line >= 2 else ""
            if "audit: allow-instance" not in text + prev:
                idx.findings.append(AuditFinding(rel, line, "instance",
                                                 "instance declarations can redefine what a statement means; "
                                                 "mark reviewed ones with '-- audit: allow-instance'"))
    for m in re.finditer(r"attribute\s*\[\s*(?:local\s+|scoped\s+)?instance", code):
        idx.findings.append(AuditFinding(rel, _line_of(code, m.start()), "attribute [instance]",
                                         "changing instances is not allowed in the default target"))


def _namespace_at(code: str, offset: int) -> list[str]:
    stack: list[tuple[str, str]] = []  # (kind, name)
    for m in _NS_RE.finditer(code, 0, offset):
        kind, name = m.group(1), m.group(2)
        if kind == "namespace":
            for part in name.split("."):
                stack.append(("namespace", part))
        elif kind.endswith("section"):
            stack.append(("section", name))
        else:  # end
            if name:
                for _ in name.split("."):
                    if stack:
                        stack.pop()
            elif stack:
                stack.pop()
    return [n for k, n in stack if k == "namespace"]


def _declarations(mod: str, rel: str, src: str, code: str, default: bool) -> list[LeanDecl]:
    out = []
    starts = [(m.start(), m) for m in _DECL_RE.finditer(code)]
    for i, (start, m) in enumerate(starts):
        kw, name = m.group(1), m.group(2)
        if kw == "example" or not name:
            continue
        end_decl = starts[i + 1][0] if i + 1 < len(starts) else len(code)
        body = code[m.start(1):end_decl]
        stmt_end = _statement_end(body)
        statement = " ".join(src[m.start(1):m.start(1) + stmt_end].split())
        if name.startswith("_root_."):
            fq = name[len("_root_."):]
        else:
            fq = ".".join(_namespace_at(code, start) + [name])
        has_sorry = bool(_SORRY_RE.search(body))
        out.append(LeanDecl(fq, kw, mod, rel, _line_of(code, m.start(1)), statement, has_sorry, default))
    return out


def _statement_end(body: str) -> int:
    """Offset of the top-level ``:=`` (or ``where`` / a ``|`` alternative) that ends the statement."""
    depth = 0
    i = 0
    while i < len(body):
        c = body[i]
        if c in "([{⟨":
            depth += 1
        elif c in ")]}⟩":
            depth = max(0, depth - 1)
        elif depth == 0:
            if body.startswith(":=", i):
                return i
            if body.startswith("where", i) and (i == 0 or not body[i - 1].isalnum()) and \
                    (i + 5 >= len(body) or not (body[i + 5].isalnum() or body[i + 5] == "_")):
                return i
            if c == "|" and body[:i].rstrip(" \t").endswith("\n"):
                return i
        i += 1
    return len(body)


# --------------------------------------------------------------------------------------------- statement lock

def statement_hash(statement: str) -> str:
    return hashlib.sha256(" ".join(statement.split()).encode()).hexdigest()


def read_lock(repo: Path) -> dict[str, str]:
    p = repo / LOCK_FILE
    if not p.is_file():
        return {}
    try:
        data = json.loads(p.read_text())
        return {str(k): str(v) for k, v in data.get("statements", {}).items()}
    except (ValueError, AttributeError):
        return {}


def write_lock(repo: Path, names: list[str], idx: LeanIndex) -> dict[str, str]:
    pins = {n: statement_hash(idx.decls[n].statement) for n in sorted(set(names)) if n in idx.decls}
    p = repo / LOCK_FILE
    tmp = p.with_suffix(".tmp")
    tmp.write_text(json.dumps({"schema": "quantproof.lean-lock/1", "statements": pins}, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, p)
    return pins


# --------------------------------------------------------------------------------------------- lake

def lake_available() -> str | None:
    return shutil.which("lake")


_AXIOMS_RE = re.compile(r"'([^']+)' depends on axioms: \[([^\]]*)\]", re.S)
_NOAXIOMS_RE = re.compile(r"'([^']+)' does not depend on any axioms")
_UNKNOWN_RE = re.compile(r"unknown (?:constant|identifier) '?([^'\s]+)'?")


def parse_axiom_output(text: str) -> tuple[dict[str, list[str]], dict[str, str]]:
    axioms: dict[str, list[str]] = {}
    errors: dict[str, str] = {}
    for m in _AXIOMS_RE.finditer(text):
        axioms[m.group(1)] = sorted(a.strip() for a in m.group(2).replace("\n", " ").split(",") if a.strip())
    for m in _NOAXIOMS_RE.finditer(text):
        axioms[m.group(1)] = []
    for m in _UNKNOWN_RE.finditer(text):
        errors[m.group(1)] = m.group(0)
    return axioms, errors


def run_lake(repo: Path, decls: list[str], *, timeout_s: float = 7200.0, lake: str | None = None) -> BuildResult:
    """``lake build`` then ``#print axioms`` for each linked declaration; argument lists only, never a shell."""
    lake = lake or lake_available()
    if not lake:
        return BuildResult(ran=False, ok=False)
    try:
        b = subprocess.run([lake, "build"], cwd=repo, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return BuildResult(ran=True, ok=False, output=f"lake build timed out after {timeout_s:.0f} s")
    except OSError as exc:
        return BuildResult(ran=True, ok=False, output=f"could not run lake: {exc}")
    out = (b.stdout or "") + (b.stderr or "")
    res = BuildResult(ran=True, ok=b.returncode == 0, output=out[-20000:])
    try:
        v = subprocess.run([lake, "env", "lean", "--version"], cwd=repo, capture_output=True, text=True, timeout=120)
        res.toolchain = (v.stdout or "").strip().splitlines()[0] if v.returncode == 0 and v.stdout.strip() else None
    except (OSError, subprocess.TimeoutExpired):
        pass
    if not res.ok or not decls:
        return res
    audit_dir = repo / "build" / "axiom_audit"
    audit_dir.mkdir(parents=True, exist_ok=True)
    audit = audit_dir / "Audit.lean"
    audit.write_text(f"import {ROOT_MODULE}\n" + "".join(f"#print axioms {d}\n" for d in sorted(set(decls))))
    try:
        a = subprocess.run([lake, "env", "lean", str(audit)], cwd=repo, capture_output=True, text=True,
                           timeout=timeout_s)
        text = (a.stdout or "") + (a.stderr or "")
    except (OSError, subprocess.TimeoutExpired) as exc:
        res.ok = False
        res.output += f"\naxiom audit failed: {exc}"
        return res
    res.axioms, res.axiom_errors = parse_axiom_output(text)
    if a.returncode != 0 and not res.axioms:
        res.output += "\naxiom audit failed:\n" + text[-5000:]
    return res


# --------------------------------------------------------------------------------------------- per-decl status

def decl_status(name: str, role: str, idx: LeanIndex, build: BuildResult | None, lock: dict[str, str]) -> DeclStatus:
    d = idx.decls.get(name)
    if d is None:
        return DeclStatus(name, role, "missing", None, None, None, None, "no such declaration under lean/")
    base = dict(file=d.file, line=d.line, statement=d.statement)
    if name in lock and lock[name] != statement_hash(d.statement):
        return DeclStatus(name, role, "statement-changed", axioms=None,
                          message="statement differs from the pinned one in lean/statements.lock.json", **base)
    if d.has_sorry or not d.in_default_target:
        msg = "contains sorry" if d.has_sorry else "outside the default target (open module)"
        return DeclStatus(name, role, "sorry", axioms=None, message=msg, **base)
    if not idx.audit_ok:
        return DeclStatus(name, role, "build-failed", axioms=None,
                          message=f"static audit failed: {idx.findings[0]}", **base)
    if build is None or not build.ran:
        return DeclStatus(name, role, "not-built", axioms=None,
                          message="no Lean toolchain on PATH: static audit only, not kernel-checked", **base)
    if not build.ok:
        last = build.output.strip().splitlines()[-1] if build.output.strip() else "lake build failed"
        return DeclStatus(name, role, "build-failed", axioms=None, message=last[:300], **base)
    if name in build.axiom_errors:
        return DeclStatus(name, role, "missing", axioms=None, message=build.axiom_errors[name], **base)
    ax = build.axioms.get(name)
    if ax is None:
        return DeclStatus(name, role, "build-failed", axioms=None, message="no #print axioms output", **base)
    if "sorryAx" in ax:
        return DeclStatus(name, role, "sorry", axioms=ax, message="depends on sorryAx", **base)
    extra = [a for a in ax if a not in ALLOWED_AXIOMS]
    if extra:
        return DeclStatus(name, role, "axioms-rejected", axioms=ax,
                          message=f"depends on non-standard axioms: {', '.join(extra)}", **base)
    return DeclStatus(name, role, "proved", axioms=ax, message=None, **base)


_CLAIM_LEVEL_ORDER = ("sorry", "axioms-rejected", "statement-changed", "build-failed", "missing", "not-built")


def claim_formal_status(decls: list[DeclStatus]) -> str:
    """Claim-level formal status from its declarations (refutation wins over a proof of the literal claim)."""
    if not decls:
        return "none"
    if any(d.status == "proved" and d.role == "refutes" for d in decls):
        return "refuted"
    if any(d.status == "proved" and d.role in ("asserts", "corrects", "vacuous") for d in decls):
        return "proved"
    for s in _CLAIM_LEVEL_ORDER:
        if any(d.status == s for d in decls):
            return s
    return "none"


def lean_versions(repo: Path) -> dict[str, str | None]:
    tc = repo / "lean-toolchain"
    manifest = repo / "lake-manifest.json"
    mathlib = None
    if manifest.is_file():
        try:
            for pkg in json.loads(manifest.read_text()).get("packages", []):
                if pkg.get("name") == "mathlib":
                    mathlib = pkg.get("rev")
        except ValueError:
            mathlib = None
    return {"toolchain": tc.read_text().strip() if tc.is_file() else None, "mathlib": mathlib}

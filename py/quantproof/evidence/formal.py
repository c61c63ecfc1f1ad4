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
4. ``proved`` requires all of: the static audit passed for the declaration's module and everything it imports, that
   module built (``lake build +Module``, see :mod:`quantproof.evidence.lean_build`), and ``#print axioms`` lists only
   ``propext``, ``Classical.choice``, ``Quot.sound``. ``sorryAx`` gives ``sorry``; any other axiom gives
   ``axioms-rejected``. Without ``lake`` the status is ``not-built``: the proof was not kernel-checked.
5. A failure stays local. A declaration with an error of its own (the error's position lies in its source span, or the
   error names it) is ``build-failed``; a declaration whose module failed elsewhere, or which imports a module that
   failed, timed out or was rejected by the static audit, is ``blocked`` and ``blocked_by`` names the failed module(s);
   declarations of every other module are judged on their own build and axiom audit. At claim level ``blocked``
   counts as ``build-failed`` (the claim's formal evidence did not build, here or upstream).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
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
FORMAL_STATUSES = ("proved", "refuted", "sorry", "axioms-rejected", "build-failed", "blocked", "statement-changed",
                   "missing", "not-built", "none")
# Per-module outcome of the per-module build (quantproof.evidence.lean_build).
MODULE_STATUSES = ("built", "failed", "timed-out", "blocked", "not-attempted")


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
    end_line: int = 0  # last line of the declaration's source span (before the next declaration)


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
    imports: dict[str, tuple[str, ...]] = field(default_factory=dict)  # module -> its imports inside lean/
    files: dict[str, str] = field(default_factory=dict)  # module -> repo-relative path

    @property
    def audit_ok(self) -> bool:
        return not self.findings

    def module_of_file(self, rel: str) -> str | None:
        for m, f in self.files.items():
            if f == rel:
                return m
        return None

    def import_closure(self, module: str) -> set[str]:
        """Every project module ``module`` imports, directly or not (itself excluded)."""
        seen: set[str] = set()
        todo = list(self.imports.get(module, ()))
        while todo:
            m = todo.pop()
            if m not in seen:
                seen.add(m)
                todo.extend(self.imports.get(m, ()))
        seen.discard(module)
        return seen

    def audit_failed_modules(self) -> set[str]:
        """Modules with a static-audit finding."""
        return {m for m in (self.module_of_file(f.file) for f in self.findings) if m}

    def decl_at(self, module: str, line: int) -> LeanDecl | None:
        """The declaration of ``module`` whose source span contains ``line``."""
        for d in self.decls.values():
            if d.module == module and d.line <= line <= max(d.line, d.end_line):
                return d
        return None


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
    module: str | None = None
    blocked_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class LeanMessage:
    """One message of a Lean build, attributed to a project module and, where possible, to a declaration."""

    severity: str  # error | warning | info
    text: str
    file: str | None = None  # repo-relative path when the message names a file
    line: int | None = None
    col: int | None = None
    module: str | None = None
    decl: str | None = None  # fully qualified name of the declaration the message is attributed to

    def short(self, limit: int = 300) -> str:
        where = f"{self.file}:{self.line}: " if self.file and self.line else ""
        return " ".join(f"{where}{self.text}".split())[:limit]


@dataclass
class ModuleBuild:
    """What happened to one module of the default target."""

    module: str
    status: str  # one of MODULE_STATUSES
    seconds: float = 0.0
    errors: list[LeanMessage] = field(default_factory=list)
    blocked_by: tuple[str, ...] = ()
    output: str = ""  # tail of lake's output for this module

    def first_error(self) -> str:
        if self.errors:
            return self.errors[0].short()
        lines = [ln for ln in self.output.strip().splitlines() if ln.strip()]
        return (lines[-1] if lines else f"{self.module}: {self.status}")[:300]


@dataclass
class BuildResult:
    ran: bool
    ok: bool
    output: str = ""
    toolchain: str | None = None
    axioms: dict[str, list[str]] = field(default_factory=dict)
    axiom_errors: dict[str, str] = field(default_factory=dict)
    modules: dict[str, ModuleBuild] = field(default_factory=dict)  # per-module outcome, in build order


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
    idx.files = {m: str(p.relative_to(repo)) for m, p in files.items()}
    codes = {m: blank_comments(p.read_text(encoding="utf-8", errors="replace")) for m, p in files.items()}
    idx.imports = {m: tuple(i for i in _imports(code) if i in files) for m, code in codes.items()}
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
        end_line = _line_of(code, max(m.start(1), len(code[:end_decl].rstrip()) - 1))
        out.append(LeanDecl(fq, kw, mod, rel, _line_of(code, m.start(1)), statement, has_sorry, default, end_line))
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


def run_lake(repo: Path, decls: list[str], *, timeout_s: float = 7200.0, lake: str | None = None,
             module_timeout_s: float | None = None) -> BuildResult:
    """Build the default target module by module, then audit the axioms of ``decls`` whose modules built
    (:func:`quantproof.evidence.lean_build.run_lake`)."""
    from .lean_build import run_lake as _run

    return _run(repo, decls, timeout_s=timeout_s, lake=lake, module_timeout_s=module_timeout_s)


# --------------------------------------------------------------------------------------------- per-decl status

def decl_status(name: str, role: str, idx: LeanIndex, build: BuildResult | None, lock: dict[str, str]) -> DeclStatus:
    d = idx.decls.get(name)
    if d is None:
        return DeclStatus(name, role, "missing", None, None, None, None, "no such declaration under lean/")
    base = dict(file=d.file, line=d.line, statement=d.statement, module=d.module)

    def st(status: str, message: str | None, axioms: list[str] | None = None,
           blocked_by: tuple[str, ...] = ()) -> DeclStatus:
        return DeclStatus(name, role, status, axioms=axioms, message=message, blocked_by=blocked_by, **base)

    if name in lock and lock[name] != statement_hash(d.statement):
        return st("statement-changed", "statement differs from the pinned one in lean/statements.lock.json")
    if d.has_sorry or not d.in_default_target:
        return st("sorry", "contains sorry" if d.has_sorry else "outside the default target (open module)")
    rejected = idx.audit_failed_modules()
    if d.module in rejected:
        own = next(f for f in idx.findings if idx.module_of_file(f.file) == d.module)
        return st("build-failed", f"static audit failed: {own}")
    upstream = tuple(sorted(rejected & idx.import_closure(d.module)))
    if upstream:
        return st("blocked", f"imports {', '.join(upstream)}, which the static audit rejected", blocked_by=upstream)
    if build is None or not build.ran:
        if rejected:
            return st("not-built", "lake was not run: the static audit failed in " + ", ".join(sorted(rejected)))
        return st("not-built", "no Lean toolchain on PATH: static audit only, not kernel-checked")
    mb = build.modules.get(d.module)
    if mb is None:
        return st("build-failed", (build.output.strip().splitlines() or ["lake build failed"])[-1][:300]
                  if not build.ok else f"module {d.module} was not built")
    if mb.status == "blocked":
        return st("blocked", f"not built: imports {', '.join(mb.blocked_by)}, which did not build",
                  blocked_by=mb.blocked_by)
    if mb.status in ("timed-out", "not-attempted"):
        return st("build-failed", mb.first_error())
    if mb.status == "failed":
        own_errors = [e for e in mb.errors if e.decl == name]
        if own_errors:
            return st("build-failed", own_errors[0].short())
        culprits = [e for e in mb.errors if e.decl]
        if culprits:
            return st("blocked", f"no error in this declaration; {d.module} failed in {culprits[0].decl}: "
                                 f"{culprits[0].short(240)}", blocked_by=(d.module,))
        return st("build-failed", mb.first_error())
    # the module built: the axiom audit decides
    if name in build.axiom_errors:
        return st("missing", build.axiom_errors[name])
    ax = build.axioms.get(name)
    if ax is None:
        return st("build-failed", "no #print axioms output")
    if "sorryAx" in ax:
        return st("sorry", "depends on sorryAx", axioms=ax)
    extra = [a for a in ax if a not in ALLOWED_AXIOMS]
    if extra:
        return st("axioms-rejected", f"depends on non-standard axioms: {', '.join(extra)}", axioms=ax)
    return st("proved", None, axioms=ax)


# claim-level order of the non-proved statuses; ``blocked`` reads as ``build-failed`` at claim level
_CLAIM_LEVEL_ORDER = ("sorry", "axioms-rejected", "statement-changed", "build-failed", "blocked", "missing", "not-built")
_CLAIM_LEVEL_NAME = {"blocked": "build-failed"}


def claim_formal_status(decls: list[DeclStatus]) -> str:
    """Claim-level formal status from its declarations (refutation wins over a proof of the literal claim).

    ``proved`` means that some non-refuting linked declaration is kernel-checked: the claim itself (``asserts``), a
    corrected statement (``corrects``), its vacuity (``vacuous``) or a supporting ``lemma``; the roles, not this
    status, decide the verdict."""
    if not decls:
        return "none"
    if any(d.status == "proved" and d.role == "refutes" for d in decls):
        return "refuted"
    if any(d.status == "proved" and d.role in ("asserts", "corrects", "vacuous", "lemma") for d in decls):
        return "proved"
    for s in _CLAIM_LEVEL_ORDER:
        if any(d.status == s for d in decls):
            return _CLAIM_LEVEL_NAME.get(s, s)
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

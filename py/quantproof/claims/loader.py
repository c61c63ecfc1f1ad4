"""Load claims.yaml safely, keeping the line of every field for error messages.

Policy:
1. The file is parsed with PyYAML's *safe* composer; nothing in it is ever evaluated as code. Tags other than the
   standard scalar/sequence/mapping ones, anchors and aliases are rejected (a claims file needs none of them, and
   aliases are how "billion laughs" documents blow up).
2. Structural limits: at most 5 MB, nesting depth 32, 10 000 claims.
3. Every problem is a :class:`SchemaError` carrying ``file:line: field: message``; the loader collects all of them
   instead of stopping at the first, so one run of ``quantproof check`` shows every mistake.
Cross-reference checks (Lean names, tests, measurements, seeds) live in :mod:`quantproof.claims.validate`.
"""

from __future__ import annotations

import bisect
import hashlib
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .model import (
    ASSUMPTION_BY,
    ASSUMPTION_KINDS,
    COMPARE_OPS,
    CONTROL_SHOULD,
    EXPECT_KINDS,
    FORMAL_ROLES,
    KINDS,
    MEASUREMENT_ROLES,
    SCOPES,
    TEST_ROLES,
    Assumption,
    Claim,
    ClaimSet,
    Control,
    Expectation,
    LeanLink,
    MeasurementLink,
    SeedTable,
    TestLink,
    Where,
)

MAX_BYTES = 5_000_000
MAX_DEPTH = 32
MAX_CLAIMS = 10_000
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]{0,119}$")  # seed 003 names keep their case
DECL_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_'!?]*(\.[A-Za-z_][A-Za-z0-9_'!?]*)*$")
SEED_RE = re.compile(r"^[A-Za-z0-9_.-]+\.txt$")

TOP_FIELDS = {"schema", "claims"}
CLAIM_FIELDS = {"id", "title", "source", "kind", "statement", "lean", "tests", "measurements", "related", "notes",
                "assumptions", "scope", "corrected", "premises"}
SOURCE_FIELDS = {"seed", "quote"}
LEAN_FIELDS = {"decl", "role"}
TEST_FIELDS = {"test", "role"}
MEAS_FIELDS = {"name", "params", "output", "role", "expect", "key", "control", "seed_values", "seed_table", "target"}
ASSUMPTION_FIELDS = {"text", "by", "kind"}
CONTROL_FIELDS = {"label", "should", "params", "output"}
SEED_TABLE_FIELDS = {"rows", "columns", "seed"}
PARAM_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


_LINE_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _one_line(text: str) -> str:
    """Control characters and line separators (a YAML key may hold a newline) escaped: one error, one line."""
    return _LINE_BREAKS.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), str(text))


@dataclass(frozen=True)
class SchemaError:
    file: str
    line: int
    field: str
    message: str

    def __post_init__(self) -> None:
        for name in ("file", "field", "message"):
            object.__setattr__(self, name, _one_line(getattr(self, name)))

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.message}"


class ClaimsFileError(Exception):
    """Raised with every :class:`SchemaError` found; ``str()`` is one line per error."""

    def __init__(self, errors: list[SchemaError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


class _Node:
    """A YAML value with the line it started on (1-based)."""

    __slots__ = ("value", "line")

    def __init__(self, value: Any, line: int):
        self.value = value
        self.line = line


class _Lines:
    """Line numbers as editors and ``grep -n`` count them (``\\n`` only). YAML also breaks lines at ``\\r``, NEL,
    U+2028 and U+2029, so its marks' ``.line`` can point past the end of the file; the offset is exact."""

    def __init__(self, text: str):
        self.newlines = [i for i, ch in enumerate(text) if ch == "\n"] if re.search("[\r\x85\u2028\u2029]", text) \
            else None

    def __call__(self, mark: Any) -> int:
        if mark is None:
            return 0
        if self.newlines is None:
            return mark.line + 1
        return bisect.bisect_left(self.newlines, mark.index) + 1


class _Converter:
    def __init__(self, file: str, lines: _Lines):
        self.file = file
        self.line_of = lines
        self.errors: list[SchemaError] = []
        # PyYAML's SafeConstructor turns a scalar node into its Python value without evaluating anything. One per
        # parse: a constructor remembers every node it has built.
        self._constructor = yaml.SafeLoader("")

    def err(self, line: int, fld: str, msg: str) -> None:
        self.errors.append(SchemaError(self.file, line, fld, msg))

    def convert(self, node: yaml.Node, depth: int = 0) -> _Node:
        line = self.line_of(node.start_mark)
        if depth > MAX_DEPTH:
            raise ClaimsFileError([SchemaError(self.file, line, "(document)", f"nesting deeper than {MAX_DEPTH}")])
        if isinstance(node, yaml.ScalarNode):
            return _Node(self._scalar(node, line), line)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != "tag:yaml.org,2002:seq":
                self.err(line, "(document)", f"tag {node.tag} is not allowed")
            return _Node([self.convert(n, depth + 1) for n in node.value], line)
        if isinstance(node, yaml.MappingNode):
            if node.tag != "tag:yaml.org,2002:map":
                self.err(line, "(document)", f"tag {node.tag} is not allowed")
            out: dict[str, _Node] = {}
            keys: dict[str, int] = {}
            for k, v in node.value:
                kline = self.line_of(k.start_mark)
                if not isinstance(k, yaml.ScalarNode):
                    self.err(kline, "(document)", "mapping keys must be plain strings")
                    continue
                key = str(self._scalar(k, kline))
                if key in keys:
                    self.err(kline, key, f"duplicate key (first at line {keys[key]})")
                    continue
                keys[key] = kline
                child = self.convert(v, depth + 1)
                # a value is reported at the line of its key: that is where a reader looks for it
                out[key] = _Node(child.value, kline)
            return _Node(out, line)
        raise ClaimsFileError([SchemaError(self.file, line, "(document)", "unsupported YAML node")])

    def _scalar(self, node: yaml.ScalarNode, line: int) -> Any:
        allowed = {
            "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
            "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null",
        }
        if node.tag not in allowed:
            self.err(line, "(document)", f"tag {node.tag} is not allowed")
            return node.value
        try:
            return self._constructor.construct_object(node, deep=True)
        except ValueError:  # e.g. an integer longer than Python's 4300-digit conversion limit
            self.err(line, "(document)", f"cannot read the {node.tag.rsplit(':', 1)[-1]} scalar "
                                         f"({len(node.value)} characters)")
            return node.value


def _all_finite(v: Any) -> bool:
    if isinstance(v, float):
        return math.isfinite(v)
    if isinstance(v, dict):
        return all(_all_finite(x) for x in v.values())
    if isinstance(v, list):
        return all(_all_finite(x) for x in v)
    return True


def _plain(n: Any) -> Any:
    """Strip line information (used for params dicts)."""
    if isinstance(n, _Node):
        n = n.value
    if isinstance(n, dict):
        return {k: _plain(v) for k, v in n.items()}
    if isinstance(n, list):
        return [_plain(v) for v in n]
    return n


def read_input_file(path: str | Path, name: str) -> tuple[str, bytes]:
    """The text and bytes of an input file (claims, coverage map), refused with a :class:`ClaimsFileError` naming
    the file (and the line, for bad UTF-8) when it cannot be read, is larger than ``MAX_BYTES`` or is not UTF-8."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ClaimsFileError([SchemaError(name, 0, "(file)", f"cannot read: {exc.strerror or exc}")]) from None
    if len(raw) > MAX_BYTES:
        raise ClaimsFileError([SchemaError(name, 0, "(file)", f"larger than {MAX_BYTES} bytes")])
    try:
        return raw.decode("utf-8"), raw
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ClaimsFileError([SchemaError(name, line, "(file)", "not valid UTF-8")]) from None


def load_claims(path: str | Path, *, display_name: str | None = None) -> ClaimSet:
    """Parse and schema-check a claims file; raise :class:`ClaimsFileError` listing every problem."""
    name = display_name or str(path)
    text, raw = read_input_file(path, name)
    return parse_claims(text, name, sha256=hashlib.sha256(raw).hexdigest())


def compose_document(text: str, name: str) -> tuple[_Converter, _Node]:
    """Parse one YAML document under this module's policy (safe composer; no tags beyond plain scalars, lists and
    mappings; no anchors or aliases; size and depth limits; duplicate keys refused) into line-annotated nodes.
    Raises :class:`ClaimsFileError`. Shared by every YAML file the project reads (claims.yaml, coverage.yaml)."""
    line_of = _Lines(text)
    conv = _Converter(name, line_of)
    if len(text) > MAX_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise ClaimsFileError([SchemaError(name, 0, "(file)", f"larger than {MAX_BYTES} bytes")])
    try:
        # First pass over the event stream (lazy, never recursive): refuse anchors/aliases and over-deep nesting
        # before anything is composed.
        depth = 0
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                line = line_of(event.start_mark)
                raise ClaimsFileError([SchemaError(name, line, "(document)",
                                                   "YAML anchors/aliases are not allowed in a claims file")])
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise ClaimsFileError([SchemaError(name, line_of(event.start_mark), "(document)",
                                                       f"nesting deeper than {MAX_DEPTH}")])
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
        docs = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.reader.ReaderError as exc:
        ch = exc.character
        code = ch if isinstance(ch, int) else ord(ch)
        line = text[: exc.position].count("\n") + 1
        raise ClaimsFileError([SchemaError(name, line, "(yaml)",
                                           f"malformed YAML: character #x{code:04x} is not allowed ({exc.reason})")]) \
            from None
    except yaml.MarkedYAMLError as exc:
        line = line_of(exc.problem_mark or exc.context_mark)
        msg = " ".join(str(x) for x in (exc.context, exc.problem) if x)
        raise ClaimsFileError([SchemaError(name, line, "(yaml)", f"malformed YAML: {msg}")]) from None
    except yaml.YAMLError as exc:
        raise ClaimsFileError([SchemaError(name, 0, "(yaml)", f"malformed YAML: {exc}")]) from None
    except RecursionError:
        raise ClaimsFileError([SchemaError(name, 0, "(yaml)", "document nested too deeply")]) from None
    if len(docs) != 1 or docs[0] is None:
        raise ClaimsFileError([SchemaError(name, 1, "(document)", "expected exactly one YAML document")])
    try:
        root = conv.convert(docs[0])
    except RecursionError:
        raise ClaimsFileError([SchemaError(name, 0, "(yaml)", "document nested too deeply")]) from None
    if conv.errors:
        raise ClaimsFileError(conv.errors)
    return conv, root


def parse_claims(text: str, name: str = "claims.yaml", sha256: str = "") -> ClaimSet:
    conv, root = compose_document(text, name)
    claims = _build(conv, root)
    if conv.errors:
        raise ClaimsFileError(conv.errors)
    return ClaimSet(path=name, claims=tuple(claims), sha256=sha256 or hashlib.sha256(text.encode()).hexdigest())


def _build(conv: _Converter, root: _Node) -> list[Claim]:
    if not isinstance(root.value, dict):
        conv.err(root.line, "(document)", "top level must be a mapping with keys 'schema' and 'claims'")
        return []
    top = root.value
    for key, node in top.items():
        if key not in TOP_FIELDS:
            conv.err(node.line, key, "unknown top-level field (allowed: schema, claims)")
    schema = top.get("schema")
    if schema is None:
        conv.err(root.line, "schema", "missing (use 'schema: 1')")
    elif type(schema.value) is not int or schema.value != 1:
        conv.err(schema.line, "schema", f"unsupported schema version {schema.value!r} (this QuantProof reads 1)")
    claims_node = top.get("claims")
    if claims_node is None:
        conv.err(root.line, "claims", "missing")
        return []
    items = claims_node.value
    if items is None:
        return []
    if not isinstance(items, list):
        conv.err(claims_node.line, "claims", "must be a list of claim entries")
        return []
    if len(items) > MAX_CLAIMS:
        conv.err(claims_node.line, "claims", f"more than {MAX_CLAIMS} claims")
        return []
    out: list[Claim] = []
    seen: dict[str, int] = {}
    for item in items:
        c = _claim(conv, item)
        if c is None:
            continue
        if c.id in seen:
            conv.err(c.where.line, "id", f"duplicate claim id {c.id!r} (first at line {seen[c.id]})")
            continue
        seen[c.id] = c.where.line
        out.append(c)
    known = set(seen)
    for c in out:
        for fld in ("related", "premises"):
            for r in getattr(c, fld):
                if r not in known:
                    conv.err(c.where.line, f"{c.id}.{fld}", f"unknown claim id {r!r}")
    by_id = {c.id: c for c in out}
    for c in out:  # premises must not loop back: a verdict cannot rest on itself
        stack, seen_p = list(c.premises), set()
        while stack:
            p = stack.pop()
            if p == c.id:
                conv.err(c.where.line, f"{c.id}.premises", "premises loop back to this claim")
                break
            if p in seen_p or p not in by_id:
                continue
            seen_p.add(p)
            stack.extend(by_id[p].premises)
    return out


def _str(conv: _Converter, parent: _Node, key: str, ctx: str, *, required: bool = True, max_len: int = 20000) -> str | None:
    node = parent.value.get(key)
    if node is None:
        if required:
            conv.err(parent.line, f"{ctx}.{key}" if ctx else key, "missing")
        return None
    if not isinstance(node.value, str) or not node.value.strip():
        conv.err(node.line, f"{ctx}.{key}" if ctx else key, f"must be a non-empty string, got {_kind(node.value)}")
        return None
    if len(node.value) > max_len:
        conv.err(node.line, f"{ctx}.{key}" if ctx else key, f"longer than {max_len} characters")
        return None
    return node.value


def _kind(v: Any) -> str:
    if v is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", bool: "a boolean", int: "a number", float: "a number"}.get(type(v), repr(v)[:40])


def _unknown(conv: _Converter, node: _Node, allowed: set[str], ctx: str) -> None:
    for key, child in node.value.items():
        if key not in allowed:
            conv.err(child.line, f"{ctx}.{key}", f"unknown field (allowed: {', '.join(sorted(allowed))})")


def _claim(conv: _Converter, item: _Node) -> Claim | None:
    if not isinstance(item.value, dict):
        conv.err(item.line, "claims[]", f"each claim must be a mapping, got {_kind(item.value)}")
        return None
    n_before = len(conv.errors)
    idn = item.value.get("id")
    cid = idn.value if idn is not None and isinstance(idn.value, str) else None
    ctx = cid or f"claims[line {item.line}]"
    if idn is None:
        conv.err(item.line, "id", "missing")
    elif cid is None or not ID_RE.match(cid):
        ctx = f"claims[line {item.line}]"
        conv.err(idn.line, f"{ctx}.id", "must match [A-Za-z0-9][A-Za-z0-9_]* (at most 120 characters)")
        cid = None
    _unknown(conv, item, CLAIM_FIELDS, ctx)
    title = _str(conv, item, "title", ctx, max_len=300)
    statement = _str(conv, item, "statement", ctx)
    kind_s = _str(conv, item, "kind", ctx)
    if kind_s is not None and kind_s not in KINDS:
        conv.err(item.value["kind"].line, f"{ctx}.kind", f"{kind_s!r} is not one of {', '.join(KINDS)}")
    seed = quote = None
    src = item.value.get("source")
    if src is None:
        conv.err(item.line, f"{ctx}.source", "missing (needs seed and quote)")
    elif not isinstance(src.value, dict):
        conv.err(src.line, f"{ctx}.source", "must be a mapping with 'seed' and 'quote'")
    else:
        _unknown(conv, src, SOURCE_FIELDS, f"{ctx}.source")
        seed = _str(conv, src, "seed", f"{ctx}.source")
        quote = _str(conv, src, "quote", f"{ctx}.source")
        if seed is not None and not SEED_RE.match(seed):
            conv.err(src.value["seed"].line, f"{ctx}.source.seed", "must be a plain file name like 003_xxx.txt (no paths)")
    lean = _lean(conv, item, ctx)
    tests = _tests(conv, item, ctx)
    meas = _measurements(conv, item, ctx)
    related = _ids(conv, item, "related", ctx)
    premises = _ids(conv, item, "premises", ctx)
    notes = ""
    if "notes" in item.value:
        notes = _str(conv, item, "notes", ctx) or ""
    corrected = ""
    if "corrected" in item.value:
        corrected = _str(conv, item, "corrected", ctx) or ""
    scope = None
    if "scope" in item.value:
        scope = _str(conv, item, "scope", ctx, max_len=40)
        if scope is not None and scope not in SCOPES:
            conv.err(item.value["scope"].line, f"{ctx}.scope", f"{scope!r} is not one of {', '.join(SCOPES)}")
    assumptions = _assumptions(conv, item, ctx)
    if len(conv.errors) > n_before or cid is None:
        return None
    return Claim(
        id=cid, title=title or "", seed=seed or "", quote=quote or "", kind=kind_s or "",
        statement=statement or "", lean=tuple(lean), tests=tuple(tests), measurements=tuple(meas),
        related=tuple(related), notes=notes, where=Where(conv.file, item.line),
        assumptions=tuple(assumptions), scope=scope, corrected=corrected, premises=tuple(premises),
    )


def _ids(conv: _Converter, item: _Node, key: str, ctx: str) -> list[str]:
    node = item.value.get(key)
    if node is None:
        return []
    if not isinstance(node.value, list) or not all(isinstance(r.value, str) for r in node.value):
        conv.err(node.line, f"{ctx}.{key}", "must be a list of claim ids")
        return []
    return [r.value for r in node.value]


def _assumptions(conv: _Converter, item: _Node, ctx: str) -> list[Assumption]:
    out = []
    for i, n in enumerate(_list(conv, item, "assumptions", ctx)):
        f = f"{ctx}.assumptions[{i}]"
        if not isinstance(n.value, dict):
            conv.err(n.line, f, "must be a mapping {text: ..., by: seed|ours, kind: hypothesis|convention}")
            continue
        before = len(conv.errors)
        _unknown(conv, n, ASSUMPTION_FIELDS, f)
        text = _str(conv, n, "text", f, max_len=2000)
        by = _str(conv, n, "by", f, max_len=10)
        kind = _str(conv, n, "kind", f, max_len=20)
        if by is not None and by not in ASSUMPTION_BY:
            conv.err(n.value["by"].line, f"{f}.by", f"{by!r} is not one of {', '.join(ASSUMPTION_BY)}")
        if kind is not None and kind not in ASSUMPTION_KINDS:
            conv.err(n.value["kind"].line, f"{f}.kind", f"{kind!r} is not one of {', '.join(ASSUMPTION_KINDS)}")
        if len(conv.errors) == before and text and by and kind:
            out.append(Assumption(text, by, kind, Where(conv.file, n.line)))
    return out


def _list(conv: _Converter, item: _Node, key: str, ctx: str) -> list[_Node]:
    node = item.value.get(key)
    if node is None:
        return []
    if not isinstance(node.value, list):
        conv.err(node.line, f"{ctx}.{key}", f"must be a list, got {_kind(node.value)}")
        return []
    return node.value


def _lean(conv: _Converter, item: _Node, ctx: str) -> list[LeanLink]:
    out = []
    for i, n in enumerate(_list(conv, item, "lean", ctx)):
        f = f"{ctx}.lean[{i}]"
        if not isinstance(n.value, dict):
            conv.err(n.line, f, "must be a mapping with 'decl' and 'role'")
            continue
        _unknown(conv, n, LEAN_FIELDS, f)
        decl = _str(conv, n, "decl", f, max_len=300)
        role = _str(conv, n, "role", f, required=False) or "asserts"
        if decl is not None and not DECL_RE.match(decl):
            conv.err(n.value["decl"].line, f"{f}.decl", f"{decl!r} is not a Lean declaration name")
            continue
        if role not in FORMAL_ROLES:
            conv.err(n.value["role"].line, f"{f}.role", f"{role!r} is not one of {', '.join(FORMAL_ROLES)}")
            continue
        if decl:
            out.append(LeanLink(decl, role, Where(conv.file, n.line)))
    return out


def _tests(conv: _Converter, item: _Node, ctx: str) -> list[TestLink]:
    """Each entry is a test id (role ``asserts``) or ``{test: ID, role: ROLE}``."""
    out = []
    for i, n in enumerate(_list(conv, item, "tests", ctx)):
        f = f"{ctx}.tests[{i}]"
        role = "asserts"
        test_id = n.value
        if isinstance(n.value, dict):
            _unknown(conv, n, TEST_FIELDS, f)
            test_id = _str(conv, n, "test", f, max_len=500)
            role = _str(conv, n, "role", f, max_len=20) or "asserts"
            if role not in TEST_ROLES:
                conv.err(n.value["role"].line, f"{f}.role", f"{role!r} is not one of {', '.join(TEST_ROLES)}")
                continue
            if test_id is None:
                continue
        if not isinstance(test_id, str) or "::" not in test_id:
            conv.err(n.line, f, "must be a test id like tests/path/test_x.py::test_name, or {test: ID, role: ROLE}")
            continue
        path = test_id.split("::", 1)[0]
        if path.startswith("/") or ".." in Path(path).parts:
            conv.err(n.line, f, "test paths must be relative to the repository (no absolute paths, no '..')")
            continue
        out.append(TestLink(test_id, Where(conv.file, n.line), role))
    return out


def _num(conv: _Converter, node: _Node, f: str) -> float | None:
    v = node.value
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(float(v)):
        conv.err(node.line, f, f"must be a finite number, got {_kind(v)}")
        return None
    return float(v)


def _expect(conv: _Converter, node: _Node, f: str) -> Expectation | None:
    if not isinstance(node.value, dict) or not node.value:
        conv.err(node.line, f, f"must be a mapping with one of: {', '.join(EXPECT_KINDS)}")
        return None
    d = node.value
    kinds = [k for k in d if k in EXPECT_KINDS]
    extra = [k for k in d if k not in EXPECT_KINDS and k != "tol"]
    if extra:
        conv.err(d[extra[0]].line, f"{f}.{extra[0]}", f"unknown field (allowed: {', '.join(EXPECT_KINDS)}, tol)")
        return None
    if len(kinds) != 1:
        conv.err(node.line, f, f"needs exactly one of: {', '.join(EXPECT_KINDS)}")
        return None
    k = kinds[0]
    if "tol" in d and k != "value":
        conv.err(d["tol"].line, f"{f}.tol", "tol goes with 'value' only")
        return None
    if k == "value":
        v = _num(conv, d[k], f"{f}.value")
        tol = _num(conv, d["tol"], f"{f}.tol") if "tol" in d else 0.0
        if v is None or tol is None:
            return None
        if tol < 0:
            conv.err(d["tol"].line, f"{f}.tol", "must be ≥ 0")
            return None
        return Expectation("value", value=v, tol=tol)
    if k == "band":
        b = d[k]
        if not isinstance(b.value, list) or len(b.value) != 2:
            conv.err(b.line, f"{f}.band", "must be [low, high]")
            return None
        lo, hi = (_num(conv, x, f"{f}.band") for x in b.value)
        if lo is None or hi is None:
            return None
        if lo > hi:
            conv.err(b.line, f"{f}.band", f"low {lo} is above high {hi}")
            return None
        return Expectation("band", lo=lo, hi=hi)
    if k == "compare":
        c = d[k]
        if not isinstance(c.value, dict):
            conv.err(c.line, f"{f}.compare", "must be a mapping {with: KEY, op: gt|ge|lt|le, margin: m}")
            return None
        _unknown(conv, c, {"with", "op", "margin"}, f"{f}.compare")
        w = _str(conv, c, "with", f"{f}.compare", max_len=100)
        op = _str(conv, c, "op", f"{f}.compare", max_len=4)
        margin = _num(conv, c.value["margin"], f"{f}.compare.margin") if "margin" in c.value else 0.0
        if op is not None and op not in COMPARE_OPS:
            conv.err(c.value["op"].line, f"{f}.compare.op", f"{op!r} is not one of {', '.join(COMPARE_OPS)}")
            return None
        if w is None or op is None or margin is None:
            return None
        return Expectation("compare", compare_with=w, op=op, margin=margin)
    v = _num(conv, d[k], f"{f}.{k}")
    return None if v is None else Expectation(k, value=v)


def _measurements(conv: _Converter, item: _Node, ctx: str) -> list[MeasurementLink]:
    out = []
    for i, n in enumerate(_list(conv, item, "measurements", ctx)):
        f = f"{ctx}.measurements[{i}]"
        if not isinstance(n.value, dict):
            conv.err(n.line, f, "must be a mapping with name, params, output, role, expect")
            continue
        before = len(conv.errors)
        _unknown(conv, n, MEAS_FIELDS, f)
        name = _str(conv, n, "name", f, max_len=100)
        output = _str(conv, n, "output", f, required=False, max_len=100) or "value"
        role = _str(conv, n, "role", f, required=False) or "asserts"
        if role not in MEASUREMENT_ROLES:
            conv.err(n.value["role"].line, f"{f}.role", f"{role!r} is not one of {', '.join(MEASUREMENT_ROLES)}")
        params = _params(conv, n, f)
        controls = _controls(conv, n, f)
        seed_values, seed_values_from = _seed_values(conv, n, f)
        seed_table = _seed_table(conv, n, f)
        expect = None
        if "expect" in n.value:
            expect = _expect(conv, n.value["expect"], f"{f}.expect")
        key = None
        if "key" in n.value:
            key = _str(conv, n, "key", f, max_len=100)
        target, target_params = _target(conv, n, f)
        if len(conv.errors) > before or name is None:
            continue
        out.append(MeasurementLink(name, params, output, role, expect, key, Where(conv.file, n.line),
                                   controls=tuple(controls), seed_values=seed_values, seed_table=seed_table,
                                   seed_values_from=seed_values_from, target=target,
                                   target_params=target_params))
    keys = [m.key for m in out if m.key]
    for m in out:
        if m.expect and m.expect.kind == "compare" and m.expect.compare_with not in keys:
            conv.err(m.where.line, f"{ctx}.measurements", f"compare.with {m.expect.compare_with!r} names no measurement key of this claim")
    if len(keys) != len(set(keys)):
        conv.err(item.line, f"{ctx}.measurements", "measurement keys must be unique within a claim")
    return out


def _target(conv: _Converter, n: _Node, f: str) -> tuple[str | None, dict[str, Any]]:
    """``target: NAME`` or ``target: {name: NAME, params: {...}}`` (parameters used when the target runs)."""
    node = n.value.get("target")
    if node is None:
        return None, {}
    if isinstance(node.value, str):
        return _str(conv, n, "target", f, max_len=60), {}
    if not isinstance(node.value, dict):
        conv.err(node.line, f"{f}.target", "must be a model name or {name: NAME, params: {...}}")
        return None, {}
    _unknown(conv, node, {"name", "params"}, f"{f}.target")
    return _str(conv, node, "name", f"{f}.target", max_len=60), _params(conv, node, f"{f}.target")


def _params(conv: _Converter, parent: _Node, f: str) -> dict[str, Any]:
    if "params" not in parent.value:
        return {}
    pn = parent.value["params"]
    if pn.value is None:
        return {}
    if not isinstance(pn.value, dict):
        conv.err(pn.line, f"{f}.params", "must be a mapping of parameter names to values")
        return {}
    for pname, pnode in pn.value.items():
        if not _all_finite(_plain(pnode)):  # NaN/Inf would make ledger.json invalid JSON
            conv.err(pnode.line, f"{f}.params.{pname}", "must not hold .nan or .inf")
    return _plain(pn)


def _controls(conv: _Converter, n: _Node, f: str) -> list[Control]:
    """``control:`` one mapping or a list of them: {label, should: fail|hold, params: {...}, output: NAME}."""
    node = n.value.get("control")
    if node is None:
        return []
    items = node.value if isinstance(node.value, list) else [node]
    out = []
    for i, c in enumerate(items):
        cf = f"{f}.control" + (f"[{i}]" if isinstance(node.value, list) else "")
        if not isinstance(c.value, dict):
            conv.err(c.line, cf, "must be a mapping {label: ..., should: fail|hold, params: {...}, output: NAME}")
            continue
        before = len(conv.errors)
        _unknown(conv, c, CONTROL_FIELDS, cf)
        label = _str(conv, c, "label", cf, max_len=300)
        should = _str(conv, c, "should", cf, required=False, max_len=10) or "fail"
        if should not in CONTROL_SHOULD:
            conv.err(c.value["should"].line, f"{cf}.should", f"{should!r} is not one of {', '.join(CONTROL_SHOULD)}")
        params = _params(conv, c, cf)
        output = _str(conv, c, "output", cf, required=False, max_len=100)
        if "params" not in c.value and "output" not in c.value:
            conv.err(c.line, cf, "needs params (the measurement re-run on the control input) or output (a control "
                                 "computed in the same run), or both")
        if len(conv.errors) == before and label:
            out.append(Control(label, should, params, output, Where(conv.file, c.line)))
    return out


def _seed_values(conv: _Converter, n: _Node, f: str) -> tuple[dict[str, str], dict[str, str]]:
    """{name: fragment} (the claim's seed) or {name: {seed: FILE, quote: fragment}} (another seed)."""
    node = n.value.get("seed_values")
    if node is None:
        return {}, {}
    if not isinstance(node.value, dict) or not node.value:
        conv.err(node.line, f"{f}.seed_values", "must be a mapping {name: verbatim fragment of the seed}")
        return {}, {}
    out: dict[str, str] = {}
    other: dict[str, str] = {}
    for key, v in node.value.items():
        vf = f"{f}.seed_values.{key}"
        if not PARAM_RE.match(key):
            conv.err(v.line, vf, "names must be identifiers")
        elif isinstance(v.value, dict):
            _unknown(conv, v, {"seed", "quote"}, vf)
            seed, quote = _str(conv, v, "seed", vf, max_len=200), _str(conv, v, "quote", vf)
            if seed is not None and not SEED_RE.match(seed):
                conv.err(v.value["seed"].line, f"{vf}.seed", "must be a plain file name like 000_xxx.txt (no paths)")
            elif seed and quote:
                out[key], other[key] = quote, seed
        elif not isinstance(v.value, str) or not v.value.strip():
            conv.err(v.line, vf, "must be a verbatim fragment of the seed (a string), or {seed: FILE, quote: ...}")
        else:
            out[key] = v.value
    return out, other


def _seed_table(conv: _Converter, n: _Node, f: str) -> SeedTable | None:
    node = n.value.get("seed_table")
    if node is None:
        return None
    tf = f"{f}.seed_table"
    if not isinstance(node.value, dict):
        conv.err(node.line, tf, "must be a mapping {rows: [verbatim table rows], columns: {param: column number}}")
        return None
    before = len(conv.errors)
    _unknown(conv, node, SEED_TABLE_FIELDS, tf)
    rows_n, cols_n = node.value.get("rows"), node.value.get("columns")
    other_seed = _str(conv, node, "seed", tf, required=False, max_len=200)
    if other_seed is not None and not SEED_RE.match(other_seed):
        conv.err(node.value["seed"].line, f"{tf}.seed", "must be a plain file name like 000_xxx.txt (no paths)")
    rows: list[str] = []
    if rows_n is None or not isinstance(rows_n.value, list) or not rows_n.value:
        conv.err(node.line, f"{tf}.rows", "must be a non-empty list of table rows quoted verbatim from the seed")
    else:
        for r in rows_n.value:
            if not isinstance(r.value, str) or not r.value.strip():
                conv.err(r.line, f"{tf}.rows", "each row must be a string quoted verbatim from the seed")
            else:
                rows.append(r.value)
    cols: dict[str, int] = {}
    if cols_n is None or not isinstance(cols_n.value, dict) or not cols_n.value:
        conv.err(node.line, f"{tf}.columns", "must be a mapping {parameter: 1-based column number}")
    else:
        for key, v in cols_n.value.items():
            if type(v.value) is not int or v.value < 1:
                conv.err(v.line, f"{tf}.columns.{key}", "must be a column number ≥ 1")
            else:
                cols[key] = v.value
    if len(conv.errors) > before:
        return None
    return SeedTable(tuple(rows), cols, Where(conv.file, node.line), seed=other_seed)

"""The mutants of one module: cosmic-ray's operators find and apply them; this module only locates them.

Policy:
1. Every mutant is made by cosmic-ray (``cosmic_ray.plugins.get_operator`` + ``cosmic_ray.mutating.mutate_code``);
   nothing here rewrites code. A mutant is named ``operator#occurrence``: the occurrence-th place, in cosmic-ray's
   walk order, where that operator applies (the same numbering ``cosmic-ray init`` gives).
2. The operator set is :data:`OPERATORS`: one replacement per operator site (the mutmut-style set: an arithmetic
   operator by its inverse, a comparison by its boundary neighbour, ``==`` by ``!=``, constants ±1, boolean
   keywords, ``not``, loop control, handled exceptions, zero-iteration loops). cosmic-ray's full cross product
   (every binary operator by every other, ~12 mutants per ``+``) is mostly redundant and would not fit the time
   budget; ``RemoveDecorator`` (removing ``lru_cache`` only costs time) and ``VariableReplacer``/``VariableInserter``
   (random values: not reproducible) are left out.
3. Only mutants inside a function are kept (the innermost ``def`` that contains them; in its signature only the
   default values, which every call may use). Module-level and class-level code runs at import, outside any test, so
   no test's coverage can vouch for it; it is counted as ``module_level`` and never mutated. Sites that are not code
   are dropped: annotations (never evaluated under ``from __future__ import annotations``, never used otherwise) and
   the bare ``*``/``/`` markers of a parameter list, which cosmic-ray's binary-operator test takes for a product.
4. A module whose syntax cosmic-ray's parser (parso) does not understand (e.g. a ``match`` statement or
   ``except*`` under parso 0.8) raises :class:`ModuleNotMutable`: the caller reports it; it is never half-mutated.
"""

from __future__ import annotations

import ast
import hashlib
from dataclasses import dataclass
from pathlib import Path

# cosmic-ray core operators (provider "core"); see the policy above for the choice.
OPERATORS: tuple[str, ...] = tuple(f"core/{name}" for name in (
    "ReplaceBinaryOperator_Add_Sub", "ReplaceBinaryOperator_Sub_Add",
    "ReplaceBinaryOperator_Mul_Div", "ReplaceBinaryOperator_Div_Mul",
    "ReplaceBinaryOperator_FloorDiv_Div", "ReplaceBinaryOperator_Mod_FloorDiv",
    "ReplaceBinaryOperator_Pow_Mul",
    "ReplaceBinaryOperator_LShift_RShift", "ReplaceBinaryOperator_RShift_LShift",
    "ReplaceBinaryOperator_BitOr_BitAnd", "ReplaceBinaryOperator_BitAnd_BitOr",
    "ReplaceBinaryOperator_BitXor_BitOr",
    "ReplaceComparisonOperator_Eq_NotEq", "ReplaceComparisonOperator_NotEq_Eq",
    "ReplaceComparisonOperator_Lt_LtE", "ReplaceComparisonOperator_LtE_Lt",
    "ReplaceComparisonOperator_Gt_GtE", "ReplaceComparisonOperator_GtE_Gt",
    "ReplaceComparisonOperator_Is_IsNot", "ReplaceComparisonOperator_IsNot_Is",
    "ReplaceUnaryOperator_USub_UAdd", "ReplaceUnaryOperator_Delete_Not",
    "AddNot",
    "ReplaceTrueWithFalse", "ReplaceFalseWithTrue",
    "ReplaceAndWithOr", "ReplaceOrWithAnd",
    "ReplaceBreakWithContinue", "ReplaceContinueWithBreak",
    "ExceptionReplacer",
    "NumberReplacer",
    "ZeroIterationForLoop",
))


class ModuleNotMutable(Exception):
    """The module cannot be mutated (unreadable, or syntax cosmic-ray's parser does not understand)."""


@dataclass(frozen=True)
class FunctionSpan:
    qualname: str  # Class.method, outer.inner
    def_line: int  # the ``def`` line (decorators above it are not part of the function)
    body_start: int  # first line of the body; def_line .. body_start-1 is the signature
    end: int


@dataclass(frozen=True)
class _NotCode:
    """Source ranges of a module that hold no behaviour (annotations) and its functions' default values."""
    annotations: tuple[tuple[tuple[int, int], tuple[int, int]], ...]
    defaults: tuple[tuple[tuple[int, int], tuple[int, int]], ...]

    @staticmethod
    def of(tree: ast.Module) -> "_NotCode":
        def rng(n: ast.AST) -> tuple[tuple[int, int], tuple[int, int]]:
            return (n.lineno, n.col_offset), (n.end_lineno or n.lineno, n.end_col_offset or 0)  # type: ignore[attr-defined]

        ann, dflt = [], []
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if node.returns is not None:
                    ann.append(rng(node.returns))
                a = node.args
                for arg in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg]:
                    if arg is not None and arg.annotation is not None:
                        ann.append(rng(arg.annotation))
                dflt += [rng(d) for d in [*a.defaults, *a.kw_defaults] if d is not None]
            elif isinstance(node, ast.AnnAssign):
                ann.append(rng(node.annotation))
        return _NotCode(tuple(ann), tuple(dflt))

    @staticmethod
    def _inside(pos: tuple[int, int], ranges: tuple) -> bool:
        return any(a <= pos < b for a, b in ranges)

    def skip(self, pos: tuple[int, int], in_signature: bool) -> bool:
        return self._inside(pos, self.annotations) or (in_signature and not self._inside(pos, self.defaults))


@dataclass(frozen=True)
class MutantSite:
    mutant_id: str  # "core/NumberReplacer#3"
    operator: str
    occurrence: int
    line: int
    col: int
    function: str  # qualname of the innermost function holding it
    select_lines: tuple[int, ...]  # a test whose coverage meets these lines reaches the mutant


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_source(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ModuleNotMutable(f"{path}: cannot read: {exc}") from None


def function_spans(source: str, filename: str) -> list[FunctionSpan]:
    """Every ``def`` (methods and nested functions included) with its signature and body lines."""
    try:
        tree = ast.parse(source, filename=filename)
    except SyntaxError as exc:
        raise ModuleNotMutable(f"{filename}:{exc.lineno}: not valid Python: {exc.msg}") from None
    out: list[FunctionSpan] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                q = f"{prefix}{child.name}"
                out.append(FunctionSpan(q, child.lineno, child.body[0].lineno, child.end_lineno or child.lineno))
                visit(child, f"{q}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(tree, "")
    return out


def innermost(spans: list[FunctionSpan], line: int) -> FunctionSpan | None:
    best = None
    for s in spans:
        if s.def_line <= line <= s.end and (best is None or s.def_line >= best.def_line):
            best = s
    return best


def _statement_lines(statements: list[ast.stmt], line: int, col: int) -> tuple[int, ...]:
    """Lines of the innermost statement holding (line, col); of a compound statement only its header."""
    best: ast.stmt | None = None
    for node in statements:
        start, end = (node.lineno, node.col_offset), (node.end_lineno or node.lineno, node.end_col_offset or 0)
        if start <= (line, col) <= end and (best is None or start >= (best.lineno, best.col_offset)):
            best = node
    if best is None:
        return (line,)
    end = best.end_lineno or best.lineno
    body = getattr(best, "body", None)
    if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
        end = max(best.lineno, min(end, body[0].lineno - 1))
    return tuple(range(best.lineno, end + 1))


def enumerate_sites(source: str, filename: str, operators: tuple[str, ...] = OPERATORS
                    ) -> tuple[list[MutantSite], int, list[FunctionSpan]]:
    """(sites inside functions, the number of module/class-level sites left out, the functions)."""
    import cosmic_ray.plugins
    from cosmic_ray.ast import ast_nodes, get_ast

    spans = function_spans(source, filename)
    tree = ast.parse(source, filename=filename)
    statements = [n for n in ast.walk(tree) if isinstance(n, ast.stmt)]
    not_code = _NotCode.of(tree)
    grammar_errors = _parso_errors(source)
    if grammar_errors:
        raise ModuleNotMutable(f"{filename}: cosmic-ray's parser (parso) does not understand this module's syntax "
                               f"({grammar_errors})")
    parsed = get_ast(source)
    nodes = list(ast_nodes(parsed))
    sites: list[MutantSite] = []
    module_level = 0
    for name in operators:
        try:
            op = cosmic_ray.plugins.get_operator(name)()
        except KeyError:
            raise ModuleNotMutable(f"cosmic-ray has no operator {name!r}") from None
        occurrence = 0
        for node in nodes:
            for (line, col), _end in op.mutation_positions(node):
                fn = innermost(spans, line)
                occ, occurrence = occurrence, occurrence + 1
                if fn is None:
                    module_level += 1
                    continue
                # parso columns count code points from 0, as ast's col_offset counts UTF-8 bytes: equal for ASCII code
                if not_code.skip((line, _byte_col(source, line, col)), line < fn.body_start):
                    continue
                if line < fn.body_start:  # in the signature: reached by every call of the function
                    select: tuple[int, ...] = tuple(range(fn.body_start, fn.end + 1))
                else:
                    select = _statement_lines(statements, line, col)
                sites.append(MutantSite(f"{name}#{occ}", name, occ, line, col, fn.qualname, select))
    return sites, module_level, spans


def _byte_col(source: str, line: int, col: int) -> int:
    text = source.splitlines()[line - 1] if 0 < line <= source.count("\n") + 1 else ""
    return len(text[:col].encode("utf-8"))


def _parso_errors(source: str) -> str:
    import parso

    grammar = parso.load_grammar()
    errors = list(grammar.iter_errors(grammar.parse(source)))
    if not errors:
        return ""
    e = errors[0]
    return f"line {e.start_pos[0]}: {e.message}" + (f" and {len(errors) - 1} more" if len(errors) > 1 else "")


def apply(source: str, operator: str, occurrence: int) -> str | None:
    """The mutated module text (cosmic-ray's ``mutate_code``), or None when the mutant does not exist."""
    import cosmic_ray.plugins
    from cosmic_ray.mutating import mutate_code

    return mutate_code(source, cosmic_ray.plugins.get_operator(operator)(), occurrence)


def describe_change(original: str, mutated: str, limit: int = 160) -> str:
    """``old line → new line`` for the lines that differ (stripped; several joined by ' / ')."""
    a, b = original.splitlines(), mutated.splitlines()
    i = 0
    while i < min(len(a), len(b)) and a[i] == b[i]:
        i += 1
    ja, jb = len(a), len(b)
    while ja > i and jb > i and a[ja - 1] == b[jb - 1]:
        ja, jb = ja - 1, jb - 1
    old = " / ".join(s.strip() for s in a[i:ja]) or "(nothing)"
    new = " / ".join(s.strip() for s in b[i:jb]) or "(nothing)"

    def cut(s: str) -> str:
        return s if len(s) <= limit else s[: limit - 1] + "…"

    return f"{cut(old)} → {cut(new)}"

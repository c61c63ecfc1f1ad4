"""An exact calculator with a safe expression parser, and byte/unit helpers.

``evaluate("128 * 2816^2 * fp16 / GB")`` → ``Fraction(...)``. Values stay exact rationals (:class:`fractions.Fraction`)
as long as every operation allows it (+ − × ÷, integer powers, rational roots of perfect powers, log2 of a power of
two); otherwise they become :mod:`mpmath` numbers computed with 40 significant digits (:data:`DPS`).

The grammar is a whitelist over Python's ``ast``:

* numbers (``12``, ``0.919``, ``1e9``, ``1_000``: decimal literals are read exactly from their source text);
* ``+ - * /``, unary ``+ -``, ``**`` and ``^`` (both mean power, with the precedence of ``**``), parentheses;
* names: ``pi``, ``e``, byte units ``B KB MB GB TB KiB MiB GiB TiB`` (``MB`` = 10⁶, ``MiB`` = 2²⁰) and element sizes in
  bytes ``fp64 fp32 tf32 fp16 bf16 fp8 int8 int4 int2 int1`` (``int4`` = 1/2), ``bit`` = 1/8 byte;
* calls of ``ln log2 log10 sqrt exp gamma abs floor ceil`` with exactly one positional argument.

Everything else (attributes, subscripts, other names or calls, keywords, comparisons, lambdas, strings…) is
rejected before evaluation. Size limits: 1000 characters, 400 syntax nodes, integer exponents |n| ≤ 10000 and exact
results of at most 20000 bits; violations raise :class:`ExpressionError`.
"""

from __future__ import annotations

import ast
import math
from fractions import Fraction
from typing import Callable, Union

import mpmath

__all__ = [
    "ExpressionError",
    "Value",
    "DPS",
    "evaluate",
    "evaluate_float",
    "is_exact",
    "to_mpf",
    "format_value",
    "CONSTANTS",
    "UNITS",
    "DTYPE_BYTES",
    "FUNCTIONS",
    "nbytes",
    "to_unit",
    "mb",
    "mib",
    "gb",
    "gib",
]

Value = Union[Fraction, mpmath.mpf]
DPS = 40
MAX_CHARS = 1000
MAX_NODES = 400
MAX_INT_EXPONENT = 10_000
MAX_BITS = 20_000


class ExpressionError(ValueError):
    """A rejected or failing expression (syntax, forbidden construct, size limit, domain error)."""


UNITS: dict[str, Fraction] = {
    "B": Fraction(1),
    "KB": Fraction(10**3), "MB": Fraction(10**6), "GB": Fraction(10**9), "TB": Fraction(10**12),
    "KiB": Fraction(2**10), "MiB": Fraction(2**20), "GiB": Fraction(2**30), "TiB": Fraction(2**40),
    "bit": Fraction(1, 8),
}
"""Byte units (decimal SI and binary IEC)."""

DTYPE_BYTES: dict[str, Fraction] = {
    "fp64": Fraction(8), "fp32": Fraction(4), "tf32": Fraction(4), "fp16": Fraction(2), "bf16": Fraction(2),
    "fp8": Fraction(1), "int8": Fraction(1), "int4": Fraction(1, 2), "int2": Fraction(1, 4), "int1": Fraction(1, 8),
}
"""Bytes per element (storage size)."""


def _pi() -> mpmath.mpf:
    with mpmath.workdps(DPS):
        return +mpmath.pi


def _e() -> mpmath.mpf:
    with mpmath.workdps(DPS):
        return +mpmath.e


CONSTANTS: dict[str, Callable[[], Value]] = {"pi": _pi, "e": _e}
for _k, _v in {**UNITS, **DTYPE_BYTES}.items():
    CONSTANTS[_k] = (lambda v=_v: v)


def is_exact(v: Value) -> bool:
    """True when ``v`` is an exact rational (a :class:`fractions.Fraction`), False for a 40-digit mpmath value."""
    return isinstance(v, Fraction)


def to_mpf(v: Value) -> mpmath.mpf:
    """``v`` as an mpmath number at :data:`DPS` significant digits (exact rationals are divided at that precision)."""
    with mpmath.workdps(DPS):
        if isinstance(v, Fraction):
            return mpmath.mpf(v.numerator) / v.denominator
        return mpmath.mpf(v)


def _check_size(v: Value) -> Value:
    if isinstance(v, Fraction) and (v.numerator.bit_length() > MAX_BITS or v.denominator.bit_length() > MAX_BITS):
        raise ExpressionError(f"exact intermediate result exceeds {MAX_BITS} bits")
    if not isinstance(v, Fraction) and not mpmath.isfinite(v):
        raise ExpressionError("result is not finite")
    return v


def _iroot(n: int, k: int) -> int | None:
    """Exact integer k-th root of n ≥ 0, or None (integer Newton iteration, no floats)."""
    if n < 0:
        return None
    if n < 2:
        return n
    x = 1 << ((n.bit_length() + k - 1) // k)  # ≥ the root
    while True:
        y = ((k - 1) * x + n // x ** (k - 1)) // k
        if y >= x:
            break
        x = y
    return x if x**k == n else None


def _pow(a: Value, b: Value) -> Value:
    if isinstance(a, Fraction) and isinstance(b, Fraction):
        if b.denominator == 1:
            n = b.numerator
            if abs(n) > MAX_INT_EXPONENT:
                raise ExpressionError(f"integer exponent {n} exceeds {MAX_INT_EXPONENT}")
            if a == 0 and n < 0:
                raise ExpressionError("division by zero (0 to a negative power)")
            bits = max(a.numerator.bit_length(), a.denominator.bit_length()) * abs(n)
            if bits > MAX_BITS:
                raise ExpressionError(f"exact power would exceed {MAX_BITS} bits")
            return a**n
        if a >= 0 and b.denominator <= 64:
            num, den = _iroot(a.numerator, b.denominator), _iroot(a.denominator, b.denominator)
            if num is not None and den is not None:
                return _pow(Fraction(num, den), Fraction(b.numerator))
    with mpmath.workdps(DPS):
        A, Bv = to_mpf(a), to_mpf(b)
        if A < 0 and not (isinstance(b, Fraction) and b.denominator == 1):
            raise ExpressionError("negative base to a non-integer power")
        if A == 0 and Bv < 0:
            raise ExpressionError("division by zero (0 to a negative power)")
        return mpmath.power(A, Bv)


def _positive(name: str, x: Value) -> mpmath.mpf:
    X = to_mpf(x)
    if X <= 0:
        raise ExpressionError(f"{name} needs a positive argument")
    return X


def _ln(x: Value) -> Value:
    if x == 1:
        return Fraction(0)
    with mpmath.workdps(DPS):
        return mpmath.log(_positive("ln", x))


def _log2(x: Value) -> Value:
    if isinstance(x, Fraction) and x > 0:
        num, den = x.numerator, x.denominator
        if num & (num - 1) == 0 and den & (den - 1) == 0:
            return Fraction(num.bit_length() - den.bit_length())
    with mpmath.workdps(DPS):
        return mpmath.log(_positive("log2", x), 2)


def _log10(x: Value) -> Value:
    if isinstance(x, Fraction) and x > 0:
        for k in range(-400, 401):
            if x == Fraction(10) ** k:
                return Fraction(k)
            if x < Fraction(10) ** k:
                break
    with mpmath.workdps(DPS):
        return mpmath.log10(_positive("log10", x))


def _sqrt(x: Value) -> Value:
    if to_mpf(x) < 0:
        raise ExpressionError("sqrt of a negative number")
    return _pow(x, Fraction(1, 2))


def _exp(x: Value) -> Value:
    if x == 0:
        return Fraction(1)
    with mpmath.workdps(DPS):
        X = to_mpf(x)
        if X > 10**6:
            raise ExpressionError("exp argument too large")
        return mpmath.exp(X)


def _gamma(x: Value) -> Value:
    if isinstance(x, Fraction) and x.denominator == 1:
        if x <= 0:
            raise ExpressionError("gamma has poles at 0, -1, -2, …")
        if x <= 2000:
            return Fraction(math.factorial(int(x) - 1))
    with mpmath.workdps(DPS):
        X = to_mpf(x)
        if X > 10**6:
            raise ExpressionError("gamma argument too large")
        if X <= 0 and X == mpmath.floor(X):
            raise ExpressionError("gamma has poles at 0, -1, -2, …")
        return mpmath.gamma(X)


def _abs(x: Value) -> Value:
    return abs(x)


def _floor(x: Value) -> Value:
    return Fraction(math.floor(x)) if isinstance(x, Fraction) else Fraction(int(mpmath.floor(x)))


def _ceil(x: Value) -> Value:
    return Fraction(math.ceil(x)) if isinstance(x, Fraction) else Fraction(int(mpmath.ceil(x)))


FUNCTIONS: dict[str, Callable[[Value], Value]] = {
    "ln": _ln, "log2": _log2, "log10": _log10, "sqrt": _sqrt, "exp": _exp, "gamma": _gamma,
    "abs": _abs, "floor": _floor, "ceil": _ceil,
}

_ALLOWED = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant, ast.Name, ast.Load, ast.Call,
            ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.UAdd, ast.USub)


def _literal(node: ast.Constant, src: str) -> Fraction:
    v = node.value
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ExpressionError(f"unsupported literal {v!r}")
    if isinstance(v, int):
        return Fraction(v)
    text = ast.get_source_segment(src, node)
    if text is None:
        raise ExpressionError("cannot read literal")
    try:
        return Fraction(text.replace("_", ""))
    except (ValueError, ZeroDivisionError) as exc:
        raise ExpressionError(f"bad number {text!r}") from exc


def _eval(node: ast.AST, src: str) -> Value:
    if isinstance(node, ast.Expression):
        return _eval(node.body, src)
    if isinstance(node, ast.Constant):
        return _literal(node, src)
    if isinstance(node, ast.Name):
        if node.id not in CONSTANTS:
            raise ExpressionError(f"unknown name {node.id!r}")
        return CONSTANTS[node.id]()
    if isinstance(node, ast.UnaryOp):
        v = _eval(node.operand, src)
        return -v if isinstance(node.op, ast.USub) else +v
    if isinstance(node, ast.BinOp):
        a, b = _eval(node.left, src), _eval(node.right, src)
        op = node.op
        if isinstance(op, ast.Pow):
            return _check_size(_pow(a, b))
        if isinstance(a, Fraction) and isinstance(b, Fraction):
            if isinstance(op, ast.Add):
                return _check_size(a + b)
            if isinstance(op, ast.Sub):
                return _check_size(a - b)
            if isinstance(op, ast.Mult):
                return _check_size(a * b)
            if isinstance(op, ast.Div):
                if b == 0:
                    raise ExpressionError("division by zero")
                return _check_size(a / b)
        with mpmath.workdps(DPS):
            A, Bv = to_mpf(a), to_mpf(b)
            if isinstance(op, ast.Add):
                return _check_size(A + Bv)
            if isinstance(op, ast.Sub):
                return _check_size(A - Bv)
            if isinstance(op, ast.Mult):
                return _check_size(A * Bv)
            if isinstance(op, ast.Div):
                if Bv == 0:
                    raise ExpressionError("division by zero")
                return _check_size(A / Bv)
        raise ExpressionError("unsupported operator")
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            raise ExpressionError("only ln log2 log10 sqrt exp gamma abs floor ceil may be called")
        if node.keywords or len(node.args) != 1:
            raise ExpressionError(f"{node.func.id} takes exactly one positional argument")
        return _check_size(FUNCTIONS[node.func.id](_eval(node.args[0], src)))
    raise ExpressionError(f"forbidden syntax: {type(node).__name__}")


def evaluate(expr: str) -> Value:
    """Evaluate an expression exactly where possible (see the module docstring). Raises :class:`ExpressionError`."""
    if not isinstance(expr, str):
        raise ExpressionError("expression must be a string")
    if len(expr) > MAX_CHARS:
        raise ExpressionError(f"expression longer than {MAX_CHARS} characters")
    if "\x00" in expr:
        raise ExpressionError("NUL in expression")
    # ``^`` means power with the precedence of ``**`` (Python's ``^`` is XOR and binds looser than ``*``), so it
    # is rewritten before parsing: "128 * 2816^2" is 128 · 2816².
    src = expr.strip().replace("^", "**")
    try:
        tree = ast.parse(src, mode="eval")
    except (SyntaxError, MemoryError, RecursionError, ValueError) as exc:
        raise ExpressionError(f"syntax error: {exc}") from None
    nodes = list(ast.walk(tree))
    if len(nodes) > MAX_NODES:
        raise ExpressionError(f"expression has more than {MAX_NODES} syntax nodes")
    for n in nodes:
        if not isinstance(n, _ALLOWED):
            raise ExpressionError(f"forbidden syntax: {type(n).__name__}")
        if isinstance(n, ast.Call) and not (isinstance(n.func, ast.Name) and n.func.id in FUNCTIONS):
            raise ExpressionError("only ln log2 log10 sqrt exp gamma abs floor ceil may be called")
        if isinstance(n, ast.Name) and n.id not in CONSTANTS and n.id not in FUNCTIONS:
            raise ExpressionError(f"unknown name {n.id!r}")
    try:
        return _eval(tree, src)
    except ExpressionError:
        raise
    except (ZeroDivisionError, OverflowError, ValueError, RecursionError) as exc:
        raise ExpressionError(f"{type(exc).__name__}: {exc}") from None


def evaluate_float(expr: str) -> float:
    """:func:`evaluate` rounded to the nearest float (raises :class:`ExpressionError` like it)."""
    v = evaluate(expr)
    return float(v) if isinstance(v, Fraction) else float(v)


def format_value(v: Value, digits: int = 30) -> str:
    """Exact rationals as ``p/q`` (and a decimal), mpmath numbers to ``digits`` significant digits."""
    if isinstance(v, Fraction):
        if v.denominator == 1:
            return str(v.numerator)
        with mpmath.workdps(digits + 5):
            return f"{v.numerator}/{v.denominator} ≈ {mpmath.nstr(to_mpf(v), digits)}"
    return mpmath.nstr(v, digits)


# --------------------------------------------------------------------------------------------------------------
# Unit helpers
# --------------------------------------------------------------------------------------------------------------


def nbytes(n_elements: int | Fraction, dtype: str) -> Fraction:
    """Bytes of ``n_elements`` values stored as ``dtype`` (exact; int4 = ½ byte)."""
    return Fraction(n_elements) * DTYPE_BYTES[dtype]


def to_unit(n_bytes: int | Fraction, unit: str) -> Fraction:
    """Bytes expressed in ``unit`` (``"MB"`` = 10⁶ B, ``"MiB"`` = 2²⁰ B, …), exactly."""
    return Fraction(n_bytes) / UNITS[unit]


def mb(n_bytes: int | Fraction) -> Fraction:
    """A byte count in MB = 10⁶ bytes, exact."""
    return to_unit(n_bytes, "MB")


def mib(n_bytes: int | Fraction) -> Fraction:
    """A byte count in MiB = 2²⁰ bytes, exact."""
    return to_unit(n_bytes, "MiB")


def gb(n_bytes: int | Fraction) -> Fraction:
    """A byte count in GB = 10⁹ bytes, exact."""
    return to_unit(n_bytes, "GB")


def gib(n_bytes: int | Fraction) -> Fraction:
    """A byte count in GiB = 2³⁰ bytes, exact."""
    return to_unit(n_bytes, "GiB")

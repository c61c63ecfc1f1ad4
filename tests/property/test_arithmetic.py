"""The exact calculator: exactness, precedence, units, the safety whitelist, and the ``arith`` measurement."""

from __future__ import annotations

import time
from fractions import Fraction

import mpmath
import pytest
from hypothesis import given
from hypothesis import strategies as st

from quantproof.evidence.measurement import Context, registry
from quantproof.math.arithmetic import (
    ExpressionError,
    evaluate,
    evaluate_float,
    format_value,
    gib,
    is_exact,
    mb,
    mib,
    nbytes,
)


@st.composite
def expr_trees(draw, depth: int = 0):
    """(source text, exact Fraction value) of random rational expressions."""
    if depth > 3 or draw(st.booleans()):
        n = draw(st.integers(0, 999))
        if draw(st.booleans()):
            dec = draw(st.integers(0, 99))
            return f"{n}.{dec:02d}", Fraction(n) + Fraction(dec, 100)
        return str(n), Fraction(n)
    op = draw(st.sampled_from(["+", "-", "*", "/", "^", "neg"]))
    a_src, a = draw(expr_trees(depth + 1))
    if op == "neg":
        return f"(-({a_src}))", -a
    if op == "^":
        e = draw(st.integers(-3, 3))
        if a == 0 and e < 0:
            e = -e
        return f"({a_src})^{e}" if e >= 0 else f"({a_src})^({e})", a**e
    b_src, b = draw(expr_trees(depth + 1))
    if op == "/" and b == 0:
        return f"({a_src})*({b_src})", a * b
    val = {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b != 0 else None}[op]
    return f"({a_src}){op}({b_src})", val


@given(expr_trees())
def test_rational_expressions_are_exact(tree):
    src, value = tree
    v = evaluate(src)
    assert is_exact(v) and v == value


def test_precedence_and_powers():
    assert evaluate("128 * 2816^2 * 2") == 128 * 2816**2 * 2  # ^ binds like **, tighter than *
    assert evaluate("-2^2") == -4 and evaluate("2^-1") == Fraction(1, 2) and evaluate("2^3^2") == 512
    assert evaluate("2**10") == 1024 and evaluate("(1+2)*3") == 9
    assert evaluate("0.1 + 0.2") == Fraction(3, 10)  # decimal literals are exact
    assert evaluate("1e9") == 10**9 and evaluate("1_000") == 1000 and evaluate("2.5e-3") == Fraction(1, 400)
    assert evaluate("sqrt(16/9)") == Fraction(4, 3) and evaluate("8^(1/3)") == 2 and evaluate("log2(1/1024)") == -10
    assert evaluate("gamma(5)") == 24 and evaluate("log10(1000)") == 3 and evaluate("floor(7/2)") == 3
    assert evaluate("ceil(7/2)") == 4 and evaluate("abs(-3/4)") == Fraction(3, 4) and evaluate("exp(0)") == 1


def test_irrational_values_to_thirty_digits():
    with mpmath.workdps(35):
        assert abs(evaluate("sqrt(2/pi)") - mpmath.sqrt(2 / mpmath.pi)) < mpmath.mpf(10) ** -30
        assert abs(evaluate("ln(2)") - mpmath.log(2)) < mpmath.mpf(10) ** -30
        assert abs(evaluate("e^2") - mpmath.e**2) < mpmath.mpf(10) ** -29
    assert not is_exact(evaluate("pi")) and evaluate_float("2/pi") == pytest.approx(0.6366197723675814)
    assert format_value(evaluate("768/9"), 6).startswith("256/3")


def test_units():
    assert evaluate("MB") == 10**6 and evaluate("MiB") == 2**20 and evaluate("GiB") == 2**30
    assert evaluate("int4") == Fraction(1, 2) and evaluate("fp16") == 2 and evaluate("fp32") == 4 and evaluate("bit") == Fraction(1, 8)
    assert evaluate("64^2 * 768 * fp32 / MiB") == 12
    assert nbytes(10, "int4") == 5 and mb(2 * 10**6) == 2 and mib(2**21) == 2 and gib(2**31) == 2


FORBIDDEN = [
    "__import__('os')", "(1).real", "pi.real", "x", "abs(1, 2)", "abs(x=1)", "[1]", "{1: 2}", "1 if 1 else 2",
    "1 < 2", "'a'", "True", "1j", "f(1)", "lambda: 1", "sqrt", "exec('1')", "open('f')", "().__class__",
    "1; 2", "a = 1", "(yield)", "[x for x in ()]", "1 % 2", "1 // 2", "1 & 2", "1 << 2", "~1", "not 1",
    "sqrt(*[4])", "e.real", "GB.__class__", "2^100000", "9**9**9", "10^(10^10)", "1/0", "0^-1", "ln(0)",
    "log2(-1)", "sqrt(-1)", "(-8)^(1/3)", "gamma(0)", "exp(10^9)", "(" * 300 + "1" + ")" * 300, "1" * 2000, "",
    "\x00", "2^5000 * 2^5000 * 2^5000 * 2^5000 * 2^5000",
]


@pytest.mark.parametrize("expr", FORBIDDEN)
def test_forbidden_or_failing_expressions_raise_expression_error(expr):
    with pytest.raises(ExpressionError):
        evaluate(expr)


_TOKENS = list("0123456789+-*/^().e pilnsqrtgamxbfoc_,'[]:=<>~%&|") + [
    "MiB", "fp16", "sqrt(", "ln(", "**", "9", "__", "lambda", "import"]


@given(st.lists(st.sampled_from(_TOKENS), max_size=40).map("".join))
def test_fuzz_only_expression_errors_and_fast(src):
    t = time.perf_counter()
    try:
        evaluate(src)
    except ExpressionError:
        pass
    assert time.perf_counter() - t < 2.0


def test_arith_measurement_is_registered_and_exact():
    spec = registry()["arith"]
    assert set(spec.params) == {"expr"} and set(spec.outputs) == {"value"}
    res = spec.func(Context(), **spec.bind({"expr": "180224 * 2816 * fp32 / GiB"}))
    assert res.outputs["value"].value == 1.890625
    assert res.details["is_exact"] is True
    res2 = spec.func(Context(), **spec.bind({"expr": "sqrt(2/pi)"}))
    assert res2.outputs["value"].value == pytest.approx(0.7978845608028654, abs=1e-15)
    with pytest.raises(ValueError):
        spec.bind({"expr": 3})
    with pytest.raises(ExpressionError):
        spec.func(Context(), **spec.bind({"expr": "__import__('os')"}))

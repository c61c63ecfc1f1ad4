"""``arith``: the exact value of an arithmetic expression, so that an arithmetic claim can be checked from YAML alone.

Example (claims.yaml)::

    measurements:
      - name: arith
        params: {expr: "128 * 2816^2 * fp16 / MB"}
        output: value
        role: corrects
        expect: {value: 2030.04, tol: 0.01}

The grammar (numbers, + - * / ** ^, parentheses, pi, e, byte units MB/MiB/GB/GiB…, element sizes fp16/int4…, and
ln log2 log10 sqrt exp gamma abs floor ceil) is documented in :mod:`quantproof.math.arithmetic`; anything else is
rejected before evaluation. The value is exact (a rational) whenever the expression allows, else 40 digits.
"""

from __future__ import annotations

from ..evidence.measurement import Context, Estimate, Result, measurement


@measurement("arith", in_process=True, exact={'value': 'exact arithmetic on the expression'}, outputs={"value": "value of the expression (exact rational or 40-digit mpmath, as a float)"},
             description="exact calculator for arithmetic claims (safe expression parser)", timeout_s=30.0)
def arith(ctx: Context, *, expr: str = "0") -> Result:
    from fractions import Fraction

    from ..math.arithmetic import evaluate, format_value

    v = evaluate(expr)
    exact = isinstance(v, Fraction)
    value = float(v)
    return Result(
        outputs={"value": Estimate(value=value, method="exact rational" if exact else "mpmath, 40 significant digits")},
        details={"expr": expr, "exact": format_value(v, 30), "is_exact": exact},
        model="none (arithmetic)",
    )

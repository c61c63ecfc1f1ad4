"""``quantproof new-claim``: the text of a new claim entry, and on request of a tagged test or a measurement stub.

Policy: a scaffold is honest about being unfinished. Its statement says TODO; its test is skipped (so the claim is
``unchecked``, never supported or refuted by a placeholder); its measurement raises ``MeasurementUnavailable`` (so
it is "not run"); its measurement link carries a control placeholder that the author must replace with a null on
which the expectation should fail. Pure functions returning text; the CLI checks the quote against the seed and
writes the files.
"""

from __future__ import annotations

import json
import re
import textwrap

KIND_HINT = "theorem | asymptotic | arithmetic | empirical | definitional | conjecture"


def _yaml_str(s: str) -> str:
    """A double-quoted YAML scalar (JSON strings are valid YAML double-quoted scalars)."""
    return json.dumps(s, ensure_ascii=False)


def claim_entry(cid: str, seed: str, quote: str, kind: str, *, test_id: str | None = None,
                measurement: str | None = None) -> str:
    lines = [
        f"  - id: {cid}",
        f"    title: {_yaml_str('TODO: a one-line title')}",
        "    source:",
        f"      seed: {seed}",
        f"      quote: {_yaml_str(quote)}",
        f"    kind: {kind}",
        "    statement: >-",
        "      TODO: the precise statement, with every hypothesis and convention (see docs/REFEREE.md).",
    ]
    if kind == "empirical":
        lines.append("    scope: seed-setting   # or universal: docs/REFEREE.md, the substitute-model policy")
    lines += [
        "    assumptions:",
        f"      - {{text: {_yaml_str('TODO: what our reading adds to the seed')}, by: ours, kind: convention}}",
    ]
    if test_id:
        lines += ["    tests:", f"      - {{test: {test_id}, role: asserts}}"]
    if measurement:
        lines += [
            "    measurements:",
            f"      - name: {measurement}",
            "        params: {}",
            "        output: value",
            "        role: asserts",
            "        expect: {greater_than: 0.0}   # TODO: what the claim says about the output",
            "        control: {label: \"TODO: the same measurement where the effect is absent\", should: fail,",
            "                  params: {null: true}}",
        ]
    return "\n".join(lines) + "\n"


def test_module(cid: str, func: str) -> str:
    return textwrap.dedent(f'''\
        """Tests of claim {cid} (scaffolded by `quantproof new-claim`)."""

        import pytest


        @pytest.mark.claim("{cid}", role="asserts")
        def {func}():
            # A test is evidence only if it could fail: check the claim's proposition on inputs where it could be
            # false, never an identity or a number copied from the seed (docs/REFEREE.md).
            pytest.skip("scaffold: write the property this claim asserts")
        ''')


def measurement_module(name: str, cid: str) -> str:
    return textwrap.dedent(f'''\
        """``{name}``: the measurement behind claim {cid} (scaffolded by `quantproof new-claim`).

        Rules: docs/CONTRIBUTING.md and the docstring of quantproof.evidence.measurement.
        """

        from __future__ import annotations

        from ..evidence.measurement import Context, Estimate, MeasurementUnavailable, Result, measurement


        @measurement("{name}", outputs={{"value": "TODO: what is measured"}}, on_model=False,
                     description="TODO: one line")
        def {name}(ctx: Context, *, null: bool = False) -> Result:
            """TODO. ``null=True`` computes the same statistic on the control input (the effect absent)."""
            raise MeasurementUnavailable("scaffold: {name} is not written yet")
            return Result(outputs={{"value": Estimate(0.0, lo=0.0, hi=0.0, n=0, level=0.95, method="TODO")}})
        ''')


def test_function_name(cid: str) -> str:
    return "test_" + re.sub(r"[^0-9A-Za-z_]", "_", cid).lower()

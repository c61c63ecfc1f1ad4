"""The referee's fields of claims.yaml: controls, assumptions, scope, premises, test roles, seed figures."""

from __future__ import annotations

from pathlib import Path

import pytest

from quantproof.claims.loader import ClaimsFileError, parse_claims
from quantproof.claims.model import MeasurementLink, SeedTable, Where
from quantproof.claims.seeddata import SeedDataError, cell_number, fragment_number, resolve, table_cells
from quantproof.claims.validate import validate

from .conftest import CLAIMS, make_repo

HEAD = "schema: 1\nclaims:\n"


def one(body: str) -> str:
    return HEAD + "  - id: c\n    title: t\n    source: {seed: toy.txt, quote: \"The mean is five.\"}\n" + body


def errors(text: str) -> list[str]:
    with pytest.raises(ClaimsFileError) as exc:
        parse_claims(text, "claims.yaml")
    return [str(e) for e in exc.value.errors]


def test_new_fields_are_read() -> None:
    cs = parse_claims(one("""\
    kind: empirical
    statement: s
    scope: universal
    corrected: the right statement
    assumptions:
      - {text: "coordinates are independent", by: ours, kind: hypothesis}
      - {text: "sgn(0) = +1", by: ours, kind: convention}
    measurements:
      - name: selftest_normal_mean
        params: {mu: 0.0}
        output: mean
        role: asserts
        expect: {value: 0.0, tol: 0.2}
        control:
          - {label: shifted, should: fail, params: {mu: 1.0}}
          - {label: planted, should: hold, output: mean}
    tests:
      - {test: tests/test_mini.py::test_x, role: refutes}
      - tests/test_mini.py::test_y
"""))
    c = cs.claims[0]
    assert c.scope == "universal" and c.corrected == "the right statement"
    assert [a.text for a in c.added_hypotheses] == ["coordinates are independent"]
    ctl = c.measurements[0].controls
    assert [(x.label, x.should, x.params, x.output) for x in ctl] == [("shifted", "fail", {"mu": 1.0}, None),
                                                                   ("planted", "hold", {}, "mean")]
    assert [(t.test_id, t.role) for t in c.tests] == [("tests/test_mini.py::test_x", "refutes"),
                                                     ("tests/test_mini.py::test_y", "asserts")]


@pytest.mark.parametrize("body, field", [
    ("    kind: empirical\n    statement: s\n    scope: everywhere\n", "c.scope"),
    ("    kind: theorem\n    statement: s\n    assumptions:\n      - {text: x, by: them, kind: hypothesis}\n",
     "c.assumptions[0].by"),
    ("    kind: theorem\n    statement: s\n    assumptions:\n      - {text: x, by: ours, kind: guess}\n",
     "c.assumptions[0].kind"),
    ("    kind: theorem\n    statement: s\n    tests:\n      - {test: tests/a.py::t, role: proves}\n",
     "c.tests[0].role"),
    ("    kind: theorem\n    statement: s\n    measurements:\n      - name: arith\n        params: {expr: '1'}\n"
     "        expect: {value: 1}\n        control: {label: x, should: maybe, params: {}}\n",
     "c.measurements[0].control.should"),
    ("    kind: theorem\n    statement: s\n    measurements:\n      - name: arith\n        params: {expr: '1'}\n"
     "        expect: {value: 1}\n        control: {label: x}\n", "c.measurements[0].control"),
    ("    kind: theorem\n    statement: s\n    measurements:\n      - name: arith\n        expect: {value: 1}\n"
     "        seed_table: {rows: [], columns: {x: 1}}\n", "c.measurements[0].seed_table.rows"),
    ("    kind: theorem\n    statement: s\n    premises: [nope]\n", "c.premises"),
])
def test_bad_fields_name_file_line_and_field(body: str, field: str) -> None:
    errs = errors(one(body))
    assert any(f": {field}:" in e and e.startswith("claims.yaml:") for e in errs), errs


def test_a_premise_loop_is_refused() -> None:
    text = HEAD + "".join(
        f"  - id: {a}\n    title: t\n    source: {{seed: toy.txt, quote: q}}\n    kind: theorem\n    statement: s\n"
        f"    premises: [{b}]\n" for a, b in (("a", "b"), ("b", "a")))
    assert any("premises loop back" in e for e in errors(text))


# ------------------------------------------------------------------------------------------------ seed figures

SEED = """A figure from 0.21 MB to 0.02 MB.
| β | Min | Avg |
|---|---|---|
| 0.10 | 0.9972 | 0.9979 |
| β = 0.20 | 0.9862 | 0.9939 |
| 3B (4-bit) | 0.5 | 0.6 |
"""


def link(**kw) -> MeasurementLink:
    base = dict(name="arith", params={"expr": "a / b"}, output="value", role="asserts", expect=None, key=None,
                where=Where("claims.yaml", 1))
    base.update(kw)
    return MeasurementLink(**base)


def test_fragments_and_marks() -> None:
    assert fragment_number("from 0.21 MB") == ("0.21", "from 0.21 MB")
    assert fragment_number("from {{0.21}} MB to 0.02 MB") == ("0.21", "from 0.21 MB to 0.02 MB")
    with pytest.raises(ValueError):
        fragment_number("from 0.21 MB to 0.02 MB")
    with pytest.raises(ValueError):
        fragment_number("no number")
    assert table_cells("| β = 0.20 | 0.9862 | 0.9939 |") == ["β = 0.20", "0.9862", "0.9939"]
    assert cell_number("β = 0.20") == "0.20"
    with pytest.raises(ValueError):
        cell_number("3B (4-bit)")


def test_arith_takes_the_seed_figures_verbatim() -> None:
    params, bound = resolve(link(seed_values={"a": "from {{0.21}} MB", "b": "to 0.02 MB"}), SEED)
    assert params["expr"] == "(0.21) / (0.02)"
    assert [(b.name, b.text) for b in bound] == [("a", "0.21"), ("b", "0.02")]


@pytest.mark.parametrize("values, field", [
    ({"a": "from {{0.22}} MB", "b": "to 0.02 MB"}, "seed_values.a"),  # retyped, not in the seed
    ({"a": "from 0.21 MB", "b": "to 0.02 MB", "c": "A figure"}, "seed_values.c"),  # no number
])
def test_a_seed_figure_not_in_the_seed_is_refused(values, field) -> None:
    with pytest.raises(SeedDataError) as exc:
        resolve(link(seed_values=values), SEED)
    assert exc.value.field == field


def test_an_unused_seed_figure_is_refused() -> None:
    with pytest.raises(SeedDataError):
        resolve(link(params={"expr": "a * 2"}, seed_values={"a": "from 0.21 MB", "b": "to 0.02 MB"}), SEED)


def test_table_columns_become_list_parameters() -> None:
    t = SeedTable(("| 0.10 | 0.9972 | 0.9979 |", "| β = 0.20 | 0.9862 | 0.9939 |"), {"xs": 1, "ys": 3})
    params, _ = resolve(link(name="seedtab_trend", params={"direction": "decreasing"}, seed_table=t), SEED)
    assert params == {"direction": "decreasing", "xs": [0.10, 0.20], "ys": [0.9979, 0.9939]}
    bad = SeedTable(("| 0.10 | 0.9972 | 0.9980 |",), {"ys": 3})
    with pytest.raises(SeedDataError):
        resolve(link(name="seedtab_trend", params={}, seed_table=bad), SEED)


# ------------------------------------------------------------------------------------------------ validation

def _check(tmp_path: Path, claims: str, tests: str | None = None) -> list[str]:
    import tempfile

    kw = {"claims": claims} if tests is None else {"claims": claims, "tests": tests}
    repo = make_repo(Path(tempfile.mkdtemp(dir=tmp_path)) / "r", **kw)
    return [str(e) for e in validate(parse_claims(claims, "claims.yaml"), repo).errors]


def test_the_mini_repo_is_clean(tmp_path: Path) -> None:
    assert _check(tmp_path, CLAIMS) == []


def test_a_tagged_test_must_be_listed_with_its_role(tmp_path: Path) -> None:
    claims = CLAIMS.replace("    tests:\n      - {test: tests/test_mini.py::test_squares_negative, role: asserts}\n", "")
    errs = _check(tmp_path, claims)
    assert any("tests/test_mini.py" in e and "not listed" in e for e in errs), errs
    claims = CLAIMS.replace("test_squares_negative, role: asserts}", "test_squares_negative, role: refutes}")
    errs = _check(tmp_path, claims)
    assert any("listed with role 'refutes' but tagged with role 'asserts'" in e for e in errs), errs


def test_a_decisive_measurement_needs_a_control(tmp_path: Path) -> None:
    claims = CLAIMS.replace('        control: {label: "N(1, 1) draws", should: fail, params: {mu: 1.0}}\n', "")
    errs = _check(tmp_path, claims)
    assert any("mean_zero.measurements.control" in e and "needs a control" in e for e in errs), errs


def test_scope_policy_for_substitute_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from quantproof.evidence import measurement as M

    spec = M.registry()["selftest_normal_mean"]
    monkeypatch.setitem(M._REGISTRY, "selftest_normal_mean", type(spec)(**{**spec.__dict__, "on_model": True}))
    claims = CLAIMS.replace("        role: reproduces\n", "        role: refutes\n")
    errs = _check(tmp_path, claims)
    assert any("mean_five.measurements.role" in e and "policy" in e for e in errs), errs
    assert _check(tmp_path, claims.replace("scope: seed-setting", "scope: universal")) == []


def test_an_empirical_claim_declares_its_scope(tmp_path: Path) -> None:
    errs = _check(tmp_path, CLAIMS.replace("    scope: universal\n", ""))
    assert any("mean_zero.scope" in e for e in errs), errs


def test_a_correction_states_the_corrected_statement(tmp_path: Path) -> None:
    claims = CLAIMS.replace("        role: refutes\n", "        role: corrects\n")
    errs = _check(tmp_path, claims)
    assert any("squares_negative.corrected" in e for e in errs), errs


def test_a_restatement_quotes_its_source_seed() -> None:
    other = {"000_x.txt": "The table:\n| 0.20 | 0.093 |\n"}
    lk = link(params={"expr": "a * 2"}, seed_values={"a": "| 0.20 | {{0.093}} |"}, seed_values_from={"a": "000_x.txt"})
    params, bound = resolve(lk, "an unrelated seed", other_seeds=other)
    assert params["expr"] == "(0.093) * 2" and bound[0].quote.startswith("000_x.txt: ")
    with pytest.raises(SeedDataError):
        resolve(lk, "an unrelated seed")  # the other seed's text is needed
    t = SeedTable(("| 0.20 | 0.093 |",), {"ys": 2}, seed="000_x.txt")
    assert resolve(link(name="seedtab_trend", params={}, seed_table=t), "", other_seeds=other)[0]["ys"] == [0.093]


def test_every_decisive_piece_is_in_the_reason() -> None:
    from quantproof.ledger.verdict import Evidence, decide

    held = Evidence("measurements", "reproduces", "holds", "a", detail="nll width 0.01", ran=True)
    failed = Evidence("measurements", "reproduces", "fails", "b", detail="rep3 width 0.11", ran=True)
    v = decide("empirical", [held, failed])
    assert v.verdict == "not-reproduced" and "rep3 width 0.11" in v.reason and "nll width 0.01" in v.reason

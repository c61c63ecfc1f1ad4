"""The page and LEDGER.md show the referee fields (rule, assumptions, scope, corrected, verdict inputs, controls,
discrimination, exactness, mutation strength, Lean modules) when a ledger has them, and escape them.

Fixture: tests/fixtures/ledger_referee.json is ledger_sample.json with these fields added (and two claims moved to
the new verdicts ``conditional`` and ``unsupported``); hostile markup is planted in several of the new fields.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from quantproof.ledger import html as H
from quantproof.ledger.markdown import render_markdown
from quantproof.ledger.render import render_html

from .conftest import load
from .test_html_unit import parse

TEMPLATES = Path(H.__file__).parent / "templates"
HOSTILE = "<script>alert(9)</script>"


@pytest.fixture(scope="module")
def referee() -> dict:
    return load("ledger_referee.json")


@pytest.fixture(scope="module")
def page(referee) -> str:
    return render_html(referee)


def _claim(led: dict, cid: str) -> dict:
    return next(c for c in led["claims"] if c["id"] == cid)


def _detail(page: str, cid: str) -> str:
    """The claim's detail row (up to the next claim's tbody, or the end of the table)."""
    rest = page.split(f'<tr class="detail-row" id="c-{cid}-d"', 1)[1]
    return re.split(r'\n<tbody class="claim"|<p id="empty"', rest, maxsplit=1)[0]


def _text(fragment: str) -> str:
    return " ".join("".join(parse(fragment).text).split())


def test_the_fixture_covers_every_verdict(referee):
    assert {c["verdict"] for c in referee["claims"]} == set(H.VERDICTS)
    assert referee["summary"] == H.compute_summary(referee["claims"])


def test_new_verdicts_have_badges_and_cards(page):
    for v in ("conditional", "unsupported"):
        assert re.search(rf'<span class="badge v-{v}">{v}</span><span class="count">1</span>', page)
        assert f'<input type="checkbox" name="verdict" value="{v}" checked>' in page


def test_rule_scope_assumptions_and_notes(page, referee):
    c = _claim(referee, "cos_sign_quant_formula")
    text = _text(_detail(page, "cos_sign_quant_formula"))
    assert "rule: R4 verified" in text and "universal" in text
    for a in c["assumptions"]:
        assert a["text"] in text
    assert "ours hypothesis k ≠ 0" in text and "ours convention sgn(0) = +1" in text
    assert "seed hypothesis k lies on the unit sphere" in text
    assert c["notes"] in text


def test_corrected_statement_is_shown_and_escaped(page, referee):
    c = _claim(referee, "iid_coord_moment_ratio_floor")
    d = _detail(page, "iid_coord_moment_ratio_floor")
    assert "Corrected statement" in d and c["corrected"] in _text(d).replace("  ", " ")
    assert HOSTILE not in page and "&lt;script&gt;alert(9)&lt;/script&gt;" in page


def test_verdict_inputs_table(page, referee):
    d = _detail(page, "cos_sign_quant_formula")
    table = re.search(r'<table class="grid inputs">.*?</table>', d, re.S).group(0)
    rows = re.findall(r"<tr><td>.*?</tr>", table, re.S)
    assert len(rows) == 2
    assert "lake build passed; axioms propext, Classical.choice, Quot.sound" in _text(rows[0])
    assert "decisive" in _text(rows[0]) and "not decisive" not in _text(rows[0])
    assert "not decisive a kernel-checked proof decides this claim" in _text(rows[1])


def test_controls_sit_beside_the_real_value(page, referee):
    d = _detail(page, "srht_achieves_isotropic_floor")
    table = re.search(r'<table class="grid controls">.*?</table>', d, re.S).group(0)
    rows = [[_text(cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S)]
            for r in re.findall(r"<tr[ >].*?</tr>", table.split("<tbody>")[1], re.S)]
    # run, should, parameters, value, interval, outcome, reason
    assert rows[0] == ["real", "= 0.6366 ± 0.02", "d=64, model=smollm2, rotation=srht", "0.6421",
                       "[0.6322, 0.6519] (95% CI)", "consistent", "—"]
    assert rows[1][:2] == ["Gaussian keys (should hold)", "hold"] and rows[1][3:6] == [
        "0.637", "[0.6301, 0.6433] (95% CI)", "consistent"]
    assert rows[2][:2] == ["no rotation (should fail)", "fail"] and rows[2][3:5] == ["0.6412", "[0.629, 0.6534] (95% CI)"]
    assert rows[2][2] == "d=64, rotation=none → beta" and rows[2][6] == "held although it should fail " + HOSTILE
    assert 'class="badge t-bad">non-discriminating</span>' in d


def test_discrimination_and_exactness(page):
    d = _detail(page, "spectral_85x_arithmetic")
    assert 'class="badge t-good">exact</span>' in d  # discrimination "exact"
    assert 'class="badge t-info">exact</span>' in d  # exact by construction
    assert 'class="badge t-good">discriminating</span>' in _detail(page, "rotation_beats_identity_beta")
    meas = re.search(r'<section id="measurements".*?</section>', page, re.S).group(0)
    assert "non-discriminating" in meas


def test_mutation_strength(page):
    text = _text(_detail(page, "cos_sign_quant_formula"))
    assert "Mutation testing strong kill rate 90% (18/20 mutants killed); threshold 80%" in text
    assert "2 surviving mutants" in text
    assert "py/quantproof/math/sign_quant.py:31 '>=' → '>' — sgn(0) is only reached by exact zeros" in text


def test_lean_statement_beside_the_claim_statement(page, referee):
    for cid in ("cos_sign_quant_formula", "dc_centering_lifts_rotational_ceiling"):
        c = _claim(referee, cid)
        d = _detail(page, cid)
        sides = re.findall(r'<div class="two side">(.*?)</div></div>', d, re.S)
        assert len(sides) == len(c["formal"]["declarations"]) >= 1
        for side, decl in zip(sides, c["formal"]["declarations"]):
            left, right = side.split('<div><p class="muted small">Lean statement</p>')
            assert c["statement"] in _text(left)
            assert "".join(decl["statement"].split()) in "".join(_text(right).split())
    d = _detail(page, "dc_centering_lifts_rotational_ceiling")
    assert "module QuantProof.Centering" in _text(d) and "blocked by QuantProof.Rotations" in _text(d)


def test_absent_fields_render_nothing(referee):
    """An old ledger (no referee fields) has none of their sections."""
    page = render_html(load("ledger_sample.json"))
    for marker in ('class="grid inputs"', 'class="grid controls"', "Mutation testing", "Corrected statement",
                   'class="assumptions"', 'class="rule"'):
        assert marker not in page


def test_every_new_text_field_is_escaped(referee):
    parsed = parse(render_html(referee))
    assert [t for t, _ in parsed.tags if t == "script"] == ["script", "script"]
    assert parsed.errors == [] and parsed.stack == []
    text = "".join(parsed.text)
    assert text.count(HOSTILE) >= 4  # survivor reason, control reason, corrected statement, notes: as text


def test_markdown_shows_notes_assumptions_rule_and_correction(referee):
    md = render_markdown(referee)
    section = md.split("### `cos_sign_quant_formula`")[1].split("### `")[0]
    assert "(rule R4 verified)" in section
    assert "Assumptions:" in section and "- sgn(0) = +1 (ours, convention)" in section
    assert "Notes: The seed says 'on the unit sphere'" in section
    iid = md.split("### `iid_coord_moment_ratio_floor`")[1].split("### `")[0]
    assert "Corrected statement: For i.i.d. symmetric coordinates" in iid
    assert HOSTILE not in md and "&lt;script&gt;alert(9)&lt;/script&gt;" in md


def test_templates_never_mark_text_safe():
    """Autoescaping is the only policy: no template disables it or marks a value safe."""
    for t in TEMPLATES.glob("*.j2"):
        body = t.read_text(encoding="utf-8")
        for bad in ("|safe", "| safe", "autoescape false", "Markup"):
            assert bad not in body, (t.name, bad)
    env = __import__("quantproof.ledger.render", fromlist=["environment"]).environment()
    assert env.autoescape is True

"""The seed documents on the page (from the ledger's coverage section): one document per seed named by its own
title, every unit highlighted by the SET of its claims' verdicts, panels with the claims or the no-claim reason,
the coverage table, escaping. Fixture: tests/fixtures/ledger_referee.json (made by make_ledger_referee.py)."""

from __future__ import annotations

import re

import pytest

from quantproof.ledger import html as H
from quantproof.ledger.render import render_html

from .conftest import load
from .test_html_unit import parse

HOSTILE = "<script>alert(9)</script>"


@pytest.fixture(scope="module")
def referee() -> dict:
    return load("ledger_referee.json")


@pytest.fixture(scope="module")
def page(referee) -> str:
    return render_html(referee)


def units_of(led: dict) -> dict[str, dict]:
    return {u["id"]: u for sd in led["coverage"]["seeds"] for u in sd["units"]}


def unit_tag(page: str, uid: str) -> dict:
    parsed = parse(page)
    return next(a for t, a in parsed.tags if t == "a" and a.get("data-unit") == uid)


def test_one_document_per_seed_named_by_its_title(page, referee):
    section = re.search(r'<section id="seeds".*?</section>', page, re.S).group(0)
    titles = re.findall(r'<span class="sd-title">(.*?)</span>', section)
    assert len(titles) == 5
    assert titles[0].startswith("Investigating a Transformer’s Forward Activations")
    assert titles[3] == "Explore the Data" and not any(t.endswith(".txt") for t in titles)
    assert '<a href="#seeds">Seeds</a>' in page  # in the table of contents
    assert '<option value="003_92f9ef703735c71f.txt">003_92f9ef703735c71f.txt — Explore the Data</option>' in page


def test_every_unit_is_on_the_page_once_with_its_panel(page, referee):
    units = units_of(referee)
    parsed = parse(page)
    links = [a for t, a in parsed.tags if t == "a" and "unit" in (a.get("class") or "").split()]
    assert sorted(a["data-unit"] for a in links) == sorted(units)
    panels = {a["id"] for t, a in parsed.tags if t == "div" and a.get("class") == "unit-panel"}
    for a in links:
        assert a["href"] == "#" + a["aria-controls"] and a["aria-controls"] in panels
        assert a["aria-expanded"] == "false"
    assert all("hidden" in a for t, a in parsed.tags if t == "div" and a.get("class") == "unit-panel")
    assert parsed.errors == [] and parsed.stack == []


def test_a_unit_shows_the_set_of_its_claims_verdicts(page, referee):
    units = units_of(referee)
    verdict = {c["id"]: c["verdict"] for c in referee["claims"]}
    mixed = next(u for u in units.values() if set(u["claims"]) == {"cos_sign_quant_formula", "residual_energy_formula"})
    a = unit_tag(page, mixed["id"])
    assert a["class"].split() == ["unit", "mixed"]  # the claims disagree: never the best verdict alone
    after = page.split(f'id="{a["id"]}"', 1)[1].split("</a>", 1)[1]
    chips = re.match(r'<span class="uv" aria-hidden="true">(.*?)</span></span>', after).group(1)
    assert re.findall(r'badge v-([a-z-]+) xs">', chips) == ["verified", "conditional"]
    assert "verdicts verified, conditional" in a["aria-label"]
    single = next(u for u in units.values() if u["claims"] == ["srht_achieves_isotropic_floor"])
    assert unit_tag(page, single["id"])["class"].split() == ["unit", f"v-{verdict['srht_achieves_isotropic_floor']}"]


def test_no_claim_needs_claim_and_unmapped_units(page, referee):
    units = units_of(referee)
    narrative = next(u for u in units.values() if u["category"] == "narrative")
    gap = next(u for u in units.values() if u["status"] == "needs-claim")
    unmapped = next(u for u in units.values() if u["status"] == "unmapped")
    assert unmapped["id"].startswith("001/")
    for u, cls in ((narrative, "u-no-claim"), (gap, "u-needs-claim"), (unmapped, "u-unmapped")):
        a = unit_tag(page, u["id"])
        assert a["class"].split() == ["unit", cls]
    panel = re.search(rf'<div class="unit-panel" id="{unit_tag(page, narrative["id"])["aria-controls"]}".*?</div>',
                      page, re.S).group(0)
    assert "<strong>narrative</strong>: fixture" in panel
    gap_panel = re.search(rf'<div class="unit-panel" id="{unit_tag(page, gap["id"])["aria-controls"]}".*?</div>',
                          page, re.S).group(0)
    assert "checkable, no claim yet &lt;script&gt;alert(9)&lt;/script&gt;" in gap_panel


def test_a_panel_opens_the_claims(page, referee):
    units = units_of(referee)
    u = next(u for u in units.values() if u["claims"] == ["srht_achieves_isotropic_floor"])
    a = unit_tag(page, u["id"])
    panel = re.search(rf'<div class="unit-panel" id="{a["aria-controls"]}".*?\n</div>', page, re.S).group(0)
    claim = next(c for c in referee["claims"] if c["id"] == "srht_achieves_isotropic_floor")
    text = " ".join("".join(parse(panel).text).split())
    assert claim["title"] in text and claim["statement"] in text and claim["reason"] in text
    assert "β = 0.6421 [0.6322, 0.6519] vs claimed 0.6366 ± 0.02" in text  # the evidence, with its numbers
    assert f'<a href="#c-srht_achieves_isotropic_floor" class="up-claim">' in panel
    several = next(u for u in units.values() if u.get("parts"))
    assert "Says several things." in page and several["parts"] in page


def test_claims_link_back_to_their_units(page, referee):
    units = units_of(referee)
    mine = [uid for uid, u in units.items() if "cos_sign_quant_formula" in u["claims"]]
    detail = page.split('id="c-cos_sign_quant_formula-d"', 1)[1].split('<tbody class="claim"', 1)[0]
    for uid in mine:
        assert f'<a href="#{unit_tag(page, uid)["id"]}" class="unit-link"><code>{uid}</code></a>' in detail


def test_coverage_table_errors_and_unreached(page, referee):
    cov = referee["coverage"]
    table = re.search(r'<table class="grid coverage-table">.*?</table>', page, re.S).group(0)
    rows = re.findall(r"<tr><th scope=\"row\">.*?</tr>", table, re.S)
    assert len(rows) == 5
    for row, sd in zip(rows, cov["seeds"]):
        assert sd["title"] in row and f'{H.fmt_num(sd["counts"]["covered_pct"])}%' in row
    assert f'{len(cov["errors"])} problems in the coverage map' in page
    for cid in cov["unreached"]:
        assert f"<code>{cid}</code>" in page.split("Claims no unit reaches:", 1)[1].split("</p>", 1)[0]


def test_hostile_seed_text_is_escaped(referee):
    led = __import__("copy").deepcopy(referee)
    u = led["coverage"]["seeds"][0]["units"][1]
    u["text"] = HOSTILE + '" onmouseover="alert(1)'
    u["reason"] = HOSTILE
    led["coverage"]["seeds"][0]["title"] = HOSTILE
    led["coverage"]["errors"].append(HOSTILE)
    page = render_html(led)
    parsed = parse(page)
    assert [t for t, _ in parsed.tags if t == "script"] == ["script", "script"]
    assert not [k for _, a in parsed.tags for k in a if k.lower().startswith("on")]
    assert HOSTILE not in page


def test_no_coverage_no_seed_section():
    page = render_html(load("ledger_sample.json"))
    assert 'id="seeds"' not in page and "Source coverage" not in page

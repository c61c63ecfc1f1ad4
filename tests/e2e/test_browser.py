"""The rendered ledger page in headless Chromium (Debian's /usr/bin/chromium), opened from a file:// URL.

Every request that is not a file:// URL is aborted and recorded; each test asserts none was attempted and that the
page logged no console error. ``playwright install`` is never used: Playwright drives the system Chromium.
Run with ``pytest -m browser tests/e2e``; CI installs the Debian package ``chromium`` first.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from quantproof.ledger.html import VERDICTS, _search_text, render_html

from .conftest import HOSTILE_TITLE, SCREENSHOTS, big_ledger, load

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason=f"{CHROMIUM} is absent: install the Debian package (apt-get install -y chromium) "
                              "to run the browser tests"),
]


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("ledger_html")
    out = {}
    for name, (led, base) in {
        "sample": (load("ledger_sample.json"), load("ledger_sample_baseline.json")),
        "big": (big_ledger(300), None),
        "referee": (load("ledger_referee.json"), None),
    }.items():
        path = d / f"{name}.html"
        path.write_text(render_html(led, base), encoding="utf-8")
        out[name] = path
    return out


class Session:
    def __init__(self, browser, url: str, javascript: bool = True):
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=javascript,
                                           offline=True)
        self.external: list[str] = []
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.set_default_timeout(10_000)
        self.page.goto(url, wait_until="load")

    def _route(self, route):
        url = route.request.url
        if url.startswith("file://"):
            route.continue_()
        else:
            self.external.append(url)
            route.abort()

    def visible_ids(self) -> list[str]:
        return self.page.eval_on_selector_all("tbody.claim:not([hidden])", "els => els.map(e => e.dataset.id)")

    def check_clean(self) -> None:
        assert self.external == [], f"network requests attempted: {self.external}"
        assert all(u.startswith("file://") for u in self.requests), self.requests
        assert self.errors == [], f"console errors: {self.errors}"


@pytest.fixture
def sample(browser, pages):
    s = Session(browser, pages["sample"].as_uri())
    yield s
    s.check_clean()
    s.context.close()


def test_renders_offline(sample):
    page = sample.page
    assert page.title().startswith("QuantProof claim ledger")
    assert len(sample.visible_ids()) == 13
    assert page.locator("#count").inner_text() == "Showing 13 of 13 claims."
    assert page.locator("#summary .card").count() == len(VERDICTS)
    assert page.locator("#changes").is_visible()
    # the hostile title is text, not markup, and nothing ran
    assert page.locator("#c-slop_cliff_news button.toggle .ttl").inner_text().startswith(HOSTILE_TITLE)
    assert page.evaluate("() => document.querySelectorAll('script').length") == 2
    assert sample.requests == [sample.page.url]  # the page itself, nothing else


def test_filter_by_verdict(sample):
    page = sample.page
    page.click("#v-none")
    assert sample.visible_ids() == []
    assert page.locator("#empty").is_visible()
    page.check("input[name=verdict][value=refuted]")
    assert sample.visible_ids() == ["dc_centering_lifts_rotational_ceiling"]
    page.check("input[name=verdict][value=supported]")
    assert len(sample.visible_ids()) == 4
    page.select_option("#f-formal", "not-built")
    assert sample.visible_ids() == ["residual_energy_formula", "srht_achieves_isotropic_floor"]
    assert page.locator("#count").inner_text() == "Showing 2 of 13 claims."
    page.click("#reset")
    assert len(sample.visible_ids()) == 13
    page.check("#f-changed")
    assert sorted(sample.visible_ids()) == sorted(["cos_sign_quant_formula", "dc_centering_lifts_rotational_ceiling",
                                                   "learned_rotation_beta_band", "slop_cliff_news",
                                                   "rotation_beats_identity_beta"])


def test_text_search(sample):
    page = sample.page
    page.fill("#f-q", "centering")
    ids = sample.visible_ids()
    assert "dc_centering_lifts_rotational_ceiling" in ids and "cos_sign_quant_formula" not in ids
    assert 0 < len(ids) < 13
    page.fill("#f-q", "FALSIFYING example")  # counterexample text, case-insensitive
    assert sample.visible_ids() == ["dc_centering_lifts_rotational_ceiling"]
    page.fill("#f-q", "<script>")
    assert sample.visible_ids() == ["slop_cliff_news"]
    page.fill("#f-q", "gpt2 explained_variance")  # all terms must match
    assert sample.visible_ids() == ["spectral_effective_rank"]
    page.fill("#f-q", "no such claim anywhere")
    assert sample.visible_ids() == []


def test_tab_reaches_the_filters(sample):
    page = sample.page
    page.focus("#f-q")
    order = []
    for _ in range(6):
        page.keyboard.press("Tab")
        order.append(page.evaluate("() => document.activeElement.id || document.activeElement.name"))
    assert order[:5] == ["f-seed", "f-kind", "f-formal", "f-tests", "f-measurements"]
    assert order[5] == "verdict"
    # the focused control shows a visible outline
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none")


def test_details_open_with_the_keyboard(sample):
    page = sample.page
    tb = "#c-dc_centering_lifts_rotational_ceiling"
    row = page.locator(f"{tb}-d")
    assert row.is_hidden()
    page.focus(f"{tb} button.toggle")
    page.keyboard.press("Enter")
    assert row.is_visible()
    assert page.get_attribute(f"{tb} button.toggle", "aria-expanded") == "true"
    assert row.locator(".counterexample").is_visible()
    assert "Falsifying example" in row.locator(".counterexample").inner_text()
    assert row.locator("pre.lean").first.is_visible()
    assert page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("Space")
    assert row.is_hidden()
    # ArrowDown moves to the next claim's button; Space opens it
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Space")
    assert page.locator("#c-learned_rotation_beta_band-d").is_visible()
    assert page.locator("#c-learned_rotation_beta_band-d svg.plot").count() == 1


def test_sorting(sample):
    page = sample.page
    page.click("th[data-col=verdict] button.sort")
    assert page.get_attribute("th[data-col=verdict]", "aria-sort") == "ascending"
    verdicts = page.eval_on_selector_all("tbody.claim", "els => els.map(e => e.dataset.verdict)")
    assert verdicts == sorted(verdicts, key=VERDICTS.index)
    page.click("th[data-col=verdict] button.sort")
    assert page.get_attribute("th[data-col=verdict]", "aria-sort") == "descending"
    assert page.eval_on_selector_all("tbody.claim", "els => els[0].dataset.verdict") == "error"
    page.click("th[data-col=title] button.sort")
    titles = page.eval_on_selector_all("tbody.claim", "els => els.map(e => e.dataset.title.toLowerCase())")
    assert titles == sorted(titles)
    assert page.get_attribute("th[data-col=verdict]", "aria-sort") is None


def test_diff_link_opens_the_claim(sample):
    page = sample.page
    page.fill("#f-q", "zzz-hides-everything")
    page.click("#changes a[href='#c-cos_sign_quant_formula']")
    assert page.locator("#c-cos_sign_quant_formula-d").is_visible()  # filters were reset to show it
    assert page.evaluate("() => document.activeElement.closest('tbody').id") == "c-cos_sign_quant_formula"


def test_without_javascript_every_detail_is_shown(browser, pages):
    s = Session(browser, pages["sample"].as_uri(), javascript=False)
    try:
        page = s.page
        assert page.locator("tr.detail-row").count() == 13
        assert page.locator("tr.detail-row:visible").count() == 13  # the noscript stylesheet passed the CSP
        assert page.locator("#filters").is_hidden()
        assert page.locator("#c-learned_rotation_beta_band-d svg.plot").is_visible()
        s.check_clean()
    finally:
        s.context.close()


def test_screenshot(sample):
    page = sample.page
    page.click("#c-learned_rotation_beta_band button.toggle")
    page.click("#c-spectral_effective_rank button.toggle")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "ledger.png"), full_page=True)
    page.locator("#c-learned_rotation_beta_band").screenshot(path=str(SCREENSHOTS / "ledger-details.png"))
    assert (SCREENSHOTS / "ledger.png").stat().st_size > 50_000


def test_300_claims_stay_responsive(browser, pages):
    led = big_ledger(300)
    # what the page's search does: every whitespace-separated term must occur in the claim's text
    expected = [c["id"] for c in led["claims"]
                if all(t in _search_text(c).lower() for t in ("copy", "1", "theorem"))]
    assert 0 < len(expected) < 300
    t0 = time.perf_counter()
    s = Session(browser, pages["big"].as_uri())
    try:
        load_s = time.perf_counter() - t0
        page = s.page
        assert len(s.visible_ids()) == 300
        took = page.evaluate("""() => {
            const t = performance.now();
            const q = document.getElementById('f-q');
            q.value = 'Copy 1 THEOREM'; q.dispatchEvent(new Event('input'));
            const n = document.querySelectorAll('tbody.claim:not([hidden])').length;
            document.querySelector('th[data-col=verdict] button.sort').click();
            return [performance.now() - t, n];
        }""")
        assert took[1] == len(expected)
        assert sorted(s.visible_ids()) == sorted(expected)
        assert took[0] < 1000, f"filter + sort took {took[0]:.0f} ms"
        assert load_s < 15, f"loading took {load_s:.1f} s"
        page.click("#expand-all")
        assert page.locator("tr.detail-row:not([hidden])").count() == len(expected)
        s.check_clean()
    finally:
        s.context.close()


# ------------------------------------------------------------------------------------------------ seed documents

@pytest.fixture
def referee(browser, pages):
    s = Session(browser, pages["referee"].as_uri())
    yield s
    s.check_clean()
    s.context.close()


SENTENCE = "For a vector $k$ on the unit sphere, the 1-bit cosine is"


def test_a_highlighted_sentence_leads_to_its_claims(referee):
    """Walk from a highlighted seed sentence (keyboard) to its panel, then to the claim's full details."""
    page = referee.page
    doc = page.locator("#seeds details.seed-doc", has=page.locator("summary", has_text="Explore the Data"))
    doc.locator("summary").focus()
    page.keyboard.press("Enter")  # open the seed document
    unit = doc.locator("a.unit", has_text=SENTENCE)
    assert unit.is_visible()
    assert "mixed" in unit.get_attribute("class")  # verified and conditional: the set, not the best
    unit.focus()
    page.keyboard.press("Enter")
    panel = page.locator("#" + unit.get_attribute("aria-controls"))
    assert panel.is_visible() and unit.get_attribute("aria-expanded") == "true"
    assert page.evaluate("() => document.activeElement.classList.contains('unit-panel')")
    text = panel.inner_text()
    assert "1-bit cosine equals" in text and "verified" in text and "conditional" in text
    # the panel sits right after the sentence's block, not at the end of the document
    assert page.evaluate("(id) => document.getElementById(id).previousElementSibling.classList.contains('sd-block')",
                         panel.get_attribute("id"))
    page.keyboard.press("Escape")
    assert panel.is_hidden() and unit.get_attribute("aria-expanded") == "false"
    assert page.evaluate("() => document.activeElement.classList.contains('unit')")
    unit.click()
    assert panel.is_visible()
    panel.locator("a.up-claim", has_text="1-bit cosine equals").click()
    assert page.locator("#c-cos_sign_quant_formula-d").is_visible()
    assert page.evaluate("() => document.activeElement.closest('tbody').id") == "c-cos_sign_quant_formula"


def test_a_claim_leads_back_to_its_sentence(referee):
    page = referee.page
    page.click("#c-cos_sign_quant_formula button.toggle")
    link = page.locator("#c-cos_sign_quant_formula-d a.unit-link").first
    target = link.get_attribute("href")[1:]
    link.click()
    unit = page.locator("#" + target)
    assert unit.is_visible() and unit.get_attribute("aria-expanded") == "true"
    assert page.locator("#" + unit.get_attribute("aria-controls")).is_visible()


def test_seed_panels_without_javascript(browser, pages):
    s = Session(browser, pages["referee"].as_uri(), javascript=False)
    try:
        page = s.page
        page.click("#seeds details.seed-doc >> nth=3 >> summary")
        panels = page.locator("#seeds details.seed-doc >> nth=3 >> .unit-panel")
        assert panels.count() > 50 and panels.first.is_visible()  # the noscript stylesheet shows them
        s.check_clean()
    finally:
        s.context.close()


def test_seed_screenshot(referee):
    page = referee.page
    doc = page.locator("#seeds details.seed-doc", has=page.locator("summary", has_text="Explore the Data"))
    doc.locator("summary").click()
    doc.locator("a.unit", has_text=SENTENCE).click()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    doc.screenshot(path=str(SCREENSHOTS / "ledger-seed.png"))
    assert (SCREENSHOTS / "ledger-seed.png").stat().st_size > 50_000

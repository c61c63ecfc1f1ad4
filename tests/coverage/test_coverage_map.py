"""The source-coverage map (coverage.yaml): parsing under the claims file's safe policy, every check of
quantproof.claims.coverage, `quantproof check` / `quantproof coverage`, the ledger's coverage section, and the
repository's own map (complete for the current claims.yaml)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from quantproof.claims.coverage import (check_coverage, coverage_counts, load_coverage, parse_coverage,
                                        quote_outside, segment_seeds)
from quantproof.claims.loader import ClaimsFileError, load_claims
from quantproof.claims.segment import segment
from quantproof.cli import main
from quantproof.ledger.coverage import coverage_section
from quantproof.ledger.markdown import render_markdown
from spine.conftest import SEED, make_repo

REPO = Path(__file__).resolve().parents[2]


def ids() -> list[str]:
    return [u.id for u in segment("toy.txt", SEED).units]


def full_map(extra: str = "") -> str:
    a, one, square, mean0, mean5 = ids()
    return f"""schema: 1
seeds:
  toy.txt:
    - units: [{a}]
      no_claim: narrative
      reason: introduces the toy
    - units: [{one}]
      claims: [one_plus_one]
    - units: [{square}]
      claims: [squares_negative]
      parts: a universal claim about squares
    - units: [{mean0}]
      claims: [mean_zero]
    - units: [{mean5}]
      claims: [mean_five]
{extra}"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


def problems(repo: Path, text: str) -> list[str]:
    cs = load_claims(repo / "claims.yaml")
    return [str(e) for e in check_coverage(parse_coverage(text), segment_seeds(repo), cs)]


def test_the_toy_map_is_complete(repo):
    assert problems(repo, full_map()) == []
    counts = coverage_counts(parse_coverage(full_map()), segment_seeds(repo))["toy.txt"]
    assert counts == {"units": 5, "with_claims": 4, "no_claim": {"narrative": 1}, "needs_claim": 0, "unmapped": 0,
                      "covered_pct": 100.0}


@pytest.mark.parametrize("bad, message", [
    ("schema: 2\nseeds: {}\n", "coverage.yaml:1: schema: unsupported schema version 2"),
    ("schema: 1\nseeds:\n  toy.txt:\n    - units: [x]\n      claims: [a]\n      no_claim: narrative\n",
     "coverage.yaml:4: toy.txt[0]: needs exactly one of 'claims'"),
    ("schema: 1\nseeds:\n  toy.txt:\n    - units: [x]\n      no_claim: chatter\n      reason: r\n",
     "coverage.yaml:5: toy.txt[0].no_claim: 'chatter' is not one of"),
    ("schema: 1\nseeds:\n  toy.txt:\n    - units: [x]\n      no_claim: narrative\n",
     "coverage.yaml:4: toy.txt[0].reason: a no_claim entry needs a one-line reason"),
    ("schema: 1\nseeds:\n  toy.txt:\n    - units: [x]\n      no_claim: duplicate\n      reason: r\n",
     "coverage.yaml:4: toy.txt[0].of: a duplicate names the unit it restates"),
    ("schema: 1\nseeds:\n  toy.txt:\n    - units: [x]\n      no_claim: definition\n      reason: r\n",
     "coverage.yaml:4: toy.txt[0].used_by: a definition names the claims that use it"),
    ("schema: 1\nseeds:\n  toy.txt:\n    - units: [x]\n      claims: [a]\n      colour: red\n",
     "coverage.yaml:6: toy.txt[0].colour: unknown field"),
    ("schema: 1\nseeds:\n  toy.txt:\n    - units: []\n      claims: [a]\n",
     "coverage.yaml:4: toy.txt[0].units: must be a non-empty list of strings"),
    ("schema: 1\nseeds:\n  ../etc/passwd:\n    - units: [x]\n      claims: [a]\n",
     "coverage.yaml:3: seeds.../etc/passwd: must be a plain file name"),
    ("schema: 1\nseeds: &a\n  toy.txt: *a\n", "anchors/aliases are not allowed"),
    ("schema: 1\nseeds: !!python/object/apply:os.system ['true']\n", "is not allowed"),
    ("schema: 1\nseeds:\n  toy.txt: []\n  toy.txt: []\n", "coverage.yaml:4: toy.txt: duplicate key (first at line 3)"),
])
def test_bad_maps_are_reported_with_file_line_and_field(bad, message):
    with pytest.raises(ClaimsFileError) as exc:
        parse_coverage(bad)
    assert any(message in str(e) for e in exc.value.errors), str(exc.value)


def test_a_unit_that_is_neither_linked_nor_marked_fails(repo):
    text = full_map().replace("    - units: [" + ids()[0] + "]\n      no_claim: narrative\n      reason: introduces "
                              "the toy\n", "")
    errs = problems(repo, text)
    assert len(errs) == 1
    assert errs[0].startswith("coverage.yaml:3: toy.txt: unit toy/top/") and "'A toy seed.'" in errs[0]
    assert "is neither linked to a claim nor marked no-claim" in errs[0]


def test_an_edited_seed_shows_a_stale_id_and_an_unmapped_unit(repo):
    (repo / "seeds" / "toy.txt").write_text(SEED.replace("The mean is five.", "The mean is six."))
    errs = problems(repo, full_map())
    assert any(f"no unit {ids()[4]} in toy.txt (the seed was edited" in e for e in errs)
    assert any("'The mean is six.'" in e and "neither linked" in e for e in errs)
    assert any("claim mean_five is reached by no unit of toy.txt" in e for e in errs)


def test_claim_checks(repo):
    a, one, square, mean0, mean5 = ids()
    # a claim linked only to a unit that does not hold its quote
    errs = problems(repo, full_map().replace(f"[{one}]\n      claims: [one_plus_one]",
                                             f"[{one}]\n      claims: [squares_negative]").replace(
        f"[{square}]\n      claims: [squares_negative]", f"[{square}]\n      claims: [one_plus_one]"))
    assert any("one_plus_one: the quote is not inside the units this claim covers" in e for e in errs)
    # unknown claim; a unit listed twice; a duplicate pointing nowhere
    errs = problems(repo, full_map(extra=f"    - units: [{a}]\n      claims: [nope]\n"))
    assert any("unknown claim id 'nope'" in e for e in errs) and any("already in the entry at line" in e for e in errs)
    errs = problems(repo, full_map().replace("no_claim: narrative\n      reason: introduces the toy",
                                             "no_claim: duplicate\n      of: toy/top/ffffff\n      reason: r"))
    assert any("toy.txt.of: no unit toy/top/ffffff" in e for e in errs)


def test_a_claim_of_another_seed_is_refused(repo):
    (repo / "seeds" / "other.txt").write_text("Another text here. It says things.\n")
    o1, o2 = (u.id for u in segment("other.txt", (repo / "seeds" / "other.txt").read_text()).units)
    extra = f"  other.txt:\n    - units: [{o1}, {o2}]\n      claims: [mean_zero]\n"
    errs = problems(repo, full_map() + extra)
    assert any("claim mean_zero quotes toy.txt, not other.txt" in e for e in errs)


def test_quote_containment_allows_markdown_between_units():
    text = "Memory comparison:\n- Standard: O(n²)\n- Reduction: **85x**\n| 2048 | 12 GB |\n"
    spans = [(text.index(x), text.index(x) + len(x)) for x in ("Memory comparison:", "Standard: O(n²)",
                                                                "Reduction: **85x**")]
    assert quote_outside("Memory comparison: - Standard: O(n²) - Reduction: **85x**", text, spans) == (True, "")
    assert quote_outside("Memory comparison: - Standard: O(n²)", text, spans[:1]) == (True, "Standard: O(n²)")
    assert quote_outside("not in the text", text, spans) == (False, "")


def test_a_duplicate_of_a_gap_is_a_gap(repo):
    a, one, square, mean0, mean5 = ids()
    text = full_map().replace(f"[{mean5}]\n      claims: [mean_five]",
                              f"[{mean5}]\n      no_claim: needs-claim\n      reason: r").replace(
        "no_claim: narrative\n      reason: introduces the toy", f"no_claim: duplicate\n      of: {mean5}\n      reason: r")
    counts = coverage_counts(parse_coverage(text), segment_seeds(repo))["toy.txt"]
    assert counts["needs_claim"] == 2 and counts["no_claim"] == {} and counts["covered_pct"] == 60.0


# ------------------------------------------------------------------------------------------------ CLI and ledger

def test_check_fails_on_an_incomplete_map_and_passes_on_a_complete_one(repo, capsys):
    assert main(["--repo", str(repo), "check"]) == 0
    assert "no coverage.yaml: source coverage not checked" in capsys.readouterr().out
    (repo / "coverage.yaml").write_text(full_map())
    assert main(["--repo", str(repo), "check"]) == 0
    assert "coverage: 5 units in 1 seeds, 5 linked to claims or marked no-claim (100.0%), 0 marked needs-claim" in \
        capsys.readouterr().out
    (repo / "coverage.yaml").write_text(full_map().split("    - units: [" + ids()[4])[0])
    assert main(["--repo", str(repo), "check"]) == 2
    err = capsys.readouterr().err
    assert "error(s) in the source coverage map" in err and "claim mean_five is reached by no unit" in err
    (repo / "coverage.yaml").write_text("schema: 1\nseeds: [\n")
    assert main(["--repo", str(repo), "check"]) == 2
    assert "coverage.yaml:" in capsys.readouterr().err


def test_coverage_command_lists_units(repo, capsys):
    (repo / "coverage.yaml").write_text(full_map())
    assert main(["--repo", str(repo), "coverage", "--seed", "toy.txt"]) == 0
    out = capsys.readouterr().out
    assert "toy.txt  “A toy seed. The sum of two ones is two. Every square is negative.”: 5 units" in out
    assert f"{ids()[1]}  L1 sentence [one_plus_one]  The sum of two ones is two." in out
    assert main(["--repo", str(repo), "coverage", "--seed", "nope.txt"]) == 2


def test_ledger_section_and_markdown(repo):
    (repo / "coverage.yaml").write_text(full_map())
    cs = load_claims(repo / "claims.yaml")
    sec = coverage_section(repo, cs)
    assert sec == coverage_section(repo, cs)  # deterministic
    assert sec["map"] == "coverage.yaml" and sec["errors"] == [] and sec["unreached"] == []
    (seed,) = sec["seeds"]
    assert seed["title"] == "A toy seed. The sum of two ones is two. Every square is negative."
    assert seed["counts"]["covered_pct"] == 100.0
    assert [u["status"] for u in seed["units"]] == ["no-claim", "claims", "claims", "claims", "claims"]
    assert seed["units"][2]["parts"] == "a universal claim about squares"
    assert [ln["units"] for b in seed["blocks"] for ln in b["lines"]] == [ids()[:3], ids()[3:]]
    json.dumps(sec, allow_nan=False)
    md = render_markdown({"provenance": {}, "summary": {"by_verdict": {}, "total": 0}, "claims": [],
                          "coverage": sec})
    assert "## Source coverage" in md
    assert "| `toy.txt` | A toy seed. The sum of two ones is two. Every square is negative. | 5 | 4 | narrative 1 | 0 " \
           "| 0 | 100% |" in md
    (repo / "coverage.yaml").write_text("schema: 1\nseeds: [\n")
    broken = coverage_section(repo, cs)
    assert broken["map"] is None and broken["errors"][0].startswith("coverage.yaml:")
    assert {u["status"] for u in broken["seeds"][0]["units"]} == {"unmapped"}


# ------------------------------------------------------------------------------------------------ the repository

def test_the_repository_map_is_complete_for_the_current_claims():
    """coverage.yaml covers every unit of every seed and every claim of claims.yaml (the check CI runs)."""
    cs = load_claims(REPO / "claims.yaml")
    cmap = load_coverage(REPO / "coverage.yaml", display_name="coverage.yaml")
    segs = segment_seeds(REPO)
    assert [str(e) for e in check_coverage(cmap, segs, cs)] == []
    counts = coverage_counts(cmap, segs)
    assert set(counts) == {p.name for p in (REPO / "seeds").glob("*.txt")}
    assert all(c["unmapped"] == 0 for c in counts.values())

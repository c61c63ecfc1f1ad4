"""Segmentation of seeds into units (quantproof.claims.segment): kinds, sentence boundaries, tables, code, formulas,
stable ids, titles — on small texts and on the five real seeds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from quantproof.claims.segment import UNIT_KINDS, segment, seed_title

REPO = Path(__file__).resolve().parents[2]
SEEDS = sorted((REPO / "seeds").glob("*.txt"))


def texts(text: str, kind: str | None = None) -> list[str]:
    return [u.text for u in segment("000_t.txt", text).units if kind is None or u.kind == kind]


def kinds(text: str) -> list[str]:
    return [u.kind for u in segment("000_t.txt", text).units]


# ------------------------------------------------------------------------------------------------ sentences

@pytest.mark.parametrize("line, expected", [
    ("This is one sentence. Here is another one.", ["This is one sentence.", "Here is another one."]),
    ("It rose 1.49 times. Then it fell again.", ["It rose 1.49 times.", "Then it fell again."]),
    ("Leech trains faster (≈20M vs. 40M for E8). It is quite new.", ["Leech trains faster (≈20M vs. 40M for E8).",
                                                                     "It is quite new."]),
    ("said Dr. Lena Torres, a researcher. Others disagree with her.", ["said Dr. Lena Torres, a researcher.",
                                                                       "Others disagree with her."]),
    ("Huh et al. (2024) found it. So did we, later.", ["Huh et al. (2024) found it.", "So did we, later."]),
    ("The identity $a. B = c$ holds here. The next one too.", ["The identity $a. B = c$ holds here.",
                                                              "The next one too."]),
    ("‘We were wrong,’ he said. ‘Indeed we were.’ Then silence fell.", ["‘We were wrong,’ he said.",
                                                                       "‘Indeed we were.’", "Then silence fell."]),
    ("It was said. ‘Indeed.’ Then silence fell.", ["It was said. ‘Indeed.’", "Then silence fell."]),
    ("≈ 3.5 characters. bpc = 1.8 / 2.4 ≈ 0.74 bits.", ["≈ 3.5 characters.", "bpc = 1.8 / 2.4 ≈ 0.74 bits."]),
    ("It is in the paper (0.128 bpc). (bpc: loss / ln 2.)", ["It is in the paper (0.128 bpc).",
                                                            "(bpc: loss / ln 2.)"]),
    ("Names etc.) and more text here.", ["Names etc.) and more text here."]),
    ("detection becomes essential. The threshold may serve.", ["detection becomes essential.",
                                                               "The threshold may serve."]),
])
def test_sentence_boundaries(line, expected):
    assert texts("Title line\n" + line, "sentence") == expected


def test_a_one_or_two_word_piece_joins_its_neighbour():
    assert texts("T\n- Huh et al. (2024). \"A reference paper.\" GitHub\n", "item") == [
        "Huh et al. (2024).", "\"A reference paper.\" GitHub"]


def test_units_are_exact_slices_of_the_seed():
    text = "# Title\n\nFirst. Second one here.\n- item one. item two\n| a | b | c |\n|---|---|---|\n| x | 1 | 2 |\n"
    sg = segment("000_t.txt", text)
    for u in sg.units:
        assert text[u.start:u.end] == u.text, u
        assert text.count("\n", 0, u.start) + 1 == u.line


# ------------------------------------------------------------------------------------------------ headings, lists

def test_headings_and_titles():
    text = ("Investigating a Lattice Bottleneck\nSome text here.\nThe Mechanism\nMore text.\n## Markdown heading\n"
            "**Bold label:**\n2 — Isotropic floor and SRHT\nFor random matrices: Df ≈ n (full rank)\n"
            "↓ formalized in some_theorem\nView in Lean Proofs →\nL0 mlp 2112×2816 0.780 0.941 +0.16\n")
    got = list(zip(kinds(text), texts(text)))
    assert got[0] == ("title", "Investigating a Lattice Bottleneck")
    assert ("heading", "The Mechanism") in got and ("heading", "## Markdown heading") in got
    assert ("heading", "**Bold label:**") in got and ("heading", "2 — Isotropic floor and SRHT") in got
    assert ("sentence", "For random matrices: Df ≈ n (full rank)") in got
    assert ("sentence", "↓ formalized in some_theorem") in got and ("sentence", "View in Lean Proofs →") in got
    assert ("row", "L0 mlp 2112×2816 0.780 0.941 +0.16") in got  # a table row written without pipes
    sections = {u.text: u.id.split("/")[1] for u in segment("000_t.txt", text).units}
    assert sections["Some text here."] == "top" and sections["More text."] == "the-mechanism"


def test_list_items_are_split_into_sentences():
    text = "T\n- β ≥ 0.25**: Generation succumbs. The geometry acts.\n  1. Per-expert R: train 128 (100×).\n"
    sg = segment("000_t.txt", text)
    assert [(u.kind, u.text) for u in sg.units[1:]] == [
        ("item", "β ≥ 0.25**: Generation succumbs."), ("item", "The geometry acts."),
        ("item", "Per-expert R: train 128 (100×).")]
    assert sg.blocks[1].kind == "list" and [ln.label for ln in sg.blocks[1].lines] == ["-", "1."]


# ------------------------------------------------------------------------------------------------ tables

def test_tables_rows_and_cells():
    text = ("T\n| β | Min Cosine | Avg Cosine |\n|---|---|---|\n| 0.10 | 0.9972 | 0.9979 |\n"
            "| \"fox...\" | 8.08% |\n")
    sg = segment("000_t.txt", text)
    got = [(u.kind, u.text, u.context) for u in sg.units[1:]]
    assert got == [("header", "| β | Min Cosine | Avg Cosine |", ""),
                   ("cell", "0.9972", "0.10 · Min Cosine"), ("cell", "0.9979", "0.10 · Avg Cosine"),
                   ("row", "| \"fox...\" | 8.08% |", "")]
    cell = sg.units[2]
    assert text[cell.label[0]:cell.label[1]] == "0.10"  # the row label: part of the row, not a unit
    table = sg.blocks[1]
    assert table.kind == "table" and table.lines[1].label == "0.10"


# ------------------------------------------------------------------------------------------------ code, formulas

def test_code_blocks_and_formulas():
    text = ("T\n```python\n# Results:\n    k=9:  95.3%\n|------>|\n```\n$$ a = b $$\n$$\nx\n  + y $$\nAfter.\n")
    sg = segment("000_t.txt", text)
    got = [(u.kind, u.text) for u in sg.units[1:]]
    assert got == [("code", "# Results:"), ("code", "k=9:  95.3%"), ("formula", "$$ a = b $$"),
                   ("formula", "$$\nx\n  + y $$"), ("sentence", "After.")]
    code = sg.blocks[1]
    assert code.kind == "code" and [ln.units == () for ln in code.lines] == [False, False, True]
    assert code.lines[1].indent == 4 and code.lines[2].text == "|------>|"  # kept as text, not a unit


# ------------------------------------------------------------------------------------------------ ids

def test_ids_are_stable_under_insertion_and_change_under_edit():
    base = "T\nAlpha one here. Beta two here.\nSection Two\nGamma three here. Delta four here.\n"
    ids = {u.text: u.id for u in segment("003_x.txt", base).units}
    inserted = {u.text: u.id for u in segment("003_x.txt", base.replace("Beta two here.", "A new one. Beta two here."))
                .units}
    assert all(inserted[t] == i for t, i in ids.items())  # inserting a sentence renumbers nothing
    edited = {u.text: u.id for u in segment("003_x.txt", base.replace("Gamma three here.", "Gamma 3 here.")).units}
    assert edited["Delta four here."] == ids["Delta four here."] and "Gamma three here." not in edited
    assert edited["Gamma 3 here."] not in ids.values()  # an edit is a changed unit
    assert ids["Gamma three here."].startswith("003/section-two/") and ids["Alpha one here."].startswith("003/top/")


def test_repeated_text_gets_distinct_ids():
    sg = segment("000_t.txt", "T\nSame words here.\nSame words here.\n")
    assert len({u.id for u in sg.units}) == 3


# ------------------------------------------------------------------------------------------------ titles

@pytest.mark.parametrize("text, title", [
    ("# Activation Compression: 85x\n\nBody.", "Activation Compression: 85x"),
    ("Investigating a Bottleneck\nBody.", "Investigating a Bottleneck"),
    ("https://example.org/x\n(In the paper, the model has a loss of ~2.4, for the larger one it is lower - loss "
     "~1.8–2.0 on the validation set of stories)\n", "In the paper, the model has a loss of ~2.4, for the larger one "
                                                    "it is lower - loss…"),
    ("- Research reveals a sharp threshold.\n- More.", "Research reveals a sharp threshold."),
])
def test_seed_title(text, title):
    assert seed_title(text) == title


# ------------------------------------------------------------------------------------------------ the real seeds

@pytest.mark.parametrize("path", SEEDS, ids=[p.name[:3] for p in SEEDS])
def test_real_seeds_segment_completely(path):
    text = path.read_text(encoding="utf-8")
    sg = segment(path.name, text)
    assert len({u.id for u in sg.units}) == len(sg.units)
    assert all(re.fullmatch(r"\d{3}/[a-z0-9-]+/[0-9a-f]{6,}", u.id) for u in sg.units)
    assert {u.kind for u in sg.units} <= set(UNIT_KINDS)
    for u in sg.units:
        assert text[u.start:u.end] == u.text
    # every line with words is a unit's line, a unit-less line of a block (code art, a table rule), or a fence
    covered = {u.line + k for u in sg.units for k in range(u.text.count("\n") + 1)}
    kept = {ln.line for b in sg.blocks for ln in b.lines}
    for no, line in enumerate(text.split("\n"), start=1):
        if re.search(r"\w", line) and not line.strip().startswith("```") and not re.fullmatch(r"[\s|:-]+", line):
            assert no in covered or no in kept, (path.name, no, line)
    assert sg.title and len(sg.title) <= 200


def test_real_seed_titles():
    titles = {p.name[:3]: segment(p.name, p.read_text(encoding="utf-8")).title for p in SEEDS}
    assert titles["000"].startswith("Investigating a Transformer’s Forward Activations")
    assert titles["003"] == "Explore the Data"
    assert titles["004"] == "Activation Compression Breakthrough: 85x Memory Reduction Using Spectral Convergence"
    assert not titles["001"].startswith("http")

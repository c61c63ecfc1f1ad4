"""Shared fixtures for the ledger HTML tests: the sample ledgers and a synthetic large ledger."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
SCREENSHOTS = REPO / "build" / "screenshots"
HOSTILE_TITLE = "<script>alert(1)</script>"


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture
def ledger() -> dict:
    return load("ledger_sample.json")


@pytest.fixture
def baseline() -> dict:
    return load("ledger_sample_baseline.json")


def big_ledger(n: int = 300) -> dict:
    """n claims cloned (deterministically) from the sample, with unique ids and rotating verdicts/seeds."""
    from quantproof.ledger.html import VERDICTS, compute_summary

    base = load("ledger_sample.json")
    src = base["claims"]
    claims = []
    for i in range(n):
        c = copy.deepcopy(src[i % len(src)])
        c["id"] = f"{c['id']}_{i:03d}"
        c["title"] = f"{c['title']} (copy {i})"
        c["verdict"] = VERDICTS[i % len(VERDICTS)]
        c["seed"] = f"{i % 5:03d}_synthetic.txt"
        claims.append(c)
    base["claims"] = claims
    base["summary"] = compute_summary(claims)
    return base

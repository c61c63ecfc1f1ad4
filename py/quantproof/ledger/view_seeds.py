"""View model of the seed documents on the page (filled from the ledger's ``coverage`` section)."""

from __future__ import annotations

from typing import Any


def build_seeds(ledger: dict, claims: list[dict], dom_by_id: dict[str, str]) -> Any:
    return None

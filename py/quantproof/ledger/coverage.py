"""The ledger's ``coverage`` section: every seed segmented into units, each unit's claims or no-claim mark.

``coverage_section(repo, cs)`` is called once by :func:`quantproof.ledger.build.build_ledger`. It reads the seeds and
``coverage.yaml`` (never a claim's evidence), so it is deterministic for the same files. A map that cannot be read
or that fails the checks of :mod:`quantproof.claims.coverage` does not stop the run: its problems are listed under
``errors`` (``quantproof check`` is where they fail), and the units it does not cover show as ``unmapped``.

Shape (see docs/LEDGER_SCHEMA.md)::

    {"map": "coverage.yaml" | null, "map_sha256": str | null, "errors": [str], "unreached": [claim id],
     "categories": {category: description},
     "seeds": [{"seed", "title", "sha256", "counts": {...}, "blocks": [...], "units": [...]}]}
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from ..claims.coverage import (COVERAGE_FILE, NO_CLAIM, CoverageMap, check_coverage, coverage_counts, load_coverage,
                               segment_seeds, unit_state, unit_status)
from ..claims.loader import ClaimsFileError
from ..claims.model import ClaimSet
from ..claims.segment import Segmentation

__all__ = ["coverage_section"]


def _seed_view(sg: Segmentation, cmap: CoverageMap | None, status: dict, counts: dict[str, Any]) -> dict[str, Any]:
    units = []
    for u in sg.units:
        e = status.get(u.id)
        state = unit_state(u.id, status)
        units.append({
            "id": u.id, "kind": u.kind, "text": u.text, "line": u.line, "context": u.context,
            "status": state.split(":", 1)[0],
            "claims": list(e.claims) if e is not None else [],
            "category": e.category if e is not None else None,
            "reason": e.reason if e is not None and e.reason else None,
            "of": e.of if e is not None else None,
            "used_by": list(e.used_by) if e is not None else [],
            "parts": e.parts if e is not None and e.parts else None,
        })
    blocks = [{"kind": b.kind, "lines": [{"line": ln.line, "units": list(ln.units), "text": ln.text, "label": ln.label,
                                          "indent": ln.indent} for ln in b.lines]} for b in sg.blocks]
    return {"seed": sg.seed, "title": sg.title, "sha256": hashlib.sha256(sg.text.encode("utf-8")).hexdigest(),
            "counts": counts, "blocks": blocks, "units": units}


def coverage_section(repo: Path, cs: ClaimSet) -> dict[str, Any] | None:
    """The coverage of every seed in ``<repo>/seeds`` (None when there are no seeds)."""
    segs = segment_seeds(repo)
    if not segs:
        return None
    path = repo / COVERAGE_FILE
    cmap: CoverageMap | None = None
    errors: list[str] = []
    if path.is_file():
        try:
            cmap = load_coverage(path, display_name=COVERAGE_FILE)
        except ClaimsFileError as exc:
            errors = [str(e) for e in exc.errors]
    if cmap is not None:
        errors = [str(e) for e in check_coverage(cmap, segs, cs)]
    status = unit_status(cmap, segs)
    counts = coverage_counts(cmap, segs)
    reached = {cid for e in (cmap.entries if cmap else ()) for cid in e.claims}
    return {
        "map": COVERAGE_FILE if cmap is not None else None,
        "map_sha256": cmap.sha256 if cmap is not None else None,
        "errors": errors,
        "unreached": [c.id for c in cs.claims if c.id not in reached and c.seed in segs] if cmap is not None else [],
        "categories": dict(NO_CLAIM),
        "seeds": [_seed_view(sg, cmap, status, counts[name]) for name, sg in segs.items()],
    }

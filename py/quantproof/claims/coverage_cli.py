"""The coverage map on the command line: the check ``quantproof check`` runs, and ``quantproof coverage``.

Policy: a repository without coverage.yaml is not checked (the miniature repositories of the tests have none); with
one, every problem is an input error (exit 2), printed as ``file:line: field: message``. ``quantproof coverage``
only reads: per seed its figures, and with ``--seed`` every unit (id, line, kind, status, text) — what one needs
to write or repair the map after a seed or a claim changed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TextIO

from .coverage import (COVERAGE_FILE, check_coverage, coverage_counts, load_coverage, segment_seeds, unit_state,
                       unit_status)
from .loader import ClaimsFileError, SchemaError
from .model import ClaimSet

__all__ = ["check_repo", "print_coverage"]


def _display(path: Path) -> str:
    cwd = Path.cwd()
    return os.path.relpath(path, cwd) if path.is_relative_to(cwd) else str(path)


def check_repo(repo: Path, cs: ClaimSet) -> tuple[list[SchemaError], str]:
    """(problems, one summary line) of ``<repo>/coverage.yaml`` against the seeds and ``cs``."""
    path = repo / COVERAGE_FILE
    if not path.is_file():
        return [], f"no {COVERAGE_FILE}: source coverage not checked"
    try:
        cmap = load_coverage(path, display_name=_display(path))
    except ClaimsFileError as exc:
        return exc.errors, ""
    segs = segment_seeds(repo)
    errors = check_coverage(cmap, segs, cs)
    counts = coverage_counts(cmap, segs)
    units = sum(c["units"] for c in counts.values())
    covered = sum(c["with_claims"] + sum(c["no_claim"].values()) for c in counts.values())
    gaps = sum(c["needs_claim"] for c in counts.values())
    pct = 100.0 * covered / units if units else 100.0
    return errors, (f"coverage: {units} units in {len(segs)} seeds, {covered} linked to claims or marked no-claim "
                    f"({pct:.1f}%), {gaps} marked needs-claim")


def print_coverage(repo: Path, seed: str | None = None, gaps_only: bool = False, out: TextIO | None = None) -> int:
    """``quantproof coverage``: per-seed figures; with ``seed``, that seed's units (``gaps_only``: only the units
    that are unmapped or need a claim)."""
    out = out or sys.stdout
    segs = segment_seeds(repo)
    path = repo / COVERAGE_FILE
    cmap = None
    if path.is_file():
        try:
            cmap = load_coverage(path, display_name=_display(path))
        except ClaimsFileError as exc:
            for e in exc.errors:
                print(f"  {e}", file=sys.stderr)
            return 2
    if seed is not None and seed not in segs:
        print(f"error: no seed {seed!r} (seeds: {', '.join(segs)})", file=sys.stderr)
        return 2
    counts = coverage_counts(cmap, segs)
    status = unit_status(cmap, segs)
    for name, sg in segs.items():
        if seed is not None and name != seed:
            continue
        c = counts[name]
        no_claim = ", ".join(f"{k} {v}" for k, v in c["no_claim"].items()) or "none"
        print(f"{name}  “{sg.title}”: {c['units']} units, {c['with_claims']} with claims, no-claim: {no_claim}; "
              f"needs-claim {c['needs_claim']}, unmapped {c['unmapped']}; {c['covered_pct']}% linked or marked",
              file=out)
        if seed is None:
            continue
        for u in sg.units:
            st = unit_state(u.id, status)
            if gaps_only and st not in ("needs-claim", "unmapped"):
                continue
            e = status[u.id]
            detail = ", ".join(e.claims) if e is not None and e.claims else st
            text = " ".join(((u.context + ": ") if u.context else "") .split() + u.text.split())
            print(f"  {u.id}  L{u.line} {u.kind:8} [{detail}]  {text[:100]}", file=out)
    return 0

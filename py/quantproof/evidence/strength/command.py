"""The ``quantproof strength`` command: compute (incrementally) or check the strength report, print the table.

Exit codes: 0 done (or the report is current); 1 ``--check --strict`` found the committed report stale; 2 bad input
(the equivalents file, an unreadable report); 3 interrupted or the worker failed (nothing is written then).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from ..tests import scan_tests
from .engine import Scope, StrengthError, compute_strength, engine_info
from .equivalents import EquivalentsFileError
from .model import THRESHOLD, read_report, sha256_file


def staleness(repo: Path, scope: Scope, report: dict) -> list[str]:
    """Why the report no longer describes the code (empty: it is current). Reads files only; runs nothing."""
    reasons = []
    if report.get("engine", {}).get("hash") != engine_info()["hash"]:
        reasons.append("the engine changed (operators, cosmic-ray version or pytest arguments)")
    if report.get("equivalents_sha256") != (sha256_file(repo / scope.equivalents) or "missing"):
        reasons.append(f"{scope.equivalents} changed")
    for f, m in sorted(report.get("modules", {}).items()):
        if sha256_file(repo / f) != m.get("sha256"):
            reasons.append(f"{f} changed")
    changed_tests = set()
    for t, rec in sorted(report.get("tests", {}).items()):
        for f, h in rec.get("files", {}).items():
            if f not in changed_tests and (sha256_file(repo / f) or "missing") != h:
                changed_tests.add(f)
                reasons.append(f"{f} changed")
    tags = {(c, t.test_id) for c, ts in scan_tests(repo, scope.tests_dir).by_claim.items() for t in ts}
    had = {(c, t["id"]) for c, e in report.get("claims", {}).items() for t in e.get("tests", [])}
    for c, t in sorted(tags ^ had):
        reasons.append(f"{t} is {'now' if (c, t) in tags else 'no longer'} tagged with {c}")
    return reasons


def format_table(report: dict) -> str:
    rows = [("claim", "kill rate", "killed/mutants", "equiv", "survivors", "no-code tests", "")]
    for cid, e in report["claims"].items():
        rate = "—" if e["kill_rate"] is None else f"{e['kill_rate']:.2f}"
        mark = "" if e["kill_rate"] is None else ("ok" if e["kill_rate"] >= THRESHOLD else "below")
        rows.append((cid, rate, f"{e['killed']}/{e['mutants']}", str(e["equivalent"]), str(len(e["survivors"])),
                     str(len(e["no_project_code"])), mark))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def format_claim(cid: str, e: dict) -> str:
    """One claim of the report in full: rate, functions, tests, survivors with their reasons, errors, problems."""
    rate = "—" if e["kill_rate"] is None else f"{e['kill_rate']:.2f}"
    out = [f"{cid}: kill rate {rate} ({e['killed']} of {e['mutants']} mutants killed, {e['equivalent']} equivalent; "
           f"threshold {THRESHOLD})", "functions:"]
    out += [f"  {f}" for f in e["functions"]] or ["  (none)"]
    out.append("tests:")
    for t in e["tests"]:
        code = "" if t["exercises_project_code"] else ", runs no project code"
        out.append(f"  {t['id']} [{t['role']}] {t['baseline']} unmutated, kills {t['kills']}{code}")
    out.append(f"survivors ({len(e['survivors'])}):")
    for sv in e["survivors"]:
        out.append(f"  {sv['file']}:{sv['line']} {sv['change']}\n      {'equivalent: ' if sv['equivalent'] else ''}"
                   f"{sv['reason']}")
    for label in ("errors", "problems"):
        if e.get(label):
            out.append(f"{label}:")
            out += [f"  {x}" for x in e[label]]
    return "\n".join(out)


def _write(report: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(report, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def show(repo: Path, claims: list[str], scope: Scope = Scope()) -> int:
    """Print claims of the committed report (all when ``claims`` is empty); runs nothing."""
    try:
        report = read_report(repo / scope.report)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if report is None:
        print(f"error: {scope.report} does not exist (run quantproof strength)", file=sys.stderr)
        return 2
    unknown = [c for c in claims if c not in report["claims"]]
    if unknown:
        print(f"error: not in {scope.report}: {', '.join(unknown)}", file=sys.stderr)
        return 2
    print("\n\n".join(format_claim(c, report["claims"][c]) for c in (claims or list(report["claims"]))))
    return 0


def run(repo: Path, *, out: str | None, check: bool, strict: bool, full: bool, jobs: int, quiet: bool,
        progress: Any = None, scope: Scope = Scope()) -> int:
    committed_path = repo / scope.report
    out_path = Path(out) if out else committed_path
    if not out_path.is_absolute():
        out_path = repo / out_path
    try:
        committed = read_report(committed_path)
        previous = None if full else (read_report(out_path) if out_path != committed_path and out_path.exists()
                                      else committed)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stale = False
    if check:
        if committed is None:
            print(f"{scope.report}: no strength report is committed; computing one", file=sys.stderr)
            stale = True
        else:
            reasons = staleness(repo, scope, committed)
            if not reasons:
                print(f"strength report is current: {len(committed['claims'])} claims "
                      f"(engine {committed['engine']['hash'][:12]})")
                return 0
            stale = True
            print(f"{scope.report} is stale:", file=sys.stderr)
            for r in reasons[:20]:
                print(f"  {r}", file=sys.stderr)
            if len(reasons) > 20:
                print(f"  … and {len(reasons) - 20} more", file=sys.stderr)
    log = (lambda s: None) if quiet else (lambda s: print(f"[strength] {s}", file=sys.stderr, flush=True))
    try:
        report = compute_strength(repo, scope, jobs=jobs, previous=previous, progress=progress, log=log)
    except EquivalentsFileError as exc:
        print(f"{len(exc.errors)} error(s) in {scope.equivalents}:", file=sys.stderr)
        for e in exc.errors:
            print(f"  {e}", file=sys.stderr)
        return 2
    except StrengthError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("interrupted: nothing was written", file=sys.stderr)
        return 3
    _write(report, out_path)
    if not quiet:
        print(format_table(report))
    r = report["run"]
    print(f"wrote {os.path.relpath(out_path)}: {len(report['claims'])} claims; {r['mutants_run']} mutants run, "
          f"{r['test_results_reused']} cached test results reused, {r['duration_s']:.0f} s")
    for p in report["problems"]:
        print(f"problem: {p}", file=sys.stderr)
    if stale:
        print(f"the committed {scope.report} was stale; commit the fresh report (quantproof strength)",
              file=sys.stderr)
    return 1 if stale and strict else 0

"""Records of the strength report (``ledger/strength.json``, schema ``quantproof.strength/1``) and its pure loader.

Policy: :func:`load_strength` only reads the committed report and hashes the files it names; it runs nothing and
imports no tool, so the ledger can call it on every build. A claim's entry is *stale* when a file it was computed
from (a mutated module, a test file or the test helpers it used) changed or vanished, or when its set of tagged tests
changed since: its numbers then describe code that no longer exists, and they must not decide a verdict.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = "quantproof.strength/1"
REPORT_PATH = "ledger/strength.json"

# A claim can be `supported` by tests alone only when its tests kill at least this fraction of the (non-equivalent)
# mutants in the functions they exercise. 0.8 is the usual bar for a mature suite; below it a fifth or more of the
# plausible one-token bugs in the code would pass every test of the claim.
THRESHOLD = 0.8


@dataclass(frozen=True)
class Survivor:
    file: str
    line: int
    change: str  # "old line → new line"
    reason: str  # why it survived: an equivalence reason, "not reached by the claim's tests", or "its tests pass"
    equivalent: bool = False
    function: str = ""
    mutant: str = ""  # "core/Operator#occurrence"


@dataclass(frozen=True)
class TestStrength:
    test_id: str
    role: str
    baseline: str  # outcome on the unmutated code: passed | failed | error | skipped | not-run
    exercises_project_code: bool
    kills: int  # mutants of the claim this test kills


@dataclass(frozen=True)
class ClaimStrength:
    claim: str
    kill_rate: float | None  # killed / (mutants - equivalent); None when there is nothing to kill
    killed: int
    mutants: int  # mutants in the functions the claim's tests exercise (equivalent ones included)
    equivalent: int
    survivors: tuple[Survivor, ...]
    functions: tuple[str, ...]  # "path::qualname"
    tests: tuple[TestStrength, ...]
    no_project_code: tuple[str, ...]  # tagged tests that run no code in scope: they kill nothing, no evidence
    killed_by: dict[str, int]  # {"failed": n, "error": n, "timeout": n}
    errors: tuple[str, ...]  # tests that errored under some mutant: "test_id: n mutant(s), e.g. <message>"
    problems: tuple[str, ...]  # modules that could not be mutated, tests failing unmutated, mutants not applied
    code_hash: str
    stale: bool

    @property
    def meets_threshold(self) -> bool:
        """The rule for 'supported by tests alone': fresh, something to kill, and at least THRESHOLD killed."""
        return not self.stale and self.kill_rate is not None and self.kill_rate >= THRESHOLD


def sha256_file(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def code_hash(files: dict[str, str], engine: str, tests: list[str]) -> str:
    """One hash of what a claim's numbers depend on: its files' hashes, the engine, its tagged tests."""
    h = hashlib.sha256()
    for path in sorted(files):
        h.update(f"{path}\0{files[path]}\n".encode())
    h.update(f"engine\0{engine}\n".encode())
    for t in sorted(tests):
        h.update(f"test\0{t}\n".encode())
    return h.hexdigest()


def claim_from_json(cid: str, d: dict[str, Any], stale: bool) -> ClaimStrength:
    return ClaimStrength(
        claim=cid, kill_rate=d.get("kill_rate"), killed=int(d.get("killed", 0)), mutants=int(d.get("mutants", 0)),
        equivalent=int(d.get("equivalent", 0)),
        survivors=tuple(Survivor(s["file"], int(s["line"]), s["change"], s["reason"], bool(s.get("equivalent")),
                                 s.get("function", ""), s.get("mutant", "")) for s in d.get("survivors", [])),
        functions=tuple(d.get("functions", [])),
        tests=tuple(TestStrength(t["id"], t["role"], t["baseline"], bool(t["exercises_project_code"]),
                                 int(t["kills"])) for t in d.get("tests", [])),
        no_project_code=tuple(d.get("no_project_code", [])),
        killed_by=dict(d.get("killed_by", {})), errors=tuple(d.get("errors", [])),
        problems=tuple(d.get("problems", [])), code_hash=d.get("code_hash", ""), stale=stale)


def read_report(path: Path) -> dict[str, Any] | None:
    """The report, or None when absent; a file that is not a strength report raises ValueError naming it."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable strength report: {exc}") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ValueError(f"{path}: schema: expected {SCHEMA!r}, found {data.get('schema') if isinstance(data, dict) else None!r}")
    return data


def load_strength(repo: Path, path: Path | None = None, *, tests_dir: str = "tests") -> dict[str, ClaimStrength]:
    """Every claim in the report (default ``ledger/strength.json``), with ``stale`` set against the files as they are
    now. No report: ``{}``. A malformed report raises ValueError naming the file."""
    from ..tests import scan_tests

    repo = Path(repo)
    report = read_report(path or repo / REPORT_PATH)
    if report is None:
        return {}
    current_tags = scan_tests(repo, tests_dir).by_claim
    hashes: dict[str, str | None] = {}

    def now(p: str) -> str | None:
        if p not in hashes:
            hashes[p] = sha256_file(repo / p)
        return hashes[p]

    out: dict[str, ClaimStrength] = {}
    for cid, d in sorted(report.get("claims", {}).items()):
        files = d.get("files", {})
        tagged = sorted(t.test_id for t in current_tags.get(cid, []))
        stale = (any(now(p) != h for p, h in files.items())
                 or tagged != sorted(t["id"] for t in d.get("tests", []))
                 or d.get("code_hash") != code_hash(files, report.get("engine", {}).get("hash", ""), tagged))
        out[cid] = claim_from_json(cid, d, stale)
    return out

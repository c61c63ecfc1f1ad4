"""docs/CONTRIBUTING.md's worked examples, applied to a temporary copy of the repository, give the verdicts the page
states: a property test, an existing measurement with a control, a new measurement, a Lean link.

The page marks each example block with ``<!-- example: write PATH -->`` or ``<!-- example: append PATH -->`` on the
line before its fenced block, and each expected verdict with ``<!-- expect: CLAIM VERDICT -->``. A claim whose
tests are not yet measured for mutation strength may also read ``unsupported`` (the page says so)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "CONTRIBUTING.md"
BLOCK = re.compile(r"<!-- example: (write|append) (\S+) -->\n```[a-z]*\n(.*?)```", re.S)
EXPECT = re.compile(r"<!-- expect: (\S+) (\S+) -->")
SKIP = {".git", ".venv", "build", ".quantproof-cache", ".hypothesis", ".lake", "__pycache__", "node_modules"}
ALSO_OK = {"supported": {"unsupported"}}  # before `quantproof strength` has measured a new claim's tests


def examples() -> list[tuple[str, str, str]]:
    return BLOCK.findall(PAGE.read_text(encoding="utf-8"))


def test_the_page_holds_one_example_per_kind_of_evidence() -> None:
    paths = [p for _, p, _ in examples()]
    assert any(p.startswith("tests/") for p in paths), "a property test"
    assert any(p.startswith("py/quantproof/measurements/") for p in paths), "a new measurement"
    assert any(p.endswith(".lean") for p in paths), "a Lean link"
    assert sum(1 for _, p, b in examples() if p == "claims.yaml" and "control:" in b) >= 2, "measurements + control"
    assert len(EXPECT.findall(PAGE.read_text())) == 4


@pytest.mark.slow
def test_the_worked_examples_run_and_give_the_stated_verdicts(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(ROOT, repo, ignore=lambda d, names: [n for n in names if n in SKIP])
    for action, rel, body in examples():
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if action == "write":
            path.write_text(body, encoding="utf-8")
        else:
            old = path.read_text(encoding="utf-8") if path.exists() else ""
            path.write_text(old + ("" if old.endswith("\n") else "\n") + body, encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(repo / "py"), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               PATH="/usr/bin:/bin:" + str(Path(sys.executable).parent))

    def qp(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "quantproof", *args], cwd=repo, env=env, capture_output=True,
                              text=True, timeout=1200)

    check = qp("check")
    assert check.returncode in (0, 1), check.stdout + check.stderr  # 1: Lean audit findings elsewhere only
    expected = dict(EXPECT.findall(PAGE.read_text()))
    before = {p.name: p.read_bytes() for p in (repo / "ledger").iterdir() if p.is_file()}
    run = qp("run", "--quiet", "--jobs", "2", "--claims", *expected)
    assert run.returncode == 0, run.stdout + run.stderr
    assert {p.name: p.read_bytes() for p in (repo / "ledger").iterdir() if p.is_file()} == before
    led = {c["id"]: c for c in json.loads((repo / "build" / "partial" / "ledger.json").read_text())["claims"]}
    for cid, verdict in expected.items():
        got = led[cid]["verdict"]
        assert got == verdict or got in ALSO_OK.get(verdict, set()), (cid, got, led[cid]["reason"])
    explained = qp("explain", "example_word_length")
    assert explained.returncode == 0 and "control     'every word replaced by 10 letters'" in explained.stdout
    gate = qp("gate", "--baseline", "ledger/baseline.json")
    assert "partial ledger: gated on the 4 claim(s) it holds" in gate.stdout, gate.stdout

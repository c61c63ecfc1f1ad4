"""Two runs on one output folder cannot interleave: the second stops at once with a clear error (exit 3) and touches
nothing. The lock is an OS file lock: a killed holder never leaves a stale lock behind. Runs into different folders
(sharing the measurement cache) do not block each other.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from filelock import FileLock

from .conftest import NO_LAKE_PATH, ledger_of, make_repo, run_cli


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_repo(tmp_path_factory.mktemp("lock") / "repo")


@pytest.fixture(autouse=True)
def _no_lake(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", NO_LAKE_PATH)


def fast_run(repo: Path, out: Path, *extra: str) -> int:
    return run_cli(repo, "run", "--quiet", "--skip-tests", "--skip-measurements", "--out", str(out), *extra)


def test_a_held_lock_stops_the_second_run_with_exit_3(repo: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "ledger"
    assert fast_run(repo, out) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.name != ".lock"}
    with FileLock(str(out / ".lock")):
        t0 = time.monotonic()
        assert fast_run(repo, out) == 3
        assert time.monotonic() - t0 < 10, "the second run waited instead of refusing"
    err = capsys.readouterr().err
    assert "another quantproof run is writing" in err and str(out) in err
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.name != ".lock"} == before
    assert fast_run(repo, out) == 0  # released: the next run goes ahead


def test_a_running_run_blocks_a_second_one(repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A real first run (a subprocess inside its tests stage) and a second run on the same folder."""
    claims = repo / "claims.yaml"
    original = claims.read_text()
    claims.write_text(original.replace("      - tests/test_mini.py::test_one_plus_one\n",
                                                 "      - tests/test_mini.py::test_one_plus_one\n"
                                                 "      - tests/test_slow_lock.py::test_slow\n"))
    (repo / "tests" / "test_slow_lock.py").write_text(
        "import os, time\nimport pytest\n\n\n@pytest.mark.claim('one_plus_one')\ndef test_slow():\n"
        "    open(os.environ['QP_STARTED'], 'w').close()\n    time.sleep(60)\n")
    out = tmp_path / "ledger"
    started = tmp_path / "started"
    env = dict(os.environ, PATH=NO_LAKE_PATH, QP_STARTED=str(started), OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-m", "quantproof.cli", "--repo", str(repo), "run", "--quiet",
                             "--skip-measurements", "--out", str(out)], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        t0 = time.monotonic()
        while not started.exists():
            assert proc.poll() is None and time.monotonic() - t0 < 60
            time.sleep(0.05)
        assert fast_run(repo, out) == 3
        assert "another quantproof run" in capsys.readouterr().err
        assert not (out / "ledger.json").exists()
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        (repo / "tests" / "test_slow_lock.py").unlink()
        claims.write_text(original)


def test_a_killed_holder_leaves_no_stale_lock(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "ledger"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c",
                               "import sys, time; from filelock import FileLock\n"
                               f"l = FileLock({str(out / '.lock')!r}); l.acquire(); print('held', flush=True);"
                               " time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert fast_run(repo, out) == 3
    finally:
        holder.kill()
        holder.wait()
    assert (out / ".lock").exists()  # the file stays; the lock died with its holder
    assert fast_run(repo, out) == 0


def test_runs_into_different_folders_do_not_block_and_share_the_cache(repo: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    env = dict(os.environ, PATH=NO_LAKE_PATH, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "quantproof.cli", "--repo", str(repo), "run", "--quiet", "--skip-tests",
           "--jobs", "1", "--cache-dir", str(cache)]
    procs = [subprocess.Popen([*cmd, "--out", str(tmp_path / name)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True) for name in ("a", "b")]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    a, b = ledger_of(tmp_path, "a"), ledger_of(tmp_path, "b")
    a.pop("run"), b.pop("run")
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)

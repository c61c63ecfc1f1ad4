"""Interrupting ``quantproof run``: SIGINT (Ctrl-C, ``kill -INT``) and SIGKILL mid-run.

The previous ledger files stay byte-identical, no temporary file is left in the output folder, no partial ledger is
published, and the next run resumes from the measurement cache (the measurements that finished before the
interrupt are cache hits).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from quantproof.evidence.runner_measure import code_hash
from quantproof.ledger import writer

from .conftest import CLAIMS, NO_LAKE_PATH, ledger_of, make_repo, run_cli

SLOW_TEST_CLAIM = """\
  - id: slow_test_claim
    title: a test that hangs
    source: {seed: toy.txt, quote: "The mean is five."}
    kind: empirical
    statement: it hangs too.
    scope: universal
    tests:
      - {test: tests/test_slow.py::test_sleeps, role: asserts}
"""
SLOW_CLAIM = SLOW_TEST_CLAIM + """\
  - id: slow_claim
    title: a measurement that hangs
    source: {seed: toy.txt, quote: "The mean is five."}
    kind: empirical
    statement: it hangs.
    scope: universal
    measurements:
      - name: selftest_fault
        params: {mode: hang, seconds: 120.0}
        output: value
        role: asserts
        expect: {value: 1.0}
"""

SLOW_TEST = '''\
import os
import time
import pytest


@pytest.mark.claim("slow_test_claim")
def test_sleeps():
    open(os.environ["QP_TEST_STARTED"], "w").close()
    time.sleep(120)
'''

LEDGER_FILES = ("ledger.json", "LEDGER.md", "index.html")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository with a published ledger (from the fast claims) and a slow claims file to interrupt."""
    r = make_repo(tmp_path_factory.mktemp("interrupts") / "repo")
    (r / "tests" / "test_slow.py").write_text(SLOW_TEST)
    (r / "claims.yaml").write_text(CLAIMS + SLOW_TEST_CLAIM)
    (r / "slow.yaml").write_text(CLAIMS + SLOW_CLAIM)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PATH", NO_LAKE_PATH)
        assert run_cli(r, "run", "--quiet", "--skip-tests", "--no-cache", "--out", "ledger") == 0
    return r


def snapshot(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.name != ".lock"}


def start_run(repo: Path, cache: Path, *extra: str) -> subprocess.Popen:
    env = dict(os.environ, PATH=NO_LAKE_PATH, OMP_NUM_THREADS="1", QP_TEST_STARTED=str(cache / "test-started"))
    cmd = [sys.executable, "-m", "quantproof.cli", "--repo", str(repo), "--claims-file", "slow.yaml", "run",
           "--quiet", "--device", "cpu", "--jobs", "1", "--cache-dir", str(cache), "--out", "ledger", *extra]
    # a session of its own: whatever the run leaves behind (an orphaned measurement process after SIGKILL) can be
    # cleaned up by process group, and only the processes this test started are touched
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)


def wait_for(cond, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    t0 = time.monotonic()
    while not cond():
        if proc.poll() is not None:
            raise AssertionError(f"the run ended before the interrupt: {proc.communicate()}")
        if time.monotonic() - t0 > timeout:
            raise AssertionError("the run never reached the point to interrupt")
        time.sleep(0.05)


def group_members(pgid: int) -> list[int]:
    """Live processes of a process group (Linux /proc); zombies do not count."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            out.append(int(stat.parent.name))
    return out


def finish(proc: subprocess.Popen, timeout: float = 30.0) -> tuple[int, str]:
    """Wait for the run; then stop whatever of its process group is left (only what this test started)."""
    try:
        rc = proc.wait(timeout=timeout)
        err = proc.stderr.read() if proc.stderr else ""
        return rc, err
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.communicate()


def measurement_cached(cache: Path) -> bool:
    return any((cache / "measurements").glob("*.json"))


@pytest.mark.parametrize("how", ["SIGINT to the run", "Ctrl-C to its process group", "SIGTERM to the run",
                                 "SIGKILL to the run"])
def test_interrupt_during_measurements_publishes_nothing(repo: Path, tmp_path: Path, how: str) -> None:
    out = repo / "ledger"
    before = snapshot(out)
    proc = start_run(repo, tmp_path, "--skip-tests")
    wait_for(lambda: measurement_cached(tmp_path), proc)  # the fast measurement is done; the hang is next
    time.sleep(0.3)
    if how == "SIGINT to the run":
        proc.send_signal(signal.SIGINT)
    elif how.startswith("Ctrl-C"):
        os.killpg(proc.pid, signal.SIGINT)
    elif how.startswith("SIGTERM"):
        proc.terminate()
    else:
        proc.kill()
    rc, err = finish(proc)
    if how.startswith("SIGKILL"):
        assert rc == -signal.SIGKILL
    else:
        assert rc == 3, err
        assert "interrupted: nothing was published; the previous ledger is intact" in err
    assert snapshot(out) == before, "the interrupted run changed or left files in the output folder"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_sigkill_leaves_no_orphaned_measurement_process(repo: Path, tmp_path: Path) -> None:
    proc = start_run(repo, tmp_path, "--skip-tests")
    try:
        wait_for(lambda: measurement_cached(tmp_path), proc)
        wait_for(lambda: len(group_members(proc.pid)) >= 2, proc)  # the run and its hanging measurement
        proc.kill()
        proc.wait(timeout=10)
        t0 = time.monotonic()
        while group_members(proc.pid) and time.monotonic() - t0 < 10:
            time.sleep(0.1)
        assert group_members(proc.pid) == [], "a measurement process outlived its SIGKILLed run"
    finally:
        finish(proc)


def test_interrupt_during_tests_returns_promptly_and_publishes_nothing(repo: Path, tmp_path: Path) -> None:
    """``kill -INT`` reaches only the run, not its pytest child: the run must stop that child, not wait for it."""
    out = repo / "ledger"
    before = snapshot(out)
    proc = start_run(repo, tmp_path, "--skip-measurements")
    wait_for(lambda: (tmp_path / "test-started").exists(), proc)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    rc, err = finish(proc, timeout=60)
    assert rc == 3, err
    assert time.monotonic() - t0 < 20, "the run waited for its test subprocess after an interrupt"
    assert snapshot(out) == before


def test_next_run_resumes_from_the_cache(repo: Path, tmp_path: Path) -> None:
    proc = start_run(repo, tmp_path, "--skip-tests")
    wait_for(lambda: measurement_cached(tmp_path), proc)
    proc.send_signal(signal.SIGINT)
    assert finish(proc)[0] == 3
    for attempt in range(2):  # another engineer's edit to the package changes the code hash (a legitimate miss)
        chash = code_hash()
        rc = run_cli(repo, "--claims-file", "slow.yaml", "run", "--quiet", "--skip-tests", "--device", "cpu",
                     "--cache-dir", str(tmp_path), "--timeout", "2", "--out", str(tmp_path / "out"))
        assert rc == 0
        if code_hash() == chash:
            break
    led = ledger_of(tmp_path, "out")
    assert led["run"]["cache"]["hits"] >= 1, led["run"]["cache"]
    assert led["complete"] is False  # --skip-tests
    slow = next(c for c in led["claims"] if c["id"] == "slow_claim")
    assert slow["measurements"][0]["reason"] == "timed out after 2 s"  # a timed-out job is never cached


# --------------------------------------------------------------------------------------------- the swap itself

def _tiny_ledger(repo: Path) -> dict:
    led = ledger_of(repo)
    led["claims"] = led["claims"][:1]
    led["summary"]["total"] = 1
    return led


@pytest.mark.parametrize("where", ["render_markdown", "render_html", "replace-1", "replace-2", "replace-3"])
def test_interrupt_inside_write_ledger(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       where: str) -> None:
    """An interrupt while rendering or during the swap: the folder holds either all the old files or all the new
    ones, never a mixture, and no temporary file."""
    out = tmp_path / "out"
    writer.write_ledger(ledger_of(repo), out)
    before = snapshot(out)
    new = _tiny_ledger(repo)
    if where.startswith("render"):
        monkeypatch.setattr(writer, where, lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
    else:
        real = os.replace
        calls = {"n": 0}
        limit = int(where[-1])

        def flaky(src, dst):
            calls["n"] += 1
            if calls["n"] == limit:
                raise KeyboardInterrupt
            return real(src, dst)

        monkeypatch.setattr(writer.os, "replace", flaky)
    with pytest.raises(KeyboardInterrupt):
        writer.write_ledger(new, out)
    monkeypatch.undo()
    after = snapshot(out)
    assert set(after) == set(LEDGER_FILES), sorted(after)
    writer.write_ledger(new, tmp_path / "expected")
    expected = snapshot(tmp_path / "expected")
    assert after in (before, expected), "a mixture of the old and the new ledger files was published"


def test_published_files_are_ordinary_readable_files(repo: Path, tmp_path: Path) -> None:
    """Staging uses private temporary files (mode 0600); what is published gets the usual umask-derived mode."""
    old = os.umask(0o022)
    try:
        writer.write_ledger(ledger_of(repo), tmp_path / "out")
    finally:
        os.umask(old)
    for name in LEDGER_FILES:
        assert (tmp_path / "out" / name).stat().st_mode & 0o777 == 0o644, name

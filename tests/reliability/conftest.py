"""Shared helpers of the reliability suite: the spine's miniature repository, CLI calls, a hard watchdog."""

from __future__ import annotations

import contextlib
import json
import os
import signal
from pathlib import Path
from typing import Iterator

os.environ.setdefault("OMP_NUM_THREADS", "1")  # two shared cores: never let numpy/torch fan out

from spine.conftest import CLAIMS, make_repo  # noqa: E402  (tests/ is on sys.path: tests/spine is a package)

from quantproof.cli import main  # noqa: E402

__all__ = ["CLAIMS", "ONE_JOB_CLAIMS", "make_repo", "run_cli", "ledger_of", "watchdog", "NO_LAKE_PATH"]

# The mini repository with its controls read from the same run (``output: mean``) instead of re-running the
# measurement: one measurement job in all, for the tests that count cache hits and misses.
ONE_JOB_CLAIMS = CLAIMS.replace('control: {label: "N(1, 1) draws", should: fail, params: {mu: 1.0}}',
                                'control: {label: "same run", should: fail, output: mean}').replace(
    'control: {label: "N(5, 1) draws (planted)", should: hold, params: {mu: 5.0}}',
    'control: {label: "same run", should: hold, output: mean}')
assert ONE_JOB_CLAIMS.count("output: mean}") == 2

NO_LAKE_PATH = "/usr/bin:/bin"  # PATH without a Lean toolchain (lake), as on the project's machines


def run_cli(repo: Path, *args: str) -> int:
    return main(["--repo", str(repo), *args])


def ledger_of(repo: Path, out: str = "ledger") -> dict:
    return json.loads((repo / out / "ledger.json").read_text())


class Hung(Exception):
    """Raised by :func:`watchdog` when the guarded code runs past its limit (a hang becomes a failure)."""


@contextlib.contextmanager
def watchdog(seconds: float) -> Iterator[None]:
    """Interrupt the main thread with :class:`Hung` after ``seconds`` (SIGALRM): a hang fails the test instead of
    stalling the suite. hypothesis's ``deadline`` only reports slow examples after they finish."""

    def fire(signum, frame):  # noqa: ARG001
        raise Hung(f"still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)

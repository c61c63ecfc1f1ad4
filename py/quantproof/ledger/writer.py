"""Publish a ledger: ``ledger.json``, ``LEDGER.md`` and ``index.html``, atomically, under a lock.

Policy:
1. Files are written to temporary names in the output folder and swapped in with ``os.replace``; an interrupted
   run leaves the previous ledger untouched.
2. A run holds ``<out>/.lock`` (an OS file lock) from start to finish: two runs on the same folder cannot interleave.
3. A partial run (``--claims``, ``--skip-*``) is written with ``"complete": false`` and says so at the top of the
   Markdown and HTML pages.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from filelock import FileLock, Timeout

from .build import dumps


class LedgerLocked(Exception):
    pass


@contextmanager
def output_lock(out_dir: Path, timeout_s: float = 0.0) -> Iterator[None]:
    out_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(out_dir / ".lock"))
    try:
        lock.acquire(timeout=timeout_s)
    except Timeout:
        raise LedgerLocked(f"another quantproof run is writing {out_dir} (it holds {out_dir / '.lock'}); "
                           "wait for it or use --out to write elsewhere") from None
    try:
        yield
    finally:
        lock.release()


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def render_markdown(ledger: dict[str, Any]) -> str:
    from .markdown import render_markdown as md

    return md(ledger)


def render_html(ledger: dict[str, Any], baseline: dict[str, Any] | None) -> str:
    from .html import render_html as html

    return html(ledger, baseline)


def write_ledger(ledger: dict[str, Any], out_dir: Path, baseline: dict[str, Any] | None = None) -> list[Path]:
    """Render all three files first (so a rendering bug publishes nothing), then swap them in."""
    texts = {
        "ledger.json": dumps(ledger),
        "LEDGER.md": render_markdown(ledger),
        "index.html": render_html(ledger, baseline),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in texts.items():
        p = out_dir / name
        _atomic_write(p, text)
        paths.append(p)
    return paths

"""Publish a ledger: ``ledger.json``, ``LEDGER.md`` and ``index.html``, atomically, under a lock.

Policy:
1. Files are written to temporary names in the output folder and swapped in with ``os.replace``; an interrupted
   run leaves the previous ledger untouched. All three are staged before the first rename, and an interrupt during
   the renames restores the old files: never a mixture of old and new.
2. A run holds ``<out>/.lock`` (an OS file lock) from start to finish: two runs on the same folder cannot interleave.
3. A partial run (``--claims``, ``--skip-*``) is written with ``"complete": false`` and says so at the top of the
   Markdown and HTML pages.
"""

from __future__ import annotations

import os
import shutil
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


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _stage(path: Path, text: str) -> Path:
    """Write ``text`` next to ``path`` under a temporary name (flushed to disk); the caller swaps it in."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; a published page is an ordinary file
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def _atomic_write(path: Path, text: str) -> None:
    tmp = _stage(path, text)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _swap_all(staged: dict[Path, Path]) -> None:
    """Rename every staged file over its target; if anything interrupts the renames, put the old files back, so
    the folder holds all the old files or all the new ones. (Only SIGKILL or a power cut between two renames, a
    window of microseconds, can leave a mixture.)"""
    backups: dict[Path, Path | None] = {}
    for target in staged:
        if target.exists():
            b = target.with_name(f".{target.name}.{os.getpid()}.bak")
            b.unlink(missing_ok=True)
            try:
                os.link(target, b)
            except OSError:
                shutil.copy2(target, b)
            backups[target] = b
        else:
            backups[target] = None
    done: list[Path] = []
    try:
        for target, tmp in staged.items():
            os.replace(tmp, target)
            done.append(target)
    except BaseException:
        for target in reversed(done):
            b = backups[target]
            if b is None:
                target.unlink(missing_ok=True)
            else:
                os.replace(b, target)
        raise
    finally:
        for b in backups.values():
            if b is not None:
                b.unlink(missing_ok=True)


def _remove_leftovers(out_dir: Path) -> None:
    """Temporary files of a run that was killed (SIGKILL) while writing; called under the output lock."""
    for name in ("ledger.json", "LEDGER.md", "index.html"):
        for p in out_dir.glob(f".{name}.*"):
            if p.suffix in (".tmp", ".bak"):
                p.unlink(missing_ok=True)


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
    _remove_leftovers(out_dir)
    staged: dict[Path, Path] = {}
    try:
        for name, text in texts.items():
            staged[out_dir / name] = _stage(out_dir / name, text)
        _swap_all(staged)
    finally:
        for tmp in staged.values():
            tmp.unlink(missing_ok=True)
    return list(staged)

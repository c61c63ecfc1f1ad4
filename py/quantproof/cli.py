"""``quantproof``: check claims, run the ledger, gate against a baseline.

Exit codes: 0 ok; 1 the gate failed or findings exist; 2 bad input (claims file, options); 3 a run was interrupted
or could not publish.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import sys
import threading
from pathlib import Path
from typing import Iterator

from .claims.loader import ClaimsFileError, load_claims
from .claims.validate import validate


def _repo(args: argparse.Namespace) -> Path:
    return Path(args.repo).resolve()


def _claims_path(args: argparse.Namespace) -> Path:
    p = Path(args.claims_file)
    return p if p.is_absolute() else _repo(args) / p


def _load_checked(args: argparse.Namespace):
    path = _claims_path(args)
    display = os.path.relpath(path, Path.cwd()) if path.is_relative_to(Path.cwd()) else str(path)
    cs = load_claims(path, display_name=display)
    report = validate(cs, _repo(args))
    return cs, report


def _load_or_report(args: argparse.Namespace, what: str):
    """(claims, report), or None after printing every input error as ``file:line: field: message``."""
    try:
        cs, report = _load_checked(args)
    except ClaimsFileError as exc:
        errors, head = exc.errors, "in the claims file"
    else:
        if not report.errors:
            return cs, report
        errors, head = report.errors, what
    print(f"{len(errors)} error(s) {head}:", file=sys.stderr)
    for e in errors:
        print(f"  {e}", file=sys.stderr)
    return None


def cmd_check(args: argparse.Namespace) -> int:
    loaded = _load_or_report(args, "in the claims' links")
    if loaded is None:
        return 2
    cs, report = loaded
    findings = report.lean.findings
    print(f"ok: {len(cs.claims)} claims; {len(report.lean.decls)} Lean declarations "
          f"({len(report.lean.default_modules)} modules in the default target); "
          f"{len(report.tests.all_tests)} tests, {sum(len(v) for v in report.tests.by_claim.values())} claim tags")
    if findings:
        print(f"{len(findings)} finding(s) in the Lean default target (static audit):")
        for f in findings:
            print(f"  {f}")
        return 1
    return 0


class _Bars:
    """Progress bars on stderr (tqdm), one per stage."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.bars: dict[str, object] = {}

    def __call__(self, stage: str, done: int, total: int, label: str) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        bar = self.bars.get(stage)
        if bar is None:
            bar = self.bars[stage] = tqdm(total=total, desc=f"{stage:12}", file=sys.stderr, leave=True,
                                          dynamic_ncols=True)
        bar.n = done
        bar.set_postfix_str(label[-50:], refresh=True)

    def close(self) -> None:
        for b in self.bars.values():
            b.close()


def cmd_run(args: argparse.Namespace) -> int:
    from .ledger.build import RunOptions, build_ledger
    from .ledger.provenance import resolve_device
    from .ledger.writer import LedgerLocked, output_lock, write_ledger

    loaded = _load_or_report(args, "in the claims' links; fix them first (quantproof check)")
    if loaded is None:
        return 2
    cs, _ = loaded
    try:
        device = resolve_device(args.device)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out_dir = Path(args.out)
    if not out_dir.is_absolute():
        out_dir = _repo(args) / out_dir
    bars = _Bars(not args.quiet and sys.stderr.isatty() or args.progress)
    opts = RunOptions(repo=_repo(args), claims=args.claims or None, device=device, dtype=args.dtype, seed=args.seed,
                      jobs=args.jobs, skip_measurements=args.skip_measurements, skip_tests=args.skip_tests,
                      skip_lean=args.skip_lean, test_report=Path(args.test_report) if args.test_report else None,
                      cache_dir=Path(args.cache_dir) if args.cache_dir else None, use_cache=not args.no_cache,
                      timeout_s=args.timeout, progress=bars)
    baseline = _read_json(args.baseline) if args.baseline else None
    try:
        with output_lock(out_dir), _sigterm_interrupts():
            ledger = build_ledger(cs, opts)
            paths = write_ledger(ledger, out_dir, baseline)
    except LedgerLocked as exc:
        bars.close()
        print(f"error: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        bars.close()
        print("interrupted: nothing was published; the previous ledger is intact", file=sys.stderr)
        return 3
    except ValueError as exc:
        bars.close()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    bars.close()
    s = ledger["summary"]["by_verdict"]
    print("verdicts: " + ", ".join(f"{k} {v}" for k, v in s.items() if v))
    for p in paths:
        print(f"wrote {os.path.relpath(p)}")
    return 0


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM (a CI job cancelled, ``kill PID``) stops a run like Ctrl-C: subprocesses are stopped, nothing is
    published. Python's default would end the process at once, leaving measurement and test processes behind."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):  # noqa: ARG001
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _read_json(path: str) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except OSError as exc:
        raise SystemExit(f"error: cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise SystemExit(f"error: {path} is not valid JSON: {exc}") from None


def cmd_gate(args: argparse.Namespace) -> int:
    from .ledger.gate import check_requirements, compare

    baseline = _read_json(args.baseline)
    ledger = _read_json(args.ledger)
    for name, d in (("baseline", baseline), ("ledger", ledger)):
        if d.get("schema") != "quantproof.ledger/1":
            print(f"error: {name} is not a quantproof.ledger/1 document", file=sys.stderr)
            return 2
    changes = compare(baseline, ledger)
    problems = check_requirements(ledger, args.require or [])
    for ch in changes:
        print(ch)
    for p in problems:
        print(f"REQUIRED   {p}")
    bad = [c for c in changes if c.bad]
    if not ledger.get("complete", True) and not args.allow_partial:
        print("GATE FAILED: the ledger is partial (a --claims or --skip-* run); gate a complete run")
        return 1
    if bad or problems:
        print(f"GATE FAILED: {len(bad)} regression(s), {len(problems)} unmet requirement(s)")
        return 1
    print(f"gate passed: {len(ledger.get('claims', []))} claims, {len(changes)} change(s), no regression")
    return 0


def cmd_baseline(args: argparse.Namespace) -> int:
    """Rewrite the committed baseline from a ledger, showing the diff: a deliberate, reviewed step."""
    from .ledger.gate import compare

    ledger = _read_json(args.ledger)
    if not ledger.get("complete", True):
        print("error: refusing to make a partial ledger the baseline", file=sys.stderr)
        return 2
    target = Path(args.baseline)
    if target.exists():
        for ch in compare(_read_json(str(target)), ledger):
            print(ch)
    if not args.yes:
        print("(dry run) re-run with --yes to rewrite", target)
        return 0
    tmp = target.with_suffix(".tmp")
    shutil.copyfile(args.ledger, tmp)
    os.replace(tmp, target)
    print(f"baseline updated: {target}")
    return 0


def cmd_lean_lock(args: argparse.Namespace) -> int:
    from .evidence.formal import scan_lean, write_lock

    loaded = _load_or_report(args, "in the claims' links")
    if loaded is None:
        return 2
    cs, report = loaded
    names = [l.decl for c in cs.claims for l in c.lean]
    pins = write_lock(_repo(args), names, report.lean)
    print(f"pinned {len(pins)} Lean statements in lean/statements.lock.json")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from .evidence.measurement import registry

    for name, spec in sorted(registry().items()):
        params = ", ".join(f"{p.name}: {p.type.__name__} = {p.default!r}" for p in spec.params.values())
        print(f"{name}({params}) -> {', '.join(sorted(spec.outputs))}  [{spec.device}]  {spec.description}")
    return 0


def cmd_strength(args: argparse.Namespace) -> int:
    from .evidence.strength.command import run, show

    if args.show is not None:
        return show(_repo(args), args.show)
    bars = _Bars(not args.quiet and sys.stderr.isatty() or args.progress)
    with _sigterm_interrupts():  # a cancelled job stops the worker and its forks, and writes nothing
        rc = run(_repo(args), out=args.out, check=args.check, strict=args.strict, full=args.full, jobs=args.jobs,
                 quiet=args.quiet, progress=bars)
    bars.close()
    return rc


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="quantproof", description=__doc__.split("\n")[0])
    ap.add_argument("--repo", default=".", help="repository root (default: .)")
    ap.add_argument("--claims-file", default="claims.yaml")
    sub = ap.add_subparsers(dest="cmd", required=True)

    sub.add_parser("check", help="validate claims.yaml and every link; static Lean audit")

    r = sub.add_parser("run", help="run all evidence and write the ledger")
    r.add_argument("--claims", nargs="*", help="only these claim ids (a partial ledger)")
    r.add_argument("--device", default="auto", help="auto | cpu | cuda (default auto)")
    r.add_argument("--dtype", default="float32")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--jobs", type=int, default=max(1, min(4, os.cpu_count() or 1)))
    r.add_argument("--skip-measurements", action="store_true")
    r.add_argument("--skip-tests", action="store_true")
    r.add_argument("--skip-lean", action="store_true", help="do not run lake even if it is on PATH")
    r.add_argument("--test-report", help="take test outcomes from this pytest plugin report instead of running pytest")
    r.add_argument("--cache-dir")
    r.add_argument("--no-cache", action="store_true")
    r.add_argument("--timeout", type=float, help="per-measurement time limit in seconds (default: each one's own)")
    r.add_argument("--out", default="ledger")
    r.add_argument("--baseline", help="show a diff against this ledger in index.html")
    r.add_argument("--quiet", action="store_true")
    r.add_argument("--progress", action="store_true", help="progress bars even when stderr is not a terminal")

    g = sub.add_parser("gate", help="fail when anything went backwards against a baseline")
    g.add_argument("--baseline", required=True)
    g.add_argument("--ledger", default="ledger/ledger.json")
    g.add_argument("--require", nargs="*", metavar="ID=LEVEL")
    g.add_argument("--allow-partial", action="store_true")

    b = sub.add_parser("baseline", help="rewrite the baseline from a ledger (shows the diff; --yes to write)")
    b.add_argument("--ledger", default="ledger/ledger.json")
    b.add_argument("--baseline", default="ledger/baseline.json")
    b.add_argument("--yes", action="store_true")

    sub.add_parser("lean-lock", help="pin the statement text of every claim-linked Lean declaration")
    sub.add_parser("measurements", help="list registered measurements")

    st = sub.add_parser("strength", help="mutation testing of the claim-tagged tests (writes ledger/strength.json)")
    st.add_argument("--check", action="store_true",
                    help="succeed at once when the committed report is current; else re-mutate what changed")
    st.add_argument("--strict", action="store_true", help="with --check: exit 1 when the committed report was stale")
    st.add_argument("--out", help="where to write the report (default: ledger/strength.json)")
    st.add_argument("--full", action="store_true", help="ignore cached results: re-mutate everything")
    st.add_argument("--jobs", type=int, default=max(1, min(2, os.cpu_count() or 1)))
    st.add_argument("--quiet", action="store_true")
    st.add_argument("--progress", action="store_true", help="progress bars even when stderr is not a terminal")
    st.add_argument("--show", nargs="*", metavar="CLAIM",
                    help="print these claims (all if none) of the committed report, survivors included; run nothing")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = {"check": cmd_check, "run": cmd_run, "gate": cmd_gate, "baseline": cmd_baseline,
               "lean-lock": cmd_lean_lock, "measurements": cmd_list,
               "strength": cmd_strength}[args.cmd]
    from .evidence.measurement import MeasurementRegistryError

    try:
        return handler(args)
    except ClaimsFileError as exc:
        for e in exc.errors:
            print(f"  {e}", file=sys.stderr)
        return 2
    except MeasurementRegistryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())

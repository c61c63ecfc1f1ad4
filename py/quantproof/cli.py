"""``quantproof``: check claims, run the ledger, gate against a baseline, explain a verdict, scaffold a claim.

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

PARTIAL_OUT = "build/partial"  # where a partial run (--claims, --skip-*) writes unless --out says otherwise


def _repo(args: argparse.Namespace) -> Path:
    return Path(args.repo).resolve()


def _in_repo(args: argparse.Namespace, path: str) -> Path:
    """A path given on the command line: absolute as it is, relative to the repository (--repo) otherwise."""
    p = Path(path)
    return p if p.is_absolute() else _repo(args) / p


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
    if getattr(args, "file", None):
        args.claims_file = args.file
    try:
        cs, report = _load_checked(args)
    except ClaimsFileError as exc:
        print(f"{len(exc.errors)} error(s) in the claims file:", file=sys.stderr)
        for e in exc.errors:
            print(f"  {e}", file=sys.stderr)
        return 2
    from .claims.coverage_cli import check_repo

    # the coverage map is checked even when a link is bad, so that one problem never hides another
    cov_errors, cov_line = check_repo(_repo(args), cs)
    for errors, head in ((report.errors, "in the claims' links"), (cov_errors, "in the source coverage map")):
        if errors:
            print(f"{len(errors)} error(s) {head}:", file=sys.stderr)
            for e in errors:
                print(f"  {e}", file=sys.stderr)
    if report.errors or cov_errors:
        return 2
    findings = report.lean.findings
    print(f"ok: {len(cs.claims)} claims; {len(report.lean.decls)} Lean declarations "
          f"({len(report.lean.default_modules)} modules in the default target); "
          f"{len(report.tests.all_tests)} tests, {sum(len(v) for v in report.tests.by_claim.values())} claim tags")
    print(cov_line)
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
    try:   # checkpoints of the seeds' models (or of substitutes), checked before any work
        from .capture.targets import BindingError, parse_bindings

        bindings = {b.name: b for b in parse_bindings(args.model or [], args.models)}
    except BindingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.executor != "local" or args.ray_address:
        from .evidence.executors import ExecutorUnavailable, make_executor

        try:
            make_executor(args.executor, args.ray_address)
        except ExecutorUnavailable as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    if args.of_seed:   # the claims of some seeds (by number: 000, 003, ...)
        args.claims = sorted(set(args.claims or []) | {c.id for c in cs.claims if c.seed[:3] in args.of_seed})
    partial = bool(args.claims or args.skip_measurements or args.skip_tests)
    out_dir = Path(args.out or (PARTIAL_OUT if partial else "ledger"))
    if not out_dir.is_absolute():
        out_dir = _repo(args) / out_dir
    if partial and args.out is None:
        print(f"partial run: writing {os.path.relpath(out_dir)} (the committed ledger/ changes only on a full run or "
              f"with --out ledger)", file=sys.stderr)
    bars = _Bars(not args.quiet and sys.stderr.isatty() or args.progress)
    opts = RunOptions(repo=_repo(args), claims=args.claims or None, device=device, dtype=args.dtype, seed=args.seed,
                      jobs=args.jobs, skip_measurements=args.skip_measurements, skip_tests=args.skip_tests,
                      skip_lean=args.skip_lean, test_report=Path(args.test_report) if args.test_report else None,
                      cache_dir=Path(args.cache_dir) if args.cache_dir else None, use_cache=not args.no_cache,
                      timeout_s=args.timeout, progress=bars, bindings=bindings, executor=args.executor,
                      ray_address=args.ray_address)
    baseline = _read_json(str(_in_repo(args, args.baseline))) if args.baseline else None
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
    from .ledger.gate import REGRESSION, check_requirements, compare

    baseline = _read_json(str(_in_repo(args, args.baseline)))
    ledger = _read_json(str(_in_repo(args, args.ledger) if args.ledger else _default_ledger(args)))
    for name, d in (("baseline", baseline), ("ledger", ledger)):
        if d.get("schema") != "quantproof.ledger/1":
            print(f"error: {name} is not a quantproof.ledger/1 document", file=sys.stderr)
            return 2
    changes = compare(baseline, ledger)
    problems = check_requirements(ledger, args.require or [])
    partial = not ledger.get("complete", True)
    for ch in changes:
        if not (partial and ch.what == "claim" and ch.new.startswith("not judged")):
            print(ch)
    for p in problems:
        print(f"REQUIRED   {p}")
    judged = len(ledger.get("claims", []))
    if partial:
        skipped = sorted({c["id"] for c in baseline.get("claims", [])} - {c["id"] for c in ledger.get("claims", [])})
        print(f"partial ledger: gated on the {judged} claim(s) it holds; not judged: {len(skipped)} baseline "
              f"claim(s)" + (f" ({', '.join(skipped[:8])}{', …' if len(skipped) > 8 else ''})" if skipped else ""))
    bad = [c for c in changes if c.bad]
    if bad or problems:
        regressions = sum(1 for c in bad if c.kind == REGRESSION)
        print(f"GATE FAILED: {regressions} regression(s), {len(bad) - regressions} change(s) to review, "
              f"{len(problems)} unmet requirement(s) (a reviewed change is accepted with scripts/update_baseline.sh)")
        return 1
    print(f"gate passed: {judged} claims, {len(changes)} change(s), none to review")
    return 0


def _default_ledger(args: argparse.Namespace) -> Path:
    """The ledger a command reads when none is named: the newest of the committed ledger and the partial one."""
    repo = _repo(args)
    cands = [p for p in (repo / "ledger" / "ledger.json", repo / PARTIAL_OUT / "ledger.json") if p.is_file()]
    return max(cands, key=lambda p: p.stat().st_mtime) if cands else repo / "ledger" / "ledger.json"


def cmd_explain(args: argparse.Namespace) -> int:
    from .ledger.explain import explain

    path = _in_repo(args, args.ledger) if args.ledger else _default_ledger(args)
    ledger = _read_json(str(path))
    claims = {c["id"]: c for c in ledger.get("claims", [])}
    missing = [cid for cid in args.ids if cid not in claims]
    if missing:
        print(f"error: {', '.join(missing)} not in {os.path.relpath(path)} (run the claim first: "
              f"quantproof run --claims {' '.join(missing)})", file=sys.stderr)
        return 2
    print(f"(from {os.path.relpath(path)})")
    for cid in args.ids:
        print(explain(claims[cid]))
    return 0


def cmd_new_claim(args: argparse.Namespace) -> int:
    """Append a scaffolded claim to the claims file (quote checked against the seed), and on request a test file
    and a measurement module stub. Nothing is written when an input is wrong."""
    import re

    from .claims.loader import ID_RE
    from .claims.model import KINDS
    from .claims.scaffold import claim_entry, measurement_module, test_function_name, test_module
    from .claims.validate import SEEDS_DIR

    repo = _repo(args)
    problems = []
    if not ID_RE.match(args.id):
        problems.append(f"--id {args.id!r}: must match [A-Za-z0-9][A-Za-z0-9_]*")
    if args.kind not in KINDS:
        problems.append(f"--kind {args.kind!r}: one of {', '.join(KINDS)}")
    seed = repo / SEEDS_DIR / args.seed
    if "/" in args.seed or not seed.is_file():
        problems.append(f"--seed {args.seed!r}: no file {SEEDS_DIR}/{args.seed}")
    else:
        norm = lambda t: re.sub(r"\s+", " ", t).strip()  # noqa: E731
        if norm(args.quote) not in norm(seed.read_text(encoding="utf-8", errors="replace")):
            problems.append(f"--quote: not found verbatim in {SEEDS_DIR}/{args.seed}")
    if args.measurement and not re.match(r"^[a-z][a-z0-9_]{0,60}$", args.measurement):
        problems.append(f"--measurement {args.measurement!r}: a lower-case identifier")
    claims_path = _claims_path(args)
    try:
        existing = load_claims(claims_path).by_id()
    except ClaimsFileError as exc:
        problems.append(f"{claims_path}: does not load ({exc.errors[0]})")
        existing = {}
    if args.id in existing:
        problems.append(f"--id {args.id!r}: already a claim (line {existing[args.id].where.line})")
    test_rel = f"tests/claims/test_{args.id.lower()}.py" if args.test else None
    meas_rel = f"py/quantproof/measurements/{args.measurement}.py" if args.measurement else None
    for rel in filter(None, (test_rel, meas_rel)):
        if (repo / rel).exists():
            problems.append(f"{rel} exists already")
    if problems:
        for p in problems:
            print(f"error: {p}", file=sys.stderr)
        return 2
    func = test_function_name(args.id)
    entry = claim_entry(args.id, args.seed, args.quote, args.kind,
                        test_id=f"{test_rel}::{func}" if test_rel else None, measurement=args.measurement)
    text = claims_path.read_text(encoding="utf-8")
    claims_path.write_text(text + ("" if text.endswith("\n") else "\n") + "\n" + entry, encoding="utf-8")
    print(f"added claim {args.id} to {os.path.relpath(claims_path)}")
    if test_rel:
        (repo / test_rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / test_rel).write_text(test_module(args.id, func), encoding="utf-8")
        print(f"wrote {test_rel} (a skipped test: write the property)")
    if meas_rel:
        (repo / meas_rel).write_text(measurement_module(args.measurement, args.id), encoding="utf-8")
        print(f"wrote {meas_rel} (not run until written)")
    print(f"next: fill in the TODOs, then `quantproof check` and `quantproof run --claims {args.id}`, "
          f"`quantproof explain {args.id}`, `quantproof gate --baseline ledger/baseline.json`")
    return 0


def cmd_baseline(args: argparse.Namespace) -> int:
    """Rewrite the committed baseline from a ledger, showing the diff: a deliberate, reviewed step."""
    from .ledger.gate import compare

    ledger_path = _in_repo(args, args.ledger)
    ledger = _read_json(str(ledger_path))
    if not ledger.get("complete", True):
        print("error: refusing to make a partial ledger the baseline", file=sys.stderr)
        return 2
    target = _in_repo(args, args.baseline)
    if target.exists():
        for ch in compare(_read_json(str(target)), ledger):
            print(ch)
    if not args.yes:
        print("(dry run) re-run with --yes to rewrite", target)
        return 0
    tmp = target.with_suffix(".tmp")
    shutil.copyfile(ledger_path, tmp)
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


def cmd_api_docs(args: argparse.Namespace) -> int:
    from .apidocs import build

    try:
        paths = build(_in_repo(args, args.out), _repo(args))
    except ImportError as exc:
        print(f"error: the API reference needs pdoc (pip install pdoc): {exc}", file=sys.stderr)
        return 2
    for p in paths:
        print(f"wrote {os.path.relpath(p)}")
    return 0


def cmd_coverage(args: argparse.Namespace) -> int:
    from .claims.coverage_cli import print_coverage

    return print_coverage(_repo(args), seed=args.seed, gaps_only=args.gaps)


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

    c = sub.add_parser("check", help="validate claims.yaml (or FILE) and every link; static Lean audit")
    c.add_argument("file", nargs="?", help="a claims file (default: --claims-file, claims.yaml)")

    r = sub.add_parser("run", help="run all evidence and write the ledger")
    r.add_argument("--claims", nargs="*", help="only these claim ids (a partial ledger)")
    r.add_argument("--of-seed", nargs="*", metavar="NNN", help="only the claims of these seeds (000 … 004)")
    r.add_argument("--device", default="auto", help="auto | cpu | cuda (default auto)")
    r.add_argument("--dtype", default="float32",
                   help="float32 | bfloat16 | float16 | auto (auto: as the checkpoint stores it on a GPU, float32 on "
                        "the CPU); statistics are computed in float32/float64 either way")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--jobs", type=int, default=max(1, min(4, os.cpu_count() or 1)))
    r.add_argument("--skip-measurements", action="store_true")
    r.add_argument("--skip-tests", action="store_true")
    r.add_argument("--skip-lean", action="store_true", help="do not run lake even if it is on PATH")
    r.add_argument("--test-report", help="take test outcomes from this pytest plugin report instead of running pytest")
    r.add_argument("--cache-dir")
    r.add_argument("--no-cache", action="store_true")
    r.add_argument("--timeout", type=float, help="per-measurement time limit in seconds (default: each one's own)")
    r.add_argument("--model", action="append", metavar="NAME=PATH",
                   help="bind a seed's model (a target, e.g. qwen2.5-0.5b) or a substitute (smollm2, minilm) to a "
                        "local checkpoint: a directory with config.json + *.safetensors, or a .gguf file "
                        "(repeatable)")
    r.add_argument("--models", metavar="FILE", help="a YAML file mapping model names to checkpoint paths")
    r.add_argument("--executor", default="local", choices=("local", "ray"),
                   help="where measurement jobs run: local processes (default) or a Ray cluster")
    r.add_argument("--ray-address", help="address of a running Ray cluster (default: start a local one)")
    r.add_argument("--out", default=None,
                   help=f"output folder (default: ledger for a full run, {PARTIAL_OUT} for a partial one)")
    r.add_argument("--baseline", help="show a diff against this ledger in index.html")
    r.add_argument("--quiet", action="store_true")
    r.add_argument("--progress", action="store_true", help="progress bars even when stderr is not a terminal")

    g = sub.add_parser("gate", help="fail when anything went backwards against a baseline")
    g.add_argument("--baseline", required=True)
    g.add_argument("--ledger", default=None,
                   help=f"the ledger to gate (default: the newer of ledger/ledger.json and {PARTIAL_OUT}/ledger.json);"
                        " a partial ledger is gated on the claims it holds")
    g.add_argument("--require", nargs="*", metavar="ID=LEVEL")

    e = sub.add_parser("explain", help="why a claim got its verdict: every piece of evidence with its numbers")
    e.add_argument("ids", nargs="+", metavar="ID")
    e.add_argument("--ledger", default=None, help="default: the newer of ledger/ and the partial run's ledger")

    n = sub.add_parser("new-claim", help="scaffold a claim from a seed quote (and a test / measurement stub)")
    n.add_argument("--id", required=True)
    n.add_argument("--seed", required=True, help="a file in seeds/")
    n.add_argument("--quote", required=True, help="verbatim from the seed")
    n.add_argument("--kind", default="empirical")
    n.add_argument("--test", action="store_true", help="also write tests/claims/test_<id>.py (a skipped stub)")
    n.add_argument("--measurement", metavar="NAME", help="also write a measurement module stub NAME")

    b = sub.add_parser("baseline", help="rewrite the baseline from a ledger (shows the diff; --yes to write)")
    b.add_argument("--ledger", default="ledger/ledger.json")
    b.add_argument("--baseline", default="ledger/baseline.json")
    b.add_argument("--yes", action="store_true")

    cv = sub.add_parser("coverage", help="source coverage per seed; --seed FILE lists its units and their ids")
    cv.add_argument("--seed", help="a seed file name (seeds/NAME): list its units")
    cv.add_argument("--gaps", action="store_true", help="with --seed: only units that are unmapped or need a claim")

    sub.add_parser("lean-lock", help="pin the statement text of every claim-linked Lean declaration")
    sub.add_parser("measurements", help="list registered measurements")
    a = sub.add_parser("api-docs", help="API reference (pdoc) and docs/MEASUREMENTS.md from the docstrings")
    a.add_argument("--out", default="build/api")

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
               "lean-lock": cmd_lean_lock, "measurements": cmd_list, "explain": cmd_explain,
               "new-claim": cmd_new_claim, "api-docs": cmd_api_docs, "coverage": cmd_coverage,
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

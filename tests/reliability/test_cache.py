"""The measurement cache: an entry is served only when it is intact and current.

Bad JSON, a truncated file, a wrong checksum, a value edited under a stale checksum, an entry filed under another
key, a structurally wrong entry, a changed or missing input file: each is recomputed, never served (the ledger shows
a miss and the true value). The package's code hash is part of the key. A cache folder that cannot be written
never sinks the run.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from quantproof.evidence import runner_measure as R
from quantproof.ledger import build

from .conftest import NO_LAKE_PATH, ONE_JOB_CLAIMS, ledger_of, make_repo, run_cli


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_repo(tmp_path_factory.mktemp("cache") / "repo", claims=ONE_JOB_CLAIMS)


@pytest.fixture(autouse=True)
def _no_lake(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", NO_LAKE_PATH)


def run(repo: Path, cache: Path, out: Path) -> dict:
    assert run_cli(repo, "run", "--quiet", "--skip-tests", "--device", "cpu", "--jobs", "1",
                   "--cache-dir", str(cache), "--out", str(out)) == 0
    return ledger_of(out.parent, out.name)


def counts(led: dict) -> dict:
    return {k: led["run"]["cache"][k] for k in ("hits", "misses")}


def estimate(led: dict) -> float:
    c = next(c for c in led["claims"] if c["id"] == "mean_zero")
    return c["measurements"][0]["estimate"]["value"]


@pytest.fixture(scope="module")
def warm(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """A cache holding the one measurement of the mini repository, and the ledger that computed it."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PATH", NO_LAKE_PATH)
        d = tmp_path_factory.mktemp("warm")
        led = run(repo, d / "cache", d / "out")
    assert counts(led) == {"hits": 0, "misses": 1}
    return d / "cache", led


@pytest.fixture
def cache(warm: tuple[Path, dict], tmp_path: Path) -> Path:
    c = tmp_path / "cache"
    shutil.copytree(warm[0], c)
    return c


def entry_path(cache: Path) -> Path:
    (p,) = (cache / "measurements").glob("*.json")
    return p


def rewrite(cache: Path, edit, *, reseal: bool) -> None:
    p = entry_path(cache)
    e = json.loads(p.read_text())
    edit(e)
    if reseal:
        e["checksum"] = R._checksum(e)
    p.write_text(json.dumps(e, sort_keys=True))


def test_an_intact_entry_is_served(repo: Path, cache: Path, warm: tuple[Path, dict], tmp_path: Path) -> None:
    led = run(repo, cache, tmp_path / "out")
    assert counts(led) == {"hits": 1, "misses": 0}
    assert estimate(led) == estimate(warm[1])


def _set_value(e: dict) -> None:
    e["result"]["outputs"]["mean"]["value"] = 42.0


CORRUPTIONS = {
    "bad JSON": lambda p: p.write_text("{not json"),
    "truncated file": lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]),
    "empty file": lambda p: p.write_bytes(b""),
    "binary garbage": lambda p: p.write_bytes(b"\x00\xff" * 100),
    "a JSON list": lambda p: p.write_text("[1, 2, 3]"),
    "wrong checksum": lambda p: p.write_text(p.read_text().replace('"checksum": "', '"checksum": "0')),
    "edited value under a stale checksum": lambda p: rewrite(p.parent.parent, _set_value, reseal=False),
    "entry filed under another key": lambda p: rewrite(p.parent.parent, lambda e: e.update(key="0" * 64),
                                                       reseal=True),
    "another cache schema": lambda p: rewrite(p.parent.parent, lambda e: e.update(schema="quantproof.cache/0"),
                                              reseal=True),
    "no result (sealed)": lambda p: rewrite(p.parent.parent, lambda e: e.pop("result"), reseal=True),
    "outputs not a mapping (sealed)": lambda p: rewrite(p.parent.parent,
                                                        lambda e: e["result"].update(outputs=[1]), reseal=True),
    "non-finite value (sealed)": lambda p: rewrite(p.parent.parent, lambda e: e["result"]["outputs"]["mean"].update(
        value="nan"), reseal=True),
    "provenance not a mapping (sealed)": lambda p: rewrite(p.parent.parent, lambda e: e.update(provenance=None),
                                                           reseal=True),
}


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_a_corrupted_entry_is_recomputed_never_served(repo: Path, cache: Path, warm: tuple[Path, dict],
                                                      tmp_path: Path, corruption: str) -> None:
    CORRUPTIONS[corruption](entry_path(cache))
    led = run(repo, cache, tmp_path / "out")
    assert counts(led) == {"hits": 0, "misses": 1}, corruption
    assert estimate(led) == estimate(warm[1])
    # and the entry was rewritten intact
    key = entry_path(cache).stem
    assert R.cache_read(cache, key) is not None


def test_a_changed_or_missing_input_file_invalidates_the_entry(repo: Path, cache: Path, tmp_path: Path) -> None:
    model = tmp_path / "model.bin"
    model.write_bytes(b"weights v1")
    # as if the measurement had read model.bin through ctx.use_file
    rewrite(cache, lambda e: e.update(inputs={str(model): R.file_sha256(model)}), reseal=True)
    assert run(repo, cache, tmp_path / "a")["run"]["cache"]["hits"] == 1

    rewrite(cache, lambda e: e.update(inputs={str(model): R.file_sha256(model)}), reseal=True)
    model.write_bytes(b"weights v2, retrained")
    assert counts(run(repo, cache, tmp_path / "b")) == {"hits": 0, "misses": 1}

    rewrite(cache, lambda e: e.update(inputs={str(model): R.file_sha256(model)}), reseal=True)
    model.unlink()
    assert counts(run(repo, cache, tmp_path / "c")) == {"hits": 0, "misses": 1}


def test_the_code_hash_is_part_of_the_key(repo: Path, cache: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(build, "code_hash", lambda **kw: "f" * 64)
    led = run(repo, cache, tmp_path / "out")
    assert counts(led) == {"hits": 0, "misses": 1}
    assert len(list((cache / "measurements").glob("*.json"))) == 2  # the old entry is never reused


def test_code_hash_follows_every_source_change(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "a.py").write_text("x = 1\n")
    (pkg / "sub" / "b.py").write_text("y = 2\n")
    seen = {R.code_hash(pkg)}
    (pkg / "a.py").write_text("x = 2\n")  # an edit
    seen.add(R.code_hash(pkg))
    (pkg / "sub" / "c.py").write_text("")  # a new module
    seen.add(R.code_hash(pkg))
    (pkg / "sub" / "c.py").rename(pkg / "c.py")  # a move
    seen.add(R.code_hash(pkg))
    assert len(seen) == 4
    assert R.code_hash(pkg) == R.code_hash(pkg)


@pytest.mark.parametrize("field, value", [("name", "selftest_fault"), ("params", {"mu": 0.5}), ("device", "cuda"),
                                          ("dtype", "float64"), ("seed", 1), ("code", "0" * 64)])
def test_every_input_of_a_measurement_is_in_its_key(field: str, value: object) -> None:
    base = {"name": "selftest_normal_mean", "params": {"mu": 0.0}, "device": "cpu", "dtype": "float32", "seed": 0,
            "code": "f" * 64}
    changed = dict(base, **{field: value})
    key = lambda d: R.job_key(d["name"], d["params"], d["device"], d["dtype"], d["seed"], d["code"])  # noqa: E731
    assert key(base) != key(changed)


def test_an_unwritable_cache_never_sinks_the_run(repo: Path, tmp_path: Path, warm: tuple[Path, dict]) -> None:
    blocker = tmp_path / "cache-is-a-file"
    blocker.write_text("not a folder")
    with pytest.warns(RuntimeWarning, match="measurement cache not written"):
        led = run(repo, blocker, tmp_path / "out")
    assert estimate(led) == estimate(warm[1])
    verdict = lambda d: next(c for c in d["claims"] if c["id"] == "mean_zero")["verdict"]  # noqa: E731
    assert verdict(led) == verdict(warm[1])

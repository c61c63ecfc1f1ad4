"""Same inputs, seeds and device give the same ledger.

``ledger.json`` is byte-identical apart from its ``run`` section (timestamps, durations, cache hits) whether the
measurements were computed fresh (``--no-cache``), served from the cache, or run with a different ``--jobs``;
``LEDGER.md`` is byte-identical; ``index.html`` is a pure function of the ledger (it shows the run section, so two
runs' pages differ exactly by what their ``run`` sections hold).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from quantproof.ledger import writer
from quantproof.ledger.build import dumps

from .conftest import NO_LAKE_PATH, make_repo, run_cli

HTML = (Path(writer.__file__).parent / "html.py").exists()


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same mini repository run three ways: fresh and parallel, fresh and serial, and served from the cache."""
    root = tmp_path_factory.mktemp("determinism")
    repo = make_repo(root / "repo")
    cache = root / "cache"
    outs = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PATH", NO_LAKE_PATH)
        for name, extra in (("fresh", ["--jobs", "2", "--cache-dir", str(cache)]),
                            ("no-cache", ["--jobs", "1", "--no-cache"]),
                            ("cached", ["--jobs", "2", "--cache-dir", str(cache)])):
            outs[name] = root / name
            assert run_cli(repo, "run", "--quiet", "--device", "cpu", "--seed", "0", "--out", str(outs[name]),
                           *extra) == 0
    return outs


def ledger(out: Path) -> dict:
    return json.loads((out / "ledger.json").read_text(encoding="utf-8"))


def test_the_runs_really_differ_in_how_they_got_their_numbers(runs: dict[str, Path]) -> None:
    def counts(out):
        return {k: ledger(out)["run"]["cache"][k] for k in ("hits", "misses")}

    jobs = 3  # the mini repository's measurement and its two controls
    assert counts(runs["fresh"]) == {"hits": 0, "misses": jobs}
    assert counts(runs["no-cache"]) == {"hits": 0, "misses": jobs}
    assert counts(runs["cached"]) == {"hits": jobs, "misses": 0}


def test_ledger_json_is_canonical(runs: dict[str, Path]) -> None:
    """The file is exactly ``dumps`` of its content, so comparing contents compares bytes."""
    for out in runs.values():
        assert (out / "ledger.json").read_text(encoding="utf-8") == dumps(ledger(out))


@pytest.mark.parametrize("other", ["no-cache", "cached"])
def test_ledger_json_is_byte_identical_apart_from_run(runs: dict[str, Path], other: str) -> None:
    a, b = ledger(runs["fresh"]), ledger(runs[other])
    a.pop("run"), b.pop("run")
    assert dumps(a) == dumps(b)


@pytest.mark.parametrize("other", ["no-cache", "cached"])
def test_ledger_md_is_byte_identical(runs: dict[str, Path], other: str) -> None:
    assert (runs["fresh"] / "LEDGER.md").read_bytes() == (runs[other] / "LEDGER.md").read_bytes()


@pytest.mark.skipif(not HTML, reason="py/quantproof/ledger/html.py does not exist yet")
@pytest.mark.parametrize("other", ["no-cache", "cached"])
def test_index_html_differs_only_by_the_run_section(runs: dict[str, Path], other: str) -> None:
    a, b = ledger(runs["fresh"]), ledger(runs[other])
    swapped = dict(a, run=b["run"])
    assert writer.render_html(swapped, None) == (runs[other] / "index.html").read_text(encoding="utf-8")


@pytest.mark.skipif(not HTML, reason="py/quantproof/ledger/html.py does not exist yet")
def test_index_html_is_a_pure_function_of_the_ledger(runs: dict[str, Path]) -> None:
    led = ledger(runs["fresh"])
    first = writer.render_html(led, None)
    assert writer.render_html(json.loads(json.dumps(led)), None) == first
    assert (runs["fresh"] / "index.html").read_text(encoding="utf-8") == first


def test_a_different_seed_changes_the_measured_numbers(runs: dict[str, Path], tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The control: the comparison above would be vacuous if the seed were ignored."""
    monkeypatch.setenv("PATH", NO_LAKE_PATH)
    repo = runs["fresh"].parent / "repo"
    assert run_cli(repo, "run", "--quiet", "--skip-tests", "--device", "cpu", "--seed", "1", "--no-cache",
                   "--out", str(tmp_path / "s1")) == 0

    def mean(led: dict) -> float:
        return next(c for c in led["claims"] if c["id"] == "mean_zero")["measurements"][0]["estimate"]["value"]

    s1 = ledger(tmp_path / "s1")
    assert mean(s1) != mean(ledger(runs["fresh"]))
    assert s1["provenance"]["seed"] == 1

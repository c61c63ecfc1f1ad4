"""Faults in evidence: measurements that raise, hang, return NaN/Inf, kill their process or cannot run; test files
that hang or kill the interpreter; GPU-only work on a CPU machine; broken model files and missing packages.

One ledger run over a miniature repository holds every fault at once: the run completes, each faulty claim is
marked with a reason, and the healthy claims are judged as if nothing had happened.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import time
from pathlib import Path

import pytest

from quantproof.claims.loader import load_claims
from quantproof.evidence.measurement import MeasurementUnavailable
from quantproof.ledger.build import RunOptions, build_ledger, dumps

from .conftest import CLAIMS, NO_LAKE_PATH, ledger_of, make_repo, run_cli

QUOTE = "The mean is five."
MODES = ("raise", "hang", "nan", "inf", "crash", "unavailable", "ok")
MEAS_TIMEOUT_S = 6.0  # the hang is cut here; generous for the healthy jobs on two busy cores
TEST_TIMEOUT_S = 5.0


def _claim(cid: str, body: str) -> str:
    return (f"  - id: {cid}\n    title: {cid}\n    source: {{seed: toy.txt, quote: \"{QUOTE}\"}}\n"
            f"    kind: empirical\n    statement: {cid}.\n    scope: universal\n{body}")


def _meas(name: str, params: str = "{}") -> str:
    return (f"    measurements:\n      - name: {name}\n        params: {params}\n        output: value\n"
            f"        role: asserts\n        expect: {{value: 1.0, tol: 0.01}}\n")


FAULT_CLAIMS = CLAIMS + "".join(_claim(f"fault_{m}", _meas("selftest_fault", f"{{mode: {m}}}")) for m in MODES) + \
    _claim("gpu_only", _meas("selftest_cuda_only")) + \
    _claim("hangs_in_tests", "    tests:\n      - tests/test_hang.py::test_never_returns\n") + \
    _claim("crashes_in_tests", "    tests:\n      - tests/test_crash.py::test_kills_the_interpreter\n")

FAULT_TESTS = {
    "test_hang.py": '''\
import time
import pytest


@pytest.mark.claim("hangs_in_tests")
def test_never_returns():
    time.sleep(3600)
''',
    "test_crash.py": '''\
import os
import pytest


@pytest.mark.claim("crashes_in_tests")
def test_kills_the_interpreter():
    os._exit(1)  # exit code 1, like "some tests failed", but no report: must not pass for a normal run
''',
}


@pytest.fixture(scope="module")
def fault_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = make_repo(tmp_path_factory.mktemp("faults") / "repo", claims=FAULT_CLAIMS)
    for name, src in FAULT_TESTS.items():
        (repo / "tests" / name).write_text(src)
    return repo


def _ray_or_skip() -> None:
    if importlib.util.find_spec("ray") is None:
        pytest.skip("ray is not importable: the Ray executor is an optional extra (pip install 'quantproof[ray]')")


@pytest.fixture(scope="module", params=["local", "ray"])
def fault_ledger(request: pytest.FixtureRequest, fault_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The same faults on each executor: local processes, and tasks on a local two-core Ray cluster."""
    if request.param == "ray":
        _ray_or_skip()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PATH", NO_LAKE_PATH)
        assert run_cli(fault_repo, "check") == 0
        cs = load_claims(fault_repo / "claims.yaml")
        opts = RunOptions(repo=fault_repo, device="cpu", jobs=2, timeout_s=MEAS_TIMEOUT_S,
                          test_timeout_s=TEST_TIMEOUT_S, cache_dir=tmp_path_factory.mktemp("cache"), use_cache=False,
                          executor=request.param)
        t0 = time.monotonic()
        try:
            ledger = build_ledger(cs, opts)
        finally:
            if request.param == "ray":
                import ray

                ray.shutdown()
        ledger["_wall_s"] = time.monotonic() - t0
    return ledger


def claims_of(ledger: dict) -> dict[str, dict]:
    return {c["id"]: c for c in ledger["claims"]}


def only_measurement(ledger: dict, cid: str) -> dict:
    (m,) = claims_of(ledger)[cid]["measurements"]
    return m


def test_the_run_completes_and_every_claim_is_judged(fault_ledger: dict) -> None:
    ids = [c["id"] for c in fault_ledger["claims"]]
    assert len(ids) == 4 + len(MODES) + 3
    assert fault_ledger["complete"] is True
    # both time limits were applied in parallel with the rest, not one after another (a Ray cluster's start
    # counts too)
    assert fault_ledger["_wall_s"] < TEST_TIMEOUT_S + MEAS_TIMEOUT_S + 60


def test_ray_results_equal_local_results(tmp_path_factory: pytest.TempPathFactory, fault_repo: Path) -> None:
    """Byte-identical results cache and ledger (apart from its run section) from either executor."""
    _ray_or_skip()
    import ray

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PATH", NO_LAKE_PATH)
        cs = load_claims(fault_repo / "claims.yaml")
        sel = ["mean_zero", "mean_five", "one_plus_one", "fault_ok", "fault_raise", "fault_nan"]
        out = {}
        for ex in ("local", "ray"):
            cache = tmp_path_factory.mktemp(f"cache-{ex}")
            opts = RunOptions(repo=fault_repo, claims=sel, device="cpu", jobs=2, timeout_s=MEAS_TIMEOUT_S,
                              skip_tests=True, cache_dir=cache, executor=ex)
            try:
                led = build_ledger(cs, opts)
            finally:
                ray.shutdown()
            led.pop("run")
            entries = {p.name: p.read_bytes() for p in sorted((cache / "measurements").glob("*.json"))}
            out[ex] = (dumps(led), entries)
    assert out["ray"][0] == out["local"][0]
    assert out["ray"][1] == out["local"][1] and out["ray"][1]


def test_a_dead_ray_worker_marks_only_its_job(tmp_path: Path) -> None:
    """A worker that dies (here: the task's process exits) is its own job's error; the other jobs complete."""
    _ray_or_skip()
    import ray

    from quantproof.evidence.executors import RayExecutor, ray_task
    from quantproof.evidence.runner_measure import Job, run_jobs

    def dying(name, params, ctx_fields, limit):
        import os

        if params.get("mu") == 3.0:
            os._exit(7)
        return ray_task(name, params, ctx_fields, limit)

    jobs = [Job("selftest_normal_mean", {"mu": mu, "n": 100}, f"k{mu}") for mu in (1.0, 3.0, 5.0)]
    try:
        out = run_jobs(jobs, device="cpu", dtype="float32", seed=0, cache_dir=tmp_path, n_parallel=2,
                       timeout_s=60, use_cache=False, executor=RayExecutor(num_cpus=2, task=dying))
    finally:
        ray.shutdown()
    assert out["k3.0"].status == "error" and "Ray worker died" in out["k3.0"].reason, out["k3.0"]
    assert out["k1.0"].status == "ok" and out["k5.0"].status == "ok"


def test_executor_options_are_checked(fault_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(fault_repo, "run", "--quiet", "--ray-address", "127.0.0.1:1", "--out", str(tmp_path / "o")) == 2
    assert "--ray-address goes with --executor ray" in capsys.readouterr().err


def test_healthy_claims_are_judged_as_usual(fault_ledger: dict) -> None:
    c = claims_of(fault_ledger)
    assert c["one_plus_one"]["verdict"] == "supported"
    assert c["squares_negative"]["verdict"] == "refuted"
    assert c["mean_zero"]["verdict"] == "supported"
    assert c["mean_five"]["verdict"] == "not-reproduced"
    assert c["fault_ok"]["verdict"] == "supported"
    assert only_measurement(fault_ledger, "fault_ok")["outcome"] == "consistent"


@pytest.mark.parametrize("mode, reason", [
    ("raise", "RuntimeError: deliberate failure"),
    ("hang", f"timed out after {MEAS_TIMEOUT_S:.0f} s"),
    ("nan", "non-finite"),
    ("inf", "non-finite"),
    ("crash", "measurement process died (exit code 139)"),
])
def test_a_faulty_measurement_is_an_error_with_its_reason(fault_ledger: dict, mode: str, reason: str) -> None:
    m = only_measurement(fault_ledger, f"fault_{mode}")
    assert m["outcome"] == "error"
    assert reason in (m["reason"] or ""), m["reason"]
    assert m["estimate"] is None
    c = claims_of(fault_ledger)[f"fault_{mode}"]
    assert c["verdict"] == "error", c["reason"]


def test_an_unavailable_measurement_is_not_run_with_what_to_install(fault_ledger: dict) -> None:
    m = only_measurement(fault_ledger, "fault_unavailable")
    assert m["outcome"] == "not-run"
    assert m["reason"].startswith("not run: ") and "pip install nothing-here" in m["reason"]
    assert claims_of(fault_ledger)["fault_unavailable"]["verdict"] == "unchecked"


def test_gpu_only_measurement_on_cpu_is_not_run_never_a_pass(fault_ledger: dict) -> None:
    m = only_measurement(fault_ledger, "gpu_only")
    assert m["outcome"] == "not-run"
    assert m["reason"].startswith("not run: needs GPU")
    assert claims_of(fault_ledger)["gpu_only"]["verdict"] == "unchecked"


def test_a_hanging_test_file_marks_only_its_claims(fault_ledger: dict) -> None:
    c = claims_of(fault_ledger)["hangs_in_tests"]
    (item,) = c["tests"]["items"]
    assert item["outcome"] == "not-run" and f"timed out after {TEST_TIMEOUT_S:.0f} s" in item["message"]
    assert c["verdict"] == "error"


def test_a_test_file_that_kills_the_interpreter_marks_only_its_claims(fault_ledger: dict) -> None:
    c = claims_of(fault_ledger)["crashes_in_tests"]
    (item,) = c["tests"]["items"]
    assert item["outcome"] in ("not-run", "error")
    assert "report" in (item["message"] or "") or "exited" in (item["message"] or ""), item["message"]
    assert c["verdict"] == "error", c["reason"]


def test_no_fault_leaks_into_the_summary_as_a_pass(fault_ledger: dict) -> None:
    bad = {f"fault_{m}" for m in MODES if m != "ok"} | {"gpu_only", "hangs_in_tests", "crashes_in_tests"}
    for c in fault_ledger["claims"]:
        if c["id"] in bad:
            assert c["verdict"] in ("error", "unchecked"), (c["id"], c["verdict"])
    assert fault_ledger["summary"]["by_verdict"]["supported"] == 3


def test_the_ledger_with_faults_is_strict_json(fault_ledger: dict) -> None:
    led = {k: v for k, v in fault_ledger.items() if k != "_wall_s"}

    def no_constants(name: str) -> float:
        raise AssertionError(f"{name} in the ledger: not valid JSON")

    json.loads(dumps(led), parse_constant=no_constants)


def test_cli_timeout_cuts_a_hang(fault_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", NO_LAKE_PATH)
    t0 = time.monotonic()
    assert run_cli(fault_repo, "run", "--quiet", "--skip-tests", "--claims", "fault_hang", "--timeout", "2",
                   "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache")) == 0
    assert time.monotonic() - t0 < 30
    m = ledger_of(tmp_path, "out")["claims"][0]["measurements"][0]
    assert m["outcome"] == "error" and m["reason"] == "timed out after 2 s"


def test_device_cuda_without_a_gpu_is_a_clear_error(fault_repo: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    assert run_cli(fault_repo, "run", "--device", "cuda", "--quiet", "--out", str(tmp_path / "out")) == 2
    err = capsys.readouterr().err
    assert "--device cuda was asked for but no CUDA device is available" in err
    assert not (tmp_path / "out" / "ledger.json").exists()


def test_gpu_only_measurement_runs_on_a_gpu(fault_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The other side of 'not run: needs GPU': with CUDA present the same claim is measured and judged."""
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    monkeypatch.setenv("PATH", NO_LAKE_PATH)
    assert run_cli(fault_repo, "run", "--quiet", "--skip-tests", "--device", "cuda", "--claims", "gpu_only",
                   "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache")) == 0
    m = ledger_of(tmp_path, "out")["claims"][0]["measurements"][0]
    assert m["outcome"] == "consistent" and m["device"] == "cuda", m


def test_an_unknown_device_is_a_clear_error(fault_repo: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(fault_repo, "run", "--device", "tpu", "--quiet", "--out", str(tmp_path / "out")) == 2
    assert "--device must be auto, cpu or cuda" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------- model files

try:
    from quantproof.capture import models
except ImportError:  # capture is optional: only the model-file tests need it
    models = None


def _need_capture() -> None:
    if models is None:
        pytest.skip("quantproof.capture.models is not importable")


def _clear_message(exc: BaseException, path: Path) -> bool:
    return isinstance(exc, (MeasurementUnavailable, ValueError)) and str(path) in str(exc)


def _truncated_copy(src: Path, dst: Path, n_bytes: int) -> Path:
    with open(src, "rb") as fh:
        dst.write_bytes(fh.read(n_bytes))
    return dst


@pytest.fixture(scope="module")
def gguf_source() -> Path:
    _need_capture()
    try:
        return models.smollm2_gguf_path()
    except MeasurementUnavailable as exc:
        pytest.skip(str(exc))


def _load_error(loader: str, *args) -> BaseException:
    _need_capture()
    models.clear_loaded()
    try:
        getattr(models, loader)(*args, device="cpu")
    except BaseException as exc:  # noqa: BLE001 - the point is to see what escapes
        return exc
    raise AssertionError("a broken model file loaded")


def test_gguf_cut_inside_its_tensors_gives_a_clear_message(gguf_source: Path, tmp_path: Path) -> None:
    p = _truncated_copy(gguf_source, tmp_path / "cut.gguf", 2_000_000)
    exc = _load_error("load_causal_lm", str(p))
    assert _clear_message(exc, p), repr(exc)


def test_gguf_of_garbage_gives_a_clear_message(tmp_path: Path) -> None:
    pytest.importorskip("gguf")
    p = tmp_path / "garbage.gguf"
    p.write_bytes(b"GGUF" + b"\x00" * 100)
    exc = _load_error("load_causal_lm", str(p))
    assert _clear_message(exc, p), repr(exc)


def test_gguf_cut_inside_its_header_gives_a_clear_message(gguf_source: Path, tmp_path: Path) -> None:
    p = _truncated_copy(gguf_source, tmp_path / "header.gguf", 1000)
    exc = _load_error("load_causal_lm", str(p))
    assert _clear_message(exc, p), repr(exc)


@pytest.fixture
def minilm_copy(tmp_path: Path) -> Path:
    _need_capture()
    try:
        src = models.minilm_dir()
    except MeasurementUnavailable as exc:
        pytest.skip(str(exc))
    d = tmp_path / "enc"
    d.mkdir()
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        if (src / name).is_file():
            shutil.copy(src / name, d / name)
    return d


def test_truncated_safetensors_gives_a_clear_message(minilm_copy: Path) -> None:
    _truncated_copy(models.minilm_dir() / "model.safetensors", minilm_copy / "model.safetensors", 3_000_000)
    exc = _load_error("load_encoder", str(minilm_copy))
    assert _clear_message(exc, minilm_copy), repr(exc)


def test_missing_optional_package_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "gguf" else real(name, *a))
    p = tmp_path / "m.gguf"
    p.write_bytes(b"GGUF")
    exc = _load_error("load_causal_lm", str(p))
    assert isinstance(exc, MeasurementUnavailable), repr(exc)
    assert "gguf" in str(exc) and "pip install" in str(exc)


def test_pickle_checkpoints_are_refused_not_loaded(tmp_path: Path) -> None:
    d = tmp_path / "pickled"
    d.mkdir()
    (d / "config.json").write_text("{}")
    (d / "pytorch_model.bin").write_bytes(b"\x80\x04K\x01.")  # a pickle
    exc = _load_error("load_causal_lm", str(d))
    assert isinstance(exc, MeasurementUnavailable) and "never unpickles" in str(exc)


# --------------------------------------------------------------------------------------------- broken code

@pytest.mark.parametrize("source", ["def broken(:\n", "import nothing_here_at_all\n", "raise RuntimeError('boom')\n"])
def test_a_measurement_module_that_cannot_be_imported_is_one_clear_error(
        fault_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        source: str) -> None:
    """Another contributor's broken measurement module: a clear exit 2 naming it, not a traceback (in-process only:
    the module lives in a temporary folder added to the package path of this test process)."""
    import sys

    import quantproof.measurements as pkg

    (tmp_path / "zz_broken_for_test.py").write_text(source)
    monkeypatch.setattr(pkg, "__path__", [*pkg.__path__, str(tmp_path)])
    monkeypatch.delitem(sys.modules, "quantproof.measurements.zz_broken_for_test", raising=False)
    assert run_cli(fault_repo, "check") == 2
    err = capsys.readouterr().err
    assert "measurement module quantproof.measurements.zz_broken_for_test cannot be imported" in err
    assert "Traceback" not in err


def test_an_in_process_measurement_that_raises_marks_only_its_job(tmp_path: Path) -> None:
    """arith runs in the runner's process (it is cheap exact arithmetic); a bad expression is an error outcome for
    its own job, never an exception out of the runner."""
    from quantproof.evidence.runner_measure import Job, run_jobs

    jobs = [Job("arith", {"expr": "__import__('os')"}, "bad"), Job("arith", {"expr": "0.21 / 0.02"}, "good")]
    out = run_jobs(jobs, device="cpu", dtype="float32", seed=0, cache_dir=tmp_path)
    assert out["bad"].status == "error" and "ExpressionError" in (out["bad"].reason or "")
    assert out["good"].status == "ok" and out["good"].result["outputs"]["value"]["value"] == 10.5

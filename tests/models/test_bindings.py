"""Binding a seed's model (or a substitute) to a local checkpoint: every bad binding is a clear error naming the file,
before any work; claims.yaml's target field is checked; reasons and cache keys say which model ran."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from quantproof.capture.targets import (TARGETS, BindingError, ModelRun, check_binding, model_run, parse_bindings,
                                        read_models_file)


def test_every_target_names_its_seed_family_and_kinds():
    assert {"qwen2.5-0.5b", "gpt2", "tinystories-33m", "gemma-4-26b-moe", "minilm"} <= set(TARGETS)
    for t in TARGETS.values():
        assert t.seeds and t.families and t.hf_id and t.capture
    assert "expert_weights" in TARGETS["gemma-4-26b-moe"].capture
    assert "k_post_rope" not in TARGETS["gpt2"].capture and "keys" in TARGETS["gpt2"].capture


def test_a_good_binding(tiny_models):
    b = check_binding("qwen2.5-0.5b", tiny_models["qwen2"])
    assert b.model_type == "qwen2" and "model.safetensors" in b.files and b.slot.role == "target"
    assert check_binding("smollm2", tiny_models["gemma3"]).slot.role == "substitute"   # any causal LM stands in


def test_missing_path(tmp_path):
    with pytest.raises(BindingError, match=str(tmp_path / "nope")):
        check_binding("gpt2", tmp_path / "nope")


def test_wrong_architecture_names_the_file(tiny_models):
    with pytest.raises(BindingError) as e:
        check_binding("qwen2.5-0.5b", tiny_models["gpt2"])
    assert str(tiny_models["gpt2"]) in str(e.value) and "'gpt2'" in str(e.value) and "qwen2" in str(e.value)
    with pytest.raises(BindingError, match="encoder|takes"):
        check_binding("minilm", tiny_models["llama"])


def test_a_dense_gemma_is_not_the_moe_target(tiny_models, tmp_path):
    d = tmp_path / "dense"
    shutil.copytree(tiny_models["gemma4_moe"], d)
    cfg = json.loads((d / "config.json").read_text())
    cfg["enable_moe_block"], cfg["num_experts"] = False, None
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(BindingError, match="mixture-of-experts"):
        check_binding("gemma-4-26b-moe", d)


def test_truncated_safetensors_names_the_file(tiny_models, tmp_path):
    d = tmp_path / "cut"
    shutil.copytree(tiny_models["gpt2"], d)
    f = d / "model.safetensors"
    f.write_bytes(f.read_bytes()[:-1000])
    with pytest.raises(BindingError, match="truncated") as e:
        check_binding("gpt2", d)
    assert str(f) in str(e.value)


def test_missing_shard_names_the_file(tiny_models, tmp_path):
    d = tmp_path / "sharded"
    shutil.copytree(tiny_models["gpt2"], d)
    (d / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {"a": "model.safetensors",
                                                                                 "b": "model-00002.safetensors"}}))
    with pytest.raises(BindingError, match="model-00002.safetensors: missing"):
        check_binding("gpt2", d)


def test_pickle_checkpoints_are_refused_unopened(tmp_path):
    p = tmp_path / "pytorch_model.bin"
    p.write_bytes(b"\x80\x04K\x01.")
    with pytest.raises(BindingError, match="never unpickles") as e:
        check_binding("gpt2", p)
    assert str(p) in str(e.value)
    d = tmp_path / "pickled"
    d.mkdir()
    (d / "config.json").write_text(json.dumps({"model_type": "gpt2"}))
    shutil.copy(p, d / "pytorch_model.bin")
    with pytest.raises(BindingError, match="pytorch_model.bin.*never unpickles"):
        check_binding("gpt2", d)


def test_a_truncated_gguf_names_the_file(tmp_path):
    pytest.importorskip("gguf")
    from quantproof.capture.models import smollm2_gguf_path
    from quantproof.evidence.measurement import MeasurementUnavailable

    try:
        src = smollm2_gguf_path()
    except MeasurementUnavailable as exc:
        pytest.skip(str(exc))
    p = tmp_path / "cut.gguf"
    with open(src, "rb") as fh:
        p.write_bytes(fh.read(2_000_000))
    with pytest.raises(BindingError, match="truncated") as e:
        check_binding("smollm2", p)
    assert str(p) in str(e.value)
    assert check_binding("smollm2", src).model_type == "llama"
    with pytest.raises(BindingError, match="'llama'"):
        check_binding("qwen2.5-0.5b", src)


def test_models_file(tmp_path, tiny_models):
    f = tmp_path / "models.yaml"
    f.write_text(f"models:\n  gpt2: {tiny_models['gpt2']}\n  qwen2.5-0.5b: rel/qwen\n")
    got = read_models_file(f)
    assert got == {"gpt2": str(tiny_models["gpt2"]), "qwen2.5-0.5b": str(tmp_path / "rel/qwen")}
    f.write_text("gpt2: a\ngpt2: b\n")
    with pytest.raises(BindingError, match=f"{f}:2: gpt2 is bound twice"):
        read_models_file(f)
    f.write_text("- gpt2\n")
    with pytest.raises(BindingError, match=f"{f}:1"):
        read_models_file(f)
    with pytest.raises(BindingError, match="expected NAME=PATH"):
        parse_bindings(["gpt2"])
    with pytest.raises(BindingError, match="unknown model 'gpt5'"):
        parse_bindings(["gpt5=/x"])


def test_cli_refuses_a_bad_binding_before_any_work(tmp_path, tiny_models, capsys):
    from reliability.conftest import make_repo, run_cli

    repo = make_repo(tmp_path / "repo")
    assert run_cli(repo, "run", "--quiet", "--model", f"qwen2.5-0.5b={tiny_models['gpt2']}",
                   "--out", str(tmp_path / "out")) == 2
    err = capsys.readouterr().err
    assert str(tiny_models["gpt2"]) in err and "qwen2" in err
    assert not (tmp_path / "out").exists()
    assert run_cli(repo, "run", "--quiet", "--model", f"gpt2={tmp_path / 'missing'}", "--out",
                   str(tmp_path / "out")) == 2
    assert "no such file" in capsys.readouterr().err


def test_the_reason_names_the_model_that_ran(tiny_models):
    b = check_binding("gemma-4-26b-moe", tiny_models["gemma4_moe"])
    p, run = model_run("gemma-4-26b-moe", {}, {"model": "smollm2", "kind": "k_post_rope"}, "smollm2",
                       {"gemma-4-26b-moe": b})
    assert p["model"] == str(b.path) and run.ran == "target"
    assert run.note() == "on the seed's model Gemma-4-26B-A4B"
    p2, run2 = model_run("gemma-4-26b-moe", {}, {"model": "smollm2"}, "smollm2", {})
    assert p2["model"] == "smollm2" and run2.note() == "on substitute SmolLM2-135M (Q4_1-dequantized) for Gemma-4-26B-A4B"
    p3, run3 = model_run("gpt2", {"layer": 6}, {"model": "smollm2", "layer": 15}, "smollm2",
                         {"gpt2": check_binding("gpt2", tiny_models["gpt2"])})
    assert p3["layer"] == 6 and run3.ran == "target"      # the target's own parameters apply when it runs
    p4, run4 = model_run(None, {}, {"model": "smollm2"}, "smollm2",
                         {"smollm2": check_binding("smollm2", tiny_models["llama"])})
    assert run4.ran == "substitute" and run4.bound and run4.note().startswith("on llama (llama, bound)")
    assert ModelRun(None, "substitute", "minilm", "all-MiniLM-L6-v2 (fp32)").note() == "on all-MiniLM-L6-v2 (fp32)"


def test_the_job_key_holds_which_model_ran():
    from quantproof.evidence.runner_measure import job_key

    sub = ModelRun("gpt2", "substitute", "smollm2", "x", {"f": "aa"})
    other_target = ModelRun("qwen2.5-0.5b", "substitute", "smollm2", "x", {"f": "aa"})
    tgt = ModelRun("gpt2", "target", "/m", "GPT-2", {"f": "bb"})
    k = lambda r: job_key("m", {"model": "smollm2"}, "cpu", "float32", 0, "c", model=r.key())  # noqa: E731
    assert k(sub) == k(other_target)                  # the same substitute for two targets: one job
    assert k(sub) != k(tgt)
    assert k(sub) != k(ModelRun("gpt2", "substitute", "smollm2", "x", {"f": "cc"}))   # other files, other key


def _claims_with(target_line: str, seed: str = "004_2c748b9017c5ae61.txt", name: str = "pca_reconstruction") -> str:
    return f"""schema: 1
claims:
  - id: t
    title: t
    source: {{seed: {seed}, quote: "6-10% error is acceptable for inference"}}
    kind: empirical
    statement: t.
    scope: seed-setting
    measurements:
      - name: {name}
        {target_line}
        params: {{model: smollm2, k: 9}}
        output: k_used
        role: reproduces
        expect: {{value: 9}}
"""


@pytest.mark.parametrize("line, says", [
    ("target: gpt3", "unknown target 'gpt3'"),
    ("target: qwen2.5-0.5b", "not a model seed 004 names"),
    ("target: {name: gpt2, params: {layr: 6}}", "unknown parameter 'layr'"),
    ("target: [gpt2]", "must be a model name"),
])
def test_claims_target_field_is_checked(tmp_path, line, says):
    from quantproof.claims.loader import ClaimsFileError, load_claims
    from quantproof.claims.validate import validate

    repo = Path(__file__).resolve().parents[2]
    f = tmp_path / "claims.yaml"
    f.write_text(_claims_with(line))
    try:
        errors = validate(load_claims(f), repo).errors
    except ClaimsFileError as exc:
        errors = exc.errors
    assert any(says in str(e) for e in errors), [str(e) for e in errors]


def test_a_target_on_a_measurement_without_a_model_is_refused(tmp_path):
    from quantproof.claims.loader import load_claims
    from quantproof.claims.validate import validate

    repo = Path(__file__).resolve().parents[2]
    f = tmp_path / "claims.yaml"
    f.write_text(_claims_with("target: gpt2", name="arith").replace("params: {model: smollm2, k: 9}",
                                                                     "params: {expr: '9'}").replace("k_used", "value"))
    errors = [str(e) for e in validate(load_claims(f), repo).errors]
    assert any("takes no model parameter" in e for e in errors), errors


def test_every_target_in_claims_yaml_is_valid():
    from quantproof.claims.loader import load_claims
    from quantproof.claims.validate import validate

    repo = Path(__file__).resolve().parents[2]
    cs = load_claims(repo / "claims.yaml")
    errors = [str(e) for e in validate(cs, repo).errors if ".target" in e.field]
    assert not errors, errors
    linked = [(c.id, m.target) for c in cs.claims for m in c.measurements if m.target]
    # every seed model that a measurement can run on is named by at least one link (tinystories-33m: none of
    # seed 001's measurements loads a model)
    assert {t for _, t in linked} >= {"qwen2.5-0.5b", "gemma-4-26b-moe", "gpt2", "minilm"}, sorted(set(linked))


def test_a_target_that_ships_here_is_named_as_the_seeds_model():
    # seed 004 used all-MiniLM-L6-v2 itself: its shipped copy is the seed's model, not a substitute for it
    _, run = model_run("minilm", {}, {"model": "minilm"}, "minilm", {})
    assert run.note() == "on the seed's model all-MiniLM-L6-v2"
    _, run2 = model_run("gpt2", {}, {"model": "smollm2"}, "smollm2", {})
    assert run2.note().startswith("on substitute SmolLM2")

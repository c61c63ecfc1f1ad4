"""End to end on CPU: a tiny random model of each architecture bound on the command line's terms (a seed's model,
or a substitute), and the registered measurements of every claims.yaml claim that applies to it run through the
ledger; each link ran on the bound model, and the claim's reason says which model that was.

Architectures and what they are bound as: Qwen2 → qwen2.5-0.5b (seed 000), GPT-Neo → tinystories-33m (seed 001),
Gemma-4 MoE → gemma-4-26b-moe (seed 003), GPT-2 → gpt2 (seed 004), BERT → minilm (seed 004's embeddings); Llama and
Gemma-3 → the smollm2 substitute (no seed used them), on seed 003's RoPE-specific claims; GPT-2 as that substitute
shows RoPE measurements "not applicable". The numbers of random models mean nothing: the test checks that the
measurements ran on the bound model, not what they found.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from quantproof.capture.targets import check_binding
from quantproof.claims.loader import load_claims
from quantproof.ledger.build import RunOptions, build_ledger

REPO = Path(__file__).resolve().parents[2]
ROPE_CLAIMS = ["s003_gauge_free_at_deploy_rope", "s003_front_token_protection",
               "s003_kcache_learned_centered_beta_band"]
RAN = ("consistent", "inconsistent", "inconclusive", "measured")


FULL = os.environ.get("QUANTPROOF_E2E_FULL") == "1"


def _claims_with_target(cs, target: str) -> list[str]:
    """Every claim with a link to ``target`` (QUANTPROOF_E2E_FULL=1: about 15 minutes on 2 cores for all
    architectures), else the fewest claims that cover every measurement, and every target parameter set, the
    target's links use (the suite's budget)."""
    ids = [c.id for c in cs.claims if any(m.target == target for m in c.measurements)]
    if FULL:
        return ids
    out, seen = [], set()
    for c in cs.claims:
        if c.id not in ids:
            continue
        kinds = {(m.name, tuple(sorted(m.target_params.items()))) for m in c.measurements if m.target == target}
        if kinds - seen:
            out.append(c.id)
            seen |= kinds
    return out


def _run(tiny_models, tmp_path, name: str, family: str, claims: list[str]) -> tuple[dict, str]:
    cs = load_claims(REPO / "claims.yaml")
    b = check_binding(name, tiny_models[family])
    opts = RunOptions(repo=REPO, claims=claims, device="cpu", jobs=2, skip_tests=True, skip_lean=True,
                      cache_dir=tmp_path / "cache", bindings={name: b}, timeout_s=900)
    return build_ledger(cs, opts), str(b.path)


def _bound_links(ledger: dict, path: str):
    return [(c, m) for c in ledger["claims"] for m in c["measurements"] if m.get("model_run", {}).get("bound")]


@pytest.mark.parametrize("name, family", [("qwen2.5-0.5b", "qwen2"), ("tinystories-33m", "gpt_neo"),
                                          ("gemma-4-26b-moe", "gemma4_moe"), ("gpt2", "gpt2"),
                                          ("minilm", "bert")])
def test_a_bound_target_runs_every_claim_of_its_seed(tiny_models, tmp_path, name, family):
    cs = load_claims(REPO / "claims.yaml")
    claims = _claims_with_target(cs, name)
    assert claims
    ledger, path = _run(tiny_models, tmp_path, name, family, claims)
    links = _bound_links(ledger, path)
    n_target_links = sum(1 for c in cs.claims if c.id in claims for m in c.measurements if m.target == name)
    assert {m.name for c in cs.claims for m in c.measurements if m.target == name} == \
        {m.name for c in cs.claims if c.id in claims for m in c.measurements if m.target == name}
    assert len([1 for c, m in links if m["model_run"]["ran"] == "target"]) == n_target_links
    for c, m in links:
        assert m["params"]["model"] == path, (c["id"], m["params"])
        assert m["model_run"]["files"]["model.safetensors"], m["model_run"]
        # ran end to end on the bound model: a judged value, or the measurement's own numeric verdict on random
        # weights (a non-finite output); never a failure to load or bind
        assert m["outcome"] in RAN or "non-finite" in (m["reason"] or ""), (c["id"], m["name"], m["reason"])
        if m["outcome"] in RAN and m["model_run"]["ran"] == "target":
            assert "on the seed's model" in c["reason"], c["reason"]
    if name == "gpt2":   # the target's own parameters: layer 6 of GPT-2's 12 where SmolLM2 used layer 15 of 30
        pca = [m for c, m in links if m["name"] == "pca_reconstruction"]
        assert {m["params"]["layer"] for m in pca} == {-1, 6}
    if name == "gemma-4-26b-moe":
        ffn = [m for c, m in links if m["name"] == "ffn_weight_beta"]
        assert {m["params"]["matrices"] for m in ffn} == {"mlp", "experts"}
        expert = next(m for m in ffn if m["params"]["matrices"] == "experts")
        assert any("experts_gate_up" in k for k in expert["details"]["matrices"])
    assert ledger["provenance"]["models"][name]["files"]


@pytest.mark.parametrize("family", ["llama", "gemma3"])
def test_a_bound_substitute_runs_the_rope_claims(tiny_models, tmp_path, family):
    ledger, path = _run(tiny_models, tmp_path, "smollm2", family, ROPE_CLAIMS)
    links = _bound_links(ledger, path)
    assert links and all(m["model_run"]["ran"] == "substitute" for _, m in links)
    for c, m in links:
        assert m["params"]["model"] == path
        assert m["outcome"] in RAN, (c["id"], m["name"], m["reason"])
        assert f"on substitute {Path(path).name} (" in c["reason"] and "for Gemma-4-26B-A4B" in c["reason"], \
            c["reason"]


def test_rope_measurements_on_a_model_without_rope_are_not_applicable(tiny_models, tmp_path):
    ledger, path = _run(tiny_models, tmp_path, "smollm2", "gpt2", ["s003_gauge_free_at_deploy_rope"])
    (c,) = ledger["claims"]
    assert c["verdict"] in ("unchecked", "error") and c["verdict"] != "supported"
    for m in c["measurements"]:
        assert m["outcome"] == "not-run" and "not applicable" in m["reason"] and "no RoPE" in m["reason"], m

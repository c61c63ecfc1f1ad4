"""Capture layer: corpus split, model location, cache integrity, and a small real-model smoke capture."""

from __future__ import annotations

import numpy as np
import pytest

from quantproof.capture import corpus as C
from quantproof.evidence.measurement import Context, MeasurementUnavailable


def _docs(n):
    return [C.Document(f"t:{i}", "t", f"doc {i}", "x" * 300) for i in range(n)]


def test_split_is_by_document_deterministic_and_order_free():
    docs = _docs(200)
    a = C.split_documents(docs, 0.3, seed=1)
    b = C.split_documents(list(reversed(docs)), 0.3, seed=1)
    assert [d.doc_id for d in a.calibration] == [d.doc_id for d in b.calibration]
    assert [d.doc_id for d in a.heldout] == [d.doc_id for d in b.heldout]
    ids_c = {d.doc_id for d in a.calibration}
    ids_h = {d.doc_id for d in a.heldout}
    assert not ids_c & ids_h and len(ids_c | ids_h) == 200
    assert 30 < len(ids_h) < 90
    other = C.split_documents(docs, 0.3, seed=2)
    assert {d.doc_id for d in other.heldout} != ids_h


def test_clean_wiki_strips_markup():
    markup = ("'''Albedo''' is the [[diffuse reflection|diffuse reflectivity]] of a surface, measured on a scale "
              "from zero to one.{{cite web|url=x}}\n==History==\n* [[List item]]\n")
    text = C.clean_wiki(markup)
    assert "'''" not in text and "[[" not in text and "==" not in text and "{{" not in text
    assert text.startswith("Albedo is the diffuse reflectivity")


def test_real_corpus_has_both_sources_and_hashes():
    corp = C.load_corpus()
    assert {d.source for d in corp.documents} == {"wiki", "lee"}
    assert len(corp.documents) > 300
    assert all(len(v) == 64 for v in corp.files.values())
    sp = C.split_documents(corp)
    assert len(sp.heldout) > 60 and len(sp.calibration) > 150


def test_user_model_path_refuses_pickles(tmp_path):
    from quantproof.capture.models import load_causal_lm

    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "pytorch_model.bin").write_bytes(b"\x80\x04")
    with pytest.raises(MeasurementUnavailable, match="pickle"):
        load_causal_lm(str(tmp_path))
    with pytest.raises(MeasurementUnavailable, match="does not exist"):
        load_causal_lm(str(tmp_path / "nope"))


def test_minilm_capture_smoke_and_cache_integrity(tmp_path):
    """Real model (MiniLM, ~2 s): shapes, cache hit, and recompute after the cached file is corrupted."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from quantproof.capture.hooks import capture

    ctx = Context(cache_dir=tmp_path)
    cap = capture(["keys", "hidden"], model="minilm", n_docs=2, max_tokens=24, ctx=ctx, device="cpu")
    assert cap.arrays["keys"].shape == (6, 12, cap.n_tokens, 32)
    assert cap.arrays["hidden"].shape == (7, cap.n_tokens, 384)
    assert cap.n_tokens <= 48 and (cap.positions == 0).sum() == 2
    assert np.isfinite(cap.arrays["keys"]).all()
    files = sorted((tmp_path / "capture").glob("keys-*.npz"))
    assert len(files) == 1
    again = capture(["keys"], model="minilm", n_docs=2, max_tokens=24, ctx=Context(cache_dir=tmp_path))
    np.testing.assert_array_equal(again.arrays["keys"], cap.arrays["keys"])
    raw = bytearray(files[0].read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    files[0].write_bytes(bytes(raw))
    ctx3 = Context(cache_dir=tmp_path)
    fixed = capture(["keys"], model="minilm", n_docs=2, max_tokens=24, ctx=ctx3, device="cpu")
    assert any("captured keys" in n for n in ctx3.notes), "a corrupted cache file must be recomputed"
    np.testing.assert_allclose(fixed.arrays["keys"], cap.arrays["keys"], rtol=1e-5, atol=1e-5)


@pytest.mark.slow
def test_smollm2_capture_rope_consistent(tmp_path):
    from quantproof.capture.hooks import capture

    cap = capture(["k_post_rope", "k_pre_rope", "q_post_rope"], model="smollm2", n_docs=2, max_tokens=32,
                  ctx=Context(cache_dir=tmp_path), device="cpu")
    assert cap.arrays["k_post_rope"].shape == (30, 3, cap.n_tokens, 64)
    assert cap.arrays["q_post_rope"].shape == (30, 9, cap.n_tokens, 64)
    assert cap.meta["rope_check_max_abs_err"] < 1e-4
    # position 0 has angle 0: pre- and post-RoPE keys coincide there
    first = cap.positions == 0
    np.testing.assert_allclose(cap.arrays["k_post_rope"][:, :, first], cap.arrays["k_pre_rope"][:, :, first],
                               atol=1e-5)


# --------------------------------------------------------------------------------------------------------------
# SmolLM2: the preallocated capture path against a straightforward one, and the RoPE consistency check


def _smollm2_docs(n=2):
    from quantproof.capture import models as M

    try:
        model, tok, info = M.load_smollm2(device="cpu", dtype="float32")
    except MeasurementUnavailable as exc:
        pytest.skip(str(exc))
    docs = C.split_documents(C.load_corpus()).calibration[:n]
    return model, tok, info, docs


def _straightforward_capture(model, tok, info, docs, max_tokens):
    """Reference: per document, every layer stacked, lists concatenated at the end (what the capture did before)."""
    import torch
    from transformers.models.llama.modeling_llama import apply_rotary_pos_emb

    from quantproof.capture.hooks import _cache_keys

    base = model.model
    cfg = info.config
    L, H, KV, hd = cfg["n_layers"], cfg["n_heads"], cfg["n_kv_heads"], cfg["head_dim"]
    grabbed = {}
    hooks = []
    for li, layer in enumerate(base.layers):
        hooks.append(layer.self_attn.k_proj.register_forward_hook(
            lambda m, i, o, li=li: grabbed.__setitem__(("k", li), o)))
        hooks.append(layer.self_attn.q_proj.register_forward_hook(
            lambda m, i, o, li=li: grabbed.__setitem__(("q", li), o)))
    store = {k: [] for k in ("k_post_rope", "k_pre_rope", "q_pre_rope", "q_post_rope", "hidden")}
    doc_index, positions, errs = [], [], []
    try:
        with torch.no_grad():
            for di, d in enumerate(docs):
                x = tok(d.text, return_tensors="pt", truncation=True, max_length=max_tokens)["input_ids"]
                T = x.shape[1]
                out = base(input_ids=x, use_cache=True, output_hidden_states=True)
                cos, sin = base.rotary_emb(torch.zeros(1, T, hd), torch.arange(T)[None])
                per = {k: [] for k in store if k != "hidden"}
                for li in range(L):
                    k_pre = grabbed[("k", li)].view(1, T, KV, hd).transpose(1, 2)
                    q_pre = grabbed[("q", li)].view(1, T, H, hd).transpose(1, 2)
                    k_cached = _cache_keys(out.past_key_values, li)
                    k_rot, _ = apply_rotary_pos_emb(k_pre, k_pre, cos, sin)
                    q_rot, _ = apply_rotary_pos_emb(q_pre, q_pre, cos, sin)
                    errs.append(float((k_rot - k_cached).abs().max()))
                    per["k_post_rope"].append(k_cached[0])
                    per["k_pre_rope"].append(k_pre[0])
                    per["q_pre_rope"].append(q_pre[0])
                    per["q_post_rope"].append(q_rot[0])
                for k, v in per.items():
                    store[k].append(torch.stack(v).numpy())
                store["hidden"].append(torch.stack([h[0] for h in out.hidden_states]).numpy())
                doc_index.append(np.full(T, di, dtype=np.int32))
                positions.append(np.arange(T, dtype=np.int32))
    finally:
        for h in hooks:
            h.remove()
    arrays = {k: np.concatenate(v, axis=-2) for k, v in store.items()}
    return arrays, np.concatenate(doc_index), np.concatenate(positions), max(errs)


@pytest.mark.slow
def test_smollm2_preallocated_capture_equals_straightforward_capture():
    from quantproof.capture.hooks import CAUSAL_KINDS, _capture_causal

    model, tok, info, docs = _smollm2_docs(2)
    ref, ref_di, ref_pos, ref_err = _straightforward_capture(model, tok, info, docs, 24)
    got, di, pos, meta = _capture_causal(model, tok, info, list(CAUSAL_KINDS), docs, 24)
    np.testing.assert_array_equal(di, ref_di)
    np.testing.assert_array_equal(pos, ref_pos)
    assert set(got) == set(CAUSAL_KINDS)
    for k in CAUSAL_KINDS:
        assert got[k].dtype == np.float32 and got[k].flags.c_contiguous, k
        np.testing.assert_array_equal(got[k], ref[k], err_msg=k)
    assert meta["rope_check_layers"] == [0, 15, 29]
    assert meta["rope_check_max_abs_err"] <= ref_err + 1e-7
    # kinds asked for alone: only they are returned, with the same values
    for kinds in (["k_post_rope"], ["hidden"], ["q_post_rope"], ["k_pre_rope", "hidden"]):
        alone, _, _, _ = _capture_causal(model, tok, info, kinds, docs, 24)
        assert set(alone) == set(kinds)
        for k in kinds:
            np.testing.assert_array_equal(alone[k], ref[k], err_msg=f"{k} of {kinds}")


@pytest.mark.slow
def test_smollm2_rope_check_catches_a_wrong_rotation(monkeypatch):
    from quantproof.capture import hooks as Hk

    model, tok, info, docs = _smollm2_docs(1)
    real = Hk._rotary_cos_sin
    # an off-by-one position in the capture's own rotation (cache and model untouched)
    monkeypatch.setattr(Hk, "_rotary_cos_sin", lambda base, pos, hd, dt: real(base, pos + 1, hd, dt))
    with pytest.raises(RuntimeError, match="RoPE convention"):
        Hk._capture_causal(model, tok, info, ["k_post_rope"], docs, 16)


@pytest.mark.slow
@pytest.mark.parametrize("layer", [0, 15, 29])
def test_smollm2_rope_check_catches_a_mismatch_on_each_checked_layer(layer):
    from quantproof.capture import hooks as Hk

    model, tok, info, docs = _smollm2_docs(1)
    assert layer in Hk.rope_check_layers(info.config["n_layers"])

    def corrupt(module, args, out):   # the cached keys of one layer no longer match its rotated k_proj output
        Hk._cache_keys(out.past_key_values, layer)[0, 0, 3, 5] += 0.5

    h = model.model.register_forward_hook(corrupt)
    try:
        with pytest.raises(RuntimeError, match=f"layer {layer};"):
            Hk._capture_causal(model, tok, info, ["hidden"], docs, 16)
    finally:
        h.remove()
    _, _, _, meta = Hk._capture_causal(model, tok, info, ["hidden"], docs, 16)   # hook removed: passes again
    assert meta["rope_check_max_abs_err"] < 1e-4


# --------------------------------------------------------------------------------------------------------------
# model-file integrity checks (what a file cut short says)


@pytest.mark.parametrize("n_bytes, says", [(0, "ends inside its GGUF header"), (1000, "metadata entry"),
                                           (1_785_000, "tensor info"), (2_000_000, "missing")])
def test_check_gguf_names_the_file_and_where_it_was_cut(tmp_path, n_bytes, says):
    from quantproof.capture import models as M

    try:
        src = M.smollm2_gguf_path()
    except MeasurementUnavailable as exc:
        pytest.skip(str(exc))
    M.check_gguf(src)   # the shipped file is complete
    p = tmp_path / "cut.gguf"
    with open(src, "rb") as fh:
        p.write_bytes(fh.read(n_bytes))
    with pytest.raises(MeasurementUnavailable, match="truncated") as info:
        M.check_gguf(p)
    assert str(p) in str(info.value) and says in str(info.value)


@pytest.mark.parametrize("n_bytes, says", [(5, "8-byte header-length"), (100, "inside its JSON header"),
                                           (3_000_000, "missing")])
def test_check_safetensors_names_the_file_and_what_is_wrong(tmp_path, n_bytes, says):
    from quantproof.capture import models as M

    try:
        src = M.minilm_dir() / "model.safetensors"
    except MeasurementUnavailable as exc:
        pytest.skip(str(exc))
    M.check_safetensors(src)
    p = tmp_path / "model.safetensors"
    with open(src, "rb") as fh:
        p.write_bytes(fh.read(n_bytes))
    with pytest.raises(MeasurementUnavailable) as info:
        M.check_safetensors(p)
    assert str(p) in str(info.value) and says in str(info.value)
    p.write_bytes(src.read_bytes() + b"\0\0")
    with pytest.raises(MeasurementUnavailable, match="2 bytes follow the last tensor"):
        M.check_safetensors(p)

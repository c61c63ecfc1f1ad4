"""Every architecture's capture on a tiny random model: shapes, RoPE consistency with the model's own cache, hook
placement (hidden states equal output_hidden_states; keys equal the cache), per-expert weights, streaming to disk."""

from __future__ import annotations

import numpy as np
import pytest

from quantproof.capture import corpus as C
from quantproof.evidence.measurement import Context, MeasurementUnavailable

ROPE = ("llama", "qwen2", "gemma3", "gemma4_moe")
PLAIN = ("gpt2", "gpt_neo")


def _load(tiny_models, fam):
    from quantproof.capture import models as M

    return M.load_model(str(tiny_models[fam]), device="cpu")


def _docs(n=2):
    return C.split_documents(C.load_corpus()).calibration[:n]


def _dims(arr, li):
    a = arr[li]
    return tuple(a.shape)


@pytest.mark.parametrize("fam", ROPE + PLAIN)
def test_causal_capture_shapes_and_cache_consistency(tiny_models, fam):
    from quantproof.capture import arch as A
    from quantproof.capture.hooks import PLAIN_MODEL_KINDS, ROPE_MODEL_KINDS, Ragged, _capture_causal

    model, tok, info = _load(tiny_models, fam)
    ad = A.adapter(model)
    kinds = list(ROPE_MODEL_KINDS if fam in ROPE else PLAIN_MODEL_KINDS)
    docs = _docs()
    arrs, di, pos, meta = _capture_causal(model, tok, info, kinds, docs, 20)
    n = len(pos)
    assert set(arrs) == set(kinds) and n == len(di) and pos[0] == 0
    L = ad.n_layers()
    for k in kinds:
        a = arrs[k]
        assert a.shape[0] == (L + 1 if k == "hidden" else L), k
        if k == "hidden":
            assert a.shape == (L + 1, n, model.config.get_text_config().hidden_size)
            continue
        for li in range(L):
            d = ad.dims(li)
            heads = d.n_heads if k in ("q_pre_rope", "q_post_rope", "queries") else d.n_kv_heads
            assert _dims(a, li) == (heads, n, d.head_dim), (k, li)
    if fam == "gemma4_moe":   # sliding and full layers differ: a per-layer stack
        assert isinstance(arrs["k_post_rope"], Ragged)
        assert len({arrs["k_post_rope"][li].shape for li in range(L)}) == 2
    assert meta["rope_check_max_abs_err"] < 1e-4, meta
    assert meta["rope_check_layers"] == [0, L // 2, L - 1]


@pytest.mark.parametrize("fam", ROPE)
def test_rope_of_pre_rope_keys_is_the_cache_on_every_layer(tiny_models, fam):
    """Independent of the capture's own check: rotate the captured pre-RoPE keys with the model's rotary embedding
    of each layer and compare with the captured (cached) post-RoPE keys; same for queries."""
    import torch

    from quantproof.capture import arch as A
    from quantproof.capture.hooks import _capture_causal

    model, tok, info = _load(tiny_models, fam)
    ad = A.adapter(model)
    arrs, di, pos, meta = _capture_causal(model, tok, info, ["k_pre_rope", "k_post_rope", "q_pre_rope",
                                                               "q_post_rope"], _docs(1), 24)
    T = len(pos)
    for li in range(ad.n_layers()):
        hd = ad.dims(li).head_dim
        cos, sin = ad.rotary(li).rotary_emb(torch.zeros(1, T, hd), torch.arange(T)[None])
        for pre, post in (("k_pre_rope", "k_post_rope"), ("q_pre_rope", "q_post_rope")):
            x = torch.from_numpy(np.array(arrs[pre][li]))[None]
            got = A.rotate(x, cos, sin)[0].numpy()
            np.testing.assert_allclose(got, np.array(arrs[post][li]), atol=1e-5, err_msg=f"{pre} layer {li}")
        assert not np.allclose(np.array(arrs["k_pre_rope"][li])[:, 1:], np.array(arrs["k_post_rope"][li])[:, 1:])


@pytest.mark.parametrize("fam", ROPE + PLAIN)
def test_hidden_states_equal_output_hidden_states(tiny_models, fam):
    import torch

    from quantproof.capture import arch as A
    from quantproof.capture.hooks import _capture_causal

    model, tok, info = _load(tiny_models, fam)
    docs = _docs(1)
    arrs, _, pos, _ = _capture_causal(model, tok, info, ["hidden"], docs, 16)
    x = tok(docs[0].text, return_tensors="pt", truncation=True, max_length=16)["input_ids"]
    with torch.no_grad():
        ref = A.adapter(model).base(input_ids=x, output_hidden_states=True)
    want = torch.stack([h[0] for h in ref.hidden_states]).numpy()
    np.testing.assert_allclose(arrs["hidden"], want, atol=1e-5)


@pytest.mark.parametrize("fam", ROPE)
def test_a_wrong_rotation_is_caught(tiny_models, fam, monkeypatch):
    from quantproof.capture import hooks as Hk

    model, tok, info = _load(tiny_models, fam)
    real = Hk._rotary_cos_sin
    monkeypatch.setattr(Hk, "_rotary_cos_sin", lambda base, p, hd, dt: real(base, p + 1, hd, dt))
    with pytest.raises(RuntimeError, match="RoPE convention"):
        Hk._capture_causal(model, tok, info, ["k_post_rope"], _docs(1), 16)


@pytest.mark.parametrize("fam", PLAIN)
def test_models_without_rope_answer_rope_kinds_not_applicable(tiny_models, fam):
    from quantproof.capture.arch import NotApplicable
    from quantproof.capture.hooks import _capture_causal

    model, tok, info = _load(tiny_models, fam)
    with pytest.raises(NotApplicable, match="no RoPE"):
        _capture_causal(model, tok, info, ["k_post_rope"], _docs(1), 16)


def test_misplaced_key_hook_is_caught(tiny_models, monkeypatch):
    """GPT-2's keys come from its fused c_attn; taking the query third instead must fail the cache check."""
    from quantproof.capture import arch as A
    from quantproof.capture.hooks import _capture_causal

    model, tok, info = _load(tiny_models, "gpt2")
    real = A.GPT2.split
    monkeypatch.setattr(A.GPT2, "split", lambda self, tag, out, li, T: real(self, "q" if tag == "k" else tag, out,
                                                                           li, T))
    with pytest.raises(RuntimeError, match="hooks do not sit"):
        _capture_causal(model, tok, info, ["keys"], _docs(1), 16)


def test_encoder_capture(tiny_models):
    from quantproof.capture.hooks import _capture_encoder

    model, tok, info = _load(tiny_models, "bert")
    arrs, di, pos, meta = _capture_encoder(model, tok, info, ["keys", "queries", "values", "hidden"], _docs(), 20)
    n = len(pos)
    assert arrs["keys"].shape == (6, 4, n, 16) and arrs["hidden"].shape == (7, n, 64)


@pytest.mark.parametrize("fam, names", [("llama", {"gate_proj", "up_proj", "down_proj"}),
                                        ("qwen2", {"gate_proj", "up_proj", "down_proj"}),
                                        ("gemma3", {"gate_proj", "up_proj", "down_proj"}),
                                        ("gemma4_moe", {"gate_proj", "up_proj", "down_proj"}),
                                        ("gpt2", {"c_fc", "c_proj"}), ("gpt_neo", {"c_fc", "c_proj"}),
                                        ("bert", {"intermediate", "output"})])
def test_mlp_weights_are_out_by_in(tiny_models, fam, names):
    from quantproof.capture.arch import is_output_matrix
    from quantproof.capture.hooks import ffn_weights

    W = ffn_weights(str(tiny_models[fam]), layers=[0])
    assert {k.split(".", 1)[1] for k in W} == names
    for k, w in W.items():
        hidden = 64
        assert (w.shape[0] == hidden) == is_output_matrix(k), (k, w.shape)   # output matrices write the hidden state
        assert w.shape[1 - int(is_output_matrix(k))] == hidden


def test_expert_weights_come_out_per_expert(tiny_models):
    from quantproof.capture import arch as A
    from quantproof.capture.hooks import ffn_weights

    model, _, _ = _load(tiny_models, "gemma4_moe")
    W = ffn_weights(str(tiny_models["gemma4_moe"]), layers=[0, 3], experts=True)
    ex = A.adapter(model).layers()[3].experts
    E, I = ex.gate_up_proj.shape[0], ex.gate_up_proj.shape[1] // 2
    assert len(W) == 2 * 3 * E
    for e in range(E):
        np.testing.assert_array_equal(W[f"L3.experts.{e}.gate_proj"], ex.gate_up_proj[e, :I].detach().numpy())
        np.testing.assert_array_equal(W[f"L3.experts.{e}.up_proj"], ex.gate_up_proj[e, I:].detach().numpy())
        np.testing.assert_array_equal(W[f"L3.experts.{e}.down_proj"], ex.down_proj[e].detach().numpy())
    assert len({W[f"L3.experts.{e}.gate_proj"].tobytes() for e in range(E)}) == E   # distinct experts
    with pytest.raises(A.NotApplicable, match="no experts"):
        ffn_weights(str(tiny_models["qwen2"]), layers=[0], experts=True)


def test_captures_stream_to_memory_mapped_files_and_are_verified_on_read(tiny_models, tmp_path):
    from quantproof.capture.hooks import Ragged, capture

    path = str(tiny_models["gemma4_moe"])
    ctx = Context(cache_dir=tmp_path)
    cap = capture(["k_post_rope", "hidden"], model=path, n_docs=2, max_tokens=16, ctx=ctx, device="cpu")
    assert isinstance(cap.arrays["k_post_rope"], Ragged)
    assert all(isinstance(a, np.memmap) for a in cap.arrays["k_post_rope"].layers)
    assert isinstance(cap.arrays["hidden"], np.memmap) and not cap.arrays["hidden"].flags.writeable
    assert not list((tmp_path / "capture").glob("streaming-*")), "the streaming folder is removed"
    files = sorted((tmp_path / "capture").glob("hidden-*.npy"))
    assert len(files) == 1
    ctx2 = Context(cache_dir=tmp_path)
    again = capture(["hidden"], model=path, n_docs=2, max_tokens=16, ctx=ctx2, device="cpu")
    assert not any("captured" in n for n in ctx2.notes)          # served from the cache
    np.testing.assert_array_equal(again.arrays["hidden"], cap.arrays["hidden"])
    raw = bytearray(files[0].read_bytes())
    raw[-5] ^= 0xFF                                             # one flipped byte in the array file
    files[0].write_bytes(bytes(raw))
    ctx3 = Context(cache_dir=tmp_path)
    capture(["hidden"], model=path, n_docs=2, max_tokens=16, ctx=ctx3, device="cpu")
    assert any("captured hidden" in n for n in ctx3.notes), "a corrupted cache file must be recomputed"


def test_device_cuda_without_a_gpu_is_unavailable():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    from quantproof.capture.models import resolve_device

    with pytest.raises(MeasurementUnavailable, match="no CUDA"):
        resolve_device("cuda")


def test_gpu_placement_and_dtype_rules(tmp_path):
    """Not run here on a GPU (none): the rules the CUDA path follows, checked as functions."""
    import json

    from quantproof.capture.models import placement_kwargs, resolve_dtype

    assert placement_kwargs("cpu") == {}
    assert placement_kwargs("cuda") == {"device_map": "auto"}
    assert placement_kwargs("cuda:1") == {"device_map": {"": "cuda:1"}}
    (tmp_path / "config.json").write_text(json.dumps({"torch_dtype": "bfloat16"}))
    assert resolve_dtype("auto", "cuda", tmp_path) == "bfloat16"
    assert resolve_dtype("auto", "cpu", tmp_path) == "float32"
    assert resolve_dtype("float16", "cuda", tmp_path) == "float16"

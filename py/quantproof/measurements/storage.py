"""Seed 000's storage prototypes: E8⊕E8 coding of SmolLM2's real K/V cache and of a real MLP weight matrix, with
the bytes of the coded form counted as stored (see :mod:`quantproof.subjects.storage`).

``e8store_kv``: K and V as cached by SmolLM2-135M (post-RoPE keys, values; 30 layers × 3 KV heads × 64) on
held-out documents; fidelity of the rows and of the causal attention outputs with the real (post-RoPE) queries.

``e8store_weight``: one MLP matrix, SmolLM2 ``up_proj`` (1536×576, dequantised Q4_1: the seed's fp16 baseline
does not exist for it, note) or MiniLM ``intermediate`` (1536×384, fp32); fidelity of the rows and of ``x Wᵀ`` on
the matrix's real inputs (the tensor entering the matrix in a forward pass over held-out documents) at
``resolution``; with ``target_bits`` > 0 also (``target_*`` outputs) at the resolution found by bisection whose
entropy-coded size (codes at their empirical entropy plus fp16 scales) is ``target_bits`` per weight, e.g. the
bits per weight implied by a claimed footprint.
"""

from __future__ import annotations

import numpy as np

from ..evidence.measurement import Context, Estimate, Result, measurement

_CODED = {
    "ratio_int8": "fp16 bytes / (int8 doubled-E8 coordinates + fp16 scales) bytes",
    "ratio_packed": "fp16 bytes / (bit-packed coordinates + fp16 scales) bytes",
    "ratio_entropy": "fp16 bytes / (zeroth-order entropy of the codes + fp16 scales): an ideal-coder bound",
    "bits_packed": "stored bits per value of the packed form (scales included)",
    "fp16_mb": "size of the fp16 tensor in MB (10^6 bytes)",
    "int8_mb": "size of the int8 coded form in MB",
}


def _coded_outputs(c) -> dict[str, Estimate]:
    return {
        "ratio_int8": Estimate(c.ratio_int8, method="bytes counted from the stored arrays"),
        "ratio_packed": Estimate(c.ratio_packed, method=f"np.packbits at {c.code_bits} bits/coordinate"),
        "ratio_entropy": Estimate(c.ratio_entropy, method="empirical entropy of the codes"),
        "bits_packed": Estimate(c.bits_per_value_packed, unit="bits/value"),
        "fp16_mb": Estimate(c.fp16_bytes / 1e6, unit="MB"),
        "int8_mb": Estimate(c.int8_bytes / 1e6, unit="MB"),
    }


@measurement("e8store_kv", exact={'bits_packed': 'bytes counted as stored: exact arithmetic on the shapes and the codes', 'fp16_mb': 'bytes counted as stored: exact arithmetic on the shapes and the codes', 'int8_mb': 'bytes counted as stored: exact arithmetic on the shapes and the codes', 'ratio_int8': 'bytes counted as stored: exact arithmetic on the shapes and the codes', 'ratio_packed': 'bytes counted as stored: exact arithmetic on the shapes and the codes'}, on_model=True, outputs={
    **_CODED,
    "recon_cos_k": "cosine of reconstructed and original keys (all values pooled)",
    "recon_cos_v": "cosine of reconstructed and original values (pooled)",
    "attn_out_cos": "cosine of causal attention outputs with coded vs original K and V (pooled, per document "
                    "mean with bootstrap CI)",
}, timeout_s=900.0, description="E8⊕E8 coding of SmolLM2-135M's real K/V cache: bytes, ratios, fidelity")
def e8store_kv(ctx: Context, *, n_docs: int = 2, max_tokens: int = 128, scale: str = "rms",
               resolution: float = 1.0, model: str = "smollm2") -> Result:
    """``model``: the causal LM whose K/V cache is coded (a shipped name or a local checkpoint)."""
    import torch

    from ..capture import arch as A
    from ..capture import corpus as C
    from ..capture.models import load_model
    from ..evidence.measurement import MeasurementUnavailable
    from ..subjects.e8_bottleneck import boot_mean
    from ..subjects.storage import attention_outputs, code_rows, cosine, kv_cache

    torch.set_num_threads(max(1, min(torch.get_num_threads(), 2)))
    name = model
    model, tok, info = load_model(name, device=ctx.device, ctx=ctx, kind="causal_lm")
    corp = C.load_corpus("wiki+lee", ctx)
    docs = C.select_documents(corp, "heldout", n_docs, ctx.seed)
    try:
        kv = kv_cache(model, tok, [d.text for d in docs], max_tokens)
    except A.NotApplicable as exc:
        raise MeasurementUnavailable(f"not applicable to {info.name} ({info.arch}): {exc}") from exc
    hd = kv[0][0].shape[-1]
    K = np.concatenate([a[0].reshape(-1, hd) for a in kv])
    V = np.concatenate([a[1].reshape(-1, hd) for a in kv])
    ctx.note_tensor("e8store/K", K)
    ctx.note_tensor("e8store/V", V)
    both = np.concatenate([K, V])
    cb = code_rows(both, scale=scale, resolution=resolution)
    ck = code_rows(K, scale=scale, resolution=resolution)
    cv = code_rows(V, scale=scale, resolution=resolution)
    per_doc = []
    for k, v, q in kv:
        kr = code_rows(k.reshape(-1, hd), scale=scale, resolution=resolution).recon.reshape(k.shape)
        vr = code_rows(v.reshape(-1, hd), scale=scale, resolution=resolution).recon.reshape(v.shape)
        per_doc.append(cosine(attention_outputs(q, k, v), attention_outputs(q, kr, vr)))
    m, lo, hi = boot_mean(np.array(per_doc), ctx.rng(3), 1000)
    out = _coded_outputs(cb)
    out["recon_cos_k"] = Estimate(cosine(K, ck.recon))
    out["recon_cos_v"] = Estimate(cosine(V, cv.recon))
    out["attn_out_cos"] = Estimate(m, lo, hi, n=len(per_doc), level=0.95, method="per-document cosine, bootstrap")
    return Result(outputs=out, details={
        "shape_per_doc": list(kv[0][0].shape), "n_values": cb.n_values, "fp16_bytes": cb.fp16_bytes,
        "int8_bytes": cb.int8_bytes, "packed_bytes": cb.packed_bytes, "code_range": [cb.code_min, cb.code_max],
        "code_bits": cb.code_bits, "entropy_bits": cb.entropy_bits_per_value, "scale_bytes": cb.scale_bytes,
        "docs": [d.doc_id for d in docs], "scale": scale, "resolution": resolution,
        "stored_form": "int8 doubled E8 coordinates per 16-block + one fp16 scale per 64-dim head row",
    }, model=info.describe())


def _mlp_inputs(model_name: str, layer: int, matrix: str, texts: list[str], ctx: Context, max_tokens: int):
    """(W, X): the weight matrix (out, in) and the real inputs (tokens, in) entering it. ``matrix`` names an MLP
    matrix of the architecture (:meth:`quantproof.capture.arch.Adapter.mlp_weights`: ``up_proj`` for Llama/Qwen2/
    Gemma, ``intermediate`` for BERT, ``c_fc`` for GPT-2/GPT-Neo); the up-projection names are interchangeable
    (``up_proj`` on GPT-2 is its ``c_fc``)."""
    import torch

    from ..capture import arch as A
    from ..capture.models import load_model

    model, tok, info = load_model(model_name, device=ctx.device, ctx=ctx)
    ad = A.adapter(model)
    n = ad.n_layers()
    if not -n <= layer < n:
        raise ValueError(f"layer {layer} out of range for {n} layers")
    mats = ad.mlp_weights(layer % n)
    alias = {"up_proj": ("c_fc", "intermediate"), "c_fc": ("up_proj", "intermediate"),
             "intermediate": ("up_proj", "c_fc"), "down_proj": ("c_proj", "output"), "c_proj": ("down_proj", "output"),
             "output": ("down_proj", "c_proj")}
    name = matrix if matrix in mats else next((a for a in alias.get(matrix, ()) if a in mats), None)
    if name is None:
        raise ValueError(f"matrix {matrix!r} not in {info.arch}'s MLP (has: {', '.join(mats)})")
    lin = _mlp_module(ad, layer % n, name)
    xs = []
    h = lin.register_forward_hook(lambda m, a, o: xs.append(a[0].detach().reshape(-1, a[0].shape[-1]).float().cpu()))
    try:
        for t in texts:
            enc = tok(t, return_tensors="pt", truncation=True, max_length=max_tokens)
            with torch.no_grad():
                model(**{k: v.to(ad.embeddings_device()) for k, v in enc.items()})
    finally:
        h.remove()
    W = mats[name].detach().float().cpu().numpy()
    return W, torch.cat(xs).numpy(), info


def _mlp_module(ad, layer: int, name: str):
    """The module that applies MLP matrix ``name`` of ``layer`` (its input is what the hook records)."""
    blk = ad.layers()[layer]
    if name in ("intermediate", "output"):
        return getattr(blk, name).dense
    return getattr(blk.mlp, name)


@measurement("e8store_weight", exact={'bits_packed': 'bytes counted as stored: exact arithmetic on the shapes and the codes', 'fp16_mb': 'bytes counted as stored: exact arithmetic on the shapes and the codes', 'int8_mb': 'bytes counted as stored: exact arithmetic on the shapes and the codes', 'ratio_int8': 'bytes counted as stored: exact arithmetic on the shapes and the codes', 'ratio_packed': 'bytes counted as stored: exact arithmetic on the shapes and the codes', 'recon_cos': 'computed on the whole weight matrix (the population, nothing sampled)', 'target_recon_cos': 'computed on the whole weight matrix (the population, nothing sampled)', 'target_resolution': 'the resolution solved for, deterministic on the whole matrix'}, on_model=True, outputs={
    **_CODED,
    "recon_cos": "cosine of the reconstructed and original weight matrix",
    "out_cos": "cosine of x Wᵀ with the coded vs the original matrix on real inputs (pooled)",
    "entropy_bits": "entropy-coded bits per weight (codes + fp16 scales) at `resolution`",
    "target_out_cos": "out_cos at the resolution whose entropy-coded size is `target_bits` per weight (if > 0)",
    "target_recon_cos": "recon_cos at that resolution",
    "target_resolution": "that resolution",
}, timeout_s=900.0, description="E8⊕E8 coding of a real MLP weight matrix: bytes, ratios, output fidelity")
def e8store_weight(ctx: Context, *, model: str = "smollm2", layer: int = 15, matrix: str = "up_proj",
                   scale: str = "rms", resolution: float = 1.0, target_bits: float = 0.0, n_docs: int = 2,
                   max_tokens: int = 128) -> Result:
    import torch

    from ..capture import corpus as C
    from ..subjects.storage import code_rows, cosine

    torch.set_num_threads(max(1, min(torch.get_num_threads(), 2)))
    corp = C.load_corpus("wiki+lee", ctx)
    docs = C.select_documents(corp, "heldout", n_docs, ctx.seed)
    W, X, info = _mlp_inputs(model, layer, matrix, [d.text for d in docs], ctx, max_tokens)
    ctx.note_tensor(f"e8store/{model}/L{layer}.{matrix}", W)

    def total_bits(c) -> float:
        return (c.n_values * c.entropy_bits_per_value + 8 * c.scale_bytes) / c.n_values

    c = code_rows(W, scale=scale, resolution=resolution)
    out = _coded_outputs(c)
    Y = X @ W.T
    out["recon_cos"] = Estimate(cosine(W, c.recon))
    out["out_cos"] = Estimate(cosine(Y, X @ c.recon.T), n=int(X.shape[0]), method="pooled over tokens and outputs")
    out["entropy_bits"] = Estimate(total_bits(c), unit="bits/weight")
    tres = float("nan")
    if target_bits > 0:
        lo, hi = 1e-3, 64.0
        for _ in range(40):
            mid = (lo * hi) ** 0.5
            if total_bits(code_rows(W, scale=scale, resolution=mid)) > target_bits:
                hi = mid
            else:
                lo = mid
        tres = lo
        ct = code_rows(W, scale=scale, resolution=tres)
        out["target_recon_cos"] = Estimate(cosine(W, ct.recon))
        out["target_out_cos"] = Estimate(cosine(Y, X @ ct.recon.T), n=int(X.shape[0]),
                                         method=f"at the resolution whose entropy-coded size is {target_bits} "
                                                "bits/weight (ideal coder: an optimistic bound)")
        out["target_resolution"] = Estimate(float(tres))
    return Result(outputs=out, details={
        "matrix": f"{model} layer {layer} {matrix}", "shape": list(W.shape), "n_inputs": int(X.shape[0]),
        "weights_stored_as": info.quantization, "code_range": [c.code_min, c.code_max], "code_bits": c.code_bits,
        "fp16_bytes": c.fp16_bytes, "int8_bytes": c.int8_bytes, "packed_bytes": c.packed_bytes,
        "scale_bytes": c.scale_bytes, "target_bits": target_bits, "target_resolution": tres, "docs": [d.doc_id for d in docs],
    }, model=info.describe())

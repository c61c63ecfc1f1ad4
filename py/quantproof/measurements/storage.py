"""Seed 000's storage prototypes: E8⊕E8 coding of SmolLM2's real K/V cache and of a real MLP weight matrix, with
the bytes of the coded form counted as stored (see :mod:`quantproof.subjects.storage`).

``e8store_kv``: K and V as cached by SmolLM2-135M (post-RoPE keys, values; 30 layers × 3 KV heads × 64) on
held-out documents; fidelity of the rows and of the causal attention outputs with the real (post-RoPE) queries. With
``claimed_ratio`` > 0 (bound from the seed's "8×") the lattice resolution is the one whose entropy-coded size
(codes at their empirical entropy plus the fp16 scales) is 16/claimed_ratio bits per value, fitted on K/V of
calibration-split documents (disjoint from the evaluation documents); else ``resolution``. Controls in the same run:
the same fidelity at ``control_ratio`` (default 2×, the fp16 → int8 rate: a fine code) and the target-rate code
with its rows shuffled over positions (a code of the same rate that has lost which row is which).

``e8store_weight``: one MLP matrix, SmolLM2 ``up_proj`` (1536×576, dequantised Q4_1: the seed's fp16 baseline
does not exist for it, note) or MiniLM ``intermediate`` (1536×384, fp32); fidelity of the rows and of ``x Wᵀ`` on
the matrix's real inputs (the tensor entering the matrix in a forward pass over held-out documents) at
``resolution``; with ``claimed_ratio`` > 0 also (``target_*`` outputs) at the resolution found by bisection on the
whole matrix whose entropy-coded size is 16/claimed_ratio bits per weight, and the same code with its rows
shuffled (a null code of that rate).

Uncertainty: byte counts and whole-matrix quantities are exact; output cosines are ratio estimators pooled over
tokens, with a percentile bootstrap over documents (the independent unit).
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
_BYTES = "bytes counted as stored: exact arithmetic on the shapes and the codes"
_WHOLE = "computed on the whole weight matrix (the population, nothing sampled)"


def _coded_outputs(c) -> dict[str, Estimate]:
    return {
        "ratio_int8": Estimate(c.ratio_int8, method="bytes counted from the stored arrays"),
        "ratio_packed": Estimate(c.ratio_packed, method=f"np.packbits at {c.code_bits} bits/coordinate"),
        "ratio_entropy": Estimate(c.ratio_entropy, method="empirical entropy of the codes"),
        "bits_packed": Estimate(c.bits_per_value_packed, unit="bits/value"),
        "fp16_mb": Estimate(c.fp16_bytes / 1e6, unit="MB"),
        "int8_mb": Estimate(c.int8_bytes / 1e6, unit="MB"),
    }


def total_bits(c) -> float:
    """Entropy-coded bits per value: codes at their empirical entropy plus the fp16 scales."""
    return (c.n_values * c.entropy_bits_per_value + 8 * c.scale_bytes) / c.n_values


def resolution_for_bits(X: np.ndarray, bits: float, *, scale: str = "rms", lo: float = 1e-3, hi: float = 1e3,
                        steps: int = 24, max_rows: int = 16384, seed: int = 0) -> float:
    """The largest resolution (bisection on a log scale) whose entropy-coded size of X's rows is ≤ ``bits`` per
    value (the size grows with the resolution). Rate searches use at most ``max_rows`` rows drawn at random (the
    rate is a property of the rows' distribution; the size of the whole tensor at the result is reported
    separately)."""
    from ..subjects.storage import entropy_coded_bits

    X = np.asarray(X, dtype=np.float32).reshape(-1, np.shape(X)[-1])
    if len(X) > max_rows:
        X = X[np.random.default_rng(seed).choice(len(X), max_rows, replace=False)]
    for _ in range(steps):
        mid = (lo * hi) ** 0.5
        if entropy_coded_bits(X, scale=scale, resolution=mid) > bits:
            hi = mid
        else:
            lo = mid
    return lo


def pooled_cosine_boot(parts: list[tuple[float, float, float]], rng: np.random.Generator, n_boot: int = 1000,
                       level: float = 0.95) -> tuple[float, float, float]:
    """cos = Σ⟨a,b⟩ / √(Σ‖a‖² Σ‖b‖²) pooled over units given (⟨a,b⟩, ‖a‖², ‖b‖²) per unit, with a percentile
    bootstrap over the units."""
    P = np.asarray(parts, dtype=float)

    def cos(M: np.ndarray) -> float:
        s = M.sum(0)
        return float(s[0] / np.sqrt(s[1] * s[2]))

    v = cos(P)
    if len(P) < 2:
        return v, v, v
    bs = [cos(P[rng.integers(0, len(P), len(P))]) for _ in range(n_boot)]
    a = (1 - level) / 2
    return v, float(np.quantile(bs, a)), float(np.quantile(bs, 1 - a))


def _parts(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    return float(a @ b), float(a @ a), float(b @ b)


@measurement("e8store_kv", exact={k: _BYTES for k in ("bits_packed", "fp16_mb", "int8_mb", "ratio_int8",
                                                      "ratio_packed", "ratio_entropy")},
             on_model=True, outputs={
    **_CODED,
    "resolution": "lattice resolution used (fitted to the target rate on calibration documents when claimed_ratio "
                  "> 0)",
    "recon_cos_k": "cosine of reconstructed and original keys (pooled; document bootstrap)",
    "recon_cos_v": "cosine of reconstructed and original values (pooled; document bootstrap)",
    "attn_out_cos": "cosine of causal attention outputs with coded vs original K and V (pooled over layers, heads "
                    "and positions; document bootstrap)",
    "attn_out_cos_control": "attn_out_cos at the resolution of control_ratio (a fine code: should keep attention)",
    "attn_out_cos_shuffled": "attn_out_cos of the target-rate code with its K/V rows shuffled over positions "
                             "(null: the code without its row assignment)",
}, timeout_s=900.0, description="E8⊕E8 coding of SmolLM2-135M's real K/V cache: bytes, ratios, fidelity")
def e8store_kv(ctx: Context, *, n_docs: int = 8, n_cal_docs: int = 2, max_tokens: int = 96, scale: str = "rms",
               resolution: float = 1.0, claimed_ratio: float = 0.0, control_ratio: float = 2.0,
               model: str = "smollm2") -> Result:
    """``model``: the causal LM whose K/V cache is coded (a shipped name or a local checkpoint)."""
    import torch

    from ..capture import arch as A
    from ..capture import corpus as C
    from ..capture.models import load_model
    from ..evidence.measurement import MeasurementUnavailable
    from ..subjects.storage import attention_outputs, code_rows, kv_cache

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
    fit = {}
    res_t, res_c = resolution, None
    if claimed_ratio > 0:
        cal = C.select_documents(corp, "calibration", n_cal_docs, ctx.seed)
        kvc = kv_cache(model, tok, [d.text for d in cal], max_tokens)
        both_c = np.concatenate([np.concatenate([a[0].reshape(-1, hd), a[1].reshape(-1, hd)]) for a in kvc])
        res_t = resolution_for_bits(both_c, 16.0 / claimed_ratio, scale=scale, seed=ctx.seed)
        res_c = resolution_for_bits(both_c, 16.0 / control_ratio, scale=scale, seed=ctx.seed)
        fit = {"target_bits": 16.0 / claimed_ratio, "control_bits": 16.0 / control_ratio,
               "target_resolution": res_t, "control_resolution": res_c, "cal_docs": [d.doc_id for d in cal]}
    cb = code_rows(np.concatenate([K, V]), scale=scale, resolution=res_t)
    rng = ctx.rng(3)
    perm_rng = ctx.rng(5)
    parts: dict[str, list] = {"attn": [], "control": [], "shuffled": [], "k": [], "v": []}
    for k, v, q in kv:
        def coded(r: float):
            kr = code_rows(k.reshape(-1, hd), scale=scale, resolution=r).recon.reshape(k.shape)
            vr = code_rows(v.reshape(-1, hd), scale=scale, resolution=r).recon.reshape(v.shape)
            return kr, vr

        ref = attention_outputs(q, k, v)
        kr, vr = coded(res_t)
        parts["attn"].append(_parts(ref, attention_outputs(q, kr, vr)))
        parts["k"].append(_parts(k, kr))
        parts["v"].append(_parts(v, vr))
        T = k.shape[2]
        ks, vs = kr.copy(), vr.copy()
        for li in range(k.shape[0]):
            for hi in range(k.shape[1]):
                ks[li, hi] = kr[li, hi, perm_rng.permutation(T)]
                vs[li, hi] = vr[li, hi, perm_rng.permutation(T)]
        parts["shuffled"].append(_parts(ref, attention_outputs(q, ks, vs)))
        if res_c is not None:
            kc, vc = coded(res_c)
            parts["control"].append(_parts(ref, attention_outputs(q, kc, vc)))

    def est(name: str, what: str) -> Estimate:
        m, lo, hi = pooled_cosine_boot(parts[name], rng)
        return Estimate(m, lo, hi, n=len(parts[name]), level=0.95,
                        method=f"{what}: pooled cosine, percentile bootstrap over documents")

    out = _coded_outputs(cb)
    out["resolution"] = Estimate(float(res_t))
    out["recon_cos_k"] = est("k", "keys")
    out["recon_cos_v"] = est("v", "values")
    out["attn_out_cos"] = est("attn", "attention outputs")
    out["attn_out_cos_shuffled"] = est("shuffled", "attention outputs with the code's rows shuffled")
    if parts["control"]:
        out["attn_out_cos_control"] = est("control", f"attention outputs at {control_ratio}×")
    return Result(outputs=out, details={
        "shape_per_doc": list(kv[0][0].shape), "n_values": cb.n_values, "fp16_bytes": cb.fp16_bytes,
        "int8_bytes": cb.int8_bytes, "packed_bytes": cb.packed_bytes, "code_range": [cb.code_min, cb.code_max],
        "code_bits": cb.code_bits, "entropy_bits": cb.entropy_bits_per_value, "scale_bytes": cb.scale_bytes,
        "total_bits_per_value": total_bits(cb), "docs": [d.doc_id for d in docs], "scale": scale,
        "resolution": res_t, "fit": fit,
        "stored_form": "int8 doubled E8 coordinates per 16-block + one fp16 scale per 64-dim head row",
    }, model=info.describe())


def _mlp_inputs(model_name: str, layer: int, matrix: str, texts: list[str], ctx: Context, max_tokens: int):
    """(W, [X per text], info): the weight matrix (out, in), the real inputs (tokens, in) entering it for each text,
    and the model's info. ``matrix`` names an MLP matrix of the architecture
    (:meth:`quantproof.capture.arch.Adapter.mlp_weights`: ``up_proj`` for Llama/Qwen2/Gemma, ``intermediate`` for
    BERT, ``c_fc`` for GPT-2/GPT-Neo); the up-projection names are interchangeable (``up_proj`` on GPT-2 is its
    ``c_fc``)."""
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
    return W, [x.numpy() for x in xs], info


def _mlp_module(ad, layer: int, name: str):
    """The module that applies MLP matrix ``name`` of ``layer`` (its input is what the hook records)."""
    blk = ad.layers()[layer]
    if name in ("intermediate", "output"):
        return getattr(blk, name).dense
    return getattr(blk.mlp, name)


@measurement("e8store_weight", exact={**{k: _BYTES for k in ("bits_packed", "fp16_mb", "int8_mb", "ratio_int8",
                                                             "ratio_packed", "ratio_entropy")},
                                      "recon_cos": _WHOLE, "target_recon_cos": _WHOLE, "entropy_bits": _WHOLE,
                                      "target_resolution": "the resolution solved for, deterministic on the whole "
                                                           "matrix"},
             on_model=True, outputs={
    **_CODED,
    "recon_cos": "cosine of the reconstructed and original weight matrix",
    "out_cos": "cosine of x Wᵀ with the coded vs the original matrix on real inputs at `resolution` (pooled over "
               "tokens and outputs; document bootstrap)",
    "entropy_bits": "entropy-coded bits per weight (codes + fp16 scales) at `resolution`",
    "target_out_cos": "out_cos at the resolution whose entropy-coded size is 16/claimed_ratio bits per weight",
    "target_out_cos_shuffled": "target_out_cos with the coded matrix's rows shuffled (null: a code of that rate "
                               "that has lost the matrix)",
    "target_recon_cos": "recon_cos at that resolution",
    "target_resolution": "that resolution",
}, timeout_s=900.0, description="E8⊕E8 coding of a real MLP weight matrix: bytes, ratios, output fidelity")
def e8store_weight(ctx: Context, *, model: str = "smollm2", layer: int = 15, matrix: str = "up_proj",
                   scale: str = "rms", resolution: float = 1.0, claimed_ratio: float = 0.0, n_docs: int = 8,
                   max_tokens: int = 64) -> Result:
    import torch

    from ..capture import corpus as C
    from ..subjects.storage import code_rows, cosine

    torch.set_num_threads(max(1, min(torch.get_num_threads(), 2)))
    corp = C.load_corpus("wiki+lee", ctx)
    docs = C.select_documents(corp, "heldout", n_docs, ctx.seed)
    W, Xs, info = _mlp_inputs(model, layer, matrix, [d.text for d in docs], ctx, max_tokens)
    ctx.note_tensor(f"e8store/{model}/L{layer}.{matrix}", W)
    rng = ctx.rng(7)

    def out_cos(What: np.ndarray, what: str) -> Estimate:
        m, lo, hi = pooled_cosine_boot([_parts(X @ W.T, X @ What.T) for X in Xs], rng)
        return Estimate(m, lo, hi, n=len(Xs), level=0.95,
                        method=f"{what}: pooled over tokens and outputs, percentile bootstrap over documents")

    c = code_rows(W, scale=scale, resolution=resolution)
    out = _coded_outputs(c)
    out["recon_cos"] = Estimate(cosine(W, c.recon))
    out["out_cos"] = out_cos(c.recon, f"at resolution {resolution}")
    out["entropy_bits"] = Estimate(total_bits(c), unit="bits/weight")
    tres = float("nan")
    if claimed_ratio > 0:
        tbits = 16.0 / claimed_ratio
        tres = resolution_for_bits(W, tbits, scale=scale, hi=64.0, max_rows=len(W))
        ct = code_rows(W, scale=scale, resolution=tres)
        out["target_recon_cos"] = Estimate(cosine(W, ct.recon))
        out["target_out_cos"] = out_cos(ct.recon, f"at {tbits:.4g} bits/weight (ideal coder: an optimistic bound)")
        shuffled = ct.recon[ctx.rng(9).permutation(W.shape[0])]
        out["target_out_cos_shuffled"] = out_cos(shuffled, f"at {tbits:.4g} bits/weight, rows shuffled (null)")
        out["target_resolution"] = Estimate(float(tres))
    return Result(outputs=out, details={
        "matrix": f"{model} layer {layer} {matrix}", "shape": list(W.shape), "n_inputs": int(sum(len(x) for x in Xs)),
        "weights_stored_as": info.quantization, "code_range": [c.code_min, c.code_max], "code_bits": c.code_bits,
        "fp16_bytes": c.fp16_bytes, "int8_bytes": c.int8_bytes, "packed_bytes": c.packed_bytes,
        "scale_bytes": c.scale_bytes, "claimed_ratio": claimed_ratio, "target_resolution": tres,
        "docs": [d.doc_id for d in docs],
    }, model=info.describe())

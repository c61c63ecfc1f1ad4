"""Seed 001's "Leech" attention: a frozen block-diagonal 24×24 orthogonal kernel on Q and K.

``leech_scores``: on SmolLM2-135M's real queries and keys (post-RoPE; head_dim 64 = two 24-blocks + 16 identity
coordinates), the scores with and without the kernel differ by rounding only. Folding the same kernel in *before*
RoPE (into W_q / W_k) changes them, because a general orthogonal matrix does not commute with RoPE's rotations: that
variant is reported as a control (``pre_rope_rel``), not as a property of the seed's model (which uses learned
absolute position embeddings, where the kernel cancels exactly).

``leech_train``: a small pre-norm transformer (learned positions, like the seed's LeechTransformer) trained on
byte-level calibration text for a few steps, from identical seeds on identical batches, with and without the
frozen kernel (and, as a contrast, with a fixed non-orthogonal invertible matrix, which is a reparametrisation).
"""

from __future__ import annotations

import numpy as np

from ..evidence.measurement import Context, Estimate, Plot, Result, Series, measurement


@measurement("leech_scores", exact={'post_rope_rel': 'a maximum over every evaluated input: one input with a large value is an exact counterexample', 'post_rope_rel_fp64': 'a maximum over every evaluated input: one input with a large value is an exact counterexample', 'pre_rope_rel': 'a maximum over every evaluated input: one input with a large value is an exact counterexample', 'attn_out_max_abs': 'a maximum over every evaluated input: one input with a large value is an exact counterexample'}, on_model=True, outputs={
    "post_rope_rel": "max |S − S_kernel| / max |S| over layers, heads, documents (kernel after RoPE, fp32)",
    "post_rope_rel_fp64": "the same in float64",
    "pre_rope_rel": "max relative score change when the kernel is folded in before RoPE (control)",
    "attn_out_max_abs": "max |attention output difference| (kernel after RoPE, fp64)",
}, timeout_s=900.0, description="frozen block-diagonal orthogonal kernel on SmolLM2's real Q/K: score invariance")
def leech_scores(ctx: Context, *, n_docs: int = 2, max_tokens: int = 64, layers: str = "0,10,20,29") -> Result:
    import torch

    from ..capture import corpus as C
    from ..capture.models import load_smollm2
    from ..math.attention import rope, softmax_attention
    from ..subjects.leech import block_diag_kernel, score_invariance
    from ..subjects.storage import kv_cache

    torch.set_num_threads(max(1, min(torch.get_num_threads(), 2)))
    model, tok, info = load_smollm2(device=ctx.device, ctx=ctx)
    corp = C.load_corpus("wiki+lee", ctx)
    docs = C.select_documents(corp, "heldout", n_docs, ctx.seed)
    kv = kv_cache(model, tok, [d.text for d in docs], max_tokens)
    hd = kv[0][0].shape[-1]
    R = block_diag_kernel(hd)
    base = float(getattr(model.config, "rope_parameters", {}).get("rope_theta", 10000.0)) \
        if isinstance(getattr(model.config, "rope_parameters", None), dict) else \
        float(getattr(model.config, "rope_theta", 10000.0))
    Rt = R.T  # rows act as x ↦ x Rᵀ (CONTRIBUTING convention); R orthogonal so either side is a kernel
    post32 = post64 = pre = out_diff = 0.0
    lay = [int(x) for x in layers.split(",")]
    for k, v, q in kv:
        T = q.shape[2]
        pos = np.arange(T)
        G = q.shape[1] // k.shape[1]
        for li in lay:
            for h in range(q.shape[1]):
                qh, kh, vh = q[li, h], k[li, h // G], v[li, h // G]
                s = score_invariance(qh, kh, Rt)
                post32 = max(post32, s["rel_fp32"])
                post64 = max(post64, s["rel_fp64"])
                o0 = softmax_attention(qh, kh, vh, causal=True)
                o1 = softmax_attention(qh @ Rt, kh @ Rt, vh, causal=True)
                out_diff = max(out_diff, float(np.max(np.abs(o0 - o1))))
                # control: un-rotate RoPE to get pre-RoPE q/k, fold the kernel in first, rotate again
                qp = rope(qh.astype(np.float64), -pos, base, "half")
                kp = rope(kh.astype(np.float64), -pos, base, "half")
                S0 = qh.astype(np.float64) @ kh.astype(np.float64).T
                S1 = rope(qp @ Rt, pos, base, "half") @ rope(kp @ Rt, pos, base, "half").T
                mask = np.tril(np.ones_like(S0, dtype=bool))
                pre = max(pre, float(np.max(np.abs(S1 - S0)[mask]) / np.max(np.abs(S0[mask]))))
    return Result(outputs={
        "post_rope_rel": Estimate(post32, method="max over layers/heads/docs"),
        "post_rope_rel_fp64": Estimate(post64),
        "pre_rope_rel": Estimate(pre),
        "attn_out_max_abs": Estimate(out_diff),
    }, details={"kernel": "Paley H24/√24 blocks (quantproof.math.attention.leech_kernel) on coordinates 0..47, "
                          "identity on 48..63 (head_dim 64 is not a multiple of 24)",
                "layers": lay, "docs": [d.doc_id for d in docs], "rope_base": base}, model=info.describe())


@measurement("leech_train", exact={'max_loss_diff': 'a maximum over every evaluated input: one input with a large value is an exact counterexample', 'nonorth_max_loss_diff': 'a maximum over every evaluated input: one input with a large value is an exact counterexample', 'max_logit_diff_rel': 'a maximum over every evaluated input: one input with a large value is an exact counterexample'}, outputs={
    "max_loss_diff": "max |loss_kernel − loss_plain| over training steps (orthogonal kernel)",
    "max_logit_diff_rel": "max |logit difference| / max |logit| after training (orthogonal kernel)",
    "loss_drop": "first-step loss − last-step loss of the plain model (training did happen)",
    "nonorth_max_loss_diff": "max |loss difference| with a fixed non-orthogonal invertible kernel (contrast)",
}, timeout_s=600.0, description="tiny transformer trained with vs without the frozen orthogonal kernel")
def leech_train(ctx: Context, *, steps: int = 40, batch: int = 8, ctx_len: int = 64, d_model: int = 48,
                n_heads: int = 2, n_layers: int = 2, lr: float = 0.003, n_docs: int = 20) -> Result:
    import torch

    from ..capture import corpus as C
    from ..capture.models import resolve_device
    from ..subjects.leech import block_diag_kernel, train_pair

    torch.set_num_threads(max(1, min(torch.get_num_threads(), 2)))
    corp = C.load_corpus("wiki+lee", ctx)
    docs = C.select_documents(corp, "calibration", n_docs, ctx.seed)
    data = np.frombuffer(" ".join(d.text for d in docs).encode("utf-8"), dtype=np.uint8).astype(np.int64)
    hd = d_model // n_heads
    R = block_diag_kernel(hd)
    M = R * np.linspace(0.5, 2.0, hd)[None, :]          # invertible, not orthogonal
    o = train_pair(data, R, steps=steps, batch=batch, ctx_len=ctx_len, d_model=d_model, n_heads=n_heads,
                   n_layers=n_layers, lr=lr, seed=ctx.seed, device=resolve_device(ctx.device),
                   second_kernel=M)
    x = list(range(steps))
    return Result(outputs={
        "max_loss_diff": Estimate(o["max_abs_loss_diff"]),
        "max_logit_diff_rel": Estimate(o["max_abs_logit_diff"] / o["logit_scale"]),
        "loss_drop": Estimate(o["initial_loss"] - o["final_loss"], unit="nats/byte"),
        "nonorth_max_loss_diff": Estimate(o["max_abs_loss_diff_second"]),
    }, plots=[Plot(id="leech_train_curve", title="training loss with and without the frozen kernel",
                   x_label="step", y_label="cross-entropy (nats/byte)",
                   series=[Series("plain", x, o["loss_base"].tolist()),
                           Series("orthogonal kernel", x, o["loss_kernel"].tolist()),
                           Series("non-orthogonal kernel", x, o["loss_second"].tolist())])],
        details={"vocab": "bytes (256)", "head_dim": hd, "data_bytes": int(len(data)),
                 "kernel": "Paley H24/√24 block-diagonal (head_dim 24: one block)"},
        model="TinyLM (trained here)")

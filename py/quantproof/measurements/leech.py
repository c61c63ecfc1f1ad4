"""Seed 001's "Leech" attention: a frozen block-diagonal 24×24 orthogonal kernel on Q and K.

``leech_scores``: on SmolLM2-135M's real queries and keys (the calibration capture: pre-RoPE queries, rotated here
with the model's RoPE, and the model's post-RoPE keys; head_dim 64 = two 24-blocks + 16 identity coordinates), the
scores with and without the kernel differ by rounding only. Folding the same kernel in *before* RoPE (into W_q /
W_k) changes them, because a general orthogonal matrix does not commute with RoPE's rotations: that variant is the
should-fail control (``pre_rope_rel``: the measurement does see a change where there is one), not a property of the
seed's model (which uses learned absolute position embeddings, where the kernel cancels exactly).

``leech_train``: a small pre-norm transformer (learned positions, like the seed's LeechTransformer) trained on
byte-level calibration text for a few steps, from identical seeds on identical batches, with and without the
frozen kernel (and, as a contrast, with a fixed non-orthogonal invertible matrix, which is a reparametrisation).
"""

from __future__ import annotations

import numpy as np

from ..evidence.measurement import Context, Estimate, MeasurementUnavailable, Plot, Result, Series, measurement

_MAX = "a maximum over every evaluated input: one input with a large value is an exact counterexample"


@measurement("leech_scores", exact={k: _MAX for k in ("post_rope_rel", "post_rope_rel_fp64", "pre_rope_rel",
                                                      "prob_max_abs")}, on_model=True, outputs={
    "post_rope_rel": "max |S − S_kernel| / max |S| over layers, heads, documents (kernel after RoPE, fp32)",
    "post_rope_rel_fp64": "the same in float64",
    "pre_rope_rel": "control: the same when the kernel is folded in before RoPE (into W_q / W_k), float64",
    "prob_max_abs": "max |attention probability difference| (kernel after RoPE, causal softmax, float64)",
}, timeout_s=900.0, description="frozen block-diagonal orthogonal kernel on SmolLM2's real Q/K: score invariance")
def leech_scores(ctx: Context, *, n_docs: int = 4, layers: str = "0,10,20,29", kernel: str = "paley") -> Result:
    """``kernel``: the 24×24 block, "paley" (the normalised Paley Hadamard matrix, our stand-in for the seed's
    placeholder) or "haar" (a Haar-random orthogonal block: another orthogonal frame)."""
    from ..math.attention import rope, softmax
    from ..subjects.leech import block_diag_kernel, score_invariance
    from . import _empirical as E

    cap = E.get_capture(ctx, "smollm2", ("q_pre_rope", "k_pre_rope", "k_post_rope"), "calibration",
                        E.STD_DOCS["calibration"], E.STD_MAX_TOKENS)
    cfg = cap.meta.get("config") or {}
    theta = cfg.get("rope_theta")
    if not theta:
        raise MeasurementUnavailable("rope_theta missing from the capture metadata")
    H, KV, hd = cfg["n_heads"], cfg["n_kv_heads"], cfg["head_dim"]
    group = H // KV
    if kernel == "paley":
        R = block_diag_kernel(hd)
    elif kernel == "haar":
        from ..math.rotations import haar_orthogonal

        R = block_diag_kernel(hd, haar_orthogonal(24, ctx.rng(43)))
    else:
        raise ValueError(f"kernel must be 'paley' or 'haar' (got {kernel!r})")
    Rt = R.T  # rows act as x ↦ x Rᵀ (CONTRIBUTING convention); R orthogonal so either side is a kernel
    post32 = post64 = pre = prob = 0.0
    lay = E.parse_layers(layers, cap.n_layers("k_pre_rope"))
    docs = cap.doc_groups()[:n_docs]
    for li in lay:
        for kvh in range(KV):
            kpre_all = cap.head("k_pre_rope", li, kvh).astype(np.float64)
            kpost_all = cap.head("k_post_rope", li, kvh)
            for g in docs:
                pos = cap.positions[g]
                kp, k = kpre_all[g], kpost_all[g]
                mask = np.tril(np.ones((len(g), len(g)), dtype=bool))
                for qh in range(kvh * group, (kvh + 1) * group):
                    qp = cap.head("q_pre_rope", li, qh)[g].astype(np.float64)
                    q = rope(qp, pos, theta, "half")
                    s = score_invariance(q, k, Rt)
                    post32 = max(post32, s["rel_fp32"])
                    post64 = max(post64, s["rel_fp64"])
                    S0 = q @ k.astype(np.float64).T
                    S1 = (q @ Rt) @ (k.astype(np.float64) @ Rt).T
                    P0 = softmax(np.where(mask, S0 / np.sqrt(hd), -np.inf))
                    P1 = softmax(np.where(mask, S1 / np.sqrt(hd), -np.inf))
                    prob = max(prob, float(np.max(np.abs(P1 - P0))))
                    # control: the kernel folded in before RoPE (into W_q / W_k)
                    Sr = rope(qp, pos, theta, "half") @ rope(kp, pos, theta, "half").T
                    Sf = rope(qp @ Rt, pos, theta, "half") @ rope(kp @ Rt, pos, theta, "half").T
                    pre = max(pre, float(np.max(np.abs(Sf - Sr)[mask]) / np.max(np.abs(Sr[mask]))))
    n = len(lay) * H * len(docs)
    return Result(outputs={
        "post_rope_rel": Estimate(post32, n=n, method="max over layers/heads/docs"),
        "post_rope_rel_fp64": Estimate(post64, n=n, method="max over layers/heads/docs"),
        "pre_rope_rel": Estimate(pre, n=n, method="max over layers/heads/docs"),
        "prob_max_abs": Estimate(prob, n=n, method="max over layers/heads/docs"),
    }, details={"kernel": ("Paley H24/√24 blocks (quantproof.math.attention.leech_kernel)" if kernel == "paley" else
                           "a Haar-random orthogonal 24×24 block (seeded)") + " on coordinates 0..47, identity on "
                          "48..63 (head_dim 64 is not a multiple of 24)",
                "layers": lay, "n_docs": len(docs), "rope_theta": theta,
                "source": "captured pre-RoPE queries (RoPE applied here, rotate_half) and the model's post-RoPE "
                          "keys; the control folds the kernel in before RoPE"},
        model="SmolLM2-135M-Instruct (Q4_1 GGUF, dequantized fp32)")


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

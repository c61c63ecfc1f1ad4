"""Seed 003 sections 7 and 10 on SmolLM2's real queries and keys: attention-score gauge invariance under rotations
folded into W_q/W_k before RoPE vs applied after it (``gauge_invariance``), and front-token (attention-sink)
protection for 1-bit keys (``front_token_protection``).

Policy: RoPE is re-applied in float64 (quantproof.math.attention.rope, rotate-half pairing as transformers' Llama,
checked against the model's cached keys); gauge outputs that are maxima over every evaluated input are exact
counterexample quantities. Front-token protection is judged against the same computation protecting a random other
token of the same document (a null: any exact key removes some error); its intervals resample documents, the
independent unit (layers, heads and query positions of one document are not independent).
SmolLM2 runs dequantized from its shipped 4-bit (Q4_1) weights: its queries and keys are those of that model.
"""

from __future__ import annotations

import math

import numpy as np

from ..evidence.measurement import Context, Estimate, MeasurementUnavailable, Result, measurement
from . import _empirical as E
from ._kcache_data import beta as _beta
from ._kcache_data import boot_estimate, fit_transform, model_label, one_bit


def _rope_half(X: np.ndarray, pos: np.ndarray, theta: float) -> np.ndarray:
    """transformers' Llama RoPE ("rotate_half" pairing i ↔ i + d/2), float64 (quantproof.math.attention.rope)."""
    from ..math.attention import rope

    return rope(X, pos, base=theta, pairing="half")


def _rope_commuting(d: int, rng, pairing: str = "half") -> np.ndarray:
    """Orthogonal R with an independent 2×2 rotation on every RoPE plane of ``pairing``: commutes with that RoPE."""
    from ..math.attention import rope_commuting_rotation

    return rope_commuting_rotation(d, rng, pairing=pairing)


def _softmax_causal(S: np.ndarray) -> np.ndarray:
    T = S.shape[-1]
    S = np.where(np.tril(np.ones((T, T), bool)), S, -np.inf)
    S = S - S.max(-1, keepdims=True)
    P = np.exp(S)
    return P / P.sum(-1, keepdims=True)


_MAX = "a maximum over every evaluated input: one input with a large value is an exact counterexample"


@measurement(
    "gauge_invariance",
    exact={k: _MAX for k in ("folded_max_rel_err", "folded_max_prob_err", "post_rope_max_rel_err",
                             "commuting_folded_max_rel_err", "other_pairing_folded_max_rel_err",
                             "rope_reimpl_max_abs_err")},
    on_model=True,
    outputs={
        "post_rope_max_rel_err": "scores with Q, K rotated by the same R after RoPE vs original: max |ΔS| / max |S| "
                                 "(an identity: orthogonal R preserves inner products)",
        "folded_max_rel_err": "R folded into W_q, W_k (applied before RoPE): max |ΔS| / max |S|",
        "folded_max_prob_err": "R folded before RoPE: max abs difference of causal attention probabilities",
        "folded_mean_tv": "R folded before RoPE: mean total-variation distance of attention rows (descriptive)",
        "commuting_folded_max_rel_err": "R commuting with the model's RoPE (2×2 rotations on its planes) folded "
                                        "before RoPE",
        "other_pairing_folded_max_rel_err": "control: R made of 2×2 rotations on the planes of the *other* RoPE "
                                            "pairing (interleaved), folded before the model's RoPE",
        "rope_reimpl_max_abs_err": "our RoPE of k_proj outputs vs the model's cached keys (checks the setup)",
    },
    description="attention-score gauge invariance on real SmolLM2 queries/keys: rotation after RoPE vs folded "
                "into W_q/W_k before RoPE",
    timeout_s=600,
)
def gauge_invariance(ctx: Context, *, rotation: str = "haar", layers: str = "all", n_docs: int = 4,
                     iters: int = 30) -> Result:
    model = "smollm2"
    cal = E.get_capture(ctx, model, ("q_pre_rope", "k_pre_rope", "k_post_rope"), "calibration",
                        E.STD_DOCS["calibration"], E.STD_MAX_TOKENS)
    cfg = cal.meta.get("config") or {}
    theta = cfg.get("rope_theta")
    if not theta:
        raise MeasurementUnavailable("rope_theta missing from the capture metadata")
    H, KV, hd = cfg["n_heads"], cfg["n_kv_heads"], cfg["head_dim"]
    group = H // KV
    rng = ctx.rng(31)
    lay = E.parse_layers(layers, cal.n_layers("k_pre_rope"))
    docs = cal.doc_groups()[:n_docs]
    err = {"post": 0.0, "fold": 0.0, "comm": 0.0, "other": 0.0, "prob": 0.0, "rope": 0.0}
    tvs = []
    sq = math.sqrt(hd)
    for li in lay:
        for kvh in range(KV):
            kpre_all = cal.head("k_pre_rope", li, kvh).astype(np.float64)
            kpost_all = cal.head("k_post_rope", li, kvh).astype(np.float64)
            if rotation == "learned":
                from ..math.rotations import fit_l1_rotation

                R = fit_l1_rotation(kpost_all, center=False, iters=iters, rng=rng).R
            else:
                from ..math.rotations import haar_orthogonal

                R = haar_orthogonal(hd, rng)
            C = _rope_commuting(hd, rng, "half")
            O = _rope_commuting(hd, rng, "interleaved")
            for g in docs:
                pos = cal.positions[g]
                kp, kq = kpre_all[g], kpost_all[g]
                kr = _rope_half(kp, pos, theta)
                err["rope"] = max(err["rope"], float(np.abs(kr - kq).max()))
                mask = np.tril(np.ones((len(g), len(g)), bool))
                for qh in range(kvh * group, (kvh + 1) * group):
                    qp = cal.head("q_pre_rope", li, qh)[g].astype(np.float64)
                    q = _rope_half(qp, pos, theta)
                    S = q @ kr.T / sq
                    smax = float(np.abs(S).max())

                    def folded(M):
                        return _rope_half(qp @ M.T, pos, theta) @ _rope_half(kp @ M.T, pos, theta).T / sq

                    S_post = (q @ R.T) @ (kr @ R.T).T / sq
                    S_fold = folded(R)
                    err["post"] = max(err["post"], float(np.abs(S_post - S)[mask].max()) / smax)
                    err["fold"] = max(err["fold"], float(np.abs(S_fold - S)[mask].max()) / smax)
                    err["comm"] = max(err["comm"], float(np.abs(folded(C) - S)[mask].max()) / smax)
                    err["other"] = max(err["other"], float(np.abs(folded(O) - S)[mask].max()) / smax)
                    P, Pf = _softmax_causal(S), _softmax_causal(S_fold)
                    err["prob"] = max(err["prob"], float(np.abs(P - Pf).max()))
                    tvs.append(float(0.5 * np.abs(P - Pf).sum(-1).mean()))
    n = len(lay) * KV * len(docs)
    outs = {
        "post_rope_max_rel_err": Estimate(err["post"], n=n, method="max over layers, heads, documents (float64)"),
        "folded_max_rel_err": Estimate(err["fold"], n=n, method="max over layers, heads, documents"),
        "folded_max_prob_err": Estimate(err["prob"], n=n, method="max over layers, heads, documents"),
        "folded_mean_tv": Estimate(float(np.mean(tvs)), n=len(tvs), method="mean over query heads and documents "
                                                                          "(descriptive point estimate)"),
        "commuting_folded_max_rel_err": Estimate(err["comm"], n=n, method="max (float64)"),
        "other_pairing_folded_max_rel_err": Estimate(err["other"], n=n, method="max (float64)"),
        "rope_reimpl_max_abs_err": Estimate(err["rope"], n=n, method="max; keys stored fp32"),
    }
    return Result(outs, [], {"rotation": rotation, "layers": lay, "n_docs": len(docs), "rope_theta": theta,
                             "pairing": "rotate_half (i, i + d/2), as transformers' Llama"},
                  model=model_label(model))


# ------------------------------------------------------------------------------------------------ front tokens

def _decode(K: np.ndarray, Y: np.ndarray, Yq: np.ndarray) -> np.ndarray:
    """Invert an affine transform Y = (K − μ) Rᵀ fitted by least squares on (K, Y) and apply it to ``Yq``."""
    n, d = K.shape
    A = np.hstack([K, np.ones((n, 1))])
    coef, *_ = np.linalg.lstsq(A, Y, rcond=None)         # Y = K M + c
    M, c = coef[:d], coef[d]
    return np.linalg.solve(M.T, (Yq - c).T).T


@measurement(
    "front_token_protection", on_model=True,
    outputs={
        "tv_no_protect": "mean total variation between causal attention rows with exact and 1-bit keys",
        "tv_protect": "the same with the first `protect` tokens' keys kept exact",
        "tv_reduction": "1 − tv_protect / tv_no_protect (CI: bootstrap over documents)",
        "tv_reduction_random_token": "control: 1 − tv / tv_no_protect with `protect` random other positions of the "
                                     "same document kept exact instead (CI: bootstrap over documents)",
        "front_minus_random_reduction": "tv_reduction − tv_reduction_random_token (paired, bootstrap over "
                                        "documents)",
        "first_token_attention_mass": "mean attention probability on position 0 (exact keys; descriptive)",
        "first_token_beta_ratio": "β of position-0 keys / β of the other keys (after the transform; descriptive)",
    },
    description="front-token (attention-sink) protection for 1-bit keys on SmolLM2: attention TV distance, "
                "against protecting random other tokens",
    timeout_s=600,
)
def front_token_protection(ctx: Context, *, transform: str = "haar", protect: int = 1, layers: str = "all",
                           n_docs: int = 16, iters: int = 30, n_boot: int = 1000) -> Result:
    model = "smollm2"
    cal = E.get_capture(ctx, model, ("k_post_rope",), "calibration", E.STD_DOCS["calibration"],
                        E.STD_MAX_TOKENS)
    held = E.get_capture(ctx, model, ("q_pre_rope", "k_post_rope"), "heldout", E.STD_DOCS["heldout"],
                         E.STD_MAX_TOKENS)
    cfg = held.meta.get("config") or cal.meta.get("config") or {}
    theta, H, KV, hd = cfg["rope_theta"], cfg["n_heads"], cfg["n_kv_heads"], cfg["head_dim"]
    group = H // KV
    rng = ctx.rng(37)
    lay = E.parse_layers(layers, held.n_layers("k_post_rope"))
    docs = held.doc_groups()[:n_docs]
    # the random other positions protected in the control: drawn once per document (the same in every layer/head)
    prng = ctx.rng(59)
    rand_pos = []
    for g in docs:
        T = len(g)
        k = min(protect, max(0, T - protect))
        rand_pos.append(protect + prng.choice(T - protect, size=k, replace=False) if k else np.array([], int))
    # per document: sums of per-query TV over layers × query heads × query positions ≥ 1
    s0, s1, sr = (np.zeros(len(docs)) for _ in range(3))
    mass, b0, b1 = [], [], []
    for li in lay:
        for kvh in range(KV):
            T_, _ = fit_transform(transform, cal.head("k_post_rope", li, kvh).astype(np.float64), rng, iters)
            Kall = held.head("k_post_rope", li, kvh).astype(np.float64)
            Y = T_(Kall)
            first = held.positions == 0
            b0.append(_beta(Y[first]))
            b1.append(_beta(Y[~first]))
            Kq = _decode(Kall, Y, one_bit(Y))         # 1-bit code in the transformed space, mapped back
            for j, g in enumerate(docs):
                pos = held.positions[g]
                K, Kh = Kall[g], Kq[g]
                Kp, Kr = Kh.copy(), Kh.copy()
                Kp[pos < protect] = K[pos < protect]
                Kr[rand_pos[j]] = K[rand_pos[j]]
                for qh in range(kvh * group, (kvh + 1) * group):
                    q = _rope_half(held.head("q_pre_rope", li, qh)[g].astype(np.float64), pos, theta)
                    P = _softmax_causal(q @ K.T / math.sqrt(hd))
                    s0[j] += float(0.5 * np.abs(P - _softmax_causal(q @ Kh.T / math.sqrt(hd))).sum(-1)[1:].sum())
                    s1[j] += float(0.5 * np.abs(P - _softmax_causal(q @ Kp.T / math.sqrt(hd))).sum(-1)[1:].sum())
                    sr[j] += float(0.5 * np.abs(P - _softmax_causal(q @ Kr.T / math.sqrt(hd))).sum(-1)[1:].sum())
                    mass.append(float(P[1:, 0].mean()))
    cells = np.array([len(lay) * KV * group * (len(g) - 1) for g in docs], dtype=float)
    W = E.multinomial_weights(ctx.rng(41), len(docs), n_boot)
    red = lambda a, w=None: 1 - (a.sum() / s0.sum() if w is None else (w @ a) / (w @ s0))  # noqa: E731
    meth = f"percentile bootstrap over {len(docs)} held-out documents ({n_boot} draws)"
    n = int(cells.sum())
    outs = {
        "tv_no_protect": boot_estimate(s0.sum() / cells.sum(), (W @ s0) / (W @ cells), n=n, method=meth),
        "tv_protect": boot_estimate(s1.sum() / cells.sum(), (W @ s1) / (W @ cells), n=n, method=meth),
        "tv_reduction": boot_estimate(red(s1), red(s1, W), n=n, method=meth),
        "tv_reduction_random_token": boot_estimate(red(sr), red(sr, W), n=n, method=meth),
        "front_minus_random_reduction": boot_estimate(red(s1) - red(sr), red(s1, W) - red(sr, W), n=n, method=meth),
        "first_token_attention_mass": Estimate(float(np.mean(mass)), n=len(mass), method="mean (descriptive)"),
        "first_token_beta_ratio": Estimate(float(np.mean(b0) / np.mean(b1)), n=len(b0),
                                           method="ratio of means (descriptive)"),
    }
    return Result(outs, [], {"transform": transform, "protect": protect, "layers": lay, "n_docs": len(docs),
                             "random_positions": [p.tolist() for p in rand_pos]},
                  model=model_label(model))

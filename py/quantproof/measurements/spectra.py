"""Spectra of hidden states and sentence embeddings (seed 004: "Df = 1.7", "k = 9 for 95%", "6–10% error",
"Df ≈ 22 for embeddings", "cumulative variance curves correlate r > 0.9").

Seed 004 measured GPT-2, which is not available here; we measure SmolLM2-135M-Instruct (4-bit GGUF, dequantized)
and all-MiniLM-L6-v2 on English text from gensim's test data (``quantproof.capture``), so a match or mismatch is
"reproduced / not reproduced on our model", not a verdict on the seed's GPT-2 numbers.

Spectrum variants (``variant``):

* ``raw``: eigenvalues of the uncentered second moment XᵀX/n: what seed 004's ``np.linalg.svd(activations)``
  computes (its code never centers before the SVD);
* ``centered``: the covariance;
* ``no_first`` / ``no_first_centered``: the same without each sequence's first token (the attention sink, where
  massive activations live, Sun et al. 2024);
* ``standardized``: the correlation matrix (every dimension centered and scaled to unit variance), which removes
  the effect of a few rogue dimensions (Timkey & van Schijndel 2021).

Participation ratio PR = (Σλ)²/Σλ² (the seed's "effective rank Df"); k95 = the smallest k with C(k) ≥ 0.95.
Uncertainty: spectral statistics (PR, k95) use a leave-one-document-out jackknife (a with-replacement bootstrap
duplicates rows, which lowers the effective rank); reconstruction errors a percentile bootstrap over documents.
"""

from __future__ import annotations

import re

import numpy as np

from ..evidence.measurement import Context, Estimate, MeasurementUnavailable, Plot, Result, Series, measurement
from . import _empirical as E

VARIANTS = ("raw", "centered", "no_first", "no_first_centered", "standardized")
_LABEL = {"smollm2": "SmolLM2-135M-Instruct (Q4_1 GGUF, dequantized fp32)", "minilm": "all-MiniLM-L6-v2 (fp32)"}


def _label(model: str) -> str:
    return E.model_label(model)


def _prep(X: np.ndarray, positions: np.ndarray, variant: str) -> tuple[np.ndarray, bool]:
    """Rows to analyse and whether to center."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r} (known: {', '.join(VARIANTS)})")
    X = np.asarray(X, dtype=np.float64)
    if variant.startswith("no_first"):
        X = X[positions > 0]
    if variant == "standardized":
        X = X - X.mean(0)
        sd = X.std(0)
        X = X / np.where(sd > 0, sd, 1.0)
        return X, False
    return X, variant in ("centered", "no_first_centered")


def _summ(lam: np.ndarray, variance: float) -> dict[str, float]:
    from ..math.spectra import cumulative_variance, k_for_variance, participation_ratio

    C = cumulative_variance(lam)
    out = {"pr": participation_ratio(lam), "k": float(k_for_variance(lam, variance))}
    for k in (1, 2, 5, 9, 22):
        out[f"c{k}"] = float(C[min(k, len(C)) - 1])
    return out


def _hidden(ctx: Context, model: str, split: str):
    cap = E.get_capture(ctx, model, ("hidden",), split, E.STD_DOCS[split], E.STD_MAX_TOKENS)
    return cap


@measurement(
    "hidden_spectrum", exact={'dim': 'the hidden size of the model', 'n_tokens': 'a count'}, on_model=True,
    outputs={
        "participation_ratio": "PR = (Σλ)²/Σλ² of the chosen layer's hidden states (variant), jackknife CI over docs",
        "k95": "smallest k with cumulative variance ≥ `variance`",
        "cumvar_k1": "C(1)", "cumvar_k2": "C(2)", "cumvar_k5": "C(5)", "cumvar_k9": "C(9)", "cumvar_k22": "C(22)",
        "top_dim_share": "share of the total (second moment or variance, per variant) in the single largest "
                         "coordinate dimension",
        "top3_dim_share": "share in the three largest coordinate dimensions",
        "null_pr_isotropic": "PR of an isotropic Gaussian matrix of the same shape (simulated)",
        "n_tokens": "number of token vectors analysed",
        "dim": "hidden size",
    },
    description="participation ratio / k for 95% variance of hidden states: raw (seed 004's uncentered SVD), "
                "centered, without the first token, standardized; outlier dimensions",
    timeout_s=600,
)
def hidden_spectrum(ctx: Context, *, model: str = "smollm2", layer: int = -1, variant: str = "raw",
                    variance: float = 0.95) -> Result:
    cap = _hidden(ctx, model, "calibration")
    H = cap.arrays["hidden"]
    L = H.shape[0]
    li = layer + L if layer < 0 else layer
    X, center = _prep(H[li], cap.positions, variant)
    pos = cap.positions[cap.positions > 0] if variant.startswith("no_first") else cap.positions
    docs = cap.doc_index[cap.positions > 0] if variant.startswith("no_first") else cap.doc_index
    lam = E.spectrum(X, center)
    s = _summ(lam, variance)
    # outlier dimensions: per-coordinate share of the analysed quantity
    per_dim = (X - X.mean(0)).var(0) if center else np.mean(X * X, 0)
    per_dim = per_dim if variant != "standardized" else np.ones(X.shape[1])
    order = np.argsort(-per_dim)
    share = per_dim[order] / per_dim.sum()
    # leave-one-document-out jackknife (a with-replacement bootstrap duplicates rows and biases PR downwards)
    groups = [np.flatnonzero(docs == d) for d in np.unique(docs)]
    rng = ctx.rng(51)
    prs, ks = [], []
    for g in groups:
        keep = np.ones(len(X), bool)
        keep[g] = False
        Xb = X[keep]
        if variant == "standardized":
            Xb = Xb - Xb.mean(0)
            sd = Xb.std(0)
            Xb = Xb / np.where(sd > 0, sd, 1.0)
        sb = _summ(E.spectrum(Xb, center), variance)
        prs.append(sb["pr"])
        ks.append(sb["k"])
    G = rng.standard_normal(X.shape)
    null_pr = _summ(E.spectrum(G, True), variance)["pr"]
    meth = f"leave-one-document-out jackknife over {len(groups)} documents, normal interval"
    n = X.shape[0]

    def est(v, loo):
        lo, hi = E.jackknife_ci(v, loo)
        return Estimate(float(v), lo, hi, n=n, level=0.95, method=meth)

    # per-layer profile of this variant
    prof = []
    for j in range(L):
        Xj, cj = _prep(H[j], cap.positions, variant)
        prof.append(_summ(E.spectrum(Xj, cj), variance)["pr"])
    C = np.cumsum(lam) / lam.sum()
    kmax = min(64, len(C))
    outs = {
        "participation_ratio": est(s["pr"], prs),
        "k95": est(s["k"], ks),
        "cumvar_k1": Estimate(s["c1"], n=n), "cumvar_k2": Estimate(s["c2"], n=n), "cumvar_k5": Estimate(s["c5"], n=n),
        "cumvar_k9": Estimate(s["c9"], n=n), "cumvar_k22": Estimate(s["c22"], n=n),
        "top_dim_share": Estimate(float(share[0]), n=n, method=f"dimension {int(order[0])}"),
        "top3_dim_share": Estimate(float(share[:3].sum()), n=n,
                                   method=f"dimensions {', '.join(str(int(i)) for i in order[:3])}"),
        "null_pr_isotropic": Estimate(null_pr, n=n, method="one isotropic Gaussian draw of the same shape, centered"),
        "n_tokens": Estimate(float(n)),
        "dim": Estimate(float(X.shape[1])),
    }
    plots = [
        Plot(f"hidden_pr_profile_{model}_{variant}", f"Participation ratio per layer ({_label(model)}, "
             f"{variant})", "layer (0 = embeddings)", "PR", [Series(variant, list(range(L)), prof)], log_y=True),
        Plot(f"hidden_cumvar_{model}_{li}_{variant}", f"Cumulative variance, layer {li} ({variant})", "k", "C(k)",
             [Series(variant, list(range(1, kmax + 1)), C[:kmax].tolist())]),
    ]
    details = {"layer": li, "variant": variant, "top_dims": [int(i) for i in order[:10]],
               "top_dim_shares": [float(x) for x in share[:10]], "pr_per_layer": prof,
               "first_token_norm_ratio": float(np.linalg.norm(H[li][cap.positions == 0], axis=1).mean()
                                               / np.linalg.norm(H[li][cap.positions > 0], axis=1).mean()),
               "n_docs": len(groups)}
    return Result(outs, plots, details, model=_label(model))


@measurement(
    "pca_reconstruction", exact={'k_used': 'the k chosen', 'compression_ratio': 'd/k, arithmetic on the shapes'}, on_model=True,
    outputs={
        "rel_err": "‖X − X̂‖_F / ‖X‖_F on held-out documents, PCA fitted on calibration documents (k = k_used)",
        "rel_err_mean_only": "the same for X̂ = calibration mean (k = 0): the trivial baseline",
        "rel_err_k9": "rel_err with k = 9",
        "rel_err_no_first": "rel_err over the tokens at positions > 0 only (each sequence's first token excluded)",
        "token_rel_err_median": "median over held-out tokens of ‖x − x̂‖/‖x‖",
        "frac_var_unexplained": "‖X − X̂‖² / ‖X − μ‖² on held-out documents (the part of the variation lost)",
        "k_used": "number of components (k95 of the calibration spectrum when k = 0)",
        "compression_ratio": "hidden size / k_used",
    },
    description="seed 004's PCA activation compressor on held-out text, against a mean-only baseline",
    timeout_s=600,
)
def pca_reconstruction(ctx: Context, *, model: str = "smollm2", layer: int = -1, k: int = 0, variance: float = 0.95,
                       center: bool = True, n_boot: int = 200) -> Result:
    from ..math.spectra import ActivationCompressor

    cal = _hidden(ctx, model, "calibration")
    held = _hidden(ctx, model, "heldout")
    L = cal.arrays["hidden"].shape[0]
    li = layer + L if layer < 0 else layer
    Xc = cal.arrays["hidden"][li].astype(np.float64)
    Xh = held.arrays["hidden"][li].astype(np.float64)
    if k > 0:
        comp = ActivationCompressor.fit(Xc, k=k, center=center)
    else:
        comp = ActivationCompressor.fit(Xc, target_variance=variance, center=center)
    comp9 = ActivationCompressor.fit(Xc, k=9, center=center)
    mu = Xc.mean(0)
    R = Xh - comp.roundtrip(Xh)
    R9 = Xh - comp9.roundtrip(Xh)
    M = Xh - mu
    groups = held.doc_groups()
    num = np.array([np.sum(R[g] ** 2) for g in groups])
    num9 = np.array([np.sum(R9[g] ** 2) for g in groups])
    numm = np.array([np.sum(M[g] ** 2) for g in groups])
    den = np.array([np.sum(Xh[g] ** 2) for g in groups])
    nf = [g[held.positions[g] > 0] for g in groups]
    num_nf = np.array([np.sum(R[g] ** 2) for g in nf])
    den_nf = np.array([np.sum(Xh[g] ** 2) for g in nf])
    tok = np.linalg.norm(R, axis=1) / np.linalg.norm(Xh, axis=1)
    W = E.multinomial_weights(ctx.rng(53), len(groups), n_boot)

    def ratio(a, b, sq=True):
        v = float(np.sqrt(a.sum() / b.sum())) if sq else float(a.sum() / b.sum())
        bs = np.sqrt((W @ a) / (W @ b)) if sq else (W @ a) / (W @ b)
        lo, hi = E.percentile_ci(bs)
        return Estimate(v, lo, hi, n=len(Xh), level=0.95,
                        method=f"percentile bootstrap over {len(groups)} held-out documents")

    d = Xc.shape[1]
    outs = {
        "rel_err": ratio(num, den),
        "rel_err_mean_only": ratio(numm, den),
        "rel_err_k9": ratio(num9, den),
        "rel_err_no_first": ratio(num_nf, den_nf),
        "token_rel_err_median": Estimate(float(np.median(tok)), n=len(tok), method="median over tokens"),
        "frac_var_unexplained": ratio(num, numm, sq=False),
        "k_used": Estimate(float(comp.k), method="k95 of the calibration covariance" if k == 0 else "given"),
        "compression_ratio": Estimate(d / max(comp.k, 1)),
    }
    ks = sorted({1, 2, 5, 9, 22, 50, 100, comp.k} - {0})
    ks = [kk for kk in ks if kk <= d]
    big = ActivationCompressor.fit(Xc, k=max(ks), center=center)
    errs, errs_mean = [], float(outs["rel_err_mean_only"].value)
    for kk in ks:
        c = ActivationCompressor(components=big.components[:, :kk], mean=big.mean, center=center)
        errs.append(float(np.linalg.norm(Xh - c.roundtrip(Xh)) / np.linalg.norm(Xh)))
    plot = Plot(f"pca_reconstruction_{model}_{li}", f"PCA reconstruction error on held-out text "
                f"({_label(model)}, layer {li})", "k", "‖X − X̂‖/‖X‖",
                [Series("PCA (fit on calibration)", ks, errs), Series("mean only", [ks[0], ks[-1]], [errs_mean] * 2)],
                log_x=True)
    return Result(outs, [plot], {"layer": li, "ks": ks, "errs": errs, "center": center,
                                 "n_calib_tokens": len(Xc), "n_heldout_tokens": len(Xh)},
                  model=_label(model))


# ------------------------------------------------------------------------------------------------ embeddings

_SENT = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def sentences(ctx: Context, n: int, split: str = "calibration") -> list[str]:
    """``n`` sentences (8–60 words) from the documents of a split, at most ``per_doc`` from each document taken in
    split order (so a sample spans many documents rather than a few long articles)."""
    from ..capture.corpus import load_corpus, split_documents

    docs = split_documents(load_corpus(ctx=ctx)).get(split)
    per_doc = 3
    out: list[str] = []
    for d in docs:
        got = 0
        for s in _SENT.split(d.text.replace("\n", " ")):
            if 8 <= len(s.split()) <= 60:
                out.append(s.strip())
                got += 1
                if len(out) >= n:
                    return out
                if got >= per_doc:
                    break
    return out


def minilm_embeddings(ctx: Context, texts: list[str], weights: str = "trained", batch: int = 32,
                      model: str = "minilm") -> np.ndarray:
    """Sentence-transformers pipeline of all-MiniLM-L6-v2: mean pooling over tokens, then L2 normalisation.
    ``weights="random"``: the same architecture freshly initialised (seeded) — an untrained control.
    Cached on disk (keyed by the model files, the texts and the seed)."""
    import hashlib

    from ..capture.models import model_files_sha256

    if weights not in ("trained", "random"):
        raise ValueError("weights must be 'trained' or 'random'")
    _, msha = model_files_sha256(model, ctx)
    ident = {"model": msha, "texts": hashlib.sha256("\n".join(texts).encode()).hexdigest(), "weights": weights,
             "seed": ctx.seed if weights == "random" else None}
    return E.cached_arrays(ctx, "embeddings", ident, lambda: {"X": _embed(ctx, texts, weights, batch, model)},
                           code=__name__)["X"]


def _embed(ctx: Context, texts: list[str], weights: str, batch: int, name: str = "minilm") -> np.ndarray:
    import torch

    from ..capture.models import load_model

    model, tok, info = load_model(name, device="cpu", ctx=ctx, kind="encoder")
    if weights == "random":
        from transformers import AutoModel

        torch.manual_seed(ctx.seed + 97)
        model = AutoModel.from_config(model.config).eval()
    order = np.argsort([len(t) for t in texts], kind="stable")     # length-sorted batches: little padding
    out = np.zeros((len(texts), model.config.hidden_size))
    with torch.no_grad():
        for i in range(0, len(texts), batch):
            idx = order[i:i + batch]
            enc = tok([texts[j] for j in idx], padding=True, truncation=True, max_length=128, return_tensors="pt")
            h = model(**enc).last_hidden_state
            m = enc["attention_mask"].unsqueeze(-1).float()
            e = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
            out[idx] = torch.nn.functional.normalize(e, dim=-1).double().numpy()
    return out


@measurement(
    "embedding_spectrum", exact={'n_sentences': 'a count'}, on_model=True,
    outputs={
        "participation_ratio": "PR of the covariance of MiniLM sentence embeddings (jackknife CI over sentence blocks)",
        "pr_raw": "PR of the uncentered second moment",
        "k95": "k for 95% of the variance",
        "pr_random_init": "PR of the same pipeline with randomly initialised weights (untrained control)",
        "null_pr_isotropic": "PR of an isotropic Gaussian matrix of the same shape",
        "n_sentences": "number of sentences",
    },
    description="effective rank of MiniLM sentence embeddings (seed 004: Df ≈ 22) with untrained and isotropic "
                "controls",
    timeout_s=600,
)
def embedding_spectrum(ctx: Context, *, n_sentences: int = 400, n_blocks: int = 20, model: str = "minilm") -> Result:
    """``model``: a sentence encoder (BERT-like; mean pooling and L2 normalisation as sentence-transformers)."""
    from ..math.spectra import k_for_variance, participation_ratio

    texts = sentences(ctx, n_sentences)
    if len(texts) < 50:
        raise MeasurementUnavailable("too few sentences in the corpus")
    X = minilm_embeddings(ctx, texts, model=model)
    Xr = minilm_embeddings(ctx, texts, "random", model=model)
    ctx.note_tensor("minilm_sentence_embeddings", X)
    lam = E.spectrum(X, True)
    rng = ctx.rng(59)
    blocks = np.array_split(np.arange(len(X)), n_blocks)      # consecutive sentences: mostly the same document
    loo = [participation_ratio(E.spectrum(np.delete(X, b, axis=0), True)) for b in blocks]
    lo, hi = E.jackknife_ci(participation_ratio(lam), loo)
    n = len(X)
    outs = {
        "participation_ratio": Estimate(participation_ratio(lam), lo, hi, n=n, level=0.95,
                                        method=f"jackknife over {n_blocks} blocks of consecutive sentences"),
        "pr_raw": Estimate(participation_ratio(E.spectrum(X, False)), n=n),
        "k95": Estimate(float(k_for_variance(lam, 0.95)), n=n),
        "pr_random_init": Estimate(participation_ratio(E.spectrum(Xr, True)), n=n,
                                   method="MiniLM architecture, random init (seeded)"),
        "null_pr_isotropic": Estimate(participation_ratio(E.spectrum(rng.standard_normal(X.shape), True)), n=n),
        "n_sentences": Estimate(float(n)),
    }
    C = np.cumsum(lam) / lam.sum()
    plot = Plot("embedding_cumvar_minilm", "Cumulative variance of MiniLM sentence embeddings", "k", "C(k)",
                [Series("trained", list(range(1, len(C) + 1)), C.tolist()),
                 Series("random init", list(range(1, len(C) + 1)),
                        (np.cumsum(E.spectrum(Xr, True)) / E.spectrum(Xr, True).sum()).tolist())])
    return Result(outs, [plot], {"example_sentences": texts[:3]}, model=_label(model))


@measurement(
    "cumvar_invariance", on_model=True,
    outputs={
        "r_trained_pair": "Pearson r of C(k), k = 1..K, between MiniLM sentence embeddings and SmolLM2 last-layer "
                          "hidden states (two trained models, different architectures)",
        "r_vs_random_init": "r between MiniLM embeddings and the same architecture with random weights",
        "r_vs_gaussian": "r between MiniLM embeddings and an isotropic Gaussian matrix of the same shape",
        "r_smollm2_vs_gaussian": "r between SmolLM2 hidden states and an isotropic Gaussian matrix",
    },
    description="is 'cumulative variance curves correlate r > 0.9' specific to trained models? (null controls)",
    timeout_s=600,
)
def cumvar_invariance(ctx: Context, *, n_sentences: int = 400, K: int = 384, model: str = "smollm2") -> Result:
    """``model``: the language model whose last-layer hidden states are set beside the MiniLM embeddings."""
    texts = sentences(ctx, n_sentences)
    A = minilm_embeddings(ctx, texts)
    Ar = minilm_embeddings(ctx, texts, "random")
    cap = _hidden(ctx, model, "calibration")
    S = np.asarray(cap.arrays["hidden"][-1]).astype(np.float64)
    rng = ctx.rng(61)

    def curve(X):
        lam = E.spectrum(X, True)
        return (np.cumsum(lam) / lam.sum())[:K]

    cA, cAr, cS = curve(A), curve(Ar), curve(S)
    cG, cGS = curve(rng.standard_normal(A.shape)), curve(rng.standard_normal(S.shape))
    kk = min(len(cA), len(cS), K)

    def r(a, b):
        return float(np.corrcoef(a[:kk], b[:kk])[0, 1])

    outs = {
        "r_trained_pair": Estimate(r(cA, cS), n=kk, method=f"Pearson r over k = 1..{kk}"),
        "r_vs_random_init": Estimate(r(cA, cAr), n=kk, method=f"Pearson r over k = 1..{kk}"),
        "r_vs_gaussian": Estimate(r(cA, cG), n=kk, method=f"Pearson r over k = 1..{kk}"),
        "r_smollm2_vs_gaussian": Estimate(r(cS, cGS), n=kk, method=f"Pearson r over k = 1..{kk}"),
    }
    x = list(range(1, kk + 1))
    plot = Plot("cumvar_invariance", "Cumulative variance curves: trained models vs controls", "k", "C(k)",
                [Series("MiniLM sentence embeddings", x, cA[:kk].tolist()),
                 Series("SmolLM2 last hidden layer", x, cS[:kk].tolist()),
                 Series("MiniLM random init", x, cAr[:kk].tolist()),
                 Series("isotropic Gaussian", x, cG[:kk].tolist())])
    return Result(outs, [plot], {"K": kk, "n_sentences": len(texts), "n_smollm2_tokens": len(S)},
                  model=f"{_LABEL['minilm']} and {_label(model)}")

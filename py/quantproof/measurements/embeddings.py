"""Sentence embeddings and cumulative-variance curves (seed 004: "Df ≈ 22 for trained sentence embeddings",
"cumulative variance curves correlate r > 0.9", "the cumulative variance curve is the signature of trained
intelligence").

all-MiniLM-L6-v2 (fp32, one of the seed's own embedding models) with its sentence-transformers pipeline (mean
pooling, L2 normalisation) on English sentences, at most three per document, so that a sample spans many documents.

Uncertainty policy (docs/REFEREE.md, rule 4): the independent unit is the document. Participation ratios use a
delete-a-group jackknife over blocks of whole documents (a with-replacement bootstrap duplicates rows and lowers the
effective rank); Pearson correlations between two curves delete the same-numbered block of documents from both
samples (and the matching rows of every null drawn alongside) and recompute both spectra.

Controls computed in the same run (rule 1), each the same computation on another input:

* ``planted_pr``: Gaussian data of the embeddings' shape whose population spectrum is geometric with participation
  ratio ``planted_pr_target`` (the should-hold control of a failing reproduction);
* ``r_vs_random_init`` / ``r_vs_gaussian``: the curve of the same network with random weights, and of isotropic
  Gaussian data (should-fail controls of "trained curves correlate": the same r on untrained / random data);
* ``r_vs_planted_lowrank``: MiniLM's curve against that of a planted low-rank matrix of the same shape (rank
  ``lowrank_rank`` plus 1 % isotropic noise): curves of genuinely different shapes, where r can fall below 0.9.
"""

from __future__ import annotations

import re

import numpy as np

from ..evidence.measurement import Context, Estimate, MeasurementUnavailable, Plot, Result, Series, measurement
from . import _empirical as E

_LABEL = {"smollm2": "SmolLM2-135M-Instruct (Q4_1 GGUF, dequantized fp32)", "minilm": "all-MiniLM-L6-v2 (fp32)"}
_SENT = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def sentences_with_docs(ctx: Context, n: int, split: str = "calibration",
                        per_doc: int = 3) -> tuple[list[str], np.ndarray]:
    """``n`` sentences (8–60 words) from the documents of a split, at most ``per_doc`` from each document taken in
    split order, and the index of the document each came from."""
    from ..capture.corpus import load_corpus, split_documents

    docs = split_documents(load_corpus(ctx=ctx)).get(split)
    out: list[str] = []
    doc_of: list[int] = []
    for i, d in enumerate(docs):
        got = 0
        for s in _SENT.split(d.text.replace("\n", " ")):
            if 8 <= len(s.split()) <= 60:
                out.append(s.strip())
                doc_of.append(i)
                got += 1
                if len(out) >= n:
                    return out, np.array(doc_of)
                if got >= per_doc:
                    break
    return out, np.array(doc_of)


def sentences(ctx: Context, n: int, split: str = "calibration") -> list[str]:
    return sentences_with_docs(ctx, n, split)[0]


def minilm_embeddings(ctx: Context, texts: list[str], weights: str = "trained", batch: int = 32) -> np.ndarray:
    """Sentence-transformers pipeline of all-MiniLM-L6-v2: mean pooling over tokens, then L2 normalisation.
    ``weights="random"``: the same architecture freshly initialised (seeded) — an untrained control.
    Cached on disk (keyed by the model files, the texts, the seed and the code that computes them)."""
    import hashlib

    from ..capture.models import model_files_sha256

    if weights not in ("trained", "random"):
        raise ValueError("weights must be 'trained' or 'random'")
    _, msha = model_files_sha256("minilm", ctx)
    ident = {"model": msha, "texts": hashlib.sha256("\n".join(texts).encode()).hexdigest(), "weights": weights,
             "seed": ctx.seed if weights == "random" else None}
    return E.cached_arrays(ctx, "embeddings", ident, lambda: {"X": _embed(ctx, texts, weights, batch)},
                           code=__name__)["X"]


def _embed(ctx: Context, texts: list[str], weights: str, batch: int) -> np.ndarray:
    import torch

    from ..capture.models import load_minilm

    model, tok, info = load_minilm(device="cpu", ctx=ctx)
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


def _pr_jackknife(X: np.ndarray, groups: list[np.ndarray], center: bool) -> tuple[float, float, float]:
    from ..math.spectra import participation_ratio_of_moment

    gm = E.GroupMoments.of(X, groups)
    full = participation_ratio_of_moment(gm.matrix(center=center))
    lo, hi = E.jackknife_ci(full, [participation_ratio_of_moment(gm.matrix(center=center, drop=i))
                                   for i in range(len(groups))])
    return full, lo, hi


@measurement(
    "embedding_spectrum", exact={"n_sentences": "a count"}, on_model=True,
    outputs={
        "participation_ratio": "PR of the covariance of MiniLM sentence embeddings (jackknife over blocks of "
                               "documents)",
        "pr_raw": "PR of the uncentered second moment",
        "k95": "k for 95% of the variance",
        "planted_pr": "should-hold control: the same computation on Gaussian data of the same shape and documents "
                      "whose population spectrum is geometric with PR = `planted_pr_target`",
        "pr_random_init": "PR of the same pipeline with randomly initialised weights (untrained control)",
        "null_pr_isotropic": "PR of an isotropic Gaussian matrix of the same shape",
        "n_sentences": "number of sentences",
    },
    description="effective rank of MiniLM sentence embeddings (seed 004: Df ≈ 22) with planted, untrained and "
                "isotropic controls",
    timeout_s=600,
)
def embedding_spectrum(ctx: Context, *, n_sentences: int = 400, n_groups: int = 20,
                       planted_pr_target: float = 20.0) -> Result:
    from ..math.planted import geometric_ratio_for_pr, geometric_spectrum, planted_gaussian
    from ..math.spectra import k_for_variance

    texts, doc_of = sentences_with_docs(ctx, n_sentences)
    if len(texts) < 50:
        raise MeasurementUnavailable("too few sentences in the corpus")
    X = minilm_embeddings(ctx, texts)
    Xr = minilm_embeddings(ctx, texts, "random")
    ctx.note_tensor("minilm_sentence_embeddings", X)
    groups = E.doc_blocks(doc_of, n_groups)
    n, d = X.shape
    meth = f"delete-a-group jackknife over {len(groups)} blocks of whole documents ({len(np.unique(doc_of))} " \
           f"documents), normal interval"
    rng = ctx.rng(59)

    def est(t, method=meth):
        return Estimate(float(t[0]), float(t[1]), float(t[2]), n=n, level=0.95, method=method)

    gm = E.GroupMoments.of(X, groups)
    k_full = float(k_for_variance(E.eigenvalues(gm.matrix(center=True)), 0.95))
    k_lo, k_hi = E.jackknife_ci(k_full, [float(k_for_variance(E.eigenvalues(gm.matrix(center=True, drop=i)), 0.95))
                                         for i in range(len(groups))])
    P = planted_gaussian(n, geometric_spectrum(d, geometric_ratio_for_pr(planted_pr_target, d)), rng, rotate=False)
    outs = {
        "participation_ratio": est(_pr_jackknife(X, groups, True)),
        "pr_raw": est(_pr_jackknife(X, groups, False)),
        "k95": est((k_full, k_lo, k_hi)),
        "planted_pr": est(_pr_jackknife(P, groups, True), f"{meth}; planted PR {planted_pr_target:g}"),
        "pr_random_init": est(_pr_jackknife(Xr, groups, True), f"{meth}; MiniLM architecture, random init (seeded)"),
        "null_pr_isotropic": est(_pr_jackknife(rng.standard_normal(X.shape), groups, True)),
        "n_sentences": Estimate(float(n)),
    }
    lam, lam_r = E.spectrum(X, True), E.spectrum(Xr, True)
    x = list(range(1, len(lam) + 1))
    plot = Plot("embedding_cumvar_minilm", "Cumulative variance of MiniLM sentence embeddings", "k", "C(k)",
                [Series("trained", x, (np.cumsum(lam) / lam.sum()).tolist()),
                 Series("random init", x, (np.cumsum(lam_r) / lam_r.sum()).tolist())])
    return Result(outs, [plot], {"example_sentences": texts[:3], "n_documents": int(len(np.unique(doc_of)))},
                  model=_LABEL["minilm"])


_CUMVAR = {
    "r_trained_pair": "Pearson r of C(k), k = 1..K, between MiniLM sentence embeddings and SmolLM2 last-layer hidden "
                      "states (two trained models, different architectures)",
    "r_vs_random_init": "r between MiniLM embeddings and the same architecture with random weights",
    "r_vs_gaussian": "r between MiniLM embeddings and an isotropic Gaussian matrix of the same shape",
    "r_smollm2_vs_gaussian": "r between SmolLM2 hidden states and an isotropic Gaussian matrix",
    "r_vs_planted_lowrank": "r between MiniLM embeddings and a planted low-rank matrix of the same shape (rank "
                            "`lowrank_rank`, 1% isotropic noise): curves of different shapes",
}


@measurement(
    "cumvar_invariance", on_model=True, outputs=_CUMVAR,
    description="is 'cumulative variance curves correlate r > 0.9' specific to trained models? (null and planted "
                "controls, jackknife over documents)",
    timeout_s=600,
)
def cumvar_invariance(ctx: Context, *, n_sentences: int = 400, K: int = 384, n_groups: int = 8,
                      lowrank_rank: int = 4) -> Result:
    texts, doc_of = sentences_with_docs(ctx, n_sentences)
    A = minilm_embeddings(ctx, texts)
    Ar = minilm_embeddings(ctx, texts, "random")
    cap = E.get_capture(ctx, "smollm2", ("hidden",), "calibration", E.STD_DOCS["calibration"], E.STD_MAX_TOKENS)
    S = cap.arrays["hidden"][-1].astype(np.float64)
    rng = ctx.rng(61)
    GA, GS = rng.standard_normal(A.shape), rng.standard_normal(S.shape)
    F = rng.standard_normal((A.shape[0], lowrank_rank)) @ rng.standard_normal((lowrank_rank, A.shape[1]))
    PL = F + 0.01 * np.linalg.norm(F) / np.sqrt(F.size) * rng.standard_normal(A.shape)
    ga, gs = E.doc_blocks(doc_of, n_groups), E.doc_blocks(cap.doc_index, n_groups)
    G = min(len(ga), len(gs))
    ga, gs = (ga if len(ga) == G else _merge(ga, G)), (gs if len(gs) == G else _merge(gs, G))
    mom = {name: E.GroupMoments.of(X, grp) for name, X, grp in
           (("A", A, ga), ("Ar", Ar, ga), ("GA", GA, ga), ("PL", PL, ga), ("S", S, gs), ("GS", GS, gs))}

    def curves(drop):
        out = {}
        for name, gm in mom.items():
            lam = E.eigenvalues(gm.matrix(center=True, drop=drop))
            out[name] = (np.cumsum(lam) / lam.sum())[:K]
        return out

    def rs(c):
        kk = min(len(c["A"]), len(c["S"]), K)

        def r(a, b):
            return float(np.corrcoef(c[a][:kk], c[b][:kk])[0, 1])

        return {"r_trained_pair": r("A", "S"), "r_vs_random_init": r("A", "Ar"), "r_vs_gaussian": r("A", "GA"),
                "r_smollm2_vs_gaussian": r("S", "GS"), "r_vs_planted_lowrank": r("A", "PL")}, kk

    full_c = curves(None)
    full, kk = rs(full_c)
    reps = [rs(curves(i))[0] for i in range(G)]
    meth = f"Pearson r over k = 1..{kk}; delete-a-group jackknife over {G} paired blocks of whole documents"
    outs = {}
    for key, v in full.items():
        lo, hi = E.jackknife_ci(v, [r[key] for r in reps])
        outs[key] = Estimate(v, max(lo, -1.0), min(hi, 1.0), n=kk, level=0.95, method=meth)
    x = list(range(1, kk + 1))
    plot = Plot("cumvar_invariance", "Cumulative variance curves: trained models vs controls", "k", "C(k)",
                [Series("MiniLM sentence embeddings", x, full_c["A"][:kk].tolist()),
                 Series("SmolLM2 last hidden layer", x, full_c["S"][:kk].tolist()),
                 Series("MiniLM random init", x, full_c["Ar"][:kk].tolist()),
                 Series("isotropic Gaussian", x, full_c["GA"][:kk].tolist()),
                 Series(f"planted rank {lowrank_rank}", x, full_c["PL"][:kk].tolist())])
    return Result(outs, [plot], {"K": kk, "n_sentences": len(texts), "n_smollm2_tokens": len(S), "n_groups": G},
                  model=f"{_LABEL['minilm']} and {_LABEL['smollm2']}")


def _merge(groups: list[np.ndarray], G: int) -> list[np.ndarray]:
    """``groups`` merged into G consecutive blocks."""
    parts = np.array_split(np.arange(len(groups)), G)
    return [np.concatenate([groups[i] for i in p]) for p in parts]

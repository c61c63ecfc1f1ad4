"""Seed 001's bits-per-character comparison, with the characters per token measured (see
:mod:`quantproof.subjects.bpc`).

``bpc_reference``: byte-level BPE tokenizers (vocab ``vocab_small`` and ``vocab_large``) trained with HF
``tokenizers`` on calibration documents; characters/token on held-out documents (pooled, bootstrap over documents),
per source, and the ratio of the measured figure to the one the seed assumes (``assumed_cpt_small`` /
``assumed_cpt_large``, bound from the seed's text in claims.yaml). Controls computed in the same run:

* ``planted_cpt_*_vs_assumed``: the same training and measurement on a planted corpus (:func:`planted_corpus`) on
  which a tokenizer that learns whole words averages exactly the assumed characters per token (should hold);
* ``cpt_*_permuted_ratio``: the news-to-Wikipedia ratio with the source labels of the held-out documents permuted
  at random (the same group sizes): two corpora that differ by sampling only (should hold "varies only slightly").
  (A first design, two stratified random halves of the held-out documents, had too few Wikipedia articles per half
  to resolve ±5 %; the permutation keeps the sizes of the real comparison.)

``bpc_smollm2``: SmolLM2's own tokenizer's characters/token and SmolLM2-135M's teacher-forced bits per character on
held-out text, a real model's reference (separate, because it loads the model).

Uncertainty (docs/REFEREE.md, rule 4): the independent unit is the document; the tokenizers are fitted on the
calibration split (a separate split), so the bootstrap over held-out documents does not refit them.
"""

from __future__ import annotations

import numpy as np

from ..evidence.measurement import Context, Estimate, Result, measurement

_BOOT = "percentile bootstrap over held-out documents"


@measurement("bpc_reference", exact={"merges_nested": "a property of the two trained tokenizers' merge lists, "
                                                      "checked exactly"}, outputs={
    "cpt_small": "characters/token of the small-vocabulary BPE on held-out text",
    "cpt_large": "characters/token of the large-vocabulary BPE on held-out text",
    "cpt_small_vs_assumed": "cpt_small / assumed_cpt_small (1 when the seed's assumed figure is right)",
    "cpt_large_vs_assumed": "cpt_large / assumed_cpt_large",
    "planted_cpt_small_vs_assumed": "should-hold control: the same on a planted corpus whose whole-word tokens "
                                    "average assumed_cpt_small characters",
    "planted_cpt_large_vs_assumed": "should-hold control: the same for the large BPE and assumed_cpt_large",
    "cpt_ratio_large_small": "cpt_large / cpt_small (same corpus, same trainer)",
    "cpt_small_source_ratio": "cpt_small on news (Lee) / on Wikipedia: how much the corpus moves it",
    "cpt_large_source_ratio": "cpt_large on news / on Wikipedia",
    "cpt_small_permuted_ratio": "control: cpt_small_source_ratio with the source labels of the held-out documents "
                                "permuted (same group sizes): two corpora that differ by sampling only",
    "cpt_large_permuted_ratio": "the same for cpt_large",
    "merges_nested": "1 if the small tokenizer's merges are a prefix of the large one's",
    "bpc_factor_assumed_small": "bpc with an assumed chars/token (assumed_cpt_small) / bpc with the measured one, "
                                "small BPE on held-out text (= measured cpt / assumed cpt, whatever the loss)",
    "bpc_factor_assumed_large": "the same for the large BPE and assumed_cpt_large",
}, timeout_s=900.0, description="chars/token of trained BPE tokenizers on held-out text, per source, against the "
                                "seed's assumed figures; planted and split-half controls")
def bpc_reference(ctx: Context, *, vocab_small: int = 2048, vocab_large: int = 10000,
                  assumed_cpt_small: float = 1.0, assumed_cpt_large: float = 1.0, n_boot: int = 1000) -> Result:
    from ..capture import corpus as C
    from ..subjects.bpc import merges_of, planted_corpus, pooled_ratio, ratio_of_ratios, token_counts, train_bpe

    corp = C.load_corpus("wiki+lee", ctx)
    split = C.split_documents(corp, 0.3, ctx.seed)
    cal = [d.text for d in split.calibration]
    held = split.heldout
    texts = [d.text for d in held]
    chars = np.array([len(t) for t in texts], dtype=float)
    src = np.array([d.source for d in held])
    rng = ctx.rng(5)
    small = train_bpe(cal, vocab_small)
    large = train_bpe(cal, vocab_large)
    toks = {"small": token_counts(small, texts).astype(float), "large": token_counts(large, texts).astype(float)}
    assumed = {"small": assumed_cpt_small, "large": assumed_cpt_large}
    perm = rng.permutation(src)          # source labels shuffled: the same group sizes, no source effect
    outs: dict[str, Estimate] = {}
    details: dict = {"per_source": {}, "planted": {}}
    for name, tk, vocab in (("small", small, vocab_small), ("large", large, vocab_large)):
        t = toks[name]
        c = pooled_ratio(chars, t, rng, n_boot)
        outs[f"cpt_{name}"] = Estimate(c.value, c.lo, c.hi, n=c.n, level=0.95, unit="chars/token", method=_BOOT)
        a = assumed[name]
        for key in (f"cpt_{name}_vs_assumed", f"bpc_factor_assumed_{name}"):
            outs[key] = Estimate(c.value / a, c.lo / a, c.hi / a, n=c.n, level=0.95,
                                 method=f"{_BOOT}; measured cpt / assumed {a:g}")
        lee, wiki = src == "lee", src == "wiki"
        r = ratio_of_ratios(chars[lee], t[lee], chars[wiki], t[wiki], rng, n_boot)
        outs[f"cpt_{name}_source_ratio"] = Estimate(r.value, r.lo, r.hi, n=r.n, level=0.95,
                                                    method="bootstrap over the documents of each source separately")
        pl, pw = perm == "lee", perm == "wiki"
        h = ratio_of_ratios(chars[pl], t[pl], chars[pw], t[pw], rng, n_boot)
        outs[f"cpt_{name}_permuted_ratio"] = Estimate(h.value, h.lo, h.hi, n=h.n, level=0.95,
                                                      method="source labels permuted; bootstrap over the documents "
                                                             "of each group separately")
        details["per_source"][name] = {s: float(chars[src == s].sum() / t[src == s].sum()) for s in ("lee", "wiki")}
        # planted: a corpus where whole-word tokens average the assumed figure; the same training and measurement
        planted = planted_corpus(a, 100, rng)       # one word list: 60 documents to train on, 40 held out
        p_cal, p_held = planted[:60], planted[60:]
        ptok = train_bpe(p_cal, vocab)
        pc = pooled_ratio(np.array([len(x) for x in p_held], dtype=float), token_counts(ptok, p_held).astype(float),
                          rng, n_boot)
        outs[f"planted_cpt_{name}_vs_assumed"] = Estimate(pc.value / a, pc.lo / a, pc.hi / a, n=pc.n, level=0.95,
                                                          method=f"{_BOOT} (planted corpus)")
        details["planted"][name] = {"cpt": pc.value, "vocab_learned": ptok.get_vocab_size()}
    outs["cpt_ratio_large_small"] = Estimate(outs["cpt_large"].value / outs["cpt_small"].value)
    ms, ml = merges_of(small), merges_of(large)
    outs["merges_nested"] = Estimate(float(ml[: len(ms)] == ms))
    details.update({"vocab_sizes": [small.get_vocab_size(), large.get_vocab_size()], "n_train_docs": len(cal),
                    "n_heldout_docs": len(held), "n_heldout_by_source": {s: int((src == s).sum()) for s in
                                                                         np.unique(src)},
                    "train_chars": int(sum(len(t) for t in cal)),
                    "formula": "bpc = Σ nats / (ln 2 · Σ characters) = (nats/token) / (ln 2 · chars/token)"})
    return Result(outputs=outs, details=details, model="byte-level BPE tokenizers trained here (HF tokenizers)")


@measurement("bpc_smollm2", on_model=True, outputs={
    "cpt_smollm2": "characters/token of SmolLM2's tokenizer on held-out text",
    "smollm2_bpc": "SmolLM2-135M bits per character on held-out text (teacher forced)",
    "smollm2_nats_per_token": "SmolLM2-135M mean NLL per token (nats)",
}, timeout_s=900.0, description="SmolLM2-135M's characters/token and bits per character on held-out text")
def bpc_smollm2(ctx: Context, *, n_bpc_docs: int = 6, bpc_tokens: int = 256, model: str = "smollm2") -> Result:
    """``model``: the language model whose chars/token and bpc are measured (outputs keep the ``smollm2`` names;
    bound to the seed's TinyStories-33M they are that model's)."""
    import torch

    from ..capture import corpus as C
    from ..capture.models import load_model
    from ..subjects.bpc import LN2, chars_per_token, lm_nll, pooled_ratio
    from ..subjects.e8_bottleneck import doc_start_id

    torch.set_num_threads(max(1, min(torch.get_num_threads(), 2)))
    corp = C.load_corpus("wiki+lee", ctx)
    texts = [d.text for d in C.split_documents(corp, 0.3, ctx.seed).heldout]
    rng = ctx.rng(7)
    name = model
    model, tok, info = load_model(name, device=ctx.device, ctx=ctx, kind="causal_lm")
    csm = chars_per_token(tok, texts, rng)
    # a model's bpc: cut documents to whole tokens, score every token with <|endoftext|> as context
    bdocs = [d.text for d in C.select_documents(corp, "heldout", n_bpc_docs, ctx.seed)]
    start = doc_start_id(tok)
    nll, ntok, nchar = lm_nll(model, tok, bdocs, max_tokens=bpc_tokens, device=str(next(model.parameters()).device),
                              context_id=start)
    bpc = pooled_ratio(nll / LN2, nchar, rng)
    npt = pooled_ratio(nll, ntok, rng)
    return Result(outputs={
        "cpt_smollm2": Estimate(csm.value, csm.lo, csm.hi, n=csm.n, level=0.95, unit="chars/token", method=_BOOT),
        "smollm2_bpc": Estimate(bpc.value, bpc.lo, bpc.hi, n=bpc.n, level=0.95, unit="bits/char",
                                method="Σ NLL bits / Σ characters scored, bootstrap over documents"),
        "smollm2_nats_per_token": Estimate(npt.value, npt.lo, npt.hi, n=npt.n, level=0.95, unit="nats/token",
                                           method=_BOOT),
    }, details={"smollm2_cpt_on_scored_text": float(nchar.sum() / ntok.sum()), "context_token": int(start),
                "n_scored_docs": len(bdocs)}, model=info.describe())

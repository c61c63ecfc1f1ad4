"""Seed 001's bits-per-character comparison, with the characters per token measured (see
:mod:`quantproof.subjects.bpc`).

``bpc_reference``: byte-level BPE tokenizers (vocab ``vocab_small`` and ``vocab_large``) trained with HF
``tokenizers`` on calibration documents; characters/token on held-out documents (pooled, bootstrap over documents),
per source; SmolLM2's own tokenizer on the same text; SmolLM2-135M's teacher-forced bits per character on held-out
text as a real model's reference, and the error the seed's conversion makes when it uses an assumed characters/token
instead of the measured one.
"""

from __future__ import annotations

import math

import numpy as np

from ..evidence.measurement import Context, Estimate, Result, measurement


@measurement("bpc_reference", exact={'merges_nested': "a property of the two trained tokenizers' merge lists, checked exactly"}, on_model=True, outputs={
    "cpt_small": "characters/token of the small-vocabulary BPE on held-out text",
    "cpt_large": "characters/token of the large-vocabulary BPE on held-out text",
    "cpt_ratio_large_small": "cpt_large / cpt_small (same corpus, same trainer)",
    "cpt_smollm2": "characters/token of SmolLM2's tokenizer on the same held-out text",
    "cpt_small_source_ratio": "cpt_small on news (Lee) / on Wikipedia: how much the corpus moves it",
    "cpt_large_source_ratio": "cpt_large on news / on Wikipedia",
    "merges_nested": "1 if the small tokenizer's merges are a prefix of the large one's",
    "smollm2_bpc": "SmolLM2-135M bits per character on held-out text (teacher forced)",
    "smollm2_nats_per_token": "SmolLM2-135M mean NLL per token (nats)",
    "bpc_factor_assumed_small": "bpc with an assumed chars/token (assumed_cpt_small) / bpc with the measured one, "
                                "small BPE on held-out text (= measured cpt / assumed cpt, whatever the loss)",
    "bpc_factor_assumed_large": "the same for the large BPE and assumed_cpt_large",
}, timeout_s=900.0, description="chars/token of trained BPE tokenizers and SmolLM2; SmolLM2's bpc on held-out text")
def bpc_reference(ctx: Context, *, vocab_small: int = 2048, vocab_large: int = 10000, n_bpc_docs: int = 6,
                  bpc_tokens: int = 256, assumed_cpt_small: float = 1.0, assumed_cpt_large: float = 1.0,
                  model: str = "smollm2") -> Result:
    """``model``: the language model whose chars/token and bpc are measured (outputs keep the ``smollm2`` names;
    bound to the seed's TinyStories-33M they are that model's)."""
    import torch

    from ..capture import corpus as C
    from ..capture.models import load_model
    from ..subjects.bpc import LN2, chars_per_token, lm_nll, merges_of, pooled_ratio, train_bpe
    from ..subjects.e8_bottleneck import doc_start_id

    torch.set_num_threads(max(1, min(torch.get_num_threads(), 2)))
    corp = C.load_corpus("wiki+lee", ctx)
    split = C.split_documents(corp, 0.3, ctx.seed)
    cal = [d.text for d in split.calibration]
    held = split.heldout
    texts = [d.text for d in held]
    rng = ctx.rng(5)
    small = train_bpe(cal, vocab_small)
    large = train_bpe(cal, vocab_large)
    cs = chars_per_token(small, texts, rng)
    cl = chars_per_token(large, texts, rng)
    by = {}
    for name, tk in (("small", small), ("large", large)):
        for src in ("wiki", "lee"):
            by[(name, src)] = chars_per_token(tk, [d.text for d in held if d.source == src], rng)
    ms, ml = merges_of(small), merges_of(large)
    nested = float(ml[: len(ms)] == ms)
    name = model
    model, tok, info = load_model(name, device=ctx.device, ctx=ctx, kind="causal_lm")
    csm = chars_per_token(tok, texts, rng)
    # a model's bpc: cut documents to whole tokens, score every token with <|endoftext|> as context
    bdocs = [d.text for d in C.select_documents(corp, "heldout", n_bpc_docs, ctx.seed)]
    start = doc_start_id(tok)
    nll, ntok, nchar = lm_nll(model, tok, bdocs, max_tokens=bpc_tokens, device=str(next(model.parameters()).device),
                              context_id=start)
    bits = nll / LN2
    bpc = pooled_ratio(bits, nchar, rng)
    npt = pooled_ratio(nll, ntok, rng)
    cpt_m = float(nchar.sum() / ntok.sum())
    ratio = lambda a, b: float(a.value / b.value)  # noqa: E731
    return Result(outputs={
        "cpt_small": Estimate(cs.value, cs.lo, cs.hi, n=cs.n, level=0.95, unit="chars/token",
                              method="pooled, bootstrap over documents"),
        "cpt_large": Estimate(cl.value, cl.lo, cl.hi, n=cl.n, level=0.95, unit="chars/token"),
        "cpt_ratio_large_small": Estimate(cl.value / cs.value),
        "cpt_smollm2": Estimate(csm.value, csm.lo, csm.hi, n=csm.n, level=0.95, unit="chars/token"),
        "cpt_small_source_ratio": Estimate(ratio(by[("small", "lee")], by[("small", "wiki")])),
        "cpt_large_source_ratio": Estimate(ratio(by[("large", "lee")], by[("large", "wiki")])),
        "merges_nested": Estimate(nested),
        "smollm2_bpc": Estimate(bpc.value, bpc.lo, bpc.hi, n=bpc.n, level=0.95, unit="bits/char",
                                method="Σ NLL bits / Σ characters scored, bootstrap over documents"),
        "smollm2_nats_per_token": Estimate(npt.value, npt.lo, npt.hi, n=npt.n, level=0.95, unit="nats/token"),
        "bpc_factor_assumed_small": Estimate(cs.value / assumed_cpt_small, cs.lo / assumed_cpt_small,
                                             cs.hi / assumed_cpt_small, n=cs.n, level=0.95,
                                             method=f"measured cpt / assumed {assumed_cpt_small}"),
        "bpc_factor_assumed_large": Estimate(cl.value / assumed_cpt_large, cl.lo / assumed_cpt_large,
                                             cl.hi / assumed_cpt_large, n=cl.n, level=0.95,
                                             method=f"measured cpt / assumed {assumed_cpt_large}"),
    }, details={
        "vocab_sizes": [small.get_vocab_size(), large.get_vocab_size()],
        "per_source": {f"{n}/{s}": [v.value, v.lo, v.hi, v.n] for (n, s), v in by.items()},
        "smollm2_cpt_on_scored_text": cpt_m, "n_train_docs": len(cal), "n_heldout_docs": len(held),
        "train_chars": int(sum(len(t) for t in cal)), "context_token": int(start),
        "formula": "bpc = Σ nats / (ln 2 · Σ characters) = (nats/token) / (ln 2 · chars/token)",
    }, model=info.describe())

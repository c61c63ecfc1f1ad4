"""Bits per character, measured instead of assumed (issue 6, seed 001).

bpc = (Σ NLL over predicted tokens, in bits) / (characters of the text those tokens cover)
    = (mean nats per token) / (ln 2 · mean characters per token)           [both on the *same* text]

The seed converts a loss to bpc with an *assumed* characters-per-token (4.5 for "BPE-2048", 3.5 for "a 10k
vocabulary") and compares models trained with different tokenizers on different data. Here we

* train byte-level BPE tokenizers with HF ``tokenizers`` (vocab 2048 and 10 000, same trainer, same calibration
  documents) and measure characters/token on held-out documents (pooled: total chars / total tokens; CIs by a
  bootstrap over documents), per source (Wikipedia vs news) as well;
* measure SmolLM2's own tokenizer's characters/token on the same text;
* measure a real model's bpc: SmolLM2-135M teacher-forced on held-out text (every text token predicted, BOS as
  the first context token), with the exact character count of the scored text;
* plant a corpus on which a tokenizer that learns whole words averages a chosen number of characters per token
  (:func:`planted_corpus`): the should-hold control of "a tokenizer of this size averages ≈ c characters per token".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

LN2 = math.log(2.0)


def bpc_from_loss(nats_per_token: float, chars_per_token: float) -> float:
    """The seed's conversion (correct only when both numbers are measured on the same text)."""
    return nats_per_token / (LN2 * chars_per_token)


def train_bpe(texts: list[str], vocab_size: int, *, min_frequency: int = 2):
    """A byte-level BPE tokenizer (GPT-2 style pre-tokenizer) trained on ``texts`` with HF ``tokenizers``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=[])
    tok.train_from_iterator(texts, trainer=trainer)
    return tok


def token_counts(tok, texts: list[str]) -> np.ndarray:
    """Number of tokens of each text (no special tokens)."""
    if hasattr(tok, "encode_batch"):           # tokenizers.Tokenizer
        return np.array([len(e.ids) for e in tok.encode_batch(texts, add_special_tokens=False)])
    return np.array([len(tok(t, add_special_tokens=False)["input_ids"]) for t in texts])  # transformers


@dataclass
class RatioCI:
    value: float
    lo: float
    hi: float
    n: int


def pooled_ratio(num: np.ndarray, den: np.ndarray, rng: np.random.Generator, n_boot: int = 1000,
                 level: float = 0.95) -> RatioCI:
    """Σnum/Σden with a percentile bootstrap over documents."""
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    v = float(num.sum() / den.sum())
    idx = rng.integers(0, len(num), size=(n_boot, len(num)))
    boots = num[idx].sum(1) / den[idx].sum(1)
    a = (1 - level) / 2
    return RatioCI(v, float(np.quantile(boots, a)), float(np.quantile(boots, 1 - a)), len(num))


def chars_per_token(tok, texts: list[str], rng: np.random.Generator, n_boot: int = 1000) -> RatioCI:
    chars = np.array([len(t) for t in texts])
    return pooled_ratio(chars, token_counts(tok, texts), rng, n_boot)


def ratio_of_ratios(num_a: np.ndarray, den_a: np.ndarray, num_b: np.ndarray, den_b: np.ndarray,
                    rng: np.random.Generator, n_boot: int = 1000, level: float = 0.95) -> RatioCI:
    """(Σnum_a/Σden_a) / (Σnum_b/Σden_b) for two independent samples of documents, with a percentile bootstrap that
    resamples the documents of each sample separately."""
    na, da, nb, db = (np.asarray(x, dtype=float) for x in (num_a, den_a, num_b, den_b))
    v = float((na.sum() / da.sum()) / (nb.sum() / db.sum()))
    ia = rng.integers(0, len(na), size=(n_boot, len(na)))
    ib = rng.integers(0, len(nb), size=(n_boot, len(nb)))
    boots = (na[ia].sum(1) / da[ia].sum(1)) / (nb[ib].sum(1) / db[ib].sum(1))
    a = (1 - level) / 2
    return RatioCI(v, float(np.quantile(boots, a)), float(np.quantile(boots, 1 - a)), len(na) + len(nb))


def planted_corpus(target_cpt: float, n_docs: int, rng: np.random.Generator, *, words_per_doc: int = 200,
                   n_words: int = 200) -> list[str]:
    """``n_docs`` documents of words drawn uniformly from ``n_words`` distinct random lowercase words whose lengths
    are ⌊target − 1⌋ and ⌊target − 1⌋ + 1 in the proportion that makes the mean word length plus its space equal
    ``target_cpt``: a byte-level BPE that learns every word (with its leading space) as one token averages
    ``target_cpt`` characters per token on these documents. Needs 2 ≤ target_cpt ≤ 12."""
    if not 2.0 <= target_cpt <= 12.0:
        raise ValueError("target_cpt must be in [2, 12]")
    base = int(np.floor(target_cpt - 1.0))
    frac = (target_cpt - 1.0) - base
    n_long = int(round(frac * n_words))
    lengths = [base + 1] * n_long + [base] * (n_words - n_long)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    words: list[str] = []
    seen: set[str] = set()
    for L in lengths:
        while True:
            w = "".join(rng.choice(letters, size=L))
            if w not in seen:
                seen.add(w)
                words.append(w)
                break
    vocab = np.array(words)
    return [" ".join(rng.choice(vocab, size=words_per_doc)) for _ in range(n_docs)]


def merges_of(tok) -> list[str]:
    import json

    model = json.loads(tok.to_str())["model"]
    return [" ".join(m) if isinstance(m, list) else m for m in model["merges"]]


def lm_nll(model, tokenizer, texts: list[str], *, max_tokens: int = 256, device: str = "cpu",
           context_id: int | None = None):
    """Teacher-forced NLL (nats) of every token of each text (``context_id``, default BOS, as the first context
    token); texts are cut to whole tokens.

    Returns (nll_sum_nats per text, n_tokens per text, n_chars per text): n_chars is the length of the decoded
    scored prefix, so bits/char is exact for the text that was scored.
    """
    import torch

    bos = tokenizer.bos_token_id if context_id is None else context_id
    sums, ntok, nchar = [], [], []
    for text in texts:
        enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        ids = enc["input_ids"][:max_tokens]
        offs = enc["offset_mapping"][: len(ids)]
        n_chars = int(offs[-1][1]) if offs else 0
        inp = torch.tensor([[bos] + ids], device=device)
        with torch.no_grad():
            logits = model(inp).logits[0, :-1].float()
        lp = torch.log_softmax(logits, -1)
        nll = -lp.gather(1, torch.tensor(ids, device=device)[:, None])[:, 0]
        sums.append(float(nll.sum()))
        ntok.append(len(ids))
        nchar.append(n_chars)
    return np.array(sums), np.array(ntok), np.array(nchar)

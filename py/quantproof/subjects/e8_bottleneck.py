"""Seed 000's E8 bottleneck as a runnable subject: blend E8⊕E8-quantised hidden states into a causal LM's residual
stream and measure what happens (issue 6).

Model: SmolLM2-135M-Instruct (30 layers, hidden 576, GGUF Q4_1 dequantised to fp32) stands in for the seed's
Qwen2.5-0.5B (24 layers, hidden 896), which is not available offline.

Band of layers: the seed patches "layers 8–13" of Qwen2.5-0.5B's 24. We map by relative depth,
``round(8·L/24) .. round(13·L/24)`` inclusive, which for L = 30 is layers 10..16 (7 layers; 0-based indices of
``model.model.layers``). The patched quantity is the *output* of each decoder layer in the band (the residual
stream after that block), replaced by ``h' = (1 − b)·h + b·Q(h)`` with ``Q`` the E8⊕E8 quantiser of
:mod:`quantproof.subjects.e8_quant` (per-token RMS scale by default). Every position is patched, also during
generation (one new position per step with the KV cache).

Metrics for each blend ratio b (CIs: percentile bootstrap over documents / prompts):

* activation fidelity at the patched layers: ``cos(h, h')`` and ``MSE = mean((h − h')²)`` per token (the
  seed's "Avg/Min Cosine", "Max MSE"), the quantiser's own ``cos(h, Q(h))`` and norm ratio ``‖Q(h)‖/‖h‖``, and the
  end-to-end drift ``cos(h_patched, h_clean)`` at the last patched layer and at the final layer;
* teacher-forced next-token NLL on held-out documents (perplexity, pooled over equal-length documents), the
  KL divergence KL(clean ‖ patched) per position, top-1 agreement with the clean model;
* greedy open-ended continuations of held-out document openings (prompts disjoint from the NLL documents):
  repeated-3-gram rate ``1 − #distinct token 3-grams / #3-grams`` of the generated tokens, prompt relevance
  ``cos(e(prompt), e(continuation))`` and patched-to-baseline similarity ``cos(e(cont_b), e(cont_0))`` with
  all-MiniLM-L6-v2 sentence embeddings (mean pooling over tokens, L2-normalised), and the token agreement with
  the b = 0 continuation.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from quantproof.subjects import e8_quant

DEFAULT_BLENDS = (0.0, 0.05, 0.10, 0.15, 0.20, 0.25, 0.30, 0.40, 0.50)
SUBJECT_VERSION = "e8b-v1"


def _code_hash() -> str:
    """sha256 of every source the sweep runs (this module's import closure): a code change invalidates cached
    sweeps."""
    from ..codehash import code_hash_of

    return code_hash_of(__name__)


def default_band(n_layers: int, ref: tuple[int, int] = (8, 13), ref_layers: int = 24) -> tuple[int, int]:
    """The seed's band (8–13 of 24) mapped by relative depth onto a model with ``n_layers`` layers."""
    return int(round(ref[0] * n_layers / ref_layers)), int(round(ref[1] * n_layers / ref_layers))


@dataclass(frozen=True)
class SweepConfig:
    blends: tuple[float, ...] = DEFAULT_BLENDS
    layer_lo: int = -1                  # -1: default band
    layer_hi: int = -1
    scale: str = "rms"
    resolution: float = 1.0
    n_docs: int = 8                     # held-out documents for teacher forcing
    doc_tokens: int = 128
    n_prompts: int = 8                  # held-out document openings for generation
    prompt_tokens: int = 16
    new_tokens: int = 32
    n_boot: int = 1000
    cp_boot: int = 200                  # bootstrap replicates of each change-point test
    cp_metrics: tuple[str, ...] = ("rep3", "kl", "nll", "sim_baseline", "relevance")
    seed: int = 0

    def key(self, model_sha: str, corpus_sha: str) -> str:
        d = {**asdict(self), "blends": list(self.blends), "cp_metrics": list(self.cp_metrics), "model": model_sha,
             "corpus": corpus_sha, "version": SUBJECT_VERSION, "code": _code_hash()}
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()


class BlendHooks:
    """Forward hooks on decoder layers that inject ``(1 − b)·h + b·Q(h)`` and record per-token statistics."""

    def __init__(self, layers, b: float, scale: str, resolution: float, record: bool = True):
        self.layers = layers
        self.b = float(b)
        self.scale = scale
        self.resolution = resolution
        self.record = record
        self.stats: list[dict[str, Any]] = []
        self.handles = []

    def _hook(self, module, args, output):
        import torch

        h = output[0] if isinstance(output, tuple) else output
        q = e8_quant.quantize(h, scale=self.scale, resolution=self.resolution)
        new = e8_quant.blend(h, q, self.b) if self.b != 0.0 else h
        if self.record:
            hf, qf, nf = h.float(), q.float(), new.float()
            self.stats.append({
                "cos": torch.nn.functional.cosine_similarity(hf, nf, dim=-1).cpu(),
                "mse": (hf - nf).pow(2).mean(-1).cpu(),
                "q_cos": torch.nn.functional.cosine_similarity(hf, qf, dim=-1).cpu(),
                "q_rho": (qf.norm(dim=-1) / hf.norm(dim=-1).clamp_min(1e-30)).cpu(),
            })
        if isinstance(output, tuple):
            return (new,) + tuple(output[1:])
        return new

    def __enter__(self):
        for layer in self.layers:
            self.handles.append(layer.register_forward_hook(self._hook))
        return self

    def __exit__(self, *exc):
        for hd in self.handles:
            hd.remove()
        self.handles.clear()


def doc_start_id(tok) -> int:
    """The context token placed before a document: ``<|endoftext|>`` when the vocabulary has it, else BOS."""
    tid = tok.convert_tokens_to_ids("<|endoftext|>")
    if isinstance(tid, int) and tid >= 0 and tok.convert_ids_to_tokens(tid) == "<|endoftext|>":
        return tid                      # (SmolLM2: id 0, which is also its unk id)
    return int(tok.bos_token_id)


def rep_ngram_rate(ids: list[int], n: int = 3) -> float:
    """1 − (#distinct n-grams)/(#n-grams) of a token sequence; nan when it has no n-gram."""
    grams = [tuple(ids[i:i + n]) for i in range(len(ids) - n + 1)]
    if not grams:
        return float("nan")
    return 1.0 - len(set(grams)) / len(grams)


def embed(texts: list[str], model, tok, device) -> np.ndarray:
    """all-MiniLM-L6-v2 sentence embeddings: mean pooling over non-padding tokens, L2-normalised."""
    import torch

    enc = tok(texts, padding=True, truncation=True, max_length=256, return_tensors="pt").to(device)
    with torch.no_grad():
        out = model(**enc).last_hidden_state.float()
    m = enc["attention_mask"][..., None].float()
    e = (out * m).sum(1) / m.sum(1).clamp_min(1e-9)
    return torch.nn.functional.normalize(e, dim=-1).cpu().numpy()


def boot_mean(x: np.ndarray, rng: np.random.Generator, n_boot: int, level: float = 0.95,
              transform=None) -> tuple[float, float, float]:
    """Mean of per-unit values (optionally transformed, e.g. exp for perplexity) with a percentile bootstrap CI."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return float("nan"), float("nan"), float("nan")
    f = transform or (lambda v: v)
    v = float(f(x.mean()))
    if len(x) == 1 or n_boot <= 0:
        return v, v, v
    idx = rng.integers(0, len(x), size=(n_boot, len(x)))
    bs = f(x[idx].mean(1))
    a = (1 - level) / 2
    return v, float(np.quantile(bs, a)), float(np.quantile(bs, 1 - a))


@dataclass
class SweepResult:
    config: SweepConfig
    band: tuple[int, int]
    units: dict[str, dict[str, list[float]]]          # metric -> str(b) -> per-document/prompt values
    table: dict[str, dict[str, list[float]]]          # metric -> str(b) -> [value, lo, hi]
    generations: dict[str, list[str]]                 # str(b) -> continuations
    prompts: list[str]
    meta: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"config": {**asdict(self.config), "blends": list(self.config.blends),
                           "cp_metrics": list(self.config.cp_metrics)}, "band": list(self.band),
                "units": self.units, "table": self.table, "generations": self.generations,
                "prompts": self.prompts, "meta": self.meta}

    @staticmethod
    def from_json(d: dict[str, Any]) -> "SweepResult":
        cfg = dict(d["config"])
        cfg["blends"] = tuple(cfg["blends"])
        cfg["cp_metrics"] = tuple(cfg["cp_metrics"])
        return SweepResult(SweepConfig(**cfg), tuple(d["band"]), d["units"], d["table"], d["generations"],
                           d["prompts"], d.get("meta", {}))

    def value(self, metric: str, b: float) -> list[float]:
        return self.table[metric][bkey(b)]

    def matrix(self, metric: str) -> tuple[np.ndarray, np.ndarray]:
        """(blends, rows × blends) of per-unit values for the change-point test."""
        xs = np.array(self.config.blends, dtype=float)
        Y = np.array([self.units[metric][bkey(b)] for b in xs], dtype=float).T
        return xs, Y


def bkey(b: float) -> str:
    return f"{float(b):.4f}"


METRIC_UNITS = {
    "act_cos": "docs", "act_cos_min": "docs", "act_mse": "docs", "act_mse_max": "docs",
    "q_cos": "docs", "q_rho": "docs", "drift_cos_band": "docs", "drift_cos_final": "docs",
    "nll": "docs", "kl": "docs", "top1_agree": "docs",
    "rep3": "prompts", "relevance": "prompts", "sim_baseline": "prompts", "token_agree": "prompts",
}


def run_sweep(cfg: SweepConfig, *, device: str = "cpu", ctx=None, cache_dir: Path | None = None,
              model: str = "smollm2") -> SweepResult:
    """Run (or read from the cache) the full blend sweep described in the module docstring on ``model`` (a shipped
    name or a local causal-LM checkpoint; the cache key holds its files' sha256)."""
    import torch

    from quantproof.capture import corpus as corpus_mod
    from quantproof.capture import models as models_mod

    _, model_sha = models_mod.model_files_sha256(model, ctx)
    _, minilm_sha = models_mod.model_files_sha256("minilm", ctx)
    corp = corpus_mod.load_corpus("wiki+lee", ctx)
    key = cfg.key(model_sha + minilm_sha, corp.sha256)
    path = None
    if cache_dir is not None:
        path = Path(cache_dir) / "subjects" / f"e8b-sweep-{key[:32]}.json"
        cached = _read_sweep(path, key)
        if cached is not None:
            return cached
    if path is None:
        return _run_sweep(cfg, device, ctx, corp, model)
    from filelock import FileLock

    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):          # parallel jobs wanting the same sweep compute it once
        cached = _read_sweep(path, key)
        if cached is not None:
            return cached
        res = _run_sweep(cfg, device, ctx, corp, model)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"key": key, "result": res.to_json()}))
        tmp.replace(path)
    return res


def _read_sweep(path: Path, key: str) -> "SweepResult | None":
    if not path.is_file():
        return None
    try:
        d = json.loads(path.read_text())
        if d.get("key") == key:
            return SweepResult.from_json(d["result"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


def _select_docs(corp, tok, n_docs: int, doc_tokens: int, n_prompts: int, prompt_tokens: int, seed: int):
    from quantproof.capture import corpus as corpus_mod

    held = corpus_mod.split_documents(corp, 0.3, seed).heldout
    nll_docs, prompt_docs = [], []
    for d in held:
        ids = tok(d.text, add_special_tokens=False)["input_ids"]
        if len(nll_docs) < n_docs and len(ids) >= doc_tokens:
            nll_docs.append((d.doc_id, ids[:doc_tokens]))
        elif len(prompt_docs) < n_prompts and len(ids) >= prompt_tokens:
            prompt_docs.append((d.doc_id, ids[:prompt_tokens]))
        if len(nll_docs) >= n_docs and len(prompt_docs) >= n_prompts:
            break
    return nll_docs, prompt_docs


def _run_sweep(cfg: SweepConfig, device: str, ctx, corp, name: str = "smollm2") -> SweepResult:
    import torch

    from quantproof.capture import arch as arch_mod
    from quantproof.capture import models as models_mod

    rng = np.random.default_rng(cfg.seed)
    model, tok, info = models_mod.load_model(name, device=device, ctx=ctx, kind="causal_lm")
    emb_model, emb_tok, _ = models_mod.load_minilm(device=device, ctx=ctx)
    ad = arch_mod.adapter(model)
    dev = ad.embeddings_device()
    n_layers = ad.n_layers()
    lo, hi = (cfg.layer_lo, cfg.layer_hi) if cfg.layer_lo >= 0 else default_band(n_layers)
    if not 0 <= lo <= hi < n_layers:
        raise ValueError(f"layer band {lo}-{hi} is outside the model's {n_layers} layers")
    layers = [ad.layers()[i] for i in range(lo, hi + 1)]
    nll_docs, prompt_docs = _select_docs(corp, tok, cfg.n_docs, cfg.doc_tokens, cfg.n_prompts, cfg.prompt_tokens,
                                         cfg.seed)
    start = doc_start_id(tok)
    X = torch.tensor([[start] + ids for _, ids in nll_docs], device=dev)
    P = torch.tensor([[start] + ids for _, ids in prompt_docs], device=dev)
    prompts = [tok.decode(ids) for _, ids in prompt_docs]
    if ctx is not None:
        ctx.note_tensor("e8b/nll_input_ids", X)
        ctx.note_tensor("e8b/prompt_input_ids", P)

    with torch.no_grad():
        clean = model(X, output_hidden_states=True)
    clean_lp = torch.log_softmax(clean.logits[:, :-1].float(), -1)
    targets = X[:, 1:]
    clean_band = clean.hidden_states[hi + 1].float()
    clean_final = clean.hidden_states[-1].float()
    e_prompt = embed(prompts, emb_model, emb_tok, next(emb_model.parameters()).device)

    units: dict[str, dict[str, list[float]]] = {m: {} for m in METRIC_UNITS}
    generations: dict[str, list[str]] = {}
    base_gen_ids = None
    e_base = None
    for b in cfg.blends:
        k = bkey(b)
        with BlendHooks(layers, b, cfg.scale, cfg.resolution, record=True) as hooks, torch.no_grad():
            out = model(X, output_hidden_states=True)
        st = {n: torch.stack([s[n] for s in hooks.stats], 0) for n in ("cos", "mse", "q_cos", "q_rho")}  # (L,B,T)
        lp = torch.log_softmax(out.logits[:, :-1].float(), -1)
        nll = -lp.gather(-1, targets[..., None])[..., 0]                                  # (B, T-1)
        kl = (clean_lp.exp() * (clean_lp - lp)).sum(-1)                                    # (B, T-1)
        top1 = (lp.argmax(-1) == clean_lp.argmax(-1)).float()
        cos = torch.nn.functional.cosine_similarity
        units["act_cos"][k] = st["cos"].mean((0, 2)).tolist()
        units["act_cos_min"][k] = st["cos"].amin((0, 2)).tolist()
        units["act_mse"][k] = st["mse"].mean((0, 2)).tolist()
        units["act_mse_max"][k] = st["mse"].amax((0, 2)).tolist()
        units["q_cos"][k] = st["q_cos"].mean((0, 2)).tolist()
        units["q_rho"][k] = st["q_rho"].mean((0, 2)).tolist()
        units["drift_cos_band"][k] = cos(out.hidden_states[hi + 1].float(), clean_band, dim=-1).mean(-1).tolist()
        units["drift_cos_final"][k] = cos(out.hidden_states[-1].float(), clean_final, dim=-1).mean(-1).tolist()
        units["nll"][k] = nll.mean(-1).tolist()
        units["kl"][k] = kl.mean(-1).tolist()
        units["top1_agree"][k] = top1.mean(-1).tolist()

        with BlendHooks(layers, b, cfg.scale, cfg.resolution, record=False), torch.no_grad():
            gen = model.generate(P, attention_mask=torch.ones_like(P), max_new_tokens=cfg.new_tokens,
                                 min_new_tokens=cfg.new_tokens, do_sample=False, pad_token_id=tok.pad_token_id)
        new_ids = gen[:, P.shape[1]:].tolist()
        texts = [tok.decode(ids, skip_special_tokens=True) for ids in new_ids]
        generations[k] = texts
        e_gen = embed([t if t.strip() else "." for t in texts], emb_model, emb_tok,
                      next(emb_model.parameters()).device)
        if base_gen_ids is None:
            base_gen_ids, e_base = new_ids, e_gen
        units["rep3"][k] = [rep_ngram_rate(ids, 3) for ids in new_ids]
        units["relevance"][k] = (e_gen * e_prompt).sum(-1).tolist()
        units["sim_baseline"][k] = (e_gen * e_base).sum(-1).tolist()
        units["token_agree"][k] = [float(np.mean(np.array(a) == np.array(c))) for a, c in zip(new_ids, base_gen_ids)]

    table: dict[str, dict[str, list[float]]] = {}
    for m, per_b in units.items():
        table[m] = {k: list(boot_mean(np.array(v), rng, cfg.n_boot)) for k, v in per_b.items()}
    # perplexity: exp of the mean NLL over documents (equal length), bootstrap over documents
    table["ppl"] = {k: list(boot_mean(np.array(v), rng, cfg.n_boot, transform=np.exp))
                    for k, v in units["nll"].items()}
    from quantproof.subjects.changepoint import changepoint_test

    cps = {}
    for i, m in enumerate(cfg.cp_metrics):
        xs = np.array(cfg.blends, dtype=float)
        Y = np.array([units[m][bkey(b)] for b in xs], dtype=float).T
        cps[m] = changepoint_test(xs, Y, n_boot=cfg.cp_boot, rng=np.random.default_rng(cfg.seed + 101 + i)).summary()
    meta = {"changepoint": cps, "model": info.describe(), "band": [lo, hi], "n_layers": n_layers, "device": str(dev),
            "nll_docs": [d for d, _ in nll_docs], "prompt_docs": [d for d, _ in prompt_docs],
            "context_token": int(start), "notes": list(info.notes)}
    return SweepResult(cfg, (lo, hi), units, table, generations, prompts, meta)

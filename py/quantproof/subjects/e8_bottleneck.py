"""Seed 000's E8 bottleneck as a runnable subject: blend E8⊕E8-quantised hidden states into a causal LM's residual
stream and measure what happens (issue 6; matched to the seed's fidelity and given controls in issue 13).

Model: SmolLM2-135M-Instruct (30 layers, hidden 576, GGUF Q4_1 dequantised to fp32) stands in for the seed's
Qwen2.5-0.5B (24 layers, hidden 896), which is not available offline.

Band of layers: the seed patches "layers 8–13" of Qwen2.5-0.5B's 24. We map by relative depth,
``round(8·L/24) .. round(13·L/24)`` inclusive, which for L = 30 is layers 10..16 (7 layers; 0-based indices of
``model.model.layers``). The patched quantity is the *output* of each decoder layer in the band (the residual
stream after that block), replaced by ``h' = (1 − b)·h + b·Q(h)`` with ``Q`` the E8⊕E8 quantiser of
:mod:`quantproof.subjects.e8_quant` (per-token RMS scale by default). Every position is patched, also during
generation (one new position per step with the KV cache).

Matching the seed's quantiser fidelity: cos(h, h') depends only on b and the quantiser's fidelity (c = cos(h, Q(h)),
ρ = ‖Q(h)‖/‖h‖), so the seed's "Avg Cosine" column fixes the fidelity its bottleneck had. With ``resolution <= 0``
the lattice resolution is *fitted* to that column (``seed_blends``/``seed_cosines``, bound from the seed's table in
claims.yaml): the resolution whose blend cosines on the band's clean hidden states of separate calibration documents
(the corpus' calibration split, disjoint from every evaluation document) best match the column in least squares
(:func:`quantproof.subjects.e8_quant.fit_resolution`). The fit's details are reported.

Metrics for each blend ratio b (CIs: percentile bootstrap over documents / prompts):

* activation fidelity at the patched layers: ``cos(h, h')`` and ``MSE = mean((h − h')²)`` per token (the
  seed's "Avg/Min Cosine", "Max MSE"), the quantiser's own ``cos(h, Q(h))`` and norm ratio ``‖Q(h)‖/‖h‖``, the
  end-to-end drift ``cos(h_patched, h_clean)`` at the last patched layer and at the final layer, and the fraction
  of the injected perturbation that an RMS normalisation removes (:func:`e8_quant.absorbed_fraction`), with the
  same fraction for two perturbations of matched energy per token: a pure rescaling of h (planted: all of it is
  removed) and a Gaussian direction (null);
* teacher-forced next-token NLL on held-out documents (perplexity, pooled over equal-length documents), the
  KL divergence KL(clean ‖ patched) per position, top-1 agreement with the clean model;
* greedy open-ended continuations of held-out document openings (prompts disjoint from the NLL documents):
  repeated-3-gram rate ``1 − #distinct token 3-grams / #3-grams`` of the generated tokens, prompt relevance
  ``cos(e(prompt), e(continuation))`` and patched-to-baseline similarity ``cos(e(cont_b), e(cont_0))`` with
  all-MiniLM-L6-v2 sentence embeddings (mean pooling over tokens, L2-normalised), and the token agreement with
  the b = 0 continuation.

Controls computed in the same run: ``control_blends`` (default 1e-4: an intervention present but negligible) run
like every blend but stay out of the change-point grid; a *Gaussian* null at ``gauss_blend`` replaces the lattice
perturbation b(Q(h) − h) by a random direction of the same norm per token (same forward, same drift metrics); a
*planted loop* is each prompt's unpatched continuation with its first ``loop_len`` tokens repeated to the same
length (repetition by construction); the change-point tests run on the real per-unit curves (each unit's metric
minus its own value at b = 0) and on planted curves with the same noise (:func:`changepoint.planted`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from quantproof.subjects import e8_quant

DEFAULT_BLENDS = (0.0, 0.05, 0.10, 0.15, 0.20, 0.25, 0.30, 0.40, 0.50)
SUBJECT_VERSION = "e8b-v2"


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
    control_blends: tuple[float, ...] = (1e-4,)    # run like every blend, kept out of the change-point grid
    gauss_blend: float = 0.20           # Gaussian null of matched energy at this blend (< 0: none)
    layer_lo: int = -1                  # -1: default band
    layer_hi: int = -1
    scale: str = "rms"
    resolution: float = 0.0             # <= 0: fitted to (seed_blends, seed_cosines) on calibration documents
    seed_blends: tuple[float, ...] = ()
    seed_cosines: tuple[float, ...] = ()
    n_cal_docs: int = 4                 # calibration-split documents for the resolution fit
    n_docs: int = 8                     # held-out documents for teacher forcing
    doc_tokens: int = 64
    n_prompts: int = 16                 # held-out document openings for generation
    prompt_tokens: int = 16
    new_tokens: int = 32
    loop_len: int = 8                   # planted loop: the first loop_len continuation tokens, repeated
    n_boot: int = 1000
    cp_boot: int = 200                  # row-bootstrap replicates of each change-point fit (refitted)
    cp_metrics: tuple[str, ...] = ("rep3", "kl", "nll")
    cp_tau_planted: float = 0.225       # planted step between the seed's 0.20 and 0.25
    cp_tau_elsewhere: float = 0.35      # planted step elsewhere (between 0.30 and 0.40)
    seed: int = 0

    def all_blends(self) -> tuple[float, ...]:
        return tuple(sorted(set(self.blends) | set(self.control_blends)))

    def key(self, model_sha: str, corpus_sha: str) -> str:
        d = {**self.to_json(), "model": model_sha, "corpus": corpus_sha, "version": SUBJECT_VERSION,
             "code": _code_hash()}
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()

    def to_json(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}

    @staticmethod
    def from_json(d: dict[str, Any]) -> "SweepConfig":
        return SweepConfig(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items()})


class BlendHooks:
    """Forward hooks on decoder layers that inject ``(1 − b)·h + b·Q(h)`` and record per-token statistics.

    ``mode="gauss"`` injects instead a Gaussian direction with the norm of b(Q(h) − h) per token (the null of
    matched energy); the statistics are those of what was injected."""

    def __init__(self, layers, b: float, scale: str, resolution: float, record: bool = True, mode: str = "lattice",
                 generator=None):
        if mode not in ("lattice", "gauss"):
            raise ValueError(f"unknown mode {mode!r} (lattice | gauss)")
        self.layers = layers
        self.b = float(b)
        self.scale = scale
        self.resolution = resolution
        self.record = record
        self.mode = mode
        self.generator = generator
        self.stats: list[dict[str, Any]] = []
        self.handles = []

    def _hook(self, module, args, output):
        import torch

        h = output[0] if isinstance(output, tuple) else output
        q = e8_quant.quantize(h, scale=self.scale, resolution=self.resolution)
        new = e8_quant.blend(h, q, self.b) if self.b != 0.0 else h
        if self.mode == "gauss" and self.b != 0.0:
            new = e8_quant.matched_perturbations(h, new, self.generator)[1].to(h.dtype)
        if self.record:
            hf, qf, nf = h.float(), q.float(), new.float()
            cos = torch.nn.functional.cosine_similarity
            scaled, gauss = e8_quant.matched_perturbations(hf, nf, self.generator)
            self.stats.append({
                "cos": cos(hf, nf, dim=-1).cpu(),
                "mse": (hf - nf).pow(2).mean(-1).cpu(),
                "q_cos": cos(hf, qf, dim=-1).cpu(),
                "q_rho": (qf.norm(dim=-1) / hf.norm(dim=-1).clamp_min(1e-30)).cpu(),
                "absorbed": e8_quant.absorbed_fraction(hf, nf).float().cpu(),
                "absorbed_scale": e8_quant.absorbed_fraction(hf, scaled).float().cpu(),
                "absorbed_gauss": e8_quant.absorbed_fraction(hf, gauss).float().cpu(),
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
        return {"config": self.config.to_json(), "band": list(self.band), "units": self.units, "table": self.table,
                "generations": self.generations, "prompts": self.prompts, "meta": self.meta}

    @staticmethod
    def from_json(d: dict[str, Any]) -> "SweepResult":
        return SweepResult(SweepConfig.from_json(d["config"]), tuple(d["band"]), d["units"], d["table"],
                           d["generations"], d["prompts"], d.get("meta", {}))

    def unit_array(self, metric: str, b: float) -> np.ndarray:
        return np.asarray(self.units[metric][bkey(b)], dtype=float)

    def matrix(self, metric: str, paired: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """(main blends, rows × blends) of per-unit values for the change-point test; ``paired``: each unit's value
        minus its own value at b = 0 (removes the unit's level, e.g. a document's own perplexity)."""
        xs = np.array(self.config.blends, dtype=float)
        Y = np.array([self.units[metric][bkey(b)] for b in xs], dtype=float).T
        if paired:
            Y = Y - np.asarray(self.units[metric][bkey(0.0)], dtype=float)[:, None]
        return xs, Y


def bkey(b: float) -> str:
    return f"{float(b):.4f}"


METRIC_UNITS = {
    "act_cos": "docs", "act_cos_min": "docs", "act_mse": "docs", "act_mse_max": "docs",
    "q_cos": "docs", "q_rho": "docs", "drift_cos_band": "docs", "drift_cos_final": "docs",
    "absorbed": "docs", "absorbed_scale": "docs", "absorbed_gauss": "docs",
    "nll": "docs", "kl": "docs", "top1_agree": "docs",
    "rep3": "prompts", "relevance": "prompts", "sim_baseline": "prompts", "token_agree": "prompts",
}


def run_sweep(cfg: SweepConfig, *, device: str = "cpu", ctx=None, cache_dir: Path | None = None,
              model: str = "smollm2") -> SweepResult:
    """Run (or read from the cache) the full blend sweep described in the module docstring on ``model`` (a shipped
    name or a local causal-LM checkpoint; the cache key holds its files' sha256)."""
    from quantproof.capture import corpus as corpus_mod
    from quantproof.capture import models as models_mod

    if 0.0 not in cfg.blends:
        raise ValueError("blends must include 0 (the unpatched reference)")
    if cfg.resolution <= 0 and (len(cfg.seed_blends) != len(cfg.seed_cosines) or not cfg.seed_blends):
        raise ValueError("resolution <= 0 fits the resolution to (seed_blends, seed_cosines): give both, of the "
                         "same non-zero length")
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
    if len(nll_docs) < n_docs or len(prompt_docs) < n_prompts:
        raise ValueError(f"the held-out split has {len(nll_docs)} documents of ≥ {doc_tokens} tokens and "
                         f"{len(prompt_docs)} openings; asked for {n_docs} and {n_prompts}")
    return nll_docs, prompt_docs


def _calibration_docs(corp, tok, n: int, doc_tokens: int, seed: int):
    from quantproof.capture import corpus as corpus_mod

    out = []
    for d in corpus_mod.split_documents(corp, 0.3, seed).calibration:
        ids = tok(d.text, add_special_tokens=False)["input_ids"]
        if len(ids) >= doc_tokens:
            out.append((d.doc_id, ids[:doc_tokens]))
        if len(out) >= n:
            return out
    raise ValueError(f"the calibration split has {len(out)} documents of ≥ {doc_tokens} tokens; asked for {n}")


def _fit_band_resolution(cfg: SweepConfig, model, tok, corp, lo: int, hi: int, start: int, dev) -> dict[str, Any]:
    """The resolution matched to the seed's blend-cosine column, on calibration documents (module docstring)."""
    import torch

    cal = _calibration_docs(corp, tok, cfg.n_cal_docs, cfg.doc_tokens, cfg.seed)
    C = torch.tensor([[start] + ids for _, ids in cal], device=dev)
    with torch.no_grad():
        hs = model(C, output_hidden_states=True).hidden_states
    H = torch.stack([hs[i + 1] for i in range(lo, hi + 1)]).float().cpu()
    fit = e8_quant.fit_resolution(H, blends=cfg.seed_blends, cosines=cfg.seed_cosines, scale=cfg.scale)
    fit["docs"] = [d for d, _ in cal]
    return fit


def _run_sweep(cfg: SweepConfig, device: str, ctx, corp, name: str = "smollm2") -> SweepResult:
    import torch

    from quantproof.capture import arch as arch_mod
    from quantproof.capture import models as models_mod

    import time

    t0 = time.monotonic()
    clock: dict[str, float] = {}
    rng = np.random.default_rng(cfg.seed)
    tgen = torch.Generator().manual_seed(cfg.seed + 4242)
    model, tok, info = models_mod.load_model(name, device=device, ctx=ctx, kind="causal_lm")
    emb_model, emb_tok, _ = models_mod.load_minilm(device=device, ctx=ctx)
    ad = arch_mod.adapter(model)
    dev = ad.embeddings_device()
    n_layers = ad.n_layers()
    lo, hi = (cfg.layer_lo, cfg.layer_hi) if cfg.layer_lo >= 0 else default_band(n_layers)
    if not 0 <= lo <= hi < n_layers:
        raise ValueError(f"layer band {lo}-{hi} is outside the model's {n_layers} layers")
    layers = [ad.layers()[i] for i in range(lo, hi + 1)]
    start = doc_start_id(tok)
    calib = None
    resolution = cfg.resolution
    if resolution <= 0:
        clock["load"] = time.monotonic() - t0
        calib = _fit_band_resolution(cfg, model, tok, corp, lo, hi, start, dev)
        resolution = calib["resolution"]
        clock["calibration"] = time.monotonic() - t0 - clock["load"]
    nll_docs, prompt_docs = _select_docs(corp, tok, cfg.n_docs, cfg.doc_tokens, cfg.n_prompts, cfg.prompt_tokens,
                                         cfg.seed)
    X = torch.tensor([[start] + ids for _, ids in nll_docs], device=dev)
    P = torch.tensor([[start] + ids for _, ids in prompt_docs], device=dev)
    prompts = [tok.decode(ids) for _, ids in prompt_docs]
    if ctx is not None:
        ctx.note_tensor("e8b/nll_input_ids", X)
        ctx.note_tensor("e8b/prompt_input_ids", P)
    targets = X[:, 1:]
    e_prompt = embed(prompts, emb_model, emb_tok, next(emb_model.parameters()).device)
    cos = torch.nn.functional.cosine_similarity

    units: dict[str, dict[str, list[float]]] = {m: {} for m in METRIC_UNITS}
    generations: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    base_gen_ids = None
    e_base = None

    def forward(b: float, mode: str = "lattice"):
        with BlendHooks(layers, b, cfg.scale, resolution, record=True, mode=mode, generator=tgen) as hooks, \
                torch.no_grad():
            out = model(X, output_hidden_states=True)
        st = {n: torch.stack([s[n] for s in hooks.stats], 0) for n in hooks.stats[0]}       # (L, B, T)
        lp = torch.log_softmax(out.logits[:, :-1].float(), -1)
        return out, st, lp

    t1 = time.monotonic()
    for b in cfg.all_blends():            # b = 0 first: its hooks leave the model unchanged (the clean run)
        k = bkey(b)
        tb = time.monotonic()
        out, st, lp = forward(b)
        clock["forward"] = clock.get("forward", 0.0) + time.monotonic() - tb
        if b == 0.0:
            clean = {"lp": lp, "band": out.hidden_states[hi + 1].float(), "final": out.hidden_states[-1].float()}
        nll = -lp.gather(-1, targets[..., None])[..., 0]                                  # (B, T-1)
        kl = (clean["lp"].exp() * (clean["lp"] - lp)).sum(-1)                              # (B, T-1)
        top1 = (lp.argmax(-1) == clean["lp"].argmax(-1)).float()
        units["act_cos"][k] = st["cos"].mean((0, 2)).tolist()
        units["act_cos_min"][k] = st["cos"].amin((0, 2)).tolist()
        units["act_mse"][k] = st["mse"].mean((0, 2)).tolist()
        units["act_mse_max"][k] = st["mse"].amax((0, 2)).tolist()
        for m in ("q_cos", "q_rho", "absorbed", "absorbed_scale", "absorbed_gauss"):
            units[m][k] = st[m].mean((0, 2)).tolist()
        units["drift_cos_band"][k] = cos(out.hidden_states[hi + 1].float(), clean["band"], dim=-1).mean(-1).tolist()
        units["drift_cos_final"][k] = cos(out.hidden_states[-1].float(), clean["final"], dim=-1).mean(-1).tolist()
        units["nll"][k] = nll.mean(-1).tolist()
        units["kl"][k] = kl.mean(-1).tolist()
        units["top1_agree"][k] = top1.mean(-1).tolist()

        tb = time.monotonic()
        with BlendHooks(layers, b, cfg.scale, resolution, record=False), torch.no_grad():
            gen = model.generate(P, attention_mask=torch.ones_like(P), max_new_tokens=cfg.new_tokens,
                                 min_new_tokens=cfg.new_tokens, do_sample=False, pad_token_id=tok.pad_token_id)
        clock["generate"] = clock.get("generate", 0.0) + time.monotonic() - tb
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

    # planted loop: each unpatched continuation's first loop_len tokens repeated to the same length
    units["rep3_loop"] = {bkey(0.0): [rep_ngram_rate(planted_loop(ids, cfg.loop_len), 3) for ids in base_gen_ids]}
    if cfg.gauss_blend >= 0:
        kg = bkey(cfg.gauss_blend)
        out, st, lp = forward(cfg.gauss_blend, mode="gauss")
        kl = (clean["lp"].exp() * (clean["lp"] - lp)).sum(-1)
        units["gauss_act_cos"] = {kg: st["cos"].mean((0, 2)).tolist()}
        units["gauss_drift_cos_final"] = {kg: cos(out.hidden_states[-1].float(), clean["final"],
                                                  dim=-1).mean(-1).tolist()}
        units["gauss_kl"] = {kg: kl.mean(-1).tolist()}

    table: dict[str, dict[str, list[float]]] = {}
    for m, per_b in units.items():
        table[m] = {k: list(boot_mean(np.array(v), rng, cfg.n_boot)) for k, v in per_b.items()}
    # perplexity: exp of the mean NLL over documents (equal length), bootstrap over documents
    table["ppl"] = {k: list(boot_mean(np.array(v), rng, cfg.n_boot, transform=np.exp))
                    for k, v in units["nll"].items()}
    clock["blends"] = time.monotonic() - t1
    res = SweepResult(cfg, (lo, hi), units, table, generations, prompts)
    tb = time.monotonic()
    cps = changepoints(res, rng)
    clock["changepoint"] = time.monotonic() - tb
    clock["total"] = time.monotonic() - t0
    res.meta = {"changepoint": cps, "model": info.describe(), "band": [lo, hi], "n_layers": n_layers,
                "device": str(dev), "resolution": resolution, "calibration": calib,
                "nll_docs": [d for d, _ in nll_docs], "prompt_docs": [d for d, _ in prompt_docs],
                "context_token": int(start), "notes": list(info.notes),
                "seconds": {k: round(v, 2) for k, v in clock.items()}}
    return res


def planted_loop(ids: list[int], loop_len: int) -> list[int]:
    """``ids``' first ``loop_len`` tokens repeated to ``len(ids)`` tokens: a continuation locked in a loop."""
    head = list(ids[:max(1, loop_len)])
    return (head * (len(ids) // len(head) + 1))[:len(ids)]


def changepoints(res: SweepResult, rng: np.random.Generator) -> dict[str, Any]:
    """Change-point tests of each metric's paired curve, with row-bootstrap intervals (every fit refitted in each
    replicate), and the same tests on planted curves with the same noise: a step at ``cp_tau_planted`` of the real
    curve's overall change (should be found), a step elsewhere (``cp_tau_elsewhere``, for the location) and a
    smooth power law through the real means (should not be found). One set of row draws serves all four."""
    from quantproof.subjects.changepoint import changepoint_test, planted

    cfg = res.config
    out: dict[str, Any] = {}
    for m in cfg.cp_metrics:
        x, Y = res.matrix(m, paired=True)
        idx = rng.integers(0, Y.shape[0], size=(cfg.cp_boot, Y.shape[0]))
        variants = {"real": Y, "step": planted(x, Y, "step", tau=cfg.cp_tau_planted),
                    "smooth": planted(x, Y, "smooth")}
        if m == "rep3":
            variants["step_elsewhere"] = planted(x, Y, "step", tau=cfg.cp_tau_elsewhere)
        out[m] = {name: changepoint_test(x, V, idx=idx, p_boot=0).summary() for name, V in variants.items()}
    return out

"""Capture transformer internals on real text, with an on-disk cache verified on read.

Kinds (per model family):

* causal LM (Llama-like, e.g. SmolLM2): ``k_post_rope`` (the K-cache as cached, after RoPE, read back from the
  model's ``DynamicCache``), ``k_pre_rope`` (``k_proj`` output), ``q_pre_rope`` (``q_proj`` output),
  ``q_post_rope`` (``q_pre_rope`` rotated with the model's own ``rotary_emb``/``apply_rotary_pos_emb``; the same
  rotation applied to ``k_pre_rope`` is checked against the cache on the first, middle and last layer, listed in
  ``meta["rope_check_layers"]``, and the max error recorded in ``meta``),
  ``hidden`` (``n_layers + 1`` entries, what ``output_hidden_states`` returns: the input of the first decoder layer
  (the embeddings), the output of every decoder layer but the last, and ``last_hidden_state``, the last layer's
  output after the final norm; copied by hooks while the forward runs, equal to ``output_hidden_states`` bit for bit
  (tested)).
* encoder (BERT-like, e.g. MiniLM): ``keys`` / ``queries`` (``attention.self.key``/``query`` outputs, per head),
  ``hidden``.

Arrays: per-head kinds are ``(n_layers, n_heads, n_tokens, head_dim)`` float32, so ``cap.head(kind, l, h)`` is the
``(n_tokens, head_dim)`` matrix of one head; ``hidden`` is ``(n_layers + 1, n_tokens, hidden_size)``. Tokens of all
documents are concatenated; ``doc_index[i]`` and ``positions[i]`` say where token ``i`` came from (position 0 is
each sequence's first token: the attention sink).

Each document is one sequence (batch 1, no padding), truncated to ``max_tokens``. Captures are cached under
``ctx.cache_dir/capture/`` as one ``.npz`` per kind, keyed by the model files' sha256, the corpus files' sha256, the
capture parameters and a hash of this package's capture code; a sidecar ``.sha256`` holds the npz's hash and is
checked on every read (a mismatch, a truncated file or a different key means recompute).

FFN weights: :func:`ffn_weights` returns the fp32 weight matrices of the MLP blocks (for SmolLM2 these are the
dequantized Q4_1 weights: say so wherever they are used).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from quantproof.capture import corpus as _corpus
from quantproof.capture import models as _models

CAUSAL_KINDS = ("k_post_rope", "k_pre_rope", "q_post_rope", "q_pre_rope", "hidden")
ENCODER_KINDS = ("keys", "queries", "hidden")
CAPTURE_FORMAT = 1


def capture_code_hash() -> str:
    """sha256 of every source a capture runs (this module's import closure): a code change invalidates the cache."""
    from ..codehash import code_hash_of

    return code_hash_of(__name__)


@dataclass(frozen=True)
class CaptureParams:
    model: str = "smollm2"               # "smollm2" | "minilm" | a local model path
    split: str = "calibration"           # "calibration" | "heldout"
    n_docs: int = 32
    max_tokens: int = 128
    sources: str = "wiki+lee"
    seed: int = 0                        # split seed
    heldout_fraction: float = 0.3
    dtype: str = "float32"

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model, "split": self.split, "n_docs": self.n_docs, "max_tokens": self.max_tokens,
                "sources": self.sources, "seed": self.seed, "heldout_fraction": self.heldout_fraction,
                "dtype": self.dtype}


@dataclass
class Capture:
    arrays: dict[str, np.ndarray]
    doc_index: np.ndarray               # (n_tokens,) int: index into doc_ids
    positions: np.ndarray               # (n_tokens,) int: position within its sequence
    doc_ids: list[str]
    params: CaptureParams
    model_sha256: str
    corpus_sha256: str
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n_tokens(self) -> int:
        return int(self.positions.shape[0])

    def head(self, kind: str, layer: int, head: int) -> np.ndarray:
        """(n_tokens, head_dim) array of one layer/head."""
        return self.arrays[kind][layer, head]

    def layer(self, kind: str, layer: int) -> np.ndarray:
        """Per-head kinds: (n_tokens, n_heads * head_dim) (heads concatenated); hidden: (n_tokens, hidden)."""
        a = self.arrays[kind][layer]
        if a.ndim == 3:
            return np.ascontiguousarray(a.transpose(1, 0, 2).reshape(a.shape[1], -1))
        return a

    def n_layers(self, kind: str) -> int:
        return int(self.arrays[kind].shape[0])

    def n_heads(self, kind: str) -> int:
        a = self.arrays[kind]
        return int(a.shape[1]) if a.ndim == 4 else 1

    def token_mask(self, drop_first: int = 0) -> np.ndarray:
        """Boolean mask of tokens at position >= drop_first (drop the attention-sink front tokens)."""
        return self.positions >= drop_first

    def doc_groups(self) -> list[np.ndarray]:
        """Token indices of each document (for bootstrap over documents)."""
        order = np.argsort(self.doc_index, kind="stable")
        bounds = np.flatnonzero(np.diff(self.doc_index[order])) + 1
        return np.split(order, bounds)


# --------------------------------------------------------------------------------------------------------------
# cache

def _cache_dir(ctx) -> Path:
    base = Path(getattr(ctx, "cache_dir", None) or os.environ.get("QUANTPROOF_CACHE", ".quantproof-cache"))
    d = base / "capture"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _key(model_sha: str, corpus_sha: str, params: CaptureParams, kind: str) -> tuple[str, dict[str, Any]]:
    ident = {"format": CAPTURE_FORMAT, "model_sha256": model_sha, "corpus_sha256": corpus_sha,
             "params": params.to_json(), "kind": kind, "code": capture_code_hash()}
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest(), ident


def _sha_file(p: Path) -> str:
    h = hashlib.sha256()
    with open(p, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def _read_cached(path: Path, key: str) -> dict[str, Any] | None:
    side = path.with_suffix(".sha256")
    if not path.is_file() or not side.is_file():
        return None
    try:
        if side.read_text().strip() != _sha_file(path):
            return None
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["__meta__"]))
            if meta.get("key") != key:
                return None
            return {"array": np.array(z["array"]), "doc_index": np.array(z["doc_index"]),
                    "positions": np.array(z["positions"]), "meta": meta}
    except (OSError, ValueError, KeyError, EOFError):
        return None


def _write_cached(path: Path, key: str, array: np.ndarray, doc_index: np.ndarray, positions: np.ndarray,
                  meta: dict[str, Any]) -> None:
    meta = dict(meta, key=key)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp.npz")
    os.close(fd)
    try:
        np.savez(tmp, array=array, doc_index=doc_index, positions=positions,
                 __meta__=np.array(json.dumps(meta, sort_keys=True)))
        digest = _sha_file(Path(tmp))
        os.replace(tmp, path)
        side_tmp = str(path.with_suffix(".sha256")) + ".tmp"
        Path(side_tmp).write_text(digest + "\n")
        os.replace(side_tmp, path.with_suffix(".sha256"))
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


# --------------------------------------------------------------------------------------------------------------
# public entry point

def capture(kinds: Iterable[str], params: CaptureParams | None = None, ctx=None, device: str | None = None,
            prefetch: Iterable[str] = (), **overrides: Any) -> Capture:
    """Captured arrays of ``kinds`` for ``params`` (cached; the model is loaded only on a cache miss).

    ``capture(["k_post_rope"], model="smollm2", split="heldout", n_docs=16, ctx=ctx)``. ``prefetch``: other
    kinds to compute and cache in the same forward pass when a miss forces one (they are not returned).
    """
    params = params or CaptureParams()
    if overrides:
        params = CaptureParams(**{**params.to_json(), **overrides})
    kinds = tuple(dict.fromkeys(kinds))
    _, model_sha = _models.model_files_sha256(params.model, ctx)   # also records the model files in ctx
    # one capture per (model, parameters) at a time: concurrent measurement processes wait and then read the cache
    lock_id = hashlib.sha256(json.dumps([model_sha, params.to_json()], sort_keys=True).encode()).hexdigest()[:24]
    with _lock(_cache_dir(ctx) / f"{lock_id}.lock"):
        return _capture_locked(kinds, params, ctx, device, prefetch, model_sha)


def _lock(path: Path):
    try:
        from filelock import FileLock
    except ImportError:  # pragma: no cover - filelock is a dependency; degrade to no locking
        import contextlib

        return contextlib.nullcontext()
    return FileLock(str(path), timeout=1800)


def _capture_locked(kinds: tuple[str, ...], params: CaptureParams, ctx, device, prefetch, model_sha: str) -> Capture:
    corp = _corpus.load_corpus(params.sources, ctx)
    docs = _corpus.select_documents(corp, params.split, params.n_docs, params.seed, params.heldout_fraction)
    doc_ids = [d.doc_id for d in docs]
    out: dict[str, np.ndarray] = {}
    doc_index = positions = None
    meta: dict[str, Any] = {}
    missing = []
    cdir = _cache_dir(ctx)
    keys = {}
    for kind in kinds:
        key, _ = _key(model_sha, corp.sha256, params, kind)
        keys[kind] = key
        got = _read_cached(cdir / f"{kind}-{key[:32]}.npz", key)
        if got is None:
            missing.append(kind)
            continue
        out[kind] = got["array"]
        doc_index, positions = got["doc_index"], got["positions"]
        meta.update(got["meta"].get("capture", {}))
    if missing:
        extra = []
        for kind in prefetch:
            if kind in kinds or kind in extra:
                continue
            key, _ = _key(model_sha, corp.sha256, params, kind)
            if not (cdir / f"{kind}-{key[:32]}.npz").is_file():
                extra.append(kind)
                keys[kind] = key
        fresh, doc_index, positions, cmeta = _run_capture(missing + extra, params, docs, ctx, device)
        meta.update(cmeta)
        for kind in missing + extra:
            _write_cached(cdir / f"{kind}-{keys[kind][:32]}.npz", keys[kind], fresh[kind], doc_index, positions,
                          {"capture": cmeta, "params": params.to_json(), "kind": kind, "doc_ids": doc_ids})
            if kind in missing:
                out[kind] = fresh[kind]
        if ctx is not None:
            ctx.note(f"captured {', '.join(missing + extra)} of {params.model} on {len(docs)} {params.split} documents")
    cap = Capture(out, np.asarray(doc_index), np.asarray(positions), doc_ids, params, model_sha, corp.sha256, meta)
    if ctx is not None:
        for kind, a in out.items():
            ctx.note_tensor(f"capture/{params.model}/{params.split}/{kind}", a)
    return cap


def _run_capture(kinds: list[str], params: CaptureParams, docs, ctx, device: str | None):
    dev = device or getattr(ctx, "device", None) or "auto"
    model, tok, info = _models.load_model(params.model, device=dev, dtype=params.dtype, ctx=ctx)
    if info.kind == "causal_lm":
        bad = [k for k in kinds if k not in CAUSAL_KINDS]
        if bad:
            raise ValueError(f"kinds {bad} are not captured from a causal LM (known: {', '.join(CAUSAL_KINDS)})")
        return _capture_causal(model, tok, info, kinds, docs, params.max_tokens)
    bad = [k for k in kinds if k not in ENCODER_KINDS]
    if bad:
        raise ValueError(f"kinds {bad} are not captured from an encoder (known: {', '.join(ENCODER_KINDS)})")
    return _capture_encoder(model, tok, info, kinds, docs, params.max_tokens)


def _tokenize(tok, text: str, max_tokens: int, device):
    enc = tok(text, return_tensors="pt", truncation=True, max_length=max_tokens)
    return {k: v.to(device) for k, v in enc.items()}


def rope_check_layers(n_layers: int) -> list[int]:
    """Layers whose cached keys are checked against ``k_pre_rope`` rotated by the capture: first, middle, last.

    The rotary embedding is one module shared by all layers (``model.model.rotary_emb``), so a convention mismatch
    shows on any layer; checking three keeps the check off the capture's critical path (all 30 layers of SmolLM2
    cost ~2 % of a forward pass).
    """
    return sorted({0, n_layers // 2, n_layers - 1}) if n_layers > 0 else []


def _rotary_cos_sin(base, positions, head_dim: int, dtype):
    """(cos, sin) of the model's own rotary embedding at ``positions`` ((1, T) int tensor)."""
    import torch

    dummy = torch.zeros(1, positions.shape[-1], head_dim, device=positions.device, dtype=dtype)
    return base.rotary_emb(dummy, positions)


def _capture_causal(model, tok, info, kinds, docs, max_tokens):
    """One forward pass per document; each requested kind is copied once into a preallocated float32 array.

    Per-head kinds are written as ``(n_layers, n_heads, n_tokens, head_dim)`` slices, ``hidden`` as
    ``(n_layers + 1, n_tokens, hidden_size)`` slices (``copy_`` into a tensor sharing the numpy array's memory: one
    copy, dtype conversion and device transfer included). ``hidden`` is copied from hooks on the decoder layers as
    the forward runs instead of asking for ``output_hidden_states``, which keeps every layer's output alive until
    the forward returns (measured +7-9 % of a forward at 512-2048 tokens, against ~0-1 % for the hooks). Kinds not
    requested are neither hooked nor computed, except ``k_proj`` on the :func:`rope_check_layers`, which the RoPE
    consistency check needs.
    """
    import torch

    try:
        from transformers.models.llama.modeling_llama import apply_rotary_pos_emb
    except ImportError:  # pragma: no cover - very old transformers
        from transformers.modeling_rope_utils import apply_rotary_pos_emb  # type: ignore
    base = model.model
    cfg = info.config
    L, H, KV, hd = cfg["n_layers"], cfg["n_heads"], cfg["n_kv_heads"], cfg["head_dim"]
    param = next(model.parameters())
    dev, pdtype = param.device, param.dtype
    want = set(kinds)
    check = rope_check_layers(L)
    k_layers = set(range(L)) if "k_pre_rope" in want else set(check)   # layers whose k_proj output is grabbed
    need_q = bool(want & {"q_pre_rope", "q_post_rope"})
    need_rope = need_q or bool(check)

    # tokenize first: the total token count sizes the output arrays
    ids = [_tokenize(tok, d.text, max_tokens, dev)["input_ids"] for d in docs]
    lengths = [int(x.shape[1]) for x in ids]
    n = sum(lengths)
    heads = {"k_post_rope": KV, "k_pre_rope": KV, "q_pre_rope": H, "q_post_rope": H}
    # Allocated by torch, returned as numpy views of the same memory: copy_ into ``dst`` fills ``arrays``. Not
    # np.empty: numpy madvises large arrays for transparent huge pages, and faulting in fresh huge pages (kernel
    # compaction) was measured at 2-4x the cost of 4 KiB pages for these 50-150 MB outputs on the 2-core CPU box.
    dst: dict[str, torch.Tensor] = {}
    for k in kinds:
        shape = (L + 1, n, cfg["hidden_size"]) if k == "hidden" else (L, heads[k], n, hd)
        dst[k] = torch.empty(shape, dtype=torch.float32)
    arrays = {k: t.numpy() for k, t in dst.items()}
    doc_index = np.empty(n, dtype=np.int32)
    positions = np.empty(n, dtype=np.int32)

    grabbed: dict[tuple[str, int], torch.Tensor] = {}
    hooks = []
    for li, layer in enumerate(base.layers):
        att = layer.self_attn
        if li in k_layers:
            hooks.append(att.k_proj.register_forward_hook(
                lambda m, i, o, li=li: grabbed.__setitem__(("k", li), o.detach())))
        if need_q:
            hooks.append(att.q_proj.register_forward_hook(
                lambda m, i, o, li=li: grabbed.__setitem__(("q", li), o.detach())))
    if "hidden" in want:
        hid = dst["hidden"]
        cur: dict[str, Any] = {"sl": slice(0, 0), "seen": set()}

        def first_input(m, args, kwargs):      # the first decoder layer's input: hidden state 0 (the embeddings)
            h = args[0] if args else kwargs["hidden_states"]
            hid[0, cur["sl"]].copy_(h[0])
            cur["seen"].add(0)

        def layer_output(m, args, out, li):    # decoder layer li's output: hidden state li + 1
            h = out[0] if isinstance(out, (tuple, list)) else out
            hid[li + 1, cur["sl"]].copy_(h[0])
            cur["seen"].add(li + 1)

        hooks.append(base.layers[0].register_forward_pre_hook(first_input, with_kwargs=True))
        for li in range(L - 1):   # the last layer's output is taken after the final norm (last_hidden_state)
            hooks.append(base.layers[li].register_forward_hook(
                lambda m, a, o, li=li: layer_output(m, a, o, li)))
    rope_err = {li: 0.0 for li in check}
    off = 0
    try:
        with torch.no_grad():
            for di, (x, T) in enumerate(zip(ids, lengths)):
                grabbed.clear()
                sl = slice(off, off + T)
                if "hidden" in want:
                    cur["sl"], cur["seen"] = sl, set()
                out = base(input_ids=x, use_cache=True)
                doc_index[sl] = di
                positions[sl] = np.arange(T, dtype=np.int32)
                if need_rope:
                    cos, sin = _rotary_cos_sin(base, torch.arange(T, device=dev)[None], hd, pdtype)
                cache = out.past_key_values
                for li in range(L):
                    if li in k_layers:
                        k_pre = grabbed[("k", li)].view(1, T, KV, hd).transpose(1, 2)   # (1, KV, T, hd)
                        if "k_pre_rope" in want:
                            dst["k_pre_rope"][li, :, sl].copy_(k_pre[0])
                    if "k_post_rope" in want or li in rope_err:
                        k_cached = _cache_keys(cache, li)                             # (1, KV, T, hd)
                        if "k_post_rope" in want:
                            dst["k_post_rope"][li, :, sl].copy_(k_cached[0])
                        if li in rope_err:
                            k_rot, _ = apply_rotary_pos_emb(k_pre, k_pre, cos, sin)
                            rope_err[li] = max(rope_err[li], float((k_rot - k_cached).abs().max()))
                    if need_q:
                        q_pre = grabbed[("q", li)].view(1, T, H, hd).transpose(1, 2)     # (1, H, T, hd)
                        if "q_pre_rope" in want:
                            dst["q_pre_rope"][li, :, sl].copy_(q_pre[0])
                        if "q_post_rope" in want:
                            q_rot, _ = apply_rotary_pos_emb(q_pre, q_pre, cos, sin)
                            dst["q_post_rope"][li, :, sl].copy_(q_rot[0])
                if "hidden" in want:
                    if cur["seen"] != set(range(L)):
                        raise RuntimeError(f"hidden-state hooks fired for {sorted(cur['seen'])}, expected each of "
                                           f"0..{L - 1}: the model does not run every decoder layer once per forward")
                    hid[L, sl].copy_(out.last_hidden_state[0])
                del out, cache
                off += T
    finally:
        grabbed.clear()
        for h in hooks:
            h.remove()
    max_rope_err = max(rope_err.values(), default=0.0)
    meta = {"model": info.describe(), "model_sha256": info.sha256, "rope_check_max_abs_err": max_rope_err,
            "rope_check_layers": check, "rope_check_abs_err_per_layer": {str(li): e for li, e in rope_err.items()},
            "bos_added": False, "max_tokens": max_tokens, "n_docs": len(docs),
            "quantization": info.quantization, "config": info.config}
    if max_rope_err > 1e-3:
        worst = max(rope_err, key=rope_err.get)
        raise RuntimeError(f"post-RoPE keys recomputed from k_proj differ from the cache by {max_rope_err:.2e} "
                           f"(layer {worst}; checked layers {check}): the capture's RoPE convention does not match "
                           "the model")
    return arrays, doc_index, positions, meta


def _cache_keys(cache, layer: int):
    """Keys of one layer from a transformers Cache object (v5 ``layers[i].keys``; v4 ``key_cache[i]``)."""
    if hasattr(cache, "layers"):
        return cache.layers[layer].keys
    if hasattr(cache, "key_cache"):
        return cache.key_cache[layer]
    return cache[layer][0]


def _capture_encoder(model, tok, info, kinds, docs, max_tokens):
    import torch

    cfg = info.config
    H, hd = cfg["n_heads"], cfg["head_dim"]
    dev = next(model.parameters()).device
    want = set(kinds)
    layers = model.encoder.layer
    grabbed: dict[tuple[str, int], torch.Tensor] = {}
    hooks = []
    for li, layer in enumerate(layers):
        sa = layer.attention.self
        if "keys" in want:
            hooks.append(sa.key.register_forward_hook(lambda m, i, o, li=li: grabbed.__setitem__(("k", li), o)))
        if "queries" in want:
            hooks.append(sa.query.register_forward_hook(lambda m, i, o, li=li: grabbed.__setitem__(("q", li), o)))
    store: dict[str, list] = {k: [] for k in kinds}
    doc_index, positions = [], []
    try:
        with torch.no_grad():
            for di, d in enumerate(docs):
                enc = _tokenize(tok, d.text, max_tokens, dev)
                T = enc["input_ids"].shape[1]
                grabbed.clear()
                out = model(**enc, output_hidden_states="hidden" in want)
                for k in kinds:
                    if k == "hidden":
                        store[k].append(torch.stack([h[0] for h in out.hidden_states]).float().cpu().numpy())
                    else:
                        tag = "k" if k == "keys" else "q"
                        per = [grabbed[(tag, li)][0].view(T, H, hd).transpose(0, 1) for li in range(len(layers))]
                        store[k].append(torch.stack(per).float().cpu().numpy())
                doc_index.append(np.full(T, di, dtype=np.int32))
                positions.append(np.arange(T, dtype=np.int32))
    finally:
        for h in hooks:
            h.remove()
    arrays = {k: np.ascontiguousarray(np.concatenate(v, axis=-2)) for k, v in store.items()}
    meta = {"model": info.describe(), "model_sha256": info.sha256, "max_tokens": max_tokens, "n_docs": len(docs),
            "special_tokens": "[CLS] ... [SEP] at positions 0 and T-1", "quantization": info.quantization,
            "config": info.config}
    return arrays, np.concatenate(doc_index), np.concatenate(positions), meta


# --------------------------------------------------------------------------------------------------------------
# weights

def ffn_weights(model_name: str = "minilm", ctx=None, device: str = "cpu") -> dict[str, np.ndarray]:
    """fp32 MLP weight matrices, ``{"L{layer}.{name}": (out_features, in_features)}``.

    MiniLM: ``intermediate`` (1536×384) and ``output`` (384×1536). Llama-like: ``gate_proj``, ``up_proj``
    (intermediate×hidden) and ``down_proj`` (hidden×intermediate); for SmolLM2 these are dequantized Q4_1 values.
    """
    model, _, info = _models.load_model(model_name, device=device, dtype="float32", ctx=ctx)
    out: dict[str, np.ndarray] = {}
    if info.kind == "encoder":
        for li, layer in enumerate(model.encoder.layer):
            out[f"L{li}.intermediate"] = layer.intermediate.dense.weight.detach().float().cpu().numpy()
            out[f"L{li}.output"] = layer.output.dense.weight.detach().float().cpu().numpy()
    else:
        for li, layer in enumerate(model.model.layers):
            for name in ("gate_proj", "up_proj", "down_proj"):
                out[f"L{li}.{name}"] = getattr(layer.mlp, name).weight.detach().float().cpu().numpy()
    if ctx is not None:
        for k, v in out.items():
            ctx.note_tensor(f"weights/{model_name}/{k}", v)
    return out


def attention_weights(model_name: str = "smollm2", layer: int = 0, ctx=None, device: str = "cpu"):
    """(W_q, W_k) of one layer as fp32 arrays (out_features, in_features), for gauge-invariance checks."""
    model, _, info = _models.load_model(model_name, device=device, dtype="float32", ctx=ctx)
    if info.kind == "encoder":
        sa = model.encoder.layer[layer].attention.self
        return sa.query.weight.detach().cpu().numpy(), sa.key.weight.detach().cpu().numpy()
    att = model.model.layers[layer].self_attn
    return att.q_proj.weight.detach().cpu().numpy(), att.k_proj.weight.detach().cpu().numpy()

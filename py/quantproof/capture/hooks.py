"""Capture transformer internals on real text, with an on-disk cache verified on read.

Kinds (architectures in :mod:`quantproof.capture.arch`):

* causal LM with RoPE (Llama/SmolLM2, Qwen2, Gemma-3, Gemma-4): ``k_post_rope`` (the K-cache as cached, after RoPE,
  read back from the model's cache), ``k_pre_rope`` (the keys entering the rotation: ``k_proj``'s output, or
  ``k_norm``'s for Gemma), ``q_pre_rope`` (likewise), ``q_post_rope`` (``q_pre_rope`` rotated with the model's own
  rotary embedding of that layer's type; the same rotation applied to ``k_pre_rope`` is checked against the cache
  on the first, middle and last layer, listed in ``meta["rope_check_layers"]``, and the max error recorded in
  ``meta``), ``values`` (as cached), ``hidden`` (``n_layers + 1`` entries, what ``output_hidden_states`` returns:
  the input of the first decoder layer (the embeddings), the output of every decoder layer but the last, and
  ``last_hidden_state``, the last layer's output after the final norm; copied by hooks while the forward runs,
  equal to ``output_hidden_states`` bit for bit (tested)).
* causal LM without RoPE (GPT-2, GPT-Neo: learned positions): ``keys``, ``queries``, ``values`` (the projections,
  which is what the cache holds: the hooked keys are checked against the cache on the same three layers) and
  ``hidden``. RoPE kinds raise :class:`~quantproof.capture.arch.NotApplicable`.
* encoder (BERT-like, e.g. MiniLM): ``keys`` / ``queries`` / ``values`` (``attention.self.*`` outputs, per head),
  ``hidden``.

Arrays: per-head kinds are ``(n_layers, n_heads, n_tokens, head_dim)`` float32, so ``cap.head(kind, l, h)`` is the
``(n_tokens, head_dim)`` matrix of one head; a model whose layers differ in head count or size (Gemma-4's sliding
and full layers) gives a :class:`Ragged` stack of per-layer ``(n_heads_l, n_tokens, head_dim_l)`` arrays with the
same indexing. ``hidden`` is ``(n_layers + 1, n_tokens, hidden_size)``. Tokens of all documents are concatenated;
``doc_index[i]`` and ``positions[i]`` say where token ``i`` came from (position 0 is each sequence's first token:
the attention sink).

Each document is one sequence (batch 1, no padding), truncated to ``max_tokens``. Captures are cached under
``ctx.cache_dir/capture/``, keyed by the model files' sha256, the corpus files' sha256, the capture parameters and a
hash of the capture code: per kind one ``.npy`` per array (per layer when ragged), an ``.idx.npz`` with token
indices and metadata, and a ``.sha256`` manifest (written last) with every file's hash, checked on every read (a
mismatch, a truncated file or a different key means recompute).

Memory bound (a cache miss): the arrays are written, document by document, into memory-mapped ``.npy`` files in the
cache folder (:func:`numpy.lib.format.open_memmap`), never held whole in RAM. Resident memory is the model, one
document's forward pass (activations of ``max_tokens`` tokens) and one document's slice of every captured kind
(Σ_kinds n_layers × n_heads × max_tokens × head_dim × 4 bytes); dirty pages of the files are the kernel's to write
back. A read maps the files (``mmap_mode="r"``): a measurement pays memory for the slices it converts.

FFN weights: :func:`ffn_weights` returns the fp32 weight matrices of the MLP blocks and, for a mixture of experts,
of every expert (for SmolLM2 these are the dequantized Q4_1 weights: say so wherever they are used).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from quantproof.capture import corpus as _corpus
from quantproof.capture import models as _models

CAUSAL_KINDS = ("k_post_rope", "k_pre_rope", "q_post_rope", "q_pre_rope", "hidden")   # RoPE models
ROPE_MODEL_KINDS = CAUSAL_KINDS + ("values",)
PLAIN_MODEL_KINDS = ("keys", "queries", "values", "hidden")                             # no RoPE (GPT-2, GPT-Neo)
ENCODER_KINDS = ("keys", "queries", "values", "hidden")
CAPTURE_FORMAT = 2


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


class Ragged:
    """Per-layer arrays of different shapes, indexed like one stacked array: ``r[l]``, ``r[l, h]``, ``r.shape[0]``."""

    def __init__(self, layers: list[np.ndarray]):
        self.layers = layers

    def __getitem__(self, idx):
        if isinstance(idx, tuple):
            return self.layers[idx[0]][idx[1:]]
        return self.layers[idx]

    def __len__(self) -> int:
        return len(self.layers)

    @property
    def shape(self) -> tuple[int]:
        return (len(self.layers),)

    @property
    def ndim(self) -> int:
        return 1 + (self.layers[0].ndim if self.layers else 0)

    @property
    def dtype(self):
        return self.layers[0].dtype


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

    def n_heads(self, kind: str, layer: int = 0) -> int:
        """Heads of ``layer`` (all layers alike unless the kind is :class:`Ragged`)."""
        a = self.arrays[kind]
        if isinstance(a, Ragged):
            return int(a[layer].shape[0])
        return int(a.shape[1]) if a.ndim == 4 else 1

    def head_dim(self, kind: str, layer: int = 0) -> int:
        return int(self.arrays[kind][layer].shape[-1])

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


def _entry_files(prefix: Path, n_ragged: int | None) -> list[Path]:
    arrays = [Path(f"{prefix}.npy")] if n_ragged is None else [Path(f"{prefix}.L{i}.npy") for i in range(n_ragged)]
    return arrays + [Path(f"{prefix}.idx.npz")]


def _read_cached(prefix: Path, key: str) -> dict[str, Any] | None:
    """An entry ``prefix.*`` whose manifest lists every file with its sha256 (all verified) and whose key matches;
    arrays memory-mapped read-only."""
    manifest = Path(f"{prefix}.sha256")
    if not manifest.is_file():
        return None
    try:
        listed = json.loads(manifest.read_text())
        n_ragged = listed.pop("__ragged__", None)
        files = _entry_files(prefix, n_ragged)
        if sorted(listed) != sorted(f.name for f in files):
            return None
        for f in files:
            if not f.is_file() or listed[f.name] != _sha_file(f):
                return None
        with np.load(files[-1], allow_pickle=False) as z:
            meta = json.loads(str(z["__meta__"]))
            if meta.get("key") != key:
                return None
            doc_index, positions = np.array(z["doc_index"]), np.array(z["positions"])
        maps = [np.load(f, mmap_mode="r", allow_pickle=False) for f in files[:-1]]
        array = maps[0] if n_ragged is None else Ragged(maps)
        return {"array": array, "doc_index": doc_index, "positions": positions, "meta": meta}
    except (OSError, ValueError, KeyError, EOFError, TypeError, AttributeError):
        return None


def _write_cached(prefix: Path, key: str, array, doc_index: np.ndarray, positions: np.ndarray,
                  meta: dict[str, Any]) -> None:
    """Publish one kind's entry: arrays already memory-mapped in the cache folder are flushed and renamed into
    place, others saved; the manifest goes last (an entry without it does not exist)."""
    meta = dict(meta, key=key)
    parts = array.layers if isinstance(array, Ragged) else [array]
    n_ragged = len(parts) if isinstance(array, Ragged) else None
    files = _entry_files(prefix, n_ragged)
    Path(f"{prefix}.sha256").unlink(missing_ok=True)
    manifest: dict[str, Any] = {"__ragged__": n_ragged} if n_ragged is not None else {}
    for a, dst in zip(parts, files[:-1]):
        src = getattr(a, "filename", None)
        if isinstance(a, np.memmap) and src and Path(src).parent.resolve() == dst.parent.resolve():
            a.flush()
            os.replace(src, dst)
        else:
            fd, tmp = tempfile.mkstemp(dir=dst.parent, suffix=".tmp.npy")
            os.close(fd)
            try:
                np.save(tmp, np.ascontiguousarray(a, dtype=np.float32))
                os.replace(tmp, dst)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        manifest[dst.name] = _sha_file(dst)
    fd, tmp = tempfile.mkstemp(dir=files[-1].parent, suffix=".tmp.npz")
    os.close(fd)
    try:
        np.savez(tmp, doc_index=doc_index, positions=positions, __meta__=np.array(json.dumps(meta, sort_keys=True)))
        os.replace(tmp, files[-1])
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    manifest[files[-1].name] = _sha_file(files[-1])
    side_tmp = f"{prefix}.sha256.tmp"
    Path(side_tmp).write_text(json.dumps(manifest, sort_keys=True) + "\n")
    os.replace(side_tmp, f"{prefix}.sha256")


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
        got = _read_cached(cdir / f"{kind}-{key[:32]}", key)
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
            if not (cdir / f"{kind}-{key[:32]}.sha256").is_file():
                extra.append(kind)
                keys[kind] = key
        work = Path(tempfile.mkdtemp(dir=cdir, prefix="streaming-"))   # memory-mapped outputs, same filesystem
        try:
            fresh, doc_index, positions, cmeta = _run_capture(missing + extra, params, docs, ctx, device, work)
            meta.update(cmeta)
            for kind in missing + extra:
                prefix = cdir / f"{kind}-{keys[kind][:32]}"
                _write_cached(prefix, keys[kind], fresh[kind], doc_index, positions,
                              {"capture": cmeta, "params": params.to_json(), "kind": kind, "doc_ids": doc_ids})
                if kind in missing:
                    got = _read_cached(prefix, keys[kind])
                    out[kind] = got["array"] if got is not None else fresh[kind]
        finally:
            shutil.rmtree(work, ignore_errors=True)
        if ctx is not None:
            ctx.note(f"captured {', '.join(missing + extra)} of {params.model} on {len(docs)} {params.split} documents")
    cap = Capture(out, np.asarray(doc_index), np.asarray(positions), doc_ids, params, model_sha, corp.sha256, meta)
    if ctx is not None:
        for kind, a in out.items():
            if isinstance(a, Ragged):
                for li, part in enumerate(a.layers):
                    ctx.note_tensor(f"capture/{params.model}/{params.split}/{kind}/L{li}", part)
            else:
                ctx.note_tensor(f"capture/{params.model}/{params.split}/{kind}", a)
    return cap


def _run_capture(kinds: list[str], params: CaptureParams, docs, ctx, device: str | None, out_dir: Path | None = None):
    from .arch import NotApplicable

    dev = device or getattr(ctx, "device", None) or "auto"
    model, tok, info = _models.load_model(params.model, device=dev, dtype=params.dtype, ctx=ctx)
    try:
        if info.kind == "causal_lm":
            return _capture_causal(model, tok, info, kinds, docs, params.max_tokens, out_dir=out_dir)
        bad = [k for k in kinds if k not in ENCODER_KINDS]
        if bad:
            raise NotApplicable(f"kinds {bad} are not captured from an encoder (known: {', '.join(ENCODER_KINDS)})")
        return _capture_encoder(model, tok, info, kinds, docs, params.max_tokens, out_dir=out_dir)
    except NotApplicable as exc:
        from quantproof.evidence.measurement import MeasurementUnavailable

        raise MeasurementUnavailable(f"not applicable to {info.name} ({info.arch}): {exc}") from exc


def _tokenize(tok, text: str, max_tokens: int, device):
    enc = tok(text, return_tensors="pt", truncation=True, max_length=max_tokens)
    return {k: v.to(device) for k, v in enc.items()}


def rope_check_layers(n_layers: int) -> list[int]:
    """Layers whose cached keys are checked against the capture's own keys (rotated with the model's RoPE where it
    has one): first, middle, last.

    A convention mismatch or a misplaced hook shows on any layer; checking three keeps the check off the capture's
    critical path (all 30 layers of SmolLM2 cost ~2 % of a forward pass).
    """
    return sorted({0, n_layers // 2, n_layers - 1}) if n_layers > 0 else []


def _rotary_cos_sin(base, positions, head_dim: int, dtype):
    """(cos, sin) of the model's own rotary embedding at ``positions`` ((1, T) int tensor); ``base`` has a
    ``rotary_emb(x, positions)`` (a model body, or an :class:`quantproof.capture.arch._Rotary` of one layer type)."""
    import torch

    dummy = torch.zeros(1, positions.shape[-1], head_dim, device=positions.device, dtype=dtype)
    return base.rotary_emb(dummy, positions)


class _Outputs:
    """Preallocated float32 outputs: in RAM (``out_dir`` None) or memory-mapped ``.npy`` files in ``out_dir``.
    ``dst[kind]`` is a torch view (``copy_`` converts dtype and device), ``arrays[kind]`` the numpy side."""

    def __init__(self, out_dir: Path | None):
        self.out_dir = out_dir
        self.dst: dict[str, Any] = {}
        self.arrays: dict[str, Any] = {}

    def _one(self, name: str, shape: tuple[int, ...]):
        import torch

        if self.out_dir is None:
            # Allocated by torch, returned as numpy views of the same memory. Not np.empty: numpy madvises large
            # arrays for transparent huge pages, and faulting in fresh huge pages was measured at 2-4x the cost of
            # 4 KiB pages for these 50-150 MB outputs on the 2-core CPU box.
            t = torch.empty(shape, dtype=torch.float32)
            return t, t.numpy()
        a = np.lib.format.open_memmap(self.out_dir / f"{name}.npy", mode="w+", dtype=np.float32, shape=shape)
        return torch.from_numpy(a), a

    def add(self, kind: str, shapes: list[tuple[int, ...]] | tuple[int, ...]):
        """One array (a shape) or one per layer (a list of shapes: a :class:`Ragged` stack)."""
        if isinstance(shapes, tuple):
            self.dst[kind], self.arrays[kind] = self._one(kind, shapes)
            return
        pairs = [self._one(f"{kind}.L{i}", sh) for i, sh in enumerate(shapes)]
        self.dst[kind] = [p[0] for p in pairs]
        self.arrays[kind] = Ragged([p[1] for p in pairs])

    def layer(self, kind: str, li: int):
        d = self.dst[kind]
        return d[li] if isinstance(d, list) else d[li]


def _capture_causal(model, tok, info, kinds, docs, max_tokens, out_dir: Path | None = None):
    """One forward pass per document; each requested kind is copied once into a preallocated float32 array.

    Per-head kinds are written as ``(n_heads, n_tokens, head_dim)`` slices of each layer, ``hidden`` as
    ``(n_layers + 1, n_tokens, hidden_size)`` slices (``copy_`` into a tensor sharing the numpy array's memory: one
    copy, dtype conversion and device transfer included). ``hidden`` is copied from hooks on the decoder layers as
    the forward runs instead of asking for ``output_hidden_states``, which keeps every layer's output alive until
    the forward returns (measured +7-9 % of a forward at 512-2048 tokens, against ~0-1 % for the hooks). Kinds not
    requested are neither hooked nor computed, except the keys of the :func:`rope_check_layers`, which the cache
    consistency check needs. Where the hooks sit is the architecture's (:mod:`quantproof.capture.arch`).
    """
    import torch

    from . import arch as A

    ad = A.adapter(model)
    base = ad.base
    L = ad.n_layers()
    want = set(kinds)
    allowed = ROPE_MODEL_KINDS if ad.rope else PLAIN_MODEL_KINDS
    bad = sorted(want - set(allowed))
    if bad:
        why = "it has no RoPE (learned absolute positions)" if not ad.rope else "use the RoPE kinds"
        raise A.NotApplicable(f"{', '.join(bad)} not captured from {info.arch}: {why} (its kinds: "
                              f"{', '.join(allowed)})")
    per_head = want - {"hidden"}
    if per_head and any(ad.shares_kv(li) for li in range(L)):
        raise A.NotApplicable("layers that reuse another layer's keys and values (KV sharing) are not captured")
    dims = [ad.dims(li) for li in range(L)]
    uniform = len(set(dims)) == 1
    dev = ad.embeddings_device()
    check = rope_check_layers(L) if per_head or ad.rope else []
    tags = {"k_post_rope": "k", "k_pre_rope": "k", "keys": "k", "q_pre_rope": "q", "q_post_rope": "q",
            "queries": "q", "values": "v"}
    sliding = any("sliding" in str(ad.layer_type(li)) for li in range(L))
    grab_k = set(range(L)) if want & {"k_pre_rope", "keys"} or ("k_post_rope" in want and sliding) else set(check)
    need_q = bool(want & {"q_pre_rope", "q_post_rope", "queries"})
    need_v = "values" in want

    # tokenize first: the total token count sizes the output arrays
    ids = [_tokenize(tok, d.text, max_tokens, dev)["input_ids"] for d in docs]
    lengths = [int(x.shape[1]) for x in ids]
    n = sum(lengths)
    outs = _Outputs(out_dir)
    hidden_size = int(getattr(ad.cfg, "hidden_size", 0) or getattr(ad.cfg, "n_embd"))
    for k in kinds:
        if k == "hidden":
            outs.add(k, (L + 1, n, hidden_size))
            continue
        heads = [d.n_heads if tags[k] == "q" else d.n_kv_heads for d in dims]
        if uniform:
            outs.add(k, (L, heads[0], n, dims[0].head_dim))
        else:
            outs.add(k, [(heads[li], n, dims[li].head_dim) for li in range(L)])
    doc_index = np.empty(n, dtype=np.int32)
    positions = np.empty(n, dtype=np.int32)

    grabbed: dict[tuple[str, int], Any] = {}
    hooks = []

    def grab(tags_wanted, li):
        mods = ad.qkv_modules(li)
        if "qkv" in mods:   # one fused projection (GPT-2's c_attn)
            def fused(m, i, o, li=li):
                for t in tags_wanted:
                    grabbed[(t, li)] = o.detach()

            hooks.append(mods["qkv"].register_forward_hook(fused))
            return
        for t in tags_wanted:
            hooks.append(mods[t].register_forward_hook(
                lambda m, i, o, li=li, t=t: grabbed.__setitem__((t, li), o.detach())))

    for li in range(L):
        tw = [t for t, on in (("k", li in grab_k), ("q", need_q), ("v", need_v)) if on]
        if tw:
            grab(tw, li)
    layers = ad.layers()
    if "hidden" in want:
        hid = outs.dst["hidden"]
        cur: dict[str, Any] = {"sl": slice(0, 0), "seen": set()}

        def first_input(m, args, kwargs):      # the first decoder layer's input: hidden state 0 (the embeddings)
            h = args[0] if args else kwargs["hidden_states"]
            hid[0, cur["sl"]].copy_(h[0])
            cur["seen"].add(0)

        def layer_output(m, args, out, li):    # decoder layer li's output: hidden state li + 1
            h = out[0] if isinstance(out, (tuple, list)) else out
            hid[li + 1, cur["sl"]].copy_(h[0])
            cur["seen"].add(li + 1)

        hooks.append(layers[0].register_forward_pre_hook(first_input, with_kwargs=True))
        for li in range(L - 1):   # the last layer's output is taken after the final norm (last_hidden_state)
            hooks.append(layers[li].register_forward_hook(lambda m, a, o, li=li: layer_output(m, a, o, li)))
    cache_err = {li: 0.0 for li in check}
    rotaries = {li: ad.rotary(li) for li in range(L)} if ad.rope else {}
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
                pos = torch.arange(T, device=dev)[None]
                cossin: dict[tuple[int, str | None], Any] = {}
                cache = out.past_key_values
                for li in range(L):
                    hd = dims[li].head_dim
                    cs = None
                    if ad.rope and (li in grab_k or need_q or "k_post_rope" in want):
                        ck = (hd, ad.layer_type(li))
                        if ck not in cossin:
                            cossin[ck] = _rotary_cos_sin(rotaries[li], pos, hd, torch.float32)
                        cs = cossin[ck]
                    if li in grab_k:
                        k_pre = ad.split("k", grabbed[("k", li)], li, T)[None]              # (1, KV, T, hd)
                        for kind in want & {"k_pre_rope", "keys"}:
                            outs.layer(kind, li)[:, sl].copy_(k_pre[0])
                    k_cached = None
                    if "k_post_rope" in want or li in cache_err:
                        k_cached = _cache_keys(cache, li)                                   # (1, KV, T', hd)
                    if "k_post_rope" in want:
                        if k_cached.shape[-2] == T:
                            outs.layer("k_post_rope", li)[:, sl].copy_(k_cached[0])
                        else:   # a sliding-window cache keeps only the last tokens: rotate the keys ourselves
                            k_pre_l = ad.split("k", grabbed[("k", li)], li, T)[None]
                            outs.layer("k_post_rope", li)[:, sl].copy_(
                                A.rotate(k_pre_l.float(), *cs)[0])
                    if li in cache_err:
                        k_exp = A.rotate(k_pre.float(), *cs) if ad.rope else k_pre.float()
                        Tc = k_cached.shape[-2]
                        err = float((k_exp[..., T - Tc:, :] - k_cached.float()).abs().max()) if Tc else 0.0
                        cache_err[li] = max(cache_err[li], err)
                    if need_q:
                        q = ad.split("q", grabbed[("q", li)], li, T)[None]                  # (1, H, T, hd)
                        if "q_pre_rope" in want:
                            outs.layer("q_pre_rope", li)[:, sl].copy_(q[0])
                        if "queries" in want:
                            outs.layer("queries", li)[:, sl].copy_(q[0])
                        if "q_post_rope" in want:
                            outs.layer("q_post_rope", li)[:, sl].copy_(A.rotate(q.float(), *cs)[0])
                    if need_v:
                        outs.layer("values", li)[:, sl].copy_(ad.split("v", grabbed[("v", li)], li, T))
                if "hidden" in want:
                    if cur["seen"] != set(range(L)):
                        raise RuntimeError(f"hidden-state hooks fired for {sorted(cur['seen'])}, expected each of "
                                           f"0..{L - 1}: the model does not run every decoder layer once per forward")
                    hid[L, sl].copy_(out.last_hidden_state[0])
                del out, cache
                off += T
                if out_dir is not None and di % 8 == 7:
                    for a in _flat(outs.arrays.values()):
                        a.flush()
    finally:
        grabbed.clear()
        for h in hooks:
            h.remove()
    max_err = max(cache_err.values(), default=0.0)
    cfg = dict(info.config)
    if not uniform:
        cfg["per_layer"] = [{"n_heads": d.n_heads, "n_kv_heads": d.n_kv_heads, "head_dim": d.head_dim} for d in dims]
    if ad.rope:
        cfg["rope_per_layer"] = [ad.rope_spec(li) for li in range(L)]
    meta = {"model": info.describe(), "model_sha256": info.sha256, "rope": ad.rope, "family": info.arch,
            "rope_check_max_abs_err": max_err, "rope_check_layers": check,
            "rope_check_abs_err_per_layer": {str(li): e for li, e in cache_err.items()},
            "bos_added": False, "max_tokens": max_tokens, "n_docs": len(docs),
            "quantization": info.quantization, "config": cfg}
    tol = 1e-3 if next(model.parameters()).dtype == torch.float32 else 3e-2
    if max_err > tol:
        worst = max(cache_err, key=cache_err.get)
        what = "post-RoPE keys recomputed from the pre-RoPE keys" if ad.rope else "hooked keys"
        raise RuntimeError(f"{what} differ from the cache by {max_err:.2e} (layer {worst}; checked layers {check}): "
                           "the capture's RoPE convention does not match the model" if ad.rope else
                           f"{what} differ from the cache by {max_err:.2e} (layer {worst}; checked layers {check}): "
                           "the capture's hooks do not sit where the model computes its keys")
    return outs.arrays, doc_index, positions, meta


def _flat(arrays):
    for a in arrays:
        yield from (a.layers if isinstance(a, Ragged) else [a])


def _cache_keys(cache, layer: int):
    """Keys of one layer from a transformers Cache object (v5 ``layers[i].keys``; v4 ``key_cache[i]``)."""
    if hasattr(cache, "layers"):
        return cache.layers[layer].keys
    if hasattr(cache, "key_cache"):
        return cache.key_cache[layer]
    return cache[layer][0]


def _capture_encoder(model, tok, info, kinds, docs, max_tokens, out_dir: Path | None = None):
    """Encoder (BERT-like): the same preallocated outputs; hidden states from ``output_hidden_states``."""
    import torch

    from . import arch as A

    ad = A.adapter(model)
    L = ad.n_layers()
    d0 = ad.dims(0)
    dev = ad.embeddings_device()
    want = set(kinds)
    encs = [_tokenize(tok, d.text, max_tokens, dev) for d in docs]
    lengths = [int(e["input_ids"].shape[1]) for e in encs]
    n = sum(lengths)
    outs = _Outputs(out_dir)
    for k in kinds:
        outs.add(k, (L + 1, n, int(model.config.hidden_size)) if k == "hidden" else (L, d0.n_heads, n, d0.head_dim))
    grabbed: dict[tuple[str, int], Any] = {}
    hooks = []
    tag_of = {"keys": "k", "queries": "q", "values": "v"}
    for li in range(L):
        mods = ad.qkv_modules(li)
        for k in want & set(tag_of):
            t = tag_of[k]
            hooks.append(mods[t].register_forward_hook(lambda m, i, o, li=li, t=t: grabbed.__setitem__((t, li), o)))
    doc_index = np.empty(n, dtype=np.int32)
    positions = np.empty(n, dtype=np.int32)
    off = 0
    try:
        with torch.no_grad():
            for di, (enc, T) in enumerate(zip(encs, lengths)):
                sl = slice(off, off + T)
                grabbed.clear()
                out = model(**enc, output_hidden_states="hidden" in want)
                for k in kinds:
                    if k == "hidden":
                        for li, h in enumerate(out.hidden_states):
                            outs.dst[k][li, sl].copy_(h[0])
                    else:
                        for li in range(L):
                            outs.dst[k][li, :, sl].copy_(ad.split(tag_of[k], grabbed[(tag_of[k], li)], li, T))
                doc_index[sl] = di
                positions[sl] = np.arange(T, dtype=np.int32)
                off += T
    finally:
        for h in hooks:
            h.remove()
    meta = {"model": info.describe(), "model_sha256": info.sha256, "max_tokens": max_tokens, "n_docs": len(docs),
            "rope": False, "family": info.arch,
            "special_tokens": "[CLS] ... [SEP] at positions 0 and T-1", "quantization": info.quantization,
            "config": info.config}
    return outs.arrays, doc_index, positions, meta


# --------------------------------------------------------------------------------------------------------------
# weights

def ffn_weights(model_name: str = "minilm", ctx=None, device: str = "cpu", layers: Iterable[int] | None = None,
                experts: bool = False) -> dict[str, np.ndarray]:
    """fp32 MLP weight matrices, ``{"L{layer}.{name}": (out_features, in_features)}``, of ``layers`` (all by default).

    MiniLM: ``intermediate`` (1536×384) and ``output`` (384×1536). Llama/Qwen2/Gemma: ``gate_proj``, ``up_proj``
    (intermediate×hidden) and ``down_proj`` (hidden×intermediate); for SmolLM2 these are dequantized Q4_1 values.
    GPT-2 / GPT-Neo: ``c_fc`` (intermediate×hidden) and ``c_proj`` (hidden×intermediate; GPT-2's Conv1D weights
    transposed). With ``experts`` (a mixture of experts, e.g. Gemma-4-26B-A4B): the experts' matrices instead, one
    per expert, ``L{layer}.experts.{e}.gate_proj`` / ``.up_proj`` / ``.down_proj`` (for 128 experts of 704×2816 that
    is 2.9 GB of fp32 per layer: choose the layers). Output matrices (their columns live in the hidden space) are
    told by :func:`quantproof.capture.arch.is_output_matrix`.
    """
    from . import arch as A

    model, _, info = _models.load_model(model_name, device=device, dtype="float32", ctx=ctx)
    ad = A.adapter(model)
    keep = range(ad.n_layers()) if layers is None else layers
    out: dict[str, np.ndarray] = {}
    for li in keep:
        mats = ad.expert_weights(li) if experts else ad.mlp_weights(li)
        if experts and not mats and li == (list(keep) or [0])[0]:
            raise A.NotApplicable(f"{info.name} ({info.arch}) has no experts")
        for name, w in mats.items():
            out[f"L{li}.{name}"] = w.detach().float().cpu().numpy()
    if ctx is not None:
        for k, v in out.items():
            ctx.note_tensor(f"weights/{model_name}/{k}", v)
    return out


def attention_weights(model_name: str = "smollm2", layer: int = 0, ctx=None, device: str = "cpu"):
    """(W_q, W_k) of one layer as fp32 arrays (out_features, in_features), for gauge-invariance checks (models with
    separate q/k projections)."""
    from . import arch as A

    model, _, info = _models.load_model(model_name, device=device, dtype="float32", ctx=ctx)
    att = A.adapter(model).attn(A.adapter(model).layers()[layer])
    q = getattr(att, "q_proj", None) or getattr(att, "query")
    k = getattr(att, "k_proj", None) or getattr(att, "key")
    return q.weight.detach().float().cpu().numpy(), k.weight.detach().float().cpu().numpy()


def n_layers_of(model_name: str, ctx=None, device: str = "cpu") -> int:
    """Decoder (encoder) layers of a model (loads it; loaded models are kept for the process)."""
    from . import arch as A

    model, _, _ = _models.load_model(model_name, device=device, dtype="float32", ctx=ctx)
    return A.adapter(model).n_layers()

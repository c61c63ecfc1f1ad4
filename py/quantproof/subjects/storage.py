"""Seed 000's "storage compression prototypes" made concrete: E8⊕E8 coding of a real K/V cache and of a real MLP
weight matrix, with the bytes of the coded form counted as stored (issue 6).

Coded form (:func:`quantproof.subjects.e8_quant.e8_integer_code`): each row (a K or V head vector of 64, a weight
row) is cut into 16-blocks and quantised to E8⊕E8 after dividing by a scale α (per row, ``rms``, or per 16-block,
``block``); the stored data are the *doubled* lattice coordinates (integers; int8 when they fit) and α as float16.
Byte counts:

* ``int8``: ``codes.nbytes + alphas.nbytes`` (one byte per coordinate: the seed's "INT8 coordinates");
* ``packed``: the codes bit-packed at the smallest width that holds their observed range
  (``ceil(log2(max − min + 1))`` bits, plus 2 bytes for the offset), really packed with ``np.packbits`` and counted;
* ``entropy``: the empirical zeroth-order entropy of the codes (bits/coordinate) times the count: a lower bound for
  any coder that codes coordinates independently (side information excluded), reported, not stored.

Baseline: the same tensor in fp16 (2 bytes per value). Fidelity: cosine of the reconstruction with the original
rows (pooled over all values and per row), and of the *outputs* that use them: attention outputs
``softmax(q kᵀ/√d) v`` with real queries (K/V), ``x Wᵀ`` on real inputs (weights).

SmolLM2's weights were 4-bit (GGUF Q4_1) before transformers dequantised them: coding them again measures E8 on
4-bit-grid values (the honest fp16 baseline of the *seed's* claim does not exist for them); MiniLM's are fp32.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from quantproof.subjects import e8_quant


@dataclass
class Coded:
    n_values: int
    fp16_bytes: int
    int8_bytes: int
    packed_bytes: int
    entropy_bits_per_value: float
    code_bits: int
    code_min: int
    code_max: int
    scale_bytes: int
    recon: np.ndarray

    @property
    def ratio_int8(self) -> float:
        return self.fp16_bytes / self.int8_bytes

    @property
    def ratio_packed(self) -> float:
        return self.fp16_bytes / self.packed_bytes

    @property
    def ratio_entropy(self) -> float:
        return self.fp16_bytes / (self.n_values * self.entropy_bits_per_value / 8 + self.scale_bytes)

    @property
    def bits_per_value_packed(self) -> float:
        return 8 * self.packed_bytes / self.n_values


def code_rows(X: np.ndarray, *, scale: str = "rms", resolution: float = 1.0) -> Coded:
    """E8⊕E8-code the rows of X and count the bytes of every stored form (see the module docstring)."""
    X = np.asarray(X, dtype=np.float32)
    if X.shape[-1] % 16:
        raise ValueError("row length must be a multiple of 16")
    codes, alphas, recon = e8_quant.e8_integer_code(X, scale=scale, resolution=resolution)
    flat = codes.astype(np.int64).ravel()
    lo, hi = int(flat.min()), int(flat.max())
    bits = max(1, math.ceil(math.log2(hi - lo + 1)))
    # really pack: offset codes to [0, 2^bits), write each as `bits` bits, pack to bytes
    u = (flat - lo).astype(np.uint32)
    bitplanes = ((u[:, None] >> np.arange(bits - 1, -1, -1, dtype=np.uint32)[None, :]) & 1).astype(np.uint8)
    packed = np.packbits(bitplanes.ravel())
    scale_bytes = int(alphas.nbytes)
    _, counts = np.unique(flat, return_counts=True)
    p = counts / counts.sum()
    ent = float(-(p * np.log2(p)).sum())
    return Coded(
        n_values=int(X.size), fp16_bytes=int(X.size * 2), int8_bytes=int(codes.nbytes + alphas.nbytes),
        packed_bytes=int(packed.nbytes + alphas.nbytes + 2), entropy_bits_per_value=ent, code_bits=bits,
        code_min=lo, code_max=hi, scale_bytes=scale_bytes, recon=recon.reshape(X.shape),
    )


def entropy_coded_bits(X: np.ndarray, *, scale: str = "rms", resolution: float = 1.0) -> float:
    """Bits per value of X's rows E8⊕E8-coded at their empirical zeroth-order entropy plus fp16 scales (the
    ``ratio_entropy`` size of :func:`code_rows`, computed without packing or decoding: for rate searches)."""
    import torch

    X = np.asarray(X, dtype=np.float32)
    if X.shape[-1] % 16:
        raise ValueError("row length must be a multiple of 16")
    x = torch.as_tensor(X).reshape(-1, X.shape[-1])
    blocks = x.reshape(x.shape[0], -1, 16)
    if scale == "rms":
        alpha = x.pow(2).mean(-1, keepdim=True).sqrt().clamp_min(1e-12)[..., None] / resolution
        n_scales = x.shape[0]
    elif scale == "block":
        alpha = blocks.pow(2).mean(-1, keepdim=True).sqrt().clamp_min(1e-12) / resolution
        n_scales = blocks.shape[0] * blocks.shape[1]
    else:
        raise ValueError("integer codes are defined for scale 'rms' or 'block'")
    codes = torch.round(2 * e8_quant.nearest_e8e8_torch(blocks / alpha)).to(torch.int64).reshape(-1).numpy()
    counts = np.bincount(codes - codes.min())
    p = counts[counts > 0] / codes.size
    ent = float(-(p * np.log2(p)).sum())
    return (codes.size * ent + 16 * n_scales) / codes.size


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def row_cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1) + 1e-300)


def kv_cache(model, tok, texts: list[str], max_tokens: int):
    """Per document: (K, V, Q) arrays of shape (layers, heads, T, head_dim) from one cached forward.

    K and V are read from the model's own cache (what a KV cache stores: post-RoPE keys where the model has RoPE);
    Q is the query projection (Gemma: after its norm) rotated with the model's own rotary embedding of that layer
    (:mod:`quantproof.capture.arch`), or as projected for a model without RoPE (GPT-2, GPT-Neo).
    """
    import torch

    from ..capture import arch as A
    from ..capture.hooks import _cache_keys, _rotary_cos_sin

    ad = A.adapter(model)
    L = ad.n_layers()
    dims = {ad.dims(li) for li in range(L)}
    if len(dims) != 1:
        raise A.NotApplicable("layers of different head sizes: the K/V cache is not one array per document")
    d = dims.pop()
    dev = ad.embeddings_device()
    out = []
    for text in texts:
        ids = tok(text, add_special_tokens=False, return_tensors="pt")["input_ids"][:, :max_tokens].to(dev)
        qs: dict[int, torch.Tensor] = {}
        hooks = []
        for li in range(L):
            mods = ad.qkv_modules(li)
            m = mods.get("q", mods.get("qkv"))
            hooks.append(m.register_forward_hook(lambda mod, a, o, li=li: qs.__setitem__(li, o.detach())))
        try:
            with torch.no_grad():
                res = ad.base(input_ids=ids, use_cache=True)
        finally:
            for h in hooks:
                h.remove()
        T = ids.shape[1]
        pos = torch.arange(T, device=dev)[None]
        Ks, Vs, Qs = [], [], []
        cache = res.past_key_values
        for li in range(L):
            k = _cache_keys(cache, li)
            v = cache.layers[li].values if hasattr(cache, "layers") else cache.value_cache[li]
            q = ad.split("q", qs[li], li, T)[None]
            if ad.rope:
                cos, sin = _rotary_cos_sin(ad.rotary(li), pos, d.head_dim, torch.float32)
                q = A.rotate(q.float(), cos, sin)
            Ks.append(k[0].float().cpu().numpy())
            Vs.append(v[0].float().cpu().numpy())
            Qs.append(q[0].float().cpu().numpy())
        out.append((np.stack(Ks), np.stack(Vs), np.stack(Qs)))
    return out


def attention_outputs(Q: np.ndarray, K: np.ndarray, V: np.ndarray) -> np.ndarray:
    """Causal softmax attention per (layer, query head), with grouped K/V heads (GQA): (L, H, T, hd)."""
    from quantproof.math.attention import softmax_attention

    L, H = Q.shape[:2]
    G = H // K.shape[1]
    return np.stack([np.stack([softmax_attention(Q[l, h], K[l, h // G], V[l, h // G], causal=True)
                               for h in range(H)]) for l in range(L)])

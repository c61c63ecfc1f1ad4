"""Where each architecture keeps what the measurements capture: per-layer queries, keys and values (before and
after RoPE), the decoder layers whose outputs are the hidden states, the rotary embedding, MLP and expert weights.

Families (transformers ``model_type``) and their conventions:

* ``llama`` (SmolLM2), ``qwen2`` (q/k/v biases, grouped KV heads): ``self_attn.{q,k,v}_proj`` outputs are the
  pre-RoPE queries/keys and the values; RoPE ``x·cos + rotate_half(x)·sin`` with ``model.rotary_emb(x, pos)``.
* ``gemma3``, ``gemma4`` (incl. the MoE ``gemma4`` 26B-A4B): queries and keys are RMS-normed per head
  (``q_norm``/``k_norm``) *before* RoPE, so their pre-RoPE vectors are those norms' outputs (the input of the
  rotation); values are ``v_norm``'s output (Gemma-4) or ``v_proj``'s (Gemma-3). RoPE differs per layer type
  (``rotary_emb(x, pos, layer_type)``: sliding and full attention have their own frequencies; Gemma-4's full layers
  rotate only a fraction of the dimensions and have their own head size and KV-head count, so per-layer shapes
  differ and captures are stored per layer). Gemma-4's experts: ``experts.gate_up_proj`` (E, 2I, H) and
  ``experts.down_proj`` (E, H, I), returned per expert.
* ``gpt2``: one fused ``attn.c_attn`` (a Conv1D, weight (in, out)) whose output splits into q, k, v; learned absolute
  positions: no RoPE, so RoPE kinds are *not applicable*. ``gpt_neo`` (TinyStories): ``attn.attention.{q,k,v}_proj``,
  learned positions, no RoPE.
* ``bert`` (MiniLM): ``attention.self.{query,key,value}``; an encoder, no RoPE.

Every adapter is duck-typed on module names (no isinstance on model classes) and checked on tiny random models of
each family (tests/models/test_arch.py): shapes, RoPE consistency with the model's own cache, hook placement.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

ROPE_FAMILIES = ("llama", "qwen2", "gemma3", "gemma3_text", "gemma4", "gemma4_text")
CAUSAL_FAMILIES = ROPE_FAMILIES + ("gpt2", "gpt_neo")
ENCODER_FAMILIES = ("bert",)


class NotApplicable(Exception):
    """A capture kind the architecture does not have (e.g. post-RoPE keys of GPT-2, which has no RoPE)."""


@dataclass(frozen=True)
class LayerDims:
    n_heads: int
    n_kv_heads: int
    head_dim: int


def family(model) -> str:
    cfg = model.config
    mt = str(getattr(cfg, "model_type", ""))
    if mt in ("gemma4", "gemma3") and hasattr(cfg, "text_config"):
        return mt
    return mt


def text_config(model):
    cfg = model.config
    tc = getattr(cfg, "text_config", None)
    return tc if tc is not None and hasattr(tc, "num_hidden_layers") else cfg


def base_of(model):
    """The module whose forward takes ``input_ids`` and returns ``last_hidden_state`` and ``past_key_values``."""
    for name in ("model", "transformer"):
        m = getattr(model, name, None)
        if m is not None and not isinstance(m, type):
            lm = getattr(m, "language_model", None)
            return lm if lm is not None else m
    return model


class Adapter:
    """One family's module layout. Subclasses override what differs."""

    rope = True
    qkv_layout = "bthd"           # layout of the hooked q/k/v tensors: (B, T, heads, hd) or flat (B, T, heads*hd)

    def __init__(self, model):
        self.model = model
        self.cfg = text_config(model)
        self.base = base_of(model)

    # -- structure
    def layers(self) -> list:
        return list(self.base.layers)

    def n_layers(self) -> int:
        return len(self.layers())

    def dims(self, li: int) -> LayerDims:
        c = self.cfg
        H = c.num_attention_heads
        hd = getattr(c, "head_dim", None) or c.hidden_size // H
        return LayerDims(H, getattr(c, "num_key_value_heads", None) or H, hd)

    def attn(self, layer):
        return layer.self_attn

    def shares_kv(self, li: int) -> bool:
        return False

    # -- hooks: (module, tag) pairs whose forward output holds q / k / v of layer ``li``
    def qkv_modules(self, li: int) -> dict[str, Any]:
        a = self.attn(self.layers()[li])
        return {"q": a.q_proj, "k": a.k_proj, "v": a.v_proj}

    def split(self, tag: str, out, li: int, T: int):
        """The hooked output of ``tag`` as (heads, T, hd) (batch 1)."""
        d = self.dims(li)
        n = d.n_heads if tag == "q" else d.n_kv_heads
        return out.reshape(T, n, d.head_dim).transpose(0, 1) if out.dim() <= 3 else \
            out[0].transpose(0, 1) if self.qkv_layout == "bthd" else out[0]

    # -- RoPE
    def layer_type(self, li: int) -> str | None:
        types = getattr(self.cfg, "layer_types", None)
        return types[li] if types else None

    def rotary(self, li: int) -> "_Rotary":
        return _Rotary(self.base.rotary_emb, None)

    def rope_theta(self, li: int) -> float | None:
        from .models import _rope_theta

        rp = getattr(self.cfg, "rope_parameters", None)
        lt = self.layer_type(li)
        if isinstance(rp, dict) and lt in rp and isinstance(rp[lt], dict):
            return float(rp[lt].get("rope_theta")) if rp[lt].get("rope_theta") is not None else None
        return _rope_theta(self.cfg)

    def rope_spec(self, li: int) -> dict[str, Any]:
        """The rotation of layer ``li``: its type, base θ, the model's own inverse frequencies (float32, as the model
        computes them) and attention scaling, for measurements that re-apply RoPE in float64."""
        r = self.rotary(li)
        lt = r.layer_type
        mod = r.module
        inv = getattr(mod, f"{lt}_inv_freq" if lt else "inv_freq", None)
        scaling = getattr(mod, f"{lt}_attention_scaling" if lt else "attention_scaling", 1.0)
        rtype = getattr(mod, "rope_type", "default")
        if isinstance(rtype, dict):
            rtype = rtype.get(lt, "default")
        return {"layer_type": lt, "rope_type": str(rtype), "theta": self.rope_theta(li),
                "inv_freq": [float(x) for x in inv.detach().float().cpu()] if inv is not None else None,
                "scaling": float(scaling if scaling is not None else 1.0)}

    # -- hidden states: decoder layer outputs; the last one is the base's last_hidden_state (after the final norm)
    def embeddings_device(self):
        return self.model.get_input_embeddings().weight.device

    # -- weights
    def mlp_weights(self, li: int) -> dict[str, Any]:
        """(out, in) weight tensors of the dense MLP of layer ``li``, by name."""
        mlp = self.layers()[li].mlp
        return {n: getattr(mlp, n).weight for n in ("gate_proj", "up_proj", "down_proj")}

    def expert_weights(self, li: int) -> dict[str, Any]:
        return {}


class _Rotary:
    """The model's own rotary embedding for one layer type: ``rotary_emb(x, positions) -> (cos, sin)``."""

    def __init__(self, module, layer_type: str | None):
        self.module, self.layer_type = module, layer_type

    def rotary_emb(self, x, positions):
        if self.layer_type is None:
            return self.module(x, positions)
        return self.module(x, positions, self.layer_type)


def rotate(x, cos, sin):
    """RoPE as transformers applies it (pairs i, i + d/2): x (B, H, T, hd), cos/sin (B, T, hd)."""
    import torch

    c, s = cos.unsqueeze(1), sin.unsqueeze(1)
    h = x.shape[-1] // 2
    rot = torch.cat((-x[..., h:], x[..., :h]), dim=-1)
    return x * c + rot * s


class Llama(Adapter):
    pass


class Qwen2(Adapter):
    pass


class Gemma(Adapter):
    """Gemma-3 and Gemma-4: per-head norms before RoPE, RoPE per layer type, (Gemma-4) per-layer head sizes."""

    def __init__(self, model):
        super().__init__(model)
        self.qkv_layout = "bthd" if "gemma4" in str(getattr(self.cfg, "model_type", "")) else "bhtd"

    def dims(self, li: int) -> LayerDims:
        """From the layer's own modules (Gemma-4's config refuses global reads of per-layer head sizes)."""
        a = self.attn(self.layers()[li])
        hd = int(a.head_dim)
        k = getattr(a, "k_proj", None)
        H = a.q_proj.out_features // hd
        return LayerDims(H, k.out_features // hd if k is not None else H // int(a.num_key_value_groups), hd)

    def shares_kv(self, li: int) -> bool:
        return bool(getattr(self.attn(self.layers()[li]), "is_kv_shared_layer", False))

    def qkv_modules(self, li: int) -> dict[str, Any]:
        a = self.attn(self.layers()[li])
        if self.shares_kv(li):
            raise NotApplicable(f"layer {li} reuses another layer's keys and values (Gemma-4 KV sharing)")
        v = getattr(a, "v_norm", None) or a.v_proj
        return {"q": a.q_norm, "k": a.k_norm, "v": v}

    def split(self, tag: str, out, li: int, T: int):
        if tag == "v" and out.dim() == 3:        # Gemma-3 values straight from v_proj: (B, T, heads*hd)
            d = self.dims(li)
            return out[0].reshape(T, d.n_kv_heads, d.head_dim).transpose(0, 1)
        return out[0].transpose(0, 1) if self.qkv_layout == "bthd" else out[0]

    def rotary(self, li: int) -> _Rotary:
        return _Rotary(self.base.rotary_emb, self.layer_type(li))

    def mlp_weights(self, li: int) -> dict[str, Any]:
        mlp = self.layers()[li].mlp
        return {n: getattr(mlp, n).weight for n in ("gate_proj", "up_proj", "down_proj")}

    def expert_weights(self, li: int) -> dict[str, Any]:
        """Per expert e: ``experts.{e}.gate_proj`` (I, H), ``.up_proj`` (I, H), ``.down_proj`` (H, I)."""
        layer = self.layers()[li]
        ex = getattr(layer, "experts", None)
        if ex is None or not getattr(layer, "enable_moe_block", True):
            return {}
        gu, dn = ex.gate_up_proj, ex.down_proj           # (E, 2I, H), (E, H, I)
        inter = gu.shape[1] // 2
        out = {}
        for e in range(gu.shape[0]):
            out[f"experts.{e}.gate_proj"] = gu[e, :inter]
            out[f"experts.{e}.up_proj"] = gu[e, inter:]
            out[f"experts.{e}.down_proj"] = dn[e]
        return out


class GPT2(Adapter):
    rope = False

    def layers(self) -> list:
        return list(self.base.h)

    def attn(self, layer):
        return layer.attn

    def dims(self, li: int) -> LayerDims:
        c = self.cfg
        H = c.n_head if hasattr(c, "n_head") else c.num_attention_heads
        return LayerDims(H, H, c.n_embd // H if hasattr(c, "n_embd") else c.hidden_size // H)

    def qkv_modules(self, li: int) -> dict[str, Any]:
        return {"qkv": self.attn(self.layers()[li]).c_attn}

    def split(self, tag: str, out, li: int, T: int):
        d = self.dims(li)
        E = d.n_heads * d.head_dim
        i = "qkv".index(tag)
        return out[0, :, i * E:(i + 1) * E].reshape(T, d.n_heads, d.head_dim).transpose(0, 1)

    def mlp_weights(self, li: int) -> dict[str, Any]:
        mlp = self.layers()[li].mlp          # Conv1D weights are (in, out): transposed to (out, in)
        return {"c_fc": mlp.c_fc.weight.t(), "c_proj": mlp.c_proj.weight.t()}


class GPTNeo(GPT2):
    def attn(self, layer):
        return layer.attn.attention

    def dims(self, li: int) -> LayerDims:
        c = self.cfg
        return LayerDims(c.num_heads, c.num_heads, c.hidden_size // c.num_heads)

    def qkv_modules(self, li: int) -> dict[str, Any]:
        a = self.attn(self.layers()[li])
        return {"q": a.q_proj, "k": a.k_proj, "v": a.v_proj}

    def split(self, tag: str, out, li: int, T: int):
        return Adapter.split(self, tag, out, li, T)

    def mlp_weights(self, li: int) -> dict[str, Any]:
        mlp = self.layers()[li].mlp
        return {"c_fc": mlp.c_fc.weight, "c_proj": mlp.c_proj.weight}


class Bert(Adapter):
    rope = False

    def __init__(self, model):
        self.model = model
        self.cfg = model.config
        self.base = model

    def layers(self) -> list:
        return list(self.base.encoder.layer)

    def attn(self, layer):
        return layer.attention.self

    def qkv_modules(self, li: int) -> dict[str, Any]:
        a = self.attn(self.layers()[li])
        return {"q": a.query, "k": a.key, "v": a.value}

    def mlp_weights(self, li: int) -> dict[str, Any]:
        blk = self.layers()[li]
        return {"intermediate": blk.intermediate.dense.weight, "output": blk.output.dense.weight}


_ADAPTERS: dict[str, Callable[[Any], Adapter]] = {
    "llama": Llama, "qwen2": Qwen2, "gemma3": Gemma, "gemma3_text": Gemma, "gemma4": Gemma, "gemma4_text": Gemma,
    "gpt2": GPT2, "gpt_neo": GPTNeo, "bert": Bert,
}

# the output matrix of an MLP (writes the hidden state): its columns, not its rows, live in the hidden space
OUTPUT_MATRICES = ("down_proj", "output", "c_proj")


def is_output_matrix(name: str) -> bool:
    return name.rsplit(".", 1)[-1] in OUTPUT_MATRICES


def adapter(model) -> Adapter:
    mt = family(model)
    if mt not in _ADAPTERS:
        raise NotApplicable(f"architecture {mt!r} is not wired for capture (known: {', '.join(sorted(_ADAPTERS))})")
    return _ADAPTERS[mt](model)

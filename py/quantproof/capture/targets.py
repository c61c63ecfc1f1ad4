"""The seeds' own models (targets), the substitutes that run here, and bindings of either to local checkpoints.

A measurement link in claims.yaml may name the model its seed measured (``target: qwen2.5-0.5b``); its ``model``
parameter names the substitute that runs when no checkpoint of the target is at hand (``smollm2``, ``minilm``).
``quantproof run --model NAME=PATH`` (or ``--models FILE``) binds a target or a substitute to a local checkpoint:

* a bound **target** runs instead of the substitute; the verdict's reason says "on the seed's model X";
* a bound **substitute** (e.g. ``smollm2=`` the bf16 SmolLM2 release, to lift the 4-bit confound) runs in place of
  the shipped copy; the reason still says "on substitute Y for X";
* unbound, the shipped substitute runs: "on substitute Y for X".

Policy:
1. A checkpoint is a Hugging Face directory (``config.json`` + ``*.safetensors``, sharded or not) or one ``.gguf``
   file. Pickle checkpoints (``.bin``, ``.pt``, ``.pth``, ``.ckpt``, ``.pkl``) are refused, never opened.
2. Every binding is checked before any work (:func:`check_binding`): the path exists; every weight file is complete
   (safetensors header against the file size, every shard of an index present, a GGUF header that reads through);
   the architecture (``config.json``'s ``model_type``, a GGUF's ``general.architecture``) is one the target's
   family uses (a target's) or one QuantProof captures (a substitute's, of the same kind: causal LM or encoder).
   Any problem is a :class:`BindingError` naming the file; the CLI exits 2.
3. A checkpoint's identity is the sha256 of each of its files (labels relative to the checkpoint); measurement cache
   keys and the ledger's provenance carry them (:func:`checkpoint_hashes`; files of 256 MB or more are remembered
   per (path, size, mtime) so a 50 GB checkpoint is read once, not once per measurement process).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Capture kinds by family (quantproof.capture.arch). RoPE kinds exist only where the model rotates its keys.
ROPE_KINDS = ("k_pre_rope", "k_post_rope", "q_pre_rope", "q_post_rope")
COMMON_KINDS = ("keys", "queries", "values", "hidden", "mlp_weights")
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")


@dataclass(frozen=True)
class ModelSlot:
    """A model a measurement link can run on: a seed's model (target) or a substitute shipped here."""

    name: str                      # the name used in claims.yaml and on the command line
    title: str                     # as the seed (or the model card) names it
    role: str                      # target | substitute
    kind: str                      # causal_lm | encoder
    families: tuple[str, ...]      # transformers model_type values of checkpoints accepted for this slot
    hf_id: str                     # where a user gets it (README); never downloaded by QuantProof
    seeds: tuple[str, ...] = ()    # seed numbers that name this model
    capture: tuple[str, ...] = ()  # capture kinds it supports
    params_b: float = 0.0          # parameters, billions (for memory and time estimates)
    stored_dtype: str = "bfloat16"  # how the public checkpoint stores its weights
    moe: bool = False              # mixture of experts: per-expert weights exist
    short: str = ""                # how a verdict's reason names it
    notes: str = ""

    @property
    def label(self) -> str:
        return self.short or self.title


def _causal(rope: bool, moe: bool = False) -> tuple[str, ...]:
    return (ROPE_KINDS if rope else ()) + COMMON_KINDS + (("expert_weights",) if moe else ())


TARGETS: dict[str, ModelSlot] = {s.name: s for s in (
    ModelSlot("qwen2.5-0.5b", "Qwen2.5-0.5B", "target", "causal_lm", ("qwen2",), "Qwen/Qwen2.5-0.5B",
              seeds=("000",), capture=_causal(True), params_b=0.49,
              notes="seed 000's sweep model (24 layers, 14 query / 2 KV heads of 64, q/k/v biases)"),
    ModelSlot("qwen2.5-1.5b", "Qwen2.5-1.5B", "target", "causal_lm", ("qwen2",), "Qwen/Qwen2.5-1.5B",
              seeds=("000",), capture=_causal(True), params_b=1.54,
              notes="seed 000's generalisation table (28 layers)"),
    ModelSlot("qwen2.5-3b", "Qwen2.5-3B", "target", "causal_lm", ("qwen2",), "Qwen/Qwen2.5-3B",
              seeds=("000",), capture=_causal(True), params_b=3.09,
              notes="seed 000's generalisation table (36 layers)"),
    ModelSlot("tinystories-33m", "TinyStories-33M", "target", "causal_lm", ("gpt_neo",),
              "roneneldan/TinyStories-33M", seeds=("001",), capture=_causal(False), params_b=0.068,
              stored_dtype="float32",
              notes="seed 001's reference model (GPT-Neo, 4 layers, learned positions: no RoPE); the repository may "
                    "hold only pytorch_model.bin, which must be converted to safetensors first"),
    ModelSlot("gemma-4-26b-moe", "Gemma-4-26B-A4B (MoE)", "target", "causal_lm", ("gemma4", "gemma4_text"),
              "google/gemma-4-26B-A4B-it", seeds=("003",), capture=_causal(True, moe=True), params_b=25.8,
              moe=True, short="Gemma-4-26B-A4B",
              notes="seed 003's model (the seed says 'Gemma-4 26B MoE'; base or -it is not stated): 128 experts per "
                    "layer beside a dense MLP; sliding and full attention layers with different head sizes"),
    ModelSlot("gpt2", "GPT-2 (124M)", "target", "causal_lm", ("gpt2",), "openai-community/gpt2", seeds=("004",),
              capture=_causal(False), params_b=0.124, stored_dtype="float32", short="GPT-2",
              notes="seed 004's activation model (12 layers, fused c_attn, learned positions: no RoPE)"),
    ModelSlot("minilm", "all-MiniLM-L6-v2", "target", "encoder", ("bert",),
              "sentence-transformers/all-MiniLM-L6-v2", seeds=("004",), capture=COMMON_KINDS, params_b=0.023,
              stored_dtype="float32", short="all-MiniLM-L6-v2",
              notes="seed 004 names 'MiniLM' among its embedding models; we read it as all-MiniLM-L6-v2, which is "
                    "also the shipped substitute"),
)}

SUBSTITUTES: dict[str, ModelSlot] = {s.name: s for s in (
    ModelSlot("smollm2", "SmolLM2-135M-Instruct", "substitute", "causal_lm",
              ("llama", "qwen2", "gpt2", "gpt_neo", "gemma3", "gemma3_text", "gemma4", "gemma4_text"),
              "HuggingFaceTB/SmolLM2-135M-Instruct", capture=_causal(True), params_b=0.135,
              short="SmolLM2-135M (Q4_1-dequantized)",
              notes="shipped as a Q4_1 GGUF and dequantized: its keys and weights are those of a 4-bit model, not "
                    "of the bf16 release; bind smollm2=PATH to the bf16 release to lift the confound"),
    ModelSlot("minilm", "all-MiniLM-L6-v2", "substitute", "encoder", ("bert",),
              "sentence-transformers/all-MiniLM-L6-v2", capture=COMMON_KINDS, params_b=0.023,
              stored_dtype="float32", short="all-MiniLM-L6-v2 (fp32)", notes="shipped as fp32 safetensors"),
)}

# transformers model_type of a GGUF general.architecture (the names differ for a few families)
GGUF_ARCH = {"llama": "llama", "qwen2": "qwen2", "gpt2": "gpt2", "gptneo": "gpt_neo", "gemma3": "gemma3",
             "gemma4": "gemma4", "bert": "bert"}


class BindingError(ValueError):
    """A binding that cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True)
class Binding:
    """A slot bound to a checkpoint that passed :func:`check_binding`."""

    name: str
    slot: ModelSlot
    path: Path                     # absolute: a directory or a .gguf file
    model_type: str
    files: dict[str, Path] = field(default_factory=dict)  # label -> path

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.slot.role, "path": str(self.path), "model_type": self.model_type}


def slot(name: str, *, substitute: bool = False) -> ModelSlot | None:
    """A target by name (or a substitute's slot with ``substitute=True``)."""
    return (SUBSTITUTES if substitute else TARGETS).get(name)


def bindable(name: str) -> ModelSlot | None:
    """The slot a ``--model NAME=PATH`` binds: a target, else a substitute (``minilm`` is both: the same model)."""
    return TARGETS.get(name) or SUBSTITUTES.get(name)


def known_names() -> list[str]:
    return sorted(set(TARGETS) | set(SUBSTITUTES))


def by_seed(seed_number: str) -> list[ModelSlot]:
    return [t for t in TARGETS.values() if seed_number in t.seeds]


# ------------------------------------------------------------------------------------------------ checks

def _model_type(config: dict[str, Any]) -> str:
    mt = str(config.get("model_type") or "")
    return mt


def _files_of_dir(d: Path) -> dict[str, Path]:
    from .models import check_safetensors
    from ..evidence.measurement import MeasurementUnavailable

    cfg = d / "config.json"
    st = sorted(d.glob("*.safetensors"))
    if not st:
        pickles = sorted(p.name for p in d.iterdir() if p.suffix in PICKLE_SUFFIXES)
        if pickles:
            raise BindingError(f"{d}: only pickle checkpoints ({', '.join(pickles)}); QuantProof never unpickles: "
                               "convert them to safetensors first")
        raise BindingError(f"{d}: no *.safetensors file (a checkpoint is a directory with config.json and "
                           "*.safetensors, or a .gguf file)")
    if not cfg.is_file():
        raise BindingError(f"{cfg}: missing (a safetensors checkpoint needs its config.json)")
    index = d / "model.safetensors.index.json"
    if index.is_file():
        try:
            shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise BindingError(f"{index}: not a readable safetensors index ({exc})") from None
        missing = [s for s in shards if not (d / s).is_file()]
        if missing:
            raise BindingError(f"{d / missing[0]}: missing (listed in {index.name}; {len(missing)} of "
                               f"{len(shards)} shards missing)")
    for p in st:
        try:
            check_safetensors(p)
        except MeasurementUnavailable as exc:
            raise BindingError(str(exc)) from None
    files = {p.name: p for p in st}
    for extra in ("config.json", "model.safetensors.index.json", "tokenizer.json", "tokenizer.model", "vocab.txt",
                  "vocab.json", "merges.txt"):
        if (d / extra).is_file():
            files[extra] = d / extra
    return files


def read_config(d: Path) -> dict[str, Any]:
    cfg = d / "config.json"
    try:
        data = json.loads(cfg.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BindingError(f"{cfg}: cannot read ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise BindingError(f"{cfg}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise BindingError(f"{cfg}: not a JSON object")
    return data


def gguf_architecture(path: Path) -> str:
    """``general.architecture`` of a GGUF file (after :func:`quantproof.capture.models.check_gguf`)."""
    try:
        from gguf import GGUFReader
    except ImportError:
        raise BindingError(f"{path}: reading a GGUF needs the `gguf` package (pip install gguf)") from None
    try:
        r = GGUFReader(str(path), "r")
        f = r.fields.get("general.architecture")
        arch = bytes(f.parts[f.data[0]]).decode("utf-8") if f is not None else ""
    except Exception as exc:  # noqa: BLE001 - any reader failure is a broken file, named
        raise BindingError(f"{path}: not a readable GGUF file ({type(exc).__name__}: {exc})") from None
    if not arch:
        raise BindingError(f"{path}: GGUF header has no general.architecture")
    return GGUF_ARCH.get(arch, arch)


def _accepts(s: ModelSlot, model_type: str, config: dict[str, Any] | None) -> str | None:
    """None when a checkpoint of ``model_type`` (and ``config``) fits the slot, else why not."""
    if model_type not in s.families:
        what = "target" if s.role == "target" else "substitute"
        return (f"its architecture is {model_type or 'unknown'!r} but {what} {s.name} ({s.title}) takes "
                f"{' | '.join(s.families)}")
    if s.moe and config is not None:
        text = config.get("text_config") if isinstance(config.get("text_config"), dict) else config
        if not (text.get("enable_moe_block") or text.get("num_experts")):
            return f"target {s.name} is a mixture-of-experts model but this config has no experts"
    return None


def check_binding(name: str, path: str | os.PathLike[str], *, base: Path | None = None) -> Binding:
    """Validate one ``NAME=PATH`` binding before any work; raise :class:`BindingError` naming the file."""
    s = bindable(name)
    if s is None:
        raise BindingError(f"unknown model {name!r} (known: {', '.join(known_names())})")
    p = Path(os.path.expanduser(str(path)))
    if not p.is_absolute():
        p = (base or Path.cwd()) / p
    p = p.resolve()
    if not p.exists():
        raise BindingError(f"{p}: no such file or directory (bound to {name})")
    config: dict[str, Any] | None = None
    if p.is_dir():
        files = _files_of_dir(p)
        config = read_config(p)
        model_type = _model_type(config)
    elif p.suffix in PICKLE_SUFFIXES:
        raise BindingError(f"{p}: a pickle checkpoint; QuantProof never unpickles: convert it to safetensors")
    elif p.suffix == ".gguf":
        from .models import check_gguf
        from ..evidence.measurement import MeasurementUnavailable

        try:
            check_gguf(p)
        except MeasurementUnavailable as exc:
            raise BindingError(str(exc)) from None
        model_type = gguf_architecture(p)
        files = {p.name: p}
    else:
        raise BindingError(f"{p}: not a checkpoint (a directory with config.json and *.safetensors, or a .gguf "
                           "file)")
    why = _accepts(s, model_type, config)
    if why:
        raise BindingError(f"{p}: {why}")
    return Binding(name, s, p, model_type, files)


def read_models_file(path: str | os.PathLike[str]) -> dict[str, str]:
    """``NAME: PATH`` pairs of a models file (YAML; optionally under a top-level ``models:``), paths relative to the
    file. Errors name ``file:line``."""
    import yaml

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise BindingError(f"{p}: cannot read ({exc.strerror or exc})") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise BindingError(f"{p}:{mark.line + 1 if mark else 0}: malformed YAML") from None
    if node is not None and isinstance(node, yaml.MappingNode) and len(node.value) == 1 and \
            getattr(node.value[0][0], "value", None) == "models":
        node = node.value[0][1]
    if not isinstance(node, yaml.MappingNode):
        raise BindingError(f"{p}:1: a models file maps model names to checkpoint paths (NAME: PATH)")
    out: dict[str, str] = {}
    for k, v in node.value:
        line = k.start_mark.line + 1
        if not isinstance(k, yaml.ScalarNode) or not isinstance(v, yaml.ScalarNode) or k.tag != \
                "tag:yaml.org,2002:str" or not v.value.strip():
            raise BindingError(f"{p}:{line}: each entry is NAME: PATH (plain strings)")
        if k.value in out:
            raise BindingError(f"{p}:{line}: {k.value} is bound twice")
        target = Path(os.path.expanduser(v.value))
        out[k.value] = str(target if target.is_absolute() else (p.parent / target))
    return out


def parse_bindings(pairs: list[str], models_file: str | None = None) -> list[Binding]:
    """``--model NAME=PATH`` options (after those of ``--models FILE``; a later one wins) checked into bindings."""
    raw: dict[str, str] = {}
    if models_file:
        raw.update(read_models_file(models_file))
    for pair in pairs or []:
        name, sep, path = pair.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise BindingError(f"--model {pair!r}: expected NAME=PATH (known names: {', '.join(known_names())})")
        raw[name.strip()] = path.strip()
    return [check_binding(n, p) for n, p in raw.items()]


# ------------------------------------------------------------------------------------------------ identity

def checkpoint_hashes(files: dict[str, Path]) -> dict[str, str]:
    """label -> sha256 of every file of a checkpoint (large files remembered across runs by (path, size, mtime):
    :func:`quantproof.evidence.measurement.file_sha256`)."""
    from ..evidence.measurement import file_sha256

    return {label: file_sha256(p) for label, p in sorted(files.items())}


# ------------------------------------------------------------------------------------------------ per link

@dataclass(frozen=True)
class ModelRun:
    """Which model a measurement link runs on: the seed's (``ran="target"``) or a substitute, and its files."""

    target: str | None             # the link's target (None: its seed names no model)
    ran: str                       # target | substitute
    model: str                     # what the measurement's ``model`` parameter was given (a name or a path)
    label: str                     # how the verdict's reason names it
    files: dict[str, str] = field(default_factory=dict)  # label -> sha256 of the checkpoint's files
    bound: bool = False            # a local checkpoint bound on the command line

    def note(self) -> str:
        """"on the seed's model X" | "on substitute Y for X" | "on Y"."""
        t = TARGETS.get(self.target or "")
        if t is not None and (self.ran == "target" or self.model == self.target):   # minilm: target and shipped
            return f"on the seed's model {t.label}"
        if t is not None:
            return f"on substitute {self.label} for {t.label}"
        return f"on {self.label}"

    def key(self) -> dict[str, Any]:
        """What a measurement cache key holds of it: which one ran and its files (not the link's target name, so
        links that run the same model share one job)."""
        return {"ran": self.ran, "files": dict(sorted(self.files.items()))}

    def to_json(self) -> dict[str, Any]:
        return {"target": self.target, "ran": self.ran, "model": self.model, "label": self.label,
                "bound": self.bound, "files": dict(sorted(self.files.items()))}


def _bound_label(b: Binding) -> str:
    return f"{b.path.name} ({b.model_type}, bound)"


def model_run(target: str | None, target_params: dict[str, Any], params: dict[str, Any], default_model: str,
              bindings: dict[str, Binding]) -> tuple[dict[str, Any], ModelRun]:
    """The parameters a link runs with and the :class:`ModelRun` they amount to. A bound target replaces the
    substitute (its ``target_params`` applied); else a bound substitute replaces the shipped copy; else the
    substitute named by ``params["model"]`` (or the measurement's default) runs."""
    sub = str(params.get("model", default_model))
    if target is not None and target in bindings:
        b = bindings[target]
        run = ModelRun(target, "target", str(b.path), TARGETS[target].label, checkpoint_hashes(b.files), True)
        return {**params, **target_params, "model": str(b.path)}, run
    if sub in bindings:
        b = bindings[sub]
        return {**params, "model": str(b.path)}, ModelRun(target, "substitute", str(b.path), _bound_label(b),
                                                          checkpoint_hashes(b.files), True)
    s = SUBSTITUTES.get(sub)
    label = s.label if s is not None else Path(sub).name
    return dict(params), ModelRun(target, "substitute", sub, label, _shipped_hashes(sub))


def _shipped_hashes(name_or_path: str) -> dict[str, str]:
    """Files of a model not bound on the command line; {} when it is not installed (the measurement says so)."""
    from ..evidence.measurement import MeasurementUnavailable
    from .models import model_files_sha256

    try:
        return model_files_sha256(name_or_path)[0]
    except (MeasurementUnavailable, OSError, ValueError):
        return {}

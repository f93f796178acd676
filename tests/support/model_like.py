"""Small files that look like Kura's models from the inside, written with the formats' own
tools (llama.cpp's ``gguf`` writer, ``onnx``), for the checks of what a file *is*.

- ``write_gguf``: a GGUF header with a given architecture, hyper-parameters, vocabulary
  and file type, and the tensor list of a Gemma 3 text model of that shape. The tensor
  data is a sparse hole (``os.truncate``): a file with the 4B's shapes takes 2.2 GB on
  paper and a few MB on disk.
- ``write_graph``: an ONNX graph with the embedder's signature (or not), a chain of
  MatMuls and its weights in an external data file.
- ``write_tokenizer``: a tokenizer.json with a BPE vocabulary of a given size.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gguf
import numpy as np
import onnx
from onnx import TensorProto, helper

from desktop_app.core.model_files import catalog

# The shipped catalog, whatever a test has put in CATALOG_PATH's place.
SHIPPED_CATALOG = Path(catalog.__file__).with_name("catalog.json")

GEMMA_VOCAB = 262144
ALIGN = 32


@dataclass(frozen=True)
class Shape:
    """A Gemma 3 text model's hyper-parameters (the published config.json's numbers)."""

    arch: str = "gemma3"
    blocks: int = 34
    width: int = 2560
    ffn: int = 10240
    heads: int = 8
    kv_heads: int = 4
    head_dim: int = 256
    vocab: int = GEMMA_VOCAB
    tokenizer: str = "llama"
    file_type: int = 15  # Q4_K_M
    tensor_blocks: int | None = None  # blocks of tensors actually listed (default: blocks)


GEMMA3_4B = Shape()  # google/gemma-3-4b-it text_config
GEMMA3_1B = Shape(blocks=26, width=1152, ffn=6912, heads=4, kv_heads=1)
TINY = Shape(blocks=2, width=256, ffn=512, heads=1, kv_heads=1, vocab=300)


def _tensors(shape: Shape) -> list[tuple[str, tuple[int, ...]]]:
    q, kv = shape.heads * shape.head_dim, shape.kv_heads * shape.head_dim
    w = shape.width
    tensors = [("token_embd.weight", (shape.vocab, w))]
    blocks = shape.blocks if shape.tensor_blocks is None else shape.tensor_blocks
    for i in range(blocks):
        b = f"blk.{i}."
        tensors += [(b + "attn_norm.weight", (w,)), (b + "attn_q.weight", (q, w)),
                    (b + "attn_k.weight", (kv, w)), (b + "attn_v.weight", (kv, w)),
                    (b + "attn_output.weight", (w, q)),
                    (b + "attn_q_norm.weight", (shape.head_dim,)),
                    (b + "attn_k_norm.weight", (shape.head_dim,)),
                    (b + "post_attention_norm.weight", (w,)), (b + "ffn_norm.weight", (w,)),
                    (b + "ffn_gate.weight", (shape.ffn, w)), (b + "ffn_up.weight", (shape.ffn, w)),
                    (b + "ffn_down.weight", (w, shape.ffn)),
                    (b + "post_ffw_norm.weight", (w,))]
    return [*tensors, ("output_norm.weight", (w,))]


def parameters(shape: Shape) -> int:
    return sum(int(np.prod(dims)) for _name, dims in _tensors(shape))


def write_gguf(path: Path, shape: Shape = GEMMA3_4B, cut: int = 0) -> Path:
    """A GGUF of ``shape`` (tensor data a sparse hole); ``cut`` bytes short at the end."""
    writer = gguf.GGUFWriter(path, shape.arch)
    writer.add_context_length(131072)
    writer.add_block_count(shape.blocks)
    writer.add_embedding_length(shape.width)
    writer.add_feed_forward_length(shape.ffn)
    writer.add_head_count(shape.heads)
    writer.add_head_count_kv(shape.kv_heads)
    writer.add_key_length(shape.head_dim)
    writer.add_value_length(shape.head_dim)
    writer.add_tokenizer_model(shape.tokenizer)
    specials = ["<pad>", "<eos>", "<bos>", "<unk>"]
    writer.add_token_list(specials + [f"t{i}" for i in range(len(specials), shape.vocab)])
    writer.add_bos_token_id(2)
    writer.add_eos_token_id(1)
    writer.add_file_type(shape.file_type)
    writer.add_quantization_version(2)
    total = 0
    for name, dims in _tensors(shape):
        elements = int(np.prod(dims))
        if len(dims) == 1:
            kind, nbytes = gguf.GGMLQuantizationType.F32, elements * 4
        elif dims[-1] % 256 == 0:  # Q4_K: 144 bytes per 256 weights
            kind, nbytes = gguf.GGMLQuantizationType.Q4_K, elements // 256 * 144
        else:
            kind, nbytes = gguf.GGMLQuantizationType.F16, elements * 2
        writer.add_tensor_info(name, dims, np.dtype(np.float32), nbytes, raw_dtype=kind)
        total += -(-nbytes // ALIGN) * ALIGN
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    assert writer.fout is not None
    header_end = writer.fout[0].tell()
    writer.close()
    os.truncate(path, -(-header_end // ALIGN) * ALIGN + total - cut)
    return path


def write_graph(folder: Path, name: str = "model.onnx", data: str = "model.onnx_data",
                outputs: dict[str, int] | None = None, matmuls: int = 170,
                input_type: int = TensorProto.INT64) -> Path:
    """An ONNX graph with the embedder's inputs and ``outputs`` (name: last dimension),
    ``matmuls`` weight MatMuls, and its weights in ``folder/data``."""
    outputs = {"last_hidden_state": 768, "sentence_embedding": 768} \
        if outputs is None else outputs
    inputs = [helper.make_tensor_value_info(n, input_type, ["batch", "sequence"])
              for n in ("input_ids", "attention_mask")]
    nodes = [helper.make_node("Cast", ["input_ids"], ["h0"], to=TensorProto.FLOAT)]
    weights = []
    for i in range(matmuls):
        weights.append(helper.make_tensor(f"w{i}", TensorProto.FLOAT, [16, 16],
                                          np.full(256, i, np.float32).tobytes(), raw=True))
        nodes.append(helper.make_node("MatMul", [f"h{i}", f"w{i}"], [f"h{i + 1}"]))
    declared = []
    for n, (output, dim) in enumerate(outputs.items()):
        nodes.append(helper.make_node("Identity", [f"h{matmuls}"], [output], name=f"out{n}"))
        declared.append(helper.make_tensor_value_info(output, TensorProto.FLOAT,
                                                      ["batch", dim]))
    graph = helper.make_graph(nodes, "toy-embedder", inputs, declared, initializer=weights)
    model = helper.make_model(graph)
    path = folder / name
    folder.mkdir(parents=True, exist_ok=True)
    onnx.save_model(model, str(path), save_as_external_data=True,
                    all_tensors_to_one_file=True, location=data, size_threshold=0)
    return path


def point_weights_at(graph_path: Path, location: str) -> None:
    """Rewrite where a graph says its weights are (without moving them)."""
    model = onnx.load(str(graph_path), load_external_data=False)
    for tensor in model.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = location
    graph_path.write_bytes(model.SerializeToString())


def write_tokenizer(path: Path, vocab: int = GEMMA_VOCAB,
                    specials: tuple[str, ...] = ("<pad>", "<eos>", "<bos>", "<unk>")) -> Path:
    """A BPE tokenizer.json whose first ids are ``specials``, ``vocab`` tokens in all."""
    tokens = {s: i for i, s in enumerate(specials)}
    tokens.update({f"t{i}": i for i in range(len(specials), vocab)})
    added = [{"id": i, "content": s, "special": True} for i, s in enumerate(specials)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"version": "1.0", "added_tokens": added,
                                "model": {"type": "BPE", "vocab": tokens, "merges": []}}))
    return path


def shipped_expect(bundle: str, name: str, **changes: Any) -> dict[str, Any]:
    """The shipped catalog's ``expect`` object for a file (test catalogs reuse the real
    expectations instead of restating them), with ``changes`` applied."""
    data = json.loads(SHIPPED_CATALOG.read_text(encoding="utf-8"))
    entry = next(f for b in data["bundles"] if b["id"] == bundle for f in b["files"]
                 if f["name"] == name)
    return {**entry["expect"], **changes}


# The real Gemma 3 270M (models.small_llm) as its own expectation: data, like the catalog's.
EXPECT_270M = shipped_expect(
    "llm", "gemma-3-4b-it-Q4_K_M.gguf", what="a Gemma 3 270M model file",
    metadata={"block_count": 18, "embedding_length": 640, "feed_forward_length": 2048,
              "attention.head_count": 4, "attention.head_count_kv": 1},
    parameters={"min": 250_000_000, "max": 300_000_000})

"""What a model file *is*, checked from its own contents, independent of any checksum.

A checksum only says the bytes are the ones somebody vouched for. When the catalog pins
none, the voucher is the server that sent the file (the hub's X-Linked-Etag, or a
mirror's), so before a file is installed Kura also checks that it is the model the
catalog describes. The expected facts live in the catalog (a file's ``expect`` object),
not here, so a test catalog can expect the 270M GGUF and a release can tighten them:

- ``gguf`` (the LLM): architecture, hyper-parameters (block count, widths, heads), the
  tokenizer (its model, vocabulary size, <bos>/<eos> ids), the file type (Q4_K_M...),
  the parameter count its tensors add up to, and that the tensor data fits in the file.
  Only the header is read (``desktop_app.core.gguf``), a few MB.
- ``onnx`` (the embedder's graph): its inputs and outputs (name, type, rank, last
  dimension), how many weight matrices it multiplies by, and that every external data
  file it names is a plain file name beside it, holding the bytes its tensors need.
  ``onnx.load(..., load_external_data=False)``: the weights never enter memory.
- ``tokenizer`` (tokenizer.json): parses, has the expected vocabulary size and special
  tokens with their ids.
- ``json``: parses as a JSON object (side files Kura does not read).

One checker per kind, in ``CHECKERS``: a new kind is one function and one row.

How a file was verified is one of ``VERIFICATIONS``: ``pinned`` (its sha256 is in the
catalog), ``checked`` (no pin: the sha256 the server reported at the first fetch, or a
checksum file beside an import, plus these checks) or ``unverified`` (neither).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from desktop_app.core.errors import ModelFileError

Verification = Literal["pinned", "checked", "unverified"]
VERIFICATIONS: tuple[Verification, ...] = ("unverified", "checked", "pinned")  # weakest first
VERIFICATION_TEXT: dict[Verification, str] = {
    "pinned": "verified against a pinned checksum",
    "checked": "checked on first use (no published checksum pinned)",
    "unverified": "not verified (no pinned checksum, contents not checked)",
}

# llama.cpp's llama_ftype (general.file_type): what a GGUF says it was quantized to.
FILE_TYPES: dict[str, int] = {
    "F32": 0, "F16": 1, "Q4_0": 2, "Q4_1": 3, "Q8_0": 7, "Q5_0": 8, "Q5_1": 9,
    "Q2_K": 10, "Q3_K_S": 11, "Q3_K_M": 12, "Q3_K_L": 13, "Q4_K_S": 14, "Q4_K_M": 15,
    "Q5_K_S": 16, "Q5_K_M": 17, "Q6_K": 18, "IQ2_XXS": 19, "IQ2_XS": 20, "Q2_K_S": 21,
    "IQ3_XS": 22, "IQ3_XXS": 23, "IQ1_S": 24, "IQ4_NL": 25, "IQ3_S": 26, "IQ3_M": 27,
    "IQ2_S": 28, "IQ2_M": 29, "IQ4_XS": 30, "IQ1_M": 31, "BF16": 32, "TQ1_0": 36,
    "TQ2_0": 37,
}
_FILE_TYPE_NAMES = {v: k for k, v in FILE_TYPES.items()}
# Nodes that multiply by a weight matrix, whatever its precision.
_WEIGHT_OPS = {"MatMul", "Gemm", "MatMulNBits"}


def weakest(found: list[Verification]) -> Verification:
    return min(found, key=VERIFICATIONS.index) if found else "unverified"


@dataclass(frozen=True)
class Expect:
    """A catalog file's ``expect`` object: its ``kind``, ``what`` it is (for the sentence
    "This is not {what}"), and the facts its checker reads."""

    kind: str
    what: str
    facts: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Expect:
        kind = str(raw.get("kind", ""))
        if kind not in CHECKERS:
            raise ValueError(f"expect.kind must be one of {sorted(CHECKERS)}, not {kind!r}")
        what = str(raw.get("what") or "the expected file")
        facts = {k: v for k, v in raw.items() if k not in ("kind", "what")}
        file_type = facts.get("file_type")
        if file_type is not None and file_type not in FILE_TYPES:
            raise ValueError(f"expect.file_type {file_type!r} is not a llama.cpp file type")
        return cls(kind, what, facts)


@dataclass(frozen=True)
class Identified:
    """What the check found; ``covers``: other files it vouched for (a graph's weights)."""

    summary: str
    covers: tuple[str, ...] = ()


class NotTheModel(ModelFileError):
    """The file is not the model the catalog describes (whatever its checksum says).

    ``path`` is what the message names (the catalog's file name); ``culprit`` the file on
    disk at fault (a graph's weights file may be the broken one).
    """

    def __init__(self, path: object, problem: str, culprit: Path) -> None:
        super().__init__(path, problem)
        self.culprit = culprit


def identify(path: Path, expect: Expect, name: str | None = None) -> Identified:
    """Check that ``path`` is what ``expect`` describes; NotTheModel if it is not."""
    return CHECKERS[expect.kind](Path(path), expect, name or Path(path).name)


def _refuse(name: str, expect: Expect, reason: str, culprit: Path) -> NotTheModel:
    return NotTheModel(name, f"This is not {expect.what} ({reason}).", culprit)


def _within(value: float, want: Any) -> bool:
    """``want`` is a number (exact) or {"min": a, "max": b} (either may be left out)."""
    if isinstance(want, Mapping):
        low, high = want.get("min", -math.inf), want.get("max", math.inf)
        return bool(low <= value <= high)
    return bool(value == want)


def _wanted(want: Any, scale: float = 1.0, unit: str = "") -> str:
    def fmt(x: float) -> str:
        x = x / scale
        return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.2f}"

    if isinstance(want, Mapping):
        if "min" in want and "max" in want:
            return f"{fmt(want['min'])}–{fmt(want['max'])}{unit}"
        if "min" in want:
            return f"at least {fmt(want['min'])}{unit}"
        return f"at most {fmt(want['max'])}{unit}"
    return f"{fmt(want)}{unit}"


# -- GGUF ----------------------------------------------------------------------------


def _gguf(path: Path, expect: Expect, name: str) -> Identified:
    from desktop_app.core.gguf import MAGIC, GGUFArray, check_gguf

    facts = expect.facts
    try:
        with path.open("rb") as fh:
            head = fh.read(len(MAGIC))
    except OSError as exc:
        raise _refuse(name, expect, f"cannot read it: {exc.strerror or exc}", path) from None
    if head != MAGIC:
        raise _refuse(name, expect, "not a GGUF file", path)
    try:
        info = check_gguf(path)
    except ModelFileError as exc:
        reason = exc.problem.replace(" (an interrupted download?)", "")
        raise _refuse(name, expect, reason.removeprefix("the file is "), path) from None

    arch = info.architecture or "none"
    want_arch = facts.get("architecture")
    if want_arch is not None and arch != want_arch:
        raise _refuse(name, expect, f"architecture: {arch}", path)
    for key, want in (facts.get("metadata") or {}).items():
        found = info.metadata.get(f"{arch}.{key}")
        if not isinstance(found, (int, float)) or not _within(found, want):
            shown = "missing" if found is None else f"{found:,}" \
                if isinstance(found, int) else str(found)
            raise _refuse(name, expect, f"{key}: {shown}, expected {_wanted(want)}", path)
    tokenizer = facts.get("tokenizer") or {}
    model = info.metadata.get("tokenizer.ggml.model")
    if "model" in tokenizer and model != tokenizer["model"]:
        raise _refuse(name, expect, f"tokenizer: {model or 'none'}, expected "
                                    f"{tokenizer['model']}", path)
    tokens = info.metadata.get("tokenizer.ggml.tokens")
    count = tokens.count if isinstance(tokens, GGUFArray) else 0
    if "tokens" in tokenizer and not _within(count, tokenizer["tokens"]):
        raise _refuse(name, expect, f"{count:,} tokens in its vocabulary, expected "
                                    f"{_wanted(tokenizer['tokens'])}", path)
    for key in ("bos_token_id", "eos_token_id"):
        if key in tokenizer and info.metadata.get(f"tokenizer.ggml.{key}") != tokenizer[key]:
            found = info.metadata.get(f"tokenizer.ggml.{key}")
            raise _refuse(name, expect, f"{key}: {found}, expected {tokenizer[key]}", path)
    want_type = facts.get("file_type")
    file_type = info.metadata.get("general.file_type")
    type_name = _FILE_TYPE_NAMES.get(file_type, f"#{file_type}") \
        if isinstance(file_type, int) else "not recorded"
    if want_type is not None and file_type != FILE_TYPES[want_type]:
        raise _refuse(name, expect, f"file type {type_name}, expected {want_type}", path)
    # Last: the tensors themselves add up to the model's size (metadata is only words).
    want_params = facts.get("parameters")
    if want_params is not None and not _within(info.parameters, want_params):
        raise _refuse(name, expect, f"{info.parameters / 1e9:.2f} billion parameters, "
                                    f"expected {_wanted(want_params, 1e9, ' billion')}", path)

    blocks = info.metadata.get(f"{arch}.block_count")
    width = info.metadata.get(f"{arch}.embedding_length")
    return Identified(f"GGUF {arch}, {blocks} blocks × {width}, "
                      f"{info.parameters / 1e9:.2f} billion parameters, {count:,} tokens, "
                      f"{type_name}, tensors end at byte {info.data_end:,} of {info.size:,}")


# -- ONNX ----------------------------------------------------------------------------


def _onnx(path: Path, expect: Expect, name: str) -> Identified:
    import onnx

    facts = expect.facts
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf's DecodeError, OSError...: not a graph
        raise _refuse(name, expect, f"not an ONNX graph: {type(exc).__name__}", path) from None
    graph = model.graph
    initializers = {t.name for t in graph.initializer}

    inputs = {i.name: i for i in graph.input if i.name not in initializers}
    for input_name, want in (facts.get("inputs") or {}).items():
        if input_name not in inputs:
            raise _refuse(name, expect, f"no input {input_name}; its inputs: "
                                        f"{', '.join(sorted(inputs)) or 'none'}", path)
        dtype, dims = _tensor_type(inputs[input_name])
        want_type, want_rank = want.get("type"), want.get("rank")
        if (want_type and dtype != want_type) or (want_rank and len(dims) != want_rank):
            raise _refuse(name, expect, f"input {input_name} is {dtype}[{len(dims)} dims], "
                                        f"expected {want_type}[{want_rank} dims]", path)

    outputs = {o.name: o for o in graph.output}
    for output_name, want in (facts.get("outputs") or {}).items():
        if output_name not in outputs:
            raise _refuse(name, expect, f"no output {output_name}; its outputs: "
                                        f"{', '.join(sorted(outputs)) or 'none'}", path)
        _dtype, dims = _tensor_type(outputs[output_name])
        last = dims[-1] if dims else None
        want_last = want.get("last_dim")
        # A symbolic last dimension cannot be checked here; the embedder checks the
        # vectors it gets (prepare.check_embedder_loads).
        if want_last is not None and isinstance(last, int) and last != want_last:
            raise _refuse(name, expect, f"output {output_name} has {last} dimensions, "
                                        f"expected {want_last}", path)

    weights = sum(1 for n in graph.node if n.op_type in _WEIGHT_OPS
                  and len(n.input) > 1 and n.input[1] in initializers)
    want_weights = facts.get("weight_matmuls")
    if want_weights is not None and not _within(weights, want_weights):
        raise _refuse(name, expect, f"{weights} weight matrices, expected "
                                    f"{_wanted(want_weights)}", path)

    covers = _check_external_data(path, graph, expect, name)
    want_files = facts.get("external_data")
    if want_files is not None and sorted(covers) != sorted(want_files):
        raise _refuse(name, expect, f"its weights are in {', '.join(covers) or 'no file'}, "
                                    f"expected {', '.join(want_files) or 'none'}", path)
    return Identified(f"ONNX graph, inputs {', '.join(sorted(inputs))}, outputs "
                      f"{', '.join(sorted(outputs))}, {weights} weight matrices, weights in "
                      f"{', '.join(covers) or 'the graph'}", tuple(covers))


def _tensor_type(value: Any) -> tuple[str, list[int | str]]:
    import onnx

    tensor = value.type.tensor_type
    dtype = onnx.helper.tensor_dtype_to_string(tensor.elem_type).removeprefix("TensorProto.")
    dims: list[int | str] = [d.dim_value if d.HasField("dim_value") else d.dim_param
                             for d in tensor.shape.dim]
    return dtype.lower(), dims


def _check_external_data(path: Path, graph: Any, expect: Expect, name: str) -> list[str]:
    """Every external data file the graph names: a plain name beside it, long enough for
    the bytes its tensors need. Returns the file names."""
    import onnx

    ends: dict[str, int] = {}
    for tensor in graph.initializer:
        if tensor.data_location != onnx.TensorProto.EXTERNAL:
            continue
        entry = {e.key: e.value for e in tensor.external_data}
        location = entry.get("location", "")
        if not location or Path(location).name != location or location in (".", ".."):
            raise _refuse(name, expect, f"its weights point outside its folder "
                                        f"({location or 'no file name'})", path)
        needed = _tensor_bytes(tensor)
        length = int(entry.get("length", needed if needed is not None else 0))
        if needed is not None and length != needed:
            raise _refuse(name, expect, f"tensor {tensor.name} stores {length:,} bytes, its "
                                        f"shape needs {needed:,}", path)
        end = int(entry.get("offset", 0)) + length
        ends[location] = max(ends.get(location, 0), end)
    for location, end in sorted(ends.items()):
        data = path.parent / location
        if not data.is_file():
            raise _refuse(name, expect, f"its weights file {location} is missing", data)
        size = data.stat().st_size
        if size < end:
            raise _refuse(name, expect, f"its weights file {location} is cut short: "
                                        f"{size:,} bytes, the graph needs {end:,}", data)
    return sorted(ends)


def _tensor_bytes(tensor: Any) -> int | None:
    import onnx

    elements = math.prod(tensor.dims)
    if tensor.data_type in (onnx.TensorProto.INT4, onnx.TensorProto.UINT4):
        return (elements + 1) // 2
    try:
        itemsize = onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type).itemsize
    except (KeyError, TypeError, ValueError):
        return None  # a type numpy has no name for: its offset is still checked
    return int(elements * itemsize)


# -- tokenizer.json and other JSON ---------------------------------------------------


def _load_json(path: Path, expect: Expect, name: str) -> Any:
    try:
        with path.open("rb") as fh:
            return json.load(fh)
    except (OSError, ValueError) as exc:
        raise _refuse(name, expect, f"not valid JSON: {exc}", path) from None


def _tokenizer(path: Path, expect: Expect, name: str) -> Identified:
    facts = expect.facts
    data = _load_json(path, expect, name)
    model = data.get("model") if isinstance(data, dict) else None
    if not isinstance(model, dict) or not isinstance(model.get("vocab"), (dict, list)):
        raise _refuse(name, expect, "no tokenizer model with a vocabulary", path)
    ids: dict[str, int] = {}
    vocab = model["vocab"]
    if isinstance(vocab, dict):  # BPE, WordPiece: token -> id
        ids.update({str(k): v for k, v in vocab.items() if isinstance(v, int)})
    else:  # Unigram: [[token, score], ...], the id is the position
        ids.update({str(entry[0]): i for i, entry in enumerate(vocab)
                    if isinstance(entry, list) and entry})
    for added in data.get("added_tokens") or ():
        if isinstance(added, dict) and isinstance(added.get("id"), int):
            ids[str(added.get("content"))] = added["id"]
    size = max(ids.values(), default=-1) + 1
    want_size = facts.get("vocab_size")
    if want_size is not None and not _within(size, want_size):
        raise _refuse(name, expect, f"{size:,} tokens, expected {_wanted(want_size)}", path)
    for token, want_id in (facts.get("special_tokens") or {}).items():
        if ids.get(token) != want_id:
            found = "missing" if token not in ids else f"id {ids[token]}"
            raise _refuse(name, expect, f"{token}: {found}, expected id {want_id}", path)
    kind = model.get("type", "unknown")
    specials = ", ".join(facts.get("special_tokens") or ())
    return Identified(f"{kind} tokenizer, {size:,} tokens" + (f", {specials}" if specials
                                                              else ""))


def _json(path: Path, expect: Expect, name: str) -> Identified:
    if not isinstance(_load_json(path, expect, name), dict):
        raise _refuse(name, expect, "not a JSON object", path)
    return Identified("a JSON object")


CHECKERS: dict[str, Callable[[Path, Expect, str], Identified]] = {
    "gguf": _gguf,
    "onnx": _onnx,
    "tokenizer": _tokenizer,
    "json": _json,
}

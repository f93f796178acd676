"""EmbeddingGemma over onnxruntime and ``tokenizers``, and ``TextEmbedder``: what the
library and search need from any embedding model.

The model folder holds ``model.onnx`` (+ its external data) and ``tokenizer.json``. The
graph must have the onnx-community signature: ``input_ids``/``attention_mask`` in,
``sentence_embedding`` (already pooled, projected and L2-normalized) out.

Batching: texts are tokenized once, sorted by length and cut into batches of similar
length under a padded-token budget, so padding is rare and short queries never wait
behind long documents.

Compute: where the CPU has VNNI (``EmbedderSettings.compute`` "auto"), the graph is
rewritten in memory at load so that most matrix products run as int8 GEMMs (see
``int8_compute_model``); the shipped file stays byte for byte what models/manifest.json
pins. A text's vector then depends on its batch's padding by 1 - cos <= ~1e-3 (an
activation rounded to the other int8 step); with fp32 compute by < 1e-6 (both tested).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import platform
import sys
from collections import defaultdict, deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from desktop_app.core.errors import KuraError, ModelFileError
from desktop_app.core.fileio import sha256_file
from desktop_app.core.onnx_session import cpu_session_options
from desktop_app.core.settings import MATRYOSHKA_DIMS, EmbedderSettings

if TYPE_CHECKING:
    from tokenizers import Tokenizer

_log = logging.getLogger("kura.embedder")

QUERY_PROMPT = "task: search result | query: "
DOCUMENT_PROMPT = "title: {title} | text: "
PAD_ID = 0
OUTPUT = "sentence_embedding"


def query_prompt(text: str) -> str:
    return QUERY_PROMPT + text


def document_prompt(text: str, title: str | None = None) -> str:
    return DOCUMENT_PROMPT.format(title=(title or "").strip() or "none") + text


def document_input(text: str, title: str | None = None) -> str:
    """Exactly what the model sees for a document: cleaned text behind its prompt.

    The library hashes this string to embed identical passages only once.
    """
    return document_prompt(clean_text(text), clean_text(title) if title else None)


def clean_text(text: str) -> str:
    """Make any Python str safe for the tokenizer.

    Lone surrogates (from bad decoding) cannot cross into Rust: they become U+FFFD.
    NUL is dropped; other control characters are harmless and kept.
    """
    if not isinstance(text, str):
        raise TypeError(f"expected text, got {type(text).__name__}")
    text = text.encode("utf-8", "replace").decode("utf-8")
    return text.replace("\x00", "")


def truncate_dims(vectors: np.ndarray, dim: int) -> np.ndarray:
    """Matryoshka: keep the first ``dim`` components and re-normalize."""
    if dim not in MATRYOSHKA_DIMS:
        raise KuraError(f"dimension must be one of {MATRYOSHKA_DIMS}, not {dim}")
    if dim == vectors.shape[-1]:
        return vectors
    cut = vectors[..., :dim]
    norms = np.linalg.norm(cut, axis=-1, keepdims=True)
    return (cut / np.maximum(norms, 1e-12)).astype(np.float32)


class TextEmbedder(Protocol):
    """What ``Library`` and search use of an embedding model; ``Embedder`` below is Kura's.

    Vectors are float32 rows of unit length. The library stores them whole and indexes
    ``LibrarySettings.index_dim`` of them (``dim`` asks for a Matryoshka cut)."""

    @property
    def model_id(self) -> str:
        """Names the exact weights: the library drops vectors another model made."""

    @property
    def dims(self) -> int:
        """Components of a whole vector. The index's Matryoshka cuts (``truncate_dims``)
        and search's full-size rescoring still take it to be 768, EmbeddingGemma's."""

    @property
    def chunk_tokenizer(self) -> Path | Tokenizer:
        """What chunking counts tokens with, so a passage fits the model's input: the
        path of a ``tokenizer.json`` (preferred: parsed without holding the GIL) or a
        ``tokenizers.Tokenizer``."""

    def embed_documents(
        self,
        texts: Sequence[str],
        titles: Sequence[str | None] | None = None,
        dim: int | None = None,
    ) -> np.ndarray:
        """Passages (with their documents' titles) as vectors, one row each."""

    def embed_queries(self, texts: Sequence[str], dim: int | None = None) -> np.ndarray:
        """Search queries as vectors, one row each."""


@dataclass(frozen=True)
class ModelFiles:
    graph: Path
    tokenizer: Path

    @classmethod
    def locate(cls, model_dir: Path) -> ModelFiles:
        """Find the graph and tokenizer in Kura's layout or onnx-community's."""
        model_dir = Path(model_dir)
        if model_dir.suffix == ".onnx":
            graph, model_dir = model_dir, model_dir.parent
        else:
            candidates = [model_dir / "model.onnx", model_dir / "onnx" / "model.onnx"]
            graph = next((c for c in candidates if c.exists()), candidates[0])
        tokenizer = next(
            (d / "tokenizer.json" for d in (graph.parent, graph.parent.parent, model_dir)
             if (d / "tokenizer.json").exists()),
            model_dir / "tokenizer.json",
        )
        for path in (graph, tokenizer):
            if not path.is_file():
                raise ModelFileError(path, "missing; run `kura models fetch` or import it")
        return cls(graph, tokenizer)


class Embedder:
    """Load once, reuse: ``embed_queries`` and ``embed_documents`` return float32 rows,
    L2-normalized, at the configured Matryoshka dimension."""

    def __init__(self, model_dir: Path, settings: EmbedderSettings | None = None) -> None:
        self.settings = settings or EmbedderSettings()
        self.files = ModelFiles.locate(model_dir)
        self._tokenizer = _load_tokenizer(self.files.tokenizer, self.settings.max_length)
        self._session, self.compute = _load_session(
            self.files.graph, self.settings.threads, resolve_compute(self.settings.compute))
        self._model_id: str | None = None
        release_freed_memory()

    @property
    def dims(self) -> int:
        return MATRYOSHKA_DIMS[0]

    @property
    def chunk_tokenizer(self) -> Path:
        """The tokenizer file: the chunker parses its own copy from it in Rust, which
        holds the GIL far less than handing over ``tokenizer`` would (see ``Chunker``)."""
        return self.files.tokenizer

    def embed_queries(self, texts: Sequence[str], dim: int | None = None) -> np.ndarray:
        return self.embed_prompted([query_prompt(clean_text(t)) for t in texts], dim)

    def embed_documents(
        self,
        texts: Sequence[str],
        titles: Sequence[str | None] | None = None,
        dim: int | None = None,
    ) -> np.ndarray:
        titles = list(titles) if titles is not None else [None] * len(texts)
        if len(titles) != len(texts):
            raise KuraError(f"{len(texts)} texts but {len(titles)} titles")
        prompted = [document_input(t, h) for t, h in zip(texts, titles, strict=True)]
        return self.embed_prompted(prompted, dim)

    def embed_prompted(self, texts: Sequence[str], dim: int | None = None) -> np.ndarray:
        """Embed texts that already carry their task prompt."""
        out = np.zeros((len(texts), self.dims), dtype=np.float32)
        for rows, vectors in self.iter_batches(texts):
            out[rows] = vectors
        return truncate_dims(out, dim or self.settings.dim)

    def iter_batches(self, texts: Sequence[str]) -> Iterator[tuple[list[int], np.ndarray]]:
        """Yield ``(row indices, whole vectors)`` batch by batch.

        A generator so that long jobs can report progress and stop between batches.
        """
        if not texts:
            return
        encodings = self._tokenizer.encode_batch(list(texts))
        ids = [e.ids for e in encodings]
        for rows in plan_batches([len(x) for x in ids], self.settings.batch_tokens):
            yield rows, self._run([ids[i] for i in rows])

    @property
    def tokenizer(self) -> Any:
        """The ``tokenizers.Tokenizer`` the model runs with."""
        return self._tokenizer

    @property
    def model_id(self) -> str:
        """Names these exact weights and how they are computed: vectors from another
        model, or from the same weights in another compute mode, must not mix with ours.
        fp32 compute keeps the name it always had, so its libraries keep their vectors."""
        if self._model_id is None:
            digest = sha256_file(self.files.graph)[:16]
            suffix = f":{INT8_COMPUTE_ID}" if self.compute == "int8" else ""
            self._model_id = f"embeddinggemma-300m:{digest}{suffix}"
        return self._model_id

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer.encode(clean_text(text)).ids)

    def _run(self, batch: list[list[int]]) -> np.ndarray:
        width = max(len(x) for x in batch)
        input_ids = np.full((len(batch), width), PAD_ID, dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for i, row in enumerate(batch):
            input_ids[i, : len(row)] = row
            mask[i, : len(row)] = 1
        (vectors,) = self._session.run([OUTPUT], {"input_ids": input_ids, "attention_mask": mask})
        return np.asarray(vectors, dtype=np.float32)


# Attention holds rows x heads x S x S scores: bound rows x S^2 so a batch of 2,048-token
# texts does not cost hundreds of MB more than a batch of short ones.
MAX_ATTENTION_CELLS = 2048 * 2048


def plan_batches(lengths: Sequence[int], budget_tokens: int) -> list[list[int]]:
    """Group row indices into batches of similar length.

    Sorted by length so padding stays small; a batch closes when its padded size
    (rows x longest) would pass the budget, when its attention (rows x longest^2) would,
    or when the next text is much longer than the batch's first (padding more than a
    quarter of a row is waste, not speed).
    """
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        if current:
            longest = lengths[i]
            rows = len(current) + 1
            too_big = longest * rows > budget_tokens or longest**2 * rows > MAX_ATTENTION_CELLS
            too_uneven = longest > 1.25 * lengths[current[0]] + 8
            if too_big or too_uneven:
                batches.append(current)
                current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


# -- compute mode ---------------------------------------------------------------------

COMPUTE_MODES = ("auto", "fp32", "int8")
# x86 flags whose int8 multiply-add accumulates straight into int32 (vpdpbusd). Without
# them onnxruntime's u8 x s8 GEMM goes through a 16-bit multiply-add that saturates
# (vpmaddubsw), so "auto" keeps fp32 there, and wherever the flags cannot be read.
VNNI_FLAGS = frozenset({"avx512_vnni", "avx_vnni"})
# Names the int8 rewrite below in Embedder.model_id: change it whenever the rewrite
# changes the vectors, so a library re-embeds instead of mixing the two.
INT8_COMPUTE_ID = "int8-rows-1"


def cpu_flags() -> frozenset[str]:
    """The CPU feature flags Linux reports on x86; empty where they cannot be read."""
    if not sys.platform.startswith("linux") or platform.machine().lower() not in (
            "x86_64", "amd64"):
        return frozenset()
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="ascii",
                                            errors="replace") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("flags"):
                return frozenset(line.partition(":")[2].split())
    return frozenset()


def resolve_compute(requested: str, flags: frozenset[str] | None = None) -> str:
    """ "fp32" or "int8" for an ``EmbedderSettings.compute`` value ("auto" asks the CPU).

    Forcing "int8" on a CPU without VNNI runs, slower and less exactly: for measuring."""
    if requested == "auto":
        return "int8" if (cpu_flags() if flags is None else flags) & VNNI_FLAGS else "fp32"
    if requested not in COMPUTE_MODES:
        raise KuraError(f"compute must be one of {COMPUTE_MODES}, not {requested!r}")
    return requested


# How int8 compute treats each 4/8-bit MatMulNBits weight of the shipped graph, chosen on
# retrieval figures (benchmarks/embedder.py; README "Speed and memory"):
ROWS = "int8 rows"      # q, k, o, gate, up: one int8 GEMM; activations get one scale per
                        # token row, weights one per output column (re-rounded to int8)
BLOCKS = "int8 blocks"  # v and down: MatMulNBits' own int8 kernels (accuracy_level 4),
                        # one activation scale per block of K: their inputs carry the
                        # outliers that a scale per row would round away (down's input
                        # has channels 28x the median), at half the speed of ROWS
FP32 = "fp32"           # the Dense head: dequantized once, exact; it sees one row per text


def int8_plan(graph: Any) -> dict[str, str] | None:
    """``{MatMulNBits node name: ROWS | BLOCKS | FP32}``, or None if this is not a quantized
    EmbeddingGemma whose roles can be told apart.

    Roles come from structure, as in ``quantize.classify_weights``: q, k, v read one
    tensor and only v's product does not reach a Softmax; gate and up read another; the
    single product after q/k/v is o, after gate/up down; what follows the last layer is
    the Dense head."""
    nodes = [n for n in graph.node if n.op_type == "MatMulNBits"]
    names = {n.name for n in nodes}
    if not nodes or "" in names or len(names) != len(nodes):  # the plan is keyed by name
        return None
    consumers: dict[str, list[Any]] = defaultdict(list)
    for node in graph.node:
        for name in node.input:
            consumers[name].append(node)
    by_input: dict[str, list[Any]] = defaultdict(list)
    for node in nodes:
        by_input[node.input[0]].append(node)

    def attends(node: Any) -> bool:
        queue, seen = deque(node.output), set[int]()
        while queue and len(seen) < 60:
            for nxt in consumers.get(queue.popleft(), []):
                if nxt.op_type == "Softmax":
                    return True
                if nxt.op_type != "MatMulNBits" and id(nxt) not in seen:
                    seen.add(id(nxt))
                    queue.extend(nxt.output)
        return False

    plan: dict[str, str] = {}
    expect: str | None = None  # the single product that comes next: "o" or "down"
    layers = 0
    for node in nodes:
        siblings = by_input[node.input[0]]
        if len(siblings) == 3:
            plan[node.name] = ROWS if attends(node) else BLOCKS
            layers += node is siblings[0]
            expect = "o"
        elif len(siblings) == 2:
            plan[node.name] = ROWS
            expect = "down"
        elif len(siblings) == 1 and expect:
            plan[node.name] = ROWS if expect == "o" else BLOCKS
            expect = None
        else:
            plan[node.name] = FP32
    roles = list(plan.values())
    if not layers or roles.count(BLOCKS) != 2 * layers or roles.count(ROWS) != 5 * layers:
        return None
    return plan


def int8_compute_model(graph_path: Path) -> bytes | None:
    """The graph at ``graph_path`` rewritten for int8 compute (``int8_plan``), serialized,
    its untouched weights still in the external data file beside it; None if the graph
    has no plan (fp32 exports, unknown structures): those run as they are.

    Why: onnxruntime's MatMulNBits kernels run a 320-token batch no faster than fp32
    (they dequantize or rescale block by block), while its int8 GEMM (MatMulInteger)
    runs ~3x faster on VNNI. Rounding each row of activations to int8 costs 1 - cos
    ~5e-4 against fp32 compute; retrieval on the labelled set is unchanged."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(graph_path), load_external_data=False)
    graph = model.graph
    plan = int8_plan(graph)
    if plan is None:
        return None
    folder = str(graph_path.parent)
    inits = {i.name: i for i in graph.initializer}
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    p = "kura_int8/"
    new_inits = [
        numpy_helper.from_array(np.array(127.0, np.float32), p + "127"),
        numpy_helper.from_array(np.array(1e-12, np.float32), p + "tiny"),
        numpy_helper.from_array(np.array(1.0, np.float32), p + "one"),
        numpy_helper.from_array(np.array(128, np.uint8), p + "zero_point"),
        numpy_helper.from_array(np.array([-1], np.int64), p + "last_axis"),
    ]
    replacements: dict[str, list[Any]] = {}
    quantized_inputs: dict[str, str] = {}  # q/k/v and gate/up share one rounding

    def weight(node: Any) -> np.ndarray:
        return dequantize_nbits(node, {i: numpy_helper.to_array(inits[i], folder)
                                       for i in node.input[1:4] if i})

    def with_bias(node: Any, product: Any, out: str) -> list[Any]:
        if len(node.input) > 5 and node.input[5]:
            return [product, helper.make_node("Add", [out, node.input[5]], [node.output[0]])]
        return [product]

    for node in graph.node:
        role = plan.get(node.name) if node.op_type == "MatMulNBits" else None
        if role is None:
            continue
        if len(node.input) > 4 and node.input[4]:
            return None  # g_idx (act-order) weights: not ours
        if role == BLOCKS:
            for attr in [a for a in node.attribute if a.name == "accuracy_level"]:
                node.attribute.remove(attr)
            node.attribute.append(helper.make_attribute("accuracy_level", 4))
            continue
        w = weight(node)
        n = p + node.name
        has_bias = len(node.input) > 5 and node.input[5]
        out = n + "/out" if has_bias else node.output[0]
        if role == FP32:
            new_inits.append(numpy_helper.from_array(w, n + "/w"))
            replacements[node.name] = with_bias(
                node, helper.make_node("MatMul", [node.input[0], n + "/w"], [out]), out)
            continue
        steps: list[Any] = []
        x = node.input[0]
        if x not in quantized_inputs:
            q = p + x
            reduce = (helper.make_node("ReduceMax", [q + "/abs", p + "last_axis"], [q + "/max"],
                                       keepdims=1) if opset >= 18 else
                      helper.make_node("ReduceMax", [q + "/abs"], [q + "/max"], axes=[-1],
                                       keepdims=1))
            steps += [
                helper.make_node("Abs", [x], [q + "/abs"]),
                reduce,
                helper.make_node("Max", [q + "/max", p + "tiny"], [q + "/max+"]),
                helper.make_node("Div", [q + "/max+", p + "127"], [q + "/scale"]),
                helper.make_node("Div", [x, q + "/scale"], [q + "/scaled"]),
                helper.make_node("QuantizeLinear", [q + "/scaled", p + "one", p + "zero_point"],
                                 [q + "/u8"]),
            ]
            quantized_inputs[x] = q
        q = quantized_inputs[x]
        column_scale = np.maximum(np.abs(w).max(axis=0), 1e-30) / 127.0
        w8 = np.clip(np.rint(w / column_scale), -127, 127).astype(np.int8)
        new_inits += [numpy_helper.from_array(w8, n + "/w8"),
                      numpy_helper.from_array(column_scale.astype(np.float32), n + "/w_scale")]
        # MatMulInteger -> Cast -> Mul: onnxruntime fuses them into MatMulIntegerToFloat.
        steps += [
            helper.make_node("MatMulInteger", [q + "/u8", n + "/w8", p + "zero_point"],
                             [n + "/i32"]),
            helper.make_node("Cast", [n + "/i32"], [n + "/f32"], to=onnx.TensorProto.FLOAT),
            helper.make_node("Mul", [q + "/scale", n + "/w_scale"], [n + "/scale"]),
        ]
        steps += with_bias(node, helper.make_node("Mul", [n + "/f32", n + "/scale"], [out]), out)
        replacements[node.name] = steps

    rewritten = []
    for node in graph.node:
        rewritten.extend(replacements.get(node.name, [node]) if node.op_type == "MatMulNBits"
                         else [node])
    del graph.node[:]
    graph.node.extend(rewritten)
    used = {name for node in graph.node for name in node.input}
    kept = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept + new_inits)
    return bytes(model.SerializeToString())


def dequantize_nbits(node: Any, tensors: dict[str, np.ndarray]) -> np.ndarray:
    """A MatMulNBits node's weight as fp32 (K x N), exactly what its fp32 kernel computes
    with: ``(q - zero_point) * scale`` per block, 4-bit values low nibble first."""
    from onnx import helper

    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    k, n, bits, block = attrs["K"], attrs["N"], attrs["bits"], attrs["block_size"]
    if bits not in (4, 8):
        raise ValueError(f"{node.name}: {bits}-bit weights")
    packed = tensors[node.input[1]].reshape(n, -1)
    blocks = -(-k // block)
    if bits == 4:
        values = np.stack([packed & 0x0F, packed >> 4], axis=-1).reshape(n, blocks, block)
    else:
        values = packed.reshape(n, blocks, block)
    scales = tensors[node.input[2]].astype(np.float32).reshape(n, blocks)
    zero_points = tensors.get(node.input[3]) if len(node.input) > 3 and node.input[3] else None
    if zero_points is None:
        zeros = np.full((n, blocks), 1 << (bits - 1), np.float32)
    elif zero_points.dtype != np.uint8:
        raise ValueError(f"{node.name}: zero points of type {zero_points.dtype}")
    elif bits == 4:
        nibbles = zero_points.reshape(n, -1)
        zeros = np.stack([nibbles & 0x0F, nibbles >> 4], axis=-1).reshape(n, -1)[:, :blocks]
        zeros = zeros.astype(np.float32)
    else:
        zeros = zero_points.reshape(n, blocks).astype(np.float32)
    weight = (values.astype(np.float32) - zeros[..., None]) * scales[..., None]
    return np.ascontiguousarray(weight.reshape(n, blocks * block)[:, :k].T)


def _load_tokenizer(path: Path, max_length: int):
    from tokenizers import Tokenizer

    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as exc:  # the Rust error says little; name the file
        raise ModelFileError(path, f"not a readable tokenizer ({exc})") from exc
    # The limit counts the <bos>/<eos> the post-processor adds, and <eos> survives
    # truncation, as with the reference tokenizer.
    tokenizer.enable_truncation(max_length=max_length)
    tokenizer.no_padding()
    return tokenizer


def _load_session(graph: Path, threads: int, compute: str) -> tuple[Any, str]:
    """The onnxruntime session, and the compute mode it really runs: "int8" falls back to
    "fp32" for a graph the int8 rewrite does not recognise (e.g. an fp32 export)."""
    import onnxruntime as ort

    options = cpu_session_options(threads)
    model: str | bytes = str(graph)
    if compute == "int8":
        try:
            rewritten = int8_compute_model(graph)
        except Exception as exc:  # weights of a kind it does not know, or a damaged file:
            # fp32 runs what it can, and onnxruntime names a damaged file below.
            _log.warning("int8 compute unavailable for %s (%s): fp32", graph, _first_line(exc))
            rewritten = None
        if rewritten is None:
            compute = "fp32"
        else:
            model = rewritten
            # The weights the rewrite left alone stay in the external data file.
            options.add_session_config_entry(
                "session.model_external_initializers_file_folder_path", str(graph.parent))
    try:
        session = ort.InferenceSession(
            model, sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:
        problem = f"cannot be loaded by onnxruntime ({_first_line(exc)})"
        raise ModelFileError(graph, problem) from exc
    del model
    outputs = {o.name for o in session.get_outputs()}
    inputs = {i.name for i in session.get_inputs()}
    if OUTPUT not in outputs or not {"input_ids", "attention_mask"} <= inputs:
        found = f"inputs {sorted(inputs)}, outputs {sorted(outputs)}"
        raise ModelFileError(graph, f"not an EmbeddingGemma graph ({found})")
    return session, compute


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


def release_freed_memory() -> None:
    """Give the heap freed while loading back to the OS.

    Parsing the 33 MB tokenizer.json peaks at ~280 MB of which ~180 MB is garbage that
    glibc keeps mapped; malloc_trim returns it (measured: RSS 296 -> 115 MB). Elsewhere
    (macOS, Windows, musl) this is a no-op.
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6").malloc_trim(0)

"""EmbeddingGemma over onnxruntime and ``tokenizers``, and ``TextEmbedder``: what the
library and search need from any embedding model.

The model folder holds ``model.onnx`` (+ its external data) and ``tokenizer.json``. The
graph must have the onnx-community signature: ``input_ids``/``attention_mask`` in,
``sentence_embedding`` (already pooled, projected and L2-normalized) out.

Batching: texts are tokenized once, sorted by length and cut into batches of similar
length under a padded-token budget, so padding is rare and short queries never wait
behind long documents. A text's vector does not depend on its batch (tested).
"""

from __future__ import annotations

import contextlib
import ctypes
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from desktop_app.core.errors import KuraError, ModelFileError
from desktop_app.core.fileio import sha256_file
from desktop_app.core.settings import MATRYOSHKA_DIMS, EmbedderSettings

if TYPE_CHECKING:
    from tokenizers import Tokenizer

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
        self._session = _load_session(self.files.graph, self.settings.threads)
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
        """Names these exact weights: vectors from another model must not mix with ours."""
        if self._model_id is None:
            digest = sha256_file(self.files.graph)[:16]
            self._model_id = f"embeddinggemma-300m:{digest}"
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


def _load_session(graph: Path, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(
            str(graph), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:
        problem = f"cannot be loaded by onnxruntime ({_first_line(exc)})"
        raise ModelFileError(graph, problem) from exc
    outputs = {o.name for o in session.get_outputs()}
    inputs = {i.name for i in session.get_inputs()}
    if OUTPUT not in outputs or not {"input_ids", "attention_mask"} <= inputs:
        found = f"inputs {sorted(inputs)}, outputs {sorted(outputs)}"
        raise ModelFileError(graph, f"not an EmbeddingGemma graph ({found})")
    return session


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

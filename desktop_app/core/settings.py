"""How the embedder and the library run, and the constants both sides agree on.

Defaults suit a laptop CPU. Folders and environment variables are in ``paths.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from desktop_app.core.paths import default_threads

# EmbeddingGemma's Matryoshka dimensions, whole vector first: a vector cut to any of
# them (and re-normalized) is still a good embedding.
MATRYOSHKA_DIMS = (768, 512, 256, 128)
MAX_FILE_BYTES = 200 * 1024 * 1024  # larger files are skipped, not read


@dataclass(frozen=True)
class EmbedderSettings:
    """How the embedder runs. Defaults suit a laptop CPU."""

    max_length: int = 2048  # the model's own limit
    dim: int = MATRYOSHKA_DIMS[0]  # any of MATRYOSHKA_DIMS
    threads: int = field(default_factory=default_threads)  # compute-bound: every CPU
    batch_tokens: int = 4096  # padded tokens per batch; bounds memory, not quality
    # "auto": int8 matrix products where the CPU has VNNI (~2x the tokens/s, vectors
    # within cos 0.9995 of fp32 compute's), else "fp32"; or force either one.
    compute: str = "auto"


@dataclass(frozen=True)
class LibrarySettings:
    """How the document library reads, chunks, stores and searches."""

    # The hnswlib index may hold truncated Matryoshka vectors (coarse), the candidates
    # rescored with the full 768-d vectors from SQLite (fine). benchmarks/search.py
    # chose full 768: at 100k chunks it reaches recall@10 0.990 with ef 200 for 0.7 ms,
    # while 256 dims needs 400 candidates to reach 0.982; 256 saves ~200 MB of RAM there.
    index_dim: int = MATRYOSHKA_DIMS[0]
    hnsw_ef: int = 200
    chunk_tokens: int = 320  # long enough to hold an answer, short enough to cite precisely
    # Tokens neighbouring chunks share. 0: chunks end at paragraph/sentence boundaries, and
    # on the real-folder benchmark 48 bought nothing (recall@10 0.873 with 48, 0.891
    # without; MRR 0.615 / 0.636) for 6% more tokens to embed (README "A real folder").
    chunk_overlap: int = 0
    embed_batch: int = 32  # chunks per embedding step: progress and cancel granularity
    save_every: int = 512  # vectors between index saves (the index is a cache anyway)
    max_file_bytes: int = MAX_FILE_BYTES
    # Reading budgets (core/reading.py), measured on a 2-core machine at load ~10: the
    # largest files of a real documentation folder (a 666-page 5.5 MB PDF, a 4.5 MB
    # HTML page, a 5 MB DOCX, a whole-book EPUB) read and chunk in 11-22 s (a 9.5 MB
    # plain text of four books: 78 s), at most 370 MB resident in a worker that rests
    # at 250 MB (520 MB where glibc's malloc_trim is not available).
    read_seconds: float = 120.0  # one file's parse + chunk before its worker is killed
    read_memory_bytes: int = 1536 * 1024 * 1024  # a worker's resident memory on one file
    read_workers: int = 1  # reading outpaces embedding many times; the embedder has the CPUs
    # Scanned PDF pages and images read by OCR in the reading workers (ingest/scans.py);
    # a page's time budget is read_seconds, restarted at every page recognised.
    ocr: bool = True

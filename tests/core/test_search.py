"""Search pieces that do not need a corpus: snippets, grouping, and the collection scope."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from desktop_app.core.embedder import truncate_dims
from desktop_app.core.library import Library
from desktop_app.core.progress import run_quietly
from desktop_app.core.search import hybrid_search, snippet
from desktop_app.core.settings import MATRYOSHKA_DIMS
from desktop_app.core.store import Database, VectorIndex
from tests.support.store import MODEL, chunks, embed_pending, key, unit_vectors

FULL_DIM = MATRYOSHKA_DIMS[0]


def test_snippet_centres_on_the_query_term() -> None:
    text = "Intro. " * 80 + "The VPN client is called Tunnelo. " + "Outro. " * 80
    cut = snippet(text, "Tunnelo client")
    assert "Tunnelo" in cut and cut.startswith("…") and cut.endswith("…")
    assert len(cut) <= 242


def test_snippet_finds_chinese_terms_without_spaces() -> None:
    text = "前言。" * 100 + "如忘记密码请使用自助重置门户。" + "结尾。" * 100
    assert "重置" in snippet(text, "如何重置密码")


def test_one_file_does_not_fill_the_top_k(tmp_path: Path, embedder) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    long = "\n\n".join(f"## Part {i}\n\nThe expense policy rule {i}: receipts within "
                       f"{i + 3} days." for i in range(40))
    (folder / "expenses.md").write_text("# Expenses\n\n" + long)
    (folder / "travel.md").write_text("# Travel\n\nTravel expenses need receipts too.")
    library = Library(home=tmp_path / "home", embedder=embedder)
    for _ in library.add([folder]):
        pass
    results = library.search("expense receipts", k=5).results
    per_file: dict[str, int] = {}
    for r in results:
        per_file[r.path] = per_file.get(r.path, 0) + 1
    assert max(per_file.values()) <= 2
    assert any(p.endswith("travel.md") for p in per_file)
    library.close()


# -- a search scoped to some collections -------------------------------------------------


class FixedQuery:
    """A ``TextEmbedder`` whose query vector is given: the test places every vector."""

    model_id = MODEL
    dims = FULL_DIM
    chunk_tokenizer = None

    def __init__(self, query: np.ndarray) -> None:
        self.query = query

    def embed_queries(self, texts: Sequence[str], dim: int | None = None) -> np.ndarray:
        return truncate_dims(np.tile(self.query, (len(texts), 1)), dim or self.dims)

    def embed_documents(self, texts: Sequence[str], titles: Sequence[str | None] | None = None,
                        dim: int | None = None) -> np.ndarray:
        raise AssertionError("nothing is embedded here")


def near(query: np.ndarray, cosine: float, seed: int) -> np.ndarray:
    """A unit vector at ``cosine`` to ``query``."""
    noise = unit_vectors(1, FULL_DIM, seed=seed)[0]
    noise -= (noise @ query) * query
    noise /= np.linalg.norm(noise)
    return cosine * query + np.sqrt(1 - cosine**2) * noise


@pytest.fixture
def scoped_library(tmp_path: Path) -> Iterator[tuple[Database, VectorIndex, FixedQuery]]:
    """"Big": 500 passages that match the query better than anything in "Small", whose
    best passage is at cosine 0.6; "Small" also holds a copy of one "Big" passage (the
    same text: one vector for both)."""
    query = unit_vectors(1, FULL_DIM, seed=1)[0]
    with Database(tmp_path / "library.db") as db:
        big, small = db.create_collection("Big"), db.create_collection("Small")
        big_texts = [f"big passage {i}" for i in range(500)]
        small_texts = ["small best passage", "small other passage"]
        db.replace_document(big, "/big/a.txt", 1, 1, "h", "txt", None, chunks(*big_texts))
        db.replace_document(small, "/small/a.txt", 1, 1, "h", "txt", None,
                            chunks(*small_texts))
        vectors = [(key(t), near(query, 0.95 - i * 1e-4, seed=10 + i))
                   for i, t in enumerate(big_texts)]
        vectors += [(key("small best passage"), near(query, 0.6, seed=2)),
                    (key("small other passage"), near(query, 0.3, seed=3))]
        db.add_vectors(MODEL, vectors)
        index = VectorIndex(tmp_path / "vectors.hnsw", FULL_DIM, threads=1)
        run_quietly(index.open_or_rebuild(db))
        yield db, index, FixedQuery(query)


def test_a_small_collection_is_searched_inside_the_index(scoped_library) -> None:
    db, index, embedder = scoped_library
    # No keyword of the query is in any passage: only meaning can find them.
    response = hybrid_search(db, index, embedder, "zebra", ["Small"])
    found = [(r.chunk.text, r.collection) for r in response.results]
    assert found[:2] == [("small best passage", "Small"), ("small other passage", "Small")]
    assert response.results[0].cosine == pytest.approx(0.6, abs=1e-4)

    # A passage shared with "Big" (one vector) belongs to "Small" too.
    small = db.get_collection("Small")
    assert small is not None
    db.replace_document(small.id, "/small/b.txt", 1, 1, "h", "txt", None,
                        chunks("big passage 0"))
    response = hybrid_search(db, index, embedder, "zebra", ["Small"])
    best = response.results[0]
    assert (best.chunk.path, best.chunk.text) == ("/small/b.txt", "big passage 0")
    assert {r.collection for r in response.results} == {"Small"}


def test_a_search_of_every_collection_computes_no_scope(scoped_library,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    db, index, embedder = scoped_library

    def no_scope_expected(_ids: object) -> frozenset[int]:
        raise AssertionError("a search of the whole library filtered its vectors")

    monkeypatch.setattr(db, "vector_ids_in_collections", no_scope_expected)
    for collections in (None, ["Big", "Small"]):
        response = hybrid_search(db, index, embedder, "zebra", collections)
        assert response.results[0].chunk.text == "big passage 0"


def test_the_scope_of_a_search_is_kept_until_chunks_or_vectors_change(tmp_path: Path) -> None:
    with Database(tmp_path / "library.db") as db:
        docs = db.create_collection("Docs")
        db.replace_document(docs, "/a.txt", 1, 1, "h", "txt", None, chunks("one", "two"))
        added = embed_pending(db)
        first = db.vector_ids_in_collections([docs])
        assert first == set(added.values())
        assert db.vector_ids_in_collections([docs]) is first  # kept
        db.replace_document(docs, "/b.txt", 1, 1, "h", "txt", None, chunks("one", "three"))
        # A chunk that reuses a vector, before the new text has its own:
        assert db.vector_ids_in_collections([docs]) == first
        more = embed_pending(db)
        assert db.vector_ids_in_collections([docs]) == first | set(more.values())
        other = db.create_collection("Other")
        assert db.vector_ids_in_collections([other]) == set()

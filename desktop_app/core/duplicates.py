"""Near-duplicates: text that appears again in another file or format is embedded once.

Real folders hold the same book several times: per-chapter HTML, a whole-book PDF, a
plain-text export, a translation that leaves code and commands untranslated. Hashing the
chunk (the embed_key) only catches byte-identical chunks, because chunk boundaries,
whitespace, hyphenation and titles differ between the copies. So when a document is
stored, each of its chunks looks for a stored chunk of *another* document that holds
nearly the same text, compared by shingles of the normalised text (``store.shingles``):

1. a chunk whose own embed_key is already in use keeps it (the vector exists or will);
2. otherwise each of its sampled shingle hashes is looked up (one indexed query each,
   phrases posted by more than ``MAX_POSTINGS`` chunks skipped), and the few stored
   chunks sharing the most samples become candidates;
3. a candidate is accepted when, counted on the *full* shingle sets of both texts, it
   holds at least ``COVERED`` of this chunk and this chunk holds at least ``COVERING`` of
   it: both ways, so the two passages say the same thing and their vectors are near-equal
   (a fragment of a long passage, or a long passage around a short one, is not);
4. the chunk then takes that chunk's embed_key: it shares its vector, is never embedded
   itself, and is found by meaning through that vector (and by keywords through its own
   text, which stays in the FTS index).

Only other documents count: a changed document must not keep vectors of its previous
version (they would drift away from its text edit after edit), and the chunks of one
document overlap their neighbours by design.

Sharing is safe whatever happens later. A vector lives while any chunk uses its key
(``delete_orphan_vectors``), so deleting or re-reading the original keeps it for the
copies. After a model switch (``reset_vectors``) the key is embedded again from the text
of one of the chunks that use it -- all of them were accepted as near-equal to the one
first embedded. A key whose vector is gone when the chunk arrives is simply embedded from
whichever of its chunks ``pending_embed_keys`` picks.

Cost: hashing ~50 ns per character, one indexed lookup per sampled shingle (1 in 32,
~40 per 320-token English chunk), and the full hashes of at most ``CANDIDATES`` stored
texts per chunk: linear in the document, independent of the library's size except
through the B-tree depth. Measured: 0.4-0.6 s per MB of chunk text on top of storing
it, where embedding that MB takes minutes; 99.3% of the copies that could be found were.
"""

from __future__ import annotations

import dataclasses
import os
import sqlite3
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from desktop_app.core.store import Database, NewChunk
from desktop_app.core.store import shingles_repo as repo
from desktop_app.core.store.shingles import overlap, sample, shingle_hashes
from desktop_app.core.store.shingles_repo import SharedDocument
from desktop_app.core.store.sqlutil import path_text

# Measured on a real 42 MB folder (the Debian handbook as English and Chinese HTML
# chapters, whole-book PDF and TXT, DOCX/EPUB extracts; git and SQLite docs as HTML, TXT,
# PDF), with the real embedder on sampled shared pairs. At 0.8/0.8 a fifth of the chunks
# (20.7%) share a vector; the same text under the same title embeds at cosine 0.994
# (median; 5th percentile 0.89). The two chunks' own vectors differ more (median 0.93,
# min 0.78) because their titles differ (a PDF page vs an HTML heading), and that part
# does not depend on these thresholds: 0.9/0.9 shares 15.0% at text cosine 0.998,
# 0.7/0.7 shares 27.2% at 0.983.
COVERED = 0.8  # share of the new chunk's shingles that must stand in the stored chunk
COVERING = 0.8  # share of the stored chunk's shingles that must stand in the new chunk
# A hash posted by more chunks than this is a stock phrase, not evidence of a copy.
MAX_POSTINGS = 32
# Stored chunks examined per new chunk, by sampled hashes shared; the first that passes
# both thresholds wins. One is almost always enough: two copies of a passage share most
# samples, a neighbour sharing the overlap shares few.
CANDIDATES = 3
# A candidate must share at least this share of the chunk's sampled hashes before its
# full text is compared (well below COVERED: the sample is an estimate).
MIN_SAMPLED_SHARE = 0.5
# A document with at least this share of its chunks sharing vectors is "mostly a copy".
COPY_SHARE = 0.8


@dataclass(frozen=True)
class Fingerprint:
    """A chunk's shingles: every hash (to measure overlap) and the stored sample."""

    hashes: np.ndarray
    sample: np.ndarray

    @classmethod
    def of(cls, text: str) -> Fingerprint:
        hashes = shingle_hashes(text)
        return cls(hashes, sample(hashes))


@dataclass(frozen=True)
class SharedVector:
    """A chunk of the new document that takes the vector of a stored chunk."""

    ordinal: int
    chunk_id: int  # the stored chunk whose embed_key it takes
    embed_key: str
    covered: float  # share of this chunk's shingles found in that chunk
    covering: float  # share of that chunk's shingles found in this one


@dataclass(frozen=True)
class KeyPlan:
    """What ``assign_embed_keys`` decided for a document's chunks, in order."""

    embed_keys: list[str]
    shared: list[SharedVector]

    def apply(self, chunks: Sequence[NewChunk]) -> list[NewChunk]:
        """``chunks`` with their embed_keys replaced by the plan's."""
        return [c if c.embed_key == key else dataclasses.replace(c, embed_key=key)
                for c, key in zip(chunks, self.embed_keys, strict=True)]


def fingerprints(chunks: Sequence[NewChunk]) -> list[Fingerprint]:
    """The chunks' fingerprints: pure CPU, so compute them before taking the write lock."""
    return [Fingerprint.of(c.text) for c in chunks]


def assign_embed_keys(
    conn: sqlite3.Connection,
    collection_id: int,
    path: str | os.PathLike[str],
    chunks: Sequence[NewChunk],
    prints: Sequence[Fingerprint] | None = None,
) -> KeyPlan:
    """For each of a document's new chunks, the embed_key it should be stored with: its
    own, or that of a stored chunk of another document holding nearly the same text.

    ``conn``: the connection of the write transaction that will store the document (so
    the candidates cannot vanish before it commits). ``path`` names the document itself,
    whose previous chunks are never candidates. Reads only.
    """
    prints = fingerprints(chunks) if prints is None else prints
    keys = [c.embed_key for c in chunks]
    in_use = repo.keys_in_use(conn, keys)
    todo = [i for i, c in enumerate(chunks) if c.embed_key not in in_use and len(prints[i].sample)]
    if not todo:
        return KeyPlan(keys, [])
    postings = repo.chunks_posting(
        conn, (int(h) for i in todo for h in prints[i].sample.tolist()), MAX_POSTINGS
    )
    ranked: dict[int, list[int]] = {}
    for i in todo:
        counts: Counter[int] = Counter()
        informative = 0  # sampled hashes that are not stock phrases
        for h in prints[i].sample.tolist():
            ids = postings.get(h)
            if ids is not None:
                informative += 1
                counts.update(ids)
        floor = MIN_SAMPLED_SHARE * informative
        ranked[i] = [cid for cid, n in counts.most_common(CANDIDATES) if n >= floor]
    stored = repo.stored_chunks(conn, (cid for ids in ranked.values() for cid in ids))
    own_id = repo.document_id_of(conn, collection_id, path_text(path))
    stored_hashes: dict[int, np.ndarray] = {}
    shared: list[SharedVector] = []
    for i in todo:
        for cid in ranked[i]:
            if cid not in stored or stored[cid][0] == own_id:
                continue
            _, key, text = stored[cid]
            if cid not in stored_hashes:
                stored_hashes[cid] = shingle_hashes(text)
            covered, covering = overlap(prints[i].hashes, stored_hashes[cid])
            if covered >= COVERED and covering >= COVERING:
                keys[i] = key
                shared.append(SharedVector(i, cid, key, covered, covering))
                break
    return KeyPlan(keys, shared)


def replace_document(
    db: Database,
    collection_id: int,
    path: str | os.PathLike[str],
    size: int,
    mtime_ns: int,
    content_hash: str,
    kind: str | None,
    title: str | None,
    chunks: Sequence[NewChunk],
) -> tuple[int, KeyPlan]:
    """``Database.replace_document`` for the pipeline: the same arguments, with each
    chunk that repeats stored text of another document given that text's embed_key
    (``assign_embed_keys``), and the fingerprints of the chunks that own their vector
    stored, all in one transaction. Returns the document id and the plan (how many
    chunks share a vector: ``len(plan.shared)``)."""
    prints = fingerprints(chunks)
    with db.transaction() as conn:
        plan = assign_embed_keys(conn, collection_id, path, chunks, prints)
        doc_id = db.replace_document(collection_id, path, size, mtime_ns, content_hash,
                                     kind, title, plan.apply(chunks))
        repo.fingerprint_document(conn, doc_id, [p.sample for p in prints])
    return doc_id, plan


@dataclass(frozen=True)
class CopyReport:
    """How much of a document is a copy of text stored elsewhere (for ``kura status
    --documents``, the Documents dialog, or grouping search hits)."""

    chunks: int
    shared: int  # chunks whose vector another document's chunks use too
    documents: list[SharedDocument]  # those documents, most shared first

    @property
    def share(self) -> float:
        return self.shared / self.chunks if self.chunks else 0.0

    @property
    def mostly_a_copy(self) -> bool:
        """At least ``COPY_SHARE`` of its chunks repeat other documents' text."""
        return self.chunks > 0 and self.share >= COPY_SHARE


def copy_report(db: Database, document_id: int) -> CopyReport:
    total, shared = db.chunks_sharing_vectors(document_id)
    return CopyReport(total, shared, db.documents_sharing_vectors(document_id))

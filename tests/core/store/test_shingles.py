from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from desktop_app.core.store import Database
from desktop_app.core.store import meta as meta_keys
from desktop_app.core.store.shingles import (
    FINGERPRINT_VERSION,
    SAMPLE_BITS,
    SHINGLE_CHARS,
    normalise,
    overlap,
    sample,
    shingle_hashes,
)
from desktop_app.core.store.shingles_repo import (
    META_FINGERPRINT,
    chunks_posting,
    fingerprint_document,
    refingerprint_if_needed,
)
from tests.support.store import chunks

APT = ("APT is a vast project, whose original plans included a graphical interface. It is "
       "based on a library which contains the core application, and apt-get is the first "
       "front end, command-line based, which was developed within the project.")
PASSWORD = "重置密码的方法：请登录 IT 服务门户，点击“忘记密码”，然后按照邮件中的提示设置新密码。"


def test_normalising_keeps_letters_and_digits_only_in_any_script() -> None:
    assert normalise("Hello,  World!\n\tIt's  v2.0_beta") == "helloworlditsv20beta"
    assert normalise("the ﬁrst ﬂag") == "thefirstflag"  # PDF ligatures (NFKC)
    assert normalise("ＰＤＦ　文件：第１页。") == "pdf文件第1页"  # full-width forms, CJK kept
    assert normalise("STRASSE Straße") == "strassestrasse"  # case-folded, not lower-cased
    assert normalise("𠀀𠀁 x") == "𠀀𠀁x"  # beyond the BMP: CJK extension B is kept


def test_the_same_text_in_another_format_has_the_same_shingles() -> None:
    html = APT
    pdf = APT.replace("apt-get", "apt-\nget").replace(". ", ".\n").upper()
    assert np.array_equal(shingle_hashes(html), shingle_hashes(pdf))
    assert np.array_equal(shingle_hashes(PASSWORD), shingle_hashes(PASSWORD.replace("，", ", ")))
    assert not np.array_equal(shingle_hashes(APT), shingle_hashes(APT.replace("vast", "huge")))


def test_shingle_hashes_are_the_distinct_windows_sorted() -> None:
    text = "abcdefghijklmnopqrstuvwxyz"
    hashes = shingle_hashes(text)
    assert len(hashes) == len(text) - SHINGLE_CHARS + 1
    assert hashes.dtype == np.int64 and np.all(np.diff(hashes) > 0)
    assert len(shingle_hashes("ab" * 40)) == 2  # "abab..." and "baba..." only
    assert len(shingle_hashes("x" * (SHINGLE_CHARS - 1))) == 0
    assert len(shingle_hashes("a, b; c. " * 5)) == 0  # 15 letters: shorter than a shingle


def test_hashes_do_not_depend_on_the_process() -> None:
    """They are stored: a hash that changed between runs (Python's salted ``hash``) or
    between versions would silently stop matching. A change to the algorithm must bump
    FINGERPRINT_VERSION (then this expected value changes with it)."""
    code = ("from desktop_app.core.store.shingles import shingle_hashes;"
            "print(shingle_hashes('The Debian Administrator Handbook')[:2].tolist())")
    outputs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True).stdout for _ in range(2)}
    assert outputs == {f"{shingle_hashes('The Debian Administrator Handbook')[:2].tolist()}\n"}
    assert FINGERPRINT_VERSION == "1"
    assert shingle_hashes("The Debian Administrator Handbook")[:2].tolist() == [
        -8358987594571704980, -8334371433041526959]


def test_the_sample_is_the_same_subset_in_every_text() -> None:
    a = shingle_hashes(APT * 3 + "tail one")
    b = shingle_hashes("head two" + APT * 3)
    sa, sb = sample(a), sample(b)
    assert set(sa.tolist()) <= set(a.tolist())
    # Shared shingles are sampled on both sides or on neither.
    shared = np.intersect1d(a, b)
    assert np.array_equal(np.intersect1d(sa, sb), sample(shared))
    # About 1 in 2**SAMPLE_BITS of a long text's shingles.
    long_text = " ".join(f"word{i} stands here" for i in range(2000))
    rate = len(sample(shingle_hashes(long_text))) / len(shingle_hashes(long_text))
    assert abs(rate - 2.0 ** -SAMPLE_BITS) < 0.3 * 2.0 ** -SAMPLE_BITS


def test_overlap_measures_each_side() -> None:
    whole = shingle_hashes(APT)
    half = shingle_hashes(APT[: len(APT) // 2])
    covered, covering = overlap(half, whole)
    assert covered == 1.0 and 0.4 < covering < 0.6
    assert overlap(whole, whole) == (1.0, 1.0)
    assert overlap(shingle_hashes(""), whole) == (0.0, 0.0)


def test_hashing_is_linear_in_the_text() -> None:
    def seconds(lines: int) -> float:
        text = " ".join(f"line {i}: the quick brown fox, 敏捷的棕色狐狸" for i in range(lines))
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(20):
                shingle_hashes(text)
            best = min(best, time.perf_counter() - start)
        return best

    seconds(10)  # warm up
    # 5k and 20k characters: a long chunk and four times that (beyond, CPU caches
    # rather than the algorithm set the pace).
    ratio = seconds(400) / seconds(100)
    assert ratio < 6, ratio


def _post_all(db: Database, document_id: int) -> int:
    with db.transaction() as conn:
        return fingerprint_document(conn, document_id)


def test_only_the_first_chunk_of_an_embed_key_is_posted(db: Database, coll: int) -> None:
    first = db.replace_document(coll, "/d/a.txt", 1, 1, "h", "txt", "A", chunks(APT, PASSWORD))
    copy = db.replace_document(coll, "/d/b.txt", 1, 1, "h", "txt", "B", chunks(APT, APT))
    assert _post_all(db, first) > 0
    assert _post_all(db, copy) == 0  # its APT chunks share the first document's vector
    ids = [c.id for c in db.chunks_of_document(first)]
    assert db.fingerprinted_chunks() == set(ids)
    rows = db.shingle_rows()
    assert rows == len(sample(shingle_hashes(APT))) + len(sample(shingle_hashes(PASSWORD)))


def test_rows_go_with_their_chunks(db: Database, coll: int) -> None:
    doc = db.replace_document(coll, "/d/a.txt", 1, 1, "h", "txt", "A", chunks(APT))
    _post_all(db, doc)
    other = db.replace_document(coll, "/d/b.txt", 1, 1, "h", "txt", "B", chunks(PASSWORD))
    _post_all(db, other)
    db.replace_document(coll, "/d/a.txt", 2, 2, "h2", "txt", "A", chunks("changed text"))
    assert db.fingerprinted_chunks() == {c.id for c in db.chunks_of_document(other)}
    db.delete_document(other)
    assert db.shingle_rows() == 0


STOCK = ("This page is part of the documentation; for more information about the options "
         "of this command, see the manual page and the list of frequently asked questions.")


def test_a_stock_phrase_is_skipped_past_the_posting_limit(db: Database, coll: int) -> None:
    texts = [f"{STOCK} Then topic {i}: " + " ".join(f"term{i}x{j}" for j in range(40))
             for i in range(6)]
    doc = db.replace_document(coll, "/d/a.txt", 1, 1, "h", "txt", "A", chunks(*texts))
    _post_all(db, doc)
    common = sample(shingle_hashes(STOCK)).tolist()
    assert common
    ids = [c.id for c in db.chunks_of_document(doc)]
    with db.reading() as conn:
        assert chunks_posting(conn, common, 6) == dict.fromkeys(common, ids)  # oldest first
        assert chunks_posting(conn, common, 5) == {}  # too common to tell texts apart
        unique = sorted(set(sample(shingle_hashes(texts[0])).tolist()) - set(common))
        assert unique
        assert chunks_posting(conn, [*unique, 12345], 5) == {
            **{h: [ids[0]] for h in unique}, 12345: []}


def test_samples_of_another_version_are_made_again_on_open(tmp_path: Path) -> None:
    path = tmp_path / "library.db"
    with Database(path) as db:
        coll = db.create_collection("Docs")
        doc = db.replace_document(coll, "/d/a.txt", 1, 1, "h", "txt", "A", chunks(APT, APT))
        db.replace_document(coll, "/d/b.txt", 1, 1, "h", "txt", "B", chunks(PASSWORD))
        assert db.shingle_rows() == 0  # plain replace_document posts nothing
        with db.transaction() as conn:  # as if the samples came from an older algorithm
            meta_keys.put(conn, META_FINGERPRINT, "0")
    with Database(path) as db:
        first_apt = db.chunks_of_document(doc)[0].id
        assert first_apt in db.fingerprinted_chunks()
        assert db.shingle_rows() == len(sample(shingle_hashes(APT))) + len(
            sample(shingle_hashes(PASSWORD)))
        with db.transaction() as conn:
            assert meta_keys.get(conn, META_FINGERPRINT) == FINGERPRINT_VERSION
            assert refingerprint_if_needed(conn) is False  # up to date: nothing to do

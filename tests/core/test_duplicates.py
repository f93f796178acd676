from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop_app.core import duplicates
from desktop_app.core.store import Database, NewChunk
from tests.support.store import embed_pending, key

# Three passages of one chapter, as an HTML page gives them.
APT = (
    "APT is a vast project, whose original plans included a graphical interface. It is "
    "based on a library which contains the core application, and apt-get is the first "
    "front end, command-line based, which was developed within the project. apt is a "
    "second command-line based front end provided by APT which overcomes some design "
    "mistakes of apt-get."
)
SOURCES = (
    "To work, APT needs a list of package sources: the file /etc/apt/sources.list lists "
    "the different repositories that publish Debian packages. Each active line of the "
    "file contains a description of a source, made of three parts separated by spaces: "
    "the type of archive, the URL of the mirror, and the distribution name followed by "
    "the names of the components to use."
)
UPGRADE = (
    "Regular upgrades are recommended, because they include the latest security updates. "
    "To upgrade, use apt upgrade, apt-get upgrade or aptitude safe-upgrade. This command "
    "looks for installed packages which can be upgraded without removing any packages. "
    "In other words, the goal is to ensure the least intrusive upgrade possible."
)
# The same in Chinese, from the translated book, and its plain-text export.
MIRROR_ZH = (
    "APT 需要一份软件包来源的列表才能工作：文件 /etc/apt/sources.list 列出了发布 Debian "
    "软件包的各个仓库。文件中每个有效的行都包含一个来源的描述，由空格分隔的三部分组成："
    "归档的类型、镜像的网址，以及发行版的名称和要使用的组件名称。"
)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    with Database(tmp_path / "library.db") as database:
        yield database


@pytest.fixture
def coll(db: Database) -> int:
    return db.create_collection("Docs")


def as_pdf(text: str) -> str:
    """The same passage as a PDF's text layer gives it: lines wrapped at ~70 columns,
    words hyphenated at the line ends, ligatures, and a running header dropped in."""
    lines, line = [], ""
    for word in text.replace("fi", "ﬁ").split():
        if len(line) + len(word) > 70:
            lines.append(line)
            line = ""
        line += word + " "
    lines.append(line)
    return "\n".join(lines)


def html_chunks(*texts: str, title: str = "Debian Handbook > 6.2. aptitude, apt-get") -> \
        list[NewChunk]:
    return [NewChunk(text=t, embed_key=key(f"{title}|{t}"), title=title) for t in texts]


def pdf_chunks(*texts: str) -> list[NewChunk]:
    title = "The Debian Administrator's Handbook"
    return [NewChunk(text=as_pdf(t), embed_key=key(f"{title}|{as_pdf(t)}"), title=title)
            for t in texts]


def store(db: Database, coll: int, path: str, new: list[NewChunk]) -> tuple[int, list[str]]:
    doc_id, plan = duplicates.replace_document(db, coll, path, 1, 1, f"h-{path}", "txt",
                                               path, new)
    stored = [c.embed_key for c in db.chunks_of_document(doc_id)]
    assert stored == plan.embed_keys
    return doc_id, stored


def test_a_copy_in_another_format_shares_the_vectors(db: Database, coll: int) -> None:
    html = html_chunks(APT, SOURCES, UPGRADE)
    _, html_keys = store(db, coll, "/book/html/apt.html", html)
    # The PDF cuts its last passage short (a page break), and has a page of its own.
    pdf = pdf_chunks(APT, SOURCES, UPGRADE[:-40], "A page that only the PDF has, "
                     "an index of the commands mentioned in this chapter and where.")
    pdf_id, pdf_keys = store(db, coll, "/book/handbook.pdf", pdf)
    assert pdf_keys[:3] == html_keys
    assert pdf_keys[3] == pdf[3].embed_key

    added = embed_pending(db)
    assert set(added) == {*html_keys, pdf_keys[3]}  # four texts embedded, not seven
    assert db.get_document_by_id(pdf_id).status == "embedded"  # type: ignore[union-attr]
    label = added[html_keys[1]]
    assert sorted(c.path for c in db.chunks_for_vector_ids([label])[label]) == [
        "/book/handbook.pdf", "/book/html/apt.html"]
    # Each keeps its own text for keywords and citations.
    assert len(db.keyword_search("ﬁle", 10)) >= 1


def test_a_copy_stored_after_the_original_is_embedded_needs_no_embedding(
    db: Database, coll: int
) -> None:
    store(db, coll, "/book/html/apt.html", html_chunks(APT, SOURCES))
    embed_pending(db)
    copy_id, _ = store(db, coll, "/book/handbook.pdf", pdf_chunks(SOURCES, APT))
    assert db.get_document_by_id(copy_id).status == "embedded"  # type: ignore[union-attr]
    assert db.pending_embed_keys(10) == []


def test_chinese_copies_share_too(db: Database, coll: int) -> None:
    _, (original,) = store(db, coll, "/zh/apt.html", html_chunks(MIRROR_ZH, title="第 6 章"))
    txt = MIRROR_ZH.replace("：", ": ").replace("，", ", ").replace("。", ".\n")
    _, (copy,) = store(db, coll, "/zh/手册.txt", html_chunks(txt, title="Debian管理员手册"))
    assert copy == original


def test_a_fragment_or_a_longer_passage_keeps_its_own_vector(db: Database, coll: int) -> None:
    _, (apt_key, sources_key) = store(db, coll, "/a.html", html_chunks(APT, SOURCES))
    fragment = APT[: len(APT) // 3]  # wholly inside APT, but a third of it
    longer = APT + " " + UPGRADE  # holds all of APT, and as much again
    _, keys = store(db, coll, "/b.txt", html_chunks(fragment, longer, title="B"))
    assert keys == [key(f"B|{fragment}"), key(f"B|{longer}")]
    assert not {apt_key, sources_key} & set(keys)


def test_a_changed_document_does_not_keep_its_previous_vectors(
    db: Database, coll: int
) -> None:
    _, (old_key,) = store(db, coll, "/a.html", html_chunks(APT))
    edited = APT.replace("graphical interface", "graphical user interface")
    _, (new_key,) = store(db, coll, "/a.html", html_chunks(edited))
    assert new_key == key(f"Debian Handbook > 6.2. aptitude, apt-get|{edited}")
    assert new_key != old_key
    # Nor do near-equal chunks within one new document share (neighbours overlap).
    _, keys = store(db, coll, "/c.html", html_chunks(SOURCES, as_pdf(SOURCES)))
    assert len(set(keys)) == 2


def test_the_shared_vector_outlives_the_original(db: Database, coll: int) -> None:
    original, (shared_key,) = store(db, coll, "/a.html", html_chunks(APT))
    copy, (copy_key,) = store(db, coll, "/b.pdf", pdf_chunks(APT))
    assert copy_key == shared_key
    embed_pending(db)
    db.delete_document(original)
    assert db.delete_orphan_vectors() == []  # the copy still uses it
    assert db.get_document_by_id(copy).status == "embedded"  # type: ignore[union-attr]
    # A model switch embeds the key again, once, from the text that is left.
    db.reset_vectors()
    pending = db.pending_embed_keys(10)
    assert [(p.embed_key, p.text) for p in pending] == [(shared_key, as_pdf(APT))]


def test_a_third_copy_still_shares_after_the_original_is_read_again(
    db: Database, coll: int
) -> None:
    _, (apt_key, _) = store(db, coll, "/a.html", html_chunks(APT, SOURCES))
    store(db, coll, "/b.pdf", pdf_chunks(APT))
    # The original changes elsewhere: its APT chunk is a new row with the same key.
    store(db, coll, "/a.html", html_chunks(APT, SOURCES + " (Updated for Debian 12.)"))
    _, (third,) = store(db, coll, "/c.epub", html_chunks(APT.replace("vast", "vast,"),
                                                         title="EPUB"))
    assert third == apt_key


def test_a_copy_in_another_collection_shares_the_vector(db: Database, coll: int) -> None:
    other = db.create_collection("Other")
    _, keys = store(db, coll, "/a.html", html_chunks(APT, SOURCES))
    _, copy_keys = store(db, other, "/a.html", pdf_chunks(APT, SOURCES))  # same path too
    assert copy_keys == keys


def test_the_copy_report_says_what_a_document_repeats(db: Database, coll: int) -> None:
    chapter_1, _ = store(db, coll, "/html/ch1.html", html_chunks(APT, SOURCES))
    chapter_2, _ = store(db, coll, "/html/ch2.html", html_chunks(UPGRADE))
    book, _ = store(db, coll, "/book.pdf", pdf_chunks(APT, SOURCES, UPGRADE) + pdf_chunks(
        "The colophon: this book was typeset with DocBook and printed on recycled paper."))
    report = duplicates.copy_report(db, book)
    assert (report.chunks, report.shared) == (4, 3)
    assert not report.mostly_a_copy  # 75 % < COPY_SHARE
    assert [(d.path, d.chunks) for d in report.documents] == [
        ("/html/ch1.html", 2), ("/html/ch2.html", 1)]
    chapter = duplicates.copy_report(db, chapter_1)
    assert chapter.mostly_a_copy and [d.document_id for d in chapter.documents] == [book]
    assert duplicates.copy_report(db, chapter_2).share == 1.0


def _words(rng: random.Random, n: int) -> str:
    return " ".join("".join(rng.choice("abcdefghijklmnopqrstuvwxyz")
                            for _ in range(rng.randint(2, 9))) for _ in range(n))


def _fill(db: Database, coll: int, documents: int, seed: int) -> list[str]:
    """Store ``documents`` documents of five random passages each; return the passages."""
    rng = random.Random(seed)
    passages = []
    for d in range(documents):
        # A stock sentence in every chunk: its samples soon pass the posting limit.
        texts = [f"{_words(rng, 180)} See the manual page for more information about every "
                 "option." for _ in range(5)]
        store(db, coll, f"/lib/{seed}/{d}.txt", html_chunks(*texts, title=f"doc {d}"))
        passages += texts
    return passages


def _seconds_to_store(
    db: Database, coll: int, passages: list[str], new: int, copies: int, seed: int
) -> float:
    """Best of five: store a document of ``new`` new passages and ``copies`` copies (in
    another format) of stored ones."""
    rng = random.Random(seed)
    best = float("inf")
    for attempt in range(5):
        texts = [_words(rng, 180) for _ in range(new)]
        copied = [as_pdf(t) for t in rng.sample(passages, copies)]
        chunks = html_chunks(*texts, *copied, title=f"probe {attempt}")
        start = time.perf_counter()
        _, keys = store(db, coll, f"/probe/{seed}-{attempt}", chunks)
        best = min(best, time.perf_counter() - start)
        assert len(set(keys) - {c.embed_key for c in chunks}) == copies  # they did share
    return best


def test_storing_a_document_costs_the_same_in_a_larger_library(tmp_path: Path) -> None:
    times = []
    for documents in (40, 160):
        with Database(tmp_path / f"{documents}.db") as db:
            coll = db.create_collection("Docs")
            passages = _fill(db, coll, documents, seed=documents)
            times.append(_seconds_to_store(db, coll, passages, new=30, copies=30, seed=1))
    assert times[1] / times[0] < 2.5, times  # a cost growing with the library: ~4x


def test_storing_is_linear_in_the_document(db: Database, coll: int) -> None:
    passages = _fill(db, coll, 60, seed=3)
    short = _seconds_to_store(db, coll, passages, new=20, copies=20, seed=1)
    long = _seconds_to_store(db, coll, passages, new=80, copies=80, seed=2)
    assert long / short < 8, (short, long)  # 4x the chunks; quadratic would be ~16x

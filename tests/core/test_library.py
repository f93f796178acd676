"""The library end to end: on the real quantized embedder and real files, and (fast,
with the fake embedder) its streaming job: reading in worker processes ahead of
embedding, the embedding order, a question's own embedding, one writer."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

import desktop_app.core.library as library_module
from desktop_app.core.errors import KuraError
from desktop_app.core.library import Library, ScanCounts
from desktop_app.core.progress import Progress, run_quietly
from desktop_app.core.reading import ReadBudget, ReadPool
from desktop_app.core.settings import LibrarySettings
from desktop_app.core.store import Database, DocumentInfo
from desktop_app.core.watch import watch_library
from tests.support.hostile_files import HOSTILE_READER, order
from tests.support.jobs import run, steps_and_summary
from tests.support.samples import CORP_KB
from tests.support.text_embedders import HashedWords


@pytest.fixture
def library(tmp_path: Path, embedder) -> Library:
    lib = Library(home=tmp_path / "home", embedder=embedder)
    yield lib
    lib.close()


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    """A writable copy of the seed's knowledge base (four category folders)."""
    target = tmp_path / "corp_kb"
    shutil.copytree(CORP_KB, target)
    return target


def add_categories(library: Library, kb: Path) -> None:
    for folder in sorted(p for p in kb.iterdir() if p.is_dir()):
        run_quietly(library.add([folder]))


def test_seed_question_finds_the_password_document(library: Library, kb: Path) -> None:
    add_categories(library, kb)
    status = library.status()
    assert len(status.collections) == 4
    assert status.documents["embedded"] == 8 and status.unembedded_keys == 0
    response = library.search("如何重置密码?", k=5)
    assert response.results[0].path.endswith("IT 与安全/账户密码管理.md")
    assert response.results[0].relevance is not None and response.results[0].relevance > 0.5
    assert response.best_relevance == response.results[0].relevance


def test_scoped_search_only_searches_that_collection(library: Library, kb: Path) -> None:
    add_categories(library, kb)
    response = library.search("如何重置密码?", k=5, collections=["财务与报销"])
    assert response.results
    assert {r.collection for r in response.results} == {"财务与报销"}
    assert response.collections == ["财务与报销"]


def test_adding_again_does_no_work(library: Library, kb: Path) -> None:
    add_categories(library, kb)
    before = library.status()
    counts = run_quietly(library.add([kb / "IT 与安全"]))
    assert counts.unchanged == 2 and counts.new == 0
    after = library.status()
    assert (after.chunks, after.vectors) == (before.chunks, before.vectors)


def test_sync_picks_up_new_changed_and_deleted_files(library: Library, kb: Path) -> None:
    folder = kb / "IT 与安全"
    run_quietly(library.add([folder]))
    vpn = "# VPN\n\n出差时请使用公司 VPN 连接内网，客户端名为 Tunnelo。"
    (folder / "VPN 使用指南.md").write_text(vpn, encoding="utf-8")
    (folder / "软件采购流程.md").unlink()
    target = folder / "账户密码管理.md"
    target.write_text(target.read_text(encoding="utf-8") + "\n\n密码每90天必须更换一次。",
                      encoding="utf-8")
    scan = run_quietly(library.sync())
    assert scan == ScanCounts(new=1, changed=1, unchanged=0, skipped=0, removed=1)
    paths = {r.path for r in library.search("Tunnelo VPN", k=3).results}
    assert str(folder / "VPN 使用指南.md") in paths
    assert not [r for r in library.search("软件采购", k=10).results
                if r.path.endswith("软件采购流程.md")]
    hits = library.search("密码多久更换一次", k=3).results
    assert "90天" in hits[0].chunk.text


def test_identical_files_are_embedded_once(library: Library, kb: Path, tmp_path: Path) -> None:
    run_quietly(library.add([kb / "IT 与安全"]))
    vectors = library.status().vectors
    copy = tmp_path / "copy"
    shutil.copytree(kb / "IT 与安全", copy)
    run_quietly(library.add([copy], collection="copies"))
    status = library.status()
    assert status.vectors == vectors
    assert status.documents["embedded"] == 4


def test_keywords_work_before_embedding(library: Library, kb: Path, embedder) -> None:
    run_quietly(library.add([kb / "办公与设施"], embed=False))
    # A reader embeds nothing: its answer comes from keywords alone.
    reader = Library(home=library.home, embedder=embedder, writer=False)
    try:
        response = reader.search("会议室 预订", k=3)
    finally:
        reader.close()
    assert response.results[0].path.endswith("会议室预订指南.md")
    assert response.results[0].cosine is None  # found by keywords only
    assert len(response.not_embedded) == 2 and library.status().vectors == 0
    # The writer embeds the passages the question found first: meaning and relevance
    # see them before the rest of the library is embedded.
    response = library.search("会议室 预订", k=3)
    assert response.results[0].path.endswith("会议室预订指南.md")
    assert response.results[0].relevance is not None and response.results[0].relevance > 0.5
    assert 0 < library.status().vectors < library.status().chunks
    run_quietly(library.embed_pending())
    response = library.search("会议室 预订", k=3)
    assert response.results[0].cosine is not None and not response.not_embedded


def test_unreadable_files_are_listed_and_the_rest_indexed(library: Library, tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "good.md").write_text("# Leave\n\nEmployees get 20 days of annual leave.")
    (folder / "broken.docx").write_bytes(b"not a zip file at all")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "image.psd").write_bytes(b"8BPS\x00\x01")
    (folder / "binary.txt").write_bytes(b"\x00\x01\x02\x03" * 100)
    run_quietly(library.add([folder]))
    status = library.status()
    reasons = {Path(s.path).name: s.reason for s in status.skipped}
    assert reasons == {"broken.docx": "corrupt", "empty.txt": "empty",
                       "image.psd": "unsupported", "binary.txt": "binary"}
    assert all(s.message for s in status.skipped)
    assert status.documents["embedded"] == 1


def test_a_lost_index_is_rebuilt_from_sqlite(tmp_path: Path, kb: Path, embedder) -> None:
    home = tmp_path / "home"
    lib = Library(home=home, embedder=embedder)
    run_quietly(lib.add([kb / "IT 与安全"]))
    lib.close()
    for f in (home / "index").iterdir():
        f.unlink()
    lib = Library(home=home, embedder=embedder)
    report = run_quietly(lib.open_index())
    assert report is not None and report.rebuilt
    assert lib.search("如何重置密码?").results[0].path.endswith("账户密码管理.md")
    lib.close()


def test_an_index_rebuild_is_a_stage_of_embedding_and_stops_when_closed(
        tmp_path: Path, kb: Path, embedder) -> None:
    home = tmp_path / "home"
    lib = Library(home=home, embedder=embedder)
    run_quietly(lib.add([kb / "IT 与安全"]))
    vectors = lib.status().vectors
    lib.close()
    for f in (home / "index").iterdir():
        f.unlink()
    lib = Library(home=home, embedder=embedder)
    job = lib.embed_pending()
    first = next(job)
    assert (first.stage, first.done, first.total) == ("index", 0, vectors)
    job.close()  # mid-rebuild: nothing written, the index stays closed
    assert not list((home / "index").iterdir())
    steps, embedded = steps_and_summary(lib.embed_pending())  # rebuilds from the start
    assert [(s.stage, s.done, s.total) for s in steps] == [("index", 0, vectors),
                                                            ("index", vectors, vectors)]
    assert embedded == 0 and lib.index.ids() == set(lib.db.vector_ids().tolist())
    assert lib.search("如何重置密码?").results[0].path.endswith("账户密码管理.md")
    lib.close()


def test_sync_returns_what_it_found_in_every_folder(library: Library, kb: Path) -> None:
    add_categories(library, kb)
    files = sum(1 for p in kb.rglob("*") if p.is_file())
    assert run_quietly(library.sync(embed=False)) == ScanCounts(unchanged=files)
    (kb / "IT 与安全" / "新文件.md").write_text("# 新\n\n打印机在三楼。", encoding="utf-8")
    assert run_quietly(library.sync(embed=False)) == ScanCounts(new=1, unchanged=files)


def test_watch_picks_up_a_new_file(library: Library, kb: Path) -> None:
    folder = kb / "IT 与安全"
    run_quietly(library.add([folder]))
    stop = threading.Event()
    jobs = watch_library(library, should_stop=stop.is_set, debounce_s=0.3, poll_s=0.05)

    def later() -> None:
        time.sleep(0.5)
        note = "# 打印机\n\n彩色打印机在12楼，需刷员工卡。"
        (folder / "打印机.md").write_text(note, encoding="utf-8")

    threading.Thread(target=later, daemon=True).start()
    deadline = time.monotonic() + 30
    for job in jobs:
        run_quietly(job.steps)
        if library.db.get_document(library.db.get_collection("IT 与安全").id,
                                   folder / "打印机.md"):
            stop.set()
        if time.monotonic() > deadline:
            stop.set()
    assert library.search("彩色打印机在哪里", k=1).results[0].path.endswith("打印机.md")


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_killed_ingest_resumes_without_duplicates(tmp_path: Path, embedder_dir: Path,
                                                  embedder) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(80):
        (folder / f"note-{i:03}.md").write_text(
            f"# Note {i}\n\nMeeting {i} decided budget item {i * 7} for project P{i % 9}.\n\n"
            + f"Follow-up {i}: owner number {i * 13}. " * 20)
    env = dict(os.environ, KURA_HOME=str(tmp_path / "home"), KURA_EMBEDDER_DIR=str(embedder_dir))
    command = [sys.executable, "-m", "desktop_app.cli", "add", str(folder), "--json"]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db_path = tmp_path / "home" / "library.sqlite3"
    deadline = time.monotonic() + 120
    import sqlite3

    while time.monotonic() < deadline:  # kill once some vectors are in
        time.sleep(0.3)
        if db_path.exists():
            try:
                with sqlite3.connect(db_path, timeout=1) as conn:
                    if conn.execute("SELECT count(*) FROM vectors").fetchone()[0] > 5:
                        break
            except sqlite3.Error:
                pass
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(db_path) as conn:
        docs = conn.execute("SELECT count(*), count(DISTINCT path) FROM documents").fetchone()
        per_doc = conn.execute(
            "SELECT count(*) FROM (SELECT document_id, ordinal, count(*) n FROM chunks "
            "GROUP BY document_id, ordinal HAVING n > 1)").fetchone()[0]
        missing = conn.execute(
            "SELECT count(*) FROM chunks c LEFT JOIN vectors v ON v.embed_key = c.embed_key "
            "WHERE v.id IS NULL").fetchone()[0]
        statuses = {s for (s,) in conn.execute("SELECT DISTINCT status FROM documents")}
        ids = {i for (i,) in conn.execute("SELECT id FROM vectors")}
    assert docs == (80, 80) and per_doc == 0 and missing == 0 and statuses == {"embedded"}
    lib = Library(home=tmp_path / "home", embedder=embedder)
    run_quietly(lib.open_index())
    assert lib.index.ids() == ids
    lib.close()


def test_scanning_reports_how_many_files_there_are(library: Library, kb: Path) -> None:
    folder = kb / "IT 与安全"
    steps = [p for p in library.add([folder], embed=False) if p.stage == "scan"]
    assert steps[0].done == 0 and steps[0].total == 2  # announced before any file is read
    assert [p.done for p in steps[1:]] == [1, 2]
    assert all(p.total == 2 for p in steps)


def test_several_folders_without_a_name_become_one_collection_each(
    library: Library, kb: Path
) -> None:
    folders = sorted(p for p in kb.iterdir() if p.is_dir())
    run_quietly(library.add(folders, embed=False))
    assert sorted(c.name for c in library.status().collections) == sorted(f.name for f in folders)


def test_a_skipped_file_is_read_again_on_retry(library: Library, tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "empty.md").write_text("", encoding="utf-8")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7 not really")
    run_quietly(library.add([folder]))
    assert {Path(s.path).name for s in library.status().skipped} == {"empty.md", "broken.pdf"}

    # Fixed with the same size and date: a normal sync would not look at it again.
    fixed = folder / "empty.md"
    stat = fixed.stat()
    fixed.write_text("会议室需要提前一天预订。", encoding="utf-8")
    os.utime(fixed, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    steps = list(library.retry([str(fixed), str(folder / "broken.pdf")]))
    assert sorted(p.message for p in steps if p.stage == "scan" and p.message) == [
        "new", "skipped"]
    status = library.status()
    assert [Path(s.path).name for s in status.skipped] == ["broken.pdf"]
    assert status.unembedded_keys == 0 and status.documents["embedded"] == 1
    assert library.search("会议室预订", k=1).results[0].path == str(fixed)


def test_renaming_a_collection_keeps_its_documents(library: Library, kb: Path) -> None:
    run_quietly(library.add([kb / "IT 与安全"], embed=False))
    assert library.rename_collection("IT 与安全", "  IT  ") == "IT"
    [summary] = library.status().collections
    assert summary.name == "IT" and summary.documents == 2
    with pytest.raises(KuraError):
        library.rename_collection("IT 与安全", "again")


@pytest.mark.slow
def test_documents_lists_every_file_with_its_state_passages_and_times(
        library: Library, tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    (folder / "sub").mkdir(parents=True)
    (folder / "good.md").write_text("# Leave\n\nEmployees get 20 days of annual leave.",
                                    encoding="utf-8")
    (folder / "sub" / "vpn.md").write_text("# VPN\n\nUse the company VPN when travelling.",
                                           encoding="utf-8")
    (folder / "broken.docx").write_bytes(b"not a zip file at all")
    (folder / "empty.txt").write_bytes(b"")
    vpn = os.path.join("sub", "vpn.md")
    started = time.time()
    run_quietly(library.add([folder], embed=False))

    def by_name() -> dict[str, DocumentInfo]:
        return {d.relative_path: d for d in library.documents("mixed")}

    read = by_name()
    assert {n: (d.state, d.reason) for n, d in read.items()} == {
        "good.md": ("parsed", None), vpn: ("parsed", None),
        "broken.docx": ("skipped", "corrupt"), "empty.txt": ("skipped", "empty")}
    collection = library.db.get_collection("mixed")
    assert collection is not None
    for name, doc in read.items():
        stored = library.db.get_document(collection.id, folder.resolve() / name)
        assert stored is not None
        assert doc.chunks == len(library.db.chunks_of_document(stored.id))
        assert doc.read_at is not None and doc.read_at >= started
        assert doc.embedded_at is None
    assert read["good.md"].chunks == 1 and read["empty.txt"].chunks == 0
    assert read["broken.docx"].message

    run_quietly(library.embed_pending())
    embedded = by_name()
    for name in ("good.md", vpn):
        doc = embedded[name]
        assert doc.state == "embedded" and doc.read_at == read[name].read_at
        assert doc.embedded_at is not None and doc.read_at is not None
        assert doc.embedded_at >= doc.read_at
    assert embedded["empty.txt"].embedded_at is None
    assert library.documents() == library.documents("mixed")  # the only collection
    with pytest.raises(KuraError, match="nope"):
        library.documents("nope")


def test_a_stopped_embedding_job_still_saves_the_index(tmp_path: Path) -> None:
    """The window stops a job by closing its generator: the vectors embedded so far are
    in SQLite, and the index file must hold them too, or the next start would rebuild
    it in full (found in review: the final save ran only when the job finished)."""
    from desktop_app.core.store.index_sidecar import read_sidecar

    folder = tmp_path / "notes"
    folder.mkdir()
    for n in range(40):
        (folder / f"note{n}.md").write_text(f"# Note {n}\n\nword{n} about topic {n}.",
                                            encoding="utf-8")
    settings = LibrarySettings(embed_batch=4, save_every=10_000)  # no save on the way
    library = Library(home=tmp_path / "home", embedder=HashedWords(), settings=settings)
    try:
        run_quietly(library.add([folder], embed=False))
        job = library.embed_pending()
        steps = [next(job) for _ in range(3)]
        assert [s.stage for s in steps][-1] == "embed"
        job.close()  # as the window's Stop does
        stored = library.db.vector_ids()
        assert 0 < len(stored) < 40
        sidecar = read_sidecar(library.index.path)
        assert sidecar is not None and sidecar.count == len(stored)
    finally:
        library.close()


# -- the streaming job: fast tests on the fake embedder ---------------------------------------



class RecordingWords(HashedWords):
    """HashedWords that notes what it embedded, on which thread, and may take its time
    (as a real model does) so that a job and a question overlap."""

    def __init__(self, seconds_per_call: float = 0.0) -> None:
        super().__init__()
        self.seconds_per_call = seconds_per_call
        self.calls: list[tuple[int, list[str]]] = []

    def embed_documents(self, texts, titles=None, dim=None):  # type: ignore[no-untyped-def]
        self.calls.append((threading.get_ident(), list(texts)))
        time.sleep(self.seconds_per_call)
        return super().embed_documents(texts, titles, dim)


@pytest.fixture
def fast_library(tmp_path: Path) -> Iterator[Library]:
    lib = Library(home=tmp_path / "home", embedder=RecordingWords(),
                  settings=LibrarySettings(embed_batch=4))
    yield lib
    lib.close()


def read_with(monkeypatch: pytest.MonkeyPatch, reader: str = HOSTILE_READER,
              seconds: float = 60.0) -> None:
    """Library jobs read through ``reader`` (a misbehaving one obeys orders written in
    a file) under a ``seconds`` budget per file."""
    def open_pool(self: Library) -> ReadPool:
        return ReadPool(self.chunker_spec, budget=ReadBudget(seconds, 2 * 1024**3),
                        max_file_bytes=self.settings.max_file_bytes, reader=reader)

    monkeypatch.setattr(Library, "_open_read_pool", open_pool)


def notes(folder: Path, names: Iterable[str], words: int = 12) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        stem = Path(name).stem
        (folder / name).write_text(f"# {stem}\n\n" + f"{stem} says word{stem} plainly. " * words,
                                   encoding="utf-8")
    return folder


def snapshot(db: Database, root: Path) -> tuple[object, ...]:
    """What a library holds, independent of ids and times: per file its state, title
    and chunks; and the texts that have vectors."""
    docs = sorted(
        (os.path.relpath(d.path, root), d.status, d.skip_reason, d.kind, d.title,
         tuple((c.text, c.embed_key) for c in db.chunks_of_document(d.id)))
        for d in db.documents())
    with db.reading() as conn:
        vectors = sorted(r[0] for r in conn.execute("SELECT embed_key FROM vectors"))
    return tuple(docs), tuple(vectors)


def test_one_slow_file_holds_back_only_itself(fast_library: Library, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The files read before a slow one are embedded while it is still being read (the
    job does not wait for all files to be read), and the slow one is skipped with a
    reason once it overruns its budget; the files after it are read after all."""
    # Small files are read first: the a-files, then the slow one, then the z-files.
    folder = notes(tmp_path / "notes", [f"a{i}.md" for i in range(6)], words=2)
    with order(folder / "m-slow.md", "sleep", 60).open("a", encoding="utf-8") as slow:
        slow.write("padding " * 40)
    notes(folder, [f"z{i}.md" for i in range(6)], words=20)
    read_with(monkeypatch, seconds=4.0)
    when_slow_came_back: dict[str, str] = {}
    counts = None
    job = fast_library.add([folder])
    while True:
        try:
            step = next(job)
        except StopIteration as end:
            counts = end.value
            break
        if step.item and step.item.endswith("m-slow.md"):
            when_slow_came_back = {Path(d.path).name: d.status
                                   for d in fast_library.db.documents()}
    assert {n: s for n, s in when_slow_came_back.items() if n.startswith("a")} == {
        f"a{i}.md": "embedded" for i in range(6)}
    assert counts == ScanCounts(new=12, skipped=1)
    [skipped] = fast_library.status().skipped
    assert Path(skipped.path).name == "m-slow.md" and skipped.reason == "too_slow"
    assert fast_library.status().documents["embedded"] == 12


def test_files_are_read_while_the_walk_goes_on(fast_library: Library, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    for sub in ("a", "b", "c"):
        notes(tmp_path / "tree" / sub, [f"{sub}{i}.md" for i in range(4)])
    monkeypatch.setattr(library_module, "WALK_SLICE", 2)
    monkeypatch.setattr(library_module, "WALK_AHEAD", 3)
    monkeypatch.setattr(library_module, "READ_AHEAD_FILES", 1)
    steps = [s for s in fast_library.add([tmp_path / "tree"], embed=False)]
    scans = [s for s in steps if s.stage == "scan"]
    assert [s.done for s in scans if s.message] == list(range(1, 13))
    first_known = next(i for i, s in enumerate(scans) if s.total is not None)
    assert scans[0].message == "new" and scans[0].total is None  # read before the walk ended
    assert first_known > 0 and all(s.total == 12 for s in scans[first_known:])
    assert all(s.total is None for s in scans[:first_known])


def test_a_walk_that_did_not_end_deletes_nothing(fast_library: Library, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    folder = notes(tmp_path / "notes", [f"n{i:02}.md" for i in range(12)])
    run_quietly(fast_library.add([folder], embed=False))
    (folder / "n03.md").unlink()
    (folder / "n11.md").unlink()
    monkeypatch.setattr(library_module, "WALK_SLICE", 1)
    monkeypatch.setattr(library_module, "WALK_AHEAD", 2)
    seen: list[Progress] = []
    counts = run(fast_library.sync(embed=False, should_stop=lambda: len(seen) >= 4),
                 seen.append)
    assert counts.removed == 0 and len(fast_library.db.documents()) == 12
    assert run_quietly(fast_library.sync(embed=False)) == ScanCounts(unchanged=10, removed=2)
    assert len(fast_library.db.documents()) == 10


def test_a_job_closed_while_reading_resumes_to_the_same_library(
        fast_library: Library, tmp_path: Path) -> None:
    """Closed mid-reading (files stored, others in the readers' hands), the job leaves a
    library that the next sync completes into the same as an uninterrupted run."""
    folder = notes(tmp_path / "notes", [f"n{i:02}.md" for i in range(40)], words=60)
    job = fast_library.add([folder])
    for step in job:
        if step.stage == "scan" and step.done == 10:
            break
    job.close()  # as the window's Stop does: while files are in the readers' hands
    stored = {d.path for d in fast_library.db.documents()}
    assert 10 <= len(stored) < 40
    assert run_quietly(fast_library.sync()).new == 40 - len(stored)
    reference = Library(home=tmp_path / "reference", embedder=HashedWords(),
                        settings=LibrarySettings(embed_batch=4))
    try:
        run_quietly(reference.add([folder]))
        assert snapshot(fast_library.db, folder) == snapshot(reference.db, folder)
    finally:
        reference.close()
    assert fast_library.index.ids() == set(fast_library.db.vector_ids().tolist())


def test_progress_says_what_is_known_while_reading_and_embedding(
        fast_library: Library, tmp_path: Path) -> None:
    folder = notes(tmp_path / "notes", [f"n{i:02}.md" for i in range(40)], words=80)
    steps = list(fast_library.add([folder]))
    assert {s.stage for s in steps} == {"index", "scan", "embed"}
    embeds = [s for s in steps if s.stage == "embed"]
    assert [s.done for s in embeds] == sorted(s.done for s in embeds)
    assert all(s.total is not None and s.done <= s.total for s in embeds)
    assert embeds[-1].done == embeds[-1].total == fast_library.status().vectors
    assert any(s.rate and s.eta is not None for s in embeds)
    last_scan = max(i for i, s in enumerate(steps) if s.stage == "scan")
    assert any(s.stage == "embed" for s in steps[:last_scan])  # interleaved


# -- a question while the library is still being embedded ----------------------------------


def question_library(tmp_path: Path, embedder: HashedWords) -> tuple[Library, Path]:
    """Twelve documents of several passages each, read but not embedded; only one
    passage in all of them speaks of zebras."""
    folder = tmp_path / "docs"
    folder.mkdir()
    for i in range(12):
        body = " ".join(f"topic{i} line{j} filler{j}" for j in range(40))
        if i == 7:
            body += "\n\nThe zebra crossing is painted on Tuesdays."
        (folder / f"doc{i:02}.md").write_text(f"# Doc {i}\n\n{body}\n", encoding="utf-8")
    library = Library(home=tmp_path / "home", embedder=embedder,
                      settings=LibrarySettings(chunk_tokens=24, chunk_overlap=0,
                                               embed_batch=3))
    run_quietly(library.add([folder], embed=False))
    run_quietly(library.open_index())
    return library, folder


def test_a_question_embeds_its_keyword_hits_first(tmp_path: Path) -> None:
    embedder = RecordingWords()
    library, _folder = question_library(tmp_path, embedder)
    try:
        assert library.status().vectors == 0
        response = library.search("zebra crossing", k=3)
        top = response.results[0]
        assert top.path.endswith("doc07.md") and "zebra" in top.chunk.text
        assert top.cosine is not None and top.relevance is not None  # dense saw it
        assert library.status().vectors == 1  # only what the question needed
        assert library.index.ids() == set(library.db.vector_ids().tolist())
        # The rest of doc07 goes first in the embedding that follows.
        embedder.calls.clear()
        run_quietly(library.embed_pending())
        first = embedder.calls[0][1]
        doc07 = {c.text for c in library.db.chunks_of_document(
            next(d.id for d in library.db.documents() if d.path.endswith("doc07.md")))}
        assert set(first) <= doc07
    finally:
        library.close()


def test_a_questions_embedding_is_bounded(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    library, _folder = question_library(tmp_path, RecordingWords())
    try:
        monkeypatch.setattr(library_module, "QUESTION_CHUNKS", 5)
        library.search("filler3 line3", k=3)  # hits a passage of every document
        assert library.status().vectors == 5
        monkeypatch.setattr(library_module, "QUESTION_CHUNKS", 64)
        monkeypatch.setattr(library_module, "QUESTION_SECONDS", 0.0)
        library.search("filler5 line5", k=3)  # out of time after the first batch
        assert library.status().vectors == 5 + library_module.QUESTION_FIRST_BATCH
    finally:
        library.close()


def test_questions_while_a_job_embeds_on_another_thread(tmp_path: Path) -> None:
    """The window embeds on a worker thread while the person asks: both embed, store
    vectors and add them to the index; nothing may break or drift."""
    embedder = RecordingWords(seconds_per_call=0.01)
    library, _folder = question_library(tmp_path, embedder)
    failures: list[BaseException] = []

    def embed_all() -> None:
        try:
            run_quietly(library.embed_pending())
        except BaseException as exc:  # reported by the test
            failures.append(exc)

    try:
        job = threading.Thread(target=embed_all)
        job.start()
        asked = 0
        while job.is_alive() and asked < 200:
            response = library.search(f"filler{asked % 40} topic{asked % 12}", k=3)
            assert response.results
            asked += 1
        job.join(60)
        assert not failures and not job.is_alive()
        threads = {ident for ident, _ in embedder.calls}
        assert len(threads) == 2  # the job's and the questions'
        status = library.status()
        assert status.unembedded_keys == 0 and status.documents["embedded"] == 12
        assert library.index.ids() == set(library.db.vector_ids().tolist())
        with library.db.reading() as conn:
            keys = conn.execute("SELECT count(*), count(DISTINCT embed_key) FROM vectors")
            total, distinct = keys.fetchone()
        assert total == distinct == status.vectors
    finally:
        library.close()


# -- one writer --------------------------------------------------------------------------------


def test_a_reader_never_writes(tmp_path: Path) -> None:
    folder = notes(tmp_path / "notes", [f"n{i}.md" for i in range(5)])
    home = tmp_path / "home"
    writer = Library(home=home, embedder=HashedWords())
    run_quietly(writer.add([folder]))
    writer.close()
    for f in (home / "index").iterdir():  # the reader must rebuild it: in memory only
        f.unlink()

    def files() -> dict[str, bytes]:
        return {str(p.relative_to(home)): hashlib.sha256(p.read_bytes()).digest()
                for p in sorted(home.rglob("*"))
                if p.is_file() and not p.name.endswith(("-wal", "-shm"))}

    before = files()
    reader = Library(home=home, embedder=HashedWords(), writer=False)
    try:
        for job in (reader.add([folder]), reader.sync(), reader.embed_pending(),
                    reader.retry([str(folder / "n1.md")])):
            with pytest.raises(KuraError, match="reading only"):
                run_quietly(job)
        with pytest.raises(KuraError, match="reading only"):
            reader.remove(folder)
        hit = reader.search("wordn3", k=1).results[0]
        assert hit.path.endswith("n3.md") and hit.cosine is not None
    finally:
        reader.close()
    assert files() == before


class OtherWords(HashedWords):
    """Another model: the same words point elsewhere."""

    model_id = "other-words"

    def _embed(self, texts, dim):  # type: ignore[no-untyped-def]
        return super()._embed([" ".join(f"{w}x" for w in t.split()) for t in texts], dim)


def test_a_reader_with_another_model_does_not_compare_its_vectors(tmp_path: Path) -> None:
    """The writer re-embeds another model's vectors; a reader leaves them, and must not
    rank or judge relevance by comparing its own query vector with them."""
    folder = notes(tmp_path / "notes", [f"n{i}.md" for i in range(5)])
    home = tmp_path / "home"
    writer = Library(home=home, embedder=HashedWords())
    run_quietly(writer.add([folder]))
    writer.close()
    reader = Library(home=home, embedder=OtherWords(), writer=False)
    try:
        hits = reader.search("wordn3", k=3).results
    finally:
        reader.close()
    assert hits and hits[0].path.endswith("n3.md")  # keywords still find it
    assert all(h.cosine is None and h.relevance is None for h in hits)


def test_a_writer_holds_the_library_until_it_is_closed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = Library(home=home, embedder=HashedWords(), purpose="kura add")
    waited: list[str] = []
    second_opened = threading.Event()

    def second_writer() -> None:
        second = Library(home=home, embedder=HashedWords(), purpose="Kura window",
                         on_wait=waited.append)
        second_opened.set()
        second.close()

    thread = threading.Thread(target=second_writer)
    thread.start()
    try:
        reader = Library(home=home, embedder=HashedWords(), writer=False)  # never waits
        assert reader.search("anything").results == []
        reader.close()
        deadline = time.monotonic() + 10
        while not waited and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(waited) == 1 and waited[0].startswith("kura add (pid ")
        assert not second_opened.is_set()
    finally:
        first.close()
        thread.join(30)
    assert second_opened.is_set()


def test_a_changed_file_leaves_no_vector_of_its_old_text(fast_library: Library,
                                                         tmp_path: Path) -> None:
    folder = notes(tmp_path / "notes", ["alpha.md", "beta.md"])
    run_quietly(fast_library.add([folder]))
    (folder / "alpha.md").write_text("# alpha\n\nA wholly new text about gardens.\n",
                                     encoding="utf-8")
    run_quietly(fast_library.sync())
    with fast_library.db.reading() as conn:
        vectors = {r[0] for r in conn.execute("SELECT embed_key FROM vectors")}
        used = {r[0] for r in conn.execute("SELECT embed_key FROM chunks")}
    assert vectors == used


def test_a_folder_with_hostile_files_finishes_and_lists_each_with_its_reason(
        tmp_path: Path) -> None:
    """The issue's folder: a 20 MB one-line file, a zip bomb and a spreadsheet whose
    declared dimensions are bogus, among ordinary notes. Every note is indexed, every
    bad file is listed with its reason, and the bogus sheet is read by its real cells."""
    from tests.support.hostile_files import bogus_dimension_xlsx, zip_bomb_docx

    folder = notes(tmp_path / "mixed", [f"note{i}.md" for i in range(5)])
    (folder / "one-line.md").write_bytes(
        b"".join(hashlib.sha256(str(i).encode()).hexdigest().encode()
                 for i in range(20 * 1024 * 1024 // 64)))
    zip_bomb_docx(folder / "bomb.docx")
    bogus_dimension_xlsx(folder / "tasks.xlsx")
    lib = Library(home=tmp_path / "home", embedder=HashedWords())
    try:
        counts = run_quietly(lib.add([folder]))
        by_name = {Path(d.path).name: d for d in lib.documents()}
    finally:
        lib.close()
    assert counts.skipped == 2
    assert by_name["one-line.md"].state == "skipped"
    assert by_name["one-line.md"].reason == "not_prose"
    assert by_name["one-line.md"].message  # a sentence the window shows
    assert by_name["bomb.docx"].reason == "suspicious"
    assert by_name["tasks.xlsx"].state == "embedded"
    assert by_name["tasks.xlsx"].chunks == 1
    for i in range(5):
        assert by_name[f"note{i}.md"].state == "embedded"

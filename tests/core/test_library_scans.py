"""A folder of scans through the whole library (real embedder and OCR models: slow): read
page by page with progress, searchable in Chinese and English, reported in the documents
listing, previewed with the recognised lines boxed, and resumed after a kill without
recognising a page twice."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop_app.core.ingest import scans
from desktop_app.core.library import Library
from desktop_app.core.preview import PagePreview, preview
from desktop_app.core.progress import Progress
from desktop_app.core.settings import LibrarySettings
from tests.support.scans import (
    CHINESE,
    ENGLISH,
    render_pages,
    save_pdf,
    save_png,
    save_tiff,
)

pytestmark = pytest.mark.skipif(not scans.ocr_available(), reason="no OCR models")


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[
        tuple[Library, Path, list[Progress]]]:
    root = tmp_path_factory.mktemp("scans")
    folder = root / "scans"
    folder.mkdir()
    english = render_pages(ENGLISH[:2], dpi=200, max_lines=8)
    chinese = render_pages(CHINESE[:3], dpi=200, max_lines=8)
    save_tiff([english[0], chinese[0]], folder / "batch.tiff")
    save_pdf(english[:1] + chinese[:1], folder / "letters.pdf")
    save_png(chinese[0], folder / "年假通知.png")
    (folder / "typed.md").write_text("# Typed\n\nA typed note about the canteen menu.\n",
                                     encoding="utf-8")
    library = Library(home=root / "home", embedder=embedder)
    steps = list(library.add([folder], "Scans"))
    yield library, folder, steps
    library.close()


@pytest.mark.slow
def test_scans_are_read_page_by_page_with_progress(
        scanned: tuple[Library, Path, list[Progress]]) -> None:
    _library, _folder, steps = scanned
    ocr = [(Path(s.item or "").name, s.done, s.total) for s in steps if s.stage == "ocr"]
    assert ("letters.pdf", 1, 2) in ocr and ("letters.pdf", 2, 2) in ocr
    assert ("batch.tiff", 2, 2) in ocr and ("年假通知.png", 1, 1) in ocr
    scan_steps = [s for s in steps if s.stage == "scan" and s.item]
    assert {Path(s.item or "").name: s.message for s in scan_steps} == {
        "letters.pdf": "new", "年假通知.png": "new", "batch.tiff": "new", "typed.md": "new"}


@pytest.mark.slow
def test_a_chinese_question_finds_the_scanned_chinese_page(
        scanned: tuple[Library, Path, list[Progress]]) -> None:
    library, _folder, _steps = scanned
    results = library.search("带薪年假可以结转几天?", k=3).results
    assert results[0].path.endswith((".pdf", ".png", ".tiff"))
    assert "结转" in "".join(results[0].chunk.text.split())
    english = library.search("When is the heating switched off in the north wing?", k=3)
    top = english.results[0]
    assert top.path.endswith((".pdf", ".tiff")) and "heating" in top.chunk.text


@pytest.mark.slow
def test_the_documents_listing_says_what_was_read_by_ocr(
        scanned: tuple[Library, Path, list[Progress]]) -> None:
    library, _folder, _steps = scanned
    infos = {Path(d.path).name: d for d in library.documents()}
    assert infos["typed.md"].ocr is None
    letters = infos["letters.pdf"].ocr
    assert letters is not None and letters.pages == 2 and letters.confidence > 0.9
    assert letters.low_pages == ()
    assert infos["batch.tiff"].ocr is not None and infos["batch.tiff"].ocr.pages == 2


@pytest.mark.slow
def test_a_scanned_citation_opens_the_page_with_its_lines_boxed(
        scanned: tuple[Library, Path, list[Progress]]) -> None:
    library, folder, _steps = scanned
    hit = next(r for r in library.search("北楼供暖检修", k=5).results
               if r.path.endswith("letters.pdf"))
    lines = library.ocr_lines(hit.path, hit.chunk.page or 0)
    assert lines
    shown = preview(Path(hit.path), hit.chunk.text, page=hit.chunk.page, start_char=None,
                    end_char=None, ocr_lines=lines)
    assert isinstance(shown, PagePreview) and shown.page == hit.chunk.page == 2
    assert shown.highlights
    # Every box is one of the recognised lines, scaled to the rendered page.
    for x, y, _w, _h in shown.highlights:
        assert any(abs(x / shown.width - line.box[0]) < 0.01
                   and abs(y / shown.height - line.box[1]) < 0.01 for line in lines)
    image = preview(folder / "年假通知.png", hit.chunk.text[:20], page=1, start_char=None,
                    end_char=None, ocr_lines=library.ocr_lines(folder / "年假通知.png", 1))
    assert isinstance(image, PagePreview) and image.page_count == 1


@pytest.mark.slow
def test_with_ocr_off_scans_are_skipped_and_read_once_it_is_on(tmp_path: Path,
                                                               embedder) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    save_pdf(render_pages(CHINESE[:1], dpi=150, max_lines=4), folder / "scan.pdf")
    off = Library(home=tmp_path / "home", embedder=embedder,
                  settings=LibrarySettings(ocr=False))
    list(off.add([folder]))
    [info] = off.documents()
    assert info.state == "skipped" and info.reason == "scanned"
    off.close()
    on = Library(home=tmp_path / "home", embedder=embedder)
    list(on.sync())  # the file has not changed: still read, now that OCR is on
    [info] = on.documents()
    assert info.state == "embedded" and info.ocr is not None and info.ocr.pages == 1
    on.close()


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_a_killed_scan_resumes_without_recognising_a_page_twice(
        tmp_path: Path, embedder_dir: Path) -> None:
    folder = tmp_path / "scans"
    folder.mkdir()
    paragraphs = (list(ENGLISH) + list(CHINESE))[:6]
    pages = [render_pages([p], dpi=200, max_lines=6)[0] for p in paragraphs]
    assert len(pages) == 6
    save_pdf(pages, folder / "long-scan.pdf")
    env = dict(os.environ, KURA_HOME=str(tmp_path / "home"),
               KURA_EMBEDDER_DIR=str(embedder_dir))
    command = [sys.executable, "-m", "desktop_app.cli", "add", str(folder), "--json"]
    db_path = tmp_path / "home" / "library.sqlite3"

    def saved() -> dict[int, float]:
        try:
            with sqlite3.connect(db_path, timeout=1) as conn:
                return dict(conn.execute("SELECT page, created_at FROM ocr_pages"))
        except sqlite3.Error:
            return {}

    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and len(saved()) < 2:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = saved()
    assert 2 <= len(before) < 6, before

    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    after = saved()
    assert sorted(after) == [1, 2, 3, 4, 5, 6]
    assert {page: after[page] for page in before} == before  # never recognised again

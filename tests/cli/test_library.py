"""The library's commands: ``kura`` as a user runs it (a real subprocess on the real
model), and how it ends on Ctrl+C or an error (in this process, through click)."""

from __future__ import annotations

import json
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO

import pytest
from click.testing import CliRunner

from desktop_app.cli import cli
from desktop_app.core.library import Library
from desktop_app.core.progress import Progress
from tests.support.samples import CORP_KB, RED_PLANET_DOCS, RED_PLANET_QUERY


def kura(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "desktop_app.cli", *args],
                          capture_output=True, text=True, env=env, timeout=300)


def test_similarity_json_ranks_mars_first(cli_env: dict[str, str]) -> None:
    result = kura("similarity", RED_PLANET_QUERY, *RED_PLANET_DOCS, "--json", env=cli_env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    scores = [r["score"] for r in data["results"]]
    assert data["dim"] == 768 and len(scores) == 4
    assert max(range(4), key=scores.__getitem__) == 1


def test_similarity_prints_one_line_per_document(cli_env: dict[str, str]) -> None:
    result = kura("similarity", "年假有几天?", "员工每年享有带薪年假。", "会议室需要提前预订。",
                  "--dim", "256", env=cli_env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2
    first, second = (float(line.split()[0]) for line in lines)
    assert first > second


def test_missing_model_is_a_one_line_error(cli_env: dict[str, str], tmp_path: Path) -> None:
    env = dict(cli_env, KURA_EMBEDDER_DIR=str(tmp_path / "none"))
    result = kura("similarity", "q", "d", env=env)
    assert result.returncode == 2
    assert "model.onnx" in result.stderr and "Traceback" not in result.stderr


def test_add_search_status_remove_round_trip(cli_env: dict[str, str], tmp_path: Path) -> None:
    env = dict(cli_env, KURA_HOME=str(tmp_path / "home"))
    folder = CORP_KB / "IT 与安全"
    added = kura("add", str(folder), "--json", env=env)
    assert added.returncode == 0, added.stderr
    status = json.loads(added.stdout)
    assert status["collections"][0]["name"] == "IT 与安全"
    assert status["collections"][0]["by_status"]["embedded"] == 2

    found = kura("search", "如何重置密码?", "-k", "3", "--json", env=env)
    assert found.returncode == 0, found.stderr
    first = json.loads(found.stdout)["results"][0]
    assert first["path"].endswith("账户密码管理.md") and first["snippet"]

    people = kura("search", "如何重置密码?", env=env)
    assert people.stdout.startswith("1. ") and "账户密码管理.md" in people.stdout

    unknown = kura("search", "x", "--collection", "nope", env=env)
    assert unknown.returncode == 2 and "nope" in unknown.stderr

    removed = kura("remove", str(folder), "--json", env=env)
    assert removed.returncode == 0 and len(json.loads(removed.stdout)["removed"]) == 2
    empty = kura("status", "--json", env=env)
    assert json.loads(empty.stdout)["collections"] == []


def test_skipped_files_still_exit_zero(cli_env: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "ok.txt").write_text("The office opens at nine.")
    (folder / "bad.pdf").write_bytes(b"%PDF-1.7 truncated garbage")
    env = dict(cli_env, KURA_HOME=str(tmp_path / "home"))
    result = kura("add", str(folder), env=env)
    assert result.returncode == 0, result.stderr
    assert "bad.pdf" in result.stdout and "Skipped files (1)" in result.stdout


def test_adding_a_missing_folder_is_a_clear_error(cli_env: dict[str, str],
                                                  tmp_path: Path) -> None:
    env = dict(cli_env, KURA_HOME=str(tmp_path / "home"))
    result = kura("add", str(tmp_path / "nowhere"), env=env)
    assert result.returncode == 2 and "no such file or folder" in result.stderr


# -- kura status --documents ---------------------------------------------------------

DOC_KEYS = {"collection", "path", "state", "reason", "message", "chunks", "read_at",
            "embedded_at", "ocr"}


def _stored_library(root: Path) -> dict[str, Path]:
    """A library written through the store with stand-in vectors, so ``status --documents``
    (which needs no model) runs without one: Handbook has an embedded file, one read but
    not embedded, and a skipped one; Finance one embedded file."""
    from desktop_app.core.store import Database
    from tests.support.store import chunks, embed_pending

    folders = {"Handbook": root / "Handbook", "Finance": root / "Finance"}
    with Database(root / "home" / "library.sqlite3") as db:
        ids = {name: db.create_collection(name) for name in folders}
        for name, folder in folders.items():
            db.add_folder(ids[name], folder)
        hb = folders["Handbook"]
        db.replace_document(ids["Handbook"], hb / "leave.md", 1, 1, "h1", "markdown", "Leave",
                            chunks("leave one", "leave two", "leave three"))
        db.replace_document(ids["Finance"], folders["Finance"] / "报销.md", 1, 1, "h2",
                            "markdown", None, chunks("报销流程"))
        embed_pending(db)
        db.replace_document(ids["Handbook"], hb / "sub" / "vpn.md", 1, 1, "h3", "markdown",
                            None, chunks("vpn one", "vpn two"))
        db.upsert_skipped(ids["Handbook"], hb / "broken.docx", 3, 1, "corrupt",
                          "The file is damaged or not really a Word document.")
    return folders


def test_status_documents_json_lists_every_document(tmp_path: Path) -> None:
    folders = _stored_library(tmp_path)
    env = dict(os.environ, KURA_HOME=str(tmp_path / "home"))
    result = kura("status", "--documents", "--json", env=env)
    assert result.returncode == 0, result.stderr
    docs = json.loads(result.stdout)
    assert all(set(d) == DOC_KEYS for d in docs)
    hb, fin = folders["Handbook"], folders["Finance"]
    assert [(d["collection"], d["path"], d["state"], d["reason"], d["chunks"]) for d in docs] == [
        ("Finance", str(fin / "报销.md"), "embedded", None, 1),
        ("Handbook", str(hb / "broken.docx"), "skipped", "corrupt", 0),
        ("Handbook", str(hb / "leave.md"), "embedded", None, 3),
        ("Handbook", str(hb / "sub" / "vpn.md"), "parsed", None, 2),
    ]
    assert docs[1]["message"] == "The file is damaged or not really a Word document."
    for doc in docs:
        read = datetime.fromisoformat(doc["read_at"])
        assert read.tzinfo is not None and abs(time.time() - read.timestamp()) < 600
        assert (doc["embedded_at"] is not None) == (doc["state"] == "embedded")
        if doc["embedded_at"]:
            assert datetime.fromisoformat(doc["embedded_at"]) >= read.replace(microsecond=0)

    only = kura("status", "--documents", "--collection", "Finance", "--json", env=env)
    assert only.returncode == 0, only.stderr
    assert [d["path"] for d in json.loads(only.stdout)] == [str(fin / "报销.md")]
    implied = kura("status", "-c", "Handbook", "--json", env=env)  # -c implies --documents
    assert [d["collection"] for d in json.loads(implied.stdout)] == ["Handbook"] * 3


def test_status_documents_prints_a_table_per_collection(tmp_path: Path) -> None:
    _stored_library(tmp_path)
    env = dict(os.environ, KURA_HOME=str(tmp_path / "home"))
    result = kura("status", "--documents", env=env)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.index("Finance: 1 documents") < out.index("Handbook: 3 documents")
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith("    ")
            and not line.startswith("        ")}
    assert str(tmp_path) not in out  # paths are shown inside their collection's folder
    assert "read, not embedded" in rows[os.path.join("sub", "vpn.md")]
    assert " 2 " in rows[os.path.join("sub", "vpn.md")]
    assert "skipped (corrupt)" in rows["broken.docx"]
    assert "        The file is damaged or not really a Word document." in out
    local = time.strftime("%Y-%m-%d")
    assert rows["leave.md"].count(local) == 2  # read and embedded, in local time
    assert rows[os.path.join("sub", "vpn.md")].rstrip().endswith("-")  # never embedded


def test_status_documents_of_an_unknown_collection_is_a_user_error(tmp_path: Path) -> None:
    _stored_library(tmp_path)
    env = dict(os.environ, KURA_HOME=str(tmp_path / "home"))
    result = kura("status", "--documents", "--collection", "nope", "--json", env=env)
    assert result.returncode == 2
    assert "nope" in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""


@pytest.mark.slow
def test_status_documents_after_adding_good_broken_and_empty_files(
        cli_env: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    other = tmp_path / "other"
    for f in (folder, other):
        f.mkdir()
    long_note = "\n\n".join(f"## Rule {i}\n\n" + f"Rule {i} says expenses of type {i} need "
                            f"approval from manager {i} within {i + 3} days. " * 12
                            for i in range(8))
    (folder / "policy.md").write_text("# Policy\n\n" + long_note, encoding="utf-8")
    (folder / "hours.txt").write_text("The office opens at nine.", encoding="utf-8")
    (folder / "broken.docx").write_bytes(b"not a zip file at all")
    (folder / "empty.txt").write_bytes(b"")
    (other / "note.md").write_text("Parking is on level two.", encoding="utf-8")
    env = dict(cli_env, KURA_HOME=str(tmp_path / "home"))
    for f in (folder, other):
        added = kura("add", str(f), "--json", env=env)
        assert added.returncode == 0, added.stderr

    result = kura("status", "--documents", "--json", env=env)
    assert result.returncode == 0, result.stderr
    docs = {Path(d["path"]).name: d for d in json.loads(result.stdout)}
    assert set(docs) == {"policy.md", "hours.txt", "broken.docx", "empty.txt", "note.md"}
    assert {n: (d["state"], d["reason"]) for n, d in docs.items()} == {
        "policy.md": ("embedded", None), "hours.txt": ("embedded", None),
        "broken.docx": ("skipped", "corrupt"), "empty.txt": ("skipped", "empty"),
        "note.md": ("embedded", None)}
    assert docs["broken.docx"]["message"] and docs["empty.txt"]["message"]
    with sqlite3.connect(tmp_path / "home" / "library.sqlite3") as conn:
        stored = dict(conn.execute("SELECT d.path, count(c.id) FROM documents d "
                                   "LEFT JOIN chunks c ON c.document_id = d.id GROUP BY d.id"))
    assert {d["path"]: d["chunks"] for d in docs.values()} == stored
    assert docs["policy.md"]["chunks"] > 1 and docs["hours.txt"]["chunks"] == 1
    assert docs["empty.txt"]["chunks"] == 0
    assert all(d["read_at"] for d in docs.values())
    assert [n for n, d in sorted(docs.items()) if d["embedded_at"]] == [
        "hours.txt", "note.md", "policy.md"]

    only = kura("status", "--documents", "--collection", "mixed", "--json", env=env)
    assert sorted(Path(d["path"]).name for d in json.loads(only.stdout)) == [
        "broken.docx", "empty.txt", "hours.txt", "policy.md"]


# -- kura watch --json ---------------------------------------------------------------


def _lines(stream: IO[str]) -> queue.Queue[str]:
    """Lines of a child's output as they come, read on a thread (a test never blocks on
    a child that went quiet)."""
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in stream:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return lines


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="stops the watcher with SIGINT")
def test_watch_json_prints_one_object_per_sync(cli_env: dict[str, str],
                                               tmp_path: Path) -> None:
    folder = (tmp_path / "notes").resolve()
    folder.mkdir()
    (folder / "hours.md").write_text("The office opens at nine.", encoding="utf-8")
    env = dict(cli_env, KURA_HOME=str(tmp_path / "home"))
    assert kura("add", str(folder), "--json", env=env).returncode == 0
    proc = subprocess.Popen([sys.executable, "-m", "desktop_app.cli", "watch", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        out, err = _lines(proc.stdout), _lines(proc.stderr)  # type: ignore[arg-type]
        start = json.loads(out.get(timeout=120))  # the sync it starts with: nothing new
        assert start["collection"] is None and start["unchanged"] == 1
        assert start["new"] == start["changed"] == start["removed"] == []
        while "Watching for changes" not in err.get(timeout=60):
            pass  # from here on a change is seen
        (folder / "parking.md").write_text("Parking is on level two.", encoding="utf-8")
        (folder / "hours.md").unlink()
        # The two changes may land in one sync or in two (the watcher's debounce can
        # fall between them on a slow machine): one object per sync either way.
        new: list[str] = []
        removed: list[str] = []
        embedded = 0
        while not (new and removed):
            change = json.loads(out.get(timeout=120))
            assert change["collection"] == "notes" and change["skipped"] == []
            assert datetime.fromisoformat(change["finished_at"]).tzinfo is not None
            new += change["new"]
            removed += change["removed"]
            embedded += change["passages_embedded"]
        assert new == [str(folder / "parking.md")]
        assert removed == [str(folder / "hours.md")]
        assert embedded == 1
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    assert proc.returncode == 0
    assert out.empty()  # nothing but the two JSON lines on stdout


# -- Ctrl+C and exit codes, in this process ---------------------------------------------


def test_ctrl_c_in_add_exits_130_and_says_how_to_resume(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, closed_libraries: list[Library]) -> None:
    def add_until_ctrl_c(self: Library, paths: object, collection: object) -> Iterator[Progress]:
        yield Progress("scan", 0, 2, item=str(tmp_path))
        raise KeyboardInterrupt  # what Ctrl+C raises in the middle of a job

    monkeypatch.setattr(Library, "add", add_until_ctrl_c)
    result = CliRunner().invoke(cli, ["add", str(tmp_path)])
    assert result.exit_code == 130
    assert result.stderr.endswith("Stopped; run the same command again to resume.\n")
    assert "Aborted!" not in result.output
    assert len(closed_libraries) == 1


def test_an_unknown_collection_exits_2(closed_libraries: list[Library]) -> None:
    result = CliRunner().invoke(cli, ["sync", "--collection", "nope"])
    assert result.exit_code == 2
    assert result.stderr.startswith("kura: ") and "nope" in result.stderr
    assert len(closed_libraries) == 1


@pytest.mark.parametrize(("ctrl_c_during", "code"), [("the wait for changes", 0),
                                                      ("a sync", 130)])
def test_ctrl_c_ends_watch_with_0_unless_a_sync_was_running(
        ctrl_c_during: str, code: int, monkeypatch: pytest.MonkeyPatch) -> None:
    def sync(self: Library, collection: object) -> Iterator[Progress]:
        yield Progress("scan", 0, 1)
        if ctrl_c_during == "a sync":
            raise KeyboardInterrupt

    def watch_library(library: Library, collection: object, on_ready: Callable[[], None]
                      ) -> Iterator[object]:
        on_ready()
        raise KeyboardInterrupt
        yield  # a generator, like the real one

    monkeypatch.setattr(Library, "sync", sync)
    monkeypatch.setattr("desktop_app.core.watch.watch_library", watch_library)
    result = CliRunner().invoke(cli, ["watch", "--json"])
    assert result.exit_code == code
    assert ("Stopped; run the same command again to resume." in result.stderr) == bool(code)


def test_scans_are_found_by_kura_search_and_listed_with_their_ocr(
        cli_env: dict[str, str], tmp_path: Path) -> None:
    """The issue's check, through the command line: scans added, then found by a Chinese
    query; ``--no-ocr`` skips them with the reason; ``status --documents`` names OCR."""
    from tests.support.scans import (
        CHINESE,
        ENGLISH,
        render_pages,
        save_pdf,
        save_png,
        save_tiff,
    )

    folder = tmp_path / "scans"
    folder.mkdir()
    save_pdf(render_pages(ENGLISH[1:2], dpi=300, max_lines=6)
             + render_pages(CHINESE[2:3], dpi=300, max_lines=6), folder / "memo.pdf")
    save_png(render_pages(CHINESE[:1], dpi=200, max_lines=6)[0], folder / "notice.png")
    # scanned sideways and a little crooked, with scanner noise, as a two-page TIFF
    save_tiff(render_pages(ENGLISH[2:3], dpi=200, max_lines=5, rotation=90, skew=2.0,
                           noise=True)
              + render_pages(CHINESE[1:2], dpi=200, max_lines=5, rotation=270, skew=-2.0,
                             noise=True), folder / "sideways.tiff")

    skipped = kura("add", str(folder), "--no-ocr", "--json", env=cli_env)
    assert skipped.returncode == 0, skipped.stderr
    docs = json.loads(kura("status", "--documents", "--json", env=cli_env).stdout)
    assert {d["state"] for d in docs} == {"skipped"} and {d["reason"] for d in docs} == {
        "scanned"}

    added = kura("sync", "--json", env=cli_env)
    assert added.returncode == 0, added.stderr
    found = kura("search", "报销申请要在多少天内提交?", "--json", env=cli_env)
    assert found.returncode == 0, found.stderr
    top = json.loads(found.stdout)["results"][0]
    assert top["path"].endswith("memo.pdf") and top["page"] == 2
    sideways = json.loads(kura("search", "北楼供暖检修", "--json", env=cli_env).stdout)
    assert sideways["results"][0]["path"].endswith("sideways.tiff")
    assert sideways["results"][0]["page"] == 2
    docs = {Path(d["path"]).name: d for d in
            json.loads(kura("status", "--documents", "--json", env=cli_env).stdout)}
    assert docs["memo.pdf"]["ocr"]["pages"] == 2
    assert docs["memo.pdf"]["ocr"]["confidence"] > 0.9
    text = kura("status", "--documents", env=cli_env).stdout
    assert "2 pages" in text and "notice.png" in text

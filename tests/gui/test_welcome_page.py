"""The first launch: no model files → the welcome page; import from a folder (the real
embedder) or download (pause, resume, cancel) until the search model is ready."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog

from desktop_app.core.model_files import ModelsStatus
from desktop_app.core.model_files import catalog as catalog_module
from desktop_app.core.progress import format_bytes
from desktop_app.gui.jobs import ProgressView
from desktop_app.gui.models_controller import ModelsController
from desktop_app.gui.strings import tr
from desktop_app.gui.welcome_page import WelcomePage
from tests.support.model_server import ModelServer
from tests.support.toy_models import TOY_EMBEDDER, Toy, make_toy, source

TIMEOUT = 30_000
SLOW_FILE = "onnx/model.onnx_data"  # 3 MB of the toy embedder


def choose_folder(monkeypatch: pytest.MonkeyPatch, folder: Path | str) -> list[tuple]:
    calls: list[tuple] = []

    def fake(*args: object, **kwargs: object) -> str:
        calls.append(args)
        return str(folder)

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(fake))
    return calls


def test_without_model_files_the_window_opens_on_the_welcome_page(make_window, qtbot) -> None:
    window = make_window()
    window.show()
    with qtbot.waitSignal(window.models.status_changed, timeout=TIMEOUT) as got:
        window.start()
    status: ModelsStatus = got.args[0]
    assert not status.can_index and not status.can_answer
    assert window.pages.currentWidget() is window.welcome
    page = window.welcome
    assert page.role_labels["embedder"].text() == tr("welcome.missing")
    assert page.role_labels["llm"].text() == tr("welcome.missing")
    assert not page.continue_button.isEnabled()
    assert page.download_button.isEnabled() and page.import_button.isEnabled()
    assert page.pause_button.isHidden() and page.cancel_button.isHidden()


def test_importing_the_real_embedder_from_a_folder_makes_search_ready(
        make_window, qtbot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        embedder_dir: Path) -> None:
    usb = tmp_path / "usb" / "kura-models"  # one folder down, as on a stick
    usb.mkdir(parents=True)
    for file in embedder_dir.iterdir():
        (usb / file.name).symlink_to(file)
    calls = choose_folder(monkeypatch, usb.parent)
    window = make_window()
    window.show()
    with qtbot.waitSignal(window.models.status_changed, timeout=TIMEOUT):
        window.start()
    page = window.welcome
    assert window.pages.currentWidget() is page

    with qtbot.waitSignal(window.models.imported, timeout=TIMEOUT) as imported:
        page.import_button.click()
    assert len(calls) == 1
    report = imported.args[0]
    assert set(report.installed) == {"embedder"} and not report.rejected
    qtbot.waitUntil(lambda: window.models.status is not None
                    and window.models.status.can_index, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: page.continue_button.isEnabled(), timeout=TIMEOUT)
    assert page.role_labels["embedder"].text() == tr("welcome.ready")
    assert page.role_labels["llm"].text() == tr("welcome.missing")
    assert page.detail.text() == tr("welcome.can_index")
    assert page.download_button.isEnabled()  # the answer model is still missing
    assert window.library.can_index
    assert window.chat_panel.notice.text() == tr("ask.no_llm")

    page.continue_button.click()
    assert window.pages.currentWidget() is window.splitter


def test_an_import_that_finds_nothing_says_the_import_failed(
        qtbot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    empty = tmp_path / "empty-stick"
    empty.mkdir()
    choose_folder(monkeypatch, empty)
    models = ModelsController()
    page = WelcomePage(models)
    qtbot.addWidget(page)
    page.import_button.click()
    qtbot.waitUntil(lambda: "no model files found" in page.detail.text(), timeout=TIMEOUT)
    # Not "Download failed": nothing was downloaded.
    error = page.detail.text().split(": ", 1)[1]
    assert page.detail.text() == tr("welcome.import_failed", error=error)


def test_cancelling_the_folder_choice_imports_nothing(
        qtbot, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = choose_folder(monkeypatch, "")
    models = ModelsController()
    page = WelcomePage(models)
    qtbot.addWidget(page)
    with qtbot.assertNotEmitted(models.imported, wait=200), \
            qtbot.assertNotEmitted(models.failed, wait=200):
        page.import_button.click()
    assert len(calls) == 1


# -- downloading: a local server stands in for the hub ----------------------------------


@pytest.fixture
def toy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Toy]:
    """Fake: the hub cannot be reached here, so a local HTTP server serves model-like
    random files, and the shipped catalog is replaced by one that lists them."""
    server = ModelServer().start()
    toy = make_toy(server, tmp_path, pin=True)
    monkeypatch.setattr(catalog_module, "CATALOG_PATH", toy.catalog_path)
    yield toy
    server.stop()


@pytest.fixture
def page(qtbot, toy: Toy) -> WelcomePage:
    models = ModelsController()
    page = WelcomePage(models, mirror=toy.base)
    qtbot.addWidget(page)
    page.show()
    with qtbot.waitSignal(models.status_changed, timeout=TIMEOUT):
        models.check()
    assert not page.continue_button.isEnabled()
    return page


def slow_down(toy: Toy) -> None:
    """About a second for the 3 MB file, so there is time to press Pause."""
    toy.server.fault(source(SLOW_FILE), delay=0.02)


def mid_file(name: str) -> re.Pattern[str]:
    """The progress line of ``name`` partly downloaded (more than 0 B, fewer than all)."""
    total = format_bytes(TOY_EMBEDDER[name])
    return re.compile(rf"^{re.escape(name)}: \d+\.\d [KM]B of {re.escape(total)} · "
                      rf"\d+(\.\d)? [KM]?B/s · .+ left$")


def wait_mid_file(qtbot, page: WelcomePage, name: str) -> list[str]:
    """The embedder's progress texts, until ``name`` is partly downloaded."""
    texts: list[str] = []
    fractions: list[float | None] = []

    def record(role: str, view: ProgressView) -> None:
        if role == "embedder":
            texts.append(page.role_labels["embedder"].text())
            fractions.append(view.fraction if mid_file(name).match(view.text) else None)

    page.models.progress.connect(record)
    qtbot.waitUntil(lambda: any(f is not None and 0 < f < 1 for f in fractions),
                    timeout=TIMEOUT)
    return texts


def test_download_pause_resume(qtbot, page: WelcomePage, toy: Toy) -> None:
    slow_down(toy)
    models = page.models
    states: list[str] = []
    models.download_state.connect(states.append)
    page.download_button.click()
    assert states == ["running"] and models.downloading
    assert not page.download_button.isEnabled() and not page.import_button.isEnabled()
    assert page.pause_button.isVisible() and page.cancel_button.isVisible()

    texts = wait_mid_file(qtbot, page, SLOW_FILE)
    assert any(mid_file(SLOW_FILE).match(t) for t in texts), texts
    assert page.role_bars["embedder"].isVisible()
    assert 0 < page.role_bars["embedder"].value() < 1000

    with qtbot.waitSignal(models.status_changed, timeout=TIMEOUT) as after_pause:
        page.pause_button.click()
        qtbot.waitUntil(lambda: states[-1] == "paused", timeout=TIMEOUT)
    assert not models.downloading
    assert page.download_button.text() == tr("welcome.resume")
    assert page.download_button.isEnabled()
    assert page.pause_button.isHidden() and page.cancel_button.isHidden()
    assert page.detail.text() == tr("welcome.paused")
    status: ModelsStatus = after_pause.args[0]
    assert not status.can_index
    kept = {d.name: d.bytes_on_disk for d in status.downloads}
    assert 0 < kept[SLOW_FILE] < TOY_EMBEDDER[SLOW_FILE]  # the .part stays for resuming

    toy.server.heal()
    page.download_button.click()  # "Resume"
    qtbot.waitUntil(lambda: states[-1] == "done", timeout=TIMEOUT)
    qtbot.waitUntil(lambda: page.continue_button.isEnabled(), timeout=TIMEOUT)
    assert states == ["running", "paused", "running", "done"]
    assert models.status is not None and models.status.can_index and models.status.can_answer
    assert page.role_labels["embedder"].text() == tr("welcome.ready")
    assert page.role_labels["llm"].text() == tr("welcome.ready")
    assert page.download_button.text() == tr("welcome.download")
    assert not page.download_button.isEnabled()  # nothing left to download
    # Resumed with a Range request from where the pause left the file, not from zero.
    gets = toy.server.gets(source(SLOW_FILE))
    assert gets[-1].range_start == kept[SLOW_FILE]
    assert gets[-1].sent == TOY_EMBEDDER[SLOW_FILE] - kept[SLOW_FILE]


def test_download_cancel_keeps_what_was_downloaded(qtbot, page: WelcomePage, toy: Toy) -> None:
    slow_down(toy)
    models = page.models
    states: list[str] = []
    models.download_state.connect(states.append)
    page.download_button.click()
    wait_mid_file(qtbot, page, SLOW_FILE)
    with qtbot.waitSignal(models.status_changed, timeout=TIMEOUT) as after:
        page.cancel_button.click()
        qtbot.waitUntil(lambda: states[-1] == "cancelled", timeout=TIMEOUT)
    assert states == ["running", "cancelled"]
    assert page.detail.text() == tr("welcome.cancelled")
    assert page.download_button.text() == tr("welcome.download")
    assert page.download_button.isEnabled() and page.import_button.isEnabled()
    assert not after.args[0].can_index
    assert any(d.name == SLOW_FILE and d.bytes_on_disk > 0 for d in after.args[0].downloads)


def test_a_second_download_while_one_runs_is_ignored(qtbot, page: WelcomePage,
                                                     toy: Toy) -> None:
    slow_down(toy)
    models = page.models
    states: list[str] = []
    models.download_state.connect(states.append)
    models.download(toy.base)
    models.download(toy.base)
    qtbot.waitUntil(lambda: states[-1] == "done", timeout=TIMEOUT)
    assert states == ["running", "done"]
    assert len(toy.server.gets(source(SLOW_FILE))) == 1


def test_a_download_that_is_not_the_model_says_so_in_a_sentence(
        qtbot, page: WelcomePage, toy: Toy, tmp_path: Path) -> None:
    """The answer model's server sends a GGUF of another architecture (and vouches for
    it): the search model is installed, the answer model is not, and the page says why."""
    import json
    from dataclasses import replace

    from tests.support.model_like import TINY, shipped_expect, write_gguf

    data = json.loads(toy.catalog_path.read_text())
    (llm,) = next(b for b in data["bundles"] if b["role"] == "llm")["files"]
    llm.update(size=None, sha256=None,
               expect=shipped_expect("llm", "gemma-3-4b-it-Q4_K_M.gguf"))
    toy.catalog_path.write_text(json.dumps(data))
    wrong = write_gguf(tmp_path / "wrong.gguf", replace(TINY, arch="llama"))
    toy.server.add(source(llm["name"]), wrong.read_bytes())

    states: list[str] = []
    page.models.download_state.connect(states.append)
    page.download_button.click()
    qtbot.waitUntil(lambda: states[-1] == "failed", timeout=TIMEOUT)
    qtbot.waitUntil(lambda: page.models.status is not None
                    and page.models.status.can_index, timeout=TIMEOUT)
    detail = page.detail.text()
    assert detail.startswith("Download failed: ")
    assert "This is not a Gemma 3 4B model file (architecture: llama)." in detail
    assert detail.endswith(tr("welcome.can_index"))  # and documents can be added meanwhile
    assert not page.models.status.can_answer
    assert page.role_labels["llm"].text() == tr("welcome.missing")
    assert page.download_button.isEnabled()  # try again: it downloads the file afresh

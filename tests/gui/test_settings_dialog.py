"""The settings dialog shows the preferences, returns them validated, and the window saves
them to settings.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtWidgets import QDialogButtonBox

from desktop_app.core.preferences import Preferences, load_preferences, preferences_path
from desktop_app.gui.settings_dialog import SettingsDialog

TIMEOUT = 15_000

CUSTOM = Preferences(threads=1, max_answer_tokens=256, passages_k=5, decline_below=0.4,
                     index_dim=256, theme="dark", language="zh_CN",
                     mirror="https://hf-mirror.com", watch_folders=False)


def ok_button(dialog: SettingsDialog):
    box = dialog.findChild(QDialogButtonBox)
    return box.button(QDialogButtonBox.StandardButton.Ok)


def test_the_dialog_shows_the_current_preferences(qtbot) -> None:
    dialog = SettingsDialog(CUSTOM, None)
    qtbot.addWidget(dialog)
    assert dialog.threads.value() == 1
    assert dialog.answer_tokens.value() == 256
    assert dialog.passages.value() == 5
    assert dialog.threshold.value() == pytest.approx(0.4)
    assert dialog.dims.currentData() == 256
    assert dialog.theme.currentData() == "dark"
    assert dialog.language.currentData() == "zh_CN"
    assert dialog.mirror.text() == "https://hf-mirror.com"
    assert not dialog.watch.isChecked()
    assert dialog.preferences() == CUSTOM  # untouched: the same preferences back


def test_the_defaults_round_trip(qtbot) -> None:
    dialog = SettingsDialog(Preferences(), None)
    qtbot.addWidget(dialog)
    assert dialog.preferences() == Preferences()
    assert dialog.watch.isChecked() and dialog.theme.currentData() == "system"


def test_changed_fields_come_back_validated(qtbot) -> None:
    dialog = SettingsDialog(Preferences(), None)
    qtbot.addWidget(dialog)
    dialog.answer_tokens.setValue(1024)
    dialog.passages.setValue(12)
    dialog.threshold.setValue(0.555)  # two decimals
    dialog.dims.setCurrentIndex(dialog.dims.findData(128))
    dialog.theme.setCurrentIndex(dialog.theme.findData("light"))
    dialog.language.setCurrentIndex(dialog.language.findData("en"))
    dialog.watch.setChecked(False)
    dialog.mirror.setText("  https://hf-mirror.com/  ")
    prefs = dialog.preferences()
    assert prefs == Preferences(max_answer_tokens=1024, passages_k=12, decline_below=0.56,
                                index_dim=128, theme="light", language="en",
                                watch_folders=False, mirror="https://hf-mirror.com")
    assert prefs == prefs.validated()


def test_a_mirror_that_is_not_a_url_is_dropped(qtbot) -> None:
    dialog = SettingsDialog(Preferences(), None)
    qtbot.addWidget(dialog)
    dialog.mirror.setText("hf-mirror dot com")
    assert dialog.preferences().mirror == ""


def test_the_spin_boxes_cannot_leave_the_allowed_ranges(qtbot) -> None:
    dialog = SettingsDialog(Preferences(), None)
    qtbot.addWidget(dialog)
    dialog.answer_tokens.setValue(100_000)
    dialog.passages.setValue(0)
    dialog.threshold.setValue(3.0)
    prefs = dialog.preferences()
    assert (prefs.max_answer_tokens, prefs.passages_k, prefs.decline_below) == (2048, 1, 1.0)


def test_the_models_button_asks_for_the_models_page(qtbot) -> None:
    dialog = SettingsDialog(Preferences(), None)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.models_clicked), qtbot.waitSignal(dialog.rejected):
        dialog.models_button.click()


def test_open_settings_and_ok_saves_settings_json(make_window, qtbot) -> None:
    window = make_window()
    assert not preferences_path().exists()
    dialog = window.open_settings()
    assert dialog.isVisible()
    dialog.passages.setValue(3)
    dialog.answer_tokens.setValue(640)
    dialog.theme.setCurrentIndex(dialog.theme.findData("dark"))
    dialog.mirror.setText("https://hf-mirror.com")
    ok_button(dialog).click()
    assert not dialog.isVisible()
    saved = load_preferences()
    assert saved == Preferences(passages_k=3, max_answer_tokens=640, theme="dark",
                                mirror="https://hf-mirror.com")
    assert window.preferences == saved
    assert json.loads(preferences_path().read_text("utf-8"))["passages_k"] == 3


def test_cancel_saves_nothing(make_window, qtbot) -> None:
    window = make_window()
    dialog = window.open_settings()
    dialog.passages.setValue(3)
    dialog.reject()
    assert not preferences_path().exists()
    assert window.preferences == Preferences()


def test_the_models_button_in_settings_shows_the_welcome_page(make_window, qtbot) -> None:
    window = make_window()
    assert window.pages.currentWidget() is window.splitter
    window.open_settings().models_button.click()
    assert window.pages.currentWidget() is window.welcome


def test_answer_settings_apply_to_the_next_question_without_a_restart(
        make_window, qtbot) -> None:
    """Answer length, passages and the threshold carry no "after a restart" note (only
    dimensions and language do), so the next answer must use the saved values."""
    window = make_window()
    with qtbot.waitSignal(window.library.opened, timeout=TIMEOUT):
        window.library.open()
    dialog = window.open_settings()
    dialog.passages.setValue(3)
    dialog.answer_tokens.setValue(640)
    dialog.threshold.setValue(0.7)
    ok_button(dialog).click()
    assert load_preferences().passages_k == 3
    answerer = window.chats.answerer
    assert answerer is not None
    assert (answerer.settings.passages_k, answerer.settings.max_answer_tokens,
            answerer.settings.decline_below) == (3, 640, 0.7)


def test_reading_scans_can_be_turned_off_and_applies_to_the_next_files(
        make_window, qtbot) -> None:
    """Settings → Scanned documents: saved, and the open library reads the next files
    with it (no restart); turned back on, a sync reads the scans skipped meanwhile."""
    window = make_window()
    with qtbot.waitSignal(window.library.opened, timeout=TIMEOUT):
        window.library.open()
    dialog = window.open_settings()
    assert dialog.ocr.isChecked()
    dialog.ocr.setChecked(False)
    ok_button(dialog).click()
    assert load_preferences().ocr is False
    assert window.library.library is not None
    assert window.library.library.settings.ocr is False
    synced: list[str | None] = []
    window.library.sync = lambda collection=None: synced.append(collection)  # type: ignore[method-assign]
    window.library._can_index = True
    dialog = window.open_settings()
    dialog.ocr.setChecked(True)
    ok_button(dialog).click()
    assert window.library.library.settings.ocr is True and synced == [None]


def test_the_sidebars_watch_switch_is_saved_like_the_settings_one(make_window, qtbot) -> None:
    """The same preference in two places: turning watching off in the sidebar must be
    remembered (settings.json) and shown by the settings dialog."""
    window = make_window()
    window.library_panel.watch_box.setChecked(False)
    assert not window.library.preferences.watch_folders
    assert not window.open_settings().watch.isChecked()
    assert load_preferences().watch_folders is False


def test_a_new_data_location_is_remembered_for_the_next_start(
    qtbot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from PySide6.QtWidgets import QFileDialog

    from desktop_app.core import paths
    from desktop_app.core.preferences import Preferences
    from desktop_app.gui.settings_dialog import SettingsDialog

    target = tmp_path / "usb" / "Kura"
    target.mkdir(parents=True)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        staticmethod(lambda *_a, **_k: str(target)))
    dialog = SettingsDialog(Preferences(), None)
    qtbot.addWidget(dialog)
    dialog.change_data.click()
    assert str(target) in dialog.data_label.text()
    assert paths.chosen_data_dir() is None  # not before OK
    dialog.apply_data_location()
    assert paths.chosen_data_dir() == target.resolve()


def _models_status(tmp_path: Path):
    from desktop_app.core.model_files import FileStatus, ModelsStatus, RoleStatus

    folder = tmp_path / "embedder"
    embedder = RoleStatus("embedder", folder, "embedder-fp32", (
        FileStatus("embedder", "model.onnx", folder / "model.onnx", "verified",
                   verification="checked"),
        FileStatus("embedder", "tokenizer.json", folder / "tokenizer.json", "verified",
                   verification="pinned"),
        FileStatus("embedder", "model.onnx.data", folder / "model.onnx.data", "verified",
                   verification="checked")))
    gguf = tmp_path / "gemma-3-4b-it-Q4_K_M.gguf"
    llm = RoleStatus("llm", gguf, "llm", (
        FileStatus("llm", gguf.name, gguf, "verified", verification="pinned"),))
    return ModelsStatus(embedder, llm)


def test_the_models_section_says_how_each_file_was_verified(qtbot, tmp_path: Path) -> None:
    dialog = SettingsDialog(Preferences(), _models_status(tmp_path))
    qtbot.addWidget(dialog)
    assert dialog.verification_labels["embedder"].text().splitlines() == [
        "tokenizer.json: verified against a pinned checksum",
        "model.onnx, model.onnx.data: checked on first use (no published checksum pinned)"]
    assert dialog.verification_labels["llm"].text() == (
        "gemma-3-4b-it-Q4_K_M.gguf: verified against a pinned checksum")


def test_the_models_section_says_it_in_chinese_too(qtbot, tmp_path: Path) -> None:
    from desktop_app.gui import strings

    strings.set_language("zh_CN")
    dialog = SettingsDialog(Preferences(), _models_status(tmp_path))
    qtbot.addWidget(dialog)
    assert "model.onnx, model.onnx.data：首次使用时已检查" in \
        dialog.verification_labels["embedder"].text()


def test_the_answer_server_is_off_by_default_and_round_trips(qtbot) -> None:
    dialog = SettingsDialog(Preferences(), None)
    qtbot.addWidget(dialog)
    assert not dialog.remote_enabled.isChecked() and not dialog.remote_url.isEnabled()
    assert dialog.remote_problem.isHidden()
    dialog.remote_enabled.setChecked(True)
    assert dialog.remote_url.isEnabled()
    dialog.remote_url.setText("  192.168.1.20:8080/v1 ")
    on = dialog.preferences()
    assert (on.remote_llm_enabled, on.remote_llm_url) == (True, "http://192.168.1.20:8080")
    assert on.remote_llm() == "http://192.168.1.20:8080" == on.llm_settings().remote_url
    dialog.remote_enabled.setChecked(False)  # off again: the address is kept for later
    off = dialog.preferences()
    assert not off.remote_llm_enabled and off.remote_llm_url == "http://192.168.1.20:8080"
    assert off.remote_llm() is None and off.llm_settings().remote_url is None

    shown = SettingsDialog(on, None)
    qtbot.addWidget(shown)
    assert shown.remote_enabled.isChecked() and shown.remote_url.isEnabled()
    assert shown.remote_url.text() == "http://192.168.1.20:8080"
    assert shown.preferences() == on


def test_an_address_kura_cannot_use_is_explained_and_not_saved(qtbot) -> None:
    dialog = SettingsDialog(Preferences(), None)
    qtbot.addWidget(dialog)
    dialog.remote_enabled.setChecked(True)
    dialog.remote_url.setText("http://me:secret@gpu-box:8080")
    assert not dialog.remote_problem.isHidden()
    assert "user name or password" in dialog.remote_problem.text()
    prefs = dialog.preferences()
    assert not prefs.remote_llm_enabled and prefs.remote_llm() is None
    dialog.remote_url.setText("http://gpu-box:8080")
    assert dialog.remote_problem.isHidden()


def test_the_window_names_the_answer_server_and_turning_it_off_stops_at_once(
        make_window, qtbot) -> None:
    from desktop_app.core.model_files.offline import network_policy, restricted_network

    on = Preferences(remote_llm_enabled=True, remote_llm_url="http://192.168.1.20:8080")
    # As kura-app starts: the policy from the saved preferences, then the window.
    with restricted_network(on.remote_llm()):
        window = make_window(on)
        assert window.network_label.isVisibleTo(window)
        assert window.network_label.text() == "Answers are written on 192.168.1.20:8080"
        dialog = window.open_settings()
        assert dialog.remote_enabled.isChecked()
        dialog.remote_enabled.setChecked(False)
        ok_button(dialog).click()
        policy = network_policy()
        assert policy is not None and policy.remote is None  # nothing more is sent
        assert not window.network_label.isVisibleTo(window)
        assert load_preferences().remote_llm() is None
    off = make_window()
    assert not off.network_label.isVisibleTo(off)

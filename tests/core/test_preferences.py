"""The user's settings: saved atomically, loaded forgivingly, always in range."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest

from desktop_app.core.paths import data_dir, default_threads
from desktop_app.core.preferences import (
    Preferences,
    load_preferences,
    preferences_path,
    save_preferences,
)
from desktop_app.core.relevance import DECLINE_BELOW

CUSTOM = Preferences(threads=1, max_answer_tokens=256, passages_k=5, decline_below=0.3,
                     index_dim=256, theme="dark", language="zh_CN",
                     mirror="https://hf-mirror.com", watch_folders=False)


def test_defaults_when_there_is_no_file() -> None:
    assert preferences_path() == data_dir() / "settings.json"
    assert not preferences_path().exists()
    assert load_preferences() == Preferences()
    assert Preferences().decline_below == DECLINE_BELOW


def test_saved_preferences_load_back() -> None:
    save_preferences(CUSTOM)
    assert load_preferences() == CUSTOM
    assert json.loads(preferences_path().read_text("utf-8"))["version"] == 1
    assert [p.name for p in preferences_path().parent.iterdir()] == ["settings.json"]


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b"\xff\xfe\x00", b""])
def test_a_damaged_file_gives_the_defaults(content: bytes) -> None:
    preferences_path().write_bytes(content)
    assert load_preferences() == Preferences()


def test_unknown_keys_and_wrong_types_cost_only_their_field(tmp_path: Path) -> None:
    path = tmp_path / "prefs.json"
    path.write_text(json.dumps({
        "future_option": 3,
        "threads": True,  # a bool is not a thread count
        "passages_k": "12",
        "max_answer_tokens": 300,
        "decline_below": 1,  # an int where a float is expected is fine
        "theme": "dark",
        "watch_folders": "no",
    }), "utf-8")
    prefs = load_preferences(path)
    assert prefs == Preferences(max_answer_tokens=300, decline_below=1.0, theme="dark")
    assert isinstance(prefs.decline_below, float)


def test_out_of_range_values_are_clamped_or_reset() -> None:
    cpus = default_threads()
    wild = Preferences(threads=10_000, max_answer_tokens=5, passages_k=99,
                       decline_below=-0.5, index_dim=300, theme="purple",  # type: ignore[arg-type]
                       language="fr", mirror="ftp://files.example")  # type: ignore[arg-type]
    assert wild.validated() == Preferences(threads=cpus, max_answer_tokens=64, passages_k=20,
                                           decline_below=0.0)
    assert Preferences(threads=-2, max_answer_tokens=10**6, passages_k=0,
                       decline_below=7.0).validated() == Preferences(
        threads=0, max_answer_tokens=2048, passages_k=1, decline_below=1.0)
    assert Preferences(decline_below=math.nan).validated().decline_below == DECLINE_BELOW
    assert Preferences(mirror=" https://hf-mirror.com/ ").validated().mirror == \
        "https://hf-mirror.com"
    for dim in (768, 512, 256, 128):
        assert Preferences(index_dim=dim).validated().index_dim == dim


def test_a_saved_bad_value_loads_in_range() -> None:
    save_preferences(Preferences(passages_k=500))
    assert load_preferences().passages_k == 20


def test_settings_objects_carry_the_preferences() -> None:
    assert CUSTOM.library_settings().index_dim == 256
    answer = CUSTOM.answer_settings()
    assert (answer.passages_k, answer.max_answer_tokens, answer.decline_below) == (5, 256, 0.3)
    llm = CUSTOM.llm_settings()
    assert (llm.threads, llm.batch_threads) == (1, 1)
    assert CUSTOM.embedder_threads() == 1


def test_automatic_threads_leave_the_machine_defaults() -> None:
    from desktop_app.core.answer.settings import LLMSettings

    auto = Preferences()
    assert auto.embedder_threads() is None
    assert auto.llm_settings() == LLMSettings()


def test_a_failed_save_keeps_the_previous_file(monkeypatch: pytest.MonkeyPatch) -> None:
    save_preferences(CUSTOM)

    def crash(src: object, dst: object) -> None:
        raise OSError("disk full")

    with monkeypatch.context() as patch:  # not .undo(): that would restore KURA_HOME too
        patch.setattr(os, "replace", crash)
        with pytest.raises(OSError):
            save_preferences(Preferences())
    assert load_preferences() == CUSTOM


def test_the_answer_server_is_off_by_default_and_saved_when_on() -> None:
    assert Preferences().remote_llm() is None and not Preferences().remote_llm_enabled
    on = Preferences(remote_llm_enabled=True, remote_llm_url="http://gpu-box:8080#gemma3:4b")
    save_preferences(on)
    assert load_preferences() == on
    assert load_preferences().remote_llm() == "http://gpu-box:8080#gemma3:4b"
    assert on.llm_settings().remote_url == "http://gpu-box:8080#gemma3:4b"
    assert Preferences(threads=1, remote_llm_enabled=True,
                       remote_llm_url="gpu-box:8080").validated().llm_settings().remote_url \
        == "http://gpu-box:8080"


@pytest.mark.parametrize(("enabled", "url"), [
    (True, "ftp://gpu-box"),  # not an address Kura can use: the option is off
    (True, ""),
    ("yes", "http://gpu-box:8080"),  # the wrong type: the default (off)
    (True, 8080),
])
def test_an_answer_server_setting_kura_cannot_use_turns_it_off(
        tmp_path: Path, enabled: object, url: object) -> None:
    path = tmp_path / "prefs.json"
    path.write_text(json.dumps({"remote_llm_enabled": enabled, "remote_llm_url": url,
                                "passages_k": 5}), "utf-8")
    prefs = load_preferences(path)
    assert prefs.remote_llm() is None and not prefs.remote_llm_enabled
    assert prefs.passages_k == 5  # the rest is kept

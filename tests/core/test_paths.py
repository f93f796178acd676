from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from desktop_app.core import paths


def test_data_dir_follows_kura_home_and_is_private(private_user_dirs: Path) -> None:
    path = paths.data_dir()
    assert path == private_user_dirs
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o700


def test_existing_data_dir_is_made_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o755)
    monkeypatch.setenv("KURA_HOME", str(loose))
    paths.data_dir()
    if os.name == "posix":
        assert stat.S_IMODE(loose.stat().st_mode) == 0o700


def test_default_data_dir_comes_from_platformdirs(monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    monkeypatch.delenv("KURA_HOME")
    # XDG_DATA_HOME (set to tmp by the autouse fixture) is where platformdirs looks on Linux.
    path = paths.data_dir()
    assert path.name == "Kura"
    assert str(path).startswith(str(tmp_path))


def test_models_live_in_the_data_dir(private_user_dirs: Path) -> None:
    assert paths.embedder_dir().parent == private_user_dirs / "models"


def test_embedder_dir_can_be_pointed_elsewhere(monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    monkeypatch.setenv("KURA_EMBEDDER_DIR", str(tmp_path / "artifact"))
    assert paths.embedder_dir() == tmp_path / "artifact"


def test_a_chosen_data_location_is_used_from_the_next_start(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("KURA_HOME")
    default = paths.data_dir()
    chosen = tmp_path / "external drive" / "Kura"
    paths.set_data_location(chosen)
    assert paths.data_location_file().parent != default  # remembered outside the data
    assert paths.data_dir() == chosen.resolve()
    assert chosen.is_dir()
    if os.name == "posix":
        assert stat.S_IMODE(chosen.stat().st_mode) == 0o700
    paths.set_data_location(None)
    assert paths.data_dir() == default
    assert not paths.data_location_file().exists()


def test_kura_home_wins_over_a_chosen_location(tmp_path: Path,
                                               private_user_dirs: Path) -> None:
    paths.set_data_location(tmp_path / "elsewhere")
    assert paths.data_dir() == private_user_dirs


def test_kura_llm_path_names_the_users_own_gguf(monkeypatch: pytest.MonkeyPatch,
                                                private_user_dirs: Path) -> None:
    monkeypatch.delenv("KURA_LLM_PATH", raising=False)
    assert paths.llm_path_override() is None
    assert paths.llm_target("model.gguf") == private_user_dirs / "models" / "model.gguf"
    monkeypatch.setenv("KURA_LLM_PATH", "~/own.gguf")
    assert paths.llm_target("model.gguf") == Path("~/own.gguf").expanduser()


def test_default_threads_share_the_cpus_and_never_drop_to_zero() -> None:
    every = paths.default_threads()
    assert every >= 1
    assert paths.default_threads(0.5) == max(1, every // 2)
    assert paths.default_threads(0.01) == 1

"""The log file: where it goes, what it holds, that it rotates and never stacks."""

from __future__ import annotations

import faulthandler
import logging
import os
import sys
from collections.abc import Iterator
from logging.handlers import RotatingFileHandler
from pathlib import Path

import pytest

from desktop_app.core import logs
from desktop_app.core.paths import data_dir


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    yield
    logs.close_logging()
    root.setLevel(level)
    if not faulthandler.is_enabled():
        faulthandler.enable(sys.stderr)  # pytest's own set-up


def _kura_handlers() -> list[logging.Handler]:
    return [h for h in logging.getLogger().handlers if isinstance(h, RotatingFileHandler)]


def test_logs_go_to_the_data_dir(private_user_dirs: Path) -> None:
    path = logs.setup_logging(data_dir(), faults=False)
    assert path == private_user_dirs / "logs" / "kura.log"
    assert logs.current_log_path() == path
    logging.getLogger("kura.library").info("indexed %d files", 3)
    logging.getLogger("some.library").warning("a third-party warning")
    logging.getLogger("kura.noise").debug("not at INFO")
    text = path.read_text(encoding="utf-8")
    assert "INFO    kura.library [MainThread] indexed 3 files" in text
    assert "a third-party warning" in text
    assert "not at INFO" not in text
    if os.name == "posix":
        assert path.stat().st_mode & 0o777 == 0o600
        assert path.parent.stat().st_mode & 0o777 == 0o700


def test_rotates_at_a_few_megabytes(tmp_path: Path) -> None:
    logs.setup_logging(tmp_path, faults=False)
    (handler,) = _kura_handlers()
    assert isinstance(handler, RotatingFileHandler)
    assert 1_000_000 <= handler.maxBytes <= 10_000_000
    assert handler.backupCount >= 1
    line = "x" * 1000
    for _ in range(int(handler.maxBytes / 1000) + 50):
        logging.getLogger("kura.test").info(line)
    assert (tmp_path / "logs" / "kura.log.1").exists()
    assert (tmp_path / "logs" / "kura.log").stat().st_size < handler.maxBytes


def test_a_second_setup_replaces_the_handler(tmp_path: Path) -> None:
    first = logs.setup_logging(tmp_path / "one", faults=False)
    second = logs.setup_logging(tmp_path / "two", faults=False)
    assert len(_kura_handlers()) == 1
    logging.getLogger("kura").warning("only in the second")
    assert "only in the second" in second.read_text(encoding="utf-8")
    assert "only in the second" not in first.read_text(encoding="utf-8")
    logs.close_logging()
    assert _kura_handlers() == []
    assert logs.current_log_path() is None


def test_level_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KURA_LOG_LEVEL", "debug")
    path = logs.setup_logging(tmp_path, faults=False)
    logging.getLogger("kura.llama").debug("llama.cpp says hello")
    assert "llama.cpp says hello" in path.read_text(encoding="utf-8")
    monkeypatch.setenv("KURA_LOG_LEVEL", "nonsense")
    logs.setup_logging(tmp_path, faults=False)
    assert logging.getLogger().level == logging.INFO


def test_startup_block_and_uncaught_exceptions(tmp_path: Path) -> None:
    path = logs.setup_logging(tmp_path, faults=False)
    logs.log_startup(["kura-app"], data=tmp_path)
    try:
        raise ValueError("the index is gone")
    except ValueError as exc:
        logs.log_exception(exc, "the GUI thread")
    text = path.read_text(encoding="utf-8")
    assert "Kura 0.1.0 starting (from source)" in text
    assert f"data: {tmp_path}" in text
    assert "CRITICAL kura [MainThread] Uncaught exception in the GUI thread" in text
    assert "Traceback (most recent call last)" in text
    assert "ValueError: the index is gone" in text


def test_warnings_are_logged(tmp_path: Path) -> None:
    import warnings

    path = logs.setup_logging(tmp_path, faults=False)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("deprecated thing", DeprecationWarning, stacklevel=1)
    assert "deprecated thing" in path.read_text(encoding="utf-8")


def test_native_crashes_have_a_file(tmp_path: Path) -> None:
    logs.setup_logging(tmp_path, faults=True)
    assert faulthandler.is_enabled()
    assert (tmp_path / "logs" / "faults.log").exists()
    logs.close_logging()
    assert not faulthandler.is_enabled()


def test_unwritable_data_dir_raises(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(OSError):
        logs.setup_logging(blocker, faults=False)

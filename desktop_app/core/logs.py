"""Kura's log file: ``<data dir>/logs/kura.log``, rotated at a few MB.

The window calls ``setup_logging`` before anything else, so start-up, every library's
warnings and uncaught exceptions land in one file a person can send along with a bug
report (the error dialog names it). The data dir is private (mode 0700), and so is
the log: it may name the user's documents.

``faulthandler`` writes to ``faults.log`` beside it: a crash in native code (Qt,
llama.cpp, onnxruntime) leaves the Python stack of every thread there instead of
nothing at all, which is what a double-clicked app without a terminal would leave.
"""

from __future__ import annotations

import faulthandler
import logging
import os
import platform
import sys
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import IO, Any

from desktop_app.core.paths import log_level_setting

LOG_DIRNAME = "logs"
LOG_FILENAME = "kura.log"
FAULTS_FILENAME = "faults.log"
MAX_BYTES = 2 * 1024 * 1024
BACKUP_COUNT = 3  # kura.log.1 … .3: at most 8 MB in all
FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(threadName)s] %(message)s"

_log = logging.getLogger("kura")
_handler: RotatingFileHandler | None = None
_faults: IO[str] | None = None


def log_dir(data_dir: Path) -> Path:
    return data_dir / LOG_DIRNAME


def log_path(data_dir: Path) -> Path:
    return log_dir(data_dir) / LOG_FILENAME


def current_log_path() -> Path | None:
    """The file ``setup_logging`` writes to, or None before it was called."""
    return Path(_handler.baseFilename) if _handler is not None else None


def setup_logging(data_dir: Path, level: int | str | None = None, faults: bool = True) -> Path:
    """Send every logger's records (INFO and up; ``KURA_LOG_LEVEL`` or ``level``
    changes that) to ``<data_dir>/logs/kura.log``; returns that path. ``faults``: also
    point ``faulthandler`` at ``faults.log`` (off in tests: pytest has its own).

    Calling it again replaces the handler (another data dir, as tests do); it never
    stacks a second one. Raises OSError when the folder cannot be written.
    """
    folder = log_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / LOG_FILENAME
    handler = RotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT,
                                  encoding="utf-8")
    handler.setFormatter(logging.Formatter(FORMAT))
    if os.name == "posix":
        path.chmod(0o600)
    close_logging()
    global _handler, _faults
    _handler = handler
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(_level(level))
    logging.captureWarnings(True)
    if not faults:
        return path
    try:
        _faults = open(folder / FAULTS_FILENAME, "a", encoding="utf-8")  # noqa: SIM115
        faulthandler.enable(_faults, all_threads=True)
    except (OSError, RuntimeError, ValueError):
        _faults = None
    return path


def close_logging() -> None:
    """Detach and close the log file (and the fault log); logging goes back to Python's
    defaults."""
    global _handler, _faults
    if _handler is not None:
        logging.getLogger().removeHandler(_handler)
        _handler.close()
        _handler = None
    if _faults is not None:
        if faulthandler.is_enabled():
            faulthandler.disable()
        _faults.close()
        _faults = None
    logging.captureWarnings(False)


def log_startup(argv: list[str] | None = None, **extra: Any) -> None:
    """One block at the top of every run: what runs where, for bug reports."""
    from desktop_app import __version__

    frozen = getattr(sys, "frozen", False)
    _log.info("Kura %s starting (%s); Python %s on %s %s; argv %s", __version__,
              "packaged" if frozen else "from source", platform.python_version(),
              platform.platform(), platform.machine(), argv if argv is not None else sys.argv)
    for key, value in extra.items():
        _log.info("%s: %s", key, value)


def log_exception(exc: BaseException, where: str) -> None:
    """An exception nothing else handled, with its traceback."""
    _log.critical("Uncaught exception in %s", where,
                  exc_info=(type(exc), exc, exc.__traceback__))


def _level(level: int | str | None) -> int:
    wanted = level if level is not None else log_level_setting() or "INFO"
    if isinstance(wanted, int):
        return wanted
    value = logging.getLevelName(wanted.strip().upper())
    return value if isinstance(value, int) else logging.INFO

"""The folders Kura keeps its data in, the ``KURA_*`` environment variables, and how many
threads a job gets: each read here and only here.

The data directory is platformdirs' ``user_data_dir("Kura")`` unless the user moved it
(Settings → Data location, kept in a one-line file in ``user_config_dir("Kura")``, read
at start-up) or ``KURA_HOME`` says otherwise (tests point it at a temporary folder). It is
created readable by the user only: it holds the text of their private documents. Inside
it: ``library.sqlite3`` and ``index/`` (``library.py``), ``chats/`` (``chats.py``),
``settings.json`` (``preferences.py``), ``logs/`` (``logs.py``) and ``models/`` (below;
its downloads and state file: ``model_files/locations.py``).

The environment variables (elsewhere only: ``KURA_BUILD_CACHE`` of the build tooling, in
``models/build_cache.py``; the hub's own ``HF_ENDPOINT``, in ``model_files/mirror.py``;
``KURA_ASSETS`` of the window's style sheets, in ``gui/theme.py``):

- ``KURA_HOME``: the data directory;
- ``KURA_EMBEDDER_DIR``: the embedder's folder, e.g. an artifact in the build cache;
- ``KURA_LLM_PATH``: the user's own GGUF instead of the catalog's answer model;
- ``KURA_REMOTE_LLM``: the command line writes answers with this server on the user's
  network (``answer/remote.py``; the window has its own setting);
- ``KURA_LOG_LEVEL``: the log file's level (INFO unless set).
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_config_dir, user_data_dir

from desktop_app.core.fileio import write_atomically

APP_NAME = "Kura"
EMBEDDER_DIRNAME = "embeddinggemma-300m"

HOME_ENV = "KURA_HOME"
EMBEDDER_DIR_ENV = "KURA_EMBEDDER_DIR"
LLM_PATH_ENV = "KURA_LLM_PATH"
LOG_LEVEL_ENV = "KURA_LOG_LEVEL"
REMOTE_LLM_ENV = "KURA_REMOTE_LLM"


def default_data_dir() -> Path:
    return Path(user_data_dir(APP_NAME, False))


def data_location_file() -> Path:
    """Where a chosen data location is remembered: outside the data dir, by design."""
    return Path(user_config_dir(APP_NAME, False)) / "data-location"


def chosen_data_dir() -> Path | None:
    try:
        text = data_location_file().read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return Path(text).expanduser() if text else None


def set_data_location(path: Path | None) -> None:
    """Use ``path`` as the data dir from the next start (None: back to the default).
    Nothing is moved: an existing Kura folder there is used as it is."""
    target = data_location_file()
    if path is None or Path(path).expanduser() == default_data_dir():
        target.unlink(missing_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(target, f"{Path(path).expanduser().resolve()}\n".encode())


def data_dir() -> Path:
    override = os.environ.get(HOME_ENV)
    path = Path(override).expanduser() if override else chosen_data_dir() or default_data_dir()
    _make_private_dir(path)
    return path


def models_dir() -> Path:
    path = data_dir() / "models"
    _make_private_dir(path)
    return path


def embedder_dir() -> Path:
    """Where the quantized embedder (ONNX graph, weights, tokenizer) lives.

    ``KURA_EMBEDDER_DIR`` points elsewhere, e.g. at a build-cache artifact.
    """
    override = os.environ.get(EMBEDDER_DIR_ENV)
    return Path(override).expanduser() if override else models_dir() / EMBEDDER_DIRNAME


def llm_path_override() -> Path | None:
    """The GGUF ``KURA_LLM_PATH`` names (the user's own model), or None."""
    override = os.environ.get(LLM_PATH_ENV)
    return Path(override).expanduser() if override else None


def remote_llm_override() -> str | None:
    """The answer server ``KURA_REMOTE_LLM`` names (``http://host:port``), or None: off."""
    return os.environ.get(REMOTE_LLM_ENV, "").strip() or None


def llm_target(filename: str) -> Path:
    """Where the answer model ``filename`` is installed, unless ``KURA_LLM_PATH`` says."""
    return llm_path_override() or models_dir() / filename


def log_level_setting() -> str | None:
    """The level ``KURA_LOG_LEVEL`` asks for (a name such as ``DEBUG``), or None."""
    return os.environ.get(LOG_LEVEL_ENV)


def default_threads(share: float = 1.0) -> int:
    """Threads for a job that should use ``share`` of the CPUs this process may run on,
    at least one. Those CPUs, not ``os.cpu_count()``: a container or ``taskset`` may allow
    fewer, and oversubscribed threads (llama.cpp's, onnxruntime's) crawl."""
    affinity = getattr(os, "sched_getaffinity", None)  # Linux only
    cpus = len(affinity(0)) if affinity else os.cpu_count() or 1
    return max(1, int(cpus * share))


def _make_private_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    # mkdir's mode is masked by the umask and ignored for existing folders.
    if os.name == "posix":
        path.chmod(0o700)

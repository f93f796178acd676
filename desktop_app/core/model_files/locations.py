"""Where model files live, are staged and are recorded. All under the user data dir.

- the embedder Kura loads: ``paths.embedder_dir()`` (``KURA_EMBEDDER_DIR`` overrides);
- the LLM: ``paths.llm_target`` (``models_dir()/<its file name>``; ``KURA_LLM_PATH``
  overrides);
- downloads in progress: ``models_dir()/downloads/<bundle>/`` (``.part`` files, and files
  verified but not yet installed): never a folder Kura loads from;
- the state file: ``models_dir()/model-files.json``.
"""

from __future__ import annotations

from pathlib import Path

from desktop_app.core.model_files.catalog import Bundle, CatalogFile
from desktop_app.core.paths import embedder_dir, llm_target, models_dir

DOWNLOADS = "downloads"


def embedder_target() -> Path:
    return embedder_dir()


def install_path(file: CatalogFile) -> Path:
    """Where ``file`` ends up once installed."""
    if file.role == "llm":
        return llm_target(file.install_as)
    return embedder_target() / file.install_as


def role_target(bundle: Bundle) -> Path:
    """The folder (embedder) or file (LLM) a bundle installs into."""
    if bundle.role == "llm":
        return install_path(bundle.required[0])
    return embedder_target()


def downloads_dir() -> Path:
    path = models_dir() / DOWNLOADS
    path.mkdir(parents=True, exist_ok=True)
    return path


def staging_dir(bundle: Bundle) -> Path:
    path = downloads_dir() / bundle.id
    path.mkdir(parents=True, exist_ok=True)
    return path


def staged_path(file: CatalogFile) -> Path:
    """A downloaded file keeps its source layout (``onnx/model.onnx``) while staged."""
    return downloads_dir() / file.bundle / file.name


def state_path() -> Path:
    return models_dir() / "model-files.json"

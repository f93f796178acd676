"""The user's settings, kept in ``<data dir>/settings.json``.

Loading never fails: a missing or damaged file gives the defaults, an unknown key is
ignored (a newer Kura may have written it), and a value of the wrong type or out of range
falls back or is clamped field by field, so one bad entry does not reset the rest (an
answer server address that is not one turns that option off). The answer settings are
imported only when asked for: ``desktop_app.core.answer`` loads the whole answering
pipeline, which the settings dialog should not wait for.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from desktop_app.core.errors import KuraError
from desktop_app.core.fileio import write_atomically
from desktop_app.core.paths import data_dir, default_threads
from desktop_app.core.relevance import DECLINE_BELOW
from desktop_app.core.settings import MATRYOSHKA_DIMS, LibrarySettings

if TYPE_CHECKING:
    from desktop_app.core.answer.settings import AnswerSettings, LLMSettings

Theme = Literal["system", "light", "dark"]
UILanguage = Literal["system", "en", "zh_CN"]

SCHEMA_VERSION = 1
PASSAGES_RANGE = (1, 20)
ANSWER_TOKENS_RANGE = (64, 2048)


@dataclass(frozen=True)
class Preferences:
    threads: int = 0  # 0 = automatic (the machine's choice)
    max_answer_tokens: int = 512
    passages_k: int = 8
    decline_below: float = DECLINE_BELOW
    index_dim: int = MATRYOSHKA_DIMS[0]
    theme: Theme = "system"
    language: UILanguage = "system"
    mirror: str = ""  # model download mirror; "" = the hub (or $HF_ENDPOINT)
    watch_folders: bool = True
    ocr: bool = True  # read scanned pages and images (OCR)
    # A server on the user's network writes the answers (``answer/remote.py``): off unless
    # the user turns it on. The address is kept while it is off, so turning it back on
    # does not mean typing it again; only ``remote_llm()`` says whether it is used.
    remote_llm_enabled: bool = False
    remote_llm_url: str = ""  # http://host:port[#model]

    def library_settings(self) -> LibrarySettings:
        return LibrarySettings(index_dim=self.index_dim, ocr=bool(self.ocr))

    def answer_settings(self) -> AnswerSettings:
        from desktop_app.core.answer.settings import AnswerSettings

        return AnswerSettings(passages_k=self.passages_k,
                              max_answer_tokens=self.max_answer_tokens,
                              decline_below=self.decline_below)

    def llm_settings(self) -> LLMSettings:
        """A thread count the user chose caps both of llama.cpp's pools: they asked Kura
        to use that many CPUs, so reading the prompt should not take them all either.
        The answer server is this setting's, never ``KURA_REMOTE_LLM`` (the command
        line's): what the window says it uses is what it uses."""
        from desktop_app.core.answer.settings import LLMSettings

        if self.threads > 0:
            return LLMSettings(threads=self.threads, batch_threads=self.threads,
                               remote_url=self.remote_llm())
        return LLMSettings(remote_url=self.remote_llm())

    def remote_llm(self) -> str | None:
        """The server that writes the answers, or None: this computer does."""
        if not self.remote_llm_enabled:
            return None
        return _valid_server(self.remote_llm_url) or None

    def embedder_threads(self) -> int | None:
        """None: the embedder's own default (every CPU)."""
        return self.threads if self.threads > 0 else None

    def validated(self) -> Preferences:
        """These preferences with every value in range (clamped, or the default)."""
        default = Preferences()
        decline = float(self.decline_below)
        return replace(
            self,
            threads=_clamp(self.threads, 0, default_threads()),
            max_answer_tokens=_clamp(self.max_answer_tokens, *ANSWER_TOKENS_RANGE),
            passages_k=_clamp(self.passages_k, *PASSAGES_RANGE),
            decline_below=min(max(decline, 0.0), 1.0) if math.isfinite(decline)
            else default.decline_below,
            index_dim=self.index_dim if self.index_dim in MATRYOSHKA_DIMS else default.index_dim,
            theme=self.theme if self.theme in get_args(Theme) else default.theme,
            language=self.language if self.language in get_args(UILanguage)
            else default.language,
            mirror=_valid_mirror(self.mirror),
            remote_llm_enabled=bool(self.remote_llm_enabled)
            and bool(_valid_server(self.remote_llm_url)),
            remote_llm_url=_valid_server(self.remote_llm_url),
        )


def preferences_path() -> Path:
    return data_dir() / "settings.json"


def load_preferences(path: Path | None = None) -> Preferences:
    """The saved preferences, or the defaults for whatever is missing or wrong."""
    path = path if path is not None else preferences_path()
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):  # missing, unreadable, not JSON (or not UTF-8)
        return Preferences()
    if not isinstance(data, dict):
        return Preferences()
    values = {}
    for field in fields(Preferences):
        if field.name in data and _same_type(data[field.name], field.default):
            values[field.name] = data[field.name]
    return Preferences(**values).validated()


def save_preferences(prefs: Preferences, path: Path | None = None) -> None:
    path = path if path is not None else preferences_path()
    data = {"version": SCHEMA_VERSION, **asdict(prefs)}
    write_atomically(path, json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8"))


def _same_type(value: Any, default: Any) -> bool:
    # bool is an int to Python, but `"threads": true` is a mistake, not one thread.
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, float):
        return isinstance(value, int | float)
    return isinstance(value, type(default))


def _clamp(value: int, low: int, high: int) -> int:
    return min(max(int(value), low), high)


def _valid_mirror(mirror: str) -> str:
    """The mirror as downloads will use it, or "" if it is not an http(s) URL."""
    if not mirror.strip():
        return ""
    from desktop_app.core.model_files.mirror import check_base_url

    try:
        return check_base_url(mirror)
    except KuraError:
        return ""


def _valid_server(url: str) -> str:
    """The answer server's address as Kura writes it, or "" if it is not one."""
    if not url.strip():
        return ""
    from desktop_app.core.model_files.offline import parse_server_url

    try:
        return parse_server_url(url).url
    except KuraError:
        return ""

"""The language model: llama.cpp (llama-cpp-python), loaded once and used by one caller at
a time.

``LLM`` is what answering needs from a model: its tokenizer (prompts are packed to a token
budget counted with it), its prompt format (``prompt_formats``), a stream of text, and
which machine writes it (``origin``). ``LlamaEngine`` runs the model on this computer;
``RemoteEngine`` (``remote.py``) has a server on the user's network write the answers;
``make_llm`` is the one place that chooses between them.

Choices worth knowing:

- The file is checked (``gguf.check_gguf``) before llama.cpp sees it, so a missing,
  truncated or foreign file is a ``ModelFileError`` naming it, not a crash or a bare
  "failed to load".
- ``n_ctx`` is explicit (never the model's 128k training context); threads come from the
  machine (``LLMSettings`` says how many, and why); layers go to the GPU only when
  llama.cpp reports GPU offload support.
- ``swa_full=True``: Gemma 3 uses sliding-window attention in most layers. With the small
  SWA cache, positions that slid out of the window are gone, so the KV cache of a shared
  prompt prefix cannot be reused for the next question; llama-cpp-python 0.3.36 does not
  check this and reuses it anyway, silently wrong (logits off by up to 15 after a
  1.4k-token prompt: ``tests/core/answer/test_llm.py``). The full-size cache keeps every
  position: reuse of the fixed instruction prefix is exact, up to rounding. It costs
  memory (about 0.8 GB more KV cache for Gemma 3 4B at 8k context); llama.cpp's own
  default is the same, and it is passed explicitly so no default change can undo it.
- One lock: llama.cpp's context is not thread-safe. The lock is held for the whole life of
  a stream, so a second thread waits; the same thread starting a second stream before
  finishing the first gets a ``KuraError`` instead of a deadlock.
- Cancel is cooperative and checked at every sampled token (a llama-cpp-python stopping
  criterion), not only when text is yielded (multi-byte characters are held back until
  complete). A cancelled stream leaves the model loaded and its KV cache consistent.
"""

from __future__ import annotations

import ctypes
import logging
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from desktop_app.core.answer.prompt_formats import DEFAULT_FORMAT, PromptFormat, prompt_format_for
from desktop_app.core.answer.settings import LLMSettings
from desktop_app.core.errors import KuraError, ModelFileError
from desktop_app.core.gguf import GGUFInfo, check_gguf

_log = logging.getLogger("kura.llama")
# A library does not print: the app decides where llama.cpp's chatter goes (if anywhere).
_log.addHandler(logging.NullHandler())
# ggml's levels: NONE 0, DEBUG 1, INFO 2, WARN 3, ERROR 4, CONT 5 (a continued line).
# llama-cpp-python's own callback still maps an older numbering, which is why it prints
# warnings such as the SWA-cache note on every load even with verbose=False.
_LOG_LEVELS = {1: logging.DEBUG, 2: logging.INFO, 3: logging.WARNING, 4: logging.ERROR}
_ERROR = 4
_llama_errors: deque[str] = deque(maxlen=8)  # llama.cpp's latest errors, for messages
_log_callback: Any = None


def _route_llama_log() -> None:
    """Send llama.cpp's log to Python logging (``kura.llama``) instead of stderr, where
    it would land in the middle of ``kura ask``'s output. Its errors are also the only
    explanation of a failed load, so the latest are kept for the ModelFileError.
    Process-wide and installed once; the ctypes callback must stay referenced."""
    global _log_callback
    if _log_callback is not None:
        return
    import llama_cpp

    @llama_cpp.llama_log_callback
    def callback(level: int, text: bytes, _user_data: ctypes.c_void_p) -> None:
        message = text.decode("utf-8", "replace").strip()
        if not message:
            return
        if level == _ERROR:
            _llama_errors.append(message)
        _log.log(_LOG_LEVELS.get(level, logging.DEBUG), message)

    llama_cpp.llama_log_set(callback, ctypes.c_void_p(0))
    _log_callback = callback


@dataclass
class GenerationStats:
    """Filled in while a generation runs; complete once it has ended."""

    prompt_tokens: int = 0
    reused_tokens: int = 0  # prompt tokens whose KV cache was kept from the last prompt
    completion_tokens: int = 0  # tokens sampled, including a final end-of-turn
    first_token_s: float | None = None  # from the request to the first text
    total_s: float | None = None
    finish_reason: str | None = None  # "stop", "length" or "cancelled"

    @property
    def evaluated_tokens(self) -> int:
        return self.prompt_tokens - self.reused_tokens

    @property
    def tokens_per_s(self) -> float | None:
        """Decode speed after the first token (the first one's time is the prompt's)."""
        if self.first_token_s is None or self.total_s is None or self.completion_tokens < 2:
            return None
        span = self.total_s - self.first_token_s
        return (self.completion_tokens - 1) / span if span > 0 else None


class Generation:
    """One streamed completion. Iterate it for text pieces; ``cancel()`` (from any thread)
    or ``should_stop`` ends it at the next token; ``stats`` are filled in as it runs."""

    def __init__(
        self,
        run: Callable[[Generation], Iterator[str]],
        prompt: str,
        max_tokens: int,
        temperature: float,
        should_stop: Callable[[], bool] | None = None,
    ) -> None:
        self.prompt = prompt
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.stats = GenerationStats()
        self._should_stop = should_stop
        self._cancel = threading.Event()
        self._run = run
        self._iterator: Iterator[str] | None = None

    def cancel(self) -> None:
        self._cancel.set()

    def stop_requested(self) -> bool:
        return self._cancel.is_set() or bool(self._should_stop and self._should_stop())

    @property
    def cancelled(self) -> bool:
        return self.stats.finish_reason == "cancelled"

    def __iter__(self) -> Iterator[str]:
        if self._iterator is None:
            self._iterator = self._run(self)
        return self._iterator

    def close(self) -> None:
        """Stop and release the model now (also what garbage collection does)."""
        if self._iterator is not None and hasattr(self._iterator, "close"):
            self._iterator.close()

    def text(self) -> str:
        return "".join(self)


LOCAL_ORIGIN = "this computer"  # ``LLM.origin`` of an engine that runs in this process


class OneCaller:
    """An engine's lock, held for the whole life of a stream: a second thread waits, and
    the same thread starting a second stream before finishing the first gets a
    ``KuraError`` instead of a deadlock. ``with self._exclusive(): ...``"""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner: int | None = None

    @contextmanager
    def __call__(self) -> Iterator[None]:
        me = threading.get_ident()
        if self._owner == me:
            raise KuraError("the language model is still answering in this thread; "
                            "finish or close that answer first")
        with self._lock:
            self._owner = me
            try:
                yield
            finally:
                self._owner = None


class LLM(ABC):
    """A language model as answering sees it.

    Another engine is a subclass (``n_ctx``, ``prompt_format`` and the three abstract
    methods; ``origin`` when it runs elsewhere) returned by ``make_llm``."""

    n_ctx: int
    prompt_format: PromptFormat = DEFAULT_FORMAT  # an engine sets its model's

    @property
    def origin(self) -> str:
        """Which machine writes the answers, for the answer and the window to show:
        ``LOCAL_ORIGIN`` ("this computer"), or a remote server's "host:port"."""
        return LOCAL_ORIGIN

    @abstractmethod
    def tokenize(self, text: str, bos: bool = False) -> list[int]:
        """Tokens of ``text``, special tokens (``<start_of_turn>``) parsed as such."""

    @abstractmethod
    def detokenize(self, tokens: Sequence[int]) -> str:
        ...

    @abstractmethod
    def generate(
        self,
        prompt: str,
        max_tokens: int,
        temperature: float = 0.0,
        should_stop: Callable[[], bool] | None = None,
    ) -> Generation:
        """Stream a completion of ``prompt`` (a complete prompt, without ``<bos>``)."""

    def count_tokens(self, text: str, bos: bool = False) -> int:
        return len(self.tokenize(text, bos=bos))

    def close(self) -> None:  # noqa: B027 -- an engine that holds nothing has nothing to do
        """Release the model now rather than when it is garbage collected."""


class LlamaEngine(LLM):
    """A GGUF model in llama.cpp, loaded when constructed and reused for every answer."""

    def __init__(self, settings: LLMSettings | None = None) -> None:
        self.settings = settings or LLMSettings()
        self.path = self.settings.resolved_path()
        self.info: GGUFInfo = check_gguf(self.path)
        template = self.info.metadata.get("tokenizer.chat_template")
        self.prompt_format = prompt_format_for(
            self.info.architecture, template if isinstance(template, str) else None)
        # Imported here: loading the shared library is only worth it when a model is.
        from llama_cpp import Llama, llama_supports_gpu_offload

        self.n_ctx = min(self.settings.n_ctx, self.info.context_length or self.settings.n_ctx)
        self.gpu_layers = -1 if self.settings.gpu and llama_supports_gpu_offload() else 0
        _route_llama_log()
        _llama_errors.clear()
        try:
            self._llama = Llama(
                model_path=str(self.path),
                n_ctx=self.n_ctx,
                n_batch=self.settings.n_batch,
                n_threads=self.settings.threads,
                n_threads_batch=self.settings.batch_threads,
                n_gpu_layers=self.gpu_layers,
                swa_full=True,  # see the module docstring: exact prefix reuse
                seed=self.settings.seed,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            detail = "; ".join(_llama_errors) or str(exc)
            raise ModelFileError(self.path, f"llama.cpp could not load it: {detail}") from None
        self._exclusive = OneCaller()

    @property
    def llama(self) -> Any:
        """The llama-cpp-python ``Llama`` (for benchmarks comparing against it)."""
        return self._llama

    def tokenize(self, text: str, bos: bool = False) -> list[int]:
        with self._exclusive():
            return list(self._llama.tokenize(text.encode("utf-8"), add_bos=bos, special=True))

    def detokenize(self, tokens: Sequence[int]) -> str:
        with self._exclusive():
            raw = self._llama.detokenize(list(tokens))
        # A cut through a multi-byte character (token truncation) loses that character.
        return bytes(raw).decode("utf-8", errors="ignore")

    def generate(
        self,
        prompt: str,
        max_tokens: int,
        temperature: float = 0.0,
        should_stop: Callable[[], bool] | None = None,
    ) -> Generation:
        return Generation(self._stream, prompt, max_tokens, temperature, should_stop)

    def close(self) -> None:
        with self._exclusive():
            self._llama.close()

    def _stream(self, gen: Generation) -> Iterator[str]:
        from llama_cpp import StoppingCriteriaList

        stats = gen.stats
        with self._exclusive():
            llama = self._llama
            start = time.perf_counter()
            tokens = llama.tokenize(gen.prompt.encode("utf-8"), add_bos=True, special=True)
            if len(tokens) >= self.n_ctx:
                raise KuraError(f"the prompt has {len(tokens)} tokens; the model's context "
                                f"holds {self.n_ctx}")
            stats.prompt_tokens = len(tokens)
            stats.reused_tokens = self._reusable_prefix(tokens)

            def stop_at_next_token(_ids: Any, _logits: Any) -> bool:
                return gen.stop_requested()

            # A token list (not the text) so llama-cpp-python does not tokenize it again.
            chunks: Generator[dict[str, Any], None, None] = llama.create_completion(
                tokens,
                max_tokens=gen.max_tokens,
                temperature=gen.temperature,
                seed=self.settings.seed,
                stream=True,
                stopping_criteria=StoppingCriteriaList([stop_at_next_token]),
            )  # type: ignore[assignment]  # stream=True: a generator of chunks
            try:
                for chunk in chunks:
                    choice = chunk["choices"][0]
                    if choice["text"]:
                        if stats.first_token_s is None:
                            stats.first_token_s = time.perf_counter() - start
                        yield choice["text"]
                    if choice["finish_reason"]:
                        stats.finish_reason = choice["finish_reason"]
                    if gen.stop_requested():
                        stats.finish_reason = "cancelled"
                        break
            finally:
                chunks.close()
                stats.total_s = time.perf_counter() - start
                # Every sampled token but the last was evaluated into the context.
                stats.completion_tokens = max(0, llama.n_tokens - len(tokens) + 1)
                if gen.stop_requested():
                    stats.finish_reason = "cancelled"

    def _reusable_prefix(self, tokens: list[int]) -> int:
        """Prompt tokens llama-cpp-python will keep from the previous prompt's KV cache:
        the common prefix, less one when all of it matches (that one is re-evaluated for
        fresh logits). Mirrors ``Llama.generate``; benchmarks/answer_speed.py checks it against
        llama.cpp's own count of evaluated tokens."""
        llama = self._llama
        previous = llama.input_ids[: llama.n_tokens]
        common = 0
        for a, b in zip(previous, tokens, strict=False):
            if a != b:
                break
            common += 1
        return min(common, len(tokens) - 1)


def make_llm(settings: LLMSettings) -> LLM:
    """The engine that writes answers: the one place to swap it (any ``LLM``). A remote
    server when ``settings.remote_url`` names one (the user turned it on), else llama.cpp
    in this process."""
    if settings.remote_url:
        from desktop_app.core.answer.remote import RemoteEngine

        return RemoteEngine(settings.remote_url, settings)
    return LlamaEngine(settings)

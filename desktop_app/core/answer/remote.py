"""Answers written by a language model server on the user's own network.

For a computer too slow for a 4B model: another machine on the same network runs one of
the servers below, and Kura sends it the prompt. Everything else stays here: retrieval,
the prompt (built by ``prompt.py`` in the model family's turn format and packed to the
server's context), the decline, the citations. What leaves this computer is the prompt:
Kura's instructions, the passages retrieved for the question (text from the user's
documents, with their file names and sections), the conversation's earlier questions and
the question. Off by default (``LLMSettings.remote_url`` None); ``make_llm`` makes this
engine only when the user named a server. ``origin`` is the server's ``host:port``.

How each server is talked to (found out once, when the engine is made):

- llama.cpp's ``llama-server``: ``POST /v1/completions``; ``GET /props`` tells its
  context (per slot) and chat template, ``POST /tokenize`` counts tokens.
- llama-cpp-python's ``python -m llama_cpp.server``: ``POST /v1/completions``;
  ``POST /extras/tokenize`` counts (it always adds ``<bos>``: taken off when not asked
  for). It does not tell its context (not at ``/v1/models`` either): ``LLMSettings.n_ctx``
  is used, and must not exceed the server's ``--n_ctx`` (its error says so if it does).
- Ollama: its ``/v1/completions`` wraps any prompt in the model's chat template (its
  ``FromCompleteRequest`` sets no ``raw``), which would nest Kura's turn markers inside a
  second turn; so its own ``POST /api/generate`` with ``raw: true``, streamed as JSON
  lines, where ``num_ctx`` also sets the context (Ollama's default is smaller, and it
  silently cuts a prompt that does not fit). ``/api/show`` gives the template.
- any other OpenAI-compatible server: ``POST /v1/completions``, tokens counted here.

The model is the URL's ``#fragment`` when given (``http://box:11434#gemma3:4b``), else the
first ``GET /v1/models`` lists; a name the server does not list is an error.

Token counts (the prompt budget) come from the server's own tokenizer when it has an
endpoint for it: exact for whatever model it runs. Otherwise they come from EmbeddingGemma's
``tokenizer.json``, which Kura ships for search: Gemma 3 models share that tokenizer (the
same 262k vocabulary and turn tokens; a test checks its counts against llama.cpp's on a
Kura prompt), so the count is exact for Kura's model family and an estimate for others.

Streaming and stop: server-sent events (Ollama: JSON lines), each handed on as it
arrives. Stop is checked at every event and, while the server is still reading the
prompt (on a slow machine, minutes without an event), by a small watcher thread; either
way the connection is closed, which is how these servers learn to stop generating (they
check for a gone client between tokens).

The network promise, enforced here and by the process-wide policy
(``model_files/offline.py``): only the server named, on its port. Its name is resolved
once (``resolve_remote``) and every connection goes to those addresses, so a name that
starts resolving elsewhere does not take the questions elsewhere; a redirect is an
error, never followed; no proxy is used (``http.client`` reads no proxy variables: a
server on the same network needs none, and a proxy would be one more machine reading the
prompt). Standard library only: one POST and a line reader need no dependency.

Errors are ``RemoteLLMError``, a ``KuraError`` that says which: unreachable, host not
allowed, HTTP error, model not found, timeout. Connecting may take ``CONNECT_TIMEOUT_S``;
waiting for data ``READ_TIMEOUT_S``, generous because the first token of a long prompt on
a slow server can take minutes (llama_cpp.server's keep-alive pings count as data).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import socket
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop_app import __version__
from desktop_app.core.answer.llm import LLM, Generation, OneCaller
from desktop_app.core.answer.prompt_formats import DEFAULT_FORMAT, PromptFormat, prompt_format_for
from desktop_app.core.answer.settings import LLMSettings
from desktop_app.core.errors import KuraError
from desktop_app.core.model_files.offline import (
    NetworkBlocked,
    ServerAddress,
    parse_server_url,
    resolve_remote,
)

CONNECT_TIMEOUT_S = 5.0  # a machine on the same network answers in milliseconds
READ_TIMEOUT_S = 300.0  # silence allowed while waiting: a slow server reading a long prompt
USER_AGENT = f"Kura/{__version__} (+answers)"

# The servers Kura knows how to talk to (``RemoteEngine.kind``).
LLAMA_SERVER = "llama-server"
LLAMA_CPP_PYTHON = "llama_cpp.server"
OLLAMA = "ollama"
OPENAI = "openai-compatible"

# The local engine's sampling (llama-cpp-python's defaults), sent to the servers that take
# it, so an answer reads the same whichever machine writes it.
_SAMPLING = {"top_k": 40, "top_p": 0.95, "min_p": 0.05, "repeat_penalty": 1.0}
_FINISH = {"stop": "stop", "eos": "stop", "word": "stop", "length": "length", "limit": "length"}
_WATCH_S = 0.05  # how often the watcher looks for a stop
_COUNTS_KEPT = 512  # tokenized texts kept: the fixed prefix and passages recur
_MAX_BODY = 8 << 20
_MAX_LINE = 1 << 20
_MAX_DETAIL = 300


class RemoteLLMError(KuraError):
    """The answer server could not be used; the message says why and what to do."""

    code = "remote_llm"  # the window's text: ``error.remote_llm``

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status  # the HTTP status, when the server answered with an error


@dataclass(frozen=True)
class Chunk:
    """One streamed event, whatever the server's dialect."""

    text: str = ""
    finish: str | None = None  # the server's word: "stop", "length", "eos"...
    done: bool = False  # the stream says it is over ("[DONE]", Ollama's done)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None  # prompt tokens the server kept from the last prompt


def read_chunks(lines: Iterable[bytes], ndjson: bool = False) -> Iterator[Chunk]:
    """Events from a completion stream's lines: server-sent events of OpenAI's format
    (``data: {...}``, ``data: [DONE]``, comment lines as keep-alive pings), or Ollama's
    JSON lines. An error the server reports inside the stream is a ``RemoteLLMError``."""
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        if not ndjson:
            if not line.startswith(b"data:"):
                continue  # ": ping", "event:", "id:", "retry:"
            line = line[5:].strip()
            if line == b"[DONE]":
                yield Chunk(done=True)
                return
        try:
            data = json.loads(line)
        except ValueError:
            raise RemoteLLMError(f"the answer server sent something that is not JSON: "
                                 f"{_clip(line.decode('utf-8', 'replace'))}") from None
        if not isinstance(data, dict):
            continue
        if data.get("error"):
            raise RemoteLLMError(f"the answer server failed while writing: "
                                 f"{_error_detail(data)}")
        chunk = _ollama_chunk(data) if ndjson else _openai_chunk(data)
        yield chunk
        if chunk.done:
            return


def _openai_chunk(data: dict[str, Any]) -> Chunk:
    choices = data.get("choices")
    choice = _dict(choices[0]) if isinstance(choices, list) and choices else {}
    usage = _dict(data.get("usage"))
    timings = _dict(data.get("timings"))
    cached = _dict(usage.get("prompt_tokens_details")).get("cached_tokens")
    return Chunk(text=str(choice.get("text") or ""), finish=choice.get("finish_reason"),
                 prompt_tokens=_int(usage.get("prompt_tokens")),
                 completion_tokens=_int(usage.get("completion_tokens")),
                 cached_tokens=_int(cached if cached is not None else timings.get("cache_n")))


def _ollama_chunk(data: dict[str, Any]) -> Chunk:
    done = bool(data.get("done"))
    return Chunk(text=str(data.get("response") or ""),
                 finish=data.get("done_reason") or ("stop" if done else None), done=done,
                 prompt_tokens=_int(data.get("prompt_eval_count")) if done else None,
                 completion_tokens=_int(data.get("eval_count")) if done else None)


class _ConnectFailed(OSError):
    """No connection could be opened (as opposed to one that broke later)."""

    def __init__(self, cause: OSError) -> None:
        super().__init__(str(cause))
        self.cause = cause


def _open_socket(addresses: Sequence[str], port: int, connect_timeout: float,
                 read_timeout: float) -> socket.socket:
    """A connection to the first of the pinned ``addresses`` that accepts one."""
    failure: OSError = OSError("no address to connect to")
    for ip in addresses:
        sock = socket.socket(socket.AF_INET6 if ":" in ip else socket.AF_INET,
                             socket.SOCK_STREAM)
        try:
            sock.settimeout(connect_timeout)
            sock.connect((ip, port))
        except OSError as exc:
            sock.close()
            failure = exc
            if isinstance(exc, NetworkBlocked):
                break
            continue
        sock.settimeout(read_timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    raise _ConnectFailed(failure)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the addresses the server's name was pinned to (never a new lookup);
    the Host header still names the server."""

    def __init__(self, server: ServerAddress, addresses: Sequence[str],
                 connect_timeout: float, read_timeout: float) -> None:
        super().__init__(server.host, server.port, timeout=read_timeout)
        self.addresses = addresses
        self.connect_timeout = connect_timeout
        # The socket, also once http.client hands it to a response that reads to the end
        # of the connection (and drops ``sock``): what a stop shuts down.
        self.stream_socket: socket.socket | None = None

    def connect(self) -> None:
        self.sock = self.stream_socket = _open_socket(
            self.addresses, self.port, self.connect_timeout,
            float(self.timeout or READ_TIMEOUT_S))


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """The same over TLS: the certificate is checked against the server's name."""

    def __init__(self, server: ServerAddress, addresses: Sequence[str],
                 connect_timeout: float, read_timeout: float,
                 context: ssl.SSLContext) -> None:
        super().__init__(server.host, server.port, timeout=read_timeout, context=context)
        self.addresses = addresses
        self.connect_timeout = connect_timeout
        self.tls = context
        self.stream_socket: socket.socket | None = None

    def connect(self) -> None:
        sock = _open_socket(self.addresses, self.port, self.connect_timeout,
                            float(self.timeout or READ_TIMEOUT_S))
        try:
            self.sock = self.stream_socket = self.tls.wrap_socket(
                sock, server_hostname=self.host)
        except OSError:
            sock.close()
            raise


class LocalGemmaTokenizer:
    """Token counts for a server that cannot give them: EmbeddingGemma's tokenizer, which
    Gemma 3 models share (exact for them; an estimate for other families)."""

    def __init__(self, path: Path) -> None:
        from tokenizers import Tokenizer

        self.path = path
        self._tokenizer = Tokenizer.from_file(str(path))
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()
        self.bos = self._tokenizer.token_to_id("<bos>")

    @classmethod
    def shipped(cls) -> LocalGemmaTokenizer:
        """The one in Kura's search model folder."""
        from desktop_app.core.embedder import ModelFiles
        from desktop_app.core.paths import embedder_dir

        try:
            return cls(ModelFiles.locate(embedder_dir()).tokenizer)
        except KuraError as exc:
            raise RemoteLLMError(f"this answer server cannot count tokens, and the search "
                                 f"model's tokenizer, which counts them here, is missing "
                                 f"({exc})") from None

    def tokenize(self, text: str, bos: bool = False) -> list[int]:
        ids = list(self._tokenizer.encode(text, add_special_tokens=False).ids)
        return [self.bos, *ids] if bos and self.bos is not None else ids

    def detokenize(self, tokens: Sequence[int]) -> str:
        return str(self._tokenizer.decode(list(tokens), skip_special_tokens=False))


class RemoteEngine(LLM):
    """An OpenAI-compatible server on the user's network, found out when constructed.

    Construction checks the address, resolves and pins it (``RemoteLLMError`` before any
    packet when the network policy allows another server), and asks the server for its
    models, kind, context and prompt format."""

    def __init__(
        self,
        url: str,
        settings: LLMSettings | None = None,
        *,
        connect_timeout: float = CONNECT_TIMEOUT_S,
        read_timeout: float = READ_TIMEOUT_S,
    ) -> None:
        self.settings = settings or LLMSettings()
        try:
            self.server = parse_server_url(url)
        except KuraError as exc:
            raise RemoteLLMError(str(exc)) from None
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._tls = ssl.create_default_context() if self.server.scheme == "https" else None
        try:
            self.addresses = resolve_remote(self.server)
        except NetworkBlocked as exc:
            raise RemoteLLMError(f"host not allowed: {exc}") from None
        except OSError as exc:  # the name lookup failed
            raise RemoteLLMError(
                f"the answer server {self.server.netloc} is unreachable: its name cannot "
                f"be looked up ({_os_reason(exc)}). Check the name, or use the machine's "
                "IP address.") from None
        # One caller at a time, like the local engine (llama_cpp.server itself serves one
        # request at a time: a thread counting tokens while its own stream is paused
        # would wait for ever).
        self._exclusive = OneCaller()
        self._counts: OrderedDict[tuple[str, bool], list[int]] = OrderedDict()
        self._bos: list[int] = []  # what llama_cpp.server's tokenizer puts first
        self._local: LocalGemmaTokenizer | None = None
        self.kind = OPENAI
        self.model = ""
        self.n_ctx = self.settings.n_ctx
        self.prompt_format: PromptFormat = DEFAULT_FORMAT
        self._discover()

    @property
    def origin(self) -> str:
        return self.server.netloc

    @property
    def counts_tokens_here(self) -> bool:
        """True when this computer counts the tokens (the server has no endpoint)."""
        return self.kind in (OLLAMA, OPENAI)

    # -- finding out what the server is ---------------------------------------------------

    def _discover(self) -> None:
        models = self._models()
        wanted = self.server.model
        if wanted is None:
            if not models:
                raise RemoteLLMError(f"model not found: the answer server "
                                     f"{self.server.netloc} lists no model at /v1/models")
            self.model = models[0]
        elif wanted in models or f"{wanted}:latest" in models or not models:
            self.model = wanted
        else:
            raise RemoteLLMError(f"model not found: the answer server {self.server.netloc} "
                                 f"has no model {wanted!r}; it has: {', '.join(models)}")
        template: str | None = None
        context: int | None = None
        status, props = self._probe("GET", "/props")
        settings = props.get("default_generation_settings") if isinstance(props, dict) \
            else None
        if status == 200 and isinstance(settings, dict):
            self.kind = LLAMA_SERVER
            context = _int(settings.get("n_ctx"))
            template = _str(props.get("chat_template"))
        else:
            status, tokens = self._probe("POST", "/extras/tokenize",
                                         {"input": "", "model": self.model})
            if status == 200 and isinstance(tokens, dict) \
                    and isinstance(tokens.get("tokens"), list):
                self.kind = LLAMA_CPP_PYTHON
                self._bos = [int(t) for t in tokens["tokens"]]
            else:
                status, version = self._probe("GET", "/api/version")
                if status == 200 and isinstance(version, dict) and "version" in version:
                    self.kind = OLLAMA
                    template, trained = self._ollama_show()
                    # Ollama takes the context Kura asks for (num_ctx), up to the model's.
                    context = min(self.settings.n_ctx, trained or self.settings.n_ctx)
        self.n_ctx = context or self.settings.n_ctx
        self.prompt_format = prompt_format_for(None, template)

    def _models(self) -> list[str]:
        data = self._call("GET", "/v1/models", None, "listing its models")
        listed = data.get("data") if isinstance(data, dict) else None
        if not isinstance(listed, list):
            raise RemoteLLMError(f"the answer server {self.server.netloc} does not list its "
                                 "models the OpenAI way (/v1/models); is it llama-server, "
                                 "Ollama or python -m llama_cpp.server?")
        return [str(m["id"]) for m in listed if isinstance(m, dict) and m.get("id")]

    def _ollama_show(self) -> tuple[str | None, int | None]:
        status, shown = self._probe("POST", "/api/show", {"model": self.model})
        if status != 200 or not isinstance(shown, dict):
            return None, None
        info = _dict(shown.get("model_info"))
        trained = next((_int(v) for k, v in info.items()
                        if str(k).endswith(".context_length")), None)
        return _str(shown.get("template")), trained

    # -- the tokenizer ------------------------------------------------------------------

    def tokenize(self, text: str, bos: bool = False) -> list[int]:
        with self._exclusive():
            return list(self._tokenize(text, bos))

    def detokenize(self, tokens: Sequence[int]) -> str:
        with self._exclusive():
            return self._detokenize(list(tokens))

    def _tokenize(self, text: str, bos: bool) -> list[int]:
        key = (text, bos)
        known = self._counts.get(key)
        if known is not None:
            self._counts.move_to_end(key)
            return known
        if self.kind == LLAMA_SERVER:
            data = self._call("POST", "/tokenize",
                              {"content": text, "add_special": bos, "parse_special": True},
                              "counting tokens")
            ids = _token_list(data)
        elif self.kind == LLAMA_CPP_PYTHON:
            # Always with <bos> (Llama.tokenize's add_bos=True); off again when not wanted.
            data = self._call("POST", "/extras/tokenize", {"input": text, "model": self.model},
                              "counting tokens")
            ids = _token_list(data)
            if not bos and self._bos and ids[:len(self._bos)] == self._bos:
                ids = ids[len(self._bos):]
        else:
            ids = self._local_tokenizer().tokenize(text, bos)
        self._counts[key] = ids
        if len(self._counts) > _COUNTS_KEPT:
            self._counts.popitem(last=False)
        return ids

    def _detokenize(self, tokens: list[int]) -> str:
        if self.kind == LLAMA_SERVER:
            data = self._call("POST", "/detokenize", {"tokens": tokens}, "reading tokens")
            return _str(data.get("content") if isinstance(data, dict) else None) or ""
        if self.kind == LLAMA_CPP_PYTHON:
            # It decodes strictly: a cut through a multi-byte character (the prompt
            # packer truncating a passage) is a server error, so drop the cut character.
            for drop in range(4):
                try:
                    data = self._call("POST", "/extras/detokenize",
                                      {"tokens": tokens[:len(tokens) - drop],
                                       "model": self.model}, "reading tokens")
                except RemoteLLMError as exc:
                    if exc.status is None or exc.status < 500 or drop == 3 \
                            or len(tokens) <= drop:
                        raise
                    continue
                return _str(data.get("text") if isinstance(data, dict) else None) or ""
        return self._local_tokenizer().detokenize(tokens)

    def _local_tokenizer(self) -> LocalGemmaTokenizer:
        if self._local is None:
            self._local = LocalGemmaTokenizer.shipped()
        return self._local

    # -- generation ---------------------------------------------------------------------

    def generate(
        self,
        prompt: str,
        max_tokens: int,
        temperature: float = 0.0,
        should_stop: Callable[[], bool] | None = None,
    ) -> Generation:
        return Generation(self._stream, prompt, max_tokens, temperature, should_stop)

    def _request_for(self, gen: Generation) -> tuple[str, dict[str, Any]]:
        seed = self.settings.seed
        if self.kind == OLLAMA:
            return "/api/generate", {
                "model": self.model, "prompt": gen.prompt, "raw": True, "stream": True,
                "options": {"num_predict": gen.max_tokens, "temperature": gen.temperature,
                            "seed": seed, "num_ctx": self.n_ctx, **_SAMPLING},
            }
        body: dict[str, Any] = {
            "model": self.model, "prompt": gen.prompt, "max_tokens": gen.max_tokens,
            "temperature": gen.temperature, "seed": seed, "stream": True,
            "stream_options": {"include_usage": True},
        }
        if self.kind in (LLAMA_SERVER, LLAMA_CPP_PYTHON):
            body.update(_SAMPLING)
        if self.kind == LLAMA_SERVER:
            body["cache_prompt"] = True  # keep the fixed prefix's KV cache, as here
        return "/v1/completions", body

    def _stream(self, gen: Generation) -> Iterator[str]:
        stats = gen.stats
        with self._exclusive():
            start = time.perf_counter()
            prompt_tokens = len(self._tokenize(gen.prompt, True))
            if prompt_tokens >= self.n_ctx:
                raise KuraError(f"the prompt has {prompt_tokens} tokens; the model's context "
                                f"holds {self.n_ctx}")
            stats.prompt_tokens = prompt_tokens
            if gen.stop_requested():
                stats.finish_reason = "cancelled"
                stats.total_s = time.perf_counter() - start
                return
            path, body = self._request_for(gen)
            conn = self._connection()
            over = threading.Event()
            watcher = threading.Thread(target=_shut_on_stop, args=(gen, conn, over),
                                       name="kura-remote-stop", daemon=True)
            watcher.start()
            pieces = 0
            reported: Chunk | None = None
            response: http.client.HTTPResponse | None = None
            try:
                response = self._send(conn, "POST", path, body)
                if response.status != 200:
                    raise self._http_error(response.status, response.getheader("Location"),
                                           response.read(_MAX_BODY), path,
                                           "writing the answer")
                for chunk in read_chunks(_lines(response), ndjson=self.kind == OLLAMA):
                    if chunk.text:
                        pieces += 1
                        if stats.first_token_s is None:
                            stats.first_token_s = time.perf_counter() - start
                        yield chunk.text
                    if chunk.finish:
                        stats.finish_reason = _FINISH.get(str(chunk.finish), str(chunk.finish))
                    if chunk.completion_tokens is not None:
                        reported = chunk
                    if gen.stop_requested():
                        stats.finish_reason = "cancelled"
                        break
                if stats.finish_reason is None and not gen.stop_requested():
                    raise RemoteLLMError(self._unfinished(pieces, prompt_tokens))
            except (OSError, http.client.HTTPException) as exc:
                if not gen.stop_requested():  # else: the watcher closed it, as asked
                    raise self._network_error(exc, "writing the answer") from None
            finally:
                over.set()
                if response is not None:
                    response.close()
                conn.close()
                watcher.join()
                stats.total_s = time.perf_counter() - start
                if reported is not None and reported.completion_tokens is not None:
                    stats.completion_tokens = reported.completion_tokens
                    if reported.cached_tokens is not None:
                        stats.reused_tokens = min(reported.cached_tokens, prompt_tokens)
                else:
                    # llama.cpp's servers send one piece per token (a character split over
                    # byte tokens arrives as one piece); a stop also sampled an end of turn.
                    stats.completion_tokens = pieces + int(stats.finish_reason == "stop")
                if gen.stop_requested():
                    stats.finish_reason = "cancelled"

    def _unfinished(self, pieces: int, prompt_tokens: int) -> str:
        message = (f"the answer server {self.server.netloc} stopped sending before the "
                   "answer was finished")
        if pieces:
            return message
        # python -m llama_cpp.server reports a prompt longer than its context only in its
        # own log, after it has answered 200: the stream just ends.
        return (f"{message}, before the first word. A server does this when the prompt "
                f"({prompt_tokens} tokens; Kura packs them for {self.n_ctx}) does not fit its "
                f"context: start it with a larger one (python -m llama_cpp.server --n_ctx "
                f"{self.n_ctx}, llama-server -c {self.n_ctx}), or see the server's log")

    # -- HTTP ---------------------------------------------------------------------------

    def _connection(self) -> http.client.HTTPConnection:
        if self._tls is not None:
            return _PinnedHTTPSConnection(self.server, self.addresses, self.connect_timeout,
                                          self.read_timeout, self._tls)
        return _PinnedHTTPConnection(self.server, self.addresses, self.connect_timeout,
                                     self.read_timeout)

    def _send(self, conn: http.client.HTTPConnection, method: str, path: str,
              body: dict[str, Any] | None) -> http.client.HTTPResponse:
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json, text/event-stream"}
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json"
        conn.request(method, self.server.path + path, body=data, headers=headers)
        return conn.getresponse()

    def _exchange(self, method: str, path: str, body: dict[str, Any] | None,
                  doing: str) -> tuple[int, str | None, bytes]:
        conn = self._connection()
        try:
            response = self._send(conn, method, path, body)
            return response.status, response.getheader("Location"), response.read(_MAX_BODY)
        except (OSError, http.client.HTTPException) as exc:
            raise self._network_error(exc, doing) from None
        finally:
            conn.close()

    def _call(self, method: str, path: str, body: dict[str, Any] | None, doing: str) -> Any:
        """A request that must succeed: its JSON, or a ``RemoteLLMError``."""
        status, location, raw = self._exchange(method, path, body, doing)
        if status != 200:
            raise self._http_error(status, location, raw, path, doing)
        try:
            return json.loads(raw)
        except ValueError:
            raise RemoteLLMError(f"the answer server {self.server.netloc} sent something "
                                 f"that is not JSON for {path}: "
                                 f"{_clip(raw.decode('utf-8', 'replace'))}") from None

    def _probe(self, method: str, path: str, body: dict[str, Any] | None = None
               ) -> tuple[int, Any]:
        """A request another kind of server may not know: its status and JSON (or None).
        Only a broken connection or a redirect is an error."""
        status, location, raw = self._exchange(method, path, body, "finding out its kind")
        if 300 <= status < 400:
            raise self._http_error(status, location, raw, path, "finding out its kind")
        try:
            return status, json.loads(raw) if status == 200 else None
        except ValueError:
            return status, None

    def _http_error(self, status: int, location: str | None, raw: bytes, path: str,
                    doing: str) -> RemoteLLMError:
        where = self.server.netloc
        detail = _error_detail(raw)
        if 300 <= status < 400:
            return RemoteLLMError(
                f"host not allowed: the answer server {where} redirects to "
                f"{location or 'another address'} (HTTP {status}); Kura does not follow "
                "redirects, it sends questions only to the server named in its settings",
                status)
        if status in (401, 403):
            return RemoteLLMError(
                f"the answer server {where} refused Kura (HTTP {status}): it asks for an "
                f"API key, which Kura does not send ({detail})", status)
        if status == 404 and "model" in detail.lower():
            return RemoteLLMError(f"model not found on the answer server {where}: {detail}",
                                  status)
        if status in (404, 405):
            return RemoteLLMError(
                f"the answer server {where} has no {self.server.path}{path} (HTTP {status}); "
                "is it llama-server, Ollama or python -m llama_cpp.server?", status)
        if re.search(r"context|n_ctx|too long", detail, re.IGNORECASE):
            return RemoteLLMError(
                f"the prompt does not fit the answer server's context ({detail}). Start the "
                "server with a larger one (llama-server -c 8192, python -m llama_cpp.server "
                f"--n_ctx 8192), or set Kura's context to the server's (now {self.n_ctx})",
                status)
        return RemoteLLMError(f"the answer server {where} answered HTTP {status} while "
                              f"{doing}: {detail}", status)

    def _network_error(self, exc: BaseException, doing: str) -> RemoteLLMError:
        where = self.server.netloc
        if isinstance(exc, _ConnectFailed):
            cause: BaseException = exc.cause
            if isinstance(cause, NetworkBlocked):
                return RemoteLLMError(f"host not allowed: {cause}")
            if isinstance(cause, TimeoutError):
                return RemoteLLMError(
                    f"timeout: the answer server {where} is unreachable, it did not accept "
                    f"a connection within {self.connect_timeout:g} s. Is that machine on, "
                    "and on this network?")
            if isinstance(cause, ConnectionRefusedError):
                return RemoteLLMError(
                    f"the answer server {where} is unreachable: nothing accepts connections "
                    "there (connection refused). Is the server running, and listening on "
                    "the network (llama-server --host 0.0.0.0, OLLAMA_HOST=0.0.0.0)?")
            return RemoteLLMError(f"the answer server {where} is unreachable: "
                                  f"{_os_reason(cause)}")
        if isinstance(exc, TimeoutError):
            return RemoteLLMError(f"timeout: the answer server {where} sent nothing for "
                                  f"{self.read_timeout:g} s while {doing}")
        return RemoteLLMError(f"the connection to the answer server {where} broke while "
                              f"{doing}: {_os_reason(exc)}")


def _shut_on_stop(gen: Generation, conn: http.client.HTTPConnection,
                  over: threading.Event) -> None:
    """Shut the connection down once a stop is asked for: a read waiting for the server
    (still reading the prompt, nothing to check a stop between) returns at once, and the
    server sees its client gone. Shutdown, not close: the reading thread owns the socket."""
    while not over.wait(_WATCH_S):
        if gen.stop_requested():
            sock = getattr(conn, "stream_socket", None)
            if sock is not None:
                with contextlib.suppress(OSError):  # already closed
                    sock.shutdown(socket.SHUT_RDWR)
            return


def _lines(response: http.client.HTTPResponse) -> Iterator[bytes]:
    while True:
        line = response.readline(_MAX_LINE)
        if not line:
            return
        yield line


def _token_list(data: Any) -> list[int]:
    tokens = data.get("tokens") if isinstance(data, dict) else None
    if not isinstance(tokens, list):
        raise RemoteLLMError("the answer server's tokenizer sent no token list")
    # llama-server sends {"id", "piece"} objects when asked for pieces; Kura does not ask.
    return [int(t["id"] if isinstance(t, dict) else t) for t in tokens]


def _error_detail(raw: bytes | dict[str, Any]) -> str:
    """The message in an error body: OpenAI's {"error": {"message"}}, FastAPI's
    {"detail"}, Ollama's {"error": "..."}, or the text itself."""
    data: Any = raw
    if isinstance(raw, bytes):
        text = raw.decode("utf-8", "replace").strip()
        try:
            data = json.loads(text)
        except ValueError:
            return _clip(text) or "no detail"
    if isinstance(data, dict):
        for key in ("error", "detail", "message"):
            value = data.get(key)
            if isinstance(value, dict):
                value = value.get("message") or value
            if value:
                return _clip(value if isinstance(value, str) else json.dumps(value))
    return _clip(json.dumps(data)) or "no detail"


def _os_reason(exc: BaseException) -> str:
    return str(getattr(exc, "strerror", None) or exc) or type(exc).__name__


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_DETAIL else text[:_MAX_DETAIL] + "…"


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None

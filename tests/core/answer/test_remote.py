"""The remote engine: against a real OpenAI-compatible server started here on 127.0.0.1
(llama-cpp-python's own ``python -m llama_cpp.server`` on the Gemma 3 270M GGUF), and
against sockets that misbehave on purpose (silent, redirecting, absent), which a real
server cannot be made to do on cue.

The network promise is checked twice: by the policy the app installs
(``restricted_network``: what the product enforces) and by ``socket_guard`` (the tests'
own witness of every connection attempted)."""

from __future__ import annotations

import http.server
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop_app.core.answer import (
    GEMMA,
    Answerer,
    AnswerSettings,
    LlamaEngine,
    LLMSettings,
    fixed_prefix,
    make_llm,
)
from desktop_app.core.answer.llm import LOCAL_ORIGIN
from desktop_app.core.answer.remote import (
    LLAMA_CPP_PYTHON,
    Chunk,
    LocalGemmaTokenizer,
    RemoteEngine,
    RemoteLLMError,
    read_chunks,
)
from desktop_app.core.embedder import ModelFiles
from desktop_app.core.library import Library
from desktop_app.core.model_files.offline import restricted_network, socket_guard
from desktop_app.core.preferences import Preferences
from tests.core.answer.conftest import TEST_CTX

PROMPT = (f"{fixed_prefix(GEMMA)}[1] 账户密码管理.md, 账户密码管理\n如忘记密码，请访问 "
          "https://reset.example 并输入工号。\n\n[2] notes.md\nThe reset portal is "
          f"https://reset.example.\n\nQuestion: 如何重置密码?{GEMMA.end_turn}{GEMMA.model_turn}")
SERVER_START_S = 180


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def llama_server(gguf_270m: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``python -m llama_cpp.server`` on 127.0.0.1 with the 270M model, for this module.
    One thread to generate, as Kura's own engine uses on a busy 2-CPU machine."""
    port = free_port()
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf_270m),
             "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(TEST_CTX),
             "--n_threads", "1", "--n_threads_batch", str(min(2, os.cpu_count() or 1)),
             "--verbose", "False"],
            stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            try:
                with urllib.request.urlopen(f"{url}/v1/models", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"llama_cpp.server did not start:\n{log.read_text('utf-8')[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def remote(llama_server: str) -> RemoteEngine:
    """Made by ``make_llm``, as the answerer makes it when the option is on."""
    llm = make_llm(LLMSettings(n_ctx=TEST_CTX, remote_url=llama_server))
    assert isinstance(llm, RemoteEngine)
    return llm


# -- a real server ---------------------------------------------------------------------


def test_it_finds_out_what_the_server_is(remote: RemoteEngine, llama_server: str,
                                         gguf_270m: Path) -> None:
    assert remote.kind == LLAMA_CPP_PYTHON and remote.model == str(gguf_270m)
    assert remote.origin == llama_server.removeprefix("http://")  # "127.0.0.1:<port>"
    assert remote.n_ctx == TEST_CTX  # llama_cpp.server does not tell: the setting
    assert remote.prompt_format is GEMMA and not remote.counts_tokens_here


def test_the_local_engine_says_it_is_this_computer(engine: LlamaEngine) -> None:
    assert engine.origin == LOCAL_ORIGIN == "this computer"


def test_tokens_are_the_servers_and_the_shipped_tokenizer_agrees(
        remote: RemoteEngine, engine: LlamaEngine, embedder_dir: Path) -> None:
    """The budget is counted with the server's tokenizer; where a server has none, with
    EmbeddingGemma's, which must count Kura's prompts as Gemma 3 in llama.cpp does."""
    for bos in (True, False):
        assert remote.tokenize(PROMPT, bos=bos) == engine.tokenize(PROMPT, bos=bos)
    assert remote.detokenize(remote.tokenize("密码 reset")) == "密码 reset"
    shipped = LocalGemmaTokenizer(ModelFiles.locate(embedder_dir).tokenizer)
    for bos in (True, False):
        assert shipped.tokenize(PROMPT, bos=bos) == engine.tokenize(PROMPT, bos=bos)


def test_it_streams_pieces_as_they_are_written(remote: RemoteEngine) -> None:
    generation = remote.generate(PROMPT, max_tokens=16, temperature=0.0)
    pieces = iter(generation)
    first = next(pieces)
    assert first and generation.stats.first_token_s is not None
    assert generation.stats.total_s is None  # still streaming: nothing was buffered
    rest = list(pieces)
    stats = generation.stats
    assert len(rest) >= 8
    assert stats.finish_reason in {"length", "stop"} and 0 < stats.completion_tokens <= 16
    assert stats.prompt_tokens == remote.count_tokens(PROMPT, bos=True) > 100
    assert stats.total_s is not None and stats.total_s > stats.first_token_s
    assert stats.tokens_per_s and stats.tokens_per_s > 0


def test_stop_ends_the_stream_promptly_and_the_server_answers_again(
        remote: RemoteEngine) -> None:
    generation = remote.generate(PROMPT, max_tokens=200, temperature=0.0)
    received: list[str] = []
    stopped_at = 0.0
    for piece in generation:
        received.append(piece)
        if len(received) == 3:
            canceller = threading.Thread(target=generation.cancel)  # as the window does
            canceller.start()
            canceller.join()
            stopped_at = time.perf_counter()
    assert time.perf_counter() - stopped_at < 2.0
    assert received and len(received) == 3
    assert generation.cancelled and generation.stats.completion_tokens == 3
    again = remote.generate(PROMPT, max_tokens=6, temperature=0.0)
    assert again.text() and again.stats.finish_reason in {"length", "stop"}


def test_a_stop_before_the_first_token_sends_no_request(remote: RemoteEngine) -> None:
    with socket_guard() as guard:
        generation = remote.generate(PROMPT, max_tokens=50, should_stop=lambda: True)
        assert generation.text() == ""
    assert generation.cancelled and generation.stats.completion_tokens == 0
    assert guard.loopback == []  # the tokens were counted already: nothing to ask


def test_a_whole_answer_goes_to_the_named_server_and_nowhere_else(
        kb_library: Library, remote: RemoteEngine, short_answers: AnswerSettings) -> None:
    """Retrieval, the prompt and the checks stay here; only the prompt travels, to the
    one server the policy allows."""
    answerer = Answerer(kb_library, llm=remote, settings=short_answers)
    with restricted_network(remote.server.url) as policy, socket_guard() as guard:
        stream = answerer.ask("如何重置密码?")
        pieces = list(stream)
    answer = stream.answer
    assert answer is not None and not answer.declined and not answer.cancelled
    assert pieces and answer.text == "".join(pieces).strip()
    assert stream.prompt is not None
    assert stream.prompt.text.endswith("Question: 如何重置密码?<end_of_turn>\n"
                                       "<start_of_turn>model\n")
    assert answer.passages[0].path.endswith("IT 与安全/账户密码管理.md")
    t = answer.timings
    assert t.prompt_tokens == stream.prompt.tokens and t.first_token_s is not None
    assert 0 < t.completion_tokens <= short_answers.max_answer_tokens
    assert guard.attempts == [] and policy.blocked == []
    assert guard.loopback and set(guard.loopback) == {remote.origin}


def test_with_the_option_off_only_this_machine_is_contacted(
        kb_library: Library, engine: LlamaEngine, llama_server: str) -> None:
    """Off (the default): answers are written here, and even a server on this very
    machine cannot be made the answer server behind the user's back."""
    answerer = Answerer(kb_library, llm=engine,
                        settings=AnswerSettings(max_answer_tokens=8, temperature=0.0))
    with restricted_network(Preferences().remote_llm()) as policy, socket_guard() as guard:
        answered = answerer.answer("如何重置密码?")
        declined = answerer.answer("公司的股票期权怎么行权?")
        with pytest.raises(RemoteLLMError, match="host not allowed"):
            make_llm(LLMSettings(remote_url=llama_server))
    assert answered.passages and not answered.declined and declined.declined
    assert guard.attempts == [] and guard.loopback == [] and policy.remote is None


def test_a_name_keeps_the_address_it_first_resolved_to(
        llama_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    port = llama_server.rsplit(":", 1)[1]
    with restricted_network(f"http://localhost:{port}"):
        pinned = RemoteEngine(f"http://localhost:{port}", LLMSettings(n_ctx=TEST_CTX))
        assert "127.0.0.1" in pinned.addresses

        def elsewhere(*_args: object, **_kwargs: object) -> object:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("203.0.113.7", int(port)))]

        monkeypatch.setattr(socket, "getaddrinfo", elsewhere)  # the name moved
        with socket_guard() as guard:
            assert pinned.generate(PROMPT, max_tokens=2).text()
            again = RemoteEngine(f"http://localhost:{port}", LLMSettings(n_ctx=TEST_CTX))
            assert again.addresses == pinned.addresses  # pinned by the policy
    assert guard.attempts == [] and guard.loopback


def test_a_model_the_server_does_not_have_is_named(llama_server: str,
                                                   gguf_270m: Path) -> None:
    with pytest.raises(RemoteLLMError, match="model not found") as raised:
        RemoteEngine(f"{llama_server}#gemma-9000", LLMSettings(n_ctx=TEST_CTX))
    assert "'gemma-9000'" in str(raised.value) and str(gguf_270m) in str(raised.value)


def test_a_prompt_longer_than_the_servers_context_says_what_to_change(
        llama_server: str) -> None:
    """Kura told to pack for more than the server holds (llama_cpp.server does not say
    its context): the server ends the stream before a word, and the error says why."""
    oversized = RemoteEngine(llama_server, LLMSettings(n_ctx=2 * TEST_CTX))
    prompt = f"{GEMMA.user_turn}{'word ' * (TEST_CTX + 500)}{GEMMA.end_turn}{GEMMA.model_turn}"
    with pytest.raises(RemoteLLMError, match=r"does not fit its context.*--n_ctx 8192"):
        oversized.generate(prompt, max_tokens=4).text()
    assert oversized.generate(PROMPT, max_tokens=2).text()  # and the next one works


# -- sockets that misbehave on purpose ---------------------------------------------------


class _Fake(http.server.BaseHTTPRequestHandler):
    """A server that lists one model and counts tokens, then never answers a completion
    (a slow machine still reading the prompt), or redirects everything."""

    redirect = False
    gone = threading.Event()  # set when the client closed a silent completion

    def log_message(self, *_args: object) -> None:
        pass

    def _json(self, status: int, data: object) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.redirect:
            self.send_response(302)
            self.send_header("Location", "http://203.0.113.1:8080/v1/models")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/v1/models":
            self._json(200, {"object": "list", "data": [{"id": "fake"}]})
        else:
            self._json(404, {"detail": "Not Found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        self.rfile.read(length)
        if self.path == "/extras/tokenize":
            self._json(200, {"tokens": [2, 10, 11, 12]})
        elif self.path == "/v1/completions":
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            self.wfile.flush()
            self.connection.settimeout(30)
            if self.connection.recv(1) == b"":  # silent until the client hangs up
                type(self).gone.set()
        else:
            self._json(404, {"detail": "Not Found"})


@pytest.fixture
def fake_server() -> Iterator[tuple[str, type[_Fake]]]:
    handler = type("Handler", (_Fake,), {"redirect": False, "gone": threading.Event()})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_stop_while_the_server_is_silent_closes_the_connection(
        fake_server: tuple[str, type[_Fake]]) -> None:
    """Nothing arrives while a slow server reads a long prompt: stop must not wait for
    the first token (or the read timeout), and the server must see its client go."""
    url, handler = fake_server
    engine = RemoteEngine(url, LLMSettings(n_ctx=TEST_CTX))
    generation = engine.generate("<start_of_turn>user\nhi<end_of_turn>\n", max_tokens=8)
    threading.Timer(0.3, generation.cancel).start()
    started = time.perf_counter()
    assert generation.text() == ""
    assert time.perf_counter() - started < 2.0
    assert generation.cancelled
    assert handler.gone.wait(5)


def test_a_silent_server_times_out_with_a_clear_error(
        fake_server: tuple[str, type[_Fake]]) -> None:
    url, _handler = fake_server
    engine = RemoteEngine(url, LLMSettings(n_ctx=TEST_CTX), read_timeout=0.5)
    with pytest.raises(RemoteLLMError, match=r"timeout: .* sent nothing for 0.5 s"):
        engine.generate("<start_of_turn>user\nhi<end_of_turn>\n", max_tokens=8).text()


def test_a_redirect_is_refused_not_followed(fake_server: tuple[str, type[_Fake]]) -> None:
    url, handler = fake_server
    handler.redirect = True
    with socket_guard() as guard, pytest.raises(
            RemoteLLMError, match=re.escape("redirects to http://203.0.113.1:8080")):
        RemoteEngine(url, LLMSettings(n_ctx=TEST_CTX))
    assert guard.attempts == []


def test_another_host_is_refused_before_any_packet() -> None:
    """The policy allows one server: any other address, name or port is refused before
    a lookup or a connection; with the option off, every server is."""
    with restricted_network("http://127.0.0.1:9") as policy, socket_guard() as guard:
        for url in ("http://10.20.30.40:8080", "http://gpu-box.example:8080",
                    "http://127.0.0.1:10"):
            with pytest.raises(RemoteLLMError, match="host not allowed"):
                RemoteEngine(url)
    assert guard.attempts == [] and guard.loopback == []
    assert len(policy.blocked) == 3
    with restricted_network(None), socket_guard() as guard, \
            pytest.raises(RemoteLLMError, match=r"host not allowed.*the option is off"):
        RemoteEngine("http://127.0.0.1:9")
    assert guard.attempts == [] and guard.loopback == []


def test_an_unreachable_server_says_so() -> None:
    started = time.perf_counter()
    with pytest.raises(RemoteLLMError, match=r"unreachable: nothing accepts connections"):
        RemoteEngine(f"http://127.0.0.1:{free_port()}")
    assert time.perf_counter() - started < 5


def test_a_name_that_does_not_resolve_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_such_host(*_args: object, **_kwargs: object) -> object:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    with pytest.raises(RemoteLLMError, match="name cannot be looked up"):
        RemoteEngine("http://gpu-box.invalid:8080")


def test_an_address_that_is_not_one_is_refused() -> None:
    with pytest.raises(RemoteLLMError, match="http:// or https://"):
        RemoteEngine("ftp://gpu-box:21")


# -- the stream formats ----------------------------------------------------------------


def test_server_sent_events_with_pings_usage_and_done() -> None:
    lines = [b": ping - 2026-01-01\r\n", b"\r\n",
             b'data: {"choices": [{"text": "Hel", "finish_reason": null}]}\n', b"\n",
             b'data: {"choices": [{"text": "lo", "finish_reason": null}]}\n',
             b'data: {"choices": [{"text": "", "finish_reason": "length"}], "usage": '
             b'{"prompt_tokens": 9, "completion_tokens": 2, "prompt_tokens_details": '
             b'{"cached_tokens": 7}}}\n',
             b"data: [DONE]\n", b'data: {"choices": [{"text": "never"}]}\n']
    chunks = list(read_chunks(lines))
    assert [c.text for c in chunks] == ["Hel", "lo", "", ""]
    assert chunks[2] == Chunk(finish="length", prompt_tokens=9, completion_tokens=2,
                              cached_tokens=7)
    assert chunks[-1].done


def test_ollama_json_lines() -> None:
    lines = [b'{"response": "Hi", "done": false}\n',
             b'{"response": "", "done": true, "done_reason": "stop", '
             b'"prompt_eval_count": 12, "eval_count": 3}\n']
    chunks = list(read_chunks(lines, ndjson=True))
    assert chunks[0].text == "Hi" and not chunks[0].done
    assert chunks[1] == Chunk(finish="stop", done=True, prompt_tokens=12, completion_tokens=3)


def test_an_error_inside_the_stream_is_reported() -> None:
    with pytest.raises(RemoteLLMError, match="the slot is gone"):
        list(read_chunks([b'data: {"error": {"code": 500, "message": "the slot is gone"}}']))


def test_the_command_line_switch_and_the_windows_setting_are_separate(
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert LLMSettings().remote_url is None  # off by default
    monkeypatch.setenv("KURA_REMOTE_LLM", "http://192.168.1.20:8080")
    assert LLMSettings().remote_url == "http://192.168.1.20:8080"  # `kura ask`
    assert Preferences().llm_settings().remote_url is None  # the window: its own setting
    on = Preferences(remote_llm_enabled=True, remote_llm_url="gpu-box:8080").validated()
    assert on.llm_settings().remote_url == "http://gpu-box:8080"

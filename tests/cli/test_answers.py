"""``kura ask`` and ``kura chat`` through click, on the seed's library and the 270M GGUF."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from desktop_app.cli import answers, cli
from desktop_app.core.answer import Answer, Extract, ExtractItem, Source, Timings
from desktop_app.core.library import Library


@pytest.fixture
def kura(kb_library: Library, gguf_270m: Path, monkeypatch: pytest.MonkeyPatch) -> click.Group:
    """``kura`` on the session's library (its embedder already loaded; the session
    closes it, not the command) and the test model."""
    monkeypatch.setattr(answers, "open_library",
                        lambda *, writer: nullcontext(kb_library) if not writer else None)
    monkeypatch.setenv("KURA_LLM_PATH", str(gguf_270m))
    return cli


def test_ask_json_is_one_object(kura: click.Group) -> None:
    result = CliRunner().invoke(kura, ["ask", "如何重置密码?", "--json", "--max-tokens", "16"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"answer", "sources", "declined", "collections", "timings"} <= data.keys()
    assert not data["declined"] and data["passages"][0]["path"].endswith("账户密码管理.md")
    assert data["timings"]["prompt_tokens"] > 0


def test_ask_streams_then_lists_sources_and_declines_in_chinese(kura: click.Group) -> None:
    result = CliRunner().invoke(kura, ["ask", "如何重置密码?", "--max-tokens", "16"])
    assert result.exit_code == 0, result.output
    assert "账户密码管理.md" in result.stdout  # cited, or listed as given
    result = CliRunner().invoke(kura, ["ask", "公司的股票期权怎么行权?", "-c", "IT 与安全"])
    assert result.exit_code == 0
    assert result.stdout.startswith("我不知道") and "IT 与安全" in result.stdout


def test_ask_with_a_missing_model_is_one_line_and_exit_2(kura: click.Group, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KURA_LLM_PATH", str(tmp_path / "gone.gguf"))
    result = CliRunner().invoke(kura, ["ask", "如何重置密码?"])
    assert result.exit_code == 2
    assert result.stderr.startswith("kura: ") and "gone.gguf" in result.stderr
    assert "Traceback" not in result.output


def test_chat_keeps_the_conversation_until_exit(kura: click.Group) -> None:
    lines = "年假有多少天?\n\n那病假呢?\nexit\nnever asked\n"
    result = CliRunner().invoke(kura, ["chat", "--json", "--max-tokens", "16"], input=lines)
    assert result.exit_code == 0, result.output
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["question"] for a in answers] == ["年假有多少天?", "那病假呢?"]
    assert "年假" in answers[1]["query"]


class _Replayed:
    """A stream that replays given events (only the printing is under test here)."""

    def __init__(self, events: list[object], answer: Answer) -> None:
        self._events, self.answer = events, answer

    def events(self) -> Iterator[object]:
        return iter(self._events)


def test_the_extract_prints_first_and_a_replacing_one_says_so(
        capsys: pytest.CaptureFixture[str]) -> None:
    source = Source.from_dict({"number": 1, "path": "/kb/账户密码管理.md", "text": "x"})
    early = Extract([ExtractItem("Use the portal.", 1, source.path, None, None, 0.6)],
                    [source])
    final = Extract([ExtractItem("Reset it at the portal.", 1, source.path, None, None, 0.7)],
                    [source])
    answer = Answer("q", "Use the portal [1].", [source], False, ["IT"], Timings())
    events: list[object] = [early, final, "Use the portal [1]."]
    answers._print_answer(_Replayed(events, answer), as_json=False)  # type: ignore[arg-type]
    out = capsys.readouterr().out
    assert out.index("From your documents:") < out.index("  Use the portal. [1]") \
        < out.index("From your documents (all passages read):") \
        < out.index("  Reset it at the portal. [1]") < out.index("Answer:") \
        < out.index("Use the portal [1].", out.index("Answer:"))

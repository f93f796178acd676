"""``kura ask`` and ``kura chat``: the answering commands, a client of ``core.answer``.

Output follows the rest of the CLI: text for people (the best sentences of the passages
first, as soon as retrieval is done; then the answer as it is written, the sentences no
cited passage supports, the sources), one JSON object per answer with ``--json`` (the
extract and every sentence's check included). Ctrl+C stops
the answer being written (the model stays loaded: in ``chat`` the next question works);
before retrieval has finished there is no answer to show, and it exits 130.
"""

from __future__ import annotations

import json
import sys

import click

from desktop_app.cli._common import json_option, open_library, user_errors
from desktop_app.core.answer import (
    Answer,
    Answerer,
    AnswerStream,
    Conversation,
    Extract,
    Source,
)
from desktop_app.core.answer.settings import AnswerSettings, LLMSettings
from desktop_app.core.gguf import check_gguf
from desktop_app.core.library import Library


def _answerer(library: Library, max_tokens: int | None) -> Answerer:
    llm_settings = LLMSettings()
    # Checked now, not at the first question that needs the model: a missing model
    # should not surface only after some questions were declined without it.
    if llm_settings.remote_url is None:  # a server on the network writes: no local model
        check_gguf(llm_settings.resolved_path())
    settings = AnswerSettings()
    if max_tokens:
        settings = AnswerSettings(max_answer_tokens=max_tokens)
    return Answerer(library, settings=settings, llm_settings=llm_settings)


_max_tokens = click.option("--max-tokens", type=click.IntRange(1, 4096), default=None,
                           help=f"Longest answer in tokens (default "
                                f"{AnswerSettings().max_answer_tokens}).")


def _where(source: Source) -> str:
    where = source.location or (f"page {source.page}" if source.page else "")
    return f" ({where})" if where else ""


def _print_answer(stream: AnswerStream, as_json: bool) -> Answer:
    """Stream one answer to the terminal (or collect it for --json) and list its sources."""
    writing = False
    extracts = 0
    try:
        for event in stream.events():
            if as_json:
                continue
            if isinstance(event, Extract) and event.sentences:
                # A second one is the extract of every passage read, numbered as the answer.
                click.echo("From your documents:" if not extracts
                           else "\nFrom your documents (all passages read):")
                for sentence in event.sentences:
                    click.echo(f"  {sentence.text} [{sentence.number}]")
                extracts += 1
            elif isinstance(event, str):
                if extracts and not writing:
                    click.echo("\nAnswer:")
                writing = True
                click.echo(event, nl=False)
                sys.stdout.flush()
    except KeyboardInterrupt:
        stream.cancel()
        stream.close()
        if stream.answer is None:  # stopped before retrieval finished: nothing to show
            raise
    answer = stream.answer
    assert answer is not None  # a stream that ran to its end has its answer
    if as_json:
        click.echo(json.dumps(answer.as_dict(), ensure_ascii=False))
        return answer
    click.echo()
    if answer.cancelled:
        click.echo("(stopped)", err=True)
    if writing and answer.flagged:
        click.echo("\nCheck these sentences against the passages:")
        for check in answer.flagged:
            click.echo(f"  ! {check.text}\n    {check.reason}")
    if answer.sources:
        click.echo("\nSources:")
        for s in answer.sources:
            click.echo(f"  [{s.number}] {s.path}{_where(s)}  [{s.collection}]")
            click.echo(f"      {s.snippet}")
    elif answer.passages:
        click.echo("\nThe answer cites no passage. Passages it was given:")
        for s in answer.passages:
            click.echo(f"  [{s.number}] {s.path}{_where(s)}  [{s.collection}]")
    t = answer.timings
    if not answer.declined and t.first_token_s is not None:
        speed = f", {t.tokens_per_s:.1f} tokens/s" if t.tokens_per_s else ""
        by = f", written by {answer.written_by}" if answer.written_by else ""
        click.echo(f"(retrieval {t.retrieval_s:.2f} s, first token {t.first_token_s:.2f} s"
                   f"{speed}, prompt {t.prompt_tokens} tokens{by})", err=True)
    return answer


@click.command()
@click.argument("question")
@click.option("--collection", "-c", "collections", multiple=True,
              help="Answer only from this collection (repeatable).")
@json_option("Print one JSON object: answer, sources, declined, collections, timings.")
@_max_tokens
@user_errors
def ask(question: str, collections: tuple[str, ...], as_json: bool,
        max_tokens: int | None) -> None:
    """Answer QUESTION from your documents, citing them."""
    with open_library(writer=False) as library:
        answerer = _answerer(library, max_tokens)
        _print_answer(answerer.ask(question, list(collections) or None), as_json)


@click.command()
@click.option("--collection", "-c", "collections", multiple=True,
              help="Answer only from this collection (repeatable).")
@json_option("One JSON object per answer.")
@_max_tokens
@user_errors
def chat(collections: tuple[str, ...], as_json: bool, max_tokens: int | None) -> None:
    """Ask questions in a row; follow-ups may refer to earlier ones. 'exit' or Ctrl+D ends."""
    with open_library(writer=False) as library:
        conversation = Conversation(_answerer(library, max_tokens), list(collections) or None)
        _answer_lines(conversation, as_json)


def _answer_lines(conversation: Conversation, as_json: bool) -> None:
    """Answer each line of stdin, until 'exit', Ctrl+D or Ctrl+C at the prompt."""
    stdin = sys.stdin
    interactive = stdin.isatty()
    if interactive:
        click.echo("Ask about your documents ('exit' or Ctrl+D to quit).", err=True)
    while True:
        if interactive:
            click.echo("\n> ", nl=False, err=True)
        try:
            line = stdin.readline()
        except KeyboardInterrupt:
            break
        if not line:
            break
        question = line.strip()
        if not question:
            continue
        if question.casefold() in {"exit", "quit"}:
            break
        _print_answer(conversation.ask(question), as_json)

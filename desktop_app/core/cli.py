"""``kura``: the core's command line. A client of the library, like the GUI.

Every command has ``--json`` for machines; errors the user can act on are printed as one
line (no traceback) with exit code 2.
"""

from __future__ import annotations

import json
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from itertools import groupby
from pathlib import Path
from typing import Any

import click

from desktop_app import __version__
from desktop_app.core.cli_errors import user_errors
from desktop_app.core.embedder import MATRYOSHKA_DIMS, Embedder
from desktop_app.core.errors import ModelFileError
from desktop_app.core.library import Library, Progress
from desktop_app.core.settings import EmbedderSettings, embedder_dir
from desktop_app.core.store import DocumentInfo


@click.group()
@click.version_option(__version__, prog_name="kura")
def cli() -> None:
    """Kura: answers about your own documents, offline."""


@cli.command()
@click.argument("query")
@click.argument("documents", nargs=-1, required=True)
@click.option("--dim", type=click.Choice([str(d) for d in MATRYOSHKA_DIMS]), default="768",
              show_default=True, help="Matryoshka dimension of the vectors compared.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@user_errors
def similarity(query: str, documents: tuple[str, ...], dim: str, as_json: bool) -> None:
    """Cosine of QUERY (query prompt) against each DOCUMENT (document prompt)."""
    embedder = Embedder(embedder_dir(), EmbedderSettings(dim=int(dim)))
    q = embedder.embed_queries([query])
    d = embedder.embed_documents(list(documents))
    scores = (d @ q[0]).tolist()
    if as_json:
        click.echo(json.dumps({
            "query": query,
            "dim": int(dim),
            "results": [{"document": t, "score": round(s, 6)} for t, s in zip(documents, scores,
                                                                              strict=True)],
        }, ensure_ascii=False))
        return
    for text, score in zip(documents, scores, strict=True):
        click.echo(f"{score:.4f}  {text}")


def _library() -> Library:
    return Library()


def _run_with_progress(steps: Iterable[Progress], as_json: bool) -> None:
    """Drive a library job: a progress bar per stage for people, silence for --json."""
    if as_json:
        for _ in steps:
            pass
        return
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}
    try:
        for step in steps:
            bar = bars.get(step.stage)
            if bar is None:
                label = {"scan": "reading files", "embed": "embedding", "index": "indexing"}
                bar = bars[step.stage] = tqdm(desc=label.get(step.stage, step.stage),
                                              total=step.total, unit=" items",
                                              file=sys.stderr, leave=True)
            if step.total is not None and bar.total != step.total:
                bar.total = step.total
            bar.n = step.done
            bar.refresh()
    finally:
        for bar in bars.values():
            bar.close()


def _print_status(library: Library, as_json: bool) -> None:
    status = library.status()
    data: dict[str, Any] = {
        "collections": [
            {"name": c.name, "folders": list(c.folders), "documents": c.documents,
             "chunks": c.chunks, "by_status": dict(c.by_status)}
            for c in status.collections
        ],
        "documents": dict(status.documents),
        "chunks": status.chunks,
        "vectors": status.vectors,
        "waiting_for_embedding": status.unembedded_keys,
        "skipped": [{"path": s.path, "reason": s.reason, "message": s.message}
                    for s in status.skipped],
        "index": {"dim": library.index.dim, "entries": len(library.index)},
    }
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    if not status.collections:
        click.echo("The library is empty. Add a folder with: kura add PATH")
    for c in data["collections"]:
        states = ", ".join(f"{n} {k}" for k, n in c["by_status"].items() if n)
        click.echo(f"{c['name']}: {c['documents']} documents, {c['chunks']} passages"
                   f"{f' ({states})' if states else ''}")
        for folder in c["folders"]:
            click.echo(f"    {folder}")
    click.echo(f"Vectors: {status.vectors}; waiting for embedding: {status.unembedded_keys}; "
               f"index: {len(library.index)} entries at {library.index.dim} dims")
    if status.skipped:
        click.echo(f"Skipped files ({len(status.skipped)}):")
        for s in status.skipped:
            click.echo(f"    {s.path}: {s.message or s.reason}")


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--collection", "-c", help="Collection to add to (default: the folder's name).")
@click.option("--json", "as_json", is_flag=True, help="Print the resulting status as JSON.")
@user_errors
def add(paths: tuple[Path, ...], collection: str | None, as_json: bool) -> None:
    """Add folders or files to the library and index them."""
    library = _library()
    _run_with_progress(library.add(paths, collection), as_json)
    _print_status(library, as_json)


@cli.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True)
@user_errors
def remove(path: Path, as_json: bool) -> None:
    """Stop tracking a folder; its documents leave search."""
    removed = _library().remove(path)
    if as_json:
        click.echo(json.dumps({"removed": removed}, ensure_ascii=False))
    else:
        click.echo(f"Removed {len(removed)} documents.")


@cli.command()
@click.option("--collection", "-c", help="Only this collection.")
@click.option("--json", "as_json", is_flag=True)
@user_errors
def sync(collection: str | None, as_json: bool) -> None:
    """Pick up new, changed and deleted files in every tracked folder."""
    library = _library()
    _run_with_progress(library.sync(collection), as_json)
    counts = library.last_scan
    if as_json:
        _print_status(library, True)
    else:
        click.echo(f"new {counts.new}, changed {counts.changed}, unchanged {counts.unchanged}, "
                   f"skipped {counts.skipped}, removed {counts.removed}")


def _iso(timestamp: float | None) -> str | None:
    """A time for machines: ISO-8601 in UTC, to the second."""
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")


def _local_time(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")


def _width(text: str) -> int:
    """Terminal columns: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, right: bool = False) -> str:
    fill = " " * max(0, width - _width(text))
    return fill + text if right else text + fill


STATE_WORDS = {"parsed": "read, not embedded", "embedded": "embedded", "skipped": "skipped"}


def _print_documents(documents: Sequence[DocumentInfo], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps([
            {"collection": d.collection, "path": d.path, "state": d.state, "reason": d.reason,
             "message": d.message, "chunks": d.chunks, "read_at": _iso(d.read_at),
             "embedded_at": _iso(d.embedded_at)}
            for d in documents
        ], ensure_ascii=False))
        return
    if not documents:
        click.echo("No documents.")
        return
    header = ("file", "state", "passages", "read", "embedded")
    rows = [(d.relative_path,
             STATE_WORDS.get(d.state, d.state) + (f" ({d.reason})" if d.reason else ""),
             str(d.chunks), _local_time(d.read_at), _local_time(d.embedded_at))
            for d in documents]
    widths = [max(_width(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        padded = [_pad(cell, w, right=(i == 2)) for i, (cell, w) in
                  enumerate(zip(cells, widths, strict=True))]
        return ("    " + "  ".join(padded)).rstrip()

    by_collection = groupby(zip(documents, rows, strict=True), key=lambda pair: pair[0].collection)
    for n, (name, group) in enumerate(by_collection):
        members = list(group)
        if n:
            click.echo()
        click.echo(f"{name}: {len(members)} documents")
        click.echo(line(header))
        for doc, row in members:
            click.echo(line(row))
            if doc.state == "skipped" and doc.message:
                click.echo(f"        {doc.message}")


@cli.command()
@click.option("--documents", "list_documents", is_flag=True,
              help="List every document: its state, passages, when read and when embedded.")
@click.option("--collection", "-c",
              help="Only the documents of this collection (implies --documents).")
@click.option("--json", "as_json", is_flag=True,
              help="Print JSON (times in ISO-8601, UTC).")
@user_errors
def status(list_documents: bool, collection: str | None, as_json: bool) -> None:
    """Collections, documents, passages, skipped files and index health."""
    library = _library()
    if list_documents or collection is not None:
        _print_documents(library.documents(collection), as_json)
        return
    try:
        library.open_index()  # verifies the index against SQLite (needs the embedder)
    except ModelFileError as err:
        click.echo(f"kura: index not checked: {err}", err=True)
    _print_status(library, as_json)


@cli.command()
@click.argument("query")
@click.option("-k", default=10, show_default=True, help="How many passages.")
@click.option("--collection", "-c", "collections", multiple=True,
              help="Search only this collection (repeatable).")
@click.option("--json", "as_json", is_flag=True)
@user_errors
def search(query: str, k: int, collections: tuple[str, ...], as_json: bool) -> None:
    """Find the passages that match QUERY, by meaning and by keywords."""
    library = _library()
    response = library.search(query, k=k, collections=list(collections) or None)
    if as_json:
        click.echo(json.dumps({
            "query": query,
            "collections": response.collections,
            "results": [r.as_dict() for r in response.results],
            "not_embedded": response.not_embedded,
        }, ensure_ascii=False))
        return
    if not response.results:
        click.echo("Nothing found.")
    for i, r in enumerate(response.results, 1):
        where = f" ({r.chunk.location})" if r.chunk.location else ""
        rel = f"relevance {r.relevance:.2f}" if r.relevance is not None else "keywords only"
        click.echo(f"{i}. {r.path}{where}  [{r.collection}; {rel}]")
        click.echo(f"   {r.snippet}")
    if response.not_embedded:
        click.echo(f"({len(response.not_embedded)} documents are searchable by keywords only "
                   "until they are embedded.)")


def _sync_report(steps: Iterable[Progress], collection: str | None) -> dict[str, Any]:
    """Run a sync and say what changed: the files by outcome, and how many passages
    were embedded."""
    changes: dict[str, list[str]] = {k: [] for k in ("new", "changed", "skipped", "removed")}
    unchanged = embedded = 0
    for step in steps:
        if step.stage == "scan" and step.path is not None and step.message in changes:
            changes[step.message].append(step.path)
        elif step.stage == "scan" and step.message == "unchanged":
            unchanged += 1
        elif step.stage == "embed":
            embedded = step.done
    return {"collection": collection, **changes, "unchanged": unchanged,
            "passages_embedded": embedded, "finished_at": _iso(datetime.now(UTC).timestamp())}


@cli.command()
@click.option("--collection", "-c", help="Only this collection.")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object per sync (what changed), one per line.")
@user_errors
def watch(collection: str | None, as_json: bool) -> None:
    """Keep the library in sync while files change (Ctrl+C to stop)."""
    from desktop_app.core.watch import watch_library

    library = _library()

    def run(steps: Iterable[Progress], name: str | None) -> None:
        if as_json:
            click.echo(json.dumps(_sync_report(steps, name), ensure_ascii=False))
        else:
            _run_with_progress(steps, False)

    def ready() -> None:
        click.echo("Watching for changes; press Ctrl+C to stop.", err=True)

    try:
        run(library.sync(collection), collection)
        for job in watch_library(library, collection, on_ready=ready):
            run(job, job.collection)
    except KeyboardInterrupt:
        pass


def _register_subcommands() -> None:
    from desktop_app.core.answer_cli import register as register_answers
    from desktop_app.core.model_files_cli import register as register_models

    register_answers(cli)
    register_models(cli)


_register_subcommands()


def main() -> None:
    # Before anything can import huggingface_hub or a telemetry-minded library: after
    # the first launch nothing in Kura may touch the network.
    from desktop_app.core.model_files import enable_offline

    enable_offline()
    cli()


if __name__ == "__main__":
    main()

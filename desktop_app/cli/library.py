"""The library's commands: ``similarity``, ``add``, ``remove``, ``sync``, ``status``,
``search`` and ``watch``. Each is a few lines over ``desktop_app.core.library``."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from itertools import groupby
from pathlib import Path
from typing import Any

import click

from desktop_app.cli._common import json_option, open_library, run_job, user_errors
from desktop_app.core.embedder import Embedder
from desktop_app.core.errors import ModelFileError
from desktop_app.core.library import Library, ScanCounts
from desktop_app.core.paths import embedder_dir
from desktop_app.core.progress import Job, Progress
from desktop_app.core.settings import MATRYOSHKA_DIMS, EmbedderSettings
from desktop_app.core.store import DocumentInfo


@click.command()
@click.argument("query")
@click.argument("documents", nargs=-1, required=True)
@click.option("--dim", type=click.Choice([str(d) for d in MATRYOSHKA_DIMS]), default="768",
              show_default=True, help="Matryoshka dimension of the vectors compared.")
@json_option("Print one JSON object.")
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


_no_ocr = click.option("--no-ocr", "no_ocr", is_flag=True,
                       help="Do not read scanned pages and images this time (OCR); they "
                            "are listed as skipped.")


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--collection", "-c", help="Collection to add to (default: the folder's name).")
@_no_ocr
@json_option("Print the resulting status as JSON.")
@user_errors
def add(paths: tuple[Path, ...], collection: str | None, no_ocr: bool, as_json: bool) -> None:
    """Add folders or files to the library and index them."""
    with open_library(writer=True, ocr=not no_ocr) as library:
        run_job(library.add(paths, collection), as_json)
        _print_status(library, as_json)


@click.command()
@click.argument("path", type=click.Path(path_type=Path))
@json_option()
@user_errors
def remove(path: Path, as_json: bool) -> None:
    """Stop tracking a folder; its documents leave search."""
    with open_library(writer=True) as library:
        removed = library.remove(path)
    if as_json:
        click.echo(json.dumps({"removed": removed}, ensure_ascii=False))
    else:
        click.echo(f"Removed {len(removed)} documents.")


@click.command()
@click.option("--collection", "-c", help="Only this collection.")
@_no_ocr
@json_option()
@user_errors
def sync(collection: str | None, no_ocr: bool, as_json: bool) -> None:
    """Pick up new, changed and deleted files in every tracked folder."""
    with open_library(writer=True, ocr=not no_ocr) as library:
        counts = run_job(library.sync(collection), as_json)
        if as_json:
            _print_status(library, True)
        else:
            click.echo(f"new {counts.new}, changed {counts.changed}, "
                       f"unchanged {counts.unchanged}, skipped {counts.skipped}, "
                       f"removed {counts.removed}")


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
             "embedded_at": _iso(d.embedded_at),
             "ocr": None if d.ocr is None else {
                 "pages": d.ocr.pages, "confidence": round(d.ocr.confidence, 4),
                 "low_confidence_pages": list(d.ocr.low_pages)}}
            for d in documents
        ], ensure_ascii=False))
        return
    if not documents:
        click.echo("No documents.")
        return
    header = ("file", "state", "passages", "read", "embedded", "OCR")
    rows = [(d.relative_path,
             STATE_WORDS.get(d.state, d.state) + (f" ({d.reason})" if d.reason else ""),
             str(d.chunks), _local_time(d.read_at), _local_time(d.embedded_at),
             "" if d.ocr is None else f"{d.ocr.pages} pages, {d.ocr.confidence:.0%} sure")
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
            if doc.ocr is not None and doc.ocr.low_pages:
                pages = ", ".join(map(str, doc.ocr.low_pages))
                click.echo(f"        OCR was not sure of page(s) {pages}: left out of search")


@click.command()
@click.option("--documents", "list_documents", is_flag=True,
              help="List every document: its state, passages, when read and when embedded.")
@click.option("--collection", "-c",
              help="Only the documents of this collection (implies --documents).")
@json_option("Print JSON (times in ISO-8601, UTC).")
@user_errors
def status(list_documents: bool, collection: str | None, as_json: bool) -> None:
    """Collections, documents, passages, skipped files and index health."""
    with open_library(writer=False) as library:
        if list_documents or collection is not None:
            _print_documents(library.documents(collection), as_json)
            return
        try:
            # Verifies the index against SQLite (needs the embedder); a rebuild shows.
            run_job(library.open_index(), as_json)
        except ModelFileError as err:
            click.echo(f"kura: index not checked: {err}", err=True)
        _print_status(library, as_json)


@click.command()
@click.argument("query")
@click.option("-k", default=10, show_default=True, help="How many passages.")
@click.option("--collection", "-c", "collections", multiple=True,
              help="Search only this collection (repeatable).")
@json_option()
@user_errors
def search(query: str, k: int, collections: tuple[str, ...], as_json: bool) -> None:
    """Find the passages that match QUERY, by meaning and by keywords."""
    with open_library(writer=False) as library:
        run_job(library.open_index(), as_json)  # a rebuild shows, and Ctrl+C stops it
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
        if step.stage == "scan" and step.item is not None and step.message in changes:
            changes[step.message].append(step.item)
        elif step.stage == "scan" and step.message == "unchanged":
            unchanged += 1
        elif step.stage == "embed":
            embedded = step.done
    return {"collection": collection, **changes, "unchanged": unchanged,
            "passages_embedded": embedded, "finished_at": _iso(datetime.now(UTC).timestamp())}


class _Syncing:
    """Whether watch mode is in the middle of a sync. Ctrl+C then stops that sync and exits
    130, as in ``kura sync``; at any other moment it is how watching ends (exit 0: nothing
    is left to resume). A sync counts as over once its last step is done, before its
    report is printed."""

    def __init__(self) -> None:
        self.busy = False

    def track(self, steps: Job[ScanCounts]) -> Job[ScanCounts]:
        self.busy = True
        counts = yield from steps
        self.busy = False
        return counts


@click.command()
@click.option("--collection", "-c", help="Only this collection.")
@json_option("Print one JSON object per sync (what changed), one per line.")
@user_errors
def watch(collection: str | None, as_json: bool) -> None:
    """Keep the library in sync while files change (Ctrl+C to stop)."""
    from desktop_app.core.watch import watch_library

    def run(steps: Job[ScanCounts], name: str | None) -> None:
        if as_json:
            click.echo(json.dumps(_sync_report(steps, name), ensure_ascii=False))
        else:
            run_job(steps, False)

    def ready() -> None:
        click.echo("Watching for changes; press Ctrl+C to stop.", err=True)

    syncing = _Syncing()
    with open_library(writer=True) as library:
        try:
            run(syncing.track(library.sync(collection)), collection)
            for job in watch_library(library, collection, on_ready=ready):
                run(syncing.track(job.steps), job.collection)
        except KeyboardInterrupt:
            if syncing.busy:
                raise

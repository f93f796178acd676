"""``kura``: the core's command line. A client of the library, like the GUI.

Every command has ``--json`` for machines; errors the user can act on are printed as one
line (no traceback) with exit code 2.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import click

from desktop_app import __version__
from desktop_app.core.embedder import MATRYOSHKA_DIMS, Embedder
from desktop_app.core.errors import KuraError
from desktop_app.core.settings import EmbedderSettings, embedder_dir


def user_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except KuraError as exc:
            click.echo(f"kura: {exc}", err=True)
            sys.exit(2)

    return wrapper


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


def main() -> None:
    cli()


if __name__ == "__main__":
    main()

"""``kura``: the command line. A client of the core, like the window.

Every command is registered here, in one list: a module per group of commands defines
them (``library``, ``answers``, ``models``, ``app``) without knowing the group, and
``_common`` holds what they share (exit codes, ``--json``, opening the library, progress
bars, Ctrl+C). To add a command, write it in the module it belongs to, decorate it with
``@user_errors`` (and ``@json_option()`` if it prints data), and add it to ``COMMANDS``.
"""

from __future__ import annotations

import click

from desktop_app import __version__
from desktop_app.cli import answers, app, library, models
from desktop_app.core.model_files import enable_offline
from desktop_app.core.model_files.offline import restrict_network
from desktop_app.core.paths import remote_llm_override


@click.group()
@click.version_option(__version__, prog_name="kura")
def cli() -> None:
    """Kura: answers about your own documents, offline."""


COMMANDS: tuple[click.Command, ...] = (
    library.similarity, library.add, library.remove, library.sync, library.status,
    library.search, library.watch,
    answers.ask, answers.chat,
    models.models,
    app.app_command, app.selftest,
)
for command in COMMANDS:
    cli.add_command(command)


def main() -> None:
    # Before anything can import huggingface_hub or a telemetry-minded library: after
    # the first launch nothing in Kura may touch the network, but the answer server
    # KURA_REMOTE_LLM names (if any) and ``kura models fetch``'s downloads.
    enable_offline()
    restrict_network(remote_llm_override())
    cli()

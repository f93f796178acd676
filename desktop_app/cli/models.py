"""``kura models ...``: status, fetch, import, verify. A client of
``desktop_app.core.model_files``, like the GUI."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import cast

import click

from desktop_app.cli._common import ExitCode, json_option, run_job, user_errors
from desktop_app.core.model_files.catalog import ROLES, Role
from desktop_app.core.model_files.fetcher import fetch, plan
from desktop_app.core.model_files.importer import import_dir
from desktop_app.core.model_files.model_status import ModelsStatus, status, verify
from desktop_app.core.progress import format_bytes

ROLE_TITLES = {"embedder": "Embedder (search)", "llm": "Language model (answers)"}


@click.group("models")
def models() -> None:
    """The model files: what is there, fetch them, import them, verify them."""


@models.command("status")
@json_option("Print one JSON object.")
@user_errors
def status_command(as_json: bool) -> None:
    """What is present and verified, what is missing, what is damaged; and per file
    whether it was verified against a pinned checksum or checked on first use."""
    _print_status(status(), as_json)


@models.command("verify")
@json_option("Print one JSON object.")
@user_errors
def verify_command(as_json: bool) -> None:
    """Hash every model file again (exit code 1 if anything is missing or damaged)."""
    result = run_job(verify(), as_json)
    _print_status(result, as_json)
    if result.missing or result.corrupt:
        sys.exit(ExitCode.FAILED)


@models.command("fetch")
@click.option("--mirror", metavar="URL",
              help="Base URL of a Hugging Face mirror (default: $HF_ENDPOINT, else "
                   "https://huggingface.co).")
@click.option("--only", type=click.Choice(ROLES), help="Fetch only this model.")
@click.option("--low-bandwidth", is_flag=True,
              help="Embedder: the prebuilt 4-bit model (about 230 MB instead of 1.27 GB); "
                   "it loses about 3% cosine to fp32, Kura's own recipe about 0.5%.")
@json_option("No progress bars; print a JSON report.")
@user_errors
def fetch_command(mirror: str | None, only: str | None, low_bandwidth: bool,
                  as_json: bool) -> None:
    """Download what is missing or damaged (resumes an interrupted download)."""
    roles = cast(tuple[Role, ...], (only,) if only else ROLES)
    todo = plan(roles, low_bandwidth)
    if not as_json:
        if not todo:
            click.echo("Everything is already here.")
        for bundle in todo:
            click.echo(f"{ROLE_TITLES[bundle.role]}: {bundle.summary or bundle.id}", err=True)
            if bundle.quality:
                click.echo(f"    quality: {bundle.quality}", err=True)
    report = run_job(fetch(roles, low_bandwidth=low_bandwidth, mirror=mirror), as_json)
    if as_json:
        click.echo(json.dumps({
            "installed": {r: str(p) for r, p in report.installed.items()},
            "bundles": report.bundles,
            "already_ready": list(report.already_ready),
            "status": status().as_dict(),
        }, ensure_ascii=False))
        return
    for role, path in report.installed.items():
        click.echo(f"{ROLE_TITLES[role]}: installed in {path}")


@models.command("import")
@click.argument("folder", type=click.Path(path_type=Path, exists=True, file_okay=False))
@json_option("Print one JSON object.")
@user_errors
def import_command(folder: Path, as_json: bool) -> None:
    """Copy model files from FOLDER (e.g. a USB stick), checking every checksum."""
    report = run_job(import_dir(folder), as_json)
    if as_json:
        click.echo(json.dumps({
            "installed": {r: str(p) for r, p in report.installed.items()},
            "bundles": report.bundles,
            "rejected": [{"path": str(r.path), "problem": r.problem}
                         for r in report.rejected],
            "already_ready": list(report.already_ready),
            "not_found": list(report.not_found),
        }, ensure_ascii=False))
    else:
        for role, path in report.installed.items():
            click.echo(f"{ROLE_TITLES[role]}: installed in {path}")
        for role in report.already_ready:
            click.echo(f"{ROLE_TITLES[role]}: already here")
        for role in report.not_found:
            click.echo(f"{ROLE_TITLES[role]}: not in {folder}")
        for rejected in report.rejected:
            click.echo(f"refused {rejected.path}: {rejected.problem}", err=True)
    if report.rejected:
        sys.exit(ExitCode.CANNOT_RUN)


def _print_status(result: ModelsStatus, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(result.as_dict(), ensure_ascii=False))
        return
    for role_status in (result.embedder, result.llm):
        ready = "ready" if role_status.ready else "not ready"
        click.echo(f"{ROLE_TITLES[role_status.role]}: {ready}  ({role_status.target})")
        for f in role_status.files:
            size = format_bytes(f.size) if f.size is not None else ""
            note = f"  {f.problem}" if f.problem and f.state != "missing" else ""
            if f.verification:  # usable: say how it was verified
                note = f"  {f.verification_text}"
            click.echo(f"    {f.state:<10} {f.name:<32} {size:>9}{note}")
    click.echo(f"Can index: {'yes' if result.can_index else 'no'}; "
               f"can answer: {'yes' if result.can_answer else 'no'}")
    for d in result.downloads:
        click.echo(f"Interrupted download: {d.bundle}/{d.name}, {format_bytes(d.bytes_on_disk)}"
                   " on disk (`kura models fetch` resumes it)")
    if not (result.can_index and result.can_answer):
        click.echo("Get the missing files with `kura models fetch`, or from a folder or USB "
                   "stick with `kura models import DIR`.")

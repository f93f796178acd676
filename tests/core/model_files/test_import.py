"""import_dir / ``kura models import DIR``: files from a folder or USB stick, verified."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from desktop_app.cli.models import models
from desktop_app.core import paths
from desktop_app.core.errors import KuraError
from desktop_app.core.model_files.importer import import_dir
from desktop_app.core.model_files.locations import downloads_dir
from desktop_app.core.model_files.model_status import status
from desktop_app.core.progress import run_quietly
from tests.support.toy_models import TOY_LLM, Toy, sha256

GGUF = next(iter(TOY_LLM))


def stick(toy: Toy, root: Path, layout: str) -> Path:
    """The toy files on a 'USB stick', flat or in the hub's layout one folder down."""
    for name, data in toy.blobs.items():
        relative = Path(name).name if layout == "flat" else Path("embeddinggemma") / name
        if name == GGUF:
            relative = Path(name)
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(data)
    return root


@pytest.mark.parametrize("layout", ["flat", "hub"])
def test_import_installs_verified_files_from_either_layout(
        toy: Toy, tmp_path: Path, layout: str) -> None:
    usb = stick(toy, tmp_path / "usb", layout)
    before = {p: p.read_bytes() for p in usb.rglob("*") if p.is_file()}
    report = run_quietly(import_dir(usb))
    assert set(report.installed) == {"embedder", "llm"} and not report.rejected
    now = status()
    assert now.can_index and now.can_answer
    assert {f.state for f in now.files} == {"verified"}
    assert {p: p.read_bytes() for p in usb.rglob("*") if p.is_file()} == before  # untouched
    assert toy.server.hits == []  # no network at all


def test_a_corrupt_file_is_refused_and_its_model_not_installed(
        toy: Toy, tmp_path: Path) -> None:
    usb = stick(toy, tmp_path / "usb", "flat")
    data = bytearray((usb / "model.onnx_data").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (usb / "model.onnx_data").write_bytes(bytes(data))
    report = run_quietly(import_dir(usb))
    assert [r.path.name for r in report.rejected] == ["model.onnx_data"]
    assert "sha256" in report.rejected[0].problem
    assert set(report.installed) == {"llm"}  # the good model still goes in
    now = status()
    assert not now.can_index and now.can_answer
    assert not paths.embedder_dir().exists()
    staged = [p for p in downloads_dir().rglob("*") if p.is_file()]
    assert all(p.name != "model.onnx_data" for p in staged)  # never under a usable name


def test_a_truncated_copy_is_reported_as_damaged_not_as_absent(
        toy: Toy, tmp_path: Path) -> None:
    usb = stick(toy, tmp_path / "usb", "flat")
    (usb / GGUF).write_bytes(toy.blobs[GGUF][:1000])
    report = run_quietly(import_dir(usb, roles=("llm",)))
    assert [r.path.name for r in report.rejected] == [GGUF]
    assert "bytes" in report.rejected[0].problem
    assert not (paths.models_dir() / GGUF).exists()


def test_unpinned_files_need_a_checksum_file(hub_toy: Toy, tmp_path: Path) -> None:
    usb = stick(hub_toy, tmp_path / "usb", "flat")
    report = run_quietly(import_dir(usb, roles=("llm",)))
    assert report.rejected and "no checksum" in report.rejected[0].problem
    assert not status().can_answer

    (usb / "SHA256SUMS").write_text(f"{sha256(hub_toy.blobs[GGUF])}  {GGUF}\n")
    report = run_quietly(import_dir(usb, roles=("llm",)))
    assert set(report.installed) == {"llm"} and not report.rejected
    assert status().can_answer


def test_a_folder_without_model_files_is_a_clear_error(toy: Toy, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("hello")
    with pytest.raises(KuraError, match="no model files found"):
        run_quietly(import_dir(tmp_path / "empty"))


def test_kura_models_import_cli(toy: Toy, tmp_path: Path) -> None:
    usb = stick(toy, tmp_path / "usb", "hub")
    (usb / GGUF).write_bytes(b"not a model")
    result = CliRunner().invoke(models, ["import", str(usb), "--json"])
    assert result.exit_code == 2  # something was refused
    data = json.loads(result.stdout)
    assert set(data["installed"]) == {"embedder"}
    assert [Path(r["path"]).name for r in data["rejected"]] == [GGUF]


def test_kuras_own_build_imports_against_the_shipped_catalog(
        embedder_dir: Path, tmp_path: Path) -> None:
    """The shipped catalog pins Kura's build (models/manifest.json); a copy of it on a
    stick is recognised by size and verified by sha256, with no state and no network."""
    usb = tmp_path / "usb" / "kura-embedder"
    shutil.copytree(embedder_dir, usb)
    report = run_quietly(import_dir(usb.parent, roles=("embedder",)))
    assert report.bundles == {"embedder": "embedder-kura"} and not report.rejected
    now = status()
    assert now.can_index and now.embedder.verified

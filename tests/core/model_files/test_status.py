"""status / verify / ``kura models status|verify``: missing, corrupt, verified; can index,
can answer."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from desktop_app.cli.models import models
from desktop_app.core.model_files import model_status as status_module
from desktop_app.core.model_files.fetcher import fetch
from desktop_app.core.model_files.model_status import status, verify
from desktop_app.core.paths import embedder_dir, models_dir
from desktop_app.core.progress import run_quietly
from tests.support.toy_models import FAST, TOY_LLM, Toy

GGUF = next(iter(TOY_LLM))


def flip_a_byte(path: Path, keep_mtime: bool = False) -> None:
    before = path.stat()
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0x01
    path.write_bytes(bytes(data))
    if keep_mtime:
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def test_with_nothing_there_everything_is_missing(toy: Toy) -> None:
    now = status()
    assert not now.can_index and not now.can_answer
    assert {f.name for f in now.missing} == {"model.onnx", "tokenizer.json", GGUF}
    assert now.corrupt == ()


def test_the_embedder_alone_can_index_but_not_answer(toy: Toy) -> None:
    run_quietly(fetch(["embedder"], mirror=toy.base, options=FAST))
    now = status()
    assert now.can_index and not now.can_answer
    assert now.embedder.bundle == "toy-embedder" and now.embedder.verified


def test_a_changed_file_is_corrupt(toy: Toy) -> None:
    run_quietly(fetch(mirror=toy.base, options=FAST))
    flip_a_byte(embedder_dir() / "model.onnx_data")
    now = status()
    assert not now.can_index and now.can_answer
    (bad,) = now.corrupt
    assert bad.name == "model.onnx_data" and "sha256" in bad.problem


def test_a_truncated_file_is_corrupt_without_hashing(toy: Toy,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    run_quietly(fetch(mirror=toy.base, options=FAST))
    gguf = models_dir() / GGUF
    gguf.write_bytes(gguf.read_bytes()[:1000])
    monkeypatch.setattr(status_module, "digest_file", _no_hashing)
    (bad,) = status().corrupt
    assert bad.name == GGUF and "1,000 bytes" in bad.problem


def _no_hashing(*_args: object, **_kwargs: object) -> None:
    raise AssertionError("status hashed a file it had no reason to")


def test_status_does_not_hash_unchanged_files_but_verify_does(
        toy: Toy, monkeypatch: pytest.MonkeyPatch) -> None:
    run_quietly(fetch(mirror=toy.base, options=FAST))
    # Bit rot keeps size and mtime: quick status cannot see it, verify does.
    flip_a_byte(models_dir() / GGUF, keep_mtime=True)
    real_digest = status_module.digest_file
    monkeypatch.setattr(status_module, "digest_file", _no_hashing)
    assert status().can_answer
    monkeypatch.setattr(status_module, "digest_file", real_digest)
    checked = run_quietly(verify())
    assert not checked.can_answer and [f.name for f in checked.corrupt] == [GGUF]


def test_files_kura_did_not_install_are_usable_but_unverified(
        toy: Toy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    own = tmp_path / "my-embedder"
    own.mkdir()
    (own / "model.onnx").write_bytes(b"graph")
    (own / "tokenizer.json").write_text("{}")
    gguf = tmp_path / "my-model.gguf"
    gguf.write_bytes(b"GGUF....")
    monkeypatch.setenv("KURA_EMBEDDER_DIR", str(own))
    monkeypatch.setenv("KURA_LLM_PATH", str(gguf))
    now = status()
    assert now.can_index and now.can_answer
    assert {f.state for f in now.files} == {"unverified"}


def test_kura_models_status_json_and_text(toy: Toy) -> None:
    run_quietly(fetch(["llm"], mirror=toy.base, options=FAST))
    result = CliRunner().invoke(models, ["status", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["can_index"], data["can_answer"]) == (False, True)
    states = {f["name"]: f["state"] for f in data["files"]}
    assert states == {"model.onnx": "missing", "tokenizer.json": "missing", GGUF: "verified"}

    text = CliRunner().invoke(models, ["status"]).output
    assert "Can index: no; can answer: yes" in text and "kura models fetch" in text


def test_kura_models_verify_exits_1_on_damage(toy: Toy) -> None:
    run_quietly(fetch(mirror=toy.base, options=FAST))
    assert CliRunner().invoke(models, ["verify"]).exit_code == 0
    flip_a_byte(embedder_dir() / "tokenizer.json", keep_mtime=True)
    result = CliRunner().invoke(models, ["verify", "--json"])
    assert result.exit_code == 1
    assert [f["name"] for f in json.loads(result.output)["files"]
            if f["state"] == "corrupt"] == ["tokenizer.json"]


def test_a_folder_replaced_by_kuras_own_build_is_verified_not_corrupt(
        embedder_dir: Path) -> None:
    import shutil

    from desktop_app.core import paths
    from desktop_app.core.model_files.state import State

    target = paths.embedder_dir()
    State().record_installed("embedder", "embedder-fp32", target,
                             {"model.onnx": {"size": 1, "sha256": "0" * 64}})
    shutil.copytree(embedder_dir, target)  # e.g. `python -m models.build --install`
    now = status()
    assert now.can_index and now.embedder.verified
    assert now.embedder.bundle == "embedder-kura"


def test_kura_has_the_models_group(toy: Toy) -> None:
    from desktop_app.cli import cli as kura

    result = CliRunner().invoke(kura, ["models", "status", "--json"])
    assert result.exit_code == 0 and json.loads(result.output)["can_index"] is False

"""Downloads you can trust, end to end: a file that is not the model is never installed
(deleted, fetched afresh next time), and status says per file whether it was verified
against a pinned checksum or checked on first use."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from desktop_app.cli.models import models
from desktop_app.core.model_files import catalog as catalog_module
from desktop_app.core.model_files.fetcher import fetch
from desktop_app.core.model_files.identity import VERIFICATION_TEXT, NotTheModel
from desktop_app.core.model_files.importer import import_dir
from desktop_app.core.model_files.locations import staged_path
from desktop_app.core.model_files.model_status import status
from desktop_app.core.model_files.state import State
from desktop_app.core.paths import embedder_dir, models_dir
from desktop_app.core.progress import run_quietly
from tests.support.model_like import (
    EXPECT_270M,
    TINY,
    shipped_expect,
    write_gguf,
    write_graph,
    write_tokenizer,
)
from tests.support.model_server import ModelServer
from tests.support.toy_models import FAST, MB, Toy, sha256, source, write_catalog

GGUF = "gemma-3-4b-it-Q4_K_M.gguf"
PINNED = VERIFICATION_TEXT["pinned"]
CHECKED = VERIFICATION_TEXT["checked"]
EMBEDDER_FILES = ("onnx/model.onnx", "onnx/model.onnx_data", "tokenizer.json")


def entry(name: str, expect: dict[str, Any] | None, data: bytes | None = None) -> dict:
    """A catalog file like the shipped ones: nothing pinned (the server's X-Linked-Etag
    vouches for it), unless ``data`` is given to pin."""
    found: dict[str, Any] = {"name": name, "size": len(data) if data else None,
                             "sha256": sha256(data) if data else None, "license": "test",
                             "sources": [source(name)]}
    if expect is not None:
        found["expect"] = expect
    return found


def use_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bundles: list[dict]) -> None:
    path = tmp_path / "catalog.json"
    write_catalog(path, bundles)
    monkeypatch.setattr(catalog_module, "CATALOG_PATH", path)


def llm_bundle(expect: dict[str, Any], pin: bytes | None = None) -> dict:
    return {"id": "llm", "role": "llm", "default": True, "prepare": "install",
            "files": [entry(GGUF, expect, pin)]}


def embedder_bundle() -> dict:
    """The shipped embedder-fp32's files and expectations, installed as they are."""
    return {"id": "embedder", "role": "embedder", "default": True, "prepare": "install",
            "files": [entry(n, shipped_expect("embedder-fp32", n)
                            if n != "onnx/model.onnx_data" else None)
                      for n in EMBEDDER_FILES]}


def serve_embedder(server: ModelServer, folder: Path, **graph: Any) -> dict[str, bytes]:
    write_graph(folder / "onnx", "model.onnx", "model.onnx_data", **graph)
    write_tokenizer(folder / "tokenizer.json")
    files = {n: (folder / n).read_bytes() for n in EMBEDDER_FILES}
    for name, data in files.items():
        server.add(source(name), data)
    return files


# -- the LLM ------------------------------------------------------------------------


def test_a_download_that_is_not_the_model_is_deleted_and_fetched_afresh(
        server: ModelServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = write_gguf(tmp_path / "llama.gguf", replace(TINY, arch="llama"))
    server.add(source(GGUF), wrong.read_bytes())
    use_catalog(tmp_path, monkeypatch, [llm_bundle(shipped_expect("llm", GGUF))])

    with pytest.raises(NotTheModel) as caught:
        run_quietly(fetch(["llm"], mirror=server.base, options=FAST))
    message = str(caught.value)
    assert message.startswith(f"{GGUF}: This is not a Gemma 3 4B model file "
                              "(architecture: llama).")
    assert "deleted its copy" in message
    now = status()
    assert not now.can_answer and now.llm.files[0].state == "missing"
    assert not (models_dir() / GGUF).exists()
    bundle = catalog_module.load_catalog().bundle("llm")
    assert not staged_path(bundle.files[0]).exists()  # nothing left to resume or reuse
    assert State().remote(f"llm/{GGUF}") is None  # the server's word is asked afresh

    with pytest.raises(NotTheModel):
        run_quietly(fetch(["llm"], mirror=server.base, options=FAST))
    assert len(server.gets(source(GGUF))) == 2  # downloaded again, refused again


def test_a_pinned_file_that_is_not_the_model_is_refused_too(
        server: ModelServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = write_gguf(tmp_path / "tiny.gguf", TINY).read_bytes()
    server.add(source(GGUF), data)
    use_catalog(tmp_path, monkeypatch, [llm_bundle(shipped_expect("llm", GGUF), pin=data)])
    with pytest.raises(NotTheModel, match=r"block_count: 2, expected 34"):
        run_quietly(fetch(["llm"], mirror=server.base, options=FAST))
    assert not status().can_answer


@pytest.mark.slow
def test_a_real_gguf_is_checked_and_status_says_so(
        server: ModelServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from models.small_llm import gguf_270m

    real = gguf_270m()
    server.add(source(GGUF), file=real, sha256=sha256(real.read_bytes()))
    use_catalog(tmp_path, monkeypatch, [llm_bundle(EXPECT_270M)])
    run_quietly(fetch(["llm"], mirror=server.base, options=FAST.__class__(chunk=MB, min_free=0)))

    now = status()
    assert now.can_answer and now.llm.verification == "checked"
    (file,) = now.llm.files
    assert file.state == "verified" and file.verification == "checked"
    assert "gemma3, 18 blocks × 640" in file.checks

    text = CliRunner().invoke(models, ["status"]).output
    line = next(line for line in text.splitlines() if line.startswith(f"    verified   {GGUF}"))
    assert line.endswith(f"{CHECKED}")
    data = json.loads(CliRunner().invoke(models, ["status", "--json"]).output)
    (llm,) = [f for f in data["files"] if f["role"] == "llm"]
    assert (llm["verification"], llm["verification_text"]) == ("checked", CHECKED)
    assert data["roles"]["llm"]["verification"] == "checked"


def test_pinned_files_say_verified_against_a_pinned_checksum(toy: Toy) -> None:
    run_quietly(fetch(mirror=toy.base, options=FAST))
    now = status()
    assert {f.verification for f in now.files} == {"pinned"}
    assert now.embedder.verification == now.llm.verification == "pinned"
    text = CliRunner().invoke(models, ["status"]).output
    file_lines = [line for line in text.splitlines() if line.startswith("    ")]
    assert len(file_lines) == 4 and all(line.endswith(PINNED) for line in file_lines)


def test_the_hubs_word_alone_is_unverified(hub_toy: Toy) -> None:
    """No pin and nothing to check the contents against: said plainly."""
    run_quietly(fetch(mirror=hub_toy.base, options=FAST))
    now = status()
    assert now.can_index and now.can_answer
    assert {f.verification for f in now.files} == {"unverified"}
    text = CliRunner().invoke(models, ["status"]).output
    assert VERIFICATION_TEXT["unverified"] in text and CHECKED not in text


# -- the embedder -------------------------------------------------------------------


def test_an_embedder_download_is_checked_file_by_file(
        server: ModelServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    serve_embedder(server, tmp_path / "hub")
    use_catalog(tmp_path, monkeypatch, [embedder_bundle()])
    run_quietly(fetch(["embedder"], mirror=server.base, options=FAST))
    now = status()
    assert now.can_index and now.embedder.verification == "checked"
    by_name = {f.name: f for f in now.embedder.files}
    assert {n: f.verification for n, f in by_name.items()} == {
        "model.onnx": "checked", "model.onnx_data": "checked", "tokenizer.json": "checked"}
    assert "170 weight matrices" in by_name["model.onnx"].checks
    assert by_name["model.onnx_data"].checks == "size checked against the graph that uses it"
    assert "262,144 tokens" in by_name["tokenizer.json"].checks


def test_a_graph_without_sentence_embedding_is_refused_and_only_it_is_fetched_again(
        server: ModelServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    serve_embedder(server, tmp_path / "hub", outputs={"last_hidden_state": 768})
    use_catalog(tmp_path, monkeypatch, [embedder_bundle()])
    with pytest.raises(NotTheModel) as caught:
        run_quietly(fetch(["embedder"], mirror=server.base, options=FAST))
    assert caught.value.problem.startswith(
        "This is not an EmbeddingGemma graph (no output sentence_embedding; "
        "its outputs: last_hidden_state).")
    assert not status().can_index and not embedder_dir().exists()

    # The hub now serves the right graph: only it is downloaded again.
    good = serve_embedder(server, tmp_path / "hub2")
    weights_before = server.body_bytes(source("onnx/model.onnx_data"))
    run_quietly(fetch(["embedder"], mirror=server.base, options=FAST))
    assert status().can_index
    assert len(server.gets(source("onnx/model.onnx"))) == 2
    assert server.body_bytes(source("onnx/model.onnx_data")) == weights_before
    assert (embedder_dir() / "model.onnx").read_bytes() == good["onnx/model.onnx"]


def test_a_tokenizer_that_is_not_gemmas_is_refused_on_import(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: ModelServer) -> None:
    usb = tmp_path / "usb"
    files = serve_embedder(server, usb)
    write_tokenizer(usb / "tokenizer.json", vocab=32000)
    files["tokenizer.json"] = (usb / "tokenizer.json").read_bytes()
    (usb / "SHA256SUMS").write_text("".join(f"{sha256(data)}  {Path(name).name}\n"
                                            for name, data in files.items()))
    use_catalog(tmp_path, monkeypatch, [embedder_bundle()])

    report = run_quietly(import_dir(usb, roles=("embedder",)))
    assert not report.installed
    (rejected,) = report.rejected
    assert rejected.path == usb / "tokenizer.json"
    assert rejected.problem.startswith(
        "This is not Gemma's tokenizer (32,000 tokens, expected 262,144–262,208).")
    assert not status().can_index

    write_tokenizer(usb / "tokenizer.json")
    files["tokenizer.json"] = (usb / "tokenizer.json").read_bytes()
    (usb / "SHA256SUMS").write_text("".join(f"{sha256(data)}  {Path(name).name}\n"
                                            for name, data in files.items()))
    report = run_quietly(import_dir(usb, roles=("embedder",)))
    assert set(report.installed) == {"embedder"} and not report.rejected
    assert status().embedder.verification == "checked"
    assert server.hits == []  # an import never touches the network

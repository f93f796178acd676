"""fetch(): probe, plan, download, install; the mirror setting; ``kura models fetch``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections import namedtuple
from pathlib import Path

import pytest
from click.testing import CliRunner

from desktop_app.cli.models import models
from desktop_app.core.errors import KuraError
from desktop_app.core.model_files.checksums import Expected
from desktop_app.core.model_files.downloader import partial_path
from desktop_app.core.model_files.errors import NotEnoughSpace, Unverifiable
from desktop_app.core.model_files.fetcher import fetch
from desktop_app.core.model_files.locations import downloads_dir, staged_path
from desktop_app.core.model_files.mirror import base_url, source_url
from desktop_app.core.model_files.model_status import status
from desktop_app.core.model_files.state import State
from desktop_app.core.paths import embedder_dir, models_dir
from desktop_app.core.progress import run_quietly
from tests.support.toy_models import FAST, MB, TOY_EMBEDDER, TOY_LLM, Toy, blob, sha256

GGUF = next(iter(TOY_LLM))


def test_fetch_installs_both_models_verified(toy: Toy) -> None:
    report = run_quietly(fetch(mirror=toy.base, options=FAST))
    assert set(report.installed) == {"embedder", "llm"}
    assert report.installed["llm"] == models_dir() / GGUF
    assert (models_dir() / GGUF).read_bytes() == toy.blobs[GGUF]
    installed = sorted(p.name for p in embedder_dir().iterdir())
    assert installed == ["model.onnx", "model.onnx_data", "tokenizer.json"]
    assert (embedder_dir() / "model.onnx_data").read_bytes() == toy.blobs["onnx/model.onnx_data"]
    now = status()
    assert now.can_index and now.can_answer
    assert {f.state for f in now.files} == {"verified"}
    assert not any(downloads_dir().iterdir())  # staging cleaned up


def test_fetch_again_downloads_nothing(toy: Toy) -> None:
    run_quietly(fetch(mirror=toy.base, options=FAST))
    before = len(toy.server.hits)
    report = run_quietly(fetch(mirror=toy.base, options=FAST))
    assert report.installed == {} and report.already_ready == ("embedder", "llm")
    assert len(toy.server.hits) == before


def test_only_the_embedder_means_index_but_not_answer(toy: Toy) -> None:
    run_quietly(fetch(["embedder"], mirror=toy.base, options=FAST))
    now = status()
    assert now.can_index and not now.can_answer
    assert [f.state for f in now.llm.files] == ["missing"]
    assert toy.server.gets(toy.path_of(GGUF)) == []


def test_a_damaged_model_is_fetched_again(toy: Toy) -> None:
    run_quietly(fetch(mirror=toy.base, options=FAST))
    gguf = models_dir() / GGUF
    data = bytearray(gguf.read_bytes())
    data[100] ^= 1
    gguf.write_bytes(bytes(data))
    assert status().llm.files[0].state == "corrupt"
    report = run_quietly(fetch(mirror=toy.base, options=FAST))
    assert set(report.installed) == {"llm"}
    assert gguf.read_bytes() == toy.blobs[GGUF]


def test_unpinned_files_are_checked_against_the_hubs_sha256_which_is_recorded(
        hub_toy: Toy) -> None:
    run_quietly(fetch(mirror=hub_toy.base, options=FAST))
    heads = [h for h in hub_toy.server.hits if h.method == "HEAD"]
    assert len(heads) == len(TOY_EMBEDDER) + len(TOY_LLM)
    recorded = State().remote(f"toy-llm/{GGUF}")
    assert recorded is not None and recorded.sha256 == sha256(hub_toy.blobs[GGUF])
    assert recorded.size == len(hub_toy.blobs[GGUF])
    assert status().can_answer and status().llm.files[0].state == "verified"


def test_wrong_bytes_against_the_hubs_sha256_leave_nothing(hub_toy: Toy) -> None:
    hub_toy.server.fault(hub_toy.path_of(GGUF), corrupt=True)
    with pytest.raises(KuraError, match="sha256"):
        run_quietly(fetch(["llm"], mirror=hub_toy.base, options=FAST))
    assert not (models_dir() / GGUF).exists()
    assert not status().can_answer


def test_a_new_version_upstream_discards_the_old_partial_download(hub_toy: Toy) -> None:
    gguf = hub_toy.catalog.bundle("toy-llm").files[0]
    old = blob(len(hub_toy.blobs[GGUF]), 99)  # what the hub served when the .part began
    State().record_remote(gguf.key, Expected(sha256=sha256(old), size=len(old)),
                          hub_toy.server.url(hub_toy.path_of(GGUF)))
    part = partial_path(staged_path(gguf))
    part.parent.mkdir(parents=True, exist_ok=True)
    part.write_bytes(old[:MB])
    run_quietly(fetch(["llm"], mirror=hub_toy.base, options=FAST))
    assert (models_dir() / GGUF).read_bytes() == hub_toy.blobs[GGUF]
    assert hub_toy.server.gets(hub_toy.path_of(GGUF))[0].range_start is None
    recorded = State().remote(gguf.key)
    assert recorded is not None and recorded.sha256 == sha256(hub_toy.blobs[GGUF])


def test_a_mirror_that_reports_no_checksum_is_refused(hub_toy: Toy) -> None:
    hub_toy.server.fault(hub_toy.path_of(GGUF), hub_headers=False)
    with pytest.raises(Unverifiable, match="no checksum"):
        run_quietly(fetch(["llm"], mirror=hub_toy.base, options=FAST))
    assert hub_toy.server.gets(hub_toy.path_of(GGUF)) == []
    assert not (models_dir() / GGUF).exists()


def test_hf_endpoint_is_the_default_mirror(hub_toy: Toy,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", hub_toy.base + "/")
    run_quietly(fetch(["llm"], options=FAST))
    assert status().can_answer


def test_the_mirror_setting_order_and_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    assert base_url() == "https://huggingface.co"
    monkeypatch.setenv("HF_ENDPOINT", "https://hf-mirror.example/")
    assert base_url() == "https://hf-mirror.example"
    assert base_url("http://10.0.0.5:8080/hub") == "http://10.0.0.5:8080/hub"
    with pytest.raises(KuraError, match="http"):
        base_url("ftp://mirror")
    assert source_url("https://m.example", "org/r/resolve/main/a.gguf") \
        == "https://m.example/org/r/resolve/main/a.gguf"
    assert source_url("https://m.example", "https://other.example/a") == "https://other.example/a"


def test_free_space_for_everything_is_checked_before_the_first_byte(
        toy: Toy, monkeypatch: pytest.MonkeyPatch) -> None:
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda _p: usage(100 * MB, 95 * MB, 5 * MB))
    with pytest.raises(NotEnoughSpace, match="free"):
        # 8.25 MB in all: each file alone would fit
        run_quietly(fetch(mirror=toy.base, options=FAST))
    assert [h for h in toy.server.hits if h.method == "GET"] == []


def test_an_optional_file_the_server_lacks_is_skipped(
        server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from desktop_app.core.model_files import catalog as catalog_module
    from tests.support.toy_models import source, write_catalog

    data = blob(MB, 3)
    server.add(source("m.gguf"), data)
    path = tmp_path / "c.json"
    write_catalog(path, [{"id": "llm", "role": "llm", "files": [
        {"name": "m.gguf", "sha256": None, "size": None, "sources": [source("m.gguf")]},
        {"name": "README.md", "optional": True, "sha256": None, "size": None,
         "sources": [source("README.md")]}]}])
    monkeypatch.setattr(catalog_module, "CATALOG_PATH", path)
    run_quietly(fetch(["llm"], mirror=server.base, options=FAST))
    assert (models_dir() / "m.gguf").read_bytes() == data


# -- the CLI -----------------------------------------------------------------------------

# `kura models` as its own program, with the test catalog in place of the shipped one.
CLI = ("import sys; from pathlib import Path;"
       "from desktop_app.core.model_files import catalog;"
       "catalog.CATALOG_PATH = Path(sys.argv[1]);"
       "from desktop_app.cli.models import models;"
       "models(sys.argv[2:], prog_name='kura models')")


def test_an_interrupted_kura_models_fetch_resumes_where_it_stopped(toy: Toy) -> None:
    path = toy.path_of(GGUF)
    size = len(toy.blobs[GGUF])
    toy.server.fault(path, delay=0.03)  # ~2 MB/s: slow enough to be killed midway
    process = subprocess.Popen(
        [sys.executable, "-c", CLI, str(toy.catalog_path), "fetch", "--only", "llm",
         "--mirror", toy.base], env=dict(os.environ), stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    gguf = toy.catalog.bundle("toy-llm").files[0]
    part = partial_path(staged_path(gguf))
    try:
        # Wait for bytes on disk, not bytes sent: the kernel's socket buffers hold a MB
        # or more that the client has not read yet, and a kill then leaves nothing.
        deadline = time.monotonic() + 60
        while (not part.exists() or part.stat().st_size == 0) \
                and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        process.kill()  # as hard as a crash or a pulled plug: no clean-up code runs
        process.wait()
    kept = part.stat().st_size
    assert 0 < kept < size
    assert not (models_dir() / GGUF).exists()
    assert [d.bytes_on_disk for d in status().downloads] == [kept]

    toy.server.heal()
    result = CliRunner().invoke(models, ["fetch", "--only", "llm", "--mirror", toy.base])
    assert result.exit_code == 0, result.output
    resumed = toy.server.gets(path)[-1]
    assert resumed.range_start == kept and resumed.status == 206
    assert resumed.sent == size - kept  # bytes already on disk were not fetched again
    assert (models_dir() / GGUF).read_bytes() == toy.blobs[GGUF]


def test_kura_models_fetch_reports_a_missing_file_in_one_line(toy: Toy) -> None:
    toy.server.fault(toy.path_of(GGUF), status=404)
    result = CliRunner().invoke(models, ["fetch", "--only", "llm", "--mirror", toy.base])
    assert result.exit_code == 2
    assert "HTTP 404" in result.output and "Traceback" not in result.output


def test_kura_models_fetch_json(toy: Toy) -> None:
    import json

    result = CliRunner().invoke(models, ["fetch", "--mirror", toy.base, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["bundles"] == {"embedder": "toy-embedder", "llm": "toy-llm"}
    assert data["status"]["can_index"] and data["status"]["can_answer"]


def test_a_fetch_yields_byte_steps_and_stops_when_closed_leaving_a_resumable_part(
        toy: Toy) -> None:
    job = fetch(["llm"], mirror=toy.base, options=FAST)
    steps = []
    for step in job:
        steps.append(step)
        if step.stage == "download" and step.done >= MB:
            break
    job.close()
    downloads = [s for s in steps if s.stage == "download"]
    assert {(s.unit, s.item, s.total) for s in downloads} == {("bytes", GGUF, 4 * MB)}
    assert [s.done for s in downloads] == sorted(s.done for s in downloads)
    (part,) = downloads_dir().rglob("*.part")
    kept = part.stat().st_size
    assert MB <= kept < 4 * MB and not status().can_answer

    report = run_quietly(fetch(["llm"], mirror=toy.base, options=FAST))
    assert "llm" in report.installed and status().can_answer
    assert toy.server.gets(toy.path_of(GGUF))[-1].range_start == kept


def test_files_downloaded_before_an_interruption_install_while_the_hub_is_down(
        hub_toy: Toy, monkeypatch: pytest.MonkeyPatch) -> None:
    job = fetch(["llm"], mirror=hub_toy.base, options=FAST)
    for step in job:
        if step.stage == "install":  # downloaded and checked; about to move into place
            break
    job.close()
    assert not status().can_answer

    hub_toy.server.fault(hub_toy.path_of(GGUF), status=503, status_methods=("HEAD",))
    sent = hub_toy.server.body_bytes(hub_toy.path_of(GGUF))
    run_quietly(fetch(["llm"], mirror=hub_toy.base, options=FAST))
    assert status().can_answer  # checked against the sha256 recorded at the first probe
    assert hub_toy.server.body_bytes(hub_toy.path_of(GGUF)) == sent


def test_low_bandwidth_fetches_the_light_bundle_and_drops_the_other_downloads(
        server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from desktop_app.core.model_files import catalog as catalog_module
    from tests.support.toy_models import source, write_catalog

    big, small = blob(2 * MB, 1), blob(MB // 2, 2)
    server.add(source("big.onnx"), big)
    server.add(source("small.onnx"), small)

    def bundle(bundle_id: str, name: str, data: bytes, **flags: bool) -> dict:
        return {"id": bundle_id, "role": "embedder", "prepare": "install", **flags,
                "files": [{"name": name, "install_as": "model.onnx", "size": len(data),
                           "sha256": sha256(data), "sources": [source(name)]}]}

    path = tmp_path / "c.json"
    write_catalog(path, [bundle("big", "big.onnx", big, default=True),
                         bundle("small", "small.onnx", small, low_bandwidth=True)])
    monkeypatch.setattr(catalog_module, "CATALOG_PATH", path)
    leftover = downloads_dir() / "big" / "big.onnx.part"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(big[:MB])  # an earlier attempt at the big one

    report = run_quietly(fetch(["embedder"], low_bandwidth=True, mirror=server.base, options=FAST))
    assert report.bundles == {"embedder": "small"}
    assert (embedder_dir() / "model.onnx").read_bytes() == small
    assert not leftover.parent.exists()
    assert server.gets(source("big.onnx")) == []

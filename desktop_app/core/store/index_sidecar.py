"""The JSON file next to the hnswlib index that says what the index holds.

The index is trusted only if this agrees with both the file (size + sha256: hnswlib's
loader does not notice a wrong dimension and may crash on a corrupt file, so we check
before handing it the file) and the database (model, count and checksum of the id set).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from desktop_app.core.fileio import write_atomically

FORMAT = 1


@dataclass(frozen=True)
class Sidecar:
    dim: int
    m: int
    ef_construction: int
    model_id: str | None
    count: int  # live labels
    checksum: str  # vector_codec.id_stats of the live labels
    deleted: tuple[int, ...]  # labels marked deleted (hnswlib keeps them in the file)
    index_bytes: int
    index_sha256: str
    format: int = FORMAT


def sidecar_path(index_path: Path) -> Path:
    return index_path.with_name(index_path.name + ".meta.json")


def read_sidecar(index_path: Path) -> Sidecar | None:
    """The sidecar, or None if missing, unreadable or not of this format."""
    try:
        raw = json.loads(sidecar_path(index_path).read_text(encoding="utf-8"))
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            return None
        values = {f.name: raw[f.name] for f in fields(Sidecar)}
        values["deleted"] = tuple(int(x) for x in values["deleted"])
        sidecar = Sidecar(**values)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    ints = (sidecar.dim, sidecar.m, sidecar.ef_construction, sidecar.count, sidecar.index_bytes)
    if not all(isinstance(v, int) for v in ints):
        return None
    return sidecar


def write_sidecar(index_path: Path, sidecar: Sidecar) -> None:
    data = asdict(sidecar)
    data["deleted"] = list(sidecar.deleted)
    write_atomically(sidecar_path(index_path), json.dumps(data).encode("utf-8"))

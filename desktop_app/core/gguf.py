"""Checks a GGUF model file before llama.cpp is asked to load it.

Why not let llama.cpp find out: it reports a bad file as a bare "failed to load model"
after printing to stderr, and a file cut short by an interrupted download can get far
enough to map gigabytes first. Reading the header (a few MB: the tokenizer's vocabulary
is in it) tells the user exactly what is wrong with which file, at once:

- missing, or not a file;
- not a GGUF (the first four bytes are not ``GGUF``);
- truncated: the header ends early, or the tensor data it describes runs past the end.

The metadata it reads (arrays as their length only) and the parameter count also tell
*which* model a file is: ``model_files.identity`` checks them against the catalog.

The header layout is GGUF v2/v3 (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md).
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass, field
from pathlib import Path

from desktop_app.core.errors import ModelFileError

MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32

# ggml tensor types whose storage is certain: id -> (elements per block, bytes per block).
# Types not listed (rare or newer quantizations) are checked by their offsets only.
_BLOCKS: dict[int, tuple[int, int]] = {
    0: (1, 4),  # F32
    1: (1, 2),  # F16
    2: (32, 18),  # Q4_0
    3: (32, 20),  # Q4_1
    6: (32, 22),  # Q5_0
    7: (32, 24),  # Q5_1
    8: (32, 34),  # Q8_0
    10: (256, 84),  # Q2_K
    11: (256, 110),  # Q3_K
    12: (256, 144),  # Q4_K
    13: (256, 176),  # Q5_K
    14: (256, 210),  # Q6_K
    24: (1, 1),  # I8
    25: (1, 2),  # I16
    26: (1, 4),  # I32
    27: (1, 8),  # I64
    28: (1, 8),  # F64
    30: (1, 2),  # BF16
}

# Metadata value types: id -> struct format of one scalar (8: string, 9: array).
_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?",
            10: "Q", 11: "q", 12: "d"}
_STRING, _ARRAY = 8, 9


@dataclass(frozen=True)
class GGUFArray:
    """A metadata array, kept as its length (the vocabulary alone is 262,144 strings)."""

    item_type: int
    count: int


@dataclass(frozen=True)
class GGUFInfo:
    path: Path
    version: int
    architecture: str | None
    context_length: int | None  # the model's training context, from the metadata
    has_chat_template: bool
    tensors: int
    size: int  # bytes on disk
    data_end: int  # where the last tensor ends (size must be at least this)
    # Every metadata key: numbers and booleans as they are, strings decoded, arrays as
    # GGUFArray (their length).
    metadata: dict[str, object] = field(default_factory=dict, compare=False, repr=False)
    parameters: int = 0  # elements over all tensors (the model's parameter count)


class _Truncated(Exception):
    pass


class _Reader:
    def __init__(self, buffer: mmap.mmap | bytes) -> None:
        self.buf = buffer
        self.pos = 0

    def take(self, fmt: str) -> tuple:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.buf):
            raise _Truncated
        values = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += size
        return values

    def u32(self) -> int:
        return int(self.take("<I")[0])

    def u64(self) -> int:
        return int(self.take("<Q")[0])

    def string(self) -> bytes:
        n = self.u64()
        if self.pos + n > len(self.buf):
            raise _Truncated
        value = bytes(self.buf[self.pos : self.pos + n])
        self.pos += n
        return value

    def skip_value(self, kind: int) -> object:
        """Read one metadata value; arrays are skipped (returned as their GGUFArray)."""
        if kind == _STRING:
            return self.string()
        if kind == _ARRAY:
            item_kind, count = self.u32(), self.u64()
            if item_kind in _SCALARS:
                size = struct.calcsize("<" + _SCALARS[item_kind]) * count
                if self.pos + size > len(self.buf):
                    raise _Truncated
                self.pos += size
            elif item_kind == _STRING:
                for _ in range(count):
                    n = self.u64()
                    self.pos += n
                    if self.pos > len(self.buf):
                        raise _Truncated
            else:
                raise ValueError(f"unknown metadata array type {item_kind}")
            return GGUFArray(item_kind, count)
        if kind in _SCALARS:
            return self.take("<" + _SCALARS[kind])[0]
        raise ValueError(f"unknown metadata type {kind}")


def check_gguf(path: Path | str) -> GGUFInfo:
    """Read and check a GGUF header; ModelFileError (naming the file) if it is unusable."""
    path = Path(path)
    if not path.exists():
        raise ModelFileError(path, "no such model file (set KURA_LLM_PATH to use another GGUF)")
    if not path.is_file():
        raise ModelFileError(path, "is not a file")
    try:
        with path.open("rb") as fh:
            size = fh.seek(0, 2)
            fh.seek(0)
            head = fh.read(4)
            if size == 0:
                raise ModelFileError(path, "the file is empty (an interrupted download?)")
            if head != MAGIC:
                if MAGIC.startswith(head):
                    raise _Truncated
                raise ModelFileError(path, "is not a GGUF model file")
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buffer:
                return _parse(path, buffer, size)
    except _Truncated:
        raise ModelFileError(path, "the file is truncated (an interrupted download?): "
                                   "its header ends early") from None
    except (ValueError, OverflowError, struct.error) as exc:
        raise ModelFileError(path, f"the GGUF header is damaged ({exc})") from None
    except OSError as exc:
        raise ModelFileError(path, f"cannot read it ({exc.strerror or exc})") from None


def _parse(path: Path, buffer: mmap.mmap, size: int) -> GGUFInfo:
    reader = _Reader(buffer)
    reader.pos = 4
    version = reader.u32()
    if version not in (2, 3):
        raise ModelFileError(path, f"GGUF version {version} is not supported (2 or 3 is)")
    n_tensors, n_kv = reader.u64(), reader.u64()
    # Counts beyond what the file could hold mean garbage, not a model.
    if n_tensors > size // 24 or n_kv > size // 12:
        raise ValueError("impossible tensor or metadata count")
    meta: dict[str, object] = {}
    for _ in range(n_kv):
        key = reader.string().decode("utf-8", "replace")
        meta[key] = reader.skip_value(reader.u32())
    arch = meta.get("general.architecture")
    arch_name = arch.decode("utf-8", "replace") if isinstance(arch, bytes) else None
    context = meta.get(f"{arch_name}.context_length") if arch_name else None
    alignment = meta.get("general.alignment", DEFAULT_ALIGNMENT)
    if not isinstance(alignment, int) or alignment <= 0:
        alignment = DEFAULT_ALIGNMENT

    data_end = 0
    parameters = 0
    ends: list[int] = []
    for _ in range(n_tensors):
        reader.string()  # name
        n_dims = reader.u32()
        if n_dims > 8:
            raise ValueError("impossible tensor rank")
        dims = reader.take(f"<{n_dims}Q")
        kind, offset = reader.u32(), reader.u64()
        elements = 1
        for d in dims:
            elements *= int(d)
        parameters += elements
        block = _BLOCKS.get(kind)
        nbytes = (elements // block[0]) * block[1] if block else 0
        ends.append(offset + nbytes)
    data_start = -(-reader.pos // alignment) * alignment
    data_end = data_start + max(ends, default=0)
    if data_end > size:
        raise ModelFileError(path, f"the file is truncated (an interrupted download?): "
                                   f"{size:,} bytes, its tensors need {data_end:,}")
    return GGUFInfo(
        path=path,
        version=version,
        architecture=arch_name,
        context_length=context if isinstance(context, int) else None,
        has_chat_template="tokenizer.chat_template" in meta,
        tensors=n_tensors,
        size=size,
        data_end=data_end,
        metadata={k: v.decode("utf-8", "replace") if isinstance(v, bytes) else v
                  for k, v in meta.items()},
        parameters=parameters,
    )

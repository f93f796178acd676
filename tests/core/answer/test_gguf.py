"""The model file check: a bad file is a ModelFileError naming it, and nothing crashes."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest

from desktop_app.core.answer import Answerer, LlamaEngine, LLMSettings, check_gguf
from desktop_app.core.errors import ModelFileError


def test_the_real_file_passes_and_its_tensors_end_at_its_end(gguf_270m: Path) -> None:
    info = check_gguf(gguf_270m)
    assert info.architecture == "gemma3" and info.version == 3
    assert info.context_length == 32768
    assert not info.has_chat_template  # the base model: nothing may rely on a template
    assert info.data_end == info.size == gguf_270m.stat().st_size


def _truncated_copy(source: Path, target: Path, size: int) -> Path:
    with source.open("rb") as src, target.open("wb") as dst:
        dst.write(src.read(size))
    return target


@pytest.mark.parametrize("case", ["missing", "empty", "not_gguf", "cut_in_header",
                                  "cut_in_tensors", "directory"])
def test_a_bad_model_file_is_a_clear_error(case: str, gguf_270m: Path, tmp_path: Path) -> None:
    path = tmp_path / f"{case}.gguf"
    if case == "empty":
        path.write_bytes(b"")
    elif case == "not_gguf":
        path.write_bytes(b"PK\x03\x04 this is a zip, not a model" * 100)
    elif case == "cut_in_header":
        _truncated_copy(gguf_270m, path, 1 << 20)  # the vocabulary alone is larger
    elif case == "cut_in_tensors":
        _truncated_copy(gguf_270m, path, gguf_270m.stat().st_size - 4096)
    elif case == "directory":
        path.mkdir()
    with pytest.raises(ModelFileError) as caught:
        LlamaEngine(LLMSettings(model_path=path, n_ctx=512))
    assert caught.value.path == path
    assert str(path) in str(caught.value)
    expected = {"missing": "no such model file", "empty": "empty", "not_gguf": "not a GGUF",
                "cut_in_header": "truncated", "cut_in_tensors": "truncated",
                "directory": "not a file"}[case]
    assert expected in str(caught.value)


def test_the_default_path_and_its_override(monkeypatch: pytest.MonkeyPatch,
                                           private_user_dirs: Path, tmp_path: Path) -> None:
    from desktop_app.core.answer import llm_path

    assert llm_path() == private_user_dirs / "models" / "gemma-3-4b-it-Q4_K_M.gguf"
    monkeypatch.setenv("KURA_LLM_PATH", str(tmp_path / "other.gguf"))
    assert llm_path() == tmp_path / "other.gguf"
    assert LLMSettings().resolved_path() == tmp_path / "other.gguf"


def test_a_missing_model_does_not_stop_the_library_or_the_process(kb_library, tmp_path: Path,
                                                                  short_answers) -> None:
    missing = tmp_path / "nowhere.gguf"
    answerer = Answerer(kb_library, settings=short_answers,
                        llm_settings=LLMSettings(model_path=missing))
    with pytest.raises(ModelFileError, match=r"nowhere\.gguf"):
        answerer.answer("如何重置密码?")
    assert not answerer.llm_loaded
    assert kb_library.search("如何重置密码?", k=1).results  # still usable
    assert os.getpid()  # and we are still here


def _gguf_header(architecture: bytes) -> bytes:
    """A valid GGUF v3 header with no tensors: passes the file check, not llama.cpp."""

    def string(value: bytes) -> bytes:
        return struct.pack("<Q", len(value)) + value

    return (b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + string(b"general.architecture")
            + struct.pack("<I", 8) + string(architecture) + b"\0" * 32)


def test_a_gguf_llama_cpp_cannot_load_says_why(tmp_path: Path) -> None:
    path = tmp_path / "foreign.gguf"
    path.write_bytes(_gguf_header(b"not-a-real-architecture"))
    assert check_gguf(path).architecture == "not-a-real-architecture"
    with pytest.raises(ModelFileError) as caught:
        LlamaEngine(LLMSettings(model_path=path, n_ctx=512))
    message = str(caught.value)
    assert message.startswith(str(path)) and "llama.cpp could not load it" in message
    assert "unknown model architecture" in message

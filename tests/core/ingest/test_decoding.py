"""Every encoding a person's old files come in decodes to exactly the text written."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from desktop_app.core.ingest import SkipReason, UnreadableFile, parse
from desktop_app.core.ingest.decoding import clean_lines, decode
from tests.support.documents import (
    CHINESE_SIMPLIFIED,
    CHINESE_TRADITIONAL,
    JAPANESE,
    WESTERN,
)

MIXED = "Kura 知识库 — naïve café ✓"


@pytest.mark.parametrize(("label", "data", "text", "family"), [
    ("utf-8", MIXED.encode("utf-8"), MIXED, {"utf-8"}),
    ("utf-8 with BOM", codecs.BOM_UTF8 + MIXED.encode("utf-8"), MIXED, {"utf-8-sig"}),
    ("utf-16 LE", codecs.BOM_UTF16_LE + MIXED.encode("utf-16-le"), MIXED, {"utf-16-le"}),
    ("utf-16 BE", codecs.BOM_UTF16_BE + MIXED.encode("utf-16-be"), MIXED, {"utf-16-be"}),
    ("gbk", CHINESE_SIMPLIFIED.encode("gbk"), CHINESE_SIMPLIFIED, {"gbk", "gb18030", "gb2312"}),
    ("gb18030", CHINESE_SIMPLIFIED.encode("gb18030"), CHINESE_SIMPLIFIED,
     {"gbk", "gb18030", "gb2312"}),
    ("big5", CHINESE_TRADITIONAL.encode("big5"), CHINESE_TRADITIONAL,
     {"big5", "big5hkscs", "cp950"}),
    ("shift-jis", JAPANESE.encode("shift_jis"), JAPANESE,
     {"shift_jis", "cp932", "shift_jis_2004"}),
    ("latin-1", WESTERN.encode("latin-1"), WESTERN, {"cp1252", "iso8859-1", "iso8859-15"}),
    ("cp1252", (WESTERN + " “Quoted” – €5").encode("cp1252"), WESTERN + " “Quoted” – €5",
     {"cp1252"}),
])
def test_encodings_decode_exactly(tmp_path: Path, label: str, data: bytes, text: str,
                                  family: set[str]) -> None:
    path = tmp_path / "note.txt"
    path.write_bytes(data)
    document = parse(path)
    assert document.sections[0].text == text, label
    assert document.encoding in family, label


def test_utf8_is_the_fast_path_without_guessing(monkeypatch: pytest.MonkeyPatch) -> None:
    from desktop_app.core.ingest import decoding

    def no_guessing(data: bytes) -> None:
        raise AssertionError("charset detection ran for valid UTF-8")

    monkeypatch.setattr(decoding, "from_bytes", no_guessing)
    text = "plain ASCII and 中文"
    assert decode(text.encode(), Path("a.txt")) == (text, "utf-8")


@pytest.mark.parametrize("data", [
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" * 50,  # an executable header renamed to .txt
    bytes(range(256)) * 20,
    b"\x01\x02\x03\x04\x05abc\x06\x07\x08\x0e\x0f" * 200,  # control characters, no NUL
])
def test_binary_content_is_refused(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "data.txt"
    path.write_bytes(data)
    with pytest.raises(UnreadableFile) as caught:
        parse(path)
    assert caught.value.reason is SkipReason.BINARY
    assert caught.value.message == "This looks like binary data, not text."


def test_utf16_nul_bytes_are_not_binary_when_the_bom_says_so() -> None:
    text, encoding = decode(codecs.BOM_UTF16_LE + "abc\n".encode("utf-16-le"), Path("a.txt"))
    assert (text, encoding) == ("abc\n", "utf-16-le")


def test_log_with_ansi_colours_is_text() -> None:
    log = "\x1b[32mINFO\x1b[0m started\n" * 50
    assert decode(log.encode(), Path("a.log"))[0] == log


def test_clean_lines_trims_noise_but_keeps_indentation() -> None:
    assert clean_lines("\n\n  def f():  \r\n      return 1\t\n\n\n") == (
        "  def f():\n      return 1")

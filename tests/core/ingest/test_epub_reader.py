from __future__ import annotations

from pathlib import Path

import pytest

from desktop_app.core.ingest import SkipReason, UnreadableFile, parse
from tests.support.documents import add_to_zip, epub_book

_ENCRYPTION = """<?xml version="1.0"?>
<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container"
            xmlns:enc="http://www.w3.org/2001/04/xmlenc#">
  <enc:EncryptedData>
    <enc:EncryptionMethod Algorithm="{algorithm}"/>
    <enc:CipherData><enc:CipherReference URI="{uri}"/></enc:CipherData>
  </enc:EncryptedData>
</encryption>"""


def test_one_section_per_chapter_named_by_heading_or_toc(tmp_path: Path) -> None:
    document = parse(epub_book(tmp_path / "guide.epub"))
    assert document.kind == "epub"
    assert document.title == "The Kura Guide"
    assert [(s.location, s.heading) for s in document.sections] == [
        ("Chapter 1: Getting Started", "Chapter 1: Getting Started"),
        ("Chapter 2: Setup", "Chapter 2: Setup"),  # no heading in the file: the TOC's
    ]
    assert document.sections[0].text == (
        "Chapter 1: Getting Started\nKura reads your documents offline.")
    assert document.sections[1].text == "Pick a folder.\nWait for the index."


def test_drm_is_reported_as_encrypted(tmp_path: Path) -> None:
    path = add_to_zip(epub_book(tmp_path / "drm.epub"), "META-INF/encryption.xml",
                      _ENCRYPTION.format(algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc",
                                         uri="EPUB/chap_01.xhtml"))
    with pytest.raises(UnreadableFile) as caught:
        parse(path)
    assert caught.value.reason is SkipReason.ENCRYPTED
    assert caught.value.message == "This e-book is locked with copy protection (DRM)."


def test_font_obfuscation_is_not_drm(tmp_path: Path) -> None:
    path = add_to_zip(epub_book(tmp_path / "fonts.epub"), "META-INF/encryption.xml",
                      _ENCRYPTION.format(algorithm="http://www.idpf.org/2008/embedding",
                                         uri="EPUB/fonts/serif.otf"))
    assert len(parse(path).sections) == 2


def test_zip_without_a_book_is_corrupt(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "empty.epub"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/epub+zip")
    with pytest.raises(UnreadableFile) as caught:
        parse(path)
    assert caught.value.reason is SkipReason.CORRUPT
    assert caught.value.message == "The file is damaged or is not a real e-book."

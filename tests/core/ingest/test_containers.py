from __future__ import annotations

from pathlib import Path

import pytest

from desktop_app.core.ingest import SkipReason, UnreadableFile, containers
from tests.support.documents import docx_handbook, ole_file


def test_a_real_office_file_passes(tmp_path: Path) -> None:
    containers.check_zip_container(docx_handbook(tmp_path / "a.docx"))


def test_encryption_marker_split_across_read_chunks_is_found(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = ole_file(tmp_path / "locked.xlsx", encrypted=True)
    marker_at = path.read_bytes().index("EncryptionInfo".encode("utf-16-le"))
    monkeypatch.setattr(containers, "_CHUNK", marker_at + 5)  # the name straddles two reads
    with pytest.raises(UnreadableFile) as caught:
        containers.check_zip_container(path)
    assert caught.value.reason is SkipReason.ENCRYPTED
    assert caught.value.message == "This Excel workbook is password-protected."


def test_not_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "a.pptx"
    path.write_text("hello")
    with pytest.raises(UnreadableFile) as caught:
        containers.check_zip_container(path)
    assert caught.value.reason is SkipReason.CORRUPT
    assert caught.value.message == "The file is damaged or is not a real PowerPoint presentation."

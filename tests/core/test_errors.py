"""KuraError codes: what the window looks its text up by."""

from __future__ import annotations

from desktop_app.core.errors import KuraError, ModelFileError


def test_a_subclass_is_coded_by_its_name_unless_it_says_otherwise() -> None:
    class DownloadError(KuraError):
        pass

    class SchemaTooNewError(DownloadError):
        pass

    class Chosen(KuraError):
        code = "picked"

    assert KuraError.code == "general"
    assert ModelFileError.code == "model_file"
    assert DownloadError.code == "download"
    assert SchemaTooNewError.code == "schema_too_new"  # its own, not its parent's
    assert Chosen("x").code == "picked"

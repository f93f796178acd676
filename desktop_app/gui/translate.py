"""The core's messages in the user's language.

The core says what happened as a code and writes an English sentence for the command
line; the window looks the code up in ``strings`` instead:

- why a file was skipped: ``SkipWording.code`` → ``skip.<code>``, the format's noun
  ``format.<kind>``;
- why a preview shows the passage alone: ``NoteCode`` → ``preview.note.<code>``;
- an error: ``KuraError.code`` → ``error.<code>``, with the core's message as ``{detail}``.

A new code in the core is a new key in every language of ``strings`` (a test lists any
that is missing).
"""

from __future__ import annotations

from pathlib import Path

from desktop_app.core.errors import KuraError
from desktop_app.core.ingest import SkipReason, UnreadableFile
from desktop_app.core.ingest.errors import SkipWording, skip_wording
from desktop_app.core.preview import PagePreview, TextPreview
from desktop_app.core.settings import MAX_FILE_BYTES
from desktop_app.gui.strings import tr


def wording_text(wording: SkipWording) -> str:
    noun = tr(f"format.{wording.kind}") if wording.kind else tr("format.file")
    return tr(f"skip.{wording.code}", noun=noun, suffix=wording.suffix,
              new_suffix=wording.new_suffix, limit=wording.limit)


def skip_text(reason: str | None, path: str, stored: str | None = None) -> str:
    """Why ``path`` was skipped, from the reason code the library stored.

    Whether it was a folder and the size limit are not stored with the code: the variant
    whose English sentence the stored message starts with is the one the library chose
    (so the window keeps "folder" and "larger than the 200 MB limit"). A stored message
    that matches no variant gets the plain wording of its code."""
    try:
        reason_code = SkipReason(reason or "")
    except ValueError:
        return stored or reason or "?"
    variants = [skip_wording(reason_code, Path(path), folder=folder, limit=limit)
                for folder in (False, True) for limit in (None, MAX_FILE_BYTES)]
    if stored is None:
        return wording_text(variants[0])
    for wording in sorted(variants, key=lambda w: -len(w.english())):
        if stored.startswith(wording.english()):
            return wording_text(wording)
    return wording_text(variants[0])


def note_text(preview: PagePreview | TextPreview) -> str:
    """The preview's note; empty when there is none."""
    if not isinstance(preview, TextPreview) or preview.note_code is None:
        return ""
    reason = wording_text(preview.unreadable) if preview.unreadable else ""
    return tr(f"preview.note.{preview.note_code}", reason=reason)


def error_text(exc: KuraError) -> str:
    if isinstance(exc, UnreadableFile):
        return tr("error.unreadable_file", path=exc.path, reason=wording_text(exc.wording))
    return tr(f"error.{exc.code}", detail=str(exc))

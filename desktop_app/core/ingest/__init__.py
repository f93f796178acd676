"""Document readers: folders in, text sections out, unreadable files explained.

``discover(folder)`` names the files to read (and the ones Kura cannot read, as
``Skipped``); ``parse(file)`` turns one file into a ``ParsedDocument`` of ``Section``s or
raises ``UnreadableFile`` whose ``.message`` tells the person why, in one sentence.
"""

from desktop_app.core.ingest.discover import Skipped, discover
from desktop_app.core.ingest.document import ParsedDocument, Section
from desktop_app.core.ingest.errors import SkipReason, UnreadableFile
from desktop_app.core.ingest.formats import Kind, kind_of
from desktop_app.core.ingest.parse import parse

__all__ = [
    "Kind",
    "ParsedDocument",
    "Section",
    "SkipReason",
    "Skipped",
    "UnreadableFile",
    "discover",
    "kind_of",
    "parse",
]

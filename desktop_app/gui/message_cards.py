"""The cards of a conversation: a question, an answer (streamed, Markdown, numbered
citations as links, its sources listed under it) and Kura's "I don't know", which looks
different on purpose: it is not an answer, and it says which collections were searched.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, QUrl, Signal
from PySide6.QtGui import QTextOption
from PySide6.QtWidgets import QFrame, QLabel, QSizePolicy, QTextBrowser, QVBoxLayout, QWidget

from desktop_app.core.answer import Source
from desktop_app.gui.strings import tr

CITE_SCHEME = "cite"
_MARKER = re.compile(r"\[(\d{1,2}(?:\s*[,，]\s*\d{1,2})*)\]")


def link_citations(markdown: str, numbers: Sequence[int]) -> str:
    """``[2]`` and ``[1, 3]`` → Markdown links ``cite:n`` for the passages that exist;
    other brackets are left as they are."""
    known = set(numbers)

    def link(match: re.Match[str]) -> str:
        parts = [int(p) for p in re.split(r"\s*[,，]\s*", match.group(1))]
        if not all(p in known for p in parts):
            return match.group(0)
        return "".join(f"[\\[{p}\\]]({CITE_SCHEME}:{p})" for p in parts)

    return _MARKER.sub(link, markdown)


def source_label(source: Source) -> str:
    where = source.location or ""
    return f"[{source.number}] {Path(source.path).name}" + (f" — {where}" if where else "")


class AutoHeightBrowser(QTextBrowser):
    """A QTextBrowser as tall as its text, so cards stack in one scroll area."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("answerText")
        self.setOpenLinks(False)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.document().documentLayout().documentSizeChanged.connect(self._fit)

    def _fit(self, *_args: object) -> None:
        self.document().setTextWidth(self.viewport().width())
        height = int(self.document().size().height()) + 8
        if height != self.height():
            self.setFixedHeight(height)

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._fit()

    def sizeHint(self) -> QSize:
        return QSize(400, self.height())


class QuestionCard(QFrame):
    def __init__(self, question: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("questionCard")
        layout = QVBoxLayout(self)
        self.label = QLabel(question)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setAccessibleName(question)
        layout.addWidget(self.label)


class AnswerCard(QFrame):
    """One answer, streamed in piece by piece, then finished with its sources."""

    source_clicked = Signal(object)  # the Source

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("answerCard")
        self.text = ""
        self.sources: list[Source] = []
        self.passages: list[Source] = []
        self.declined = False
        layout = QVBoxLayout(self)
        self.title = QLabel()
        self.title.setObjectName("declinedTitle")
        self.title.hide()
        self.body = AutoHeightBrowser()
        self.body.setAccessibleName(tr("ask.answer_name"))
        self.body.anchorClicked.connect(self._on_link)
        self.status = QLabel(tr("ask.thinking"))
        self.status.setObjectName("answerStatus")
        self.sources_label = QLabel()
        self.sources_label.setObjectName("sources")
        self.sources_label.setWordWrap(True)
        self.sources_label.setTextFormat(Qt.TextFormat.RichText)
        self.sources_label.linkActivated.connect(lambda href: self._on_link(QUrl(href)))
        self.sources_label.hide()
        for widget in (self.title, self.body, self.status, self.sources_label):
            layout.addWidget(widget)

    # -- streaming --------------------------------------------------------------------

    def set_phase(self, text: str) -> None:
        self.status.setText(text)
        self.status.setVisible(bool(text))

    def append(self, piece: str) -> None:
        self.text += piece
        self.body.setMarkdown(self.text)

    # -- finished ---------------------------------------------------------------------

    def finish(self, text: str, sources: Sequence[Source], passages: Sequence[Source],
               declined: bool, cancelled: bool, collections: Sequence[str]) -> None:
        self.text = text
        self.sources = list(sources)
        self.passages = list(passages) or self.sources
        self.declined = declined
        self.status.hide()
        if declined:
            self.setObjectName("declinedCard")
            self.title.setText(tr("ask.declined_title"))
            self.title.show()
            self.body.setPlainText(text)
            self.sources_label.setText(tr("ask.searched", names=", ".join(collections)))
            self.sources_label.show()
            self._restyle()
            return
        numbers = [p.number for p in self.passages]
        shown = link_citations(text, numbers)
        if cancelled:
            shown += f"\n\n*{tr('ask.stopped')}*"
        self.body.setMarkdown(shown)
        if self.sources:
            links = "<br>".join(
                f'<a href="{CITE_SCHEME}:{s.number}">{html.escape(source_label(s))}</a>'
                for s in self.sources)
            self.sources_label.setText(f"<b>{html.escape(tr('ask.sources'))}</b><br>{links}")
            self.sources_label.show()

    def fail(self, error: str) -> None:
        self.status.hide()
        self.body.setPlainText(tr("ask.failed", error=error))

    def source(self, number: int) -> Source | None:
        for s in self.passages + self.sources:
            if s.number == number:
                return s
        return None

    def _on_link(self, url: QUrl) -> None:
        if url.scheme() != CITE_SCHEME:
            return
        found = self.source(int(url.path() or url.toString().split(":", 1)[1]))
        if found is not None:
            self.source_clicked.emit(found)

    def _restyle(self) -> None:
        style = self.style()
        style.unpolish(self)
        style.polish(self)

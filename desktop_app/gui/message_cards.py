"""The cards of a conversation: a question, an answer (streamed, Markdown, numbered
citations as links, its sources listed under it) and Kura's "I don't know", which looks
different on purpose: it is not an answer, and it says which collections were searched.

An answer card shows, in order of arrival: the extract (the passages' sentences that
answer, cited, as soon as retrieval is done), the written answer as it streams, each
sentence that no cited passage supports marked with ⚠ and listed with the reason under
the answer, and which machine wrote it.
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

from desktop_app.core.answer import ExtractItem, SentenceCheck, Source
from desktop_app.core.answer.llm import LOCAL_ORIGIN
from desktop_app.gui.strings import tr

CITE_SCHEME = "cite"
FLAG = "⚠"
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


def mark_flagged(text: str, checks: Sequence[SentenceCheck]) -> str:
    """``text`` with ⚠ after each sentence no cited passage supports (by the checks'
    spans, which index ``text``)."""
    out = text
    for check in sorted((c for c in checks if c.flagged), key=lambda c: -c.end):
        if 0 < check.end <= len(out):
            out = out[: check.end] + f" {FLAG}" + out[check.end:]
    return out


def check_reason(check: SentenceCheck) -> str:
    """Why a sentence is flagged, in the window's language."""
    parts = [tr("ask.not_in_cited") if check.cited else tr("ask.not_in_any")]
    if check.missing:
        parts.append(tr("ask.missing", facts=", ".join(check.missing)))
    if check.supported_by and check.cited:
        parts.append(tr("ask.supported_in", number=check.supported_by[0]))
    return "; ".join(parts)


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
        self.checks: list[SentenceCheck] = []
        self.extract: list[ExtractItem] = []
        layout = QVBoxLayout(self)
        self.extract_label = QLabel()
        self.extract_label.setObjectName("extract")
        self.extract_label.setWordWrap(True)
        self.extract_label.setTextFormat(Qt.TextFormat.RichText)
        self.extract_label.setAccessibleName(tr("ask.extract_name"))
        self.extract_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextBrowserInteraction)
        self.extract_label.linkActivated.connect(lambda href: self._on_link(QUrl(href)))
        self.extract_label.hide()
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
        self.flagged_label = QLabel()
        self.flagged_label.setObjectName("flagged")
        self.flagged_label.setWordWrap(True)
        self.flagged_label.setTextFormat(Qt.TextFormat.RichText)
        self.flagged_label.hide()
        self.origin_label = QLabel()
        self.origin_label.setObjectName("answerOrigin")
        self.origin_label.hide()
        for widget in (self.extract_label, self.title, self.body, self.status,
                       self.flagged_label, self.sources_label, self.origin_label):
            layout.addWidget(widget)

    # -- streaming --------------------------------------------------------------------

    def set_phase(self, text: str) -> None:
        self.status.setText(text)
        self.status.setVisible(bool(text))

    def append(self, piece: str) -> None:
        self.text += piece
        self.body.setMarkdown(mark_flagged(self.text, self.checks))

    def set_extract(self, sentences: Sequence[ExtractItem], passages: Sequence[Source]) -> None:
        """The passages' best sentences, cited, before the model has written a word."""
        self.extract = list(sentences)
        if passages:
            self.passages = list(passages)
        if not self.extract:
            self.extract_label.hide()
            return
        lines = "".join(
            f'<li>{html.escape(e.text)} <a href="{CITE_SCHEME}:{e.number}">[{e.number}]</a></li>'
            for e in self.extract)
        self.extract_label.setText(
            f"<b>{html.escape(tr('ask.extract_title'))}</b><ul>{lines}</ul>")
        self.extract_label.show()

    def mark_checked(self, check: SentenceCheck) -> None:
        """A sentence has been checked: a flagged one gets its ⚠ now, while streaming."""
        self.checks = [c for c in self.checks if c.index != check.index] + [check]
        if check.flagged:
            self.body.setMarkdown(mark_flagged(self.text, self.checks))
            self._show_flagged()

    def _show_flagged(self) -> None:
        flagged = [c for c in sorted(self.checks, key=lambda c: c.index) if c.flagged]
        if not flagged:
            self.flagged_label.hide()
            return
        items = "".join(f"<li>{FLAG} “{html.escape(c.text)}”: {html.escape(check_reason(c))}"
                        "</li>" for c in flagged)
        self.flagged_label.setText(
            f"<b>{html.escape(tr('ask.flagged_title'))}</b><ul>{items}</ul>")
        self.flagged_label.show()

    # -- finished ---------------------------------------------------------------------

    def finish(self, text: str, sources: Sequence[Source], passages: Sequence[Source],
               declined: bool, cancelled: bool, collections: Sequence[str],
               extract: Sequence[ExtractItem] = (), checks: Sequence[SentenceCheck] = (),
               written_by: str = "") -> None:
        self.text = text
        self.sources = list(sources)
        self.passages = list(passages) or self.sources
        self.declined = declined
        self.checks = list(checks)
        self.status.hide()
        if extract:
            self.set_extract(extract, ())
        if declined:
            self.setObjectName("declinedCard")
            self.title.setText(tr("ask.declined_title"))
            self.title.show()
            self.body.setPlainText(text)
            self.sources_label.setText(tr("ask.searched", names=", ".join(collections)))
            self.sources_label.show()
            self._restyle()
            return
        if written_by:
            self.origin_label.setText(tr("ask.written_here") if written_by == LOCAL_ORIGIN
                                      else tr("ask.written_by", host=written_by))
            self.origin_label.show()
        self._show_flagged()
        numbers = [p.number for p in self.passages]
        shown = link_citations(mark_flagged(text, self.checks), numbers)
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

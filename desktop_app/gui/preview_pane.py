"""The source of a citation, in place: a PDF page rendered with the passage highlighted,
or the text around the passage; and a button that opens the file in the system's app.

Rendering and re-reading the file happen on a worker, asked for through the
``LibraryController`` (``desktop_app.core.preview`` does the work); the pane only turns
the result into a picture or highlighted text.
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import QRectF, Qt, QUrl, Signal
from PySide6.QtGui import QColor, QDesktopServices, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core.answer import Source
from desktop_app.core.preview import PagePreview, TextPreview
from desktop_app.gui.library_controller import LibraryController
from desktop_app.gui.strings import tr
from desktop_app.gui.translate import note_text

HIGHLIGHT = QColor(255, 214, 0, 110)  # translucent yellow, readable on any page


def page_pixmap(page: PagePreview) -> QPixmap:
    image = QImage(page.pixels, page.width, page.height, page.stride,
                   QImage.Format.Format_RGBA8888).copy()  # copy: own the bytes
    painter = QPainter(image)
    for x, y, w, h in page.highlights:
        painter.fillRect(QRectF(x, y, w, h), HIGHLIGHT)
    painter.end()
    return QPixmap.fromImage(image)


def highlighted_html(text: TextPreview) -> str:
    before = html.escape(text.text[: text.start])
    passage = html.escape(text.text[text.start: text.end])
    after = html.escape(text.text[text.end:])
    return (f'<div style="white-space: pre-wrap">{before}<a name="passage"></a>'
            f'<span style="background-color: rgba(255, 214, 0, 0.45)">{passage}</span>'
            f"{after}</div>")


class PreviewPane(QWidget):
    closed = Signal()
    shown = Signal(object)  # the PagePreview or TextPreview now on screen

    def __init__(self, controller: LibraryController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("preview")
        self.controller = controller
        self.path: Path | None = None
        self.source: Source | None = None  # the latest one asked for
        self.current: PagePreview | TextPreview | None = None
        controller.preview_ready.connect(self._on_ready)
        controller.preview_failed.connect(self._on_failed)
        self.title = QLabel()
        self.title.setProperty("heading", True)
        self.title.setWordWrap(True)
        self.where = QLabel()
        self.where.setWordWrap(True)
        self.open_button = QPushButton(tr("preview.open"))
        self.open_button.setAccessibleName(tr("preview.open"))
        self.open_button.clicked.connect(self.open_file)
        self.close_button = QPushButton(tr("preview.close"))
        self.close_button.setAccessibleName(tr("preview.close"))
        self.close_button.clicked.connect(self._close)
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)

        self.page_label = QLabel()
        self.page_label.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.page_label.setAccessibleName(tr("preview.title"))
        self.page_scroll = QScrollArea()
        self.page_scroll.setWidget(self.page_label)
        self.page_scroll.setWidgetResizable(True)
        self.text = QTextBrowser()
        self.text.setAccessibleName(tr("preview.title"))
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.hide()
        self.stack = QStackedWidget()
        self.stack.addWidget(self.page_scroll)
        self.stack.addWidget(self.text)

        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.where)
        layout.addWidget(self.note)
        layout.addWidget(self.stack, 1)
        layout.addLayout(buttons)

    def show_source(self, source: Source) -> None:
        """Show a citation: the file's name and where the passage is at once, the page
        or text as soon as the controller has it."""
        path = Path(source.path)
        self.path = path
        self.source = source
        self.title.setText(path.name)
        self.title.setToolTip(str(path))
        self.where.setText(source.location or "")
        self.show()
        self.controller.load_preview(source)

    # Only the latest click counts: an earlier, slower preview must not replace it.
    def _on_ready(self, source: Source, result: PagePreview | TextPreview) -> None:
        if source is self.source:
            self._show(result)

    def _on_failed(self, source: Source, error: str) -> None:
        if source is self.source:
            self._show_error(error)

    def open_file(self) -> None:
        if self.path is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.path)))

    def _show(self, result: PagePreview | TextPreview) -> None:
        self.current = result
        note = note_text(result)
        self.note.setText(note)
        self.note.setVisible(bool(note))
        if isinstance(result, PagePreview):
            self.where.setText(tr("preview.page", page=result.page, count=result.page_count))
            self.page_label.setPixmap(page_pixmap(result))
            self.stack.setCurrentWidget(self.page_scroll)
            if result.highlights:
                y = int(min(h[1] for h in result.highlights))
                self.page_scroll.verticalScrollBar().setValue(max(0, y - 40))
        else:
            self.text.setHtml(highlighted_html(result))
            self.text.scrollToAnchor("passage")
            self.stack.setCurrentWidget(self.text)
        self.shown.emit(result)

    def _show_error(self, error: str) -> None:
        self.current = None
        self.note.setText(error)
        self.note.show()

    def _close(self) -> None:
        self.hide()
        self.closed.emit()

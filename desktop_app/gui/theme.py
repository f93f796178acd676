"""Look: the Fusion style with a light or dark palette (following the system unless the
user chose one), the style sheet from ``assets/style/`` and the icon from ``assets/``.

Fusion rather than the platform style so that what the style sheets do not cover (combo
boxes, check boxes, message boxes) matches them on every platform.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPalette
from PySide6.QtWidgets import QApplication

from desktop_app.core.preferences import Theme

_PALETTES = {
    # window, base (inputs), text, button, highlight, link, placeholder
    "light": ("#F8FAFC", "#FFFFFF", "#0F172A", "#FFFFFF", "#C7D2FE", "#0F766E", "#64748B"),
    "dark": ("#0F172A", "#1E293B", "#E2E8F0", "#1E293B", "#4338CA", "#2DD4BF", "#94A3B8"),
}


def assets_dir() -> Path | None:
    """``assets/`` of a source checkout, or of a PyInstaller bundle (``sys._MEIPASS``);
    ``KURA_ASSETS`` overrides. None when it cannot be found: Kura then runs unstyled."""
    bundle = getattr(sys, "_MEIPASS", None)  # set by PyInstaller's boot loader
    candidates = [os.environ.get("KURA_ASSETS"), bundle and str(Path(bundle) / "assets"),
                  str(Path(__file__).resolve().parents[2] / "assets")]
    for candidate in candidates:
        if candidate and (Path(candidate) / "kura.svg").is_file():
            return Path(candidate)
    return None


def app_icon() -> QIcon:
    folder = assets_dir()
    if folder is None:
        return QIcon()
    icon = QIcon()
    for size in (16, 24, 32, 48, 64, 128, 256, 512):
        png = folder / "icons" / f"kura-{size}.png"
        if png.is_file():
            icon.addFile(str(png))
    return icon if not icon.isNull() else QIcon(str(folder / "kura.svg"))


def resolved_scheme(theme: Theme, app: QApplication) -> str:
    if theme in ("light", "dark"):
        return theme
    dark = app.styleHints().colorScheme() == Qt.ColorScheme.Dark
    return "dark" if dark else "light"


def apply_theme(app: QApplication, theme: Theme) -> str:
    """Style the whole app; returns the scheme used ("light" or "dark")."""
    scheme = resolved_scheme(theme, app)
    app.setStyle("Fusion")
    window, base, text, button, highlight, link, placeholder = _PALETTES[scheme]
    palette = QPalette()
    for role, color in (
        (QPalette.ColorRole.Window, window), (QPalette.ColorRole.Base, base),
        (QPalette.ColorRole.AlternateBase, window), (QPalette.ColorRole.Text, text),
        (QPalette.ColorRole.WindowText, text), (QPalette.ColorRole.Button, button),
        (QPalette.ColorRole.ButtonText, text), (QPalette.ColorRole.Highlight, highlight),
        (QPalette.ColorRole.HighlightedText, text), (QPalette.ColorRole.Link, link),
        (QPalette.ColorRole.PlaceholderText, placeholder),
        (QPalette.ColorRole.ToolTipBase, "#1E293B"), (QPalette.ColorRole.ToolTipText,
                                                      "#F8FAFC"),
    ):
        palette.setColor(role, QColor(color))
    app.setPalette(palette)
    folder = assets_dir()
    sheet = folder / "style" / f"{scheme}.qss" if folder else None
    app.setStyleSheet(sheet.read_text(encoding="utf-8") if sheet and sheet.is_file() else "")
    return scheme


def follow_system(app: QApplication, theme: Theme) -> None:
    """Re-style when the system switches between light and dark (theme "system")."""
    if theme == "system":
        app.styleHints().colorSchemeChanged.connect(lambda _s: apply_theme(app, "system"))

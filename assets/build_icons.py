"""Render the app icon in every size each platform needs, from one SVG source.

Kura has exactly one drawing of its icon, ``assets/kura.svg``. Linux desktops want
PNGs in several sizes, Windows wants a multi-size ``.ico`` and macOS an ``.icns``;
keeping hand-exported copies of each would let them drift apart. This script renders
the SVG with Qt's own SVG renderer (the same one the app uses at run time) at each
size separately -- so small sizes are drawn, not downscaled -- and packs the results:

    assets/icons/kura-{16,24,32,48,64,128,256,512,1024}.png
    assets/icons/kura.ico    16, 24, 32, 48, 64, 128, 256 (Windows)
    assets/icons/kura.icns   32 .. 1024 (macOS; Pillow's writer has no 16 px slot,
                             macOS draws 16 pt from the 32 px "16@2x" image)

Run it from anywhere after editing the SVG:  ``python assets/build_icons.py``.
The output is deterministic (PNGs are written by Pillow without timestamps), so
regenerating an unchanged SVG leaves the files byte-for-byte identical.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "kura.svg"
OUT_DIR = HERE / "icons"

PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512, 1024)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_SIZES = (32, 64, 128, 256, 512, 1024)  # the sizes Pillow's ICNS writer stores


def render(renderer: QSvgRenderer, size: int) -> Image.Image:
    """Draw the SVG onto a transparent size x size image and return it as RGBA."""
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
    renderer.render(painter)
    painter.end()
    rgba = image.convertToFormat(QImage.Format.Format_RGBA8888)
    data = bytes(rgba.constBits())
    return Image.frombuffer(
        "RGBA", (size, size), data, "raw", "RGBA", rgba.bytesPerLine(), 1
    ).copy()


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def write_if_changed(path: Path, data: bytes) -> None:
    if path.exists() and path.read_bytes() == data:
        print(f"  unchanged  {path.relative_to(HERE.parent)}")
        return
    path.write_bytes(data)
    print(f"  wrote      {path.relative_to(HERE.parent)}  ({len(data):,} bytes)")


def main() -> int:
    # Headless by default: this needs no display (CI, build machines, SSH). Qt reads
    # the variable when the application object is created, not at import.
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(QByteArray(SOURCE.read_bytes()))
    if not renderer.isValid():
        print(f"error: Qt could not parse {SOURCE}", file=sys.stderr)
        return 1
    OUT_DIR.mkdir(parents=True, exist_ok=True)

    images = {size: render(renderer, size) for size in PNG_SIZES}
    for size, image in images.items():
        write_if_changed(OUT_DIR / f"kura-{size}.png", png_bytes(image))

    # Each size is passed in explicitly, so Pillow stores our renders instead of
    # scaling the largest one down.
    ico = io.BytesIO()
    largest_ico = images[max(ICO_SIZES)]
    largest_ico.save(
        ico,
        format="ICO",
        sizes=[(s, s) for s in ICO_SIZES],
        append_images=[images[s] for s in ICO_SIZES if s != max(ICO_SIZES)],
    )
    write_if_changed(OUT_DIR / "kura.ico", ico.getvalue())

    icns = io.BytesIO()
    images[max(ICNS_SIZES)].save(icns, format="ICNS", append_images=[images[s] for s in ICNS_SIZES])
    write_if_changed(OUT_DIR / "kura.icns", icns.getvalue())

    return 0


if __name__ == "__main__":
    sys.exit(main())

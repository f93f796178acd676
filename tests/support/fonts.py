"""The one font the synthetic scans are drawn with: WenQuanYi Zen Hei, which has both the
CJK ideographs and Latin letters, so English and Chinese pages come from the same glyphs
on every machine (and OCR figures do not move with whatever fonts a machine happens to
have). Debian and Ubuntu ship it as ``fonts-wqy-zenhei``; ``make test`` must install it.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from PIL import ImageFont

CJK_FONT_PACKAGE = "fonts-wqy-zenhei"
CJK_FONT_ENV = "KURA_TEST_CJK_FONT"  # another copy of wqy-zenhei.ttc, e.g. on macOS
CJK_FONT_PATHS = (
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),  # Debian, Ubuntu
    Path("/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc"),  # Fedora
    Path("/usr/share/fonts/wenquanyi/wqy-zenhei/wqy-zenhei.ttc"),  # Arch
)


class FontMissing(RuntimeError):
    """The CJK font the scans need is not installed; the message says how to get it."""


def cjk_font_path() -> Path:
    """WenQuanYi Zen Hei's file, or ``FontMissing`` naming the package that provides it."""
    override = os.environ.get(CJK_FONT_ENV)
    candidates = (Path(override),) if override else CJK_FONT_PATHS
    for path in candidates:
        if path.is_file():
            return path
    looked = ", ".join(str(p) for p in candidates)
    raise FontMissing(
        f"The CJK font WenQuanYi Zen Hei is missing (looked in {looked}). Install the "
        f"package {CJK_FONT_PACKAGE} (Debian/Ubuntu: sudo apt-get install {CJK_FONT_PACKAGE}) "
        f"or point {CJK_FONT_ENV} at a copy of wqy-zenhei.ttc.")


@cache
def cjk_font(size_px: int) -> ImageFont.FreeTypeFont:
    """The font at ``size_px`` pixels per em (face 0 of the collection: Zen Hei itself)."""
    return ImageFont.truetype(str(cjk_font_path()), size_px, index=0)

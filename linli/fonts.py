"""The CJK font for generated files (campaign posters, review PDFs).

The font is installed from the system's package registry (Debian: `fonts-wqy-zenhei`), never
copied into the repository. WenQuanYi Zen Hei has TrueType outlines, so ReportLab can embed it
in PDFs (it cannot embed the CFF outlines of Noto CJK) and Pillow can draw with it.
`CJK_FONT_PATH` (environment) points elsewhere when the font lives in another place.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

PDF_FONT_NAME = "LinliCJK"
_register_lock = threading.Lock()


class FontMissing(ImproperlyConfigured):
    """The CJK font file is not installed where settings.CJK_FONT_PATH says."""


def cjk_font_path() -> Path:
    """The font file, or FontMissing with how to install it."""
    path = Path(settings.CJK_FONT_PATH)
    if not path.is_file():
        raise FontMissing(
            f"CJK font not found at {path}: install it (Debian: apt-get install "
            "fonts-wqy-zenhei) or set CJK_FONT_PATH to a TrueType CJK font file."
        )
    return path


def pdf_font() -> str:
    """Register the CJK font with ReportLab once per process; returns its name for setFont."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    with _register_lock:
        if PDF_FONT_NAME not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(PDF_FONT_NAME, str(cjk_font_path()), subfontIndex=0))
    return PDF_FONT_NAME


@lru_cache(maxsize=16)
def image_font(size: int) -> object:
    """A Pillow font of `size` pixels (an ImageFont.FreeTypeFont)."""
    from PIL import ImageFont

    return ImageFont.truetype(str(cjk_font_path()), size=size, index=0)

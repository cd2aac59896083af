"""The campaign poster's layout and its two drawings: a 1080×1920 PNG (Pillow) and a one-page
PDF (ReportLab, the CJK font embedded so its text can be searched and copied).

Both draw one list of shapes computed here (`poster_shapes`), in PNG pixels with text on its
baseline; the PDF scales them by a half onto its 540×960 pt page. Text is measured with the
font itself, so lines wrap where the poster's width ends:

- The headline is broken between its parts (split at `·` and `｜`), never leaving a separator
  at the end or start of a line; a part longer than a line is cut by characters (closing
  punctuation stays on the line before). The largest headline size that fits three lines wins.
- The products fill the space between the date line and the footer: one card each, scaled up
  (to 1.5×) when there are few and down when there are many, the space left over shared
  evenly around them.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass

from linli.fonts import cjk_font_path, image_font, pdf_font

POSTER_SIZE = (1080, 1920)
MARGIN = 70
HEADLINE_SIZES = (96, 88, 80, 72, 64, 56)
HEADLINE_LINES = 3
FOOTER_HEIGHT = 200
MAX_PRODUCTS = 8
MAX_SCALE = 1.5
MIN_SCALE = 0.45
GAP = 28  # between product cards, at scale 1
# Between parts of a headline; a line break there drops the separator.
_SEPARATOR = re.compile(r"\s*[·・｜|]\s*")
# A run of Latin letters and digits is kept whole; anything else breaks per character.
_TOKEN = re.compile(r"[A-Za-z0-9.,%+×/\-]+|\s+|.")
_CLOSING = frozenset("，。、！？；：）》」』】,.!?;:)")

Color = tuple[int, int, int]
GREEN: Color = (46, 125, 50)
CREAM: Color = (255, 248, 235)
WHITE: Color = (255, 255, 255)
PALE_GREEN: Color = (232, 245, 233)
INK: Color = (33, 33, 33)
GREY: Color = (80, 80, 80)
MUTED: Color = (150, 150, 150)
RED: Color = (211, 47, 47)


@dataclass(frozen=True)
class PosterLayout:
    """What the poster shows (both the PNG and the PDF draw this)."""

    headline: str
    store_name: str
    when: str
    # (name, campaign price, list price struck through: "" when there is no discount)
    products: list[tuple[str, str, str]]
    footer: str


@dataclass(frozen=True)
class Box:
    """A filled rectangle (x0, y0) – (x1, y1), y downwards, corners rounded by `radius`."""

    x0: float
    y0: float
    x1: float
    y1: float
    color: Color
    radius: float = 0


@dataclass(frozen=True)
class Text:
    """One line of text; (x, y) is its left (or right, `align="right"`) end on the baseline."""

    x: float
    y: float
    text: str
    size: int
    color: Color
    align: str = "left"


def text_width(text: str, size: int) -> float:
    return float(image_font(size).getlength(text))


def _pack(tokens: list[str], fits: Callable[[str], bool]) -> list[str]:
    """Greedy lines of `tokens` (a token too wide alone gets a line of its own); whitespace
    at a break is dropped and closing punctuation never starts a line."""
    lines: list[str] = []
    line = ""
    for token in tokens:
        candidate = line + token
        if not line or fits(candidate.strip()) or token in _CLOSING:
            line = candidate
            continue
        lines.append(line.strip())
        line = token.lstrip()
    if line.strip():
        lines.append(line.strip())
    return lines


def lines_wrapped(text: str, *, fits: Callable[[str], bool]) -> list[str]:
    """`text` in lines that each fit, broken between characters (Latin words kept whole)."""
    return _pack(_TOKEN.findall(text), fits) or [""]


def headline_wrapped(text: str, *, fits: Callable[[str], bool]) -> list[str]:
    """The headline in lines that fit, broken between its parts (see the module docstring):
    parts on one line are joined by " · ", and no line starts or ends with a separator."""
    parts = [part for part in _SEPARATOR.split(text.strip()) if part]
    lines: list[str] = []
    for part in parts:
        if lines and fits(f"{lines[-1]} · {part}"):
            lines[-1] = f"{lines[-1]} · {part}"
        elif fits(part):
            lines.append(part)
        else:
            lines.extend(lines_wrapped(part, fits=fits))
    return lines or [""]


def _headline(text: str, width: float) -> tuple[int, list[str]]:
    """The largest headline size whose lines fit `width` in HEADLINE_LINES lines, and the
    lines (the smallest size, cut at HEADLINE_LINES, when none does)."""
    for size in HEADLINE_SIZES:
        lines = headline_wrapped(text, fits=lambda line, s=size: text_width(line, s) <= width)
        if len(lines) <= HEADLINE_LINES:
            return size, lines
    return size, lines[:HEADLINE_LINES]


def _fitting_lines(text: str, size: int, width: float, most: int) -> list[str]:
    lines = lines_wrapped(text, fits=lambda line: text_width(line, size) <= width)
    if len(lines) > most:
        lines = lines[:most]
        last = lines[-1]
        while last and text_width(last + "…", size) > width:
            last = last[:-1]
        lines[-1] = last + "…"
    return lines


def _card_height(scale: float, name_lines: int) -> float:
    return scale * (40 + 64 * name_lines + 24 + 84 + 36)


def _product_cards(
    products: list[tuple[str, str, str]], *, region: float, width: float
) -> tuple[float, list[tuple[str, str, list[str], float]]]:
    """The scale of the product cards and each card (price, list price, name lines, height):
    the largest scale, in steps from MAX_SCALE down to MIN_SCALE, at which the cards and their
    gaps fit `region`, names on up to two lines; failing that, names on one line."""
    for most_lines in (2, 1):
        for step in range(round(MAX_SCALE * 20), round(MIN_SCALE * 20) - 1, -1):
            scale = step / 20
            name_size, pad = round(52 * scale), round(40 * scale)
            cards = []
            for name, price, list_price in products:
                lines = _fitting_lines(name, name_size, width - 2 * pad, most_lines)
                cards.append((price, list_price, lines, _card_height(scale, len(lines))))
            if sum(card[3] for card in cards) + GAP * scale * (len(cards) - 1) <= region:
                return scale, cards
    return scale, cards  # the smallest: as many as MAX_PRODUCTS long names still fit


def poster_shapes(layout: PosterLayout) -> list[Box | Text]:
    """Everything the poster draws, in order, in PNG pixels (see the module docstring)."""
    width, height = POSTER_SIZE
    inner = width - 2 * MARGIN
    shapes: list[Box | Text] = []

    size, lines = _headline(layout.headline, inner)
    line_height = round(size * 1.22)
    baseline = 110 + size
    texts = []
    for line in lines:
        texts.append(Text(MARGIN, baseline, line, size, WHITE))
        baseline += line_height
    store_baseline = baseline - line_height + round(size * 0.45) + 46
    texts.append(
        Text(
            MARGIN,
            store_baseline,
            _fitting_lines(layout.store_name, 46, inner, 1)[0],
            46,
            PALE_GREEN,
        )
    )
    band_bottom = store_baseline + 70
    shapes.append(Box(0, 0, width, band_bottom, GREEN))
    shapes.extend(texts)
    when_baseline = band_bottom + 90
    shapes.append(Text(MARGIN, when_baseline, layout.when, 44, GREY))

    footer_top = height - FOOTER_HEIGHT
    shapes.append(Box(0, footer_top, width, height, GREEN))
    footer = _fitting_lines(layout.footer, 44, inner, 1)[0]
    shapes.append(Text(MARGIN, height - 85, footer, 44, WHITE))

    products = layout.products[:MAX_PRODUCTS]
    if not products:
        return shapes
    top, bottom = when_baseline + 50, footer_top - 50
    region = bottom - top

    scale, cards = _product_cards(products, region=region, width=inner)
    name_size, price_size, list_size = round(52 * scale), round(80 * scale), round(40 * scale)
    pad = round(40 * scale)
    heights = [card[3] for card in cards]
    # Space left over goes evenly above, between and below the cards; when that would crowd
    # them (many products), between them only.
    spare = region - sum(heights)
    if len(cards) > 1 and spare / (len(cards) + 1) < GAP * scale:
        offset, between = 0.0, spare / (len(cards) - 1)
    else:
        offset = between = spare / (len(cards) + 1)
    y = top + offset
    for price, list_price, name_lines, card in cards:
        shapes.append(Box(MARGIN, y, width - MARGIN, y + card, WHITE, radius=round(24 * scale)))
        baseline = y + pad + name_size
        for line in name_lines:
            shapes.append(Text(MARGIN + pad, baseline, line, name_size, INK))
            baseline += round(64 * scale)
        price_baseline = y + scale * (40 + 64 * len(name_lines) + 24 + 72)
        shapes.append(Text(MARGIN + pad, price_baseline, price, price_size, RED))
        right = width - MARGIN - pad
        if list_price:  # "" when the price is the list price: no struck price, no discount
            shapes.append(Text(right, price_baseline, list_price, list_size, MUTED, align="right"))
            strike = price_baseline - list_size * 0.35
            left = right - text_width(list_price, list_size)
            shapes.append(Box(left, strike - 1.5, right, strike + 1.5, MUTED))
        y += card + between
    return shapes


def poster_png(*, layout: PosterLayout) -> bytes:
    """The poster as a 1080×1920 PNG. Raises FontMissing when the CJK font is not installed."""
    from PIL import Image, ImageDraw

    cjk_font_path()  # fail loudly (with how to install it) before drawing anything
    image = Image.new("RGB", POSTER_SIZE, CREAM)
    draw = ImageDraw.Draw(image)
    for shape in poster_shapes(layout):
        if isinstance(shape, Box):
            box = (round(shape.x0), round(shape.y0), round(shape.x1), round(shape.y1))
            if shape.radius:
                draw.rounded_rectangle(box, radius=shape.radius, fill=shape.color)
            else:
                draw.rectangle(box, fill=shape.color)
        else:
            anchor = "rs" if shape.align == "right" else "ls"
            draw.text(
                (shape.x, shape.y),
                shape.text,
                font=image_font(shape.size),
                fill=shape.color,
                anchor=anchor,
            )
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def poster_pdf(*, layout: PosterLayout) -> bytes:
    """The poster as a one-page PDF (540×960 pt) with the CJK font embedded (its text can be
    searched and copied). Raises FontMissing when the font is not installed."""
    from reportlab.pdfgen import canvas

    font = pdf_font()
    scale = 0.5
    width, height = POSTER_SIZE[0] * scale, POSTER_SIZE[1] * scale
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=(width, height))
    pdf.setTitle(layout.headline)
    pdf.setFillColorRGB(*(channel / 255 for channel in CREAM))
    pdf.rect(0, 0, width, height, stroke=0, fill=1)
    for shape in poster_shapes(layout):
        pdf.setFillColorRGB(*(channel / 255 for channel in shape.color))
        if isinstance(shape, Box):
            x, y = shape.x0 * scale, height - shape.y1 * scale
            w, h = (shape.x1 - shape.x0) * scale, (shape.y1 - shape.y0) * scale
            if shape.radius:
                pdf.roundRect(x, y, w, h, shape.radius * scale, stroke=0, fill=1)
            else:
                pdf.rect(x, y, w, h, stroke=0, fill=1)
        else:
            pdf.setFont(font, shape.size * scale)
            draw = pdf.drawRightString if shape.align == "right" else pdf.drawString
            draw(shape.x * scale, height - shape.y * scale, shape.text)
    pdf.showPage()
    pdf.save()
    return out.getvalue()

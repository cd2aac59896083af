"""Parse a 接龙 (chain sign-up) pasted from a community chat into order lines.

Pure Python, no Django: `jielong_parse(text)` returns the lines it read and, for every line it
could not read, its line number, a problem code and an English reason (the caller translates
by code). Nothing here decides whether a line becomes an order.

What a chat 接龙 looks like::

    #接龙
    夏季水果季 · 云南蓝莓 19.9元/盒
    例：1. 张三 蓝莓×2

    1. 李阿姨 蓝莓×2
    2、王姐 蓝莓 x3
    3.张三 蓝莓*1
    ４．赵六　蓝莓＋１
    5) 孙阿姨 蓝莓2盒
    6. 周姐

Rules (docs/group-buys.md lists them for owners):

- The text is NFKC-normalised first, so full-width digits, letters, punctuation and spaces read
  as their ASCII twins (`４．` is `4.`, `＊` is `*`, `ｘ` is `x`).
- Empty lines, lines starting with `#` and lines starting with `例` (the example line) are
  skipped; so is everything before the first numbered line (the header the organiser wrote).
- An entry starts with its number (`1.`, `2、`, `3)`, `4:` or `5 ` — or the digits glued to
  the name, `6张三`; a number glued to 月/日/点/元…, or followed by more digits as in `19.9元`,
  is a date or a price, not an entry), then the name, then the product text, then the quantity.
- The quantity is written `×2`, `x2`, `X2`, `*2`, `✕2`, `+2` (the "+1" style), `2份` / `2盒` /
  `2斤`… (a unit word), or a bare number after a space; none at all means 1. A note in
  brackets (`(自提)`) is ignored.
- The name is the first word after the number (a `:` after it separates like a space); the rest
  is the product text (may be empty: the caller picks the offer; `item_number` reads a product
  named by its item number, "2号" / "2️⃣", as the copy numbers them). When the name and product are
  glued (`3.张三蓝莓*1`) and `products` names a product it ends with, they are split there.
- Unreadable, reported with a code: a line after the first entry without a number
  (`no_number`), a number with nothing after it (`no_name`), a quantity but no name
  (`no_name`), two quantities on one line (`several_quantities`), a quantity of 0
  (`zero_quantity`) or above `QUANTITY_MAX` (`too_large`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

QUANTITY_MAX = 999
NAME_MAX_LENGTH = 60

# Units owners and members write after a count ("2盒", "3斤").
UNITS = "份盒斤个袋箱件瓶包串只提杯罐桶把颗kg"
# Characters that, glued to a leading number, make it a date, a time or a price, not an entry.
_NOT_AN_ENTRY_AFTER_NUMBER = "年月日号点时分元块角%"

_SKIPPED_PREFIXES = ("#", "例")
_NUMBER = re.compile(
    r"^(?P<number>\d{1,4})"
    r"(?:\s*[.,、:;)\]}>-]+\s*|\s+|(?=(?![" + _NOT_AN_ENTRY_AFTER_NUMBER + r"])[^\W\d_]))"
    r"(?P<rest>\D.*|)$"
)
# A quantity marker: "×2" / "x2" / "*2" / "+2" (an "x" after an ASCII letter is part of a word;
# a "×" is a marker wherever it is, so "大果蓝莓 250g×1" reads as one unit).
_MARKED = re.compile(
    r"(?:(?<![A-Za-z])[xX]|[×✕✖╳]|\*|\+)\s*(?P<quantity>\d+)\s*(?:[" + UNITS + r"])?"
)
_NOTE = re.compile(r"\([^()]*\)")
_UNIT = re.compile(r"(?P<quantity>\d+)\s*[" + UNITS + r"]")
_TRAILING_BARE = re.compile(r"\s(?P<quantity>\d+)$")
_PUNCTUATION_ONLY = re.compile(r"^[\W_]+$")


@dataclass(frozen=True)
class JielongLine:
    """One readable entry. `line_no` counts lines of the pasted text from 1; `number` is the
    entry's own 接龙 number; `product` may be empty."""

    line_no: int
    number: int
    name: str
    product: str
    quantity: int
    raw: str


@dataclass(frozen=True)
class JielongProblem:
    """A line that could not be read: where, a code for programs and a reason for people."""

    line_no: int
    raw: str
    code: str
    reason: str


@dataclass(frozen=True)
class JielongParse:
    lines: list[JielongLine] = field(default_factory=list)
    problems: list[JielongProblem] = field(default_factory=list)

    @property
    def is_clean(self) -> bool:
        return not self.problems


def normalise(text: str) -> str:
    """NFKC (full-width → ASCII), whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def _quantity(rest: str) -> tuple[str, int | None, str | None]:
    """Split the quantity off `rest`: (rest without it, quantity or None, problem code)."""
    marked = list(_MARKED.finditer(rest))
    units = [] if marked else list(_UNIT.finditer(rest))
    found = marked or units
    if len(found) > 1:
        return rest, None, "several_quantities"
    if found:
        match = found[0]
        remaining = (rest[: match.start()] + " " + rest[match.end() :]).strip()
        return remaining, int(match.group("quantity")), None
    bare = _TRAILING_BARE.search(rest)
    if bare:
        return rest[: bare.start()].strip(), int(bare.group("quantity")), None
    return rest.strip(), 1, None


# A product named by its item number, as the 接龙 copy prints it: "2", "2号", "#2", "2️⃣"
# (a keycap: the digit, U+FE0F, U+20E3 — NFKC keeps the last two, they are stripped here).
_ITEM_NUMBER = re.compile(r"^(?:#|No\.?\s*)?(?P<number>\d{1,3})\s*号?$", re.IGNORECASE)
_KEYCAP_MARKS = dict.fromkeys(map(ord, "\ufe0f\u20e3"))


def item_number(product: str) -> int | None:
    """The item number a line's product text names ("2号", "2️⃣", "#2", "2"), or None when
    the text is not a number (then it names the product by name). The caller maps numbers to
    products in the order its copy printed them."""
    match = _ITEM_NUMBER.match(normalise(product).translate(_KEYCAP_MARKS).strip())
    return int(match.group("number")) if match else None


def _name_and_product(rest: str, products: Iterable[str]) -> tuple[str, str]:
    words = rest.replace(":", " ").replace("@", " ").split()
    if not words:
        return "", ""
    name, product = words[0], " ".join(words[1:])
    if not product:
        # "张三蓝莓": split a known product name off the end (the longest that fits).
        for known in sorted({normalise(item) for item in products if item}, key=len, reverse=True):
            if len(name) > len(known) and name.endswith(known):
                return name[: -len(known)], known
    return name, product


REASONS = {
    "no_number": "The line has no 接龙 number at its start.",
    "no_name": "The line has no name.",
    "several_quantities": "The line has more than one quantity; write one product per line.",
    "zero_quantity": "The quantity is 0.",
    "too_large": f"The quantity is larger than {QUANTITY_MAX}.",
    "name_too_long": f"The name is longer than {NAME_MAX_LENGTH} characters.",
}


def jielong_parse(text: str, *, products: Iterable[str] = ()) -> JielongParse:
    """Read every entry of a pasted 接龙; see the module docstring for the accepted forms.

    Never raises on content: what it cannot read is in `problems` with its line number."""
    products = list(products)
    result = JielongParse()
    seen_entry = False
    for line_no, raw in enumerate(text.splitlines(), start=1):
        line = normalise(raw)
        if not line or line.startswith(_SKIPPED_PREFIXES) or _PUNCTUATION_ONLY.match(line):
            continue
        entry = _NUMBER.match(line)
        if entry is None:
            if seen_entry:
                result.problems.append(_problem(line_no, raw, "no_number"))
            continue
        seen_entry = True
        rest, quantity, code = _quantity(_NOTE.sub(" ", entry.group("rest")))
        if code is None:
            name, product = _name_and_product(rest, products)
            code = _check(name=name, quantity=quantity)
        if code is not None:
            result.problems.append(_problem(line_no, raw, code))
            continue
        result.lines.append(
            JielongLine(
                line_no=line_no,
                number=int(entry.group("number")),
                name=name,
                product=product,
                quantity=quantity,
                raw=raw.strip(),
            )
        )
    return result


def _check(*, name: str, quantity: int | None) -> str | None:
    if not name:
        return "no_name"
    if len(name) > NAME_MAX_LENGTH:
        return "name_too_long"
    if quantity == 0:
        return "zero_quantity"
    if quantity is not None and quantity > QUANTITY_MAX:
        return "too_large"
    return None


def _problem(line_no: int, raw: str, code: str) -> JielongProblem:
    return JielongProblem(line_no=line_no, raw=raw.strip(), code=code, reason=REASONS[code])

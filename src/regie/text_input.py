"""Text people type — titles, summaries, reasons, decision texts, positions, links — cleaned
in one place before a service stores it.

Two kinds of input: a *line* (a title, a reason, a link) has its whitespace, line breaks
included, collapsed to single spaces; a *text* (a summary, a decision text, a dissent, a
position) keeps its lines (CR LF, CR, U+2028… become LF) and loses the whitespace around
it. Both have a length limit and refuse characters that change how a terminal or a mail
shows the text rather than being part of it: control characters (NUL, BEL, ESC, DEL, the
C1 range), the text-direction overrides, embeddings and isolates of Unicode's bidi
algorithm (U+202A–U+202E, U+2066–U+2069: "Trojan Source") and lone surrogates (bytes that
were not UTF-8). Right-to-left text itself, and the invisible left-to-right and
right-to-left marks, are fine.

Each refusal is a :class:`~regie.errors.UsageError` naming the input, the position and
the character, and what to do.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from regie.errors import UsageError

TITLE_MAX = 200  # a proposal's title
LINE_MAX = 1_000  # a reason, an override reason
LINK_MAX = 2_000  # a link to a document
LINKS_MAX = 20  # links to documents per proposal
SUMMARY_MAX = 5_000  # a proposal's summary
TEXT_MAX = 10_000  # a decision text, a dissent, a prior position's explanation

# line breaks a paste may bring: turned into LF in a text, into a space in a line
_BREAKS = {"\r\n": "\n", "\r": "\n", "\x0b": "\n", "\x0c": "\n", "\x85": "\n",
           "\u2028": "\n", "\u2029": "\n"}  # fmt: skip
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_NAMES = {"\x00": "NUL", "\x07": "BEL", "\x08": "BS", "\x1b": "ESC", "\x7f": "DEL"}


# what must never reach a terminal raw: control characters (categories Cc: C0, DEL, C1),
# line and paragraph separators (Zl, Zp), the bidi overrides, embeddings and isolates, and
# lone surrogates (Cs: bytes that were not UTF-8); tab and line feed are in it too, callers
# that allow them say so
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
UNSAFE_IN_LINES = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
# refused in typed text: UNSAFE less the line breaks a paste brings (see _BREAKS)
_REFUSED = re.compile(
    "[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def is_unsafe(char: str) -> bool:
    return UNSAFE.match(char) is not None


def not_utf8(value: str) -> bool:
    """``value`` holds lone surrogates: bytes (an argument, a variable) that were not UTF-8."""
    return any("\ud800" <= c <= "\udfff" for c in value)


def _describe(char: str) -> str:
    code = f"U+{ord(char):04X}"
    if unicodedata.category(char) == "Cs":
        return f"bytes that are not UTF-8 ({code})"
    name = _NAMES.get(char) or str(unicodedata.name(char, ""))
    if char in _BIDI_CONTROLS:
        return f"the text-direction control {code} ({name.lower()})"
    return f"the control character {code}" + (f" ({name})" if name else "")


def _refuse_unsafe(value: str, what: str) -> None:
    found = _REFUSED.search(value)
    if found is not None:
        i, char = found.start(), found.group()
        raise UsageError(
            f"{what} contains {_describe(char)} at character {i + 1}; remove it and type the "
            "text again (control characters and text-direction overrides are not allowed)"
        )


def _breaks_to_lf(value: str) -> str:
    for old, new in _BREAKS.items():
        value = value.replace(old, new)
    return value


def _check_length(value: str, what: str, limit: int) -> None:
    if len(value) > limit:
        raise UsageError(f"{what} is {len(value)} characters long; shorten it to at most {limit}")


def line(value: str | None, what: str, *, required: bool = False, limit: int = LINE_MAX) -> str:
    """One line: whitespace collapsed to single spaces, no unsafe characters, at most
    ``limit`` characters; ``required``: not empty. ``what`` names the input in messages,
    e.g. ``"the reason (--reason)"``."""
    _refuse_unsafe(value or "", what)
    cleaned = _breaks_to_lf(value or "")
    cleaned = " ".join(cleaned.split())
    if required and not cleaned:
        raise UsageError(f"{what} is empty; fill it in")
    _check_length(cleaned, what, limit)
    return cleaned


def text(value: str | None, what: str, *, required: bool = False, limit: int = TEXT_MAX) -> str:
    """Several lines: line breaks as LF, surrounding whitespace removed, no unsafe
    characters, at most ``limit`` characters."""
    _refuse_unsafe(value or "", what)
    cleaned = _breaks_to_lf(value or "")
    cleaned = cleaned.strip()
    if required and not cleaned:
        raise UsageError(f"{what} is empty; fill it in")
    _check_length(cleaned, what, limit)
    return cleaned


def title(value: str) -> str:
    return line(value, "the title (--title)", required=True, limit=TITLE_MAX)


def links(values: Sequence[str], what: str = "--doc") -> list[str]:
    """Links to documents: each one line, at most :data:`LINKS_MAX` of them; empty ones
    are dropped."""
    cleaned = [line(v, f"link {i + 1} ({what})", limit=LINK_MAX) for i, v in enumerate(values)]
    cleaned = [v for v in cleaned if v]
    if len(cleaned) > LINKS_MAX:
        raise UsageError(
            f"{len(cleaned)} links to documents ({what}); give at most {LINKS_MAX}, e.g. one "
            "link to a folder that holds them"
        )
    return cleaned

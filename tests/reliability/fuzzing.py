"""Shared strategies and settings of the fuzz tests."""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# text people paste: control characters, CR/LF, tabs, right-to-left marks and scripts,
# combining accents, emoji, zero-width characters, NUL
NASTY = [
    "\x00",
    "\x07",
    "\x1b[31m",
    "\r\n",
    "\r",
    "\n",
    "\t",
    "\u202e",
    "\u200f",
    "\u200b",
    "\ufeff",
    "\u0301",
    "e\u0301",
    "שלום",
    "مرحبا",
    "👩‍👧",
    "\u2028",
    "'",
    '"',
    "\\",
    "%s",
    "{{ x }}",
    "<b>",
    "--",
    "-",
    "=",
]
nasty_text = st.lists(st.one_of(st.sampled_from(NASTY), st.text(max_size=12)), max_size=8).map(
    "".join
)


def fuzz_settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )

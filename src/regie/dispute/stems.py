"""Dutch words to stems, for the search index and the similar-decision check.

Text is folded (lower case, accents kept apart from the letters they sit on removed),
split into words of letters and digits, stop words left out, and each word reduced by the
Snowball Dutch stemmer (``snowballstemmer``), so "besluiten", "besluit" and "besloten"
meet where Snowball makes them meet. A compound is one word (Dutch writes "jeugdhulp",
"wachtlijsten"); the stemmer keeps it whole.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

import snowballstemmer

_WORD = re.compile(r"[^\W_]+", re.UNICODE)

# Dutch function words (Snowball's Dutch stop list) and a few English ones: they carry no
# subject, and would make every proposal look like every other.
_STOP = """
aan al alles als altijd andere ben bij daar dan dat de der deze die dit doch doen door
dus een eens en er ge geen geweest haar had heb hebben heeft hem het hier hij hoe hun
iemand iets ik in is ja je kan kon kunnen maar me meer men met mij mijn moet na naar
niet niets nog nu of om omdat onder ons ook op over reeds te tegen toch toen tot u uit
uw van veel voor want waren was wat werd wezen wie wil worden wordt zal ze zelf zich
zij zijn zo zonder zou
a an and are as at be by for from in is it of on or that the this to was with
"""
STOP_WORDS = frozenset(_STOP.split())


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    return snowballstemmer.stemmer("dutch")


def fold(text: str) -> str:
    """Lower case without accents: "Coöperatie" -> "cooperatie"."""
    if text.isascii():  # most text: nothing to take off
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    """The folded words of ``text``, stop words left out."""
    return [w for w in _WORD.findall(fold(text)) if w not in STOP_WORDS]


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    return str(_stemmer().stemWord(word))


def stems(text: str) -> list[str]:
    """The stems of the words of ``text``, in order (repeats kept)."""
    return [stem(w) for w in words(text)]


def stemmed_text(text: str) -> str:
    """The stems joined by spaces: what the SQLite full-text index stores and is asked."""
    return " ".join(stems(text))

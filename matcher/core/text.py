"""Text folding shared by every lookup: case, accents, punctuation, spaces."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_NON_WORD = re.compile(r"[^0-9a-z]+")


@lru_cache(maxsize=200_000)
def fold(text: str) -> str:
    """Fold ``text`` for matching: lower case, no accents, words joined by one space.

    >>> fold("  Économie   circulaire — Tiers-Lieux ")
    'economie circulaire tiers lieux'
    """
    text = unicodedata.normalize("NFKD", str(text))
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.lower().replace("œ", "oe").replace("æ", "ae")
    return _NON_WORD.sub(" ", text).strip()

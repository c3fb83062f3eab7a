""""Did you mean …?": one way to suggest what a user may have meant, everywhere."""

from __future__ import annotations

from collections.abc import Iterable

#: At most this many suggestions.
LIMIT = 3
#: rapidfuzz WRatio score (0-100) below which a choice is not suggested.
CUTOFF = 60
#: With no close choice, list every choice when there are at most this many.
LIST_ALL_UP_TO = 10


def close_matches(value: str, choices: Iterable, limit: int = LIMIT, cutoff: float = CUTOFF) -> list[str]:
    """The choices closest to ``value``, best first (ties by name), at most ``limit``."""
    from rapidfuzz import process

    known = sorted({str(c) for c in choices if c is not None})
    hits = process.extract(str(value), known, limit=limit, score_cutoff=cutoff)
    return [h[0] for h in sorted(hits, key=lambda h: (-h[1], h[0]))]


def unknown_message(what: str, value, choices: Iterable, list_up_to: int = LIST_ALL_UP_TO) -> str:
    """``unknown funder id 'X'; did you mean A, B?`` — or the known values (the first ones and their count)."""
    known = sorted({str(c) for c in choices if c is not None})
    close = close_matches(str(value), known)
    if close:
        hint = f"; did you mean {', '.join(close)}?"
    elif not known:
        hint = "; there is none"
    elif len(known) <= list_up_to:
        hint = f"; known: {', '.join(known)}"
    else:  # a few of them, so the user sees what an id looks like
        hint = f"; known: {', '.join(known[:list_up_to])}, … ({len(known):,} in all)"
    return f"unknown {what} '{value}'{hint}"

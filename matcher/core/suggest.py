""""Did you mean …?": one way to suggest what a user may have meant, everywhere, in French or English.

:func:`unknown_message` writes the message of an unknown value in either language; the CLI's
translation of library errors (:mod:`matcher.cli.messages`) reads the English one back with
:data:`HINTS` and :func:`what_label`, so the French texts live here only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

#: At most this many suggestions.
LIMIT = 3
#: rapidfuzz WRatio score (0-100) below which a choice is not suggested.
CUTOFF = 60
#: With no close choice, list every choice when there are at most this many.
LIST_ALL_UP_TO = 10

#: The hint after an unknown value, by kind: close choices, none at all, every choice, the first
#: choices and their count, only the count (``list_up_to=0``).
HINTS: dict[str, dict[str, str]] = {
    "close": {"en": "; did you mean {names}?", "fr": " ; vouliez-vous dire {names} ?"},
    "none": {"en": "; there is none", "fr": " ; il n'y en a aucun"},
    "all": {"en": "; known: {names}", "fr": " ; valeurs connues : {names}"},
    "some": {"en": "; known: {names}, … ({n} in all)", "fr": " ; valeurs connues : {names}, … ({n} en tout)"},
    "count": {"en": " ({n} known)", "fr": " ({n} valeurs connues)"},
}

#: French of ``unknown <what>`` (the English name is the key).
WHAT_FR = {
    "project id": "identifiant de projet inconnu", "funder id": "identifiant de financeur inconnu",
    "projects field": "champ de projet inconnu", "funders field": "champ de financeur inconnu",
    "history field": "champ d'historique inconnu", "dimension": "dimension inconnue",
    "region": "région inconnue", "department": "département inconnu", "legal form": "forme juridique inconnue",
    "sector": "secteur inconnu",
}
_CALL = re.compile(r"call id (?:for funder (?P<a>\S+)|of funder '(?P<b>.*)')")


def close_matches(value: str, choices: Iterable, limit: int = LIMIT, cutoff: float = CUTOFF) -> list[str]:
    """The choices closest to ``value``, best first (ties by name), at most ``limit``."""
    from rapidfuzz import process

    known = sorted({str(c) for c in choices if c is not None})
    hits = process.extract(str(value), known, limit=limit, score_cutoff=cutoff)
    return [h[0] for h in sorted(hits, key=lambda h: (-h[1], h[0]))]


def what_label(what: str, lang: str = "en") -> str:
    """``unknown funder id`` / ``identifiant de financeur inconnu``; a name without French stays English."""
    if lang == "fr":
        call = _CALL.fullmatch(what)
        if call:
            return f"appel inconnu pour le financeur {call['a'] or call['b']}"
        if what in WHAT_FR:
            return WHAT_FR[what]
    return f"unknown {what}"


def quoted(value, lang: str = "en") -> str:
    return f"« {value} »" if lang == "fr" else f"'{value}'"


def unknown_message(what: str, value, choices: Iterable, list_up_to: int = LIST_ALL_UP_TO,
                    lang: str = "en") -> str:
    """``unknown funder id 'X'; did you mean A, B?`` — or the known values (the first ones and their count).

    In French (``lang="fr"``): ``identifiant de financeur inconnu « X » ; vouliez-vous dire A, B ?``.
    ``list_up_to=0`` gives only the count of known values.
    """
    if lang == "fr" and not (what in WHAT_FR or _CALL.fullmatch(what)):
        lang = "en"  # no French name: one language per message
    known = sorted({str(c) for c in choices if c is not None})
    close = close_matches(str(value), known)
    n = f"{len(known):,}".replace(",", "\u202f" if lang == "fr" else ",")
    if close:
        kind, names = "close", ", ".join(close)
    elif not known:
        kind, names = "none", ""
    elif list_up_to <= 0:
        kind, names = "count", ""
    elif len(known) <= list_up_to:
        kind, names = "all", ", ".join(known)
    else:  # a few of them, so the user sees what an id looks like
        kind, names = "some", ", ".join(known[:list_up_to])
    return f"{what_label(what, lang)} {quoted(value, lang)}" + HINTS[kind][lang].format(names=names, n=n)

"""One place from several columns: ``Code postal`` + ``Commune`` + ``Département``.

Forms and exports often split a place: the commune in one column, its
postcode in another, the department in a third. Read alone, each part is
weak ("Saint-Denis" is ambiguous, "93200" may be a postcode or an INSEE code,
"93" is a whole department); read together they name one commune. For each
row, :func:`combine_parts` uses, in order:

1. an INSEE code, read as an INSEE code;
2. a commune name qualified by the postcode, else by the department
   (``Saint-Denis (93200)``, ``Saint-Denis (974)``): the qualifier settles
   homonyms; a commune that its postcode or department contradicts is reported,
   not guessed;
3. the postcode alone (read as a postcode), then the EPCI, the department,
   the region: the most precise part given.

The result is the row's territory codes (a tuple, as the ``places`` field
holds them) or None, with a warning for each row whose parts name no place or
several.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from matcher.normalize.problems import ParseError, problem_texts
from matcher.referential.territories import Territories

#: The order in which parts are tried when no commune is given.
_FALLBACK = ("postcode", "epci", "department", "region", "place")


def _text(value) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = " ".join(str(value).split())
    return text or None


def _code(value, width: int) -> str | None:
    """A postcode or INSEE code as text; a number that lost its leading zero gets it back."""
    text = _text(value)
    if text is not None and text.isdigit() and len(text) == width - 1:
        text = "0" + text
    return text


def _department_code(text: str | None, territories: Territories) -> str | None:
    """``69`` for "69", "Rhône" or "dep:69"; None when the text names no one department."""
    if text is None:
        return None
    found = territories.resolve(text)
    if found.code and found.code.startswith("dep:"):
        return found.code[4:]
    return None


def shown(parts: Mapping[str, str | None]) -> str:
    """The parts of one row as a person reads them: ``Saint-Denis (93200)``."""
    commune = parts.get("commune") or parts.get("place")
    qualifiers = [parts.get(k) for k in ("insee", "postcode", "department", "region") if parts.get(k)]
    if commune:
        return f"{commune} ({', '.join(qualifiers)})" if qualifiers else commune
    return ", ".join(qualifiers) or (parts.get("epci") or "")


def combine_parts(columns: Mapping[str, Sequence], territories: Territories | None = None
                  ) -> tuple[list[tuple[str, ...] | None], list[tuple[int, str, ParseError]]]:
    """Resolve each row's place from its parts.

    ``columns`` maps a role (``insee``, ``postcode``, ``commune``, ``epci``,
    ``department``, ``region``, ``place``) to its cells, all of one length.
    Returns the codes of each row (None when unknown) and ``(position, shown
    value, error)`` for each row whose parts could not be resolved.
    """
    territories = territories or Territories.default()
    n = len(next(iter(columns.values()))) if columns else 0
    out: list[tuple[str, ...] | None] = []
    issues: list[tuple[int, str, ParseError]] = []
    memo: dict[tuple, tuple] = {}
    for position in range(n):
        parts = {
            role: (_code(cells[position], 5) if role in ("insee", "postcode") else _text(cells[position]))
            for role, cells in columns.items()
        }
        key = tuple(sorted(parts.items()))
        if key not in memo:
            memo[key] = _resolve(parts, territories)
        codes, error = memo[key]
        out.append(codes)
        if error is not None:
            issues.append((position, shown(parts), error))
    return out, issues


def _resolve(parts: Mapping[str, str | None], territories: Territories
             ) -> tuple[tuple[str, ...] | None, ParseError | None]:
    if not any(parts.values()):
        return None, None
    if parts.get("insee"):
        found = territories.resolve(parts["insee"], five_digits="insee")
        if found.code:
            return (found.code,), None
    commune = parts.get("commune") or (parts.get("place") if "commune" not in parts else None)
    if commune:
        qualifier = parts.get("postcode") or _department_code(parts.get("department"), territories)
        text = f"{commune} ({qualifier})" if qualifier else commune
        found = territories.resolve(text)
        if found.code:
            return (found.code,), None
        if qualifier:
            alone = territories.resolve(commune)
            if alone.code or alone.candidates:
                return None, _error("place.parts_disagree", territories, commune=commune,
                                    qualifier=qualifier, candidates=alone.candidates or (alone.code,))
        if found.candidates:
            return None, _error("place.parts_ambiguous", territories, place=text,
                                candidates=found.candidates)
        return None, _error("place.parts_unknown", territories, place=text, candidates=())
    for role in _FALLBACK:
        value = parts.get(role)
        if not value:
            continue
        found = territories.resolve(value, five_digits="postcode" if role == "postcode" else "either")
        if found.code:
            return (found.code,), None
        if found.candidates:
            return None, _error("place.parts_ambiguous", territories, place=value,
                                candidates=found.candidates)
        return None, _error("place.parts_unknown", territories, place=value, candidates=())
    return None, None


def _error(code: str, territories: Territories, candidates: Sequence[str], **values) -> ParseError:
    labels = [territories.label(c) for c in candidates[:6] if c]
    more = f" (+{len(candidates) - 6})" if len(candidates) > 6 else ""
    listed = ", ".join(labels) + more
    en, fr = problem_texts(code, candidates=listed, **values)
    return ParseError(en, fr, code=code)

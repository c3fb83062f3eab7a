"""What a column's own values say about its field.

A header can be vague ("N°", "Code", "Identifiant") or missing; the values
seldom are. :func:`profile` looks at a sample of a column's distinct values and
counts the telling shapes: 14-digit numbers passing the Luhn check (SIRET),
9-digit ones (SIREN), ``W`` + 9 characters (RNA), 5-digit codes (postcodes or
INSEE codes), 2-3 character department codes, amounts, dates (and Excel
serial dates), shares, yes/no, e-mail addresses, web addresses, long texts.

:func:`fit` says how well a profile suits a canonical field (it raises a guess
made from words that the values confirm, and lowers one they contradict), and
:func:`value_guesses` names the fields that values alone are enough for: a
column of valid SIRET numbers is a SIRET whatever its header says. Values never
override a header that names its field exactly or by a synonym.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from matcher.normalize.identifiers import looks_like_rna, luhn_ok
from matcher.normalize.schema import SCHEMAS

#: Distinct non-empty values looked at per column.
SAMPLE = 200
#: Share of the sample a shape needs to say something.
STRONG = 0.9

_DIGITS = re.compile(r"\d+")
_SPACED_DIGITS = re.compile(r"^[\d\s.\u202f\u00a0]+$")
_FIVE = re.compile(r"^(\d{5}|2[AB]\d{3})$")
_DEPARTMENT = re.compile(r"^(\d{2,3}|2[AB])$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.IGNORECASE)
_URL = re.compile(r"^(https?://|www\.)\S+$", re.IGNORECASE)
_YES_NO = {"oui", "non", "yes", "no", "o", "n", "y", "vrai", "faux", "true", "false", "x"}


@dataclass(frozen=True)
class Profile:
    """Shares (0-1) of a column's sampled distinct values with each shape."""

    count: int  # distinct non-empty values looked at
    shares: dict[str, float] = field(default_factory=dict)
    unique: bool = True  # no value repeated among the non-empty cells looked at

    def share(self, shape: str) -> float:
        return self.shares.get(shape, 0.0)

    def strongest(self) -> tuple[str, float] | None:
        """The most telling shape that at least :data:`STRONG` of the values have."""
        for shape in ("siret", "siren", "rna", "email", "url", "five_digits", "department",
                      "date", "yes_no", "amount", "long_text"):
            if self.share(shape) >= STRONG:
                return shape, self.share(shape)
        return None


def _compact_digits(value) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else None
    text = str(value).strip()
    if re.fullmatch(r"\d+\.0+", text):
        text = text.split(".")[0]
    if not _SPACED_DIGITS.match(text):
        return None
    return "".join(_DIGITS.findall(text))


def _shapes(value) -> set[str]:
    """The shapes of one value."""
    from matcher.normalize.parsers import parse_amount, parse_date
    from matcher.normalize.problems import ParseError

    shapes: set[str] = set()
    if isinstance(value, dt.date | dt.datetime):
        return {"date"}
    if isinstance(value, bool):
        return {"yes_no"}
    text = str(value).strip()
    digits = _compact_digits(value)
    if digits is not None:
        if len(digits) == 14 and (luhn_ok(digits) or digits.startswith("356000000")):
            shapes.add("siret")
        elif len(digits) == 9 and luhn_ok(digits):
            shapes.add("siren")
    upper = text.upper().replace(" ", "")
    if looks_like_rna(upper):
        shapes.add("rna")
    if _FIVE.match(upper) or (isinstance(value, int | float) and digits and len(digits) in (4, 5)
                              and 1000 <= int(digits) < 99_000):
        shapes.add("five_digits")
    if _DEPARTMENT.match(upper) and (not upper.isdigit() or 1 <= int(upper) <= 989):
        shapes.add("department")
    if _EMAIL.match(text):
        shapes.add("email")
    if _URL.match(text):
        shapes.add("url")
    if text.casefold() in _YES_NO:
        shapes.add("yes_no")
    if len(text) >= 60 and " " in text:
        shapes.add("long_text")
    try:
        if parse_amount(value) is not None:
            shapes.add("amount")
    except (ParseError, ValueError, OverflowError):
        pass
    if not isinstance(value, int | float) or isinstance(value, bool):
        try:
            if parse_date(value) is not None:
                shapes.add("date")
        except (ParseError, ValueError, OverflowError):
            pass
    elif digits and 18264 <= int(float(value)) <= 73415 and float(value).is_integer():
        shapes.add("serial_date")
    return shapes


def profile(values: Iterable) -> Profile:
    """The :class:`Profile` of a column from its cells (``None`` and blanks are skipped)."""
    distinct: list = []
    seen: set = set()
    unique = True
    for value in values:
        if value is None or (isinstance(value, float) and value != value):
            continue
        if isinstance(value, str) and not value.strip():
            continue
        if isinstance(value, list | dict | tuple | set):
            continue
        key = (type(value), value)
        if key in seen:
            unique = False
            continue
        seen.add(key)
        if len(distinct) < SAMPLE:
            distinct.append(value)
    if not distinct:
        return Profile(0, {}, unique)
    counts: dict[str, int] = {}
    for value in distinct:
        for shape in _shapes(value):
            counts[shape] = counts.get(shape, 0) + 1
    return Profile(len(distinct), {k: v / len(distinct) for k, v in sorted(counts.items())}, unique)


#: The shape each kind of field expects (None: any value will do).
_EXPECTED = {
    "amount": "amount",
    "percent": "amount",
    "date": "date",
    "bool": "yes_no",
    "int": "amount",
}
#: Fields whose values have a shape of their own.
_FIELD_SHAPES = {"siret": "siret", "siren": "siren", "rna": "rna", "contact": "email", "url": "url"}


def fit(kind: str, name: str, seen: Profile) -> tuple[float, str | None]:
    """``(adjustment, shape)``: how much the values raise (> 0) or lower (< 0) a guess of
    field ``name``, and the shape that says so.

    +15 when the field's own shape covers nearly every value (a SIRET column of
    valid SIRET numbers), -40 when the field expects a shape (amount, date,
    SIRET…) that fewer than a third of the values have, 0 otherwise or with
    fewer than 3 values.
    """
    if seen.count < 3:
        return 0.0, None
    spec = SCHEMAS[kind].get(name)
    if spec is None:
        return 0.0, None
    expected = _FIELD_SHAPES.get(name) or _EXPECTED.get(spec.kind)
    if spec.kind == "date" and seen.share("serial_date") >= STRONG:
        return 15.0, "serial_date"
    if expected is None:
        if spec.kind == "places" and seen.share("five_digits") >= STRONG:
            return 15.0, "five_digits"
        if spec.kind == "id" and name.endswith("_id") and seen.share("long_text") >= 0.5:
            return -40.0, "long_text"
        return 0.0, None
    share = seen.share(expected)
    if share >= STRONG:
        return 15.0, expected
    if share < 1 / 3:
        return -40.0, expected
    return 0.0, None


#: Fields that values alone may name, per kind and shape (first free one wins).
_VALUE_FIELDS = {
    "projects": {"siret": ("siret",), "siren": ("siren",), "rna": ("rna",),
                 "five_digits": ("territory",)},
    "funders": {"email": ("contact",), "url": ("url",)},
    "history": {"siret": ("recipient_id",), "rna": ("recipient_id",)},
}


def value_guesses(kind: str, seen: Profile) -> list[tuple[str, str, float]]:
    """``(field, shape, share)`` for the fields that the values alone are enough for."""
    if seen.count < 3:
        return []
    out = []
    for shape, names in _VALUE_FIELDS.get(kind, {}).items():
        share = seen.share(shape)
        if share >= STRONG:
            out.extend((name, shape, share) for name in names)
    return out


#: How a shape is named in explanations (English, French).
SHAPE_TEXTS = {
    "siret": ("14-digit SIRET numbers with a valid check digit", "numéros SIRET à 14 chiffres et clé valide"),
    "siren": ("9-digit SIREN numbers with a valid check digit", "numéros SIREN à 9 chiffres et clé valide"),
    "rna": ("RNA numbers (W + 9 characters)", "numéros RNA (W + 9 caractères)"),
    "five_digits": ("5-digit postcodes or INSEE codes", "codes postaux ou codes INSEE à 5 chiffres"),
    "department": ("department codes", "codes de département"),
    "email": ("e-mail addresses", "adresses électroniques"),
    "url": ("web addresses", "adresses web"),
    "date": ("dates", "dates"),
    "serial_date": ("Excel serial dates", "dates en numéro de série Excel"),
    "yes_no": ("yes/no answers", "réponses oui/non"),
    "amount": ("amounts or numbers", "montants ou nombres"),
    "long_text": ("long texts", "textes longs"),
}


def shape_text(shape: str, share: float, lang: str) -> str:
    """``97 % valid SIRET numbers``: a shape and its share, in ``lang``."""
    en, fr = SHAPE_TEXTS.get(shape, (shape, shape))
    percent = round(100 * share)
    return f"{percent} % de {fr}" if lang == "fr" else f"{percent}% {en}"

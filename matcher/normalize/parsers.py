"""Scalar value parsers: amounts, shares, dates, yes/no, whole numbers, lists.

Every parser takes one raw cell as a reader gives it (``str``, ``int``,
``float``, ``bool``, ``datetime``/``date``/``pd.Timestamp``, ``None``, NaN,
``pd.NA``; lists and dicts for the list parsers) and returns the canonical
value of :mod:`matcher.normalize.schema`, ``None`` when the cell says nothing (blank,
NaN, or a marker such as ``NC``, ``n/a``, ``-``, ``?``, ``non communiqué``), or
raises :class:`~matcher.normalize.problems.ParseError` with a short reason in English
and French that quotes the value. Unknown is never read as 0 or ``False``.

A cell made only of punctuation or symbols (``-``, ``?``, ``—``, ``€``) is
unknown too, except the check marks ``✓ ✔ ☑`` read by :func:`parse_bool` and
:func:`parse_level`.

The text paths are cached (failures included) because the pipelines run them
over million-row columns.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import re
import unicodedata
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import lru_cache, wraps
from typing import NamedTuple

import numpy as np
import pandas as pd

from matcher.core.missing import is_missing
from matcher.core.resources import load_data
from matcher.core.text import fold
from matcher.normalize.problems import ParseError, parse_error
from matcher.referential import territories, vocabularies

__all__ = [
    "DEFAULT_SEPARATORS",
    "YES_LEVEL",
    "clear_caches",
    "is_unknown",
    "parse_amount",
    "parse_bool",
    "parse_date",
    "parse_int",
    "parse_level",
    "parse_levels",
    "parse_percent",
    "parse_weighted",
    "split_list",
]

CACHE_SIZE = 200_000

#: Separators of :func:`split_list` (``\r`` goes with ``\n``).
DEFAULT_SEPARATORS = ";,|/\n"

#: Level given to a criterion marked only "yes" (``oui``, ``x``, ``✓``, ``True``).
YES_LEVEL = 2

# --------------------------------------------------------------------------- word tables

_WORDS = load_data("words.yaml")

#: Folded cell texts that mean "not known" in every parser.
UNKNOWN_MARKERS = frozenset(_WORDS["unknown_markers"])

CHECK_MARKS = frozenset(_WORDS["check_marks"])

#: Folded words read by :func:`parse_bool`.
BOOL_WORDS: dict[str, bool] = {
    **dict.fromkeys(_WORDS["bool_words"]["true"], True),
    **dict.fromkeys(_WORDS["bool_words"]["false"], False),
}

#: Folded words read by :func:`parse_level` (yes-like words give :data:`YES_LEVEL`).
LEVEL_WORDS: dict[str, int] = {
    **{word: int(level) for level, words in _WORDS["level_words"].items() for word in words},
    **dict.fromkeys(_WORDS["level_yes_words"], YES_LEVEL),
}

#: Folded month names and abbreviations, French and English.
MONTHS: dict[str, int] = {word: int(month) for month, words in _WORDS["months"].items() for word in words}

WEEKDAYS = frozenset(_WORDS["weekdays"])

#: Words after an amount that multiply it (spaces and dots removed, lower case).
#: "billion" is left out: it means 10^12 in French and 10^9 in English.
AMOUNT_MULTIPLIERS: dict[str, int] = {
    word: int(factor) for factor, words in _WORDS["amount_multipliers"].items() for word in words}

EURO_WORDS = tuple(_WORDS["euro_words"])
TAX_WORDS = tuple(_WORDS["tax_words"])

#: First day of 1950 and last day of 2100 as Excel serial numbers (1900 date system).
EXCEL_SERIALS = (18264, 73415)
EXCEL_EPOCH = dt.date(1899, 12, 30)

INT64_MAX = 2**63 - 1

# --------------------------------------------------------------------------- shared helpers


class _Failure(NamedTuple):
    reason_en: str
    reason_fr: str
    code: str


_CACHED: list[Callable] = []  # the cached parsers' remember functions (clear_caches)


def clear_caches() -> None:
    """Empty the caches of the text parsers (and those of :func:`matcher.core.text.fold`, of the
    packaged vocabularies and of the shipped territories, which they read through).

    They are bounded (:data:`CACHE_SIZE` entries each) but fill with the distinct texts of the
    cells parsed (names, summaries, places): a streamed read (:mod:`matcher.io.streaming`)
    empties them after each piece, so what it holds does not depend on the size of the file."""
    for remember in _CACHED:
        remember.cache_clear()
    _says_nothing.cache_clear()
    fold.cache_clear()
    vocabularies.clear_caches()
    territories.clear_caches()


def _cached(parse: Callable) -> Callable:
    """Cache a text parser, failures included, raising a fresh error on each call."""

    @lru_cache(maxsize=CACHE_SIZE)
    def remember(*args):
        try:
            return parse(*args)
        except ParseError as error:
            return _Failure(error.reason_en, error.reason_fr, error.code)

    @wraps(parse)
    def run(*args):
        result = remember(*args)
        if isinstance(result, _Failure):
            raise ParseError(result.reason_en, result.reason_fr, result.code)
        return result

    run.cache_info = remember.cache_info
    run.cache_clear = remember.cache_clear
    _CACHED.append(remember)
    return run


_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))


_STYLED = ("<super>", "<sub>", "<circle>")


def _styled_digit(text: str) -> bool:
    """A superscript, subscript or circled digit ("10⁶", "2³", "①"): NFKC would make it a plain digit."""
    return any(not ch.isascii() and unicodedata.decomposition(ch).startswith(_STYLED)
               and any(c.isdigit() for c in unicodedata.normalize("NFKC", ch)) for ch in text)


def _clean(text: str) -> str:
    """NFKC, invisible characters removed, white space folded to single spaces.

    Only the number parsers call it: a superscript, subscript or circled digit is refused
    (``10⁶`` would otherwise read as 106, ``①`` as 1).
    """
    if not text.isascii() and _styled_digit(text):
        raise _error("number.styled_digit", text)
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    return " ".join(text.split())


def _shown(value) -> str:
    """The value quoted for a message: white space folded, cut at 60 characters."""
    try:
        text = value if isinstance(value, str) else str(value)
    except ValueError:  # an int too long for str()
        text = "<a number too long to show>"
    text = " ".join(text.split())
    if len(text) > 60:
        text = text[:59] + "…"
    return repr(text) if not text.isprintable() else f"'{text}'"


def _error(code: str, value) -> ParseError:
    """The parse error ``code`` for ``value`` (texts in ``matcher/data/problems.yaml``)."""
    return parse_error(code, value=_shown(value))




_HAS_ALNUM = re.compile(r"[^\W_]")
_HAS_DIGIT = re.compile(r"[0-9]")


@lru_cache(maxsize=CACHE_SIZE)
def _says_nothing(text: str) -> bool:
    """A text cell that carries no value: blank, symbols only, or an unknown marker."""
    if not _HAS_ALNUM.search(text):
        return not any(mark in text for mark in CHECK_MARKS)
    if len(text) > 40 or _HAS_DIGIT.search(text):  # no marker is that long or has digits
        return False
    return fold(text) in UNKNOWN_MARKERS


def is_unknown(value) -> bool:
    """True when a cell says nothing: None, NaN, pd.NA, blank text, ``NC``, ``-``…"""
    if is_missing(value):
        return True
    return isinstance(value, str) and _says_nothing(value)


def _is_bool(value) -> bool:
    return isinstance(value, bool | np.bool_)


def _is_number(value) -> bool:
    return not _is_bool(value) and isinstance(value, numbers.Real | Decimal)


def _float(value) -> float:
    """``float(value)``, with ±inf instead of OverflowError for huge integers."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


# --------------------------------------------------------------------------- numbers in text

_SPACE_GROUPS = re.compile(r"\d{1,3}(?:[ ']\d{3})+", re.ASCII)
_GROUPS = {sep: re.compile(rf"\d{{1,3}}(?:{re.escape(sep)}\d{{3}})+", re.ASCII) for sep in ".,"}
_DIGITS = re.compile(r"\d+", re.ASCII)
_THOUSANDS_LEAD = re.compile(r"[1-9]\d{0,2}", re.ASCII)


def _read_number(text: str, single_separator_may_group: bool = True) -> Decimal | None:
    """Read digits written with French or English separators, or None.

    ``text`` holds only digits, spaces, apostrophes, ``.`` and ``,`` and starts
    and ends with a digit. Spaces and apostrophes only group thousands. When
    both ``.`` and ``,`` appear, the last one is the decimal mark. One kind
    appearing several times groups thousands. One single ``.`` or ``,``
    followed by exactly three digits (and led by 1-3 digits, not 0) groups
    thousands when ``single_separator_may_group``, unless spaces already group
    them; otherwise it is the decimal mark.
    """
    spaced = " " in text or "'" in text
    dots, commas = text.count("."), text.count(",")
    fraction = ""
    if dots and commas:
        decimal_mark = "." if text.rfind(".") > text.rfind(",") else ","
        group = "," if decimal_mark == "." else "."
        if spaced or text.count(decimal_mark) != 1:
            return None
        whole, fraction = text.split(decimal_mark)
        if not _GROUPS[group].fullmatch(whole):
            return None
        whole = whole.replace(group, "")
    elif dots or commas:
        mark = "." if dots else ","
        if dots + commas > 1:
            if spaced or not _GROUPS[mark].fullmatch(text):
                return None
            whole = text.replace(mark, "")
        else:
            whole, fraction = text.split(mark)
            if (single_separator_may_group and not spaced and len(fraction) == 3
                    and _THOUSANDS_LEAD.fullmatch(whole)):
                whole, fraction = whole + fraction, ""
    else:
        whole = text
    if " " in whole or "'" in whole:
        if not _SPACE_GROUPS.fullmatch(whole):
            return None
        whole = whole.replace(" ", "").replace("'", "")
    if not _DIGITS.fullmatch(whole) or (fraction and not _DIGITS.fullmatch(fraction)):
        return None
    return Decimal(f"{whole}.{fraction}" if fraction else whole)


def _finite_float(number: Decimal) -> float | None:
    result = float(number)
    return result if math.isfinite(result) else None


# --------------------------------------------------------------------------- amounts

_APPROX = re.compile(
    r"^(?:environ|env\.?|approx(?:\.|imativement|imately)?|about|around|circa|ca\.|~|≈)\s*"
    r"|\s*(?:environ|approx\.?)$"
)
_FOREIGN = re.compile(
    r"[$£¥₣₤]|(?<![a-z])(?:usd|gbp|chf|cad|jpy|cny|dollars?|pounds?|livres?(?: sterling)?"
    r"|francs? suisses?)(?![a-z])"
)
_AMOUNT = re.compile(r"^(?P<pre>.*?)(?P<neg>[-−]\s*)?\+?(?P<num>\d(?:[\d .,']*\d)?)(?P<post>.*)$", re.ASCII)
_AMOUNT_SUFFIX = re.compile(
    "^(?P<mult>" + "|".join(sorted(map(re.escape, AMOUNT_MULTIPLIERS), key=len, reverse=True))
    + ")?(?P<cur>" + "|".join(map(re.escape, EURO_WORDS)) + ")?(?:" + "|".join(TAX_WORDS) + ")?$"
)


def parse_amount(value, currency_ok: bool = False) -> float | None:
    """An amount in euros, as people write it, or None when unknown.

    Reads ``50 000 €``, ``50k€``, ``1,5 M€``, ``2 millions d'euros``,
    ``50.000,00``, ``50,000.00``, ``12 500 EUR``, ``€ 3 000``, ``50 000 € HT``,
    with any kind of space (no-break, narrow no-break) between groups.

    Separators (see :func:`_read_number`): spaces and apostrophes group
    thousands; with both ``.`` and ``,`` the last one is the decimal mark; a
    single ``.`` **or** ``,`` followed by exactly three digits groups
    thousands (``50.000`` and ``1,500`` are 50000 and 1500 — the French
    habit for ``.``, a choice for ``,`` where English would agree), otherwise
    it is the decimal mark (``1,5`` → 1.5, ``0,500`` → 0.5). After a
    multiplier (``k``, ``M``, ``Md``, ``million``…) a single separator is
    always the decimal mark: ``1,500 M€`` is 1.5 million.

    ``environ``/``approx.``/``about``/``~`` before the amount are read as the
    amount itself; ranges and other words are not read. Negative amounts and
    other currencies (``$``, ``£``, ``USD``, ``GBP``, ``CHF``…) are errors;
    ``currency_ok=True`` ignores the currency (no conversion is made).
    """
    if is_missing(value):
        return None
    if isinstance(value, str):
        return _amount_text(value, currency_ok)
    if _is_number(value):
        number = _float(value)
        if not math.isfinite(number):
            raise _error("amount.unreadable", value)
        if number < 0:
            raise _error("amount.negative", value)
        return _bounded_amount(number, value)
    raise _error("amount.unreadable", value)


#: Above this an amount is a typo or a corrupt cell (the whole French State budget is under 1e12 €): an error, so
#: that it can never overflow a later sum, ratio or formatting.
AMOUNT_MAX = 1e12


def _bounded_amount(number: float, value) -> float:
    if number > AMOUNT_MAX:
        raise _error("amount.too_large", value)
    return number


_PLAIN_AMOUNT = re.compile(r"[0-9]{1,15}(?:\.[0-9]{1,2})?")


@_cached
def _amount_text(value: str, currency_ok: bool) -> float | None:
    if _PLAIN_AMOUNT.fullmatch(value):  # the usual export: 45000, 99786.57
        return _bounded_amount(float(value), value)
    if _says_nothing(value):
        return None
    text = _clean(value).lower().replace("’", "'")
    text = _APPROX.sub("", text).strip()
    if _FOREIGN.search(text):
        if not currency_ok:
            raise _error("amount.not_euros", value)
        text = _FOREIGN.sub("", text).strip()
    found = _AMOUNT.match(text)
    if not found:
        raise _error("amount.unreadable", value)
    pre = found["pre"].replace(" ", "")
    suffix = _AMOUNT_SUFFIX.match(found["post"].replace(" ", "").replace(".", ""))
    if pre not in ("", *EURO_WORDS) or not suffix or (pre and suffix["cur"]):
        raise _error("amount.unreadable", value)
    multiplier = AMOUNT_MULTIPLIERS.get(suffix["mult"] or "", 1)
    number = _read_number(found["num"], single_separator_may_group=multiplier == 1)
    if number is None:
        raise _error("amount.unreadable", value)
    if found["neg"] and number:
        raise _error("amount.negative", value)
    amount = _finite_float(number * multiplier)
    if amount is None:
        raise _error("amount.too_large", value)
    return _bounded_amount(amount, value)


# --------------------------------------------------------------------------- percentages

_PERCENT = re.compile(
    r"^(?P<neg>[-−])?\s*\+?(?P<num>\d+(?:[.,]\d+)?|[.,]\d+)\s*"
    r"(?P<pct>%|pour ?cents?|pourcents?|percent|pct)?$",
    re.ASCII,
)


def parse_percent(value) -> float | None:
    """A share in [0, 1], or None when unknown.

    ``50 %``, ``12,5 %`` and ``50`` are read as hundredths; a bare number up
    to 1 (``0,5``, ``1``) is already a share. So ``1`` is 100 % and ``1,5``
    without ``%`` is 1.5 %. Above 100 % or below 0 is an error.
    """
    if is_missing(value):
        return None
    if isinstance(value, str):
        return _percent_text(value)
    if _is_number(value):
        number = _float(value)
        if not math.isfinite(number):
            raise _error("percent.unreadable", value)
        return _share(Decimal(repr(number)), False, value)
    raise _error("percent.unreadable", value)


def _share(number: Decimal, hundredths: bool, value) -> float:
    if number < 0:
        raise _error("percent.negative", value)
    if hundredths or number > 1:
        if number > 100:
            raise _error("percent.above_100", value)
        number = number / 100
    return float(number)


@_cached
def _percent_text(value: str) -> float | None:
    if _says_nothing(value):
        return None
    found = _PERCENT.match(_clean(value).lower())
    if not found:
        raise _error("percent.unreadable", value)
    number = Decimal(found["num"].replace(",", "."))
    if found["neg"] and number:
        raise _error("percent.negative", value)
    return _share(number, bool(found["pct"]), value)


# --------------------------------------------------------------------------- dates

_TIME = r"(?:[ t]\d{1,2}[:h]\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:z|[+-]\d{2}:?\d{2})?)?"
_YMD = re.compile(rf"^(?P<y>\d{{4}})(?P<s>[-/.])(?P<m>\d{{1,2}})(?P=s)(?P<d>\d{{1,2}}){_TIME}$", re.ASCII)
_DMY = re.compile(rf"^(?P<d>\d{{1,2}})(?P<s>[-/.])(?P<m>\d{{1,2}})(?P=s)(?P<y>\d{{4}}|\d{{2}}){_TIME}$", re.ASCII)
_COMPACT = re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})$", re.ASCII)
_NO_DAY = re.compile(r"^(?:\d{1,2}[-/.]\d{4}|\d{4}[-/.]\d{1,2}|\d{4})$", re.ASCII)
_NAMED_DMY = re.compile(r"^(?:le )?(?:[a-z]+ )?(?P<d>\d{1,2})(?:er|e|st|nd|rd|th)? (?P<m>[a-z]+) (?P<y>\d{4}|\d{2})$")
_NAMED_MDY = re.compile(r"^(?:[a-z]+ )?(?P<m>[a-z]+) (?P<d>\d{1,2})(?:st|nd|rd|th)? (?P<y>\d{4})$")
_NAMED_MY = re.compile(r"^(?:en )?(?P<m>[a-z]+) (?P<y>\d{4})$")


def parse_date(value) -> str | None:
    """An ISO date ``YYYY-MM-DD``, or None when unknown.

    Reads day/month/year with ``/``, ``-`` or ``.`` (``31/12/2025``,
    ``1/2/2025``; a two-digit year is 20yy), ISO (``2025-12-31``, with or
    without a time), ``20251231``, month names in French or English
    (``31 décembre 2025``, ``1er mars 2026``, ``31 déc. 2025``,
    ``December 31, 2025``), and ``date``/``datetime``/``pd.Timestamp`` objects.
    Month/day/year is never assumed: ``12/31/2025`` is an error. A month
    without a day (``mars 2026``, ``03/2026``) is an error rather than a guess,
    because the first or the last day would each be wrong for one of opening
    and closing dates. Numbers are Excel serial dates (1900 system) when they
    fall in 1950-2100, which is how an XLSX date cell can lose its format;
    any other number, a year alone included, is an error.
    """
    if is_missing(value):
        return None
    if isinstance(value, str):
        return _date_text(value)
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if _is_number(value):
        number = _float(value)
        if math.isfinite(number) and EXCEL_SERIALS[0] <= number < EXCEL_SERIALS[1] + 1:
            return (EXCEL_EPOCH + dt.timedelta(days=int(number))).isoformat()
    raise _error("date.unreadable", value)


@_cached
def _date_text(value: str) -> str | None:
    if _says_nothing(value):
        return None
    text = _clean(value).lower()
    for pattern in (_YMD, _COMPACT):
        found = pattern.match(text)
        if found:
            return _iso(int(found["y"]), int(found["m"]), int(found["d"]), value, False)
    found = _DMY.match(text)
    if found:
        return _iso(_full_year(found["y"]), int(found["m"]), int(found["d"]), value, True)
    if _NO_DAY.match(text):
        raise _error("date.no_day", value)
    folded = fold(text)
    found = _NAMED_DMY.match(folded) or _NAMED_MDY.match(folded)
    if found and found["m"] in MONTHS and _no_stray_word(folded, found):
        return _iso(_full_year(found["y"]), MONTHS[found["m"]], int(found["d"]), value, False)
    found = _NAMED_MY.match(folded)
    if found and found["m"] in MONTHS:
        raise _error("date.no_day", value)
    serial = _SERIAL_TEXT.fullmatch(text)
    if serial and EXCEL_SERIALS[0] <= int(serial[1]) <= EXCEL_SERIALS[1]:
        # an Excel date written out as its serial number ("46000" in a CSV export)
        return (EXCEL_EPOCH + dt.timedelta(days=int(serial[1]))).isoformat()
    raise _error("date.unreadable", value)


_SERIAL_TEXT = re.compile(r"(\d{5})(?:[.,]0+)?")


def _no_stray_word(folded: str, found: re.Match) -> bool:
    """The optional word before a named date may only be a weekday."""
    lead = folded[: found.start("d" if found.re is _NAMED_DMY else "m")].removeprefix("le ")
    return not lead.strip() or lead.strip() in WEEKDAYS


def _full_year(year: str) -> int:
    return 2000 + int(year) if len(year) == 2 else int(year)


def _iso(year: int, month: int, day: int, value: str, day_first: bool) -> str:
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        if day_first:
            raise _error("date.invalid_dmy", value) from None
        raise _error("date.invalid", value) from None


# --------------------------------------------------------------------------- yes / no


def parse_bool(value) -> bool | None:
    """Yes or no, or None when unknown.

    True: ``oui o yes y x vrai true 1 ok ✓ ✔``; false: ``non n no faux false 0``
    (any case and accents; ``1.0``/``0.0`` too). An ``x`` marks a ticked box.
    Anything else is an error.
    """
    if is_missing(value):
        return None
    if _is_bool(value):
        return bool(value)
    if isinstance(value, str):
        return _bool_text(value)
    if _is_number(value) and value in (0, 1):
        return bool(value)
    raise _error("bool.unreadable", value)


@_cached
def _bool_text(value: str) -> bool | None:
    text = value.strip()
    if text in CHECK_MARKS:
        return True
    if _says_nothing(value):
        return None
    found = BOOL_WORDS.get(fold(text))
    if found is None:
        number = _plain_number(text)
        if number in (0, 1):
            return bool(number)
        raise _error("bool.unreadable", value)
    return found


_PLAIN_NUMBER = re.compile(r"([-−+]?)(\d+)(?:[.,](\d+))?", re.ASCII)


def _plain_number(text: str) -> Decimal | None:
    """``12``, ``12.0``, ``12,0``, ``-3``: a plain decimal number, or None."""
    found = _PLAIN_NUMBER.fullmatch(_clean(text))
    if not found:
        return None
    sign = "-" if found[1] in "-−" and found[1] else ""
    return Decimal(f"{sign}{found[2]}.{found[3] or 0}")


# --------------------------------------------------------------------------- whole numbers

_INT = re.compile(r"^(?P<neg>[-−])?\s*\+?(?P<num>\d(?:[\d .,']*\d)?)$", re.ASCII)


def parse_int(value) -> int | None:
    """A whole number, or None when unknown.

    Reads ``12``, ``12.0``, `` 12 ``, ``1 200`` (any space), ``-3``; the
    separators follow :func:`parse_amount` (``1.200`` is 1200). A fraction,
    a unit (``24 mois``) or a boolean is an error, as is a number beyond 64 bits.
    """
    if is_missing(value):
        return None
    if isinstance(value, str):
        return _int_text(value)
    if isinstance(value, numbers.Integral) and not _is_bool(value):
        return _whole(Decimal(int(value)), value)
    if _is_number(value) and math.isfinite(_float(value)):
        return _whole(Decimal(_float(value)), value)
    raise _error("int.unreadable", value)


def _whole(number: Decimal, value) -> int:
    if number != number.to_integral_value():
        raise _error("int.not_whole", value)
    if abs(number) > INT64_MAX:
        raise _error("int.too_large", value)
    return int(number)


@_cached
def _int_text(value: str) -> int | None:
    if _says_nothing(value):
        return None
    found = _INT.match(_clean(value))
    number = _read_number(found["num"]) if found else None
    if number is None:
        raise _error("int.unreadable", value)
    return _whole(-number if found["neg"] else number, value)


_DURATION = re.compile(r"^(?P<num>\d+(?:[.,]\d+)?)\s*(?P<unit>mois|months?|mo|m|ans?|années?|years?|yrs?|y|a)\.?$",
                       re.IGNORECASE)


def parse_months(value) -> int | None:
    """A duration in whole months: a number (``24``), or ``24 mois``, ``2 ans``, ``18 months``, ``1,5 an``."""
    if isinstance(value, str) and not _says_nothing(value):
        found = _DURATION.match(_clean(value).lower())
        if found:
            number = Decimal(found["num"].replace(",", "."))
            years = found["unit"][0] in "aéy"
            return _whole(number * 12 if years else number, value)
    return parse_int(value)


# --------------------------------------------------------------------------- lists

_BULLET = re.compile(r"^[-*•·–—▪►]+\s*")


def split_list(value, separators: str = DEFAULT_SEPARATORS) -> tuple[str, ...] | None:
    """The items of a list cell, stripped, in order, without empties or repeats.

    A text is split on each character of ``separators`` (default ``; , | /``
    and new lines) and on nothing else — not on words such as ``et``/``and``;
    callers may first try safer separators, e.g. ``split_list(cell, ";|\\n")``.
    A leading bullet (``-``, ``•``) is removed from each item. A list, tuple
    or set passes through with its items turned into text (``75.0`` → ``75``).
    An unknown cell gives None; an empty list gives ``()`` ("explicitly none").
    """
    if is_missing(value):
        return None
    if isinstance(value, str):
        return _split_text(value, separators)
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return _unique(_item_text(item) for item in items)
    if _is_number(value):
        return _unique([_item_text(value)])
    raise _error("list.unreadable", value)


def _item_text(item) -> str:
    if is_missing(item):
        return ""
    if isinstance(item, float) and item.is_integer():
        item = int(item)
    return " ".join(str(item).split())


def _unique(items) -> tuple[str, ...]:
    return tuple(dict.fromkeys(item for item in items if item))


@lru_cache(maxsize=64)
def _splitter(separators: str) -> re.Pattern:
    chars = set(separators) | ({"\r"} if "\n" in separators else set())
    return re.compile("[" + "".join(re.escape(c) for c in sorted(chars)) + "]")


@_cached
def _split_text(value: str, separators: str) -> tuple[str, ...] | None:
    if _says_nothing(value):
        return None
    parts = _splitter(separators).split(value) if separators else [value]
    items = _unique(_BULLET.sub("", " ".join(part.split())) for part in parts)
    return items or None


# --------------------------------------------------------------------------- weighted lists

#: Weighted and level lists split on ``; | /`` and new lines, and on ``,``
#: unless a digit follows (``energy:1,5`` keeps its decimal comma).
_ITEM_SPLIT = re.compile(r"[;|\n\r]|,(?!\d)|/(?!\d)")
_IN_PARENTHESES = re.compile(r"^(?P<name>.*?)\s*[(\[]\s*(?P<tag>[^()\[\]]*?)\s*[)\]]$")


def parse_weighted(value) -> tuple[tuple[str, float], ...] | None:
    """Items with a positive weight: ``energy:2; mobility:1``, ``énergie (3), mobilité``.

    Also a dict ``{"energy": 2}`` (from JSON/YAML) or a list of items. An item
    without a weight (or with a null one) weighs 1.0; ``name=2`` and
    ``name [2]`` work too; decimal commas are kept (``energy:1,5``). A weight
    of 0 or less is an error. A name given twice keeps its first place and its
    largest weight. A parenthesis holding something other than a number is part
    of the name (``énergie (hors fossiles)``).
    """
    if is_missing(value):
        return None
    if isinstance(value, str):
        return _weighted_text(value)
    pairs = [_weighted_item(key, weight) for key, weight in _entries(value)]
    return _merge(pairs, max)


def _entries(value):
    """(name, given value or None) for each entry of a dict, list or scalar cell."""
    if isinstance(value, Mapping):
        return [(key, weight) for key, weight in value.items()]
    if isinstance(value, list | tuple | set | frozenset):
        entries = []
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        for item in items:
            if isinstance(item, Mapping):
                entries.extend(item.items())
            elif isinstance(item, list | tuple) and len(item) == 2:
                entries.append(tuple(item))
            elif not is_missing(item):
                entries.append((item, _TEXT_ITEM))
        return entries
    if _is_number(value):
        return [(value, None)]
    raise _error("list.unreadable", value)


_TEXT_ITEM = object()  # a list item given as text that may carry its own weight


def _weighted_item(name, weight) -> tuple[str, float] | None:
    if weight is _TEXT_ITEM:
        return _weighted_token(_item_text(name)) if _item_text(name) else None
    label = _item_text(name)
    if not label:
        raise _error("weighted_list.unreadable", f"{name}: {weight}")
    shown = f"{label}: {weight}"
    if is_missing(weight) or (isinstance(weight, str) and _says_nothing(weight)):
        return label, 1.0
    if _is_bool(weight):
        number = Decimal(int(weight))
    elif _is_number(weight) and math.isfinite(_float(weight)):
        number = Decimal(repr(_float(weight)))
    elif isinstance(weight, str) and _plain_number(weight) is not None:
        number = _plain_number(weight)
    else:
        raise _error("weight.unreadable", shown)
    return label, _positive(number, shown)


def _positive(number: Decimal, shown) -> float:
    weight = _finite_float(number)
    if weight is None:
        raise _error("weight.unreadable", shown)
    if weight <= 0:
        raise _error("weight.not_positive", shown)
    return weight


@_cached
def _weighted_token(token: str) -> tuple[str, float]:
    found = _IN_PARENTHESES.match(token)
    if found and _plain_number(found["tag"]) is not None:
        name, weight = found["name"], _plain_number(found["tag"])
    elif ":" in token or "=" in token:
        cut = max(token.rfind(":"), token.rfind("="))
        name, tag = token[:cut].strip(), token[cut + 1:].strip()
        weight = _plain_number(tag)
        if weight is None:
            raise _error("weight.unreadable", token)
    else:
        name, weight = token, Decimal(1)
    if not name.strip():
        raise _error("weighted_list.unreadable", token)
    return " ".join(name.split()), _positive(weight, token)


@_cached
def _weighted_text(value: str) -> tuple[tuple[str, float], ...] | None:
    if _says_nothing(value):
        return None
    tokens = _tokens(value)
    return _merge([_weighted_token(token) for token in tokens], max) if tokens else None


def _tokens(value: str) -> list[str]:
    parts = (_BULLET.sub("", " ".join(part.split())) for part in _ITEM_SPLIT.split(value))
    return [part for part in parts if part]


def _merge(pairs, better: Callable) -> tuple:
    """Pairs in first-seen order, a repeated name keeping ``better(old, new)``."""
    merged: dict = {}
    for pair in pairs:
        if pair is None:
            continue
        name, amount = pair
        merged[name] = better(merged[name], amount) if name in merged else amount
    return tuple(merged.items())


# --------------------------------------------------------------------------- just-transition levels


def parse_level(value) -> int | None:
    """One just-transition level 0-3, or None when unknown.

    Reads ``0``..``3`` (``2.0``, ``2,0`` too) and words: ``non``/``aucun`` 0,
    ``faible`` 1, ``moyen`` 2, ``fort``/``élevé`` 3. A plain yes (``oui``,
    ``x``, ``✓``, ``True``) is :data:`YES_LEVEL` (2, "moderate"): the cell says
    the criterion is met without saying how strongly, and the same default
    applies to a criterion listed without a level. ``False`` is 0.
    """
    if is_missing(value):
        return None
    if _is_bool(value):
        return YES_LEVEL if value else 0
    if isinstance(value, str):
        return _level_text(value)
    if _is_number(value) and math.isfinite(_float(value)):
        return _level_number(Decimal(repr(_float(value))), value)
    raise _error("level.unreadable", value)


def _level_number(number: Decimal, shown) -> int:
    if number != number.to_integral_value():
        raise _error("level.unreadable", shown)
    if not 0 <= number <= 3:
        raise _error("level.out_of_range", shown)
    return int(number)


@_cached
def _level_text(value: str) -> int | None:
    level = _level_word(value, value)
    if level is _NOT_A_LEVEL:
        raise _error("level.unreadable", value)
    return level


_NOT_A_LEVEL = object()


def _level_word(text: str, shown):
    """The level a text gives (None when it says nothing), or ``_NOT_A_LEVEL``."""
    if text.strip() in CHECK_MARKS:
        return YES_LEVEL
    if _says_nothing(text):
        return None
    word = LEVEL_WORDS.get(fold(text))
    if word is not None:
        return word
    number = _plain_number(text)
    return _NOT_A_LEVEL if number is None else _level_number(number, shown)


def parse_levels(value) -> tuple[tuple[str, int | None], ...] | None:
    """Criteria with an optional level 0-3: ``climate_mitigation:3; inclusive_employment``.

    Also ``critère (fort)``, ``critère=2``, a dict ``{criterion: level}`` or a
    list. A criterion without a level gets None (the caller picks the
    default); a level outside 0-3 is an error. A criterion given twice keeps
    its first place and its highest level.
    """
    if is_missing(value):
        return None
    if isinstance(value, str):
        return _levels_text(value)
    pairs = [_level_item(name, level) for name, level in _entries(value)]
    return _merge(pairs, _higher_level)


def _higher_level(old: int | None, new: int | None) -> int | None:
    return old if new is None else new if old is None else max(old, new)


def _level_item(name, level) -> tuple[str, int | None] | None:
    if level is _TEXT_ITEM:
        return _level_token(_item_text(name)) if _item_text(name) else None
    label = _item_text(name)
    shown = f"{label}: {level}"
    if not label:
        raise _error("level_list.unreadable", shown)
    if isinstance(level, str):
        found = _level_word(level, shown)
        if found is _NOT_A_LEVEL:
            raise _error("level.unreadable", shown)
        return label, found
    try:
        return label, parse_level(level)
    except ParseError:
        if _is_number(level) and math.isfinite(_float(level)) and _float(level).is_integer():
            raise _error("level.out_of_range", shown) from None
        raise _error("level.unreadable", shown) from None


@_cached
def _level_token(token: str) -> tuple[str, int | None]:
    found = _IN_PARENTHESES.match(token)
    if found:
        level = _level_word(found["tag"], token) if found["tag"] else _NOT_A_LEVEL
        if level is not _NOT_A_LEVEL and level is not None and found["name"].strip():
            return " ".join(found["name"].split()), level
    if ":" in token or "=" in token:
        cut = max(token.rfind(":"), token.rfind("="))
        name = token[:cut].strip()
        level = _level_word(token[cut + 1:], token)
        if level is _NOT_A_LEVEL:
            raise _error("level.unreadable", token)
    else:
        name, level = token, None
    if not name:
        raise _error("level_list.unreadable", token)
    return " ".join(name.split()), level


@_cached
def _levels_text(value: str) -> tuple[tuple[str, int | None], ...] | None:
    if _says_nothing(value):
        return None
    tokens = _tokens(value)
    return _merge([_level_token(token) for token in tokens], _higher_level) if tokens else None

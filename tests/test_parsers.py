"""Tests of the scalar value parsers: real spellings, error reasons, properties."""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.normalize import parsers
from matcher.normalize.parsers import (
    parse_amount,
    parse_bool,
    parse_date,
    parse_int,
    parse_level,
    parse_levels,
    parse_percent,
    parse_weighted,
    split_list,
)
from matcher.normalize.problems import ParseError

NNBSP, NBSP = "\u202f", "\u00a0"

# --------------------------------------------------------------------------- real-world spellings

SPELLINGS = [
    # amounts
    (parse_amount, "50 000 €", 50000.0),
    (parse_amount, "50 000,00 €", 50000.0),
    (parse_amount, "50k€", 50000.0),
    (parse_amount, "50 k€", 50000.0),
    (parse_amount, "50K", 50000.0),
    (parse_amount, "1,5 M€", 1_500_000.0),
    (parse_amount, "1.5M", 1_500_000.0),
    (parse_amount, "1,5 million", 1_500_000.0),
    (parse_amount, "2 millions d'euros", 2_000_000.0),
    (parse_amount, "2 millions d’euros", 2_000_000.0),
    (parse_amount, "3 Md€", 3e9),
    (parse_amount, "50.000,00", 50000.0),
    (parse_amount, "50,000.00", 50000.0),
    (parse_amount, "50.000", 50000.0),
    (parse_amount, "1,500", 1500.0),
    (parse_amount, "1,5", 1.5),
    (parse_amount, "0,500", 0.5),
    (parse_amount, "1.234.567", 1234567.0),
    (parse_amount, "12 500 EUR", 12500.0),
    (parse_amount, "12 500 euros", 12500.0),
    (parse_amount, "45000", 45000.0),
    (parse_amount, f"45{NNBSP}000", 45000.0),
    (parse_amount, f"45{NBSP}000{NBSP}€", 45000.0),
    (parse_amount, "€ 3 000", 3000.0),
    (parse_amount, "3000€", 3000.0),
    (parse_amount, "1 234 567,89", 1234567.89),
    (parse_amount, "1'234'567.89", 1234567.89),
    (parse_amount, "50 000 € HT", 50000.0),
    (parse_amount, "environ 50 000 €", 50000.0),
    (parse_amount, "~50k€", 50000.0),
    (parse_amount, "0", 0.0),
    (parse_amount, "-", None),
    (parse_amount, "n/a", None),
    (parse_amount, "NC", None),
    (parse_amount, "non communiqué", None),
    (parse_amount, "?", None),
    (parse_amount, "   ", None),
    (parse_amount, 45000, 45000.0),
    (parse_amount, 99786.57, 99786.57),
    (parse_amount, np.int64(7), 7.0),
    (parse_amount, Decimal("12.5"), 12.5),
    (parse_amount, None, None),
    (parse_amount, math.nan, None),
    (parse_amount, pd.NA, None),
    # percentages
    (parse_percent, "50 %", 0.5),
    (parse_percent, "50%", 0.5),
    (parse_percent, "0,5", 0.5),
    (parse_percent, "0.5", 0.5),
    (parse_percent, "50", 0.5),
    (parse_percent, "12,5 %", 0.125),
    (parse_percent, f"12,5{NNBSP}%", 0.125),
    (parse_percent, "100 %", 1.0),
    (parse_percent, "1", 1.0),
    (parse_percent, "0 %", 0.0),
    (parse_percent, 80, 0.8),
    (parse_percent, 0.05, 0.05),
    (parse_percent, "NC", None),
    # dates
    (parse_date, "31/12/2025", "2025-12-31"),
    (parse_date, "31-12-2025", "2025-12-31"),
    (parse_date, "31.12.2025", "2025-12-31"),
    (parse_date, "2025-12-31", "2025-12-31"),
    (parse_date, "2025-12-31T10:00:00", "2025-12-31"),
    (parse_date, "2025-12-31T10:00:00+01:00", "2025-12-31"),
    (parse_date, "2025-12-31 00:00:00", "2025-12-31"),
    (parse_date, "31/12/2025 14h30", "2025-12-31"),
    (parse_date, "1/2/2025", "2025-02-01"),
    (parse_date, "31/12/25", "2025-12-31"),
    (parse_date, "20251231", "2025-12-31"),
    (parse_date, "31 décembre 2025", "2025-12-31"),
    (parse_date, "31 DECEMBRE 2025", "2025-12-31"),
    (parse_date, "1er mars 2026", "2026-03-01"),
    (parse_date, "lundi 1er décembre 2025", "2025-12-01"),
    (parse_date, "31 déc. 2025", "2025-12-31"),
    (parse_date, "December 31, 2025", "2025-12-31"),
    (parse_date, "15 août 2024", "2024-08-15"),
    (parse_date, dt.date(2025, 1, 2), "2025-01-02"),
    (parse_date, dt.datetime(2025, 1, 2, 23, 59), "2025-01-02"),
    (parse_date, pd.Timestamp("2025-03-04 10:00"), "2025-03-04"),
    (parse_date, np.datetime64("2025-05-06"), "2025-05-06"),
    (parse_date, 45657, "2024-12-31"),  # Excel serial number
    (parse_date, 45657.75, "2024-12-31"),
    (parse_date, pd.NaT, None),
    (parse_date, "", None),
    # booleans
    (parse_bool, "oui", True),
    (parse_bool, "Non", False),
    (parse_bool, "OUI ", True),
    (parse_bool, "o", True),
    (parse_bool, "n", False),
    (parse_bool, "yes", True),
    (parse_bool, "No", False),
    (parse_bool, "x", True),
    (parse_bool, "X", True),
    (parse_bool, "VRAI", True),
    (parse_bool, "faux", False),
    (parse_bool, "true", True),
    (parse_bool, "False", False),
    (parse_bool, "1", True),
    (parse_bool, "0", False),
    (parse_bool, "1.0", True),
    (parse_bool, "✓", True),
    (parse_bool, "✔", True),
    (parse_bool, "ok", True),
    (parse_bool, 1, True),
    (parse_bool, 0.0, False),
    (parse_bool, True, True),
    (parse_bool, np.bool_(False), False),
    (parse_bool, "n/a", None),
    (parse_bool, "", None),
    # whole numbers
    (parse_int, "12", 12),
    (parse_int, "12.0", 12),
    (parse_int, " 12 ", 12),
    (parse_int, "1 200", 1200),
    (parse_int, f"1{NNBSP}200", 1200),
    (parse_int, "-3", -3),
    (parse_int, 12.0, 12),
    (parse_int, np.int64(36), 36),
    (parse_int, "NC", None),
    # levels
    (parse_level, "0", 0),
    (parse_level, "3", 3),
    (parse_level, "2.0", 2),
    (parse_level, 2.0, 2),
    (parse_level, "non", 0),
    (parse_level, "aucun", 0),
    (parse_level, "Faible", 1),
    (parse_level, "moyen", 2),
    (parse_level, "fort", 3),
    (parse_level, "élevé", 3),
    (parse_level, "oui", parsers.YES_LEVEL),
    (parse_level, "x", parsers.YES_LEVEL),
    (parse_level, True, parsers.YES_LEVEL),
    (parse_level, False, 0),
    (parse_level, "-", None),
]


@pytest.mark.parametrize(("parse", "raw", "expected"), SPELLINGS,
                         ids=[f"{p.__name__}-{r!r}" for p, r, _ in SPELLINGS])
def test_real_world_spellings(parse, raw, expected):
    result = parse(raw)
    if isinstance(expected, float):
        assert result == pytest.approx(expected, abs=1e-9)
        assert type(result) is float
    else:
        assert result == expected
        assert type(result) is type(expected)


LISTS = [
    ("énergie; mobilité", ("énergie", "mobilité")),
    ("énergie, mobilité ,  santé", ("énergie", "mobilité", "santé")),
    ("SCOP/SCIC", ("SCOP", "SCIC")),
    ("a | b | a", ("a", "b")),
    ("Culture & Arts;Loisirs;Vie et animation locale", ("Culture & Arts", "Loisirs", "Vie et animation locale")),
    ("- énergie\n- mobilité\r\n- santé", ("énergie", "mobilité", "santé")),
    ("urbanisme et mobilité", ("urbanisme et mobilité",)),
    ("économie   circulaire;;", ("économie circulaire",)),
    (["énergie", " mobilité ", None, "énergie", 75.0, 2], ("énergie", "mobilité", "75", "2")),
    ([], ()),
    ((), ()),
    ("n/a", None),
    (";", None),
    (None, None),
]


@pytest.mark.parametrize(("raw", "expected"), LISTS)
def test_split_list(raw, expected):
    assert split_list(raw) == expected


def test_split_list_with_safer_separators():
    assert split_list("Lyon, Villeurbanne; Grenoble", separators=";|\n") == (
        "Lyon, Villeurbanne", "Grenoble")
    assert split_list("a/b", separators=";") == ("a/b",)


WEIGHTED = [
    ("energy:2; mobility:1", (("energy", 2.0), ("mobility", 1.0))),
    ("énergie (3), mobilité", (("énergie", 3.0), ("mobilité", 1.0))),
    ("energy=2,mobility [0,5]", (("energy", 2.0), ("mobility", 0.5))),
    ("energy:1,5", (("energy", 1.5),)),
    ("énergie (hors fossiles)", (("énergie (hors fossiles)", 1.0),)),
    ("energy:1; energy:3; mobility", (("energy", 3.0), ("mobility", 1.0))),
    ({"energy": 2, "mobility": None}, (("energy", 2.0), ("mobility", 1.0))),
    ({"energy": "1,5"}, (("energy", 1.5),)),
    (["energy", "mobility:2"], (("energy", 1.0), ("mobility", 2.0))),
    ([("energy", 2), {"mobility": 3}], (("energy", 2.0), ("mobility", 3.0))),
    ({}, ()),
    ("NC", None),
]


@pytest.mark.parametrize(("raw", "expected"), WEIGHTED)
def test_parse_weighted(raw, expected):
    assert parse_weighted(raw) == expected


LEVELS = [
    ("climate_mitigation:3; inclusive_employment",
     (("climate_mitigation", 3), ("inclusive_employment", None))),
    ("climat (fort), emploi (1)", (("climat", 3), ("emploi", 1))),
    ("a=0|b: faible", (("a", 0), ("b", 1))),
    ("a; a:2; a", (("a", 2),)),
    ({"climate_mitigation": 3, "fair_territory": None, "x": "moyen"},
     (("climate_mitigation", 3), ("fair_territory", None), ("x", 2))),
    (["a", "b:2", ("c", 1)], (("a", None), ("b", 2), ("c", 1))),
    ("", None),
]


@pytest.mark.parametrize(("raw", "expected"), LEVELS)
def test_parse_levels(raw, expected):
    assert parse_levels(raw) == expected


# --------------------------------------------------------------------------- errors and their reasons

ERRORS = [
    (parse_amount, "12x€", "unreadable amount: '12x€'", "montant illisible : '12x€'"),
    (parse_amount, "-500", "negative amount: '-500'", "montant négatif : '-500'"),
    (parse_amount, -5, "negative amount: '-5'", "montant négatif : '-5'"),
    (parse_amount, "100 $", "amount not in euros: '100 $'", "montant qui n'est pas en euros : '100 $'"),
    (parse_amount, "GBP 2,000", "amount not in euros: 'GBP 2,000'",
     "montant qui n'est pas en euros : 'GBP 2,000'"),
    (parse_amount, "10 000 - 50 000 €", "unreadable amount: '10 000 - 50 000 €'",
     "montant illisible : '10 000 - 50 000 €'"),
    (parse_percent, "150 %", "percentage above 100 %: '150 %'",
     "pourcentage supérieur à 100 % : '150 %'"),
    (parse_percent, "beaucoup", "unreadable percentage: 'beaucoup'", "pourcentage illisible : 'beaucoup'"),
    (parse_date, "31/02/2025", "invalid date (day/month/year expected): '31/02/2025'",
     "date invalide (jour/mois/année attendu) : '31/02/2025'"),
    (parse_date, "12/31/2025", "invalid date (day/month/year expected): '12/31/2025'",
     "date invalide (jour/mois/année attendu) : '12/31/2025'"),
    (parse_date, "mars 2026", "date without a day: 'mars 2026'", "date sans jour : 'mars 2026'"),
    (parse_date, "2025", "date without a day: '2025'", "date sans jour : '2025'"),
    (parse_date, 2025, "unreadable date: '2025'", "date illisible : '2025'"),
    (parse_date, "bientôt", "unreadable date: 'bientôt'", "date illisible : 'bientôt'"),
    (parse_bool, "peut-être", "unreadable yes/no: 'peut-être'", "oui/non illisible : 'peut-être'"),
    (parse_bool, 2, "unreadable yes/no: '2'", "oui/non illisible : '2'"),
    (parse_int, "12,5", "not a whole number: '12,5'", "nombre non entier : '12,5'"),
    (parse_int, "24 mois", "unreadable whole number: '24 mois'", "nombre entier illisible : '24 mois'"),
    (parse_int, True, "unreadable whole number: 'True'", "nombre entier illisible : 'True'"),
    (parse_level, 4, "level out of range 0-3: '4'", "niveau hors de l'échelle 0-3 : '4'"),
    (parse_level, "bof", "unreadable level: 'bof'", "niveau illisible : 'bof'"),
    (parse_weighted, "energy:0", "weight must be above 0: 'energy:0'",
     "le poids doit être supérieur à 0 : 'energy:0'"),
    (parse_weighted, {"energy": -1}, "weight must be above 0: 'energy: -1'",
     "le poids doit être supérieur à 0 : 'energy: -1'"),
    (parse_weighted, "energy:beaucoup", "unreadable weight: 'energy:beaucoup'",
     "poids illisible : 'energy:beaucoup'"),
    (parse_levels, "climate:5", "level out of range 0-3: 'climate:5'",
     "niveau hors de l'échelle 0-3 : 'climate:5'"),
    (parse_levels, {"climate": 7}, "level out of range 0-3: 'climate: 7'",
     "niveau hors de l'échelle 0-3 : 'climate: 7'"),
    (split_list, {"a": 1}, "unreadable list: '{'a': 1}'", "liste illisible : '{'a': 1}'"),
]


@pytest.mark.parametrize(("parse", "raw", "reason_en", "reason_fr"), ERRORS,
                         ids=[f"{p.__name__}-{r!r}" for p, r, _, _ in ERRORS])
def test_error_reasons(parse, raw, reason_en, reason_fr):
    with pytest.raises(ParseError) as caught:
        parse(raw)
    assert caught.value.reason_en == reason_en
    assert caught.value.reason_fr == reason_fr


@pytest.mark.parametrize("raw", ["1,2,3", "1 2", "1e5", "50 000 €/an", "€ 50 €", "(500)", True,
                                 math.inf, [1]])
def test_unreadable_amounts(raw):
    with pytest.raises(ParseError):
        parse_amount(raw)


@pytest.mark.parametrize("raw", ["-5 %", "abc %", "101", -0.1])
def test_unreadable_percents(raw):
    with pytest.raises(ParseError):
        parse_percent(raw)


@pytest.mark.parametrize("raw", ["2025-02-29", "00/01/2025", "foo 31 décembre 2025", "03/2026",
                                 "31 brumaire 2025", 1.5, True, 10**6])
def test_unreadable_dates(raw):
    with pytest.raises(ParseError):
        parse_date(raw)


@pytest.mark.parametrize("raw", ["1.5", "-1", "3,5", 3.5, 4, "12", math.inf])
def test_unreadable_levels(raw):
    with pytest.raises(ParseError):
        parse_level(raw)


def test_amount_after_multiplier_reads_single_separator_as_decimal():
    assert parse_amount("1,500 M€") == 1_500_000.0
    assert parse_amount("1.500 k€") == 1500.0


def test_other_currency_allowed_on_request():
    assert parse_amount("2 000 $", currency_ok=True) == 2000.0
    assert parse_amount("USD 1.5M", currency_ok=True) == 1_500_000.0


def test_failures_are_cached_and_raised_afresh():
    parsers._amount_text.cache_clear()
    errors = []
    for _ in range(3):
        with pytest.raises(ParseError) as caught:
            parse_amount("beaucoup")
        errors.append(caught.value)
    assert errors[0] is not errors[1]
    assert parsers._amount_text.cache_info().hits == 2
    assert parse_amount("50 k€") == parse_amount("50 k€") == 50000.0


def test_unknown_markers_are_unknown_everywhere():
    for parse in (parse_amount, parse_percent, parse_date, parse_bool, parse_int, parse_level,
                  split_list, parse_weighted, parse_levels):
        for marker in ("NC", "n/a", "-", "?", "Non communiqué", "", " ", None, math.nan, pd.NA):
            assert parse(marker) is None, (parse.__name__, marker)


# --------------------------------------------------------------------------- round trips

SPACES = st.sampled_from([" ", NBSP, NNBSP])


def _group(digits: str, sep: str) -> str:
    head = len(digits) % 3 or 3
    parts = [digits[:head]] + [digits[i:i + 3] for i in range(head, len(digits), 3)]
    return sep.join(parts)


@st.composite
def written_amounts(draw):
    cents = draw(st.integers(min_value=0, max_value=10**12))
    whole, fraction = divmod(cents, 100)
    style = draw(st.sampled_from(["french", "english", "plain"]))
    if style == "french":
        text = f"{_group(str(whole), draw(SPACES))},{fraction:02d}"
        text += draw(st.sampled_from(["", " €", f"{NBSP}€", "€", " EUR", " euros"]))
    elif style == "english":
        text = f"{_group(str(whole), ',')}.{fraction:02d}"
        text = draw(st.sampled_from(["", "€", "€ "])) + text
    else:
        text = f"{whole}.{fraction:02d}"
    return cents / 100, text


@given(written_amounts())
def test_amount_round_trip(case):
    expected, text = case
    assert parse_amount(text) == pytest.approx(expected, abs=1e-6)


FRENCH_MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
                 "septembre", "octobre", "novembre", "décembre"]


@st.composite
def written_dates(draw):
    day = draw(st.dates(min_value=dt.date(1000, 1, 1), max_value=dt.date(9999, 12, 31)))
    style = draw(st.sampled_from(["dmy", "iso", "french"]))
    if style == "dmy":
        sep = draw(st.sampled_from("/-."))
        text = f"{day.day:02d}{sep}{day.month:02d}{sep}{day.year:04d}"
    elif style == "iso":
        text = day.isoformat() + draw(st.sampled_from(["", "T00:00:00", " 12:30:00"]))
    else:
        first = "1er" if day.day == 1 and draw(st.booleans()) else str(day.day)
        text = f"{first} {FRENCH_MONTHS[day.month - 1]} {day.year}"
    return day.isoformat(), text


@given(written_dates())
def test_date_round_trip(case):
    expected, text = case
    assert parse_date(text) == expected


@given(st.integers(min_value=0, max_value=100), st.sampled_from(["%", " %", f"{NNBSP}%"]))
def test_percent_round_trip(whole, mark):
    assert parse_percent(f"{whole}{mark}") == pytest.approx(whole / 100)


# --------------------------------------------------------------------------- never crash

ISO = re.compile(r"\d{4}-\d{2}-\d{2}")


def _check_amount(result):
    assert result is None or (type(result) is float and result >= 0 and math.isfinite(result))


def _check_percent(result):
    assert result is None or (type(result) is float and 0 <= result <= 1)


def _check_date(result):
    assert result is None or (type(result) is str and ISO.fullmatch(result))


def _check_bool(result):
    assert result is None or type(result) is bool


def _check_int(result):
    assert result is None or type(result) is int


def _check_level(result):
    assert result is None or (type(result) is int and 0 <= result <= 3)


def _check_list(result):
    assert result is None or (type(result) is tuple
                              and all(type(item) is str and item for item in result))


def _check_weighted(result):
    assert result is None or all(type(name) is str and name and type(w) is float and w > 0
                                 for name, w in result)


def _check_levels(result):
    assert result is None or all(type(name) is str and name
                                 and (level is None or level in (0, 1, 2, 3))
                                 for name, level in result)


CHECKS = [
    (parse_amount, _check_amount),
    (parse_percent, _check_percent),
    (parse_date, _check_date),
    (parse_bool, _check_bool),
    (parse_int, _check_int),
    (parse_level, _check_level),
    (split_list, _check_list),
    (parse_weighted, _check_weighted),
    (parse_levels, _check_levels),
]

ANY_CELL = st.one_of(
    st.text(),
    st.text(alphabet="0123456789 .,'€kKmM%-/:;()xX" + NBSP + NNBSP, max_size=20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(),
    st.booleans(),
    st.none(),
    st.dates(),
)


@pytest.mark.parametrize(("parse", "check"), CHECKS, ids=[p.__name__ for p, _ in CHECKS])
@settings(max_examples=300)
@given(cell=ANY_CELL)
def test_never_crash(parse, check, cell):
    try:
        result = parse(cell)
    except ParseError as error:
        assert error.reason_en and error.reason_fr
        return
    check(result)


# --------------------------------------------------------------------------- real files

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.mark.realdata
@pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data is absent")
def test_real_columns_parse_without_problems():
    paris = pd.read_csv(DATA / "paris-subventions" / "subventions-accordees-et-refusees_TEST.csv.gz",
                        dtype=str, keep_default_na=False)
    aids = pd.read_csv(DATA / "aides-territoires" / "aides-territoires_periurbain.csv",
                       dtype=str, keep_default_na=False)
    scdl = pd.read_csv(DATA / "scdl" / "exemple_valide.csv", dtype=str, keep_default_na=False)
    amounts = [parse_amount(v) for v in paris["montant vote"].unique()]
    assert all(a is not None and a >= 0 for a in amounts)
    closes = {parse_date(v) for v in aids["Date Clôture"].unique()} - {None}
    assert closes and all(ISO.fullmatch(d) for d in closes)
    assert all(0 <= parse_percent(v) <= 1 for v in scdl["pourcentageSubvention"])
    assert parse_date(scdl["dateConvention"].iloc[0]) == "2015-07-07"
    assert all(split_list(v) for v in paris["secteur activite"].unique() if v.strip())

"""French organisation identifiers: SIRET, SIREN and RNA numbers, checked not trusted."""

from __future__ import annotations

import re

from matcher.normalize.problems import parse_error

_NOT_DIGIT = re.compile(r"\D+")


def luhn_ok(digits: str) -> bool:
    """The Luhn check that SIREN and SIRET numbers carry."""
    total = 0
    for i, char in enumerate(reversed(digits)):
        n = int(char) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def _digits(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if re.fullmatch(r"\d+\.0+", text):  # "32402138500000.0": a spreadsheet ate it as a number
        text = text.split(".")[0]
    return _NOT_DIGIT.sub("", text)


def parse_siret(value) -> str:
    """A SIRET is 14 digits passing the Luhn check (La Poste's ``356000000…`` excepted)."""
    digits = _digits(value)
    if len(digits) != 14 or not (luhn_ok(digits) or digits.startswith("356000000")):
        raise parse_error("siret.invalid", value=value)
    return digits


def parse_siren(value) -> str:
    """A SIREN is 9 digits passing the Luhn check."""
    digits = _digits(value)
    if len(digits) != 9 or not luhn_ok(digits):
        raise parse_error("siren.invalid", value=value)
    return digits


#: An RNA number (répertoire national des associations): W, a digit or letter, 8 digits.
RNA = re.compile(r"W[0-9A-Z]\d{8}")


def looks_like_rna(value) -> bool:
    """``value`` (spaces and case aside) has the shape of an RNA number."""
    return RNA.fullmatch(str(value).strip().upper().replace(" ", "")) is not None


def parse_rna(value) -> str:
    """An RNA number (répertoire national des associations) is W followed by 9 characters."""
    if not looks_like_rna(value):
        raise parse_error("rna.invalid", value=value)
    return str(value).strip().upper().replace(" ", "")


def parse_organisation_id(value) -> str:
    """Check an organisation id that *looks* French: digits must be a SIRET or SIREN, W… an RNA.

    Anything else (``DAE``, ``GB-CHC-1234``) is an opaque id and passes as it is.
    """
    text = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value).strip()
    compact = text.replace(" ", "")
    if re.fullmatch(r"\d+(\.0+)?", compact):
        digits = _digits(compact)
        if len(digits) == 9:
            return parse_siren(digits)
        if len(digits) == 14:
            return parse_siret(digits)
        raise parse_error("organisation_id.invalid", value=value)
    if re.fullmatch(r"[Ww]\d+", compact):
        return parse_rna(compact)
    return text

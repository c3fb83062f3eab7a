"""Problems found while reading and normalising: one record each, never silent.

Every problem has a stable ``code`` (``amount.unreadable``, ``place.ambiguous``,
``id.duplicate``, ``header.unmapped``…) that a program can count, and a French
and an English text that a person can read. The texts are data:
``matcher/data/problems.yaml`` maps each code to its two templates, filled with
the values of one problem. Build problems with :func:`problem` and parse
errors with :func:`parse_error`; an unknown code is a bug (``KeyError``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from matcher.core.resources import load_data

#: A row that could not be kept at all (missing id, ragged line, duplicate...).
ERROR = "error"
#: A value that could not be read: the row is kept and the value stays unknown.
WARNING = "warning"
#: A problem with the file or its headers, not with one row.
FILE = "file"


def problem_messages() -> dict[str, dict[str, str]]:
    """Code -> ``{"en": template, "fr": template}`` (``matcher/data/problems.yaml``, read once)."""
    return load_data("problems.yaml")


def problem_texts(code: str, /, **values) -> tuple[str, str]:
    """The English and French texts of ``code``, filled with ``values``."""
    entry = problem_messages()[code]
    return entry["en"].format(**values), entry["fr"].format(**values)


@dataclass(frozen=True)
class Problem:
    """One problem, located as precisely as possible.

    ``row`` is the number a person sees: for CSV and XLSX the line/row of the
    sheet with the header on row 1; for JSON, JSON Lines and YAML the 1-based
    record number. ``column`` is the *source* column name. ``code`` is the
    stable identifier of the kind of problem (see ``matcher/data/problems.yaml``).
    """

    row: int | None
    column: str | None
    value: str | None
    reason_en: str
    reason_fr: str
    severity: str = WARNING
    code: str = "unspecified"

    def as_dict(self) -> dict:
        return asdict(self)

    def reason(self, lang: str = "en") -> str:
        return self.reason_fr if lang == "fr" else self.reason_en


def problem(code: str, row: int | None, column: str | None, value: str | None,
            severity: str = WARNING, /, **values) -> Problem:
    """A :class:`Problem` of kind ``code``, its texts filled with ``values``."""
    reason_en, reason_fr = problem_texts(code, **values)
    return Problem(row, column, value, reason_en, reason_fr, severity, code)


class ParseError(ValueError):
    """A value that a parser cannot read, with its code and the reason in French and English."""

    def __init__(self, reason_en: str, reason_fr: str, code: str = "unspecified"):
        super().__init__(reason_en)
        self.reason_en = reason_en
        self.reason_fr = reason_fr
        self.code = code


def parse_error(code: str, /, **values) -> ParseError:
    """A :class:`ParseError` of kind ``code``, its texts filled with ``values``."""
    return ParseError(*problem_texts(code, **values), code=code)

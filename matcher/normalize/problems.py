"""Problems found while reading and normalising: one record each, never silent."""

from __future__ import annotations

from dataclasses import asdict, dataclass

#: A row that could not be kept at all (missing id, ragged line, duplicate...).
ERROR = "error"
#: A value that could not be read: the row is kept and the value stays unknown.
WARNING = "warning"
#: A problem with the file or its headers, not with one row.
FILE = "file"


@dataclass(frozen=True)
class Problem:
    """One problem, located as precisely as possible.

    ``row`` is the number a person sees: for CSV and XLSX the line/row of the
    sheet with the header on row 1; for JSON, JSON Lines and YAML the 1-based
    record number. ``column`` is the *source* column name.
    """

    row: int | None
    column: str | None
    value: str | None
    reason_en: str
    reason_fr: str
    severity: str = WARNING

    def as_dict(self) -> dict:
        return asdict(self)

    def reason(self, lang: str = "en") -> str:
        return self.reason_fr if lang == "fr" else self.reason_en


class ParseError(ValueError):
    """A value that a parser cannot read, with the reason in French and English."""

    def __init__(self, reason_en: str, reason_fr: str):
        super().__init__(reason_en)
        self.reason_en = reason_en
        self.reason_fr = reason_fr

"""Stable problem codes: every code has both texts, every code used exists, the rejects carry them."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from matcher import read_projects
from matcher.normalize.problems import parse_error, problem, problem_messages

ROOT = Path(__file__).resolve().parents[1]
CODE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_code_has_an_english_and_a_french_text_with_the_same_placeholders():
    messages = problem_messages()
    assert len(messages) > 40
    for code, entry in messages.items():
        if code == "unspecified":
            continue
        assert CODE.match(code), code
        assert set(entry) == {"en", "fr"}, code
        assert entry["en"] and entry["fr"], code
        # The same facts in both languages; a few values come already worded per language.
        per_language = {"label_en", "vocabulary", "shown_en", "shown_fr", "fields_en", "fields_fr", "en", "fr",
                        "kind"}
        assert _fields(entry["en"]) - per_language == _fields(entry["fr"]) - per_language, code


def test_every_code_the_package_uses_is_in_the_data_file():
    used = set()
    pattern = re.compile(r"""(?:problem|parse_error|problem_texts|_problem|_error)\(\s*["']([a-z0-9_.]+)["']""")
    for folder in ("matcher", "funders", "projects"):
        for path in (ROOT / folder).rglob("*.py"):
            used |= set(pattern.findall(path.read_text(encoding="utf-8")))
    used |= {"place.ambiguous", "place.unknown", "funder.tickets_reversed", "call.window_reversed"}
    assert used, "no code found: the pattern is wrong"
    missing = sorted(c for c in used if c not in problem_messages())
    assert not missing
    assert "unspecified" not in used


def test_problem_and_parse_error_fill_both_texts():
    found = problem("id.duplicate", 3, "Identifiant", "X1", "error", key="project_id", shown="X1", first_row=2)
    assert (found.code, found.row, found.severity) == ("id.duplicate", 3, "error")
    assert found.reason_en == "duplicate project_id 'X1', first seen on row 2"
    assert found.reason_fr == "project_id en double « X1 », déjà vu ligne 2"
    err = parse_error("amount.unreadable", value="'abc'")
    assert (err.code, err.reason_en, err.reason_fr) == ("amount.unreadable", "unreadable amount: 'abc'",
                                                        "montant illisible : 'abc'")
    with pytest.raises(KeyError):
        parse_error("no.such_code")


def test_the_rejects_table_has_a_code_for_every_problem(tmp_path):
    path = tmp_path / "projets.csv"
    path.write_text("Identifiant,Nom du projet,Forme juridique,Budget total,Montant demandé,Commune\n"
                    "X1,Ferme,SCIC,\"120 000 €\",abc,Saint-Denis\n"
                    "X1,Doublon,association,10,5,Lyon\n"
                    ",Sans id,SCOP,5,5,Paris\n"
                    "X2,Lieu,Asso loi 1901,\"1,5 M€\",,Nulle-Part-sur-Mer\n", encoding="utf-8")
    result = read_projects(path)
    rejects = result.rejects
    assert list(rejects.columns) == ["source", "row", "column", "value", "severity", "code", "reason_en",
                                     "reason_fr"]
    assert rejects[["row", "code"]].values.tolist() == [
        [2, "amount.unreadable"], [2, "place.ambiguous"], [3, "id.duplicate"], [4, "id.missing"],
        [5, "place.unknown"]]

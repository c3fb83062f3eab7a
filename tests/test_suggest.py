"""matcher.core.suggest: one writer of "unknown X" messages, in both languages, read back by the CLI."""

from __future__ import annotations

import pytest

from matcher.cli.messages import translate
from matcher.core.suggest import unknown_message
from matcher.planning.texts import unknown

IDS = [f"F{i:02d}" for i in range(12)]


@pytest.mark.parametrize("what, value, choices, up_to, en, fr", [
    ("funder id", "F011", IDS, 10, "unknown funder id 'F011'; did you mean F01, F11?",
     "identifiant de financeur inconnu « F011 » ; vouliez-vous dire F01, F11 ?"),
    ("funder id", "zzz", IDS[:3], 10, "unknown funder id 'zzz'; known: F00, F01, F02",
     "identifiant de financeur inconnu « zzz » ; valeurs connues : F00, F01, F02"),
    ("funder id", "zzz", IDS, 2, "unknown funder id 'zzz'; known: F00, F01, … (12 in all)",
     "identifiant de financeur inconnu « zzz » ; valeurs connues : F00, F01, … (12 en tout)"),
    ("region", "zzz", IDS, 0, "unknown region 'zzz' (12 known)", "région inconnue « zzz » (12 valeurs connues)"),
    ("project id", "P1", [], 10, "unknown project id 'P1'; there is none",
     "identifiant de projet inconnu « P1 » ; il n'y en a aucun"),
    ("call id of funder 'F1'", "zzz", ["AAP-1"], 10, "unknown call id of funder 'F1' 'zzz'; known: AAP-1",
     "appel inconnu pour le financeur F1 « zzz » ; valeurs connues : AAP-1"),
])
def test_one_message_in_both_languages_and_the_cli_reads_the_english_back(what, value, choices, up_to, en, fr):
    assert unknown_message(what, value, choices, list_up_to=up_to) == en
    assert unknown_message(what, value, choices, list_up_to=up_to, lang="fr") == fr
    # the library raises in English; the CLI's translation gives the same French as lang="fr"
    assert translate(en, "fr") == fr
    # planning's texts.unknown is the same writer
    assert unknown(what, value, choices, "fr", list_up_to=up_to) == fr


def test_a_name_without_french_stays_english_in_both():
    assert unknown_message("colour", "x", ["red"], lang="fr") == "unknown colour 'x'; known: red"
    assert translate("unknown colour 'x'; known: red", "fr") == "unknown colour 'x'; known: red"

"""The most common library errors, at the command line: French by default, English with ``--lang en`` (issue 16).

Exact messages, exit 1, no traceback. ``tests/test_messages_fr.py`` checks that every user-facing message
has a pattern; these check the French itself on real runs.
"""

import pytest
from click.testing import CliRunner

from matcher.cli import cli
from matcher.cli.messages import translate
from matcher.io.loading import SAMPLE_PROJECTS

PROJECTS = str(SAMPLE_PROJECTS)


@pytest.fixture(scope="module")
def runner():
    return CliRunner()


def last_line(runner, *args):
    result = runner.invoke(cli, list(args))
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result.output.splitlines()[-1]


@pytest.fixture
def one_year_history(tmp_path):
    path = tmp_path / "historique.csv"
    path.write_text("project_id,funder_id,year,status,amount_granted\nP1,F1,2024,granted,1000\n"
                    "P2,F1,2024,refused,0\n", encoding="utf-8")
    return str(path)


def test_a_history_of_one_year_cannot_teach_weights(runner, one_year_history, tmp_path):
    out = str(tmp_path / "poids.yaml")
    args = ("learn-weights", "--decisions", one_year_history, "-o", out)
    assert last_line(runner, *args) == ("Error: learn-weights demande des décisions (accordées et refusées) "
                                        "sur au moins deux années")
    assert last_line(runner, *args, "--lang", "en") == ("Error: learn-weights needs decisions (granted and "
                                                        "refused) of at least two years")


def test_a_history_with_nothing_before_the_test_year(runner, one_year_history):
    args = ("evaluate", "--history", one_year_history, "--test-from-year", "2024")
    assert last_line(runner, *args) == "Error: aucune ligne d'historique avant 2024 : rien à apprendre"
    assert last_line(runner, *args, "--lang", "en") == "Error: no history row before 2024: nothing to learn from"


def test_an_excel_97_file_is_refused_with_the_hint_in_french(runner, tmp_path):
    old = tmp_path / "projets.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0")
    fr = last_line(runner, "funders-for", str(old))
    assert fr.startswith(f"Error: {old} : type de fichier non pris en charge « .xls » ; attendu : .csv, ")
    assert fr.endswith(", éventuellement en gzip (.gz) (enregistrez-le en .xlsx)")
    en = last_line(runner, "funders-for", str(old), "--lang", "en")
    assert en.startswith(f"Error: {old}: unsupported file type '.xls'; expected .csv, ")
    assert en.endswith(", optionally gzipped (.gz) (save it as .xlsx)")


def test_a_safety_limit_in_french_words_and_numbers(runner):
    fr = last_line(runner, "--limit", "columns=2", "validate", "projects", PROJECTS)
    assert fr.startswith(f"Error: {PROJECTS} : plus de 2 colonnes (")
    assert fr.endswith(") ; c'est une limite de sécurité, relevez-la avec --limit columns=N si le fichier "
                       "est authentique")
    en = last_line(runner, "--limit", "columns=2", "validate", "projects", PROJECTS, "--lang", "en")
    assert en.startswith(f"Error: {PROJECTS}: more than 2 columns (")
    assert en.endswith("); this is a safety limit, raise it with --limit columns=N if the file is genuine")


def test_a_weights_file_that_is_not_a_mapping(runner, tmp_path):
    weights = tmp_path / "poids.yaml"
    weights.write_text("- 1\n- 2\n", encoding="utf-8")
    args = ("funders-for", PROJECTS, "--weights-file", str(weights))
    assert last_line(runner, *args) == f"Error: --weights-file {weights} : une table « critère: poids » est attendue"
    assert last_line(runner, *args, "--lang", "en") == (f"Error: --weights-file {weights}: expected a mapping "
                                                        "criterion: weight")


def test_a_run_date_that_does_not_exist(runner):
    args = ("funders-for", PROJECTS, "--date", "2026-02-31")
    assert last_line(runner, *args) == "Error: --date : date invalide : « 2026-02-31 »"
    assert last_line(runner, *args, "--lang", "en") == "Error: --date: invalid date: '2026-02-31'"


def test_a_close_option_is_suggested_in_french(runner, one_year_history):
    result = runner.invoke(cli, ["evaluate", "--history", one_year_history, "--test-from", "2024"])
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == ("Error: Option inconnue '--test-from'. "
                                              "Vouliez-vous dire '--test-from-year' ?")


# The command line cannot reach these (normalize rejects a repeated id as `id.duplicate`, and every
# vocabulary value of a loaded file is a known id), but a wrapper, a future loader or a library caller of
# the CLI's error path can: their French is checked here, on the exact English the library raises.
@pytest.mark.parametrize("english,french", [
    ("duplicate project ids: P1, P7", "identifiants de projet en double : P1, P7"),
    ("duplicate funder rows (funder_id, call_id): F1/-", "lignes de financeur en double (funder_id, call_id) : F1/-"),
    ("unknown sectors id: 'spatial'", "identifiant inconnu du vocabulaire sectors : « spatial »"),
    ("unknown legal form or group: 'trust'", "forme juridique ou groupe inconnu : « trust »"),
    ("unknown vocabulary 'colours'; known: sectors, legal_forms",
     "vocabulaire inconnu « colours » ; valeurs connues : sectors, legal_forms"),
    ("too many rows to rank at once (5,000,000 >= 4,194,304)",
     "trop de lignes à classer d'un coup (5\u202f000\u202f000 ≥ 4\u202f194\u202f304)"),
])
def test_library_messages_beyond_the_cli_have_their_french(english, french):
    assert translate(english, "fr") == french
    assert translate(english, "en") == english


def test_a_problem_text_is_read_back_from_the_catalogue():
    # ParseError.reason_en behind "--date: …" and a decision file's first problem: the French is the catalogue's
    assert translate("--date: date without a day: 2026-02", "fr") == "--date : date sans jour : 2026-02"
    assert translate("something else entirely", "fr") == "something else entirely"


def test_bad_weights_line_by_line(runner):
    args = ("funders-for", PROJECTS, "--weight", "secteur_x=1", "--weight", "sector=-1")
    result = runner.invoke(cli, list(args))
    assert result.exit_code == 1
    assert result.output.splitlines()[-3:] == [
        "Error: poids invalides :",
        "  poids : critère inconnu « secteur_x » (vouliez-vous dire sector ?) ; critères : sector, text, scale, "
        "legal_form, territory, just_transition, cooperation",
        "  poids : le poids de « sector » doit être un nombre fini ≥ 0, pas -1.0"]
    english = runner.invoke(cli, [*args, "--lang", "en"])
    assert english.output.splitlines()[-3:] == [
        "Error: bad weights:",
        "  weights: unknown criterion 'secteur_x' (did you mean sector?); criteria: sector, text, scale, "
        "legal_form, territory, just_transition, cooperation",
        "  weights: weight of 'sector' must be a finite number >= 0, not -1.0"]

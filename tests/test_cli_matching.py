"""The ranking commands driven with CliRunner on the built-in sample."""

import json

import pytest
from click.testing import CliRunner

from matcher.cli import DEMO_DATE, cli
from matcher.io.loading import SAMPLE_FUNDERS, SAMPLE_PROJECTS

PROJECTS = str(SAMPLE_PROJECTS)
RANKED_COLUMNS = ["project_id", "funder_id", "call_id", "rank", "score", "eligibility", "reasons",
                  "project_name", "funder_name"]


@pytest.fixture(scope="module")
def runner():
    return CliRunner()


def run(runner, *args):
    return runner.invoke(cli, list(args))


def test_demo_runs_both_views(runner):
    result = run(runner, "demo", "--lang", "en")
    assert result.exit_code == 0, result.output
    assert "1. Funders for P001" in result.output
    assert "2. Shortlist of" in result.output
    assert "3. Why this rank?" in result.output and "score × weight = contribution" in result.output


def test_funders_for_json_columns_and_ranks(runner):
    result = run(runner, "funders-for", PROJECTS, "--date", DEMO_DATE, "--format", "json", "--top", "3")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert list(rows[0])[: len(RANKED_COLUMNS)] == RANKED_COLUMNS
    assert {k for k in rows[0] if k.startswith("score_")} == {
        f"score_{c}" for c in ("sector", "text", "scale", "legal_form", "territory", "just_transition", "cooperation")}
    by_project = {}
    for row in rows:
        by_project.setdefault(row["project_id"], []).append(row)
    for group in by_project.values():
        assert [r["rank"] for r in group] == list(range(1, len(group) + 1))
        assert all(r["eligibility"] != "ineligible" for r in group)
        scores = [r["score"] for r in group]
        assert scores == sorted(scores, reverse=True)
        for r in group:
            total = sum(r[k] or 0 for k in r if k.startswith("contribution_"))
            assert abs(total - r["score"]) < 1e-9


def test_include_ineligible_puts_them_last(runner):
    result = run(runner, "funders-for", PROJECTS, "--project", "P001", "--date", DEMO_DATE,
                 "--format", "json", "--top", "100", "--include-ineligible")
    rows = json.loads(result.output)
    verdicts = [r["eligibility"] for r in rows]
    assert "ineligible" in verdicts
    first_bad = verdicts.index("ineligible")
    assert all(v == "ineligible" for v in verdicts[first_bad:])
    assert all(r["reasons"] for r in rows if r["eligibility"] == "ineligible")


def test_csv_output_is_deterministic(runner, tmp_path):
    outs = []
    for i in range(2):
        out = tmp_path / f"o{i}.csv"
        result = run(runner, "funders-for", PROJECTS, "--date", DEMO_DATE, "--format", "csv", "-o", str(out))
        assert result.exit_code == 0, result.output
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    assert outs[0].decode().splitlines()[0].startswith(",".join(RANKED_COLUMNS))


def test_shortlist_ranks_within_the_call(runner):
    result = run(runner, "shortlist", "--funder", "F-FDD-TERRES", "--projects", PROJECTS,
                 "--date", DEMO_DATE, "--format", "json", "--top", "5")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert rows and all(r["funder_id"] == "F-FDD-TERRES" for r in rows)
    for call in {r["call_id"] for r in rows}:
        ranks = [r["rank"] for r in rows if r["call_id"] == call]
        assert ranks == list(range(1, len(ranks) + 1))


def test_explain_one_pair_in_english(runner):
    result = run(runner, "explain", "--project", "P001", "--funder", "F-FDD-TERRES", "--projects", PROJECTS,
                 "--date", DEMO_DATE, "--lang", "en")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Project P001")
    assert "Verdict:" in result.output


def test_explain_json(runner):
    result = run(runner, "explain", "--project", "P001", "--funder", "F-FDD-TERRES", "--projects", PROJECTS,
                 "--date", DEMO_DATE, "--json")
    data = json.loads(result.output)
    assert abs(sum(c["contribution"] or 0 for c in data["criteria"]) - data["score"]) < 1e-9


@pytest.mark.parametrize("args, message", [
    (["funders-for", PROJECTS, "--project", "P999"], "Error: unknown project id 'P999'"),
    (["shortlist", "--funder", "F-NOPE-XYZ", "--projects", PROJECTS], "Error: unknown funder id 'F-NOPE-XYZ'"),
    (["explain", "--project", "P001", "--funder", "F-FDD-TERRES", "--call", "NOPE", "--projects", PROJECTS],
     "Error: unknown call id for funder F-FDD-TERRES 'NOPE'"),
    (["funders-for", "missing.csv"], "Error: missing.csv: file not found"),
    (["funders-for", PROJECTS, "--funders", "missing.yaml"], "Error: missing.yaml: file not found"),
    (["funders-for", PROJECTS, "--weight", "territory=abc"],
     "Error: --weight expects criterion=number, got 'territory=abc'"),
    (["funders-for", PROJECTS, "--weight", "territory"], "Error: --weight expects criterion=number, got 'territory'"),
    (["funders-for", PROJECTS, "--weight", "nope=1"], "Error: bad weights:"),
    (["funders-for", PROJECTS, "--date", "2026-13-45"], "Error: --date: invalid date: '2026-13-45'"),
    (["funders-for", PROJECTS, "--date", "demain"], "Error: --date:"),
    (["funders-for", PROJECTS, "--format", "xlsx"], "Error: --format xlsx needs -o FILE.xlsx"),
])
def test_error_paths(runner, args, message):
    result = run(runner, *args, "--lang", "en")
    assert result.exit_code == 1, result.output
    assert result.output.startswith(message), result.output
    assert "Traceback" not in result.output


def test_default_funders_are_the_sample(runner):
    a = run(runner, "funders-for", PROJECTS, "--project", "P002", "--date", DEMO_DATE, "--format", "json")
    b = run(runner, "funders-for", PROJECTS, "--project", "P002", "--date", DEMO_DATE, "--format", "json",
            "--funders", str(SAMPLE_FUNDERS))
    assert a.exit_code == 0 and a.output == b.output


def test_table_escapes_markup_in_data(runner, tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("project_id,name,territory,legal_form\nP1,[bold red]Projet[/] [link=x]y,Lyon,association\n",
                    encoding="utf-8")
    result = run(runner, "funders-for", str(path), "--date", DEMO_DATE, "--top", "1", "--lang", "en")
    assert result.exit_code == 0, result.output
    assert "[bold red]Projet[/] [link=x]y" in result.output


def test_history_adds_the_history_criterion_and_nearest_grants(runner):
    from matcher.io.loading import SAMPLE_HISTORY

    result = run(runner, "funders-for", PROJECTS, "--project", "P001", "--date", DEMO_DATE, "--format", "json",
                 "--history", str(SAMPLE_HISTORY))
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert "score_history" in rows[0] and any(r["score_history"] is not None for r in rows)
    explained = run(runner, "explain", "--project", "P001", "--funder", "F-FDD-TERRES", "--projects", PROJECTS,
                    "--date", DEMO_DATE, "--history", str(SAMPLE_HISTORY), "--lang", "en")
    assert explained.exit_code == 0, explained.output
    assert "close to: '" in explained.output


def test_without_history_there_is_no_history_column(runner):
    result = run(runner, "funders-for", PROJECTS, "--project", "P001", "--date", DEMO_DATE, "--format", "json")
    assert "score_history" not in json.loads(result.output)[0]


@pytest.mark.parametrize("lang, message", [
    ("fr", "Error: identifiant de financeur inconnu « NOPE » ; valeurs connues : F-AUTRE-COMMUNS, "),
    ("en", "Error: unknown funder id 'NOPE'; known: F-AUTRE-COMMUNS, "),
])
def test_errors_in_the_run_language_list_known_ids(runner, lang, message):
    # issue 16, point 12: French by default and with --lang fr; a wrong id lists ids to choose from
    args = ["shortlist", "--funder", "NOPE", "--projects", PROJECTS] + (["--lang", lang] if lang == "en" else [])
    result = run(runner, *args)
    assert result.exit_code == 1 and result.output.startswith(message), result.output
    assert result.output.rstrip().endswith("(27 en tout)" if lang == "fr" else "(27 in all)")
    close = run(runner, "funders-for", PROJECTS, "--project", "P01", "--lang", "fr")
    assert close.output == "Error: identifiant de projet inconnu « P01 » ; vouliez-vous dire P001, P010, P011 ?\n"
    missing = run(runner, "funders-for", "missing.csv")
    assert missing.exit_code == 1 and missing.output == "Error: missing.csv : fichier introuvable\n"


def test_map_on_a_ranking_command_says_to_normalize_first(runner):
    # issue 16, point 16: the ranking commands read canonical or recognisable files; --map is normalize's
    result = run(runner, "funders-for", PROJECTS, "--map", "name=Nom", "--lang", "en")
    assert result.exit_code == 2
    assert result.output.rstrip().endswith(
        "Error: --map is read by validate and normalize, not by this command: run 'coopmatch normalize "
        "projects FILE --map FIELD=COLUMN -o canon.csv' first, then rank canon.csv")
    french = run(runner, "funders-for", PROJECTS, "--map", "name=Nom")
    assert french.exit_code == 2
    assert french.output.rstrip().endswith(
        "Error: --map est lu par validate et normalize, pas par cette commande : lancez d'abord « coopmatch "
        "normalize projects FICHIER --map CHAMP=COLONNE -o canon.csv », puis classez canon.csv")


@pytest.mark.parametrize("args, fr, en", [
    (["shortlist", "--projects", PROJECTS], "Error: Option '--funder' manquante.", "Error: Missing option '--funder'."),
    (["funders-for", PROJECTS, "--top", "x"],
     "Error: Valeur invalide pour '--top' : 'x' n'est pas un nombre entier valide.",
     "Error: Invalid value for '--top': 'x' is not a valid integer range."),
    (["funders-for", PROJECTS, "--tpo", "3"],
     "Error: Option inconnue '--tpo'. (Vouliez-vous dire l'une de : '--output', '--top' ?)",
     "Error: No such option '--tpo'. (Did you mean one of: '--output', '--top'?)"),
    (["funders-for", PROJECTS, "--top"], "Error: L'option '--top' attend une valeur.",
     "Error: Option '--top' requires an argument."),
    (["nosuch"], "Error: Commande inconnue 'nosuch'.", "Error: No such command 'nosuch'."),
    (["workspace", "runs"], "Error: Argument 'WS' manquant.", "Error: Missing argument 'WS'."),
])
def test_usage_errors_are_french_by_default_and_english_with_lang_en(runner, args, fr, en):
    """Issue 16 (rarer messages): Click's usage errors, exit 2, even when --lang comes after the mistake."""
    french = run(runner, *args)
    assert french.exit_code == 2 and french.output.rstrip().endswith(fr), french.output
    assert "pour l'aide" in french.output or "Usage" not in french.output
    english_args = {"nosuch": ["nosuch", "--lang=en"], "--top": [*args[:2], "--lang", "en", "--top"]}
    english = run(runner, *english_args.get(args[-1], [*args, "--lang", "en"]))
    assert english.exit_code == 2 and english.output.rstrip().endswith(en), english.output
    assert "Try '" in english.output or "Usage" not in english.output


def test_workspace_errors_are_french_by_default(runner, tmp_path):
    missing = str(tmp_path / "none.coopmatch")
    result = run(runner, "workspace", "decide", missing, "--project", "P001", "--funder", "F", "--status", "granted")
    assert result.exit_code == 1
    assert result.output == (f"Error: pas d'espace de travail à « {missing} » ; créez-le avec "
                             f"« coopmatch workspace init {missing} »\n")
    (tmp_path / "ws").mkdir()
    folder = run(runner, "workspace", "runs", str(tmp_path / "ws"))
    assert folder.exit_code == 1
    assert folder.output == f"Error: « {tmp_path / 'ws'} » est un dossier, pas un espace de travail\n"


def _projects_without(tmp_path, column: str, blank_first: str | None = None):
    """The sample projects without ``column`` (or, with ``blank_first``, with that column emptied for one id)."""
    import csv

    with open(PROJECTS, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh, delimiter=";"))
    at = rows[0].index(column)
    if blank_first is None:
        rows = [r[:at] + r[at + 1:] for r in rows]
    else:
        for r in rows[1:]:
            if r[0] == blank_first:
                r[at] = ""
    path = tmp_path / "projets.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, delimiter=";").writerows(rows)
    return str(path)


def test_no_instruments_column_is_said_once_not_on_every_line(tmp_path):
    """Issue 16: without an instruments column every line was "à vérifier" with the same reason; now a
    note says it once on stderr (and in the report's parameters) and the lines keep their other reasons."""
    path = _projects_without(tmp_path, "Instruments recherchés")
    result = CliRunner().invoke(cli, ["funders-for", path, "--date", DEMO_DATE, "--format", "json",
                                                      "--top", "100"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows and not any("Instruments recherchés" in r["reasons"] for r in rows)
    assert {"eligible", "to_check"} <= {r["eligibility"] for r in rows}
    assert result.stderr.count("Aucun projet n'indique les instruments recherchés") == 1
    out = tmp_path / "r.html"
    result = CliRunner().invoke(cli, ["funders-for", path, "--date", DEMO_DATE, "--lang", "en",
                                                      "--format", "html", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "No project states the instruments it seeks" in result.stderr
    assert "No project states the instruments it seeks" in out.read_text(encoding="utf-8")


def test_a_project_without_instruments_in_a_file_that_has_them_stays_to_check(tmp_path):
    path = _projects_without(tmp_path, "Instruments recherchés", blank_first="P002")
    result = CliRunner().invoke(cli, ["funders-for", path, "--date", DEMO_DATE, "--format", "json",
                                                      "--top", "100"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    p2 = [r for r in rows if r["project_id"] == "P002"]
    assert p2 and all("Instruments recherchés non renseignés" in r["reasons"] for r in p2)
    assert all(r["eligibility"] == "to_check" for r in p2)
    assert "Aucun projet n'indique" not in result.stderr

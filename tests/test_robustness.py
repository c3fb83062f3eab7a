"""Issue 16: nothing crashes, nothing is lost — one regression test per defect a new user found.

Bombs are small generated inputs read under tight limits, so the suite stays fast.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys

import pytest
from click.testing import CliRunner

from matcher.cli import cli
from matcher.core.errors import InputError
from matcher.io.limits import limits
from matcher.io.readers import read_table
from matcher.normalize.parsers import parse_amount, parse_months
from matcher.normalize.problems import ParseError

HEADER = "Identifiant;Nom du projet;Résumé;Territoire;Montant demandé;Budget total"
ROW = "P1;Chaufferie bois;chaufferie bois et réseau de chaleur citoyen;Crest;40 000 €;{budget}"


@pytest.fixture
def runner():
    return CliRunner()


def projects(tmp_path, budget="200 000 €", name="p.csv"):
    path = tmp_path / name
    path.write_text(HEADER + "\n" + ROW.format(budget=budget) + "\n", encoding="utf-8")
    return path


def test_1_zero_budget_ranks(runner, tmp_path):
    result = runner.invoke(cli, ["funders-for", str(projects(tmp_path, budget="0")), "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("project_id,")


@pytest.mark.parametrize("args", [
    ["normalize", "projects", "{p}", "-o", "{p}"],
    ["validate", "projects", "{p}", "--rejects", "{p}"],
    ["funders-for", "{p}", "--format", "csv", "-o", "{p}"],
])
def test_2_no_command_overwrites_its_input(runner, tmp_path, args):
    path = projects(tmp_path)
    before = path.read_bytes()
    result = runner.invoke(cli, [a.format(p=path) for a in args] + ["--lang", "en"])
    assert result.exit_code == 1
    assert result.output.endswith(f"Error: '{path}' is an input of this command; choose another output file "
                                  f"(the input would be overwritten)\n")
    assert path.read_bytes() == before


def test_3_file_without_usable_rows(runner, tmp_path):
    path = tmp_path / "h.csv"
    path.write_text(HEADER + "\n", encoding="utf-8")
    checked = runner.invoke(cli, ["validate", "projects", str(path)])
    assert checked.exit_code == 1
    assert "Aucune ligne utilisable" in checked.output
    ranked = runner.invoke(cli, ["funders-for", str(path)])
    assert ranked.exit_code == 1
    assert ranked.output.endswith(f"Error: aucun projet utilisable dans « {path} » (0 ligne(s) rejetée(s))\n")


def test_4_lone_surrogate_is_a_located_warning(runner, tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps([{"Identifiant": "S1", "Nom du projet": "Caf\ud83d", "Territoire": "Crest",
                                 "Montant demandé": 1000}], ensure_ascii=True))
    table = read_table(path)
    assert table.frame.iloc[0]["Nom du projet"] == "Caf\ufffd"
    assert [(p.code, p.row) for p in table.problems] == [("text.surrogate", 1)]
    assert table.records_read == 1
    result = runner.invoke(cli, ["funders-for", str(path), "--format", "csv"])
    assert result.exit_code == 0, result.output


def test_5_absurd_amounts_are_warnings_not_crashes(runner, tmp_path):
    with pytest.raises(ParseError) as err:
        parse_amount(1e308)
    assert err.value.code == "amount.too_large"
    with pytest.raises(ParseError):
        parse_amount("1" + "0" * 29)
    assert parse_amount("1 000 000 000") == 1e9
    path = tmp_path / "h.json"
    path.write_text(json.dumps([{"Identifiant": "H1", "Nom du projet": "x", "Territoire": "Crest",
                                 "Montant demandé": 1e30, "Budget total": 1e-300}]))
    result = runner.invoke(cli, ["funders-for", str(path), "--format", "csv"])
    assert result.exit_code == 0, result.output


def test_6_yaml_alias_bomb_is_refused(tmp_path):
    levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        levels.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(levels) + "\n")
    with pytest.raises(InputError, match="more than 40 YAML aliases.*--limit yaml_aliases=N"):
        read_table(path)


def test_6_yaml_aliases_limit_can_be_raised(runner, tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text("- &p {project_id: P1, name: x}\n- *p\n- *p\n- *p\n")
    with limits(yaml_aliases=2), pytest.raises(InputError, match="YAML aliases"):
        read_table(path)
    assert len(read_table(path).frame) == 4
    result = runner.invoke(cli, ["--limit", "yaml_aliases=2", "validate", "projects", str(path), "--lang", "en"])
    assert result.exit_code == 1 and "more than 2 YAML aliases" in result.output


def test_6_gzip_bomb_is_refused(tmp_path):
    path = tmp_path / "nl.csv.gz"
    path.write_bytes(gzip.compress(b"a;b\n" + b"\n" * 2_000_000))
    with limits(bytes=1_000_000), pytest.raises(InputError, match="once decompressed"):
        read_table(path)


def test_6_xlsx_far_cell_and_zip_size(tmp_path):
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet["A1"], sheet["B1"], sheet["A2"], sheet["B2"] = "Identifiant", "Nom du projet", "P1", "x"
    sheet["XFD1"] = "far"
    path = tmp_path / "far.xlsx"
    workbook.save(path)
    with pytest.raises(InputError, match="more than 2,000 columns"):
        read_table(path)
    with limits(bytes=1000), pytest.raises(InputError, match="bytes"):
        read_table(path)


def test_6_wide_csv_and_wide_header(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text(";".join(f"c{i}" for i in range(50)) + "\n" + ";".join("x" * 50) + "\n")
    with limits(columns=20), pytest.raises(InputError, match="more than 20 columns"):
        read_table(path)
    long_header = tmp_path / "long.csv"
    long_header.write_text("Identifiant;Nom du projet;" + "Z" * 70_000 + "\nP1;abc;d\n")
    assert read_table(long_header).delimiter == ";"


def test_7_deep_nesting_is_a_clear_error(tmp_path):
    for name, text in (("deep.json", "[" * 5000 + "]" * 5000), ("obj.json", '{"a":' * 5000 + "1" + "}" * 5000),
                       ("deep.yaml", "a: " + "[" * 5000 + "]" * 5000), ("deep.jsonl", "[" * 5000 + "]" * 5000)):
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(InputError, match="levels of nesting"):
            read_table(path)


def test_7_huge_cell_is_a_clear_error(tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("Identifiant;Nom du projet\nP1;" + "x" * 5000 + "\n")
    with limits(cell_chars=1000), pytest.raises(InputError, match="line 2: more than 1,000 characters in one cell"):
        read_table(path)
    quoted = tmp_path / "quoted.csv"
    quoted.write_text('Identifiant;Nom du projet\nP1;"' + "ab\n" * 2000 + '"\n')
    with limits(cell_chars=1000), pytest.raises(InputError, match="characters in one cell"):
        read_table(quoted)


def test_8_mixed_encodings_are_reported_and_read(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_bytes("Identifiant;Nom du projet;Date de démarrage\n".encode()
                     + "P1;Café;01/03/2027\n".encode() + "P2;Crèche;01/04/2027\n".encode("cp1252"))
    table = read_table(path)
    assert table.frame.columns.tolist() == ["Identifiant", "Nom du projet", "Date de démarrage"]
    assert table.frame["Nom du projet"].tolist() == ["Café", "Crèche"]
    assert [(p.code, p.severity) for p in table.problems] == [("file.mixed_encoding", "file")]
    assert "(3)" in table.problems[0].reason_en


@pytest.mark.parametrize("target", ["ok.csv/x.csv", "{long}.csv", "missing/x.csv"])
def test_9_bad_output_paths_fail_before_the_work(runner, tmp_path, target):
    path = projects(tmp_path, name="ok.csv")
    output = tmp_path / target.format(long="a" * 300)
    result = runner.invoke(cli, ["funders-for", str(path), "--format", "csv", "-o", str(output)])
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and "Traceback" not in result.output


def test_10_sigterm_leaves_no_temporary_file(tmp_path):
    code = ("import time, sys\nfrom matcher.cli.common import stop_cleanly_on_sigterm\n"
            "from matcher.io.writers import atomic_path\nstop_cleanly_on_sigterm()\n"
            f"with atomic_path({str(tmp_path / 'out.csv')!r}) as tmp:\n"
            "    tmp.write_text('x')\n    print('ready', flush=True)\n    time.sleep(30)\n")
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "ready"
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 128 + signal.SIGTERM
    assert os.listdir(tmp_path) == []


def test_11_parquet_reads_back(runner, tmp_path):
    path = projects(tmp_path)
    out = tmp_path / "p.parquet"
    assert runner.invoke(cli, ["normalize", "projects", str(path), "-o", str(out)]).exit_code == 0
    result = runner.invoke(cli, ["validate", "projects", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "1 ligne lue : 1 normalisée, 0 rejetée ; 0 avertissement"


def test_13_yaml_scalars_are_not_coerced(tmp_path):
    path = tmp_path / "y.yaml"
    path.write_text("- project_id: NO\n  name: yes\n  a: 012\n  b: 0x10\n  c: 12\n  d: true\n  e: 1.5\n")
    row = read_table(path).frame.iloc[0].to_dict()
    assert row == {"project_id": "NO", "name": "yes", "a": "012", "b": "0x10", "c": 12, "d": True, "e": 1.5}


def test_16_durations_in_months_and_years():
    assert [parse_months(v) for v in ("24 mois", "2 ans", "18 months", "1,5 an", "24", None)] == [
        24, 24, 18, 18, 24, None]


def test_16_french_accounting_line_agrees_with_one(runner, tmp_path):
    result = runner.invoke(cli, ["validate", "projects", str(projects(tmp_path))])
    assert result.output.splitlines()[0] == "1 ligne lue : 1 normalisée, 0 rejetée ; 0 avertissement"


def test_limit_option_is_checked(runner, tmp_path):
    result = runner.invoke(cli, ["--limit", "nope=3", "validate", "projects", str(projects(tmp_path))])
    assert result.exit_code == 1
    assert "Error: --limit attend NOM=N" in result.output  # before any command: the French default


def test_identical_rows_are_not_a_totals_row(tmp_path):
    path = tmp_path / "same.csv"
    path.write_text("a\n0\n0\n«\n0\n", encoding="utf-8")
    assert read_table(path).frame["a"].tolist() == ["0", "0", "«", "0"]
    sums = tmp_path / "sums.csv"
    sums.write_text("a;b\nx;1\ny;2\n;3\n", encoding="utf-8")
    assert len(read_table(sums).frame) == 2  # a real unlabelled totals row is still left out


@pytest.mark.parametrize("value", ["10⁶", "2³ €", "①", "₁₂ 000"])
def test_13_styled_digits_are_not_read_as_plain_digits(value):
    # NFKC used to turn "10⁶" into 106, "2³ €" into 23 and "①" into 1 without a word
    from matcher.normalize.parsers import parse_amount, parse_int
    from matcher.normalize.problems import ParseError

    for parse in (parse_amount, parse_int):
        with pytest.raises(ParseError, match="superscript, subscript or circled digit"):
            parse(value)
    assert parse_amount("１０ 000 €") == 10_000  # full-width digits are still digits


def test_13_placeholder_start_dates_are_warned_about(runner, tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("project_id,name,Date de démarrage\nP1,A,01/01/1900\nP2,B,31/12/9999\nP3,C,01/03/2026\n",
                    encoding="utf-8")
    result = runner.invoke(cli, ["validate", "projects", str(path), "--lang", "en"])
    assert result.output.splitlines()[:3] == [
        "3 rows read: 3 normalised, 0 rejected; 2 warnings",
        "[warning] row 2, column 'Date de démarrage': date kept but implausible (outside 1950-2100; "
        "a placeholder?): 1900-01-01",
        "[warning] row 3, column 'Date de démarrage': date kept but implausible (outside 1950-2100; "
        "a placeholder?): 9999-12-31"]


def test_13_formula_without_cached_value_is_emptied_with_a_warning(tmp_path):
    import openpyxl

    path = tmp_path / "f.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["project_id", "name", "amount"])
    sheet.append(["P1", "A", 1000])
    sheet.append(["P2", "B", "=C2*2"])  # openpyxl saves the formula, never its value
    book.save(path)
    table = read_table(path)
    assert table.frame.iloc[1, 2] is None
    notes = [p for p in table.problems if p.code == "xlsx.formula_no_value"]
    assert len(notes) == 1 and "1 formula cell(s) have no saved value (C3)" in notes[0].reason_en


def test_14_place_split_over_columns_resolves_saint_denis(tmp_path):
    # Saint-Denis alone is ambiguous (93, 974…); the postcode on the same row settles it
    from matcher.io.loading import load

    path = tmp_path / "sd.csv"
    path.write_text("project_id,name,Commune,Code postal,Département,Montant demandé\n"
                    "P1,Tiers-lieu,Saint-Denis,93200,Seine-Saint-Denis,10000\n"
                    "P2,Autre,Saint-Denis,97400,La Réunion,10000\n", encoding="utf-8")
    loaded = load("projects", path)
    assert [list(t) for t in loaded.frame["territory"]] == [["commune:93066"], ["commune:97411"]]
    assert not [p for p in loaded.problems if p.severity == "warning"]

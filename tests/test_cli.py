"""The CLI, driven with CliRunner: exit codes and exact messages."""

import json

import pytest
from click.testing import CliRunner

from matcher import __version__
from matcher.cli import cli


@pytest.fixture
def runner():
    return CliRunner()


def write(tmp_path, name, content, mode="w"):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return str(path)


def test_version(runner):
    result = runner.invoke(cli, ["--version"])
    assert result.exit_code == 0 and result.output == f"coopmatch, version {__version__}\n"


def test_every_command_has_help_with_an_example(runner):
    for name, command in cli.commands.items():
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0, name
        assert command.help and "Example" in command.help, f"{name} has no example in its help"


def test_every_command_is_documented_in_the_readme():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    for name in cli.commands:
        assert f"coopmatch {name}" in readme, f"README does not document `coopmatch {name}`"


def test_validate_clean_file_exits_0(runner, tmp_path):
    path = write(tmp_path, "p.csv", "project_id,name,amount_requested\nP1,A,10 000\n")
    result = runner.invoke(cli, ["validate", "projects", path, "--lang", "en"])
    assert result.exit_code == 0
    assert result.output == "1 rows read: 1 normalised, 0 rejected; 0 warnings\n"


def test_validate_rejected_row_exits_1_and_lists_it(runner, tmp_path):
    path = write(tmp_path, "p.csv", "project_id,name\nP1,A\nP1,B\n")
    result = runner.invoke(cli, ["validate", "projects", path, "--lang", "en"])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "2 rows read: 1 normalised, 1 rejected; 0 warnings",
        "[REJECTED] row 3, column 'project_id': duplicate project_id 'P1', first seen on row 2",
    ]


def test_validate_in_french(runner, tmp_path):
    path = write(tmp_path, "p.csv", "project_id,amount_requested\nP1,beaucoup\n")
    result = runner.invoke(cli, ["validate", "projects", path, "--lang", "fr"])
    assert result.exit_code == 0
    assert result.output.splitlines()[0] == "1 ligne lue : 1 normalisée, 0 rejetée ; 1 avertissement"
    assert "ligne 2, colonne 'amount_requested'" in result.output


def test_validate_strict_fails_on_warnings(runner, tmp_path):
    path = write(tmp_path, "p.csv", "project_id,amount_requested\nP1,beaucoup\n")
    assert runner.invoke(cli, ["validate", "projects", path, "--strict"]).exit_code == 1


def test_validate_writes_rejects(runner, tmp_path):
    path = write(tmp_path, "p.csv", "project_id,amount_requested\nP1,beaucoup\n,1\n")
    out = tmp_path / "rejects.json"
    result = runner.invoke(cli, ["validate", "projects", path, "--rejects", str(out)])
    assert result.exit_code == 1
    rows = json.loads(out.read_text(encoding="utf-8"))
    assert [(r["row"], r["severity"]) for r in rows] == [(2, "warning"), (3, "error")]


@pytest.mark.parametrize("content, message", [
    (None, "Error: {path}: file not found"),
    ("", "Error: {path}: the file is empty"),
    (b"\x00\x01\x02PK\x03\x04binary\x00junk", "Error: {path}: not a text table (binary file?)"),
])
def test_bad_files_give_a_clear_error(runner, tmp_path, content, message):
    path = str(tmp_path / "p.csv") if content is None else write(tmp_path, "p.csv", content)
    result = runner.invoke(cli, ["validate", "projects", path, "--lang", "en"])
    assert result.exit_code == 1
    assert result.output.strip() == message.format(path=path)
    assert "Traceback" not in result.output


def test_header_only_file_is_refused_as_nothing_to_rank(runner, tmp_path):
    # issue 16: validate must not accept what the ranking commands refuse
    path = write(tmp_path, "p.csv", "project_id,name\n")
    result = runner.invoke(cli, ["validate", "projects", path, "--lang", "en"])
    assert result.exit_code == 1 and result.output.startswith("0 rows read")
    assert "No usable row: nothing to rank." in result.output


def test_wrong_delimiter_says_which_field_is_missing(runner, tmp_path):
    path = write(tmp_path, "p.csv", "project_id:name:amount\nP1:A:10\n")
    result = runner.invoke(cli, ["validate", "projects", path, "--lang", "en"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: no column maps to project_id")
    assert "--map project_id=COLUMN" in result.output


def test_bad_map_option(runner, tmp_path):
    path = write(tmp_path, "p.csv", "ref\nA\n")
    result = runner.invoke(cli, ["validate", "projects", path, "--map", "project_id", "--lang", "en"])
    assert result.exit_code == 1 and result.output.startswith("Error: --map expects field=Column")
    result = runner.invoke(cli, ["validate", "projects", path, "--map", "project_id=nope"])
    assert result.exit_code == 1 and result.output.startswith("Error: ") and "nope" in result.output


def test_normalize_writes_every_format(runner, tmp_path):
    path = write(tmp_path, "p.csv", "project_id;Forme juridique;Secteurs\nP1;SCIC;énergie;\n")
    for ext in ("csv", "json", "jsonl", "xlsx", "parquet"):
        out = tmp_path / f"out.{ext}"
        result = runner.invoke(cli, ["normalize", "projects", path, "-o", str(out)])
        assert result.exit_code == 0, result.output
        assert out.exists() and out.stat().st_size > 0
    rows = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert rows[0]["legal_form"] == "scic" and rows[0]["sectors"] == ["energy"]


def test_normalize_output_reads_back_identically(runner, tmp_path):
    from matcher.io.loading import SAMPLE_PROJECTS, load

    out = tmp_path / "canon.csv"
    result = runner.invoke(cli, ["normalize", "projects", str(SAMPLE_PROJECTS), "-o", str(out)])
    assert result.exit_code == 0, result.output
    first = load("projects", SAMPLE_PROJECTS).frame
    again = load("projects", out)
    assert again.summary["warnings"] == 0 and again.summary["rows_rejected"] == 0
    import pandas as pd
    pd.testing.assert_frame_equal(first, again.frame)


def test_normalize_unknown_extension(runner, tmp_path):
    path = write(tmp_path, "p.csv", "project_id\nP1\n")
    result = runner.invoke(cli, ["normalize", "projects", path, "-o", str(tmp_path / "out.doc"), "--lang", "en"])
    assert result.exit_code == 1 and result.output.startswith("Error: cannot tell the output format")


def test_normalize_is_deterministic(runner, tmp_path):
    from matcher.io.loading import SAMPLE_FUNDERS

    outs = []
    for i in range(2):
        out = tmp_path / f"f{i}.csv"
        assert runner.invoke(cli, ["normalize", "funders", str(SAMPLE_FUNDERS), "-o", str(out)]).exit_code == 0
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]

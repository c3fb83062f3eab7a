"""``coopmatch plan`` and ``coopmatch allocate`` on the built-in sample: outputs that add up, exact errors."""

from __future__ import annotations

import csv
import io

import pytest
from click.testing import CliRunner

from matcher.cli import cli
from matcher.io.loading import SAMPLE_PROJECTS

DATE = ["--date", "2026-12-01"]


def run(*args):
    return CliRunner().invoke(cli, [*args])


def rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_plan_csv_balances_against_the_budget_with_public_share_under_the_cap():
    result = run("plan", "--project", "P001", str(SAMPLE_PROJECTS), *DATE, "--format", "csv")
    assert result.exit_code == 0, result.output
    lines = rows(result.stdout)
    assert list(lines[0])[:8] == ["plan", "kind", "funder_id", "call_id", "amount", "share_of_budget", "public",
                                  "eligibility"]
    for plan in {r["plan"] for r in lines}:
        mine = [r for r in lines if r["plan"] == plan]
        assert sum(float(r["amount"]) for r in mine) == pytest.approx(3_200_000)
        public = sum(float(r["amount"]) for r in mine if r["public"] == "true")
        assert public <= 0.8 * 3_200_000
    assert len({r["plan"] for r in lines}) == 3  # the best and 2 alternatives


def test_plan_of_a_project_without_budget_says_what_is_missing():
    result = run("plan", "--project", "P016", str(SAMPLE_PROJECTS), *DATE)
    assert result.exit_code == 1
    assert result.output.startswith("Error: project P016 has no total budget (total_budget)")


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--public-cap", "1.5", "a share is between 0 and 1, got 1.5"),
    ("--self-funding", "abc", "expected a share between 0 and 1, got 'abc'"),
])
def test_plan_refuses_bad_shares(option, value, message):
    result = run("plan", "--project", "P001", str(SAMPLE_PROJECTS), option, value)
    assert result.exit_code == 2
    assert message in result.output


def allocate(*extra):
    return run("allocate", "--funder", "F-FDD-TERRES", "--projects", str(SAMPLE_PROJECTS), *DATE, *extra)


def test_allocate_csv_keeps_within_the_envelope_and_the_shares():
    result = allocate("--envelope", "200000", "--max-share", "region:84=0.3", "--format", "csv")
    assert result.exit_code == 0, result.output
    lines = rows(result.stdout)
    assert list(lines[0])[:12] == ["alternative", "project_id", "amount", "requested", "score", "eligibility",
                                   "region", "department", "sector", "legal_form", "ess", "new_recipient"]
    best = [r for r in lines if r["alternative"] == "1"]
    assert sum(float(r["amount"]) for r in best) <= 200_000
    assert sum(float(r["amount"]) for r in best if "84" in r["region"].split("|")) <= 60_000


@pytest.mark.parametrize(("args", "code", "message"), [
    (["--envelope", "0"], 2, "the envelope must be a positive amount, got 0"),
    (["--envelope", "-5"], 2, "the envelope must be a positive amount, got -5"),
    (["--envelope", "1000", "--max-share", "region:84=1.2"], 2,
     "the share must be between 0 and 1 (a share of the envelope), got 1.2"),
    (["--envelope", "1000", "--max-share", "colour:red=0.2"], 2, "unknown dimension 'colour'"),
    (["--envelope", "1000", "--max-share", "region:Atlantide=0.2"], 1, "Error: unknown region 'Atlantide'"),
    (["--envelope", "500000", "--min-share", "department:93=0.2"], 1,
     "Error: the constraints cannot all hold: min-share department:93=0.2 needs 100\u202f000 € but the eligible "
     "applications from department 93 ask 0 €"),
])
def test_allocate_bad_input_exits(args, code, message):
    result = allocate(*args)
    assert result.exit_code == code, result.output
    assert message in result.output


def test_commands_have_help_with_examples():
    for name in ("plan", "allocate"):
        result = run(name, "--help")
        assert result.exit_code == 0
        assert "Examples:" in result.output

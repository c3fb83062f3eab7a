"""The HTML report: content, escaping of hostile data, languages, determinism."""

from __future__ import annotations

import base64
import csv
import hashlib
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from matcher import Report, RunInfo, portfolio_balance, render_html
from matcher.cli import cli
from matcher.engine.model import Matcher
from matcher.io.loading import SAMPLE_FUNDERS, SAMPLE_PROJECTS, load

DATE = "2026-12-01"
FUNDER = "F-FDD-TERRES"

# Project names and texts that would run if any of them reached the page unescaped.
SCRIPT_NAME = "<script>document.title='pwned';document.body.appendChild(document.createElement('blink'))</script>"
IMG_NAME = '"><img src=x onerror="document.title=\'pwned2\'">'
FORMULA = '=HYPERLINK("http://evil.example","click")'
HOSTILE = {  # project id -> column -> value
    "P014": {"Nom du projet": SCRIPT_NAME, "Résumé": "</script><script>document.title='pwned3'</script> zones humides"},
    "P026": {"Nom du projet": IMG_NAME},
    "P024": {"Nom du projet": FORMULA},
    "P020": {"Nom du projet": "+1+1 tiers-lieu"},
    "P002": {"Nom du projet": "@SUM(A1:A2) cantine"},
    "P004": {"Nom du projet": "-2-2 covoiturage"},
    "P006": {"Nom du projet": "\tTabulée", "Structure porteuse": "\rRetour"},
}


def write_hostile_projects(folder: Path) -> Path:
    """The sample projects with hostile names and texts, plus rows that end in the rejects."""
    with SAMPLE_PROJECTS.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    for row in rows:
        row.update(HOSTILE.get(row["Identifiant"], {}))
    extra = dict(rows[0])
    extra.update({"Identifiant": "", "Nom du projet": "<b>sans identifiant</b>"})
    odd = dict(rows[1])
    odd.update({"Identifiant": "P999", "Nom du projet": "Montant hostile", "Montant demandé": "=1+2<i>"})
    rows += [extra, odd]
    path = folder / "projets_hostiles.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter=";")
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def hostile(tmp_path) -> Path:
    return write_hostile_projects(tmp_path)


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def shortlist_html(projects: Path, out: Path, lang: str = "fr", *extra: str) -> str:
    run("shortlist", "--funder", FUNDER, "--projects", str(projects), "--date", DATE,
        "--format", "html", "-o", str(out), "--lang", lang, *extra)
    return out.read_text(encoding="utf-8")


def test_hostile_names_show_as_text_and_never_as_markup(hostile, tmp_path):
    page = shortlist_html(hostile, tmp_path / "r.html", "fr", "--top", "40", "--include-ineligible")
    assert page.count("<script") == 1  # the report's own script only
    assert "<img" not in page and "<b>" not in page and "<i>" not in page
    assert "&lt;script&gt;document.title=&#x27;pwned&#x27;" in page
    assert "&quot;&gt;&lt;img src=x onerror=&quot;document.title=&#x27;pwned2&#x27;&quot;&gt;" in page
    assert "=HYPERLINK(&quot;http://evil.example&quot;,&quot;click&quot;)" in page
    # the rejected inputs are listed, escaped, with why
    rejects = page[page.index('id="rejects"'):]
    assert "&lt;i&gt;" in rejects and "=1+2" in rejects
    assert "rejetée" in rejects


def test_script_is_allowed_by_hash_only(tmp_path):
    page = shortlist_html(SAMPLE_PROJECTS, tmp_path / "r.html")
    script = re.search(r"<script>(.*)</script>", page, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', page).group(1)
    assert f"script-src &#x27;sha256-{digest}&#x27;" in policy
    assert "default-src &#x27;none&#x27;" in policy
    assert "http://" not in page.replace("http://evil", "") and "https://" not in page  # no network


def test_same_run_same_bytes(tmp_path, hostile):
    first = shortlist_html(hostile, tmp_path / "a.html")
    second = shortlist_html(hostile, tmp_path / "b.html")
    assert first == second


def test_shortlist_shows_parameters_ranking_portfolio_and_deadline(tmp_path):
    page = shortlist_html(SAMPLE_PROJECTS, tmp_path / "r.html", "fr", "--weight", "territory=0.4")
    for part in ('id="summary"', 'id="ranking"', 'id="portfolio"', 'id="rejects"', 'id="parameters"'):
        assert part in page
    assert "Présélection — Fonds de dotation Terres Communes" in page
    assert "01/12/2026" in page and "15/01/2027 (dans 45 j)" in page
    assert "territory = 0,40" in page
    assert page.count('<tr class="line"') == 10
    assert page.count('<div class="chart">') == 3
    assert 'class="badge eligible"' in page and 'class="badge to_check"' in page
    assert "Plafond 60" in page  # a reason in words
    assert "<svg class=\"stack\"" in page and "table class=\"waterfall\"" in page


def test_english_labels(tmp_path):
    page = shortlist_html(SAMPLE_PROJECTS, tmp_path / "r.html", "en")
    assert '<html lang="en">' in page
    assert "Shortlist — Fonds de dotation Terres Communes" in page
    assert "Portfolio balance" in page and "By region" in page and "Run parameters" in page
    assert "15 January 2027" in page
    assert "Présélection" not in page and "Équilibre" not in page


def test_funders_for_html_lists_several_projects(tmp_path):
    out = tmp_path / "f.html"
    run("funders-for", str(SAMPLE_PROJECTS), "--date", DATE, "--top", "2", "--format", "html", "-o", str(out))
    page = out.read_text(encoding="utf-8")
    assert "Financeurs pour 36 projets" in page
    assert page.count('<tr class="line"') > 36
    assert 'data-key="project"' in page and 'data-key="funder"' in page
    assert 'id="portfolio"' not in page


def test_html_goes_to_stdout_without_output():
    page = run("funders-for", str(SAMPLE_PROJECTS), "--project", "P001", "--date", DATE, "--format", "html")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")


@pytest.fixture(scope="module")
def sample():
    projects = load("projects", SAMPLE_PROJECTS).frame
    matcher = Matcher(date=DATE).fit(load("funders", SAMPLE_FUNDERS).frame)
    return projects, matcher


def test_portfolio_counts_each_project_once_per_category(sample):
    projects, matcher = sample
    ranked = matcher.rank_projects(projects, FUNDER, include_ineligible=True, top=None)
    balance = portfolio_balance(ranked, projects, matcher.territories_, "en")
    kept = ranked[ranked["eligibility"] != "ineligible"]["project_id"].unique()
    forms = balance[balance["dimension"] == "legal_form"]
    assert forms["projects"].sum() == len(kept)  # one legal form per project
    amounts = projects.set_index("project_id").loc[kept, "amount_requested"].fillna(0).sum()
    assert forms["amount_requested"].sum() == pytest.approx(amounts)
    regions = balance[balance["dimension"] == "region"]
    assert "Auvergne-Rhône-Alpes" in set(regions["category"])
    assert regions["projects"].sum() >= len(kept)


def test_empty_ranking_still_renders(sample):
    projects, matcher = sample
    ranked = matcher.rank_projects(projects, FUNDER).iloc[0:0]
    info = RunInfo(command="shortlist", lang="en", run_date=DATE, funder_id=FUNDER)
    page = render_html(Report(ranked, projects, matcher, info))
    assert "Nothing to show." in page and 'id="ranking"' not in page

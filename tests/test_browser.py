"""The HTML report in a real browser (headless Chromium): sorting, filtering, no script from the data.

Skips where Chromium is missing on a developer's machine; under ``CI=true``
it fails instead, so CI (which installs Debian's ``chromium``) never skips it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import unicodedata
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_report_html import DATE, FUNDER, write_hostile_projects

from matcher.cli import cli

CHROMIUM = Path("/usr/bin/chromium") if Path("/usr/bin/chromium").exists() else (
    Path(found) if (found := shutil.which("chromium") or shutil.which("chromium-browser")) else None)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
         "--disable-component-update", "--disable-sync", "--disable-extensions", "--mute-audio",
         "--virtual-time-budget=2000"]


@pytest.fixture(scope="module")
def chromium() -> Path:
    if CHROMIUM is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but Chromium is not installed (.ci/run installs Debian's chromium)")
        pytest.skip("Chromium not installed (apt-get install chromium) — browser test skipped")
    return CHROMIUM


def browse(chromium: Path, profile: Path, url: str, *extra: str) -> str:
    result = subprocess.run([str(chromium), *FLAGS, f"--user-data-dir={profile}", *extra, url],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


class Page(HTMLParser):
    """What the tests look at in a dumped DOM: ranked rows, the title, elements by tag."""

    def __init__(self, dom: str):
        super().__init__()
        self.rows: list[dict] = []
        self.tags: list[str] = []
        self.title = ""
        self.root: dict = {}
        self._in_title = False
        self.feed(dom)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if tag == "html":
            self.root = attrs
        if tag == "title":
            self._in_title = True
        if tag == "tr" and "line" in (attrs.get("class") or "").split():
            self.rows.append(attrs)

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data


def fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c)).lower()


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("report")
    projects = write_hostile_projects(folder)
    out = folder / "shortlist.html"
    result = CliRunner().invoke(cli, ["shortlist", "--funder", FUNDER, "--projects", str(projects), "--date", DATE,
                                      "--top", "40", "--include-ineligible", "--format", "html", "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_the_report_script_runs_and_no_script_from_the_data(chromium, report, tmp_path):
    page = Page(browse(chromium, tmp_path / "profile", report.as_uri(), "--dump-dom"))
    assert page.root.get("data-ready") == "1"  # the report's own script ran (allowed by its hash)
    assert "pwned" not in page.title and page.title.startswith("Présélection")
    assert "blink" not in page.tags and "img" not in page.tags and page.tags.count("script") == 1
    assert any(r["data-project"].startswith("<script>document.title") for r in page.rows)


def test_sorting_from_the_address(chromium, report, tmp_path):
    page = Page(browse(chromium, tmp_path / "profile", report.as_uri() + "#sort=score-asc", "--dump-dom"))
    scores = [float(r["data-score"]) for r in page.rows]
    assert len(scores) > 10 and scores == sorted(scores) and scores != sorted(scores, reverse=True)
    page = Page(browse(chromium, tmp_path / "profile2", report.as_uri() + "#sort=amount-desc", "--dump-dom"))
    amounts = [float(r["data-amount"]) for r in page.rows if r["data-amount"]]
    assert amounts == sorted(amounts, reverse=True)
    assert page.rows[-1]["data-amount"] == ""  # unknown amounts go last


def test_filtering_from_the_address(chromium, report, tmp_path):
    url = report.as_uri() + "#filter=Bretagne&show=eligible,to_check"
    page = Page(browse(chromium, tmp_path / "profile", url, "--dump-dom"))
    shown = [r for r in page.rows if "hidden" not in r["class"].split()]
    hidden = [r for r in page.rows if "hidden" in r["class"].split()]
    assert shown and hidden
    assert all("bretagne" in fold(r["data-search"]) and r["data-verdict"] != "ineligible" for r in shown)
    assert all("bretagne" not in fold(r["data-search"]) or r["data-verdict"] == "ineligible" for r in hidden)


def test_screenshot(chromium, report, tmp_path):
    shot = tmp_path / "shortlist.png"
    browse(chromium, tmp_path / "profile", report.as_uri(), f"--screenshot={shot}", "--window-size=1280,2000")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000

"""The web app in a real browser: Debian's Chromium driven by Playwright (``executable_path``, nothing downloaded).

Two journeys end to end, against ``coopmatch serve``'s app run by uvicorn on a
loopback port: a fund officer imports applications from XLSX, maps a column by
hand, opens the shortlist, records two decisions and exports XLSX; a project
lead fills the form, sees the funders, opens an explanation. Screenshots of
each page go to a temporary folder; ``COOPMATCH_SCREENSHOTS=docs/screenshots``
writes them where the README shows them (a run does not rewrite the docs).

Skips where Chromium or Playwright is missing on a developer's machine; under
``CI=true`` it fails instead.
"""

from __future__ import annotations

import csv
import os
import socket
import threading
import time
from pathlib import Path

import openpyxl
import pytest

import matcher as m

CHROMIUM = Path("/usr/bin/chromium")
SHOTS_ENV = "COOPMATCH_SCREENSHOTS"
DATE = "2026-12-01"
FUNDER = "F-FDD-TERRES"


def _missing(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {reason} (.ci/run installs Debian's chromium and the test extra)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        _missing("Chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    import uvicorn

    from matcher.web import asgi, create_app

    folder = tmp_path_factory.mktemp("browser")
    path = folder / "appel.coopmatch"
    with m.Workspace.init(path) as ws:
        ws.import_profiles("funders", m.SAMPLE_FUNDERS)
    app = create_app(str(path))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(asgi(app), host="127.0.0.1", port=port, log_level="warning")
    runner = uvicorn.Server(config)
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    for _ in range(100):
        if runner.started:
            break
        time.sleep(0.1)
    assert runner.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}", folder
    runner.should_exit = True
    thread.join(timeout=10)
    app.state.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = Path(os.environ[SHOTS_ENV]) if os.environ.get(SHOTS_ENV) else tmp_path_factory.mktemp("shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def shot(page, folder: Path, name: str) -> None:
    target = folder / f"web_{name}.png"
    page.screenshot(path=str(target), full_page=False)
    assert target.stat().st_size > 1000, f"empty screenshot {target}"


def watch(page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    return errors


def test_fund_officer_journey(browser, server, shots):
    base, folder = server
    with open(m.SAMPLE_PROJECTS, encoding="utf-8") as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    rows[0][rows[0].index("Montant demandé")] = "Combien ?"
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    xlsx = folder / "candidatures.xlsx"
    book.save(xlsx)

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = watch(page)
    page.goto(f"{base}/import")
    shot(page, shots, "import")
    page.select_option("#kind", "projects")
    page.set_input_files("#file", str(xlsx))
    page.click("text=Lire et valider")
    page.wait_for_selector("#summary")
    select = page.locator('select[aria-label="champ de la colonne Combien ?"]')
    select.select_option("amount_requested")
    page.click("text=Prévisualiser")
    page.wait_for_selector("#summary")
    assert page.locator('select[aria-label="champ de la colonne Combien ?"]').input_value() == "amount_requested"
    shot(page, shots, "import_mapping")
    page.click("#do-import")
    assert "Import n°" in page.locator("#result").inner_text()

    page.goto(f"{base}/funders/{FUNDER}/shortlist?date={DATE}")
    page.wait_for_selector("table#ranking tr.line")
    first = page.locator("table#ranking tr.line").nth(0)
    second = page.locator("table#ranking tr.line").nth(1)
    ids = [first.locator("button.decide").get_attribute("data-project"),
           second.locator("button.decide").get_attribute("data-project")]
    shot(page, shots, "shortlist")
    for row_index, status in ((0, "shortlisted"), (1, "refused")):
        page.locator("table#ranking tr.line").nth(row_index).locator("button.decide").click()
        page.select_option("#status", status)
        page.fill("#reason", "revue du comité")
        if row_index == 0:
            shot(page, shots, "decide")
        page.click("#record")
        page.wait_for_selector("table#ranking tr.line")
    statuses = page.locator("table#ranking .status").all_inner_texts()
    assert "présélectionné" in statuses and len(statuses) >= 1
    with page.expect_download() as download:
        page.click("#export-xlsx")
    saved = folder / "export.xlsx"
    download.value.save_as(saved)
    exported = openpyxl.load_workbook(saved)
    assert exported.worksheets and exported.worksheets[0].max_row > 1
    with m.Workspace.open(folder / "appel.coopmatch") as ws:
        decisions = ws.decisions()
    got = dict(zip(decisions["project_id"], decisions["status"], strict=True))
    assert got.get(ids[0]) == "shortlisted"
    assert "refused" in got.values()
    assert not errors, errors


def test_project_lead_journey(browser, server, shots):
    base, _ = server
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = watch(page)
    page.goto(f"{base}/projects/new")
    page.fill("#f-name", "Réseau de chaleur citoyen")
    page.fill("#f-summary", "Une SCIC de méthanisation et de chaleur renouvelable portée par des habitants.")
    page.select_option("#f-legal_form", "scic")
    page.select_option("#f-sectors", ["energy"])
    page.fill("#territory", "Cres")
    page.wait_for_selector("#places option", state="attached")  # the CSP forbids eval: no wait_for_function
    assert "commune:26108" in [o.get_attribute("value") for o in page.locator("#places option").all()]
    page.fill("#territory", "commune:26108")
    page.fill("#f-amount_requested", "200000")
    page.fill("#f-date", DATE)
    shot(page, shots, "project_form")
    page.click("#find")
    page.wait_for_selector("table#ranking tr.line")
    shot(page, shots, "project_funders")
    first = page.locator("table#ranking tr.line").nth(0)
    first.locator("details summary").click()
    assert first.locator("table.waterfall").is_visible()
    shot(page, shots, "explanation")
    assert not errors, errors

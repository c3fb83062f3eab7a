"""The web app's routes with the framework's test client, on a real SQLite workspace of the samples."""

from __future__ import annotations

import csv
import io
import re

import openpyxl
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

import matcher as m
from matcher.cli import cli
from matcher.web import accounts, asgi, create_app

DATE = "2026-12-01"
FUNDER = "F-FDD-TERRES"
HOSTILE = ["<script>alert(1)</script>", '"><img src=x onerror=alert(2)>', '=HYPERLINK("http://evil","x")']


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    folder = tmp_path_factory.mktemp("web")
    path = folder / "appel.coopmatch"
    with open(m.SAMPLE_PROJECTS, encoding="utf-8") as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    for i, name in enumerate(HOSTILE):  # three projects whose names attack the pages and the exports
        row = list(rows[1])
        row[0], row[1] = f"PX{i}", name
        rows.append(row)
    projects = folder / "projets.csv"
    with projects.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, delimiter=";").writerows(rows)
    with m.Workspace.init(path) as w:
        w.import_profiles("projects", projects)
        w.import_profiles("funders", m.SAMPLE_FUNDERS)
    return path


@pytest.fixture()
def local(ws):
    app = create_app(str(ws))
    with TestClient(asgi(app)) as client:
        client.fastapi = app
        yield client
    app.state.close()


def test_healthz_and_home(local):
    assert local.get("/healthz").text == "ok"
    home = local.get("/")
    assert home.status_code == 200 and FUNDER in home.text
    headers = home.headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "script-src 'self'" in headers["content-security-policy"] and "unsafe-inline" not in \
        headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in home.text.replace('<script src="/static/report/report.js"></script>', "") \
        .replace('<script src="/static/app.js"></script>', "")


def test_shortlist_page_escapes_hostile_names_and_exports_neutralise_them(local):
    page = local.get(f"/funders/{FUNDER}/shortlist", params={"date": DATE, "top": "all"})
    assert page.status_code == 200
    assert 'class="ranking"' in page.text and "Décider" in page.text
    for name in HOSTILE[:2]:
        assert name not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    scripts = re.findall(r"<script[^>]*>", page.text)
    assert scripts == ['<script src="/static/report/report.js">', '<script src="/static/app.js">']
    csv_export = local.get(f"/funders/{FUNDER}/shortlist", params={"date": DATE, "top": "all", "format": "csv"})
    assert csv_export.status_code == 200 and "attachment" in csv_export.headers["content-disposition"]
    assert "PX2" in csv_export.text and '\n=HYPERLINK' not in csv_export.text and ',=HYPERLINK' not in csv_export.text
    xlsx = local.get(f"/funders/{FUNDER}/shortlist", params={"date": DATE, "top": "all", "format": "xlsx"})
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    cells = [c.value for s in book.worksheets for row in s.iter_rows() for c in row if isinstance(c.value, str)]
    assert any("HYPERLINK" in c for c in cells) and not any(c.startswith("=") for c in cells)
    html = local.get(f"/funders/{FUNDER}/shortlist", params={"date": DATE, "format": "html"})
    assert html.status_code == 200 and "<!DOCTYPE html>" in html.text and HOSTILE[0] not in html.text


def test_project_funders_explain_and_changes_pages(local):
    page = local.get("/projects/P001/funders", params={"date": DATE})
    assert page.status_code == 200 and FUNDER in page.text
    explain = local.get("/explain", params={"project": "P001", "funder": FUNDER, "date": DATE})
    assert explain.status_code == 200 and 'class="waterfall"' in explain.text
    form = local.get("/projects/new")
    assert form.status_code == 200 and 'name="legal_form"' in form.text and "Énergie" in form.text
    imp = local.get("/import")
    assert imp.status_code == 200 and 'enctype="multipart/form-data"' in imp.text
    local.get(f"/funders/{FUNDER}/shortlist", params={"date": "2026-06-01"})
    changes = local.get("/changes")
    assert changes.status_code == 200 and "shortlist" in changes.text
    assert "cm_seen" in changes.headers.get("set-cookie", "")


def test_errors_are_readable_pages_or_json(local):
    missing = local.get("/funders/NOPE/shortlist")
    assert missing.status_code == 404 and "NOPE" in missing.text and "<html" in missing.text
    api_missing = local.get("/api/v1/funders/NOPE/shortlist")
    assert api_missing.status_code == 404 and api_missing.json()["status"] == 404
    bad = local.get(f"/funders/{FUNDER}/shortlist", params={"date": "tomorrow-ish"})
    assert bad.status_code == 422 and "tomorrow-ish" in bad.text
    bad_api = local.get("/api/v1/projects/P001/funders", params={"top": "0"})
    assert bad_api.status_code == 422 and bad_api.json()["error"] == "invalid request"
    hostile = local.get("/projects/<script>x</script>/funders")
    assert hostile.status_code == 404 and "<script>x" not in hostile.text


def test_decisions_need_their_csrf_token(local):
    page = local.get(f"/funders/{FUNDER}/shortlist", params={"date": DATE})
    token = csrf_of(page.text)
    form = {"project_id": "P001", "funder_id": FUNDER, "status": "shortlisted", "back": "/"}
    refused = local.post("/decisions", data=form, follow_redirects=False)
    assert refused.status_code == 403 and "CSRF" in refused.text
    wrong = local.post("/decisions", data={**form, "csrf": "x" * 43}, follow_redirects=False)
    assert wrong.status_code == 403
    done = local.post("/decisions", data={**form, "csrf": token, "back": "//evil.example/"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/"
    bad = local.post("/decisions", data={**form, "status": "eaten", "csrf": token})
    assert bad.status_code == 422 and "eaten" in bad.text
    again = local.get(f"/funders/{FUNDER}/shortlist", params={"date": DATE})
    assert "présélectionné" in again.text


def test_api(local):
    spec = local.get("/api/v1/openapi.json").json()
    assert {"/api/v1/projects/{project_id}/funders", "/api/v1/funders/{funder_id}/shortlist", "/api/v1/explain",
            "/api/v1/decisions"} <= set(spec["paths"])
    funders = local.get("/api/v1/projects/P001/funders", params={"top": 3, "date": DATE}).json()
    assert len(funders["funders"]) == 3 and [f["rank"] for f in funders["funders"]] == [1, 2, 3]
    shortlist = local.get(f"/api/v1/funders/{FUNDER}/shortlist", params={"top": 5, "date": DATE}).json()
    assert shortlist["funder_id"] == FUNDER and 1 <= len(shortlist["projects"]) <= 5
    explained = local.get("/api/v1/explain", params={"project": "P001", "funder": FUNDER, "date": DATE}).json()
    assert explained["project_id"] == "P001" and explained["criteria"]
    refused = local.post("/api/v1/decisions", json={"project_id": "P001", "funder_id": FUNDER, "status": "eaten"})
    assert refused.status_code == 422 and "eaten" in refused.json()["error"]
    made = local.post("/api/v1/decisions", json={"project_id": "P002", "funder_id": FUNDER, "status": "applied"})
    assert made.status_code == 201 and made.json()["recorded"] == 1
    places = local.get("/api/v1/territories", params={"q": "cres"}).json()["places"]
    assert any(p["code"] == "commune:26108" for p in places)


def test_upload_import_with_a_mapping_chosen_by_hand(local, tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    with open(m.SAMPLE_PROJECTS, encoding="utf-8") as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    rows[0][rows[0].index("Montant demandé")] = "Combien ?"
    for row in rows[:6]:
        sheet.append(row)
    path = tmp_path / "candidatures.xlsx"
    book.save(path)
    page = local.get("/import")
    token = csrf_of(page.text)
    with path.open("rb") as handle:
        report = local.post("/import", data={"csrf": token, "kind": "projects"},
                            files={"file": ("../../etc/passwd.csv", handle, "text/plain")})
    assert report.status_code == 200 and "lignes lues" in report.text and "Combien ?" in report.text
    action = re.search(r'action="(/import/[^"]+)"', report.text).group(1)
    column = re.search(r'<select name="(col\d+)" aria-label="champ de la colonne Combien \?"', report.text).group(1)
    preview = local.post(action, data={"csrf": token, column: "amount_requested", "action": "preview"})
    assert preview.status_code == 200 and "450000" in preview.text.replace(".0", "")
    done = local.post(action, data={"csrf": token, column: "amount_requested", "action": "import"})
    assert done.status_code == 200 and "Import n°" in done.text
    service = local.fastapi.state.service
    assert service.saved_mapping("projects", rows[0]) == {"amount_requested": "Combien ?"}
    assert service.ws.imports()["source"].iloc[-1] == "passwd.xlsx"  # the name's letters, the bytes' type
    gone = local.post(action, data={"csrf": token, "action": "import"})
    assert gone.status_code == 404
    with path.open("rb") as handle:
        fake = local.post("/import", data={"csrf": token, "kind": "projects"},
                          files={"file": ("x.csv", io.BytesIO(b"\x00\x01\x02binary"), "text/csv")})
    assert fake.status_code == 422


def test_uploads_are_capped(ws):
    app = create_app(str(ws), max_upload=1000)
    with TestClient(asgi(app)) as client:
        token = csrf_of(client.get("/import").text)
        big = client.post("/import", data={"csrf": token, "kind": "projects"},
                          files={"file": ("big.csv", io.BytesIO(b"a;b\n" * 1000), "text/csv")})
        assert big.status_code == 413 and "<html" in big.text
    app.state.close()


@pytest.fixture()
def with_accounts(ws, tmp_path):
    import shutil

    copy = tmp_path / "team.coopmatch"
    shutil.copy(ws, copy)
    with m.Workspace.open(copy) as w:
        accounts.add_user(w, "ana", "staff", "correct horse")
        accounts.add_user(w, "vic", "viewer", "battery staple")
        token = accounts.new_token(w, "vic")
    return copy, token


def login(client, name, password):
    page = client.get("/login")
    return client.post("/login", data={"csrf": csrf_of(page.text), "name": name, "password": password,
                                       "next": "/"}, follow_redirects=False)


def test_accounts_viewer_cannot_decide_and_tokens(with_accounts):
    path, token = with_accounts
    app = create_app(str(path), host="0.0.0.0")
    with TestClient(asgi(app)) as client:
        assert client.get("/").status_code == 401
        assert client.get("/api/v1/projects/P001/funders").status_code == 401
        assert login(client, "vic", "wrong").status_code == 401
        ok = login(client, "vic", "battery staple")
        assert ok.status_code == 303
        cookie = ok.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
        page = client.get(f"/funders/{FUNDER}/shortlist", params={"date": DATE})
        assert page.status_code == 200 and 'id="decide-dialog"' not in page.text
        token_csrf = csrf_of(page.text)
        refused = client.post("/decisions", data={"csrf": token_csrf, "project_id": "P001", "funder_id": FUNDER,
                                                  "status": "shortlisted"})
        assert refused.status_code == 403
        assert client.get("/import").status_code == 403
        api = client.get("/api/v1/projects/P001/funders", headers={"Authorization": f"Bearer {token}"})
        assert api.status_code == 200
        viewer_decides = client.post("/api/v1/decisions", headers={"Authorization": f"Bearer {token}"},
                                     json={"project_id": "P001", "funder_id": FUNDER, "status": "applied"})
        assert viewer_decides.status_code == 403
    app.state.close()


def test_login_attempts_are_rate_limited(with_accounts):
    path, _ = with_accounts
    app = create_app(str(path))
    with TestClient(asgi(app)) as client:
        codes = [login(client, "ana", "nope nope").status_code for _ in range(6)]
        assert codes[:5] == [401] * 5 and codes[5] == 429
        assert login(client, "ana", "correct horse").status_code == 429
    app.state.close()


def test_non_loopback_without_accounts_refuses_to_start(ws):
    result = CliRunner().invoke(cli, ["serve", "--workspace", str(ws), "--host", "0.0.0.0"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: refusing to serve") and "workspace user add" in result.output


def test_user_commands(tmp_path):
    path = tmp_path / "u.coopmatch"
    runner = CliRunner()
    assert runner.invoke(cli, ["workspace", "init", str(path)]).exit_code == 0
    added = runner.invoke(cli, ["workspace", "user", "add", str(path), "ana", "--role", "admin", "--password-stdin"],
                          input="long enough secret\n")
    assert added.exit_code == 0, added.output
    short = runner.invoke(cli, ["workspace", "user", "add", str(path), "bob", "--role", "staff", "--password-stdin"],
                          input="short\n")
    assert short.exit_code == 1 and "Error: a password has at least 8 characters" in short.output
    listed = runner.invoke(cli, ["workspace", "user", "list", str(path)])
    assert listed.exit_code == 0 and "ana\tadmin" in listed.output
    with m.Workspace.open(path) as w, w.engine.connect() as conn:
        from sqlalchemy import text

        stored = conn.execute(text("SELECT password_hash FROM web_users")).scalar()
    assert stored.startswith("scrypt$") and "long enough secret" not in stored
    token = runner.invoke(cli, ["workspace", "user", "token", str(path), "ana"])
    assert token.exit_code == 0 and token.output.startswith("cm_")
    removed = runner.invoke(cli, ["workspace", "user", "remove", str(path), "ana"])
    assert removed.exit_code == 0
    again = runner.invoke(cli, ["workspace", "user", "remove", str(path), "ana"])
    assert again.exit_code == 1 and "Error: no user 'ana'" in again.output


def test_admins_manage_users_staff_cannot(with_accounts):
    path, _ = with_accounts
    with m.Workspace.open(path) as w:
        accounts.add_user(w, "root", "admin", "admin password")
    app = create_app(str(path))
    with TestClient(asgi(app)) as client:
        assert login(client, "ana", "correct horse").status_code == 303
        assert client.get("/users").status_code == 403
        client.cookies.clear()
        assert login(client, "root", "admin password").status_code == 303
        page = client.get("/users")
        assert page.status_code == 200 and "vic" in page.text
        added = client.post("/users", data={"csrf": csrf_of(page.text), "name": "zoe", "role": "viewer",
                                            "password": "zoe password"}, follow_redirects=False)
        assert added.status_code == 303
        assert "zoe" in [u["name"] for u in accounts.users(app.state.service.ws)]
    app.state.close()


def test_the_private_upload_folder_goes_with_the_app(tmp_path):
    path = tmp_path / "appel.coopmatch"
    with m.Workspace.init(path) as ws:
        ws.import_profiles("funders", m.SAMPLE_FUNDERS)
    app = create_app(str(path))
    folder = app.state.uploads_root
    assert folder.is_dir() and folder.name.startswith("coopmatch-uploads-")
    (folder / "left-over").mkdir()
    app.state.close()
    assert not folder.exists()


def test_a_workspace_whose_projects_state_no_instruments_says_it_once_per_page(tmp_path):
    """Issue 16 in the web app: with no instruments column the pages say it once above the table,
    and no line is "à vérifier" for that reason; the sample (which has the column) shows no such note."""
    with open(m.SAMPLE_PROJECTS, encoding="utf-8", newline="") as handle:
        table = list(csv.reader(handle, delimiter=";"))
    at = table[0].index("Instruments recherchés")
    projects = tmp_path / "projets.csv"
    with projects.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, delimiter=";").writerows([r[:at] + r[at + 1:] for r in table])
    path = tmp_path / "sans-instruments.coopmatch"
    with m.Workspace.init(path) as w:
        w.import_profiles("projects", projects)
        w.import_profiles("funders", m.SAMPLE_FUNDERS)
    note = "À noter pour toutes les lignes : Aucun projet n'indique les instruments recherchés"
    app = create_app(str(path))
    try:
        with TestClient(asgi(app)) as client:
            shortlist = client.get(f"/funders/{FUNDER}/shortlist", params={"date": DATE, "top": "all"})
            funders = client.get("/projects/P001/funders", params={"date": DATE})
            exported = client.get(f"/funders/{FUNDER}/shortlist",
                                  params={"date": DATE, "top": "all", "format": "csv"})
    finally:
        app.state.close()
    note = note.replace("'", "&#39;")  # the page escapes the apostrophe (markupsafe)
    assert shortlist.status_code == 200 and shortlist.text.count(note) == 1
    assert funders.status_code == 200 and funders.text.count(note) == 1
    assert "Instruments recherchés non renseignés" not in shortlist.text + funders.text + exported.text


def test_the_sample_workspace_has_no_instruments_note(local):
    page = local.get(f"/funders/{FUNDER}/shortlist", params={"date": DATE})
    assert page.status_code == 200 and "À noter pour toutes les lignes" not in page.text

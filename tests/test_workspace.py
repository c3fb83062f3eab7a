"""Workspaces: imports with versions, decisions, runs, diff, exports, migrations — on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from workspace_support import PG_SKIP, PG_URL

import matcher as m
from matcher.cli import cli
from matcher.workspace import Workspace, WorkspaceError

#: ../shared/data beside the repository (COOPMATCH_SHARED_DATA overrides it, e.g. from a git worktree).
SHARED = Path(os.environ.get("COOPMATCH_SHARED_DATA") or Path(__file__).resolve().parents[1].parent / "shared" / "data")
DATE = "2026-12-01"


def run(*args, ok=True):
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result


def rows_of(path) -> tuple[list[str], list[dict]]:
    with open(path, encoding="utf-8", newline="") as handle:
        sample = handle.read(4096)
        handle.seek(0)
        reader = csv.DictReader(handle, delimiter=";" if sample.count(";") > sample.count(",") else ",")
        return list(reader.fieldnames), list(reader)


def write_rows(path, columns, rows, delimiter=","):
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)
    return path


# --------------------------------------------------------------------------- profiles


def test_profiles_read_back_equal_to_the_files(target):
    with target.init() as ws:
        for kind, path, read in (("projects", m.SAMPLE_PROJECTS, m.read_projects),
                                 ("funders", m.SAMPLE_FUNDERS, m.read_funders),
                                 ("history", m.SAMPLE_HISTORY, m.read_history)):
            first = ws.import_profiles(kind, path)
            assert first.inserted > 0 and first.updated == 0
            again = ws.import_profiles(kind, path)
            assert again.already == first.import_id and not again.changed
            pd.testing.assert_frame_equal(ws.profiles(kind), read(path).frame)
        counts = ws.counts()
        assert counts["projects"] == len(m.read_projects(m.SAMPLE_PROJECTS).frame)
        assert counts["funders"] == m.read_funders(m.SAMPLE_FUNDERS).frame["funder_id"].nunique()


def test_a_changed_row_keeps_its_earlier_version(target, tmp_path):
    columns, rows = rows_of(m.SAMPLE_PROJECTS)
    changed = [dict(r) for r in rows]
    changed[0]["Montant demandé"] = "12345"
    path = write_rows(tmp_path / "projets_v2.csv", columns, changed, delimiter=";")
    with target.init() as ws:
        ws.import_profiles("projects", m.SAMPLE_PROJECTS)
        before = ws.profiles("projects")
        second = ws.import_profiles("projects", path)
        assert (second.inserted, second.updated, second.unchanged) == (0, 1, len(rows) - 1)
        pid = before["project_id"].iloc[0]
        trail = ws.profile_history("projects", pid)
        assert trail["version"].tolist() == [1, 2] and trail["current"].tolist() == [False, True]
        pd.testing.assert_frame_equal(ws.profiles("projects", as_of=1), before)
        assert ws.profiles("projects").shape == before.shape
        problems = ws.import_problems(second.import_id)
        assert len(problems) == len(second.normalized.problems)


def test_import_rejects_are_kept_and_counted(target, tmp_path):
    columns, rows = rows_of(m.SAMPLE_PROJECTS)
    bad = [dict(r) for r in rows[:3]] + [{**rows[3], "Identifiant": ""}]
    path = write_rows(tmp_path / "bad.csv", columns, bad)
    with target.init() as ws:
        result = ws.import_profiles("projects", path)
        assert result.inserted == 3 and result.normalized.summary["rows_rejected"] == 1
        imports = ws.imports()
        assert imports["rows_rejected"].tolist() == [1]
        kept = ws.import_problems(result.import_id)
        assert (kept["severity"] == "error").sum() == 1


# --------------------------------------------------------------------------- decisions


@pytest.fixture
def filled(target):
    with target.init() as ws:
        ws.import_profiles("projects", m.SAMPLE_PROJECTS)
        ws.import_profiles("funders", m.SAMPLE_FUNDERS)
    return target


def some_pairs(ws, n=3):
    projects = ws.profiles("projects")["project_id"].tolist()
    funders = ws.profiles("funders")
    with_call = funders[funders["call_id"].notna()].iloc[0]
    return projects[:n], with_call["funder_id"], with_call["call_id"]


def test_decisions_are_events_and_nonsense_is_refused(filled):
    with Workspace.open(filled.ws) as ws:
        (p1, _, _), fid, cid = some_pairs(ws)
        ws.decide(p1, fid, "applied", call_id=cid, amount=40000, by="ana", date="2026-03-01")
        ws.decide(p1, fid, "granted", call_id=cid, amount=35000, by="bob", date="2026-06-01")
        before = ws.decisions()
        result = run("workspace", "decide", filled.ws, "--project", p1, "--funder", fid, "--call", cid,
                     "--status", "applied", "--lang", "en", ok=False)
        assert result.exit_code == 1 and "Error:" in result.output and "'applied' cannot follow 'granted'" \
            in result.output and "Traceback" not in result.output
        pd.testing.assert_frame_equal(ws.decisions(), before)
        state = before.iloc[0]
        assert (state["status"], state["amount_requested"], state["amount_granted"], state["events"]) == \
            ("granted", 40000.0, 35000.0, 2)
        trail = ws.trail(p1, fid, cid)
        assert trail["status"].tolist() == ["applied", "granted"] and trail["by"].tolist() == ["ana", "bob"]
    result = run("workspace", "decide", filled.ws, "--project", "NOPE", "--funder", fid, "--status",
                 "considered", "--lang", "en", ok=False)
    assert result.exit_code == 1 and "unknown project 'NOPE'" in result.output


def test_a_bulk_file_with_one_bad_row_applies_nothing(filled, tmp_path):
    with Workspace.open(filled.ws) as ws:
        (p1, p2, p3), fid, cid = some_pairs(ws)
    rows = [{"project_id": p1, "funder_id": fid, "call_id": cid, "status": "applied", "amount": "40 000 €"},
            {"project_id": p2, "funder_id": fid, "call_id": cid, "status": "applied", "amount": "20000"},
            {"project_id": p3, "funder_id": fid, "call_id": cid, "status": "granted-ish", "amount": ""},
            {"project_id": p1, "funder_id": fid, "call_id": cid, "status": "granted", "amount": "38000"}]
    path = write_rows(tmp_path / "decisions.csv", ["project_id", "funder_id", "call_id", "status", "amount"], rows)
    rejects = tmp_path / "refused.csv"
    result = run("workspace", "decide", filled.ws, "--file", path, "--rejects", rejects, "--lang", "en", ok=False)
    assert result.exit_code == 1 and "nothing was recorded" in result.output
    assert "row 4" in result.output.replace("ligne", "row") and "granted-ish" in result.output
    assert len(pd.read_csv(rejects)) == 1
    with Workspace.open(filled.ws) as ws:
        assert ws.decisions().empty and ws.counts()["decisions"] == 0
    rows[2]["status"] = "dismissed"
    write_rows(path, ["project_id", "funder_id", "call_id", "status", "amount"], rows)
    run("workspace", "decide", filled.ws, "--file", path)
    with Workspace.open(filled.ws) as ws:
        states = ws.decisions().set_index("project_id")["status"].to_dict()
    assert states == {p1: "granted", p2: "applied", p3: "dismissed"}


def test_a_transition_refused_inside_a_bulk_file_applies_nothing(filled, tmp_path):
    with Workspace.open(filled.ws) as ws:
        (p1, p2, _), fid, cid = some_pairs(ws)
    rows = [{"project_id": p2, "funder_id": fid, "call_id": cid, "status": "applied"},
            {"project_id": p1, "funder_id": fid, "call_id": cid, "status": "refused"},
            {"project_id": p1, "funder_id": fid, "call_id": cid, "status": "granted"}]
    path = write_rows(tmp_path / "d.csv", ["project_id", "funder_id", "call_id", "status"], rows)
    result = run("workspace", "decide", filled.ws, "--file", path, "--lang", "en", ok=False)
    assert result.exit_code == 1 and "'granted' cannot follow 'refused'" in result.output
    with Workspace.open(filled.ws) as ws:
        assert ws.counts()["decisions"] == 0


def test_dismissed_pairs_leave_the_rankings_and_are_counted(filled):
    top = 4
    base = run("funders-for", "--workspace", filled.ws, "--date", DATE, "--top", top, "--format", "json")
    first = json.loads(base.stdout)
    project = first[0]["project_id"]
    mine = [r for r in first if r["project_id"] == project]
    gone = mine[0]
    run("workspace", "decide", filled.ws, "--project", project, "--funder", gone["funder_id"],
        *(["--call", gone["call_id"]] if gone["call_id"] else []), "--status", "dismissed", "--reason", "off-topic")
    after = run("funders-for", "--workspace", filled.ws, "--date", DATE, "--top", top, "--project", project,
                "--format", "json", "--lang", "en")
    ranked = json.loads(after.stdout)
    assert (gone["funder_id"], gone["call_id"]) not in {(r["funder_id"], r["call_id"]) for r in ranked}
    assert [r["rank"] for r in ranked] == list(range(1, len(ranked) + 1)) and len(ranked) == len(mine)
    assert "1 dismissed pair(s) hidden" in after.stderr
    with Workspace.open(filled.ws) as ws:
        runs = ws.runs()
        assert runs["hidden_dismissed"].tolist()[-1] == 1 and runs["command"].tolist() == ["funders-for"] * 2


def test_outcomes_are_grant_history_and_learn_funders_uses_them(filled, tmp_path):
    from funders.learn import learn_funders

    with Workspace.open(filled.ws) as ws:
        (p1, p2, _), fid, cid = some_pairs(ws)
        ws.decide(p1, fid, "granted", call_id=cid, amount=30000, date="2026-05-02")
        ws.decide(p2, fid, "refused", call_id=cid, reason="budget", date="2026-05-02")
        history = ws.history()
        assert history["status"].tolist() == ["granted", "refused"]
        assert history["amount_awarded"].iloc[0] == 30000.0 and history["year"].tolist() == [2026, 2026]
        ws.import_profiles("history", m.SAMPLE_HISTORY)
        history = ws.history()
    assert len(history) == len(m.read_history(m.SAMPLE_HISTORY).frame) + 2
    out = tmp_path / "learned.csv"
    run("learn-funders", "--workspace", filled.ws, "-o", out)
    expected = tmp_path / "expected.csv"
    m.write_table(learn_funders(history), expected)
    assert out.read_bytes() == expected.read_bytes()
    assert fid in pd.read_csv(out)["funder_id"].tolist()
    # the history criterion joins the ranking of a workspace
    explained = run("explain", "--workspace", filled.ws, "--project", p1, "--funder", fid, "--date", DATE, "--json")
    assert "history" in {c["name"] for c in json.loads(explained.stdout)["criteria"]}


# --------------------------------------------------------------------------- the whole cycle


def test_the_whole_cycle_on_the_sample(filled, tmp_path):
    """init → import → shortlist → bulk decisions → a second import → diff → export SCDL (validated)."""
    ws = filled.ws
    funders = m.read_funders(m.SAMPLE_FUNDERS).frame
    call = funders[funders["call_id"].notna() & (funders["call_closes"] >= DATE)
                   & (funders["call_opens"].isna() | (funders["call_opens"] <= DATE))].iloc[0]
    fid, cid = call["funder_id"], call["call_id"]
    shortlist = ["shortlist", "--workspace", ws, "--funder", fid, "--call", cid, "--date", DATE, "--top", 3,
                 "--format", "json"]
    first = json.loads(run(*shortlist).stdout)
    assert len(first) == 3
    p1, p2, p3 = (r["project_id"] for r in first)
    decisions = [{"project_id": p1, "funder_id": fid, "call_id": cid, "status": "applied", "amount": "50000",
                  "date": "2026-09-01", "by": "ana"},
                 {"project_id": p1, "funder_id": fid, "call_id": cid, "status": "granted", "amount": "42000",
                  "date": "2026-11-20", "by": "comité"},
                 {"project_id": p2, "funder_id": fid, "call_id": cid, "status": "refused", "reason": "hors cadre",
                  "date": "2026-11-20"},
                 {"project_id": p3, "funder_id": fid, "call_id": cid, "status": "dismissed", "note": "doublon"}]
    path = write_rows(tmp_path / "decisions.csv", ["project_id", "funder_id", "call_id", "status", "amount",
                                                   "reason", "note", "date", "by"], decisions)
    run("workspace", "decide", ws, "--file", path)
    # a second import: a copy of the best project arrives under a new id
    columns, rows = rows_of(m.SAMPLE_PROJECTS)
    copy = next(dict(r) for r in rows if r["Identifiant"] == p1)
    copy["Identifiant"] = "P900"
    second = write_rows(tmp_path / "projets_lot2.csv", columns, rows + [copy], delimiter=";")
    imported = run("workspace", "import", ws, "projects", second, "--lang", "en")
    assert "1 new, 0 changed" in imported.stderr
    again = run("workspace", "import", ws, "projects", second, "--lang", "en")
    assert "already imported" in again.stderr
    later = json.loads(run(*shortlist).stdout)
    assert p3 not in {r["project_id"] for r in later} and "P900" in {r["project_id"] for r in later}
    digest = tmp_path / "alerte.json"
    run("workspace", "diff", ws, "--days", 60, "-o", digest)
    changes = pd.DataFrame(json.loads(digest.read_text(encoding="utf-8")))
    appeared = changes[changes["section"] == "appeared"]["project_id"].tolist()
    left = changes[changes["section"] == "left"]["project_id"].tolist()
    assert appeared == ["P900"] and left == [p3]
    page = tmp_path / "alerte.html"
    run("workspace", "diff", ws, "-o", page)
    assert "P900" in page.read_text(encoding="utf-8")
    table = run("workspace", "diff", ws, "--lang", "en")
    assert "Pairs that appeared (1)" in table.stdout
    # export SCDL: the publisher gives what the workspace cannot know
    out = tmp_path / "subventions.csv"
    missing = run("workspace", "export", ws, "scdl", "-o", out, "--lang", "en")
    assert "To fill in before publishing" in missing.stderr and "idAttribuant: 1 row(s)" in missing.stderr
    values = ["idAttribuant=21690123100011", "idServiceInstructeur=21690123100011", "dateConvention=2026-12-10",
              "conditionsVersement=unique", "descriptionConditionsVersement=Versement unique à la signature",
              "datesPeriodeVersement=2027-01-15", "notificationUE=non", "pourcentageSubvention=0.5",
              "nomBeneficiaire=Porteur"]
    given = [a for v in values for a in ("--value", v)]
    done = run("workspace", "export", ws, "scdl", "-o", out, "--lang", "en", *given)
    assert "To fill in before publishing" not in done.stderr
    exported = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert exported["montant"].tolist() == ["42000"] and exported["montantDemande"].tolist() == ["50000"]
    assert exported["dateDecision"].tolist() == ["2026-11-20"]
    validate_scdl(out)
    grants = tmp_path / "grants.json"
    run("workspace", "export", ws, "360giving", "-o", grants, "--value", "prefix=360G-test")
    validate_360(grants, 1)
    runs = run("workspace", "runs", ws, "--format", "json")
    assert [r["command"] for r in json.loads(runs.stdout)] == ["shortlist", "shortlist"]


def scdl_errors(path) -> list[list]:
    """Every error of a CSV against the SCDL 2.1.1 Table Schema (types, required fields, formats, patterns)."""
    schema = SHARED / "scdl" / "schema.json"
    if not schema.exists():
        pytest.skip("../shared/data/scdl/schema.json is absent: SCDL validation skipped")
    from frictionless import Resource, Schema

    descriptor = json.loads(schema.read_text(encoding="utf-8"))
    table = Schema.from_descriptor({"fields": descriptor["fields"]})
    path = Path(path)
    report = Resource(path=path.name, basepath=str(path.parent), schema=table).validate()
    return report.flatten(["rowNumber", "fieldName", "type", "note"])


def validate_scdl(path):
    errors = scdl_errors(path)
    assert not errors, errors


def validate_360(path, n):
    schema = SHARED / "360giving" / "360-giving-schema.json"
    if not schema.exists():
        pytest.skip("../shared/data/360giving is absent: 360Giving validation skipped")
    import jsonschema

    validator = jsonschema.Draft202012Validator(json.loads(schema.read_text(encoding="utf-8")),
                                                format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    grants = json.loads(Path(path).read_text(encoding="utf-8"))["grants"]
    assert len(grants) == n
    for grant in grants:
        errors = list(validator.iter_errors(grant))
        assert not errors, [e.message for e in errors]


def test_the_scdl_check_catches_a_bad_file(tmp_path):
    """The validation of the cycle test can fail: the publisher's invalid example does."""
    bad = SHARED / "scdl" / "exemple_invalide_erreurs_cellules.csv"
    if not bad.exists():
        pytest.skip("../shared/data/scdl is absent")
    errors = scdl_errors(bad)
    assert {"type-error", "constraint-error"} <= {e[2] for e in errors}, errors


def test_batch_from_a_workspace_equals_batch_from_files(filled, tmp_path):
    files, stored = tmp_path / "files", tmp_path / "stored"
    run("batch", "--projects", m.SAMPLE_PROJECTS, "--funders", m.SAMPLE_FUNDERS, "--date", DATE, "--quiet", "-o", files)
    run("batch", "--workspace", filled.ws, "--date", DATE, "--quiet", "-o", stored)
    for name in ("funders_for_projects.csv", "projects_for_funders.csv"):
        assert (files / name).read_bytes() == (stored / name).read_bytes()
    with Workspace.open(filled.ws) as ws:
        recorded = ws.runs().iloc[-1]
        pairs = ws.run_pairs(int(recorded["id"]))
    assert recorded["command"] == "batch"
    assert len(pairs) == len(pd.read_csv(files / "funders_for_projects.csv")) + \
        len(pd.read_csv(files / "projects_for_funders.csv"))
    assert pairs["contributions"].map(len).min() > 0


def test_files_and_workspace_cannot_be_mixed(filled):
    result = run("funders-for", m.SAMPLE_PROJECTS, "--workspace", filled.ws, "--lang", "en", ok=False)
    assert result.exit_code == 2 and "--workspace reads the profiles" in result.output
    result = run("funders-for", m.SAMPLE_PROJECTS, "--workspace", filled.ws, ok=False)
    assert result.exit_code == 2 and "--workspace lit les profils dans l'espace de travail" in result.output
    result = run("funders-for", ok=False)
    assert result.exit_code == 2 and "--workspace" in result.output


# --------------------------------------------------------------------------- schema versions


def test_the_migrations_build_the_models(target):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from matcher.workspace.models import Base

    with target.init() as ws, ws.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_an_older_workspace_is_migrated_after_a_backup(target, monkeypatch):
    from sqlalchemy import text

    from matcher.workspace import store

    monkeypatch.setenv("COOPMATCH_BACKUP_DIR", str(target.folder / "backups"))
    url, path = store.resolve(target.url or target.ws)
    engine = store.make_engine(url)
    store.upgrade(engine, "0001")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO imports (id, kind, source, sha256, options, created_at, rows_read, "
                          "rows_normalised, rows_rejected, warnings, inserted, updated, unchanged) VALUES "
                          "(1, 'projects', 'old.csv', 'abc', '{}', '2025-01-01T00:00:00+00:00', 0, 0, 0, 0, 0, 0, 0)"))
        conn.execute(text("INSERT INTO runs (id, command, target, params, inputs, run_date, created_at, pairs) "
                          "VALUES (1, 'shortlist', 'F1', '{}', '{\"last_import\": 1}', '2025-01-02', "
                          "'2025-01-02T00:00:00+00:00', 0)"))
    engine.dispose()
    if target.url:
        Path(target.ws).write_text(f"url: {target.url}\n", encoding="utf-8")
    with Workspace.open(target.ws) as ws:
        assert ws.revision == store.head_revision() == "0003"
        assert ws.backup is not None and ws.backup.exists()
        runs = ws.runs()
        assert runs["hidden_dismissed"].tolist() == [0] and ws.imports()["source"].tolist() == ["old.csv"]
    if target.backend == "sqlite":
        import sqlite3

        with sqlite3.connect(ws.backup) as copy:
            assert copy.execute("SELECT version_num FROM alembic_version").fetchone() == ("0001",)
            assert copy.execute("SELECT count(*) FROM runs").fetchone() == (1,)
    else:
        import gzip

        dump = json.loads(gzip.decompress(ws.backup.read_bytes()))
        assert dump["revision"] == "0001" and len(dump["tables"]["runs"]) == 1
    with Workspace.open(target.ws) as ws:  # opening again needs nothing
        assert ws.backup is None


def test_a_newer_workspace_is_refused(target):
    from sqlalchemy import text

    with target.init() as ws, ws.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    result = run("workspace", "info", target.ws, "--lang", "en", ok=False)
    assert result.exit_code == 1 and "newer than this coopmatch" in result.output


def test_opening_nothing_says_how_to_create_it(tmp_path):
    result = run("workspace", "info", tmp_path / "none.coopmatch", ok=False)
    assert result.exit_code == 1 and "workspace init" in result.output
    with pytest.raises(WorkspaceError):
        Workspace.init(m.SAMPLE_PROJECTS)


@pytest.mark.skipif(not PG_URL, reason=PG_SKIP)
def test_postgres_is_really_used(target):
    if target.backend != "postgresql":
        pytest.skip("PostgreSQL only")
    with target.init() as ws:
        assert ws.engine.dialect.name == "postgresql"


PARIS = SHARED / "paris-subventions"
PARIS_MAP = ["--map", "funder_id=direction", "--map", "purpose=objet du dossier", "--map", "year=anneeBudg",
             "--map", "amount_awarded=montant vote", "--map", "recipient_name=beneficiaire",
             "--map", "recipient_id=siret", "--map", "sectors=secteur activite"]


@pytest.mark.realdata
def test_paris_history_learned_from_a_workspace_equals_the_files(tmp_path):
    if not PARIS.is_dir():
        pytest.skip("../shared/data/paris-subventions is absent")
    ws = str(tmp_path / "paris.coopmatch")
    run("workspace", "init", ws)
    for path in sorted(PARIS.iterdir()):
        run("workspace", "import", ws, "history", path, "--refused-when-zero", *PARIS_MAP)
    from_ws, from_files = tmp_path / "ws.csv", tmp_path / "files.csv"
    run("learn-funders", "--workspace", ws, "-o", from_ws)
    run("learn-funders", PARIS, "--refused-when-zero", *PARIS_MAP, "-o", from_files)
    assert from_ws.read_bytes() == from_files.read_bytes()
    history = pd.concat([m.read_history(p, mapping=dict(a.split("=", 1) for a in PARIS_MAP[1::2]),
                                        refused_when_zero=True).frame for p in sorted(PARIS.iterdir())],
                        ignore_index=True)
    with Workspace.open(ws) as w:
        stored = w.history()
    pd.testing.assert_frame_equal(stored, history)
    learned = m.learn_funders(history)
    pd.testing.assert_frame_equal(m.learn_funders(stored), learned)
    assert len(learned) == pd.read_csv(from_ws)["funder_id"].nunique() > 20


def test_diff_compares_the_last_two_runs_of_the_command_and_target_asked(filled):
    ws = filled.ws
    funders = m.read_funders(m.SAMPLE_FUNDERS).frame
    first, other = funders["funder_id"].drop_duplicates().tolist()[:2]

    def shortlist(fid):
        return json.loads(run("shortlist", "--workspace", ws, "--funder", fid, "--date", DATE, "--top", 3,
                              "--format", "json").stdout)

    best = shortlist(first)[0]
    run("workspace", "decide", ws, "--project", best["project_id"], "--funder", first,
        *(["--call", best["call_id"]] if best["call_id"] else []), "--status", "dismissed")
    shortlist(first)
    shortlist(other)
    run("funders-for", "--workspace", ws, "--date", DATE, "--project", best["project_id"], "--format", "json")
    # by default: the last run's command and target, which ran once
    result = run("workspace", "diff", ws, "--lang", "en", ok=False)
    assert result.exit_code == 1 and f"only one run of funders-for {best['project_id']}" in result.output
    # the last shortlist is of the other funder, which ran once too
    result = run("workspace", "diff", ws, "--command", "shortlist", "--lang", "en", ok=False)
    assert result.exit_code == 1 and f"only one run of shortlist {other}" in result.output
    digest = json.loads(run("workspace", "diff", ws, "--command", "shortlist", "--target", first,
                            "--format", "json").stdout)
    left = [r["project_id"] for r in digest if r["section"] == "left"]
    assert left == [best["project_id"]]
    result = run("workspace", "diff", ws, "--target", "NOPE", "--lang", "en", ok=False)
    assert result.exit_code == 1 and "no run of NOPE" in result.output and f"shortlist {first}" in result.output
    result = run("workspace", "diff", ws, "--run", 1, "--run", 2, "--command", "shortlist", "--lang", "en", ok=False)
    assert result.exit_code == 1 and "drop --command and --target" in result.output


def test_batch_ranks_only_the_project_ids_asked(filled, tmp_path):
    projects = m.read_projects(m.SAMPLE_PROJECTS).frame["project_id"].tolist()
    chosen = [projects[3], projects[1]]
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(chosen) + "\n", encoding="utf-8")
    stored, files = tmp_path / "stored", tmp_path / "files"
    run("batch", "--workspace", filled.ws, "--project-ids", ids, "--date", DATE, "--quiet", "-o", stored)
    run("batch", "--projects", m.SAMPLE_PROJECTS, "--funders", m.SAMPLE_FUNDERS, "--project-ids", ids,
        "--date", DATE, "--quiet", "-o", files)
    for name in ("funders_for_projects.csv", "projects_for_funders.csv"):
        assert (files / name).read_bytes() == (stored / name).read_bytes()
    ranked = pd.read_csv(stored / "funders_for_projects.csv")
    assert set(ranked["project_id"]) == set(chosen)
    ids.write_text(f"{chosen[0]}\nP-NONE\n", encoding="utf-8")
    result = run("batch", "--workspace", filled.ws, "--project-ids", ids, "--quiet", "-o", stored, "--lang", "en",
                 ok=False)
    assert result.exit_code == 1 and "1 project id(s) of --project-ids not in workspace" in result.output \
        and "P-NONE" in result.output and "Traceback" not in result.output


def test_360giving_gives_the_recipients_siren_where_the_data_has_it(filled, tmp_path):
    projects = m.read_projects(m.SAMPLE_PROJECTS).frame
    with_siret = projects[projects["siret"].notna()]
    if with_siret.empty:
        pytest.skip("no SIRET in the sample projects")
    pid, siret = with_siret["project_id"].iloc[0], with_siret["siret"].iloc[0]
    with Workspace.open(filled.ws) as ws:
        _, fid, cid = some_pairs(ws)
        ws.decide(pid, fid, "granted", call_id=cid, amount=30000, date="2026-05-02")
    grants = tmp_path / "grants.json"
    result = run("workspace", "export", filled.ws, "360giving", "-o", grants, "--lang", "en")
    assert "recipientOrganization.id: 1 row(s)" in result.stderr
    recipient = json.loads(grants.read_text(encoding="utf-8"))["grants"][0]["recipientOrganization"][0]
    assert recipient["companyNumber"] == siret[:9]
    validate_360(grants, 1)

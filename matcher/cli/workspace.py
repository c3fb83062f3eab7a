"""``coopmatch workspace …``: a call's life in one database (profiles, runs, decisions, outcomes)."""

from __future__ import annotations

import click

from matcher.cli.common import (
    CoopmatchGroup,
    accounting_line,
    lang_option,
    mapping_options,
    number,
    problem_line,
)

TABLE_FORMATS = ("table", "csv", "json", "xlsx")


def open_workspace(ws: str):
    """Open WS for a command, saying so on stderr when it was migrated (and where the backup is)."""
    from matcher.workspace import Workspace

    workspace = Workspace.open(ws)
    if workspace.backup is not None:
        click.echo(f"workspace migrated to schema {workspace.revision}; backup → {workspace.backup}", err=True)
    return workspace


@click.group(cls=CoopmatchGroup)
def workspace():
    """Keep a call's profiles, runs, decisions and outcomes in one database (SQLite file or PostgreSQL).

    \b
    Examples:
      coopmatch workspace init appel.coopmatch
      coopmatch workspace import appel.coopmatch projects projets.csv
      coopmatch shortlist --workspace appel.coopmatch --funder F-FDD-TERRES
      coopmatch workspace decide appel.coopmatch --file decisions.csv
    """


@workspace.command("init")
@click.argument("ws")
@click.option("--url", default=None, metavar="URL",
              help="A PostgreSQL database (postgresql://user@host/db): WS becomes a small file naming it.")
@lang_option
def init_command(ws, url, lang):
    """Create a workspace: an SQLite file WS, or with --url a shared PostgreSQL database named by WS.

    \b
    Examples:
      coopmatch workspace init appel.coopmatch
      coopmatch workspace init equipe.coopmatch --url postgresql://coopmatch@db.local/appels
    """
    from matcher.workspace import Workspace

    with Workspace.init(ws, url=url) as created:
        where = "PostgreSQL" if url else "SQLite"
        click.echo(f"workspace {ws} ({where}, schema {created.revision})", err=True)


@workspace.command("import")
@click.argument("ws")
@click.argument("kind", type=click.Choice(("projects", "funders", "history")))
@click.argument("path", metavar="FILE", type=click.Path(exists=True))
@mapping_options
@click.option("--refused-when-zero", is_flag=True, help="History: an awarded amount of 0 means refused.")
@click.option("--from", "source", type=click.Choice(("aides-territoires",)), default=None,
              help="Funders: a known catalogue export (recognised from its headers when not given).")
@click.option("--rejects", type=click.Path(dir_okay=False), default=None,
              help="Also write the rejected rows and warnings to this file.")
@lang_option
def import_command(ws, kind, path, forced, refused_when_zero, source, rejects, lang):
    """Import a projects, funders or history file: the pipelines of `normalize`, then an upsert by id.

    Every import is recorded (file, sha256, counts, rejects). Re-importing the
    same file changes nothing and says so; a changed profile gets a new
    version and keeps the earlier one.

    \b
    Examples:
      coopmatch workspace import appel.coopmatch projects projets.csv
      coopmatch workspace import appel.coopmatch history paris.csv.gz --refused-when-zero \\
          --map funder_id=direction --map amount_awarded="montant vote"
    """
    fr = lang == "fr"
    with open_workspace(ws) as w:
        result = w.import_profiles(kind, path, mapping=forced or None, refused_when_zero=refused_when_zero,
                                   source=source)
        if result.already is not None:
            click.echo((f"{result.source} : déjà importé (import n° {result.already}), rien n'a changé" if fr
                        else f"{result.source}: already imported (import #{result.already}); nothing changed"),
                       err=True)
            return
        normalized = result.normalized
        shown = [p for p in normalized.problems if p.severity != "warning"][:20]
        for p, src in zip(normalized.problems, normalized.problem_sources, strict=True):
            if p in shown:
                click.echo(problem_line(p, src, lang, show_source=False), err=True)
        click.echo(accounting_line(normalized.summary, lang), err=True)
        n = lambda v: number(v, lang)  # noqa: E731
        if result.changed:
            click.echo((f"import n° {result.import_id} : {n(result.inserted)} nouveaux, {n(result.updated)} modifiés "
                        f"(version précédente gardée), {n(result.unchanged)} inchangés" if fr else
                        f"import #{result.import_id}: {n(result.inserted)} new, {n(result.updated)} changed "
                        f"(earlier version kept), {n(result.unchanged)} unchanged"), err=True)
        else:
            click.echo((f"import n° {result.import_id} : {n(result.unchanged)} profils déjà à jour, rien n'a changé"
                        if fr else f"import #{result.import_id}: {n(result.unchanged)} profiles already up to date; "
                        "nothing changed"), err=True)
        if rejects:
            from matcher.cli.common import write_rejects

            write_rejects(normalized, rejects)


@workspace.command("decide")
@click.argument("ws")
@click.option("--project", "project_id", default=None, help="Project id.")
@click.option("--funder", "funder_id", default=None, help="Funder id.")
@click.option("--call", "call_id", default=None, help="Call id (default: the funder as a whole).")
@click.option("--status", type=click.Choice(("considered", "applied", "shortlisted", "granted", "refused",
                                             "withdrawn", "dismissed")), default=None)
@click.option("--amount", default=None, help="Amount granted (granted) or requested (other statuses), in euros.")
@click.option("--reason", default=None, help="Reason (of a refusal, a withdrawal, a dismissal…).")
@click.option("--note", default=None, help="Free note.")
@click.option("--date", "date", default=None, metavar="DATE", help="Date of the decision (default: today).")
@click.option("--by", "by", default=None, metavar="NAME", help="Who decided or recorded it.")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Bulk: a CSV/XLSX of project_id, funder_id, call_id, status, amount, reason, note, date, by.")
@click.option("--rejects", type=click.Path(dir_okay=False), default=None,
              help="With --file: write the refused rows here.")
@lang_option
def decide_command(ws, project_id, funder_id, call_id, status, amount, reason, note, date, by, path, rejects,
                   lang):
    """Record a decision on a project–funder pair, or a whole file of them (all or nothing).

    Statuses: considered, applied, shortlisted, granted, refused, withdrawn,
    dismissed. A transition that makes no sense (granted → applied) is refused
    and nothing is recorded; `dismissed` pairs leave the rankings of the
    workspace; granted and refused outcomes become grant history.

    \b
    Examples:
      coopmatch workspace decide appel.coopmatch --project P001 --funder F-REG-ARA --call AAP-TL-2026 \\
          --status granted --amount 45000 --by "Ana"
      coopmatch workspace decide appel.coopmatch --file decisions.csv
    """
    from matcher.workspace import DecisionError

    fr = lang == "fr"
    with open_workspace(ws) as w:
        if path is not None:
            if any(v is not None for v in (project_id, funder_id, call_id, status, amount)):
                raise click.UsageError("--file takes the decisions from the file: no --project/--funder/--status")
            try:
                result = w.decide_file(path)
            except DecisionError as err:
                for p in err.problems[:50]:
                    click.echo(problem_line(p, path, lang, show_source=False), err=True)
                if rejects and err.problems:
                    import pandas as pd

                    from matcher.io.writers import write_table

                    write_table(pd.DataFrame([p.as_dict() for p in err.problems]), rejects)
                raise
            click.echo((f"{result.recorded} décision(s) enregistrée(s) sur {result.rows_read} ligne(s)" if fr
                        else f"{result.recorded} decision(s) recorded from {result.rows_read} row(s)"), err=True)
            return
        given = (("--project", project_id), ("--funder", funder_id), ("--status", status))
        missing = [o for o, v in given if v is None]
        if missing:
            raise click.UsageError(f"missing {', '.join(missing)} (or give --file)")
        try:
            w.decide(project_id, funder_id, status, call_id=call_id, amount=amount, reason=reason, note=note,
                     date=date, by=by)
        except DecisionError as err:
            if err.problems:
                raise click.ClickException(err.problems[0].reason(lang)) from None
            raise
        pair = f"{project_id} × {funder_id}" + (f"/{call_id}" if call_id else "")
        click.echo((f"{pair} : {status} enregistré" if fr else f"{pair}: {status} recorded"), err=True)


@workspace.command("decisions")
@click.argument("ws")
@click.option("--project", "project_id", default=None, help="With --funder: the full trail of that pair.")
@click.option("--funder", "funder_id", default=None, help="With --project: the full trail of that pair.")
@click.option("--call", "call_id", default=None, help="With --project and --funder: one call only.")
@click.option("--format", "fmt", type=click.Choice(TABLE_FORMATS), default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="Write to this file.")
@lang_option
def decisions_command(ws, project_id, funder_id, call_id, fmt, output, lang):
    """The current state of every pair (or, with --project and --funder, the full trail of one pair).

    \b
    Examples:
      coopmatch workspace decisions appel.coopmatch
      coopmatch workspace decisions appel.coopmatch --format xlsx -o decisions.xlsx
      coopmatch workspace decisions appel.coopmatch --project P001 --funder F-REG-ARA
    """
    with open_workspace(ws) as w:
        if (project_id is None) != (funder_id is None):
            raise click.UsageError("give both --project and --funder for a trail, or neither")
        frame = w.decisions() if project_id is None else w.trail(project_id, funder_id, call_id)
    title = ("Décisions" if lang == "fr" else "Decisions") if project_id is None else \
        (f"{project_id} × {funder_id}" + (f"/{call_id}" if call_id else ""))
    emit_frame(frame, fmt, output, lang, title)


@workspace.command("runs")
@click.argument("ws")
@click.option("--format", "fmt", type=click.Choice(TABLE_FORMATS), default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="Write to this file.")
@lang_option
def runs_command(ws, fmt, output, lang):
    """List the runs recorded in the workspace (command, target, date, pairs, dismissed pairs hidden).

    \b
    Example:
      coopmatch workspace runs appel.coopmatch --format csv -o runs.csv
    """
    with open_workspace(ws) as w:
        frame = w.runs()
    if fmt == "table":
        frame = frame.drop(columns=["params", "inputs"])
    emit_frame(frame, fmt, output, lang, "Exécutions" if lang == "fr" else "Runs")


@workspace.command("diff")
@click.argument("ws")
@click.option("--run", "runs", multiple=True, type=int, metavar="ID",
              help="Two run ids, earlier first (--run A --run B); "
                   "default: the last two of the same command and target.")
@click.option("--command", "command", type=click.Choice(("funders-for", "shortlist", "explain", "batch")),
              default=None, help="Compare the last two runs of this command (default: the command of the last run).")
@click.option("--target", "target", default=None, metavar="TARGET",
              help="…and of this target (default: the target of the last such run): a project id or '*' "
                   "(funders-for), FUNDER or FUNDER/CALL (shortlist), PROJECT|FUNDER (explain), '*' (batch); "
                   "`workspace runs` lists them.")
@click.option("--days", type=click.IntRange(min=0), default=30, show_default=True,
              help="Deadlines within this many days of the later run's date.")
@click.option("--format", "fmt", type=click.Choice(("table", "csv", "json", "html")), default=None,
              help="Output format (default: table, or from the extension of -o).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="Write the digest to this file.")
@lang_option
def diff_command(ws, runs, command, target, days, fmt, output, lang):
    """What changed between two runs: pairs that appeared or left, rank moves, calls newly open, deadlines.

    \b
    Examples:
      coopmatch workspace diff appel.coopmatch
      coopmatch workspace diff appel.coopmatch --run 3 --run 5 --days 15 -o alerte.html
      coopmatch workspace diff appel.coopmatch --command shortlist --target F-FDD-TERRES/AAP-2026 -o alerte.csv
    """
    from matcher.workspace.diff import SECTION_TITLES, SECTIONS, diff_runs, render_html

    if len(runs) not in (0, 2):
        raise click.UsageError("give --run twice (A then B), or not at all")
    with open_workspace(ws) as w:
        result = diff_runs(w, *(runs or (None, None)), days=days, command=command, target=target)
    if fmt is None:
        fmt = "table" if output is None else output.rsplit(".", 1)[-1].lower()
        if output is not None and fmt not in ("csv", "json", "html"):
            raise click.UsageError(f"cannot tell the format of '{output}': give --format csv, json or html")
    fr = lang == "fr"
    head = (f"{result.run_a['command']} {result.run_a['target']} : exécution {result.run_a['id']} "
            f"({result.run_a['run_date']}) → {result.run_b['id']} ({result.run_b['run_date']})" if fr else
            f"{result.run_a['command']} {result.run_a['target']}: run {result.run_a['id']} "
            f"({result.run_a['run_date']}) → {result.run_b['id']} ({result.run_b['run_date']})")
    if fmt == "html":
        text = render_html(result, lang)
        if output:
            from matcher.io.writers import write_text

            write_text(text, output)
            click.echo(f"{head} → {output}", err=True)
        else:
            click.echo(text, nl=False)
        return
    if fmt == "table":
        if output:
            raise click.UsageError("--format table prints to the terminal; use csv, json or html with -o")
        click.echo(head)
        counts = result.counts()
        for section in SECTIONS:
            part = result.frame[result.frame["section"] == section].drop(columns=["section"])
            part = part.dropna(axis=1, how="all")
            emit_frame(part, "table", None, lang, f"{SECTION_TITLES[section][0 if fr else 1]} ({counts[section]})")
        return
    emit_frame(result.frame, fmt, output, lang, head)


@workspace.command("export")
@click.argument("ws")
@click.argument("standard", type=click.Choice(("scdl", "360giving")))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Output file (.csv / .json).")
@click.option("--value", "values", multiple=True, metavar="FIELD=VALUE",
              help="A value the workspace does not know, for every row (repeatable), "
                   "e.g. --value idAttribuant=21690123100011.")
@click.option("--funder", "funder_id", default=None, help="Only the grants of this funder.")
@lang_option
def export_command(ws, standard, output, values, funder_id, lang):
    """Write the granted outcomes as SCDL 2.1.1 CSV (French open grant data) or a 360Giving JSON package.

    Fields the workspace lacks are left empty, and the command lists what a
    publisher must still fill in (give those with --value FIELD=VALUE).

    \b
    Examples:
      coopmatch workspace export appel.coopmatch scdl -o subventions.csv \\
          --value idAttribuant=21690123100011 --value dateConvention=2026-06-30
      coopmatch workspace export appel.coopmatch 360giving -o grants.json --value prefix=360G-myfund
    """
    import json

    from matcher.io.writers import write_text
    from matcher.workspace import export as ex

    given = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise click.UsageError(f"--value expects FIELD=VALUE, got '{item}'")
        given[name.strip()] = value.strip()
    fr = lang == "fr"
    with open_workspace(ws) as w:
        if standard == "scdl":
            result = ex.scdl(w, given, funder_id)
            ex.write_scdl(result, output)
            rows, to_fill, required = len(result.frame), result.to_fill, set(result.required)
        else:
            package, to_fill = ex.giving360(w, given, funder_id)
            write_text(json.dumps(package, ensure_ascii=False, indent=2) + "\n", output)
            rows, required = len(package["grants"]), {"amountAwarded", "awardDate"}
    click.echo((f"{rows} subvention(s) accordée(s) → {output}" if fr else f"{rows} granted outcome(s) → {output}"),
               err=True)
    needed = [(k, v) for k, v in to_fill.items() if k in required]
    optional = [(k, v) for k, v in to_fill.items() if k not in required]
    if needed:
        click.echo(("À compléter avant publication (champs obligatoires) :" if fr
                    else "To fill in before publishing (required fields):"), err=True)
        for name, count in needed:
            click.echo(f"  {name}: {count} {'ligne(s)' if fr else 'row(s)'}", err=True)
    if optional:
        click.echo(("À compléter si possible :" if fr else "To fill in where you can:"), err=True)
        for name, count in optional:
            click.echo(f"  {name}: {count} {'ligne(s)' if fr else 'row(s)'}", err=True)


@workspace.command("info")
@click.argument("ws")
@lang_option
def info_command(ws, lang):
    """Schema version, profile counts, decisions, runs, and the imports of a workspace.

    \b
    Example:
      coopmatch workspace info appel.coopmatch
    """
    with open_workspace(ws) as w:
        counts = w.counts()
        imports = w.imports()
        click.echo(f"{ws}: schema {w.revision}, " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    if not imports.empty:
        emit_frame(imports[["id", "kind", "source", "created_at", "rows_read", "rows_rejected", "inserted",
                            "updated", "unchanged"]], "table", None, lang, "Imports")


def emit_frame(frame, fmt, output, lang, title):
    """A frame as a terminal table, or csv/json/xlsx (to -o, or csv/json to stdout)."""
    from matcher.io.writers import records, write_table

    if fmt == "table":
        if output:
            raise click.UsageError("--format table prints to the terminal; use csv, json or xlsx with -o")
        import shutil

        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table

        console = Console(width=max(100, shutil.get_terminal_size((140, 24)).columns), highlight=False)
        if frame.empty:
            console.print(f"[bold]{escape(title)}[/bold]: " + ("aucune ligne" if lang == "fr" else "no rows"))
            return
        table = Table(title=escape(title), title_justify="left")
        for column in frame.columns:
            table.add_column(escape(str(column)))
        from matcher.io.writers import cell_text

        for row in frame.itertuples(index=False, name=None):
            table.add_row(*[escape(cell_text(v)) for v in row])
        console.print(table)
        return
    if fmt == "xlsx" and not output:
        raise click.UsageError("--format xlsx needs -o FILE.xlsx")
    if output:
        write_table(frame, output, fmt=fmt)
        click.echo(f"{len(frame)} {'lignes' if lang == 'fr' else 'rows'} → {output}", err=True)
    elif fmt == "csv":
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as folder:
            path = write_table(frame, Path(folder) / "out.csv", fmt="csv")
            click.echo(path.read_text(encoding="utf-8"), nl=False)
    else:
        import json

        click.echo(json.dumps(records(frame), ensure_ascii=False, indent=2))


@workspace.group("user", cls=CoopmatchGroup)
def user_group():
    """The accounts of `coopmatch serve`: admins manage users, staff import and decide, viewers read.

    \b
    Examples:
      coopmatch workspace user add appel.coopmatch ana --role admin
      coopmatch workspace user list appel.coopmatch
      coopmatch workspace user token appel.coopmatch ana
      coopmatch workspace user remove appel.coopmatch ana
    """


@user_group.command("add")
@click.argument("ws")
@click.argument("name")
@click.option("--role", type=click.Choice(("admin", "staff", "viewer")), required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
def user_add(ws, name, role, password_stdin):
    """Add a user; the password is asked (twice) or read from stdin, and stored only as a scrypt hash.

    \b
    Examples:
      coopmatch workspace user add appel.coopmatch ana --role admin
      echo "$PASS" | coopmatch workspace user add appel.coopmatch bot --role staff --password-stdin
    """
    from matcher.web import accounts

    if password_stdin:
        import sys

        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with open_workspace(ws) as w:
        user = accounts.add_user(w, name, role, password)
    click.echo(f"user {user.name} ({user.role}) added to {ws}", err=True)


@user_group.command("list")
@click.argument("ws")
def user_list(ws):
    """List the users (name, role, created, API tokens).

    \b
    Examples:
      coopmatch workspace user list appel.coopmatch
    """
    from matcher.web import accounts

    with open_workspace(ws) as w:
        rows = accounts.users(w)
    if not rows:
        click.echo("no user: serve runs on loopback only, as one local user", err=True)
    for row in rows:
        click.echo(f"{row['name']}\t{row['role']}\t{row['created_at']}\t{row['tokens']} token(s)")


@user_group.command("remove")
@click.argument("ws")
@click.argument("name")
def user_remove(ws, name):
    """Remove a user, their sessions and their API tokens.

    \b
    Examples:
      coopmatch workspace user remove appel.coopmatch ana
    """
    from matcher.web import accounts

    with open_workspace(ws) as w:
        accounts.remove_user(w, name)
    click.echo(f"user {name} removed from {ws}", err=True)


@user_group.command("token")
@click.argument("ws")
@click.argument("name")
@click.option("--label", default=None, help="What the token is for.")
def user_token(ws, name, label):
    """Make an API token for a user (printed once; only its hash is kept). Send it as Authorization: Bearer.

    \b
    Examples:
      coopmatch workspace user token appel.coopmatch ana --label "tableau de bord"
    """
    from matcher.web import accounts

    with open_workspace(ws) as w:
        click.echo(accounts.new_token(w, name, label))

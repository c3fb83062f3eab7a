"""The coopmatch command line: thin wrappers that parse options, call the library, format.

Every command turns a :class:`~matcher.errors.CoopmatchError` into
``Error: <message>`` with exit code 1 (usage mistakes exit 2, as Click does);
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import functools
import os
import sys
import time
from pathlib import Path

import click

from matcher import __version__
from matcher.errors import CoopmatchError

KINDS = ("projects", "funders", "history")
LANGS = ("fr", "en")
DEFAULT_LANG = os.environ.get("COOPMATCH_LANG", "fr") if os.environ.get("COOPMATCH_LANG") in LANGS else "fr"


class CoopmatchGroup(click.Group):
    """A group that reports library errors as ``Error: …`` without a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except CoopmatchError as err:
            raise click.ClickException(str(err)) from None


@click.group(cls=CoopmatchGroup, context_settings={"help_option_names": ["-h", "--help"],
                                                   "max_content_width": 100})
@click.version_option(__version__, prog_name="coopmatch")
def cli():
    """coopmatch — match territorial cooperation projects with the funders that fit them.

    \b
    Start with:
      coopmatch demo                          # both views on the built-in sample
      coopmatch validate projects FILE        # check a file before using it
      coopmatch normalize funders FILE -o funders.csv
    """


# --------------------------------------------------------------------------- shared options


def mapping_options(fn):
    """``--map field=Column`` (repeatable) and ``--mapping-file FILE``."""

    @click.option("--map", "maps", multiple=True, metavar="FIELD=COLUMN",
                  help="Force a column onto a canonical field (repeatable), e.g. --map amount_requested='Montant (€)'.")
    @click.option("--mapping-file", type=click.Path(dir_okay=False), default=None,
                  help="YAML file of field: Column pairs, read with safe loading.")
    @functools.wraps(fn)
    def wrapper(*args, maps, mapping_file, **kwargs):
        from matcher.headers import load_mapping_file, parse_map_options

        forced = dict(load_mapping_file(mapping_file)) if mapping_file else {}
        forced.update(parse_map_options(list(maps)))
        return fn(*args, forced=forced, **kwargs)

    return wrapper


def lang_option(fn):
    return click.option("--lang", type=click.Choice(LANGS), default=DEFAULT_LANG, show_default=True,
                        help="Language of reports and explanations (or set COOPMATCH_LANG).")(fn)


def _number(n: int, lang: str) -> str:
    text = f"{n:,}"
    return text.replace(",", "\u202f") if lang == "fr" else text


def accounting_line(summary: dict, lang: str) -> str:
    """One line that accounts for every input row."""
    n = functools.partial(_number, lang=lang)
    if lang == "fr":
        line = (f"{n(summary['rows_read'])} lignes lues : {n(summary['rows_normalised'])} normalisées, "
                f"{n(summary['rows_rejected'])} rejetées ; {n(summary['warnings'])} avertissements")
        if "funders" in summary:
            line += f" ({n(summary['funders'])} financeurs, {n(summary['calls'])} appels)"
    else:
        line = (f"{n(summary['rows_read'])} rows read: {n(summary['rows_normalised'])} normalised, "
                f"{n(summary['rows_rejected'])} rejected; {n(summary['warnings'])} warnings")
        if "funders" in summary:
            line += f" ({n(summary['funders'])} funders, {n(summary['calls'])} calls)"
    return line


def problem_line(problem, source: str | None, lang: str, show_source: bool) -> str:
    where = []
    if show_source and source:
        where.append(Path(source).name)
    if problem.row is not None:
        where.append(f"{'ligne' if lang == 'fr' else 'row'} {problem.row}")
    if problem.column:
        where.append(f"{'colonne' if lang == 'fr' else 'column'} '{problem.column}'")
    severity = {"error": ("REJET", "REJECTED"), "warning": ("avert.", "warning"),
                "file": ("fichier", "file")}[problem.severity][0 if lang == "fr" else 1]
    return f"[{severity}] {', '.join(where) or '-'}: {problem.reason(lang)}"


def _load(kind: str, path: str, forced: dict, **options):
    from matcher.loading import load

    return load(kind, path, forced=forced or None, **options)


def _write_rejects(result, path: str) -> None:
    from matcher.writers import write_table

    write_table(result.rejects, path)


# --------------------------------------------------------------------------- validate / normalize


@cli.command()
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("file", type=click.Path())
@mapping_options
@click.option("--rejects", type=click.Path(dir_okay=False), default=None,
              help="Write every problem (row, column, value, reason) to this file (.csv, .json, .xlsx…).")
@click.option("--refused-when-zero", is_flag=True, help="History: an awarded amount of 0 means refused.")
@click.option("--show", default=200, show_default=True, type=click.IntRange(min=0),
              help="Print at most this many problems (all of them go to --rejects).")
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too, not only on rejected rows.")
@lang_option
def validate(kind, file, forced, rejects, refused_when_zero, show, strict, lang):
    """Check a projects, funders or history FILE and report every problem.

    Prints one accounting line (rows read = normalised + rejected) and each
    problem with its row, column and reason. Exits 0 when every row
    normalises, 1 when any row is rejected (or, with --strict, on any warning).

    \b
    Examples:
      coopmatch validate projects projets.csv
      coopmatch validate history subventions.csv --rejects problemes.csv
      coopmatch validate projects export.xlsx --map amount_requested="Montant (€)"
    """
    result = _load(kind, file, forced, **({"refused_when_zero": True} if refused_when_zero else {}))
    click.echo(accounting_line(result.summary, lang))
    unmapped = result.summary.get("columns_unmapped") or []
    if unmapped:
        label = "Colonnes ignorées" if lang == "fr" else "Ignored columns"
        click.echo(f"{label}: {', '.join(unmapped)}")
    several = len({s for s in result.problem_sources if s}) > 1
    for problem, source in list(zip(result.problems, result.problem_sources, strict=True))[:show]:
        click.echo(problem_line(problem, source, lang, several))
    hidden = len(result.problems) - show
    if hidden > 0:
        click.echo(f"… {'et' if lang == 'fr' else 'and'} {_number(hidden, lang)} "
                   f"{'autres (voir --rejects)' if lang == 'fr' else 'more (see --rejects)'}")
    if rejects:
        _write_rejects(result, rejects)
    failed = result.summary["rows_rejected"] > 0 or (strict and result.summary["warnings"] > 0)
    sys.exit(1 if failed else 0)


@cli.command()
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("file", type=click.Path())
@mapping_options
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Canonical rows, format from the extension: .csv .json .jsonl .xlsx .parquet")
@click.option("--rejects", type=click.Path(dir_okay=False), default=None,
              help="Write every problem (row, column, value, reason) to this file.")
@click.option("--refused-when-zero", is_flag=True, help="History: an awarded amount of 0 means refused.")
@click.option("--from", "source", type=click.Choice(["aides-territoires"]), default=None,
              help="Funders: read a catalogue export (recognised from its headers when not given).")
@lang_option
def normalize(kind, file, forced, output, rejects, refused_when_zero, source, lang):
    """Turn a projects, funders or history FILE into canonical rows.

    The accounting line goes to stderr; rejected rows are left out of OUTPUT
    and listed with --rejects.

    \b
    Examples:
      coopmatch normalize projects projets.xlsx -o projets.csv
      coopmatch normalize history paris.csv.gz --map funder_id=direction \\
          --map amount_awarded="montant vote" -o hist.parquet
      coopmatch normalize funders aides-territoires.csv --from aides-territoires -o aides.csv
    """
    from matcher.writers import format_for, write_table

    format_for(output)  # fail on a bad extension before the work, not after
    if source and kind != "funders":
        raise click.ClickException("--from aides-territoires applies to funders only")
    started = time.perf_counter()
    options = {"refused_when_zero": True} if refused_when_zero else {}
    if source:
        options["source"] = source
    result = _load(kind, file, forced, **options)
    write_table(result.frame, output, money_columns=_MONEY_COLUMNS)
    if rejects:
        _write_rejects(result, rejects)
    elapsed = time.perf_counter() - started
    click.echo(f"{accounting_line(result.summary, lang)} → {output} ({elapsed:.1f} s)", err=True)




@cli.command("learn-funders")
@click.argument("history", type=click.Path())
@mapping_options
@click.option("--until-year", type=int, default=None, help="Learn only from decisions of this year or before.")
@click.option("--refused-when-zero", is_flag=True, help="An awarded amount of 0 means refused.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Funder profiles: .csv .json .jsonl .xlsx (readable by every ranking command).")
@lang_option
def learn_funders_command(history, forced, until_year, refused_when_zero, output, lang):
    """Learn one funder profile per funder from its past grant decisions.

    Sector priorities come from what was granted, the ticket range from the
    amounts (5th–95th percentile), typical words from the purposes. Learned
    values are marked `learned` and never become eligibility rules.

    \b
    Examples:
      coopmatch learn-funders historique.csv -o financeurs_appris.csv
      coopmatch learn-funders paris.csv.gz --map funder_id=direction --map purpose="objet du dossier" \\
          --map amount_awarded="montant vote" --map year=anneeBudg --until-year 2017 -o paris.json
    """
    from funders.learn import learn_funders
    from matcher.writers import format_for, write_table

    if format_for(output) == "parquet":
        raise click.ClickException("learn-funders writes .csv, .json, .jsonl or .xlsx (parquet cannot be read back)")
    result = _load("history", history, forced, **({"refused_when_zero": True} if refused_when_zero else {}))
    click.echo(accounting_line(result.summary, lang), err=True)
    learned = learn_funders(result.frame, until_year=until_year)
    write_table(learned, output, money_columns=_MONEY_COLUMNS)
    click.echo((f"{len(learned)} profils appris → {output}" if lang == "fr"
                else f"{len(learned)} learned profiles → {output}"), err=True)

# --------------------------------------------------------------------------- ranking


DEMO_DATE = "2026-12-01"
OUTPUT_FORMATS = ("table", "csv", "json", "xlsx", "html")


def _parse_weights(values) -> dict[str, float] | None:
    weights = {}
    for item in values:
        name, sep, number = item.partition("=")
        try:
            if not sep:
                raise ValueError
            weights[name.strip()] = float(number.replace(",", "."))
        except ValueError:
            raise click.ClickException(f"--weight expects criterion=number, got '{item}'") from None
    return weights or None


def _parse_run_date(value: str | None) -> str | None:
    if value is None:
        return None
    from matcher.parsers import parse_date
    from matcher.problems import ParseError

    try:
        parsed = parse_date(value)
    except ParseError as err:
        raise click.ClickException(f"--date: {err.reason_en}") from None
    if parsed is None:
        raise click.ClickException(f"--date: unreadable date: '{value}'")
    return parsed


def ranking_options(fn):
    """Options shared by funders-for, shortlist and batch-like commands."""
    options = [
        click.option("--funders", "funders_path", type=click.Path(), default=None,
                     help="Funders file or folder (default: the built-in sample)."),
        click.option("--top", type=click.IntRange(min=1), default=10, show_default=True,
                     help="Lines kept per project (funders-for) or per funder/call (shortlist)."),
        click.option("--date", "run_date", default=None, metavar="DATE",
                     help="Run date for open calls, dd/mm/yyyy or ISO (default: today)."),
        click.option("--weight", "weights", multiple=True, metavar="CRITERION=W",
                     help="Override a criterion weight for this run (repeatable), e.g. --weight territory=0.3."),
        click.option("--history", "history_path", type=click.Path(), default=None,
                     help="Past grant decisions (canonical, SCDL or 360Giving headers): adds the history criterion."),
        click.option("--include-ineligible", is_flag=True,
                     help="Also list ineligible pairs, after the others."),
        click.option("--format", "fmt", type=click.Choice(OUTPUT_FORMATS), default="table",
                     show_default=True, help="Output format."),
        click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
                     help="Write to this file instead of the terminal (required for xlsx)."),
        lang_option,
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _notice_rejects(result, what: str, lang: str) -> None:
    s = result.summary
    if s["rows_rejected"] or s["warnings"]:
        if lang == "fr":
            text = (f"{what} : {s['rows_rejected']} ligne(s) rejetée(s), {s['warnings']} avertissement(s) "
                    f"— détail avec « coopmatch validate »")
        else:
            text = (f"{what}: {s['rows_rejected']} row(s) rejected, {s['warnings']} warning(s) "
                    f"— details with 'coopmatch validate'")
        click.echo(text, err=True)


def _load_inputs(projects_path, funders_path, lang):
    """The canonical projects and funders frames (rejects noticed on stderr)."""
    projects, funders = _load_normalized(projects_path, funders_path, lang)
    return projects.frame, funders.frame


def _matcher(funders, weights, run_date, lang, top, history_path=None):
    """Fit the matcher; with a history file the ``history`` criterion joins the others."""
    from matcher.model import Matcher

    history = None
    if history_path:
        loaded = _load("history", history_path, {})
        _notice_rejects(loaded, "history" if lang == "en" else "historique", lang)
        history = loaded.frame
    return Matcher(weights=_parse_weights(weights), date=_parse_run_date(run_date), lang=lang,
                   top=top).fit(funders, history=history)


def _check_id(value: str, known, what: str) -> None:
    from rapidfuzz import process

    known = [k for k in known if k is not None]
    if value in known:
        return
    close = [m[0] for m in process.extract(value, sorted(set(known)), limit=3, score_cutoff=60)]
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise click.ClickException(f"unknown {what} '{value}'{hint}")


def _check_call(call_id: str | None, funders, funder_id: str) -> None:
    """A given call id must be one of that funder's calls."""
    if call_id is not None:
        _check_id(call_id, funders.loc[funders["funder_id"] == funder_id, "call_id"].tolist(),
                  f"call id for funder {funder_id}")


def _load_normalized(projects_path, funders_path, lang):
    """Read and normalise projects and funders, keeping the whole results (rejects, summaries)."""
    from matcher.loading import SAMPLE_FUNDERS

    projects = _load("projects", projects_path, {})
    _notice_rejects(projects, "projects" if lang == "en" else "projets", lang)
    funders = _load("funders", funders_path or SAMPLE_FUNDERS, {})
    _notice_rejects(funders, "funders" if lang == "en" else "financeurs", lang)
    return projects, funders


def _report(ranked, projects_in, funders_in, projects, matcher, command, lang, **params):
    """The :class:`~matcher.report_html.Report` of a ranking run (for --format html and xlsx)."""
    from matcher.report_html import Report, RunInfo

    info = RunInfo(command=command, lang=lang, run_date=matcher.run_date_,
                   weights=_parse_weights(params.pop("weights", ())),
                   summaries={"projects": projects_in.summary, "funders": funders_in.summary}, **params)
    return Report(ranked=ranked, projects=projects, matcher=matcher, info=info,
                  rejects={"projects": projects_in.rejects, "funders": funders_in.rejects})


def _emit(ranked, fmt, output, lang, title, view, report=None):
    from matcher.writers import write_table

    if fmt == "table":
        if output:
            raise click.ClickException("--format table prints to the terminal; use csv, json, xlsx or html with -o")
        _print_table(ranked, lang, title, view)
        return
    if fmt == "xlsx" and not output:
        raise click.ClickException("--format xlsx needs -o FILE.xlsx")
    if fmt in ("html", "xlsx"):
        if report is None:
            raise click.ClickException(f"--format {fmt} is not available for this command")
        from matcher.report_html import render_html, write_html
        from matcher.report_xlsx import write_report_workbook

        if not output:
            click.echo(render_html(report), nl=False)
            return
        (write_html if fmt == "html" else write_report_workbook)(report, output)
        click.echo(f"{len(ranked)} {'lignes' if lang == 'fr' else 'rows'} → {output}", err=True)
        return
    if output:
        write_table(ranked, output, fmt=fmt, money_columns=())
        click.echo(f"{len(ranked)} {'lignes' if lang == 'fr' else 'rows'} → {output}", err=True)
    elif fmt == "csv":
        import io

        from matcher.writers import _csv_field, cell_text, neutralise

        buffer = io.StringIO()
        buffer.write(",".join(ranked.columns) + "\n")
        for row in ranked.itertuples(index=False, name=None):
            buffer.write(",".join(_csv_field(neutralise(cell_text(v))) for v in row) + "\n")
        click.echo(buffer.getvalue(), nl=False)
    else:
        import json

        from matcher.writers import records

        click.echo(json.dumps(records(ranked), ensure_ascii=False, indent=2))


def _strengths(row: dict, labels: dict[str, str], lang: str, count: int = 2) -> str:
    """The criteria that contribute most to a line's score, e.g. ``secteurs 0,21``."""
    from matcher.explain import format_number

    parts = [(value, name) for name, value in ((n, row.get(f"contribution_{n}")) for n in labels)
             if isinstance(value, float) and value == value and value > 0]
    best = sorted(parts, key=lambda p: (-p[0], p[1]))[:count]
    if not best:
        return ""
    head = "Points forts : " if lang == "fr" else "Strengths: "
    return head + ", ".join(f"{labels[name]} {format_number(value, lang)}" for value, name in best)


def _criterion_labels(ranked, lang) -> dict[str, str]:
    from matcher.criteria import default_criteria

    known = {c.name: c.label(lang) for c in default_criteria()}
    names = [col[len("contribution_"):] for col in ranked.columns if col.startswith("contribution_")]
    return {n: known.get(n, n) for n in names}


def _print_table(ranked, lang, title, view):
    import shutil

    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from matcher.explain import format_number, template

    console = Console(width=max(100, shutil.get_terminal_size((140, 24)).columns), highlight=False,
                      soft_wrap=False)
    fr = lang == "fr"
    if not len(ranked):
        console.print(f"[bold]{escape(title)}[/bold]")
        console.print("Aucune ligne à afficher." if fr else "Nothing to show.")
        return
    table = Table(title=escape(title), show_lines=True, title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("Score", justify="right")
    table.add_column("Verdict" if not fr else "Éligibilité")
    table.add_column("Financeur / appel" if fr and view == "project" else
                     "Funder / call" if view == "project" else "Projet" if fr else "Project")
    table.add_column("Raisons, points forts" if fr else "Reasons, strengths", ratio=1)
    styles = {"eligible": "green", "to_check": "yellow", "ineligible": "red"}
    labels = _criterion_labels(ranked, lang)
    for row in ranked.to_dict("records"):
        verdict = template("verdicts", row["eligibility"])[lang]
        if view == "project":
            who = escape(str(row["funder_name"] or row["funder_id"]))
            if isinstance(row["call_id"], str):
                who += f"\n[dim]{escape(str(row['call_title'] or row['call_id']))}[/dim]"
        else:
            who = escape(f"{row['project_id']} — {row['project_name'] or ''}")
        notes = [escape(r) for r in (row["reasons"] or "").split(" ; ") if r]
        strengths = _strengths(row, labels, lang)
        if strengths:
            notes.append(f"[dim]{escape(strengths)}[/dim]")
        table.add_row(str(row["rank"]), format_number(row["score"], lang),
                      f"[{styles[row['eligibility']]}]{verdict}[/]", who, "\n".join(notes) or "—")
    console.print(table)


def _print_groups(ranked, by, title, view, lang, empty: tuple[str, str]) -> None:
    """One terminal table per group of ``ranked`` (per project, or per funder and call)."""
    for key, group in ranked.groupby(by, sort=True):
        _print_table(group, lang, title(key, group), view)
    if ranked.empty:
        click.echo(empty[0] if lang == "fr" else empty[1])


@cli.command("funders-for")
@click.argument("projects_path", metavar="PROJECTS", type=click.Path())
@click.option("--project", "project_id", default=None, help="Only this project id.")
@ranking_options
def funders_for(projects_path, project_id, funders_path, top, run_date, weights, history_path,
                include_ineligible, fmt, output, lang):
    """Rank the funders (and calls) that fit each project, best first — the project lead's view.

    Eligibility is checked rule by rule (legal form, place, instruments,
    stage, expense type, open call, ESUS, just-transition requirements,
    amount), then the fit is scored criterion by criterion. Each line says
    why, and what to check before applying.

    \b
    Examples:
      coopmatch funders-for projets.csv --project P001
      coopmatch funders-for projets.csv --funders financeurs.yaml --top 5 --format csv -o fits.csv
      coopmatch funders-for projets.csv --weight territory=0.4 --date 01/03/2027 --lang en
    """
    projects_in, funders_in = _load_normalized(projects_path, funders_path, lang)
    projects, funders = projects_in.frame, funders_in.frame
    if project_id is not None:
        _check_id(project_id, projects["project_id"].tolist(), "project id")
        projects = projects[projects["project_id"] == project_id]
    matcher = _matcher(funders, weights, run_date, lang, top, history_path)
    ranked = matcher.rank_funders(projects, top=top, include_ineligible=include_ineligible)
    if fmt == "table":
        def title(pid, group):
            name = group["project_name"].iloc[0]
            return (f"{pid} — {name} : financeurs au {matcher.run_date_}" if lang == "fr"
                    else f"{pid} — {name}: funders on {matcher.run_date_}")

        _print_groups(ranked, ranked["project_id"], title, "project", lang,
                      ("Aucun financeur éligible ou à vérifier.", "No eligible or to-check funder."))
        return
    report = _report(ranked, projects_in, funders_in, projects, matcher, "funders-for", lang,
                     projects_file=projects_path, funders_file=funders_path, project_id=project_id,
                     top=top, include_ineligible=include_ineligible, weights=weights)
    _emit(ranked, fmt, output, lang, "", "project", report)


@cli.command()
@click.option("--funder", "funder_id", required=True, help="The funder id.")
@click.option("--call", "call_id", default=None, help="One call of that funder (default: each of its calls).")
@click.option("--projects", "projects_path", required=True, type=click.Path(), help="Projects file.")
@ranking_options
def shortlist(funder_id, call_id, projects_path, funders_path, top, run_date, weights, history_path,
              include_ineligible, fmt, output, lang):
    """Shortlist the projects that best fit a funder or one of its calls — the fund's view.

    \b
    Examples:
      coopmatch shortlist --funder F-FDD-TERRES --projects projets.csv
      coopmatch shortlist --funder F-REG-ARA --call AAP-TL-2026 --projects projets.csv --top 20 --format xlsx -o shortlist.xlsx
    """
    projects_in, funders_in = _load_normalized(projects_path, funders_path, lang)
    projects, funders = projects_in.frame, funders_in.frame
    _check_id(funder_id, funders["funder_id"].tolist(), "funder id")
    _check_call(call_id, funders, funder_id)
    matcher = _matcher(funders, weights, run_date, lang, top, history_path)
    ranked = matcher.rank_projects(projects, funder_id, call_id=call_id, top=top,
                                   include_ineligible=include_ineligible)
    if fmt == "table":
        def title(key, group):
            cid = key[1]
            name = group["funder_name"].iloc[0] or funder_id
            call = f" / {group['call_title'].iloc[0] or cid}" if cid else ""
            return (f"{name}{call} : projets au {matcher.run_date_}" if lang == "fr"
                    else f"{name}{call}: projects on {matcher.run_date_}")

        _print_groups(ranked, [ranked["funder_id"], ranked["call_id"].fillna("")], title, "funder", lang,
                      ("Aucun projet éligible ou à vérifier.", "No eligible or to-check project."))
        return
    report = _report(ranked, projects_in, funders_in, projects, matcher, "shortlist", lang,
                     projects_file=projects_path, funders_file=funders_path, funder_id=funder_id,
                     call_id=call_id, top=top, include_ineligible=include_ineligible, weights=weights)
    _emit(ranked, fmt, output, lang, "", "funder", report)


@cli.command()
@click.option("--project", "project_id", required=True, help="The project id.")
@click.option("--funder", "funder_id", required=True, help="The funder id.")
@click.option("--call", "call_id", default=None, help="One call (default: the call that fits best).")
@click.option("--projects", "projects_path", required=True, type=click.Path(), help="Projects file.")
@click.option("--funders", "funders_path", type=click.Path(), default=None,
              help="Funders file or folder (default: the built-in sample).")
@click.option("--date", "run_date", default=None, metavar="DATE", help="Run date (default: today).")
@click.option("--weight", "weights", multiple=True, metavar="CRITERION=W", help="Override a weight.")
@click.option("--history", "history_path", type=click.Path(), default=None,
              help="Past grant decisions: adds the history criterion and the nearest past grants.")
@click.option("--json", "as_json", is_flag=True, help="Print the explanation as JSON.")
@lang_option
def explain(project_id, funder_id, call_id, projects_path, funders_path, run_date, weights, history_path,
            as_json, lang):
    """Explain one project–funder pair: every rule, every criterion, score × weight = contribution.

    \b
    Examples:
      coopmatch explain --project P001 --funder F-FDD-TERRES --projects projets.csv
      coopmatch explain --project P001 --funder F-REG-ARA --call AAP-TL-2026 --projects projets.csv --lang en
    """
    projects, funders = _load_inputs(projects_path, funders_path, lang)
    _check_id(project_id, projects["project_id"].tolist(), "project id")
    _check_id(funder_id, funders["funder_id"].tolist(), "funder id")
    _check_call(call_id, funders, funder_id)
    matcher = _matcher(funders, weights, run_date, lang, None, history_path)
    explanation = matcher.explain(projects, project_id, funder_id, call_id)
    nearest = _nearest_grants(matcher, projects, project_id, funder_id, lang)
    if as_json:
        import json

        from matcher.writers import json_value

        data = explanation.to_dict()
        data["nearest_grants"] = nearest
        click.echo(json.dumps(json_value(data), ensure_ascii=False, indent=2))
    else:
        click.echo(explanation.to_text(lang))
        for line in nearest:
            click.echo(f"  {line}")


def _nearest_grants(matcher, projects, project_id, funder_id, lang) -> list[str]:
    """The past grants of that funder closest to the project (history criterion only)."""
    if "history" not in matcher.criteria_names_:
        return []
    criterion = matcher.criteria_[matcher.criteria_names_.index("history")]
    row = projects[projects["project_id"] == project_id].iloc[0]
    return criterion.explain_pair(row, funder_id, lang)


@cli.command()
@click.option("--date", "run_date", default=DEMO_DATE, show_default=True, metavar="DATE",
              help="Run date (fixed by default so the demo reads the same every day).")
@click.option("--project", "project_id", default="P001", show_default=True, help="Project shown.")
@click.option("--funder", "funder_id", default=None, help="Funder shortlisted (default: the best fit of the project).")
@click.option("--top", type=click.IntRange(min=1), default=5, show_default=True)
@lang_option
def demo(run_date, project_id, funder_id, top, lang):
    """Run both views on the built-in sample: funders for a project, a funder's shortlist, one explanation.

    \b
    Examples:
      coopmatch demo
      coopmatch demo --lang en --project P011
    """
    from matcher.loading import SAMPLE_FUNDERS, SAMPLE_PROJECTS

    projects, funders = _load_inputs(SAMPLE_PROJECTS, SAMPLE_FUNDERS, lang)
    _check_id(project_id, projects["project_id"].tolist(), "project id")
    matcher = _matcher(funders, (), run_date, lang, top)
    fr = lang == "fr"
    one = projects[projects["project_id"] == project_id]
    ranked = matcher.rank_funders(one, top=top)
    name = one["name"].iloc[0]
    _print_table(ranked, lang, (f"1. Financeurs pour {project_id} — {name} (au {matcher.run_date_})" if fr
                                else f"1. Funders for {project_id} — {name} (on {matcher.run_date_})"), "project")
    if funder_id is None:
        if ranked.empty:
            return
        funder_id, call_id = ranked["funder_id"].iloc[0], ranked["call_id"].iloc[0]
    else:
        _check_id(funder_id, funders["funder_id"].tolist(), "funder id")
        call_id = None
    call_id = call_id if isinstance(call_id, str) else None
    shortlisted = matcher.rank_projects(projects, funder_id, call_id=call_id, top=top)
    fname = funders.loc[funders["funder_id"] == funder_id, "name"].iloc[0] or funder_id
    click.echo()
    _print_table(shortlisted, lang, (f"2. Présélection de {fname} (au {matcher.run_date_})" if fr
                                     else f"2. Shortlist of {fname} (on {matcher.run_date_})"), "funder")
    click.echo()
    click.echo("3. Pourquoi ce rang ?" if fr else "3. Why this rank?")
    click.echo(matcher.explain(projects, project_id, funder_id, call_id).to_text(lang))


_MONEY_COLUMNS = ("amount_requested", "total_budget", "secured_funding", "ticket_min", "ticket_max",
                  "call_envelope", "amount_awarded")


def main():  # pragma: no cover - console entry point
    cli(prog_name="coopmatch")


# Commands defined in their own modules register on `cli` when imported.
from matcher import cli_batch, cli_history  # noqa: E402,F401

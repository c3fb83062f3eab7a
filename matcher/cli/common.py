"""Shared helpers of the command line: options, loading, checks, output (public names).

Command modules import from here; nothing here imports a command module.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import click

from matcher.core.errors import CoopmatchError

KINDS = ("projects", "funders", "history")
LANGS = ("fr", "en")
DEFAULT_LANG = os.environ.get("COOPMATCH_LANG", "fr") if os.environ.get("COOPMATCH_LANG") in LANGS else "fr"


class CoopmatchGroup(click.Group):
    """A group that reports library errors as ``Error: …`` without a traceback, in the run's language.

    Usage mistakes (exit 2) — Click's own (missing option, bad value, no such option) and the
    commands' — are in the run's language too; the language then comes from the command line
    itself when the mistake stops Click before ``--lang`` is read.
    """

    def parse_args(self, ctx, args):
        from matcher.cli.messages import lang_in_args

        ctx.meta.setdefault("coopmatch.args_lang", lang_in_args(args, DEFAULT_LANG))
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as err:
            raise LocalUsageError.of(err, run_lang(ctx)) from None

    def invoke(self, ctx):
        from matcher.cli.messages import translate

        try:
            return super().invoke(ctx)
        except CoopmatchError as err:
            raise click.ClickException(translate(str(err), run_lang(ctx))) from None
        except LocalUsageError:
            raise
        except click.UsageError as err:
            if isinstance(err, click.NoSuchOption) and err.option_name in ("--map", "--mapping-file"):
                err.possibilities = None
                err.message = (f"{err.option_name} is read by validate and normalize, not by this command: run "
                               "'coopmatch normalize projects FILE --map FIELD=COLUMN -o canon.csv' first, "
                               "then rank canon.csv")
            raise LocalUsageError.of(err, run_lang(ctx)) from None
        except click.ClickException as err:
            err.message = translate(err.message, run_lang(ctx))
            raise


class LocalUsageError(click.UsageError):
    """A usage error whose message and help hint are in the run's language (exit 2, as Click's)."""

    def __init__(self, message: str, ctx=None, lang: str = "en"):
        super().__init__(message, ctx)
        self.lang = lang

    @classmethod
    def of(cls, err: click.UsageError, lang: str) -> LocalUsageError:
        from matcher.cli.messages import translate_usage

        return cls(translate_usage(err.format_message(), lang), err.ctx, lang)

    def show(self, file=None) -> None:
        from matcher.cli.messages import usage_hint

        ctx = self.ctx
        if ctx is not None:
            hint = ""
            if ctx.command.get_help_option(ctx) is not None:
                option = max(ctx.command.get_help_option_names(ctx), key=len)
                hint = usage_hint(ctx.command_path, option, self.lang) + "\n"
            click.echo(f"{ctx.get_usage()}\n{hint}", file=file, err=file is None, color=ctx.color)
        click.echo(f"Error: {self.format_message()}", file=file, err=file is None,
                   color=ctx.color if ctx is not None else None)


def run_lang(ctx) -> str:
    """The language of this run: the command's ``--lang`` if it has one and it was read, else the default."""
    return ctx.meta.get("coopmatch.lang") or ctx.meta.get("coopmatch.args_lang", DEFAULT_LANG)


def stop_cleanly_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit(143), so that ``finally`` blocks run and temporary files are removed.

    Only from the main thread, and only when nobody else handles SIGTERM.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        def stop(signum, frame):
            raise SystemExit(128 + signum)

        signal.signal(signal.SIGTERM, stop)


def check_outputs(inputs, outputs) -> None:
    """Refuse, before any work, an output that is one of the inputs or that cannot be written.

    ``inputs`` and ``outputs`` are paths or None. Compares resolved paths and, where both exist,
    the files themselves (a hard link or another spelling of the same file).
    """
    given = [Path(p) for p in inputs if p]
    for output in (Path(o) for o in outputs if o):
        check_writable(output)
        for source in given:
            same = output.resolve() == source.resolve()
            if not same and output.exists() and source.exists():
                try:
                    same = os.path.samefile(output, source)
                except OSError:
                    same = False
            if same:
                raise click.ClickException(f"'{output}' is an input of this command; "
                                           f"choose another output file (the input would be overwritten)")


def check_writable(output: Path) -> None:
    """An output path whose folder exists, is a folder, and whose name the file system accepts."""
    parent = output.parent
    try:
        name_max = os.pathconf(parent if parent.is_dir() else ".", "PC_NAME_MAX")
    except (OSError, ValueError):
        name_max = 255
    if len(os.fsencode(output.name)) + 12 > name_max:  # + the temporary file's prefix and suffix
        raise click.ClickException(f"cannot write '{output.name[:40]}…': the file name is too long "
                                   f"(at most {name_max - 12} bytes)")
    if output.is_dir():
        raise click.ClickException(f"'{output}' is a folder; give a file name")
    if not parent.exists():
        for ancestor in parent.parents:
            if ancestor.exists() and not ancestor.is_dir():
                raise click.ClickException(f"cannot write '{output}': '{ancestor}' is a file, not a folder")
        raise click.ClickException(f"folder '{parent}' does not exist")
    if not parent.is_dir():
        raise click.ClickException(f"cannot write '{output}': '{parent}' is a file, not a folder")
    if not os.access(parent, os.W_OK):
        raise click.ClickException(f"cannot write in folder '{parent}' (permission denied)")


def mapping_options(fn):
    """``--map field=Column`` (repeatable) and ``--mapping-file FILE``."""

    @click.option("--map", "maps", multiple=True, metavar="FIELD=COLUMN",
                  help="Force a column onto a canonical field (repeatable), e.g. --map amount_requested='Montant (€)'.")
    @click.option("--mapping-file", type=click.Path(dir_okay=False), default=None,
                  help="YAML file of field: Column pairs, read with safe loading.")
    @functools.wraps(fn)
    def wrapper(*args, maps, mapping_file, **kwargs):
        from matcher.normalize.headers import load_mapping_file, parse_map_options

        forced = dict(load_mapping_file(mapping_file)) if mapping_file else {}
        forced.update(parse_map_options(list(maps)))
        return fn(*args, forced=forced, **kwargs)

    return wrapper


def _remember_lang(ctx, param, value):
    ctx.meta["coopmatch.lang"] = value  # meta is shared by the whole context chain: errors use it
    return value


def lang_option(fn):
    return click.option("--lang", type=click.Choice(LANGS), default=DEFAULT_LANG, show_default=True,
                        callback=_remember_lang, is_eager=True,
                        help="Language of reports, explanations and errors (or set COOPMATCH_LANG).")(fn)


def number(n: int, lang: str) -> str:
    text = f"{n:,}"
    return text.replace(",", "\u202f") if lang == "fr" else text


def accounting_line(summary: dict, lang: str) -> str:
    """One line that accounts for every input row."""
    n = functools.partial(number, lang=lang)
    if lang == "fr":
        left = summary.get("rows_left_out")
        left_fr = f" (dont {n(left)} lignes de titre ou de total laissées de côté)" if left else ""
        def fr(count: int, word: str) -> str:  # "1 ligne lue", "2 lignes lues", "0 rejetée"
            return f"{n(count)} {word}" if count > 1 else f"{n(count)} " + " ".join(w[:-1] for w in word.split())

        line = (f"{fr(summary['rows_read'], 'lignes lues')} : {fr(summary['rows_normalised'], 'normalisées')}, "
                f"{fr(summary['rows_rejected'], 'rejetées')}{left_fr} ; {fr(summary['warnings'], 'avertissements')}")
        if "funders" in summary:
            line += f" ({n(summary['funders'])} financeurs, {n(summary['calls'])} appels)"
    else:
        left = summary.get("rows_left_out")
        left_en = f" (of which {n(left)} title or totals rows left out)" if left else ""
        line = (f"{n(summary['rows_read'])} rows read: {n(summary['rows_normalised'])} normalised, "
                f"{n(summary['rows_rejected'])} rejected{left_en}; {n(summary['warnings'])} warnings")
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


def load_profiles(kind: str, path: str, forced: dict, **options):
    from matcher.io.loading import load

    return load(kind, path, forced=forced or None, **options)


def write_rejects(result, path: str) -> None:
    from matcher.io.writers import write_table

    write_table(result.rejects, path)


DEMO_DATE = "2026-12-01"
OUTPUT_FORMATS = ("table", "csv", "json", "xlsx", "html")


def parse_weights(values) -> dict[str, float] | None:
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


def read_weights_file(path: str) -> dict[str, float]:
    """``criterion: weight`` pairs from a YAML file (safe loading), as written by learn-weights.

    A ``weights:`` mapping at the top is read when present (learn-weights writes one).
    """
    import yaml

    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError) as err:
        raise click.ClickException(f"--weights-file {path}: unreadable ({err})") from None
    if isinstance(data, dict) and isinstance(data.get("weights"), dict):
        data = data["weights"]
    if not isinstance(data, dict) or not data:
        raise click.ClickException(f"--weights-file {path}: expected a mapping criterion: weight")
    out = {}
    for name, value in data.items():
        try:
            out[str(name)] = float(value)
        except (TypeError, ValueError):
            raise click.ClickException(
                f"--weights-file {path}: weight of '{name}' is not a number: {value!r}") from None
    return out


def parse_run_date(value: str | None) -> str | None:
    if value is None:
        return None
    from matcher.normalize.parsers import parse_date
    from matcher.normalize.problems import ParseError

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
    return weights_file_option(fn)


def weights_file_option(fn):
    """``--weights-file FILE`` (YAML criterion: weight, e.g. from learn-weights), passed on as
    ``--weight`` items placed before the command line's own, which therefore win."""

    @click.option("--weights-file", "weights_file", type=click.Path(exists=True, dir_okay=False), default=None,
                  help="YAML weights (criterion: weight), e.g. written by learn-weights; --weight overrides it.")
    @functools.wraps(fn)
    def wrapper(*args, weights_file, **kwargs):
        if weights_file:
            read = [f"{name}={value!r}" for name, value in read_weights_file(weights_file).items()]
            kwargs["weights"] = tuple(read) + tuple(kwargs.get("weights") or ())
        return fn(*args, **kwargs)

    return wrapper


def notice_rejects(result, what: str, lang: str) -> None:
    s = result.summary
    if s["rows_rejected"] or s["warnings"]:
        if lang == "fr":
            text = (f"{what} : {s['rows_rejected']} ligne(s) rejetée(s), {s['warnings']} avertissement(s) "
                    f"— détail avec « coopmatch validate »")
        else:
            text = (f"{what}: {s['rows_rejected']} row(s) rejected, {s['warnings']} warning(s) "
                    f"— details with 'coopmatch validate'")
        click.echo(text, err=True)


def load_inputs(projects_path, funders_path, lang):
    """The canonical projects and funders frames (rejects noticed on stderr)."""
    projects, funders = load_normalized(projects_path, funders_path, lang)
    return projects.frame, funders.frame


def fit_matcher(funders, weights, run_date, lang, top, history_path=None, history=None, projects=None):
    """Fit the matcher; with a history file (or frame) the ``history`` criterion joins the others.

    ``projects``: the whole projects file (before any ``--project`` filter); a rule whose fact no
    project states is then said once on stderr rather than on every line (:func:`waive_unstated`).
    """
    from matcher.engine.model import Matcher

    if history_path and history is None:
        loaded = load_profiles("history", history_path, {})
        notice_rejects(loaded, "history" if lang == "en" else "historique", lang)
        history = loaded.frame
    matcher = Matcher(weights=parse_weights(weights), date=parse_run_date(run_date), lang=lang,
                      top=top).fit(funders, history=history)
    if projects is not None:
        waive_unstated(matcher, projects, lang)
    return matcher


def waive_unstated(matcher, projects, lang) -> None:
    """Set aside the rules whose fact no project states, and say so once on stderr."""
    matcher.waive_unstated(projects)
    for text in matcher.run_notices(lang):
        click.echo(("Note : " if lang == "fr" else "Note: ") + text, err=True)


def with_chance_of_award(ranked, projects, matcher, lang):
    """``ranked`` with a ``p_award`` column (after ``score``) when the matcher's history holds decisions
    (granted and refused, three years or more): the chance that each application would be granted
    (:class:`matcher.engine.award.AwardModel`). Said on stderr when a history cannot give it."""
    from matcher.engine.award import AwardModel, has_decisions, p_award_of_lines

    if "history" not in getattr(matcher, "criteria_names_", []):
        return ranked
    history = matcher.criteria_[matcher.criteria_names_.index("history")].history_
    if not has_decisions(history):
        click.echo("pas de chance d'obtention (p_award) : l'historique n'a pas de décisions accordées et refusées "
                   "sur trois ans" if lang == "fr" else "no chance of award (p_award): the history has no granted "
                   "and refused decisions over three years", err=True)
        return ranked
    model = AwardModel().fit(history)
    year = int(str(matcher.run_date_)[:4])
    out = ranked.copy()
    out.insert(list(out.columns).index("score") + 1, "p_award", p_award_of_lines(model, projects, out, year))
    return out


def check_id(value: str, known, what: str) -> None:
    """Refuse an id that is not among ``known``, suggesting the close ones."""
    from matcher.core.suggest import unknown_message

    if value not in {k for k in known if k is not None}:
        raise click.ClickException(unknown_message(what, value, known))


def check_call(call_id: str | None, funders, funder_id: str) -> None:
    """A given call id must be one of that funder's calls."""
    if call_id is not None:
        check_id(call_id, funders.loc[funders["funder_id"] == funder_id, "call_id"].tolist(),
                  f"call id for funder {funder_id}")


def load_normalized(projects_path, funders_path, lang):
    """Read and normalise projects and funders, keeping the whole results (rejects, summaries)."""
    from matcher.io.loading import SAMPLE_FUNDERS

    projects = load_profiles("projects", projects_path, {})
    notice_rejects(projects, "projects" if lang == "en" else "projets", lang)
    require_rows(projects, "project", projects_path)
    funders = load_profiles("funders", funders_path or SAMPLE_FUNDERS, {})
    notice_rejects(funders, "funders" if lang == "en" else "financeurs", lang)
    require_rows(funders, "funder", funders_path or SAMPLE_FUNDERS)
    return projects, funders


def require_rows(loaded, what: str, path) -> None:
    """Refuse a file with no usable row (header only, or every row rejected) before ranking it."""
    if loaded.frame.empty:
        raise click.ClickException(f"no usable {what} in '{path}' "
                                   f"({loaded.summary['rows_rejected']} row(s) rejected)")


def ranking_report(ranked, projects_in, funders_in, projects, matcher, command, lang, **params):
    """The :class:`~matcher.report.model.Report` of a ranking run (for --format html and xlsx)."""
    from matcher import Report

    return Report.from_ranking(ranked, matcher, projects_in, funders_in, command, shown_projects=projects,
                               weights=parse_weights(params.pop("weights", ())), **params)


def emit(ranked, fmt, output, lang, title, view, report=None):
    from matcher.io.writers import write_table

    if fmt == "table":
        if output:
            raise click.ClickException("--format table prints to the terminal; use csv, json, xlsx or html with -o")
        print_table(ranked, lang, title, view)
        return
    if fmt == "xlsx" and not output:
        raise click.ClickException("--format xlsx needs -o FILE.xlsx")
    if fmt in ("html", "xlsx"):
        if report is None:
            raise click.ClickException(f"--format {fmt} is not available for this command")
        from matcher.report.html import render_html, write_html
        from matcher.report.xlsx import write_report_workbook

        if not output:
            click.echo(render_html(report), nl=False)
            return
        (write_html if fmt == "html" else write_report_workbook)(report, output)
        click.echo(f"{len(ranked)} {'lignes' if lang == 'fr' else 'rows'} → {output}", err=True)
        return
    if output:
        write_table(ranked, output, fmt=fmt, money_columns=())
        click.echo(f"{len(ranked)} {'lignes' if lang == 'fr' else 'rows'} → {output}", err=True)
    else:
        echo_machine_table(ranked, fmt)


def echo_machine_table(frame, fmt: str) -> None:
    """Print ``frame`` to stdout as CSV (formula-safe cells) or JSON records, as ``-o`` would write them."""
    if fmt == "csv":
        import io

        from matcher.io.writers import cell_text, csv_field, neutralise

        buffer = io.StringIO()
        buffer.write(",".join(frame.columns) + "\n")
        for row in frame.itertuples(index=False, name=None):
            buffer.write(",".join(csv_field(neutralise(cell_text(v))) for v in row) + "\n")
        click.echo(buffer.getvalue(), nl=False)
    else:
        import json

        from matcher.io.writers import records

        click.echo(json.dumps(records(frame), ensure_ascii=False, indent=2))


def strengths(row: dict, labels: dict[str, str], lang: str, count: int = 2) -> str:
    """The criteria that contribute most to a line's score, e.g. ``secteurs 0,21``."""
    from matcher.engine.explain import format_number

    parts = [(value, name) for name, value in ((n, row.get(f"contribution_{n}")) for n in labels)
             if isinstance(value, float) and value == value and value > 0]
    best = sorted(parts, key=lambda p: (-p[0], p[1]))[:count]
    if not best:
        return ""
    head = "Points forts : " if lang == "fr" else "Strengths: "
    return head + ", ".join(f"{labels[name]} {format_number(value, lang)}" for value, name in best)


def criterion_labels(ranked, lang) -> dict[str, str]:
    from matcher.engine.criteria import default_criteria

    known = {c.name: c.label(lang) for c in default_criteria()}
    names = [col[len("contribution_"):] for col in ranked.columns if col.startswith("contribution_")]
    return {n: known.get(n, n) for n in names}


def print_table(ranked, lang, title, view):
    import shutil

    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from matcher.engine.explain import format_number, template

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
    labels = criterion_labels(ranked, lang)
    for row in ranked.to_dict("records"):
        verdict = template("verdicts", row["eligibility"])[lang]
        if view == "project":
            who = escape(str(row["funder_name"] or row["funder_id"]))
            if isinstance(row["call_id"], str):
                who += f"\n[dim]{escape(str(row['call_title'] or row['call_id']))}[/dim]"
        else:
            who = escape(f"{row['project_id']} — {row['project_name'] or ''}")
        notes = [escape(r) for r in (row["reasons"] or "").split(" ; ") if r]
        strong = strengths(row, labels, lang)
        if strong:
            notes.append(f"[dim]{escape(strong)}[/dim]")
        chance = row.get("p_award")
        if isinstance(chance, float) and chance == chance:
            from matcher.engine.explain import format_percent

            notes.append(("Chance d'obtention : " if fr else "Chance of award: ") + format_percent(chance, lang))
        table.add_row(str(row["rank"]), format_number(row["score"], lang),
                      f"[{styles[row['eligibility']]}]{verdict}[/]", who, "\n".join(notes) or "—")
    console.print(table)


def print_groups(ranked, by, title, view, lang, empty: tuple[str, str]) -> None:
    """One terminal table per group of ``ranked`` (per project, or per funder and call)."""
    for key, group in ranked.groupby(by, sort=True):
        print_table(group, lang, title(key, group), view)
    if ranked.empty:
        click.echo(empty[0] if lang == "fr" else empty[1])


MONEY_COLUMNS = ("amount_requested", "total_budget", "secured_funding", "ticket_min", "ticket_max",
                  "call_envelope", "amount_awarded")

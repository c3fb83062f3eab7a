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
@lang_option
def normalize(kind, file, forced, output, rejects, refused_when_zero, lang):
    """Turn a projects, funders or history FILE into canonical rows.

    The accounting line goes to stderr; rejected rows are left out of OUTPUT
    and listed with --rejects.

    \b
    Examples:
      coopmatch normalize projects projets.xlsx -o projets.csv
      coopmatch normalize history paris.csv.gz --map funder_id=direction \\
          --map amount_awarded="montant vote" -o hist.parquet
    """
    from matcher.writers import format_for, write_table

    format_for(output)  # fail on a bad extension before the work, not after
    started = time.perf_counter()
    result = _load(kind, file, forced, **({"refused_when_zero": True} if refused_when_zero else {}))
    write_table(result.frame, output, money_columns=_MONEY_COLUMNS)
    if rejects:
        _write_rejects(result, rejects)
    elapsed = time.perf_counter() - started
    click.echo(f"{accounting_line(result.summary, lang)} → {output} ({elapsed:.1f} s)", err=True)


_MONEY_COLUMNS = ("amount_requested", "total_budget", "secured_funding", "ticket_min", "ticket_max",
                  "call_envelope", "amount_awarded")


def main():  # pragma: no cover - console entry point
    cli(prog_name="coopmatch")

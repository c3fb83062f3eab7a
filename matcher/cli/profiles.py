"""``coopmatch validate`` and ``coopmatch normalize``: check and normalise one profiles file."""

from __future__ import annotations

import sys
import time

import click

from matcher.cli.common import (
    KINDS,
    MONEY_COLUMNS,
    accounting_line,
    check_outputs,
    lang_option,
    load_profiles,
    mapping_options,
    number,
    problem_line,
    write_rejects,
)
from matcher.cli.mapping import explain_lines, reading_options, resolve_sheet
from matcher.cli.mapping import save_mapping as save_mapping_file


@click.command()
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("file", type=click.Path())
@mapping_options
@click.option("--rejects", type=click.Path(dir_okay=False), default=None,
              help="Write every problem (row, column, value, reason) to this file (.csv, .json, .xlsx…).")
@click.option("--refused-when-zero", is_flag=True, help="History: an awarded amount of 0 means refused.")
@click.option("--show", default=200, show_default=True, type=click.IntRange(min=0),
              help="Print at most this many problems (all of them go to --rejects).")
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too, not only on rejected rows.")
@reading_options
@lang_option
def validate(kind, file, forced, rejects, refused_when_zero, show, strict, lang, sheet=None,
             explain_mapping=False, save_mapping=None):
    """Check a projects, funders or history FILE and report every problem.

    Prints one accounting line (rows read = normalised + rejected) and each
    problem with its row, column and reason. Exits 0 when every row
    normalises, 1 when any row is rejected (or, with --strict, on any warning).

    \b
    Examples:
      coopmatch validate projects projets.csv
      coopmatch validate history subventions.csv --rejects problemes.csv
      coopmatch validate projects export.xlsx --map amount_requested="Montant (€)"
      coopmatch validate projects candidatures.xlsx --sheet Dossiers --explain-mapping
    """
    check_outputs([file], [rejects, save_mapping])
    options = {"refused_when_zero": True} if refused_when_zero else {}
    if sheet is not None:
        options["sheet"] = resolve_sheet(file, sheet)
    result = load_profiles(kind, file, forced, **options)
    click.echo(accounting_line(result.summary, lang))
    if explain_mapping:
        click.echo("\n".join(explain_lines(result, lang)))
    unmapped = result.summary.get("columns_unmapped") or []
    if unmapped:
        label = "Colonnes ignorées" if lang == "fr" else "Ignored columns"
        click.echo(f"{label}: {', '.join(unmapped)}")
    several = len({s for s in result.problem_sources if s}) > 1
    for problem, source in list(zip(result.problems, result.problem_sources, strict=True))[:show]:
        click.echo(problem_line(problem, source, lang, several))
    hidden = len(result.problems) - show
    if hidden > 0:
        click.echo(f"… {'et' if lang == 'fr' else 'and'} {number(hidden, lang)} "
                   f"{'autres (voir --rejects)' if lang == 'fr' else 'more (see --rejects)'}")
    if rejects:
        write_rejects(result, rejects)
    if save_mapping:
        save_mapping_file(result, save_mapping)
    empty = result.frame.empty
    if empty:  # the ranking commands would refuse it: say so here
        click.echo("Aucune ligne utilisable : rien à classer." if lang == "fr" else "No usable row: nothing to rank.")
    failed = empty or not result.ok or (strict and result.summary["warnings"] > 0)
    sys.exit(1 if failed else 0)


@click.command()
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
@reading_options
@lang_option
def normalize(kind, file, forced, output, rejects, refused_when_zero, source, lang, sheet=None,
              explain_mapping=False, save_mapping=None):
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
    from matcher.io.writers import format_for, write_table

    format_for(output)  # fail on a bad extension before the work, not after
    check_outputs([file], [output, rejects, save_mapping])
    if source and kind != "funders":
        raise click.ClickException("--from aides-territoires applies to funders only")
    started = time.perf_counter()
    options = {"refused_when_zero": True} if refused_when_zero else {}
    if source:
        options["source"] = source
    if sheet is not None:
        options["sheet"] = resolve_sheet(file, sheet)
    result = load_profiles(kind, file, forced, **options)
    write_table(result.frame, output, money_columns=MONEY_COLUMNS)
    if rejects:
        write_rejects(result, rejects)
    if save_mapping:
        save_mapping_file(result, save_mapping)
    if explain_mapping:
        click.echo("\n".join(explain_lines(result, lang)))
    elapsed = time.perf_counter() - started
    click.echo(f"{accounting_line(result.summary, lang)} → {output} ({elapsed:.1f} s)", err=True)

"""``coopmatch batch``: every project against every funder row, top K both ways, to a folder.

Registered on the main group in :mod:`matcher.cli`.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from pathlib import Path

import click

from matcher.cli.common import (
    lang_option,
    load_profiles,
    parse_run_date,
    parse_weights,
    require_rows,
    waive_unstated,
    weights_file_option,
)
from matcher.cli.workspace_runs import (
    open_for_ranking,
    read_project_ids,
    require_inputs,
    unknown_ids_message,
    workspace_option,
)

BATCH_FORMATS = ("csv", "parquet", "html")
#: Lines of funders_for_projects shown in the HTML report of a batch (the CSV has them all).
HTML_MAX_LINES = 2000
#: Runs expected to take less than this many pairs show no progress bar.
PROGRESS_MIN_PAIRS = 20_000_000


@click.command()
@weights_file_option
@click.option("--projects", "projects_path", default=None, type=click.Path(), help="Projects file or folder.")
@click.option("--funders", "funders_path", default=None, type=click.Path(), help="Funders file or folder.")
@workspace_option
@click.option("--project-ids", "ids_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Rank only these projects: a .txt file with one id per line, or a file with a project_id "
                   "column. With --workspace, only those profiles are read from it.")
@click.option("--history", "history_path", type=click.Path(), default=None,
              help="Grant history file (for the history criterion, when there is one).")
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True,
              help="Funder rows kept per project, and projects kept per funder row (funder and call).")
@click.option("--date", "run_date", default=None, metavar="DATE",
              help="Run date for open calls, dd/mm/yyyy or ISO (default: today).")
@click.option("--weight", "weights", multiple=True, metavar="CRITERION=W",
              help="Override a criterion weight for this run (repeatable).")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Threads scoring blocks at the same time (output is the same for any value).")
@click.option("--format", "fmt", type=click.Choice(BATCH_FORMATS), default="csv", show_default=True,
              help="Format of the two ranked files; html writes them as CSV plus OUTDIR/report.html.")
@click.option("--engine", type=click.Choice(("local", "dask")), default="local", show_default=True,
              help="Where chunks run: threads here, or tasks on a Dask cluster (pip install 'coopmatch[dask]').")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Dask scheduler to use with --engine dask (tcp://HOST:PORT); default: a local cluster.")
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True,
              help="Worker processes of the local Dask cluster (--engine dask without --scheduler).")
@click.option("--chunk-size", type=click.IntRange(min=1), default=100_000, show_default=True,
              help="Projects per chunk; each chunk is written to OUTDIR/parts as it is done. With --engine dask "
                   "and no --chunk-size, at most that, cut into as many chunks for each worker.")
@click.option("--resume", is_flag=True,
              help="Skip the chunks an interrupted run with the same inputs and parameters left in OUTDIR/parts.")
@click.option("--quiet", is_flag=True, help="No progress bar and no closing line.")
@click.option("-o", "--output", "outdir", required=True, type=click.Path(file_okay=False),
              help="Output folder (created if missing).")
@lang_option
def batch(projects_path, funders_path, workspace_path, ids_path, history_path, top, run_date, weights, jobs, fmt,
          engine, scheduler, workers, chunk_size, resume, quiet, outdir, lang):
    """Rank every project against every funder row, top K both ways, into a folder.

    Writes OUTDIR/funders_for_projects.<ext> (the best funder rows of each
    project), OUTDIR/projects_for_funders.<ext> (the best projects of each
    funder and call), both with the columns of funders-for, and
    OUTDIR/summary.json (counts, rejected rows, eligibility counts, timings,
    parameters). Each file is written atomically.

    \b
    Examples:
      coopmatch batch --projects projets.csv --funders financeurs.csv -o resultats
      coopmatch batch --projects projets.csv --funders financeurs.csv --top 20 --jobs 2 --format parquet -o out
      coopmatch batch --projects projets.csv --funders financeurs.yaml --format html -o resultats
      coopmatch batch --workspace appel.coopmatch -o resultats
      coopmatch batch --workspace appel.coopmatch --project-ids lot2.txt -o lot2
      coopmatch batch --projects national.csv --funders aides.csv --jobs 2 --format parquet -o out
      coopmatch batch --projects national.csv --funders aides.csv --jobs 2 --format parquet -o out --resume
      coopmatch batch --projects p.csv --funders f.csv --engine dask --scheduler tcp://10.0.0.5:8786 -o out

    Projects run in chunks (--chunk-size); each chunk's rows go to OUTDIR/parts, then the
    final files are assembled from them and the parts removed. After an interruption,
    --resume picks up after the last chunk done (same inputs and parameters only). The
    files are the same bytes whatever the engine, --jobs, --chunk-size or --resume.
    """
    stack_close: list = []  # the reading child, the spill, the Dask cluster: closed however the run ends
    given = click.get_current_context().get_parameter_source("chunk_size") is not click.core.ParameterSource.DEFAULT
    try:
        _batch(projects_path, funders_path, workspace_path, ids_path, history_path, top, run_date, weights, jobs,
               fmt, engine, scheduler, workers, chunk_size, resume, quiet, outdir, lang, stack_close,
               chunk_size_given=given)
    finally:
        for close in reversed(stack_close):  # last opened, first closed
            close()


#: The project fields read by the eligibility rules said once when no project states them
#: (``said_once_when_unstated``): the reading child gathers their distinct values. Written out
#: rather than read from the rules so that the child is forked before the engine is imported
#: (scikit-learn and numba, about 1.5 s, then overlap the read); a test checks it against
#: :func:`matcher.engine.eligibility.default_rules`.
SAID_ONCE_FIELDS = ("instruments_sought",)


def _stream_projects(path, rows):
    """The projects file being read and normalised by a child process, in pieces when it can be
    (matcher.io.streaming); its ``result()`` is (projects, sorted spill or None when read whole)."""
    from matcher.io import streaming

    return streaming.stream_projects_apart(path, rows, witness_columns=SAID_ONCE_FIELDS)


def _fitted(weights, run_date, lang, top, funders, history_frame):
    """The matcher of this run, fitted on the funders (and the history, when there is one)."""
    from matcher.engine.model import Matcher

    matcher = Matcher(weights=parse_weights(weights), date=parse_run_date(run_date), lang=lang, top=top)
    return matcher.fit(funders.frame, history=history_frame)


def _batch(projects_path, funders_path, workspace_path, ids_path, history_path, top, run_date, weights, jobs, fmt,
           engine, scheduler, workers, chunk_size, resume, quiet, outdir, lang, stack_close, chunk_size_given=True):
    from matcher.core.errors import CoopmatchError

    timings: dict[str, float] = {}
    source = dask = matcher = fit_error = None
    started = time.perf_counter()
    out = Path(outdir)
    if out.exists() and not out.is_dir():
        raise click.ClickException(f"'{outdir}' exists and is not a folder")
    inputs = [p for p in (projects_path, funders_path, history_path) if p]
    if any(Path(p).resolve() == out.resolve() for p in inputs):
        raise click.ClickException(f"'{outdir}' is an input of this command; choose another output folder")
    for ancestor in out.parents:  # a file on the way: say so now, not after the whole computation
        if ancestor.exists() and not ancestor.is_dir():
            raise click.ClickException(f"cannot create '{outdir}': '{ancestor}' is a file, not a folder")

    clock = time.perf_counter()
    require_inputs(workspace_path, **{"--projects": projects_path, "--funders": funders_path})
    project_ids = read_project_ids(ids_path) if ids_path else None
    ws = open_for_ranking(workspace_path, lang, project_ids,
                          **{"--projects": projects_path, "--funders": funders_path})
    if ws:
        projects, funders = ws.inputs
        projects_path = funders_path = f"workspace {workspace_path}"
        history_frame = ws.history(history_path)
    else:
        streaming = None
        # Read and normalised by a child process while this one reads the funders, in pieces when the
        # file allows it (not with a history: the chance of award reads every project's fields).
        if fmt != "html" and project_ids is None and not history_path:
            streaming = _stream_projects(projects_path, chunk_size)
            stack_close.append(streaming.close)
        if engine == "dask" and fmt != "html":  # the workers start (and import) while the projects are read
            dask = _Dask(scheduler, workers)
            stack_close.append(dask.close)
        try:
            funders, funders_error = load_profiles("funders", funders_path, {}), None
        except CoopmatchError as error:  # said after the projects' own error, if they have one
            funders, funders_error = None, error
        if streaming is not None and funders_error is None and len(funders.frame):
            # The funder side is fitted while the child still reads the projects (no history here);
            # an error of the fit is said after those of the inputs, as when it comes after them.
            clock_fit = time.perf_counter()
            try:
                matcher = _fitted(weights, run_date, lang, top, funders, None)
            except (click.ClickException, CoopmatchError) as error:
                fit_error = error
            timings["fit"] = time.perf_counter() - clock_fit
        if streaming is not None:
            projects, source = streaming.result()
            if source is not None:
                stack_close.append(source.close)
        else:
            projects = load_profiles("projects", projects_path, {})
        if funders_error is not None:
            raise funders_error
        if project_ids is not None:
            projects = _only(projects, project_ids, projects_path)
    history = load_profiles("history", history_path, {}) if history_path and not ws else None
    if not ws:
        history_frame = None if history is None else history.frame
    timings["read_normalise"] = time.perf_counter() - clock  # with the fit, when it ran meanwhile
    if source is not None:
        if not len(source):
            raise click.ClickException(f"no usable project in '{projects_path}' "
                                       f"({projects.summary['rows_rejected']} row(s) rejected)")
    else:
        require_rows(projects, "project", projects_path)
    require_rows(funders, "funder", funders_path)

    clock = time.perf_counter()
    if fit_error is not None:
        raise fit_error
    if matcher is None:
        matcher = _fitted(weights, run_date, lang, top, funders, history_frame)
    # Streamed: the distinct values of the columns the rules said once read stand for the whole file.
    waive_unstated(matcher, source.witness if source is not None else projects.frame, lang)
    timings["fit"] = timings.get("fit", 0.0) + time.perf_counter() - clock
    from matcher.cli.award_output import add_p_award, award_model_for, slim_projects

    clock = time.perf_counter()
    award = award_model_for(matcher, history_frame, lang)
    award_projects = slim_projects(projects.frame) if award is not None else None
    award_year = int(str(matcher.run_date_)[:4])

    def with_p_award(written_paths):
        if award is not None:
            add_p_award(written_paths, award, award_projects, award_year)

    if award is not None:
        timings["award_fit"] = time.perf_counter() - clock

    n_projects = len(source) if source is not None else len(projects.frame)
    show = not quiet and sys.stderr.isatty() and n_projects * len(matcher.funders_) >= PROGRESS_MIN_PAIRS
    out.mkdir(parents=True, exist_ok=True)
    data_fmt = "csv" if fmt == "html" else fmt
    paths = {name: out / f"{name}.{data_fmt}" for name in ("funders_for_projects", "projects_for_funders")}
    shown: list = []  # the first lines of funders_for_projects, for the HTML report
    kept: list = []  # with a workspace: every line of funders_for_projects, for the run record
    asked = top + (ws.extra if ws else 0)

    def keep_for_report(frame):
        if fmt == "html" and sum(len(f) for f in shown) < HTML_MAX_LINES:
            shown.append(frame.head(HTML_MAX_LINES - sum(len(f) for f in shown)))

    chunked = not ws and fmt != "html"
    if not chunked and (resume or engine != "local"):
        raise click.ClickException("--resume and --engine dask work with --format csv or parquet, "
                                   "without --workspace")
    if chunked:
        _run_chunked(matcher, projects, funders, history, projects_path, funders_path, history_path, ids_path, top=top,
                     jobs=jobs, fmt=fmt, chunk_size=chunk_size, resume=resume, quiet=quiet, out=out, lang=lang,
                     weights=weights, timings=timings, started=started, paths=paths, source=source,
                     with_p_award=with_p_award, dask=dask, chunk_size_given=chunk_size_given)
        return
    from matcher.engine.batch import CsvWriter, run_batch
    from matcher.io.writers import write_table

    with contextlib.ExitStack() as stack:
        advance = stack.enter_context(_progress(show, n_projects, lang))
        if data_fmt == "csv":  # funders_for_projects is written as its blocks are scored (flat memory)
            writer = stack.enter_context(CsvWriter(paths["funders_for_projects"]))

            def sink(frame):
                if ws:
                    frame = ws.hide(frame, ["project_id"], top)
                    kept.append(frame)
                writer.write(frame)
                keep_for_report(frame)

            result = run_batch(matcher, projects.frame, top=asked, jobs=jobs, progress=advance,
                               on_project_rows=sink)
        else:
            result = run_batch(matcher, projects.frame, top=asked, jobs=jobs, progress=advance)
    timings.update(result.timings)
    if ws:
        if data_fmt != "csv":
            result.funders_for_projects = ws.hide(result.funders_for_projects, ["project_id"], top)
            kept = [result.funders_for_projects]
        result.funders_for_projects_rows = sum(len(f) for f in kept)
        result.projects_for_funders = ws.hide(result.projects_for_funders, ["funder_id", "call_id"], top)

    clock = time.perf_counter()
    if fmt == "html":
        if award is not None:
            from matcher.engine.award import p_award_of_lines

            shown = [f.assign(p_award=p_award_of_lines(award, award_projects, f, award_year))[
                list(f.columns[:list(f.columns).index("score") + 1]) + ["p_award"]
                + list(f.columns[list(f.columns).index("score") + 1:])] for f in shown]
        _write_report(shown, projects, funders, matcher, out / "report.html", lang,
                      projects_file=projects_path, funders_file=funders_path, top=top, weights=weights)
        paths["report"] = out / "report.html"
    if data_fmt == "csv":  # the bytes of write_table, faster on large frames
        with CsvWriter(paths["projects_for_funders"]) as writer:
            writer.write(result.projects_for_funders)
    else:
        for name, frame in (("funders_for_projects", result.funders_for_projects),
                            ("projects_for_funders", result.projects_for_funders)):
            paths[name] = write_table(frame, paths[name], fmt=fmt)
    timings["write"] = time.perf_counter() - clock + timings.pop("write_streamed", 0.0)
    clock = time.perf_counter()
    with_p_award(paths)
    if award is not None:
        timings["award"] = time.perf_counter() - clock
    timings["total"] = time.perf_counter() - started

    _write_summary(out, projects, funders, history, projects_path, funders_path, history_path, matcher,
                   result.pairs, result.eligibility_counts, paths,
                   (result.funders_for_projects_rows, len(result.projects_for_funders)), top=top, weights=weights,
                   jobs=jobs, fmt=fmt, lang=lang, timings=timings, ws=ws, workspace_path=workspace_path,
                   history_path_given=history_path, kept=kept, result=result, quiet=quiet)


def _write_summary(out, projects, funders, history, projects_path, funders_path, history_path, matcher, pairs,
                   eligibility_counts, paths, rows, *, top, weights, jobs, fmt, lang, timings, ws=None,
                   workspace_path=None, history_path_given=None, kept=(), result=None, quiet=False,
                   profiles=None):
    from matcher.core.version import VERSION as __version__
    from matcher.io.writers import write_text

    summary = {
        "coopmatch_version": __version__,
        "inputs": {
            "projects": _input_summary(projects, projects_path, profiles),
            "funders": _input_summary(funders, funders_path),
            **({"history": _input_summary(history, history_path)} if history is not None else {}),
        },
        "funder_rows": len(matcher.funders_),
        "pairs": pairs,
        "eligibility_counts": eligibility_counts,
        "outputs": {name: {"file": path.name, "rows": n} for (name, path), n in
                    zip(list(paths.items())[:2], rows, strict=True)},
        "parameters": {"top": top, "date": matcher.run_date_, "weights": dict(parse_weights(weights) or {}),
                       "jobs": jobs, "format": fmt, "lang": lang, "criteria": list(matcher.criteria_names_)},
        "timings_seconds": {k: round(v, 3) for k, v in timings.items()},
    }
    if ws:
        import pandas as pd

        summary["workspace"] = {"path": workspace_path, "dismissed_hidden": ws.hidden,
                                "run": ws.record("batch", "*", matcher, {"top": top, "weights": list(weights),
                                                                         "history": bool(history_path_given)},
                                                 by_project=pd.concat(kept, ignore_index=True) if kept else None,
                                                 by_funder=result.projects_for_funders)}
    write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n", out / "summary.json")
    if not quiet:
        click.echo(f"{pairs:,} pairs; {rows[0]:,} + {rows[1]:,} rows → {out}/ "
                   f"({timings['total']:.1f} s)", err=True)


def _only(loaded, project_ids: list[str], path):
    """The loaded projects restricted to ``project_ids`` (file order kept); unknown ids are an error."""
    import dataclasses

    frame = loaded.frame
    known = set(frame["project_id"].tolist())
    unknown = [p for p in project_ids if p not in known]
    if unknown:
        raise click.ClickException(unknown_ids_message(unknown, f"'{path}'"))
    kept = frame[frame["project_id"].isin(set(project_ids))].reset_index(drop=True)
    return dataclasses.replace(loaded, frame=kept)


class _Dask:
    """A Dask client of ``scheduler``, or of a local cluster of ``workers`` processes on loopback.
    :meth:`close` (the client, then its cluster) may be called more than once."""

    def __init__(self, scheduler, workers):
        try:
            from distributed import Client
        except ImportError:
            raise click.ClickException("--engine dask needs Dask: pip install 'coopmatch[dask]'") from None
        from matcher.engine.chunks import local_cluster

        self.cluster = None if scheduler else local_cluster(workers)
        self.client = Client(scheduler or self.cluster)

    def workers(self) -> int:
        """The cluster's workers now (at least 1)."""
        return max(1, len(self.client.scheduler_info().get("workers", {})))

    def close(self) -> None:
        for part in (self.client, self.cluster):
            if part is not None:
                part.close()
        self.client = self.cluster = None


def _run_chunked(matcher, projects, funders, history, projects_path, funders_path, history_path, ids_path, *, top,
                 jobs, fmt, chunk_size, resume, quiet, out, lang, weights, timings, started,
                 paths, source=None, with_p_award=None, dask=None, chunk_size_given=True) -> None:
    """The batch in chunks (matcher.engine.chunks): parts, manifest, resume, local threads, or Dask
    tasks when ``dask`` (a :class:`_Dask`, started by the caller while the projects were read)."""
    import shutil

    from matcher.core.errors import CoopmatchError
    from matcher.engine.chunks import assemble, balanced_chunk_size, file_hash, run_chunks

    clock = time.perf_counter()
    if source is not None:  # streamed: already sorted, read a chunk at a time
        frame = source
    else:
        frame = matcher.sorted_projects(projects.frame)
        projects.frame = None  # the sorted copy is the only one held from here on
    timings["sort_projects"] = time.perf_counter() - clock
    if dask is not None and not chunk_size_given:  # as many chunks for each worker
        chunk_size = balanced_chunk_size(len(frame), chunk_size, dask.workers())
    params = {"top": top, "date": matcher.run_date_, "weights": sorted(weights), "format": fmt, "lang": lang,
              "criteria": list(matcher.criteria_names_), "chunk_size": chunk_size}
    inputs = {"projects": file_hash(projects_path), "funders": file_hash(funders_path),
              "history": file_hash(history_path) if history_path else None}
    blob = json.dumps({"inputs": inputs, "parameters": params}, sort_keys=True, default=str)
    import hashlib

    fingerprint = {"inputs": inputs, "parameters": json.loads(blob)["parameters"],
                   "hash": hashlib.sha256(blob.encode()).hexdigest()}
    say = None if quiet else (lambda text: click.echo(text, err=True))
    parts_dir = out / "parts"
    clock = time.perf_counter()
    try:
        done = run_chunks(matcher, frame, top, parts_dir, fmt, fingerprint, jobs=jobs, chunk_size=chunk_size,
                          resume=resume, client=dask and dask.client, progress=say)
    except CoopmatchError as error:
        raise click.ClickException(str(error)) from None
    finally:
        if dask is not None:  # the workers' memory goes back before the assembly
            dask.close()
    if done.resumed and say:
        say(f"resumed: {done.resumed} of {done.chunks} chunk(s) were already done")
    timings.update(done.timings)
    timings["chunks"] = time.perf_counter() - clock  # all of the chunks' stages, with the parts written
    clock = time.perf_counter()
    rows = assemble(parts_dir, done.chunks, fmt, top, paths)
    shutil.rmtree(parts_dir)
    if with_p_award is not None:
        with_p_award(paths)
    timings["write"] = time.perf_counter() - clock
    timings["total"] = time.perf_counter() - started
    _write_summary(out, projects, funders, history, projects_path, funders_path, history_path, matcher,
                   len(frame) * len(matcher.funders_), done.eligibility_counts, paths,
                   (rows["funders_for_projects"], rows["projects_for_funders"]), top=top, weights=weights,
                   jobs=jobs, fmt=fmt, lang=lang, timings=timings, quiet=quiet, profiles=len(frame))


def _write_report(shown, projects, funders, matcher, path, lang, **params) -> None:
    """One HTML report of the run: the first lines of funders_for_projects, explained."""
    import pandas as pd

    from matcher.cli.common import ranking_report
    from matcher.report.html import write_html

    ranked = pd.concat(shown, ignore_index=True) if shown else pd.DataFrame(
        columns=["project_id", "funder_id", "call_id", "rank", "score", "eligibility", "reasons",
                 "project_name", "funder_name"])
    write_html(ranking_report(ranked, projects, funders, projects.frame, matcher, "batch", lang, **params), path)


def _input_summary(loaded, path, profiles=None) -> dict:
    s = loaded.summary
    return {"file": str(path), "rows_read": s["rows_read"], "rows_normalised": s["rows_normalised"],
            "rows_rejected": s["rows_rejected"], "warnings": s["warnings"],
            "profiles": len(loaded.frame) if profiles is None else profiles}


@contextlib.contextmanager
def _progress(show: bool, total: int, lang: str):
    """A rich progress bar on stderr when ``show``; yields ``advance(n)``."""
    if not show:
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    columns = (TextColumn("projets" if lang == "fr" else "projects"), BarColumn(), MofNCompleteColumn(),
               TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("batch", total=total)
        yield lambda n: bar.advance(task, n)

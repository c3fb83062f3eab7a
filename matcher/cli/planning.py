"""``plan`` (a co-financing plan for one project) and ``allocate`` (an envelope across applications).

Exit codes: 0 done; 1 the data cannot give a plan or an allocation (a project without a budget, an unknown
value, constraints that cannot hold), with ``Error: …``; 2 a malformed option (an envelope ≤ 0, a share
above 1, an unknown dimension), as Click does for usage mistakes.
"""

from __future__ import annotations

import click

from matcher.cli.common import OUTPUT_FORMATS, echo_machine_table, fit_matcher, lang_option, load_normalized
from matcher.cli.workspace_runs import open_for_ranking, require_inputs, workspace_option


def _euros(value, lang: str = "fr") -> str:
    from matcher.planning.render import money

    return money(value, lang)


def _share(value: str, name: str, lang: str = "fr") -> float:
    from matcher.planning.texts import t

    try:
        share = float(str(value).replace(",", "."))
    except ValueError:
        raise click.BadParameter(t("err.share_text", lang, value=value), param_hint=name) from None
    if not 0 <= share <= 1:
        raise click.BadParameter(t("err.share_range", lang, value=f"{share:g}"), param_hint=name)
    return share


def _check(value, known, what: str, lang: str) -> None:
    """Refuse an id that is not among ``known``, suggesting the close ones (in ``lang``)."""
    from matcher.planning.texts import unknown

    if value not in {k for k in known if k is not None}:
        raise click.ClickException(unknown(what, value, known, lang))


def _write(frame, fmt, output, lang, html_page=None, workbook=None):
    """Write the machine table (csv/json), the HTML page or the workbook, to ``output`` or stdout."""
    from matcher.io.writers import write_table, write_text
    from matcher.planning.texts import t

    if fmt == "xlsx" and not output:
        raise click.ClickException(t("err.xlsx_output", lang))
    if fmt == "html":
        text = html_page()
        if output:
            write_text(text, output)
        else:
            click.echo(text, nl=False)
        return
    if fmt == "xlsx" and workbook is not None:
        workbook(output)
        click.echo(t("rows", lang, n=len(frame), path=output), err=True)
        return
    if output:
        write_table(frame, output, fmt=fmt, money_columns=())
        click.echo(t("rows", lang, n=len(frame), path=output), err=True)
        return
    echo_machine_table(frame, fmt)


@click.command("plan")
@click.argument("projects_path", metavar="PROJECTS", type=click.Path(), required=False)
@click.option("--project", "project_id", required=True, help="The project id.")
@click.option("--funders", "funders_path", type=click.Path(), default=None,
              help="Funders file or folder (default: the built-in sample).")
@workspace_option
@click.option("--date", "run_date", default=None, metavar="DATE", help="Run date for open calls (default: today).")
@click.option("--self-funding", "self_funding", default="0", show_default=True, metavar="SHARE",
              help="Share of the budget the carrier funds itself.")
@click.option("--public-cap", "public_cap", default="0.8", show_default=True, metavar="SHARE",
              help="Most of the budget public aid may cover.")
@click.option("--max-applications", type=click.IntRange(min=1), default=None, help="At most this many asks.")
@click.option("--alternatives", type=click.IntRange(min=0), default=2, show_default=True,
              help="Next best plans with a different set of funders.")
@click.option("--format", "fmt", type=click.Choice(OUTPUT_FORMATS), default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="Write to this file.")
@lang_option
def plan(projects_path, project_id, funders_path, workspace_path, run_date, self_funding, public_cap,
         max_applications, alternatives, fmt, output, lang):
    """Build a co-financing plan for one project: which funders to ask and how much (a MILP, HiGHS).

    The plan covers the need (budget − secured funding − self-funding) as fully as
    possible with eligible or to-check funders, each ask within the funder's ticket
    range and maximum share of the budget, public aid at most --public-cap of the
    budget, one ask per funder; then the next best distinct plans.

    \b
    Examples:
      coopmatch plan --project P001 projets.csv --date 2026-12-01
      coopmatch plan --project P002 projets.csv --self-funding 0.1 --format csv -o plan.csv
      coopmatch plan --project P001 --workspace appel.coopmatch
    """
    from matcher import PlanOptions, plan_financing

    options = PlanOptions(self_funding=_share(self_funding, "--self-funding", lang),
                          public_cap=_share(public_cap, "--public-cap", lang), max_applications=max_applications,
                          alternatives=alternatives, lang=lang)
    require_inputs(workspace_path, PROJECTS=projects_path)
    ws = open_for_ranking(workspace_path, lang, PROJECTS=projects_path, **{"--funders": funders_path})
    projects_in, funders_in = ws.inputs if ws else load_normalized(projects_path, funders_path, lang)
    projects, funders = projects_in.frame, funders_in.frame
    _check(project_id, projects["project_id"].tolist(), "project id", lang)
    one = projects[projects["project_id"] == project_id]
    matcher = fit_matcher(funders, (), run_date, lang, None, projects=projects)
    ranked = matcher.rank_funders(one, top=None)
    result = plan_financing(one.iloc[0].to_dict(), ranked, funders, options)
    lines = result.lines()
    if ws:
        best = lines[(lines["plan"] == 1) & (lines["kind"] == "funder")]
        picked = ranked.merge(best[["funder_id", "call_id"]].fillna(""), how="inner",
                              left_on=[ranked["funder_id"], ranked["call_id"].fillna("")],
                              right_on=["funder_id", "call_id"], suffixes=("", "_plan"))
        ws.record("plan", project_id, matcher, {**options.__dict__}, by_project=picked[ranked.columns])
    title = f"{project_id} — {result.project_name}"
    if fmt == "table":
        click.echo(plan_text(result, title, matcher.run_date_, lang))
        return
    from matcher.planning.render import plan_html, write_plan_workbook

    _write(lines, fmt, output, lang, html_page=lambda: plan_html(result, title, matcher.run_date_, lang),
           workbook=lambda path: write_plan_workbook(result, path, title, matcher.run_date_, lang))


def plan_text(result, title: str, run_date: str, lang: str = "fr") -> str:
    from matcher.planning.render import resource_rows
    from matcher.planning.texts import t

    out = [t("plan.title", lang, title=title) + " — " + t("plan.on", lang, date=run_date),
           t("plan.summary", lang, budget=_euros(result.budget, lang), secured=_euros(result.secured, lang),
             own=_euros(result.self_funding, lang), need=_euros(result.need, lang), cap=f"{result.public_cap:.0%}")]
    for p in result.plans:
        out.append("\n" + t("plan.plan", lang, rank=p.rank) + (t("plan.best", lang) if p.rank == 1 else ""))
        for r in resource_rows(p.lines, lang):
            who = r["who"]
            if r["kind"] == "funder":
                who += f" / {r['call']}" if r["call"] else ""
                who += f" [{r['instrument']}, {r['status']}"
                who += f", {t('deadline', lang, date=r['deadline'])}]" if r["deadline"] else "]"
            note = f"  — {r['notes']}" if r["notes"] else ""
            out.append(f"  {_euros(r['amount'], lang):>14}  {r['share']:>6.1%}  {who}{note}")
        public = p.lines.loc[p.lines["public"] == "true", "amount"].sum()
        out.append(f"  {_euros(p.lines['amount'].sum(), lang):>14}  100.0%  "
                   + t("plan.total", lang, public=f"{public / result.budget:.1%}"))
    for note in result.notes:
        out.append(f"Note : {note}" if lang == "fr" else f"Note: {note}")
    return "\n".join(out)


@click.command("allocate")
@click.option("--funder", "funder_id", required=True, help="The funder id.")
@click.option("--call", "call_id", default=None, help="One call of that funder.")
@click.option("--projects", "projects_path", default=None, type=click.Path(), help="Projects file.")
@click.option("--funders", "funders_path", type=click.Path(), default=None,
              help="Funders file or folder (default: the built-in sample).")
@workspace_option
@click.option("--history", "history_path", type=click.Path(), default=None,
              help="Past grant decisions (for new_recipient).")
@click.option("--envelope", required=True, type=float, help="The envelope to allocate, in euros.")
@click.option("--min-share", "min_shares", multiple=True, metavar="DIM:VALUE=SHARE",
              help="At least this share of the envelope to one dimension value (repeatable).")
@click.option("--max-share", "max_shares", multiple=True, metavar="DIM:VALUE=SHARE",
              help="At most this share of the envelope to one dimension value (repeatable).")
@click.option("--max-per-project", type=float, default=None, help="At most this amount per project.")
@click.option("--partial/--all-or-nothing", default=False, show_default=True,
              help="Partial grants (at least --floor of the request) or whole requests only.")
@click.option("--floor", "floor", default="0.5", show_default=True, metavar="SHARE",
              help="With --partial: least share of its request a funded application gets.")
@click.option("--alternatives", type=click.IntRange(min=0), default=2, show_default=True,
              help="Alternatives: without each binding share constraint, then the next best allocations.")
@click.option("--date", "run_date", default=None, metavar="DATE", help="Run date for open calls (default: today).")
@click.option("--record", is_flag=True, help="With --workspace: record the allocation as shortlisted decisions.")
@click.option("--format", "fmt", type=click.Choice(OUTPUT_FORMATS), default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="Write to this file.")
@lang_option
def allocate(funder_id, call_id, projects_path, funders_path, workspace_path, history_path, envelope, min_shares,
             max_shares, max_per_project, partial, floor, alternatives, run_date, record, fmt, output, lang):
    """Allocate a funder's envelope across the eligible applications, under share constraints (a MILP, HiGHS).

    Dimensions: region, department, sector, legal_form, ess, new_recipient; a
    share is of the envelope's amount. The committee pack lists the funded
    projects, which constraints bind, the projects just below the line and why,
    the balance by dimension, and the alternatives side by side.

    \b
    Examples:
      coopmatch allocate --funder F-FDD-TERRES --projects projets.csv --envelope 200000 \\
          --max-share region:84=0.4
      coopmatch allocate --funder F-REG-AURA-TL --call AAP-TL-2026 --projects projets.csv \\
          --envelope 500000 --min-share department:26=0.2 --partial --format csv -o allocation.csv
    """
    from matcher import AllocationOptions, allocate_envelope, parse_share
    from matcher.planning.applications import applications, resolve_share
    from matcher.planning.texts import t

    if envelope <= 0:
        raise click.BadParameter(t("err.envelope", lang, value=f"{envelope:g}"), param_hint="--envelope")
    shares = []
    for kind, texts in (("min", min_shares), ("max", max_shares)):
        for text in texts:
            try:
                shares.append(parse_share(kind, text, lang))
            except ValueError as err:
                raise click.BadParameter(str(err), param_hint=f"--{kind}-share") from None
    if record and not workspace_path:
        raise click.UsageError(t("err.record", lang))
    require_inputs(workspace_path, **{"--projects": projects_path})
    ws = open_for_ranking(workspace_path, lang, **{"--projects": projects_path, "--funders": funders_path})
    projects_in, funders_in = ws.inputs if ws else load_normalized(projects_path, funders_path, lang)
    projects, funders = projects_in.frame, funders_in.frame
    _check(funder_id, funders["funder_id"].tolist(), "funder id", lang)
    if call_id is not None:
        _check(call_id, funders.loc[funders["funder_id"] == funder_id, "call_id"].tolist(),
               f"call id for funder {funder_id}", lang)
    history = ws.history(history_path) if ws else None
    if history is None and history_path:
        from matcher.cli.common import load_profiles

        history = load_profiles("history", history_path, {}).frame
    shares = [resolve_share(s, history is not None, lang) for s in shares]
    matcher = fit_matcher(funders, (), run_date, lang, None, projects=projects)
    ranked = matcher.rank_projects(projects, funder_id, call_id=call_id, top=None)
    apps, notes = applications(ranked, projects, funders, funder_id, max_per_project, history, lang)
    options = AllocationOptions(envelope=envelope, shares=tuple(shares), max_per_project=max_per_project,
                                partial=partial, floor=_share(floor, "--floor", lang), alternatives=alternatives,
                                lang=lang)
    result = allocate_envelope(apps, options)
    table = result.table()
    if ws:
        best = table[table["alternative"] == 1]
        picked = ranked[ranked["project_id"].isin(set(best["project_id"]))]
        ws.record("allocate", funder_id + (f"/{call_id}" if call_id else ""), matcher,
                  {"envelope": envelope, "shares": [s.label for s in shares], "partial": partial},
                  by_funder=picked)
        if record:
            for row in best.to_dict("records"):
                app = apps[apps["project_id"] == row["project_id"]].iloc[0]
                ws.ws.decide(row["project_id"], funder_id, "shortlisted", call_id=app["call_id"],
                             amount=float(row["amount"]), reason="coopmatch allocate")
            click.echo(t("recorded", lang, n=len(best)), err=True)
    if fmt == "table":
        click.echo(allocation_text(result, notes, lang))
        return
    from matcher.planning.render import allocation_html, write_allocation_workbook

    name = funder_id + (f" / {call_id}" if call_id else "")
    _write(table, fmt, output, lang, html_page=lambda: allocation_html(result, notes, name, matcher.run_date_, lang),
           workbook=lambda path: write_allocation_workbook(result, notes, path, lang))


def allocation_text(result, notes, lang: str = "fr") -> str:
    from matcher.planning.render import allocation_summary, pack_sections

    out = []
    for k, (head, body) in enumerate(pack_sections(result, notes, lang)):
        out.append(f"\n== {head}")
        if isinstance(body, str):
            out.append(body)
        elif body.empty:
            out.append("—")
        else:
            drop = [c for c in ("alternative", "new_recipient") if c in body.columns and k == 0]
            out.append(body.drop(columns=drop).to_string(index=False))
    out.append("\n" + allocation_summary(result, lang))
    return "\n".join(out).lstrip("\n")

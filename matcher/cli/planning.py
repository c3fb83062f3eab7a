"""``plan`` (a co-financing plan for one project) and ``allocate`` (an envelope across applications).

Exit codes: 0 done; 1 the data cannot give a plan or an allocation (a project without a budget, an unknown
value, constraints that cannot hold), with ``Error: …``; 2 a malformed option (an envelope ≤ 0, a share
above 1, an unknown dimension), as Click does for usage mistakes.
"""

from __future__ import annotations

import click

from matcher.cli.common import OUTPUT_FORMATS, check_call, check_id, fit_matcher, lang_option, load_normalized
from matcher.cli.workspace_runs import open_for_ranking, require_inputs, workspace_option


def _euros(value) -> str:
    return f"{value:,.0f} €".replace(",", "\u202f")


def _share(value: str, name: str) -> float:
    try:
        share = float(str(value).replace(",", "."))
    except ValueError:
        raise click.BadParameter(f"expected a share between 0 and 1, got '{value}'", param_hint=name) from None
    if not 0 <= share <= 1:
        raise click.BadParameter(f"a share is between 0 and 1, got {share:g}", param_hint=name)
    return share


def _write(frame, fmt, output, html_text, lang):
    from matcher.io.writers import write_table

    if fmt == "xlsx" and not output:
        raise click.ClickException("--format xlsx needs -o FILE.xlsx")
    if fmt == "html":
        if output:
            from pathlib import Path

            Path(output).write_text(html_text, encoding="utf-8")
        else:
            click.echo(html_text, nl=False)
        return
    if output:
        write_table(frame, output, fmt=fmt, money_columns=())
        click.echo(f"{len(frame)} {'lignes' if lang == 'fr' else 'rows'} → {output}", err=True)
        return
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


def _html(title: str, sections: list[tuple[str, object]]) -> str:
    from html import escape

    parts = [f"<!doctype html><html lang=\"fr\"><meta charset=\"utf-8\"><title>{escape(title)}</title>",
             "<style>body{font-family:sans-serif;max-width:60em;margin:auto}td,th{padding:.2em .6em;"
             "border-bottom:1px solid #ddd;text-align:left}</style>", f"<h1>{escape(title)}</h1>"]
    for head, body in sections:
        parts.append(f"<h2>{escape(head)}</h2>")
        if isinstance(body, str):
            parts.append(f"<p>{escape(body)}</p>")
        else:
            parts.append("<table><tr>" + "".join(f"<th>{escape(str(c))}</th>" for c in body.columns) + "</tr>")
            for row in body.itertuples(index=False, name=None):
                parts.append("<tr>" + "".join(f"<td>{escape('' if v is None or v != v else str(v))}</td>"
                                              for v in row) + "</tr>")
            parts.append("</table>")
    return "\n".join(parts) + "\n</html>\n"


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

    options = PlanOptions(self_funding=_share(self_funding, "--self-funding"),
                          public_cap=_share(public_cap, "--public-cap"), max_applications=max_applications,
                          alternatives=alternatives)
    require_inputs(workspace_path, PROJECTS=projects_path)
    ws = open_for_ranking(workspace_path, lang, PROJECTS=projects_path, **{"--funders": funders_path})
    projects_in, funders_in = ws.inputs if ws else load_normalized(projects_path, funders_path, lang)
    projects, funders = projects_in.frame, funders_in.frame
    check_id(project_id, projects["project_id"].tolist(), "project id")
    one = projects[projects["project_id"] == project_id]
    matcher = fit_matcher(funders, (), run_date, lang, None)
    ranked = matcher.rank_funders(one, top=max(1, len(funders)))
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
        click.echo(plan_text(result, title, matcher.run_date_))
        return
    _write(lines, fmt, output, _html(f"Plan de financement — {title}",
           [(f"Plan {p.rank}", p.lines) for p in result.plans] + [("Notes", " ; ".join(result.notes))]), lang)


def plan_text(result, title: str, run_date: str) -> str:
    out = [f"Plan de financement / financing plan — {title} (on {run_date})",
           f"Budget {_euros(result.budget)} ; secured {_euros(result.secured)} ; self-funding "
           f"{_euros(result.self_funding)} ; need {_euros(result.need)} ; public cap {result.public_cap:.0%}"]
    for p in result.plans:
        out.append(f"\nPlan {p.rank}" + (" (best)" if p.rank == 1 else ""))
        for r in p.lines.to_dict("records"):
            who = {"secured": "Financements acquis / secured", "self": "Autofinancement / self-funding",
                   "gap": "Reste à financer / gap"}.get(r["kind"])
            if who is None:
                who = r["funder_name"] + (f" / {r['call_title'] or r['call_id']}" if r["call_id"] else "")
                who += f" [{r['instrument']}{', public' if r['public'] == 'true' else ''}, {r['eligibility']}"
                who += f", deadline {r['deadline']}]" if r["deadline"] else "]"
            note = f"  — {r['notes']}" if isinstance(r["notes"], str) and r["notes"] else ""
            out.append(f"  {_euros(r['amount']):>14}  {r['share_of_budget']:>6.1%}  {who}{note}")
        public = p.lines.loc[p.lines["public"] == "true", "amount"].sum()
        out.append(f"  {_euros(p.lines['amount'].sum()):>14}  100.0%  Total = budget ; public aid "
                   f"{public / result.budget:.1%} of the budget")
    for note in result.notes:
        out.append(f"Note: {note}")
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

    if envelope <= 0:
        raise click.BadParameter(f"the envelope must be a positive amount, got {envelope:g}", param_hint="--envelope")
    shares = []
    for kind, texts in (("min", min_shares), ("max", max_shares)):
        for text in texts:
            try:
                shares.append(parse_share(kind, text))
            except ValueError as err:
                raise click.BadParameter(str(err), param_hint=f"--{kind}-share") from None
    if record and not workspace_path:
        raise click.UsageError("--record needs --workspace WS")
    require_inputs(workspace_path, **{"--projects": projects_path})
    ws = open_for_ranking(workspace_path, lang, **{"--projects": projects_path, "--funders": funders_path})
    projects_in, funders_in = ws.inputs if ws else load_normalized(projects_path, funders_path, lang)
    projects, funders = projects_in.frame, funders_in.frame
    check_id(funder_id, funders["funder_id"].tolist(), "funder id")
    check_call(call_id, funders, funder_id)
    history = ws.history(history_path) if ws else None
    if history is None and history_path:
        from matcher.cli.common import load_profiles

        history = load_profiles("history", history_path, {}).frame
    shares = [resolve_share(s, history is not None) for s in shares]
    matcher = fit_matcher(funders, (), run_date, lang, None)
    ranked = matcher.rank_projects(projects, funder_id, call_id=call_id, top=max(1, len(projects)))
    apps, notes = applications(ranked, projects, funders, funder_id, max_per_project, history)
    options = AllocationOptions(envelope=envelope, shares=tuple(shares), max_per_project=max_per_project,
                                partial=partial, floor=_share(floor, "--floor"), alternatives=alternatives)
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
            click.echo(f"{len(best)} shortlisted decision(s) recorded", err=True)
    if fmt == "table":
        click.echo(allocation_text(result, notes))
        return
    _write(table, fmt, output, _html(f"Allocation — {funder_id}", pack_sections(result, notes)), lang)


def pack_sections(result, notes):
    import pandas as pd

    from matcher.planning.allocate import balance, below_the_line, binding

    best = result.allocations[0]
    opts = result.options
    table = result.table()
    bound = {s.label for s in binding(result.applications, opts, best.amounts)}
    constraints = pd.DataFrame([{"constraint": s.label, "binding": s.label in bound} for s in opts.shares],
                               columns=["constraint", "binding"])
    below = pd.DataFrame(below_the_line(result.applications, opts, best.amounts), columns=["project_id", "why"])
    return [("Funded", table[table["alternative"] == 1]), ("Constraints", constraints), ("Below the line", below),
            ("Balance", balance(result.applications, best.amounts, opts.envelope)),
            ("Alternatives", alternatives_frame(result)), ("Notes", " ; ".join(notes) or "—")]


def alternatives_frame(result):
    import pandas as pd

    apps = result.applications
    best = result.allocations[0]
    rows = []
    for a in result.allocations:
        funded = a.amounts > 0
        delta = int(funded.sum() - (best.amounts > 0).sum())
        changes = []
        if a.dropped is not None:
            mask = [a.dropped.value in v for v in apps[a.dropped.dimension]]
            before = int((best.amounts > 0)[mask].sum())
            after = int(funded[mask].sum())
            changes.append(f"{a.dropped.dimension} {a.dropped.value}: {before} → {after}")
        rows.append({"alternative": a.rank, "label": a.label, "projects": int(funded.sum()),
                     "vs_best": f"{delta:+d} projects" if a.rank > 1 else "", "amount": float(a.amounts.sum()),
                     "objective": round(a.objective, 6), "changes": ", ".join(changes), "status": a.status,
                     "gap_to_bound": round(a.gap, 6)})
    return pd.DataFrame(rows)


def allocation_text(result, notes) -> str:
    out = []
    for head, body in pack_sections(result, notes):
        out.append(f"\n== {head}")
        if isinstance(body, str):
            out.append(body)
        elif body.empty:
            out.append("—")
        else:
            drop = [c for c in ("alternative", "new_recipient") if c in body.columns and head == "Funded"]
            out.append(body.drop(columns=drop).to_string(index=False))
    best = result.allocations[0]
    out.append(f"\nEnvelope {_euros(result.options.envelope)} ; allocated {_euros(best.amounts.sum())} to "
               f"{int((best.amounts > 0).sum())} project(s) ; solver: {best.status}, within {best.gap:.3%} "
               "of the LP bound")
    return "\n".join(out).lstrip("\n")

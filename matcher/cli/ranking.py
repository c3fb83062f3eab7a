"""``funders-for``, ``shortlist``, ``explain`` and ``demo``: the two rankings and the explanation of a pair."""

from __future__ import annotations

import click

from matcher.cli.common import (
    DEMO_DATE,
    check_call,
    check_id,
    check_outputs,
    emit,
    fit_matcher,
    lang_option,
    load_inputs,
    load_normalized,
    print_groups,
    print_table,
    ranking_options,
    ranking_report,
    with_chance_of_award,
)
from matcher.cli.workspace_runs import open_for_ranking, require_inputs, workspace_option


@click.command("funders-for")
@click.argument("projects_path", metavar="PROJECTS", type=click.Path(), required=False)
@click.option("--project", "project_id", default=None, help="Only this project id.")
@ranking_options
@workspace_option
def funders_for(projects_path, project_id, funders_path, top, run_date, weights, history_path,
                include_ineligible, fmt, output, lang, workspace_path):
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
      coopmatch funders-for --workspace appel.coopmatch --project P001
    """
    require_inputs(workspace_path, PROJECTS=projects_path)
    check_outputs([projects_path, funders_path, history_path, workspace_path], [output])
    ws = open_for_ranking(workspace_path, lang, PROJECTS=projects_path, **{"--funders": funders_path})
    projects_in, funders_in = ws.inputs if ws else load_normalized(projects_path, funders_path, lang)
    projects, funders = projects_in.frame, funders_in.frame
    if project_id is not None:
        check_id(project_id, projects["project_id"].tolist(), "project id")
        projects = projects[projects["project_id"] == project_id]
    matcher = fit_matcher(funders, weights, run_date, lang, top, history_path,
                          history=ws.history(history_path) if ws else None, projects=projects_in.frame)
    ranked = matcher.rank_funders(projects, top=top + (ws.extra if ws else 0), include_ineligible=include_ineligible)
    if ws:
        ranked = ws.hide(ranked, ["project_id"], top)
        ws.record("funders-for", project_id or "*", matcher, {"top": top, "weights": list(weights),
                  "include_ineligible": include_ineligible, "history": bool(history_path)}, by_project=ranked)
    ranked = with_chance_of_award(ranked, projects, matcher, lang)
    if fmt == "table":
        def title(pid, group):
            name = group["project_name"].iloc[0]
            return (f"{pid} — {name} : financeurs au {matcher.run_date_}" if lang == "fr"
                    else f"{pid} — {name}: funders on {matcher.run_date_}")

        print_groups(ranked, ranked["project_id"], title, "project", lang,
                      ("Aucun financeur éligible ou à vérifier.", "No eligible or to-check funder."))
        return
    report = ranking_report(ranked, projects_in, funders_in, projects, matcher, "funders-for", lang,
                     projects_file=projects_path, funders_file=funders_path, project_id=project_id,
                     top=top, include_ineligible=include_ineligible, weights=weights)
    emit(ranked, fmt, output, lang, "", "project", report)


@click.command()
@click.option("--funder", "funder_id", required=True, help="The funder id.")
@click.option("--call", "call_id", default=None, help="One call of that funder (default: each of its calls).")
@click.option("--projects", "projects_path", default=None, type=click.Path(), help="Projects file.")
@ranking_options
@workspace_option
def shortlist(funder_id, call_id, projects_path, funders_path, top, run_date, weights, history_path,
              include_ineligible, fmt, output, lang, workspace_path):
    """Shortlist the projects that best fit a funder or one of its calls — the fund's view.

    \b
    Examples:
      coopmatch shortlist --funder F-FDD-TERRES --projects projets.csv
      coopmatch shortlist --funder F-REG-ARA --call AAP-TL-2026 --projects projets.csv --top 20 \
          --format xlsx -o shortlist.xlsx
      coopmatch shortlist --workspace appel.coopmatch --funder F-FDD-TERRES
    """
    require_inputs(workspace_path, **{"--projects": projects_path})
    check_outputs([projects_path, funders_path, history_path, workspace_path], [output])
    ws = open_for_ranking(workspace_path, lang, **{"--projects": projects_path, "--funders": funders_path})
    projects_in, funders_in = ws.inputs if ws else load_normalized(projects_path, funders_path, lang)
    projects, funders = projects_in.frame, funders_in.frame
    check_id(funder_id, funders["funder_id"].tolist(), "funder id")
    check_call(call_id, funders, funder_id)
    matcher = fit_matcher(funders, weights, run_date, lang, top, history_path,
                          history=ws.history(history_path) if ws else None, projects=projects)
    ranked = matcher.rank_projects(projects, funder_id, call_id=call_id, top=top + (ws.extra if ws else 0),
                                   include_ineligible=include_ineligible)
    if ws:
        ranked = ws.hide(ranked, ["funder_id", "call_id"], top)
        ws.record("shortlist", funder_id + (f"/{call_id}" if call_id else ""), matcher,
                  {"top": top, "weights": list(weights), "include_ineligible": include_ineligible,
                   "history": bool(history_path)}, by_funder=ranked)
    ranked = with_chance_of_award(ranked, projects, matcher, lang)
    if fmt == "table":
        def title(key, group):
            cid = key[1]
            name = group["funder_name"].iloc[0] or funder_id
            call = f" / {group['call_title'].iloc[0] or cid}" if cid else ""
            return (f"{name}{call} : projets au {matcher.run_date_}" if lang == "fr"
                    else f"{name}{call}: projects on {matcher.run_date_}")

        print_groups(ranked, [ranked["funder_id"], ranked["call_id"].fillna("")], title, "funder", lang,
                      ("Aucun projet éligible ou à vérifier.", "No eligible or to-check project."))
        return
    report = ranking_report(ranked, projects_in, funders_in, projects, matcher, "shortlist", lang,
                     projects_file=projects_path, funders_file=funders_path, funder_id=funder_id,
                     call_id=call_id, top=top, include_ineligible=include_ineligible, weights=weights)
    emit(ranked, fmt, output, lang, "", "funder", report)


@click.command("explain")
@click.option("--project", "project_id", required=True, help="The project id.")
@click.option("--funder", "funder_id", required=True, help="The funder id.")
@click.option("--call", "call_id", default=None, help="One call (default: the call that fits best).")
@click.option("--projects", "projects_path", default=None, type=click.Path(), help="Projects file.")
@click.option("--funders", "funders_path", type=click.Path(), default=None,
              help="Funders file or folder (default: the built-in sample).")
@workspace_option
@click.option("--date", "run_date", default=None, metavar="DATE", help="Run date (default: today).")
@click.option("--weight", "weights", multiple=True, metavar="CRITERION=W", help="Override a weight.")
@click.option("--history", "history_path", type=click.Path(), default=None,
              help="Past grant decisions: adds the history criterion and the nearest past grants.")
@click.option("--json", "as_json", is_flag=True, help="Print the explanation as JSON.")
@lang_option
def explain(project_id, funder_id, call_id, projects_path, funders_path, workspace_path, run_date, weights,
            history_path, as_json, lang):
    """Explain one project–funder pair: every rule, every criterion, score × weight = contribution.

    \b
    Examples:
      coopmatch explain --project P001 --funder F-FDD-TERRES --projects projets.csv
      coopmatch explain --project P001 --funder F-REG-ARA --call AAP-TL-2026 --projects projets.csv --lang en
    """
    require_inputs(workspace_path, **{"--projects": projects_path})
    ws = open_for_ranking(workspace_path, lang, **{"--projects": projects_path, "--funders": funders_path})
    projects, funders = ((ws.projects.frame, ws.funders.frame) if ws
                         else load_inputs(projects_path, funders_path, lang))
    check_id(project_id, projects["project_id"].tolist(), "project id")
    check_id(funder_id, funders["funder_id"].tolist(), "funder id")
    check_call(call_id, funders, funder_id)
    matcher = fit_matcher(funders, weights, run_date, lang, None, history_path,
                          history=ws.history(history_path) if ws else None, projects=projects)
    explanation = matcher.explain(projects, project_id, funder_id, call_id)
    if ws:
        ws.record("explain", f"{project_id}|{funder_id}" + (f"/{call_id}" if call_id else ""), matcher,
                  {"weights": list(weights), "history": bool(history_path)},
                  by_project=explanation_pair(explanation))
    nearest = nearest_grants(matcher, projects, project_id, funder_id, lang)
    if as_json:
        import json

        from matcher.io.writers import json_value

        data = explanation.to_dict()
        data["nearest_grants"] = nearest
        click.echo(json.dumps(json_value(data), ensure_ascii=False, indent=2))
    else:
        click.echo(explanation.to_text(lang))
        for line in nearest:
            click.echo(f"  {line}")


def explanation_pair(explanation):
    """The explained pair as a one-line ranking (for the run record of a workspace)."""
    import pandas as pd

    row = {"project_id": explanation.project_id, "funder_id": explanation.funder_id,
           "call_id": explanation.call_id, "rank": 1, "score": explanation.score,
           "eligibility": explanation.verdict}
    row.update({f"contribution_{k}": v for k, v in explanation.contributions.items()})
    return pd.DataFrame([row])


def nearest_grants(matcher, projects, project_id, funder_id, lang) -> list[str]:
    """The past grants of that funder closest to the project (history criterion only)."""
    if "history" not in matcher.criteria_names_:
        return []
    criterion = matcher.criteria_[matcher.criteria_names_.index("history")]
    row = projects[projects["project_id"] == project_id].iloc[0]
    return criterion.explain_pair(row, funder_id, lang)


@click.command()
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
    from matcher.io.loading import SAMPLE_FUNDERS, SAMPLE_PROJECTS

    projects, funders = load_inputs(SAMPLE_PROJECTS, SAMPLE_FUNDERS, lang)
    check_id(project_id, projects["project_id"].tolist(), "project id")
    matcher = fit_matcher(funders, (), run_date, lang, top)
    fr = lang == "fr"
    one = projects[projects["project_id"] == project_id]
    ranked = matcher.rank_funders(one, top=top)
    name = one["name"].iloc[0]
    print_table(ranked, lang, (f"1. Financeurs pour {project_id} — {name} (au {matcher.run_date_})" if fr
                                else f"1. Funders for {project_id} — {name} (on {matcher.run_date_})"), "project")
    if funder_id is None:
        if ranked.empty:
            return
        funder_id, call_id = ranked["funder_id"].iloc[0], ranked["call_id"].iloc[0]
    else:
        check_id(funder_id, funders["funder_id"].tolist(), "funder id")
        call_id = None
    call_id = call_id if isinstance(call_id, str) else None
    shortlisted = matcher.rank_projects(projects, funder_id, call_id=call_id, top=top)
    fname = funders.loc[funders["funder_id"] == funder_id, "name"].iloc[0] or funder_id
    click.echo()
    print_table(shortlisted, lang, (f"2. Présélection de {fname} (au {matcher.run_date_})" if fr
                                     else f"2. Shortlist of {fname} (on {matcher.run_date_})"), "funder")
    click.echo()
    click.echo("3. Pourquoi ce rang ?" if fr else "3. Why this rank?")
    click.echo(matcher.explain(projects, project_id, funder_id, call_id).to_text(lang))

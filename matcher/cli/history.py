"""``coopmatch learn-funders`` and ``coopmatch evaluate``: what past grant decisions teach."""

from __future__ import annotations

import json

import click

from matcher.cli.common import (
    MONEY_COLUMNS,
    accounting_line,
    lang_option,
    load_profiles,
    mapping_options,
    notice_rejects,
    parse_run_date,
    parse_weights,
    read_weights_file,
)


@click.command()
@click.option("--history", "history_paths", required=True, multiple=True, type=click.Path(exists=True),
              help="History file or folder (repeatable: the files are concatenated).")
@mapping_options
@click.option("--refused-when-zero", is_flag=True, help="An awarded amount of 0 means refused.")
@click.option("--test-from-year", required=True, type=int,
              help="First test year: earlier decisions train, granted ones from this year on are tested.")
@click.option("--top", type=click.IntRange(min=5), default=10, show_default=True,
              help="Funders ranked per test project (hit@k and MRR look no further).")
@click.option("--date", "run_date", default=None, metavar="DATE",
              help="Run date of the matcher (default: January 1st of the test year; learned profiles are always open).")
@click.option("--weight", "weights", multiple=True, metavar="CRITERION=W", help="Override a criterion weight.")
@click.option("--sample", type=click.IntRange(min=1), default=None,
              help="Test on this many granted applications drawn at random (quick check).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of --sample and of the baselines.")
@click.option("--weights-file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="YAML weights (criterion: weight), e.g. written by learn-weights; --weight overrides it.")
@click.option("--dormant-years", type=click.IntRange(min=0), default=2, show_default=True,
              help="Close learned funders with no grant in that many last training years (0: keep all open).")
@click.option("--ranking", type=click.Choice(["default", "learned"]), default="learned", show_default=True,
              help="learned: add the purpose criterion and learn the weights on the latest training year "
                   "(non-negative, contributions still sum to the score); default: the documented weights.")
@click.option("--successors/--no-successors", default=True, show_default=True,
              help="Merge a dormant funder into the funder that took over its recipients before fitting.")
@click.option("--no-baselines", is_flag=True, help="Skip the two baselines (time coopmatch alone).")
@click.option("--decisions", is_flag=True,
              help="Also score the chance of award (p_award) on every test decision: AUC, Brier, ECE.")
@click.option("--reliability", "reliability_path", type=click.Path(dir_okay=False), default=None,
              help="With --decisions: write the reliability diagram here (PNG).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="Write the JSON report here.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False), default=None,
              help="Write an HTML report here (tables; with --decisions, the reliability diagram).")
@lang_option
def evaluate(history_paths, forced, refused_when_zero, test_from_year, top, run_date, weights, sample, seed,
             weights_file, dormant_years, ranking, successors, no_baselines, decisions, reliability_path, output,
             html_path, lang):
    """Rank funders for past granted applications and measure how often the real funder comes first.

    Trains on every decision (granted and refused) before --test-from-year:
    learned funder profiles plus the history criterion, with the ranking code
    of funders-for. Then ranks the funders of every granted application of
    that year and after, and reports hit@1, hit@3, MRR and nDCG@5 next to two
    baselines (most frequent funder; TF-IDF character 2-5-grams + logistic
    regression), for all test applications, for new pairs (the recipient was
    never granted by that funder before) and for new recipients (never granted
    by any funder before). The recipient is its SIREN, else its folded name.

    With --decisions, also learns the chance of award from the past decisions
    (granted and refused; calibrated on the latest training year) and scores it
    on every decision of the test years, next to the recipient's past grant
    rate; --reliability writes the reliability diagram.

    \b
    Example:
      coopmatch evaluate --history paris-subventions/ --refused-when-zero \\
        --map funder_id=direction --map purpose="objet du dossier" --map year=anneeBudg \\
        --map amount_awarded="montant vote" --map recipient_name=beneficiaire \\
        --map recipient_id=siret --map sectors="secteur activite" \\
        --test-from-year 2018 -o rapport.json
      coopmatch evaluate --history paris-subventions/ --refused-when-zero ... \\
        --test-from-year 2018 --decisions --reliability fiabilite.png --html rapport.html
    """
    import pandas as pd

    from matcher.evaluation.evaluate import evaluate_history, format_table
    from matcher.io.writers import write_text

    frames = []
    for path in history_paths:
        result = load_profiles("history", path, forced, **({"refused_when_zero": True} if refused_when_zero else {}))
        notice_rejects(result, "historique" if lang == "fr" else "history", lang)
        frames.append(result.frame)
    history = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    if reliability_path and not decisions:
        raise click.UsageError("--reliability needs --decisions")
    run_weights = {**(read_weights_file(weights_file) if weights_file else {}), **(parse_weights(weights) or {})}
    evaluation = evaluate_history(history, test_from_year, top=top, run_date=parse_run_date(run_date),
                                  lang=lang, baselines=not no_baselines, sample=sample, seed=seed,
                                  weights=run_weights or None, dormant_years=dormant_years, ranking=ranking,
                                  successors=successors)
    click.echo(format_table(evaluation, lang))
    report = evaluation.to_dict()
    if decisions:
        from matcher.evaluation.evaluate import evaluate_award, format_award, write_reliability_png

        click.echo("chance d'obtention…" if lang == "fr" else "chance of award…", err=True)
        report["award"] = evaluate_award(history, test_from_year, seed=seed)
        click.echo(format_award(report["award"], lang))
        if reliability_path:
            write_reliability_png(report["award"], reliability_path, lang)
            click.echo(f"{'diagramme de fiabilité' if lang == 'fr' else 'reliability diagram'} → {reliability_path}",
                       err=True)
    if output:
        write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", output)
        click.echo(f"{'rapport' if lang == 'fr' else 'report'} → {output}", err=True)
    if html_path:
        from matcher.evaluation.report_html import render_evaluation_html

        write_text(render_evaluation_html(report, lang), html_path)
        click.echo(f"{'rapport HTML' if lang == 'fr' else 'HTML report'} → {html_path}", err=True)


@click.command("learn-funders")
@click.argument("history", type=click.Path(), required=False)
@click.option("--workspace", "workspace_path", default=None, metavar="WS",
              help="Learn from a workspace: its imported history and its granted and refused decisions.")
@mapping_options
@click.option("--until-year", type=int, default=None, help="Learn only from decisions of this year or before.")
@click.option("--refused-when-zero", is_flag=True, help="An awarded amount of 0 means refused.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Funder profiles: .csv .json .jsonl .xlsx (readable by every ranking command).")
@lang_option
def learn_funders_command(history, workspace_path, forced, until_year, refused_when_zero, output, lang):
    """Learn one funder profile per funder from its past grant decisions.

    Sector priorities come from what was granted, the ticket range from the
    amounts (5th–95th percentile), typical words from the purposes. Learned
    values are marked `learned` and never become eligibility rules.

    \b
    Examples:
      coopmatch learn-funders historique.csv -o financeurs_appris.csv
      coopmatch learn-funders paris.csv.gz --map funder_id=direction --map purpose="objet du dossier" \\
          --map amount_awarded="montant vote" --map year=anneeBudg --until-year 2017 -o paris.json
      coopmatch learn-funders --workspace appel.coopmatch -o financeurs_appris.csv
    """
    from funders.learn import learn_funders
    from matcher.io.writers import format_for, write_table

    if format_for(output) == "parquet":
        raise click.ClickException("learn-funders writes .csv, .json, .jsonl or .xlsx (parquet cannot be read back)")
    if (history is None) == (workspace_path is None):
        raise click.UsageError("give a HISTORY file or --workspace WS (one of them)")
    if workspace_path is not None:
        from matcher.cli.workspace import open_workspace

        if forced or refused_when_zero:
            raise click.UsageError("--map and --refused-when-zero apply when the history is imported, not here")
        with open_workspace(workspace_path) as ws:
            frame = ws.history()
        if frame.empty:
            raise click.ClickException(f"workspace {workspace_path} has no grant history and no granted or "
                                       "refused decision yet")
        click.echo((f"{len(frame)} décisions de l'espace de travail" if lang == "fr"
                    else f"{len(frame)} decisions from the workspace"), err=True)
    else:
        result = load_profiles("history", history, forced,
                               **({"refused_when_zero": True} if refused_when_zero else {}))
        click.echo(accounting_line(result.summary, lang), err=True)
        frame = result.frame
    learned = learn_funders(frame, until_year=until_year)
    write_table(learned, output, money_columns=MONEY_COLUMNS)
    click.echo((f"{len(learned)} profils appris → {output}" if lang == "fr"
                else f"{len(learned)} learned profiles → {output}"), err=True)


@click.command("learn-weights")
@click.option("--decisions", "decisions_path", required=True, type=click.Path(exists=True),
              help="History of decisions, granted and refused (file or folder).")
@mapping_options
@click.option("--refused-when-zero", is_flag=True, help="An awarded amount of 0 means refused.")
@click.option("--funder", "funder_id", default=None, metavar="ID", help="Learn from this funder's decisions only.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the fit / held-out halves.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Weights file (YAML), readable by --weights-file.")
@lang_option
def learn_weights_command(decisions_path, forced, refused_when_zero, funder_id, seed, output, lang):
    """Fit non-negative criterion weights that best separate granted from refused decisions.

    The matcher is fitted on every year but the latest; the latest year's
    decisions are scored against the funder that decided them, half fit the
    weights (non-negative logistic regression, scaled to the defaults' total),
    the other half measures the gain (AUC of the score, learned vs default).

    \b
    Examples:
      coopmatch learn-weights --decisions historique.csv -o poids.yaml
      coopmatch learn-weights --decisions paris-subventions/ --refused-when-zero \\
        --map funder_id=direction --map purpose="objet du dossier" --map year=anneeBudg \\
        --map amount_awarded="montant vote" --funder DAC -o poids_dac.yaml
      coopmatch evaluate --history paris-subventions/ ... --weights-file poids.yaml
    """
    import yaml

    from matcher.evaluation.weights import learn_weights
    from matcher.io.writers import write_text

    result = load_profiles("history", decisions_path, forced,
                           **({"refused_when_zero": True} if refused_when_zero else {}))
    notice_rejects(result, "historique" if lang == "fr" else "history", lang)
    click.echo("apprentissage des poids…" if lang == "fr" else "learning weights…", err=True)
    learned = learn_weights(result.frame, funder=funder_id, seed=seed)
    head = ("critère", "défaut", "appris") if lang == "fr" else ("criterion", "default", "learned")
    width = max(len(head[0]), *(len(c) for c in learned["weights"]))
    click.echo(f"{head[0].ljust(width)}  {head[1]:>7}  {head[2]:>7}")
    for name, weight in learned["weights"].items():
        click.echo(f"{name.ljust(width)}  {learned['defaults'][name]:7.3f}  {weight:7.3f}")
    if lang == "fr":
        click.echo(f"AUC sur {learned['held_out_decisions']} décisions de {learned['year']} tenues à part : "
                   f"{learned['auc_default']:.3f} (défaut) → {learned['auc_learned']:.3f} (appris)")
    else:
        click.echo(f"AUC on {learned['held_out_decisions']} held-out decisions of {learned['year']}: "
                   f"{learned['auc_default']:.3f} (default) → {learned['auc_learned']:.3f} (learned)")
    document = {"weights": learned["weights"],
                "learned_from": {k: learned[k] for k in ("year", "funder", "fit_decisions", "held_out_decisions",
                                                         "auc_default", "auc_learned")}}
    write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), output)
    click.echo(f"{'poids' if lang == 'fr' else 'weights'} → {output}", err=True)

"""Where coopmatch misses on the Paris split: error analysis by directorate (issue 14).

Runs the ranking of ``coopmatch evaluate`` ONCE (same split, same code: learned
profiles + history criterion, ``Matcher.rank_funders``) with every funder ranked,
so the true funder's line and contributions are known even when it is far down,
and writes:

- ``by_directorate.csv`` / the markdown table: per true directorate, test
  applications, hit@1 / hit@3 on all and on new pairs, and the funders most
  often ranked first when the true one is missed (top 3);
- ``missed.csv``: every missed application (true funder not in the top 3) with
  the funder ranked first, the true funder's rank, and the criterion whose
  contribution gap (first − true) is largest;
- ``errors.md``: the tables, the criterion-gap summary and ~10 concrete missed
  examples with their purpose text;
- ``ranked.csv.gz``: the ranking itself (cache; ``--from-cache`` re-analyses it
  without re-fitting).

Usage (from the repository root, ~5 min on the full split)::

    .venv/bin/python benchmarks/paris_errors.py --out /tmp/paris_errors
    # validation year inside the training years: train <= 2016, test 2017
    .venv/bin/python benchmarks/paris_errors.py --test-from-year 2017 --until-year 2018 --out /tmp/paris_val
    # the ranking of main before the learned ranking and the successors
    .venv/bin/python benchmarks/paris_errors.py --ranking default --no-successors --out /tmp/paris_errors_old
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from matcher import read_history
from matcher.evaluation.evaluate import (
    projects_from_history,
    ranking_metrics,
    subset_masks,
    time_split,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "paris-subventions"
MAPPING = {"funder_id": "direction", "recipient_name": "beneficiaire", "recipient_id": "siret",
           "purpose": "objet du dossier", "amount_awarded": "montant vote", "year": "anneeBudg",
           "sectors": "secteur activite"}
EXAMPLES = 10


def rank_all(split, run_date: str, weights: dict | None, dormant_years: int, ranking: str = "learned",
             successors: bool = True):
    """Fit as ``evaluate`` does (same ranking and successors options) and rank every funder for every
    test project."""
    from matcher import Matcher, learn_funders, learn_ranking_weights
    from matcher.evaluation.ranking_weights import prepare_history, ranking_criteria

    criteria = None
    if ranking == "learned":
        learned = learn_ranking_weights(split.train, dormant_years=dormant_years, successors=successors)
        print(f"learned weights: {learned['weights']}", file=sys.stderr)
        weights, criteria = {**learned["weights"], **(weights or {})}, ranking_criteria()
    train, mapping = prepare_history(split.train, successors)
    print(f"successors: {mapping}", file=sys.stderr)
    funders = learn_funders(train, dormant_years=dormant_years or None)
    matcher = Matcher(date=run_date, lang="en", top=10, weights=weights, criteria=criteria).fit(funders, history=train)
    projects = projects_from_history(split.test)
    ranked = matcher.rank_funders(projects, top=len(matcher.funders_), include_ineligible=True)
    keep = ["project_id", "funder_id", "rank", "score"] + [f"contribution_{c}" for c in matcher.criteria_names_]
    return projects, ranked[keep].reset_index(drop=True), list(matcher.criteria_names_)


def analyse(split, projects: pd.DataFrame, ranked: pd.DataFrame, criteria: list[str]) -> dict:
    """Per-application facts, the directorate table, the missed rows."""
    ids = projects["project_id"].tolist()
    truth = pd.Series(split.truth, index=ids, name="true_funder")
    masks = subset_masks(split)
    ranked = ranked.assign(true_funder=ranked["project_id"].map(truth))
    true_lines = ranked[ranked["funder_id"] == ranked["true_funder"]].set_index("project_id")
    first = ranked[ranked["rank"] == 1].set_index("project_id")
    second = ranked[ranked["rank"] == 2].set_index("project_id")
    third = ranked[ranked["rank"] == 3].set_index("project_id")
    contrib = [f"contribution_{c}" for c in criteria]
    apps = pd.DataFrame({
        "project_id": ids,
        "year": pd.to_numeric(split.test["year"], errors="coerce").to_numpy(),
        "true_funder": split.truth,
        "recipient": projects["carrier_name"].to_numpy(),
        "purpose": projects["name"].to_numpy(),
        "new_pair": masks["new_pairs"], "new_recipient": masks["new_recipients"],
    })
    apps["true_rank"] = apps["project_id"].map(true_lines["rank"]).fillna(0).astype(int).to_numpy()
    apps["first"] = apps["project_id"].map(first["funder_id"]).to_numpy()
    apps["second"] = apps["project_id"].map(second["funder_id"]).to_numpy()
    apps["third"] = apps["project_id"].map(third["funder_id"]).to_numpy()
    apps["first_score"] = apps["project_id"].map(first["score"]).to_numpy()
    apps["true_score"] = apps["project_id"].map(true_lines["score"]).to_numpy()
    gaps = (first.loc[ids, contrib].to_numpy(dtype=float)
            - true_lines.reindex(ids)[contrib].to_numpy(dtype=float))
    for c, col in zip(criteria, gaps.T, strict=True):
        apps[f"gap_{c}"] = col
    safe = np.where(np.isnan(gaps), -np.inf, gaps)
    apps["main_gap"] = np.array(criteria, dtype=object)[np.argmax(safe, axis=1)]
    apps["hit1"] = apps["true_rank"] == 1
    apps["hit3"] = (apps["true_rank"] >= 1) & (apps["true_rank"] <= 3)

    rows = []
    for funder, group in apps.groupby("true_funder", sort=False):
        new = group[group["new_pair"]]
        missed = group[~group["hit3"]]
        above = missed["first"].value_counts()
        rows.append({
            "directorate": funder, "n": len(group), "share_of_test": len(group) / len(apps),
            "hit@1": group["hit1"].mean(), "hit@3": group["hit3"].mean(),
            "n_new_pairs": len(new),
            "new_pairs_hit@1": new["hit1"].mean() if len(new) else np.nan,
            "new_pairs_hit@3": new["hit3"].mean() if len(new) else np.nan,
            "missed@3": len(missed), "missed_new_pairs@3": int((~new["hit3"]).sum()),
            "ranked_first_instead": ", ".join(f"{f} ({n})" for f, n in above.head(3).items()),
            "main_gap": ", ".join(f"{g} ({n})" for g, n in missed["main_gap"].value_counts().head(2).items()),
            "median_true_rank_missed": float(missed["true_rank"].median()) if len(missed) else np.nan,
        })
    table = pd.DataFrame(rows).sort_values(["missed@3", "directorate"], ascending=[False, True])
    return {"apps": apps, "table": table.reset_index(drop=True)}


def pick_examples(apps: pd.DataFrame, n: int = EXAMPLES) -> pd.DataFrame:
    """Deterministic: missed new pairs, round-robin over the directorates with most misses."""
    missed = apps[~apps["hit3"] & apps["new_pair"]].sort_values("project_id")
    order = missed["true_funder"].value_counts().index.tolist()
    picked, depth = [], 0
    while len(picked) < n and depth < 50:
        for funder in order:
            group = missed[missed["true_funder"] == funder]
            if depth < len(group) and len(picked) < n:
                picked.append(group.iloc[depth * max(1, len(group) // 5) % len(group)])
        depth += 1
    return pd.DataFrame(picked)


def fmt(v) -> str:
    if isinstance(v, float):
        return "" if np.isnan(v) else f"{v:.3f}"
    return str(v)


def fmt_gap(values: pd.Series) -> str:
    """Mean gap over the missed applications where both contributions are known."""
    known = values.dropna()
    return f"{known.mean():+.4f}" if len(known) else "unknown"


def markdown_table(frame: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(frame.columns) + " |", "| " + " | ".join("---" for _ in frame.columns) + " |"]
    for _, row in frame.iterrows():
        lines.append("| " + " | ".join(fmt(v).replace("|", "/") for v in row.tolist()) + " |")
    return "\n".join(lines)


def report(result: dict, criteria: list[str], title: str) -> str:
    apps, table = result["apps"], result["table"]
    overall = {name: ranking_metrics(apps.loc[mask, "true_rank"].to_numpy())
               for name, mask in (("all", np.ones(len(apps), bool)), ("new_pairs", apps["new_pair"].to_numpy()),
                                  ("new_recipients", apps["new_recipient"].to_numpy()))}
    missed = apps[~apps["hit3"]]
    out = [f"# {title}", "",
           "| subset | n | hit@1 | hit@3 |", "| --- | ---: | ---: | ---: |"]
    sizes = {"all": len(apps), "new_pairs": int(apps["new_pair"].sum()),
             "new_recipients": int(apps["new_recipient"].sum())}
    for name, m in overall.items():
        n = sizes[name]
        out.append(f"| {name} | {n} | {m['hit@1']:.3f} | {m['hit@3']:.3f} |")
    out += ["", f"Missed at 3: {len(missed)} of {len(apps)} ({int(missed['new_pair'].sum())} new pairs).", "",
            "## By directorate (true funder)", "", markdown_table(table), "",
            "## Why the missed ones lose: criterion with the largest gap (first − true funder)", "",
            "| criterion | missed apps | mean gap (all missed) |", "| --- | ---: | ---: |"]
    counts = missed["main_gap"].value_counts()
    for c in criteria:
        out.append(f"| {c} | {int(counts.get(c, 0))} | {fmt_gap(missed[f'gap_{c}'])} |")
    confusions = (missed.groupby(["true_funder", "first"]).size().sort_values(ascending=False).head(12))
    out += ["", "## Most frequent confusions (true → ranked first), missed at 3", "",
            "| true | ranked first | n |", "| --- | --- | ---: |"]
    out += [f"| {t} | {f} | {n} |" for (t, f), n in confusions.items()]
    out += ["", "## Missed new pairs: examples", ""]
    for _, row in pick_examples(apps).iterrows():
        gaps = ", ".join(f"{c} {row[f'gap_{c}']:+.3f}" for c in criteria if abs(row[f"gap_{c}"]) >= 0.005)
        out.append(f"- **{row['true_funder']}** ({int(row['year'])}), {row['recipient']}: "
                   f"“{row['purpose']}” — top 3: {row['first']}, {row['second']}, {row['third']}; "
                   f"true at rank {row['true_rank']} (score {row['true_score']:.3f} vs {row['first_score']:.3f}); "
                   f"gaps first − true: {gaps}")
    return "\n".join(out) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--test-from-year", type=int, default=2018)
    parser.add_argument("--until-year", type=int, default=None, help="Drop rows of this year and after.")
    parser.add_argument("--weight", action="append", default=[], metavar="CRITERION=W")
    parser.add_argument("--dormant-years", type=int, default=2, help="0: keep every learned funder open.")
    parser.add_argument("--drop-words", default="",
                        help="Comma-separated words removed from every purpose before fitting (experiment).")
    parser.add_argument("--ranking", choices=("default", "learned"), default="learned")
    parser.add_argument("--no-successors", action="store_true")
    parser.add_argument("--out", required=True)
    parser.add_argument("--from-cache", action="store_true", help="Re-analyse OUT/ranked.csv.gz.")
    args = parser.parse_args(argv)
    if not Path(args.data).exists():
        print(f"Error: no data at {args.data}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    history = read_history(args.data, MAPPING, refused_when_zero=True).frame
    if args.until_year is not None:
        years = pd.to_numeric(history["year"], errors="coerce")
        history = history.loc[years < args.until_year].reset_index(drop=True)
    if args.drop_words:
        import re

        pattern = re.compile(r"\b(" + "|".join(re.escape(w) for w in args.drop_words.split(",")) + r")\b",
                             re.IGNORECASE)
        history["purpose"] = [None if not isinstance(v, str) else pattern.sub(" ", v) for v in history["purpose"]]
    split = time_split(history, args.test_from_year)
    weights = {k: float(v) for k, v in (w.split("=", 1) for w in args.weight)} or None
    cache = out / "ranked.csv.gz"
    start = time.perf_counter()
    if args.from_cache:
        projects = projects_from_history(split.test)
        ranked = pd.read_csv(cache, dtype={"project_id": str, "funder_id": str})
        criteria = [c.removeprefix("contribution_") for c in ranked.columns if c.startswith("contribution_")]
    else:
        print("fit and rank…", file=sys.stderr)
        projects, ranked, criteria = rank_all(split, f"{args.test_from_year}-01-01", weights, args.dormant_years,
                                               args.ranking, not args.no_successors)
        ranked.to_csv(cache, index=False, float_format="%.6g")
    print(f"ranked in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    result = analyse(split, projects, ranked, criteria)
    result["table"].to_csv(out / "by_directorate.csv", index=False, float_format="%.4f")
    cols = ["project_id", "year", "true_funder", "recipient", "purpose", "new_pair", "new_recipient", "true_rank",
            "first", "second", "third", "first_score", "true_score", "main_gap"] + [f"gap_{c}" for c in criteria]
    result["apps"].loc[~result["apps"]["hit3"], cols].to_csv(out / "missed.csv", index=False, float_format="%.4f")
    title = (f"Paris errors: train < {args.test_from_year}, test granted {args.test_from_year}"
             f"{'–' + str(args.until_year - 1) if args.until_year else '+'}")
    text = report(result, criteria, title)
    (out / "errors.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

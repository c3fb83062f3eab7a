"""Dump every (test application, funder) line of the Paris split with its criterion scores (issue 14).

One fit and one ranking of every funder, as ``coopmatch evaluate`` does, with the opt-in
:class:`~matcher.engine.purpose_affinity.PurposeAffinity` criterion added at weight 0 (so the
ranking is the default one, but its score is known). The output feeds the ranking experiments
of ``benchmarks/paris_rerank.py``: a training year (fit on the years before it) and an
evaluation year.

Usage (from the repository root, ~2 min per run)::

    .venv/bin/python benchmarks/paris_rank_dump.py --test-from-year 2016 --until-year 2017 --out /tmp/d2016
    .venv/bin/python benchmarks/paris_rank_dump.py --test-from-year 2017 --until-year 2018 --out /tmp/d2017
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

from matcher import Matcher, learn_funders, read_history
from matcher.engine.criteria import default_criteria
from matcher.engine.purpose_affinity import PurposeAffinity
from matcher.evaluation.evaluate import projects_from_history, time_split

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "paris-subventions"
MAPPING = {"funder_id": "direction", "recipient_name": "beneficiaire", "recipient_id": "siret",
           "purpose": "objet du dossier", "amount_awarded": "montant vote", "year": "anneeBudg",
           "sectors": "secteur activite"}


def load(data: str, until_year: int | None) -> pd.DataFrame:
    history = read_history(data, MAPPING, refused_when_zero=True).frame
    if until_year is not None:
        years = pd.to_numeric(history["year"], errors="coerce")
        history = history.loc[years < until_year].reset_index(drop=True)
    return history


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--test-from-year", type=int, required=True)
    parser.add_argument("--until-year", type=int, default=None)
    parser.add_argument("--out", required=True)
    parser.add_argument("--successors", action="store_true",
                        help="Relabel dormant funders' rows as their learned successor's before fitting.")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    history = load(args.data, args.until_year)
    split = time_split(history, args.test_from_year)
    start = time.perf_counter()
    if args.successors:
        from matcher.engine.history_record import apply_successors, successor_map

        mapping = successor_map(split.train)
        print(f"successors: {mapping}", file=sys.stderr)
        split.train = apply_successors(split.train, mapping)
    funders = learn_funders(split.train, dormant_years=2)
    criteria = default_criteria() + [PurposeAffinity()]
    matcher = Matcher(date=f"{args.test_from_year}-01-01", lang="en", top=10, criteria=criteria,
                      weights={"purpose": 0.0}).fit(funders, history=split.train)
    projects = projects_from_history(split.test)
    ranked = matcher.rank_funders(projects, top=len(matcher.funders_), include_ineligible=True)
    keep = ["project_id", "funder_id", "rank", "score", "eligibility"] + \
        [f"score_{c}" for c in matcher.criteria_names_ if f"score_{c}" in ranked.columns]
    keep = [k for k in keep if k in ranked.columns]
    ranked[keep].to_csv(out / "ranked.csv.gz", index=False, float_format="%.6g")
    print(f"{len(ranked)} lines in {time.perf_counter() - start:.0f} s; columns {keep}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Time ``plan`` (one project against N funder rows) and ``allocate`` (N applications, 20 share constraints).

Synthetic profiles (:mod:`matcher.evaluation.synthetic`, as ``bench_batch.py``)
are read and the matcher fitted once; each timed run then does what the command
does after loading: the ranking of the project (or of the call's applications)
and the solve(s), with the default alternatives (2) and what-ifs. For
``allocate`` every one of the N projects is made a candidate application of one
funder (its score kept, eligibility ignored), so that the model has N binaries.
Medians of ``--repeat`` runs.

Usage (from the repository root)::

    python benchmarks/bench_planning.py --funders 5000 --applications 5000 --constraints 20 --repeat 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_batch import RUN_DATE, generate  # noqa: E402


def share_constraints(apps, count: int, args_min: int = 2):
    """``count`` share constraints over the most common values: min-shares on regions, max-shares elsewhere.

    A min-share asks half the group's share of all the money asked; a max-share
    allows 120 % of it (some of them bind).
    """
    from collections import Counter

    from matcher.planning.allocate import Share

    total = apps["requested"].sum()
    out = []
    for dim in ("region", "sector", "legal_form", "department"):
        common = Counter(v for values in apps[dim] for v in values).most_common(8)
        for k, (value, _n) in enumerate(common):
            if len(out) >= count:
                return out
            kind = "min" if dim == "region" and k < args_min else "max"
            part = apps.loc[[value in v for v in apps[dim]], "requested"].sum() / total
            share = round(0.5 * part if kind == "min" else min(1.0, 1.2 * part), 4)
            out.append(Share(kind, dim, value, share))
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--funders", type=int, default=5000, help="funder rows for plan")
    parser.add_argument("--applications", type=int, default=5000, help="applications for allocate")
    parser.add_argument("--constraints", type=int, default=20)
    parser.add_argument("--min-shares", type=int, default=2, help="how many of them are min-shares (regions)")
    parser.add_argument("--envelope-share", type=float, default=0.2,
                        help="the envelope, as a share of all the money the applications ask")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "coopmatch-bench")
    args = parser.parse_args(argv)

    from matcher.engine.model import Matcher
    from matcher.io.loading import load
    from matcher.planning.allocate import AllocationOptions, allocate_envelope
    from matcher.planning.applications import applications
    from matcher.planning.plan import plan_financing

    projects_file, funders_file = generate(args.data, args.applications, args.funders, args.seed)
    projects = load("projects", projects_file).frame
    funders = load("funders", funders_file).frame
    matcher = Matcher(date=RUN_DATE).fit(funders)
    project = projects[projects["total_budget"].notna()].head(1)

    def run_plan():
        ranked = matcher.rank_funders(project, top=len(funders))
        return plan_financing(project.iloc[0].to_dict(), ranked, funders)

    run_plan()  # compile the kernels
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        result = run_plan()
        times.append(time.perf_counter() - start)
    print(f"plan: 1 project x {len(funders):,} funder rows ({len(result.candidates)} candidates, "
          f"{len(result.plans)} plans): median {statistics.median(times):.2f} s over {args.repeat} runs "
          f"({', '.join(f'{t:.2f}' for t in times)})")
    funder = funders.iloc[0].to_dict()
    ranked = matcher.rank_projects(projects, funder["funder_id"], top=len(projects), include_ineligible=True)
    ranked = ranked.drop_duplicates("project_id").assign(eligibility="eligible")
    apps, _ = applications(ranked, projects, funders[funders["funder_id"] != funder["funder_id"]],
                           funder["funder_id"], None, None)
    shares = tuple(share_constraints(apps, args.constraints, args.min_shares))
    envelope = round(args.envelope_share * apps["requested"].sum(), -3)
    options = AllocationOptions(envelope=envelope, shares=shares)
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        ranked_again = matcher.rank_projects(projects, funder["funder_id"], top=len(projects),
                                             include_ineligible=True)
        result = allocate_envelope(apps, options)
        times.append(time.perf_counter() - start)
    best = result.allocations[0]
    print(f"allocate: {len(apps):,} applications ({len(ranked_again):,} ranked), {len(shares)} share constraints, "
          f"envelope {envelope:,.0f}: median {statistics.median(times):.2f} s over {args.repeat} runs "
          f"({', '.join(f'{t:.2f}' for t in times)}); funded {int((best.amounts > 0).sum())}, "
          f"{len(result.allocations)} allocations, status {best.status}, within {best.gap:.3%} of the LP bound")


if __name__ == "__main__":
    main()

"""Time the matching core alone: eligibility, every criterion, the score and top K both ways.

``benchmarks/bench_batch.py`` times ``coopmatch batch`` end to end; there the
main thread explains and writes ranked rows while the workers score blocks,
and its ``match`` figure is the scoring loop less the main thread's time on
those rows. This script measures the core with nothing else running: the
synthetic profiles are read and encoded once, then
:func:`matcher.engine.batch.run_batch` runs without streaming (its ``match`` stage is
the scoring loop alone) ``--repeat`` times for each ``--jobs`` value, and the
median pairs per second is reported. It also times the per-pair reference
(``tests/reference.py``) on a sample of pairs of the same profiles.

Usage (from the repository root)::

    python benchmarks/bench_core.py --size 100000x5000 --projects 20000 --jobs 1 2 --repeat 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_batch import RUN_DATE, generate, reference_seconds_per_pair  # noqa: E402


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="100000x5000", help="synthetic files to read (PROJECTSxFUNDERS)")
    parser.add_argument("--projects", type=int, default=20000, help="projects of the file to score")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "coopmatch-bench")
    parser.add_argument("--reference-sample", type=int, default=2000)
    args = parser.parse_args(argv)

    from matcher.engine import batch
    from matcher.engine.model import Matcher
    from matcher.io.loading import load

    n_projects, n_funders = (int(x) for x in args.size.lower().split("x"))
    projects_file, funders_file = generate(args.data, n_projects, n_funders, args.seed)
    projects = load("projects", projects_file).frame.head(args.projects)
    funders = load("funders", funders_file).frame
    matcher = Matcher(date=RUN_DATE).fit(funders)
    batch.run_batch(matcher, projects.head(100), top=args.top, jobs=1)  # compile (or load) the kernels
    pairs = len(projects) * matcher.funder_features_.n
    print(f"matching core: {len(projects):,} projects x {matcher.funder_features_.n:,} funder rows "
          f"= {pairs:,} pairs, top {args.top} both ways, medians of {args.repeat} runs; "
          f"load {_load()} on {os.cpu_count()} cores")
    rates = {}
    for jobs in args.jobs:
        seconds = []
        for _ in range(args.repeat):
            result = batch.run_batch(matcher, projects, top=args.top, jobs=jobs)
            seconds.append(result.timings["match"])
        rates[jobs] = pairs / statistics.median(seconds)
        print(f"  --jobs {jobs}: {statistics.median(seconds):.2f} s, {rates[jobs] / 1e6:.1f} M pairs/s "
              f"(runs: {', '.join(f'{s:.2f}' for s in seconds)})")
    print(f"  load after the core runs: {_load()}")
    if args.reference_sample <= 0:  # --reference-sample 0: no per-pair reference
        return
    start = time.perf_counter()
    per_pair = reference_seconds_per_pair(projects_file, funders_file, args.reference_sample, args.seed)
    print(f"  per-pair reference: {1 / per_pair:,.0f} pairs/s (sample of {args.reference_sample}, "
          f"{time.perf_counter() - start:.0f} s); core with --jobs {args.jobs[0]} is "
          f"{rates[args.jobs[0]] * per_pair:,.0f}x faster")


def _load() -> str:
    """The 1, 5 and 15 minute load averages (as ``uptime`` prints them)."""
    try:
        return ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # not on this platform
        return "unknown"


if __name__ == "__main__":
    main()

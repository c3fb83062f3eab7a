"""Benchmark ``coopmatch batch`` end to end on synthetic profiles.

For each size ``PROJECTSxFUNDERS`` it generates realistic synthetic files
(:mod:`matcher.evaluation.synthetic`, cached under ``--data``), then runs
``coopmatch batch`` in a fresh subprocess ``--repeat`` times and reports the
medians of: wall time (read, normalise, fit, match, explain, write), pairs
per second of the matching core alone (eligibility + criteria + score + top
K, both ways), and peak RSS of the run. With CSV output, ``funders_for_projects``
is explained and written while the blocks are scored (streamed); the ``match``
stage excludes the time the main thread spent on that, which is counted in
``explain`` and ``write``. On the first size it also times the
per-pair reference implementation (``tests/reference.py``) on a random
sample of pairs and reports how much faster the core is.

Peak RSS is that of the ``coopmatch`` process (``ru_maxrss``); the largest child process's
(the one that reads and normalises a streamed projects file, or a Dask worker) is reported
beside it, and so is the peak of the whole process tree at one moment (the sum of the PSS of
the run and all its descendants, sampled every 0.1 s from ``/proc``): what the machine needs.
CPU is user + system time of the run (with its
Dask workers): on a shared machine it says more than the wall time. Each run prints its figures and the load
average before and after it (stderr), as it ends.

Usage (from the repository root)::

    python benchmarks/bench_batch.py --sizes 1000x500 10000x2000 100000x5000 --repeat 3 --jobs 2
    python benchmarks/bench_batch.py --sizes 300000x10000 --repeat 1 --format parquet --reference-sample 0
    python benchmarks/bench_batch.py --sizes 1500000x10000 --repeat 1 --format parquet --reference-sample 0 \\
        --limit cells=100000000 --limit bytes=2000000000
    python benchmarks/bench_batch.py --sizes 300000x10000 --repeat 1 --engine dask --workers 2 --reference-sample 0
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUN_DATE = "2026-06-01"

_CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
from matcher.cli import main
try:
    main({args!r})  # the console command's entry point (exits with its code)
finally:
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    print("BENCH " + json.dumps({{"peak_rss": me.ru_maxrss * 1024,
                                  "peak_rss_children": children.ru_maxrss * 1024,  # Dask worker processes
                                  "cpu": me.ru_utime + me.ru_stime,
                                  "cpu_children": children.ru_utime + children.ru_stime}}))
"""


def generate(folder: Path, projects: int, funders: int, seed: int) -> tuple[Path, Path]:
    sys.path.insert(0, str(ROOT))
    from matcher.evaluation.synthetic import write_profiles

    folder = folder / f"{projects}x{funders}_seed{seed}"
    p, f = folder / "projects.csv", folder / "funders.csv"
    if not (p.exists() and f.exists()):
        print(f"generating {projects:,} projects x {funders:,} funder rows in {folder}", file=sys.stderr)
        write_profiles(folder, projects, funders, seed=seed)
    return p, f


def _tree_rss(root: int) -> int:
    """Bytes of memory of ``root`` and its descendants now (Linux ``/proc``; 0 elsewhere): the sum of
    their PSS (a page shared by n of them counts 1/n: a forked child shares its parent's pages), or
    of their RSS where ``smaps_rollup`` cannot be read."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
        rss[int(entry)] = int(fields[21]) * page
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += _pss(pid, rss.get(pid, 0))
        todo += children.get(pid, [])
    return total


def _pss(pid: int, rss: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:
            for line in handle:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return rss


def _sample_tree(process: subprocess.Popen, peak: list[int]) -> None:
    while process.poll() is None:
        peak[0] = max(peak[0], _tree_rss(process.pid))
        time.sleep(0.1)


def run_once(projects: Path, funders: Path, top: int, jobs: int, fmt: str, extra: list[str] = (),
             limits: list[str] = ()) -> dict:
    with tempfile.TemporaryDirectory() as out:
        args = [*(x for item in limits for x in ("--limit", item)),
                "batch", "--projects", str(projects), "--funders", str(funders), "--top", str(top),
                "--date", RUN_DATE, "--jobs", str(jobs), "--format", fmt, "--quiet", "-o", out, *extra]
        load_before = os.getloadavg()[0]
        start = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-c", _CHILD.format(root=str(ROOT), args=args)],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        tree = [0]
        sampler = threading.Thread(target=_sample_tree, args=(process, tree), daemon=True)
        sampler.start()
        stdout, stderr = process.communicate()
        wall = time.perf_counter() - start
        sampler.join()
        if process.returncode != 0:
            raise SystemExit(f"batch failed:\n{stderr}")
        line = next(x for x in stdout.splitlines() if x.startswith("BENCH "))
        summary = json.loads((Path(out) / "summary.json").read_text(encoding="utf-8"))
    timings = summary["timings_seconds"]
    rss = json.loads(line[6:])
    found = {"wall": wall, "peak_rss": rss["peak_rss"], "peak_rss_children": rss["peak_rss_children"],
             "peak_rss_tree": tree[0],
             "cpu": rss["cpu"] + rss["cpu_children"],
             "pairs": summary["pairs"], "match": timings.get("match") or timings["chunks"], "timings": timings,
             "load": [round(load_before, 2), round(os.getloadavg()[0], 2)]}
    print(json.dumps({"run": found}), file=sys.stderr, flush=True)
    return found


def reference_seconds_per_pair(projects: Path, funders: Path, sample: int, seed: int) -> float:
    """Time ``tests/reference.py``'s ``evaluate_pair`` on a random sample of pairs."""
    import numpy as np

    sys.path.insert(0, str(ROOT / "tests"))
    import reference

    from matcher.engine.features import as_day
    from matcher.engine.model import Matcher
    from matcher.io.loading import load

    p = load("projects", projects).frame
    f = load("funders", funders).frame
    matcher = Matcher(date=RUN_DATE).fit(f)
    rng = np.random.default_rng(seed)
    prows = p.iloc[rng.integers(0, len(p), sample)].to_dict("records")
    frows = matcher.funders_.iloc[rng.integers(0, len(matcher.funders_), sample)].to_dict("records")
    day = as_day(RUN_DATE)
    start = time.perf_counter()
    for project, funder in zip(prows, frows, strict=True):
        reference.evaluate_pair(project, funder, day=day, territories=matcher.territories_,
                                text_model=matcher.space_.text_model)
    return (time.perf_counter() - start) / sample


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["1000x500", "10000x2000", "100000x5000"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--format", default="csv", choices=("csv", "parquet"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "coopmatch-bench")
    parser.add_argument("--reference-sample", type=int, default=3000,
                        help="Pairs timed with the per-pair reference on the first size; 0: none.")
    parser.add_argument("--engine", default="local", choices=("local", "dask"))
    parser.add_argument("--workers", type=int, default=2, help="Dask local cluster workers (--engine dask).")
    parser.add_argument("--chunk-size", type=int, default=None)
    parser.add_argument("--limit", action="append", default=[], metavar="NAME=N",
                        help="Passed to coopmatch --limit (repeatable): large files need cells= and bytes=.")
    parser.add_argument("--json", type=Path, default=None, help="Also write the figures as JSON here.")
    args = parser.parse_args(argv)

    rows = []
    for i, size in enumerate(args.sizes):
        n_projects, n_funders = (int(x) for x in size.lower().split("x"))
        projects, funders = generate(args.data, n_projects, n_funders, args.seed)
        extra = ["--engine", args.engine] + (["--workers", str(args.workers)] if args.engine == "dask" else [])
        extra += ["--chunk-size", str(args.chunk_size)] if args.chunk_size else []
        runs = [run_once(projects, funders, args.top, args.jobs, args.format, extra, args.limit)
                for _ in range(args.repeat)]
        row = {
            "size": size,
            "pairs": runs[0]["pairs"],
            "wall_s": statistics.median(r["wall"] for r in runs),
            "core_mpairs_s": statistics.median(r["pairs"] / r["match"] for r in runs) / 1e6,
            "cpu_s": statistics.median(r["cpu"] for r in runs),
            "peak_rss_mb": statistics.median(r["peak_rss"] for r in runs) / 2**20,
            "peak_rss_workers_mb": statistics.median(r["peak_rss_children"] for r in runs) / 2**20,
            "peak_rss_tree_mb": statistics.median(r["peak_rss_tree"] for r in runs) / 2**20,
            "load": [r["load"] for r in runs],
            "stages_s": {k: statistics.median(r["timings"][k] for r in runs) for k in runs[0]["timings"]},
            "walls": [round(r["wall"], 2) for r in runs],
        }
        if i == 0 and args.reference_sample > 0:
            per_pair = reference_seconds_per_pair(projects, funders, args.reference_sample, args.seed)
            row["reference_pairs_s"] = 1 / per_pair
            row["speedup_vs_reference"] = row["core_mpairs_s"] * 1e6 * per_pair
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)

    print(f"coopmatch batch benchmark — {dt.date.today().isoformat()}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, --jobs {args.jobs}, --top {args.top}, --format {args.format}, "
          f"--engine {args.engine}{f' --workers {args.workers}' if args.engine == 'dask' else ''}, "
          f"medians of {args.repeat} runs\n")
    print("| projects × funder rows | pairs | wall (end to end) | CPU (user + sys) | core Mpairs/s | peak RSS | "
          "peak RSS, children | peak RSS, process tree | load (before, after) | stages (s) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |")
    for row in rows:
        stages = ", ".join(f"{k} {v:.2f}" for k, v in row["stages_s"].items() if k != "total")
        print(f"| {row['size']} | {row['pairs']:,} | {row['wall_s']:.1f} s | {row['cpu_s']:.1f} s | "
              f"{row['core_mpairs_s']:.1f} | "
              f"{row['peak_rss_mb']:.0f} MB | {row['peak_rss_workers_mb']:.0f} MB | {row['peak_rss_tree_mb']:.0f} MB | "
              f"{row['load']} | {stages} |")
    first = rows[0]
    if "speedup_vs_reference" in first:
        print(f"\nPer-pair reference on {first['size']}: {first['reference_pairs_s']:,.0f} pairs/s "
              f"(sample of {args.reference_sample}); the core is {first['speedup_vs_reference']:,.0f}× faster.")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

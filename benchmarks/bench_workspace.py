"""Benchmark the SQLite workspace: a large import, and ranking from a workspace vs from files.

1. Imports ``--projects`` synthetic projects (:mod:`matcher.evaluation.synthetic`)
   into a new SQLite workspace (``coopmatch workspace import``, one
   transaction): wall time and file size (database plus its WAL).
2. Ranks ``--rank`` of those projects against ``--funders`` synthetic funder
   rows with ``coopmatch batch``: from the files (a CSV of those projects), and
   from the large workspace (``--workspace`` with ``--project-ids``: only those
   profiles are read, and the run is recorded), each ``--repeat`` times in a
   fresh subprocess, alternating; reports the medians and their ratio (goal:
   workspace / files <= 1.2), and whether both outputs are the same bytes.

Usage (from the repository root)::

    python benchmarks/bench_workspace.py --projects 100000 --rank 10000 --funders 200 --repeat 3
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUN_DATE = "2026-06-01"


def coopmatch(*args: str) -> float:
    clock = time.perf_counter()
    subprocess.run([sys.executable, "-m", "matcher", *args], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - clock


def size(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--projects", type=int, default=100_000)
    parser.add_argument("--rank", type=int, default=10_000)
    parser.add_argument("--funders", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    options = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from matcher.evaluation.synthetic import write_profiles

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        projects, funders = write_profiles(folder / "all", options.projects, options.funders, options.seed)
        lines = projects.read_text(encoding="utf-8").splitlines(keepends=True)
        subset = folder / "subset.csv"
        subset.write_text("".join(lines[: options.rank + 1]), encoding="utf-8")

        big = folder / "big.coopmatch"
        coopmatch("workspace", "init", str(big))
        seconds = coopmatch("workspace", "import", str(big), "projects", str(projects))
        print(f"import of {options.projects:,} projects: {seconds:.1f} s; workspace {size(big) / 1e6:.1f} MB "
              f"(CSV {projects.stat().st_size / 1e6:.1f} MB)")

        coopmatch("workspace", "import", str(big), "funders", str(funders))
        import matcher as m

        ids = folder / "ids.txt"
        ids.write_text("\n".join(m.read_projects(subset).frame["project_id"]) + "\n", encoding="utf-8")
        files, stored = [], []
        for i in range(options.repeat):
            files.append(coopmatch("batch", "--projects", str(subset), "--funders", str(funders), "--date", RUN_DATE,
                                   "--quiet", "-o", str(folder / f"out_files_{i}")))
            stored.append(coopmatch("batch", "--workspace", str(big), "--project-ids", str(ids), "--date", RUN_DATE,
                                    "--quiet", "-o", str(folder / f"out_ws_{i}")))
        same = all((folder / "out_files_0" / n).read_bytes() == (folder / "out_ws_0" / n).read_bytes()
                   for n in ("funders_for_projects.csv", "projects_for_funders.csv"))
        f, w = statistics.median(files), statistics.median(stored)
        print(f"batch of {options.rank:,} projects x {options.funders} funder rows, median of {options.repeat}: "
              f"files {f:.2f} s, workspace of {options.projects:,} {w:.2f} s (run recorded), ratio {w / f:.2f}; "
              f"same output: {same}")
        print(f"runs: files {[round(x, 2) for x in files]}, workspace {[round(x, 2) for x in stored]}")
    print(f"machine: {platform.python_version()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

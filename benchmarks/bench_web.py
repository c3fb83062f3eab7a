"""Load on ``coopmatch serve``: concurrent clients on a call's shortlist page, then on the API.

Builds a workspace with ``--applications`` projects (the sample projects
repeated under new ids) and the sample funders, starts ``coopmatch serve`` on a
free loopback port in its own process, warms it up with one request per
address, then ``--clients`` threads each send ``--requests`` GETs, first to the
shortlist page of the sample funder, then to its API shortlist. Reports p50 and
p95 latency and the error count (non-200 or failure) per phase, for each of
``--runs`` runs, and their medians (goal: p95 under 300 ms, no errors).

Loopback only, bounded in count (clients × requests) and time (``--timeout``).

Usage (from the repository root)::

    python benchmarks/bench_web.py --applications 2000 --clients 20 --requests 25 --runs 3
"""

from __future__ import annotations

import argparse
import csv
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
FUNDER = "F-FDD-TERRES"
DATE = "2026-12-01"


def build(folder: Path, applications: int) -> Path:
    import matcher as m

    with open(m.SAMPLE_PROJECTS, encoding="utf-8") as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    header, body = rows[0], rows[1:]
    out = [header]
    for i in range(applications):
        row = list(body[i % len(body)])
        row[0] = f"A{i + 1:05d}"
        row[1] = f"{row[1]} #{i + 1}"
        out.append(row)
    path = folder / "candidatures.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, delimiter=";").writerows(out)
    ws = folder / "bench.coopmatch"
    with m.Workspace.init(ws) as w:
        w.import_profiles("projects", path)
        w.import_profiles("funders", m.SAMPLE_FUNDERS)
    return ws


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def phase(url: str, clients: int, requests: int, timeout: float) -> dict:
    import httpx

    def one_client(_):
        times, errors = [], 0
        with httpx.Client(timeout=timeout) as client:
            for _ in range(requests):
                clock = time.perf_counter()
                try:
                    response = client.get(url)
                    ok = response.status_code == 200 and len(response.content) > 0
                except httpx.HTTPError:
                    ok = False
                times.append(time.perf_counter() - clock)
                errors += 0 if ok else 1
        return times, errors

    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(one_client, range(clients)))
    times = [t for r in results for t in r[0]]
    return {"p50": percentile(times, 0.5) * 1000, "p95": percentile(times, 0.95) * 1000,
            "errors": sum(r[1] for r in results), "n": len(times)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--applications", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=25)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=30.0, help="Seconds per request at most.")
    args = parser.parse_args()
    if args.clients * args.requests > 10_000:
        parser.error("at most 10,000 requests per phase")
    import httpx

    with tempfile.TemporaryDirectory(prefix="coopmatch-bench-web-") as folder:
        ws = build(Path(folder), args.applications)
        port = free_port()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        server = subprocess.Popen([sys.executable, "-m", "matcher", "serve", "--workspace", str(ws), "--host",
                                   "127.0.0.1", "--port", str(port)], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        page = f"{base}/funders/{FUNDER}/shortlist?date={DATE}"
        api = f"{base}/api/v1/funders/{FUNDER}/shortlist?date={DATE}&top=10"
        try:
            for _ in range(200):
                try:
                    if httpx.get(f"{base}/healthz", timeout=2).text == "ok":
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            else:
                raise SystemExit("the server did not start")
            clock = time.perf_counter()
            first = httpx.get(page, timeout=600)
            cold = time.perf_counter() - clock
            rows = first.text.count('<tr class="line"')
            httpx.get(api, timeout=600)
            print(f"{args.applications} applications; cold shortlist page {cold * 1000:.0f} ms "
                  f"({rows} rows shown, status {first.status_code})")
            results = {"page": [], "api": []}
            for run in range(args.runs):
                for name, url in (("page", page), ("api", api)):
                    r = phase(url, args.clients, args.requests, args.timeout)
                    results[name].append(r)
                    print(f"run {run + 1} {name}: {r['n']} requests, p50 {r['p50']:.0f} ms, p95 {r['p95']:.0f} ms, "
                          f"errors {r['errors']}")
            for name, rs in results.items():
                print(f"median of {args.runs} — {name}: p50 {statistics.median(r['p50'] for r in rs):.0f} ms, "
                      f"p95 {statistics.median(r['p95'] for r in rs):.0f} ms, "
                      f"errors {sum(r['errors'] for r in rs)}")
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()

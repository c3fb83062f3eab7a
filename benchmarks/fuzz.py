"""Fuzz every reader, every cell parser and the CLI's validate -> funders-for path (issue 16).

Each input runs in a worker process under a memory cap (``resource.setrlimit``) and a time cap
(``signal.setitimer``). An input passes when the target returns, or refuses it with the error a user
is meant to see (``InputError``/``ParseError``; for the CLI: exit 0 or 1, ``Error: …``, no traceback).
Anything else — another exception, a timeout, memory exhausted, a worker killed — is a failure,
printed with the seed and index that reproduce it.

    python benchmarks/fuzz.py --jobs 2 --seed 1            # about 100,000 inputs
    python benchmarks/fuzz.py --scale 0.01 --seed 3        # a quick slice
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import resource
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PARSERS = ("parse_amount", "parse_percent", "parse_date", "parse_int", "parse_months", "parse_bool",
           "parse_weighted", "parse_level", "parse_levels", "parse_siret", "parse_siren", "parse_rna",
           "parse_organisation_id")
READERS = ("csv", "tsv", "json", "jsonl", "yaml", "xlsx", "csv.gz")
#: Inputs per target at --scale 1.
COUNTS = {**{p: 6_200 for p in PARSERS}, **{r: 2_800 for r in READERS}, "cli": 200}
TIME_CAP = 20.0  # seconds per input
MEMORY_CAP = 3 * 1024**3  # bytes of address space per worker

WORDS = ["50 000 €", "1,5 M€", "12/03/2027", "2027-01-15", "oui", "non", "Crest", "26", "Saint-Denis", "93200",
         "énergie", "agriculture", "association", "SCIC", "subvention", "prêt", "24 mois", "2 ans", "10⁶", "①",
         "1e308", "NaN", "-0", "0x10", "012", "NO", "~", "null", "", " ", "\t", "\u00a0", "Caf\ud83d", "\ufeff",
         "=SUM(A1)", '"', "'", ";", ",", "|", "\r", "\n", "%", "100 %", "1900-01-01", "9999-12-31", "∞",
         "Montant demandé", "Budget total", "Identifiant", "Nom du projet", "Territoire", "Secteurs"]
HEADER = ["Identifiant", "Nom du projet", "Résumé", "Territoire", "Montant demandé", "Budget total", "Secteurs",
          "Instruments recherchés", "Date de démarrage", "Durée (mois)", "Forme juridique"]


def text_value(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.5:
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 4)))
    if kind < 0.8:
        return "".join(chr(rng.choice((rng.randint(32, 126), rng.randint(0xA0, 0x2FFF))))
                       for _ in range(rng.randint(0, 30)))
    return "".join(rng.choice("0123456789 .,'-+€kKMmd%e") for _ in range(rng.randint(1, 25)))


def cell_value(rng: random.Random):
    roll = rng.random()
    if roll < 0.7:
        return text_value(rng)
    if roll < 0.8:
        return rng.choice([0, -1, 1, 10**30, 1e308, float("inf"), float("nan"), 1e-300, 2**63, 0.5])
    if roll < 0.9:
        return rng.choice([None, True, False, [], {}, ["a", 1], {"a": "b"}])
    return rng.choice(WORDS)


def table_rows(rng: random.Random) -> list[list]:
    width = rng.randint(1, len(HEADER) + 2)
    header = [rng.choice(HEADER + WORDS) if rng.random() < 0.9 else text_value(rng) for _ in range(width)]
    rows = [header]
    for _ in range(rng.randint(0, 6)):
        rows.append([cell_value(rng) for _ in range(width + rng.choice((0, 0, 0, -1, 1)))])
    return rows


def mutate(data: bytes, rng: random.Random) -> bytes:
    if not data or rng.random() < 0.6:
        return data
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.random()
        i = rng.randrange(len(data) + 1)
        if op < 0.4 and data:
            data[min(i, len(data) - 1)] = rng.randrange(256)
        elif op < 0.7:
            data[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        else:
            del data[i:i + rng.randint(1, 8)]
    return bytes(data)


def reader_input(fmt: str, rng: random.Random) -> bytes:
    import gzip

    rows = table_rows(rng)
    if fmt in ("csv", "tsv", "csv.gz"):
        sep = "\t" if fmt == "tsv" else rng.choice(";,|\t")
        lines = []
        for row in rows:
            cells = ["" if v is None else str(v) for v in row]
            lines.append(sep.join(f'"{c}"' if rng.random() < 0.2 else c for c in cells))
        encoding = rng.choice(["utf-8", "utf-8", "cp1252", "utf-8-sig", "utf-16"])
        data = "\n".join(lines).encode(encoding, errors="surrogatepass" if encoding == "utf-8" else "replace")
        data = mutate(data, rng)
        return gzip.compress(data) if fmt == "csv.gz" else data
    records = [dict(zip([str(h) for h in rows[0]], row, strict=False)) for row in rows[1:]]
    if fmt == "json":
        return mutate(json.dumps(records, default=str).encode(), rng)
    if fmt == "jsonl":
        return mutate("\n".join(json.dumps(r, default=str) for r in records).encode(), rng)
    if fmt == "yaml":
        import yaml

        try:
            text = yaml.safe_dump(records, allow_unicode=True)
        except Exception:
            text = "- a: 1\n"
        if rng.random() < 0.2:
            text = "x: &x [" + ",".join(["*y"] * 3) + "]\n" if rng.random() < 0.5 else text + "- &k {a: 1}\n- *k\n"
        return mutate(text.encode("utf-8", errors="surrogatepass"), rng)
    import io

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            if isinstance(value, str | int | float | bool) and not (isinstance(value, float) and value != value):
                try:
                    sheet.cell(r, c, value if not isinstance(value, str) else value.encode("utf-8", "replace")
                               .decode("utf-8", "replace"))
                except Exception:
                    pass
    buffer = io.BytesIO()
    book.save(buffer)
    return mutate(buffer.getvalue(), rng) if rng.random() < 0.3 else buffer.getvalue()


def _limit_worker() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


class _Timeout(BaseException):
    pass


def _alarm(signum, frame):
    raise _Timeout


def run_one(task: tuple[str, int, int]) -> tuple[str, str | None]:
    target, seed, index = task
    rng = random.Random(f"{seed}-{target}-{index}")
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, TIME_CAP)
    try:
        _run_target(target, rng)
        return target, None
    except _Timeout:
        return target, f"timeout after {TIME_CAP} s (seed {seed}, index {index})"
    except MemoryError:
        return target, f"memory exhausted (seed {seed}, index {index})"
    except Exception as exc:  # a bug: report it
        return target, f"{type(exc).__name__}: {str(exc)[:200]} (seed {seed}, index {index})"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _run_target(target: str, rng: random.Random) -> None:
    from matcher.core.errors import InputError
    from matcher.normalize import identifiers, parsers
    from matcher.normalize.problems import ParseError

    if target in PARSERS:
        function = getattr(parsers, target, None) or getattr(identifiers, target)
        try:
            function(cell_value(rng))
        except (ParseError, InputError):
            pass
        return
    from matcher.io.readers import read_table

    with tempfile.TemporaryDirectory() as folder:
        if target == "cli":
            _run_cli(rng, Path(folder))
            return
        path = Path(folder) / f"input.{target}"
        path.write_bytes(reader_input(target, rng))
        kind = rng.choice(["projects", "funders", "history"])
        try:
            from matcher.io.loading import load

            load(kind, path) if rng.random() < 0.5 else read_table(path)
        except InputError:
            pass
        except Exception as exc:
            if type(exc).__name__ in ("MappingError", "VocabularyError"):
                return
            raise


def _run_cli(rng: random.Random, folder: Path) -> None:
    from click.testing import CliRunner

    from matcher.cli import cli

    fmt = rng.choice(["csv", "json", "yaml", "xlsx", "jsonl"])
    path = folder / f"p.{fmt}"
    path.write_bytes(reader_input(fmt, rng))
    runner = CliRunner()
    for args in (["validate", "projects", str(path)], ["funders-for", str(path), "--format", "csv", "--top", "3"]):
        result = runner.invoke(cli, args)
        if result.exit_code not in (0, 1) or (result.exception and not isinstance(result.exception, SystemExit)):
            raise RuntimeError(f"{args[0]} exit {result.exit_code}: {result.exception!r}")
        if "Traceback" in result.output:
            raise RuntimeError(f"{args[0]} printed a traceback")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", type=float, default=1.0, help="Multiply the number of inputs per target.")
    parser.add_argument("--targets", default=None, help="Comma-separated subset of targets.")
    options = parser.parse_args(argv)
    targets = options.targets.split(",") if options.targets else list(COUNTS)
    tasks = [(t, options.seed, i) for t in targets for i in range(max(1, int(COUNTS[t] * options.scale)))]
    random.Random(options.seed).shuffle(tasks)
    counts: Counter = Counter()
    failures: list[str] = []
    started = time.perf_counter()
    context = mp.get_context("fork")
    with context.Pool(options.jobs, initializer=_limit_worker, maxtasksperchild=2000) as pool:
        for target, failure in pool.imap_unordered(run_one, tasks, chunksize=50):
            counts[target] += 1
            if failure:
                failures.append(f"{target}: {failure}")
    elapsed = time.perf_counter() - started
    print(f"{sum(counts.values()):,} inputs over {len(counts)} targets in {elapsed:.0f} s, "
          f"{len(failures)} failure(s)")
    for target in targets:
        print(f"  {target:18s} {counts[target]:7,d}")
    for line in failures[:50]:
        print("FAIL", line)
    return 1 if failures else 0


if __name__ == "__main__":
    os.environ.setdefault("COOPMATCH_LANG", "fr")
    sys.exit(main())

"""Fuzz every reader, parser and the CLI's validate -> funders-for path with generated inputs.

Each input runs in a worker process under a memory cap (``resource.setrlimit``) and a time cap
(``signal.setitimer``). A *failure* is anything but the documented outcome:

- parsers: a value or a :class:`~matcher.normalize.problems.ParseError`;
- readers and pipelines: a result or a :class:`~matcher.core.errors.CoopmatchError`;
- CLI: exit 0 or 1 with no traceback, and ``funders-for`` exits 0 on every file ``validate`` accepted;
- for all: no other exception, no timeout, no MemoryError.

Inputs are mutations of small valid seeds (byte flips, cuts, repeats, and hostile tokens: lone
surrogates, 1e308, deep nesting, NUL, cp1252 bytes, quotes, huge cells), generated from
``--seed``: the same command gives the same inputs. Limits are set low in the workers
(:mod:`matcher.io.limits`) so that bombs are refused fast.

    python benchmarks/fuzz.py --jobs 2 --seed 1            # the full run (> 100,000 inputs)
    python benchmarks/fuzz.py --scale 0.01 --jobs 1        # a quick slice
"""

from __future__ import annotations

import argparse
import collections
import gzip
import io
import json
import random
import resource
import signal
import sys
import tempfile
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

MEMORY_CAP = 3 * 1024**3  # bytes of address space per worker
TIME_CAP = 10.0  # seconds per input
CHUNK = 50

HOSTILE = ["\ud83d", "\udc00", "1e308", "-1e308", "1e-300", "NaN", "inf", "9" * 40, "\x00", "\ufeff", "\u00e9",
           "é".encode().decode("latin-1"), "€", "10⁶", "①", "0x10", "012", "NO", "yes", "~", "null", '"', '""', "'",
           ",", ";", "\t", "\n", "\r\n", "\r", "[" * 200, "{" * 200, "&a [*a, *a]", "*a", "- ", ": ", "---",
           "=SUM(A1)", "+1", "@x", "x" * 5000, "0", "-0", "1,5", "1.000.000", "10 000 €", "24 mois", "2 ans",
           "31/02/2024", "1900-01-01", "9999-12-31", "2024-13-45", "oui", "non", "Vrai", "35", "75056", "FR",
           "dep:35", "reg:53", "Saint-Denis", "<script>", "énergie", "mobilité:2", "culture (3)", "0,0001"]

PROJECT_CSV = ("project_id,name,summary,legal_form,sectors,territory,amount_requested,total_budget,start_date\n"
               "P1,Tiers-lieu,Un tiers-lieu solidaire,association,culture;social_cohesion,35047,80000,200000,"
               "2026-03-01\nP2,Vélo,Atelier vélo,SCIC,mobility,Bruz,12 000 €,30000,01/02/2026\n")
FUNDER_YAML = ("- funder_id: F1\n  name: Fonds\n  sectors: {energy: 2, mobility: 1}\n  perimeter: reg:53\n"
               "  ticket_min: 1000\n  ticket_max: 50000\n  max_share_of_budget: 0.5\n"
               "  calls:\n    - call_id: C1\n      call_closes: 2026-12-31\n")
HISTORY_CSV = "funder_id,project_id,amount,year,sectors\nF1,P1,1000,2023,energy\nF1,P2,2 000 €,2024,culture\n"
AIDES_CSV = ("Nom,Lien,Financeurs,Bénéficiaire,Types d'aides,AAP/AMI,Récurrence,Descriptif,Date Clôture\n"
             "Pistes cyclables,https://aides-territoires.beta.gouv.fr/aides/x/,Conseil départemental du Morbihan,"
             "Communes;Associations,Subvention,Oui,Permanente,<p>Vélo</p>,31/12/2026\n")
PARSER_SEEDS = ["45000", "10 000 €", "1,5 M€", "50 %", "0.3", "2026-03-01", "01/02/2026", "oui", "non", "12",
                "energy:2; mobility", "culture (3)", "reg:53;dep:35", "Bruz", "2"]


# --------------------------------------------------------------------------- generation


def mutate_text(rng: random.Random, text: str, rounds: int = 3) -> str:
    for _ in range(rng.randint(1, rounds)):
        op = rng.randrange(7)
        pos = rng.randint(0, len(text))
        if op == 0:
            text = text[:pos] + rng.choice(HOSTILE) + text[pos:]
        elif op == 1 and text:
            end = min(len(text), pos + rng.randint(1, 20))
            text = text[:pos] + text[end:]
        elif op == 2:
            text = text[:pos]
        elif op == 3 and text:
            end = min(len(text), pos + rng.randint(1, 40))
            text = text[:pos] + text[pos:end] * rng.randint(2, 50) + text[end:]
        elif op == 4:
            text = text[:pos] + chr(rng.choice([rng.randint(0, 0x7F), rng.randint(0x80, 0x2FFF),
                                                rng.randint(0xD800, 0xDFFF), rng.randint(0x10000, 0x10FFFF)]))
            text += text[pos:]
        elif op == 5:
            text = text.replace(rng.choice([",", ";", "\n", ":", "-"]), rng.choice(HOSTILE), rng.randint(1, 3))
        else:
            text = rng.choice(HOSTILE) + text
    return text


def mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(4)
        pos = rng.randrange(len(data)) if data else 0
        if op == 0 and data:
            data[pos] = rng.randrange(256)
        elif op == 1:
            data[pos:pos] = rng.choice([b"\xe9", b"\x80", b"\xc3\xa9", b"\x00", b"\xff\xfe", b"\xef\xbb\xbf"])
        elif op == 2:
            del data[pos:pos + rng.randint(1, 50)]
        else:
            data = data[:pos]
    return bytes(data)


def encode(rng: random.Random, text: str) -> bytes:
    encoding = rng.choice(["utf-8", "utf-8", "utf-8", "cp1252", "utf-16", "latin-1"])
    data = text.encode(encoding, errors="surrogatepass" if encoding.startswith("utf") else "replace")
    return mutate_bytes(rng, data) if rng.random() < 0.3 else data


def structured_records(rng: random.Random) -> list:
    keys = ["project_id", "name", "amount_requested", "total_budget", "sectors", "territory", "start_date",
            "funder_id", "calls", "perimeter", "max_share_of_budget", rng.choice(HOSTILE)]
    records = []
    for i in range(rng.randint(0, 5)):
        record = {}
        for key in rng.sample(keys, rng.randint(1, len(keys))):
            record[key] = rng.choice([rng.choice(HOSTILE), f"P{i}", rng.randint(-5, 10**6), 1e308, None, True,
                                      [rng.choice(HOSTILE)], {"x": rng.choice(HOSTILE)}, rng.random() * 1e6, 0])
        records.append(record)
    if rng.random() < 0.2:
        records.append(rng.choice([[], "x", 1, None]))
    return records


def gen_csv(rng):
    return "p.csv", encode(rng, mutate_text(rng, PROJECT_CSV, 5))


def gen_tsv(rng):
    return "p.tsv", encode(rng, mutate_text(rng, PROJECT_CSV.replace(",", "\t"), 5))


def gen_gz(rng):
    data = encode(rng, mutate_text(rng, PROJECT_CSV, 4))
    packed = gzip.compress(data, mtime=0)
    if rng.random() < 0.05:
        packed = gzip.compress(b"\n" * rng.randint(10**5, 4 * 10**6), mtime=0)  # a small newline bomb
    return "p.csv.gz", mutate_bytes(rng, packed) if rng.random() < 0.2 else packed


def gen_json(rng):
    text = json.dumps(structured_records(rng), ensure_ascii=rng.random() < 0.5)
    if rng.random() < 0.05:
        text = "[" * rng.randint(100, 5000) + "]" * rng.randint(0, 5000)
    return "p.json", encode(rng, mutate_text(rng, text, 2) if rng.random() < 0.5 else text)


def gen_jsonl(rng):
    lines = [json.dumps(r, ensure_ascii=rng.random() < 0.5) for r in structured_records(rng)]
    text = "\n".join(lines)
    return "p.jsonl", encode(rng, mutate_text(rng, text, 2) if rng.random() < 0.5 else text)


def gen_yaml(rng):
    text = FUNDER_YAML
    if rng.random() < 0.05:  # an alias bomb, small
        text = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
            f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
            for i in range(8))
    return "f.yaml", encode(rng, mutate_text(rng, text, 5))


def gen_xlsx(rng):
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    rows = [line.split(",") for line in mutate_text(rng, PROJECT_CSV, 3).split("\n")]
    for r, row in enumerate(rows[:20], start=1):
        for c, value in enumerate(row[:30], start=1):
            cell_value = value
            if rng.random() < 0.1:
                cell_value = rng.choice([1e308, -1.0, 0, 10**20, "=1/0", True])
            try:
                sheet.cell(row=r, column=c, value=cell_value)
            except Exception:  # openpyxl refuses some control characters: keep the cell empty
                pass
    if rng.random() < 0.05:
        sheet.cell(row=1, column=16384, value="far")  # XFD1
    buffer = io.BytesIO()
    workbook.save(buffer)
    data = buffer.getvalue()
    return "p.xlsx", mutate_bytes(rng, data) if rng.random() < 0.1 else data


def gen_parquet(rng):
    import pandas as pd

    records = [r for r in structured_records(rng) if isinstance(r, dict)]
    def clean(text):  # Parquet holds UTF-8 only: no lone surrogate can be written
        return text.encode("utf-8", "replace").decode("utf-8")

    frame = pd.DataFrame([{clean(k): (None if v is None else clean(str(v))) for k, v in r.items()} for r in records])
    buffer = io.BytesIO()
    try:
        frame.to_parquet(buffer)
    except Exception:
        buffer = io.BytesIO(b"PAR1")
    data = buffer.getvalue()
    return "p.parquet", mutate_bytes(rng, data) if rng.random() < 0.2 else data


def gen_value(rng):
    base = rng.choice(PARSER_SEEDS + HOSTILE)
    value = mutate_text(rng, base, 2) if rng.random() < 0.7 else base
    return rng.choice([value, value, value, rng.random() * 10 ** rng.randint(-300, 308), rng.randint(-10, 10**9),
                       None, True, [value], {"k": value}])


# --------------------------------------------------------------------------- targets


def _file(gen):
    def make(rng, tmp):
        name, data = gen(rng)
        path = Path(tmp) / name
        path.write_bytes(data)
        return path
    return make


def _reader(gen):
    def run(rng, tmp):
        from matcher.io.readers import read_table

        read_table(_file(gen)(rng, tmp))
    return run


def _loader(kind, gen):
    def run(rng, tmp):
        from matcher.io.loading import load

        load(kind, _file(gen)(rng, tmp))
    return run


def _parser(name):
    def run(rng, tmp):
        from matcher.normalize import parsers
        from matcher.normalize.problems import ParseError

        try:
            getattr(parsers, name)(gen_value(rng))
        except ParseError:
            pass
    return run


def _vocabulary(rng, tmp):
    from matcher.referential.vocabularies import get_vocabulary

    value = gen_value(rng)
    vocabulary = get_vocabulary(rng.choice(["sectors", "legal_forms", "instruments", "stages"]))
    vocabulary.resolve_cell(value)
    vocabulary.mentions(value if isinstance(value, str) else None)


def _aides_csv(rng):
    return "aides.csv", encode(rng, mutate_text(rng, AIDES_CSV, 4))


def _history_csv(rng):
    return "h.csv", encode(rng, mutate_text(rng, HISTORY_CSV, 4))


def _funders_yaml(rng):
    return "f.yaml", encode(rng, mutate_text(rng, FUNDER_YAML, 4))


def _cli(rng, tmp):
    from click.testing import CliRunner

    from matcher.cli import cli

    path = _file(rng.choice([gen_csv, gen_json, gen_yaml, gen_jsonl]))(rng, tmp)
    if path.name == "f.yaml":
        path = path.rename(path.with_name("p.yaml"))
    runner = CliRunner()
    checked = runner.invoke(cli, ["validate", "projects", str(path), "--lang", rng.choice(["fr", "en"])])
    _check_cli(checked, "validate")
    if checked.exit_code == 0:
        ranked = runner.invoke(cli, ["funders-for", str(path), "--date", "2026-01-15", "--format", "csv"])
        _check_cli(ranked, "funders-for")
        if ranked.exit_code != 0:
            raise AssertionError(f"validate accepted the file but funders-for exited {ranked.exit_code}: "
                                 f"{ranked.output[-300:]}")


def _check_cli(result, command):
    if result.exit_code not in (0, 1) or "Traceback" in result.output:
        raise AssertionError(f"{command}: exit {result.exit_code}: {result.output[-300:]}")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception


#: name -> (function(rng, tmp), relative weight in the number of inputs)
TARGETS = {
    "read_csv": (_reader(gen_csv), 3000),
    "read_tsv": (_reader(gen_tsv), 1500),
    "read_csv_gz": (_reader(gen_gz), 1500),
    "read_json": (_reader(gen_json), 4000),
    "read_jsonl": (_reader(gen_jsonl), 3000),
    "read_yaml": (_reader(gen_yaml), 4000),
    "read_xlsx": (_reader(gen_xlsx), 300),
    "read_parquet": (_reader(gen_parquet), 800),
    "load_projects": (_loader("projects", gen_csv), 800),
    "load_funders": (_loader("funders", _funders_yaml), 800),
    "load_history": (_loader("history", _history_csv), 400),
    "load_aides_territoires": (_loader("funders", _aides_csv), 400),
    "parse_amount": (_parser("parse_amount"), 12000),
    "parse_percent": (_parser("parse_percent"), 10000),
    "parse_date": (_parser("parse_date"), 10000),
    "parse_bool": (_parser("parse_bool"), 10000),
    "parse_int": (_parser("parse_int"), 10000),
    "parse_weighted": (_parser("parse_weighted"), 10000),
    "parse_level": (_parser("parse_level"), 8000),
    "parse_levels": (_parser("parse_levels"), 8000),
    "vocabularies": (_vocabulary, 3000),
    "cli_validate_funders_for": (_cli, 100),
}

_tmp: str | None = None


class _Timeout(Exception):
    pass


def _on_alarm(signum, frame):
    raise _Timeout()


def _init(memory_cap: int) -> None:
    global _tmp
    resource.setrlimit(resource.RLIMIT_AS, (memory_cap, memory_cap))
    signal.signal(signal.SIGALRM, _on_alarm)
    _tmp = tempfile.mkdtemp(prefix="coopmatch-fuzz-")
    # Warm up outside the timed inputs: imports, vocabularies, territories, the sample funders.
    from click.testing import CliRunner

    from matcher.cli import cli

    path = Path(_tmp) / "warm.csv"
    path.write_text(PROJECT_CSV, encoding="utf-8")
    CliRunner().invoke(cli, ["funders-for", str(path), "--date", "2026-01-15", "--format", "csv"])
    path.unlink()


def run_chunk(name: str, seed: int, start: int, count: int, time_cap: float) -> tuple[str, int, list[str]]:
    """Run inputs ``start .. start+count`` of target ``name``; (name, count, failure descriptions)."""
    from matcher.core.errors import CoopmatchError
    from matcher.io.limits import limits

    function = TARGETS[name][0]
    failures = []
    with limits(bytes=2_000_000, cells=200_000, columns=500, cell_chars=100_000, depth=40, yaml_aliases=40):
        for i in range(start, start + count):
            rng = random.Random(f"{seed}:{name}:{i}")
            signal.setitimer(signal.ITIMER_REAL, time_cap)
            try:
                function(rng, _tmp)
            except CoopmatchError:
                pass
            except _Timeout:
                failures.append(f"{name} #{i}: more than {time_cap} s")
            except MemoryError:
                failures.append(f"{name} #{i}: MemoryError")
            except BaseException as exc:  # noqa: BLE001 - any other exception is the failure we look for
                failures.append(f"{name} #{i}: {type(exc).__name__}: {str(exc)[:200]}\n"
                                + "".join(traceback.format_exc(limit=-3)))
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            for leftover in Path(_tmp).iterdir():
                if leftover.is_file():
                    leftover.unlink()
    return name, count, failures


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every target's number of inputs")
    parser.add_argument("--only", nargs="*", default=None, help="run only these targets")
    parser.add_argument("--time-cap", type=float, default=TIME_CAP)
    parser.add_argument("--memory-cap-gb", type=float, default=MEMORY_CAP / 1024**3)
    args = parser.parse_args(argv)
    names = args.only or list(TARGETS)
    jobs = []
    for name in names:
        total = max(1, round(TARGETS[name][1] * args.scale))
        jobs.extend((name, start, min(CHUNK, total - start)) for start in range(0, total, CHUNK))
    counts: collections.Counter = collections.Counter()
    failures: dict[str, list[str]] = collections.defaultdict(list)
    clock = time.perf_counter()
    with ProcessPoolExecutor(args.jobs, initializer=_init, initargs=(int(args.memory_cap_gb * 1024**3),)) as pool:
        futures = [pool.submit(run_chunk, name, args.seed, start, count, args.time_cap)
                   for name, start, count in jobs]
        for done, future in enumerate(as_completed(futures), start=1):
            name, count, failed = future.result()
            counts[name] += count
            failures[name].extend(failed)
            if done % 50 == 0:
                print(f"  {done}/{len(futures)} chunks, {sum(counts.values()):,} inputs, "
                      f"{time.perf_counter() - clock:.0f} s", file=sys.stderr)
    print(f"{'target':28} {'inputs':>8} {'failures':>9}")
    for name in names:
        print(f"{name:28} {counts[name]:>8,} {len(failures[name]):>9}")
    total_failures = sum(len(f) for f in failures.values())
    print(f"{'total':28} {sum(counts.values()):>8,} {total_failures:>9}   "
          f"({time.perf_counter() - clock:.0f} s, --seed {args.seed}, --jobs {args.jobs})")
    for name in names:
        for failure in failures[name][:5]:
            print("\n" + failure)
    return 1 if total_failures else 0


if __name__ == "__main__":
    sys.exit(main())

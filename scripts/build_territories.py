"""Build ``matcher/data/territories.csv.gz`` from ``@etalab/decoupage-administratif``.

The npm package holds the French administrative geography (COG) as JSON. This
script fetches one pinned version with ``npm pack``, keeps what coopmatch needs
(regions, departments, EPCI with own taxation, current communes with their
postcodes, population and parents) and writes one compact, deterministic
table (rows sorted, gzip with ``mtime=0``), so that the same package version
always gives the same bytes.

Usage::

    python scripts/build_territories.py                 # fetch with npm, write the table
    python scripts/build_territories.py --package DIR   # use an unpacked package/ directory

Decisions recorded in the table (see ``matcher/data/TERRITORIES_ATTRIBUTION.md``):

- only communes of type ``commune-actuelle``; the municipal arrondissements of
  Paris, Lyon and Marseille and the former communes (``commune-deleguee``,
  ``commune-associee``, ``anciensCodes``) become ``old_codes`` / ``old_names``
  of the current commune, so that they still resolve to it;
- the overseas collectivities (COM: 975, 977, 978, 984, 986-989) are listed by
  the package as their own "regions"; they are not regions, so they are kept
  as departments only, directly inside FR;
- an EPCI's ``dep``/``reg`` is its *home* department/region: the one holding
  the largest share of its population (the package does not name the seat).
  Exact containment is computed from the member communes when the table is
  loaded, not from these columns;
- population: the commune's ``population`` field; every aggregate (EPCI,
  department, region) is the sum over its current communes.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

PACKAGE = "@etalab/decoupage-administratif"
VERSION = "6.0.0"
ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "matcher" / "data" / "territories.csv.gz"
COLUMNS = [
    "code", "level", "name", "postcodes", "dep", "reg", "epci",
    "population", "old_codes", "old_names",
]
LEVEL_ORDER = {"region": 0, "department": 1, "epci": 2, "commune": 3}


def fetch_package(workdir: Path) -> Path:
    """Download the pinned package tarball with ``npm pack`` and unpack it."""
    subprocess.run(
        ["npm", "pack", f"{PACKAGE}@{VERSION}", "--silent"],
        cwd=workdir, check=True, stdout=subprocess.DEVNULL,
    )
    tarball = next(workdir.glob("*.tgz"))
    with tarfile.open(tarball) as tar:
        tar.extractall(workdir, filter="data")
    return workdir / "package"


def _load(package: Path, name: str) -> list[dict]:
    with open(package / "data" / f"{name}.json", encoding="utf-8") as handle:
        return json.load(handle)


def build_rows(package: Path) -> list[dict[str, str]]:
    """Turn the package's JSON files into table rows (one dict per territory)."""
    version = json.loads((package / "package.json").read_text(encoding="utf-8"))["version"]
    if version != VERSION:
        raise SystemExit(f"expected {PACKAGE}@{VERSION}, found {version}")
    regions = _load(package, "regions")
    departments = _load(package, "departements")
    epcis = _load(package, "epci")
    all_communes = _load(package, "communes")

    communes = {c["code"]: c for c in all_communes if c["type"] == "commune-actuelle"}
    real_regions = {r["code"]: r for r in regions if r["zone"] != "com"}

    old_codes: dict[str, set[str]] = defaultdict(set)
    old_names: dict[str, set[str]] = defaultdict(set)
    for c in communes.values():
        old_codes[c["code"]].update(a for a in c.get("anciensCodes", ()) if a != c["code"])
    for c in all_communes:
        parent = c.get("commune") or c.get("chefLieu")
        if c["type"] == "commune-actuelle" or parent not in communes:
            continue
        if c["code"] != parent:
            old_codes[parent].add(c["code"])
        if c["nom"] != communes[parent]["nom"]:
            old_names[parent].add(c["nom"])
    if any(code in communes for codes in old_codes.values() for code in codes):
        raise SystemExit("a former code is also a current commune code")

    epci_of: dict[str, str] = {}
    for e in epcis:
        for member in e["membres"]:
            if member["code"] in epci_of:
                raise SystemExit(f"commune {member['code']} is in two EPCI")
            epci_of[member["code"]] = e["code"]

    def population(code: str) -> int:
        return int(communes[code].get("population") or 0)

    def region_of(dep_code: str) -> str:
        reg = next(d["region"] for d in departments if d["code"] == dep_code)
        return f"reg:{reg}" if reg in real_regions else ""

    dep_region = {d["code"]: region_of(d["code"]) for d in departments}
    dep_pop: Counter[str] = Counter()
    reg_pop: Counter[str] = Counter()
    rows = []
    for code, c in communes.items():
        dep_pop[c["departement"]] += population(code)
        reg_pop[dep_region[c["departement"]]] += population(code)
        rows.append({
            "code": f"commune:{code}",
            "level": "commune",
            "name": c["nom"],
            "postcodes": " ".join(sorted(c.get("codesPostaux", ()))),
            "dep": f"dep:{c['departement']}",
            "reg": dep_region[c["departement"]],
            "epci": f"epci:{epci_of[code]}" if code in epci_of else "",
            "population": str(population(code)) if "population" in c else "",
            "old_codes": " ".join(sorted(old_codes[code])),
            "old_names": "|".join(sorted(old_names[code])),
        })
    for e in epcis:
        members = [m["code"] for m in e["membres"]]
        by_dep: Counter[str] = Counter()
        for m in members:
            by_dep[communes[m]["departement"]] += population(m)
        counts = Counter(communes[m]["departement"] for m in members)
        home = min(by_dep, key=lambda d: (-by_dep[d], -counts[d], d))
        rows.append({
            "code": f"epci:{e['code']}", "level": "epci", "name": e["nom"],
            "postcodes": "", "dep": f"dep:{home}", "reg": dep_region[home], "epci": "",
            "population": str(sum(population(m) for m in members)),
            "old_codes": "", "old_names": "",
        })
    for d in departments:
        rows.append({
            "code": f"dep:{d['code']}", "level": "department", "name": d["nom"],
            "postcodes": "", "dep": "", "reg": dep_region[d["code"]], "epci": "",
            "population": str(dep_pop[d["code"]]), "old_codes": "", "old_names": "",
        })
    for r in real_regions.values():
        rows.append({
            "code": f"reg:{r['code']}", "level": "region", "name": r["nom"],
            "postcodes": "", "dep": "", "reg": "", "epci": "",
            "population": str(reg_pop[f"reg:{r['code']}"]), "old_codes": "", "old_names": "",
        })
    rows.sort(key=lambda row: (LEVEL_ORDER[row["level"]], row["code"]))
    return rows


def write_table(rows: list[dict[str, str]], path: Path) -> None:
    """Write rows as gzipped CSV with a fixed header, ``\\n`` line ends and mtime 0."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as raw, gzip.GzipFile(
        filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0
    ) as gz:
        gz.write(text.getvalue().encode("utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", type=Path, help="an unpacked package/ directory")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        package = args.package or fetch_package(Path(tmp))
        rows = build_rows(package)
    write_table(rows, args.output)
    levels = Counter(row["level"] for row in rows)
    print(
        f"wrote {args.output} ({args.output.stat().st_size:,} bytes): "
        + ", ".join(f"{levels[level]} {level}" for level in LEVEL_ORDER),
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Print the accounting of every real-data file of ../shared/data, to compare two commits.

    python scripts/realdata_counts.py > before.txt   (old commit)
    python scripts/realdata_counts.py > after.txt    (new commit)
    diff before.txt after.txt

The data folder is ``../shared/data`` beside the repository, or ``$COOPMATCH_SHARED_DATA``.
For each file: the summary counts, the column mapping, the problems per severity and code,
and a SHA-256 of the normalised rows and of the problems (same bytes, same hash).
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections import Counter
from pathlib import Path

from matcher.io.loading import load

DATA = Path(os.environ.get("COOPMATCH_SHARED_DATA") or Path(__file__).resolve().parents[1].parent / "shared" / "data")
FILES = [
    ("history", "paris-subventions/subventions-accordees-et-refusees_TRAIN.csv.gz", {}),
    ("history", "paris-subventions/subventions-accordees-et-refusees_TEST.csv.gz", {}),
    ("history", "paris-subventions/subventions-accordees-et-refusees_TEST.csv.gz", {"funder_id": "direction"}),
    ("history", "scdl/exemple_valide.csv", {}),
    ("history", "scdl/exemple_invalide_erreurs_cellules.csv", {}),
    ("history", "scdl/exemple_invalide_erreurs_colonnes.csv", {}),
    ("history", "360giving/grantnav-test-multi-funder.json", {}),
    ("history", "360giving/grantnav-test-power-to-change.json", {}),
    ("funders", "aides-territoires/aides-territoires_periurbain.csv", {}),
]


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def main() -> int:
    if not DATA.is_dir():
        print(f"{DATA} is absent", file=sys.stderr)
        return 1
    for kind, name, forced in FILES:
        print(f"== {kind} {name} {forced or ''}")
        try:
            result = load(kind, DATA / name, forced=forced or None)
        except Exception as exc:  # noqa: BLE001 - the message is the result
            print(f"   {type(exc).__name__}: {exc}")
            continue
        s = result.summary
        print(f"   read {s['rows_read']} = normalised {s['rows_normalised']} + rejected {s['rows_rejected']};"
              f" warnings {s['warnings']}; file problems {s['file_problems']}; profiles {s['profiles_out']}")
        print(f"   mapped: {s['columns_mapped']}")
        print(f"   unmapped: {s['columns_unmapped']}")
        severities = Counter(p.severity for p in result.problems)
        print(f"   problems: {dict(sorted(severities.items()))}")
        print(f"   frame sha: {digest(result.frame.to_csv(index=False))}")
        rejects = result.rejects.drop(columns=[c for c in ("code",) if c in result.rejects.columns])
        print(f"   problems sha: {digest(rejects.to_csv(index=False))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

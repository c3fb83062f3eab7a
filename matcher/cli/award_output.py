"""The ``p_award`` column of ``batch``'s output files, when the history holds decisions.

The batch writes its files as it scores (streamed CSV, chunk parts), so the chance of award is added
afterwards, file by file, a block of lines at a time: the column goes right after ``score``; every
other cell keeps its bytes (CSV fields are parsed and quoted again the way they were written).
"""

from __future__ import annotations

import csv
from pathlib import Path

import click
import numpy as np
import pandas as pd

#: Lines read, scored and written at a time.
BLOCK_LINES = 50_000
#: Project fields the chance of award reads.
PROJECT_FIELDS = ("project_id", "siret", "siren", "carrier_name", "name", "summary", "sectors")


def award_model_for(matcher, history, lang: str):
    """A fitted :class:`~matcher.engine.award.AwardModel` when ``history`` holds decisions, else None
    (said on stderr when a history was given)."""
    from matcher.engine.award import AwardModel, has_decisions

    if history is None or "history" not in getattr(matcher, "criteria_names_", []):
        return None
    if not has_decisions(history):
        click.echo("pas de chance d'obtention (p_award) : l'historique n'a pas de décisions accordées et refusées "
                   "sur trois ans" if lang == "fr" else "no chance of award (p_award): the history has no granted "
                   "and refused decisions over three years", err=True)
        return None
    click.echo("chance d'obtention…" if lang == "fr" else "chance of award…", err=True)
    return AwardModel().fit(history)


def slim_projects(projects: pd.DataFrame) -> pd.DataFrame:
    """The project fields the chance of award needs (kept before the batch drops its projects frame)."""
    return projects[[c for c in PROJECT_FIELDS if c in projects.columns]].copy()


def _chances(model, projects: pd.DataFrame, lines: pd.DataFrame, year: int) -> np.ndarray:
    from matcher.engine.award import p_award_of_lines

    return p_award_of_lines(model, projects, lines, year)


def add_to_csv(path: Path, model, projects: pd.DataFrame, year: int) -> None:
    """Insert ``p_award`` after ``score`` in a CSV written by the batch (atomic rewrite)."""
    from matcher.io.writers import atomic_path, cell_text, csv_field, neutralise

    written_ids = {neutralise(cell_text(p)): p for p in projects["project_id"].tolist()}
    with path.open(encoding="utf-8", newline="") as source, atomic_path(path) as tmp, \
            tmp.open("w", encoding="utf-8", newline="") as target:
        reader = csv.reader(source)
        header = next(reader, None)
        if header is None:
            return
        at = header.index("score") + 1
        pid, fid = header.index("project_id"), header.index("funder_id")
        target.write(",".join(csv_field(c) for c in header[:at] + ["p_award"] + header[at:]) + "\n")
        while True:
            block = [row for _, row in zip(range(BLOCK_LINES), reader, strict=False)]
            if not block:
                break
            lines = pd.DataFrame({"project_id": [written_ids.get(r[pid], r[pid]) for r in block],
                                  "funder_id": [r[fid] for r in block]})
            chances = _chances(model, projects, lines, year)
            for row, chance in zip(block, chances, strict=True):
                cells = row[:at] + [cell_text(float(chance))] + row[at:]
                target.write(",".join(csv_field(c) for c in cells) + "\n")


def add_to_parquet(path: Path, model, projects: pd.DataFrame, year: int) -> None:
    """Insert ``p_award`` after ``score`` in a Parquet file written by the batch (atomic rewrite)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from matcher.io.writers import atomic_path

    table = pq.read_table(path)
    lines = pd.DataFrame({"project_id": table.column("project_id").to_pylist(),
                          "funder_id": table.column("funder_id").to_pylist()})
    chances = _chances(model, projects, lines, year)
    table = table.add_column(table.schema.get_field_index("score") + 1, "p_award", pa.array(chances, pa.float64()))
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def add_p_award(paths: dict, model, projects: pd.DataFrame, year: int) -> None:
    """``p_award`` in both ranked files of the batch (``funders_for_projects``, ``projects_for_funders``)."""
    for name in ("funders_for_projects", "projects_for_funders"):
        path = Path(paths[name])
        if not path.exists():
            continue
        (add_to_csv if path.suffix == ".csv" else add_to_parquet)(path, model, projects, year)


__all__ = ["add_p_award", "award_model_for", "slim_projects"]

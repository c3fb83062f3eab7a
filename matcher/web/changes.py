""""What changed" since the last visit: for each ranking run since then, the diff with the run seen before.

The last run id a browser has seen is kept in a cookie. For every command and
target (a shortlist of a call, the funders of a project) run since then, the
latest run is compared with the last one at or before the visit (or, on a
first visit, with the run before it) by :func:`matcher.workspace.diff.diff_runs`:
pairs that appeared or left, rank moves, calls newly open, deadlines soon.
"""

from __future__ import annotations

from matcher.workspace.diff import SECTION_TITLES, SECTIONS, diff_runs

MAX_TARGETS = 20
MAX_ROWS = 50


def changes_since(ws, since: int, days: int = 30) -> tuple[list[dict], int]:
    """(one group per command and target, the last run id) — the groups newest first."""
    runs = ws.runs()
    if runs.empty:
        return [], 0
    last = int(runs["id"].max())
    groups = []
    newer = runs[runs["id"] > since] if since else runs
    targets = newer.drop_duplicates(["command", "target"], keep="last").sort_values("id", ascending=False)
    for _, run in targets.head(MAX_TARGETS).iterrows():
        same = runs[(runs["command"] == run["command"]) & (runs["target"] == run["target"])]
        before = same[same["id"] <= since] if since else same[same["id"] < run["id"]]
        if before.empty:
            before = same[same["id"] < run["id"]]
        group = {"command": run["command"], "target": run["target"], "run_b": int(run["id"]),
                 "run_date": run["run_date"], "sections": []}
        if before.empty:
            group["first"] = True
            groups.append(group)
            continue
        diff = diff_runs(ws, int(before["id"].iloc[-1]), int(run["id"]), days=days)
        group["run_a"] = int(before["id"].iloc[-1])
        for section in SECTIONS:
            rows = diff.frame[diff.frame["section"] == section]
            if rows.empty:
                continue
            records = [{k: (None if _missing(v) else v) for k, v in r.items()}
                       for r in rows.head(MAX_ROWS).to_dict("records")]
            group["sections"].append({"id": section, "title": SECTION_TITLES[section][0], "count": len(rows),
                                      "rows": records})
        groups.append(group)
    return groups, last


def _missing(value) -> bool:
    from matcher.core.missing import is_missing

    return not isinstance(value, (tuple, list, dict)) and is_missing(value)

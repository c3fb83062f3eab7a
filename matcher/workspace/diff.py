"""What changed between two runs: the "alert" digest of a workspace.

Sections, in this order: ``appeared`` (pairs in the later run only), ``left``
(pairs in the earlier run only), ``moved`` (same pair, another rank),
``newly_open`` (calls open on the later run's date that were not open, or not
known, on the earlier one's), ``deadline`` (calls of the later run's pairs
that close within ``days`` days of its date).
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass

import pandas as pd

from matcher.workspace.store import WorkspaceError

SECTIONS = ("appeared", "left", "moved", "newly_open", "deadline")
COLUMNS = ["section", "direction", "project_id", "funder_id", "call_id", "call_title", "rank_before",
           "rank_after", "score_before", "score_after", "call_opens", "call_closes", "days_left"]
SECTION_TITLES = {
    "appeared": ("Nouvelles paires", "Pairs that appeared"),
    "left": ("Paires sorties", "Pairs that left"),
    "moved": ("Changements de rang", "Rank moves"),
    "newly_open": ("Appels nouvellement ouverts", "Calls newly open"),
    "deadline": ("Clôtures proches", "Deadlines coming"),
}


@dataclass
class RunDiff:
    run_a: dict
    run_b: dict
    days: int
    frame: pd.DataFrame

    def counts(self) -> dict[str, int]:
        return {s: int((self.frame["section"] == s).sum()) for s in SECTIONS}


def pick_runs(ws, run_a: int | None, run_b: int | None, command: str | None = None,
              target: str | None = None) -> tuple[dict, dict]:
    """The two runs to compare: given, or the last two of the same command and target.

    ``command`` and ``target`` choose which command and target (default: those of
    the last run, or of the last run of ``command``, or of the last run on ``target``).
    """
    if (run_a is None) != (run_b is None):
        raise WorkspaceError("give both --run A and --run B, or neither (the last two runs of the same "
                             "command and target)")
    if run_a is not None:
        if command is not None or target is not None:
            raise WorkspaceError("--run A --run B name the runs: drop --command and --target")
        return ws.run(run_a), ws.run(run_b)
    runs = ws.runs()
    if runs.empty:
        raise WorkspaceError("this workspace has no run yet: rank with --workspace first")
    chosen = runs
    if command is not None:
        chosen = chosen[chosen["command"] == command]
    if target is not None:
        chosen = chosen[chosen["target"] == target]
    if chosen.empty:
        asked = " ".join(x for x in (command, target) if x is not None)
        known = sorted({f"{c} {t}" for c, t in zip(runs["command"], runs["target"], strict=True)})
        raise WorkspaceError(f"no run of {asked} in this workspace (runs: {'; '.join(known)})")
    last = chosen.iloc[-1]
    same = runs[(runs["command"] == last["command"]) & (runs["target"] == last["target"])]
    if len(same) < 2:
        raise WorkspaceError(f"only one run of {last['command']} {last['target']}: nothing to compare "
                             "(run it again after an import, or give --run A --run B)")
    return ws.run(int(same.iloc[-2]["id"])), ws.run(int(same.iloc[-1]["id"]))


def _is_open(opens, closes, day: str) -> bool:
    return (not isinstance(opens, str) or opens <= day) and (not isinstance(closes, str) or closes >= day)


def diff_runs(ws, run_a: int | None = None, run_b: int | None = None, days: int = 30,
              command: str | None = None, target: str | None = None) -> RunDiff:
    a, b = pick_runs(ws, run_a, run_b, command, target)
    pa, pb = ws.run_pairs(a["id"]), ws.run_pairs(b["id"])
    funders_b = ws.profiles("funders", as_of=b["inputs"]["last_import"] or None)
    funders_a = ws.profiles("funders", as_of=a["inputs"]["last_import"] or None) if a["inputs"]["last_import"] \
        else funders_b.iloc[0:0]
    calls_b = {(f, c): (t, o, cl) for f, c, t, o, cl in zip(funders_b["funder_id"], funders_b["call_id"],
                                                            funders_b["call_title"], funders_b["call_opens"],
                                                            funders_b["call_closes"], strict=True)}
    calls_a = {(f, c): (o, cl) for f, c, o, cl in zip(funders_a["funder_id"], funders_a["call_id"],
                                                      funders_a["call_opens"], funders_a["call_closes"],
                                                      strict=True)}

    def key(frame):
        return {(d, p, f, c or ""): (r, s) for d, p, f, c, r, s in zip(
            frame["direction"], frame["project_id"], frame["funder_id"], frame["call_id"], frame["rank"],
            frame["score"], strict=True)}

    ka, kb = key(pa), key(pb)
    rows = []

    def call_info(f, c):
        title, opens, closes = calls_b.get((f, c or None), (None, None, None))
        return title, opens, closes

    for section, keys in (("appeared", [k for k in kb if k not in ka]), ("left", [k for k in ka if k not in kb]),
                          ("moved", [k for k in kb if k in ka and ka[k][0] != kb[k][0]])):
        for d, p, f, c in sorted(keys):
            before, after = ka.get((d, p, f, c)), kb.get((d, p, f, c))
            title, opens, closes = call_info(f, c)
            rows.append({"section": section, "direction": d, "project_id": p, "funder_id": f, "call_id": c or None,
                         "call_title": title, "rank_before": before[0] if before else None,
                         "rank_after": after[0] if after else None,
                         "score_before": before[1] if before else None, "score_after": after[1] if after else None,
                         "call_opens": opens, "call_closes": closes})
    day_a, day_b = a["run_date"], b["run_date"]
    for (f, c), (title, opens, closes) in sorted(calls_b.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        if not isinstance(c, str) or not _is_open(opens, closes, day_b):
            continue
        before = calls_a.get((f, c))
        if before is None or not _is_open(before[0], before[1], day_a):
            rows.append({"section": "newly_open", "funder_id": f, "call_id": c, "call_title": title,
                         "call_opens": opens, "call_closes": closes})
    limit = (dt.date.fromisoformat(day_b) + dt.timedelta(days=days)).isoformat()
    seen = sorted({(f, c) for _, _, f, c in kb if c})
    for f, c in seen:
        title, opens, closes = call_info(f, c)
        if isinstance(closes, str) and day_b <= closes <= limit:
            rows.append({"section": "deadline", "funder_id": f, "call_id": c, "call_title": title,
                         "call_opens": opens, "call_closes": closes})
    frame = pd.DataFrame(rows, columns=COLUMNS)
    for name in ("rank_before", "rank_after"):
        frame[name] = frame[name].astype("Int64")
    for name in ("score_before", "score_after"):
        frame[name] = frame[name].astype(float)
    frame["days_left"] = pd.array([
        (dt.date.fromisoformat(cl) - dt.date.fromisoformat(day_b)).days if isinstance(cl, str) else None
        for cl in frame["call_closes"]], dtype="Int64")
    return RunDiff(a, b, days, frame)


def render_html(diff: RunDiff, lang: str = "fr") -> str:
    """The digest as one self-contained HTML page a person can mail (every value escaped)."""
    fr = lang == "fr"
    a, b = diff.run_a, diff.run_b
    e = html.escape
    title = (f"coopmatch — ce qui a changé : {a['command']} {a['target']}" if fr
             else f"coopmatch — what changed: {a['command']} {a['target']}")
    parts = ["<!DOCTYPE html>", f'<html lang="{lang}"><head><meta charset="utf-8">',
             f"<title>{e(title)}</title>",
             "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}</style></head><body>",
             f"<h1>{e(title)}</h1>",
             "<p>" + e(f"Exécution {a['id']} ({a['run_date']}) → exécution {b['id']} ({b['run_date']})" if fr
                        else f"Run {a['id']} ({a['run_date']}) → run {b['id']} ({b['run_date']})") + "</p>"]
    labels = ["direction", "project_id", "funder_id", "call_id", "call_title", "rank_before", "rank_after",
              "call_closes", "days_left"]
    for section in SECTIONS:
        part = diff.frame[diff.frame["section"] == section]
        parts.append(f"<h2>{e(SECTION_TITLES[section][0 if fr else 1])} ({len(part)})</h2>")
        if part.empty:
            parts.append("<p>—</p>")
            continue
        parts.append("<table><tr>" + "".join(f"<th>{e(c)}</th>" for c in labels) + "</tr>")
        for row in part[labels].itertuples(index=False, name=None):
            parts.append("<tr>" + "".join(f"<td>{e('' if pd.isna(v) else str(v))}</td>" for v in row) + "</tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"

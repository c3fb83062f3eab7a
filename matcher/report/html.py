"""A self-contained HTML report of a ranking, for the people who decide.

One file, no network: the CSS and a little vanilla JS (sort, filter) come from
``matcher/data/report/`` and are inlined. Every text that comes from the data
goes through :func:`html.escape`; the script reads the page through ``data-``
attributes and ``textContent`` only, and a Content-Security-Policy lets no
other script run (only the report's own, by hash). The output is
deterministic: the same run gives the same bytes (the only date is the run's).

The report shows the run's parameters, the ranked table (eligibility badges,
a stacked bar of what each criterion adds to the score, reasons in words, the
amount coverage and the call deadline, a score waterfall per line), for a
shortlist the portfolio balance by sector, region and legal form, and the
input rows that were rejected, with why.
"""

from __future__ import annotations

import base64
import hashlib
import html
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from matcher.core.missing import is_missing
from matcher.core.resources import DATA_DIR
from matcher.engine import explain as ex
from matcher.io.writers import write_text
from matcher.report.model import (
    MAX_REJECT_ROWS,
    PORTFOLIO_DIMENSIONS,
    Report,
    codes_of,
    label,
    parameter_rows,
    portfolio_balance,
)

_DATA = DATA_DIR / "report"
_VERDICT_ORDER = {"eligible": 0, "to_check": 1, "ineligible": 2}
_PALETTE_SIZE = 8


@lru_cache(maxsize=1)
def _asset(name: str) -> str:
    return (_DATA / name).read_text(encoding="utf-8")


# --------------------------------------------------------------------------- HTML pieces


def _e(value) -> str:
    """Escape any value for HTML text or a quoted attribute."""
    return html.escape("" if value is None else str(value), quote=True)


def _num(value: float, digits: int = 3) -> str:
    """A number for an SVG attribute or a ``data-`` sort key (dot decimal, fixed digits)."""
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _stack_svg(lines: list[ex.CriterionLine], colour: dict[str, int], lang: str) -> str:
    """The score as a stacked bar: one segment per criterion, width = contribution."""
    parts, x = [], 0.0
    for line in lines:
        if not line.contribution:
            continue
        width = max(0.0, float(line.contribution)) * 100
        title = f"{line.label(lang)} : {ex.format_number(line.contribution, lang, 3)}"
        parts.append(f'<rect class="c{colour[line.name]}" x="{_num(x)}" y="0" width="{_num(width)}" '
                     f'height="10"><title>{_e(title)}</title></rect>')
        x += width
    return ('<svg class="stack" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true">'
            + "".join(parts) + "</svg>")


def _waterfall(explanation: ex.Explanation, colour: dict[str, int], lang: str) -> str:
    """Each criterion's score × weight = contribution, with a waterfall bar."""
    r = lambda key: _e(label(f"ranking.{key}", lang))  # noqa: E731
    out = [f'<table class="waterfall"><thead><tr><th>{r("criterion")}</th><th class="num">'
           f'{_e(label("columns.score", lang))}</th><th class="num">× {r("weight")}</th>'
           f'<th class="num">= {r("contribution")}</th><th></th></tr></thead><tbody>']
    start = 0.0
    for line in explanation.criteria:
        if line.score is None:
            out.append(f"<tr><td>{_e(line.label(lang))}</td><td class=\"num\">{r('unknown')}</td>"
                       f"<td class=\"num\">({_e(ex.format_number(line.raw_weight, lang))})</td>"
                       "<td class=\"num\">—</td><td></td></tr>")
            continue
        contribution = float(line.contribution or 0.0)
        bar = (f'<svg class="fall" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true">'
               f'<rect class="c{colour[line.name]}" x="{_num(start * 100)}" y="1" '
               f'width="{_num(max(contribution, 0.0) * 100)}" height="8"></rect></svg>')
        start += contribution
        out.append(f"<tr><td>{_e(line.label(lang))}</td>"
                   f"<td class=\"num\">{_e(ex.format_number(line.score, lang))}</td>"
                   f"<td class=\"num\">× {_e(ex.format_number(line.weight, lang, 3))}</td>"
                   f"<td class=\"num\">= {_e(ex.format_number(contribution, lang, 3))}</td>"
                   f"<td>{bar}</td></tr>")
    out.append(f'<tr class="total"><td>{r("total")}</td><td></td><td></td>'
               f'<td class="num">{_e(ex.format_number(explanation.score, lang, 3))}</td><td></td></tr>')
    out.append("</tbody></table>")
    if explanation.unknown_weight > 0:
        share = ex.format_percent(explanation.unknown_weight, lang)
        out.append(f'<div class="meta">{_e(label("ranking.unknown_share", lang, share=share))}</div>')
    if explanation.text_terms:
        out.append(f'<div class="meta">{r("terms")} : {_e(", ".join(explanation.text_terms))}</div>')
    coverage = explanation.coverage_text(lang)
    if coverage:
        out.append(f'<div class="meta">{_e(coverage)}</div>')
    return "".join(out)


def _reasons(explanation: ex.Explanation, lang: str) -> str:
    if not explanation.reasons:
        return f'<span class="fine">{_e(label("ranking.no_reason", lang))}</span>'
    kinds = ex.messages()["reason_kinds"]
    items = "".join(f'<li class="{_e(r.kind)}"><span class="meta">{_e(kinds[r.kind][lang])} · </span>'
                    f"{_e(r.text(lang))}</li>" for r in explanation.reasons)
    return f'<ul class="reasons">{items}</ul>'


def _closes(value, run_date: str, lang: str) -> tuple[str, str]:
    """(text, sort key) of a call's closing date, with the days left on the run date."""
    day = ex.parse_iso_date(value)
    if day is None:
        return "—", ""
    run = ex.parse_iso_date(run_date)
    text = ex.format_date(day, lang)
    if run is not None:
        left = (day - run).days
        hint = label("ranking.closed", lang) if left < 0 else label("ranking.closed_days", lang, days=left)
        text = f"{text} ({hint})"
    return text, day.isoformat()


def _text(record: dict, key: str) -> str | None:
    """``record[key]`` as text, None when missing."""
    value = record.get(key)
    return None if is_missing(value) else str(value)


def _project_cell(record: dict, project_id: str, territories, lang: str) -> tuple[str, list[str]]:
    """The project's cell (name, id, carrier, places, legal form) and its words for the filter."""
    name = _text(record, "name")
    places = [ex.place_label(territories, c) for c in codes_of(record.get("territory"))]
    form = _text(record, "legal_form")
    form_text = None if form is None else ex.vocab_label("legal_forms", form)(lang)
    carrier = _text(record, "carrier_name")
    meta = []
    if carrier:
        meta.append(f"{label('ranking.carrier', lang)} {carrier}")
    if places:
        meta.append(", ".join(places))
    if form_text:
        meta.append(form_text)
    cell = (f'<div class="who">{_e(name or project_id)} <span class="id">{_e(project_id)}</span></div>'
            + (f'<div class="meta">{_e(" · ".join(meta))}</div>' if meta else ""))
    sectors = [ex.vocab_label("sectors", s)(lang) for s in codes_of(record.get("sectors"))]
    return cell, [project_id, name or "", carrier or "", *places, form_text or "", *sectors]


def _funder_cell(row: dict, lang: str, with_funder: bool = True) -> tuple[str, list[str]]:
    funder_id = row["funder_id"]
    call_id, name, title = _text(row, "call_id"), _text(row, "funder_name"), _text(row, "call_title")
    parts = []
    if with_funder:
        parts.append(f'<div class="who">{_e(name or funder_id)} <span class="id">{_e(funder_id)}</span></div>')
    if call_id:
        parts.append(f'<div class="{"meta" if with_funder else "who"}">{_e(title or call_id)}'
                     f' <span class="id">{_e(call_id)}</span></div>')
    elif with_funder:
        parts.append(f'<div class="meta">{_e(label("ranking.no_call", lang))}</div>')
    return "".join(parts), [funder_id, name or "", call_id or "", title or ""]


@dataclass(frozen=True)
class _Column:
    key: str | None  # sort key (data-<key> on each row), None: not sortable
    title: str
    numeric: bool = False
    first: str = "asc"  # direction of the first click


def _columns(report: Report) -> list[_Column]:
    lang, ranked = report.lang, report.ranked
    c = lambda key: label(f"columns.{key}", lang)  # noqa: E731
    cols = [_Column("rank", c("rank"), True), _Column("score", c("score"), True, "desc")]
    if "p_award" in ranked.columns:
        cols.append(_Column("p_award", c("p_award"), True, "desc"))
    cols.append(_Column("verdict", c("verdict"), True))
    several_projects = ranked["project_id"].nunique() > 1
    several_calls = ranked["call_id"].fillna("").nunique() > 1
    if report.view == "funder":
        cols.append(_Column("project", c("project")))
        if several_calls:
            cols.append(_Column("funder", c("call")))
        cols.append(_Column("amount", c("amount"), True, "desc"))
    else:
        if several_projects:
            cols.append(_Column("project", c("project")))
            cols.append(_Column("amount", c("amount"), True, "desc"))
        cols.append(_Column("funder", c("funder")))
    cols += [_Column("coverage", c("coverage"), True, "desc"), _Column("closes", c("closes")),
             _Column(None, c("reasons"))]
    return cols


def _ranking_rows(report: Report, columns: list[_Column], colour: dict[str, int], extra=None) -> list[str]:
    lang, territories = report.lang, report.matcher.territories_
    verdicts = ex.messages()["verdicts"]
    out = []
    for order, (row, explanation) in enumerate(zip(report.ranked.to_dict("records"), report.explanations,
                                                   strict=True)):
        pid = str(row["project_id"])
        record = report.project_records.get(pid, {})
        verdict = row["eligibility"]
        project_cell, project_words = _project_cell(record, pid, territories, lang)
        funder_cell, funder_words = _funder_cell(row, lang, with_funder=report.view == "project")
        amount = report.amount_requested(pid)
        coverage = None if is_missing(row.get("coverage")) else float(row["coverage"])
        closes_text, closes_key = _closes(row.get("call_closes"), report.matcher.run_date_, lang)
        reasons_text = [r.text(lang) for r in explanation.reasons]
        search = " ".join([*project_words, *funder_words, verdicts[verdict][lang], *reasons_text])
        data = {"order": str(order), "rank": str(int(row["rank"])), "score": _num(float(row["score"]), 6),
                # the verdict filters by name (data-verdict) and sorts by order (data-verdict_n)
                "verdict": verdict, "verdict_n": str(_VERDICT_ORDER[verdict]),
                "project": (record.get("name") if not is_missing(record.get("name")) else pid) or pid,
                "funder": " ".join(w for w in funder_words[1:2] + funder_words[3:4] if w) or funder_words[0],
                "amount": "" if amount is None else _num(amount, 2),
                "coverage": "" if coverage is None else _num(coverage, 4),
                "p_award": "" if is_missing(row.get("p_award")) else _num(float(row["p_award"]), 4),
                "closes": closes_key, "search": search}
        attrs = " ".join(f'data-{k}="{_e(v)}"' for k, v in data.items())
        cells = []
        for col in columns:
            if col.key == "rank":
                cells.append(f'<td class="num">{int(row["rank"])}</td>')
            elif col.key == "score":
                cells.append(f'<td class="num score"><strong>{_e(ex.format_number(float(row["score"]), lang))}</strong>'
                             f"{_stack_svg(explanation.criteria, colour, lang)}</td>")
            elif col.key == "verdict":
                cells.append(f'<td><span class="badge {_e(verdict)}">{_e(verdicts[verdict][lang])}</span></td>')
            elif col.key == "project":
                cells.append(f"<td>{project_cell}</td>")
            elif col.key == "funder":
                cells.append(f"<td>{funder_cell}</td>")
            elif col.key == "amount":
                shown = _e(ex.format_amount(amount, lang)) if amount is not None else "—"
                cells.append(f'<td class="num">{shown}</td>')
            elif col.key == "p_award":
                chance = None if is_missing(row.get("p_award")) else float(row["p_award"])
                shown = _e(ex.format_percent(chance, lang)) if chance is not None else "—"
                cells.append(f'<td class="num">{shown}</td>')
            elif col.key == "coverage":
                shown = _e(ex.format_percent(coverage, lang)) if coverage is not None else "—"
                cells.append(f'<td class="num">{shown}</td>')
            elif col.key == "closes":
                cells.append(f"<td>{_e(closes_text)}</td>")
            else:
                cells.append(f"<td>{_reasons(explanation, lang)}<details><summary>"
                             f"{_e(label('ranking.details', lang))}</summary>"
                             f"{_waterfall(explanation, colour, lang)}</details></td>")
        if extra is not None:
            cells.append(f"<td>{extra[1](row)}</td>")
        out.append(f'<tr class="line" {attrs}>{"".join(cells)}</tr>')
    return out


def ranking_section(report: Report, extra=None) -> str:
    """The ranking table (controls, legend, rows) as an HTML fragment, for pages that embed it.

    ``extra`` is ``(title, cell)``: one more column whose cell ``cell(row)`` gives
    the HTML of (the caller escapes what it puts there).
    """
    return _ranking_section(report, extra)


def explanation_html(explanation: ex.Explanation, criteria_names, lang: str) -> str:
    """One pair's reasons and score waterfall, as in the report's details, as an HTML fragment."""
    colour = {name: i % _PALETTE_SIZE for i, name in enumerate(criteria_names)}
    return _reasons(explanation, lang) + _waterfall(explanation, colour, lang)


def _ranking_section(report: Report, extra=None) -> str:
    lang = report.lang
    names = list(report.matcher.criteria_names_)
    colour = {name: i % _PALETTE_SIZE for i, name in enumerate(names)}
    r = lambda key: _e(label(f"ranking.{key}", lang))  # noqa: E731
    out = [f'<section id="ranking-section"><h2>{_e(label("sections.ranking", lang))}</h2>']
    if report.ranked.empty:
        out.append(f'<p class="fine">{r("empty")}</p></section>')
        return "".join(out)
    verdicts = ex.messages()["verdicts"]
    present = [v for v in _VERDICT_ORDER if (report.ranked["eligibility"] == v).any()]
    boxes = "".join(f'<label><input type="checkbox" name="verdict" value="{v}" checked> '
                    f'<span class="badge {v}">{_e(verdicts[v][lang])}</span></label>' for v in present)
    total = len(report.ranked)
    out.append(f'<div class="controls"><input type="search" id="filter" placeholder="{r("filter")}" '
               f'aria-label="{r("filter")}">{boxes}<span class="count"><span id="shown">{total}</span> '
               f'{r("shown")} {total} · {r("sort_hint")}</span></div>')
    legend = "".join(f'<li><svg width="10" height="10" aria-hidden="true"><rect class="c{colour[n]}" '
                     f'width="10" height="10"></rect></svg>{_e(report.matcher.criteria_[i].label(lang))}</li>'
                     for i, n in enumerate(names))
    out.append(f'<ul class="legend"><li class="hint">{r("contributions")} :</li>{legend}</ul>')
    columns = _columns(report)
    head = []
    for col in columns:
        cls = ' class="num"' if col.numeric else ""
        if col.key is None:
            head.append(f"<th>{_e(col.title)}</th>")
        else:
            key = "verdict_n" if col.key == "verdict" else col.key
            kind = "number" if col.numeric else "text"
            head.append(f'<th{cls} data-key="{key}" data-type="{kind}" data-first="{col.first}" '
                        f'aria-sort="none">{_e(col.title)}</th>')
    if extra is not None:
        head.append(f"<th>{_e(extra[0])}</th>")
    out.append(f'<table class="ranking" id="ranking"><thead><tr>{"".join(head)}</tr></thead><tbody>')
    out.extend(_ranking_rows(report, columns, colour, extra))
    out.append("</tbody></table></section>")
    return "".join(out)


def _bar_chart(title: str, rows: pd.DataFrame, lang: str) -> str:
    """Horizontal bars: projects (light) and amount requested (dark) per category."""
    width, label_w, bar_w, row_h, top = 380, 150, 150, 30, 24
    height = top + row_h * len(rows) + 4
    max_n = max(1, int(rows["projects"].max())) if len(rows) else 1
    max_a = float(rows["amount_requested"].max()) if len(rows) else 0.0
    max_a = max_a if max_a > 0 else 1.0
    p = lambda key: _e(label(f"portfolio.{key}", lang))  # noqa: E731
    parts = [f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{_e(title)}">',
             f'<rect class="bar-n" x="{label_w}" y="6" width="10" height="8"></rect>'
             f'<text class="v" x="{label_w + 14}" y="14">{p("count")}</text>'
             f'<rect class="bar-a" x="{label_w + 70}" y="6" width="10" height="8"></rect>'
             f'<text class="v" x="{label_w + 84}" y="14">{p("amount")}</text>']
    for i, row in enumerate(rows.itertuples(index=False)):
        y = top + i * row_h
        name = str(row.category)
        short = name if len(name) <= 21 else name[:20] + "…"
        n_w = bar_w * row.projects / max_n
        a_w = bar_w * float(row.amount_requested) / max_a
        parts.append(f'<g><title>{_e(name)}</title><text x="0" y="{y + 15}">{_e(short)}</text>'
                     f'<rect class="bar-n" x="{label_w}" y="{y + 2}" width="{_num(max(n_w, 1))}" height="9"></rect>'
                     f'<text class="v" x="{_num(label_w + n_w + 4)}" y="{y + 10}">{int(row.projects)}</text>'
                     f'<rect class="bar-a" x="{label_w}" y="{y + 13}" width="{_num(max(a_w, 1))}" height="11"></rect>'
                     f'<text class="v" x="{_num(label_w + a_w + 4)}" y="{y + 23}">'
                     f"{_e(ex.format_amount(float(row.amount_requested), lang))}</text></g>")
    parts.append("</svg>")
    return f'<div class="chart"><h3>{_e(title)}</h3>{"".join(parts)}</div>'


def _portfolio_section(report: Report) -> str:
    lang = report.lang
    balance = portfolio_balance(report.ranked, report.projects, report.matcher.territories_, lang)
    if balance.empty:
        return ""
    charts = [_bar_chart(label(f"portfolio.{d}", lang), balance[balance["dimension"] == d], lang)
              for d in PORTFOLIO_DIMENSIONS if (balance["dimension"] == d).any()]
    return (f'<section id="portfolio"><h2>{_e(label("sections.portfolio", lang))}</h2>'
            f'<p class="note">{_e(label("portfolio.note", lang))}</p>'
            f'<div class="grid">{"".join(charts)}</div></section>')


def _rejects_section(report: Report) -> str:
    lang = report.lang
    frame = report.rejects_frame()
    x = lambda key: _e(label(f"rejects.{key}", lang))  # noqa: E731
    out = [f'<section id="rejects"><h2>{_e(label("sections.rejects", lang))}</h2>']
    if frame.empty:
        out.append(f'<p class="fine">{x("none")}</p></section>')
        return "".join(out)
    out.append(f'<table class="rejects"><thead><tr><th>{x("kind")}</th><th>{x("source")}</th>'
               f'<th>{x("row")}</th><th>{x("column")}</th><th>{x("value")}</th><th>{x("severity")}</th>'
               f'<th>{x("reason")}</th></tr></thead><tbody>')
    reason = "reason_fr" if lang == "fr" else "reason_en"
    for row in frame.head(MAX_REJECT_ROWS).to_dict("records"):
        source = row.get("source")
        source = "" if is_missing(source) else Path(str(source)).name
        number = row.get("row")
        value = row.get("value")
        severity = row.get("severity")
        severity_text = label(f"rejects.{severity}", lang) if severity in ("error", "warning", "file") else severity
        badge = {"error": "ineligible", "warning": "to_check"}.get(severity, "")
        out.append(f"<tr><td>{x(row['kind'])}</td><td>{_e(source)}</td>"
                   f"<td>{'' if is_missing(number) else int(number)}</td>"
                   f"<td>{_e('' if is_missing(row.get('column')) else row['column'])}</td>"
                   f'<td class="value">{_e("" if is_missing(value) else value)}</td>'
                   f'<td><span class="badge {badge}">{_e(severity_text)}</span></td>'
                   f"<td>{_e('' if is_missing(row.get(reason)) else row[reason])}</td></tr>")
    out.append("</tbody></table>")
    if len(frame) > MAX_REJECT_ROWS:
        out.append(f'<p class="note">{_e(label("rejects.more", lang, n=len(frame) - MAX_REJECT_ROWS))}</p>')
    out.append("</section>")
    return "".join(out)


def _summary_section(report: Report) -> str:
    lang, ranked = report.lang, report.ranked
    s = lambda key: label(f"summary.{key}", lang)  # noqa: E731
    cards = [(str(len(ranked)), s("lines"))]
    for verdict in _VERDICT_ORDER:
        n = int((ranked["eligibility"] == verdict).sum()) if len(ranked) else 0
        if n or verdict != "ineligible":
            cards.append((str(n), s(verdict)))
    if report.view == "funder" and len(ranked):
        pids = sorted(set(ranked["project_id"].astype(str)))
        total = sum(a for a in (report.amount_requested(p) for p in pids) if a is not None)
        cards.append((str(len(pids)), s("projects")))
        cards.append((ex.format_amount(total, lang), s("requested")))
    rejected = sum(int(v.get("rows_rejected", 0)) for v in report.info.summaries.values())
    cards.append((str(rejected), s("rejected_rows")))
    items = "".join(f'<li><span class="n">{_e(n)}</span><span class="l">{_e(text)}</span></li>'
                    for n, text in cards)
    return (f'<section id="summary"><h2>{_e(label("sections.summary", lang))}</h2>'
            f'<ul class="cards">{items}</ul></section>')


def _parameters_section(report: Report) -> str:
    rows = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in parameter_rows(report.info, report.matcher))
    return (f'<section id="parameters"><h2>{_e(label("sections.parameters", report.lang))}</h2>'
            f'<dl class="params">{rows}</dl></section>')


def report_title(report: Report) -> str:
    """The page's title: the funder (and call) of a shortlist, or the project(s)."""
    lang, info = report.lang, report.info
    if report.view == "funder":
        funders = report.matcher.funders_
        names = funders.loc[funders["funder_id"] == info.funder_id, "name"].tolist() if info.funder_id else []
        name = next((str(n) for n in names if not is_missing(n)), info.funder_id or "")
        if info.call_id:
            calls = funders.loc[(funders["funder_id"] == info.funder_id) & (funders["call_id"] == info.call_id),
                                "call_title"].tolist()
            title = next((str(t) for t in calls if not is_missing(t)), info.call_id)
            name = f"{name} / {title}"
        return label("title.shortlist", lang, funder=name)
    pids = [info.project_id] if info.project_id else sorted(report.project_records)
    if len(pids) == 1:
        record = report.project_records.get(pids[0], {})
        name = record.get("name")
        return label("title.funders_one", lang,
                     project=pids[0] + ("" if is_missing(name) else f" — {name}"))
    return label("title.funders_many", lang, n=len(pids))


def render_html(report: Report) -> str:
    """The whole report as one HTML document (a string)."""
    lang = report.lang
    script = _asset("report.js")
    if "</" in script:  # the script is inlined as is; it must not close its own tag
        raise ValueError("report.js must not contain '</'")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    policy = (f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
              f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'")
    title = report_title(report)
    date_text = label("title.on_date", lang, date=ex.format_date(report.info.run_date, lang))
    generator = label("title.generator", lang, version=report.info.version)
    body = [f'<header class="report"><h1>{_e(title)}</h1><p class="sub">{_e(date_text)} · {_e(generator)}</p></header>',
            _summary_section(report), _ranking_section(report)]
    if report.view == "funder":
        body.append(_portfolio_section(report))
    body += [_rejects_section(report), _parameters_section(report),
             f"<footer>{_e(label('footer', lang))}</footer>"]
    return ("<!DOCTYPE html>\n"
            f'<html lang="{_e(lang)}"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{_e(policy)}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta name="generator" content="coopmatch {_e(report.info.version)}">'
            f"<title>{_e(title)}</title><style>{_asset('report.css')}</style></head>\n<body>\n"
            + "\n".join(part for part in body if part)
            + f"\n<script>{script}</script>\n</body></html>\n")


def write_html(report: Report, path: str | Path) -> Path:
    """Write the report to ``path`` (UTF-8, atomically)."""
    write_text(render_html(report), path)
    return Path(path)

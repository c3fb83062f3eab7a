"""Plans and allocations as people present them: a two-column workbook, HTML pages in the report's style.

- :func:`write_plan_workbook`: one sheet per plan (the best, then the alternatives) in the usual layout
  of a French *plan de financement prévisionnel* — dépenses on the left, ressources on the right (each
  ask with its call, instrument, amount, share of the budget, deadline and status; the secured funding;
  the self-funding; the uncovered gap), totals that balance. Text cells are neutralised against
  formula injection, the file is written atomically and byte-for-byte reproducibly.
- :func:`plan_html` and :func:`allocation_html`: one self-contained page each, with the report's CSS
  (``matcher/data/report/report.css``), every value escaped, no script.
- :func:`pack_sections`: the committee pack of an allocation (funded, constraints, below the line,
  balance, alternatives), shared by the table, the HTML page and the workbook.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd

from matcher.core.resources import DATA_DIR
from matcher.engine import explain as ex
from matcher.io.writers import cell_text, neutralise
from matcher.planning.allocate import balance, below_the_line, binding
from matcher.planning.texts import TEXTS, t
from matcher.report.xlsx import save_workbook

EURO = '#,##0 "€"'
SHARE = "0.0%"


def money(value, lang: str) -> str:
    return ex.format_amount(float(value), lang)


def _e(value) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return html.escape(str(value), quote=True)


def _text(value) -> str:
    return "" if value is None or (isinstance(value, float) and value != value) else str(value)


# --------------------------------------------------------------------------- plan: resource lines


def resource_rows(lines: pd.DataFrame, lang: str) -> list[dict]:
    """The resources of one plan, in words: label, call, instrument, amount, share, deadline, status, notes."""
    out = []
    for r in lines.to_dict("records"):
        kind = r["kind"]
        if kind == "funder":
            who = _text(r["funder_name"]) or _text(r["funder_id"])
            status = t("status.eligible" if r["eligibility"] == "eligible" else "status.to_check", lang)
            if r["public"] == "true":
                status += f", {t('public', lang)}"
            call = _text(r["call_title"]) or _text(r["call_id"])
        else:
            who, status, call = t(f"kind.{kind}", lang), t(f"status.{kind}", lang), ""
        out.append({"kind": kind, "who": who, "call": call, "instrument": _text(r.get("instrument")),
                    "amount": float(r["amount"]), "share": float(r["share_of_budget"]),
                    "deadline": _text(r.get("deadline")), "status": status, "notes": _text(r.get("notes")),
                    "public": r["public"] == "true"})
    return out


def _sheet_title(rank: int, lang: str) -> str:
    return t("plan.plan", lang, rank=rank)


def write_plan_workbook(result, path: str | Path, title: str, run_date: str, lang: str = "fr") -> Path:
    """The plans of ``result`` (a :class:`PlanResult`) as a workbook: one two-column sheet per plan."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    workbook = Workbook()
    workbook.remove(workbook.active)
    head_fill = PatternFill("solid", fgColor="E8EEF4")
    bold = Font(bold=True)
    thin = Side(style="thin", color="8899AA")
    columns = ["col.resource", "col.call", "col.instrument", "col.amount", "col.share", "col.deadline",
               "col.status", "col.notes"]
    for plan in result.plans:
        sheet = workbook.create_sheet(_sheet_title(plan.rank, lang)[:31])
        put = lambda row, col, value, sheet=sheet, **style: _put(sheet, row, col, value, **style)  # noqa: E731
        put(1, 1, t("plan.title", lang, title=title) + (t("plan.best", lang) if plan.rank == 1 else ""),
            font=Font(bold=True, size=13))
        put(2, 1, t("plan.on", lang, date=ex.format_date(run_date, lang)))
        # Left block: A-B (dépenses); right block: D-K (ressources).
        put(4, 1, t("plan.expenses", lang).upper(), font=bold, fill=head_fill)
        put(4, 2, t("col.amount", lang), font=bold, fill=head_fill)
        put(4, 4, t("plan.resources", lang).upper(), font=bold, fill=head_fill)
        for k, key in enumerate(columns[1:], start=5):
            put(4, k, t(key, lang), font=bold, fill=head_fill)
        expense = t("plan.expense_line", lang)
        if result.expense_type:
            expense += f" ({result.expense_type})"
        put(5, 1, expense)
        put(5, 2, float(result.budget), number_format=EURO)
        put(6, 1, t("plan.expense_note", lang), font=Font(italic=True, color="5B6675"))
        rows = resource_rows(plan.lines, lang)
        for i, r in enumerate(rows, start=5):
            put(i, 4, r["who"], font=bold if r["kind"] == "gap" else None)
            put(i, 5, r["call"])
            put(i, 6, r["instrument"])
            put(i, 7, r["amount"], number_format=EURO)
            put(i, 8, r["share"], number_format=SHARE)
            put(i, 9, r["deadline"])
            put(i, 10, r["status"])
            put(i, 11, r["notes"])
        total_row = 5 + max(len(rows), 2) + 1
        resources = float(plan.lines["amount"].sum())
        put(total_row, 1, t("plan.total_expenses", lang).upper(), font=bold)
        put(total_row, 2, float(result.budget), number_format=EURO, font=bold)
        put(total_row, 4, t("plan.total_resources", lang).upper(), font=bold)
        put(total_row, 7, resources, number_format=EURO, font=bold)
        put(total_row, 8, resources / result.budget, number_format=SHARE, font=bold)
        for col in (1, 2, 4, 5, 6, 7, 8, 9, 10, 11):
            sheet.cell(row=total_row, column=col).border = Border(top=thin)
        public = float(plan.lines.loc[plan.lines["public"] == "true", "amount"].sum())
        put(total_row + 1, 4, t("plan.public_share", lang))
        put(total_row + 1, 7, public, number_format=EURO)
        put(total_row + 1, 8, public / result.budget, number_format=SHARE)
        if abs(resources - result.budget) < 0.5:
            put(total_row + 2, 4, t("plan.balanced", lang), font=Font(italic=True))
        notes = list(plan.gap_reasons) + list(result.notes)
        at = total_row + 4
        if notes:
            put(at, 1, t("plan.notes", lang), font=bold)
            for k, note in enumerate(notes, start=1):
                put(at + k, 1, note)
        for letter, width in zip("ABCDEFGHIJK", (42, 14, 2, 34, 28, 14, 14, 12, 12, 24, 40), strict=True):
            sheet.column_dimensions[letter].width = width
        for row in sheet.iter_rows(min_row=5, max_row=total_row):
            for cell in row:
                cell.alignment = Alignment(vertical="top", wrap_text=cell.column in (4, 5, 11))
        sheet.freeze_panes = "A5"
    save_workbook(workbook, path)
    return Path(path)


def _put(sheet, row: int, col: int, value, font=None, fill=None, number_format=None):
    if isinstance(value, str):
        value = neutralise(value) if value else None
    elif isinstance(value, float | np.floating):
        value = float(value)
    cell = sheet.cell(row=row, column=col, value=value)
    if font is not None:
        cell.font = font
    if fill is not None:
        cell.fill = fill
    if number_format:
        cell.number_format = number_format
    return cell


# --------------------------------------------------------------------------- HTML


#: The two columns of a plan: dépenses narrow, ressources wide.
_EXTRA_CSS = ("\n.plan-grid { display: grid; grid-template-columns: minmax(240px, 1fr) 3fr; gap: 24px; }"
              "\n@media (max-width: 900px) { .plan-grid { grid-template-columns: 1fr; } }\n")


def _page(title: str, subtitle: str, body: list[str], lang: str) -> str:
    css = (DATA_DIR / "report" / "report.css").read_text(encoding="utf-8")
    policy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
    return ("<!DOCTYPE html>\n"
            f'<html lang="{_e(lang)}"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{_e(policy)}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(title)}</title><style>{css}{_EXTRA_CSS}</style></head>\n<body>\n"
            f'<header class="report"><h1>{_e(title)}</h1><p class="sub">{_e(subtitle)}</p></header>\n'
            + "\n".join(body) + "\n</body></html>\n")


def _cards(items: list[tuple[str, str]]) -> str:
    return '<ul class="cards">' + "".join(f'<li><span class="n">{_e(n)}</span><span class="l">{_e(text)}</span></li>'
                                          for n, text in items) + "</ul>"


def plan_html(result, title: str, run_date: str, lang: str = "fr") -> str:
    """The plans as one page: a dépenses / ressources table per plan, totals that balance, the notes."""
    body = [_cards([(money(result.budget, lang), t("plan.expense_line", lang)),
                    (money(result.secured, lang), t("kind.secured", lang)),
                    (money(result.self_funding, lang), t("kind.self", lang)),
                    (f"{result.public_cap:.0%}", t("plan.public_share", lang) + " max")])]
    heads = ["col.resource", "col.call", "col.instrument", "col.amount", "col.share", "col.deadline", "col.status"]
    for plan in result.plans:
        rows = resource_rows(plan.lines, lang)
        public = float(plan.lines.loc[plan.lines["public"] == "true", "amount"].sum())
        total = float(plan.lines["amount"].sum())
        out = [f'<section id="plan-{plan.rank}"><h2>{_e(t("plan.plan", lang, rank=plan.rank))}'
               f'{_e(t("plan.best", lang) if plan.rank == 1 else "")}</h2><div class="plan-grid">',
               f'<div><h3>{_e(t("plan.expenses", lang))}</h3><table class="ranking"><thead><tr>'
               f'<th></th><th class="num">{_e(t("col.amount", lang))}</th></tr></thead><tbody>'
               f'<tr class="line"><td>{_e(t("plan.expense_line", lang))}'
               f'{_e(f" ({result.expense_type})" if result.expense_type else "")}'
               f'<div class="fine">{_e(t("plan.expense_note", lang))}</div></td>'
               f'<td class="num">{_e(money(result.budget, lang))}</td></tr>'
               f'<tr class="total"><td><strong>{_e(t("plan.total_expenses", lang))}</strong></td>'
               f'<td class="num"><strong>{_e(money(result.budget, lang))}</strong></td></tr></tbody></table></div>',
               f'<div><h3>{_e(t("plan.resources", lang))}</h3><table class="ranking"><thead><tr>'
               + "".join(f'<th{" class=num" if k in ("col.amount", "col.share") else ""}>{_e(t(k, lang))}</th>'
                         for k in heads) + "</tr></thead><tbody>"]
        for r in rows:
            badge = {"funder": "eligible" if "(éligible)" in r["status"] or "(eligible)" in r["status"]
                     else "to_check", "gap": "ineligible"}.get(r["kind"], "")
            note = f'<div class="fine">{_e(r["notes"])}</div>' if r["notes"] else ""
            out.append(f'<tr class="line"><td><span class="who">{_e(r["who"])}</span>{note}</td>'
                       f'<td>{_e(r["call"])}</td><td>{_e(r["instrument"])}</td>'
                       f'<td class="num">{_e(money(r["amount"], lang))}</td><td class="num">{r["share"]:.1%}</td>'
                       f'<td>{_e(ex.format_date(r["deadline"], lang) if r["deadline"] else "")}</td>'
                       f'<td><span class="badge {badge}">{_e(r["status"])}</span></td></tr>')
        out.append(f'<tr class="total"><td><strong>{_e(t("plan.total_resources", lang))}</strong></td>'
                   "<td></td><td></td>"
                   f'<td class="num"><strong>{_e(money(total, lang))}</strong></td>'
                   f'<td class="num"><strong>{total / result.budget:.1%}</strong></td><td></td><td></td></tr>'
                   "</tbody></table>"
                   f'<p class="note">{_e(t("plan.public_share", lang))} : {_e(money(public, lang))} '
                   f"({public / result.budget:.1%})</p></div></div>")
        if plan.gap_reasons:
            out.append(f'<p class="note">{_e(t("plan.gap_why", lang))} : {_e(" ; ".join(plan.gap_reasons))}</p>')
        out.append("</section>")
        body.append("".join(out))
    if result.notes:
        body.append(f'<section id="notes"><h2>{_e(t("plan.notes", lang))}</h2><ul>'
                    + "".join(f"<li>{_e(n)}</li>" for n in result.notes) + "</ul></section>")
    return _page(t("plan.title", lang, title=title), t("plan.on", lang, date=ex.format_date(run_date, lang)),
                 body, lang)


# --------------------------------------------------------------------------- allocation: the committee pack


def alternatives_frame(result, lang: str = "fr") -> pd.DataFrame:
    """The alternatives side by side: projects, amount, what each changes against the best."""
    apps = result.applications
    best = result.allocations[0]
    rows = []
    for a in result.allocations:
        funded = a.amounts > 0
        delta = int(funded.sum() - (best.amounts > 0).sum())
        changes = []
        if a.dropped is not None:
            mask = [a.dropped.value in v for v in apps[a.dropped.dimension]]
            before = int((best.amounts > 0)[mask].sum())
            after = int(funded[mask].sum())
            changes.append(f"{a.dropped.dimension} {a.dropped.value}: {before} → {after}")
        label = {"best": t("alloc.best", lang), "next best": t("alloc.next", lang)}.get(a.label)
        if label is None:
            label = t("alloc.without", lang, label=a.dropped.label) if a.dropped is not None else a.label
        rows.append({"alternative": a.rank, "label": label, "projects": int(funded.sum()),
                     "vs_best": t("alloc.vs_best", lang, delta=delta) if a.rank > 1 else "",
                     "amount": float(a.amounts.sum()), "objective": round(a.objective, 6),
                     "changes": ", ".join(changes), "status": a.status, "gap_to_bound": round(a.gap, 6)})
    return pd.DataFrame(rows)


def pack_sections(result, notes, lang: str = "fr") -> list[tuple[str, object]]:
    """The committee pack as (heading, frame or text) sections."""
    best = result.allocations[0]
    opts = result.options
    table = result.table()
    bound = {s.label for s in binding(result.applications, opts, best.amounts)}
    constraints = pd.DataFrame([{"constraint": s.label,
                                 "binding": t("alloc.binding" if s.label in bound else "alloc.slack", lang)}
                                for s in opts.shares], columns=["constraint", "binding"])
    below = pd.DataFrame(below_the_line(result.applications, opts, best.amounts, lang=lang),
                         columns=["project_id", "why"])
    return [(t("alloc.funded", lang), table[table["alternative"] == 1]),
            (t("alloc.constraints", lang), constraints), (t("alloc.below", lang), below),
            (t("alloc.balance", lang), balance(result.applications, best.amounts, opts.envelope)),
            (t("alloc.alternatives", lang), alternatives_frame(result, lang)),
            (t("alloc.notes", lang), " ; ".join(notes) or "—")]


def allocation_summary(result, lang: str = "fr") -> str:
    best = result.allocations[0]
    return t("alloc.summary", lang, envelope=money(result.options.envelope, lang),
             allocated=money(best.amounts.sum(), lang), n=int((best.amounts > 0).sum()), status=best.status,
             gap=f"{best.gap:.3%}")


_MONEY_COLUMNS = ("amount", "requested")
_SHARE_COLUMNS = ("share_of_envelope",)


def _frame_html(frame: pd.DataFrame, lang: str, drop=()) -> str:
    frame = frame.drop(columns=[c for c in drop if c in frame.columns])
    if frame.empty:
        return '<p class="fine">—</p>'
    out = ['<table class="ranking"><thead><tr>']
    for c in frame.columns:
        cls = ' class="num"' if c in _MONEY_COLUMNS + _SHARE_COLUMNS + ("score", "projects") else ""
        out.append(f"<th{cls}>{_e(t('head.' + c, lang) if 'head.' + c in TEXTS else c)}</th>")
    out.append("</tr></thead><tbody>")
    for row in frame.to_dict("records"):
        cells = []
        for c, v in row.items():
            if c in _MONEY_COLUMNS and not (isinstance(v, float) and v != v):
                cells.append(f'<td class="num">{_e(money(v, lang))}</td>')
            elif c in _SHARE_COLUMNS:
                cells.append(f'<td class="num">{float(v):.1%}</td>')
            elif c == "binding":
                badge = "ineligible" if v == t("alloc.binding", lang) else "eligible"
                cells.append(f'<td><span class="badge {badge}">{_e(v)}</span></td>')
            elif c in ("region", "department", "sector", "legal_form", "ess") and isinstance(v, str):
                cells.append(f"<td>{_e(v.replace('|', ', '))}</td>")
            else:
                cls = ' class="num"' if c in ("score", "projects") else ""
                cells.append(f"<td{cls}>{_e(cell_text(v))}</td>")
        out.append('<tr class="line">' + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def allocation_html(result, notes, funder: str, run_date: str, lang: str = "fr") -> str:
    """The committee pack as one page in the report's style."""
    best = result.allocations[0]
    body = [_cards([(money(result.options.envelope, lang), t("alloc.envelope", lang)),
                    (money(best.amounts.sum(), lang), t("alloc.allocated", lang)),
                    (str(int((best.amounts > 0).sum())), t("alloc.projects", lang))]),
            f'<p class="note">{_e(allocation_summary(result, lang))}</p>']
    for k, (head, section) in enumerate(pack_sections(result, notes, lang)):
        if k == 0 and not isinstance(section, str):
            first = ["project_id", "project_name"]
            section = section[first + [c for c in section.columns if c not in first]]
        content = f"<p>{_e(section)}</p>" if isinstance(section, str) else _frame_html(
            section, lang, drop=("alternative", "new_recipient") if k == 0 else ())
        body.append(f'<section id="s{k}"><h2>{_e(head)}</h2>{content}</section>')
    return _page(t("alloc.title", lang, funder=funder), t("plan.on", lang, date=ex.format_date(run_date, lang)),
                 body, lang)


def write_allocation_workbook(result, notes, path: str | Path, lang: str = "fr") -> Path:
    """The committee pack as a workbook: one sheet per section, then one sheet per alternative."""
    from matcher.report.xlsx import write_sheets

    sheets = {}
    for head, section in pack_sections(result, notes, lang):
        sheets[head] = pd.DataFrame({head: [section]}) if isinstance(section, str) else section
    table = result.table()
    for a in result.allocations[1:]:
        sheets[f"{t('alloc.alternatives', lang)} {a.rank}"] = table[table["alternative"] == a.rank]
    return write_sheets(sheets, path, lang)

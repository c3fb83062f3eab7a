"""The HTML report of ``coopmatch evaluate``: ranking metrics by subset, chance of award, reliability diagram.

:func:`render_evaluation_html` takes the JSON report of ``evaluate`` (``Evaluation.to_dict()``, with
``award`` from :func:`~matcher.evaluation.evaluate.evaluate_award` when ``--decisions`` was given) and
returns one self-contained page (no script, no external file): the reliability diagram is an inline
SVG drawn from the reliability tables, so the page is the same bytes for the same report. Every text
from the data is escaped.
"""

from __future__ import annotations

from html import escape

#: Side of the reliability diagram's plot area, in pixels.
PLOT = 320
#: Margin around the plot area (axes labels), in pixels.
MARGIN = 48
#: Colours of the two probability sources in the diagram.
COLOURS = {"p_award": "#1f6f43", "past_rate": "#b5651d"}

TEXTS = {
    "title": {"fr": "Évaluation sur l'historique", "en": "Evaluation on the history"},
    "split": {"fr": "Apprentissage : décisions avant {year} ({train} lignes) ; test : {test} demandes accordées "
                    "de {year} et après ; {funders} financeurs.",
              "en": "Train: decisions before {year} ({train} rows); test: {test} granted applications of {year} "
                    "and after; {funders} funders."},
    "ranking": {"fr": "Classement des financeurs", "en": "Ranking of the funders"},
    "subset": {"fr": "Demandes", "en": "Applications"},
    "method": {"fr": "Méthode", "en": "Method"},
    "explained": {"fr": "Lignes du top 3 expliquées (contributions = score) : {share}",
                  "en": "Top-3 lines explained (contributions sum to the score): {share}"},
    "award": {"fr": "Chance d'obtention", "en": "Chance of award"},
    "award_split": {"fr": "{n} décisions testées, {share} accordées ; calibré sur {year} ({method}).",
                    "en": "{n} test decisions, {share} granted; calibrated on {year} ({method})."},
    "reliability": {"fr": "Diagramme de fiabilité (10 classes de probabilité)",
                    "en": "Reliability diagram (10 probability bins)"},
    "predicted": {"fr": "probabilité prédite", "en": "predicted probability"},
    "observed": {"fr": "part accordée observée", "en": "observed granted share"},
    "perfect": {"fr": "calibration parfaite", "en": "perfect calibration"},
    "settings": {"fr": "Paramètres", "en": "Settings"},
    "bins": {"fr": "Classe", "en": "Bin"},
    "count": {"fr": "Décisions", "en": "Decisions"},
}
SUBSETS = {"all": {"fr": "toutes", "en": "all"},
           "new_pairs": {"fr": "nouvelles paires (jamais financé par ce financeur)",
                         "en": "new pairs (never granted by that funder)"},
           "new_recipients": {"fr": "nouveaux bénéficiaires (jamais financés)",
                              "en": "new recipients (never granted)"}}
METHODS = {"coopmatch": {"fr": "coopmatch", "en": "coopmatch"},
           "most_frequent": {"fr": "financeur le plus fréquent", "en": "most frequent funder"},
           "tfidf_char_lr": {"fr": "TF-IDF caractères + régression logistique",
                             "en": "TF-IDF characters + logistic regression"}}
SOURCES = {"p_award": {"fr": "modèle (p_award)", "en": "model (p_award)"},
           "past_rate": {"fr": "taux passé du bénéficiaire", "en": "recipient's past rate"}}


def _t(key: str, lang: str, **values) -> str:
    return TEXTS[key][lang].format(**values)


def _num(value, lang: str, digits: int = 3) -> str:
    if value is None:
        return "—"
    text = f"{float(value):.{digits}f}"
    return text.replace(".", ",") if lang == "fr" else text


def _int(value: int, lang: str) -> str:
    text = f"{int(value):,}"
    return text.replace(",", "\u202f") if lang == "fr" else text


def _percent(value: float, lang: str) -> str:
    text = f"{100 * float(value):.1f}"
    return (text.replace(".", ",") + "\u00a0%") if lang == "fr" else text + " %"


def reliability_svg(award: dict, lang: str = "fr") -> str:
    """The reliability diagram of both probability sources as an inline SVG (escaped texts)."""
    size = PLOT + 2 * MARGIN

    def x(p: float) -> float:
        return round(MARGIN + p * PLOT, 1)

    def y(p: float) -> float:
        return round(MARGIN + (1 - p) * PLOT, 1)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
             f'viewBox="0 0 {size} {size}" role="img" aria-label="{escape(_t("reliability", lang))}">',
             f'<rect x="{MARGIN}" y="{MARGIN}" width="{PLOT}" height="{PLOT}" fill="none" stroke="#999"/>']
    for tick in range(0, 11, 2):
        p = tick / 10
        parts.append(f'<text x="{x(p)}" y="{MARGIN + PLOT + 16}" font-size="10" text-anchor="middle">'
                     f"{_num(p, lang, 1)}</text>")
        parts.append(f'<text x="{MARGIN - 6}" y="{y(p) + 3}" font-size="10" text-anchor="end">'
                     f"{_num(p, lang, 1)}</text>")
    parts.append(f'<line x1="{x(0)}" y1="{y(0)}" x2="{x(1)}" y2="{y(1)}" stroke="#999" stroke-dasharray="4 3"/>')
    parts.append(f'<text x="{MARGIN + PLOT / 2}" y="{size - 8}" font-size="11" text-anchor="middle">'
                 f"{escape(_t('predicted', lang))}</text>")
    parts.append(f'<text x="12" y="{MARGIN + PLOT / 2}" font-size="11" text-anchor="middle" '
                 f'transform="rotate(-90 12 {MARGIN + PLOT / 2})">{escape(_t("observed", lang))}</text>')
    legend_y = MARGIN + 14
    parts.append(f'<text x="{MARGIN + 8}" y="{legend_y}" font-size="10" fill="#666">'
                 f"- - {escape(_t('perfect', lang))}</text>")
    for name, colour in COLOURS.items():
        if name not in award:
            continue
        table = award[name]["reliability"]
        points = [(p, o) for p, o in zip(table["predicted"], table["observed"], strict=True)
                  if p is not None and o is not None]
        if points:
            path = " ".join(f"{x(p)},{y(o)}" for p, o in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
            parts += [f'<circle cx="{x(p)}" cy="{y(o)}" r="3" fill="{colour}"/>' for p, o in points]
        legend_y += 14
        parts.append(f'<text x="{MARGIN + 8}" y="{legend_y}" font-size="10" fill="{colour}">'
                     f"● {escape(SOURCES[name][lang])} (ECE {_num(award[name]['ece'], lang)})</text>")
    parts.append("</svg>")
    return "".join(parts)


def _ranking_table(report: dict, lang: str) -> str:
    metrics = ["hit@1", "hit@3", "mrr", "ndcg@5"]
    rows = [f"<tr><th>{escape(_t('subset', lang))}</th><th class=\"num\">n</th>"
            f"<th>{escape(_t('method', lang))}</th>" + "".join(f'<th class="num">{m}</th>' for m in metrics)
            + "</tr>"]
    for subset, values in report.get("subsets", {}).items():
        methods = [m for m in values if m != "n"]
        for i, method in enumerate(methods):
            head = (f'<td rowspan="{len(methods)}">{escape(SUBSETS.get(subset, {}).get(lang, subset))}</td>'
                    f'<td class="num" rowspan="{len(methods)}">{_int(values["n"], lang)}</td>') if i == 0 else ""
            cells = "".join(f'<td class="num">{_num(values[method].get(m), lang)}</td>' for m in metrics)
            rows.append(f"<tr>{head}<td>{escape(METHODS.get(method, {}).get(lang, method))}</td>{cells}</tr>")
    return "<table>" + "".join(rows) + "</table>"


def _award_section(award: dict, lang: str) -> str:
    head = (f"<h2>{escape(_t('award', lang))}</h2><p>"
            + escape(_t("award_split", lang, n=_int(award["test_decisions"], lang),
                        share=_percent(award["granted_share"], lang), year=award.get("calibrated_on_year"),
                        method=award.get("calibration", "")))
            + "</p>")
    rows = ["<tr><th></th><th class=\"num\">AUC</th><th class=\"num\">Brier</th><th class=\"num\">ECE</th></tr>"]
    for name in COLOURS:
        if name in award:
            values = award[name]
            rows.append(f"<tr><td>{escape(SOURCES[name][lang])}</td>"
                        + "".join(f'<td class="num">{_num(values[k], lang)}</td>' for k in ("auc", "brier", "ece"))
                        + "</tr>")
    bins = ["<tr><th>" + escape(_t("bins", lang)) + "</th>"
            + "".join(f'<th class="num" colspan="2">{escape(SOURCES[n][lang])}</th>' for n in COLOURS if n in award)
            + "</tr>"]
    sizes = len(award["p_award"]["reliability"]["count"]) if "p_award" in award else 0
    for b in range(sizes):
        cells = []
        for name in COLOURS:
            if name in award:
                table = award[name]["reliability"]
                cells.append(f'<td class="num">{_int(table["count"][b], lang)}</td>'
                             f'<td class="num">{_num(table["observed"][b], lang)}</td>')
        bins.append(f"<tr><td>{_num(b / sizes, lang, 1)}–{_num((b + 1) / sizes, lang, 1)}</td>{''.join(cells)}</tr>")
    count_head = ("<tr><th></th>" + "".join(f'<th class="num">{escape(_t("count", lang))}</th>'
                                             f'<th class="num">{escape(_t("observed", lang))}</th>'
                                             for n in COLOURS if n in award) + "</tr>")
    return (head + "<table>" + "".join(rows) + "</table>"
            + f"<h3>{escape(_t('reliability', lang))}</h3><figure>{reliability_svg(award, lang)}</figure>"
            + "<table>" + bins[0] + count_head + "".join(bins[1:]) + "</table>")


def render_evaluation_html(report: dict, lang: str = "fr") -> str:
    """One self-contained HTML page for the JSON report of ``evaluate`` (see the module docstring)."""
    import json

    settings = json.dumps(report.get("settings", {}), ensure_ascii=False, sort_keys=True, indent=1)
    body = [f"<h1>{escape(_t('title', lang))}</h1>",
            "<p>" + escape(_t("split", lang, year=report.get("test_from_year"),
                                train=_int(report.get("train_rows", 0), lang),
                                test=_int(report.get("test_rows", 0), lang),
                                funders=_int(report.get("funders", 0), lang))) + "</p>",
            f"<h2>{escape(_t('ranking', lang))}</h2>", _ranking_table(report, lang),
            "<p>" + escape(_t("explained", lang, share=_percent(report.get("explained_top3", 0.0), lang))) + "</p>"]
    if "award" in report:
        body.append(_award_section(report["award"], lang))
    body.append(f"<h2>{escape(_t('settings', lang))}</h2><pre>{escape(settings)}</pre>")
    style = ("body{font-family:system-ui,sans-serif;margin:2em;max-width:60em}table{border-collapse:collapse;"
             "margin:1em 0}td,th{border:1px solid #ccc;padding:.25em .6em}.num{text-align:right}"
             "pre{background:#f6f6f6;padding:1em;overflow:auto}")
    return (f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
            f"<title>{escape(_t('title', lang))}</title><style>{style}</style></head><body>"
            + "".join(body) + "</body></html>\n")


__all__ = ["render_evaluation_html", "reliability_svg"]

"""French and English texts of ``plan`` and ``allocate`` (labels, sentences, error messages).

French is the default, as for the rest of coopmatch. :func:`t` looks a key up
in :data:`TEXTS` and fills its ``{placeholders}``; an unknown language falls
back to French. The machine columns (CSV/JSON) are never translated.
"""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    # --- plan: titles and headings
    "plan.title": {"fr": "Plan de financement prévisionnel — {title}", "en": "Provisional financing plan — {title}"},
    "plan.on": {"fr": "au {date}", "en": "on {date}"},
    "plan.plan": {"fr": "Plan {rank}", "en": "Plan {rank}"},
    "plan.best": {"fr": " (le meilleur)", "en": " (best)"},
    "plan.summary": {"fr": "Budget {budget} ; financements acquis {secured} ; autofinancement {own} ; "
                             "besoin {need} ; plafond d'aides publiques {cap}",
                     "en": "Budget {budget} ; secured {secured} ; self-funding {own} ; need {need} ; "
                           "public cap {cap}"},
    "plan.total": {"fr": "Total = budget ; aides publiques {public} du budget",
                   "en": "Total = budget ; public aid {public} of the budget"},
    "plan.expenses": {"fr": "Dépenses", "en": "Expenses"},
    "plan.resources": {"fr": "Ressources", "en": "Resources"},
    "plan.expense_line": {"fr": "Coût total du projet", "en": "Total cost of the project"},
    "plan.expense_note": {"fr": "(budget prévisionnel ; le détail par poste n'est pas dans les données)",
                          "en": "(provisional budget; the line-by-line budget is not in the data)"},
    "plan.total_expenses": {"fr": "Total des dépenses", "en": "Total expenses"},
    "plan.total_resources": {"fr": "Total des ressources", "en": "Total resources"},
    "plan.balanced": {"fr": "Équilibré : ressources = dépenses", "en": "Balanced: resources = expenses"},
    "plan.public_share": {"fr": "Aides publiques", "en": "Public aid"},
    "plan.notes": {"fr": "Notes", "en": "Notes"},
    "plan.gap_why": {"fr": "Pourquoi un reste à financer", "en": "Why a gap remains"},
    # --- plan: columns
    "col.resource": {"fr": "Financeur", "en": "Funder"},
    "col.call": {"fr": "Appel", "en": "Call"},
    "col.instrument": {"fr": "Instrument", "en": "Instrument"},
    "col.amount": {"fr": "Montant", "en": "Amount"},
    "col.share": {"fr": "Part du budget", "en": "Share of budget"},
    "col.deadline": {"fr": "Date limite", "en": "Deadline"},
    "col.status": {"fr": "Statut", "en": "Status"},
    "col.notes": {"fr": "À vérifier / remarques", "en": "To check / remarks"},
    # --- plan: line kinds and statuses
    "kind.secured": {"fr": "Financements acquis", "en": "Secured funding"},
    "kind.self": {"fr": "Autofinancement", "en": "Self-funding"},
    "kind.gap": {"fr": "Reste à financer", "en": "Uncovered gap"},
    "status.eligible": {"fr": "à demander (éligible)", "en": "to apply (eligible)"},
    "status.to_check": {"fr": "à demander (à vérifier)", "en": "to apply (to check)"},
    "status.secured": {"fr": "acquis", "en": "secured"},
    "status.self": {"fr": "apport du porteur", "en": "carrier's own"},
    "status.gap": {"fr": "non couvert", "en": "not covered"},
    "public": {"fr": "public", "en": "public"},
    "deadline": {"fr": "date limite {date}", "en": "deadline {date}"},
    # --- allocate
    "alloc.title": {"fr": "Dossier de comité — allocation de l'enveloppe — {funder}",
                    "en": "Committee pack — envelope allocation — {funder}"},
    "alloc.funded": {"fr": "Projets retenus", "en": "Funded"},
    "alloc.constraints": {"fr": "Contraintes", "en": "Constraints"},
    "alloc.below": {"fr": "Juste sous la barre", "en": "Below the line"},
    "alloc.balance": {"fr": "Équilibre du portefeuille", "en": "Balance"},
    "alloc.alternatives": {"fr": "Alternatives", "en": "Alternatives"},
    "alloc.notes": {"fr": "Notes", "en": "Notes"},
    "alloc.binding": {"fr": "saturée", "en": "binding"},
    "alloc.slack": {"fr": "non saturée", "en": "slack"},
    "alloc.envelope": {"fr": "Enveloppe", "en": "Envelope"},
    "alloc.allocated": {"fr": "Alloué", "en": "Allocated"},
    "alloc.projects": {"fr": "Projets", "en": "Projects"},
    "alloc.summary": {"fr": "Enveloppe {envelope} ; {allocated} alloués à {n} projet(s) ; solveur : {status}, "
                            "à {gap} de la borne LP",
                      "en": "Envelope {envelope} ; allocated {allocated} to {n} project(s) ; solver: {status}, "
                            "within {gap} of the LP bound"},
    "alloc.best": {"fr": "la meilleure", "en": "best"},
    "alloc.without": {"fr": "sans {label}", "en": "without {label}"},
    "alloc.next": {"fr": "la suivante", "en": "next best"},
    "alloc.vs_best": {"fr": "{delta:+d} projets", "en": "{delta:+d} projects"},
    "alloc.none": {"fr": "—", "en": "—"},
    # --- committee pack column headings (HTML only; the CSV/JSON keep the machine names)
    "head.project_id": {"fr": "Projet", "en": "Project"},
    "head.project_name": {"fr": "Nom", "en": "Name"},
    "head.amount": {"fr": "Montant", "en": "Amount"},
    "head.requested": {"fr": "Demandé", "en": "Requested"},
    "head.score": {"fr": "Score", "en": "Score"},
    "head.eligibility": {"fr": "Éligibilité", "en": "Eligibility"},
    "head.region": {"fr": "Région", "en": "Region"},
    "head.department": {"fr": "Département", "en": "Department"},
    "head.sector": {"fr": "Secteurs", "en": "Sectors"},
    "head.legal_form": {"fr": "Forme juridique", "en": "Legal form"},
    "head.ess": {"fr": "ESS", "en": "ESS"},
    "head.constraint": {"fr": "Contrainte", "en": "Constraint"},
    "head.binding": {"fr": "État", "en": "State"},
    "head.why": {"fr": "Pourquoi", "en": "Why"},
    "head.dimension": {"fr": "Dimension", "en": "Dimension"},
    "head.value": {"fr": "Valeur", "en": "Value"},
    "head.projects": {"fr": "Projets", "en": "Projects"},
    "head.share_of_envelope": {"fr": "Part de l'enveloppe", "en": "Share of envelope"},
    "head.alternative": {"fr": "Alternative", "en": "Alternative"},
    "head.label": {"fr": "Libellé", "en": "Label"},
    "head.vs_best": {"fr": "Écart", "en": "Vs best"},
    "head.objective": {"fr": "Objectif", "en": "Objective"},
    "head.changes": {"fr": "Changements", "en": "Changes"},
    "head.status": {"fr": "Solveur", "en": "Solver"},
    "head.gap_to_bound": {"fr": "Écart à la borne", "en": "Gap to bound"},
    # --- reasons in words
    "why.envelope": {"fr": "il reste {left} dans l'enveloppe, il demande {need}",
                     "en": "the envelope has {left} left, it asks {need}"},
    "why.share": {"fr": "{label} laisse {room}", "en": "{label} leaves {room}"},
    "why.elsewhere": {"fr": "l'argent sert mieux ailleurs sous les contraintes (score × montant)",
                      "en": "the money does more fit elsewhere under the constraints (score × amount)"},
    "gap.none": {"fr": "aucun financeur éligible ou à vérifier pour ce projet",
                 "en": "no eligible or to-check funder for this project"},
    "gap.ceilings": {"fr": "les plafonds des financeurs éligibles (ticket_max, part maximale du budget) totalisent "
                           "{room} pour un besoin de {need}",
                     "en": "the ceilings of the eligible funders (ticket_max, max share of budget) add up to "
                           "{room} for a need of {need}"},
    "gap.public": {"fr": "le plafond d'aides publiques ({cap} du budget, {room}) est atteint",
                   "en": "the public-aid cap ({cap} of the budget, {room}) is reached"},
    "gap.max_apps": {"fr": "--max-applications {n} est atteint", "en": "--max-applications {n} is reached"},
    "gap.tickets": {"fr": "les tickets minimums des financeurs restants ne tiennent pas dans ce qui reste",
                    "en": "the remaining funders' ticket minimums do not fit in what is left"},
    # --- errors and notes
    "err.no_budget": {"fr": "le projet {pid} n'a pas de budget total (total_budget) : un plan a besoin du budget "
                            "total du projet, et utilise ses financements acquis (secured_funding) s'ils sont connus",
                      "en": "project {pid} has no total budget (total_budget): a plan needs the total budget "
                            "of the project, and uses its secured funding (secured_funding) when known"},
    "err.envelope": {"fr": "l'enveloppe doit être un montant positif, reçu {value}",
                     "en": "the envelope must be a positive amount, got {value}"},
    "err.share_range": {"fr": "une part est entre 0 et 1, reçu {value}",
                        "en": "a share is between 0 and 1, got {value}"},
    "err.share_text": {"fr": "une part entre 0 et 1 était attendue, reçu '{value}'",
                       "en": "expected a share between 0 and 1, got '{value}'"},
    "err.infeasible": {"fr": "les contraintes ne peuvent pas toutes tenir : {problems}",
                       "en": "the constraints cannot all hold: {problems}"},
    "err.infeasible_together": {"fr": "les contraintes ne peuvent pas tenir ensemble : {problems}",
                                "en": "the constraints cannot all hold together: {problems}"},
    "err.min_needs": {"fr": "{label} demande {need} mais les dossiers éligibles de {dimension} {value} demandent "
                            "{asked}",
                      "en": "{label} needs {need} but the eligible applications from {dimension} {value} ask {asked}"},
    "err.contradict": {"fr": "{a} et {b} se contredisent", "en": "{a} and {b} contradict each other"},
    "err.whole": {"fr": " avec des subventions entières (essayez --partial)",
                  "en": " with whole grants (try --partial)"},
    "err.no_whole": {"fr": "aucune combinaison de subventions entières ne convient ; essayez --partial",
                     "en": "no combination of whole grants fits; try --partial"},
    "err.xlsx_output": {"fr": "--format xlsx demande -o FICHIER.xlsx", "en": "--format xlsx needs -o FILE.xlsx"},
    "err.record": {"fr": "--record demande --workspace WS", "en": "--record needs --workspace WS"},
    "note.secured_unknown": {"fr": "financements acquis inconnus : comptés 0 €",
                             "en": "secured funding unknown: counted as 0 €"},
    "note.secured_private": {"fr": "les financements acquis ne sont pas comptés comme aides publiques "
                                   "(leur origine n'est pas connue)",
                             "en": "secured funding is not counted as public aid (its origin is not known)"},
    "note.covered": {"fr": "les financements acquis et l'autofinancement couvrent déjà le budget",
                     "en": "secured funding and self-funding already cover the budget"},
    "err.share_format": {"fr": "DIM:VALEUR=PART attendu, reçu '{text}'",
                         "en": "expected DIM:VALUE=SHARE, got '{text}'"},
    "err.share_number": {"fr": "la part doit être un nombre entre 0 et 1, reçu '{value}'",
                         "en": "the share must be a number between 0 and 1, got '{value}'"},
    "err.share_bounds": {"fr": "la part doit être entre 0 et 1 (une part de l'enveloppe), reçu {value}",
                         "en": "the share must be between 0 and 1 (a share of the envelope), got {value}"},
    "err.history": {"fr": "new_recipient demande l'historique des aides du financeur : donnez --history FICHIER "
                          "ou --workspace WS",
                    "en": "new_recipient needs the funder's grant history: give --history FILE or --workspace WS"},
    "err.bool": {"fr": "valeur inconnue '{value}' pour {dim} : utilisez true ou false",
                 "en": "unknown value '{value}' for {dim}: use true or false"},
    "note.no_amount": {"fr": "{pid} : montant demandé inconnu, dossier écarté",
                       "en": "{pid}: amount requested unknown, left out"},
    "note.ticket_min": {"fr": "{name} : ticket minimum {floor} au-dessus de ce qu'il peut donner ici ({cap})",
                        "en": "{name}: ticket minimum {floor} above what it may give here ({cap})"},
    "flag.late": {"fr": "clôture le {deadline}, après le démarrage du projet ({start})",
                  "en": "closes {deadline}, after the project starts ({start})"},
    "flag.to_check": {"fr": "à vérifier : {reasons}", "en": "to check: {reasons}"},
    "rows": {"fr": "{n} lignes → {path}", "en": "{n} rows → {path}"},
    "recorded": {"fr": "{n} décision(s) « shortlisted » enregistrée(s)", "en": "{n} shortlisted decision(s) recorded"},
}


def t(key: str, lang: str = "fr", **values) -> str:
    """The text ``key`` in ``lang`` (French when the language is unknown), filled with ``values``."""
    entry = TEXTS[key]
    text = entry.get(lang) or entry["fr"]
    return text.format(**values) if values else text


def unknown(what: str, value, choices, lang: str = "fr", list_up_to: int | None = None) -> str:
    """``unknown region 'X'; did you mean A?`` in English, ``région inconnue « X » ; vouliez-vous dire A ?`` in
    French: :func:`matcher.core.suggest.unknown_message`, the one writer of these messages."""
    from matcher.core.suggest import LIST_ALL_UP_TO, unknown_message

    return unknown_message(what, value, choices, list_up_to=LIST_ALL_UP_TO if list_up_to is None else list_up_to,
                           lang=lang)

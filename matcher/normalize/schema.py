"""Canonical fields of the three profile kinds: projects, funders, grant history.

This module is the contract between the readers, the normalisation pipelines
and the matcher. Each field has a *kind* that says how a raw cell is parsed and
how the value is held in a canonical DataFrame:

=============== ================================ ===============================
kind            canonical value                   unknown
=============== ================================ ===============================
``id``          ``str`` (stripped)                ``None``
``text``        ``str`` (whitespace folded)       ``None``
``amount``      ``float`` euros                   ``NaN``
``percent``     ``float`` share in [0, 1]         ``NaN``
``date``        ``str`` ISO ``YYYY-MM-DD``        ``None``
``bool``        ``True`` / ``False``              ``pd.NA`` (pandas "boolean")
``int``         ``int``                           ``pd.NA`` (pandas "Int64")
``choice``      one vocabulary id (``str``)       ``None``
``choices``     ``tuple`` of vocabulary ids,      ``None``
                sorted and unique
``weighted``    ``dict`` id -> weight (>0)        ``None``
``places``      ``tuple`` of territory codes      ``None``
                (``commune:75056``, ``epci:…``,
                ``dep:69``, ``reg:84``, ``FR``,
                ``EU``), sorted and unique
``levels``      expanded into one ``Int8`` column ``pd.NA`` per criterion
                ``jt_<criterion>`` per criterion
                (level 0-3)
``mapping``     ``dict`` str -> float             ``None``
=============== ================================ ===============================

An empty tuple means "explicitly none" and is different from unknown.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    """One canonical field.

    Parameters
    ----------
    name:
        Canonical snake_case name.
    kind:
        How values are parsed and held (see the module docstring).
    vocabulary:
        For ``choice``/``choices``/``weighted``/``levels``: the vocabulary name
        in :mod:`matcher.referential.vocabularies`.
    required:
        A row without this value is rejected.
    help_fr, help_en:
        One-line description for reports and documentation.
    """

    name: str
    kind: str
    vocabulary: str | None = None
    required: bool = False
    help_fr: str = ""
    help_en: str = ""


def _fields(*specs: tuple) -> dict[str, Field]:
    return {spec[0]: Field(*spec) for spec in specs}


PROJECT_FIELDS: dict[str, Field] = _fields(
    ("project_id", "id", None, True, "identifiant unique du projet", "unique project id"),
    ("name", "text", None, False, "nom du projet", "project name"),
    ("summary", "text", None, False, "résumé du projet", "project summary"),
    ("carrier_name", "text", None, False, "structure porteuse", "carrying organisation"),
    ("siret", "id", None, False, "SIRET (14 chiffres)", "SIRET (14 digits)"),
    ("siren", "id", None, False, "SIREN (9 chiffres)", "SIREN (9 digits)"),
    ("rna", "id", None, False, "numéro RNA (W + 9 chiffres)", "RNA number (W + 9 digits)"),
    ("legal_form", "choice", "legal_forms", False, "forme juridique", "legal form"),
    ("ess_status", "choices", "ess_status", False, "statut ESS, agrément ESUS, labels", "ESS status, ESUS, labels"),
    ("sectors", "choices", "sectors", False, "secteurs", "sectors"),
    ("territory", "places", None, False, "territoire(s) du projet", "project place(s)"),
    ("amount_requested", "amount", None, False, "montant demandé", "amount requested"),
    ("total_budget", "amount", None, False, "budget total", "total budget"),
    ("secured_funding", "amount", None, False, "financements acquis", "funding already secured"),
    ("expense_type", "choice", "expense_types", False, "type de dépense", "expense type"),
    ("instruments_sought", "choices", "instruments", False, "instruments recherchés", "instruments sought"),
    ("stage", "choice", "stages", False, "stade du projet", "project stage"),
    ("start_date", "date", None, False, "date de démarrage", "start date"),
    ("duration_months", "int", None, False, "durée (mois)", "duration (months)"),
    ("partners_count", "int", None, False, "nombre de partenaires", "number of partners"),
    ("partner_kinds", "choices", "partner_kinds", False, "types de partenaires", "kinds of partners"),
    ("governance", "choices", "governance", False, "gouvernance", "governance"),
    ("just_transition", "levels", "jt_criteria", False,
     "critères de transition juste (0-3)", "just-transition criteria (0-3)"),
    ("jt_evidence", "text", None, False, "éléments de preuve transition juste", "just-transition evidence"),
    ("dnsh", "bool", None, False, "ne cause pas de préjudice important (DNSH)", "does no significant harm (DNSH)"),
    ("beneficiaries", "text", None, False, "bénéficiaires", "beneficiaries"),
)

FUNDER_FIELDS: dict[str, Field] = _fields(
    ("funder_id", "id", None, True, "identifiant du financeur", "funder id"),
    ("name", "text", None, False, "nom du financeur", "funder name"),
    ("funder_type", "choice", "funder_types", False, "type de financeur", "funder type"),
    ("description", "text", None, False, "description", "description"),
    ("sectors", "weighted", "sectors", False, "secteurs (avec priorité)", "sectors (with priority)"),
    ("perimeter", "places", None, False, "périmètre géographique", "geographic perimeter"),
    ("excluded_places", "places", None, False, "territoires exclus", "excluded places"),
    ("instruments", "choices", "instruments", False, "instruments", "instruments"),
    ("ticket_min", "amount", None, False, "montant minimum", "minimum ticket"),
    ("ticket_max", "amount", None, False, "montant maximum", "maximum ticket"),
    ("max_share_of_budget", "percent", None, False, "part maximale du budget", "maximum share of budget"),
    ("eligible_legal_forms", "choices", "legal_forms", False, "formes juridiques éligibles", "eligible legal forms"),
    ("excluded_legal_forms", "choices", "legal_forms", False, "formes juridiques exclues", "excluded legal forms"),
    ("requires_esus", "bool", None, False, "agrément ESUS exigé", "ESUS required"),
    ("stages", "choices", "stages", False, "stades acceptés", "accepted stages"),
    ("expense_types", "choices", "expense_types", False, "types de dépenses acceptés", "accepted expense types"),
    ("just_transition_requirements", "choices", "jt_requirements", False,
     "critères de transition juste exigés",
     "required just-transition criteria"),
    ("just_transition_priorities", "weighted", "jt_criteria", False,
     "critères de transition juste privilégiés",
     "favoured just-transition criteria"),
    ("weights", "mapping", None, False, "poids des critères", "criterion weights"),
    ("ticket_max_strict", "bool", None, False, "plafond strict", "strict ceiling"),
    ("contact", "text", None, False, "contact", "contact"),
    ("url", "text", None, False, "site web", "website"),
    ("call_id", "id", None, False, "identifiant de l'appel", "call id"),
    ("call_title", "text", None, False, "intitulé de l'appel", "call title"),
    ("call_opens", "date", None, False, "ouverture de l'appel", "call opens"),
    ("call_closes", "date", None, False, "clôture de l'appel", "call closes"),
    ("call_envelope", "amount", None, False, "enveloppe de l'appel", "call envelope"),
    ("learned", "bool", None, False, "profil appris de l'historique", "profile learned from history"),
    ("sectors_inferred", "bool", None, False, "secteurs déduits du nom et du descriptif (non déclarés)",
     "sectors inferred from the name and description (not stated)"),
)

HISTORY_FIELDS: dict[str, Field] = _fields(
    ("funder_id", "id", None, True, "identifiant du financeur", "funder id"),
    ("funder_name", "text", None, False, "nom du financeur", "funder name"),
    ("recipient_id", "id", None, False, "identifiant du bénéficiaire", "recipient id"),
    ("recipient_name", "text", None, False, "nom du bénéficiaire", "recipient name"),
    ("recipient_legal_form", "choice", "legal_forms", False, "forme juridique du bénéficiaire", "recipient legal form"),
    ("purpose", "text", None, False, "objet", "purpose"),
    ("sectors", "choices", "sectors", False, "secteurs", "sectors"),
    ("territory", "places", None, False, "territoire", "place"),
    ("amount_requested", "amount", None, False, "montant demandé", "amount requested"),
    ("amount_awarded", "amount", None, False, "montant accordé", "amount awarded"),
    ("currency", "text", None, False, "devise", "currency"),
    ("year", "int", None, False, "année", "year"),
    ("award_date", "date", None, False, "date de décision", "award date"),
    ("status", "choice", "grant_status", False,
     "statut (accordée, refusée, en attente)", "status (granted, refused, pending)"),
    ("programme", "text", None, False, "dispositif", "programme"),
)

SCHEMAS: dict[str, dict[str, Field]] = {
    "projects": PROJECT_FIELDS,
    "funders": FUNDER_FIELDS,
    "history": HISTORY_FIELDS,
}

#: The id column of each kind (history rows have no unique id of their own).
ID_FIELDS = {"projects": "project_id", "funders": "funder_id", "history": None}

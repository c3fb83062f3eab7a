"""Granted outcomes as open data: SCDL 2.1.1 (French grants over 23,000 €) and 360Giving.

The workspace knows the funder, the project and its carrier, the amounts, the
decision date and the call. The rest (the funder's SIRET, the convention date,
the payment terms, the EU notification…) only the publisher knows: give it
with ``values`` (``--value FIELD=VALUE``, the same for every row). A field that
is still unknown is left empty and counted in ``to_fill``: for a field the
schema requires, the file is not publishable until it is filled in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from matcher.workspace.store import WorkspaceError

#: SCDL 2.1.1 fields, in schema order.
SCDL_FIELDS = (
    "idSubvention", "nomAttribuant", "idAttribuant", "nomServiceInstructeur", "idServiceInstructeur",
    "nomBeneficiaire", "idBeneficiaire", "rnaBeneficiaire", "exerciceBudgetaire", "pluriannualite",
    "anneesPluriannualite", "dateDecision", "dateConvention", "referenceDecision", "dateCreation", "dateDebut",
    "dateFin", "dispositif", "sousDispositif", "statutLabel", "objet", "nature", "montantDemande", "montant",
    "nomOutilInstruction", "nomOutilVersement", "ej", "cléVersement", "conditionsVersement",
    "descriptionConditionsVersement", "datesPeriodeVersement", "cofinancement", "attribuantsCofinanceurs",
    "idCofinancement", "idRAE", "notificationUE", "pourcentageSubvention", "evaluationCout", "evaluation",
    "dateMiseAJour",
)
#: Fields the SCDL 2.1.1 schema requires.
SCDL_REQUIRED = ("nomAttribuant", "idAttribuant", "idServiceInstructeur", "nomBeneficiaire", "dateConvention",
                 "objet", "nature", "conditionsVersement", "descriptionConditionsVersement",
                 "datesPeriodeVersement", "notificationUE", "pourcentageSubvention")
#: Checks of the schema on values given with ``values`` (pattern or choices).
SCDL_CHECKS = {
    "idAttribuant": re.compile(r"^\d{14}$"),
    "rnaBeneficiaire": re.compile(r"^W\d{9}$"),
    "datesPeriodeVersement": re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(/[0-9]{4}-[0-9]{2}-[0-9]{2})?$"),
    "dateConvention": re.compile(r"^\d{4}-\d{2}-\d{2}$"),
    "pluriannualite": ("oui", "non"), "cofinancement": ("oui", "non"), "notificationUE": ("oui", "non"),
    "conditionsVersement": ("unique", "échelonné", "autre"),
    "nature": ("aide en numéraire", "aide en nature", "aide en numéraire;aide en nature",
               "aide en nature;aide en numéraire"),
}
OBJET_MAX = 256


@dataclass
class Export:
    """Rows to publish and, per field, how many rows still lack it (required fields first)."""

    frame: pd.DataFrame
    to_fill: dict[str, int] = field(default_factory=dict)
    required: tuple[str, ...] = ()

    @property
    def publishable(self) -> bool:
        return not any(self.to_fill.get(f) for f in self.required)


def _text(value) -> str | None:
    if value is None or (not isinstance(value, (str, tuple)) and pd.isna(value)):
        return None
    return str(value)


def _granted(ws, funder_id: str | None):
    decisions = ws.decisions()
    granted = decisions[decisions["status"] == "granted"]
    if funder_id is not None:
        granted = granted[granted["funder_id"] == funder_id]
    projects = ws.profiles("projects").set_index("project_id", drop=False)
    funders = ws.profiles("funders")
    return granted, projects, funders


def check_values(values: dict[str, str], fields, checks) -> None:
    for name, value in values.items():
        if name not in fields:
            raise WorkspaceError(f"unknown field '{name}' (expected one of {', '.join(fields)})")
        check = checks.get(name)
        if isinstance(check, tuple) and value not in check:
            raise WorkspaceError(f"{name} must be one of {', '.join(check)}, not '{value}'")
        if isinstance(check, re.Pattern) and not check.match(value):
            raise WorkspaceError(f"{name}: '{value}' does not match {check.pattern}")


def scdl(ws, values: dict[str, str] | None = None, funder_id: str | None = None) -> Export:
    """The granted outcomes of ``ws`` as SCDL 2.1.1 rows (every value a string, '' when unknown)."""
    values = dict(values or {})
    check_values(values, SCDL_FIELDS, SCDL_CHECKS)
    granted, projects, funders = _granted(ws, funder_id)
    names = dict(zip(funders["funder_id"], funders["name"], strict=True))
    titles = {(f, c): t for f, c, t in zip(funders["funder_id"], funders["call_id"], funders["call_title"],
                                           strict=True) if isinstance(c, str)}
    rows = []
    for s in granted.to_dict("records"):
        p = projects.loc[s["project_id"]] if s["project_id"] in projects.index else None
        get = (lambda name, p=p: None if p is None else _text(p[name]))  # noqa: E731
        share = None
        budget = None if p is None else p["total_budget"]
        if s["amount_granted"] == s["amount_granted"] and budget == budget and budget:
            ratio = round(float(s["amount_granted"]) / float(budget), 4)
            share = _number(ratio) if 0.01 <= ratio <= 1 else None
        rna = get("rna")
        objet = get("name") or get("summary")
        row = {
            "idSubvention": "-".join(x for x in (s["funder_id"], s["call_id"], s["project_id"]) if x),
            "nomAttribuant": names.get(s["funder_id"]) or s["funder_id"],
            "nomBeneficiaire": get("carrier_name"),
            "idBeneficiaire": get("siret"),
            "rnaBeneficiaire": rna if rna and SCDL_CHECKS["rnaBeneficiaire"].match(rna) else None,
            "exerciceBudgetaire": s["date"][:4] if s["date"] else None,
            "dateDecision": s["date"],
            "dispositif": titles.get((s["funder_id"], s["call_id"])) or (s["call_id"] or None),
            "statutLabel": "attribuée",
            "objet": objet[:OBJET_MAX] if objet else None,
            "nature": "aide en numéraire" if s["amount_granted"] == s["amount_granted"] else None,
            "montantDemande": _number(s["amount_requested"]),
            "montant": _number(s["amount_granted"]),
            "pourcentageSubvention": share,
            "dateMiseAJour": s["updated_at"][:10] if s["updated_at"] else None,
        }
        full = {}
        for name in SCDL_FIELDS:
            value = row.get(name)
            full[name] = value if value not in (None, "") else values.get(name)
        rows.append(full)
    frame = pd.DataFrame(rows, columns=list(SCDL_FIELDS)).fillna("")
    frame = frame.sort_values("idSubvention", kind="stable").reset_index(drop=True)
    to_fill = {name: int((frame[name] == "").sum()) for name in SCDL_FIELDS}
    return Export(frame.astype(object), {k: v for k, v in to_fill.items() if v}, SCDL_REQUIRED)


def _siren(get) -> str | None:
    """The recipient's SIREN (9 digits: the SIREN itself, or the first 9 of its SIRET), when the data has it."""
    for name, size in (("siren", 9), ("siret", 14)):
        value = get(name)
        if value and value.isdigit() and len(value) == size:
            return value[:9]
    return None


def _number(value) -> str | None:
    if value is None or value != value:
        return None
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


def write_scdl(export: Export, path) -> None:
    """The SCDL rows as UTF-8 CSV (comma, header in schema order), atomically, cells neutralised."""
    from matcher.io.writers import write_table

    write_table(export.frame[list(SCDL_FIELDS)], path, fmt="csv")


#: 360Giving fields the workspace cannot know (given with ``values``): the publisher's prefix and ids.
GIVING_VALUES = ("prefix", "fundingOrganization.id", "currency")


def giving360(ws, values: dict[str, str] | None = None, funder_id: str | None = None) -> tuple[dict, dict]:
    """The granted outcomes as a 360Giving package ``{"grants": [...]}`` and what is still to fill in.

    Identifiers are built from ``prefix`` (your registered ``360G-…`` prefix;
    ``360G-coopmatch`` until you give it) and the workspace ids; recipients have
    internal identifiers under that prefix, to replace with Org-ID identifiers,
    and their SIREN as ``companyNumber`` when the project gives a SIREN or SIRET.
    """
    import datetime as dt

    values = dict(values or {})
    for name in values:
        if name not in GIVING_VALUES:
            raise WorkspaceError(f"unknown 360Giving value '{name}' (expected one of {', '.join(GIVING_VALUES)})")
    prefix = values.get("prefix", "360G-coopmatch")
    granted, projects, funders = _granted(ws, funder_id)
    names = dict(zip(funders["funder_id"], funders["name"], strict=True))
    titles = {(f, c): t for f, c, t in zip(funders["funder_id"], funders["call_id"], funders["call_title"],
                                           strict=True) if isinstance(c, str)}
    grants, to_fill = [], {}
    for s in sorted(granted.to_dict("records"), key=lambda r: (r["funder_id"], r["call_id"], r["project_id"])):
        p = projects.loc[s["project_id"]] if s["project_id"] in projects.index else None
        get = (lambda name, p=p: None if p is None else _text(p[name]))  # noqa: E731
        title = get("name") or s["project_id"]
        grant = {
            "id": "-".join([prefix, *[x for x in (s["funder_id"], s["call_id"], s["project_id"]) if x]]),
            "title": title,
            "description": get("summary") or title,
            "currency": values.get("currency", "EUR"),
            "amountAwarded": float(s["amount_granted"]) if s["amount_granted"] == s["amount_granted"] else None,
            # a full date-time: the schema's oneOf (date pattern | date-time) then matches exactly one branch
            "awardDate": f"{s['date']}T00:00:00+00:00" if s["date"] else None,
            "recipientOrganization": [{"id": f"{prefix}-org-{s['project_id']}",
                                       "name": get("carrier_name") or title,
                                       **({"companyNumber": siren} if (siren := _siren(get)) else {})}],
            "fundingOrganization": [{"id": values.get("fundingOrganization.id", f"{prefix}-{s['funder_id']}"),
                                     "name": names.get(s["funder_id"]) or s["funder_id"]}],
            "dateModified": dt.datetime.fromisoformat(s["updated_at"]).isoformat() if s["updated_at"] else None,
        }
        if s["amount_requested"] == s["amount_requested"] and s["amount_requested"] is not None:
            grant["amountAppliedFor"] = float(s["amount_requested"])
        programme = titles.get((s["funder_id"], s["call_id"]))
        if s["call_id"]:
            grant["grantProgramme"] = [{"code": s["call_id"], **({"title": programme} if programme else {})}]
        for name in ("amountAwarded", "awardDate", "dateModified"):
            if grant[name] is None:
                del grant[name]
                to_fill[name] = to_fill.get(name, 0) + 1
        grants.append(grant)
    if grants and "prefix" not in values:
        to_fill["prefix"] = len(grants)
    if grants and "fundingOrganization.id" not in values:
        to_fill["fundingOrganization.id"] = len(grants)
    if grants:
        to_fill["recipientOrganization.id"] = len(grants)
    return {"grants": grants}, to_fill

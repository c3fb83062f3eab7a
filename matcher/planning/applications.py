"""The applications of an allocation: requests, scores and the value of each dimension per project."""

from __future__ import annotations

import math

import pandas as pd

from matcher.core.text import fold
from matcher.planning.allocate import DIMENSIONS, Share
from matcher.planning.plan import PlanningError
from matcher.planning.texts import t, unknown


def _places(territories, codes, level: str) -> tuple[str, ...]:
    prefix = {"region": "reg:", "department": "dep:"}[level]
    out = set()
    for code in codes or ():
        try:
            chain = (code, *territories.ancestors(code))
        except KeyError:
            continue
        out.update(c[len(prefix):] for c in chain if c.startswith(prefix))
    return tuple(sorted(out))


def _ess(row) -> tuple[str, ...]:
    from matcher.referential.vocabularies import is_ess_by_status

    if row.get("ess_status"):
        return ("true",)
    form = row.get("legal_form")
    if not isinstance(form, str):
        return ()
    return ("true",) if is_ess_by_status(form) else ("false",)


def applications(ranked: pd.DataFrame, projects: pd.DataFrame, funders: pd.DataFrame, funder_id: str,
                 max_per_project: float | None, history: pd.DataFrame | None,
                 lang: str = "fr") -> tuple[pd.DataFrame, list[str]]:
    """One row per eligible or to-check project (its best call), best score first, and notes on those left out."""
    from matcher.referential.territories import Territories

    territories = Territories.default()
    ranked = ranked[ranked["eligibility"].isin(["eligible", "to_check"])]
    ranked = ranked.sort_values(["score", "project_id"], ascending=[False, True], kind="stable")
    ranked = ranked.drop_duplicates("project_id")
    by_id = projects.set_index("project_id")
    rows_f = funders[funders["funder_id"] == funder_id]
    granted = set()
    if history is not None and not history.empty:
        from funders.history import decision_status

        h = history[(history["funder_id"] == funder_id) & (decision_status(history) == "granted")]
        granted = {fold(str(v)) for c in ("recipient_id", "recipient_name") for v in h[c].dropna()}
    rows, notes = [], []
    for r in ranked.to_dict("records"):
        p = by_id.loc[r["project_id"]].to_dict()
        asked = p.get("amount_requested")
        if asked is None or (isinstance(asked, float) and math.isnan(asked)):
            notes.append(t("note.no_amount", lang, pid=r["project_id"]))
            continue
        f = rows_f[rows_f["call_id"].fillna("") == (r["call_id"] if isinstance(r["call_id"], str) else "")]
        t_max = float(f["ticket_max"].iloc[0]) if len(f) and f["ticket_max"].notna().iloc[0] else math.inf
        requested = float(min(asked, t_max, max_per_project or math.inf))
        if history is None:
            new = ()
        else:
            ids = {fold(str(p.get(c))) for c in ("siret", "siren", "rna", "carrier_name") if p.get(c)}
            ids.add(fold(str(r["project_id"])))
            new = ("false",) if ids & granted else ("true",)
        rows.append({"project_id": r["project_id"], "project_name": r.get("project_name") or "",
                     "call_id": r["call_id"] if isinstance(r["call_id"], str) else None,
                     "requested": requested, "score": float(r["score"]), "eligibility": r["eligibility"],
                     "region": _places(territories, p.get("territory"), "region"),
                     "department": _places(territories, p.get("territory"), "department"),
                     "sector": tuple(p.get("sectors") or ()),
                     "legal_form": (p["legal_form"],) if isinstance(p.get("legal_form"), str) else (),
                     "ess": _ess(p), "new_recipient": new})
    frame = pd.DataFrame(rows, columns=["project_id", "project_name", "call_id", "requested", "score",
                                        "eligibility", *DIMENSIONS])
    frame["requested"] = frame["requested"].astype(float)
    frame["score"] = frame["score"].astype(float)
    return frame.reset_index(drop=True), notes


_YES = {"true", "1", "yes", "oui", "vrai", "ess", "new", "nouveau"}
_NO = {"false", "0", "no", "non", "faux"}


def resolve_share(share: Share, has_history: bool, lang: str = "fr") -> Share:
    """The share with its value in the form the applications carry (codes, ids); refuses unknown values."""
    value = share.value
    dim = share.dimension
    if dim in ("region", "department"):
        from matcher.referential.territories import Territories

        places = Territories.default()
        prefix = "reg:" if dim == "region" else "dep:"
        code = prefix + value.upper() if prefix + value.upper() in set(places.codes()) else None
        if code is None:
            found = places.resolve(value)
            code = found.code if found.code and found.code.startswith(prefix) else None
        if code is None:
            known = [c[4:] for c in places.codes(dim)]
            raise PlanningError(unknown(dim, value, known, lang, list_up_to=0))
        return Share(share.kind, dim, code[4:], share.share)
    if dim in ("ess", "new_recipient"):
        if dim == "new_recipient" and not has_history:
            raise PlanningError(t("err.history", lang))
        key = fold(value)
        if key not in _YES | _NO:
            raise PlanningError(t("err.bool", lang, value=value, dim=dim))
        return Share(share.kind, dim, "true" if key in _YES else "false", share.share)
    from matcher.referential.vocabularies import get_vocabulary, resolve_legal_form

    if dim == "legal_form":
        found = resolve_legal_form(value)
        if not found:
            raise PlanningError(unknown("legal form", value, get_vocabulary("legal_forms").labels(lang), lang))
        return Share(share.kind, dim, found, share.share)
    vocab = get_vocabulary("sectors")
    found = vocab.resolve(value)
    if not found:
        raise PlanningError(unknown("sector", value, vocab.labels(lang), lang))
    return Share(share.kind, dim, found[0], share.share)



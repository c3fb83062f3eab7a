"""A plain, per-pair implementation of eligibility, criteria and score: the test oracle.

Nothing here is used by the matcher. It restates every rule and criterion as
straightforward Python over one project dict and one funder dict, asking the
territory table ``contains`` directly and the vocabularies for legal-form
groups and pillars, so that the vectorised engine (features, bitmasks,
sparse products) can be checked against it pair by pair.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from matcher.core.textsim import analyze, rescale
from matcher.engine.features import (
    LEVEL_SCORE,
    as_bool,
    as_choices,
    as_day,
    as_float,
    as_text,
    as_weighted,
    code_level,
    expand_legal_forms,
    jt_pillar,
)
from matcher.engine.scoring import DEFAULT_WEIGHTS
from matcher.referential.territories import LEVEL_RANK

PASS, UNKNOWN, FAIL = 0, 1, 2
VERDICTS = ("eligible", "to_check", "ineligible")


def _condition(value):
    found = as_choices(value)
    return found or None


def _contains(territories, a: str, b: str) -> bool:
    try:
        return bool(territories.contains(a, b))
    except Exception:  # noqa: BLE001
        return a == b


def _levels(project: dict) -> dict[str, float | None]:
    out = {}
    for key, value in project.items():
        if key.startswith("jt_") and key != "jt_evidence":
            out[key[3:]] = None if value is None or pd.isna(value) else float(value)
    return out


def just_state(levels: dict) -> bool | None:
    """At least one ecological and one social criterion at level >= 1 (None: cannot tell)."""
    state = {}
    for pillar in ("ecological", "social"):
        values = [v for c, v in levels.items() if jt_pillar(c) == pillar]
        if any(v is not None and v >= 1 for v in values):
            state[pillar] = True
        elif values and all(v is not None for v in values):
            state[pillar] = False
        else:
            state[pillar] = None
    if state["ecological"] and state["social"]:
        return True
    if state["ecological"] is False or state["social"] is False:
        return False
    return None


# --------------------------------------------------------------------------- eligibility


def eligibility(project: dict, funder: dict, day: int, territories) -> dict[str, tuple[int, bool]]:
    """Rule name -> (status, warning) for one pair."""
    out: dict[str, tuple[int, bool]] = {}
    form = as_text(project.get("legal_form"))

    accepted = _condition(funder.get("eligible_legal_forms"))
    status = PASS
    if accepted:
        forms = set(expand_legal_forms(accepted))
        status = UNKNOWN if form is None else (PASS if form in forms else FAIL)
    out["legal_form"] = (status, False)

    excluded = _condition(funder.get("excluded_legal_forms"))
    status = PASS
    if excluded:
        forms = set(expand_legal_forms(excluded))
        status = UNKNOWN if form is None else (FAIL if form in forms else PASS)
    out["excluded_legal_form"] = (status, False)

    places = _condition(project.get("territory"))
    perimeter = _condition(funder.get("perimeter"))
    status = UNKNOWN  # a funder whose perimeter is not stated: to check
    if perimeter:
        if not places:
            status = UNKNOWN
        else:
            inside = [any(_contains(territories, c, p) for c in perimeter) for p in places]
            overlap = [not i and any(_contains(territories, p, c) for c in perimeter)
                       for i, p in zip(inside, places, strict=True)]
            if all(inside):
                status = PASS
            elif not any(inside) and not any(overlap):
                status = FAIL
            else:
                status = UNKNOWN
    out["perimeter"] = (status, False)

    excluded_places = _condition(funder.get("excluded_places"))
    status = PASS
    if excluded_places:
        if not places:
            status = UNKNOWN
        else:
            inside = [any(_contains(territories, e, p) for e in excluded_places) for p in places]
            touch = [any(p != e and _contains(territories, p, e) for e in excluded_places) for p in places]
            if all(inside):
                status = FAIL
            elif any(inside) or any(touch):
                status = UNKNOWN
    out["excluded_places"] = (status, False)

    offered = _condition(funder.get("instruments"))
    sought = _condition(project.get("instruments_sought"))
    status = PASS
    if offered:
        status = UNKNOWN if not sought else (PASS if set(offered) & set(sought) else FAIL)
    out["instruments"] = (status, False)

    stages = _condition(funder.get("stages"))
    stage = as_text(project.get("stage"))
    status = PASS
    if stages:
        status = UNKNOWN if stage is None else (PASS if stage in stages else FAIL)
    out["stage"] = (status, False)

    def parts(ids):
        found = set()
        for i in ids:
            found.update(("investment", "operating") if i == "both" else (i,))
        return found

    funded = _condition(funder.get("expense_types"))
    expense = as_text(project.get("expense_type"))
    status, warn = PASS, False
    if funded:
        if expense is None:
            status = UNKNOWN
        else:
            mine, theirs = parts((expense,)), parts(funded)
            status = PASS if mine & theirs else FAIL
            warn = status == PASS and bool(mine - theirs)
    out["expense_type"] = (status, warn)

    opens, closes = as_day(funder.get("call_opens")), as_day(funder.get("call_closes"))
    closed = (opens is not None and day < opens) or (closes is not None and day > closes)
    out["call_open"] = (FAIL if closed else PASS, False)

    status = PASS
    if as_bool(funder.get("requires_esus")) is True:
        ess = as_choices(project.get("ess_status"))
        status = UNKNOWN if ess is None else (PASS if "esus" in ess else FAIL)
    out["esus"] = (status, False)

    required = _condition(funder.get("just_transition_requirements"))
    status = PASS
    if required:
        levels = _levels(project)
        states = []
        for crit in required:
            if crit == "just":
                states.append(just_state(levels))
            else:
                level = levels.get(crit)
                states.append(None if level is None else level >= 1)
        status = FAIL if False in states else (UNKNOWN if None in states else PASS)
    out["just_transition"] = (status, False)

    amount = as_float(project.get("amount_requested"))
    minimum = as_float(funder.get("ticket_min"))
    if funder.get("learned") is True:
        minimum = math.nan  # a learned minimum is a habit, not a rule
    status = PASS
    if not math.isnan(minimum):
        status = UNKNOWN if math.isnan(amount) else (FAIL if amount < minimum else PASS)
    out["ticket_min"] = (status, False)

    maximum = as_float(funder.get("ticket_max"))
    status, warn = PASS, False
    if not math.isnan(maximum):
        strict = as_bool(funder.get("ticket_max_strict")) is True
        if strict:
            status = UNKNOWN if math.isnan(amount) else (FAIL if amount > maximum else PASS)
        else:
            warn = not math.isnan(amount) and amount > maximum
    out["ticket_max"] = (status, warn)

    share = as_float(funder.get("max_share_of_budget"))
    budget = as_float(project.get("total_budget"))
    warn = not (math.isnan(share) or math.isnan(budget) or math.isnan(amount)) and amount > share * budget
    out["budget_share"] = (PASS, warn)
    return out


def verdict(statuses: dict[str, tuple[int, bool]]) -> str:
    worst = max((s for s, _ in statuses.values()), default=PASS)
    return VERDICTS[worst]


# --------------------------------------------------------------------------- criteria


def sector(project: dict, funder: dict) -> float:
    weights = {k: v for k, v in (as_weighted(funder.get("sectors")) or {}).items() if v > 0}
    mine = as_choices(project.get("sectors"))
    if not weights or mine is None:
        return math.nan
    if not mine:
        return 0.0
    top = max(weights.values())
    best = max(weights.get(s, 0.0) / top for s in mine)
    share = sum(1 for s in mine if s in weights) / len(mine)
    factor = 0.5 if funder.get("sectors_inferred") is True else 1.0  # a guessed sector counts half
    return (0.7 * best + 0.3 * share) * factor


def text(project: dict, funder: dict, model) -> float:
    from matcher.core.textsim import join_text

    p_doc = join_text(project.get("name"), project.get("summary"))
    f_doc = join_text(funder.get("name"), funder.get("description"), funder.get("call_title"))
    if not p_doc or not f_doc or not analyze(p_doc) or not analyze(f_doc):
        return math.nan
    p_vec = _vector(p_doc, model)
    f_vec = _vector(f_doc, model)
    cosine = sum(w * f_vec.get(t, 0.0) for t, w in p_vec.items())
    return float(rescale(cosine))


def _vector(doc: str, model) -> dict[str, float]:
    """Unit TF-IDF dict of one document; words no funder uses count in the norm only."""
    counts: dict[str, int] = {}
    for stem in analyze(doc):
        counts[stem] = counts.get(stem, 0) + 1
    weights, norm2 = {}, 0.0
    for stem, count in counts.items():
        tf = 1 + math.log(count)
        if stem in model.vocabulary_:
            value = tf * model.idf_[model.vocabulary_[stem]]
            weights[stem] = value
        else:
            value = tf * model.oov_idf_
        norm2 += value * value
    norm = math.sqrt(norm2) or 1.0
    return {t: v / norm for t, v in weights.items()}


def scale(project: dict, funder: dict) -> float:
    amount = as_float(project.get("amount_requested"))
    if math.isnan(amount) or amount <= 0:
        return math.nan
    low, high = as_float(funder.get("ticket_min")), as_float(funder.get("ticket_max"))
    parts = []
    if not (math.isnan(low) and math.isnan(high)):
        distance = 0.0
        if not math.isnan(low) and amount < low:
            distance += math.log10(low) - math.log10(amount)
        if not math.isnan(high) and amount > high:
            distance += math.log10(amount) - math.log10(high) if high > 0 else math.inf
        parts.append(min(1.0, max(0.0, 1 - distance)))
    share, budget = as_float(funder.get("max_share_of_budget")), as_float(project.get("total_budget"))
    if share > 0 and budget > 0:
        cap = share * budget
        if cap > 0:
            ratio = amount / cap
            parts.append(1.0 if ratio <= 1 else min(1.0, max(0.0, 1 - math.log10(ratio))))
    return min(parts) if parts else math.nan


def legal_form(project: dict, funder: dict) -> float:
    form = as_text(project.get("legal_form"))
    if form is None:
        return math.nan
    excluded = _condition(funder.get("excluded_legal_forms"))
    if excluded and form in expand_legal_forms(excluded):
        return 0.0
    listed = _condition(funder.get("eligible_legal_forms"))
    if not listed:
        return 0.6
    if form in listed:
        return 1.0
    if form in expand_legal_forms(listed):
        return 0.85
    return 0.0


def territory(project: dict, funder: dict, territories) -> float:
    places = _condition(project.get("territory"))
    perimeter = _condition(funder.get("perimeter"))
    if not places or not perimeter:
        return math.nan
    excluded = _condition(funder.get("excluded_places")) or ()
    scores = []
    for place in places:
        if any(_contains(territories, e, place) for e in excluded):
            scores.append(0.0)
            continue
        inside = [LEVEL_RANK[code_level(territories, c)] for c in perimeter if _contains(territories, c, place)]
        if inside:
            scores.append(LEVEL_SCORE[min(inside)])
            continue
        within = [LEVEL_RANK[code_level(territories, c)] for c in perimeter if _contains(territories, place, c)]
        scores.append(0.5 * LEVEL_SCORE[min(within)] if within else 0.0)
    return float(sum(scores) / len(scores))


def just_transition(project: dict, funder: dict) -> float:
    levels = _levels(project)
    if not levels:
        return math.nan
    priorities = {k: v for k, v in (as_weighted(funder.get("just_transition_priorities")) or {}).items()
                  if v > 0 and k in levels}
    if priorities:
        known = {c: w for c, w in priorities.items() if levels[c] is not None}
        den = sum(known.values())
        base = sum(w * levels[c] / 3 for c, w in known.items()) / den if den > 0 else math.nan
    else:
        pillars = []
        for pillar in ("ecological", "social", "cooperation"):
            values = [v for c, v in levels.items() if jt_pillar(c) == pillar and v is not None]
            if values:
                pillars.append(max(values) / 3)
        base = sum(pillars) / len(pillars) if pillars else math.nan
    just = just_state(levels)
    if just is None:
        return base
    return 0.75 * base + 0.25 * (1.0 if just else 0.0)


def cooperation(project: dict, funder: dict) -> float:
    parts = []
    partners = as_float(project.get("partners_count"))
    if not math.isnan(partners):
        parts.append(1 - math.exp(-max(partners, 0) / 3))
    kinds = as_choices(project.get("partner_kinds"))
    if kinds is not None:
        parts.append(min(len(kinds) / 4, 1.0))
    governance = as_choices(project.get("governance"))
    if governance is not None:
        parts.append(min(len(governance) / 2, 1.0))
    return sum(parts) / len(parts) if parts else math.nan


def criteria_scores(project: dict, funder: dict, territories, text_model) -> dict[str, float]:
    return {
        "sector": sector(project, funder),
        "text": text(project, funder, text_model),
        "scale": scale(project, funder),
        "legal_form": legal_form(project, funder),
        "territory": territory(project, funder, territories),
        "just_transition": just_transition(project, funder),
        "cooperation": cooperation(project, funder),
    }


# --------------------------------------------------------------------------- score and ranking


def effective_weights(funder: dict, run_weights: dict | None) -> dict[str, float]:
    weights = dict(DEFAULT_WEIGHTS)
    own = funder.get("weights")
    if isinstance(own, dict):
        weights.update({k: float(v) for k, v in own.items()})
    weights.update(run_weights or {})
    return weights


def combine(scores: dict[str, float], weights: dict[str, float]) -> tuple[float, dict[str, float], float]:
    """``(score, contributions, unknown_weight)`` of one pair."""
    known = {c: s for c, s in scores.items() if not math.isnan(s)}
    den = sum(weights[c] for c in known)
    total = sum(weights[c] for c in scores)
    if den > 0:
        contributions = {c: s * weights[c] / den for c, s in known.items()}
    else:
        contributions = dict.fromkeys(known, 0.0)
    score = sum(contributions.values()) if den > 0 else 0.0
    return score, contributions, (1 - den / total) if total > 0 else 0.0


def evaluate_pair(project: dict, funder: dict, *, day: int, territories, text_model,
                  run_weights: dict | None = None) -> dict:
    statuses = eligibility(project, funder, day, territories)
    scores = criteria_scores(project, funder, territories, text_model)
    score, contributions, unknown = combine(scores, effective_weights(funder, run_weights))
    return {"verdict": verdict(statuses), "statuses": statuses, "scores": scores, "score": score,
            "contributions": contributions, "unknown_weight": unknown}


def rank_funders(projects: pd.DataFrame, funders: pd.DataFrame, *, day: int, territories, text_model,
                 run_weights: dict | None = None, top: int | None = None,
                 include_ineligible: bool = False) -> pd.DataFrame:
    """Every pair scored one at a time, ranked per project: (project_id, funder_id, call_id, rank,
    score, eligibility)."""
    rows = []
    funder_records = funders.to_dict("records")
    for project in projects.to_dict("records"):
        pairs = []
        for funder in funder_records:
            result = evaluate_pair(project, funder, day=day, territories=territories,
                                   text_model=text_model, run_weights=run_weights)
            if result["verdict"] == "ineligible" and not include_ineligible:
                continue
            call = as_text(funder.get("call_id"))
            key = (result["verdict"] == "ineligible", -int(np.rint(result["score"] * 1e9)),
                   str(funder["funder_id"]), call or "")
            pairs.append((key, funder, call, result))
        pairs.sort(key=lambda x: x[0])
        for rank, (_, funder, call, result) in enumerate(pairs[:top] if top else pairs, start=1):
            rows.append({"project_id": project["project_id"], "funder_id": funder["funder_id"],
                         "call_id": call, "rank": rank, "score": result["score"],
                         "eligibility": result["verdict"]})
    rows.sort(key=lambda r: (r["project_id"], r["rank"]))
    columns = ["project_id", "funder_id", "call_id", "rank", "score", "eligibility"]
    return pd.DataFrame({c: pd.Series([r[c] for r in rows], dtype=object if c not in ("rank", "score")
                                      else None) for c in columns})

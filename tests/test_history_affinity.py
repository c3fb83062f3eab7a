"""HistoryAffinity: unknown without history, closer to past grants scores higher, refusals
count less, the block computation equals a plain per-pair one, explanations name past grants."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import funder, funders_frame, project, projects_frame

from matcher.engine.explain import format_amount
from matcher.engine.features import Block
from matcher.engine.history_affinity import LOG_DECADES, log_scale, project_documents
from matcher.engine.model import Matcher

GARDEN = ["jardin partagé compost quartier", "compost collectif jardin potager", "jardin solidaire légumes compost",
          "potager partagé habitants jardin"]
SPORT = ["club de football amateur", "tournoi de basket quartier", "course à pied solidaire",
         "école de natation enfants"]
THEATRE = ["spectacle théâtre jeune public", "festival danse théâtre", "création théâtrale spectacle vivant",
           "danse contemporaine spectacle"]


def history(refused_garden_row: bool = False) -> pd.DataFrame:
    rows = []
    for year in (2016, 2017):
        for i, text in enumerate(GARDEN):
            refused = refused_garden_row and i == 0
            rows.append({"funder_id": "ENV", "purpose": text, "year": year, "recipient_name": f"Jardin {i}",
                         "amount_awarded": 0.0 if refused else 15000.0,
                         "status": "refused" if refused else "granted"})
        for i, text in enumerate(THEATRE):
            rows.append({"funder_id": "CULT", "purpose": text, "year": year, "recipient_name": f"Compagnie {i}",
                         "amount_awarded": 8000.0, "status": "granted"})
        for i, text in enumerate(SPORT):
            rows.append({"funder_id": "SPORT", "purpose": text, "year": year, "recipient_name": f"Club {i}",
                         "amount_awarded": 3000.0, "status": "granted"})
    return pd.DataFrame(rows)


FUNDERS = funders_frame(funder("CULT", name="Culture"), funder("ENV", name="Environnement"),
                        funder("NEW", name="Sans historique"), funder("SPORT", name="Sport"))
PROJECTS = projects_frame(project("P1", name="jardin partagé et compost de quartier"),
                          project("P2", name="spectacle de théâtre jeune public"))


def fitted(hist: pd.DataFrame) -> Matcher:
    return Matcher(date="2018-01-01", top=None).fit(
        FUNDERS, history=hist)


def history_scores(matcher: Matcher) -> pd.DataFrame:
    ranked = matcher.rank_funders(PROJECTS, include_ineligible=True)
    return ranked.pivot(index="project_id", columns="funder_id", values="score_history")


def test_unknown_for_a_funder_without_history():
    scores = history_scores(fitted(history()))
    assert scores["NEW"].isna().all()
    assert scores[["CULT", "ENV"]].notna().all().all()


def test_closer_to_past_grants_scores_higher():
    scores = history_scores(fitted(history()))
    assert scores.loc["P1", "ENV"] > scores.loc["P1", "CULT"]
    assert scores.loc["P2", "CULT"] > scores.loc["P2", "ENV"]
    assert ((scores[["CULT", "ENV"]] >= 0) & (scores[["CULT", "ENV"]] <= 1)).all().all()


def test_refused_rows_lower_the_score():
    # A project between two funders: the refused garden grant must pull it less towards ENV.
    between = projects_frame(project("P3", name="spectacle au jardin partagé compost quartier"))
    scores = []
    for refused in (False, True):
        matcher = fitted(history(refused_garden_row=refused))
        criterion = matcher.criteria_[matcher.criteria_names_.index("history")]
        env = criterion.classes_.tolist().index("ENV")
        scores.append(criterion.propensity(between)[0, env])
    assert 0 < scores[1] < scores[0] < 1


def test_left_out_without_history():
    matcher = Matcher(date="2018-01-01").fit(FUNDERS)
    assert "history" not in matcher.criteria_names_


def test_block_scores_equal_a_per_pair_computation():
    matcher = fitted(history())
    criterion = matcher.criteria_[matcher.criteria_names_.index("history")]
    frame = PROJECTS.sort_values("project_id").reset_index(drop=True)
    features = matcher.space_.encode_projects(frame)
    block = Block(features, matcher.funder_features_, matcher.space_, matcher.day_)
    fast = criterion.score(block)
    classes = criterion.classes_.tolist()
    documents = project_documents(frame)
    for i in range(len(frame)):
        x = criterion.vectorizer_.transform([documents[i]])
        model = criterion.model_
        decision = {
            c: float(x.toarray()[0] @ model.coef_[k] + model.intercept_[k]) for k, c in enumerate(model.classes_)
        }
        z = np.array([decision[c] / criterion.temperature_ for c in classes])
        p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
        for j, funder_id in enumerate(matcher.funder_features_.funder_ids):
            if funder_id not in classes:
                assert np.isnan(fast[i, j])
                continue
            expected = min(1.0, max(0.0, 1 + np.log10(p[classes.index(funder_id)]) / LOG_DECADES))
            assert fast[i, j] == pytest.approx(expected, abs=1e-9)


def test_log_scale():
    assert log_scale(np.array([1.0, 0.1, 0.001, 1e-6, 0.0])).tolist() == pytest.approx([1.0, 2 / 3, 0.0, 0.0, 0.0])


def test_nearest_grants_are_named_with_amount_and_year():
    matcher = fitted(history())
    criterion = matcher.criteria_[matcher.criteria_names_.index("history")]
    grants = criterion.nearest_grants({"name": "jardin partagé compost"}, "ENV", k=2)
    assert len(grants) == 2
    assert grants[0]["purpose"] == "jardin partagé compost quartier"
    assert grants[0]["similarity"] >= grants[1]["similarity"]
    assert grants[0]["status"] == "granted"
    fr = criterion.describe_nearest(grants[:1], "fr")[0]
    en = criterion.describe_nearest(grants[:1], "en")[0]
    assert fr == f"proche de : « jardin partagé compost quartier » financé {format_amount(15000, 'fr')} en 2016"
    assert en == "close to: 'jardin partagé compost quartier' funded €15,000 in 2016"
    assert criterion.nearest_grants({"name": "jardin"}, "NEW") == []


def test_rank_projects_and_explain_use_the_criterion():
    matcher = fitted(history())
    shortlist = matcher.rank_projects(PROJECTS, "ENV")
    assert shortlist["project_id"].iloc[0] == "P1"
    explanation = matcher.explain(PROJECTS, "P1", "ENV")
    line = next(c for c in explanation.criteria if c.name == "history")
    assert line.score is not None and line.contribution > 0


def test_the_same_history_gives_the_same_scores_whatever_the_global_random_state():
    """The linear SVM is fitted with a fixed seed: same inputs, same bytes out."""
    from matcher import SAMPLE_FUNDERS, SAMPLE_HISTORY, SAMPLE_PROJECTS, read_funders, read_history, read_projects

    funders, past = read_funders(SAMPLE_FUNDERS).frame, read_history(SAMPLE_HISTORY).frame
    projects = read_projects(SAMPLE_PROJECTS).frame
    runs = []
    for seed in (0, 1):
        np.random.seed(seed)  # what liblinear draws its shuffling seed from when none is given
        ranked = Matcher(date="2026-12-01").fit(funders, history=past).rank_funders(projects, top=5)
        runs.append(ranked["score_history"].to_numpy())
    assert np.array_equal(runs[0], runs[1], equal_nan=True)

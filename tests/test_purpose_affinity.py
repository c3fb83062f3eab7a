"""PurposeAffinity: the words of the purpose only, recent grants weigh more, relative to the best
funder, unknown without a granted row or without words, and in the matcher's sum of contributions."""

from __future__ import annotations

import numpy as np
import pandas as pd
from conftest import funder, funders_frame, project, projects_frame

from matcher.engine.criteria import default_criteria
from matcher.engine.model import Matcher
from matcher.engine.purpose_affinity import PurposeAffinity

FUNDERS = funders_frame(funder("CULT"), funder("ENV"), funder("NEW"), funder("OLD"))


def history() -> pd.DataFrame:
    rows = []
    for year in (2015, 2016, 2017):
        rows += [{"funder_id": "ENV", "purpose": f"jardin partagé compost {i}", "year": year,
                  "recipient_name": f"Jardin {i}", "status": "granted"} for i in range(3)]
        rows += [{"funder_id": "CULT", "purpose": f"spectacle de théâtre {i}", "year": year,
                  "recipient_name": f"Compagnie {i}", "status": "granted"} for i in range(3)]
    # OLD granted gardens long ago, then only theatre; a refused row teaches nothing.
    rows += [{"funder_id": "OLD", "purpose": "jardin partagé compost", "year": 2013,
              "recipient_name": "Jardin ancien", "status": "granted"},
             {"funder_id": "OLD", "purpose": "spectacle de théâtre", "year": 2017,
              "recipient_name": "Compagnie récente", "status": "granted"},
             {"funder_id": "NEW", "purpose": "jardin partagé compost", "year": 2017,
              "recipient_name": "Jardin refusé", "status": "refused"}]
    return pd.DataFrame(rows)


PROJECTS = projects_frame(project("P1", name="jardin partagé et compost"), project("P2", name="théâtre, spectacle"),
                          project("P3", name=None, summary=None))


def scores(half_life: float = 2.0) -> pd.DataFrame:
    criteria = default_criteria() + [PurposeAffinity(half_life_years=half_life)]
    matcher = Matcher(date="2018-01-01", top=None, criteria=criteria, weights={"purpose": 0.5})
    ranked = matcher.fit(FUNDERS, history=history()).rank_funders(PROJECTS, include_ineligible=True)
    return ranked, ranked.pivot(index="project_id", columns="funder_id", values="score_purpose")


def test_closest_funder_scores_one_and_others_relative_to_it():
    _, table = scores()
    assert table.loc["P1", "ENV"] == 1.0 and table.loc["P2", "CULT"] == 1.0
    assert 0 <= table.loc["P1", "CULT"] < 0.5 and 0 <= table.loc["P2", "ENV"] < 0.5


def test_unknown_without_granted_rows_or_without_words():
    _, table = scores()
    assert table["NEW"].isna().all()  # only a refusal
    assert table.loc["P3"].isna().all()  # no words


def test_recent_grants_weigh_more_than_old_ones():
    # OLD's garden grant is four years old: with a short half-life it barely counts.
    _, short = scores(half_life=0.5)
    _, long = scores(half_life=100.0)
    assert short.loc["P1", "OLD"] < long.loc["P1", "OLD"]
    assert short.loc["P2", "OLD"] > long.loc["P2", "OLD"]


def test_contributions_still_sum_to_the_score():
    ranked, _ = scores()
    contributions = ranked[[c for c in ranked.columns if c.startswith("contribution_")]].to_numpy(dtype=float)
    assert np.allclose(np.nansum(contributions, axis=1), ranked["score"].to_numpy(dtype=float), atol=1e-9)
    assert ranked["contribution_purpose"].notna().any()


def test_same_scores_for_a_subset_of_funders():
    criteria = default_criteria() + [PurposeAffinity()]
    matcher = Matcher(date="2018-01-01", top=None, criteria=criteria).fit(FUNDERS, history=history())
    whole = matcher.rank_funders(PROJECTS, include_ineligible=True)
    one = matcher.rank_projects(PROJECTS, "ENV", include_ineligible=True)
    a = whole[whole["funder_id"] == "ENV"].set_index("project_id")["score_purpose"]
    b = one.set_index("project_id")["score_purpose"]
    pd.testing.assert_series_equal(a.sort_index(), b.sort_index(), check_names=False)

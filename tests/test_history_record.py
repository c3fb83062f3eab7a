"""history_record: recipient keys, the learned successor map, and the record / co-funding / openness
scores on a hand-built history (values computed by hand)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import funder, funders_frame, project, projects_frame

from matcher.engine.criteria import default_criteria
from matcher.engine.history_record import (
    CoFunding,
    FunderOpenness,
    RecipientRecord,
    RecordTables,
    apply_successors,
    history_recipient_keys,
    project_recipient_keys,
    successor_map,
)
from matcher.engine.model import Matcher


def grant(funder_id, siren, year, status="granted"):
    return {"funder_id": funder_id, "recipient_id": f"{siren}00017", "recipient_name": f"asso {siren}",
            "purpose": "projet", "year": year, "status": status}


def merged_history() -> pd.DataFrame:
    """OLD grants r1..r4 until 2015, then stops; NEW grants r1, r2, r3 from 2016; OTHER grants r4 in 2017."""
    rows = [grant("OLD", f"10000000{i}", y) for y in (2014, 2015) for i in range(1, 5)]
    rows += [grant("NEW", f"10000000{i}", y) for y in (2016, 2017, 2018) for i in range(1, 4)]
    rows += [grant("OTHER", "100000004", 2017), grant("OTHER", "100000009", 2018)]
    return pd.DataFrame(rows)


def test_recipient_keys_siren_then_folded_name():
    rows = pd.DataFrame({"recipient_id": ["123456789 00012", None, "abc"],
                         "recipient_name": ["X", "Les Amis du Parc", None]})
    assert history_recipient_keys(rows).tolist() == ["siren:123456789", "name:les amis du parc", None]
    projects = pd.DataFrame({"siren": [None, "123456789"], "siret": ["98765432100011", None],
                             "carrier_name": ["Y", None]})
    assert project_recipient_keys(projects).tolist() == ["siren:987654321", "siren:123456789"]


def test_successor_is_the_funder_that_took_over_the_recipients():
    history = merged_history()
    assert successor_map(history) == {"OLD": "NEW"}  # 3 of its 4 last recipients, OTHER only 1
    assert successor_map(history, dormant_years=4) == {}  # 2015 is not 4 years before 2018
    assert successor_map(history, share=0.8) == {}
    relabelled = apply_successors(history, {"OLD": "NEW"})
    assert set(relabelled["funder_id"]) == {"NEW", "OTHER"}
    assert set(history["funder_id"]) == {"OLD", "NEW", "OTHER"}  # the input is left alone


def test_record_cofunding_and_openness_by_hand():
    history = merged_history()
    tables = RecordTables(history, half_life_years=1.0)
    assert tables.funders.tolist() == ["NEW", "OLD", "OTHER"]
    rows = tables.rows_of(np.array(["siren:100000001", "siren:100000004", "siren:999999999"], dtype=object))
    record = tables.record(rows)
    # r1 with NEW: grants in 2016, 2017, 2018 -> n = 0.25 + 0.5 + 1 = 1.75 -> 1 - 0.5 ** 1.75
    assert record[0, 0] == pytest.approx(1 - 0.5 ** 1.75)
    assert record[0, 2] == 0.0 and np.isnan(record[2]).all()
    cofunding = tables.cofunding(rows)
    # r4's funders: OLD (2014, 2015: 1/16 + 1/8) and OTHER (2017: 1/2). NEW granted 3 of OLD's 4
    # recipients and none of OTHER's 2 -> (0.1875 * 0.75 + 0.5 * 0) / (0.1875 + 0.5)
    assert cofunding[1, 0] == pytest.approx(0.1875 * 0.75 / 0.6875)
    # For OLD, left out of its own mean: OTHER's recipients r4, r9 -> 1 of 2 granted by OLD.
    assert cofunding[1, 1] == pytest.approx(0.5)
    assert np.isnan(cofunding[2]).all()
    # 2018: NEW 3 grants to known recipients (0 new), OTHER 1 new of 1 -> shares 0 and 1.
    assert tables.openness.tolist() == [0.0, 0.0, 1.0]


def test_criteria_in_the_matcher_keep_contributions_summing_to_the_score():
    funders = funders_frame(funder("NEW"), funder("OTHER"), funder("NONE"))
    projects = projects_frame(project("P1", name="projet", siret="10000000100017"),
                              project("P2", name="projet", carrier_name="inconnue"))
    criteria = default_criteria() + [RecipientRecord(), CoFunding(), FunderOpenness()]
    matcher = Matcher(date="2019-01-01", top=None, criteria=criteria,
                      weights={"record": 0.3, "cofunding": 0.2, "openness": 0.1})
    ranked = matcher.fit(funders, history=merged_history()).rank_funders(projects, include_ineligible=True)
    table = ranked.pivot(index="project_id", columns="funder_id", values="score_record")
    assert table.loc["P1", "NEW"] == pytest.approx(1 - 0.5 ** 1.75) and table.loc["P1", "NONE"] == 0.0
    assert table.loc["P2"].isna().all()  # a recipient with no grant: unknown, not 0
    contributions = ranked[[c for c in ranked.columns if c.startswith("contribution_")]].to_numpy(dtype=float)
    assert np.allclose(np.nansum(contributions, axis=1), ranked["score"].to_numpy(dtype=float), atol=1e-9)

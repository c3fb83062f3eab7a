"""Learned funder profiles: sectors, tickets, years, names, words, no rules, round trips."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funders.learn import (
    learn_funders,
    round_amount,
    sector_priorities,
    ticket_range,
    typical_terms,
)
from matcher.core.errors import MappingError
from matcher.io.loading import load
from matcher.io.writers import write_table
from matcher.normalize.schema import FUNDER_FIELDS

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
PARIS = [DATA / "paris-subventions" / f"subventions-accordees-et-refusees_{part}.csv.gz"
         for part in ("TRAIN", "TEST")]
PARIS_MAP = {"funder_id": "direction", "recipient_name": "beneficiaire", "recipient_id": "siret",
             "purpose": "objet du dossier", "amount_awarded": "montant vote", "year": "anneeBudg",
             "sectors": "secteur activite"}
#: Fields a learned profile must leave unknown: they would be eligibility rules.
RULE_FIELDS = ("eligible_legal_forms", "excluded_legal_forms", "perimeter", "excluded_places",
               "stages", "expense_types", "just_transition_requirements", "funder_type")


def history(rows: list[dict]) -> pd.DataFrame:
    """Canonical-looking history rows; unspecified fields are unknown."""
    columns = ["funder_id", "funder_name", "recipient_legal_form", "purpose", "sectors",
               "amount_awarded", "year", "status"]
    frame = pd.DataFrame({c: pd.Series([r.get(c) for r in rows], dtype=object) for c in columns})
    frame["amount_awarded"] = pd.to_numeric(frame["amount_awarded"]).astype(float)
    frame["year"] = pd.array([r.get("year") for r in rows], dtype="Int64")
    return frame


def grants(funder, n, **values) -> list[dict]:
    return [{"funder_id": funder, "status": "granted", "amount_awarded": 1000.0, "year": 2015,
             **values} for _ in range(n)]


# --------------------------------------------------------------------------- sectors


def test_sector_priorities_keep_the_sectors_covering_90_percent():
    lists = [("culture_sport",)] * 6 + [("social_cohesion",)] * 3 + [("health",)] + [None] * 5
    assert sector_priorities(lists) == {"culture_sport": 3.0, "social_cohesion": 2.0}


def test_sector_priorities_weights_relative_to_the_top_sector():
    lists = ([("culture_sport",)] * 8 + [("education",)] * 6 + [("health",)] * 3
             + [("citizenship",)] * 1)
    assert sector_priorities(lists, coverage=1.0) == {
        "citizenship": 1.0, "culture_sport": 3.0, "education": 3.0, "health": 2.0}


def test_multi_sector_grants_keep_every_major_sector_past_the_coverage():
    # culture covers 96 % alone; social cohesion (47 %) and education (25 %) are
    # still major; citizenship (4 %) is not, and is not needed for coverage.
    lists = ([("culture_sport",)] * 30 + [("culture_sport", "social_cohesion")] * 16
             + [("culture_sport", "education", "social_cohesion")] * 18
             + [("citizenship",)] * 3 + [("culture_sport",)] * 5)
    assert sector_priorities(lists) == {"culture_sport": 3.0, "education": 2.0,
                                        "social_cohesion": 2.0}
    assert sector_priorities(lists, coverage=1.0)["citizenship"] == 1.0


def test_sectors_of_equal_share_are_kept_together_and_nothing_known_is_unknown():
    lists = [("health",)] * 18 + [("energy",), ("mobility",)]
    assert sector_priorities(lists, coverage=0.9) == {"health": 3.0}
    assert sector_priorities(lists, coverage=0.95) == {"energy": 1.0, "health": 3.0,
                                                       "mobility": 1.0}
    assert sector_priorities([None, (), None]) is None


# --------------------------------------------------------------------------- tickets


@pytest.mark.parametrize(("value", "up", "expected"), [
    (4870.0, False, 4800.0), (48765.0, True, 49000.0), (5000.0, True, 5000.0),
    (5000.0, False, 5000.0), (95050.0, True, 96000.0), (7.4, False, 7.0), (0.4, False, 1.0),
])
def test_round_amount_to_two_significant_digits(value, up, expected):
    assert round_amount(value, up) == expected


def test_ticket_range_is_the_rounded_5th_and_95th_percentiles_of_positive_amounts():
    amounts = np.concatenate([np.arange(1, 101) * 1000.0, [0.0, np.nan, -5.0]])
    assert ticket_range(amounts) == (5900.0, 96000.0)  # 5 950 and 95 050
    assert ticket_range(np.array([2500.0])) == (2500.0, 2500.0)
    low, high = ticket_range(np.array([0.0, np.nan]))
    assert np.isnan(low) and np.isnan(high)


# --------------------------------------------------------------------------- profiles


def test_learned_profile_from_a_tiny_history():
    rows = (grants("F1", 6, sectors=("culture_sport",), funder_name="Fondation A",
                   recipient_legal_form="association", purpose="Festival de théâtre")
            + grants("F1", 3, sectors=("social_cohesion",), funder_name="Fondation A",
                     recipient_legal_form="scop", purpose="Ateliers de quartier")
            + grants("F1", 1, sectors=("health",), funder_name="Fondation A bis")
            + [{"funder_id": "F1", "status": "refused", "amount_awarded": 0.0, "year": 2019,
                "sectors": ("energy",)}])
    out = learn_funders(history(rows))
    assert list(out.columns) == list(FUNDER_FIELDS) + ["grants_count", "years"]
    row = out.iloc[0]
    assert row["funder_id"] == "F1" and row["name"] == "Fondation A"
    assert row["sectors"] == {"culture_sport": 3.0, "social_cohesion": 2.0}
    assert row["instruments"] == ("grant",)
    assert (row["ticket_min"], row["ticket_max"]) == (1000.0, 1000.0)
    assert row["learned"] is True or row["learned"] == True  # noqa: E712 - pandas boolean
    assert row["grants_count"] == 10 and row["years"] == "2015"
    assert row["description"] == (
        "Profil appris de 10 subventions accordées (2015). Secteurs : culture et sport, "
        "cohésion sociale et solidarités. Montant habituel : 1 000 €. Bénéficiaires observés "
        "(indicatif) : association (67 %), scop (société coopérative et participative) (33 %). "
        "Termes fréquents : festival, théâtre, ateliers, quartier.")


def test_learned_values_never_become_rules():
    rows = grants("F1", 4, recipient_legal_form="association", sectors=("health",))
    out = learn_funders(history(rows))
    for name in RULE_FIELDS:
        assert out[name].isna().all(), name
    for name in ("requires_esus", "ticket_max_strict"):
        assert out[name].isna().all() and out[name].dtype == "boolean"
    assert out["call_id"].isna().all()
    assert "association (100 %)" in out.loc[0, "description"]


def test_until_year_learns_only_from_the_past():
    rows = (grants("F1", 2, year=2015, amount_awarded=1000.0)
            + grants("F1", 2, year=2018, amount_awarded=90000.0)
            + grants("F1", 1, year=None, amount_awarded=500000.0)
            + grants("F2", 3, year=2019))
    everything = learn_funders(history(rows))
    assert everything["funder_id"].tolist() == ["F1", "F2"]
    assert everything.loc[0, "grants_count"] == 5 and everything.loc[0, "years"] == "2015-2018"
    past = learn_funders(history(rows), until_year=2016)
    assert past["funder_id"].tolist() == ["F1"]  # F2 has no grant up to 2016
    assert past.loc[0, "grants_count"] == 2 and past.loc[0, "ticket_max"] == 1000.0
    assert "(2015)" in past.loc[0, "description"]


def test_dormant_funders_are_closed_after_their_last_grant_year_and_ranked_last():
    from matcher.engine.model import Matcher

    rows = (grants("OLD", 3, year=2014, sectors=("health",)) + grants("MID", 2, year=2016, sectors=("health",))
            + grants("NEW", 2, year=2017, sectors=("energy",)))
    assert learn_funders(history(rows))["call_closes"].isna().all()  # off by default
    out = learn_funders(history(rows), dormant_years=2).set_index("funder_id")
    # latest grant year 2017: NEW (2017) and MID (2016) granted in the last two years, OLD did not
    assert out["call_closes"].to_dict() == {"MID": None, "NEW": None, "OLD": "2014-12-31"}
    projects = pd.DataFrame({"project_id": ["P1"], "name": ["clinic"], "sectors": [("health",)]})
    ranked = Matcher(date="2018-01-01").fit(out.reset_index()).rank_funders(projects, include_ineligible=True)
    assert ranked["funder_id"].tolist()[-1] == "OLD"
    assert ranked.loc[ranked["funder_id"] == "OLD", "eligibility"].item() == "ineligible"
    kept = Matcher(date="2018-01-01").fit(out.reset_index()).rank_funders(projects)
    assert "OLD" not in kept["funder_id"].tolist()


def test_only_granted_rows_teach_and_a_funder_without_grants_is_left_out():
    rows = (grants("F1", 2, sectors=("energy",))
            + [{"funder_id": "F1", "status": "refused", "sectors": ("health",), "amount_awarded": 0.0},
               {"funder_id": "F0", "status": "refused", "amount_awarded": 0.0},
               {"funder_id": "F3", "status": None, "amount_awarded": 800.0}])
    out = learn_funders(history(rows))
    assert out["funder_id"].tolist() == ["F1"]
    assert out.loc[0, "sectors"] == {"energy": 3.0}


def test_without_a_status_column_a_positive_amount_is_a_grant():
    frame = history(grants("F1", 2) + [{"funder_id": "F1", "amount_awarded": 0.0, "year": 2015}])
    out = learn_funders(frame.drop(columns=["status"]))
    assert out.loc[0, "grants_count"] == 2


def test_without_status_nor_amount_nothing_is_learned():
    frame = pd.DataFrame({"funder_id": ["F1", "F2"], "purpose": ["a", "b"]})
    assert learn_funders(frame).empty


def test_names_most_frequent_disambiguated_or_the_id():
    rows = (grants("DAC", 2, funder_name="Ville de Paris") + grants("DAC", 1, funder_name="Mairie")
            + grants("DJS", 1, funder_name="Ville de Paris") + grants("X", 1)
            + grants("Y", 1, funder_name="B") + grants("Y", 1, funder_name="A"))
    out = learn_funders(history(rows)).set_index("funder_id")["name"]
    assert out.to_dict() == {"DAC": "Ville de Paris (DAC)", "DJS": "Ville de Paris (DJS)",
                             "X": "X", "Y": "A"}


def test_empty_history_gives_an_empty_canonical_frame():
    out = learn_funders(history([]))
    assert out.empty and list(out.columns) == list(FUNDER_FIELDS) + ["grants_count", "years"]


def test_a_history_without_funder_id_is_refused():
    with pytest.raises(MappingError, match="funder_id"):
        learn_funders(pd.DataFrame({"amount_awarded": [1.0]}))


# --------------------------------------------------------------------------- words


def test_typical_terms_prefer_each_funders_own_words():
    terms = typical_terms({
        "A": ["Festival de théâtre et association", "Festival des arts, théâtre de rue", "Théâtre"],
        "B": ["Jardins partagés et association", "Compost des jardins partagés"],
    })
    assert terms["A"][:2] == ["théâtre", "festival"]
    assert terms["B"][:2] == ["jardins", "partagés"]
    assert "association" not in terms["A"][:2] + terms["B"][:2]


def test_typical_terms_need_two_uses_and_skip_the_funders_own_id():
    terms = typical_terms({"DAC": ["DAC festival", "DAC festival cinéma", "DAC concert"]})
    assert terms["DAC"] == ["festival"]


# --------------------------------------------------------------------------- invariants


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["F1", "F2", "F3"]),
                          st.sampled_from(["granted", "refused"]),
                          st.floats(min_value=1, max_value=1e7),
                          st.sets(st.sampled_from(["energy", "health", "education", "mobility"])),
                          st.integers(2010, 2020)),
                min_size=1, max_size=40),
       st.randoms(use_true_random=False))
def test_profiles_are_deterministic_and_consistent(records, rng):
    rows = [{"funder_id": f, "status": s, "amount_awarded": a, "sectors": tuple(sorted(sec)) or None,
             "year": y, "purpose": f"projet {f} atelier"} for f, s, a, sec, y in records]
    out = learn_funders(history(rows))
    shuffled = rows[:]
    rng.shuffle(shuffled)
    pd.testing.assert_frame_equal(out, learn_funders(history(shuffled)))
    assert out["funder_id"].is_monotonic_increasing and out["funder_id"].is_unique
    assert (out["ticket_min"] <= out["ticket_max"]).all()
    for weights in out["sectors"].dropna():
        assert set(weights.values()) <= {1.0, 2.0, 3.0} and 3.0 in weights.values()
    granted = {f for f, s, *_ in records if s == "granted"}
    assert set(out["funder_id"]) == granted
    assert out["learned"].all()


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_written_profiles_load_back_as_the_same_funders(tmp_path, suffix):
    rows = (grants("F1", 5, sectors=("culture_sport", "education"), funder_name="Ville, «A»",
                   purpose="Festival; ateliers: théâtre", amount_awarded=12345.0)
            + grants("F2", 2, amount_awarded=300.0, year=2017))
    out = learn_funders(history(rows))
    path = tmp_path / f"funders{suffix}"
    write_table(out, path)
    loaded = load("funders", path)
    assert loaded.summary["rows_rejected"] == 0 and loaded.summary["warnings"] == 0
    canonical = list(FUNDER_FIELDS)
    pd.testing.assert_frame_equal(loaded.frame[canonical], out[canonical])


# --------------------------------------------------------------------------- real data


@pytest.mark.realdata
def test_paris_history_profiles():
    if not all(path.exists() for path in PARIS):
        pytest.skip("../shared/data/paris-subventions is absent")
    frames = [load("history", path, forced=PARIS_MAP, refused_when_zero=True).frame for path in PARIS]
    out = learn_funders(pd.concat(frames, ignore_index=True), until_year=2017)
    assert len(out) == 26 and out["funder_id"].is_unique
    dac = out.set_index("funder_id").loc["DAC"]
    assert dac["name"] == "Ville de Paris (DAC)"
    assert dac["sectors"] == {"culture_sport": 3.0, "education": 2.0, "social_cohesion": 2.0}
    assert dac["description"].startswith("Profil appris de ") and "(2013–2017)" in dac["description"]
    assert "festival" in dac["description"]
    assert 0 < dac["ticket_min"] < dac["ticket_max"]
    for name in RULE_FIELDS:
        assert out[name].isna().all()

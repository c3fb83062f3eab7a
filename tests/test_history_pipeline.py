"""Grant history: status and year derivation, SCDL headers, the Paris file."""

from pathlib import Path

import pytest

from matcher.io.loading import load

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def test_status_from_amount_and_year_from_date(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("funder_id,amount_awarded,award_date,status\nF,1000,12/05/2019,\nF,0,2020-01-02,\n"
                    "F,0,,refusée\n", encoding="utf-8")
    plain = load("history", path).frame
    assert plain["status"].tolist() == ["granted", None, "refused"]
    assert plain["year"].tolist() == [2019, 2020, None] or list(
        plain["year"].astype(object).where(plain["year"].notna(), None)
    ) == [2019, 2020, None]
    zero = load("history", path, refused_when_zero=True).frame
    assert zero["status"].tolist() == ["granted", "refused", "refused"]


@pytest.mark.realdata
def test_scdl_valid_example_needs_no_map():
    path = DATA / "scdl" / "exemple_valide.csv"
    if not path.exists():
        pytest.skip("../shared/data/scdl is absent")
    result = load("history", path)
    s = result.summary
    assert s["rows_read"] == 29 and s["rows_normalised"] == 29 and s["rows_rejected"] == 0
    assert result.frame["funder_id"].notna().all() and result.frame["amount_awarded"].notna().all()


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["exemple_invalide_erreurs_cellules.csv", "exemple_invalide_erreurs_colonnes.csv"])
def test_scdl_invalid_examples_give_row_level_reports(name):
    path = DATA / "scdl" / name
    if not path.exists():
        pytest.skip("../shared/data/scdl is absent")
    result = load("history", path)
    s = result.summary
    assert s["rows_read"] == s["rows_normalised"] + s["rows_rejected"]
    located = [p for p in result.problems if p.row is not None]
    assert located, "the invalid example must produce row-level problems"
    assert all(p.reason_en and p.reason_fr for p in result.problems)

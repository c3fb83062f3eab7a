"""The funders pipeline: nested calls, flat calls, overrides and duplicates."""

import pandas as pd

from matcher.io.loading import load

YAML = """
- funder_id: F1
  name: Fonds de dotation Exemple
  funder_type: fonds de dotation
  sectors: {energy: 3, mobility: 1}
  perimeter: [Bretagne]
  instruments: [subvention]
  ticket_max: 50 000 €
  calls:
    - call_id: C1
      title: Appel énergie citoyenne
      opens: 01/01/2026
      closes: 2026-03-31
      envelope: 200k€
    - call_id: C2
      title: Appel mobilité
      closes: 30/06/2027
      ticket_max: 80 000 €
- funder_id: F2
  name: Fondation sans appel
  perimeter: France
  eligible_legal_forms: [coopératives, association]
"""


def test_nested_calls_become_rows_with_overrides(tmp_path):
    path = tmp_path / "f.yaml"
    path.write_text(YAML, encoding="utf-8")
    result = load("funders", path)
    frame = result.frame
    assert result.summary["rows_read"] == 2 and result.summary["rows_normalised"] == 2
    assert result.summary["funders"] == 2 and result.summary["calls"] == 2
    assert frame["call_id"].tolist() == ["C1", "C2", None]
    assert frame["ticket_max"].tolist()[:2] == [50000.0, 80000.0]
    assert frame.loc[0, "call_opens"] == "2026-01-01" and frame.loc[0, "call_closes"] == "2026-03-31"
    assert frame.loc[0, "call_envelope"] == 200000.0
    assert frame.loc[0, "sectors"] == {"energy": 3.0, "mobility": 1.0}
    assert frame.loc[0, "perimeter"] == ("reg:53",)
    assert frame.loc[2, "perimeter"] == ("FR",)
    assert frame.loc[0, "funder_type"] == "endowment_fund"
    assert set(frame.loc[2, "eligible_legal_forms"]) >= {"association", "scop", "scic"} or \
        set(frame.loc[2, "eligible_legal_forms"]) >= {"association", "cooperatives"}
    assert pd.isna(frame.loc[2, "ticket_max"])


def test_flat_file_with_call_columns_and_duplicate_call(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("funder_id;call_id;call_title;call_closes;ticket_max\n"
                    "F1;C1;A;31/03/2026;10 000\nF1;C2;B;;\nF1;C1;A bis;;\nF2;;;;\n", encoding="utf-8")
    result = load("funders", path)
    assert result.frame["call_id"].tolist() == ["C1", "C2", None]
    errors = [p for p in result.problems if p.severity == "error"]
    assert len(errors) == 1 and errors[0].row == 4 and "duplicate" in errors[0].reason_en
    s = result.summary
    assert s["rows_read"] == s["rows_normalised"] + s["rows_rejected"] == 4


def test_upside_down_ticket_range_is_a_warning(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("funder_id,ticket_min,ticket_max\nF1,50000,1000\n", encoding="utf-8")
    result = load("funders", path)
    assert [p.reason_en for p in result.problems] == ["ticket_min is above ticket_max"]

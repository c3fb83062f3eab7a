"""The synthetic profile generator: deterministic, realistic, and read back without rejects."""

from __future__ import annotations

import numpy as np

from matcher.evaluation.synthetic import generate_funders, generate_projects, write_profiles
from matcher.io.loading import load


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    a = write_profiles(tmp_path / "a", projects=50, funders=20, seed=7)
    b = write_profiles(tmp_path / "b", projects=50, funders=20, seed=7)
    c = write_profiles(tmp_path / "c", projects=50, funders=20, seed=8)
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    assert a[0].read_bytes() != c[0].read_bytes()


def test_messy_files_read_back_with_no_rejected_row(tmp_path):
    projects, funders = write_profiles(tmp_path, projects=300, funders=120, seed=1, messy=0.3)
    p = load("projects", projects)
    f = load("funders", funders)
    assert p.summary["rows_read"] == p.summary["rows_normalised"] == 300
    assert p.summary["rows_rejected"] == 0 and f.summary["rows_rejected"] == 0
    assert f.summary["rows_normalised"] == 120
    frame = p.frame
    assert frame["amount_requested"].notna().all() and (frame["amount_requested"] > 0).all()
    assert frame["territory"].map(lambda v: bool(v) and all(":" in c or c in ("FR", "EU") for c in v)).all()
    assert frame["legal_form"].notna().all()
    assert f.frame["perimeter"].map(bool).all()


def test_messy_spellings_appear_at_the_set_rate():
    clean = generate_projects(200, seed=2, messy=0.0)
    messy = generate_projects(200, seed=2, messy=0.5)
    assert all(r["amount_requested"].isdigit() for r in clean)
    assert all(r["territory"].startswith(("commune:", "epci:", "dep:")) for r in clean)
    hand_written = sum(not r["amount_requested"].isdigit() for r in messy)
    assert 50 < hand_written < 150


def test_places_follow_population_and_amounts_are_log_normal():
    rows = generate_projects(2000, seed=3, messy=0.0)
    places = [r["territory"] for r in rows]
    assert sum("commune:75056" in p or "commune:751" in p for p in places) > 10  # Paris is drawn often
    amounts = np.log10([float(r["amount_requested"]) for r in rows])
    assert 4.0 < np.median(amounts) < 5.0 and amounts.std() > 0.3


def test_funder_rows_count_and_calls():
    rows = generate_funders(100, seed=4)
    assert len(rows) == 100
    assert len({r["funder_id"] for r in rows}) < 100  # some funders have several calls
    with_calls = [r for r in rows if r["call_id"]]
    assert with_calls and all(r["call_opens"] and r["call_closes"] for r in with_calls)

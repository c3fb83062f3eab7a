"""``run_batch`` against the ranking methods, and the ``coopmatch batch`` command."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import TinyTerritories, funders_frame, projects_frame
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_model_properties import DATE, profile_sets

from matcher.cli import cli
from matcher.core.errors import MatchingError
from matcher.engine.batch import run_batch
from matcher.engine.model import Matcher
from matcher.evaluation.synthetic import (
    FUNDER_COLUMNS,
    PROJECT_COLUMNS,
    generate_funders,
    generate_projects,
    write_csv,
)


def fitted(funders, top=None):
    return Matcher(date=DATE, territories=TinyTerritories(), top=top).fit(funders)


def by_funder_rows(matcher, projects, top):
    parts = [matcher.rank_projects(projects, f, c, top=top)
             for f, c in zip(matcher.funders_["funder_id"], matcher.funders_["call_id"], strict=True)]
    return pd.concat(parts, ignore_index=True)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(profile_sets, st.integers(1, 4), st.integers(1, 2))
def test_batch_equals_rank_funders_and_rank_projects(profiles, top, jobs):
    projects, funders = projects_frame(*profiles[0]), funders_frame(*profiles[1])
    matcher = fitted(funders)
    result = run_batch(matcher, projects, top=top, jobs=jobs)
    pd.testing.assert_frame_equal(result.funders_for_projects.reset_index(drop=True),
                                  matcher.rank_funders(projects, top=top).reset_index(drop=True))
    pd.testing.assert_frame_equal(result.projects_for_funders.reset_index(drop=True),
                                  by_funder_rows(matcher, projects, top))
    assert sum(result.eligibility_counts.values()) == result.pairs == len(projects) * len(matcher.funders_)


def test_batch_across_many_small_blocks(monkeypatch):
    """Blocks of 3 projects: the running top K per funder row is merged block after block."""
    import matcher.engine.model as model

    projects, funders = _synthetic(40, 12, seed=5, messy=0.0)
    matcher = Matcher(date="2026-06-01", top=4).fit(funders)
    monkeypatch.setattr(model, "BLOCK_PROJECTS", 3)
    result = run_batch(matcher, projects, top=4, jobs=2)
    pd.testing.assert_frame_equal(result.funders_for_projects.reset_index(drop=True),
                                  matcher.rank_funders(projects, top=4).reset_index(drop=True))
    pd.testing.assert_frame_equal(result.projects_for_funders.reset_index(drop=True),
                                  by_funder_rows(matcher, projects, 4))


def test_batch_values_do_not_depend_on_the_block_size(monkeypatch):
    """Sums are taken per pair in a fixed order: blocks of 3 projects give exactly the values of one block."""
    import matcher.engine.model as model

    projects, funders = _synthetic(30, 10, seed=9, messy=0.0)
    matcher = Matcher(date="2026-06-01").fit(funders)
    whole = run_batch(matcher, projects, top=5, jobs=1)
    monkeypatch.setattr(model, "BLOCK_PROJECTS", 3)
    small = run_batch(matcher, projects, top=5, jobs=2)
    for name in ("funders_for_projects", "projects_for_funders"):
        pd.testing.assert_frame_equal(getattr(small, name), getattr(whole, name), check_exact=True)
    assert small.eligibility_counts == whole.eligibility_counts


def _synthetic(n_projects: int, n_funders: int, seed: int, messy: float):
    """Synthetic project and funder rows, written and read back through the pipelines."""
    import tempfile
    from pathlib import Path

    from matcher.io.loading import load

    with tempfile.TemporaryDirectory() as folder:
        p = write_csv(generate_projects(n_projects, seed=seed, messy=messy), PROJECT_COLUMNS, Path(folder) / "p.csv")
        f = write_csv(generate_funders(n_funders, seed=seed, messy=messy), FUNDER_COLUMNS, Path(folder) / "f.csv")
        return load("projects", p).frame, load("funders", f).frame


def test_batch_needs_a_whole_number_of_jobs():
    matcher = fitted(funders_frame({"funder_id": "F1"}))
    with pytest.raises(MatchingError, match="jobs"):
        run_batch(matcher, projects_frame({"project_id": "P1"}), top=2, jobs=0)


# --------------------------------------------------------------------------- the command


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("batch")
    projects = generate_projects(60, seed=3, messy=0.1)
    funders = generate_funders(25, seed=3, messy=0.1)
    write_csv(projects, PROJECT_COLUMNS, folder / "projects.csv")
    write_csv(funders, FUNDER_COLUMNS, folder / "funders.csv")
    rng = np.random.default_rng(0)
    write_csv([projects[i] for i in rng.permutation(len(projects))], PROJECT_COLUMNS, folder / "projects_shuffled.csv")
    write_csv([funders[i] for i in rng.permutation(len(funders))], FUNDER_COLUMNS, folder / "funders_shuffled.csv")
    return folder


def batch(*args):
    return CliRunner().invoke(cli, ["batch", *args])


def run(files, out, *extra, projects="projects.csv", funders="funders.csv"):
    return batch("--projects", str(files / projects), "--funders", str(files / funders), "--date", "2026-06-01",
                 "--top", "3", "--quiet", "-o", str(out), *extra)


def test_batch_writes_both_views_and_a_summary(files, tmp_path):
    result = run(files, tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "funders_for_projects.csv", "projects_for_funders.csv", "summary.json"]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["inputs"]["projects"]["rows_read"] == 60
    assert summary["inputs"]["projects"]["rows_rejected"] == 0
    assert summary["funder_rows"] == 25
    assert summary["pairs"] == 60 * 25 == sum(summary["eligibility_counts"].values())
    assert summary["parameters"]["top"] == 3 and summary["parameters"]["date"] == "2026-06-01"
    assert {"read_normalise", "fit", "match", "write", "total"} <= set(summary["timings_seconds"])
    ranked = pd.read_csv(tmp_path / "out" / "funders_for_projects.csv")
    assert summary["outputs"]["funders_for_projects"]["rows"] == len(ranked)
    assert list(ranked.columns[:9]) == ["project_id", "funder_id", "call_id", "rank", "score", "eligibility",
                                        "reasons", "project_name", "funder_name"]
    assert ranked.groupby("project_id")["rank"].max().max() <= 3
    shortlist = pd.read_csv(tmp_path / "out" / "projects_for_funders.csv")
    assert shortlist.groupby(["funder_id", shortlist["call_id"].fillna("")])["rank"].max().max() <= 3


def _bytes(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.suffix != ".json"}


def test_output_is_the_same_for_any_jobs_and_row_order(files, tmp_path):
    assert run(files, tmp_path / "one", "--jobs", "1").exit_code == 0
    assert run(files, tmp_path / "two", "--jobs", "2").exit_code == 0
    assert run(files, tmp_path / "shuffled", projects="projects_shuffled.csv",
               funders="funders_shuffled.csv").exit_code == 0
    first = _bytes(tmp_path / "one")
    assert first == _bytes(tmp_path / "two") == _bytes(tmp_path / "shuffled")
    assert all(len(v) > 1000 for v in first.values())


def test_parquet_output(files, tmp_path):
    result = run(files, tmp_path / "pq", "--format", "parquet")
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(tmp_path / "pq" / "funders_for_projects.parquet")
    assert len(frame) and "score_territory" in frame.columns


def test_bad_inputs_say_error(files, tmp_path):
    missing = batch("--projects", str(tmp_path / "nope.csv"), "--funders", str(files / "funders.csv"),
                    "-o", str(tmp_path / "o"))
    assert missing.exit_code == 1 and missing.output.startswith("Error: ")
    bad_date = run(files, tmp_path / "o2", "--date", "31/31/2026")
    assert bad_date.exit_code == 1 and "Error: --date" in bad_date.output
    bad_weight = run(files, tmp_path / "o3", "--weight", "nothing=1")
    assert bad_weight.exit_code == 1 and bad_weight.output.startswith("Error: ")
    (tmp_path / "afile").write_text("x")
    not_folder = run(files, tmp_path / "afile")
    assert not_folder.exit_code != 0
    no_output = batch("--projects", str(files / "projects.csv"), "--funders", str(files / "funders.csv"))
    assert no_output.exit_code == 2 and "-o" in no_output.output
    assert not (tmp_path / "o2").exists() and not (tmp_path / "o3").exists()


def test_fast_csv_writes_the_bytes_of_write_table(tmp_path):
    from matcher.engine.batch import write_csv_fast
    from matcher.io.writers import write_table

    frame = pd.DataFrame({
        "id": pd.Series(["P1", "=SUM(A1)", None, "a,\"b\"\nc"], dtype=object),
        "rank": np.array([1, 2, 3, 4], dtype=np.int64),
        "score": [0.1234567890123, 1.0, np.nan, -2.0],
        "mixed": pd.Series([None, 2.5, "x", ("a", "b")], dtype=object),
        "equal_but_not_same": pd.Series([1, True, 1.0, "1"], dtype=object),
        "texts": pd.Series(["=x", None, "a,b", "=x"], dtype=object),
    })
    write_table(frame, tmp_path / "slow.csv")
    write_csv_fast(frame, tmp_path / "fast.csv")
    assert (tmp_path / "fast.csv").read_bytes() == (tmp_path / "slow.csv").read_bytes()


# --------------------------------------------------------------------------- streamed rows and reasons


def test_streamed_project_rows_equal_the_frame(monkeypatch):
    """With a sink, funders_for_projects comes in consecutive frames that add up to rank_funders."""
    import matcher.engine.batch as batch_module
    import matcher.engine.model as model

    projects, funders = _synthetic(40, 12, seed=6, messy=0.1)
    matcher = Matcher(date="2026-06-01", top=4).fit(funders)
    monkeypatch.setattr(model, "BLOCK_PROJECTS", 3)
    monkeypatch.setattr(batch_module, "GROUP", 2)  # batch blocks of 6 projects: several sink calls
    monkeypatch.setattr(batch_module, "STREAM_ROWS", 3)
    frames = []
    result = run_batch(matcher, projects, top=4, jobs=2, on_project_rows=frames.append)
    assert result.funders_for_projects is None and len(frames) > 2
    streamed = pd.concat(frames, ignore_index=True)
    assert result.funders_for_projects_rows == len(streamed)
    pd.testing.assert_frame_equal(streamed, matcher.rank_funders(projects, top=4).reset_index(drop=True))
    pd.testing.assert_frame_equal(result.projects_for_funders.reset_index(drop=True),
                                  by_funder_rows(matcher, projects, 4))


def test_streamed_csv_has_the_bytes_of_write_table(files, tmp_path, monkeypatch):
    """The command streams funders_for_projects in small pieces: same bytes as writing the whole frame."""
    import matcher.engine.batch as batch_module
    from matcher.io.loading import load
    from matcher.io.writers import write_table

    monkeypatch.setattr(batch_module, "STREAM_ROWS", 5)
    assert run(files, tmp_path / "out").exit_code == 0
    matcher = Matcher(date="2026-06-01", top=3).fit(load("funders", files / "funders.csv").frame)
    whole = run_batch(matcher, load("projects", files / "projects.csv").frame, top=3)
    write_table(whole.funders_for_projects, tmp_path / "whole.csv")
    written = (tmp_path / "out" / "funders_for_projects.csv").read_bytes()
    assert written == (tmp_path / "whole.csv").read_bytes()
    assert [p.name for p in (tmp_path / "out").iterdir() if p.name.startswith(".")] == []


def test_reasons_column_equals_describe_pair(files):
    """The cached, vectorised reasons are the texts of describe_pair joined with ' ; '."""
    from matcher.io.loading import load

    for lang in ("fr", "en"):
        matcher = Matcher(date="2026-06-01", top=5, lang=lang).fit(load("funders", files / "funders.csv").frame)
        projects = load("projects", files / "projects.csv").frame
        ranked = matcher.rank_funders(projects, top=5, include_ineligible=True)
        expected = [" ; ".join(matcher.explain(projects, p, f, c).reasons_text(lang))
                    for p, f, c in zip(ranked["project_id"], ranked["funder_id"], ranked["call_id"], strict=True)]
        assert ranked["reasons"].tolist() == expected
        assert any(" ; " in r for r in expected)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=30), st.integers(1, 7))
def test_fast_csv_float_cells_are_those_of_write_table(values, chunk):
    """Floats are formatted once per distinct value: same text as write_table, negatives quoted."""
    import tempfile
    from pathlib import Path

    from matcher.engine.batch import write_csv_fast
    from matcher.io.writers import write_table

    frame = pd.DataFrame({"x": np.array(values, dtype=np.float64)})
    with tempfile.TemporaryDirectory() as folder:
        write_table(frame, Path(folder) / "slow.csv")
        write_csv_fast(frame, Path(folder) / "fast.csv", chunk=chunk)
        assert (Path(folder) / "fast.csv").read_bytes() == (Path(folder) / "slow.csv").read_bytes()


def test_reasons_grouped_by_declared_funder_fields(files, monkeypatch):
    """A rule that declares the funder fields its reasons read is described once per distinct values."""
    from matcher.engine.eligibility import BudgetShare, TicketMaximum, TicketMinimum
    from matcher.io.loading import load

    projects = load("projects", files / "projects.csv").frame
    funders = load("funders", files / "funders.csv").frame
    plain = Matcher(date="2026-06-01", top=5).fit(funders).rank_funders(projects, include_ineligible=True)
    monkeypatch.setattr(TicketMinimum, "funder_fields", ("ticket_min",), raising=False)
    monkeypatch.setattr(TicketMaximum, "funder_fields", ("ticket_max",), raising=False)
    monkeypatch.setattr(BudgetShare, "funder_fields", ("max_share_of_budget",), raising=False)
    grouped = Matcher(date="2026-06-01", top=5).fit(funders).rank_funders(projects, include_ineligible=True)
    pd.testing.assert_frame_equal(grouped, plain)
    assert plain["reasons"].str.len().sum() > 0


def test_html_format_adds_one_report_of_the_run(files, tmp_path):
    plain, html = tmp_path / "plain", tmp_path / "html"
    assert run(files, plain).exit_code == 0
    result = run(files, html, "--format", "html")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in html.iterdir()) == [
        "funders_for_projects.csv", "projects_for_funders.csv", "report.html", "summary.json"]
    for name in ("funders_for_projects.csv", "projects_for_funders.csv"):
        assert (html / name).read_bytes() == (plain / name).read_bytes()
    page = (html / "report.html").read_text(encoding="utf-8")
    first = pd.read_csv(html / "funders_for_projects.csv", dtype=str)["project_id"].iloc[0]
    assert page.startswith("<!DOCTYPE html>") and first in page
    assert "traitement par lot" in page or "batch run" in page

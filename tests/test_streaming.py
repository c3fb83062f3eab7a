"""Projects read and normalised in pieces (matcher.io.streaming): the result of one read, for any piece size."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.engine.model import Matcher
from matcher.evaluation.synthetic import write_profiles
from matcher.io import readers
from matcher.io.loading import load
from matcher.io.streaming import stream_projects
from matcher.normalize import pipeline


def _messy(folder):
    """A synthetic projects file with the defects a whole read reports: every one of them located."""
    write_profiles(folder, 700, 10, seed=3, messy=0.3)
    lines = (folder / "projects.csv").read_text(encoding="utf-8").split("\n")
    header, body = lines[0], [x for x in lines[1:] if x]
    width = header.count(";")
    body[10] = body[3]  # a repeated project id, far from its first occurrence
    body[400] = body[5]  # another, in a later piece
    body[20] = ";" * width  # an empty row
    body[30] = ";" + body[30].split(";", 1)[1]  # no id
    body[40] = body[40] + ";extra"  # too many fields
    body[50] = body[50].rsplit(";", 3)[0]  # too few fields
    body.insert(60, "")  # a blank line
    cells = body[70].split(";")
    cells[2] = '"un résumé\nsur deux lignes"'  # a quoted cell over two lines
    body[70] = ";".join(cells)
    body[90] = body[90].replace("2026", "1900", 1)
    path = folder / "messy.csv"
    path.write_text("\n".join([header, *body, ""]), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    return _messy(tmp_path_factory.mktemp("stream"))


def _problems(loaded):
    return [(s, p.row, p.column, p.value, p.severity, p.code, p.reason_en)
            for s, p in zip(loaded.problem_sources, loaded.problems, strict=True)]


@pytest.mark.parametrize("rows", [37, 101, 250, 5000])
def test_pieces_give_the_rows_problems_and_counts_of_one_read(messy, rows):
    whole = load("projects", messy)
    assert whole.summary["rows_rejected"] >= 4 and whole.summary["warnings"] > 0
    found = stream_projects(messy, rows)
    if rows >= 5000:
        assert found is None  # one piece: read whole
        return
    assert found is not None
    loaded, source = found
    try:
        assert len(readers.csv_pieces(messy, rows).bounds) > 1
        assert _problems(loaded) == _problems(whole)
        assert loaded.summary == {**whole.summary, "profiles_out": len(whole.frame)}
        expected = Matcher.sorted_projects(whole.frame)
        assert len(source) == len(expected)
        for lo in range(0, len(expected), 113):
            got = Matcher.sorted_projects(source.chunk(lo, min(lo + 113, len(expected))))
            pd.testing.assert_frame_equal(got, expected.iloc[lo:lo + 113].reset_index(drop=True))
    finally:
        source.close()
    assert not source.folder.exists()


def test_a_piece_cut_never_splits_a_quoted_cell(messy):
    pieces = readers.csv_pieces(messy, 5)
    data = messy.read_bytes()
    for start, _, first_line in pieces.bounds:
        assert data[:start].count(b'"') % 2 == 0
        assert data[:start].count(b"\n") + 1 == first_line


def test_files_a_whole_read_treats_differently_are_read_whole(tmp_path, messy):
    titled = tmp_path / "titled.csv"
    titled.write_text("Export du 12/11/2026\n" + messy.read_text(encoding="utf-8"), encoding="utf-8")
    assert stream_projects(titled, 50) is None
    latin = tmp_path / "latin.csv"
    latin.write_bytes(messy.read_text(encoding="utf-8").encode("cp1252", errors="replace"))
    assert stream_projects(latin, 50) is None


def test_parquet_in_record_batches(tmp_path, messy):
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = readers.read_table(messy).frame
    path = tmp_path / "projects.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=64)
    whole = load("projects", path)
    loaded, source = stream_projects(path, 90)
    try:
        assert _problems(loaded) == _problems(whole)
        pd.testing.assert_frame_equal(Matcher.sorted_projects(source.chunk(0, len(source))),
                                      Matcher.sorted_projects(whole.frame))
    finally:
        source.close()


def test_the_fields_the_reading_child_gathers_are_those_of_the_rules_said_once():
    """`coopmatch batch` forks the reading child before it imports the engine, so it writes the
    fields out: they must stay those of the rules marked said_once_when_unstated."""
    import importlib

    from matcher.engine.eligibility import default_rules

    batch = importlib.import_module("matcher.cli.batch")
    assert batch.SAID_ONCE_FIELDS == tuple(sorted({f for rule in default_rules() if rule.said_once_when_unstated
                                                  for f in rule.project_fields or ()}))


_IDS = st.one_of(st.none(), st.sampled_from(["P1", "P10", "P2", "a", "a\x00", "a\x00\x00", "é", "ÿ", "𝔸", "", "P1 "]),
                 st.text(max_size=6))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.tuples(_IDS, st.booleans()), max_size=12), min_size=1, max_size=6))
def test_the_compact_table_of_ids_rejects_what_a_dictionary_rejects(pieces):
    """Pieces of ids (some already rejected, some missing) through reject_duplicates with the
    streamed table of ids (SeenKeys) and with a dictionary: the same repeats, first rows, order."""
    step = pipeline.reject_duplicates(["project_id"])
    found = {}
    for seen in (pipeline.SeenKeys(), {}):
        problems, row = [], 2
        for piece in pieces:
            frame = pd.DataFrame({"project_id": pd.Series([v for v, _ in piece], dtype=object)})
            state = pipeline.PipelineState("projects", frame, np.arange(row, row + len(piece)), [None] * len(piece),
                                           {"project_id": "id"}, rejected=np.array([r for _, r in piece], dtype=bool),
                                           options={"seen_keys": seen})
            step(state)
            problems += [(p.row, p.value, p.reason_en) for p in state.problems]
            row += len(piece)
        found[type(seen)] = problems
    assert found[pipeline.SeenKeys] == found[dict]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=8), unique=True, max_size=40), st.lists(st.text(max_size=8), max_size=40))
def test_key_arrays_sort_and_compare_as_the_strings(known, asked):
    """key_array: sorted as the strings, equal only when the strings are (widths differing)."""
    keys = pipeline.key_array(known)
    assert [known[i] for i in np.argsort(keys, kind="stable")] == sorted(known)
    seen = pipeline.SeenKeys()
    for lo in range(0, len(known), 7):  # added in parts of several widths, merged as they come
        seen.add(keys[lo:lo + 7], np.arange(lo, min(lo + 7, len(known))))
    assert len(seen) == len(known)
    rows = seen.first_rows(pipeline.key_array(asked))
    assert rows.tolist() == [known.index(a) if a in known else -1 for a in asked]


def test_the_caches_a_piece_fills_are_emptied_after_it():
    """What parsing a piece's cells fills (parsers, vocabularies, territories) is emptied by
    parsers.clear_caches, which a streamed read calls after each piece: memory per piece, not per file."""
    from matcher.normalize import parsers
    from matcher.referential.territories import Territories, name_key
    from matcher.referential.vocabularies import get_vocabulary

    territories, sectors = Territories.default(), get_vocabulary("sectors")
    territories.resolve("Saint-Étienne")
    sectors.resolve_cell("alimentation; mobilité")
    filled = (territories._resolve_cached.cache_info().currsize, name_key.cache_info().currsize,
              sectors._cell_cached.cache_info().currsize)
    assert all(filled)
    parsers.clear_caches()
    assert (territories._resolve_cached.cache_info().currsize, name_key.cache_info().currsize,
            sectors._cell_cached.cache_info().currsize) == (0, 0, 0)

"""Writers: formula injection neutralised, atomic writes, deterministic bytes."""

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.io.writers import cell_text, neutralise, write_table

HOSTILE = ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tTab", "\rCR", "=cmd|' /C calc'!A0"]


@pytest.mark.parametrize("value", HOSTILE)
def test_neutralise_hostile_cells(value):
    assert neutralise(value) == "'" + value


@given(st.text())
def test_neutralise_never_leaves_a_formula_start(text):
    out = neutralise(text)
    assert not out.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert out.endswith(text)


def test_csv_and_xlsx_cells_are_inert(tmp_path):
    from openpyxl import load_workbook

    frame = pd.DataFrame({"name": HOSTILE, "amount": [1.0] * len(HOSTILE)})
    write_table(frame, tmp_path / "o.csv")
    back = pd.read_csv(tmp_path / "o.csv", dtype=str, keep_default_na=False)
    assert all(v.startswith("'") for v in back["name"])
    write_table(frame, tmp_path / "o.xlsx", money_columns=("amount",))
    sheet = load_workbook(tmp_path / "o.xlsx").active
    values = [row[0].value for row in sheet.iter_rows(min_row=2)]
    assert all(v.startswith("'") for v in values)
    assert all(row[0].data_type == "s" for row in sheet.iter_rows(min_row=2))
    assert sheet.freeze_panes == "A2"


def test_json_keeps_lists_and_numbers(tmp_path):
    frame = pd.DataFrame({"ids": [("a", "b"), None], "w": [{"energy": 2.0}, None], "x": [1.5, float("nan")]})
    write_table(frame, tmp_path / "o.json")
    assert json.loads((tmp_path / "o.json").read_text()) == [
        {"ids": ["a", "b"], "w": {"energy": 2}, "x": 1.5}, {"ids": None, "w": None, "x": None}]


def test_cell_text_joins_lists_and_mappings():
    assert cell_text(("a", "b")) == "a;b"
    assert cell_text({"energy": 2.0, "mobility": 0.5}) == "energy:2;mobility:0.5"
    assert cell_text(None) == "" and cell_text(float("nan")) == ""


def test_failed_write_leaves_no_file(tmp_path):
    class Boom:
        def __str__(self):
            raise RuntimeError("boom")

    frame = pd.DataFrame({"a": [Boom()]})
    with pytest.raises(RuntimeError):
        write_table(frame, tmp_path / "o.csv")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("ext", ["csv", "json", "jsonl", "parquet", "xlsx"])
def test_same_frame_same_bytes(tmp_path, ext):
    frame = pd.DataFrame({"a": ["x", "=y"], "b": [1.0, 2.5], "c": [("p", "q"), ()]})
    write_table(frame, tmp_path / f"1.{ext}")
    write_table(frame, tmp_path / f"2.{ext}")
    assert (tmp_path / f"1.{ext}").read_bytes() == (tmp_path / f"2.{ext}").read_bytes()


@settings(max_examples=80, deadline=None)
@given(st.lists(st.floats(min_value=1e-4, max_value=1e9, allow_nan=False) | st.floats(min_value=-1e9, max_value=-1e-4),
                min_size=1, max_size=40))
def test_floats_pyarrow_formats_are_the_text_of_repr(values):
    """In ARROW_FLOAT_RANGE pyarrow's shortest digits are those of repr: the fast CSV keeps its bytes."""
    from matcher.io.writers import cell_text, float_texts, neutralise

    texts = float_texts(np.array(values, dtype=np.float64)).to_pylist()
    assert texts[:-1] == [neutralise(cell_text(v)) for v in values] and texts[-1] == ""

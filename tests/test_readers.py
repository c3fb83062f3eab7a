"""Tests for matcher.io.readers: formats, encodings, delimiters, row numbers, problems."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from matcher.core.errors import InputError
from matcher.io.readers import (
    _FastPathFailed,
    _parse_csv_fast,
    _parse_csv_slow,
    detect_delimiter,
    flatten_record,
    flatten_records,
    read_profiles,
    read_table,
)
from matcher.normalize.problems import ERROR, FILE, WARNING

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def write(tmp_path: Path, name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        content = content.encode(encoding)
    path.write_bytes(content)
    return path


def cells(table) -> list[list]:
    return table.frame.values.tolist()


# --------------------------------------------------------------------------- CSV basics


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "utf-16"])
def test_csv_encodings_are_detected(tmp_path, encoding):
    path = write(tmp_path, "p.csv", "Nom;Montant\nÉcole du réemploi;12 500 €\n", encoding)
    table = read_table(path)
    assert table.encoding == encoding
    assert list(table.frame.columns) == ["Nom", "Montant"]
    assert cells(table) == [["École du réemploi", "12 500 €"]]


def test_cp1252_file_with_undefined_bytes_falls_back_to_latin1(tmp_path):
    path = write(tmp_path, "p.csv", b"a,b\nx\x81,\xe9\n")
    table = read_table(path)
    assert table.encoding == "latin-1"
    assert cells(table) == [["x\x81", "é"]]


def test_forced_encoding_is_used(tmp_path):
    path = write(tmp_path, "p.csv", "a,b\né,2\n", "cp1252")
    assert cells(read_table(path, encoding="latin-1")) == [["é", "2"]]
    with pytest.raises(InputError, match="cannot decode"):
        read_table(write(tmp_path, "q.csv", "a\n€\n", "utf-8"), encoding="ascii")


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_csv_delimiters_are_detected(tmp_path, delimiter):
    rows = [["id", "name", "amount"], ["P1", "Ferme, bio", "1,5"], ["P2", "Atelier", "2"]]
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\n").writerows(rows)
    table = read_table(write(tmp_path, "p.csv", buffer.getvalue()))
    assert table.delimiter == delimiter
    assert cells(table) == rows[1:]


def test_semicolon_wins_over_decimal_commas():
    text = "id;montant;taux\nA;12,5;0,3\nB;1 000,25;1\nC;3;2,5\n"
    assert detect_delimiter(text) == ";"


def test_tsv_extension_prefers_tab_on_a_tie(tmp_path):
    table = read_table(write(tmp_path, "p.tsv", "a,b\tc,d\n1,2\t3,4\n"))
    assert table.delimiter == "\t"
    assert list(table.frame.columns) == ["a,b", "c,d"]


def test_one_column_file(tmp_path):
    table = read_table(write(tmp_path, "p.csv", "nom\nA\nB\n"))
    assert cells(table) == [["A"], ["B"]]
    assert table.rows == [2, 3]


def test_forced_delimiter(tmp_path):
    table = read_table(write(tmp_path, "p.txt", "a;b,c\n1;2,3\n"), delimiter=",")
    assert list(table.frame.columns) == ["a;b", "c"]


def test_empty_cells_are_none_and_whitespace_is_kept(tmp_path):
    table = read_table(write(tmp_path, "p.csv", 'a,b,c,d\n,"", ,x\n'))
    assert cells(table) == [[None, None, " ", "x"]]
    assert all(dtype is np.dtype(object) for dtype in table.frame.dtypes)


def test_crlf_and_old_mac_line_endings(tmp_path):
    for name, text in [("crlf.csv", "a,b\r\n1,2\r\n\r\n3,4\r\n"), ("cr.csv", "a,b\r1,2\r\r3,4\r")]:
        table = read_table(write(tmp_path, name, text))
        assert cells(table) == [["1", "2"], ["3", "4"]], name
        assert table.rows == [2, 4], name


def test_gzip_of_any_format(tmp_path):
    path = tmp_path / "p.CSV.GZ"
    path.write_bytes(gzip.compress(b"a;b\n1;2\n"))
    assert cells(read_table(path)) == [["1", "2"]]
    path = tmp_path / "p.json.gz"
    path.write_bytes(gzip.compress(b'[{"a": 1}]'))
    table = read_table(path)
    assert table.format == "json"
    assert cells(table) == [[1]]


# --------------------------------------------------------------------------- row numbers and ragged rows


RAGGED = "id;name;amount\nP1;A;1\nP2;B\n\nP3;C;3;extra\nP4;D;4\nP5;E;5;;\n;;\nP6;F;6\n"


def test_ragged_rows_are_reported_with_their_line_numbers(tmp_path):
    table = read_table(write(tmp_path, "p.csv", RAGGED))
    assert cells(table) == [["P1", "A", "1"], ["P2", "B", None], ["P4", "D", "4"],
                            ["P5", "E", "5"], ["P6", "F", "6"]]
    assert table.rows == [2, 3, 6, 7, 9]
    assert [(p.row, p.severity) for p in table.problems] == [(3, WARNING), (5, ERROR)]
    assert table.problems[1].value == "P3;C;3;extra"
    assert "4 fields" in table.problems[1].reason_en and "4 champs" in table.problems[1].reason_fr
    assert table.records_read == 6  # five kept, one rejected; blank lines do not count


def test_multiline_quoted_cells_keep_the_line_where_the_record_starts(tmp_path):
    text = 'id,summary,n\nP1,"first line\nsecond line\n\nfourth",1\nP2,plain,2\n"P3","a ""quote""",3\n'
    table = read_table(write(tmp_path, "p.csv", text))
    assert cells(table) == [["P1", "first line\nsecond line\n\nfourth", "1"],
                            ["P2", "plain", "2"], ["P3", 'a "quote"', "3"]]
    assert table.rows == [2, 6, 7]


def test_ragged_row_after_multiline_cell(tmp_path):
    text = 'a,b\n"x\ny",1\n2\n3,4,5\n'
    table = read_table(write(tmp_path, "p.csv", text))
    assert table.rows == [2, 4]
    assert [(p.row, p.severity) for p in table.problems] == [(4, WARNING), (5, ERROR)]


def test_unbalanced_quote_is_reported(tmp_path):
    table = read_table(write(tmp_path, "p.csv", 'a,b\n1,2\n3,"open\n4,5\n'))
    assert table.rows == [2, 3]
    assert table.problems[-1].row == 3
    assert "unbalanced quote" in table.problems[-1].reason_en


def test_stray_quotes_inside_unquoted_cells(tmp_path):
    table = read_table(write(tmp_path, "p.csv", 'x,y\n5" screen,1\n6" tv,2\n'))
    assert cells(table) == [['5" screen', "1"], ['6" tv', "2"]]
    assert table.rows == [2, 3]
    table = read_table(write(tmp_path, "q.csv", 'x,y\n5" screen,1\n7,2\n'))
    assert cells(table) == [['5" screen', "1"], ["7", "2"]]
    assert table.problems == []  # an odd number of quotes is not an unbalanced quote


def test_trailing_empty_fields_are_dropped_silently(tmp_path):
    table = read_table(write(tmp_path, "p.csv", "a;b;c;\n1;2;3;\n4;5;6;;\n"))
    assert list(table.frame.columns) == ["a", "b", "c"]
    assert cells(table) == [["1", "2", "3"], ["4", "5", "6"]]
    assert table.problems == []


def test_leading_blank_lines_are_skipped(tmp_path):
    table = read_table(write(tmp_path, "p.csv", "\n\n  \nid,n\nA,1\n"))
    assert list(table.frame.columns) == ["id", "n"]
    assert table.rows == [5]


# --------------------------------------------------------------------------- headers


def test_duplicate_headers_are_renamed_with_a_file_problem(tmp_path):
    table = read_table(write(tmp_path, "p.csv", "id,Montant,Montant,Montant.2\nA,1,2,3\n"))
    assert list(table.frame.columns) == ["id", "Montant", "Montant.3", "Montant.2"]
    assert cells(table) == [["A", "1", "2", "3"]]
    assert [(p.severity, p.column) for p in table.problems] == [(FILE, "Montant.3")]


def test_blank_header_with_data_is_named_and_without_data_dropped(tmp_path):
    table = read_table(write(tmp_path, "p.csv", "id, ,name,\nA,x,B,\nC,,D,\n"))
    assert list(table.frame.columns) == ["id", "column_2", "name"]
    assert cells(table) == [["A", "x", "B"], ["C", None, "D"]]
    assert [(p.severity, p.column) for p in table.problems] == [(FILE, "column_2")]


def test_header_names_are_stripped(tmp_path):
    table = read_table(write(tmp_path, "p.csv", " id ;  name\nA;B\n"))
    assert list(table.frame.columns) == ["id", "name"]


# --------------------------------------------------------------------------- errors


def test_header_only_is_zero_records(tmp_path):
    table = read_table(write(tmp_path, "p.csv", "id;name\n"))
    assert list(table.frame.columns) == ["id", "name"]
    assert len(table.frame) == 0 and table.records_read == 0 and table.rows == []


@pytest.mark.parametrize("content", [b"", b"   \n\t\n", "\n".encode("utf-16")])
def test_empty_file_is_an_error(tmp_path, content):
    with pytest.raises(InputError, match="empty"):
        read_table(write(tmp_path, "p.csv", content))


def test_empty_gzip_is_an_error(tmp_path):
    path = tmp_path / "p.csv.gz"
    path.write_bytes(gzip.compress(b""))
    with pytest.raises(InputError, match="empty"):
        read_table(path)


def test_binary_junk_is_an_error(tmp_path):
    with pytest.raises(InputError, match=r"not a text table \(binary file\?\)"):
        read_table(write(tmp_path, "p.csv", bytes(range(256)) * 4))
    with pytest.raises(InputError, match="binary file"):
        read_table(write(tmp_path, "q.json", b"\x01\x02\x03\x04\x05\x06\x07\x08\x0e\x0f" * 10))


def test_xlsx_renamed_as_csv_says_so(tmp_path):
    workbook = openpyxl.Workbook()
    path = tmp_path / "p.csv"
    workbook.save(path)
    with pytest.raises(InputError, match="ZIP or XLSX"):
        read_table(path)


def test_missing_file_directory_and_unknown_extension(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_table(tmp_path / "nope.csv")
    folder = tmp_path / "dir.csv"
    folder.mkdir()
    with pytest.raises(InputError, match="folder"):
        read_table(folder)
    with pytest.raises(InputError, match=r"unsupported file type '\.xls'.*save it as \.xlsx"):
        read_table(write(tmp_path, "p.xls", "a\n1\n"))
    with pytest.raises(InputError, match="unsupported file type '.pdf'"):
        read_table(write(tmp_path, "p.pdf", "a\n1\n"))


def test_not_gzip(tmp_path):
    with pytest.raises(InputError, match="not a valid gzip file"):
        read_table(write(tmp_path, "p.csv.gz", "a,b\n1,2\n"))


# --------------------------------------------------------------------------- XLSX


def make_xlsx(path: Path, rows: dict[str, object], sheet_title: str | None = None, extra_sheet=False):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    if sheet_title:
        sheet.title = sheet_title
    for ref, value in rows.items():
        sheet[ref] = value
    if extra_sheet:
        other = workbook.create_sheet("Autre")
        other["A1"] = "x"
        other["A2"] = 1
    workbook.save(path)
    return path


def test_xlsx_native_values_and_sheet_row_numbers(tmp_path):
    path = make_xlsx(tmp_path / "p.xlsx", {
        "B3": "id", "C3": "montant", "D3": "date", "E3": None,
        "B4": "P1", "C4": 12500, "D4": dt.datetime(2024, 3, 1),
        "B6": "P2", "C6": 1.5, "D6": "", "F6": "orphan",
    })
    table = read_table(path)
    assert table.format == "xlsx" and table.encoding is None
    assert list(table.frame.columns) == ["id", "montant", "date", "column_6"]
    assert cells(table) == [["P1", 12500, dt.datetime(2024, 3, 1), None],
                            ["P2", 1.5, None, "orphan"]]
    assert table.rows == [4, 6]
    assert [(p.severity, p.column) for p in table.problems] == [(FILE, "column_6")]


def test_xlsx_sheet_parameter(tmp_path):
    path = make_xlsx(tmp_path / "p.xlsx", {"A1": "a", "A2": "first"}, "Projets", extra_sheet=True)
    assert cells(read_table(path)) == [["first"]]
    assert cells(read_table(path, sheet="Autre")) == [[1]]
    assert cells(read_table(path, sheet=1)) == [[1]]
    with pytest.raises(InputError, match="no sheet 'Nope'; sheets are: Projets, Autre"):
        read_table(path, sheet="Nope")


def test_xlsx_header_only_empty_sheet_and_junk(tmp_path):
    table = read_table(make_xlsx(tmp_path / "h.xlsx", {"A1": "id", "B1": 2024}))
    assert list(table.frame.columns) == ["id", "2024"] and len(table.frame) == 0
    with pytest.raises(InputError, match="sheet is empty"):
        read_table(make_xlsx(tmp_path / "e.xlsx", {}))
    with pytest.raises(InputError, match="cannot open as XLSX"):
        read_table(write(tmp_path, "j.xlsx", b"PK\x03\x04 not really a zip"))


# --------------------------------------------------------------------------- JSON, JSON Lines, YAML


def test_json_list_of_records(tmp_path):
    records = [{"id": "P1", "sectors": ["energy", "mobility"], "just_transition": {"climate_mitigation": 2}},
               {"id": "P2", "amount": 10.5, "esus": True, "name": ""}]
    table = read_table(write(tmp_path, "p.json", json.dumps(records)))
    assert list(table.frame.columns) == ["id", "sectors", "just_transition", "amount", "esus", "name"]
    assert cells(table) == [
        ["P1", ["energy", "mobility"], {"climate_mitigation": 2}, None, None, None],
        ["P2", None, None, 10.5, True, None],
    ]
    assert table.rows == [1, 2] and table.records_read == 2


def test_json_container_object_and_single_object(tmp_path):
    funders = {"funders": [{"funder_id": "F1", "calls": [{"call_id": "C1"}]}, {"funder_id": "F2"}]}
    table = read_table(write(tmp_path, "f.json", json.dumps(funders)))
    assert cells(table) == [["F1", [{"call_id": "C1"}]], ["F2", None]]
    single = {"funder_id": "F1", "calls": [{"call_id": "C1"}, {"call_id": "C2"}]}
    table = read_table(write(tmp_path, "g.json", json.dumps(single)))
    assert cells(table) == [["F1", [{"call_id": "C1"}, {"call_id": "C2"}]]]
    with pytest.raises(InputError, match="several lists of records"):
        read_table(write(tmp_path, "h.json", json.dumps({"projects": [], "funders": []})))
    with pytest.raises(InputError, match="not a table"):
        read_table(write(tmp_path, "i.json", "42"))


def test_json_non_object_records_are_rejected_with_their_number(tmp_path):
    table = read_table(write(tmp_path, "p.json", '[{"id": 1}, "oops", {"id": 3}]'))
    assert table.rows == [1, 3]
    assert [(p.row, p.severity) for p in table.problems] == [(2, ERROR)]
    assert table.records_read == 3


def test_invalid_json_gives_line_and_column(tmp_path):
    with pytest.raises(InputError, match="invalid JSON at line 3, column 9"):
        read_table(write(tmp_path, "p.json", '[\n  {"id": 1},\n  {"id" 2}\n]'))


GRANT = {
    "id": "360G-1", "title": "A grant", "amountAwarded": 1000, "awardDate": "2020-04-28",
    "recipientOrganization": [{"id": "GB-CHC-1", "name": "Org"}],
    "fundingOrganization": [{"id": "GB-CHC-2", "name": "Trust"}],
    "beneficiaryLocation": [{"name": "Leeds"}],
    "classifications": [{"title": "Arts"}, {"title": "Youth"}],
}


def test_360giving_records_are_flattened(tmp_path):
    other = dict(GRANT, id="360G-2", beneficiaryLocation=[{"name": "York"}, {"name": "Hull"}],
                 classifications=[{"title": "Sport"}, {"title": "Health"}])
    table = read_table(write(tmp_path, "g.json", json.dumps({"grants": [GRANT, other]})))
    columns = list(table.frame.columns)
    assert "recipientOrganization:name" in columns and "fundingOrganization:id" in columns
    # beneficiaryLocation holds several places in one record: it stays a list in both.
    assert "beneficiaryLocation" in columns and "beneficiaryLocation:name" not in columns
    row = dict(zip(columns, cells(table)[0], strict=True))
    assert row["recipientOrganization:name"] == "Org"
    assert row["beneficiaryLocation"] == [{"name": "Leeds"}]
    assert row["classifications"] == [{"title": "Arts"}, {"title": "Youth"}]


def test_flatten_record_keeps_calls_and_canonical_fields():
    record = {"name": "F", "calls": [{"call_id": "C1"}], "sectors": [{"id": "energy"}],
              "org": {"address": {"city": "Lyon"}}, "tags": ["a"]}
    assert flatten_record(record) == {"name": "F", "calls": [{"call_id": "C1"}],
                                      "sectors": [{"id": "energy"}], "org:address:city": "Lyon",
                                      "tags": ["a"]}
    assert flatten_records([{"a": [{"x": 1}]}, {"a": [{"x": 2}, {"x": 3}]}]) == [
        {"a": [{"x": 1}]}, {"a": [{"x": 2}, {"x": 3}]}]


def test_jsonl_with_blank_and_bad_lines(tmp_path):
    text = '{"id": "P1"}\n\n{"id": "P2", "n": 2}\n{bad}\n{"id": "P4"}\n'
    table = read_table(write(tmp_path, "p.ndjson", text))
    assert table.format == "jsonl"
    assert cells(table) == [["P1", None], ["P2", 2], ["P4", None]]
    assert table.rows == [1, 2, 4]
    assert [(p.row, p.severity) for p in table.problems] == [(3, ERROR)]
    assert "line 4" in table.problems[0].reason_en
    with pytest.raises(InputError, match="invalid JSON Lines"):
        read_table(write(tmp_path, "q.jsonl", "[1, 2,\n3]\n"))


def test_yaml_one_record_list_container_and_documents(tmp_path):
    one = "funder_id: F1\nname: Fondation\ncalls:\n  - call_id: C1\n    closes: 2025-03-31\n"
    table = read_table(write(tmp_path, "f.yaml", one))
    assert cells(table) == [["F1", "Fondation", [{"call_id": "C1", "closes": dt.date(2025, 3, 31)}]]]
    many = "- funder_id: F1\n- funder_id: F2\n  ticket_max: 50000\n"
    assert cells(read_table(write(tmp_path, "g.yml", many))) == [["F1", None], ["F2", 50000]]
    container = "funders:\n  - funder_id: F1\n  - funder_id: F2\n"
    assert read_table(write(tmp_path, "h.yaml", container)).rows == [1, 2]
    documents = "funder_id: F1\n---\nfunder_id: F2\n"
    assert cells(read_table(write(tmp_path, "i.yaml", documents))) == [["F1"], ["F2"]]


def test_yaml_errors_and_no_unsafe_loading(tmp_path):
    with pytest.raises(InputError, match="invalid YAML at line 3"):
        read_table(write(tmp_path, "p.yaml", "a: 1\nb: [1, 2\nc: 3\n"))
    with pytest.raises(InputError, match="invalid YAML"):
        read_table(write(tmp_path, "q.yaml", "!!python/object/apply:os.system ['echo hi']\n"))


# --------------------------------------------------------------------------- folders


def test_read_profiles_concatenates_a_folder(tmp_path):
    write(tmp_path, "b.csv", "funder_id;name\nF2;Beta\nF3\n")
    write(tmp_path, "a.yaml", "funder_id: F1\nticket_max: 100\n")
    write(tmp_path, "README.md", "# notes\n")
    write(tmp_path, ".hidden.csv", "x\n1\n")
    table = read_profiles(tmp_path)
    assert list(table.frame.columns) == ["funder_id", "ticket_max", "name"]
    assert cells(table) == [["F1", 100, None], ["F2", None, "Beta"], ["F3", None, None]]
    assert table.rows == [1, 2, 3]
    assert [Path(s).name for s in table.sources] == ["a.yaml", "b.csv", "b.csv"]
    assert table.format == "mixed" and table.records_read == 3
    assert [(p.severity, p.row) for p in table.problems] == [(WARNING, 3), (FILE, None)]
    assert [Path(s).name for s in table.problem_sources] == ["b.csv", "README.md"]


def test_read_profiles_of_a_file_and_of_an_empty_folder(tmp_path):
    path = write(tmp_path, "p.csv", "a\n1\n")
    assert read_profiles(path).sources == [str(path)]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="no supported file"):
        read_profiles(empty)


# --------------------------------------------------------------------------- real data


def test_real_360giving_file_reads_and_flattens():
    path = SHARED_DATA / "360giving" / "grantnav-test-power-to-change.json"
    if not path.exists():
        pytest.skip("shared data not available (../shared/data)")
    table = read_table(path)
    assert len(table.frame) == 870 and table.records_read == 870
    for column in ("recipientOrganization:name", "fundingOrganization:id", "amountAwarded", "awardDate"):
        assert column in table.frame.columns
    assert table.frame["fundingOrganization:name"].iloc[0] == "Power to Change Trust"


def test_real_scdl_example_reads():
    path = SHARED_DATA / "scdl" / "exemple_valide.csv"
    if not path.exists():
        pytest.skip("shared data not available (../shared/data)")
    table = read_table(path)
    assert table.delimiter == "," and len(table.frame) == 29 and table.problems == []
    assert table.frame.columns[0] == "nomAttribuant"


# --------------------------------------------------------------------------- properties

CELL = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=8)
HEADER = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=6).map(str.strip).filter(bool)
CP1252_CHARS = st.sampled_from('abcXYZ 019,;|"\'-éèàçÉœ€«»…’ßü')
CP1252_CELL = st.text(CP1252_CHARS, max_size=8)
CP1252_HEADER = st.text(CP1252_CHARS, min_size=1, max_size=6).map(str.strip).filter(bool)
QUOTE_TRIGGERS = set(',;\t|"\r\n')


def sensible_csv(rows: list[list[str]], delimiter: str) -> str:
    """CSV as careful writers make it: quote any cell holding a possible delimiter or a quote."""
    def cell(text: str) -> str:
        if QUOTE_TRIGGERS & set(text) or text != text.strip():
            return '"' + text.replace('"', '""') + '"'
        return text
    return "".join(delimiter.join(cell(c) for c in row) + "\n" for row in rows)


@st.composite
def tables(draw, cell=CELL, header_name=HEADER):
    header = draw(st.lists(header_name, min_size=1, max_size=5, unique=True))
    body = draw(st.lists(st.lists(cell, min_size=len(header), max_size=len(header)), max_size=6))
    body = [row for row in body if any(c.strip() for c in row)]
    return header, body


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=tables(), delimiter=st.sampled_from([",", ";", "\t", "|"]),
       encoding=st.sampled_from(["utf-8", "utf-8-sig"]))
def test_any_table_written_as_csv_reads_back_identically(tmp_path, table, delimiter, encoding):
    header, body = table
    path = write(tmp_path, "t.csv", sensible_csv([header, *body], delimiter), encoding)
    result = read_table(path)
    assert list(result.frame.columns) == header
    assert cells(result) == [[c if c != "" else None for c in row] for row in body]
    assert result.problems == []
    if len(header) > 1:
        assert result.delimiter == delimiter


@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=tables(cell=CP1252_CELL, header_name=CP1252_HEADER), delimiter=st.sampled_from([",", ";", "\t"]))
def test_cp1252_tables_read_back_identically(tmp_path, table, delimiter):
    header, body = table
    data = sensible_csv([header, *body], delimiter).encode("cp1252")
    assume(not data.isascii())
    for line in data.split(b"\n"):  # a line that is also valid UTF-8 is ambiguous (a mixed file, issue 16)
        if not line.isascii():
            try:
                line.decode("utf-8")
                assume(False)
            except UnicodeDecodeError:
                pass
    result = read_table(write(tmp_path, "t.csv", data))
    assert result.encoding == "cp1252"
    assert list(result.frame.columns) == header
    assert cells(result) == [[c if c != "" else None for c in row] for row in body]


MESSY_TOKEN = st.sampled_from(["a", "b", " ", ",", ",", '"', '""', '"x"', "\n", "\n", "\r\n", "é", "\u3000"])


@settings(max_examples=300)
@given(tokens=st.lists(MESSY_TOKEN, max_size=40))
def test_fast_path_agrees_with_the_csv_module(tokens):
    text = "h1,h2\n" + "".join(tokens)
    slow = _parse_csv_slow(text, ",", Path("t.csv"))
    try:
        fast = _parse_csv_fast(text, ",")
    except _FastPathFailed:
        return
    assert fast.header == slow.header
    assert fast.frame.values.tolist() == slow.frame.values.tolist()
    assert fast.rows == slow.rows
    assert fast.problems == [p for p in slow.problems if "unbalanced" not in p.reason_en]
    assert fast.rejected == slow.rejected


def test_fast_path_handles_quotes_multiline_and_ragged_rows():
    text = 'a,b,c\n1,"x,y",3\n"multi\nline",2,3\n4,5\n6,7,8,9\n\n10,11,12,\n'
    parsed = _parse_csv_fast(text, ",")  # must not fall back to the slow path
    assert parsed.rows == [2, 3, 5, 8]
    assert [(p.row, p.severity) for p in parsed.problems] == [(5, WARNING), (6, ERROR)]

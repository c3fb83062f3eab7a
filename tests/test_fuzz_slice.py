"""A fast slice of benchmarks/fuzz.py: a few hundred generated inputs through every reader, loader and parser.

The full run (> 100,000 inputs, with the CLI path and per-input memory caps) is
``python benchmarks/fuzz.py --jobs 2 --seed 1``; this slice keeps the same generators honest in CI.
"""

import importlib.util
import signal
from pathlib import Path

import pytest

FUZZ = Path(__file__).resolve().parents[1] / "benchmarks" / "fuzz.py"


@pytest.fixture(scope="module")
def fuzz():
    spec = importlib.util.spec_from_file_location("coopmatch_fuzz", FUZZ)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SLICE = {"read_csv": 12, "read_tsv": 6, "read_csv_gz": 6, "read_json": 12, "read_jsonl": 10, "read_yaml": 12,
         "read_xlsx": 3, "read_parquet": 5, "load_projects": 4, "load_funders": 4, "load_history": 3,
         "load_aides_territoires": 3, "parse_amount": 40, "parse_percent": 30, "parse_date": 30, "parse_bool": 30,
         "parse_int": 30, "parse_weighted": 30, "parse_level": 20, "parse_levels": 20, "vocabularies": 20}


@pytest.mark.parametrize("name", sorted(SLICE))
def test_generated_inputs_give_a_result_or_a_clear_error(fuzz, tmp_path, name):
    fuzz._tmp = str(tmp_path)
    previous = signal.signal(signal.SIGALRM, fuzz._on_alarm)
    try:
        _, count, failures = fuzz.run_chunk(name, seed=7, start=0, count=SLICE[name], time_cap=300.0)
    finally:
        signal.signal(signal.SIGALRM, previous)
    assert count == SLICE[name]
    assert failures == []


def test_every_target_of_the_full_run_is_in_the_slice_but_the_cli(fuzz):
    assert set(fuzz.TARGETS) - set(SLICE) == {"cli_validate_funders_for"}

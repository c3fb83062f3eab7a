"""``coopmatch batch`` in chunks: the same bytes for any chunk size, engine and resumption."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.cli import cli
from matcher.engine import chunks
from matcher.evaluation.synthetic import write_profiles
from matcher.io.writers import write_table


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("chunks")
    write_profiles(folder, 900, 120, seed=5)
    return folder


def run(files, out, *extra):
    return CliRunner().invoke(cli, ["batch", "--projects", str(files / "projects.csv"), "--funders",
                                    str(files / "funders.csv"), "--date", "2026-06-01", "--top", "4",
                                    "--quiet", "-o", str(out), *extra])


def outputs(folder, ext="csv"):
    return {name: (folder / f"{name}.{ext}").read_bytes()
            for name in ("funders_for_projects", "projects_for_funders")}


def summary(folder):
    found = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    found.pop("timings_seconds")
    return found


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_any_chunk_size_gives_the_same_bytes(files, tmp_path, fmt):
    whole = run(files, tmp_path / "whole", "--format", fmt)
    assert whole.exit_code == 0, whole.output
    cut = run(files, tmp_path / "cut", "--format", fmt, "--chunk-size", "97", "--jobs", "2")
    assert cut.exit_code == 0, cut.output
    assert outputs(tmp_path / "whole", fmt) == outputs(tmp_path / "cut", fmt)
    assert not (tmp_path / "cut" / "parts").exists()
    a, b = summary(tmp_path / "whole"), summary(tmp_path / "cut")
    assert a["eligibility_counts"] == b["eligibility_counts"]
    assert sum(a["eligibility_counts"].values()) == a["pairs"] == 900 * a["funder_rows"]


def test_resume_after_an_interruption_gives_the_same_bytes(files, tmp_path, monkeypatch):
    assert run(files, tmp_path / "once", "--chunk-size", "200").exit_code == 0
    real = chunks._chunk_frames
    calls = []

    def dies_on_the_third(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt  # as a user's Ctrl-C, or a killed run, between chunks
        return real(*args, **kwargs)

    monkeypatch.setattr(chunks, "_chunk_frames", dies_on_the_third)
    broken = run(files, tmp_path / "again", "--chunk-size", "200")
    assert broken.exit_code != 0
    assert not (tmp_path / "again" / "funders_for_projects.csv").exists()  # no final file half-made
    manifest = json.loads((tmp_path / "again" / "parts" / "manifest.json").read_text(encoding="utf-8"))
    assert sorted(manifest["done"]) == ["0", "1"]
    monkeypatch.setattr(chunks, "_chunk_frames", real)
    calls.clear()
    resumed = CliRunner().invoke(cli, ["batch", "--projects", str(files / "projects.csv"), "--funders",
                                       str(files / "funders.csv"), "--date", "2026-06-01", "--top", "4",
                                       "-o", str(tmp_path / "again"), "--chunk-size", "200", "--resume"])
    assert resumed.exit_code == 0, resumed.output
    assert "resumed: 2 of 5 chunk(s) were already done" in resumed.output
    assert outputs(tmp_path / "once") == outputs(tmp_path / "again")
    assert summary(tmp_path / "once") == summary(tmp_path / "again")


def test_resume_refuses_other_parameters(files, tmp_path, monkeypatch):
    real = chunks._chunk_frames
    calls = []

    def dies_on_the_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(chunks, "_chunk_frames", dies_on_the_second)
    run(files, tmp_path / "out", "--chunk-size", "300")
    monkeypatch.setattr(chunks, "_chunk_frames", real)
    result = CliRunner().invoke(cli, ["batch", "--projects", str(files / "projects.csv"), "--funders",
                                      str(files / "funders.csv"), "--date", "2026-06-01", "--top", "5",
                                      "--quiet", "-o", str(tmp_path / "out"), "--chunk-size", "300", "--resume",
                                      "--lang", "en"])
    assert result.exit_code == 1
    assert "Error: cannot resume in" in result.output
    assert "other inputs or parameters" in result.output


def test_resume_and_dask_need_csv_or_parquet(files, tmp_path):
    result = run(files, tmp_path / "out", "--format", "html", "--resume", "--lang", "en")
    assert result.exit_code == 1
    assert "Error: --resume and --engine dask work with --format csv or parquet" in result.output


def test_dask_engine_without_dask_says_how_to_install_it(files, tmp_path, monkeypatch):
    import sys
    import tempfile

    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed: ImportError
    spills = tmp_path / "tmp"
    spills.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spills))
    result = run(files, tmp_path / "out", "--engine", "dask", "--lang", "en")
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == "Error: --engine dask needs Dask: pip install 'coopmatch[dask]'"
    assert list(spills.iterdir()) == []  # the child reading the projects was stopped, its spill removed


@pytest.mark.parametrize("row_group", [None, 2, 3])
def test_parquet_parts_assemble_to_the_bytes_of_one_write(tmp_path, monkeypatch, row_group):
    import pyarrow.parquet as pq

    from matcher.io import writers

    if row_group is not None:  # row groups smaller than the file, across the parts' bounds
        monkeypatch.setattr(writers, "PARQUET_ROW_GROUP", row_group)
    frame = pd.DataFrame({"a": ["x", None, "z", "w", None], "b": [1.5, 2.0, None, 4.25, 5.0],
                          "c": [1, 2, 3, 4, 5], "d": [None, None, None, "late", None]})
    write_table(frame, tmp_path / "one.parquet")
    parts = []
    for i, (lo, hi) in enumerate([(0, 2), (2, 3), (3, 5)]):
        parts.append(write_table(frame.iloc[lo:hi].reset_index(drop=True), tmp_path / f"p{i}.parquet"))
    assert chunks._concat_parquet(parts, tmp_path / "joined.parquet") == 5
    assert (tmp_path / "one.parquet").read_bytes() == (tmp_path / "joined.parquet").read_bytes()
    groups = pq.ParquetFile(tmp_path / "joined.parquet").metadata.num_row_groups
    assert groups == (1 if row_group is None else -(-5 // row_group))


def test_dask_local_cluster_gives_the_bytes_of_local_threads(files, tmp_path):
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    local = run(files, tmp_path / "local", "--chunk-size", "250", "--format", "parquet")
    assert local.exit_code == 0, local.output
    dask = run(files, tmp_path / "dask", "--chunk-size", "250", "--format", "parquet", "--engine", "dask",
               "--workers", "2")
    assert dask.exit_code == 0, dask.output
    assert outputs(tmp_path / "local", "parquet") == outputs(tmp_path / "dask", "parquet")
    assert summary(tmp_path / "local") == summary(tmp_path / "dask")


def test_dask_at_20000_by_2000_gives_the_bytes_of_local_threads(tmp_path):
    """The issue's size: 2 local worker processes, the chunks cut for them (2 of 10,000) against
    one chunk of 20,000 on local threads: the same files, byte for byte."""
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    folder = tmp_path / "in"
    write_profiles(folder, 20_000, 2_000, seed=11)
    local = run(folder, tmp_path / "local", "--jobs", "2", "--top", "10")
    assert local.exit_code == 0, local.output
    dask = run(folder, tmp_path / "dask", "--engine", "dask", "--workers", "2", "--top", "10")
    assert dask.exit_code == 0, dask.output
    assert outputs(tmp_path / "local") == outputs(tmp_path / "dask")
    said = [summary(tmp_path / name) for name in ("local", "dask")]
    assert [s["parameters"].pop("jobs") for s in said] == [2, 1]  # a Dask worker runs one thread
    assert said[0] == said[1]
    profiles = said[1]["inputs"]["projects"]["profiles"]
    assert profiles > 19_000 and said[1]["pairs"] == profiles * 2_000  # (a few synthetic rows are rejected)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_dask_workers_that_cannot_see_the_parts_return_their_rows(files, tmp_path, fmt):
    """share_parts=False: every worker hands its ranked rows back (a cluster without a shared folder);
    share_parts=True on a local cluster: the workers write them. The same bytes as local threads."""
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    from distributed import Client, LocalCluster

    from matcher.engine.model import Matcher
    from matcher.io.loading import load

    matcher = Matcher(date="2026-06-01", lang="fr", top=4).fit(load("funders", files / "funders.csv").frame)
    frame = matcher.sorted_projects(load("projects", files / "projects.csv").frame)
    fingerprint = {"hash": "0" * 64}

    def batch(out, client=None, share=True):
        out.mkdir()
        paths = {name: out / f"{name}.{fmt}" for name in ("funders_for_projects", "projects_for_funders")}
        done = chunks.run_chunks(matcher, frame, 4, out / "parts", fmt, fingerprint, chunk_size=200, client=client,
                                 share_parts=share)
        assert done.written_by_workers == (5 if client is not None and share else 0)
        chunks.assemble(out / "parts", 5, fmt, 4, paths)
        return {name: path.read_bytes() for name, path in paths.items()}

    local = batch(tmp_path / "local")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        assert batch(tmp_path / "apart", client, share=False) == local
        assert batch(tmp_path / "shared", client, share=True) == local


def test_the_local_cluster_workers_run_without_dask_s_trim_threshold(monkeypatch):
    """local_cluster: 2 worker processes of one thread, without MALLOC_TRIM_THRESHOLD_ (which fixes
    glibc's mmap threshold: every large array mapped afresh), the other settings Dask gives kept."""
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    import os

    # A nanny copies the variables it gives its workers into its own process's environment: those
    # of the clusters of earlier tests, not a user's.
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)

    from distributed import Client

    with chunks.local_cluster(2) as cluster, Client(cluster) as client:
        found = client.run(lambda: (os.environ.get("MALLOC_TRIM_THRESHOLD_"), os.environ.get("OMP_NUM_THREADS")))
        assert sorted(found.values()) == [(None, "1"), (None, "1")]
        assert {w["nthreads"] for w in client.scheduler_info()["workers"].values()} == {1}


def test_chunked_parquet_has_the_bytes_of_one_frame_written(files, tmp_path):
    from matcher.engine.batch import run_batch
    from matcher.engine.model import Matcher
    from matcher.io.loading import load

    assert run(files, tmp_path / "cut", "--format", "parquet", "--chunk-size", "150").exit_code == 0
    matcher = Matcher(date="2026-06-01", lang="fr", top=4).fit(load("funders", files / "funders.csv").frame)
    result = run_batch(matcher, load("projects", files / "projects.csv").frame, top=4)
    for name in ("funders_for_projects", "projects_for_funders"):
        write_table(getattr(result, name), tmp_path / f"{name}.parquet", fmt="parquet")
        assert (tmp_path / f"{name}.parquet").read_bytes() == (tmp_path / "cut" / f"{name}.parquet").read_bytes()


def test_streamed_projects_give_the_bytes_of_one_read(tmp_path, monkeypatch):
    """A messy CSV file and its Parquet copy, read in pieces of 97 or whole: the same files and counts."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from test_streaming import _messy

    from matcher.io import streaming
    from matcher.io.readers import read_table

    folder = tmp_path / "in"
    folder.mkdir()
    messy = _messy(folder)
    parquet = folder / "projects.parquet"
    pq.write_table(pa.Table.from_pandas(read_table(messy).frame, preserve_index=False), parquet, row_group_size=50)
    streamed = []
    real = streaming.Streaming.result  # what the child process read (it reads the projects: issue 17)
    monkeypatch.setattr(streaming.Streaming, "result", lambda self: streamed.append(real(self)) or streamed[-1])
    for path in (messy, parquet):
        results = {}
        for size in ("97", "100000"):
            out = tmp_path / f"{path.suffix[1:]}-{size}"
            done = CliRunner().invoke(cli, ["batch", "--projects", str(path), "--funders", str(folder / "funders.csv"),
                                            "--date", "2026-06-01", "--top", "3", "--quiet", "-o", str(out),
                                            "--chunk-size", size])
            assert done.exit_code == 0, done.output
            results[size] = (outputs(out), summary(out))
        assert results["97"] == results["100000"]
        assert results["97"][1]["inputs"]["projects"]["rows_rejected"] == (4 if path == messy else 3)
    assert [s[1] is not None for s in streamed] == [True, False, True, False]  # in pieces, or read whole
    assert not list(tmp_path.glob("**/projects-*"))  # the spill folders are gone (they are in TMPDIR)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 2_000_000), st.integers(1, 200_000), st.integers(1, 64))
def test_balanced_chunks_give_each_worker_as_many(n, chunk_size, workers):
    import math

    size = chunks.balanced_chunk_size(n, chunk_size, workers)
    count = math.ceil(n / size)
    wanted = min(math.ceil(math.ceil(n / chunk_size) / workers) * workers, n)  # chunks: a multiple of workers
    assert 1 <= size <= chunk_size
    assert count <= wanted
    if n > wanted * (wanted - 1):  # then ceil(n / ceil(n / k)) == k: exactly that many, nearly equal
        assert count == wanted
        assert count % workers == 0 or count == n

"""A batch in chunks of projects: parts on disk, resumable, on threads or on a Dask cluster.

:func:`run_chunks` cuts the projects (sorted by id, :meth:`Matcher.sorted_projects`) into
chunks of ``chunk_size`` and runs :func:`matcher.engine.batch.run_batch` on each, with the
chunk's position among all projects (``position_offset``), so ties break as in one run.
Each chunk leaves two parts in ``parts_dir``:

- ``funders_for_projects-NNNNN.<csv|parquet>``: the chunk's ranked rows (a project's rows
  are all in its chunk);
- ``candidates-NNNNN.parquet``: the chunk's best projects per funder row, explained, with
  their ranking key and funder row (``_key``, ``_funder_row``).

and ``manifest.json`` records the chunks done, their eligibility counts, and the hashes of the
inputs and the parameters. With ``resume``, the chunks already done are skipped; a manifest
of other inputs or parameters is refused. :func:`assemble` then concatenates the parts
(the bytes of a run in one piece) and reduces the candidates to the top K per funder row.

With a Dask ``client``, chunks are tasks on the workers; the fitted matcher is sent to the
workers once (``scatter``). A worker that sees ``parts_dir`` (a local cluster, or a folder
shared by the cluster's machines: it reads the run's token there) writes its chunk's ranked
rows into it, as the local engine does, and returns only the candidates; any other worker
returns the rows to this process, which writes them. The files are the same bytes as with
local threads.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from matcher.core.errors import MatchingError
from matcher.core.memory import release_memory
from matcher.engine.batch import CsvWriter, run_batch
from matcher.io import writers
from matcher.io.writers import atomic_path, write_table, write_text

MANIFEST = "manifest.json"
#: Projects per chunk by default.
CHUNK_PROJECTS = 100_000
KEY, FUNDER_ROW = "_key", "_funder_row"


def file_hash(path) -> str:
    """SHA-256 of a file, or of every file of a folder (names and bytes, in name order)."""
    digest = hashlib.sha256()
    path = Path(path)
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for p in files:
        digest.update(str(p.relative_to(path) if path.is_dir() else p.name).encode())
        with p.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


@dataclass
class ChunksDone:
    eligibility_counts: dict[str, int]
    chunks: int
    resumed: int
    #: Stage times summed over the chunks run here (encode_projects, match, explain; seconds).
    timings: dict[str, float]
    #: Chunks whose ranked rows a Dask worker wrote into the parts folder itself (it sees the folder).
    written_by_workers: int = 0


def balanced_chunk_size(n: int, chunk_size: int, workers: int) -> int:
    """The chunk size at most ``chunk_size`` that cuts ``n`` projects into a multiple of
    ``workers`` chunks of nearly equal size, so that no worker is left alone with the last
    chunk while the others wait (3 chunks of 100,000 on 2 workers: 4 of 75,000).

    >>> balanced_chunk_size(300_000, 100_000, 2), balanced_chunk_size(100_000, 100_000, 2)
    (75000, 50000)
    >>> balanced_chunk_size(10, 100_000, 4), balanced_chunk_size(3, 100_000, 4)
    (3, 1)
    """
    if n < 1 or workers < 1:
        return chunk_size
    chunks = -(-n // chunk_size)
    chunks = min(-(-chunks // workers) * workers, n)
    return -(-n // chunks)


def local_cluster(workers: int):
    """A Dask ``LocalCluster`` of ``workers`` processes of one thread each, on loopback, without
    a dashboard (``--engine dask`` with no ``--scheduler``).

    Dask's nanny starts its workers with ``MALLOC_TRIM_THRESHOLD_=65536`` (freed memory back to
    the system at once); setting it also fixes glibc's mmap threshold, so every large temporary
    array of a block is mapped and unmapped afresh (at 100k x 5k, a third more system time). The
    workers of this cluster go without it (unless this process's environment sets it); each gives
    its memory back after a chunk instead (:func:`matcher.core.memory.release_memory`), as the local
    engine does between chunks."""
    import dask
    from distributed import LocalCluster

    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):  # None: unset
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                            dashboard_address=None)


def _part(parts_dir: Path, name: str, index: int, ext: str) -> Path:
    return parts_dir / f"{name}-{index:05d}.{ext}"


def _chunk_frames(matcher, frame: pd.DataFrame, lo: int, top: int, jobs: int, running, sink=None):
    """One chunk: its ranked rows (None when they went to ``sink``), its explained candidates
    (with key and funder row), its tally."""
    rows: list[pd.DataFrame] | None = [] if sink is None else None
    result = run_batch(matcher, frame, top=top, jobs=jobs, on_project_rows=rows.append if sink is None else sink,
                       position_offset=lo, running=running, sorted_frame=True)
    candidates = result.projects_for_funders.copy()
    candidates[KEY] = result.funder_keys
    candidates[FUNDER_ROW] = result.funder_rows
    counts = [result.eligibility_counts[v] for v in ("eligible", "to_check", "ineligible")]
    return rows, candidates, counts, result.running, result.timings


def _slice(matcher, frame, lo: int, hi: int) -> pd.DataFrame:
    """Projects ``lo..hi`` of the run, sorted by id: a slice of the sorted frame, or a chunk of
    streamed projects (:class:`matcher.io.streaming.SortedProjects`), checked as one frame is."""
    if isinstance(frame, pd.DataFrame):
        return frame.iloc[lo:hi].reset_index(drop=True)
    return matcher.sorted_projects(frame.chunk(lo, hi))


def _remote_chunk(matcher, frame, lo, top, parts_dir, index, ext, token):
    """One chunk on a Dask worker. When the worker sees ``parts_dir`` (the same file system: a
    local cluster, or a shared folder), it writes the chunk's ranked rows there itself, as the
    local engine does, and returns only the candidates; otherwise it returns the rows too."""
    parts_dir = Path(parts_dir)
    if _sees(parts_dir, token):
        with _PartWriter(parts_dir, index, ext) as writer, _Background(writer.write) as sink:
            _, candidates, counts, _, timings = _chunk_frames(matcher, frame, lo, top, 1, None, sink=sink.put)
        timings["write_streamed"] = timings.get("write_streamed", 0.0) + sink.seconds
        rows = None
    else:
        rows, candidates, counts, _, timings = _chunk_frames(matcher, frame, lo, top, 1, None)
    release_memory()  # what the chunk freed goes back to the system (its projects: when the caller lets them go)
    return rows, candidates, counts, timings


#: A file of the parts folder whose text is the run's token: a worker that reads it sees the folder.
TOKEN = "token"


def _sees(parts_dir: Path, token: str | None) -> bool:
    if not token:
        return False
    try:
        return (Path(parts_dir) / TOKEN).read_text(encoding="utf-8") == token
    except OSError:
        return False


def run_chunks(matcher, frame: pd.DataFrame, top: int, parts_dir: Path, fmt: str, fingerprint: dict,
               jobs: int = 1, chunk_size: int = CHUNK_PROJECTS, resume: bool = False, client=None,
               progress: Callable[[str], None] | None = None, share_parts: bool = True) -> ChunksDone:
    """Run every chunk not yet done into ``parts_dir`` (see the module docs).

    ``share_parts`` (Dask): let the workers that see ``parts_dir`` write their ranked rows
    there; with False, every worker returns them to this process, which writes them."""
    if chunk_size < 1:
        raise MatchingError("chunk size must be >= 1")
    n = len(frame)
    bounds = [(lo, min(lo + chunk_size, n)) for lo in range(0, max(n, 1), chunk_size)]
    manifest_path = parts_dir / MANIFEST
    manifest = {"fingerprint": fingerprint, "chunks": len(bounds), "done": {}}
    if resume and manifest_path.exists():
        found = json.loads(manifest_path.read_text(encoding="utf-8"))
        if found.get("fingerprint") != fingerprint or found.get("chunks") != len(bounds):
            raise MatchingError(f"cannot resume in '{parts_dir.parent}': the earlier run had other inputs "
                                "or parameters (run without --resume to start over)")
        manifest["done"] = found.get("done", {})
    else:
        if parts_dir.exists():
            shutil.rmtree(parts_dir)
        parts_dir.mkdir(parents=True)
    ext = "csv" if fmt == "csv" else "parquet"
    done_before = {int(i) for i in manifest["done"]}

    timings: dict[str, float] = {}

    by_workers = 0

    def record(index, rows, candidates, counts, times):
        for name, seconds in times.items():
            if name == "write_streamed":  # the ranked rows written as they came (local) or collected (Dask)
                name = "write_parts" if rows is None else "explain"
            timings[name] = timings.get(name, 0.0) + seconds
        clock = time.perf_counter()
        if rows is not None:
            with _PartWriter(parts_dir, index, ext) as writer:
                for part in rows:
                    writer.write(part)
        write_table(candidates, _part(parts_dir, "candidates", index, "parquet"), fmt="parquet")
        manifest["done"][str(index)] = counts
        write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", manifest_path)
        timings["write_parts"] = timings.get("write_parts", 0.0) + time.perf_counter() - clock

    todo = [i for i in range(len(bounds)) if i not in done_before]
    started, pairs_done = time.perf_counter(), 0
    n_funders = matcher.funder_features_.n

    def report(index):
        nonlocal pairs_done
        lo, hi = bounds[index]
        pairs_done += (hi - lo) * n_funders
        if progress is not None:
            seconds = time.perf_counter() - started
            left = sum(bounds[i][1] - bounds[i][0] for i in todo if str(i) not in manifest["done"])
            rate = pairs_done / seconds if seconds > 0 else 0.0
            eta = left * n_funders / rate if rate else 0.0
            progress(f"chunk {len(manifest['done'])}/{len(bounds)}: {rate / 1e6:.1f} M pairs/s, "
                     f"ETA {eta:.0f} s")

    if client is None:
        running = _running_of(parts_dir, sorted(done_before), top, n_funders) if done_before else None
        for index in todo:
            lo, hi = bounds[index]
            clock = time.perf_counter()
            piece = _slice(matcher, frame, lo, hi)
            timings["read_chunks"] = timings.get("read_chunks", 0.0) + time.perf_counter() - clock
            # The ranked rows written as they come, by a thread of their own (pyarrow releases the GIL
            # while it formats and joins the cells: the writing overlaps with explaining the next rows).
            with _PartWriter(parts_dir, index, ext) as writer, _Background(writer.write) as sink:
                _, candidates, counts, running, times = _chunk_frames(matcher, piece, lo, top, jobs, running,
                                                                      sink=sink.put)
            times["write_streamed"] = times.get("write_streamed", 0.0) + sink.seconds
            del piece
            record(index, None, candidates, counts, times)
            report(index)
            if index != todo[-1]:  # after the last one, assemble() does it
                release_memory()
    else:
        import secrets

        from distributed import as_completed

        remote = client.scatter(matcher, broadcast=True)
        token = None
        if share_parts:
            token = secrets.token_hex(16)
            write_text(token, parts_dir / TOKEN)
        futures = {}
        # At most two chunks per worker are in flight: the projects are sent a chunk at a time.
        in_flight = max(2, 2 * len(client.scheduler_info().get("workers", {})))
        waiting = list(todo)

        def submit(index):
            lo, hi = bounds[index]
            # The chunk's projects go to a worker as data (not inside the task graph), the task after them.
            piece = client.scatter(_slice(matcher, frame, lo, hi), hash=False)
            future = client.submit(_remote_chunk, remote, piece, lo, top, str(parts_dir.resolve()), index, ext,
                                   token, key=f"coopmatch-chunk-{index}-{fingerprint['hash'][:12]}", pure=False)
            futures[future] = index, piece
            return future

        pending = as_completed([submit(waiting.pop(0)) for _ in range(min(in_flight, len(waiting)))])
        for future in pending:
            rows, candidates, counts, times = future.result()
            by_workers += rows is None
            index, piece = futures.pop(future)
            future.release()
            piece.release()
            if waiting:
                pending.add(submit(waiting.pop(0)))
            record(index, rows, candidates, counts, times)
            report(index)
    totals = np.sum([manifest["done"][str(i)] for i in range(len(bounds))], axis=0)
    names = ("eligible", "to_check", "ineligible")
    return ChunksDone(dict(zip(names, map(int, totals), strict=True)), len(bounds), len(done_before), timings,
                      by_workers)


class _PartWriter:
    """The ranked rows of one chunk into its part: one CSV file (written as the rows come), or
    Parquet files of the frames as they come (``funders_for_projects-NNNNN-MMMMM.parquet``:
    :func:`_concat_parquet` unifies their schemas), so a chunk's rows are never all held."""

    def __init__(self, parts_dir: Path, index: int, ext: str):
        self.parts_dir, self.index, self.ext = parts_dir, index, ext
        self.csv = None
        self.count = 0

    def __enter__(self) -> _PartWriter:
        for stale in _ranked_parts(self.parts_dir, self.index, self.ext):  # of an interrupted run
            stale.unlink()
        if self.ext == "csv":
            self.csv = CsvWriter(_part(self.parts_dir, "funders_for_projects", self.index, "csv")).__enter__()
        return self

    def write(self, frame: pd.DataFrame) -> None:
        if self.csv is not None:
            self.csv.write(frame)
        else:
            write_table(frame, self.parts_dir / f"funders_for_projects-{self.index:05d}-{self.count:05d}.parquet",
                        fmt="parquet")
            self.count += 1

    def __exit__(self, *exc) -> bool:
        if self.csv is not None:
            self.csv.__exit__(*exc)
        return False


class _Background:
    """Call ``write`` on each frame :meth:`put` gives it, in order, on a thread of its own.

    At most two frames wait; an error of ``write`` is raised by the next :meth:`put` or at
    the end of the ``with`` block, which waits for the last frame to be written.
    ``seconds``: the time the thread spent writing.
    """

    def __init__(self, write):
        import queue

        self.write = write
        self.queue: queue.Queue = queue.Queue(maxsize=2)
        self.error: BaseException | None = None
        self.seconds = 0.0
        self.thread = None

    def __enter__(self) -> _Background:
        import threading

        self.thread = threading.Thread(target=self._run, name="coopmatch-part-writer", daemon=True)
        self.thread.start()
        return self

    def _run(self) -> None:
        while True:
            frame = self.queue.get()
            if frame is None:
                return
            if self.error is not None:
                continue  # drain: the caller raises
            clock = time.perf_counter()
            try:
                self.write(frame)
            except BaseException as error:  # noqa: BLE001 - handed to the caller
                self.error = error
            self.seconds += time.perf_counter() - clock

    def put(self, frame: pd.DataFrame) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put(frame)

    def __exit__(self, *exc) -> bool:
        self.queue.put(None)
        self.thread.join()
        if self.error is not None and exc[0] is None:
            raise self.error
        return False


def _ranked_parts(parts_dir: Path, index: int, ext: str) -> list[Path]:
    """The part files of chunk ``index``'s ranked rows, in order."""
    if ext == "csv":
        path = _part(parts_dir, "funders_for_projects", index, "csv")
        return [path] if path.exists() else []
    return sorted(parts_dir.glob(f"funders_for_projects-{index:05d}-*.parquet"))


def _running_of(parts_dir: Path, indices: list[int], k: int, n_funders: int) -> np.ndarray:
    """The K best keys per funder row among the candidates of the chunks done."""
    import pyarrow.parquet as pq

    from matcher.engine import kernels

    running = np.full((k, n_funders), kernels.NO_KEY, dtype=np.int64)
    for i in indices:
        table = pq.read_table(_part(parts_dir, "candidates", i, "parquet"), columns=[KEY, FUNDER_ROW])
        key, row = table[KEY].to_numpy(), table[FUNDER_ROW].to_numpy()
        columns = np.full((k, n_funders), kernels.NO_KEY, dtype=np.int64)
        order = np.lexsort((key, row))
        key, row = key[order], row[order]
        starts = np.r_[0, np.flatnonzero(row[1:] != row[:-1]) + 1] if len(row) else np.zeros(0, int)
        rank = np.arange(len(row)) - np.repeat(starts, np.diff(np.r_[starts, len(row)]))
        keep = rank < k
        columns[rank[keep], row[keep]] = key[keep]
        running = np.partition(np.concatenate([running, columns]), k - 1, axis=0)[:k]
    return running


def assemble(parts_dir: Path, chunks: int, fmt: str, top: int, out: dict[str, Path]) -> dict[str, int]:
    """Write the two final files from the parts (atomically) and return their row counts.

    ``funders_for_projects`` is the parts one after another (the CSV header once; Parquet
    row groups as one write of the whole frame makes them); ``projects_for_funders`` is the
    candidates reduced to the top K per funder row, ranked again.
    """
    import pyarrow.parquet as pq

    release_memory()  # what the chunks freed goes back to the system before the assembly holds a row group
    ext = "csv" if fmt == "csv" else "parquet"
    parts = [p for i in range(chunks) for p in _ranked_parts(parts_dir, i, ext)]
    if ext == "csv":
        rows = _concat_csv(parts, out["funders_for_projects"])
    else:
        rows = _concat_parquet(parts, out["funders_for_projects"])
    # The candidates reduced chunk by chunk to the top K per funder row (at most 2 x K x F held).
    candidates = None
    for i in range(chunks):
        found = pq.read_table(_part(parts_dir, "candidates", i, "parquet")).to_pandas()
        candidates = found if candidates is None else _best(pd.concat([candidates, found], ignore_index=True), top)
    candidates = _best(candidates, top)
    final = candidates.drop(columns=[KEY, FUNDER_ROW]).reset_index(drop=True)
    final = _restore_text(final)
    if ext == "csv":
        with CsvWriter(out["projects_for_funders"]) as writer:
            writer.write(final)
    else:
        write_table(final, out["projects_for_funders"], fmt="parquet")
    return {"funders_for_projects": rows, "projects_for_funders": len(final)}


def _best(candidates: pd.DataFrame, top: int) -> pd.DataFrame:
    """The ``top`` candidates of each funder row, by key, ranked (``rank`` 1 first)."""
    order = np.lexsort((candidates[KEY].to_numpy(), candidates[FUNDER_ROW].to_numpy()))
    candidates = candidates.iloc[order].reset_index(drop=True)
    group = candidates[FUNDER_ROW].to_numpy()
    n = len(group)
    starts = np.r_[0, np.flatnonzero(group[1:] != group[:-1]) + 1] if n else np.zeros(0, int)
    rank = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n])) + 1
    candidates["rank"] = rank.astype(np.int64)
    return candidates[rank <= top].reset_index(drop=True)


def _restore_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns read back from Parquet as object columns with None for missing (as written)."""
    for name in frame.columns:
        if frame[name].dtype.kind not in "iufb":  # pandas may read text as a string dtype
            values = frame[name].astype(object)
            frame[name] = pd.Series(values.where(values.notna(), None).to_numpy(dtype=object), dtype=object)
    return frame


def _concat_csv(parts: list[Path], path: Path) -> int:
    rows = 0
    with atomic_path(path) as tmp, tmp.open("wb") as target:
        header = None
        for part in parts:
            with part.open("rb") as source:
                first = source.readline()
                if not first:
                    continue
                if header is None:
                    header = first
                    target.write(first)
                for line in iter(lambda: source.read(1 << 20), b""):
                    rows += line.count(b"\n")
                    target.write(line)
    return rows


def _concat_parquet(parts: list[Path], path: Path) -> int:
    """The parts as one Parquet file, in the row groups :func:`matcher.io.writers.write_table` makes
    (:data:`~matcher.io.writers.PARQUET_ROW_GROUP` rows): the bytes of one write of the whole frame."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schemas = [pq.read_schema(p) for p in parts]
    fields = []
    for i, name in enumerate(schemas[0].names):
        types = [s.field(i).type for s in schemas if not pa.types.is_null(s.field(i).type)]
        fields.append(pa.field(name, types[0] if types else pa.null()))
    schema = pa.schema(fields)
    group = writers.PARQUET_ROW_GROUP
    rows = 0
    with atomic_path(path) as tmp:
        writer = pq.ParquetWriter(tmp, schema)
        try:
            held: list = []
            size = 0
            for part in parts:
                table = pq.read_table(part).cast(schema)
                held.append(table)
                size += len(table)
                rows += len(table)
                while size >= group:
                    joined = pa.concat_tables(held)
                    writer.write_table(joined.slice(0, group), row_group_size=group)
                    rest = joined.slice(group)
                    held, size = [rest], len(rest)
            if size or rows == 0:
                writer.write_table(pa.concat_tables(held) if held else schema.empty_table(),
                                   row_group_size=group)
        finally:
            writer.close()
    return rows

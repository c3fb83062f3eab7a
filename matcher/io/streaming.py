"""Read and normalise a large projects file in pieces, and hand it out sorted by id, a chunk at a time.

``coopmatch batch`` on a national file must not hold every project in memory. For a plain
UTF-8 CSV file (:func:`matcher.io.readers.csv_pieces`) or a Parquet file
(:func:`matcher.io.readers.parquet_pieces`), :func:`stream_projects` reads it in pieces of
about ``rows`` records, normalises each piece, sorts it by ``project_id`` and spills it to
a private folder; :class:`SortedProjects` then gives the projects of positions ``lo..hi``
in id order (what :meth:`Matcher.sorted_projects` would give for the whole file), reading
only the spilled blocks it needs. Memory is bounded by a piece, plus the ids.

The result is that of one read (:func:`matcher.io.loading.load`), row for row and problem
for problem, because what needs the whole file is done once for it:

- the header mapping looks at the file's first 5,000 records (as one read does), gathered
  from the first pieces;
- the reading of 5-digit place codes (INSEE code or postcode,
  :func:`matcher.normalize.pipeline.five_digit_reading`) is decided on the distinct values
  of the whole column, collected by a first pass over the raw pieces (no normalisation;
  it stops after the first 5,000 records when the place columns' headers say how to read them);
- a repeated ``project_id`` is rejected against the ids of every earlier piece (one
  table of ids, :class:`~matcher.normalize.pipeline.SeenKeys`), with the row of its first occurrence;
- problems keep the file's row numbers; the header's problems are reported once.

Anything else a whole read would treat differently (title lines above the header, an
encoding other than UTF-8, a header of another shape in a piece, place columns split in
parts, a cell over the ``cell_chars`` limit) makes :func:`stream_projects` return None, and
the caller reads the file whole: slower, never different.

The spilled blocks are pickles written and read by this process only, in a folder it
creates empty (``tempfile.mkdtemp``) and removes (:meth:`SortedProjects.close`); a spill
is never read from an earlier run.
"""

from __future__ import annotations

import pickle
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from matcher.core.errors import InputError
from matcher.core.memory import release_memory
from matcher.io import readers
from matcher.normalize import parsers
from matcher.normalize import pipeline as p

#: Rows of a spilled block (a chunk reads the blocks that hold its rows).
SPILL_ROWS = 8192
#: Records the header mapping looks at (:class:`matcher.normalize.pipeline._ColumnValues`).
MAPPING_ROWS = 5_000


@dataclass
class _Run:
    """One piece, normalised and sorted by id, in spilled blocks; ``ids`` as
    :func:`matcher.normalize.pipeline.key_array` (some 10 bytes an id, ``np.searchsorted`` ready)."""

    ids: np.ndarray
    blocks: list[Path]


@dataclass
class SortedProjects:
    """The normalised projects of a streamed file, sorted by id, read a chunk at a time."""

    folder: Path
    runs: list[_Run] = field(default_factory=list)
    boundaries: np.ndarray = field(default_factory=lambda: p.key_array([]))  # every id, sorted (chunk bounds)
    #: The distinct values of the ``witness_columns`` over the whole file, one column each (padded
    #: with None): what a whole-file decision on those columns needs (``Matcher.waive_unstated``).
    witness: pd.DataFrame | None = None

    def __len__(self) -> int:
        return len(self.boundaries)

    def chunk(self, lo: int, hi: int) -> pd.DataFrame:
        """Projects ``lo..hi`` (0-based, ``hi`` excluded) in id order, index 0..n-1."""
        if lo >= hi:
            return self._read(self.runs[0], 0, 0) if self.runs else pd.DataFrame()
        low = self.boundaries[lo]
        high = self.boundaries[hi] if hi < len(self.boundaries) else None
        parts = []
        for run in self.runs:
            a = int(np.searchsorted(run.ids, low, side="left"))
            b = len(run.ids) if high is None else int(np.searchsorted(run.ids, high, side="left"))
            if b > a:
                parts.append(self._read(run, a, b))
        frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        if len(parts) > 1:
            ids = frame["project_id"].tolist()
            frame = frame.iloc[sorted(range(len(frame)), key=ids.__getitem__)]
        return frame.reset_index(drop=True)

    @staticmethod
    def _read(run: _Run, a: int, b: int) -> pd.DataFrame:
        first, last = a // SPILL_ROWS, max(a, b - 1) // SPILL_ROWS
        blocks = []
        for i in range(first, last + 1):
            with run.blocks[i].open("rb") as handle:
                blocks.append(pickle.load(handle))  # noqa: S301 - our own spill, written by this process
        frame = pd.concat(blocks, ignore_index=True) if len(blocks) > 1 else blocks[0]
        return frame.iloc[a - first * SPILL_ROWS: b - first * SPILL_ROWS]

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def stream_projects(path, rows: int, forced: dict[str, str] | None = None,
                    spill_in: str | Path | None = None,
                    witness_columns: tuple[str, ...] = ()) -> tuple[p.Normalized, SortedProjects] | None:
    """Read and normalise a projects file in pieces of about ``rows`` records (see the module docs).

    Returns the :class:`~matcher.normalize.pipeline.Normalized` result (``frame`` None: the
    rows are in the :class:`SortedProjects`) and the sorted projects; None when the file
    is to be read whole. ``spill_in``: the folder in which the spill folder is made.
    """
    from projects.pipeline import STEPS

    path = Path(path)
    if path.is_dir():
        return None
    pieces = readers.csv_pieces(path, rows)
    at = {"piece": 0}  # the piece being read (for errors met in the middle of pass 1)
    if pieces is not None:
        def raw_pieces():
            for index in range(len(pieces.bounds)):
                at["piece"] = index
                yield readers.read_csv_piece(pieces, index, kind="projects")
    elif readers.parquet_pieces(path, rows) is not None:
        def raw_pieces():
            for index, raw in enumerate(readers.parquet_pieces(path, rows)):
                at["piece"] = index + 1
                yield raw
    else:
        return None

    # Pass 1 (raw pieces only): the header mapping and the column-wide decisions.
    head: list[pd.DataFrame] = []
    values: dict[str, set] = {}
    mapping = None

    def decide(raw):
        """The header mapping from the pieces held in ``head``, and the place values they hold
        (for the place columns whose 5-digit reading the header does not settle)."""
        found = _mapping(head, raw, forced)
        if found is not None:
            values.update({column: set() for column in _place_columns(found).values()
                           if p.five_digit_reading(_HeaderOnly(), column, []) is None})
            for piece in head:
                _collect(piece, values)
            head.clear()
        return found

    try:
        for raw in raw_pieces():
            if mapping is None:
                head.append(raw.frame)
                if sum(len(f) for f in head) < MAPPING_ROWS:
                    continue
                mapping = decide(raw)
                if mapping is None:
                    return None
                if not values:
                    break  # no column-wide decision left: the other pieces are read once, in pass 2
                continue
            _collect(raw.frame, values)
    except readers.NotStreamable:
        return None
    except InputError:
        if at["piece"] > 0:
            return None  # a limit met in a later piece: one read says where, with the file's line
        raise
    if mapping is None:  # fewer records than the mapping looks at: all of them
        if not head:
            return None
        mapping = decide(raw)
        if mapping is None:
            return None
    from matcher.referential.territories import Territories

    territories = Territories.default()
    five = {name: p.five_digit_reading(territories, column, list(values.get(column, ())))
            for name, column in _place_columns(mapping).items()}
    values.clear()  # the place values of pass 1 are not needed any more

    # Pass 2: normalise each piece, sort it by id, spill it.
    folder = Path(tempfile.mkdtemp(prefix="projects-", dir=spill_in))
    out = SortedProjects(folder)
    options = {"seen_keys": p.SeenKeys(), "five_digits": five}
    problems, sources, summary = [], [], None
    distinct: dict[str, dict] = {name: {} for name in witness_columns}
    try:
        for index, raw in enumerate(raw_pieces()):
            state, mapping = p.start(raw, "projects", forced, options, mapping=mapping,
                                     mapping_problems=index == 0)
            p.require_id_column(state, mapping)
            for step in STEPS:
                step(state)
            done = p.finish(state, mapping, raw)
            problems += done.problems
            sources += done.problem_sources
            summary = done.summary if summary is None else _add(summary, done.summary)
            for name, found in distinct.items():
                if name in done.frame.columns:
                    for value in done.frame[name].tolist():
                        try:
                            found.setdefault((type(value), value), value)
                        except TypeError:  # unhashable
                            found.setdefault((type(value), repr(value)), value)
            _spill(out, done.frame, index)
            del state, done
            parsers.clear_caches()  # what a piece's distinct texts filled: held per piece, not per file
            release_memory()  # a piece's frames, freed, go back to the system
    except readers.NotStreamable:  # met in a piece pass 1 did not read: one read, as for any such file
        out.close()
        return None
    except InputError:
        out.close()
        if at["piece"] > 0:
            return None
        raise
    except BaseException:
        out.close()
        raise
    out.boundaries = np.sort(np.concatenate([run.ids for run in out.runs])) if out.runs else p.key_array([])
    longest = max([len(found) for found in distinct.values()] + [1])
    out.witness = pd.DataFrame({name: pd.Series(list(found.values()) + [None] * (longest - len(found)), dtype=object)
                                for name, found in distinct.items() if found})
    summary["profiles_out"] = len(out.boundaries)
    loaded = p.Normalized(kind="projects", frame=None, problems=problems, summary=summary, mapping=mapping,
                          problem_sources=sources)
    return loaded, out


def _mapping(head: list[pd.DataFrame], raw, forced):
    """The header mapping of the file's first records; None when place columns come in parts."""
    first = pd.concat(head, ignore_index=True) if len(head) > 1 else head[0]
    mapping = p.header_mapping(readers.RawTable(first.iloc[:MAPPING_ROWS], [], [], 0, raw.source, raw.format),
                               "projects", forced)
    return None if len(mapping.place_parts) > 1 else mapping


def _place_columns(mapping) -> dict[str, str]:
    """Place fields -> their source column."""
    from matcher.normalize.schema import SCHEMAS

    return {name: column for column, name in mapping.mapping.items()
            if getattr(SCHEMAS["projects"].get(name), "kind", None) == "places"}


class _HeaderOnly:
    """A stand-in territory table for :func:`five_digit_reading`: None unless the header decides."""

    @staticmethod
    def five_digit_kind(values):
        return None


def _collect(frame: pd.DataFrame, values: dict[str, set]) -> None:
    for column, found in values.items():
        if column in frame.columns:
            found.update(v for v in frame[column].tolist() if isinstance(v, str))


def _add(total: dict, more: dict) -> dict:
    for name in ("rows_read", "rows_normalised", "rows_rejected", "profiles_out", "warnings", "file_problems",
                 "rows_left_out"):
        if name in more:
            total[name] = total.get(name, 0) + more[name]
    return total


def _spill(out: SortedProjects, frame: pd.DataFrame, index: int) -> None:
    ids = [str(v) for v in frame["project_id"].tolist()]
    order = sorted(range(len(frame)), key=ids.__getitem__)
    frame = frame.iloc[order].reset_index(drop=True)
    blocks = []
    for b, lo in enumerate(range(0, max(len(frame), 1), SPILL_ROWS)):
        block = out.folder / f"{index:05d}-{b:05d}.pickle"
        with block.open("wb") as handle:
            pickle.dump(frame.iloc[lo:lo + SPILL_ROWS], handle, protocol=pickle.HIGHEST_PROTOCOL)
        blocks.append(block)
    out.runs.append(_Run(p.key_array([ids[i] for i in order]), blocks))


class Streaming:
    """:func:`stream_projects` running in a child process (:func:`stream_projects_apart`):
    :meth:`result` waits for it and returns what it returned, or raises what it raised."""

    def __init__(self, path, rows: int, options: dict):
        import multiprocessing

        # The spill is made in a folder of this process's, removed by close(): a child stopped
        # before its end (killed) leaves nothing behind.
        self._folder = Path(tempfile.mkdtemp(prefix="coopmatch-read-", dir=options.get("spill_in")))
        options = {**options, "spill_in": self._folder}
        self._call = (path, rows, options)
        self._process = self._receive = None
        self._received = False
        if "fork" in multiprocessing.get_all_start_methods():
            context = multiprocessing.get_context("fork")
            self._receive, send = context.Pipe(duplex=False)
            self._process = context.Process(target=_child, args=(send, path, rows, options),
                                            name="coopmatch-read-projects", daemon=True)
            self._process.start()
            send.close()

    def result(self) -> tuple[p.Normalized, SortedProjects | None]:
        """The projects read: normalised and sorted in a spill (``frame`` None), or, for a file
        :func:`stream_projects` reads whole, the result of one read and None."""
        if self._process is None:  # no fork here (Windows, macOS' default): in this process
            return _read(*self._call)
        try:
            outcome, value = self._receive.recv()
            self._received = True
        except EOFError:  # the child died without a word (killed, out of memory)
            self._process.join()
            raise InputError(f"reading '{self._call[0]}' stopped: its process ended with code "
                             f"{self._process.exitcode}") from None
        finally:
            self._stop()
        if outcome == "error":
            raise value
        return value

    def _stop(self) -> None:
        """Stop the child if it still runs (the caller failed before it asked for the result): the
        pipe closed (a child blocked sending a result larger than its buffer would wait for ever),
        then SIGKILL (the child's memory and files are this process's to free)."""
        if self._process is None:
            return
        self._receive.close()
        if not self._received and self._process.is_alive():
            self._process.kill()
        self._process.join()

    def close(self) -> None:
        """Stop the child if it still runs and remove the spill folder (after the result's
        :class:`SortedProjects` is done with)."""
        self._stop()
        shutil.rmtree(self._folder, ignore_errors=True)


def _read(path, rows, options) -> tuple[p.Normalized, SortedProjects | None]:
    """:func:`stream_projects`, or one read (:func:`matcher.io.loading.load`) of a file it reads whole."""
    streamed = stream_projects(path, rows, **options)
    if streamed is not None:
        return streamed
    from matcher.io.loading import load

    return load("projects", path), None


def _child(send, path, rows, options) -> None:
    try:
        found = ("ok", _read(path, rows, options))
    except BaseException as error:  # noqa: BLE001 - handed to the parent, which raises it
        found = ("error", error)
    try:
        try:
            send.send(found)
        except (pickle.PicklingError, TypeError, AttributeError):  # an error that does not pickle: its words
            if found[0] != "error":
                raise
            send.send(("error", InputError(str(found[1]) or type(found[1]).__name__)))
    except OSError:  # the parent stopped listening (it failed): it removes the spill
        pass
    finally:
        send.close()


def stream_projects_apart(path, rows: int, **options) -> Streaming:
    """Start :func:`stream_projects` in a forked child process and return at once; a file it reads
    whole (one piece, or a shape a whole read treats differently) is read whole there, and the
    result is sent back (a pickle through a pipe: some 25 MB and 0.4 s for 100,000 projects).

    What reading and normalising a national file touches (the parsers' caches, the ids seen, the
    pieces' frames) is the child's, and goes back to the system when it ends: the memory of the
    caller does not grow with the number of projects, only by the ids of the spill (which the
    child creates and the caller removes, :meth:`SortedProjects.close`). The caller may do other
    work meanwhile (``coopmatch batch`` reads the funders). Where ``fork``
    is not available, :meth:`Streaming.result` runs it in this process.
    """
    return Streaming(path, rows, options)

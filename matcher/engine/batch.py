"""Every project against every funder row, top K both ways, in one pass over blocks.

:func:`run_batch` scores blocks of projects against all funder rows with the
fitted :class:`~matcher.engine.model.Matcher` (the same :func:`~matcher.engine.scoring.score_block`
as ``rank_funders``), and keeps, per block:

- for each project, its K best funder rows (the block holds all of them);
- for each funder row, the block's K best projects that can still enter the
  funder's running top K (a threshold per funder row, the K-th best key
  seen so far). Only those pairs' details are gathered, so the work left after
  scoring shrinks as the run goes on.

Blocks may run on several threads (numpy releases the GIL in its loops). The
result does not depend on the number of threads or on the order of input
rows: keys are unique per funder row and per project, selection is exact, and
the frames are sorted canonically (:meth:`Matcher.pairs_frame`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from matcher.core.errors import MatchingError
from matcher.engine import kernels
from matcher.engine.features import Block
from matcher.engine.model import ReasonTexts, block_size
from matcher.engine.scoring import (
    PairDetails,
    check_positions,
    score_block,
    score_pairs,
)


@dataclass
class BatchResult:
    """The two ranked frames and what the run counted and timed."""

    funders_for_projects: pd.DataFrame | None  # None when its rows were streamed to ``on_project_rows``
    projects_for_funders: pd.DataFrame
    eligibility_counts: dict[str, int]
    pairs: int
    timings: dict[str, float] = field(default_factory=dict)
    funders_for_projects_rows: int = 0
    #: Ranking key and funder row index of each row of ``projects_for_funders``, in its order.
    funder_keys: np.ndarray | None = None
    funder_rows: np.ndarray | None = None
    #: The K x F best keys per funder row, this run's and those of ``running`` given to it.
    running: np.ndarray | None = None


def _single_thread_blas():
    """Keep BLAS on one thread: our blocks are small and the threads are ours."""
    try:
        from threadpoolctl import threadpool_limits

        return threadpool_limits(limits=1, user_api="blas")
    except Exception:  # noqa: BLE001 - without threadpoolctl, BLAS keeps its own setting
        import contextlib

        return contextlib.nullcontext()


#: Ranking blocks (:func:`matcher.engine.model.block_size`) scored together by a batch, up to
#: GROUP_PAIRS pairs.
GROUP = 4
GROUP_PAIRS = 1 << 20

#: Ranked rows of funders_for_projects turned into a frame (and streamed) at a time.
STREAM_ROWS = 50_000


def run_batch(matcher, projects: pd.DataFrame, top: int = 10, jobs: int = 1,
              progress: Callable[[int], None] | None = None,
              on_project_rows: Callable[[pd.DataFrame], None] | None = None,
              position_offset: int = 0, running: np.ndarray | None = None,
              sorted_frame: bool = False) -> BatchResult:
    """Rank every project against every funder row of a fitted ``matcher``, both ways.

    Parameters
    ----------
    matcher:
        A fitted :class:`~matcher.engine.model.Matcher`.
    projects:
        Canonical project rows.
    top:
        Funder rows kept per project, and projects kept per funder row.
    jobs:
        Threads scoring blocks at the same time.
    progress:
        Called with the number of projects done after each block.
    on_project_rows:
        When given, the rows of ``funders_for_projects`` are not kept: they
        are passed to it as consecutive frames (about :data:`STREAM_ROWS`
        rows each, in output order) as soon as their blocks are scored, so
        memory does not grow with the number of projects. Concatenated, the
        frames equal the ``funders_for_projects`` frame of a run without it.
    position_offset:
        When ``projects`` are one chunk of a larger run (:mod:`matcher.engine.chunks`): the
        position of its first project among all the run's projects, sorted by id. Ties
        between projects break by that position, so the keys of the chunk's
        ``projects_for_funders`` candidates (``BatchResult.funder_keys``) compare with
        those of the other chunks.
    running:
        The ``K x F`` best keys per funder row of the chunks already done
        (``BatchResult.running`` of the previous chunk): a project that cannot enter a
        funder row's top K is left out of ``projects_for_funders``.
    sorted_frame:
        ``projects`` are already sorted by id and checked (:meth:`Matcher.sorted_projects`).

    Returns
    -------
    BatchResult
        ``funders_for_projects`` equals ``matcher.rank_funders(projects, top)``
        and ``projects_for_funders`` equals ``matcher.rank_projects`` for each
        funder row in turn, concatenated. Timings: ``match`` is the scoring
        loop less the time the calling thread spent building (``explain``)
        and passing on (``write``) streamed rows.
    """
    matcher.check_fitted()
    k = matcher.resolve_top(top)
    if k is None:
        raise MatchingError("batch needs a top K")
    if not isinstance(jobs, int) or jobs < 1:
        raise MatchingError(f"jobs must be a whole number >= 1, not {jobs!r}")
    timings: dict[str, float] = {}
    start = time.perf_counter()
    frame, features = matcher.prepare_projects(projects, sorted_frame=sorted_frame)
    timings["encode_projects"] = time.perf_counter() - start
    ff = matcher.funder_features_
    check_positions(ff.n)
    check_positions(position_offset + features.n)
    n_criteria = len(matcher.criteria_)
    if running is None:
        running = np.full((k, ff.n), kernels.NO_KEY, dtype=np.int64)
    if features.n:  # fill the tables cached on the funder features once, before the threads cut them
        score_block(matcher.criteria_, matcher.rules_, Block(features.slice(0, 1), ff, matcher.space_,
                                                             matcher.day_), matcher.weights_)
    counts = np.zeros(3, dtype=np.int64)

    weights = np.ascontiguousarray(matcher.weights_, dtype=float)
    # The running top K per funder row, sorted (F x K), and its K-th key: the threshold a
    # project must beat to enter. Only the calling thread changes them (in place, only ever
    # lowering them); the workers read the threshold.
    best = np.ascontiguousarray(np.sort(running, axis=0).T)
    threshold = best[:, k - 1].copy()

    def work(bounds):
        lo, hi = bounds
        block = Block(features.slice(lo, hi), ff, matcher.space_, matcher.day_)
        block.product_rows = size
        # Eligibility first: the criteria are computed only for the pairs that fail no rule.
        scored = score_pairs(matcher.criteria_, matcher.rules_, block, weights)
        # Funder rows of each project, best first; projects of each funder row that can still enter.
        by_row, row_keys, by_col, col_keys = kernels.select_pairs(
            scored.rows, scored.cols, scored.keys, hi - lo, k, lo + position_offset, threshold)
        return scored.gather(by_row, row_keys, lo), scored.gather(by_col, col_keys, lo), scored.tally, hi - lo

    # Blocks of GROUP ranking blocks (:func:`block_size`), so that the per-block costs in Python
    # are paid less often; the products inside stay those of each ranking block (product_rows).
    size = block_size(features.n, ff.n)
    step = size * max(1, min(GROUP, GROUP_PAIRS // max(size * ff.n, 1)))
    bounds = [(lo, min(lo + step, features.n)) for lo in range(0, features.n, step)]
    parts_project: list[PairDetails] = []
    parts_funder: list[PairDetails] = []
    held = {"project": 0, "funder": 0}
    streamed = {"rows": 0, "explain": 0.0, "write": 0.0}
    reasons = ReasonTexts(matcher, frame)

    def flush():
        """Turn the held project rows into a frame and pass it on (streaming only)."""
        clock = time.perf_counter()
        details = PairDetails.concat(parts_project, n_criteria)
        parts_project.clear()
        held["project"] = 0
        ranked = matcher.pairs_frame(details, frame, features, by="project", reasons=reasons)
        middle = time.perf_counter()
        on_project_rows(ranked)
        streamed["rows"] += len(ranked)
        streamed["explain"] += middle - clock
        streamed["write"] += time.perf_counter() - middle

    start = time.perf_counter()
    with _single_thread_blas():
        if jobs == 1:
            results = map(work, bounds)
            executor = None
        else:
            executor = ThreadPoolExecutor(max_workers=jobs)
            results = executor.map(work, bounds)
        try:
            for by_project, by_funder, tally, done in results:
                parts_project.append(by_project)
                held["project"] += len(by_project)
                counts += tally
                if len(by_funder):
                    kernels.merge_running(best, threshold, by_funder.funder, by_funder.key)
                    parts_funder.append(by_funder)
                    held["funder"] += len(by_funder)
                    if held["funder"] > 4 * k * ff.n:  # drop pairs that fell out of the running top K
                        kept = PairDetails.concat(parts_funder, n_criteria)
                        kept = kept.take(kept.key <= threshold[kept.funder])
                        parts_funder[:] = [kept]
                        held["funder"] = len(kept)
                if on_project_rows is not None and held["project"] >= STREAM_ROWS:
                    flush()
                if progress is not None:
                    progress(done)
            if on_project_rows is not None and (held["project"] or not streamed["rows"]):
                flush()
        finally:
            if executor is not None:
                executor.shutdown(wait=True, cancel_futures=True)
    timings["match"] = time.perf_counter() - start - streamed["explain"] - streamed["write"]

    start = time.perf_counter()
    if on_project_rows is None:
        details = PairDetails.concat(parts_project, n_criteria)
        ranked_projects = matcher.pairs_frame(details, frame, features, by="project", reasons=reasons)
        project_rows = len(ranked_projects)
    else:
        ranked_projects, project_rows = None, streamed["rows"]
    running = np.ascontiguousarray(best.T)
    final = threshold
    funder_details = PairDetails.concat(parts_funder, n_criteria)
    funder_details = funder_details.take(funder_details.key <= final[funder_details.funder])
    order = np.lexsort((funder_details.key, funder_details.funder))  # the order of pairs_frame
    funder_keys, funder_rows = funder_details.key[order], funder_details.funder[order]
    ranked_funders = matcher.pairs_frame(funder_details, frame, features, by="funder", reasons=reasons)
    timings["explain"] = time.perf_counter() - start + streamed["explain"]
    if on_project_rows is not None:
        timings["write_streamed"] = streamed["write"]
    names = ("eligible", "to_check", "ineligible")
    return BatchResult(ranked_projects, ranked_funders, dict(zip(names, map(int, counts), strict=True)),
                       pairs=int(features.n) * int(ff.n), timings=timings,
                       funders_for_projects_rows=project_rows, funder_keys=funder_keys,
                       funder_rows=funder_rows, running=running)


# --------------------------------------------------------------------------- fast CSV


class CsvWriter:
    """Write frames one after another as one CSV file, with the bytes of :func:`matcher.io.writers.write_table`.

    Rows are formatted a chunk at a time, column by column, with a cache over
    repeated text values. The file is written under a temporary name beside
    ``path`` and renamed into place when the ``with`` block ends without an
    error (removed otherwise), so an interrupted run leaves no half-written
    file. The header is that of the first frame written.

    Examples
    --------
    >>> with CsvWriter("out/ranked.csv") as writer:   # doctest: +SKIP
    ...     for frame in frames:
    ...         writer.write(frame)
    """

    def __init__(self, path, chunk: int = 20_000):
        self.path = path
        self.chunk = chunk
        self.caches: dict[str, dict] = {}
        self.header: list[str] | None = None
        self._atomic = None
        self._handle = None

    def __enter__(self) -> CsvWriter:
        from matcher.io.writers import atomic_path

        self._atomic = atomic_path(self.path)
        tmp = self._atomic.__enter__()
        self._handle = tmp.open("w", encoding="utf-8", newline="")
        return self

    def __exit__(self, *exc) -> bool:
        try:
            self._handle.close()
        finally:
            self._atomic.__exit__(*exc)
        return False

    def write(self, frame: pd.DataFrame) -> None:
        """Append the rows of ``frame`` (its columns must be those of the first frame)."""
        from matcher.io.writers import csv_field, neutralise

        columns = [str(c) for c in frame.columns]
        if self.header is None:
            self.header = columns
            self._handle.write(",".join(csv_field(neutralise(c)) for c in columns) + "\n")
        elif columns != self.header:
            raise ValueError("every frame written to one CSV file needs the same columns")
        for start in range(0, len(frame), self.chunk):
            part = frame.iloc[start:start + self.chunk]
            cells = [self._cells(name, part[name]) for name in frame.columns]
            self._handle.write("".join(",".join(row) + "\n" for row in zip(*cells, strict=True)))

    def _cells(self, name, series: pd.Series) -> list[str]:
        from matcher.io.writers import cell_text, csv_field, neutralise

        if series.dtype.kind == "f":
            # Each distinct value is formatted once (scores repeat a lot); missing -> "" (code -1).
            codes, uniques = pd.factorize(series.to_numpy(dtype=np.float64))
            return _float_texts(np.asarray(uniques, dtype=np.float64))[codes].tolist()
        if series.dtype.kind in "iu":
            return [str(v) for v in series.tolist()]
        try:
            codes, uniques = pd.factorize(series.to_numpy(dtype=object))
        except TypeError:  # unhashable values
            codes, uniques = None, ()
        if codes is not None and all(type(u) is str for u in uniques):
            # Only text and missing values (code -1, written as ""): each distinct text formatted once.
            texts = [csv_field(neutralise(u)) for u in uniques]
            return np.array([*texts, ""], dtype=object)[codes].tolist()
        cache = self.caches.setdefault(name, {})
        out = []
        for v in series.tolist():
            key = (type(v), v)  # the type too: True == 1 == 1.0 but they are written differently
            try:
                hit = cache.get(key)
            except TypeError:  # unhashable: no cache
                out.append(csv_field(neutralise(cell_text(v))))
                continue
            if hit is None:
                hit = csv_field(neutralise(cell_text(v)))
                if len(cache) < 100_000:
                    cache[key] = hit
            out.append(hit)
        return out


def _float_texts(values: np.ndarray) -> np.ndarray:
    """Float cells as :func:`matcher.io.writers.cell_text` writes them (neutralised), and ``""`` last.

    Whole numbers below 1e15 without a decimal part, others as ``repr``; a
    minus sign is the only formula start a number can have, so negative
    numbers get the quote of :func:`matcher.io.writers.neutralise`.
    """
    out = np.empty(len(values) + 1, dtype=object)
    out[-1] = ""
    texts = out[:-1]
    with np.errstate(invalid="ignore"):
        whole = (np.abs(values) < 1e15) & (values == np.trunc(values))
    texts[whole] = [str(int(v)) for v in values[whole].tolist()]
    texts[~whole] = [repr(v) for v in values[~whole].tolist()]
    negative = values < 0
    texts[negative] = ["'" + t for t in texts[negative].tolist()]
    return out


def write_csv_fast(frame: pd.DataFrame, path, chunk: int = 20_000) -> None:
    """Write ``frame`` as :func:`matcher.io.writers.write_table` writes CSV (same bytes, atomically).

    Fast on a million ranked rows, and the memory used does not grow with
    the frame (see :class:`CsvWriter`).
    """
    with CsvWriter(path, chunk) as writer:
        writer.write(frame)

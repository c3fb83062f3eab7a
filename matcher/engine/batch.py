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
GROUP = 16
GROUP_PAIRS = 1 << 22

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
        # Eligibility first: the criteria are computed only for the pairs that fail no rule.
        scored = score_pairs(matcher.criteria_, matcher.rules_, block, weights)
        # Funder rows of each project, best first; projects of each funder row that can still enter.
        by_row, row_keys, by_col, col_keys = kernels.select_pairs(
            scored.rows, scored.cols, scored.keys, hi - lo, k, lo + position_offset, threshold)
        return scored.gather(by_row, row_keys, lo), scored.gather(by_col, col_keys, lo), scored.tally, hi - lo

    # Blocks of GROUP ranking blocks (:func:`block_size`), so that the per-block costs in Python
    # are paid less often (a pair's values do not depend on the block it is scored in).
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

# The CSV writer of the batch lives with the other writers (matcher.io.writers); these names stay.
from matcher.io.writers import CsvWriter, write_csv_fast  # noqa: E402, F401

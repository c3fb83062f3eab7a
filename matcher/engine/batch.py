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
    gather,
    score_block,
    score_eligible,
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
    funder_index = np.arange(ff.n)
    if running is None:
        running = np.full((k, ff.n), kernels.NO_KEY, dtype=np.int64)
    threshold = running.max(axis=0)  # read by workers, only ever lowered
    if features.n:  # fill the tables cached on the funder features once, before the threads cut them
        score_block(matcher.criteria_, matcher.rules_, Block(features.slice(0, 1), ff, matcher.space_,
                                                             matcher.day_), matcher.weights_)
    counts = np.zeros(3, dtype=np.int64)

    position_mask = (np.int64(1) << kernels.POSITION_BITS) - 1

    def work(bounds):
        lo, hi = bounds
        block = Block(features.slice(lo, hi), ff, matcher.space_, matcher.day_)
        # Eligibility first: only the funder rows where a pair of the block can rank are scored.
        scored, alive = score_eligible(matcher.criteria_, matcher.rules_, block, matcher.weights_)
        rows_of = funder_index if alive is None else alive
        keys = scored.keys
        # Funder rows of each project (eligible or to check), best first.
        cols, found, best_keys = kernels.top_rows(keys, k, 0, kernels.INELIGIBLE)
        kept = cols >= 0
        rows = np.repeat(np.arange(hi - lo), found)
        picked, picked_keys = cols[kept], best_keys[kept]
        if alive is not None:  # the position in a key is the funder row's, not the subset's column
            picked_keys = (picked_keys & ~position_mask) | alive[picked]
        by_project = gather(scored, rows, picked, picked_keys, lo, rows_of)
        # Projects of each funder row: the block's k best, if they can still enter.
        best, found, cand = kernels.top_cols(keys, k, lo + position_offset, kernels.INELIGIBLE,
                                             threshold if alive is None else threshold[alive])
        fit = best >= 0
        r, c = best[fit], np.broadcast_to(np.arange(len(rows_of))[None, :], fit.shape)[fit]
        by_funder = gather(scored, r, c, cand[fit], lo, rows_of)
        return by_project, by_funder, scored.tally, hi - lo

    size = block_size(features.n, ff.n)
    bounds = [(lo, min(lo + size, features.n)) for lo in range(0, features.n, size)]
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
                    merged = np.concatenate([running, _columns(by_funder, ff.n, k)], axis=0)
                    running = np.partition(merged, k - 1, axis=0)[:k]
                    threshold = running.max(axis=0)  # the workers read it (closure)
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
    final = running.max(axis=0)
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


def _columns(details: PairDetails, n_funders: int, k: int) -> np.ndarray:
    """Keys of the pairs as a (k x F) array per funder row (padded with no key)."""
    out = np.full((k, n_funders), kernels.NO_KEY, dtype=np.int64)
    order = np.lexsort((details.key, details.funder))
    funder, key = details.funder[order], details.key[order]
    starts = np.r_[0, np.flatnonzero(funder[1:] != funder[:-1]) + 1] if len(funder) else np.zeros(0, int)
    rank = np.arange(len(funder)) - np.repeat(starts, np.diff(np.r_[starts, len(funder)]))
    keep = rank < k
    out[rank[keep], funder[keep]] = key[keep]
    return out




# --------------------------------------------------------------------------- fast CSV

# The CSV writer of the batch lives with the other writers (matcher.io.writers); these names stay.
from matcher.io.writers import CsvWriter, write_csv_fast  # noqa: E402, F401

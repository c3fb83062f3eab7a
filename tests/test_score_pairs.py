"""``score_pairs`` (eligibility first, pair by pair) against ``score_block`` (the whole block): the
same values, bit for bit, at every pair that fails no rule; the selection against ``top_rows`` /
``top_cols``; the running top K merge against a sort."""

from __future__ import annotations

import numpy as np
from conftest import funders_frame, projects_frame
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_model_properties import DATE, fitted, profile_sets

from matcher.engine import kernels
from matcher.engine.features import Block, as_day
from matcher.engine.scoring import score_block, score_pairs

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _same(a, b) -> bool:
    """Equal as bits (NaN equals NaN, 0.0 differs from -0.0)."""
    return np.array_equal(np.asarray(a, dtype=float).view(np.int64), np.asarray(b, dtype=float).view(np.int64))


@SETTINGS
@given(profile_sets)
def test_pairs_have_the_values_of_the_block(profiles):
    projects, funders = projects_frame(*profiles[0]), funders_frame(*profiles[1])
    matcher = fitted(funders)
    features = matcher.space_.encode_projects(projects)
    block = Block(features, matcher.funder_features_, matcher.space_, as_day(DATE))
    whole = score_block(matcher.criteria_, matcher.rules_, block, matcher.weights_)
    fresh = Block(features, matcher.funder_features_, matcher.space_, as_day(DATE))
    pairs = score_pairs(matcher.criteria_, matcher.rules_, fresh, np.ascontiguousarray(matcher.weights_))
    el = whole.eligibility
    rows, cols = np.nonzero(el.fail_bits == 0)
    assert np.array_equal(pairs.rows, rows) and np.array_equal(pairs.cols, cols)  # row by row
    for words in ("fail_bits", "unknown_bits", "warn_bits"):
        assert np.array_equal(getattr(pairs.eligibility, words), getattr(el, words))
    assert _same(pairs.scores, whole.scores[:, rows, cols])
    assert _same(pairs.score, whole.score[rows, cols])
    assert _same(pairs.known_weight, whole.known_weight[rows, cols])
    assert np.array_equal(pairs.verdict, el.verdict[rows, cols])
    assert np.array_equal(pairs.keys, whole.keys[rows, cols])
    assert np.array_equal(pairs.tally, whole.tally)


@SETTINGS
@given(profile_sets, st.integers(1, 4), st.integers(0, 50))
def test_selection_equals_the_block_top_k(profiles, k, offset):
    projects, funders = projects_frame(*profiles[0]), funders_frame(*profiles[1])
    matcher = fitted(funders)
    features = matcher.space_.encode_projects(projects)
    block = Block(features, matcher.funder_features_, matcher.space_, as_day(DATE))
    whole = score_block(matcher.criteria_, matcher.rules_, block, matcher.weights_)
    pairs = score_pairs(matcher.criteria_, matcher.rules_, block, np.ascontiguousarray(matcher.weights_))
    n_rows, n_cols = block.shape
    if not n_rows or not n_cols:
        return
    rng = np.random.default_rng(offset)
    threshold = np.where(rng.random(n_cols) < 0.5, kernels.NO_KEY,
                         whole.keys.min(axis=0) | rng.integers(0, 1 << 20, n_cols))
    by_row, row_keys, by_col, col_keys = kernels.select_pairs(pairs.rows, pairs.cols, pairs.keys, n_rows, k,
                                                              offset, threshold)
    cols, found, best = kernels.top_rows(whole.keys, k, 0, kernels.INELIGIBLE)
    assert np.array_equal(row_keys, best[best != kernels.NO_KEY])
    assert np.array_equal(pairs.cols[by_row], cols[cols >= 0])
    rows, found, best = kernels.top_cols(whole.keys, k, offset, kernels.INELIGIBLE, threshold)
    expected = sorted(zip(np.broadcast_to(np.arange(n_cols), best.shape)[rows >= 0], best[rows >= 0], strict=True))
    got = sorted(zip(pairs.cols[by_col], col_keys, strict=True))
    assert [(int(a), int(b)) for a, b in got] == [(int(a), int(b)) for a, b in expected]
    assert np.array_equal(pairs.rows[by_col] + offset, col_keys & ((1 << kernels.POSITION_BITS) - 1))


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 6), st.integers(1, 5), st.lists(st.tuples(st.integers(0, 4), st.integers(0, 1000)),
                                                       max_size=60))
def test_running_merge_keeps_the_k_smallest(k, n_funders, candidates):
    best = np.full((n_funders, k), kernels.NO_KEY, dtype=np.int64)
    threshold = best[:, -1].copy()
    unique = {}
    for funder, key in candidates:
        if funder < n_funders:
            unique.setdefault((funder, key), None)
    funder = np.array([f for f, _ in unique], dtype=np.int64)
    keys = np.array([key for _, key in unique], dtype=np.int64)
    kernels.merge_running(best, threshold, funder, keys)
    for j in range(n_funders):
        expected = sorted(keys[funder == j].tolist())[:k]
        expected += [int(kernels.NO_KEY)] * (k - len(expected))
        assert best[j].tolist() == expected
        assert threshold[j] == expected[-1]

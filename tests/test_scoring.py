"""Weights, the weighted mean over known criteria, ranking keys and top-K selection."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import funder, funders_frame
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from matcher.core.errors import MatchingError
from matcher.engine import kernels
from matcher.engine.criteria import default_criteria
from matcher.engine.explain import format_amount, format_date, format_percent
from matcher.engine.scoring import (
    DEFAULT_WEIGHTS,
    PairDetails,
    ScoredBlock,
    contributions,
    rank_keys,
    top_per_row,
    unknown_weight,
    weight_matrix,
)

CRITERIA = [c for c in default_criteria() if not c.requires_history]
NAMES = [c.name for c in CRITERIA]


def test_default_weights_cover_every_built_in_criterion_and_sum_to_one():
    assert list(DEFAULT_WEIGHTS) == NAMES
    assert sum(DEFAULT_WEIGHTS.values()) == pytest.approx(1.0)
    # the history criterion, used only with grant history, carries its own weight
    (history,) = [c for c in default_criteria() if c.requires_history]
    assert history.name == "history" and history.default_weight == 1.0


def test_precedence_run_over_funder_over_defaults():
    funders = funders_frame(funder("A", weights={"territory": 0.5, "sector": 0.1}), funder("B"))
    matrix = weight_matrix(funders, CRITERIA, {"sector": 0.3})
    col = {n: i for i, n in enumerate(NAMES)}
    assert matrix[0, col["territory"]] == 0.5  # funder over default
    assert matrix[0, col["sector"]] == 0.3  # run over funder
    assert matrix[1, col["sector"]] == 0.3
    assert matrix[1, col["territory"]] == DEFAULT_WEIGHTS["territory"]


def test_weights_accept_french_and_english_labels():
    matrix = weight_matrix(funders_frame(funder("A", weights={"Forme juridique": 2.0})), CRITERIA,
                           {"just transition": 3.0})
    assert matrix[0, NAMES.index("legal_form")] == 2.0
    assert matrix[0, NAMES.index("just_transition")] == 3.0


def test_bad_weights_are_collected():
    funders = funders_frame(funder("A", weights={"secteur_x": 1.0, "text": -1.0}))
    with pytest.raises(MatchingError) as err:
        weight_matrix(funders, CRITERIA, {"scale": "lots"})
    message = str(err.value)
    assert "secteur_x" in message and "'text' must be" in message and "'scale' is not a number" in message


def test_a_funder_row_with_every_weight_zero_is_refused():
    zero = dict.fromkeys(NAMES, 0.0)
    with pytest.raises(MatchingError, match="funder 'A' weights: every weight is zero"):
        weight_matrix(funders_frame(funder("A", weights=zero)), CRITERIA, None)
    # ...unless the run gives weight back
    assert weight_matrix(funders_frame(funder("A", weights=zero)), CRITERIA, {"text": 1.0}).sum() == 1.0


def _combined(stack, weights, fail, unknown):
    shape = stack.shape[1:]
    out = dict(score=np.empty(shape), known=np.empty(shape), verdict=np.empty(shape, np.int8),
               keys=np.empty(shape, np.int64), tally=np.zeros(3, np.int64))
    kernels.combine(stack, np.ascontiguousarray(weights.T), fail.astype(np.uint16), unknown.astype(np.uint16), **out)
    return out


def test_combine_makes_the_weighted_mean_of_the_known_criteria_and_the_verdicts():
    nan = np.nan
    stack = np.array([[[1.0, nan, 0.2, nan]], [[0.5, 0.4, nan, nan]]])  # 2 criteria x 1 x 4
    weights = np.array([[0.5, 0.25], [0.5, 0.25], [0.5, 0.25], [0.5, 0.25]])
    got = _combined(stack, weights, np.array([[0, 0, 4, 0]]), np.array([[0, 1, 1, 0]]))
    assert got["score"][0].tolist() == pytest.approx([(0.5 + 0.125) / 0.75, 0.4, 0.2, 0.0])
    assert got["known"][0].tolist() == [0.75, 0.25, 0.5, 0.0]
    assert got["verdict"][0].tolist() == [0, 1, 2, 0]  # a failure outweighs an unknown
    assert got["tally"].tolist() == [2, 1, 1]


def test_rank_keys_order_ineligible_last_then_score_then_position():
    stack = np.array([[[0.5, 0.9, 0.7, 0.5, 0.5 + 1e-12]]])
    combined = _combined(stack, np.ones((5, 1)), np.array([[0, 1, 0, 0, 0]]), np.array([[0, 0, 1, 0, 0]]))
    scored = ScoredBlock(stack, combined["score"], combined["known"], None, combined["keys"], combined["tally"])
    keys = rank_keys(scored, np.arange(5)[None, :])
    assert np.argsort(keys[0]).tolist() == [2, 0, 3, 4, 1]  # 1e-12 apart is a tie: by position


def test_top_per_row_keeps_the_k_smallest_in_order():
    keys = np.array([[5, 1, 4, 2], [0, 3, 9, 1]])
    rows, cols = top_per_row(keys, 2)
    assert rows.tolist() == [0, 0, 1, 1] and cols.tolist() == [1, 3, 0, 3]
    rows, cols = top_per_row(keys, None)
    assert cols.tolist() == [1, 3, 2, 0, 0, 3, 1, 2]


# Keys as the kernels see them: the position bits are theirs to fill (multiples of 2**24).
block_keys = hnp.arrays(np.int64, hnp.array_shapes(min_dims=2, max_dims=2, max_side=12),
                        elements=st.integers(0, 40).map(lambda x: x << kernels.POSITION_BITS))


@settings(deadline=None)  # the first call compiles the kernel
@given(block_keys, st.integers(1, 14), st.integers(0, 1000), st.sampled_from([30, 41]))
def test_top_rows_kernel_equals_a_full_sort(keys, k, offset, cut):
    limit = cut << kernels.POSITION_BITS
    cols, found, best = kernels.top_rows(keys, k, offset, limit)
    for i, row in enumerate(keys):
        full = row | (offset + np.arange(len(row)))
        expected = [j for j in np.argsort(full, kind="stable") if full[j] < limit][:k]
        assert cols[i, :found[i]].tolist() == expected
        assert best[i, :found[i]].tolist() == full[expected].tolist()
        assert (cols[i, found[i]:] == -1).all() and (best[i, found[i]:] == kernels.NO_KEY).all()


@settings(deadline=None)  # the first call compiles the kernel
@given(block_keys, st.integers(1, 14), st.integers(0, 1000), st.integers(0, 41))
def test_top_cols_kernel_equals_a_full_sort_under_the_threshold(keys, k, offset, cut):
    threshold = np.full(keys.shape[1], cut << kernels.POSITION_BITS, dtype=np.int64)
    threshold[::2] = kernels.NO_KEY  # no threshold on even columns
    rows, found, best = kernels.top_cols(keys, k, offset, kernels.INELIGIBLE, threshold)
    for j in range(keys.shape[1]):
        full = keys[:, j] | (offset + np.arange(keys.shape[0]))
        expected = [i for i in np.argsort(full, kind="stable") if full[i] < threshold[j]][:k]
        assert rows[:found[j], j].tolist() == expected
        assert best[:found[j], j].tolist() == full[expected].tolist()


def test_contributions_and_unknown_weight():
    details = PairDetails(project=np.array([0]), funder=np.array([0]), key=np.array([0]),
                          verdict=np.array([0], np.int8), score=np.array([0.0]),
                          known_weight=np.array([0.75]), scores=np.array([[1.0, np.nan, 0.5]]),
                          fail_bits=np.zeros(1, np.uint32), unknown_bits=np.zeros(1, np.uint32),
                          warn_bits=np.zeros(1, np.uint32))
    weights = np.array([[0.5, 0.25, 0.25]])
    got = contributions(details, weights)
    assert got[0, 0] == pytest.approx(0.5 / 0.75) and np.isnan(got[0, 1])
    assert got[0, 2] == pytest.approx(0.125 / 0.75)
    assert unknown_weight(details, weights)[0] == pytest.approx(0.25)


def test_amounts_dates_and_percentages_per_language():
    assert format_amount(120_000, "fr") == "120\u202f000\u00a0€"
    assert format_amount(120_000, "en") == "€120,000"
    assert format_amount(1_234.5, "fr") == "1\u202f234,50\u00a0€"
    assert format_amount(1_234.5, "en") == "€1,234.50"
    assert format_amount(float("nan"), "fr") == "non renseigné"
    assert format_date("2026-03-15", "fr") == "15/03/2026"
    assert format_date("2026-03-15", "en") == "15 March 2026"
    assert format_percent(0.4, "fr") == "40\u00a0%" and format_percent(0.4, "en") == "40%"
    assert format_percent(0.045, "en") == "4.5%"


def test_funder_weights_may_come_as_a_mapping_column():
    funders = pd.DataFrame({"funder_id": ["A"], "weights": [{"text": 0.9}]})
    assert weight_matrix(funders, CRITERIA, None)[0, NAMES.index("text")] == 0.9


def test_kernels_still_compile_when_no_cache_folder_is_writable():
    """With no place for numba's disk cache, the loops are compiled in memory instead of failing."""
    import os
    import subprocess
    import sys

    code = ("import numpy as np; from matcher.engine import kernels; "
            "cols, found, _ = kernels.top_rows(np.array([[3 << 24, 1 << 24]]), 1, 0, kernels.INELIGIBLE); "
            "print(cols.tolist(), type(kernels.top_rows._cache).__name__)")
    # A locator that never applies to a plain file: numba has nowhere to cache.
    env = {**os.environ, "NUMBA_CACHE_LOCATOR_CLASSES": "_IPythonCacheLocator"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[[1]]", "NullCache"]

"""Compiled loops of the matching core (numba).

Everything here works on one block of pairs (P projects x F funder rows) and
does in one pass what numpy would do in several: each built-in criterion
fills its P x F layer of the block's score stack, each built-in rule writes
its bit into the block's fail / unknown / warning words, then
:func:`combine` makes the weighted mean of the known criteria, the verdicts
and the ranking keys, and :func:`top_rows` / :func:`top_cols` select the top
K both ways without sorting. The loops are written without data-dependent
branches where it matters, so that they vectorise.

The functions release the GIL (``nogil``), so the threads of ``coopmatch
batch --jobs N`` run them at the same time; they are compiled on first use,
then cached on disk (``cache=True``). Floating-point operations are plain
IEEE (no ``fastmath``) and every sum is taken in a fixed order, so a pair's
values do not depend on the number of threads, nor on the block or the chunk
it is in (no BLAS product: the just-transition coverage, a short dot product
over a dozen criteria, is summed pair by pair, in criterion order).
:mod:`matcher.reference` is the per-pair oracle these loops are tested against.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Scores closer than this rank as ties (then broken by position).
QUANTA = 1e9
#: Bits of a ranking key: ``ineligible (1) | 1e9 - round(score x 1e9) (31) | position (24)``.
POSITION_BITS = 24
BUCKET_SHIFT = 55
INELIGIBLE = np.int64(1) << BUCKET_SHIFT
NO_KEY = np.iinfo(np.int64).max
TINY = np.finfo(np.float64).tiny



def _compiled(function):
    """``njit(nogil=True, cache=True)``; without the disk cache when numba finds no folder
    to write it in (a read-only install and no writable home): then each process compiles
    the loops on first use."""
    try:
        return njit(nogil=True, cache=True)(function)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return njit(nogil=True)(function)


@_compiled
def combine(stack, weights, fail_bits, unknown_bits, score, known, verdict, keys, tally):
    """Score, known weight, verdict and ranking key (without position) of every pair.

    ``stack`` holds the criterion scores (C x P x F, NaN = unknown),
    ``weights`` the effective weights of the funder rows (C x F). The score
    is ``sum(w_c x s_c) / sum(w_c)`` over the known criteria, added in
    criterion order; 0 when none is known. ``tally`` counts the verdicts
    (eligible, to check, ineligible).
    """
    # Written without data-dependent branches so that the loops vectorise.
    n_criteria, n_rows, n_cols = stack.shape
    n_fail = 0
    n_unknown = 0
    for i in range(n_rows):
        num = score[i]
        den = known[i]
        for j in range(n_cols):
            num[j] = 0.0
            den[j] = 0.0
        for c in range(n_criteria):
            values = stack[c, i]
            w = weights[c]
            for j in range(n_cols):
                s = values[j]
                num[j] += (s if s > 0.0 else 0.0) * w[j]  # NaN -> 0
                den[j] += w[j] if s == s else 0.0
        fails = fail_bits[i]
        unknowns = unknown_bits[i]
        verdicts = verdict[i]
        row_keys = keys[i]
        for j in range(n_cols):
            d = den[j]
            value = num[j] / (d if d > TINY else TINY)
            num[j] = value
            clipped = value if value < 1.0 else 1.0
            clipped = clipped if clipped > 0.0 else 0.0
            quantum = np.rint(clipped * QUANTA)
            failed = fails[j] != 0
            unsure = unknowns[j] != 0
            row_keys[j] = (np.int64(QUANTA - quantum) << POSITION_BITS) | (INELIGIBLE if failed else np.int64(0))
            verdicts[j] = 2 if failed else (1 if unsure else 0)
            n_fail += failed
            n_unknown += unsure and not failed
    tally[2] += n_fail
    tally[1] += n_unknown
    tally[0] += n_rows * n_cols - n_fail - n_unknown


@_compiled
def sector_scores(idx, counts, weights, funds, unset, priority_share, rest_share, out):
    """:class:`matcher.engine.criteria.SectorFit` over a block.

    ``idx``: the project's sector rows (P x K, padded with the all-zero last
    row); ``counts``: its number of sectors (NaN unknown); ``weights`` and
    ``funds``: per sector x funder row, the funder's weight and 1.0 where it
    funds the sector; ``unset``: 0 or NaN (funder row without sectors).
    """
    n_rows, width = idx.shape
    n_cols = out.shape[1]
    count = np.empty(n_cols)
    for i in range(n_rows):
        best = out[i]
        n = counts[i]
        if n != n:
            best[:] = np.nan
            continue
        best[:] = 0.0
        count[:] = 0.0
        for k in range(width):
            w = weights[idx[i, k]]
            f = funds[idx[i, k]]
            for j in range(n_cols):
                best[j] = max(best[j], w[j])
                count[j] += f[j]
        share = max(n, 1.0)
        for j in range(n_cols):
            best[j] = best[j] * priority_share + count[j] / share * rest_share + unset[j]


@_compiled
def _decline(decades, span):
    """1 at distance 0, falling linearly to 0 at ``span`` decades (NaN stays NaN)."""
    d = decades * (-1.0 / span) + 1.0
    if d != d:
        return d
    return min(max(d, 0.0), 1.0)


@_compiled
def scale_scores(log_amount, log_of_budget, log_min, log_max, has_range, log_share, span, out):
    """:class:`matcher.engine.criteria.ScaleFit` over a block: the smaller known of the ticket and
    budget-share components (NaN when both are unknown)."""
    n_rows, n_cols = out.shape
    for i in range(n_rows):
        la = log_amount[i]
        lb = log_of_budget[i]
        for j in range(n_cols):
            out[i, j] = _scale_one(la, lb, log_min[j], log_max[j], has_range[j], log_share[j], span)


@_compiled
def _scale_one(la, lb, log_min, log_max, has_range, share, span):
    """The scale score of one pair (see :func:`scale_scores`)."""
    if la != la or not has_range:
        ticket = np.nan
    else:
        ticket = _decline(max(log_min - la, 0.0) + max(la - log_max, 0.0), span)
    if lb != lb or share != share:
        budget = np.nan
    else:
        budget = _decline(max(lb - share, 0.0), span)
    if ticket != ticket:
        return budget
    if budget != budget:
        return ticket
    return min(ticket, budget)


@_compiled
def _insert(best, count, key):
    """Insert ``key`` into ``best[:count]``, kept sorted, and return the new count. A full
    buffer (``count == len(best)``) drops its last key for a smaller one and ignores the
    others."""
    k = best.shape[0]
    if count == k:
        if key >= best[k - 1]:
            return count
        pos = k - 1
    else:
        pos = count
        count += 1
    while pos > 0 and best[pos - 1] > key:
        best[pos] = best[pos - 1]
        pos -= 1
    best[pos] = key
    return count


@_compiled
def top_rows(keys, k, offset, limit):
    """The ``k`` smallest ``key | (offset + column)`` of each row, in order.

    The column's position (``offset + column``, < 2**24) breaks ties; keys
    not below ``limit`` are left out. Returns ``(cols, found, best)``: the
    columns (rows x min(k, columns), padded with -1), how many each row kept,
    and their keys (padded with :data:`NO_KEY`).
    """
    n_rows, n_cols = keys.shape
    k = min(k, n_cols)
    cols = np.full((n_rows, k), -1, dtype=np.int64)
    best = np.full((n_rows, k), NO_KEY, dtype=np.int64)
    found = np.zeros(n_rows, dtype=np.int64)
    mask = (np.int64(1) << POSITION_BITS) - 1
    for i in range(n_rows):
        row_best = best[i]
        count = 0
        for j in range(n_cols):
            key = keys[i, j] | (offset + j)
            if key < limit:
                count = _insert(row_best, count, key)
        for r in range(count):
            cols[i, r] = (row_best[r] & mask) - offset
        found[i] = count
    return cols, found, best


@_compiled
def top_cols(keys, k, offset, limit, threshold):
    """The ``k`` smallest ``key | (offset + row)`` of each column, in order.

    A key is kept only when it is below ``limit`` and below the column's
    ``threshold``. Returns ``(rows, found, best)``: the rows (min(k, rows) x
    columns, padded with -1), how many each column kept, and their keys.
    """
    n_rows, n_cols = keys.shape
    k = min(k, n_rows)
    rows = np.full((n_cols, k), -1, dtype=np.int64)  # one contiguous buffer per column
    best = np.full((n_cols, k), NO_KEY, dtype=np.int64)
    found = np.zeros(n_cols, dtype=np.int64)
    mask = (np.int64(1) << POSITION_BITS) - 1
    for i in range(n_rows):
        position = offset + i
        for j in range(n_cols):
            key = keys[i, j] | position
            if key < limit and key < threshold[j]:
                found[j] = _insert(best[j], found[j], key)
    for j in range(n_cols):
        for r in range(found[j]):
            rows[j, r] = (best[j, r] & mask) - offset
    return rows.T, found, best.T


@_compiled
def _max_code_rows(ptr, codes, index, rows, r, out):
    """``out = the largest of rows[index[code]]`` over the codes of place row ``r`` (CSR
    ``ptr``/``codes``); 0 without codes."""
    out[:] = 0.0
    for k in range(ptr[r], ptr[r + 1]):
        row = rows[index[codes[k]]]
        for j in range(out.shape[0]):
            out[j] = max(out[j], row[j])


@_compiled
def place_relations(place_ptr, in_ptr, in_codes, self_ptr, self_codes,
                    per_in_index, per_in_rows, per_over_index, per_over_rows,
                    exc_in_index, exc_in_rows, exc_over_index, exc_over_rows, has_excluded,
                    all_inside, all_outside, all_excluded, any_excluded, score):
    """:class:`matcher.engine.features.PlaceRelations` of a block, place rows folded per project.

    A place inside the perimeter scores the largest of the funder code rows
    (territory scores, :class:`matcher.engine.features.DenseColumns`) of the codes
    containing it (``in_*``); otherwise, the largest of the rows (partial
    scores) of its own column (``self_*``): perimeter codes inside the place;
    0 when neither. An excluded place scores 0. A project without places gets
    True, True, True, False and NaN; with several, the mean of its places.
    Without ``has_excluded``, ``all_excluded`` and ``any_excluded`` may have no
    columns (P x 0): they are neither read nor written then.
    """
    n_rows, n_cols = score.shape
    inside_val = np.empty(n_cols)
    over_val = np.empty(n_cols)
    exc_val = np.empty(n_cols)
    touch_val = np.empty(n_cols)
    values = np.empty(n_cols)
    for i in range(n_rows):
        first, last = place_ptr[i], place_ptr[i + 1]
        ins, outs, excl, touch, sc = all_inside[i], all_outside[i], all_excluded[i], any_excluded[i], score[i]
        ins[:] = True
        outs[:] = True
        excl[:] = True
        touch[:] = False
        sc[:] = 0.0 if last > first else np.nan
        for r in range(first, last):
            _max_code_rows(in_ptr, in_codes, per_in_index, per_in_rows, r, inside_val)
            _max_code_rows(self_ptr, self_codes, per_over_index, per_over_rows, r, over_val)
            for j in range(n_cols):  # branch-free, so that it vectorises
                inside = inside_val[j] > 0.0
                ins[j] &= inside
                outs[j] &= not inside and over_val[j] == 0.0
                values[j] = inside_val[j] if inside else over_val[j]
            if has_excluded:
                _max_code_rows(in_ptr, in_codes, exc_in_index, exc_in_rows, r, exc_val)
                _max_code_rows(self_ptr, self_codes, exc_over_index, exc_over_rows, r, touch_val)
                for j in range(n_cols):
                    excluded = exc_val[j] > 0.0
                    values[j] = 0.0 if excluded else values[j]
                    excl[j] &= excluded
                    touch[j] |= excluded or touch_val[j] > 0.0
            for j in range(n_cols):
                sc[j] += values[j]
        if last - first > 1:
            for j in range(n_cols):
                sc[j] /= last - first


# --------------------------------------------------------------------------- eligibility bits
# Each writes one rule's bit into the block's fail / unknown / warning words
# (uint16 or uint32, P x F); a pair is never both failed and unknown for a rule.


@_compiled
def choice_bits(p_mask, p_known, f_mask, f_set, fail_on_overlap, warn_partial, bit,
                fail, unknown, warn):
    """A project choice against a funder set of codes (uint64 masks).

    Where the funder row sets the condition: unknown when the project's value
    is; fail when the masks overlap (``fail_on_overlap``, an exclusion list) or
    do not (an accepted list); with ``warn_partial``, a project value only
    partly in the accepted set warns. (Branch-free, like the loops below, so
    that they vectorise.)
    """
    n_rows, n_cols = fail.shape
    for i in range(n_rows):
        mask = p_mask[i]
        known = p_known[i]
        f_row, u_row, w_row = fail[i], unknown[i], warn[i]
        for j in range(n_cols):
            cond = f_set[j] and known
            overlap = (mask & f_mask[j]) != 0
            failed = cond and overlap == fail_on_overlap
            f_row[j] |= bit if failed else 0
            u_row[j] |= bit if f_set[j] and not known else 0
            w_row[j] |= bit if warn_partial and cond and not failed and (mask & ~f_mask[j]) != 0 else 0


@_compiled
def requirement_bits(p_met, p_unknown, f_required, bit, fail, unknown):
    """Every required bit met: fail when one is known not to be, else unknown when one is unknown."""
    n_rows, n_cols = fail.shape
    for i in range(n_rows):
        missing = ~(p_met[i] | p_unknown[i])
        open_ = p_unknown[i]
        f_row, u_row = fail[i], unknown[i]
        for j in range(n_cols):
            required = f_required[j]
            failed = (required & missing) != 0
            f_row[j] |= bit if failed else 0
            u_row[j] |= bit if not failed and (required & open_) != 0 else 0


@_compiled
def row_bits(f_flag, bit, out):
    """The bit on every pair of the funder rows flagged."""
    n_rows, n_cols = out.shape
    for i in range(n_rows):
        row = out[i]
        for j in range(n_cols):
            row[j] |= bit if f_flag[j] else 0


@_compiled
def minimum_bits(amount, minimum, bit, fail, unknown):
    """Below the funder's minimum (NaN: none) fails; an unknown amount is unknown."""
    n_rows, n_cols = fail.shape
    for i in range(n_rows):
        a = amount[i]
        unknown_amount = a != a
        f_row, u_row = fail[i], unknown[i]
        for j in range(n_cols):
            m = minimum[j]
            f_row[j] |= bit if a < m else 0  # false when either is NaN
            u_row[j] |= bit if unknown_amount and m == m else 0


@_compiled
def maximum_bits(amount, maximum, strict, bit, fail, unknown, warn):
    """Above the funder's maximum (NaN: none): a strict one fails (an unknown amount is
    unknown), another warns."""
    n_rows, n_cols = fail.shape
    for i in range(n_rows):
        a = amount[i]
        unknown_amount = a != a
        f_row, u_row, w_row = fail[i], unknown[i], warn[i]
        for j in range(n_cols):  # bitwise, not short-circuit, so that it vectorises
            m = maximum[j]
            over = a > m  # false when either is NaN
            hard = strict[j]
            f_row[j] |= bit * (over & hard)
            w_row[j] |= bit * (over & (not hard))
            u_row[j] |= bit * (unknown_amount & hard & (m == m))


@_compiled
def share_bits(amount, budget, share, bit, warn):
    """Warn when ``amount > budget x share`` (false whenever a value is NaN)."""
    n_rows, n_cols = warn.shape
    for i in range(n_rows):
        a = amount[i]
        b = budget[i]
        row = warn[i]
        for j in range(n_cols):
            row[j] |= bit if a > b * share[j] else 0


@_compiled
def perimeter_bits(has_perimeter, place_known, all_inside, all_outside, bit, fail, unknown):
    """Places against the perimeter: all outside fails; unknown places, some outside or a
    place wider than the perimeter are unknown; an unstated perimeter is unknown."""
    n_rows, n_cols = fail.shape
    for i in range(n_rows):
        known = place_known[i]
        f_row, u_row, inside, outside = fail[i], unknown[i], all_inside[i], all_outside[i]
        for j in range(n_cols):
            failed = has_perimeter[j] and known and outside[j]
            f_row[j] |= bit if failed else 0
            u_row[j] |= bit if not has_perimeter[j] or (not failed and not (known and inside[j])) else 0


@_compiled
def exclusion_bits(has_excluded, place_known, all_excluded, any_excluded, bit, fail, unknown):
    """Places against excluded places: all inside one fails; unknown places or some touching
    one are unknown."""
    n_rows, n_cols = fail.shape
    for i in range(n_rows):
        known = place_known[i]
        f_row, u_row, every, some = fail[i], unknown[i], all_excluded[i], any_excluded[i]
        for j in range(n_cols):
            failed = has_excluded[j] and known and every[j]
            f_row[j] |= bit if failed else 0
            u_row[j] |= bit if has_excluded[j] and not failed and (not known or some[j]) else 0


# --------------------------------------------------------------------------- more criteria


@_compiled
def legal_form_scores(form, known, f_ok, f_listed, f_excluded, f_set, listed, in_group, open_, out):
    """:class:`matcher.engine.criteria.LegalFormFit`: named by the funder > accepted through a group >
    funder open to any form > not accepted or excluded (0); NaN for an unknown form."""
    n_rows, n_cols = out.shape
    for i in range(n_rows):
        row = out[i]
        if not known[i]:
            row[:] = np.nan
            continue
        code = form[i]
        for j in range(n_cols):
            value = 0.0 if f_set[j] else open_
            value = in_group if (code & f_ok[j]) != 0 else value
            value = listed if (code & f_listed[j]) != 0 else value
            row[j] = 0.0 if (code & f_excluded[j]) != 0 else value


@_compiled
def just_transition_scores(scaled, known, priorities, has_priorities, generic, scale, shift, out):
    """:class:`matcher.engine.criteria.JustTransitionFit` of every pair of a block: for funder
    rows with priorities, ``num / den`` (NaN when 0 / 0) where ``num`` sums the project's known
    levels / 3 (``scaled``, P x J, 0 where unknown) times the row's priorities (``priorities``,
    F x J) and ``den`` the priorities of the known levels (``known``, P x J, 1 or 0); the
    project's generic coverage for the other rows; then ``x scale + shift``. The sums are
    added in criterion order, pair by pair: a pair's value does not depend on the block it is
    computed in (a BLAS product's rounding depends on the shape of the product)."""
    n_rows, n_cols = out.shape
    for i in range(n_rows):
        row = out[i]
        for j in range(n_cols):
            row[j] = _just_transition(scaled[i], known[i], priorities[j], has_priorities[j], generic[i],
                                      scale[i], shift[i])


@_compiled
def _just_transition(levels, known, weights, has_priorities, generic, scale, shift):
    if has_priorities:
        num = 0.0
        den = 0.0
        for c in range(levels.shape[0]):
            w = weights[c]
            num += levels[c] * w
            den += known[c] * w
        value = num / den if den != 0.0 else np.nan  # no known level weighted (then num is 0 too)
    else:
        value = generic
    return value * scale + shift


@_compiled
def text_cosines(indptr, indices, data, dense, out):
    """The cosines of the unit TF-IDF rows of :class:`matcher.engine.criteria.TextSimilarity`: the
    product of the sparse project rows (CSR) by the dense funder rows (terms x F), each
    project term added in turn."""
    n_rows, n_cols = out.shape
    for i in range(n_rows):
        row = out[i]
        row[:] = 0.0
        for k in range(indptr[i], indptr[i + 1]):
            v = data[k]
            terms = dense[indices[k]]
            for j in range(n_cols):
                row[j] += v * terms[j]


@_compiled
def text_cosines_sparse(indptr, indices, data, t_indptr, t_indices, t_data, out):
    """:func:`text_cosines` with the funder rows held sparse, by term (CSR of the terms x F
    transpose), for vocabularies too large to hold dense: the same additions in the same
    order, without the zeros (x + 0.0 is x), so the same values."""
    n_rows, n_cols = out.shape
    for i in range(n_rows):
        row = out[i]
        row[:] = 0.0
        for k in range(indptr[i], indptr[i + 1]):
            v = data[k]
            t = indices[k]
            for m in range(t_indptr[t], t_indptr[t + 1]):
                row[t_indices[m]] += v * t_data[m]


# --------------------------------------------------------------------------- pairs (eligibility first)
# The loops below work on the pairs of a block that no hard rule fails, listed row by row
# (``rows``, ``cols``: block row and funder row of each): a pair that fails a rule is never
# kept by a ranking, so its criteria are never computed. Each computes, per pair, exactly
# the operations of the block loop above it, in the same order, so the same values.


@_compiled
def alive_pairs(fail_bits):
    """``(rows, cols)`` of the pairs whose fail word is 0, row by row, and the number of
    funder rows with at least one."""
    n_rows, n_cols = fail_bits.shape
    count = 0
    for i in range(n_rows):
        row = fail_bits[i]
        for j in range(n_cols):
            count += row[j] == 0
    rows = np.empty(count, dtype=np.int64)
    cols = np.empty(count, dtype=np.int64)
    n = 0
    for i in range(n_rows):
        row = fail_bits[i]
        for j in range(n_cols):
            if row[j] == 0:
                rows[n] = i
                cols[n] = j
                n += 1
    return rows, cols


@_compiled
def sector_pairs(idx, counts, table, unset, priority_share, rest_share, rows, cols, out):
    """:func:`sector_scores` of the pairs ``(rows, cols)``; ``table`` holds the weights and
    funds side by side (S + 1 x F x 2: one read per sector). The padding row (the last, all
    zeros) is skipped: ``max(best, 0.0)`` and ``count + 0.0`` change nothing."""
    width = idx.shape[1]
    pad = table.shape[0] - 1
    for n in range(rows.shape[0]):
        i = rows[n]
        j = cols[n]
        c = counts[i]
        if c != c:
            out[n] = np.nan
            continue
        best = 0.0
        count = 0.0
        for k in range(width):
            s = idx[i, k]
            if s != pad:
                best = max(best, table[s, j, 0])
                count += table[s, j, 1]
        share = max(c, 1.0)
        out[n] = best * priority_share + count / share * rest_share + unset[j]


@_compiled
def scale_pairs(log_amount, log_of_budget, log_min, log_max, has_range, log_share, span, rows, cols, out):
    """:func:`scale_scores` of the pairs ``(rows, cols)``."""
    for n in range(rows.shape[0]):
        i = rows[n]
        j = cols[n]
        out[n] = _scale_one(log_amount[i], log_of_budget[i], log_min[j], log_max[j], has_range[j], log_share[j], span)


@_compiled
def legal_form_pairs(form, known, f_ok, f_listed, f_excluded, f_set, listed, in_group, open_, rows, cols, out):
    """:func:`legal_form_scores` of the pairs ``(rows, cols)``."""
    for n in range(rows.shape[0]):
        i = rows[n]
        j = cols[n]
        if not known[i]:
            out[n] = np.nan
            continue
        code = form[i]
        value = 0.0 if f_set[j] else open_
        value = in_group if (code & f_ok[j]) != 0 else value
        value = listed if (code & f_listed[j]) != 0 else value
        out[n] = 0.0 if (code & f_excluded[j]) != 0 else value


@_compiled
def text_cosine_pairs(indptr, indices, data, dense, rows, cols, out):
    """:func:`text_cosines` of the pairs ``(rows, cols)`` (dense funder terms x F). For each
    project, its terms are taken in turn and each is added to all the project's pairs, so
    that a term's row is read in order; each pair gets the same additions in the same order."""
    n_pairs = rows.shape[0]
    start = 0
    while start < n_pairs:  # the pairs of a project are consecutive
        i = rows[start]
        stop = start
        while stop < n_pairs and rows[stop] == i:
            out[stop] = 0.0
            stop += 1
        for k in range(indptr[i], indptr[i + 1]):
            v = data[k]
            terms = dense[indices[k]]
            for n in range(start, stop):
                out[n] += v * terms[cols[n]]
        start = stop


@_compiled
def text_cosine_pairs_sparse(indptr, indices, data, t_indptr, t_indices, t_data, rows, cols, out):
    """:func:`text_cosines_sparse` of the pairs ``(rows, cols)``: the term's funder entries
    are searched (sorted indices); an absent entry adds 0.0, which changes nothing."""
    for n in range(rows.shape[0]):
        i = rows[n]
        j = cols[n]
        value = 0.0
        for k in range(indptr[i], indptr[i + 1]):
            t = indices[k]
            lo = t_indptr[t]
            hi = t_indptr[t + 1]
            while lo < hi:
                mid = (lo + hi) // 2
                if t_indices[mid] < j:
                    lo = mid + 1
                else:
                    hi = mid
            if lo < t_indptr[t + 1] and t_indices[lo] == j:
                value += data[k] * t_data[lo]
        out[n] = value


@_compiled
def just_transition_pairs(scaled, known, priorities, has_priorities, generic, scale, shift, rows, cols, out):
    """:func:`just_transition_scores` of the pairs ``(rows, cols)`` (the same value, bit for bit)."""
    for n in range(rows.shape[0]):
        i = rows[n]
        j = cols[n]
        out[n] = _just_transition(scaled[i], known[i], priorities[j], has_priorities[j], generic[i], scale[i],
                                  shift[i])


@_compiled
def combine_pairs(stack, weights, unknown_bits, rows, cols, score, known, verdict, keys):
    """:func:`combine` of pairs that fail no rule: ``stack`` is C x N (one column per pair),
    ``weights`` F x C (a pair reads one row); the sums are added in criterion order as there.
    Returns the number of pairs to check."""
    n_criteria, n_pairs = stack.shape
    n_unknown = 0
    for n in range(n_pairs):
        j = cols[n]
        row_weights = weights[j]
        num = 0.0
        den = 0.0
        for c in range(n_criteria):
            s = stack[c, n]
            w = row_weights[c]
            num += (s if s > 0.0 else 0.0) * w
            den += w if s == s else 0.0
        value = num / (den if den > TINY else TINY)
        score[n] = value
        known[n] = den
        clipped = value if value < 1.0 else 1.0
        clipped = clipped if clipped > 0.0 else 0.0
        quantum = np.rint(clipped * QUANTA)
        keys[n] = np.int64(QUANTA - quantum) << POSITION_BITS
        unsure = unknown_bits[rows[n], j] != 0
        verdict[n] = 1 if unsure else 0
        n_unknown += unsure
    return n_unknown


@_compiled
def select_pairs(rows, cols, keys, n_rows, k, row_offset, threshold):
    """The pairs kept among a block's pairs (listed row by row; keys without position).

    Returns ``(by_row, row_keys, by_col, col_keys)``: the indices and keys of the ``k``
    smallest ``key | col`` of each row (row by row, in key order), and of the ``k``
    smallest ``key | (row_offset + row)`` of each column that are below the column's
    ``threshold`` (column by column, in key order).
    """
    n_pairs = rows.shape[0]
    by_row = np.empty(min(n_pairs, n_rows * k), dtype=np.int64)
    row_keys = np.empty(by_row.shape[0], dtype=np.int64)
    best = np.empty(k, dtype=np.int64)
    items = np.empty(k, dtype=np.int64)
    m = 0
    start = 0
    while start < n_pairs:  # the pairs of a row are consecutive
        i = rows[start]
        count = 0
        stop = start
        while stop < n_pairs and rows[stop] == i:
            key = keys[stop] | cols[stop]
            if count < k or key < best[k - 1]:  # (an insertion into the sorted buffer)
                pos = count if count < k else k - 1
                count = count + 1 if count < k else k
                while pos > 0 and best[pos - 1] > key:
                    best[pos] = best[pos - 1]
                    items[pos] = items[pos - 1]
                    pos -= 1
                best[pos] = key
                items[pos] = stop
            stop += 1
        for r in range(count):
            row_keys[m] = best[r]
            by_row[m] = items[r]
            m += 1
        start = stop
    n_by_row = m
    n_cols = threshold.shape[0]
    slot = np.full(n_cols, -1, dtype=np.int64)
    n_slots = 0
    for n in range(n_pairs):
        j = cols[n]
        if slot[j] < 0 and (keys[n] | (row_offset + rows[n])) < threshold[j]:
            slot[j] = n_slots
            n_slots += 1
    buf = np.full((n_slots, k), NO_KEY, dtype=np.int64)
    buf_items = np.empty((n_slots, k), dtype=np.int64)
    found = np.zeros(n_slots, dtype=np.int64)
    for n in range(n_pairs):
        j = cols[n]
        key = keys[n] | (row_offset + rows[n])
        if key < threshold[j]:
            s = slot[j]
            count = found[s]
            if count < k or key < buf[s, k - 1]:  # (an insertion into the sorted buffer)
                pos = count if count < k else k - 1
                found[s] = count + 1 if count < k else k
                while pos > 0 and buf[s, pos - 1] > key:
                    buf[s, pos] = buf[s, pos - 1]
                    buf_items[s, pos] = buf_items[s, pos - 1]
                    pos -= 1
                buf[s, pos] = key
                buf_items[s, pos] = n
    total = 0
    for s in range(n_slots):
        total += found[s]
    by_col = np.empty(total, dtype=np.int64)
    col_keys = np.empty(total, dtype=np.int64)
    m = 0
    for s in range(n_slots):
        for r in range(found[s]):
            col_keys[m] = buf[s, r]
            by_col[m] = buf_items[s, r]
            m += 1
    return by_row[:n_by_row], row_keys[:n_by_row], by_col, col_keys


@_compiled
def merge_running(running, threshold, funder, keys):
    """Insert candidate ``keys`` of funder rows ``funder`` into the running top K per funder
    row (``running``: F x K, each row sorted, padded with :data:`NO_KEY`) and lower each
    ``threshold`` (the K-th key) to match."""
    k = running.shape[1]
    for n in range(keys.shape[0]):
        j = funder[n]
        row = running[j]
        key = keys[n]
        if key >= row[k - 1]:
            continue
        pos = k - 1
        while pos > 0 and row[pos - 1] > key:
            row[pos] = row[pos - 1]
            pos -= 1
        row[pos] = key
        threshold[j] = row[k - 1]


@_compiled
def _any_code_rows(ptr, codes, index, flags, r, out):
    """``out |= flags[index[code]]`` over the codes of place row ``r`` (0/1 uint8 rows)."""
    for k in range(ptr[r], ptr[r + 1]):
        row = flags[index[codes[k]]]
        for j in range(out.shape[0]):
            out[j] |= row[j]


@_compiled
def place_flags(place_ptr, in_ptr, in_codes, self_ptr, self_codes,
                per_in_index, per_in_flags, per_over_index, per_over_flags,
                exc_in_index, exc_in_flags, exc_over_index, exc_over_flags, has_excluded,
                all_inside, all_outside, all_excluded, any_excluded):
    """The four boolean relations of :func:`place_relations`, without the score: only
    whether a code row is above 0 matters to them, so the rows are read as bytes that are
    0 where the row is (``*_flags``: the level bytes of
    :class:`matcher.engine.features.DenseColumns`), eight times less memory than the floats."""
    n_rows, n_cols = all_inside.shape
    inside_val = np.empty(n_cols, dtype=np.uint8)
    over_val = np.empty(n_cols, dtype=np.uint8)
    exc_val = np.empty(n_cols, dtype=np.uint8)
    touch_val = np.empty(n_cols, dtype=np.uint8)
    for i in range(n_rows):
        first, last = place_ptr[i], place_ptr[i + 1]
        ins, outs, excl, touch = all_inside[i], all_outside[i], all_excluded[i], any_excluded[i]
        ins[:] = True
        outs[:] = True
        excl[:] = True
        touch[:] = False
        for r in range(first, last):
            inside_val[:] = 0
            over_val[:] = 0
            _any_code_rows(in_ptr, in_codes, per_in_index, per_in_flags, r, inside_val)
            _any_code_rows(self_ptr, self_codes, per_over_index, per_over_flags, r, over_val)
            for j in range(n_cols):
                inside = inside_val[j] != 0
                ins[j] &= inside
                outs[j] &= not inside and over_val[j] == 0
            if has_excluded:
                exc_val[:] = 0
                touch_val[:] = 0
                _any_code_rows(in_ptr, in_codes, exc_in_index, exc_in_flags, r, exc_val)
                _any_code_rows(self_ptr, self_codes, exc_over_index, exc_over_flags, r, touch_val)
                for j in range(n_cols):
                    excluded = exc_val[j] != 0
                    excl[j] &= excluded
                    touch[j] |= excluded or touch_val[j] != 0


@_compiled
def _max_level_at(ptr, codes, index, levels, r, j):
    value = 0
    for k in range(ptr[r], ptr[r + 1]):
        value = max(value, levels[index[codes[k]], j])
    return value


@_compiled
def place_score_pairs(place_ptr, in_ptr, in_codes, self_ptr, self_codes,
                      per_in_index, per_in_levels, per_in_table, per_over_index, per_over_levels,
                      per_over_table, exc_in_index, exc_in_levels, has_excluded, rows, cols, out):
    """The ``score`` of :func:`place_relations` for the pairs ``(rows, cols)``: the same sums
    and division, pair by pair, the code rows read as level bytes (``table[levels]`` is the
    row of scores, and the largest byte is the byte of the largest score)."""
    for n in range(rows.shape[0]):
        i = rows[n]
        j = cols[n]
        first, last = place_ptr[i], place_ptr[i + 1]
        total = 0.0 if last > first else np.nan
        for r in range(first, last):
            inside = _max_level_at(in_ptr, in_codes, per_in_index, per_in_levels, r, j)
            if inside > 0:
                value = per_in_table[inside]
            else:
                value = per_over_table[_max_level_at(self_ptr, self_codes, per_over_index, per_over_levels, r, j)]
            if has_excluded and _max_level_at(in_ptr, in_codes, exc_in_index, exc_in_levels, r, j) > 0:
                value = 0.0
            total += value
        if last - first > 1:
            total /= last - first
        out[n] = total


@_compiled
def perimeter_place_bits(place_ptr, in_ptr, in_codes, self_ptr, self_codes,
                         per_in_index, per_in_levels, per_over_index, per_over_levels,
                         has_perimeter, place_known, bit, fail, unknown):
    """:func:`perimeter_bits` from the places themselves: a project's ``all_inside`` and
    ``all_outside`` (as :func:`place_flags` makes them) are made for its row only, then its
    bits written, without the block's relations."""
    n_rows, n_cols = fail.shape
    ins = np.empty(n_cols, dtype=np.bool_)
    outs = np.empty(n_cols, dtype=np.bool_)
    inside_val = np.empty(n_cols, dtype=np.uint8)
    over_val = np.empty(n_cols, dtype=np.uint8)
    for i in range(n_rows):
        ins[:] = True
        outs[:] = True
        for r in range(place_ptr[i], place_ptr[i + 1]):
            inside_val[:] = 0
            over_val[:] = 0
            _any_code_rows(in_ptr, in_codes, per_in_index, per_in_levels, r, inside_val)
            _any_code_rows(self_ptr, self_codes, per_over_index, per_over_levels, r, over_val)
            for j in range(n_cols):
                inside = inside_val[j] != 0
                ins[j] &= inside
                outs[j] &= not inside and over_val[j] == 0
        known = place_known[i]
        f_row, u_row = fail[i], unknown[i]
        for j in range(n_cols):  # bitwise, not short-circuit, so that it vectorises
            failed = has_perimeter[j] & known & outs[j]
            open_ = (not has_perimeter[j]) | ((not failed) & (not (known & ins[j])))
            f_row[j] |= bit * failed
            u_row[j] |= bit * open_

"""Learn funder profiles from grant history: what each funder actually funded.

:func:`learn_funders` turns canonical history rows
(:data:`matcher.normalize.schema.HISTORY_FIELDS`) into canonical funder rows
(:data:`matcher.normalize.schema.FUNDER_FIELDS`), one per funder with at least one
granted row, marked ``learned=True``. Only granted rows teach anything; a
funder with no grant in the window is left out.

What is learned, and how
    ``name``
        The funder's most frequent ``funder_name`` (ties: alphabetical), with
        the funder id in brackets when several funders share that name
        ("Ville de Paris (DAC)"); the id alone when no name is known.
    ``sectors``
        Share of grants per sector: a grant counts once for each of its
        sectors, over the grants whose sectors are known. Each sector gets a
        priority from its share relative to the top one, ``r``: 3 when
        ``r >= 0.75``, 2 when ``r >= 0.25``, else 1. Kept: every sector of
        priority 2 or 3, and the priority-1 sectors needed, by decreasing
        share (ties together), for the kept sectors to cover
        :data:`SECTOR_COVERAGE` (90 %) of the grants (a grant is covered when
        one of its sectors is kept). Rare sectors are dropped: they say little
        about what the funder looks for.
    ``ticket_min``, ``ticket_max``
        The 5th and 95th percentiles (:data:`TICKET_QUANTILES`, linear
        interpolation) of the positive awarded amounts, rounded to two
        significant digits, down for the minimum and up for the maximum
        (4 870 -> 4 800, 48 765 -> 49 000).
    ``instruments``
        ``grant``: history rows are grants.
    ``description``
        A short French summary: number of grants and years, sectors, usual
        amounts, the recipients' legal forms seen (for information only) and
        the typical words of the granted purposes (see :func:`typical_terms`).
    extra columns ``grants_count`` and ``years``
        Number of granted rows; first and last year (``2013-2019``).

Learned values describe habits, never rules: ``eligible_legal_forms``,
``perimeter``, ``excluded_*``, ``requires_esus``, ``stages``,
``expense_types``, ``just_transition_requirements`` and ``funder_type`` stay
unknown (no condition). The output is sorted by ``funder_id`` and every tie is
broken by id or label, so the same history gives the same profiles.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict

import numpy as np
import pandas as pd

from funders.history import GRANTED, decision_status
from matcher.core.errors import MappingError
from matcher.core.missing import is_missing
from matcher.core.textsim import surface_tokens
from matcher.normalize.schema import FUNDER_FIELDS
from matcher.referential.vocabularies import get_vocabulary

#: Share of the grants (with known sectors) that the kept sectors must cover.
SECTOR_COVERAGE = 0.9
#: Percentiles of the awarded amounts giving ticket_min and ticket_max.
TICKET_QUANTILES = (0.05, 0.95)
#: Typical words shown per funder.
TERMS_SHOWN = 8
#: Legal forms of recipients shown per funder.
LEGAL_FORMS_SHOWN = 3
#: Extra columns after the canonical ones.
EXTRA_COLUMNS = ("grants_count", "years")


# --------------------------------------------------------------------------- pieces


def sector_priorities(sector_lists: list, coverage: float = SECTOR_COVERAGE) -> dict[str, float] | None:
    """Priority weights (1-3) of a funder's sectors, from one sector list per grant.

    ``sector_lists`` holds one entry per grant: a tuple of sector ids, or None
    when unknown (ignored). Kept: the sectors, by decreasing share of grants
    (ties together), until they cover ``coverage`` of the grants, plus every
    major sector (priority 2 or 3) even past that point, since grants often
    carry several sectors. Returns ``{sector: weight}`` sorted by id, or None
    when no grant has a known sector.
    """
    known = [tuple(s) for s in sector_lists if _is_list(s) and len(s) > 0]
    if not known:
        return None
    counts = Counter(sector for sectors in known for sector in set(sectors))
    ranked = sorted(counts, key=lambda s: (-counts[s], s))
    top = counts[ranked[0]]
    kept: list[str] = []
    covered = np.zeros(len(known), dtype=bool)
    for sector in ranked:
        done = covered.mean() >= coverage
        if done and counts[sector] < counts[kept[-1]] and _priority(counts[sector] / top) < 2:
            break  # covered, and past the ties of the last sector kept and the major sectors
        kept.append(sector)
        covered |= np.fromiter((sector in sectors for sectors in known), bool, len(known))
    return {s: float(_priority(counts[s] / top)) for s in sorted(kept)}


def _priority(relative_share: float) -> int:
    """1, 2 or 3 from a share relative to the top sector's (1.0 for the top)."""
    return 3 if relative_share >= 0.75 else 2 if relative_share >= 0.25 else 1


def _is_list(value) -> bool:
    return isinstance(value, tuple | list | set | frozenset | np.ndarray)


def round_amount(value: float, up: bool) -> float:
    """``value`` rounded to two significant digits, up or down (never below 1 €)."""
    if not value > 0 or not math.isfinite(value):
        return float("nan")
    step = 10 ** max(0, math.floor(math.log10(value)) - 1)
    rounded = (math.ceil if up else math.floor)(value / step - (1e-9 if up else -1e-9)) * step
    return float(max(rounded, 1))


def ticket_range(amounts: np.ndarray,
                 quantiles: tuple[float, float] = TICKET_QUANTILES) -> tuple[float, float]:
    """Rounded low and high percentiles of positive amounts; NaN when there is none."""
    amounts = amounts[np.isfinite(amounts) & (amounts > 0)]
    if amounts.size == 0:
        return float("nan"), float("nan")
    low, high = np.quantile(amounts, quantiles)
    return round_amount(float(low), up=False), round_amount(float(high), up=True)


def typical_terms(purposes_by_funder: dict[str, list[str]], shown: int = TERMS_SHOWN) -> dict[str, list[str]]:
    """The words that mark each funder's granted purposes, most typical first.

    A TF-IDF over funders: a word (merged by its French stem, shown in its most
    frequent written form) scores the share of the funder's purposes that use
    it times ``ln((1 + F) / F_w)``, where ``F`` is the number of funders and
    ``F_w`` those that use the word, so a word every funder uses scores almost
    nothing ("fonctionnement", "subvention") and, with one funder, the most
    used words win. Stop words, numbers, words under three letters and the
    words of the funder's own id ("DAC") are dropped; with two purposes or
    more, a word must appear in at least two. Ties break alphabetically.
    """
    analysed: dict[str, tuple[frozenset[str], tuple[tuple[str, str], ...]]] = {}
    usage: dict[str, Counter] = {}
    forms: dict[str, dict[str, Counter]] = {}
    for funder, texts in purposes_by_funder.items():
        counts: Counter = Counter()
        written: dict[str, Counter] = defaultdict(Counter)
        for text in texts:
            found = analysed.get(text)
            if found is None:
                pairs = tuple((w, s) for w, s in surface_tokens(text) if len(w) >= 3 and w.isalpha())
                found = (frozenset(s for _, s in pairs), pairs)
                analysed[text] = found
            counts.update(found[0])
            for word, stem in found[1]:
                written[stem][word] += 1
        usage[funder] = counts
        forms[funder] = written
    spread = Counter(stem for counts in usage.values() for stem in counts)
    n_funders = len(purposes_by_funder)
    own = {f: {s for _, s in surface_tokens(f)} for f in purposes_by_funder}
    out: dict[str, list[str]] = {}
    for funder, texts in purposes_by_funder.items():
        n_texts = len(texts)
        floor = min(2, n_texts)
        scored = [
            (-(count / n_texts) * math.log((1 + n_funders) / spread[stem]), stem)
            for stem, count in usage[funder].items() if count >= floor and stem not in own[funder]
        ]
        scored.sort()
        words = []
        for _, stem in scored[:shown]:
            written = forms[funder][stem]
            words.append(min(written, key=lambda w: (-written[w], w)))
        out[funder] = words
    return out


def _number(n: int) -> str:
    return f"{n:,}".replace(",", " ")


def _euros(value: float) -> str:
    return f"{_number(int(value))} €"


def describe(grants: int, years: tuple[int, int] | None, sectors: dict[str, float] | None,
             ticket: tuple[float, float], legal_forms: list[tuple[str, float]],
             terms: list[str]) -> str:
    """The French summary of one learned profile."""
    noun = "subvention accordée" if grants == 1 else "subventions accordées"
    text = f"Profil appris de {_number(grants)} {noun}"
    if years is not None:
        text += f" ({years[0]})" if years[0] == years[1] else f" ({years[0]}–{years[1]})"
    text += "."
    if sectors:
        labels = get_vocabulary("sectors")
        ordered = sorted(sectors, key=lambda s: (-sectors[s], s))
        text += " Secteurs : " + ", ".join(labels.label(s).lower() for s in ordered) + "."
    low, high = ticket
    if not math.isnan(low):
        text += (f" Montant habituel : {_euros(low)}." if low == high
                 else f" Montants habituels : {_euros(low)} à {_euros(high)}.")
    if legal_forms:
        forms = get_vocabulary("legal_forms")
        shown = ", ".join(f"{forms.label(f).lower()} ({round(share * 100)} %)" for f, share in legal_forms)
        text += f" Bénéficiaires observés (indicatif) : {shown}."
    if terms:
        text += " Termes fréquents : " + ", ".join(terms) + "."
    return text


# --------------------------------------------------------------------------- profiles


def _column(history: pd.DataFrame, name: str) -> list:
    if name not in history.columns:
        return [None] * len(history)
    return [None if is_missing(v) else v for v in history[name].tolist()]






def _names(history: pd.DataFrame, funder_ids: list) -> dict[str, str]:
    """Most frequent funder_name per funder; disambiguated when names are shared."""
    counts: dict[str, Counter] = defaultdict(Counter)
    for funder, name in zip(funder_ids, _column(history, "funder_name"), strict=True):
        if funder is not None and name is not None:
            counts[funder][" ".join(str(name).split())] += 1
    best = {f: min(c, key=lambda n: (-c[n], n)) for f, c in counts.items()}
    holders = Counter(best.values())
    return {f: (n if holders[n] == 1 else f"{n} ({f})") for f, n in best.items()}


def _empty_frame(n: int) -> dict[str, object]:
    columns: dict[str, object] = {}
    for name, spec in FUNDER_FIELDS.items():
        if spec.kind in ("amount", "percent"):
            columns[name] = pd.Series([np.nan] * n, dtype=float)
        elif spec.kind == "bool":
            columns[name] = pd.array([pd.NA] * n, dtype="boolean")
        elif spec.kind == "int":
            columns[name] = pd.array([pd.NA] * n, dtype="Int64")
        else:
            columns[name] = pd.Series([None] * n, dtype=object)
    return columns


def learn_funders(history: pd.DataFrame, until_year: int | None = None, *,
                  coverage: float = SECTOR_COVERAGE,
                  quantiles: tuple[float, float] = TICKET_QUANTILES,
                  dormant_years: int | None = None) -> pd.DataFrame:
    """Funder profiles learned from canonical history rows (see the module docstring).

    Parameters
    ----------
    history:
        Canonical history rows (``funder_id`` required; ``status``,
        ``amount_awarded``, ``sectors``, ``purpose``, ``year``,
        ``funder_name`` and ``recipient_legal_form`` used when present).
        Without a ``status`` column a positive ``amount_awarded`` means granted.
    until_year:
        Learn only from rows of that year or before (rows of unknown year are
        then left out): for a time split, learn on the past, test on the rest.
    coverage, quantiles:
        See :data:`SECTOR_COVERAGE` and :data:`TICKET_QUANTILES`.
    dormant_years:
        When set, a funder with no grant in the last ``dormant_years`` years of
        the history (its latest grant year before ``latest - dormant_years + 1``)
        is dormant: its ``call_closes`` is December 31st of its latest grant year,
        so the ``call_open`` rule closes it (a directorate renamed or merged, e.g.
        Paris's DPVI into DDCT in 2015). Active funders stay open (no call dates).
        On the Paris validation year (train <= 2016, test 2017), 2 lifts hit@3
        0.959 -> 0.962 (new pairs 0.823 -> 0.830); see benchmarks/RESULTS.md.

    Returns
    -------
    pandas.DataFrame
        The :data:`~matcher.normalize.schema.FUNDER_FIELDS` columns, in schema order and
        canonical types, then ``grants_count`` (Int64) and ``years`` (text);
        one row per funder with at least one grant, sorted by ``funder_id``.

    Raises
    ------
    MappingError
        When ``history`` has no ``funder_id`` column.
    """
    if "funder_id" not in history.columns:
        raise MappingError("the history has no funder_id column")
    keep = np.ones(len(history), dtype=bool)
    if until_year is not None:
        years = pd.to_numeric(history.get("year"), errors="coerce") if "year" in history.columns \
            else pd.Series(np.nan, index=history.index)
        keep &= (years <= until_year).fillna(False).to_numpy(dtype=bool)
    history = history.loc[keep]
    funder_ids = [None if is_missing(v) else str(v) for v in history["funder_id"].tolist()]
    names = _names(history, funder_ids)
    granted = (decision_status(history) == GRANTED) & np.array([f is not None for f in funder_ids], dtype=bool)
    rows = np.flatnonzero(granted)

    by_funder: dict[str, list[int]] = defaultdict(list)
    for i in rows:
        by_funder[funder_ids[i]].append(int(i))
    order = sorted(by_funder)

    sectors = _column(history, "sectors")
    amounts = pd.to_numeric(history.get("amount_awarded"), errors="coerce").to_numpy(dtype=float) \
        if "amount_awarded" in history.columns else np.full(len(history), np.nan)
    years = _column(history, "year")
    legal_forms = _column(history, "recipient_legal_form")
    purposes = _column(history, "purpose")
    texts = {f: [str(purposes[i]) for i in by_funder[f] if purposes[i] is not None] for f in order}
    terms = typical_terms({f: t for f, t in texts.items() if t})

    frame = _empty_frame(len(order))
    records: dict[str, list] = defaultdict(list)
    for funder in order:
        index = by_funder[funder]
        priorities = sector_priorities([sectors[i] for i in index], coverage)
        ticket = ticket_range(amounts[index], quantiles)
        seen_years = sorted(int(years[i]) for i in index if years[i] is not None)
        span = (seen_years[0], seen_years[-1]) if seen_years else None
        forms = Counter(legal_forms[i] for i in index if legal_forms[i] is not None)
        total_forms = sum(forms.values())
        top_forms = [(f, c / total_forms) for f, c in
                     sorted(forms.items(), key=lambda item: (-item[1], item[0]))[:LEGAL_FORMS_SHOWN]]
        records["funder_id"].append(funder)
        records["name"].append(names.get(funder, funder))
        records["description"].append(
            describe(len(index), span, priorities, ticket, top_forms, terms.get(funder, [])))
        records["sectors"].append(priorities)
        records["instruments"].append(("grant",))
        records["ticket_min"].append(ticket[0])
        records["ticket_max"].append(ticket[1])
        records["grants_count"].append(len(index))
        records["last_year"].append(None if span is None else span[1])
        records["years"].append(None if span is None else
                                str(span[0]) if span[0] == span[1] else f"{span[0]}-{span[1]}")
    for name in ("funder_id", "name", "description", "sectors", "instruments"):
        frame[name] = pd.Series(records[name], dtype=object)
    for name in ("ticket_min", "ticket_max"):
        frame[name] = pd.Series(records[name], dtype=float)
    if dormant_years is not None:
        known = [y for y in records["last_year"] if y is not None]
        latest = max(known) if known else None
        frame["call_closes"] = pd.Series(
            [f"{last:04d}-12-31" if latest is not None and last is not None and last <= latest - dormant_years
             else None for last in records["last_year"]], dtype=object)
    frame["learned"] = pd.array([True] * len(order), dtype="boolean")
    frame["grants_count"] = pd.array(records["grants_count"], dtype="Int64")
    frame["years"] = pd.Series(records["years"], dtype=object)
    return pd.DataFrame(frame)


__all__ = [
    "EXTRA_COLUMNS",
    "SECTOR_COVERAGE",
    "TICKET_QUANTILES",
    "describe",
    "learn_funders",
    "round_amount",
    "sector_priorities",
    "ticket_range",
    "typical_terms",
]

"""Map source column names to canonical fields, and report what could not be mapped.

Each column is matched in this order, the first success wins:

1. **forced**: the user's ``--map field=Column`` (or a YAML mapping file);
2. **exact**: the folded column name equals the folded field name
   (``Project ID``, ``project_id``, ``PROJECT-ID``, ``projectId``);
3. **synonym**: a French or English variant listed in ``data/headers.yaml``
   ("Montant demandé", "Forme juridique", SCDL and 360Giving headers...);
   columns listed there under ``_ignore`` are known and deliberately unused;
4. **just-transition criterion** (projects only): a column named after a
   criterion of the ``jt_criteria`` vocabulary maps to the pseudo-field
   ``jt_<criterion>`` (``climate_mitigation``, ``jt_climate_mitigation``,
   "Atténuation climat", "Niveau insertion");
5. **fuzzy**: rapidfuzz ``token_sort_ratio`` of the folded names, at or above
   a threshold.

Conflicts are never guessed. Two columns for one field: the one matched by
the better step (exact before synonym, a better synonym level before a worse
one, any before fuzzy) wins and the other is reported; at the same level both
are ambiguous and neither is used. A column matching several fields equally
is ambiguous too. Columns that match nothing are unmapped: reported, not an
error. Every report is a ``file`` problem in English and French.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml
from rapidfuzz import fuzz, process

from matcher.core.errors import InputError, MappingError
from matcher.core.suggest import unknown_message
from matcher.core.text import fold
from matcher.normalize.problems import FILE, Problem, problem
from matcher.normalize.schema import SCHEMAS

#: Default fuzzy threshold (rapidfuzz score, 0-100).
FUZZY_THRESHOLD = 88.0
#: Prefix of the per-criterion just-transition pseudo-fields of projects.
JT_PREFIX = "jt_"

_FUZZY_RANK = 1_000
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_JT_FIELD = re.compile(r"^jt_[a-z][a-z0-9_]*$")


@dataclass
class HeaderMapping:
    """How the columns of one file map to canonical fields.

    Attributes
    ----------
    mapping:
        Source column -> canonical field, in column order (only the columns used).
    unmapped:
        Columns that map to no field, or lost their field to a better column.
    ambiguous:
        ``(column, candidate fields)`` for every column left unused because
        the choice was not clear.
    method:
        Column -> ``forced``, ``exact``, ``synonym`` or ``fuzzy`` for the mapped columns.
    problems:
        ``file`` problems explaining every unmapped, ambiguous or fuzzy column.
    ignored:
        Known columns deliberately not read (``_ignore`` in ``headers.yaml``).
    """

    mapping: dict[str, str]
    unmapped: list[str]
    ambiguous: list[tuple[str, tuple[str, ...]]]
    method: dict[str, str]
    problems: list[Problem]
    ignored: list[str] = field(default_factory=list)

    @property
    def by_field(self) -> dict[str, str]:
        """Canonical field -> source column."""
        return {f: c for c, f in self.mapping.items()}


@dataclass(frozen=True)
class _Candidate:
    field: str | None  # None: a known column to ignore
    rank: int  # 0 exact field name, 1.. synonym level, _FUZZY_RANK fuzzy
    method: str
    score: float = 100.0


# --------------------------------------------------------------------------- normalising names


def spaced_name(text: str) -> str:
    """Fold a header for fuzzy comparison: camelCase split, no case, accents or punctuation.

    >>> spaced_name("montantDemandé (€)")
    'montant demande'
    """
    return fold(_CAMEL_BOUNDARY.sub(" ", str(text)))


def compact_name(text: str) -> str:
    """Fold a header for exact comparison: :func:`spaced_name` without spaces.

    >>> compact_name("Project ID") == compact_name("project_id") == compact_name("PROJECT-ID")
    True
    """
    return spaced_name(text).replace(" ", "")


# --------------------------------------------------------------------------- synonyms data


@lru_cache(maxsize=1)
def _headers_data() -> dict:
    text = resources.files("matcher").joinpath("data/headers.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def synonym_levels(kind: str) -> dict[str, list[list[str]]]:
    """The synonyms of ``kind`` from ``headers.yaml``: field -> levels (best first) of names."""
    section = _headers_data().get(kind) or {}
    levels: dict[str, list[list[str]]] = {}
    for name, value in section.items():
        if name.startswith("_"):
            continue
        if all(isinstance(v, list) for v in value):
            levels[name] = [[str(s) for s in level] for level in value]
        else:
            levels[name] = [[str(s) for s in value]]
    return levels


def ignored_headers(kind: str) -> list[str]:
    """Known column names of ``kind`` that are deliberately not read."""
    return [str(v) for v in (_headers_data().get(kind) or {}).get("_ignore", [])]


@dataclass(frozen=True)
class _Tables:
    exact: dict[str, _Candidate]  # compact name -> candidate
    pool: tuple[str, ...]  # spaced names for fuzzy matching
    pool_targets: tuple[_Candidate, ...]
    fields: frozenset[str]  # every field a column may map to (incl. jt_ pseudo-fields)


def _build_tables(kind: str, jt_labels: Mapping[str, Iterable[str]]) -> _Tables:
    """Index field names, synonyms, ignored names and criterion labels of ``kind``.

    Raises ``MappingError`` when ``headers.yaml`` gives one folded name to two
    fields (a data bug that would make matching depend on file order).
    """
    schema = SCHEMAS[kind]
    exact: dict[str, _Candidate] = {}
    pool: dict[str, _Candidate] = {}
    clashes: list[str] = []

    def add(name: str, candidate: _Candidate, strict: bool = True) -> None:
        key = compact_name(name)
        if not key:
            return
        known = exact.get(key)
        if known is not None and known.field != candidate.field:
            if strict:
                clashes.append(f"'{name}' ({known.field} / {candidate.field})")
            return
        if known is None or candidate.rank < known.rank:
            exact[key] = candidate
            pool[spaced_name(name)] = candidate

    for name in schema:
        add(name, _Candidate(name, 0, "exact"))
    for name, levels in synonym_levels(kind).items():
        if name not in schema:
            clashes.append(f"'{name}' is not a {kind} field")
            continue
        for level, synonyms in enumerate(levels, start=1):
            for synonym in synonyms:
                add(synonym, _Candidate(name, level, "synonym"))
    for name in ignored_headers(kind):
        add(name, _Candidate(None, 0, "ignored"))
    # Criterion ids and labels never displace a field name or synonym.
    for criterion, labels in jt_labels.items():
        pseudo = f"{JT_PREFIX}{criterion}"
        add(pseudo, _Candidate(pseudo, 0, "exact"), strict=False)
        add(criterion, _Candidate(pseudo, 0, "exact"), strict=False)
        for label in labels:
            add(label, _Candidate(pseudo, 1, "synonym"), strict=False)
    if clashes:
        raise MappingError(f"headers.yaml ({kind}): " + "; ".join(clashes))
    fields = frozenset(schema) | {f"{JT_PREFIX}{c}" for c in jt_labels}
    return _Tables(exact, tuple(pool), tuple(pool.values()), fields)


@lru_cache(maxsize=16)
def _cached_tables(kind: str, jt_key: tuple[tuple[str, tuple[str, ...]], ...]) -> _Tables:
    return _build_tables(kind, dict(jt_key))


# --------------------------------------------------------------------------- just-transition criteria


def _default_jt_criteria() -> tuple[dict[str, tuple[str, ...]], Callable[[str], tuple[str, ...]] | None]:
    """Criterion ids with their labels, and a resolver, from the ``jt_criteria`` vocabulary."""
    try:
        from matcher.referential.vocabularies import get_vocabulary

        vocabulary = get_vocabulary("jt_criteria")
    except ImportError:  # the vocabulary module is optional for header mapping
        return {}, None
    labels = {c: (vocabulary.label(c, "fr"), vocabulary.label(c, "en")) for c in vocabulary.ids}

    def resolve(text: str) -> tuple[str, ...]:
        return tuple(vocabulary.resolve(text, fuzzy=False))

    return labels, resolve


def _label_resolver(jt_labels: Mapping[str, Iterable[str]]) -> Callable[[str], tuple[str, ...]]:
    index: dict[str, set[str]] = {}
    for criterion, labels in jt_labels.items():
        for text in (criterion, *labels):
            index.setdefault(fold(text), set()).add(criterion)
    return lambda text: tuple(sorted(index.get(fold(text), ())))


def _jt_criterion(column: str, resolve: Callable[[str], tuple[str, ...]]) -> str | None:
    """The one criterion a header names, word group by word group ("Atténuation climat").

    Decoration words ("niveau", "jt", "score"...) are dropped; every remaining
    word must belong to a label or synonym of the same single criterion.
    """
    drop = {fold(w) for w in _headers_data().get("just_transition_words", [])}
    words = [w for w in spaced_name(column).split() if w not in drop]
    if not words:
        return None
    found: set[str] = set()
    start = 0
    while start < len(words):
        for end in range(len(words), start, -1):
            ids = resolve(" ".join(words[start:end]))
            if len(ids) == 1:
                found.add(ids[0])
                start = end
                break
        else:
            return None
    return found.pop() if len(found) == 1 else None


# --------------------------------------------------------------------------- mapping


def map_headers(
    columns: list[str],
    kind: str,
    forced: dict[str, str] | None = None,
    fuzzy_threshold: float = FUZZY_THRESHOLD,
    *,
    jt_criteria: Mapping[str, Iterable[str]] | None = None,
) -> HeaderMapping:
    """Map ``columns`` to the canonical fields of ``kind``.

    Parameters
    ----------
    columns:
        Source column names (unique), in file order.
    kind:
        ``projects``, ``funders`` or ``history``.
    forced:
        Canonical field -> source column, applied first (``--map``).
    fuzzy_threshold:
        Lowest rapidfuzz score (0-100) accepted for a fuzzy match.
    jt_criteria:
        Just-transition criterion id -> labels, for the ``jt_<criterion>``
        pseudo-fields of projects; default: the ``jt_criteria`` vocabulary.

    Raises
    ------
    MappingError
        Unknown ``kind``; a forced field that is not canonical (the message
        suggests the closest names); a forced column absent from ``columns``
        (the message lists them); one column forced onto two fields.
    """
    if kind not in SCHEMAS:
        raise MappingError(f"unknown kind '{kind}'; expected one of {', '.join(SCHEMAS)}")
    if len(set(columns)) != len(columns):
        repeated = sorted({c for c in columns if columns.count(c) > 1})
        raise MappingError(f"repeated column names: {', '.join(repeated)}")
    resolve: Callable[[str], tuple[str, ...]] | None = None
    if kind != "projects":
        jt_labels: Mapping[str, Iterable[str]] = {}
    elif jt_criteria is None:
        jt_labels, resolve = _default_jt_criteria()
    else:
        jt_labels = jt_criteria
        resolve = _label_resolver(jt_criteria)
    jt_key = tuple(sorted((c, tuple(labels)) for c, labels in jt_labels.items()))
    tables = _cached_tables(kind, jt_key)

    result = HeaderMapping({}, [], [], {}, [])
    chosen: dict[str, str] = {}  # column -> field
    forced_columns = _apply_forced(forced or {}, columns, kind, tables, bool(jt_labels))
    for column, name in forced_columns.items():
        chosen[column] = name
        result.method[column] = "forced"

    candidates: dict[str, _Candidate] = {}
    for column in columns:
        if column in forced_columns:
            continue
        found = _match(column, tables, resolve, fuzzy_threshold)
        if isinstance(found, tuple):
            result.ambiguous.append((column, found))
            fields = ", ".join(found)
            result.problems.append(_problem("header.ambiguous", column, fields, column=column, fields=fields))
        elif found is None:
            result.unmapped.append(column)
            result.problems.append(_problem("header.unmapped", column, None, column=column, kind=kind))
        elif found.field is None:
            result.ignored.append(column)
        else:
            candidates[column] = found

    _resolve_conflicts(candidates, forced_columns, chosen, result)
    for column in columns:
        if column in chosen:
            result.mapping[column] = chosen[column]
    order = {c: i for i, c in enumerate(columns)}
    result.unmapped.sort(key=order.__getitem__)
    result.ambiguous.sort(key=lambda item: order[item[0]])
    return result


def _match(column: str, tables: _Tables, resolve, threshold: float) -> _Candidate | tuple[str, ...] | None:
    """The candidate field of one column; a tuple of fields when ambiguous; None when unknown."""
    key = compact_name(column)
    if key in tables.exact:
        return tables.exact[key]
    if resolve is not None:
        criterion = _jt_criterion(column, resolve)
        if criterion is not None and f"{JT_PREFIX}{criterion}" in tables.fields:
            return _Candidate(f"{JT_PREFIX}{criterion}", 1, "synonym")
    query = spaced_name(column)
    if not query or threshold > 100:
        return None
    scored = process.extract(
        query, tables.pool, scorer=fuzz.token_sort_ratio, processor=None, score_cutoff=threshold, limit=None
    )
    if not scored:
        return None
    best = max(score for _, score, _ in scored)
    targets = {tables.pool_targets[i].field for _, score, i in scored if score == best}
    fields = tuple(sorted(f for f in targets if f is not None))
    if len(fields) > 1:
        return fields
    if None in targets:
        return _Candidate(None, _FUZZY_RANK, "ignored", best)
    return _Candidate(fields[0], _FUZZY_RANK, "fuzzy", best)


def _resolve_conflicts(
    candidates: dict[str, _Candidate], forced_columns: dict[str, str], chosen: dict[str, str], result: HeaderMapping
) -> None:
    """Give each field to its best column; report losers and ties."""
    by_field: dict[str, list[str]] = {}
    for column, candidate in candidates.items():
        by_field.setdefault(candidate.field, []).append(column)
    forced_by_field = {f: c for c, f in forced_columns.items()}
    for name, columns in by_field.items():
        if name in forced_by_field:
            winners: list[str] = []
            owner = forced_by_field[name]
        else:
            best = min(candidates[c].rank for c in columns)
            winners = [c for c in columns if candidates[c].rank == best]
            owner = winners[0] if len(winners) == 1 else None
        if owner is not None and owner in candidates:
            chosen[owner] = name
            result.method[owner] = candidates[owner].method
            if candidates[owner].method == "fuzzy":
                score = round(candidates[owner].score)
                result.problems.append(_problem("header.fuzzy", owner, name, owner=owner, name=name, score=score))
        for column in columns:
            if column == owner:
                continue
            if owner is None and column in winners:
                shown_en = " and ".join([", ".join(f"'{c}'" for c in winners[:-1]), f"'{winners[-1]}'"])
                shown_fr = " et ".join([", ".join(f"« {c} »" for c in winners[:-1]), f"« {winners[-1]} »"])
                result.ambiguous.append((column, (name,)))
                result.problems.append(
                    _problem("header.competing", column, name, shown_en=shown_en, name=name, shown_fr=shown_fr)
                )
                continue
            result.unmapped.append(column)
            if owner is not None:
                en = f"which is read from '{owner}'"
                fr = f"lu dans « {owner} »"
            else:
                en = f"which columns {', '.join(repr(c) for c in winners)} match better"
                fr = f"auquel les colonnes {', '.join(f'« {c} »' for c in winners)} correspondent mieux"
            result.problems.append(
                _problem("header.also_matches", column, name, column=column, name=name, en=en, fr=fr)
            )


def _apply_forced(
    forced: Mapping[str, str], columns: list[str], kind: str, tables: _Tables, jt_known: bool
) -> dict[str, str]:
    """Check the forced pairs and return them as column -> field."""
    out: dict[str, str] = {}
    for name, column in forced.items():
        valid = name in tables.fields or (not jt_known and kind == "projects" and _JT_FIELD.match(name))
        if not valid:
            raise MappingError(unknown_message(f"{kind} field", name, tables.fields, list_up_to=1000))
        found = _find_column(column, columns)
        if found is None:
            shown = ", ".join(f"'{c}'" for c in columns) or "none"
            raise MappingError(f"cannot map {name} to column '{column}': no such column; available columns: {shown}")
        if found in out:
            raise MappingError(f"column '{found}' is mapped to two fields: {out[found]} and {name}")
        out[found] = name
    return out


def _find_column(wanted: str, columns: list[str]) -> str | None:
    """The column named ``wanted``: exactly, else the only one equal once folded."""
    if wanted in columns:
        return wanted
    key = compact_name(wanted)
    matches = [c for c in columns if compact_name(c) == key]
    return matches[0] if len(matches) == 1 else None


def _problem(code: str, column: str, value: str | None, /, **values) -> Problem:
    """A file-level problem with the headers."""
    return problem(code, None, column, value, FILE, **values)


# --------------------------------------------------------------------------- user mappings


def parse_map_options(options: Iterable[str]) -> dict[str, str]:
    """Turn repeated ``--map field=Column`` options into ``{field: Column}``.

    Only the first ``=`` splits, so a column name may contain ``=``.
    """
    forced: dict[str, str] = {}
    for option in options:
        name, sep, column = option.partition("=")
        name, column = name.strip(), column.strip()
        if not sep or not name or not column:
            raise MappingError(f"--map expects field=Column, got '{option}'")
        if name in forced and forced[name] != column:
            raise MappingError(f"--map gives two columns for {name}: '{forced[name]}' and '{column}'")
        forced[name] = column
    return forced


def load_mapping_file(path: str | Path) -> dict[str, str]:
    """Read a YAML mapping file ``{field: Column}`` (safe loading only)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise InputError(f"{path}: mapping file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the mapping file ({exc})") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise MappingError(f"{path}: invalid YAML{where}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise MappingError(f"{path}: a mapping file holds 'field: Column' lines")
    forced: dict[str, str] = {}
    for name, column in data.items():
        if not isinstance(column, str | int | float) or isinstance(column, bool) or str(column).strip() == "":
            raise MappingError(f"{path}: the column for {name} must be a column name, got {column!r}")
        forced[str(name).strip()] = str(column).strip()
    return forced

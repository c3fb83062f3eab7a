"""Closed vocabularies shared by projects, funders and grant history.

Each vocabulary is a data file, ``matcher/data/vocab_<name>.yaml`` (format in
the header of ``vocab_sectors.yaml``): stable snake_case ids with French and
English labels, synonyms in both languages, optional attributes, ``multi``
labels that stand for several ids, ``parents`` (theme prefixes dropped before
matching) and ``ignore`` labels (recognised, carrying no id). INSEE legal
categories are in ``insee_legal_categories.csv``.

How text is resolved (:meth:`Vocabulary.resolve`):

1. exact match of :func:`matcher.core.text.fold` on the ids, labels, synonyms and
   multi labels;
2. the same after dropping a known parent prefix
   ("Mobilité / transports / Mobilité partagée" -> "Mobilité partagée");
3. a fuzzy match for typos: normalised Levenshtein similarity (rapidfuzz) of
   the folded text to a label of at least :data:`FUZZY_THRESHOLD`, only for
   texts of :data:`FUZZY_MIN_LENGTH` folded characters or more, only against
   labels that start with the same two characters and differ in length by at
   most :data:`FUZZY_MAX_LENGTH_GAP`, and only when the best candidate beats
   every candidate of a *different* result by :data:`FUZZY_MARGIN`. A changed
   first letter or an added word changes the meaning too often ("scolaire" is
   not "solaire", "préparation" is not "réparation"). Anything else is
   unknown: an empty tuple.

Several ids come back only from an explicit ``multi`` label (or a legal-form
group): loading fails when one folded label would silently mean two things.
"""

from __future__ import annotations

import csv
import math
import numbers
import re
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources

import yaml
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from matcher.core.errors import VocabularyError
from matcher.core.text import fold

VOCABULARY_NAMES: tuple[str, ...] = (
    "sectors",
    "legal_forms",
    "legal_form_groups",
    "instruments",
    "stages",
    "expense_types",
    "funder_types",
    "jt_criteria",
    "jt_requirements",
    "ess_status",
    "partner_kinds",
    "governance",
    "grant_status",
)

#: Lowest normalised Levenshtein similarity (0-1) accepted for a fuzzy match:
#: one typo in a nine-letter word scores 0.89 ("subvension" 0.90,
#: "asociation" 0.91); one in an eight-letter word (0.875) is refused.
FUZZY_THRESHOLD = 0.88
#: The best fuzzy candidate must beat any candidate with another result by this much.
FUZZY_MARGIN = 0.05
#: Shorter folded texts are matched exactly only ("SAS" must not become "SA").
FUZZY_MIN_LENGTH = 6
#: A fuzzy candidate may differ in length by this many characters at most: the
#: fuzzy step forgives typos, not extra words ("SARL SCOP" is not "SARL").
FUZZY_MAX_LENGTH_GAP = 3
#: Leading characters that must be equal for a fuzzy match.
FUZZY_SAME_PREFIX = 2
#: Keys shorter than this are never looked for inside a longer text.
CONTAINED_MIN_LENGTH = 3

PILLARS: tuple[str, ...] = ("ecological", "social", "cooperation")
LEGAL_FORM_FAMILIES = ("association_like", "cooperative", "company", "local_authority", "public", "other")

_REQUIRED_ATTRIBUTES: dict[str, dict[str, tuple]] = {
    "legal_forms": {
        "family": LEGAL_FORM_FAMILIES,
        "ess_by_status": (True, False),
        "precedence": (int,),
    },
    "jt_criteria": {"pillar": PILLARS},
    "legal_form_groups": {"members": (list, "auto")},
}

_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
_STRONG_SEPARATORS = ";|\n\r"
_WEAK_SEPARATORS = ",/"
_OPENING, _CLOSING = "([{", ")]}"
_CODE_PATTERN = re.compile(r"^\s*(\d{4})(?:[.,]0+)?\s*$")
_CACHE_SIZE = 65_536
_MADE: weakref.WeakSet = weakref.WeakSet()  # every Vocabulary made (clear_caches)


@dataclass(frozen=True)
class VocabularyValue:
    """One value of a vocabulary: id, labels, synonyms and free attributes."""

    id: str
    fr: str
    en: str
    synonyms: tuple[str, ...] = ()
    attributes: Mapping[str, object] = field(default_factory=dict)


class Vocabulary:
    """A closed list of ids with labels, synonyms and a cached text resolver.

    Parameters
    ----------
    name:
        Vocabulary name (one of :data:`VOCABULARY_NAMES` for the packaged ones).
    values:
        The values, in their stable order.
    multi:
        Label -> several ids.
    parents:
        Prefix labels dropped before matching ("Theme / Leaf" -> "Leaf").
    ignore:
        Labels that are recognised but carry no id.

    Raises
    ------
    VocabularyError
        With every problem found (duplicate or malformed id, missing label,
        a folded label meaning two different things, unknown id in ``multi``).
    """

    def __init__(
        self,
        name: str,
        values: Iterable[VocabularyValue],
        multi: Mapping[str, Iterable[str]] | None = None,
        parents: Iterable[str] = (),
        ignore: Iterable[str] = (),
    ) -> None:
        self.name = name
        self._values = {}
        problems: list[str] = []
        for value in values:
            if not _ID_PATTERN.match(value.id):
                problems.append(f"id {value.id!r} is not snake_case")
            if value.id in self._values:
                problems.append(f"duplicate id {value.id!r}")
            if not (value.fr or "").strip() or not (value.en or "").strip():
                problems.append(f"{value.id!r} lacks a French or English label")
            self._values[value.id] = value
        self.ids: tuple[str, ...] = tuple(self._values)
        self.multi: dict[str, tuple[str, ...]] = {}
        for label, ids in (multi or {}).items():
            ids = tuple(sorted(set(ids)))
            unknown = [i for i in ids if i not in self._values]
            if unknown or not ids:
                problems.append(f"multi label {label!r} names unknown ids {unknown}")
            self.multi[label] = ids
        self.ignore = tuple(ignore)
        self._index: dict[str, tuple[str, ...]] = {}
        self._origins: dict[str, str] = {}
        for value in self._values.values():
            for text in (value.id, value.fr, value.en, *value.synonyms):
                self._add_key(text, (value.id,), problems)
        for label, ids in self.multi.items():
            self._add_key(label, ids, problems)
        for label in self.ignore:
            self._add_key(label, (), problems)
        self._parents = tuple(sorted({fold(p) for p in parents if fold(p)}, key=len, reverse=True))
        if problems:
            raise VocabularyError(f"vocabulary {name!r}: " + "; ".join(problems))
        self._keys = list(self._index)
        self._results = [self._index[k] for k in self._keys]
        self._lookup_cached = lru_cache(maxsize=_CACHE_SIZE)(self._lookup)
        self._resolve_cached = lru_cache(maxsize=_CACHE_SIZE)(self._resolve)
        self._cell_cached = lru_cache(maxsize=_CACHE_SIZE)(self._resolve_text)
        self._contained_cached = lru_cache(maxsize=_CACHE_SIZE)(self._contained)
        _MADE.add(self)

    def clear_caches(self) -> None:
        """Empty the caches of resolved texts (bounded, filled by the distinct texts met)."""
        for remember in (self._lookup_cached, self._resolve_cached, self._cell_cached, self._contained_cached):
            remember.cache_clear()

    def _add_key(self, text: str, result: tuple[str, ...], problems: list[str]) -> None:
        key = fold(text)
        if not key:
            problems.append(f"label {text!r} is empty once folded")
            return
        known = self._index.get(key)
        if known is not None and known != result:
            problems.append(
                f"{text!r} would mean {result or 'nothing'} but {self._origins[key]!r} "
                f"already means {known or 'nothing'}"
            )
            return
        self._index.setdefault(key, result)
        self._origins.setdefault(key, text)

    # ------------------------------------------------------------------ values

    def __contains__(self, value_id: object) -> bool:
        return value_id in self._values

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Vocabulary({self.name!r}, {len(self)} values)"

    def value(self, value_id: str) -> VocabularyValue:
        """The full record of ``value_id``; :class:`VocabularyError` when unknown."""
        try:
            return self._values[value_id]
        except (KeyError, TypeError):
            raise VocabularyError(f"unknown {self.name} id: {value_id!r}") from None

    def label(self, value_id: str, lang: str = "fr") -> str:
        """The French (``lang="fr"``) or English (``"en"``) label of ``value_id``."""
        if lang not in ("fr", "en"):
            raise VocabularyError(f"unknown language {lang!r} (use 'fr' or 'en')")
        return getattr(self.value(value_id), lang)

    def attribute(self, value_id: str, key: str, default=None):
        """An attribute of ``value_id`` (``family``, ``pillar``...), or ``default``."""
        return self.value(value_id).attributes.get(key, default)

    def synonyms(self, value_id: str) -> tuple[str, ...]:
        """The synonyms of ``value_id`` as written in the data file."""
        return self.value(value_id).synonyms

    def labels(self, lang: str = "fr") -> dict[str, str]:
        """Every id with its label, in the vocabulary's order."""
        return {value_id: self.label(value_id, lang) for value_id in self.ids}

    # --------------------------------------------------------------- resolving

    def resolve(self, text, fuzzy: bool = True) -> tuple[str, ...]:
        """Ids meant by one value; ``()`` when unknown, blank or ignored.

        Several ids come back only for an explicit ``multi`` label. With
        ``fuzzy=False`` only exact (folded) matches count.
        """
        if isinstance(text, str):  # the usual case: one cached call per distinct text
            return self._resolve_cached(text, fuzzy)
        return self._resolve(text, fuzzy)

    def _resolve(self, text, fuzzy: bool) -> tuple[str, ...]:
        text = _as_text(text)
        if text is None:
            return ()
        found = self._lookup_cached(text, fuzzy and not _has_separator(text))
        return found or ()

    def is_known(self, text, fuzzy: bool = True) -> bool:
        """Whether ``text`` resolves or is an ``ignore`` label (not reported as unknown)."""
        text = _as_text(text)
        return (text is not None
                and self._lookup_cached(text, fuzzy and not _has_separator(text)) is not None)

    def resolve_cell(self, cell) -> tuple[tuple[str, ...], list[str]]:
        """Resolve a cell holding one or several values.

        The whole cell is tried first (labels may hold commas or slashes:
        "Emploi / Développement économique"), then each part between ``;``,
        ``|`` or line breaks, then each part between ``,`` or ``/`` (outside
        parentheses), joining neighbouring parts back when together they form
        a known label. A list or tuple is resolved item by item.

        Returns
        -------
        (ids, unknown):
            The sorted unique ids, and the tokens that were not understood
            (stripped, first-seen order, no repeats).
        """
        items = _cell_items(cell)
        ids: set[str] = set()
        unknown: list[str] = []
        for item in items:
            found, missing = self._cell_cached(item)
            ids.update(found)
            unknown.extend(token for token in missing if token not in unknown)
        return tuple(sorted(ids)), unknown

    def resolve_contained(self, text) -> str | None:
        """The one id whose label appears as whole words inside ``text``.

        For cells that name a kind among other words ("Commune de Lyon",
        "SARL SCOP Les Ateliers"). A label found inside a longer found label
        is dropped ("communes" in "communauté de communes"); among the rest the
        id with the highest ``precedence`` attribute wins, then the longest
        label. Ties between different ids give ``None``.
        """
        text = _as_text(text)
        if text is None:
            return None
        return self._contained_cached(fold(text))

    def mentions(self, text, min_length: int = 4) -> dict[str, int]:
        """How many times each id's labels appear as whole words in a free ``text`` (folded).

        For inferring ids from a description. A label found inside a longer found
        label counts once, for the longer one; labels shorter than ``min_length``
        folded characters and labels standing for several ids are not counted.
        """
        text = _as_text(text)
        if text is None:
            return {}
        padded = f" {fold(text)} "
        spans: list[tuple[int, int, str]] = []
        for key, result in zip(self._keys, self._results, strict=True):
            if len(result) != 1 or len(key) < min_length:
                continue
            needle = f" {key} "
            position = padded.find(needle)
            while position != -1:
                spans.append((position, position + len(needle), result[0]))
                position = padded.find(needle, position + 1)
        counts: dict[str, int] = {}
        for span in spans:
            if not any(o[0] <= span[0] and span[1] <= o[1] and o[1] - o[0] > span[1] - span[0] for o in spans):
                counts[span[2]] = counts.get(span[2], 0) + 1
        return counts

    def _lookup(self, text: str, fuzzy: bool) -> tuple[str, ...] | None:
        key = fold(text)
        if not key:
            return None
        found = self._index.get(key)
        if found is not None:
            return found
        for parent in self._parents:
            if key.startswith(parent + " "):
                found = self._index.get(key[len(parent) + 1:])
                if found is not None:
                    return found
        if fuzzy and len(key) >= FUZZY_MIN_LENGTH:
            return self._fuzzy(key)
        return None

    def _fuzzy(self, key: str) -> tuple[str, ...] | None:
        matches = process.extract(
            key, self._keys, scorer=Levenshtein.normalized_similarity, limit=None,
            score_cutoff=FUZZY_THRESHOLD - FUZZY_MARGIN,
        )
        best: dict[tuple[str, ...], float] = {}
        for candidate, score, position in matches:
            if (abs(len(candidate) - len(key)) > FUZZY_MAX_LENGTH_GAP
                    or candidate[:FUZZY_SAME_PREFIX] != key[:FUZZY_SAME_PREFIX]):
                continue
            result = self._results[position]
            best[result] = max(score, best.get(result, 0.0))
        if not best:
            return None
        ranked = sorted(best.items(), key=lambda item: -item[1])
        top_result, top_score = ranked[0]
        if top_score < FUZZY_THRESHOLD:
            return None
        if len(ranked) > 1 and ranked[1][1] > top_score - FUZZY_MARGIN:
            return None
        return top_result

    def _resolve_text(self, text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        text = text.strip()
        if not text:
            return (), ()
        found = self._lookup_cached(text, not _has_separator(text))
        if found is not None:
            return found, ()
        ids: list[str] = []
        unknown: list[str] = []
        for piece in _split(text, _STRONG_SEPARATORS):
            found = self._lookup_cached(piece, not _has_separator(piece))
            if found is not None:
                ids.extend(found)
                continue
            parts = _split_spans(piece, _WEAK_SEPARATORS)
            start = 0
            while start < len(parts):
                for end in range(len(parts) - 1, start - 1, -1):
                    candidate = piece[parts[start][0]:parts[end][1]]
                    found = self._lookup_cached(candidate, start == end)
                    if found is not None:
                        ids.extend(found)
                        start = end + 1
                        break
                else:
                    token = piece[parts[start][0]:parts[start][1]].strip()
                    if token not in unknown:
                        unknown.append(token)
                    start += 1
        return tuple(sorted(set(ids))), tuple(unknown)

    def _contained(self, folded: str) -> str | None:
        if not folded:
            return None
        padded = f" {folded} "
        spans: list[tuple[int, int, str, str]] = []
        for key, result in zip(self._keys, self._results, strict=True):
            if len(result) != 1 or len(key) < CONTAINED_MIN_LENGTH:
                continue
            needle = f" {key} "
            position = padded.find(needle)
            while position != -1:
                spans.append((position, position + len(needle), key, result[0]))
                position = padded.find(needle, position + 1)
        kept = [
            span for span in spans
            if not any(other[0] <= span[0] and span[1] <= other[1] and len(other[2]) > len(span[2])
                       for other in spans)
        ]
        if not kept:
            return None

        def rank(span):
            return (self.attribute(span[3], "precedence", 0), len(span[2]))

        best = max(rank(span) for span in kept)
        winners = {span[3] for span in kept if rank(span) == best}
        return winners.pop() if len(winners) == 1 else None


# ---------------------------------------------------------------- text helpers


def _as_text(value) -> str | None:
    """A cell value as text, or ``None`` when blank or missing."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer():
            value = int(value)
    try:
        if value != value:  # pandas NA and NaN-like values
            return None
    except (TypeError, ValueError):
        return None
    text = str(value).strip()
    return text or None


def _cell_items(cell) -> list[str]:
    if isinstance(cell, str):
        return [cell]
    if isinstance(cell, Iterable) and not isinstance(cell, (bytes, Mapping)):
        return [text for item in cell if (text := _as_text(item)) is not None]
    text = _as_text(cell)
    return [] if text is None else [text]


def _has_separator(text: str) -> bool:
    return any(sep in text for sep in _STRONG_SEPARATORS + _WEAK_SEPARATORS)


def _split_spans(text: str, separators: str) -> list[tuple[int, int]]:
    """(start, end) of the non-blank parts of ``text`` between separators outside brackets."""
    spans, depth, start = [], 0, 0
    for position, char in enumerate(text + separators[0]):
        if char in _OPENING:
            depth += 1
        elif char in _CLOSING:
            depth = max(depth - 1, 0)
        elif (char in separators and depth == 0) or position == len(text):
            if text[start:position].strip():
                spans.append((start, position))
            start = position + 1
    return spans


def _split(text: str, separators: str) -> list[str]:
    return [text[a:b].strip() for a, b in _split_spans(text, separators)]


# ---------------------------------------------------------------- loading


def _data_file(name: str):
    return resources.files("matcher").joinpath("data", name)


@cache
def _raw(name: str) -> dict:
    path = _data_file(f"vocab_{name}.yaml")
    try:
        with path.open(encoding="utf-8") as handle:
            raw = yaml.safe_load(handle) or {}
    except FileNotFoundError:
        raise VocabularyError(f"vocabulary data file missing: vocab_{name}.yaml") from None
    if "extends" in raw:
        base = _raw(raw["extends"])
        raw = {
            **base,
            "values": {**base.get("values", {}), **(raw.get("values") or {})},
            "multi": {**(base.get("multi") or {}), **(raw.get("multi") or {})},
            "ignore": [*(base.get("ignore") or []), *(raw.get("ignore") or [])],
            "parents": [*(base.get("parents") or []), *(raw.get("parents") or [])],
        }
    return raw


def _values(name: str, raw: dict) -> list[VocabularyValue]:
    values, problems = [], []
    required = _REQUIRED_ATTRIBUTES.get(name, {})
    for value_id, spec in (raw.get("values") or {}).items():
        spec = dict(spec or {})
        fr, en = spec.pop("fr", ""), spec.pop("en", "")
        synonyms = tuple(str(s) for s in spec.pop("synonyms", None) or ())
        for key, allowed in required.items():
            if not _attribute_ok(spec.get(key), allowed):
                problems.append(f"{value_id!r}: attribute {key}={spec.get(key)!r} not in {allowed}")
        values.append(VocabularyValue(str(value_id), str(fr or ""), str(en or ""), synonyms, spec))
    if problems:
        raise VocabularyError(f"vocabulary {name!r}: " + "; ".join(problems))
    return values


def _attribute_ok(got, allowed: tuple) -> bool:
    """Whether ``got`` is one of ``allowed``: a value of the same type, or an instance of a type."""
    for option in allowed:
        if isinstance(option, type):
            if isinstance(got, option) and not isinstance(got, bool):
                return True
        elif type(got) is type(option) and got == option:
            return True
    return False


def _group_members(groups: list[VocabularyValue], forms: list[VocabularyValue]) -> dict[str, tuple[str, ...]]:
    ess = tuple(sorted(v.id for v in forms if v.attributes.get("ess_by_status") is True))
    form_ids = {v.id for v in forms}
    members = {}
    for group in groups:
        listed = group.attributes.get("members")
        ids = ess if listed == "auto" else tuple(sorted(set(listed or ())))
        unknown = [i for i in ids if i not in form_ids]
        if unknown or not ids:
            raise VocabularyError(f"legal-form group {group.id!r} names unknown forms {unknown}")
        members[group.id] = ids
    return members


@cache
def _legal_form_groups() -> dict[str, tuple[str, ...]]:
    return _group_members(_values("legal_form_groups", _raw("legal_form_groups")),
                          _values("legal_forms", _raw("legal_forms")))


@cache
def get_vocabulary(name: str) -> Vocabulary:
    """The packaged vocabulary ``name`` (loaded once, then cached).

    Raises
    ------
    VocabularyError
        For a name not in :data:`VOCABULARY_NAMES`, or invalid data.
    """
    if name not in VOCABULARY_NAMES:
        raise VocabularyError(
            f"unknown vocabulary {name!r}; known: {', '.join(VOCABULARY_NAMES)}"
        )
    raw = _raw(name)
    values = _values(name, raw)
    multi = dict(raw.get("multi") or {})
    if name == "legal_form_groups":
        members = _legal_form_groups()
        values = [
            VocabularyValue(v.id, v.fr, v.en, v.synonyms, {**v.attributes, "members": members[v.id]})
            for v in values
        ]
    if name == "legal_forms":
        # Group labels ("coopératives", "collectivités") name all their members at once.
        groups = {v.id: v for v in _values("legal_form_groups", _raw("legal_form_groups"))}
        for group_id, ids in _legal_form_groups().items():
            group = groups[group_id]
            for label in (group.id, group.fr, group.en, *group.synonyms):
                multi.setdefault(label, ids)
    return Vocabulary(name, values, multi, raw.get("parents") or (), raw.get("ignore") or ())


def clear_caches() -> None:
    """Empty the text caches of every vocabulary made so far, and the legal forms'."""
    for vocabulary in list(_MADE):
        vocabulary.clear_caches()
    _legal_form_of_text.cache_clear()


# ---------------------------------------------------------------- legal forms


@cache
def insee_legal_categories() -> dict[int, tuple[str, str]]:
    """INSEE level-III legal category code -> (legal form id, French label)."""
    forms = get_vocabulary("legal_forms")
    table: dict[int, tuple[str, str]] = {}
    with _data_file("insee_legal_categories.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            code, form = int(row["code"]), row["legal_form"]
            if form not in forms or code in table:
                raise VocabularyError(f"insee_legal_categories.csv: bad row for code {code}")
            table[code] = (form, row["label_fr"])
    return table


@cache
def _insee_ranges() -> tuple[tuple[int, int, str], ...]:
    forms = get_vocabulary("legal_forms")
    ranges = tuple((int(a), int(b), str(form)) for a, b, form in _raw("legal_forms").get("insee_ranges") or ())
    for _, _, form in ranges:
        if form not in forms:
            raise VocabularyError(f"insee_ranges: unknown legal form {form!r}")
    return ranges


def insee_code(value) -> int | None:
    """A 4-digit INSEE legal category read from ``9220``, ``"9220"``, ``"9220.0"``, ``" 9220 "``."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
        value = float(value)
        if math.isnan(value) or not value.is_integer():
            return None
        value = int(value)
    if isinstance(value, numbers.Integral):
        code = int(value)
        return code if 1000 <= code <= 9999 else None
    match = _CODE_PATTERN.match(str(value))
    if match is None:
        return None
    code = int(match.group(1))
    return code if 1000 <= code <= 9999 else None


def legal_form_of_insee_code(code: int) -> str | None:
    """Legal form id of an INSEE legal category: its own row, else the range rules."""
    row = insee_legal_categories().get(code)
    if row is not None:
        return row[0]
    for first, last, form in _insee_ranges():
        if first <= code <= last:
            return form
    return None


@lru_cache(maxsize=_CACHE_SIZE)
def _legal_form_of_text(text: str) -> str | None:
    forms = get_vocabulary("legal_forms")
    ids = forms.resolve(text)
    if len(ids) == 1:
        return ids[0]
    if ids or forms.is_known(text):
        return None  # a group ("collectivités") or an ignored label: not one form
    return forms.resolve_contained(text)


def resolve_legal_form(value) -> str | None:
    """The legal form id of a cell: an INSEE code or text; ``None`` when unknown.

    Text is matched exactly, then fuzzily ("Asociation" -> association), then
    by the most specific legal form named inside it ("SARL SCOP Les Ateliers"
    -> scop, "Commune de Lyon" -> commune).
    A label naming several forms ("coopératives") gives ``None``: use
    :func:`expand_legal_forms` for lists.
    """
    code = insee_code(value)
    if code is not None:
        return legal_form_of_insee_code(code)
    text = _as_text(value)
    if text is None:
        return None
    return _legal_form_of_text(text)


def expand_legal_forms(ids_or_group_ids) -> tuple[str, ...]:
    """Legal form ids, with group ids (``cooperatives``, ``ess``...) replaced by their members.

    Accepts one value or an iterable of values: legal form ids, group ids,
    labels ("coopératives", "SCIC") or INSEE codes. Returns sorted unique ids.

    Raises
    ------
    VocabularyError
        For a value that names no legal form or group.
    """
    values = [ids_or_group_ids] if isinstance(ids_or_group_ids, (str, int)) else list(ids_or_group_ids)
    forms = get_vocabulary("legal_forms")
    groups = _legal_form_groups()
    found: set[str] = set()
    for value in values:
        if value in forms:
            found.add(value)
        elif value in groups:
            found.update(groups[value])
        else:
            ids = forms.resolve(value) or tuple(filter(None, [resolve_legal_form(value)]))
            if not ids:
                raise VocabularyError(f"unknown legal form or group: {value!r}")
            found.update(ids)
    return tuple(sorted(found))


def is_ess_by_status(legal_form_id: str) -> bool:
    """Whether a legal form belongs to the ESS by status alone (loi 2014-856)."""
    return get_vocabulary("legal_forms").attribute(legal_form_id, "ess_by_status") is True


# ---------------------------------------------------------------- just transition


def pillar(criterion_id: str) -> str:
    """The pillar of a just-transition criterion: ecological, social or cooperation."""
    return get_vocabulary("jt_criteria").attribute(criterion_id, "pillar")


def criteria_in_pillar(pillar_name: str) -> tuple[str, ...]:
    """The just-transition criteria of one pillar, in vocabulary order."""
    if pillar_name not in PILLARS:
        raise VocabularyError(f"unknown pillar {pillar_name!r}; known: {', '.join(PILLARS)}")
    criteria = get_vocabulary("jt_criteria")
    return tuple(c for c in criteria.ids if criteria.attribute(c, "pillar") == pillar_name)

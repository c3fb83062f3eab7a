"""French administrative geography: resolve places, test containment.

Territory codes are prefixed strings: ``commune:<INSEE>``, ``epci:<SIREN>``,
``dep:<code>``, ``reg:<code>``, plus ``FR`` and ``EU``. The table
(``data/territories.csv.gz``) is derived from the npm package
``@etalab/decoupage-administratif`` by ``scripts/build_territories.py``.

Containment
    A territory contains another when every current commune of the second is
    in the first (``FR`` contains every French code, ``EU`` contains ``FR``
    and everything). So a commune is in its EPCI, department and region; an
    EPCI is in a department only if all its communes are (89 EPCI straddle
    departments: they are in their region, or only in ``FR``). Territories
    with the same communes contain each other: ``dep:75`` and
    ``commune:75056`` (Paris), ``dep:971`` and ``reg:01`` (Guadeloupe),
    ``dep:977`` and ``commune:97701`` (Saint-Barthélemy). The overseas
    collectivities (COM: 975, 977, 978, 984, 986-989) are departments directly
    in ``FR``; the package's pseudo-regions for them are dropped.
    An EPCI's :meth:`Territories.home_department` (used by its label) is the
    department holding most of its population: the package does not name
    the seat.

Resolution rules (:meth:`Territories.resolve`)
    1. Prefixed codes (``dep:69``, ``reg:84``…), ``FR``/``France``/``national``,
       ``EU``/``UE``/``Europe``/``Union européenne`` (``EU`` in capitals only:
       ``Eu`` is a commune of Seine-Maritime).
    2. Digits: 1-3 characters or ``2A``/``2B`` are a department (``20``, the
       old Corsica code, is the region Corse; a lone digit is zero-padded);
       9 digits an EPCI SIREN; 5 characters (4 digits: a lost leading zero)
       an INSEE commune code (current, former, or a municipal arrondissement
       → its commune) or a postcode. 3,003 current INSEE codes are also the
       postcode of *other* communes only (``69001`` is Affoux and Lyon 1er,
       ``13001`` Aix-en-Provence and Marseille 1er): by default such a code
       is **ambiguous** with both readings as candidates;
       ``five_digits="insee"`` or ``"postcode"`` (see
       :meth:`Territories.five_digit_kind`, which guesses it from a whole
       column) settles it. A *former* INSEE code loses to a current postcode
       (``75011`` is Paris 11e, not the old Seine code of Bonneuil). A
       postcode shared by several communes is ambiguous
       (:meth:`Territories.common_container` gives the smallest territory
       holding them all).
    3. Names, folded (case, accents, hyphens, apostrophes, ``St``/``Ste``,
       ``Communauté de communes``/``CC``…): exact names, then names without
       articles, then former commune names (``Oullins`` → Oullins-Pierre-Bénite)
       and arrondissements (``Paris 11e``, ``Lyon 3ème``). A level prefix
       narrows the search (``Département de la Vienne``, ``Région Bretagne``,
       ``Ville de Vienne``, ``Conseil départemental du Rhône``,
       ``Région 84``); a department or postcode qualifier too
       (``Saint-Denis (93)``, ``Saint-Denis 974``, ``13001 Marseille``), and
       then communes win over a department of the same name (``Mayenne (53)``
       is the commune).
    4. When one name designates several territories: territories with the
       same communes count once and the most local code is kept (``Paris`` →
       ``commune:75056``, ``Guadeloupe`` → ``dep:971``); then a name spelled
       exactly, accents included, beats accent-forgiven ones (``Loiré`` is the
       commune, ``Loire`` the department); then a single department or region
       wins over homonymous communes (``Vienne`` → ``dep:86``, ``Bretagne`` →
       ``reg:53``; the communes need ``Vienne (38)`` or ``Ville de Vienne``);
       anything else is ambiguous (``Saint-Denis``), never guessed.
    5. Typos (rapidfuzz ratio >= 85, one name clearly best, else ambiguous
       with the close ones), only when nothing matched exactly.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from matcher.core.resources import DATA_DIR, load_data
from matcher.core.text import fold

DATA_PATH = DATA_DIR / "territories.csv.gz"
#: Columns of the table, in file order.
COLUMNS = (
    "code", "level", "name", "postcodes", "dep", "reg", "epci",
    "population", "old_codes", "old_names",
)

#: Locality of each level: lower is more local ("the most local funder wins").
LEVEL_RANK: dict[str, int] = {
    "commune": 0, "epci": 1, "department": 2, "region": 3, "FR": 4, "EU": 5,
}
#: Level of each code prefix.
PREFIX_LEVEL = {"commune": "commune", "epci": "epci", "dep": "department", "reg": "region"}
#: Accepted spellings of the code prefixes (``departement:69`` → ``dep:69``).
_PREFIX_SYNONYMS = {
    "commune": "commune", "com": "commune", "insee": "commune",
    "epci": "epci", "siren": "epci",
    "dep": "dep", "dept": "dep", "departement": "dep", "department": "dep",
    "reg": "reg", "region": "reg",
}
#: Names of the two codes that are not in the table, and what else means them.
SPECIAL_NAMES = {"FR": "France", "EU": "Union européenne"}
_WORDS = load_data("territory_words.yaml")
_SPECIAL_ALIASES = dict(_WORDS["special_aliases"])
#: Common names the COG does not hold.
_NAME_ALIASES = dict(_WORDS["name_aliases"])
_WORD_ABBREVIATIONS = dict(_WORDS["word_abbreviations"])
_EPCI_PHRASES = tuple(tuple(pair) for pair in _WORDS["epci_phrases"])
_EPCI_SHORT = dict(_EPCI_PHRASES)
_NON_WORD_LINES = re.compile(r"[^0-9a-z\n]+")
_ABBREVIATED = re.compile(r"\b(st|ste|sts|stes)\b")
_EPCI_PHRASE = re.compile(
    r"^ ?(" + "|".join(p for p, _ in _EPCI_PHRASES) + r")(?= |$)", re.MULTILINE
)
_STOP_WORDS = frozenset("l le la les d de du des et en a au aux".split())
_EPCI_TYPES = frozenset(("cc", "ca", "cu"))
_ARTICLES = ("l ", "le ", "la ", "les ")
_LINKS = ("d ", "de ", "du ", "des ")
#: Leading words that say which level a name is at.
_LEVEL_HINTS = tuple(tuple(pair) for pair in _WORDS["level_hints"])
_FUZZY_CUTOFF = 85.0
_FUZZY_MARGIN = 4.0
_SPLIT = re.compile(r"[;,|/\n\r]+")
_QUALIFIED = re.compile(r"(?P<name>.*[a-z].*?) (?P<qual>\d{2,3}|2a|2b|\d{5})")
_QUALIFIED_FIRST = re.compile(r"(?P<qual>\d{2,3}|2a|2b|\d{5}) (?P<name>.*[a-z].*)")
_ARRONDISSEMENT = re.compile(r"(?P<city>.+) (?P<n>\d+)(?:er|e) arrondissement")
_DEPARTMENT_CODE = re.compile(r"\d{1,3}|2[AB]")
#: INSEE codes of the municipal arrondissements of Paris, Lyon and Marseille.
_ARRONDISSEMENT_CODE = re.compile(r"751\d\d|6938\d|132\d\d")
_COMMUNE_CODE = re.compile(r"\d{5}|2[AB]\d{3}")
_PREFIXED = re.compile(r"\s*([A-Za-zéÉ]+)\s*:\s*([0-9A-Za-z]+)\s*")
FIVE_DIGIT_KINDS = ("either", "insee", "postcode")


@dataclass(frozen=True)
class Resolution:
    """What a piece of text designates.

    ``code`` is set when the text designates one territory (``candidates`` is
    then empty); when it designates several, ``code`` is ``None`` and
    ``candidates`` lists them, most populated first; both are empty when the
    text is unknown. ``method`` says which rule decided (``insee``,
    ``postcode``, ``name``, ``name:department-over-commune``, ``fuzzy``…).
    """

    code: str | None
    candidates: tuple[str, ...] = ()
    method: str = "unknown"

    @property
    def ambiguous(self) -> bool:
        return self.code is None and bool(self.candidates)

    @property
    def unknown(self) -> bool:
        return self.code is None and not self.candidates


UNKNOWN = Resolution(None, (), "unknown")


@lru_cache(maxsize=400_000)
def name_key(text: str) -> str:
    """Fold a place name for lookup: ``St-Étienne`` → ``saint etienne``, ``Communauté
    de communes X`` → ``cc x``."""
    key = " ".join(_WORD_ABBREVIATIONS.get(w, w) for w in fold(text).split())
    for phrase, short in _EPCI_PHRASES:
        if key == phrase or key.startswith(phrase + " "):
            return short + key[len(phrase):]
    return key


def name_keys(names: Sequence[str]) -> list[str]:
    """:func:`name_key` of many names at once (same result, a few times faster)."""
    text = unicodedata.normalize("NFKD", "\n".join(names))
    text = text.translate({ord(c): None for c in set(text) if unicodedata.combining(c)})
    text = text.lower().replace("œ", "oe").replace("æ", "ae")
    text = _NON_WORD_LINES.sub(" ", text)
    text = _ABBREVIATED.sub(lambda m: _WORD_ABBREVIATIONS[m[1]], text)
    text = _EPCI_PHRASE.sub(lambda m: _EPCI_SHORT[m[1]], text)
    return [line.strip() for line in text.split("\n")] if names else []


def loose_key(key: str) -> str:
    """A name key without articles and EPCI type: ``cc de la vallee`` → ``vallee``."""
    words = [w for w in key.split() if w not in _STOP_WORDS]
    if len(words) > 1 and words[0] in _EPCI_TYPES:
        words = words[1:]
    return " ".join(words) or key


def _strip_words(key: str, prefixes: tuple[str, ...]) -> str:
    for prefix in prefixes:
        if key.startswith(prefix) and len(key) > len(prefix):
            return key[len(prefix):]
    return key


def _level_hint(key: str) -> tuple[str | None, str]:
    """Split a leading level word off a key: ``departement de la vienne`` →
    (``department``, ``vienne``)."""
    for phrase, level in _LEVEL_HINTS:
        if key.startswith(phrase + " "):
            return level, _strip_words(key[len(phrase) + 1:], _LINKS)
    return None, key


def _variants(key: str) -> list[str]:
    """The key, without a leading article, and with a COG trailing article moved
    to the front (``abergement clemenciat l`` → ``l abergement clemenciat``)."""
    out = [key]
    bare = _strip_words(key, _ARTICLES)
    if bare != key:
        out.append(bare)
    head, _, last = key.rpartition(" ")
    if head and last in ("l", "le", "la", "les"):
        out.append(f"{last} {head}")
    return out


def _arrondissement_names(name: str) -> list[str]:
    """Spellings of a municipal arrondissement: ``Lyon 3e Arrondissement`` →
    ``lyon 3``, ``lyon 3e``, ``lyon 3eme``…"""
    match = _ARRONDISSEMENT.fullmatch(name_key(name))
    if not match:
        return []
    city, n = match["city"], match["n"]
    suffixes = ("", "e", "eme", "ieme", "er", "ere") if n == "1" else ("", "e", "eme", "ieme")
    out = [f"{city} {n}{s}" for s in suffixes]
    return out + [f"{city} {n}{s} arrondissement" for s in suffixes[1:]]


class Territories:
    """The territory table with lookups by code, postcode and name.

    Build it with :meth:`default` (the shipped table, loaded once) or
    :meth:`from_csv`. Every lookup is a dict or set access; :meth:`resolve`
    and :meth:`resolve_many` are cached per distinct input.
    """

    def __init__(self, records: Iterable[Sequence[str]]):
        """Build the lookups from table rows, each a sequence in :data:`COLUMNS` order."""
        self._load_columns([tuple(r) for r in records])
        self._population["FR"] = sum(self._population[c] or 0 for c in self._by_insee.values())
        self._build_containment()
        for key, code in _NAME_ALIASES.items():
            if code in self._level and key not in self._exact:
                self._exact[key] = (code,)
        self._loose_index: dict[str, tuple[str, ...]] | None = None
        self._fuzzy_choices: dict[int, list[str]] | None = None
        self._fuzzy_by_length: dict[int, list[str]] = {}
        self._ancestors: dict[str, tuple[str, ...]] = {}
        self._resolve_cached = lru_cache(maxsize=500_000)(self._resolve)
        self._resolve_cell = lru_cache(maxsize=500_000)(self._resolve_cell_uncached)

    def clear_caches(self) -> None:
        """Empty this table's caches of resolved texts: bounded, but filled by the distinct place
        texts met; a streamed read empties them after each piece (:func:`clear_caches`)."""
        self._resolve_cached.cache_clear()
        self._resolve_cell.cache_clear()

    def __getstate__(self):
        """The lookups without the per-instance caches (so that a fitted matcher can be sent to
        Dask workers); :meth:`__setstate__` makes new, empty ones."""
        state = dict(self.__dict__)
        del state["_resolve_cached"], state["_resolve_cell"]
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._resolve_cached = lru_cache(maxsize=500_000)(self._resolve)
        self._resolve_cell = lru_cache(maxsize=500_000)(self._resolve_cell_uncached)

    # ------------------------------------------------------------------ loading

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, str]]) -> Territories:
        """Build from dicts keyed by :data:`COLUMNS` (missing columns are empty)."""
        return cls([tuple(str(row.get(c) or "") for c in COLUMNS) for row in rows])

    @classmethod
    def from_csv(cls, path: str | Path = DATA_PATH) -> Territories:
        """Load a table written by ``scripts/build_territories.py`` (gzipped or not)."""
        path = Path(path)
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as handle:
            reader = csv.reader(io.TextIOWrapper(handle, encoding="utf-8", newline=""))
            header = next(reader)
            if tuple(header) == COLUMNS:
                return cls(reader)
            order = [header.index(c) if c in header else None for c in COLUMNS]
            return cls(tuple("" if i is None else r[i] for i in order) for r in reader)

    @classmethod
    def default(cls) -> Territories:
        """The shipped table, loaded on first use and shared afterwards."""
        return _default_territories()

    def _load_columns(self, records: list[tuple[str, ...]]) -> None:
        """Fill the code, name and postcode indexes, column by column (fast)."""
        columns = list(zip(*records, strict=True)) if records else [()] * len(COLUMNS)
        code, level, name, postcodes, dep, reg, epci, population, old_codes, old_names = columns
        self._level = {"FR": "FR", "EU": "EU", **dict(zip(code, level, strict=True))}
        self._name = {**SPECIAL_NAMES, **dict(zip(code, name, strict=True))}
        self._population: dict[str, int | None] = {"EU": None}
        self._population.update(
            zip(code, (int(p) if p else None for p in population), strict=True)
        )
        self._parents = {
            c: tuple(p for p in parents if p)
            for c, *parents in zip(code, epci, dep, reg, strict=True)
        }
        self._home_dep = {
            c: d if lv != "department" else c
            for c, lv, d in zip(code, level, dep, strict=True) if lv != "region"
        }
        exact: dict[str, list[str]] = defaultdict(list)
        for c, key in zip(code, name_keys(name), strict=True):
            exact[key].append(c)
        former: dict[str, list[str]] = defaultdict(list)
        by_postcode: dict[str, list[str]] = defaultdict(list)
        self._postcodes: dict[str, tuple[str, ...]] = {}
        self._by_insee: dict[str, str] = {}
        self._by_old_insee: dict[str, str] = {}
        for c, lv, n, posts, olds, old_ns in zip(
            code, level, name, postcodes, old_codes, old_names, strict=True
        ):
            if lv == "commune":
                self._by_insee[c[8:]] = c
                self._postcodes[c] = mine = tuple(posts.split())
                for postcode in mine:
                    by_postcode[postcode].append(c)
                for old in olds.split():
                    self._by_old_insee[old] = c
                for old_name in old_ns.split("|") if old_ns else ():
                    arrondissements = _arrondissement_names(old_name)
                    for variant in arrondissements:
                        exact[variant].append(c)
                    if not arrondissements:
                        former[name_key(old_name)].append(c)
            elif lv == "epci" and n.endswith(")"):  # "CA Loire Forez Agglomération (LFA)"
                former[name_key(re.sub(r"\s*\(.*?\)\s*$", "", n))].append(c)
        self._by_postcode = {k: tuple(sorted(v)) for k, v in by_postcode.items()}
        self._exact = {k: tuple(sorted(set(v))) for k, v in exact.items()}
        self._former = {k: tuple(sorted(set(v))) for k, v in former.items()}

    def _build_containment(self) -> None:
        """For every code, the set of codes containing it (by commune sets)."""
        members: dict[str, set[str]] = defaultdict(set)
        for code, parents in self._parents.items():
            if self._level[code] == "commune":
                for parent in parents:
                    members[parent].add(code)
        single: dict[str, list[str]] = defaultdict(list)
        for territory, mine in members.items():
            if len(mine) == 1:
                single[next(iter(mine))].append(territory)
        top = ("FR", "EU")
        self._containers: dict[str, frozenset[str]] = {"FR": frozenset(("EU",)), "EU": frozenset()}
        for code, parents in self._parents.items():
            if code not in members:  # a commune
                self._containers[code] = frozenset((*parents, *single.get(code, ()), *top))
                continue
            mine = members[code]
            first = min(mine)
            found = [first] if len(mine) == 1 else []
            found += [
                p for p in self._parents[first]
                if p != code and len(members[p]) >= len(mine) and mine <= members[p]
            ]
            self._containers[code] = frozenset((*found, *top))
        # Territories with the same communes are twins: each contains the other.
        twins: dict[str, list[str]] = defaultdict(list)
        for code in members:
            mine = members[code]
            twins[min(mine) if len(mine) == 1 else code].append(code)
        for territory, mine in members.items():
            if len(mine) > 1:
                for other in self._containers[territory]:
                    if other in members and len(members[other]) == len(mine):
                        twins[territory].append(other)
        self._twin_class: dict[str, str] = {}
        for anchor, group in twins.items():
            for code in group:
                self._twin_class[code] = min(self._twin_class.get(code, anchor), anchor)

    # --------------------------------------------------------------- accessors

    def __contains__(self, code: object) -> bool:
        return code in self._level

    def __len__(self) -> int:
        return len(self._level)

    def codes(self, level: str | None = None) -> Iterator[str]:
        """Every known code, or those of one level, in table order."""
        return (c for c, lv in self._level.items() if level is None or lv == level)

    def level(self, code: str) -> str:
        """``commune``, ``epci``, ``department``, ``region``, ``FR`` or ``EU``."""
        return self._level[code]

    def name(self, code: str) -> str:
        """The official name (``Lyon``, ``Rhône``, ``France``…)."""
        return self._name[code]

    def population(self, code: str) -> int | None:
        """Legal population (sum over communes for groups); ``None`` when unknown."""
        return self._population[code]

    def postcodes(self, code: str) -> tuple[str, ...]:
        """A commune's postcodes (empty for other levels)."""
        if code not in self._level:
            raise KeyError(code)
        return self._postcodes.get(code, ())

    def home_department(self, code: str) -> str | None:
        """The department a commune is in, an EPCI's main department, or the department itself."""
        if code not in self._level:
            raise KeyError(code)
        return self._home_dep.get(code)

    def label(self, code: str) -> str:
        """A human label: ``Lyon (69)``, ``Rhône (69)``, ``Bretagne``; unknown codes as is."""
        if code not in self._level:
            return code
        dep = self._home_dep.get(code)
        return f"{self._name[code]} ({dep[4:]})" if dep else self._name[code]

    def ancestors(self, code: str) -> tuple[str, ...]:
        """The less local territories containing ``code``, nearest first, ending with ``EU``."""
        found = self._ancestors.get(code)
        if found is None:
            rank = LEVEL_RANK[self._level[code]]
            found = tuple(sorted(
                (c for c in self._containers[code] if LEVEL_RANK[self._level[c]] > rank),
                key=lambda c: (LEVEL_RANK[self._level[c]], c),
            ))
            self._ancestors[code] = found
        return found

    def contains(self, container: str, code: str) -> bool:
        """Whether ``container`` is ``code`` or holds all of its communes (O(1))."""
        return container == code or container in self._containers.get(code, ())

    def common_container(self, codes: Iterable[str]) -> str | None:
        """The most local territory containing every code (``None`` if a code is unknown)."""
        codes = list(codes)
        if not codes or any(c not in self._level for c in codes):
            return None
        floor = max(LEVEL_RANK[self._level[c]] for c in codes)  # dep:75, not its twin commune
        options = {codes[0]} | self._containers[codes[0]]
        fitting = [
            o for o in options
            if LEVEL_RANK[self._level[o]] >= floor and all(self.contains(o, c) for c in codes)
        ]
        return min(fitting, key=lambda o: (LEVEL_RANK[self._level[o]], self._population[o] or 0, o))

    # ---------------------------------------------------------------- resolving

    def resolve(self, text: str, five_digits: str = "either") -> Resolution:
        """Resolve one place written by a person or a program (see the module docstring).

        Cached per ``(text, five_digits)``; ``five_digits`` is ``either`` (an
        INSEE code that is also another commune's postcode is ambiguous),
        ``insee`` or ``postcode`` (that reading wins).
        """
        if five_digits not in FIVE_DIGIT_KINDS:
            raise ValueError(f"five_digits must be one of {FIVE_DIGIT_KINDS}")
        return self._resolve_cached(_as_text(text), five_digits)

    def _resolve(self, text: str, five_digits: str) -> Resolution:
        raw = text.strip()
        if not raw:
            return Resolution(None, (), "empty")
        prefixed = _PREFIXED.fullmatch(raw)
        if prefixed and fold(prefixed[1]) in _PREFIX_SYNONYMS:
            return self._resolve_prefixed(prefixed[1], prefixed[2])
        if raw in SPECIAL_NAMES or raw == "UE":  # "Eu" is a commune in Seine-Maritime
            return Resolution("EU" if raw == "UE" else raw, (), "code")
        token = raw.upper()
        code = self._resolve_digits(token, five_digits)
        if code is not None:
            return code
        return self._resolve_name(raw)

    def _resolve_prefixed(self, prefix: str, value: str) -> Resolution:
        short = _PREFIX_SYNONYMS[fold(prefix)]
        value = value.upper()
        if short == "dep" and len(value) == 1:
            value = "0" + value
        code = f"{short}:{value}"
        if code in self._level:
            return Resolution(code, (), "code")
        if short == "commune" and value in self._by_old_insee:
            return Resolution(self._by_old_insee[value], (), "insee:former")
        return UNKNOWN

    def _resolve_digits(self, token: str, five_digits: str) -> Resolution | None:
        """Codes written as bare digits; ``None`` when the token is not a code."""
        if len(token) == 4 and token.isdigit():
            found = self._resolve_digits("0" + token, five_digits)
            if found is not None and found.code is not None:
                return Resolution(found.code, (), found.method + ":zero-padded")
            return found
        if _COMMUNE_CODE.fullmatch(token):
            return self._resolve_five(token, five_digits)
        if _DEPARTMENT_CODE.fullmatch(token):
            if token == "20":
                return Resolution("reg:94", (), "department-code:corsica")
            code = f"dep:{token.zfill(2)}"
            return Resolution(code, (), "department-code") if code in self._level else UNKNOWN
        if len(token) == 9 and token.isdigit():
            code = f"epci:{token}"
            return Resolution(code, (), "epci-siren") if code in self._level else UNKNOWN
        return None

    def _resolve_five(self, token: str, five_digits: str) -> Resolution:
        insee, method = self._by_insee.get(token), "insee"
        if insee is None and token in self._by_old_insee:
            insee = self._by_old_insee[token]
            method = "insee:arrondissement" if _ARRONDISSEMENT_CODE.fullmatch(token) \
                else "insee:former"
        posted = self._by_postcode.get(token, ())
        if insee and (not posted or five_digits == "insee" or insee in posted):
            return Resolution(insee, (), method)
        # A former code is rarely meant when it is also a current postcode.
        if posted and (not insee or five_digits == "postcode" or method != "insee"):
            return self._pick(posted, "postcode")
        if insee and posted:
            return Resolution(None, self._ordered({insee, *posted}), "insee-or-postcode")
        return UNKNOWN

    def _resolve_name(self, raw: str, fuzzy: bool = True) -> Resolution:
        key = name_key(raw)
        if key in _SPECIAL_ALIASES:
            return Resolution(_SPECIAL_ALIASES[key], (), "name")
        found = self._lookup(key, None, spelled=" ".join(raw.casefold().split()))
        if found is not None:
            return found
        level, rest = _level_hint(key)
        if level is not None:
            token = rest.upper()
            if level in ("department", "region") and _DEPARTMENT_CODE.fullmatch(token):
                code = f"{'dep' if level == 'department' else 'reg'}:{token.zfill(2)}"
                return Resolution(code, (), "code") if code in self._level else UNKNOWN
            if level == "commune" and _COMMUNE_CODE.fullmatch(token):
                return self._resolve_five(token, "insee")
            found = self._search(rest, frozenset((level,)), fuzzy)
            if found is not None:
                return found
        return self._search(key, None, fuzzy) or UNKNOWN

    def _search(self, key: str, levels: frozenset[str] | None, fuzzy: bool) -> Resolution | None:
        """Names as written, then with a department/postcode qualifier, then typos."""
        found = self._lookup(key, levels)
        if found is not None:
            return found
        qualified = _QUALIFIED.fullmatch(key) or _QUALIFIED_FIRST.fullmatch(key)
        if qualified:
            name, qualifier = qualified["name"], qualified["qual"].upper()
            found = self._lookup(name, levels, qualifier)
            if found is None and fuzzy:
                found = self._fuzzy(name, levels, qualifier)
            if found is not None:
                return found
        return self._fuzzy(key, levels) if fuzzy else None

    def _lookup(
        self, key: str, levels, qualifier: str | None = None, spelled: str | None = None
    ) -> Resolution | None:
        """Exact, then article-free, then former names; first tier that matches wins."""
        for method, index, keys in (
            ("name", self._exact, _variants(key)),
            ("name:loose", self._loose(), [loose_key(key)]),
            ("name:former", self._former, _variants(key)),
        ):
            for k in keys:
                codes = self._filter(index.get(k, ()), levels, qualifier)
                if codes:
                    method += ":qualified" if qualifier else ""
                    return self._pick(codes, method, spelled if method == "name" else None)
        return None

    def _loose(self) -> dict[str, tuple[str, ...]]:
        """Names without articles nor EPCI type, built on first need."""
        if self._loose_index is None:
            loose: dict[str, set[str]] = defaultdict(set)
            for key, codes in self._exact.items():
                loose[loose_key(key)].update(codes)
            self._loose_index = {k: tuple(sorted(v)) for k, v in loose.items()}
        return self._loose_index

    def _filter(self, codes, levels, qualifier: str | None) -> set[str]:
        if levels is not None:
            codes = {c for c in codes if self._level[c] in levels}
        if qualifier and codes:
            codes = self._qualify(codes, qualifier)
        return set(codes)

    def _qualify(self, codes: set[str], qualifier: str) -> set[str]:
        """Keep the codes a department or postcode qualifier agrees with; then
        prefer communes and EPCI (``Mayenne (53)`` is the commune)."""
        if len(qualifier) == 5:
            posted = {c for c in codes if qualifier in self._postcodes.get(c, ())}
            if posted:
                return posted
            if qualifier.startswith("97"):
                deps = [qualifier[:3]]
            elif qualifier.startswith("20"):
                deps = ["2A", "2B"]
            else:
                deps = [qualifier[:2]]
        else:
            deps = [qualifier.zfill(2)]
        deps = [f"dep:{d}" for d in deps if f"dep:{d}" in self._level]
        kept = {c for c in codes for d in deps if self.contains(d, c) or self.contains(c, d)}
        local = {c for c in kept if self._level[c] in ("commune", "epci")}
        return local or kept

    def _fuzzy(self, key: str, levels, qualifier: str | None = None) -> Resolution | None:
        """Names within a small edit distance; one clearly best or ambiguous."""
        from rapidfuzz import fuzz, process

        if len(key) < 4:
            return None
        hits = process.extract(
            key, self._fuzzy_choices_for(len(key)), scorer=fuzz.ratio, processor=None,
            score_cutoff=_FUZZY_CUTOFF, limit=50,
        )
        scored: list[tuple[float, set[str]]] = []
        for choice, score, _ in hits:
            codes = self._filter(
                self._exact.get(choice, ()) + self._former.get(choice, ()), levels, qualifier
            )
            if codes:
                scored.append((score, codes))
        if not scored:
            return None
        best = scored[0][0]
        close = [codes for score, codes in scored if score >= best - _FUZZY_MARGIN]
        if len(close) == 1:
            return self._pick(close[0], "fuzzy")
        return Resolution(None, self._ordered(set().union(*close)), "fuzzy")

    def _fuzzy_choices_for(self, length: int) -> list[str]:
        """Name keys long enough and short enough to reach the fuzzy cutoff."""
        if self._fuzzy_choices is None:
            self._fuzzy_choices = defaultdict(list)
            for key in sorted(set(self._exact) | set(self._former)):
                self._fuzzy_choices[len(key)].append(key)
        cached = self._fuzzy_by_length.get(length)
        if cached is None:
            share = _FUZZY_CUTOFF / 100
            cached = [
                key for size, keys in sorted(self._fuzzy_choices.items())
                if 2 * min(size, length) >= share * (size + length)
                for key in keys
            ]
            self._fuzzy_by_length[length] = cached
        return cached

    def _pick(self, codes: Iterable[str], method: str, spelled: str | None = None) -> Resolution:
        """One code when the matches are one territory, or one is spelled exactly
        as ``spelled`` (``Loiré`` is not ``Loire``), or one is a department or
        region among communes; else an ambiguous resolution."""
        groups: dict[str, list[str]] = defaultdict(list)
        for code in codes:
            groups[self._twin_class.get(code, code)].append(code)
        reps = {
            cls: min(group, key=lambda c: LEVEL_RANK[self._level[c]])
            for cls, group in groups.items()
        }
        if len(reps) == 1:
            return Resolution(next(iter(reps.values())), (), method)
        if spelled:
            exact = [
                reps[cls] for cls, group in groups.items()
                if any(" ".join(self._name[c].casefold().split()) == spelled for c in group)
            ]
            if len(exact) == 1:
                return Resolution(exact[0], (), method + ":exact-spelling")
        large = [
            reps[cls] for cls, group in groups.items()
            if any(self._level[c] in ("department", "region") for c in group)
        ]
        if len(large) == 1:
            return Resolution(large[0], (), method + ":department-over-commune")
        return Resolution(None, self._ordered(reps.values()), method)

    def _ordered(self, codes: Iterable[str]) -> tuple[str, ...]:
        return tuple(sorted(set(codes), key=lambda c: (-(self._population.get(c) or 0), c)))

    # ----------------------------------------------------------------- cells

    def resolve_many(
        self, cell, five_digits: str = "either"
    ) -> tuple[tuple[str, ...], list[tuple[str, Resolution]]]:
        """Resolve a cell holding one or more places.

        A string is split on ``;`` ``,`` ``|`` ``/`` and line breaks (unless the
        whole string is itself an exact name, like ``CC de Vitry, Champagne et
        Der``); a list, tuple or set is taken item by item. Returns the sorted
        unique codes found and, in order, the ``(token, resolution)`` of each
        token that was unknown or ambiguous. Cached per distinct cell.
        """
        if cell is None or (isinstance(cell, float) and cell != cell):
            return (), []
        if isinstance(cell, set | frozenset):
            key = tuple(sorted(_as_text(item) for item in cell))
        elif isinstance(cell, Iterable) and not isinstance(cell, str | bytes | Mapping):
            key = tuple(_as_text(item) for item in cell)  # list, tuple, numpy array
        else:
            key = _as_text(cell)
            if key == "nan" or key == "<NA>":
                return (), []
        if five_digits not in FIVE_DIGIT_KINDS:
            raise ValueError(f"five_digits must be one of {FIVE_DIGIT_KINDS}")
        codes, issues = self._resolve_cell(key, five_digits)
        return codes, list(issues)

    def _resolve_cell_uncached(self, cell: str | tuple[str, ...], five_digits: str):
        if isinstance(cell, str):
            if _SPLIT.search(cell):  # "CC de Vitry, Champagne et Der" is one name
                whole = self._resolve_name(cell, fuzzy=False)
                if whole.code is not None:
                    return (whole.code,), ()
            tokens = _SPLIT.split(cell)
        else:
            tokens = [t for item in cell for t in _SPLIT.split(item)]
        codes: set[str] = set()
        issues: list[tuple[str, Resolution]] = []
        seen: set[str] = set()
        for token in (t.strip() for t in tokens):
            if not token or token in seen:
                continue
            seen.add(token)
            resolution = self._resolve_cached(token, five_digits)
            if resolution.code is not None:
                codes.add(resolution.code)
            else:
                issues.append((token, resolution))
        return tuple(sorted(codes)), tuple(issues)

    def five_digit_kind(self, values: Iterable) -> str:
        """Guess whether a column's 5-character codes are INSEE codes or postcodes.

        Counts the distinct 5-character tokens that can only be one or the
        other; returns ``insee`` or ``postcode`` when that reading has at least
        9 in 10 of them, else ``either``. Pass the result to :meth:`resolve`
        or :meth:`resolve_many` as ``five_digits``.
        """
        tokens: set[str] = set()
        for value in values:
            if value is None or (isinstance(value, float) and value != value):
                continue
            items = value if isinstance(value, list | tuple | set | frozenset) else [value]
            for item in items:
                tokens.update(t.strip().upper() for t in _SPLIT.split(_as_text(item)))
        counts: Counter[str] = Counter()
        for token in tokens:
            if len(token) == 4 and token.isdigit():
                token = "0" + token
            if not _COMMUNE_CODE.fullmatch(token):
                continue
            is_post = token in self._by_postcode
            # a former code that is also a postcode reads as the postcode (see _resolve_five)
            is_insee = token in self._by_insee or (token in self._by_old_insee and not is_post)
            if is_insee != is_post:
                counts["insee" if is_insee else "postcode"] += 1
        total = sum(counts.values())
        for kind in ("insee", "postcode"):
            if total and counts[kind] >= 0.9 * total:
                return kind
        return "either"


def _as_text(value) -> str:
    """A cell value as text; integral floats lose their ``.0`` (``69.0`` → ``69``)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@cache
def _default_territories() -> Territories:
    return Territories.from_csv(DATA_PATH)


def clear_caches() -> None:
    """Empty the text caches of the shipped table (when loaded) and of :func:`name_key`."""
    if _default_territories.cache_info().currsize:
        _default_territories().clear_caches()
    name_key.cache_clear()

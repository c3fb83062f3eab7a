"""Read a header as a person does: units and notes set aside, abbreviations spelled out,
words weighed.

Three tools for :mod:`matcher.normalize.headers`:

- :func:`clean_header` takes off what decorates a header without naming its field:
  units (``(€)``, ``en euros``, ``HT``, ``TTC``, ``(mois)``), formats
  (``(jj/mm/aaaa)``), footnote marks (``*``, ``(1)``, ``¹``, ``[2]``), a trailing
  colon or question mark, line breaks; and spells out the abbreviations of
  ``headers.yaml`` (``Réf.`` → référence, ``N°`` → numéro, ``Nb`` → nombre,
  ``Mt`` → montant…). What was taken off is returned so the explanation of a
  mapping can say it.
- :class:`WordIndex` weighs the words of every synonym of a kind: a word found
  in the synonyms of one field only (``sollicité``, ``porteur``, ``SIRET``) says
  much, a word shared by many fields (``montant``, ``code``, ``date``) little,
  and the little words (``de``, ``la``, ``of``) nothing.
- :meth:`WordIndex.scores` scores one header against every field: how much of
  a synonym the header holds, and how much of the header the synonym explains,
  both weighed; words match despite a typo (rapidfuzz ratio ≥ 85 for words of 5
  letters or more).

The data (unit words, abbreviations, little words) is in ``headers.yaml``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml
from rapidfuzz import fuzz

from matcher.core.text import fold

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_GROUP = re.compile(r"[(\[{]([^()\[\]{}]{0,40})[)\]}]")
_MARKS = re.compile(r"[*†‡§¹²³⁴⁵⁶⁷⁸⁹⁰]+")
_TRAILING = re.compile(r"[\s:?!.;,]+$")
#: A typo still matches a word of at least this many letters at this rapidfuzz ratio.
TYPO_MIN_LENGTH = 5
TYPO_RATIO = 85.0


@dataclass(frozen=True)
class CleanHeader:
    """A header once cleaned: its words, and what was taken off or spelled out."""

    text: str  # folded words, space-separated ("montant sollicite")
    units: tuple[str, ...] = ()  # units, formats and notes taken off, as written ("€", "TTC")
    marks: tuple[str, ...] = ()  # footnote marks taken off ("*", "(1)")
    expanded: tuple[tuple[str, str], ...] = ()  # abbreviations spelled out ("mt", "montant")

    @property
    def changed(self) -> bool:
        return bool(self.units or self.marks or self.expanded)


@lru_cache(maxsize=1)
def headers_data() -> dict:
    """The parsed ``matcher/data/headers.yaml`` (synonyms, units, abbreviations, place parts)."""
    text = resources.files("matcher").joinpath("data/headers.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def _data() -> dict:
    return headers_data()


@lru_cache(maxsize=1)
def _unit_words() -> tuple[frozenset[str], tuple[str, ...]]:
    """Folded unit words and phrases that may stand between brackets (``headers.yaml``)."""
    words, phrases = set(), []
    for unit in _data().get("header_units", []):
        folded = fold(str(unit))
        if folded:
            (phrases.append(folded) if " " in folded else words.add(folded))
    phrases.sort(key=len, reverse=True)
    return frozenset(words), tuple(phrases)


@lru_cache(maxsize=1)
def _trailing_units() -> tuple[str, ...]:
    """Folded units that may end a header outside brackets (``HT``, ``en euros``), longest first."""
    folded = {fold(str(u)) for u in _data().get("header_trailing_units", [])}
    return tuple(sorted((u for u in folded if u), key=len, reverse=True))


@lru_cache(maxsize=1)
def abbreviations() -> dict[str, str]:
    """Folded abbreviation -> folded words (``mt`` -> ``montant``), from ``headers.yaml``."""
    return {fold(str(k)): fold(str(v)) for k, v in (_data().get("header_abbreviations") or {}).items()}


@lru_cache(maxsize=1)
def little_words() -> frozenset[str]:
    """Words that weigh nothing in a header (articles, prepositions)."""
    return frozenset(fold(str(w)) for w in _data().get("header_little_words", []))


def _is_unit_group(inner: str) -> bool:
    """True when the text between brackets is only units, formats or notes (``en €``, ``jj/mm/aaaa``)."""
    words, phrases = _unit_words()
    folded = fold(inner)
    if not folded:
        return True  # "(€)", "(%)", "(*)": fold leaves nothing
    for phrase in phrases:
        folded = folded.replace(phrase, " ")
    rest = [w for w in folded.split() if w not in words and w not in ("en", "in", "de", "du", "des")]
    return not rest or all(w.isdigit() and len(w) <= 2 for w in rest)


@lru_cache(maxsize=20_000)
def clean_header(header: str) -> CleanHeader:
    """Clean one header (see the module docstring).

    >>> clean_header("Coût total du projet TTC*").text
    'cout total du projet'
    >>> clean_header("Mt sollicité (en €)").expanded
    (('mt', 'montant'),)
    """
    raw = " ".join(_CAMEL_BOUNDARY.sub(" ", str(header)).split())
    units: list[str] = []
    marks: list[str] = []

    def group(match: re.Match) -> str:
        inner = match.group(1)
        if inner.strip().isdigit() and len(inner.strip()) <= 2 or inner.strip() in ("*", "**", ""):
            marks.append(match.group(0))
            return " "
        if _is_unit_group(inner):
            units.append(inner.strip())
            return " "
        return f" {inner} "

    text = _GROUP.sub(group, raw)
    found_marks = _MARKS.findall(text)
    if found_marks:
        marks.extend(found_marks)
        text = _MARKS.sub(" ", text)
    if "€" in text or "%" in text:
        units.extend(sign for sign in ("€", "%") if sign in text)
        text = text.replace("€", " ").replace("%", " ")
    text = _TRAILING.sub("", text)
    joined = fold(text)
    stripped = True
    while stripped:  # "Montant HT en euros": "en euros", then "HT"
        stripped = False
        for unit in _trailing_units():
            if joined.endswith(" " + unit):
                units.append(unit)
                joined = joined[: -len(unit) - 1].rstrip()
                stripped = True
                break
        if joined.endswith((" en", " in")):
            joined = joined[:-3].rstrip()
            stripped = True
    kept = joined.split()
    expanded: list[tuple[str, str]] = []
    spelled: list[str] = []
    table = abbreviations()
    for word in kept:
        if word in table and (len(kept) > 1 or len(word) > 1):
            expanded.append((word, table[word]))
            spelled.extend(table[word].split())
        else:
            spelled.append(word)
    return CleanHeader(" ".join(spelled), tuple(units), tuple(marks), tuple(expanded))


def stem(word: str) -> str:
    """A light French/English stem: plural and feminine endings off (``sollicitees`` -> ``sollicite``)."""
    if len(word) > 3 and word[-1] in "sx" and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if len(word) > 4 and word.endswith("ee"):
        word = word[:-1]
    return word


def words_of(text: str) -> tuple[str, ...]:
    """The weighed words of a folded text: little words out, stemmed, in order, unique."""
    little = little_words()
    out: list[str] = []
    for word in text.split():
        if word in little:
            continue
        word = stem(word)
        if word not in out:
            out.append(word)
    return tuple(out)


@dataclass(frozen=True)
class WordScore:
    """How well a header's words fit one field, and which synonym fits best."""

    field: str
    score: float  # 0-100
    synonym: str  # the synonym (or field name) that fits best
    words: tuple[str, ...]  # the header's words that matched
    recall: float = 1.0  # weighed share of the synonym's words found in the header


class WordIndex:
    """The weighed words of every field of one kind (see the module docstring)."""

    def __init__(self, names: Iterable[tuple[str, str]]):
        """``names``: ``(field, synonym or field name)`` pairs."""
        self.synonyms: list[tuple[str, str, tuple[str, ...]]] = []
        fields_of: dict[str, set[str]] = {}
        for name, synonym in names:
            words = words_of(clean_header(synonym).text)
            if not words:
                continue
            self.synonyms.append((name, synonym, words))
            for word in words:
                fields_of.setdefault(word, set()).add(name)
        n_fields = len({name for name, _, _ in self.synonyms}) or 1
        self.weight = {w: math.log(1 + n_fields / len(f)) for w, f in fields_of.items()}
        self.vocabulary = tuple(sorted(self.weight))
        #: A word known to no field still weighs: it is something the synonym does not explain.
        self.unknown_weight = 1.0

    def _match(self, word: str) -> str | None:
        """The known word ``word`` stands for: itself, else the one closest despite a typo."""
        if word in self.weight:
            return word
        if len(word) < TYPO_MIN_LENGTH:
            return None
        best, best_score = None, TYPO_RATIO
        for known in self.vocabulary:
            if abs(len(known) - len(word)) > 2 or known[0] != word[0]:
                continue
            score = fuzz.ratio(word, known, score_cutoff=best_score)
            if score > best_score or (score == best_score and best is None and score):
                best, best_score = known, score
        return best

    def scores(self, text: str) -> list[WordScore]:
        """Every field scored for the folded header ``text``, best first (fields with a score > 0)."""
        header = [self._match(w) or w for w in words_of(text)]
        if not header:
            return []
        header_weight = sum(self.weight.get(w, self.unknown_weight) for w in header)
        best: dict[str, WordScore] = {}
        present = set(header)
        for name, synonym, words in self.synonyms:
            shared = [w for w in words if w in present]
            if not shared:
                continue
            common = sum(self.weight[w] for w in shared)
            recall = common / sum(self.weight[w] for w in words)
            precision = common / header_weight
            score = 100.0 * recall ** 0.6 * precision ** 0.4
            known = best.get(name)
            if known is None or score > known.score:
                best[name] = WordScore(name, score, synonym, tuple(shared), recall)
        return sorted(best.values(), key=lambda s: (-s.score, s.field))

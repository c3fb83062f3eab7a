"""Import an Aides-territoires export: each aid becomes one call of its funder.

The national aids catalogue for French territories (aides-territoires.beta.gouv.fr)
exports aids with the columns ``Nom, Lien, Financeurs, Bénéficiaire, Types
d'aides, AAP/AMI, Récurrence, Descriptif, Date Clôture``. This module turns
such a table into canonical funder rows (:data:`matcher.normalize.schema.FUNDER_FIELDS`)
with the funders pipeline's own steps, so the result is the same
:class:`~matcher.normalize.pipeline.Normalized` as :func:`funders.pipeline.normalize_funders`.

How each canonical field is read
    ``funder_id``
        ``at-`` + a slug of the first name in ``Financeurs`` (names are
        ``;``-separated): ``at-conseil-departemental-du-morbihan``.
    ``name``
        That first funder's name; the other funders of the aid are named in
        the description ("Cofinanceurs : …"), so one ``funder_id`` always
        carries one name.
    ``call_id``
        A slug of the last path segment of ``Lien``; without a link,
        ``nom-`` + a hash of the folded ``Nom``.
    ``call_title``
        ``Nom``, prefixed with ``[AAP/AMI]`` when the aid is a call for
        projects or for expressions of interest.
    ``description``, ``url``, ``call_opens``, ``call_closes``
        ``Descriptif`` (HTML tags removed), ``Lien``, the opening and closing
        dates (dd/mm/yyyy or ISO).
    ``funder_type``
        :data:`FUNDER_TYPE_RULES`, first match on the folded name, after an
        exact match in the ``funder_types`` vocabulary; else ``other``.
    ``eligible_legal_forms``, ``instruments``, ``sectors``
        The ``Bénéficiaire`` audiences, ``Types d'aides`` and (when the export
        has them) the categories, resolved by the shared vocabularies.
        "Particuliers" and "Autre aide financière" name nothing we model.
    ``perimeter``
        Read from the funder's name only, never guessed: see
        :func:`read_funder_perimeter`.

``Récurrence`` is not kept (the dates say when an aid is open).
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlparse

import pandas as pd

from funders.pipeline import STEPS
from matcher.core.errors import MappingError
from matcher.core.resources import load_data
from matcher.core.text import fold
from matcher.core.textsim import analyze
from matcher.normalize import parsers
from matcher.normalize import pipeline as p
from matcher.normalize.headers import HeaderMapping
from matcher.normalize.problems import FILE, ParseError, parse_error, problem
from matcher.referential.territories import Territories
from matcher.referential.vocabularies import get_vocabulary

#: Source column roles, each with the folded headers that mean it.
COLUMN_ROLES: dict[str, tuple[str, ...]] = {
    "title": ("nom", "nom de l aide", "titre"),
    "link": ("lien", "url", "lien de l aide"),
    "funders": ("financeurs", "financeur", "porteurs d aides", "porteur d aide"),
    "audiences": ("beneficiaire", "beneficiaires"),
    "types": ("types d aides", "type d aide", "types d aide", "nature de l aide"),
    "call": ("aap ami", "aap", "appel a projets"),
    "recurrence": ("recurrence",),
    "description": ("descriptif", "description"),
    "opens": ("date ouverture", "date d ouverture", "date de debut"),
    "closes": ("date cloture", "date de cloture", "date de fin"),
    "categories": ("categories", "categorie", "thematiques", "thematique", "sous thematiques",
                   "themes"),
}
#: The headers that identify an export (see :func:`looks_like_aides_territoires`).
SIGNATURE_ROLES = ("title", "funders", "audiences", "types")
#: Canonical field -> source role; the source column is named in problem reports.
FIELD_ROLES = {
    "funder_id": "funders", "name": "funders", "funder_type": "funders", "perimeter": "funders",
    "description": "description", "sectors": "categories",
    "instruments": "types", "eligible_legal_forms": "audiences", "url": "link",
    "call_id": "link", "call_title": "title", "call_opens": "opens", "call_closes": "closes",
}

#: Kinds of funder, first match on the folded funder name wins (``matcher/data/aides_territoires.yaml``).
FUNDER_TYPE_RULES: tuple[tuple[str, str], ...] = tuple(
    (rule["kind"], rule["pattern"]) for rule in load_data("aides_territoires.yaml")["funder_type_rules"])
_FUNDER_TYPE_PATTERNS = tuple((kind, re.compile(rule)) for kind, rule in FUNDER_TYPE_RULES)

#: Names of local authorities: their whole name is resolved as a place.
_AUTHORITY = re.compile(
    r"^(conseil (departemental|general|regional)|departement|region|collectivite|commune|ville"
    r"|mairie|metropole|communaute (de|des) communes|communaute d agglomeration"
    r"|communaute urbaine|cc|ca|cu)\b|\b(agglomeration|metropole)$")
#: Bodies that act nationwide (perimeter ``FR``) when their name names no place.
_NATIONAL = re.compile(
    r"\bnationa(l|le|les|ux)\b|^ministere\b|\binterministeriel(le)?\b|^(l )?etat( francais)?$"
    r"|\bfederation francaise\b|\bdirection generale\b"
    r"|\b(ademe|anct|anah|anru|cerema|puca|bpifrance|ofb|dgfip|banque des territoires"
    r"|caisse des depots)\b")
_EUROPEAN = re.compile(r"\b(commission europeenne|union europeenne|parlement europeen)\b")
#: Words that introduce a place inside a name: "DDT du Tarn", "EPF d'Occitanie".
_LINK = re.compile(r"(?:^|\s)(?:de la\s|de l'|du\s|des\s|de\s|d'|dans la\s|dans le\s|dans l'"
                   r"|dans les\s)", re.IGNORECASE)
_NEXT_LINK = re.compile(r"\s(?:et|de|du|des|d'|pour|sur|en|au|aux|à)(?:\s|$)|\sd'|\sl'",
                        re.IGNORECASE)
_SEGMENT_SPLIT = re.compile(r"\s+[-–—]\s+|[()\[\]]")
#: An acronym ending with a department number: ATD 69, SDES73, ID77, ADAC 37.
_ACRONYM_CODE = re.compile(r"\b[A-Z][A-Za-z]*[A-Za-z] ?(\d{2}|2[AB])\b")
_LEADING_ACRONYM = re.compile(r"^[A-Z]{2,}\s+(?P<rest>.*[^\W\d_].*)$")
_PLACE_LEVELS = frozenset({"department", "region", "FR"})
_LEADING_ARTICLE = re.compile(r"^(?:l'|la |le |les |d'|de |du |des )", re.IGNORECASE)
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>")
_BLOCK_TAG = re.compile(r"<(?:br|/p|/li|/div|/h\d)\s*/?>", re.IGNORECASE)
_FUNDER_SPLIT = re.compile(r"[;|\n]")
_ID_LIMIT = 60


# --------------------------------------------------------------------------- detection


def _role_columns(columns: Iterable) -> dict[str, str]:
    """Source column of each role found (first column wins)."""
    found: dict[str, str] = {}
    for column in columns:
        key = fold(str(column))
        for role, names in COLUMN_ROLES.items():
            if key in names and role not in found:
                found[role] = column
    return found


def looks_like_aides_territoires(columns: Iterable) -> bool:
    """Whether headers are those of an Aides-territoires export.

    True when ``Nom``, ``Financeurs``, ``Bénéficiaire`` and ``Types d'aides``
    (any case or accents) are all there.
    """
    roles = _role_columns(columns)
    return all(role in roles for role in SIGNATURE_ROLES)


# --------------------------------------------------------------------------- values


def slug(text: str, limit: int = _ID_LIMIT) -> str:
    """A stable id from text: folded words joined by ``-``; long ones cut and hashed.

    >>> slug("Conseil départemental du Morbihan")
    'conseil-departemental-du-morbihan'
    """
    words = fold(text).replace(" ", "-")
    if len(words) <= limit:
        return words
    digest = hashlib.sha1(words.encode()).hexdigest()[:8]
    return words[: limit - 9].rstrip("-") + "-" + digest


def call_id_of(link: str | None, title: str | None) -> str | None:
    """The aid's id: the last path segment of its link, else a hash of its title."""
    if link:
        try:
            path = urlparse(link.strip()).path
        except ValueError:  # not a URL ("http://[x/", found by benchmarks/fuzz.py): hash the text
            path = ""
        segment = path.rstrip("/").rsplit("/", 1)[-1] if path else ""
        if fold(segment):
            return slug(segment)
        if fold(link):
            return "lien-" + hashlib.sha1(link.strip().encode()).hexdigest()[:10]
    if title and fold(title):
        return "nom-" + hashlib.sha1(fold(title).encode()).hexdigest()[:10]
    return None


def strip_html(text: str | None) -> str | None:
    """Text without HTML tags or entities, whitespace folded; a lone ``<`` is kept."""
    if text is None:
        return None
    text = _BLOCK_TAG.sub(" ", text)
    text = _TAG.sub("", text)
    if "&" in text:
        text = html.unescape(text)
    text = " ".join(text.split())
    return text or None


def split_funders(cell: str | None) -> list[str]:
    """The funder names of a ``Financeurs`` cell, in order, without repeats."""
    if cell is None:
        return []
    names: list[str] = []
    for part in _FUNDER_SPLIT.split(str(cell)):
        name = " ".join(part.split())
        if name and name not in names:
            names.append(name)
    return names


@lru_cache(maxsize=4096)
def funder_type_of(name: str) -> str:
    """The kind of a funder from its name (see :data:`FUNDER_TYPE_RULES`)."""
    exact = get_vocabulary("funder_types").resolve(name, fuzzy=False)
    if len(exact) == 1:
        return exact[0]
    key = fold(name)
    for kind, pattern in _FUNDER_TYPE_PATTERNS:
        if pattern.search(key):
            return kind
    return "other"


# --------------------------------------------------------------------------- perimeter


@dataclass(frozen=True)
class PerimeterReading:
    """Where a funder's money may go, as read from its name.

    ``codes`` is ``None`` when unknown. ``method`` says how it was read:
    ``authority`` (the name of a local authority: "Conseil départemental du
    Morbihan"), ``place`` (a department or region named in the name: "DDT du
    Tarn", "FREDON Occitanie"), ``acronym`` (a department number ending an
    acronym: "ATD 69", "ID77"), ``national``, ``european``, ``ambiguous``,
    ``conflict`` or ``unknown``. ``warning`` is ``(en, fr)`` when a person
    should look (ambiguous or conflicting places).
    """

    codes: tuple[str, ...] | None
    method: str
    warning: ParseError | None = None


def _segments(name: str) -> list[str]:
    return [s.strip() for s in _SEGMENT_SPLIT.split(name.replace("’", "'")) if s.strip()]


def _candidate_phrases(segment: str) -> list[tuple[str, ...]]:
    """Texts of a name segment that may be a place, as groups of alternatives
    (the first that resolves counts): the segment, what follows a leading
    acronym, and what follows each link word (whole, else up to the next link
    word)."""
    groups: list[tuple[str, ...]] = [(segment,)]
    leading = _LEADING_ACRONYM.match(segment)
    if leading:
        groups.append((leading["rest"],))
    for link in _LINK.finditer(segment):
        tail = segment[link.end():].strip()
        if not tail:
            continue
        bounded = _NEXT_LINK.split(tail, maxsplit=1)[0].strip()
        groups.append((tail, bounded) if bounded and bounded != tail else (tail,))
    return groups


def _level(territories: Territories, code: str) -> str:
    return code if code in ("FR", "EU") else territories.level(code)


def _place_of_phrase(territories: Territories, phrase: str):
    """The departments/regions (or France) that ``phrase`` names exactly, whole
    or as parts joined by "et" ("l'Oise et Aisne").

    Returns ``(codes, candidates)``: ``codes`` is None when the phrase names no
    such place; ``candidates`` are those of an ambiguous department/region name.
    """
    readings = [[phrase]] + ([re.split(r"\s+et\s+", phrase)] if " et " in phrase else [])
    for parts in readings:
        codes, candidates = _places_of_parts(territories, parts)
        if codes or candidates:
            return codes, candidates
    return None, ()


def _places_of_parts(territories: Territories, parts: list[str]):
    codes = []
    for part in parts:
        part = _LEADING_ARTICLE.sub("", part.strip())
        if not re.search(r"[^\W\d_]", part):
            return None, ()
        found = territories.resolve(part)
        if found.method.startswith("fuzzy"):
            return None, ()
        if found.code is not None and _level(territories, found.code) in _PLACE_LEVELS:
            codes.append(found.code)
        elif found.ambiguous and any(_level(territories, c) in _PLACE_LEVELS for c in found.candidates):
            return None, found.candidates
        else:
            return None, ()
    return tuple(sorted(set(codes))), ()


def _acronym_codes(territories: Territories, name: str) -> set[str]:
    found = set()
    for match in _ACRONYM_CODE.finditer(name):
        number = match[1]
        if number == "20":
            continue
        code = f"dep:{number}"
        if code in territories:
            found.add(code)
    return found


def _ambiguity(territories: Territories, name: str, candidates: Iterable[str]) -> tuple[str, str]:
    candidates = list(candidates)
    shown = ", ".join(territories.label(c) for c in candidates[:6])
    more = "" if len(candidates) <= 6 else f" (+{len(candidates) - 6})"
    return parse_error("aides.ambiguous_place", name=name, shown=shown, more=more)


@lru_cache(maxsize=4096)
def read_funder_perimeter(name: str) -> PerimeterReading:
    """The perimeter a funder's name states, never a guess.

    1. A local authority's name ("Conseil départemental du Morbihan",
       "Région Bretagne", "Métropole de Lyon", "Communauté de communes X") is
       resolved whole by :meth:`Territories.resolve`, at any level.
    2. Other names: a department or region (or "France") named exactly after
       a link word ("DDT du Tarn", "EPF des Hauts-de-France", "… de l'Oise et
       Aisne"), as a separate part of the name ("ADIL - Drôme",
       "(SAFER) Auvergne-Rhône-Alpes") or after a leading acronym ("FREDON
       Occitanie"); and a department number ending an acronym ("ATD 69",
       "ID77"). Typo-forgiving matches and communes are not used here: words
       of an organisation's name are no evidence of a commune.
    3. Else national bodies (ministries, "national", ADEME, ANCT, Banque des
       Territoires, Cerema…) give ``FR``, the European Commission ``EU``.

    An ambiguous place, or two places that disagree, leave it unknown with a
    warning.
    """
    territories = Territories.default()
    segments = _segments(name)
    key = fold(name)
    if segments and _AUTHORITY.search(fold(segments[0])):
        found = territories.resolve(segments[0])
        if found.code is not None and not found.method.startswith("fuzzy"):
            return PerimeterReading((found.code,), "authority")
        candidates = found.candidates or ((found.code,) if found.code else ())
        if candidates:
            return PerimeterReading(None, "ambiguous", _ambiguity(territories, name, candidates))
    named: set[tuple[str, ...]] = set()
    for segment in segments:
        for group in _candidate_phrases(segment):
            for phrase in group:
                codes, candidates = _place_of_phrase(territories, phrase)
                if candidates:
                    return PerimeterReading(None, "ambiguous",
                                            _ambiguity(territories, name, candidates))
                if codes:
                    named.add(codes)
                    break
    by_acronym = tuple(sorted(_acronym_codes(territories, name)))
    places = named | ({by_acronym} if by_acronym else set())
    # Places named more than once ("de l'Oise et de l'Aisne", "du Rhône (ATD 69)")
    # agree when one reading holds all the others.
    widest = max(places, key=lambda codes: (len(codes), codes), default=())
    if places and all(set(codes) <= set(widest) for codes in places) \
            and (named or len(widest) == 1):  # "ATD 69 / ATD 01" alone names two places
        return PerimeterReading(widest, "place" if named else "acronym")
    if places:
        shown = sorted({c for codes in places for c in codes})
        labels = ", ".join(territories.label(c) for c in shown)
        return PerimeterReading(None, "conflict", (
            f"funder '{name}' names several places: {labels}; perimeter left unknown",
            f"le financeur « {name} » nomme plusieurs lieux : {labels} ; périmètre laissé inconnu"))
    if _EUROPEAN.search(key):
        return PerimeterReading(("EU",), "european")
    if _NATIONAL.search(key):
        return PerimeterReading(("FR",), "national")
    return PerimeterReading(None, "unknown")


# --------------------------------------------------------------------------- funder


@dataclass(frozen=True)
class FunderReading:
    """What the name of an aid's first funder says."""

    funder_id: str
    name: str
    funder_type: str
    perimeter: PerimeterReading


@lru_cache(maxsize=4096)
def read_funder(name: str) -> FunderReading:
    """Id, kind and perimeter of one funder, from its name (cached per name)."""
    return FunderReading("at-" + slug(name), name, funder_type_of(name), read_funder_perimeter(name))


# --------------------------------------------------------------------------- pipeline


def _cached_map(values: list, function) -> list:
    cache: dict = {}
    out = []
    for value in values:
        key = value if isinstance(value, str) or value is None else str(value)
        if key not in cache:
            cache[key] = function(None if parsers.is_unknown(value) else key)
        out.append(cache[key])
    return out


def _sectors_cell(value: str | None):
    """Categories resolved to ``id;id`` (weights 1), with the tokens not understood."""
    if value is None:
        return None, []
    ids, unknown = get_vocabulary("sectors").resolve_cell(value)
    return (";".join(ids) if ids else None), unknown


#: At most this many sectors are inferred for one aid; a sector is kept when its score is at least
#: ``INFERRED_SHARE`` of the best one's.
INFERRED_MAX = 3
INFERRED_SHARE = 0.5


def infer_sectors(title: str | None, description: str | None) -> tuple[tuple[str, float], ...]:
    """The sectors an aid is about, guessed from its name and description: ``((id, weight), ...)``, best first.

    First the sector vocabulary's labels and synonyms found as whole words (the name counts
    twice); when none is found, the word stems the aid shares with each sector's labels
    (Snowball, as the text model), each stem weighted by 1 / the number of sectors it belongs
    to. Weights are the score over the best score (the best weighs 1). Empty when nothing
    points to a sector. These are guesses, never what the funder stated: the pipeline marks
    them ``sectors_inferred``.
    """
    vocabulary = get_vocabulary("sectors")
    scores: Counter = Counter()
    for text, weight in ((title, 2), (description, 1)):
        for value_id, count in vocabulary.mentions(text).items():
            scores[value_id] += weight * count
    if not scores:
        stems = _sector_stems()
        for text, weight in ((title, 2), (description, 1)):
            for stem in set(analyze(text or "")):
                owners = stems.get(stem, ())
                for value_id in owners:
                    scores[value_id] += weight / len(owners)
        scores = Counter({k: v for k, v in scores.items() if v >= 1})
    if not scores:
        return ()
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    best = ranked[0][1]
    return tuple((value_id, round(score / best, 2)) for value_id, score in ranked[:INFERRED_MAX]
                 if score >= INFERRED_SHARE * best)


#: Stems that sector labels hold but that any aid's text uses without naming a sector
#: ("développement économique", "soutien scolaire", "projet alimentaire", "transport public").
GENERIC_STEMS = frozenset({"developp", "soutien", "equip", "projet", "territoir", "action", "servic", "public",
                           "amenag", "local", "social", "global", "national", "durabl", "nouvel", "acces"})


@lru_cache(maxsize=1)
def _sector_stems() -> dict[str, tuple[str, ...]]:
    """Stem -> the sectors whose labels or synonyms hold it."""
    vocabulary = get_vocabulary("sectors")
    owners: dict[str, set[str]] = {}
    for value_id in vocabulary.labels():
        value = vocabulary.value(value_id)
        words = [vocabulary.label(value_id, "fr"), vocabulary.label(value_id, "en"), *vocabulary.synonyms(value_id)]
        for stem in {stem for word in words for stem in analyze(word) if len(stem) >= 4} - GENERIC_STEMS:
            owners.setdefault(stem, set()).add(value.id)
    return {stem: tuple(sorted(ids)) for stem, ids in owners.items()}


def _inferred_cell(title: str | None, description: str | None) -> str | None:
    found = infer_sectors(title, description)
    return "; ".join(f"{value_id}:{weight:g}" for value_id, weight in found) if found else None


def _prepare(raw, roles: dict[str, str]):
    """The export as canonical funder columns, plus the problems to report."""
    frame = raw.frame
    n = len(frame)

    def column(role: str) -> list:
        source = roles.get(role)
        return frame[source].tolist() if source is not None else [None] * n

    funders = _cached_map(column("funders"), split_funders)
    readings = [read_funder(names[0]) if names else None for names in funders]
    titles = _cached_map(column("title"), lambda v: None if v is None else " ".join(v.split()))
    links = _cached_map(column("link"), lambda v: None if v is None else v.strip())
    is_call = _cached_map(column("call"), _is_call)
    descriptions = _cached_map(column("description"), strip_html)
    sectors = _cached_map(column("categories"), _sectors_cell)

    notes: list[tuple[int, str, object, tuple[str, str]]] = []
    derived = ("funder_id", "name", "funder_type", "perimeter", "description", "sectors", "sectors_inferred",
               "url", "call_id", "call_title")
    out: dict[str, list] = {name: [] for name in derived}
    for i in range(n):
        reading = readings[i]
        perimeter = reading.perimeter if reading else None
        if perimeter is not None and perimeter.warning:
            notes.append((i, "perimeter", frame[roles["funders"]].iat[i], perimeter.warning))
        sector_ids, unknown_sectors = sectors[i]
        if unknown_sectors:
            joined = ", ".join(unknown_sectors)
            notes.append((i, "sectors", frame[roles["categories"]].iat[i],
                          parse_error("aides.unknown_sectors", joined=joined)))
        title = titles[i]
        out["funder_id"].append(reading.funder_id if reading else None)
        out["name"].append(reading.name if reading else None)
        out["funder_type"].append(reading.funder_type if reading else None)
        out["perimeter"].append(";".join(perimeter.codes) if perimeter and perimeter.codes else None)
        out["description"].append(_description(descriptions[i], funders[i][1:]))
        inferred = None
        if sector_ids is None and not unknown_sectors:  # no category stated: guess from the name and text
            sector_ids = _inferred_cell(title, descriptions[i])
            inferred = True if sector_ids else None
        out["sectors"].append(sector_ids)
        out["sectors_inferred"].append(inferred)
        out["url"].append(links[i])
        out["call_id"].append(call_id_of(links[i], title) if reading or title or links[i] else None)
        out["call_title"].append(f"[AAP/AMI] {title}" if title and is_call[i] else title)
    # Vocabulary cells go through the pipeline's own parsers (cached per distinct cell).
    out["instruments"] = column("types")
    out["eligible_legal_forms"] = column("audiences")
    out["call_opens"] = column("opens")
    out["call_closes"] = column("closes")
    prepared = pd.DataFrame({name: pd.Series(values, dtype=object) for name, values in out.items()})
    prepared = prepared.astype(object).where(prepared.notna(), None)
    methods = [r.perimeter.method if r else None for r in readings]
    return dataclasses.replace(raw, frame=prepared), notes, methods


def _is_call(value) -> bool:
    if value is None:
        return False
    try:
        return parsers.parse_bool(value) is True
    except ParseError:  # any other text ("AAP", "AMI", "Appel à projets") says it is a call
        return bool(fold(value))


def _description(text: str | None, cofunders: list[str]) -> str | None:
    if not cofunders:
        return text
    note = "Cofinanceurs : " + ", ".join(cofunders) + "."
    return note if text is None else f"{note} {text}"


def _header_mapping(raw, roles: dict[str, str]) -> HeaderMapping:
    mapping: dict[str, str] = {}
    for field, role in FIELD_ROLES.items():
        source = roles.get(role)
        if source is not None and source not in mapping:
            mapping[source] = field
    if "call" in roles:
        mapping[roles["call"]] = "call_title"
    used = set(roles.values())
    unmapped = [c for c in raw.frame.columns if c not in used]
    ignored = [roles["recurrence"]] if "recurrence" in roles else []
    problems = [problem("aides.column_ignored", None, column, None, FILE, column=column) for column in unmapped]
    return HeaderMapping(mapping=mapping, unmapped=unmapped, ambiguous=[],
                         method={c: "aides-territoires" for c in mapping}, problems=problems,
                         ignored=ignored)


def normalize_aides_territoires(raw) -> p.Normalized:
    """Normalise a :class:`~matcher.io.readers.RawTable` read from an Aides-territoires export.

    Every aid becomes one canonical funder row (one call of its first funder).
    Rows without a funder are rejected; every other value that cannot be read
    is a warning and stays unknown. ``summary`` accounts for every row
    (``rows_read = rows_normalised + rows_rejected``) and adds ``funders``,
    ``calls`` and ``perimeters`` (aids per perimeter reading method).

    Raises
    ------
    MappingError
        When the ``Nom`` or ``Financeurs`` column is missing.
    """
    roles = _role_columns(raw.frame.columns)
    missing = [header for role, header in (("title", "Nom"), ("funders", "Financeurs"))
               if role not in roles]
    if missing:
        shown = ", ".join(f"'{c}'" for c in raw.frame.columns) or "none"
        raise MappingError(f"not an Aides-territoires export: no column {' or '.join(repr(m) for m in missing)} "
                           f"(columns: {shown})")
    prepared, notes, methods = _prepare(raw, roles)
    mapping = _header_mapping(raw, roles)
    state, _ = p.start(prepared, "funders")
    for found in mapping.problems:
        state.problems.append(found)
        state.problem_sources.append(raw.source)
    state.columns.update({field: roles[role] for field, role in FIELD_ROLES.items() if role in roles})
    for position, field, value, reason in notes:
        state.report(position, state.columns.get(field, field), value, reason)
    for step in STEPS:
        step(state)
    counts = Counter(m for m, rejected in zip(methods, state.rejected, strict=True) if not rejected)
    state.options.setdefault("extra_summary", {})["perimeters"] = dict(sorted(counts.items()))
    return p.finish(state, mapping, prepared)


__all__ = [
    "COLUMN_ROLES",
    "FUNDER_TYPE_RULES",
    "FunderReading",
    "PerimeterReading",
    "call_id_of",
    "funder_type_of",
    "infer_sectors",
    "looks_like_aides_territoires",
    "normalize_aides_territoires",
    "read_funder",
    "read_funder_perimeter",
    "slug",
    "strip_html",
]

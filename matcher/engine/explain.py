"""Explanations a person can read: reasons, the score waterfall, formatting in fr/en.

Every text the engine shows comes from ``matcher/data/messages.yaml``, filled
with values formatted for the language: amounts the French way in French
(``120 000 €``, narrow no-break space between thousands) and the English way
in English (``€120,000``); dates ``15/03/2026`` and ``15 March 2026``.

An :class:`Explanation` is built for one (project, funder row) pair by
:meth:`matcher.engine.model.Matcher.explain`; it carries the verdict, the reasons
(fails, unknowns, warnings), each criterion's ``score × weight =
contribution`` (contributions sum to the score), the words that drove text
similarity, the amount coverage and the call's closing date.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass, field
from functools import lru_cache

from matcher.core.missing import is_missing
from matcher.core.resources import load_data

LANGS = ("fr", "en")
_MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December")
THIN = "\u202f"  # narrow no-break space: French thousands separator
NBSP = "\u00a0"  # no-break space: before € and % in French

#: Reason kinds, in the order they are listed.
FAIL, UNKNOWN, WARNING = "fail", "unknown", "warning"
REASON_ORDER = {FAIL: 0, UNKNOWN: 1, WARNING: 2}


def messages() -> dict:
    """The bilingual message catalogue (``matcher/data/messages.yaml``, read once)."""
    return load_data("messages.yaml")


def template(*path: str) -> dict[str, str]:
    """The ``{fr, en}`` entry at ``path`` in the catalogue, e.g. ``("reasons", "esus", "fail")``."""
    node = messages()
    for key in path:
        node = node[key]
    return node


class Bilingual:
    """A value shown differently in French and English (an amount, a list of labels)."""

    __slots__ = ("fr", "en")

    def __init__(self, fr: str, en: str | None = None):
        self.fr = fr
        self.en = fr if en is None else en

    def __call__(self, lang: str) -> str:
        return self.fr if lang == "fr" else self.en

    def __repr__(self) -> str:
        return f"Bilingual(fr={self.fr!r}, en={self.en!r})"


def render(entry: dict[str, str], lang: str, values: dict) -> str:
    """Fill one language of ``entry`` with ``values`` (Bilingual values pick their language)."""
    filled = {k: (v(lang) if isinstance(v, Bilingual) else v) for k, v in values.items()}
    return entry[lang].format(**filled)


@dataclass(frozen=True)
class Reason:
    """One reason of a verdict: a failed rule, an unknown fact or a warning.

    ``kind`` is ``fail``, ``unknown`` or ``warning``; ``rule`` the rule's name.
    """

    rule: str
    kind: str
    fr: str
    en: str

    @classmethod
    def build(cls, rule: str, kind: str, key: str | None = None, **values) -> Reason:
        """Render ``reasons.<rule>.<key or kind>`` in both languages."""
        entry = template("reasons", rule, key or kind)
        return cls(rule, kind, render(entry, "fr", values), render(entry, "en", values))

    def text(self, lang: str = "fr") -> str:
        return self.fr if lang == "fr" else self.en

    @staticmethod
    def build_text(rule: str, kind: str, lang: str, key: str | None = None, **values) -> str:
        """``Reason.build(rule, kind, key, **values).text(lang)``, rendering only that language."""
        return render(template("reasons", rule, key or kind), lang, values)


# --------------------------------------------------------------------------- one fact, one reason


@lru_cache(maxsize=1)
def _shared_heads() -> dict[str, str]:
    """Heads of reasons that two rules may both give for one missing fact -> their language.

    A head is the fixed text of a reason template before its last parenthesis, such as
    ``Montant demandé non renseigné : à fournir`` (``ticket_min`` and ``ticket_max``); only heads
    without a placeholder count, so two reasons with the same head say the same thing.
    """
    heads: dict[str, str] = {}
    for entries in messages()["reasons"].values():
        for entry in entries.values():
            for lang in LANGS:
                head = _head_of(entry[lang])
                if head is not None and "{" not in head:
                    heads[head] = lang
    return heads


def _head_of(text: str) -> str | None:
    if not text.endswith(")") or " (" not in text:
        return None
    depth, i = 0, len(text) - 1
    while i >= 0:  # the opening parenthesis that matches the last one
        depth += {")": 1, "(": -1}.get(text[i], 0)
        if depth == 0:
            return text[:i - 1] if text[i - 1:i + 1] == " (" else None
        i -= 1
    return None


def merge_texts(texts: list[str]) -> list[str]:
    """The reasons of one line with a fact said once.

    Two rules may both miss the same project fact (the amount requested for the minimum and the
    ceiling): their reasons share a head and differ only in the parenthesis, so they become one,
    ``Montant demandé non renseigné : à fournir (minimum 2 000 € et plafond strict 30 000 €)``,
    where the first of them stood. A text said twice word for word is kept once.
    """
    if len(texts) < 2:
        return list(texts)
    heads = _shared_heads()
    out: list[str] = []
    details: dict[str, list[str]] = {}  # head -> details, in order
    at: dict[str, int] = {}  # head -> position in out
    for text in texts:
        head = _head_of(text)
        if head is None or head not in heads:
            if text not in out:
                out.append(text)
            continue
        detail = text[len(head) + 2:-1]
        if head not in at:
            at[head] = len(out)
            out.append(text)
            details[head] = [detail]
        elif detail not in details[head]:
            details[head].append(detail)
            word = template("labels", "and")[heads[head]]
            out[at[head]] = f"{head} ({f' {word} '.join(details[head])})"
    return out


def merge_reasons(reasons: list[Reason]) -> list[Reason]:
    """:func:`merge_texts` over :class:`Reason` objects: reasons of one kind with one head become one."""
    if len(reasons) < 2:
        return list(reasons)
    heads = _shared_heads()
    groups: dict[tuple[str, str], list[Reason]] = {}
    for r in reasons:
        head = _head_of(r.fr)
        groups.setdefault((r.kind, head if head in heads else r.fr), []).append(r)
    out = []
    for group in groups.values():
        first = group[0]
        if len(group) == 1:
            out.append(first)
            continue
        fr = " ; ".join(merge_texts([r.fr for r in group]))
        en = " ; ".join(merge_texts([r.en for r in group]))
        out.append(Reason(first.rule, first.kind, fr, en))
    return out


# --------------------------------------------------------------------------- formatting




def _group(number: int, sep: str) -> str:
    return f"{number:,}".replace(",", sep)


def format_amount(value: float, lang: str) -> str:
    """``120 000 €`` in French, ``€120,000`` in English; cents only when there are some."""
    if is_missing(value) or not math.isfinite(float(value) * 100):
        return template("labels", "unknown_value")[lang]
    value = float(value)
    whole, cents = divmod(int(round(abs(value) * 100)), 100)
    sign = "-" if value < 0 else ""
    if lang == "fr":
        text = _group(whole, THIN) + (f",{cents:02d}" if cents else "")
        return f"{sign}{text}{NBSP}€"
    text = _group(whole, ",") + (f".{cents:02d}" if cents else "")
    return f"{sign}€{text}"


def amount(value: float) -> Bilingual:
    """An amount formatted for both languages."""
    if isinstance(value, float | int) and value == value:  # the usual case: reuse the texts of a value seen before
        return Bilingual(*_amount_texts(float(value)))
    return Bilingual(format_amount(value, "fr"), format_amount(value, "en"))


@lru_cache(maxsize=65536)
def _amount_texts(value: float) -> tuple[str, str]:
    return format_amount(value, "fr"), format_amount(value, "en")


def format_percent(share: float, lang: str) -> str:
    """A share in [0, 1] as ``40 %`` (fr) or ``40%`` (en); one decimal below 10 %."""
    if is_missing(share) or not math.isfinite(float(share) * 100):
        return template("labels", "unknown_value")[lang]
    pct = float(share) * 100
    text = f"{pct:.1f}" if 0 < pct < 10 and round(pct, 1) != round(pct) else f"{round(pct):d}"
    return f"{text.replace('.', ',')}{NBSP}%" if lang == "fr" else f"{text}%"


def percent(share: float) -> Bilingual:
    if isinstance(share, float | int) and share == share:  # the usual case: reuse the texts of a share seen before
        return Bilingual(*_percent_texts(float(share)))
    return Bilingual(format_percent(share, "fr"), format_percent(share, "en"))


@lru_cache(maxsize=65536)
def _percent_texts(share: float) -> tuple[str, str]:
    return format_percent(share, "fr"), format_percent(share, "en")


def parse_iso_date(value) -> dt.date | None:
    """A canonical ISO date (or a date/datetime) as a :class:`datetime.date`; None when unknown."""
    if is_missing(value):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def format_date(value, lang: str) -> str:
    """``15/03/2026`` in French, ``15 March 2026`` in English."""
    day = parse_iso_date(value)
    if day is None:
        return template("labels", "unknown_value")[lang]
    if lang == "fr":
        return day.strftime("%d/%m/%Y")
    return f"{day.day} {_MONTHS_EN[day.month - 1]} {day.year}"


def date(value) -> Bilingual:
    return Bilingual(format_date(value, "fr"), format_date(value, "en"))


def format_number(value: float, lang: str, digits: int = 2) -> str:
    text = f"{value:.{digits}f}"
    return text.replace(".", ",") if lang == "fr" else text


def join(labels: Bilingual | list[Bilingual] | tuple) -> Bilingual:
    """Labels joined with ``, `` in each language; ``aucun`` / ``none`` when empty."""
    labels = list(labels)
    if not labels:
        none = template("labels", "none")
        return Bilingual(none["fr"], none["en"])
    return Bilingual(", ".join(x("fr") for x in labels), ", ".join(x("en") for x in labels))


# --------------------------------------------------------------------------- explanation


@dataclass(frozen=True)
class CriterionLine:
    """One line of the waterfall: ``score × weight = contribution``.

    ``weight`` is the criterion's share of the *known* weight (the weights
    renormalised over the criteria whose score is known), so contributions sum
    to the total score. ``score`` and ``contribution`` are None when unknown.
    """

    name: str
    label_fr: str
    label_en: str
    score: float | None
    weight: float
    contribution: float | None
    raw_weight: float

    def label(self, lang: str) -> str:
        return self.label_fr if lang == "fr" else self.label_en


@dataclass
class Explanation:
    """Everything that explains one (project, funder row) pair."""

    project_id: str
    funder_id: str
    call_id: str | None
    project_name: str | None
    funder_name: str | None
    call_title: str | None
    call_closes: str | None
    verdict: str
    score: float
    unknown_weight: float
    reasons: list[Reason] = field(default_factory=list)
    criteria: list[CriterionLine] = field(default_factory=list)
    text_terms: list[str] = field(default_factory=list)
    amount_requested: float | None = None
    coverage: float | None = None
    lang: str = "fr"

    @property
    def contributions(self) -> dict[str, float]:
        """Criterion name -> contribution (0 for unknown criteria); they sum to ``score``."""
        return {c.name: (c.contribution or 0.0) for c in self.criteria}

    def coverage_text(self, lang: str | None = None) -> str | None:
        """``couvre 40 % des 120 000 € demandés`` / ``covers 40 % of the €120,000 asked``."""
        lang = lang or self.lang
        if self.coverage is None or self.amount_requested is None:
            return None
        return render(template("explanation", "coverage"), lang,
                      {"coverage": percent(self.coverage), "amount": amount(self.amount_requested)})

    def reasons_text(self, lang: str | None = None) -> list[str]:
        return [r.text(lang or self.lang) for r in self.reasons]

    def to_text(self, lang: str | None = None) -> str:
        """A readable multi-line block in ``lang`` (default: the matcher's language)."""
        lang = lang or self.lang
        t = lambda *path, **values: render(template("explanation", *path), lang, values)  # noqa: E731
        project = self.project_id + (f" — {self.project_name}" if self.project_name else "")
        funder = self.funder_id + (f" — {self.funder_name}" if self.funder_name else "")
        lines = [t("title", project=project, funder=funder)]
        if self.call_id is not None:
            call = t("call", title=self.call_title or self.call_id)
            if self.call_closes:
                call += f" ({t('closes', date=date(self.call_closes))})"
            lines.append(call)
        else:
            lines.append(template("explanation", "no_call")[lang])
        verdict = template("verdicts", self.verdict)[lang]
        lines.append(t("verdict", verdict=verdict))
        lines.append(t("score", score=format_number(self.score, lang),
                       unknown=percent(self.unknown_weight)))
        lines.append(template("explanation", "reasons")[lang])
        if self.reasons:
            kinds = messages()["reason_kinds"]
            lines += [f"  - [{kinds[r.kind][lang]}] {r.text(lang)}" for r in self.reasons]
        else:
            lines.append(f"  - {template('explanation', 'no_reason')[lang]}")
        lines.append(template("explanation", "criteria")[lang])
        width = max((len(c.label(lang)) for c in self.criteria), default=0)
        for c in self.criteria:
            if c.score is None:
                value = f"{template('explanation', 'unknown_score')[lang]} (× {format_number(c.raw_weight, lang)})"
            else:
                value = (f"{format_number(c.score, lang)} × {format_number(c.weight, lang, 3)}"
                         f" = {format_number(c.contribution, lang, 3)}")
            lines.append(f"  {c.label(lang).ljust(width)}  {value}")
        if self.text_terms:
            lines.append(t("terms", terms=", ".join(self.text_terms)))
        coverage = self.coverage_text(lang)
        if coverage:
            lines.append(coverage)
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """Plain data (JSON-ready): reasons as ``{rule, kind, fr, en}``, criteria as dicts."""
        data = asdict(self)
        data["reasons"] = [asdict(r) for r in self.reasons]
        data["criteria"] = [asdict(c) for c in self.criteria]
        data["coverage_text"] = {lang: self.coverage_text(lang) for lang in LANGS}
        return data


# --------------------------------------------------------------------------- labels


@lru_cache(maxsize=4096)
def vocab_label(vocabulary: str, id_: str) -> Bilingual:
    """The French and English labels of a vocabulary id (legal-form groups included)."""
    try:
        from matcher.referential.vocabularies import get_vocabulary
    except ImportError:  # pragma: no cover - the vocabularies module is part of the package
        return Bilingual(id_)
    names = (vocabulary, "legal_form_groups") if vocabulary == "legal_forms" else (vocabulary,)
    for name in names:
        try:
            vocab = get_vocabulary(name)
            if id_ in vocab.ids:
                return Bilingual(vocab.label(id_, "fr"), vocab.label(id_, "en"))
        except Exception:  # noqa: BLE001 - unknown vocabulary or id: show the id
            continue
    return Bilingual(id_)


def vocab_labels(vocabulary: str, ids) -> Bilingual:
    """Labels of several ids, joined."""
    return join([vocab_label(vocabulary, i) for i in ids or ()])


def place_label(territories, code: str) -> str:
    """``Lyon (69)``; the code itself when the table does not know it."""
    try:
        return territories.label(code)
    except Exception:  # noqa: BLE001
        return code


def place_labels(territories, codes) -> Bilingual:
    return join([Bilingual(place_label(territories, c)) for c in codes or ()])

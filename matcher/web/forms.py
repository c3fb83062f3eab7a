"""The project form (canonical fields, French labels, vocabularies as choices) and the territory autocomplete.

A filled form becomes a one-row projects file with canonical headers, read by
the same pipeline as any file (:func:`matcher.read_projects`): the form's
values are parsed, checked and explained exactly like a spreadsheet's.
"""

from __future__ import annotations

import csv
import tempfile
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from matcher import read_projects
from matcher.normalize.schema import PROJECT_FIELDS
from matcher.referential.vocabularies import get_vocabulary

MAX_SUGGESTIONS = 15
PLACE_LEVELS = ("region", "department", "epci", "commune")
LEVEL_LABELS = {"region": "région", "department": "département", "epci": "EPCI", "commune": "commune"}


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    widget: str  # text, textarea, number, date, select, multi, territory, levels
    choices: tuple[tuple[str, str], ...] = ()
    required: bool = False


def _choices(vocabulary: str) -> tuple[tuple[str, str], ...]:
    vocab = get_vocabulary(vocabulary)
    return tuple((i, vocab.label(i, "fr")) for i in vocab.ids)


def _build() -> tuple[FormField, ...]:
    widgets = {"text": "text", "id": "text", "amount": "number", "int": "number", "date": "date",
               "choice": "select", "choices": "multi", "places": "territory", "levels": "levels"}
    shown = ("project_id", "name", "summary", "carrier_name", "legal_form", "ess_status", "sectors", "territory",
             "amount_requested", "total_budget", "secured_funding", "expense_type", "instruments_sought", "stage",
             "start_date", "duration_months", "just_transition")
    out = []
    for name in shown:
        f = PROJECT_FIELDS[name]
        widget = "textarea" if name == "summary" else widgets.get(f.kind, "text")
        label = f.help_fr[:1].upper() + f.help_fr[1:]
        choices = _choices(f.vocabulary) if f.vocabulary else ()
        out.append(FormField(name, label, widget, choices, required=name == "name"))
    return tuple(out)


PROJECT_FORM = _build()


def form_frame(form):
    """The form as a :class:`~matcher.normalize.pipeline.Normalized` one-row projects frame."""
    row: dict[str, str] = {}
    for f in PROJECT_FORM:
        if f.widget == "multi":
            allowed = {i for i, _ in f.choices}
            picked = [v for v in form.getlist(f.name) if v in allowed]
            row[f.name] = "; ".join(picked)
        elif f.widget == "levels":
            allowed = {i for i, _ in f.choices}
            levels = []
            for criterion in sorted(allowed):
                value = str(form.get(f"jt_{criterion}") or "")
                if value in ("1", "2", "3"):
                    levels.append(f"{criterion}:{value}")
            row[f.name] = "; ".join(levels)
        else:
            value = str(form.get(f.name) or "").strip()
            row[f.name] = value[:5000]
    if not row.get("project_id"):
        row["project_id"] = "FORMULAIRE"
    with tempfile.TemporaryDirectory(prefix="coopmatch-form-") as folder:
        path = Path(folder) / "projet.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, delimiter=";")
            writer.writerow(list(row))
            writer.writerow(list(row.values()))
        return read_projects(path)


def fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c)).lower()


@lru_cache(maxsize=1)
def _places() -> list[tuple[str, int, int, str, str]]:
    """(folded name, level order, -population, code, label) of every commune, EPCI, department and region."""
    from matcher.referential.territories import Territories

    t = Territories.default()
    out = []
    for order, level in enumerate(PLACE_LEVELS):
        for code in t.codes(level):
            out.append((fold(t.name(code)), order, -(t.population(code) or 0), code,
                        f"{t.label(code)} — {LEVEL_LABELS[level]}"))
    out.sort()
    return out


def territory_suggestions(q: str) -> list[dict]:
    """Places whose name starts like ``q`` (accents and case folded), regions first, then by population."""
    key = fold(q.strip())
    if len(key) < 2:
        return []
    import bisect

    places = _places()
    start = bisect.bisect_left(places, (key,))
    found = []
    for item in places[start:]:
        if not item[0].startswith(key):
            break
        found.append(item)
        if len(found) >= 500:
            break
    found.sort(key=lambda p: (p[1] if p[1] < 3 else 3, p[2], p[0]))
    return [{"code": code, "label": label} for _, _, _, code, label in found[:MAX_SUGGESTIONS]]

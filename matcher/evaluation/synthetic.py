"""Realistic synthetic project and funder profiles, for benchmarks and load tests.

Profiles are drawn from the shipped vocabularies and the real territory table:
project places are real communes drawn in proportion to their population
(with some EPCI and department-wide projects), amounts are log-normal,
legal forms and sectors follow a plausible mix of the social and solidarity
economy, funders have realistic perimeters for their type (a region funds
its region, the State all of France) and calls have opening and closing
dates around a reference date.

A share ``messy`` of the cells is written the way people write them:
hand-written amounts (``45k€``, ``1,5 M€``, ``12 500 EUR``), French labels and
synonyms for legal forms, sectors and instruments, place names instead of
codes, dd/mm/yyyy dates. Every messy spelling is one the normal pipelines
resolve, so a generated file reads back with no rejected row.

The files are ordinary CSV (``;``-separated, UTF-8) read by
:func:`matcher.io.loading.load`; the same ``seed`` gives the same bytes.

Examples
--------
>>> write_profiles("bench", projects=1000, funders=500, seed=1)   # doctest: +SKIP
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import numpy as np
import yaml

from matcher.core.resources import DATA_DIR
from matcher.io.writers import atomic_path

_PHRASES = DATA_DIR / "synthetic_phrases.yaml"

#: Columns of the generated projects file (canonical names).
PROJECT_COLUMNS = ("project_id", "name", "summary", "carrier_name", "legal_form", "ess_status", "sectors",
                   "territory", "amount_requested", "total_budget", "expense_type", "instruments_sought",
                   "stage", "start_date", "duration_months", "partners_count", "partner_kinds", "governance",
                   "just_transition")
#: Columns of the generated funders file: one row per funder and call.
FUNDER_COLUMNS = ("funder_id", "name", "funder_type", "description", "sectors", "perimeter", "instruments",
                  "ticket_min", "ticket_max", "ticket_max_strict", "max_share_of_budget", "eligible_legal_forms",
                  "excluded_legal_forms", "requires_esus", "stages", "expense_types",
                  "just_transition_requirements", "just_transition_priorities", "call_id", "call_title",
                  "call_opens", "call_closes", "call_envelope")

# Mixes (id -> relative frequency), from the kinds of carriers a cooperation network sees.
LEGAL_FORM_MIX = {"association": 55, "scic": 8, "scop": 7, "cae": 2, "cooperative": 2, "commercial_company": 6,
                  "endowment_fund": 1, "foundation": 1, "commune": 7, "epci": 5, "other_local_authority": 2,
                  "public_body": 2, "mutual": 1, "gip": 1}
FUNDER_TYPE_MIX = {"foundation": 25, "endowment_fund": 15, "local_authority": 30, "state_agency": 10,
                   "eu_programme": 3, "solidarity_bank": 8, "corporate_philanthropy": 6, "impact_investor": 3}
STAGE_MIX = {"emergence": 25, "launch": 30, "development": 30, "scale_up": 8, "consolidation": 7}
EXPENSE_MIX = {"operating": 45, "investment": 30, "both": 25}
#: Ticket ranges (median minimum, median maximum) by funder type, in euros.
TICKETS = {"foundation": (5_000, 50_000), "endowment_fund": (3_000, 30_000), "local_authority": (5_000, 80_000),
           "state_agency": (20_000, 300_000), "eu_programme": (50_000, 1_000_000),
           "solidarity_bank": (10_000, 500_000), "corporate_philanthropy": (2_000, 20_000),
           "impact_investor": (100_000, 2_000_000)}
INSTRUMENTS_BY_TYPE = {"solidarity_bank": ("loan", "guarantee", "quasi_equity"),
                       "impact_investor": ("equity", "quasi_equity"),
                       "state_agency": ("grant", "recoverable_advance", "engineering_support")}
MESSY_AMOUNTS = ("{k}k€", "{spaced} €", "{spaced} EUR", "{dotted},00", "{m} M€")


@dataclass(frozen=True)
class Places:
    """The real territory table as arrays: communes with their population and ancestors."""

    communes: np.ndarray
    weights: np.ndarray
    epci: np.ndarray
    dep: np.ndarray
    reg: np.ndarray
    unique_name: dict  # code -> its name when that name designates only this territory


@lru_cache(maxsize=2)
def _places(territories=None) -> Places:
    if territories is None:
        from matcher.referential.territories import Territories

        territories = Territories.default()
    communes, pops, epcis, deps, regs = [], [], [], [], []
    for code in sorted(territories.codes("commune")):
        ancestors = territories.ancestors(code)
        by_level = {territories.level(a): a for a in ancestors if a in territories}
        if "department" not in by_level or "region" not in by_level:
            continue
        communes.append(code)
        pops.append(max(territories.population(code) or 0, 1))
        epcis.append(by_level.get("epci", by_level["department"]))
        deps.append(by_level["department"])
        regs.append(by_level["region"])
    weights = np.asarray(pops, dtype=float)
    return Places(np.array(communes), weights / weights.sum(), np.array(epcis), np.array(deps), np.array(regs),
                  _UniqueNames(territories))


class _UniqueNames(dict):
    """Code -> its plain name, only when the name resolves back to the code (computed lazily)."""

    def __init__(self, territories):
        super().__init__()
        self.territories = territories

    def __missing__(self, code):
        name = self.territories.name(code)
        found = self.territories.resolve(name).code
        self[code] = name if found == code else None
        return self[code]

    def __hash__(self):
        return id(self)


@lru_cache(maxsize=1)
def _phrases() -> dict:
    return yaml.safe_load(_PHRASES.read_text(encoding="utf-8"))


@cache
def _vocab(name: str):
    from matcher.referential.vocabularies import get_vocabulary

    return get_vocabulary(name)


def _mix(rng: np.random.Generator, mix: dict, n: int) -> np.ndarray:
    ids = np.array(list(mix))
    p = np.array(list(mix.values()), dtype=float)
    return ids[rng.choice(len(ids), size=n, p=p / p.sum())]


class _Writer:
    """Cell spellings, clean or messy, from one random generator."""

    def __init__(self, rng: np.random.Generator, messy: float):
        self.rng = rng
        self.messy = messy

    def is_messy(self) -> bool:
        return self.messy > 0 and self.rng.random() < self.messy

    def amount(self, value: float) -> str:
        value = float(round(value, -2)) if value >= 1_000 else float(round(value))
        if not self.is_messy():
            return str(int(value))
        whole = int(value)
        spaced = f"{whole:,}".replace(",", " ")
        form = MESSY_AMOUNTS[self.rng.integers(len(MESSY_AMOUNTS))]
        if "{k}" in form and whole % 1_000:
            form = "{spaced} €"
        if "{m}" in form and whole % 100_000:
            form = "{spaced} EUR"
        return form.format(k=whole // 1_000, spaced=spaced, dotted=f"{whole:,}".replace(",", "."),
                           m=f"{whole / 1_000_000:g}".replace(".", ","))

    def choice(self, vocabulary: str, id_: str) -> str:
        if not self.is_messy():
            return id_
        vocab = _vocab(vocabulary)
        spellings = [vocab.label(id_, "fr"), *vocab.synonyms(id_)]
        spellings = [s for s in spellings if "," not in s and ";" not in s and ":" not in s]
        for _ in range(4):  # a synonym that resolves to this id alone
            text = spellings[self.rng.integers(len(spellings))]
            if vocab.resolve(text) == (id_,):
                return text
        return id_

    def choices(self, vocabulary: str, ids) -> str:
        return ", ".join(self.choice(vocabulary, i) for i in ids)

    def weighted(self, vocabulary: str, weights: dict) -> str:
        return "; ".join(f"{i}:{w}" for i, w in weights.items())

    def place(self, code: str, places: Places) -> str:
        if not self.is_messy():
            return code
        name = places.unique_name[code]
        return name if name and "," not in name and ";" not in name else code

    def date(self, day: dt.date) -> str:
        return day.strftime("%d/%m/%Y") if self.is_messy() else day.isoformat()


def _text(rng: np.random.Generator, sectors) -> tuple[str, str]:
    bank = _phrases()
    activity = [bank["sectors"][s][rng.integers(len(bank["sectors"][s]))] for s in sectors]
    public = bank["publics"][rng.integers(len(bank["publics"]))]
    name = activity[0][0].upper() + activity[0][1:]
    verb = bank["verbs"][rng.integers(len(bank["verbs"]))]
    summary = f"Le projet {verb} {' et '.join(activity)} avec {public}."
    return name, summary


def _sectors(rng: np.random.Generator, k: int) -> list[str]:
    ids = list(_phrases()["sectors"])
    return sorted(rng.choice(ids, size=k, replace=False).tolist())


# --------------------------------------------------------------------------- projects


def generate_projects(n: int, seed: int = 0, messy: float = 0.05, territories=None) -> list[dict]:
    """``n`` project rows (cell texts keyed by :data:`PROJECT_COLUMNS`)."""
    rng = np.random.default_rng([seed, 1])
    write = _Writer(rng, messy)
    places = _places(territories)
    forms = _mix(rng, LEGAL_FORM_MIX, n)
    stages = _mix(rng, STAGE_MIX, n)
    expenses = _mix(rng, EXPENSE_MIX, n)
    where = rng.choice(len(places.communes), size=n, p=places.weights)
    scope = rng.choice(4, size=n, p=[0.7, 0.12, 0.13, 0.05])  # commune, epci, department, two communes
    amounts = np.exp(rng.normal(np.log(40_000), 1.1, size=n)).clip(500, 5_000_000)
    shares = rng.uniform(0.1, 0.9, size=n)
    jt_ids = list(_vocab("jt_criteria").ids)
    kinds = list(_vocab("partner_kinds").ids)
    governance = list(_vocab("governance").ids)
    base = dt.date(2026, 1, 1)
    rows = []
    for i in range(n):
        sectors = _sectors(rng, int(rng.integers(1, 4)))
        name, summary = _text(rng, sectors)
        c = where[i]
        if scope[i] == 1:
            territory = [places.epci[c]]
        elif scope[i] == 2:
            territory = [places.dep[c]]
        elif scope[i] == 3:
            territory = [places.communes[c], places.communes[rng.choice(len(places.communes), p=places.weights)]]
        else:
            territory = [places.communes[c]]
        form = str(forms[i])
        ess = ["esus"] if rng.random() < 0.15 else (["ess_member"] if rng.random() < 0.3 else [])
        jt = {j: int(rng.integers(0, 4)) for j in rng.choice(jt_ids, size=int(rng.integers(0, 6)), replace=False)}
        amount = float(amounts[i])
        instruments = ["grant"] + (["loan"] if rng.random() < 0.25 else []) + \
            (["engineering_support"] if rng.random() < 0.15 else [])
        rows.append({
            "project_id": f"P{i + 1:07d}",
            "name": name,
            "summary": summary,
            "carrier_name": f"{_phrases()['carriers'][rng.integers(9)]} {name.split()[0]} {i + 1}",
            "legal_form": write.choice("legal_forms", form),
            "ess_status": write.choices("ess_status", ess),
            "sectors": write.choices("sectors", sectors),
            "territory": ", ".join(write.place(p, places) for p in territory),
            "amount_requested": write.amount(amount),
            "total_budget": write.amount(amount / shares[i]),
            "expense_type": write.choice("expense_types", str(expenses[i])),
            "instruments_sought": write.choices("instruments", instruments),
            "stage": write.choice("stages", str(stages[i])),
            "start_date": write.date(base + dt.timedelta(days=int(rng.integers(0, 700)))),
            "duration_months": str(int(rng.choice([12, 18, 24, 36]))),
            "partners_count": str(int(rng.poisson(4))),
            "partner_kinds": write.choices("partner_kinds",
                                           sorted(rng.choice(kinds, size=int(rng.integers(0, 4)), replace=False))),
            "governance": write.choices("governance",
                                        sorted(rng.choice(governance, size=int(rng.integers(0, 3)), replace=False))),
            "just_transition": "; ".join(f"{k}:{v}" for k, v in jt.items()),
        })
    return rows


# --------------------------------------------------------------------------- funders


def generate_funders(n_rows: int, seed: int = 0, messy: float = 0.05, territories=None,
                     reference_date: str = "2026-06-01") -> list[dict]:
    """Funder rows (one per funder and call) until ``n_rows``; cell texts keyed by :data:`FUNDER_COLUMNS`."""
    rng = np.random.default_rng([seed, 2])
    write = _Writer(rng, messy)
    places = _places(territories)
    ref = dt.date.fromisoformat(reference_date)
    bank = _phrases()
    jt_ids = list(_vocab("jt_criteria").ids)
    groups = ["associations", "cooperatives", "ess", "local_authorities", "foundations"]
    rows: list[dict] = []
    f = 0
    while len(rows) < n_rows:
        f += 1
        kind = str(_mix(rng, FUNDER_TYPE_MIX, 1)[0])
        c = rng.choice(len(places.communes), p=places.weights)
        if kind == "local_authority":
            perimeter = [[places.reg[c]], [places.dep[c]], [places.epci[c]], [places.communes[c]]][
                rng.choice(4, p=[0.2, 0.35, 0.35, 0.1])]
        elif kind in ("state_agency", "solidarity_bank", "impact_investor"):
            perimeter = ["FR"]
        elif kind == "eu_programme":
            perimeter = ["EU"] if rng.random() < 0.5 else ["FR"]
        else:
            perimeter = [["FR"], [places.reg[c]], [places.dep[c]], [places.reg[c], places.reg[
                rng.choice(len(places.communes), p=places.weights)]]][rng.choice(4, p=[0.4, 0.3, 0.2, 0.1])]
        perimeter = sorted(set(perimeter))
        sectors = _sectors(rng, int(rng.integers(1, 5)))
        low, high = TICKETS[kind]
        ticket_min = float(np.exp(rng.normal(np.log(low), 0.5)))
        ticket_max = max(ticket_min * 2, float(np.exp(rng.normal(np.log(high), 0.6))))
        instruments = list(INSTRUMENTS_BY_TYPE.get(kind, ("grant",)))
        if rng.random() < 0.2:
            instruments.append("engineering_support")
        forms = sorted(rng.choice(groups, size=int(rng.integers(0, 3)), replace=False).tolist())
        name = f"{bank['funder_words'][rng.integers(len(bank['funder_words']))]} {_vocab('sectors').label(sectors[0])}"
        name = f"{name} {f}"
        base = {
            "funder_id": f"F{f:06d}",
            "name": name,
            "funder_type": write.choice("funder_types", kind),
            "description": _text(rng, sectors)[1].replace("Le projet", "Le financeur soutient ce qui"),
            "sectors": write.weighted("sectors", {s: int(rng.integers(1, 4)) for s in sectors}),
            "perimeter": ", ".join(write.place(p, places) for p in perimeter),
            "instruments": write.choices("instruments", sorted(set(instruments))),
            "ticket_min": write.amount(ticket_min) if rng.random() < 0.7 else "",
            "ticket_max": write.amount(ticket_max) if rng.random() < 0.85 else "",
            "ticket_max_strict": "oui" if rng.random() < 0.3 else "non",
            "max_share_of_budget": f"{int(rng.choice([50, 70, 80]))} %" if rng.random() < 0.5 else "",
            "eligible_legal_forms": write.choices("legal_form_groups", forms),
            "excluded_legal_forms": "commercial_company" if rng.random() < 0.2 else "",
            "requires_esus": "oui" if rng.random() < 0.08 else "non",
            "stages": write.choices("stages", sorted(rng.choice(list(STAGE_MIX), size=int(rng.integers(2, 5)),
                                                                replace=False).tolist())),
            "expense_types": write.choices("expense_types", ["investment", "operating"][:int(rng.integers(1, 3))]),
            "just_transition_requirements": "just" if rng.random() < 0.1 else "",
            "just_transition_priorities": write.weighted(
                "jt_criteria", {j: int(rng.integers(1, 4)) for j in
                                sorted(rng.choice(jt_ids, size=int(rng.integers(0, 4)), replace=False))}),
        }
        n_calls = int(rng.choice(4, p=[0.5, 0.25, 0.15, 0.1]))
        for k in range(max(n_calls, 1)):
            if len(rows) >= n_rows:
                break
            row = dict(base, call_id="", call_title="", call_opens="", call_closes="", call_envelope="")
            if n_calls:
                opens = ref + dt.timedelta(days=int(rng.integers(-300, 120)))
                row.update(call_id=f"{base['funder_id']}-C{k + 1}",
                           call_title=f"Appel à projets {_vocab('sectors').label(sectors[k % len(sectors)])} "
                                      f"{opens.year}",
                           call_opens=write.date(opens),
                           call_closes=write.date(opens + dt.timedelta(days=int(rng.integers(30, 240)))),
                           call_envelope=write.amount(ticket_max * int(rng.integers(5, 30))))
            rows.append(row)
    return rows


# --------------------------------------------------------------------------- files


def write_csv(rows: list[dict], columns, path: str | Path) -> Path:
    """Write rows as a ``;``-separated UTF-8 CSV, atomically."""
    path = Path(path)
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), delimiter=";", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_profiles(folder: str | Path, projects: int, funders: int, seed: int = 0,
                   messy: float = 0.05) -> tuple[Path, Path]:
    """Write ``projects.csv`` and ``funders.csv`` into ``folder``; returns their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    p = write_csv(generate_projects(projects, seed, messy), PROJECT_COLUMNS, folder / "projects.csv")
    f = write_csv(generate_funders(funders, seed, messy), FUNDER_COLUMNS, folder / "funders.csv")
    return p, f

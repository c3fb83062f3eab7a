"""Tests of the territory table, place resolution and containment.

Run ``PYTHONPATH=. python tests/test_territories.py`` to print the acceptance measurements.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import time
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.referential.territories import (
    COLUMNS,
    DATA_PATH,
    LEVEL_RANK,
    Resolution,
    Territories,
    name_key,
    name_keys,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def t() -> Territories:
    return Territories.default()


def measure(territories: Territories | None = None) -> dict:
    """Acceptance figures: load time, INSEE and name resolution over every commune."""
    start = time.perf_counter()
    fresh = Territories.from_csv()
    load_seconds = time.perf_counter() - start
    territories = territories or fresh
    communes = list(territories.codes("commune"))
    start = time.perf_counter()
    by_name = {c: territories.resolve(territories.name(c)) for c in communes}
    names_seconds = time.perf_counter() - start
    by_insee = {c: territories.resolve(c.split(":")[1]) for c in communes}
    methods = Counter(r.method for c, r in by_name.items() if r.code not in (c, None))
    return {
        "communes": len(communes),
        "load_seconds": round(load_seconds, 3),
        "resolve_all_names_seconds": round(names_seconds, 3),
        "insee_unique_default": sum(r.code == c for c, r in by_insee.items()),
        "insee_ambiguous_default": sum(c in r.candidates for c, r in by_insee.items()),
        "insee_unique_with_hint": sum(
            territories.resolve(c.split(":")[1], "insee").code == c for c in communes
        ),
        "name_unique": sum(r.code == c for c, r in by_name.items()),
        "name_unique_share": round(sum(r.code == c for c, r in by_name.items()) / len(communes), 4),
        "name_ambiguous_communes": sum(r.ambiguous for r in by_name.values()),
        "name_ambiguous_names": len({territories.name(c) for c, r in by_name.items() if r.ambiguous}),
        "name_taken_by_other_rule": dict(methods),
    }


# --------------------------------------------------------------- spellings

SPELLINGS = [
    ("Lyon", "commune:69123"),
    ("lyon", "commune:69123"),
    ("LYON", "commune:69123"),
    ("Saint-Étienne", "commune:42218"),
    ("St Etienne", "commune:42218"),
    ("st-etienne", "commune:42218"),
    ("Sant-Etiene 42", "commune:42218"),
    ("75011", "commune:75056"),
    ("2A004", "commune:2A004"),
    ("2a004", "commune:2A004"),
    ("Marseile", "commune:13055"),
    ("Rhône", "dep:69"),
    ("rhone", "dep:69"),
    ("Bretagne", "reg:53"),
    ("Ile de France", "reg:11"),
    ("Île-de-France", "reg:11"),
    ("Métropole de Lyon", "epci:200046977"),
    ("Saint-Denis (93)", "commune:93066"),
    ("Saint-Denis 974", "commune:97411"),
    ("Saint-Denis 93200", "commune:93066"),
    ("Paris", "commune:75056"),
    ("Marseille", "commune:13055"),
    ("13001 Marseille", "commune:13055"),
    ("Paris 11e", "commune:75056"),
    ("Lyon 3ème", "commune:69123"),
    ("Lyon 1er Arrondissement", "commune:69123"),
    ("75111", "commune:75056"),
    ("69381", "commune:69123"),
    ("13216", "commune:13055"),
    ("Seine-St-Denis", "dep:93"),
    ("Cotes d'Armor", "dep:22"),
    ("69", "dep:69"),
    ("2B", "dep:2B"),
    ("971", "dep:971"),
    ("1", "dep:01"),
    ("84", "dep:84"),
    ("reg:84", "reg:84"),
    ("Région 84", "reg:84"),
    ("dep:2a", "dep:2A"),
    ("departement:69", "dep:69"),
    ("commune:69123", "commune:69123"),
    ("200046977", "epci:200046977"),
    ("epci:200046977", "epci:200046977"),
    ("Communauté de communes Pays du Mont-Blanc", "epci:200034882"),
    ("CC Pays du Mont Blanc", "epci:200034882"),
    ("FR", "FR"),
    ("France", "FR"),
    ("national", "FR"),
    ("EU", "EU"),
    ("UE", "EU"),
    ("Europe", "EU"),
    ("Union européenne", "EU"),
    ("Eu", "commune:76255"),
    ("Conseil départemental de l'Aube", "dep:10"),
    ("Conseil régional d'Ile de France", "reg:11"),
    ("Région Occitanie", "reg:76"),
    ("PACA", "reg:93"),
    ("20", "reg:94"),
    ("Guadeloupe", "dep:971"),
    ("La Réunion", "dep:974"),
    ("Saint-Barthélemy", "commune:97701"),
    ("Abergement-Clémenciat (L')", "commune:01001"),
    ("1001", "commune:01001"),
    ("Oullins", "commune:69149"),
]


@pytest.mark.parametrize(("text", "code"), SPELLINGS)
def test_real_spellings_resolve(t, text, code):
    resolution = t.resolve(text)
    assert resolution.code == code, resolution
    assert resolution.candidates == ()


def test_saint_denis_is_ambiguous_with_its_candidates(t):
    resolution = t.resolve("Saint-Denis")
    assert resolution.code is None and resolution.ambiguous
    assert {"commune:93066", "commune:97411"} <= set(resolution.candidates)
    assert all(t.name(c) == "Saint-Denis" for c in resolution.candidates)
    populations = [t.population(c) for c in resolution.candidates]
    assert populations == sorted(populations, reverse=True)


def test_sainte_marie_is_ambiguous(t):
    resolution = t.resolve("Sainte-Marie")
    assert resolution.code is None and len(resolution.candidates) >= 5


def test_unknown_text_has_no_code_and_no_candidates(t):
    for text in ("Atlantide", "Truc bidule", "zz", "dep:00", "reg:99", "123456789", "99999"):
        resolution = t.resolve(text)
        assert resolution.unknown, (text, resolution)
    assert t.resolve("   ").method == "empty"


# ------------------------------------------------------------ name rules


def test_department_wins_over_homonymous_commune_unless_qualified(t):
    assert t.resolve("Vienne").code == "dep:86"
    assert t.resolve("Vienne").method == "name:department-over-commune"
    assert t.resolve("Vienne (38)").code == "commune:38544"
    assert t.resolve("Ville de Vienne").code == "commune:38544"
    assert t.resolve("Département de la Vienne").code == "dep:86"
    assert t.resolve("Mayenne").code == "dep:53"
    assert t.resolve("Mayenne (53)").code == "commune:53147"


def test_exact_spelling_with_accents_beats_folded_homonym(t):
    assert t.resolve("Loire").code == "dep:42"
    assert t.resolve("Loiré").code == "commune:49178"


def test_a_leading_article_is_not_dropped_when_the_full_name_exists(t):
    assert t.resolve("La Marne").code == "commune:44090"
    assert t.resolve("Marne").code == "dep:51"


def test_twins_resolve_to_the_most_local_code(t):
    # Paris is a commune and a department with the same single commune.
    assert t.resolve("Paris").code == "commune:75056"
    assert t.resolve("Département de Paris").code == "dep:75"


def test_fuzzy_is_ambiguous_when_no_name_is_clearly_best(t):
    resolution = t.resolve("Montpelier")
    assert resolution.method == "fuzzy"
    assert resolution.code is None and "commune:34172" in resolution.candidates


# ------------------------------------------------------- five-digit rule


def test_insee_code_that_is_another_communes_postcode_is_ambiguous_by_default(t):
    resolution = t.resolve("69001")  # Affoux (INSEE) and Lyon 1er (postcode)
    assert resolution.code is None
    assert set(resolution.candidates) == {"commune:69001", "commune:69123"}
    assert resolution.method == "insee-or-postcode"
    assert t.resolve("69001", "insee").code == "commune:69001"
    assert t.resolve("69001", "postcode").code == "commune:69123"
    assert t.resolve("13001", "postcode").code == "commune:13055"
    assert t.resolve("13001", "insee").code == "commune:13001"


def test_former_insee_code_loses_to_a_current_postcode(t):
    # 75011 is Paris 11e and also the pre-1968 Seine code of Bonneuil-sur-Marne.
    assert t.resolve("75011").code == "commune:75056"
    assert t.resolve("75011", "insee").code == "commune:94011"


def test_shared_postcode_is_ambiguous_and_has_a_common_container(t):
    resolution = t.resolve("01400", "postcode")
    assert resolution.code is None and len(resolution.candidates) > 1
    container = t.common_container(resolution.candidates)
    assert container is not None and all(t.contains(container, c) for c in resolution.candidates)
    assert LEVEL_RANK[t.level(container)] >= LEVEL_RANK["epci"]


def test_every_commune_resolves_from_its_insee_code(t):
    for code in t.codes("commune"):
        insee = code.split(":")[1]
        assert t.resolve(insee, "insee").code == code
        assert t.resolve(code).code == code
        default = t.resolve(insee)
        assert default.code == code or (default.code is None and code in default.candidates)


def test_five_digit_kind_guesses_a_column(t):
    assert t.five_digit_kind(["69123", "2A004", "01053", "Lyon"]) == "insee"
    assert t.five_digit_kind(["75011", "69003", "13008", None]) == "postcode"
    assert t.five_digit_kind(["Lyon", "Paris"]) == "either"
    assert t.five_digit_kind(["69123", "75011"]) == "either"


def test_five_digits_must_be_a_known_kind(t):
    with pytest.raises(ValueError):
        t.resolve("69001", "zip")


# ------------------------------------------------------------ containment


def test_commune_chain(t):
    assert t.ancestors("commune:69123") == ("epci:200046977", "dep:69", "reg:84", "FR", "EU")
    for container in t.ancestors("commune:69123"):
        assert t.contains(container, "commune:69123")
    assert t.contains("commune:69123", "commune:69123")
    assert not t.contains("dep:42", "commune:69123")
    assert not t.contains("commune:69123", "dep:69")


def test_straddling_epci_is_in_no_department_but_in_its_region(t):
    epci = "epci:200006682"  # CA Beaune: 48 communes in 21, 5 in 71
    assert not t.contains("dep:21", epci) and not t.contains("dep:71", epci)
    assert t.contains("reg:27", epci)
    assert t.home_department(epci) == "dep:21"
    assert t.label(epci).endswith("(21)")
    assert t.ancestors(epci) == ("reg:27", "FR", "EU")


def test_epci_inside_one_department(t):
    assert t.contains("dep:69", "epci:200046977")
    assert t.contains("reg:84", "epci:200046977")
    assert not t.contains("epci:200046977", "dep:69")


def test_same_territory_contains_each_other(t):
    assert t.contains("dep:75", "commune:75056") and t.contains("commune:75056", "dep:75")
    assert t.contains("reg:01", "dep:971") and t.contains("dep:971", "reg:01")
    assert t.contains("epci:200054781", "dep:75")  # Métropole du Grand Paris holds Paris


def test_fr_and_eu(t):
    assert t.contains("FR", "commune:2A004") and t.contains("FR", "epci:200006682")
    assert t.contains("EU", "FR") and t.contains("EU", "commune:97701")
    assert not t.contains("FR", "EU")
    assert t.ancestors("FR") == ("EU",) and t.ancestors("EU") == ()
    assert t.ancestors("dep:975") == ("FR", "EU")  # an overseas collectivity: no region
    assert not t.contains("FR", "nowhere") and not t.contains("nowhere", "FR")


def test_accessors(t):
    assert t.level("commune:69123") == "commune" and t.level("epci:200046977") == "epci"
    assert t.level("dep:69") == "department" and t.level("reg:84") == "region"
    assert t.level("FR") == "FR" and t.level("EU") == "EU"
    assert t.name("dep:69") == "Rhône" and t.name("FR") == "France"
    assert t.label("commune:69123") == "Lyon (69)" and t.label("dep:2A") == "Corse-du-Sud (2A)"
    assert t.label("reg:84") == "Auvergne-Rhône-Alpes" and t.label("unknown:1") == "unknown:1"
    assert t.population("commune:69123") > 500_000
    assert t.population("dep:69") == sum(
        t.population(c) or 0 for c in t.codes("commune") if t.contains("dep:69", c)
    )
    assert t.population("FR") > 60_000_000 and t.population("EU") is None
    assert "69001" in t.postcodes("commune:69123") and t.postcodes("dep:69") == ()
    with pytest.raises(KeyError):
        t.level("commune:00000")
    assert [LEVEL_RANK[k] for k in ("commune", "epci", "department", "region", "FR", "EU")] == list(range(6))


# ----------------------------------------------------------- resolve_many


def test_resolve_many_splits_sorts_and_reports(t):
    codes, issues = t.resolve_many("Lyon; Saint-Denis, 75011 | dep:69 / Atlantide\nLyon")
    assert codes == ("commune:69123", "commune:75056", "dep:69")
    assert [token for token, _ in issues] == ["Saint-Denis", "Atlantide"]
    assert issues[0][1].ambiguous and issues[1][1].unknown


def test_resolve_many_accepts_lists_and_blanks(t):
    assert t.resolve_many(["Lyon", "69", 2]) == (("commune:69123", "dep:02", "dep:69"), [])
    assert t.resolve_many(None) == ((), [])
    assert t.resolve_many(float("nan")) == ((), [])
    assert t.resolve_many("") == ((), [])
    assert t.resolve_many(69.0) == (("dep:69",), [])


def test_resolve_many_accepts_arrays_and_sets(t):
    import numpy as np

    assert t.resolve_many(np.array(["Lyon", "Rhône"])) == (("commune:69123", "dep:69"), [])
    assert t.resolve_many({"Rhône", "Lyon"}) == (("commune:69123", "dep:69"), [])


def test_text_with_an_unknown_prefix_is_read_as_a_name(t):
    assert t.resolve("Ville:Lyon").code == "commune:69123"
    assert t.resolve("foo:69").unknown


def test_common_container(t):
    assert t.common_container(["dep:75"]) == "dep:75"
    assert t.common_container(["commune:69123", "commune:69266"]) == "epci:200046977"
    assert t.common_container(["commune:69123", "commune:42218"]) == "reg:84"
    assert t.common_container(["commune:69123", "commune:75056"]) == "FR"
    assert t.common_container(["commune:69123", "nowhere"]) is None


def test_resolve_many_keeps_names_that_contain_separators(t):
    assert t.resolve_many("CC de Vitry, Champagne et Der") == (("epci:200034718",), [])
    assert t.resolve_many("Saint-Denis, 93") == (("commune:93066",), [])


def test_resolve_many_hint_and_cache_copies(t):
    assert t.resolve_many("69001; 13001", "postcode") == (("commune:13055", "commune:69123"), [])
    _, issues = t.resolve_many("Saint-Denis")
    issues.clear()
    assert len(t.resolve_many("Saint-Denis")[1]) == 1


# ------------------------------------------------------------ invariants


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_resolution_invariants_on_any_text(text):
    t = Territories.default()
    resolution = t.resolve(text)
    assert isinstance(resolution, Resolution)
    if resolution.code is not None:
        assert resolution.candidates == () and resolution.code in t
    assert all(c in t for c in resolution.candidates)
    codes, issues = t.resolve_many(text)
    assert list(codes) == sorted(set(codes)) and all(c in t for c in codes)
    assert all(r.code is None for _, r in issues)


@given(st.lists(st.text(alphabet=st.characters(blacklist_characters="\n"), max_size=30)))
def test_batch_name_keys_equal_single_name_key(names):
    assert name_keys(names) == [name_key(n) for n in names]


def test_batch_name_keys_on_every_real_name(t):
    names = [t.name(c) for c in t.codes()]
    assert name_keys(names) == [name_key(n) for n in names]


@settings(max_examples=300)
@given(st.data())
def test_ancestors_contain_and_are_ordered(data):
    t = Territories.default()
    code = data.draw(st.sampled_from(sorted(t.codes())))
    chain = t.ancestors(code)
    assert chain[-1:] == ("EU",) or code == "EU"
    assert all(t.contains(a, code) for a in chain)
    ranks = [LEVEL_RANK[t.level(a)] for a in chain]
    assert ranks == sorted(ranks) and all(r > LEVEL_RANK[t.level(code)] for r in ranks)


# ----------------------------------------------------------- small tables


def tiny() -> Territories:
    """Region R with departments A (communes a1, a2) and B (b1); EPCI E straddles A and B."""
    rows = [
        {"code": "reg:01", "level": "region", "name": "Erre"},
        {"code": "dep:01", "level": "department", "name": "Aa", "reg": "reg:01"},
        {"code": "dep:02", "level": "department", "name": "Bé", "reg": "reg:01"},
        {"code": "epci:100000001", "level": "epci", "name": "CC Aa-Bé", "dep": "dep:01", "reg": "reg:01"},
        {"code": "commune:01001", "level": "commune", "name": "Aun", "postcodes": "01100",
         "dep": "dep:01", "reg": "reg:01", "population": "10"},
        {"code": "commune:01002", "level": "commune", "name": "Adeux", "postcodes": "01100",
         "dep": "dep:01", "reg": "reg:01", "epci": "epci:100000001", "population": "20"},
        {"code": "commune:02001", "level": "commune", "name": "Bé", "postcodes": "02100",
         "dep": "dep:02", "reg": "reg:01", "epci": "epci:100000001", "population": "5"},
    ]
    return Territories.from_rows(rows)


def test_tiny_table_containment_by_commune_sets():
    t = tiny()
    assert t.contains("reg:01", "epci:100000001")
    assert not t.contains("dep:01", "epci:100000001")
    assert t.contains("commune:02001", "dep:02") and t.contains("dep:02", "commune:02001")
    assert t.contains("epci:100000001", "dep:02")  # dep B's only commune is in E
    assert t.population("dep:01") is None  # no population column in these rows
    assert t.population("FR") == 35


def test_tiny_table_names_and_postcodes():
    t = tiny()
    assert t.resolve("Bé").code == "commune:02001"  # commune and department are twins
    assert t.resolve("Be").code == "commune:02001"
    assert t.resolve("01100").ambiguous
    assert t.common_container(t.resolve("01100").candidates) == "dep:01"
    assert t.resolve("Communauté de communes Aa Bé").code == "epci:100000001"


# -------------------------------------------------------- shipped table


def test_shipped_table_is_small_sorted_and_complete():
    assert DATA_PATH.stat().st_size < 1_500_000
    with gzip.open(DATA_PATH, "rt", encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    assert tuple(lines[0].split(",")) == COLUMNS
    levels = Counter(line.split(",")[1] for line in lines[1:])
    assert levels == {"region": 18, "department": 109, "epci": 1255, "commune": 34969}
    assert (ROOT / "matcher" / "data" / "TERRITORIES_ATTRIBUTION.md").exists()


# ---------------------------------------------------------- build script


def _build_module():
    spec = importlib.util.spec_from_file_location(
        "build_territories", ROOT / "scripts" / "build_territories.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fake_package(root: Path, version: str = "6.0.0") -> Path:
    package = root / "package"
    (package / "data").mkdir(parents=True)
    (package / "package.json").write_text(json.dumps({"version": version}))
    files = {
        "regions": [
            {"code": "84", "nom": "Auvergne-Rhône-Alpes", "zone": "metro"},
            {"code": "977", "nom": "Saint-Barthélemy", "zone": "com"},
        ],
        "departements": [
            {"code": "69", "region": "84", "nom": "Rhône"},
            {"code": "42", "region": "84", "nom": "Loire"},
            {"code": "977", "region": "977", "nom": "Saint-Barthélemy"},
        ],
        "epci": [{"code": "200000001", "nom": "CC Test", "membres": [
            {"code": "69001"}, {"code": "42001"}, {"code": "42002"}]}],
        "communes": [
            {"code": "69001", "nom": "Un", "type": "commune-actuelle", "departement": "69",
             "codesPostaux": ["69100"], "population": 100},
            {"code": "42001", "nom": "Deux", "type": "commune-actuelle", "departement": "42",
             "codesPostaux": ["42100"], "population": 30, "anciensCodes": ["42009"]},
            {"code": "42002", "nom": "Trois", "type": "commune-actuelle", "departement": "42",
             "population": 30},
            {"code": "42008", "nom": "Vieux", "type": "commune-deleguee", "chefLieu": "42001",
             "departement": "42"},
            {"code": "69381", "nom": "Un 1er Arrondissement", "type": "arrondissement-municipal",
             "commune": "69001", "departement": "69", "codesPostaux": ["69100"]},
            {"code": "97701", "nom": "Saint-Barthélemy", "type": "commune-actuelle",
             "departement": "977", "codesPostaux": ["97133"], "population": 10},
        ],
    }
    for name, content in files.items():
        (package / "data" / f"{name}.json").write_text(json.dumps(content), encoding="utf-8")
    return package


def test_build_rows_from_a_fake_package(tmp_path):
    build = _build_module()
    rows = {row["code"]: row for row in build.build_rows(_fake_package(tmp_path))}
    assert list(rows)[:2] == ["reg:84", "dep:42"]  # regions first, then sorted by code
    assert "reg:977" not in rows and rows["dep:977"]["reg"] == ""
    assert rows["epci:200000001"]["dep"] == "dep:69"  # most population, not most communes
    assert rows["epci:200000001"]["population"] == "160"
    assert rows["commune:69001"]["old_codes"] == "69381"
    assert rows["commune:69001"]["old_names"] == "Un 1er Arrondissement"
    assert rows["commune:42001"]["old_codes"] == "42008 42009"
    assert rows["commune:42001"]["old_names"] == "Vieux"
    assert rows["commune:42002"]["postcodes"] == "" and rows["dep:42"]["population"] == "60"
    assert rows["commune:97701"]["epci"] == ""


def test_build_is_deterministic_and_loadable(tmp_path):
    build = _build_module()
    rows = build.build_rows(_fake_package(tmp_path))
    first, second = tmp_path / "a.csv.gz", tmp_path / "b.csv.gz"
    build.write_table(rows, first)
    build.write_table(rows, second)
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes()[4:8] == b"\0\0\0\0"  # gzip mtime
    t = Territories.from_csv(first)
    assert t.resolve("69381").code == "commune:69001"
    assert t.resolve("Vieux").code == "commune:42001"
    assert t.resolve("Un 1er").code == "commune:69001"
    assert t.contains("reg:84", "epci:200000001") and not t.contains("dep:42", "epci:200000001")


def test_build_refuses_another_version(tmp_path):
    with pytest.raises(SystemExit):
        _build_module().build_rows(_fake_package(tmp_path, version="5.3.0"))


if __name__ == "__main__":
    for key, value in measure().items():
        print(f"{key}: {value}")

"""Criteria formulas on tiny blocks, and the French-aware text analyzer."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import funder, make_block, project
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.core.textsim import TextModel, analyze, french_stopwords, rescale
from matcher.engine.criteria import (
    CooperationFit,
    Criterion,
    JustTransitionFit,
    LegalFormFit,
    ScaleFit,
    SectorFit,
    TerritoryFit,
    TextSimilarity,
    default_criteria,
)

LYON, GRENOBLE = "commune:69123", "commune:38185"


def scores(criterion, project_rows, funder_rows, **params):
    _, block = make_block(project_rows, funder_rows, **params)
    return criterion.score(block)


def test_criteria_have_names_and_labels_in_both_languages():
    names = [c.name for c in default_criteria()]
    assert names == ["sector", "text", "scale", "legal_form", "territory", "just_transition", "cooperation",
                     "history"]
    assert default_criteria()[-1].requires_history
    assert SectorFit().label("fr") == "secteurs" and SectorFit().label("en") == "sectors"
    assert isinstance(default_criteria()[0], Criterion)


def test_sector_priority_and_share():
    projects = [project("energy", sectors=("energy",)), project("mobility", sectors=("mobility",)),
                project("two", sectors=("energy", "health")), project("none", sectors=()), project("unknown")]
    got = scores(SectorFit(), projects, [funder("F", sectors={"energy": 4.0, "mobility": 1.0}), funder("G")])
    assert got[:, 0].tolist()[:4] == pytest.approx([1.0, 0.7 * 0.25 + 0.3, 0.7 + 0.15, 0.0])
    assert math.isnan(got[4, 0])
    assert np.isnan(got[:, 1]).all()  # a funder without sectors: unknown, not 0


def test_scale_inside_range_and_one_decade_away():
    projects = [project(f"P{a}", amount_requested=float(a)) for a in (500, 5_000, 50_000, 500_000, 5_000_000)]
    projects.append(project("unknown"))
    got = scores(ScaleFit(), projects, [funder("F", ticket_min=5_000.0, ticket_max=50_000.0), funder("G")])
    assert got[:5, 0].tolist() == pytest.approx([0.0, 1.0, 1.0, 0.0, 0.0])
    assert math.isnan(got[5, 0]) and np.isnan(got[:, 1]).all()
    halfway = scores(ScaleFit(), [project("P", amount_requested=50_000 * 10 ** 0.5)],
                     [funder("F", ticket_max=50_000.0)])
    assert halfway.item() == pytest.approx(0.5)


def test_scale_share_of_budget_binds_when_tighter():
    row = [project("P", amount_requested=80_000.0, total_budget=100_000.0)]
    got = scores(ScaleFit(), row, [funder("F", ticket_max=100_000.0, max_share_of_budget=0.4)])
    assert got.item() == pytest.approx(1 - math.log10(2))


def test_legal_form_fit_levels():
    projects = [project("scic", legal_form="scic"), project("scop", legal_form="scop"),
                project("asso", legal_form="association"), project("unknown")]
    funders = [funder("A", eligible_legal_forms=("scic", "cooperatives")), funder("B"),
               funder("C", excluded_legal_forms=("association",))]
    got = scores(LegalFormFit(), projects, funders)
    assert got[:3].tolist() == [[1.0, 0.6, 0.6], [0.85, 0.6, 0.6], [0.0, 0.6, 0.0]]
    assert np.isnan(got[3]).all()


def test_territory_levels_and_unknowns():
    projects = [project("lyon", territory=(LYON,)), project("grenoble", territory=(GRENOBLE,)), project("unknown")]
    funders = [funder("A", perimeter=(LYON,)), funder("B", perimeter=("dep:69",)), funder("C", perimeter=None)]
    got = scores(TerritoryFit(), projects, funders)
    assert got[0, :2].tolist() == [1.0, 0.8] and got[1, :2].tolist() == [0.0, 0.0]
    assert np.isnan(got[2]).all() and np.isnan(got[:, 2]).all()


def test_just_transition_weighted_coverage_and_just_rule():
    projects = [project("both", jt={"climate_mitigation": 3, "inclusive_employment": 3}),
                project("eco", jt={"climate_mitigation": 3, "inclusive_employment": 0,
                                   "vulnerable_publics": 0, "essential_needs": 0, "fair_territory": 0}),
                project("unknown")]
    funders = [funder("A", just_transition_priorities={"climate_mitigation": 3.0, "inclusive_employment": 1.0}),
               funder("B")]
    got = scores(JustTransitionFit(), projects, funders)
    assert got[0, 0] == pytest.approx(1.0)
    assert got[1, 0] == pytest.approx(0.75 * (3 * 1.0 + 1 * 0.0) / 4 + 0.25 * 0.0)
    # generic coverage: mean over the known pillars of the best level / 3
    assert got[0, 1] == pytest.approx(1.0)
    assert got[1, 1] == pytest.approx(0.75 * (1.0 + 0.0) / 2)
    assert np.isnan(got[2]).all()


def test_cooperation_components():
    projects = [project("rich", partners_count=6, partner_kinds=("association", "company", "research",
                                                                 "citizens"), governance=("democratic", "shared")),
                project("alone", partners_count=0, partner_kinds=(), governance=()),
                project("count only", partners_count=3), project("unknown")]
    got = scores(CooperationFit(), projects, [funder("F"), funder("G")])
    assert got[0, 0] == pytest.approx(((1 - math.exp(-2)) + 1 + 1) / 3)
    assert got[1, 0] == 0.0
    assert got[2, 0] == pytest.approx(1 - math.exp(-1))
    assert math.isnan(got[3, 0])
    assert (got[:3, 0] == got[:3, 1]).all()


def test_text_similarity_ranks_the_topical_funder_first():
    projects = [project("P", name="Centrale solaire citoyenne",
                        summary="Des panneaux photovoltaïques financés par les habitants")]
    funders = [funder("A", description="Nous soutenons l'énergie solaire citoyenne et les habitants"),
               funder("B", description="Aide à la mobilité à vélo dans les quartiers"), funder("C")]
    got = scores(TextSimilarity(), projects, funders)
    assert got[0, 0] > got[0, 1] >= 0
    assert math.isnan(got[0, 2])


def test_analyzer_folds_accents_drops_stop_words_and_stems():
    assert analyze("L'Énergie des habitants") == analyze("energie habitant")
    assert "le" not in analyze("le la les et de des du énergie")
    assert analyze("les coopératives coopérative") == ("cooper", "cooper")
    assert len(french_stopwords()) >= 300
    assert {"les", "nous", "etre", "etaient", "afin"} <= french_stopwords()


def test_top_terms_are_readable_words_not_stems():
    model = TextModel().fit(["Fondation pour l'énergie citoyenne", "Aide aux mobilités douces"])
    p_doc = "Production d'énergie citoyenne"
    f_doc = "Fondation pour l'énergie citoyenne"
    p_vec, _ = model.transform([p_doc])
    f_vec, _ = model.transform([f_doc])
    terms = model.top_terms(p_vec[0], f_vec[0], p_doc, f_doc)
    assert set(terms) == {"énergie", "citoyenne"}


def test_top_terms_leave_out_the_word_project():
    # issue 16, point 16: "projet" is in almost every text, so it explains nothing
    model = TextModel().fit(["Projet d'énergie citoyenne", "Aide aux mobilités douces"])
    p_doc = "Projet de production d'énergie"
    f_doc = "Projet d'énergie citoyenne"
    p_vec, _ = model.transform([p_doc])
    f_vec, _ = model.transform([f_doc])
    assert model.top_terms(p_vec[0], f_vec[0], p_doc, f_doc) == ["énergie"]


def test_rescale_is_monotone_from_zero_to_one():
    values = rescale(np.linspace(0, 1, 11))
    assert values[0] == 0 and (np.diff(values) > 0).all() and values[-1] <= 1
    assert rescale(0.25) == pytest.approx(math.tanh(1))


def test_words_no_funder_uses_lower_the_similarity():
    model = TextModel().fit(["énergie solaire", "vélo"])
    short, _ = model.transform(["énergie solaire"])
    padded, _ = model.transform(["énergie solaire cuisine jardin partagé quartier"])
    funder_vec, _ = model.transform(["énergie solaire"])
    assert (short @ funder_vec.T).toarray().item() == pytest.approx(1.0)
    assert (padded @ funder_vec.T).toarray().item() < 0.7


class _HistoryCount(Criterion):
    """A toy history criterion: share of the funder's past grants that went to the project's legal form."""

    name = "history"
    default_weight = 0.2
    requires_history = True

    def fit(self, context):
        history = context.history
        self.share_ = {}
        for funder_id, group in history.groupby("funder_id"):
            counts = group["recipient_legal_form"].value_counts(normalize=True)
            self.share_[funder_id] = counts.to_dict()
        self.funder_ids_ = list(context.features.funder_ids)
        self.forms_ = list(context.space.legal_forms.ids)
        return self

    def score(self, block):
        out = np.full(block.shape, np.nan)
        forms = [self.forms_[int(m).bit_length() - 1] if k else None
                 for m, k in zip(block.p.legal, block.p.legal_known, strict=True)]
        for j, funder_id in enumerate(block.f.funder_ids):
            shares = self.share_.get(funder_id)
            if shares is not None:
                out[:, j] = [np.nan if f is None else shares.get(f, 0.0) for f in forms]
        return out


def test_a_history_criterion_plugs_in_and_is_left_out_without_history():
    import pandas as pd
    from conftest import TinyTerritories, funders_frame, projects_frame

    from matcher.engine.model import Matcher

    criteria = [c for c in default_criteria() if not c.requires_history] + [_HistoryCount()]
    funders = funders_frame(funder("F"), funder("G"))
    history = pd.DataFrame({"funder_id": ["F", "F", "G"], "recipient_legal_form": ["scic", "association", "scop"]})
    projects = projects_frame(project("P", legal_form="scic"))
    matcher = Matcher(criteria=criteria, territories=TinyTerritories()).fit(funders, history=history)
    assert matcher.criteria_names_[-1] == "history"
    frame = matcher.rank_funders(projects)
    assert frame["score_history"].tolist() == [0.5, 0.0]
    assert frame["funder_id"].tolist() == ["F", "G"]
    without = Matcher(criteria=criteria, territories=TinyTerritories()).fit(funders)
    assert "history" not in without.criteria_names_
    assert "score_history" not in without.rank_funders(projects).columns


def test_text_products_are_the_same_with_the_funder_terms_held_sparse(monkeypatch):
    """Beyond DENSE_TEXT_ENTRIES the funder terms stay sparse: the same sums, the same bits."""
    import matcher.engine.features as features

    projects = [project("P", name="Centrale solaire citoyenne", summary="panneaux photovoltaïques, habitants"),
                project("Q", name="Vélo-école de quartier"), project("R"),
                project("S", name="Recyclerie solaire et atelier vélo des habitants")]
    funders = [funder("A", description="énergie solaire citoyenne et habitants"),
               funder("B", description="mobilité à vélo dans les quartiers, habitants"), funder("C"),
               funder("D", description="recyclerie, réemploi, atelier solaire")]
    dense = scores(TextSimilarity(), projects, funders)
    monkeypatch.setattr(features, "DENSE_TEXT_ENTRIES", 0)
    sparse = scores(TextSimilarity(), projects, funders)
    assert np.array_equal(dense, sparse, equal_nan=True)
    assert (dense[~np.isnan(dense)] > 0).any() and np.isnan(dense[2]).all() and np.isnan(dense[:, 2]).all()


def test_a_criterion_returning_the_wrong_shape_is_refused():
    class _Wrong(Criterion):
        name = "wrong"

        def score(self, block):
            return np.zeros((block.shape[0] + 1, 1))

    _, block = make_block([project("P")], [funder("F")])
    with pytest.raises(ValueError, match="criterion 'wrong' returned a \\(2, 1\\) array for a \\(1, 1\\) block"):
        _Wrong().fill(block, np.empty(block.shape))
    with pytest.raises(NotImplementedError):
        Criterion().score(block)


def test_an_inferred_sector_counts_half_and_the_explanation_says_so():
    """Issue 16: sectors guessed from an aid's text weighed as much as stated ones."""
    from conftest import fit, projects_frame

    projects = [project("energy", sectors=("energy",))]
    stated, guessed = funder("F", sectors={"energy": 1.0}), funder("G", sectors={"energy": 1.0}, sectors_inferred=True)
    got = scores(SectorFit(), projects, [stated, guessed])
    assert got[0].tolist() == pytest.approx([1.0, 0.5])
    matcher = fit(stated, guessed)
    frame = projects_frame(*projects)
    labels = {f: [c.label("fr") for c in matcher.explain(frame, "energy", f).criteria] for f in ("F", "G")}
    assert labels["F"][0] == "secteurs" and labels["G"][0] == "secteurs déduits du texte (comptent moitié)"
    assert matcher.explain(frame, "energy", "G").criteria[0].label("en") == (
        "sectors inferred from the text (count half)")
    assert "secteurs déduits du texte" in matcher.explain(frame, "energy", "G").to_text("fr")


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(1, 12), st.integers(1, 9), st.integers(0, 2**32 - 1))
def test_just_transition_sums_are_pair_by_pair_in_criterion_order(n_projects, n_funders, n_criteria, seed):
    """The coverage of a pair is its own sum, added in criterion order: the same bits whatever the
    block (or chunk) it is computed in, and in the pairs kernel (a BLAS product rounds by its shape)."""
    from matcher.engine import kernels

    rng = np.random.default_rng(seed)
    levels = rng.integers(0, 4, (n_projects, n_criteria)).astype(float)
    known = (rng.random((n_projects, n_criteria)) < 0.7).astype(float)
    scaled = np.where(known > 0, levels, 0.0) / 3.0
    priorities = np.where(rng.random((n_funders, n_criteria)) < 0.5, rng.random((n_funders, n_criteria)), 0.0)
    has = priorities.sum(axis=1) > 0
    generic, scale = rng.random(n_projects), np.where(rng.random(n_projects) < 0.5, 1.0, 0.75)
    shift = (1 - scale) * rng.integers(0, 2, n_projects)
    whole = np.empty((n_projects, n_funders))
    kernels.just_transition_scores(scaled, known, priorities, has, generic, scale, shift, whole)
    for i in range(n_projects):
        for j in range(n_funders):
            if has[j]:
                num = den = 0.0
                for c in range(n_criteria):
                    num += scaled[i, c] * priorities[j, c]
                    den += known[i, c] * priorities[j, c]
                base = num / den if den != 0.0 else math.nan
            else:
                base = generic[i]
            expected = base * scale[i] + shift[i]
            assert whole[i, j] == expected or (math.isnan(expected) and math.isnan(whole[i, j]))
    cut = n_projects // 2  # a block of some of the projects: the same bits
    part = np.empty((n_projects - cut, n_funders))
    kernels.just_transition_scores(scaled[cut:], known[cut:], priorities, has, generic[cut:], scale[cut:],
                                   shift[cut:], part)
    assert np.array_equal(part, whole[cut:], equal_nan=True)
    rows, cols = np.nonzero(rng.random((n_projects, n_funders)) < 0.4)
    pairs = np.empty(len(rows))
    kernels.just_transition_pairs(scaled, known, priorities, has, generic, scale, shift, rows, cols, pairs)
    assert np.array_equal(pairs, whole[rows, cols], equal_nan=True)

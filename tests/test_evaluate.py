"""Evaluation: metrics on hand-computed ranks, the time split, history rows as projects,
a tiny end-to-end run, the CLI, and a regression guard on the Paris subsidies."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from matcher.cli import cli
from matcher.engine.award import (
    AwardModel,
    auc,
    brier,
    expected_calibration_error,
    past_rate_baseline,
    recipient_keys,
    reliability,
)
from matcher.evaluation.evaluate import (
    evaluate_history,
    format_table,
    projects_from_history,
    ranking_metrics,
    ranks_of_truth,
    subset_masks,
    time_split,
)

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
PARIS = DATA / "paris-subventions"
PARIS_MAP = {"funder_id": "direction", "recipient_name": "beneficiaire", "recipient_id": "siret",
             "purpose": "objet du dossier", "amount_awarded": "montant vote", "year": "anneeBudg",
             "sectors": "secteur activite"}


def test_ranks_of_truth():
    ranked = [["A", "B", "C"], ["B", "A"], ["C"], []]
    assert ranks_of_truth(ranked, ["A", "A", "B", "A"]).tolist() == [1, 2, 0, 0]


def test_metrics_on_a_hand_computed_example():
    metrics = ranking_metrics(np.array([1, 2, 0, 4]))
    assert metrics["hit@1"] == pytest.approx(0.25)
    assert metrics["hit@3"] == pytest.approx(0.5)
    assert metrics["mrr"] == pytest.approx((1 + 0.5 + 0 + 0.25) / 4)
    assert metrics["ndcg@5"] == pytest.approx((1 + 1 / math.log2(3) + 0 + 1 / math.log2(5)) / 4)
    assert ranking_metrics(np.array([6]))["ndcg@5"] == 0.0


def small_history() -> pd.DataFrame:
    topics = {"ENV": ["jardin partagé compost", "potager collectif quartier", "compost et jardin solidaire"],
              "CULT": ["spectacle de théâtre", "festival de danse", "concert jeune public"],
              "SPORT": ["club de football", "tournoi de basket", "école de natation"]}
    rows = []
    for year in (2015, 2016, 2017, 2018):
        for funder_id, texts in topics.items():
            for i, text in enumerate(texts):
                refused = i == 2 and year == 2016
                rows.append({"funder_id": funder_id, "purpose": f"{text} {year}", "year": year,
                             "recipient_name": f"{funder_id} asso {i}", "recipient_id": f"1234567890{i:04d}",
                             "amount_awarded": 0.0 if refused else 1000.0 * (i + 1),
                             "status": "refused" if refused else "granted", "sectors": ("culture_sport",)})
    return pd.DataFrame(rows)


def test_time_split_trains_on_every_past_decision_and_tests_granted_ones():
    split = time_split(small_history(), 2018)
    assert len(split.train) == 27 and set(split.train["status"]) == {"granted", "refused"}
    assert len(split.test) == 9 and set(split.test["status"]) == {"granted"}
    assert sorted(split.truth) == sorted(split.test["funder_id"])


def test_projects_from_history():
    rows = small_history().iloc[:2].assign(amount_requested=[np.nan, 5000.0])
    projects = projects_from_history(rows)
    assert projects["project_id"].tolist() == ["row-0", "row-1"]
    assert projects["name"].tolist() == rows["purpose"].tolist()
    assert projects["siret"].iloc[0] == "12345678900000" and projects["siren"].iloc[0] == "123456789"
    # Never the awarded amount (written with the decision): unknown stays unknown.
    assert np.isnan(projects["amount_requested"].iloc[0]) and projects["amount_requested"].iloc[1] == 5000.0
    assert "ENV asso 0" in projects["summary"].iloc[0]


def test_end_to_end_on_a_small_history():
    evaluation = evaluate_history(small_history(), 2018, top=5)
    assert set(evaluation.metrics) == {"coopmatch", "most_frequent", "tfidf_char_lr"}
    assert evaluation.metrics["coopmatch"]["hit@1"] == 1.0
    assert evaluation.explained_top3 == 1.0
    example = evaluation.examples[0]["top3"][0]
    assert example["nearest_grants"] and example["nearest_grants"][0].startswith("proche de : « ")
    assert sum(example["contributions"].values()) == pytest.approx(example["score"], abs=1e-3)
    assert "coopmatch" in format_table(evaluation, "en") and "méthode" in format_table(evaluation, "fr")


def test_cli_writes_the_report(tmp_path):
    history = tmp_path / "historique.csv"
    small_history().assign(sectors="culture").drop(columns="status").to_csv(history, index=False)
    report = tmp_path / "rapport.json"
    result = CliRunner().invoke(cli, ["evaluate", "--history", str(history), "--refused-when-zero",
                                      "--test-from-year", "2018", "--top", "5", "-o", str(report),
                                      "--lang", "en", "--no-baselines"])
    assert result.exit_code == 0, result.output
    assert "coopmatch" in result.output and "hit@3" in result.output
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["test_rows"] == 9 and data["train_rows"] == 27
    assert set(data["metrics"]) == {"coopmatch"}


def test_cli_reports_an_empty_test_period(tmp_path):
    history = tmp_path / "historique.csv"
    small_history().drop(columns="status").to_csv(history, index=False)
    result = CliRunner().invoke(cli, ["evaluate", "--history", str(history), "--test-from-year", "2030"])
    assert result.exit_code == 1 and "nothing to test" in result.output


@pytest.mark.skipif(not PARIS.is_dir(), reason="shared data (paris-subventions) not available")
def test_paris_sample_does_not_regress():
    """2,000 granted applications of 2018-2019 ranked after learning 2013-2017.

    Measured on this sample: hit@1 0.791, hit@3 0.952, MRR 0.873 (full test set:
    0.797, 0.957, 0.878); the guards sit 0.03 below.
    """
    from matcher.io.loading import load

    history = load("history", PARIS, forced=PARIS_MAP, refused_when_zero=True).frame
    evaluation = evaluate_history(history, 2018, sample=2000, seed=0, baselines=False)
    metrics = evaluation.metrics["coopmatch"]
    assert evaluation.test_rows == 2000
    assert metrics["hit@1"] >= 0.76
    assert metrics["hit@3"] >= 0.92
    assert metrics["mrr"] >= 0.84
    assert evaluation.explained_top3 == 1.0


def test_recipient_keys_siren_then_folded_name():
    rows = pd.DataFrame({"recipient_id": ["12345678900012", "123456789", None, "W751234567", None],
                         "recipient_name": ["A", "B", "Les Amis du Quartier", "Théâtre Éphémère", None]})
    assert recipient_keys(rows).tolist() == ["siren:123456789", "siren:123456789", "name:les amis du quartier",
                                             "name:theatre ephemere", None]


def test_subsets_new_pairs_and_new_recipients():
    history = pd.DataFrame([
        {"funder_id": "A", "recipient_id": "11111111100011", "year": 2017, "status": "granted"},
        {"funder_id": "B", "recipient_id": "22222222200022", "year": 2017, "status": "refused"},
        {"funder_id": "A", "recipient_id": "11111111100099", "year": 2018, "status": "granted"},  # same SIREN
        {"funder_id": "B", "recipient_id": "11111111100011", "year": 2018, "status": "granted"},  # new pair
        {"funder_id": "B", "recipient_id": "22222222200022", "year": 2018, "status": "granted"},  # refused before
        {"funder_id": "A", "recipient_id": None, "year": 2019, "status": "granted"},  # unknown recipient
    ])
    masks = subset_masks(time_split(history, 2018))
    assert masks["all"].tolist() == [True] * 4
    assert masks["new_pairs"].tolist() == [False, True, True, True]
    assert masks["new_recipients"].tolist() == [False, False, True, True]


def test_evaluation_reports_each_subset_with_its_size():
    evaluation = evaluate_history(small_history(), 2018, top=5, baselines=False)
    data = evaluation.to_dict()["subsets"]
    assert list(data) == ["all", "new_pairs", "new_recipients"]
    assert data["all"]["n"] == 9 and data["all"]["coopmatch"] == evaluation.to_dict()["metrics"]["coopmatch"]
    # small_history repeats the same recipients every year: nobody is new.
    assert data["new_pairs"]["n"] == 0 and data["new_recipients"]["n"] == 0
    assert "new pairs" in format_table(evaluation, "en") and "nouvelles paires" in format_table(evaluation, "fr")


def test_probability_metrics_on_a_hand_computed_example():
    truth = np.array([1, 0, 1, 0])
    p = np.array([0.9, 0.1, 0.35, 0.05])
    assert auc(truth, p) == 1.0 and auc(truth, 1 - p) == 0.0
    assert brier(truth, p) == pytest.approx((0.01 + 0.01 + 0.4225 + 0.0025) / 4)
    table = reliability(truth, p, bins=10)
    assert table["count"] == [1, 1, 0, 1, 0, 0, 0, 0, 0, 1]
    # bins [0, 0.1) {0.05}, [0.1, 0.2) {0.1}: observed 0; [0.3, 0.4) {0.35} and [0.9, 1] {0.9}: observed 1.
    assert expected_calibration_error(truth, p, bins=10) == pytest.approx((0.05 + 0.1 + 0.65 + 0.1) / 4)


def award_history(seed: int = 0) -> pd.DataFrame:
    """Five years; 'solid' recipients are granted 90 % of the time, 'fragile' ones 20 %."""
    rng = np.random.default_rng(seed)
    rows = []
    for year in range(2014, 2019):
        for r in range(60):
            solid = r % 2 == 0
            granted = rng.random() < (0.9 if solid else 0.2)
            rows.append({"funder_id": "A" if r % 3 else "B", "recipient_id": f"{100000000 + r:09d}00011",
                         "recipient_name": f"association {r}", "year": year,
                         "purpose": "jardin partagé" if solid else "projet divers",
                         "status": "granted" if granted else "refused", "sectors": ("culture_sport",)})
    return pd.DataFrame(rows)


def test_award_model_learns_the_recipients_record_and_is_deterministic():
    history = award_history()
    train, test = history[history["year"] < 2018], history[history["year"] == 2018].reset_index(drop=True)
    p = AwardModel().fit(train).predict(test)
    again = AwardModel().fit(train).predict(test)
    assert np.array_equal(p, again) and ((p >= 0) & (p <= 1)).all()
    truth = (test["status"] == "granted").to_numpy(dtype=int)
    assert auc(truth, p) > 0.75
    solid = np.arange(len(test)) % 2 == 0
    assert p[solid].mean() > p[~solid].mean() + 0.3
    baseline = past_rate_baseline(train, test)
    assert baseline[solid].mean() > baseline[~solid].mean()


def test_award_model_needs_three_years_of_decisions():
    from matcher.core.errors import MatchingError

    with pytest.raises(MatchingError, match="three years"):
        AwardModel().fit(award_history()[lambda f: f["year"] < 2016])


def test_cli_decisions_and_reliability(tmp_path):
    history = tmp_path / "historique.csv"
    award_history().assign(sectors="culture").to_csv(history, index=False)
    report, png = tmp_path / "rapport.json", tmp_path / "fiabilite.png"
    base = ["evaluate", "--history", str(history), "--test-from-year", "2018", "--top", "5", "--no-baselines"]
    result = CliRunner().invoke(cli, base + ["--decisions", "--reliability", str(png), "-o", str(report)])
    assert result.exit_code == 0, result.output
    assert "Chance d'obtention" in result.output and "taux passé du bénéficiaire" in result.output
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["award"]["test_decisions"] == 60 and set(data["award"]) >= {"p_award", "past_rate"}
    assert set(data["award"]["p_award"]) == {"auc", "brier", "ece", "reliability"}
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    result = CliRunner().invoke(cli, base + ["--reliability", str(png)])
    assert result.exit_code == 2 and "--reliability needs --decisions" in result.output


def test_cli_learn_weights_then_weights_file(tmp_path):
    history = tmp_path / "historique.csv"
    award_history().to_csv(history, index=False)
    weights = tmp_path / "poids.yaml"
    result = CliRunner().invoke(cli, ["learn-weights", "--decisions", str(history), "-o", str(weights),
                                      "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert "held-out decisions of 2018" in result.output and "history" in result.output
    import yaml

    learned = yaml.safe_load(weights.read_text(encoding="utf-8"))
    assert all(w >= 0 for w in learned["weights"].values())
    result = CliRunner().invoke(cli, ["evaluate", "--history", str(history), "--test-from-year", "2018",
                                      "--top", "5", "--no-baselines", "--weights-file", str(weights),
                                      "-o", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    used = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["settings"]["weights"]
    # The file's weights win over the ones the learned ranking finds (purpose keeps its learned weight).
    assert {k: used[k] for k in learned["weights"]} == pytest.approx(learned["weights"], abs=1e-4)
    bad = tmp_path / "bad.yaml"
    bad.write_text("history: beaucoup\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["evaluate", "--history", str(history), "--test-from-year", "2018",
                                      "--weights-file", str(bad)])
    assert result.exit_code == 1 and "Error: --weights-file" in result.output and "not a number" in result.output


def test_ranking_commands_take_a_weights_file(tmp_path, monkeypatch):
    weights = tmp_path / "poids.yaml"
    weights.write_text("weights:\n  territory: 0.9\n  sector: 0.01\n", encoding="utf-8")
    base = ["funders-for", "projects/examples/projets.csv", "--date", "2026-12-01", "--format", "csv", "--top", "3"]
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    runner = CliRunner()
    from_file = runner.invoke(cli, base + ["--weights-file", str(weights)])
    inline = runner.invoke(cli, base + ["--weight", "territory=0.9", "--weight", "sector=0.01"])
    default = runner.invoke(cli, base)
    mine = ["--weight", "territory=0.15", "--weight", "sector=0.25"]
    overridden = runner.invoke(cli, base + ["--weights-file", str(weights), *mine])
    command_line = runner.invoke(cli, base + mine)
    assert from_file.exit_code == 0, from_file.output
    assert from_file.output == inline.output != default.output
    assert overridden.output == command_line.output != from_file.output


# --------------------------------------------------------------------------- issue 14, follow-up


def test_conditional_logit_weights_the_criterion_that_finds_the_true_line():
    from matcher.evaluation.ranking_weights import fit_conditional_logit

    rng = np.random.default_rng(0)
    groups, truth, scores = [], [], []
    for g in range(200):
        true = rng.integers(4)
        for line in range(4):
            groups.append(g)
            truth.append(line == true)
            # column 0 is higher on the true line, column 1 is noise, column 2 points at a wrong line
            scores.append([0.6 * (line == true) + 0.4 * rng.random(), rng.random(),
                           float(line == (true + 1) % 4)])
    w = fit_conditional_logit(np.array(scores), np.array(groups), np.array(truth))
    assert (w >= 0).all()
    assert w[0] > 1.0 and w[2] == 0.0 and w[1] < w[0] / 5


def test_learned_ranking_is_recorded_and_keeps_the_explanation():
    evaluation = evaluate_history(small_history(), 2018, top=5, baselines=False, lang="en")
    settings = evaluation.settings
    assert settings["ranking"] == "learned" and settings["ranking_weights_learned_on"] == 2017
    assert "purpose" in settings["weights"] and all(w >= 0 for w in settings["weights"].values())
    assert evaluation.explained_top3 == 1.0
    default = evaluate_history(small_history(), 2018, top=5, baselines=False, lang="en", ranking="default")
    assert default.settings["ranking"] == "default" and "purpose" not in default.settings["weights"]


def test_learned_ranking_falls_back_on_a_short_history():
    history = small_history()
    short = history[history["year"] >= 2016].reset_index(drop=True)  # two training years only
    evaluation = evaluate_history(short, 2018, top=5, baselines=False, lang="en")
    assert evaluation.settings["ranking"] == "default" and "three years" in evaluation.settings["ranking_fallback"]


def test_cli_html_report_has_the_reliability_diagram(tmp_path):
    history = tmp_path / "historique.csv"
    award_history().assign(sectors="culture").to_csv(history, index=False)
    page = tmp_path / "rapport.html"
    base = ["evaluate", "--history", str(history), "--test-from-year", "2018", "--top", "5", "--no-baselines"]
    result = CliRunner().invoke(cli, base + ["--decisions", "--html", str(page)])
    assert result.exit_code == 0, result.output
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "<svg" in text and "Diagramme de fiabilité" in text
    assert "Chance d&#x27;obtention" in text and "nouvelles paires" in text and text.count("<polyline") == 2
    again = tmp_path / "encore.html"
    assert CliRunner().invoke(cli, base + ["--decisions", "--html", str(again)]).exit_code == 0
    assert again.read_bytes() == page.read_bytes()
    result = CliRunner().invoke(cli, base + ["--html", str(page), "--lang", "en"])
    assert result.exit_code == 0 and "<svg" not in page.read_text(encoding="utf-8")


def test_evaluation_html_escapes_the_data():
    from matcher.evaluation.report_html import render_evaluation_html

    page = render_evaluation_html({"test_from_year": 2018, "settings": {"successors": {"<b>X</b>": "Y&Z"}},
                                   "subsets": {"all": {"n": 3, "coopmatch": {"hit@1": 0.5}}}}, "en")
    assert "<b>X</b>" not in page and "&lt;b&gt;X&lt;/b&gt;" in page and "Y&amp;Z" in page


def test_funders_for_gives_the_chance_of_award_when_the_history_has_decisions(tmp_path, monkeypatch):
    import io

    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    base = ["funders-for", "projects/examples/projets.csv", "--date", "2026-12-01", "--format", "csv", "--top", "5"]
    runner = CliRunner()
    result = runner.invoke(cli, base + ["--history", "funders/examples/historique_exemple.csv"])
    assert result.exit_code == 0, result.output
    lines = result.stdout[result.stdout.index("project_id,"):]
    ranked = pd.read_csv(io.StringIO(lines))
    assert list(ranked.columns).index("p_award") == list(ranked.columns).index("score") + 1
    known = ranked["p_award"].dropna()
    assert len(known) and ((known >= 0) & (known <= 1)).all()
    page = tmp_path / "rapport.html"
    html_run = runner.invoke(cli, base[:-4] + ["--top", "5", "--format", "html", "-o", str(page),
                                               "--history", "funders/examples/historique_exemple.csv"])
    assert html_run.exit_code == 0, html_run.output
    assert 'data-key="p_award"' in page.read_text(encoding="utf-8")
    assert "Chance d&#x27;obtention" in page.read_text(encoding="utf-8")
    without = runner.invoke(cli, base)
    assert without.exit_code == 0 and "p_award" not in without.stdout
    granted_only = tmp_path / "accordees.csv"
    rows = pd.read_csv("funders/examples/historique_exemple.csv", sep=";", dtype=str)
    rows[rows["Statut"].str.lower().str.startswith("accord")].to_csv(granted_only, sep=";", index=False)
    result = runner.invoke(cli, base + ["--history", str(granted_only), "--lang", "en"])
    assert result.exit_code == 0 and "p_award" not in result.stdout
    assert "no chance of award (p_award)" in result.stderr


def test_batch_files_gain_p_award_equal_to_funders_for(tmp_path, monkeypatch):
    import io

    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    common = ["--date", "2026-12-01", "--top", "5", "--history", "funders/examples/historique_exemple.csv"]
    runner = CliRunner()
    outs = {}
    for fmt in ("csv", "parquet"):
        outs[fmt] = tmp_path / fmt
        result = runner.invoke(cli, ["batch", "--projects", "projects/examples/projets.csv", "--funders",
                                     "funders/examples/financeurs.yaml", "--quiet", "--format", fmt,
                                     "-o", str(outs[fmt]), *common])
        assert result.exit_code == 0, result.output
    csv_lines = pd.read_csv(outs["csv"] / "funders_for_projects.csv")
    parquet_lines = pd.read_parquet(outs["parquet"] / "funders_for_projects.parquet")
    for frame in (csv_lines, parquet_lines):
        assert list(frame.columns).index("p_award") == list(frame.columns).index("score") + 1
    assert np.allclose(csv_lines["p_award"], parquet_lines["p_award"], equal_nan=True)
    assert "p_award" in pd.read_csv(outs["csv"] / "projects_for_funders.csv").columns
    single = runner.invoke(cli, ["funders-for", "projects/examples/projets.csv", "--format", "csv", *common])
    ranked = pd.read_csv(io.StringIO(single.stdout[single.stdout.index("project_id,"):]))
    merged = ranked.merge(csv_lines, on=["project_id", "funder_id", "call_id"], suffixes=("", "_batch"))
    assert len(merged) and np.allclose(merged["p_award"], merged["p_award_batch"], equal_nan=True)

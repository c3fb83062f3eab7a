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
from matcher.evaluation.evaluate import (
    evaluate_history,
    format_table,
    projects_from_history,
    ranking_metrics,
    ranks_of_truth,
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
    assert projects["amount_requested"].tolist() == [1000.0, 5000.0]
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

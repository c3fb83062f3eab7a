"""Write a large, messy projects CSV for load tests of the normalisation pipeline.

Usage: python scripts/make_large_projects.py ROWS OUT.csv [--seed N]

Values are drawn from realistic spellings (hand-written amounts, French legal
forms, place names, codes and postcodes); the output is deterministic for a
given seed.
"""

from __future__ import annotations

import argparse
import csv
import random

LEGAL = ["Asso loi 1901", "association déclarée", "SCIC SAS", "SCOP SARL", "9220", "CAE", "Commune",
         "Communauté de communes", "SAS", "Société coopérative d'intérêt collectif", "fondation", ""]
SECTORS = ["énergie", "mobilité", "agriculture; alimentation", "santé", "emploi", "urbanisme",
           "Economie circulaire", "culture", "numérique", "biodiversité", ""]
PLACES = ["Lyon", "69123", "Bretagne", "Ardèche", "75011", "Marseille", "Rennes", "Gironde",
          "Métropole de Lyon", "Occitanie", "2A004", "Nantes", "Lille", ""]
STAGES = ["émergence", "lancement", "développement", "changement d'échelle", "consolidation", ""]
INSTR = ["subvention", "prêt", "prêt d'honneur; subvention", "titres participatifs", "garantie", ""]


def amount(rng: random.Random) -> str:
    value = round(rng.lognormvariate(10.5, 1.0), -2)
    style = rng.randrange(6)
    if style == 0:
        return f"{value:,.0f} €".replace(",", " ")
    if style == 1:
        return f"{value / 1000:.0f}k€"
    if style == 2:
        return f"{value:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")
    if style == 3:
        return f"{value:.0f} EUR"
    if style == 4:
        return ""
    return f"{value:.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", type=int)
    parser.add_argument("out")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    header = ["Identifiant", "Nom du projet", "Résumé", "Forme juridique", "Secteurs", "Territoire",
              "Montant demandé", "Budget total", "Stade", "Instruments recherchés", "Date de démarrage",
              "Durée (mois)", "Nombre de partenaires"]
    with open(args.out, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(header)
        for i in range(args.rows):
            writer.writerow([
                f"P{i:07d}", f"Projet {i}", "Projet coopératif de transition écologique et solidaire",
                rng.choice(LEGAL), rng.choice(SECTORS), rng.choice(PLACES), amount(rng), amount(rng),
                rng.choice(STAGES), rng.choice(INSTR),
                f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.randint(2024, 2027)}",
                str(rng.randint(6, 48)), str(rng.randint(0, 12)),
            ])


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# Write the outputs of the main commands on the built-in sample and on a synthetic
# 10,000 x 2,000 batch into OUTDIR, so two commits can be compared byte for byte:
#   bash scripts/snapshot_outputs.sh /tmp/before   (on the old commit)
#   bash scripts/snapshot_outputs.sh /tmp/after    (on the new one)
#   diff -r /tmp/before /tmp/after
# Uses the `coopmatch` on PATH and python3 for the synthetic generator.
set -euo pipefail
out=${1:?usage: snapshot_outputs.sh OUTDIR}
mkdir -p "$out"
P=projects/examples/projets.csv
F=funders/examples/financeurs.yaml
D=2026-12-01
coopmatch demo > "$out/demo.txt"
coopmatch demo --lang en > "$out/demo_en.txt"
for fmt in csv json xlsx html; do
  coopmatch funders-for "$P" --date $D --format $fmt -o "$out/funders_for.$fmt"
  coopmatch shortlist --funder F-FDD-TERRES --projects "$P" --date $D --format $fmt -o "$out/shortlist.$fmt"
done
coopmatch funders-for "$P" --project P001 --date $D > "$out/funders_for_p001.txt"
coopmatch explain --project P001 --funder F-INV-ENERCIT --projects "$P" --date $D > "$out/explain.txt"
coopmatch funders-for "$P" --date $D --history funders/examples/historique_exemple.csv --format csv -o "$out/funders_for_history.csv"
coopmatch normalize projects "$P" -o "$out/projects_norm.csv" --rejects "$out/projects_rejects.csv" > "$out/normalize.txt" 2>&1 || true
messy="$out/messy_projects.csv"
printf 'Identifiant,Nom du projet,Forme juridique,Budget total,Montant demandé,Commune\nX1,Ferme,SCIC,"120 000 €",abc,Saint-Denis\nX1,Doublon,association,10,5,Lyon\n,Sans id,SCOP,5,5,Paris\nX2,Lieu,Asso loi 1901,"1,5 M€",,69001\n' > "$messy"
coopmatch normalize projects "$messy" -o "$out/messy_norm.csv" --rejects "$out/messy_rejects.csv" > /dev/null 2>&1 || true
syn=${SYNTHETIC:-/tmp/coopmatch_syn_10000x2000}
if [ ! -f "$syn/projects.csv" ]; then
  python3 -c "import sys; from matcher.evaluation.synthetic import write_profiles; write_profiles(sys.argv[1], 10000, 2000, seed=1)" "$syn"
fi
coopmatch batch --projects "$syn/projects.csv" --funders "$syn/funders.csv" --date 2026-06-01 --quiet -o "$out/batch_csv"
coopmatch batch --projects "$syn/projects.csv" --funders "$syn/funders.csv" --date 2026-06-01 --quiet --format parquet -o "$out/batch_parquet"
# timings vary run to run: drop them from the summaries before comparing
for s in "$out"/batch_*/summary.json; do
  python3 -c "import json,sys; d=json.load(open(sys.argv[1])); d.pop('timings_seconds',None); json.dump(d,open(sys.argv[1],'w'),indent=1,sort_keys=True)" "$s"
done
echo "snapshot written to $out"

#!/bin/sh
# Acceptance of issue 4: evaluate coopmatch on the Paris subsidy decisions (train 2013-2017,
# test the granted applications of 2018-2019), with time and peak memory.
# Usage: benchmarks/eval_paris.sh [--no-baselines] [--lang en] ...   (from the repository root)
set -eu
DATA="${COOPMATCH_DATA:-$(cd "$(dirname "$0")/../.." && pwd)/shared/data}/paris-subventions"
OUT="${OUT:-/tmp/coopmatch_eval_paris.json}"
exec /usr/bin/time -v coopmatch evaluate \
  --history "$DATA" --refused-when-zero \
  --map funder_id=direction --map recipient_name=beneficiaire --map recipient_id=siret \
  --map purpose="objet du dossier" --map amount_awarded="montant vote" --map year=anneeBudg \
  --map sectors="secteur activite" \
  --test-from-year 2018 -o "$OUT" "$@"

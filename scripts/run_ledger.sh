#!/usr/bin/env bash
# The main job: run every claim's evidence (Lean audit/build, property tests, measurements on the embedded models)
# and write ledger/ledger.json, ledger/LEDGER.md and ledger/index.html. Extra arguments go to `quantproof run`
# (e.g. --device cuda, --claims ID..., --skip-measurements, --jobs 4).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/setup_env.sh
quantproof check || [ $? -eq 1 ]   # 1 = Lean audit findings: still run, the ledger shows them
exec quantproof run --progress --baseline ledger/baseline.json "$@"

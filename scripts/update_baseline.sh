#!/usr/bin/env bash
# Deliberate, reviewed step: make the current ledger (ledger/ledger.json from scripts/run_ledger.sh) the baseline
# the gate compares against. Shows the diff first; pass --yes to write.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/setup_env.sh
exec quantproof baseline --ledger ledger/ledger.json --baseline ledger/baseline.json "$@"

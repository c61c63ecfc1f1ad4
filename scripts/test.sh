#!/usr/bin/env bash
# The test command: the whole pytest suite (property tests, spine, reliability, browser), then the
# proof-and-measurement gate: a fresh ledger run, compared with the committed ledger/baseline.json.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/setup_env.sh
bash scripts/ensure_chromium.sh || echo "[test] chromium unavailable: browser tests will be skipped" >&2

OUT="$ROOT/build/ci"
mkdir -p "$OUT"
echo "[test] quantproof check" >&2
quantproof check
echo "[test] pytest" >&2
set +e
python -m pytest -q -p no:cacheprovider --quantproof-report "$OUT/tests.json" "$@"
rc=$?
set -e
if [ $rc -ne 0 ]; then echo "[test] pytest failed (exit $rc)" >&2; exit $rc; fi
echo "[test] test strength: the committed ledger/strength.json against the code (re-mutates only what changed)" >&2
quantproof strength --check --quiet --out "$OUT/strength.json"
echo "[test] ledger run (test outcomes from the pytest report above) and gate" >&2
quantproof run --quiet --test-report "$OUT/tests.json" --out build/ci/ledger --baseline ledger/baseline.json
quantproof gate --baseline ledger/baseline.json --ledger build/ci/ledger/ledger.json

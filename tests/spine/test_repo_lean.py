"""The repository's own Lean project against its own claims (issue 4's acceptance, kept true by CI).

Policy:

1. The default target (``lean/QuantProof.lean`` and its imports) passes the static audit: no ``sorry``, ``admit``,
   ``axiom``, ``native_decide`` or other escape hatch (the same audit the runner applies).
2. Every ``lean:`` link in ``claims.yaml`` names a declaration that exists in ``lean/``; ``QuantProofOpen`` names are
   the only ones allowed to carry ``sorry``.
3. Every theorem-, asymptotic- and definitional-kind claim links at least one Lean declaration, except the claims
   listed in ``NOT_STATABLE`` (each documented in ``lean/README.md``, "Claims with no Lean declaration").

Without a Lean toolchain these are static checks: they say nothing about whether the proofs compile.
"""

from __future__ import annotations

from pathlib import Path

from quantproof.claims.loader import load_claims
from quantproof.evidence import formal as F

REPO = Path(__file__).resolve().parents[2]

NOT_STATABLE = {
    "s000_bottleneck_mechanism",
    "s000_torus_sinusoidal_mapping",
    "s001_resonance_components",
    "s001_leech_kernel_placeholder",
}


# Statable, not stated yet (each documented in lean/README.md, same section): the verdict rests on other evidence.
NOT_YET_STATED = {
    "dc_centering_lifts_shared_rotation_ceiling",
}


def _claims():
    return load_claims(REPO / "claims.yaml").claims


def test_default_target_passes_the_static_audit() -> None:
    idx = F.scan_lean(REPO)
    assert idx.audit_ok, [str(f) for f in idx.findings]
    assert "QuantProof.Gauge" in idx.default_modules and "QuantProof.Spectral" in idx.default_modules


def test_every_lean_link_resolves_and_only_open_modules_carry_sorry() -> None:
    idx = F.scan_lean(REPO)
    lock = F.read_lock(REPO)
    for c in _claims():
        for link in c.lean:
            st = F.decl_status(link.decl, link.role, idx, None, lock)
            assert st.status != "missing", f"{c.id}: {link.decl} not found in lean/"
            if st.status == "sorry":
                assert link.decl.startswith("QuantProofOpen."), f"{c.id}: {link.decl} has sorry outside the open module"
            else:
                assert st.status == "not-built", (c.id, link.decl, st.status, st.message)


def test_every_statable_theorem_level_claim_has_a_lean_link() -> None:
    theorem_level = [c for c in _claims() if c.kind in ("theorem", "asymptotic", "definitional")]
    missing = sorted(c.id for c in theorem_level if not c.lean and c.id not in NOT_STATABLE | NOT_YET_STATED)
    assert missing == []
    readme = (REPO / "lean" / "README.md").read_text(encoding="utf-8")
    for cid in NOT_STATABLE | NOT_YET_STATED:
        assert f"`{cid}`" in readme, f"{cid} is exempt but lean/README.md does not say why"
    assert not any(c.lean for c in theorem_level if c.id in NOT_STATABLE | NOT_YET_STATED), \
        "an exempt claim now has a link: drop it"


# ------------------------------------------------------------------------------------------ statement lock (issue 16)

def test_statement_lock_is_committed_and_pins_every_linked_statement() -> None:
    idx = F.scan_lean(REPO)
    lock = F.read_lock(REPO)
    linked = {link.decl for c in _claims() for link in c.lean}
    assert lock, "lean/statements.lock.json is missing or empty: run `quantproof lean-lock` and commit it"
    assert linked <= set(lock), sorted(linked - set(lock))
    for name in sorted(linked):
        assert lock[name] == F.statement_hash(idx.decls[name].statement), f"{name}: statement changed since the pin"


def test_a_changed_statement_is_caught_and_a_changed_proof_is_not(tmp_path) -> None:
    import shutil

    shutil.copytree(REPO / "lean", tmp_path / "lean")
    name = "QuantProof.cos_sign_quant_formula_any_alpha"
    path = tmp_path / "lean" / "QuantProof" / "SignQuantClaims.lean"
    src = path.read_text(encoding="utf-8")
    # a proof-only edit keeps the pinned statement
    proof_edit = src.replace("  rw [h1, ← h2, cos_sign_quant_formula hd hk]",
                             "  rw [h1, ← h2]\n  exact cos_sign_quant_formula hd hk")
    assert proof_edit != src
    path.write_text(proof_edit, encoding="utf-8")
    lock = F.read_lock(tmp_path)
    assert F.decl_status(name, "asserts", F.scan_lean(tmp_path), None, lock).status == "not-built"
    # a weakened statement (an extra hypothesis) is caught
    weakened = src.replace("{a : ℝ}\n    (ha : 0 < a) :", "{a : ℝ}\n    (ha : 0 < a) (h1 : a = 1) :")
    assert weakened != src
    path.write_text(weakened, encoding="utf-8")
    st = F.decl_status(name, "asserts", F.scan_lean(tmp_path), None, lock)
    assert st.status == "statement-changed", st


# ------------------------------------------------------------------------------------------ roles (issue 16)

# For the claims the issue-16 review named, the Lean links that may decide the verdict (every other link is a
# `lemma`): the statements that say what the claim says, or nothing where the Lean only supports the claim.
DECISIVE = {
    "beta_last_mile_quadratic_hardness": set(),
    "beta_hessian_nonneg": set(),
    "reference_moment_values": set(),
    "attention_memory_85x_reduction": set(),
    "attention_memory_table": set(),
    "s000_dual_e8_is_e8": {"QuantProof.s000_e8_even_unimodular_self_dual"},
    "cos_sign_quant_formula": {"QuantProof.cos_sign_quant_formula_any_alpha"},
    "cos_eq_one_iff_sign_lattice": {"QuantProof.cos_eq_one_iff_sign_lattice_var"},
    "beta_local_quadratic_expansion": {"QuantProof.beta_local_quadratic_expansion_exact"},
    "isotropic_floor_pos": {"QuantProof.isotropic_floor_claim"},
    "iid_coord_moment_ratio_floor": {"QuantProofOpen.iid_coord_moment_ratio_floor_corrected"},
    "gaussian_moment_ratio_floor_eq": {"QuantProofOpen.gaussian_moment_ratio"},
    "srht_achieves_isotropic_floor": {"QuantProof.srht_achieves_isotropic_floor_false"},
    "gg_shape_for_beta": {"QuantProof.gg_shape_for_beta_false"},
    "gauge_invariance_free_at_deploy": {"QuantProof.gauge_invariance_free_at_deploy_false_proper_rotation",
                                        "QuantProof.gauge_rotation_after_rope",
                                        "QuantProof.gauge_fold_before_rope_of_commute"},
    "s001_leech_geometric_attention": {"QuantProof.leech_attention_eq_attention"},
    "compressed_attention_is_attention": {"QuantProof.compressed_attention_full_rank"},
}


def test_thin_links_are_lemmas_and_the_notes_say_what_lean_covers() -> None:
    claims = {c.id: c for c in _claims()}
    for cid, decisive in DECISIVE.items():
        c = claims[cid]
        assert {l.decl for l in c.lean if l.role != "lemma"} == decisive, cid
    for c in claims.values():
        if any(l.role == "lemma" for l in c.lean):
            assert "Lean" in c.notes, f"{c.id}: a lemma link but the notes do not say what the Lean covers"


def test_claim_statement_modules_are_leaves() -> None:
    """The modules that restate claims are imported by the root only, so a failure there blocks nothing else."""
    idx = F.scan_lean(REPO)
    leaves = {"QuantProof.SignQuantClaims", "QuantProof.LastMileExact", "QuantProof.E8Dual", "QuantProof.SRHT",
              "QuantProof.GaugeRope", "QuantProof.LeechAttention"}
    assert leaves <= idx.default_modules
    for m, imports in idx.imports.items():
        if m != F.ROOT_MODULE:
            assert not leaves & set(imports), (m, leaves & set(imports))

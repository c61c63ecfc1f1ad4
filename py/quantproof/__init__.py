"""QuantProof: claims -> evidence (Lean proofs, property tests, measurements) -> ledger -> gate."""

__version__ = "0.1.0"

"""Test strength: would each claim's tests fail if the code they exercise were wrong? Measured by mutation testing.

cosmic-ray makes the mutants (:mod:`.mutants`); a worker process runs, for each mutant, only the claim-tagged tests
whose coverage reaches the mutated statement, each mutant in a fork of a warm process (:mod:`.server`); the results
are cached per module and test file in the report itself (:mod:`.engine`) and aggregated per claim
(:mod:`.aggregate`); ``quantproof strength`` writes ``ledger/strength.json`` (:mod:`.command`).

For the ledger: :func:`load_strength` (pure: reads the report, hashes files) -> ``{claim id: ClaimStrength}``, and
:data:`THRESHOLD`: a claim may be `supported` by tests alone only when ``ClaimStrength.meets_threshold``.
"""

from .model import REPORT_PATH, SCHEMA, THRESHOLD, ClaimStrength, Survivor, TestStrength, load_strength

__all__ = ["THRESHOLD", "SCHEMA", "REPORT_PATH", "ClaimStrength", "Survivor", "TestStrength", "load_strength"]

"""Registered measurements. Each module registers its measurements with
:func:`quantproof.evidence.measurement.measurement`; heavy imports stay inside the functions."""

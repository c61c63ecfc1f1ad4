"""Shared hypothesis strategies for the property suite (imported as a plain module: tests/property has no
``__init__``)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp


def vectors(min_d: int = 1, max_d: int = 64, lo: float = -1e3, hi: float = 1e3, zeros: bool = True):
    """Float vectors with moderate entries, including exact zeros, ties and sparse vectors."""
    elems = st.one_of(
        st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False),
        st.sampled_from([0.0, -0.0, 1.0, -1.0, 0.5]) if zeros else st.sampled_from([1.0, -1.0, 0.5]),
    )
    return st.integers(min_d, max_d).flatmap(lambda d: hnp.arrays(np.float64, d, elements=elems))


def nonzero_vectors(min_d: int = 1, max_d: int = 64):
    return vectors(min_d, max_d).filter(lambda v: np.any(v != 0) and np.max(np.abs(v)) > 1e-150)


def matrices(min_n: int = 1, max_n: int = 12, min_d: int = 1, max_d: int = 12, scale: float = 10.0):
    elems = st.floats(-scale, scale, allow_nan=False, allow_infinity=False, allow_subnormal=False)
    return st.tuples(st.integers(min_n, max_n), st.integers(min_d, max_d)).flatmap(
        lambda s: hnp.arrays(np.float64, s, elements=elems))


def rationals(max_num: int = 50, max_den: int = 12):
    return st.builds(Fraction, st.integers(-max_num, max_num), st.integers(1, max_den))


def rational_vectors(min_d: int = 1, max_d: int = 12, **kw):
    return st.lists(rationals(**kw), min_size=min_d, max_size=max_d)


def seeds():
    return st.integers(0, 2**32 - 1)


def pow2(min_exp: int = 0, max_exp: int = 8):
    return st.integers(min_exp, max_exp).map(lambda k: 2**k)

"""Fast kernels with automatic fallback to the reference implementations in ``quantproof.math``.

| module | fast path | reference (oracle) |
|---|---|---|
| ``kernels.e8`` | ``nearest_d8_fast``, ``nearest_e8_fast``, ``nearest_e8e8_fast``, ``nearest_fast`` | ``math.lattice`` |
| ``kernels.fwht`` | ``fwht_fast``, ``srht_apply_fast`` | ``math.rotations.fwht``, ``SRHT.apply`` |
| ``kernels.lowrank`` | ``GramAccumulator``, ``gamma_r_streamed_fast``, ``residual_stats_streamed`` | ``math.lowrank`` |
| ``kernels.rotation`` | ``fit_l1_rotation_fast`` | ``math.rotations.fit_l1_rotation`` |

Backends: torch tensors stay on their device (CUDA when present); numpy arrays use a small C library compiled
with the system compiler at first use and cached (``kernels._native``; ``QUANTPROOF_NATIVE=0`` disables it,
``QUANTPROOF_KERNEL_CACHE`` moves the cache, ``QUANTPROOF_THREADS`` sets the thread count); without a compiler the
torch or numpy fallbacks run. ``kernels.status()`` says which. The fast paths return what the references return
(lattice points bit for bit, ties included; see each module), asserted in ``tests/kernels/test_fast_paths.py``.
Importing this package imports neither torch nor the compiled library.
"""

from __future__ import annotations


def status() -> dict:
    """Which backends are available here: the native library (and why not), torch, CUDA."""
    import importlib.util

    from . import _native

    st = {"native": _native.status(), "torch": importlib.util.find_spec("torch") is not None, "cuda": False}
    if st["torch"]:
        import torch

        st["cuda"] = bool(torch.cuda.is_available())
        if st["cuda"]:
            st["cuda_device"] = torch.cuda.get_device_name(0)
    return st

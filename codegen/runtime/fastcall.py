"""Python's side of ``codegen._fastcall``: a compiled program as one C-level call that takes its
arguments' buffers without copying and returns a scalar, for small steps where Python and
ctypes overhead would dominate. ``dispatcher(...)`` is None when the extension is not built."""

from __future__ import annotations

import numpy as np

try:
    from .._fastcall import Dispatcher
except ImportError:  # installed without a C compiler: callers use their ctypes path
    Dispatcher = None

# Buffers larger than this in total release the GIL during the call (other threads may run).
RELEASE_GIL_BYTES = 1 << 16
RESULT_FORMATS = {np.dtype("float64"): "d", np.dtype("float32"): "f"}


def buffer_format(dtype) -> str:
    """The PEP 3118 format NumPy exports for ``dtype`` (what a Dispatcher compares against)."""
    return memoryview(np.empty(0, dtype)).format


def dispatcher(address: int, buffers: list, arg_slots: list[int], result: np.ndarray | None):
    """A callable ``d(*args)`` → ``result`` as a NumPy scalar after running the program at ``address``
    (its packed entry) on ``buffers``, where argument k fills ``buffers[arg_slots[k]]`` (an array of the
    shape and dtype it is compiled for; the others are fixed arrays). Returns NotImplemented for
    arguments that do not fit (other shape or dtype, not contiguous). None without the extension, or
    when ``result`` is not a float32/float64 scalar buffer."""
    if Dispatcher is None or (result is not None and result.dtype not in RESULT_FORMATS):
        return None
    args = [(slot, tuple(buffers[slot].shape), buffers[slot].dtype.itemsize, buffer_format(buffers[slot].dtype))
            for slot in arg_slots]
    pointers = [0 if k in arg_slots else a.ctypes.data for k, a in enumerate(buffers)]
    release = sum(a.nbytes for a in buffers) > RELEASE_GIL_BYTES
    scalar = (0, "d", None) if result is None else \
        (result.ctypes.data, RESULT_FORMATS[result.dtype], result.dtype.type)
    try:
        return Dispatcher(address, pointers, args, *scalar, release, tuple(buffers))
    except ValueError:  # more buffers or dimensions than the C side holds
        return None

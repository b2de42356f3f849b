"""A compiled program as one C-level call from Python (``fastcall.c``): it takes its arguments'
buffers without copying and returns a scalar, for small steps where Python and ctypes overhead
would dominate.

The extension is built on first use with the system C compiler and Python's headers, cached on
disk like compiled kernels. Without them ``dispatcher(...)`` is None and callers use ctypes.
"""

from __future__ import annotations

import functools
import os
import sysconfig

import numpy as np

from ..cache import DiskCache
from .native import c_compiler, compile_with, load_extension

# Buffers larger than this in total release the GIL during the call (other threads may run).
RELEASE_GIL_BYTES = 1 << 16
RESULT_FORMATS = {np.dtype("float64"): "d", np.dtype("float32"): "f"}


@functools.cache
def dispatcher_type():
    """``Dispatcher`` from the built extension, or None when it cannot be built here."""
    compiler = c_compiler()
    include = sysconfig.get_paths()["include"]
    if compiler is None or not os.path.exists(os.path.join(include, "Python.h")):
        return None
    with open(os.path.join(os.path.dirname(__file__), "fastcall.c")) as f:
        source = f.read()
    # NumPy's version in the flags: its struct layouts are compiled in (the disk cache keys by flags)
    flags = [compiler, "-O2", "-shared", "-fPIC", f"-I{include}", f"-I{np.get_include()}",
             f"-DSYMFLUX_NUMPY={np.__version__}"]
    try:
        code = compile_with(flags, source, ".c", DiskCache(), "_fastcall" + sysconfig.get_config_var("EXT_SUFFIX"))
        return load_extension(code, "_fastcall").Dispatcher
    except (RuntimeError, OSError, ImportError):
        return None


def buffer_format(dtype) -> str:
    """The PEP 3118 format NumPy exports for ``dtype`` (what a Dispatcher compares against)."""
    return memoryview(np.empty(0, dtype)).format


def dispatcher(address: int, buffers: list, arg_slots: list[int], result: np.ndarray | None, owner=None):
    """A callable ``d(*args)`` → ``result`` as a NumPy scalar after running the program at ``address``
    (its packed entry) on ``buffers``, where argument k fills ``buffers[arg_slots[k]]`` (an array of the
    shape and dtype it is compiled for; the others are fixed arrays). Returns NotImplemented for
    arguments that do not fit (other shape or dtype, not contiguous, sharing memory with a fixed array).
    None without the extension, or when ``result`` is not a float32/float64 scalar buffer. The
    dispatcher keeps ``owner`` (the machine code at ``address``) alive."""
    Dispatcher = dispatcher_type()
    if Dispatcher is None or (result is not None and result.dtype not in RESULT_FORMATS):
        return None
    args = [(slot, buffers[slot].dtype.num, tuple(buffers[slot].shape), buffers[slot].dtype.itemsize,
             buffer_format(buffers[slot].dtype)) for slot in arg_slots]
    pointers = [0 if k in arg_slots else a.ctypes.data for k, a in enumerate(buffers)]
    release = sum(a.nbytes for a in buffers) > RELEASE_GIL_BYTES
    scalar = (0, "d", None) if result is None else \
        (result.ctypes.data, RESULT_FORMATS[result.dtype], result.dtype.type)
    try:
        sizes = [a.nbytes for a in buffers]
        return Dispatcher(address, pointers, sizes, args, *scalar, release, (*buffers, owner), np.ndarray)
    except ValueError:  # more buffers or dimensions than the C side holds
        return None

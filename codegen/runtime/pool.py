"""The persistent thread pool behind compiled parallel loops (``pool.c``).

Built on first use with the system C compiler and cached on disk like kernels; its entry point
is registered with LLVM as ``codegen_parallel_for``. Without a compiler, ``thread_pool()`` is
False and the LLVM renderer starts threads per loop instead.
"""

from __future__ import annotations

import ctypes
import functools
import os
import shutil

import llvmlite.binding as llvm

from ..cache import DiskCache
from .native import compile_with, load_library

SYMBOL = "codegen_parallel_for"


@functools.cache
def _library():
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return None
    with open(os.path.join(os.path.dirname(__file__), "pool.c")) as f:
        source = f.read()
    try:
        library = load_library(compile_with([compiler, "-O2", "-shared", "-fPIC", "-pthread"], source, ".c",
                                            DiskCache(), "pool.so"))
    except (RuntimeError, OSError):
        return None
    llvm.add_symbol(SYMBOL, ctypes.cast(getattr(library, SYMBOL), ctypes.c_void_p).value)
    return library


def thread_pool() -> bool:
    """Whether ``codegen_parallel_for`` is available to compiled code in this process."""
    return os.environ.get("SYMFLUX_THREAD_POOL", "1") != "0" and _library() is not None

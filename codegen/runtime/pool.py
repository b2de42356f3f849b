"""The persistent thread pool behind compiled parallel loops (``pool.c``).

Built on first use with the system C compiler and cached on disk like kernels; its entry point
is registered with LLVM as ``codegen_parallel_for``. Without a compiler, ``thread_pool()`` is
False and the LLVM renderer starts threads per loop instead.
"""

from __future__ import annotations

import ctypes
import os
import shutil

import llvmlite.binding as llvm

from ..cache import DiskCache
from .native import compile_with, load_library

SYMBOL = "codegen_parallel_for"


_state: dict = {"tried": False, "library": None, "code": None}


def _library():
    """The loaded pool (built on first use), or None without a C compiler."""
    if not _state["tried"]:
        _state["tried"] = True
        compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
        if compiler is not None:
            with open(os.path.join(os.path.dirname(__file__), "pool.c")) as f:
                source = f.read()
            try:
                _load(compile_with([compiler, "-O2", "-shared", "-fPIC", "-pthread"], source, ".c", DiskCache(),
                                   "pool.so"))
            except (RuntimeError, OSError):
                pass
    return _state["library"]


def _load(code: bytes) -> None:
    library = load_library(code)
    llvm.add_symbol(SYMBOL, ctypes.cast(getattr(library, SYMBOL), ctypes.c_void_p).value)
    library.codegen_set_num_threads.argtypes = [ctypes.c_int64]
    _state.update(library=library, code=code)


def library_code() -> bytes | None:
    """The pool's shared object, to send along with code that calls it (None when there is none)."""
    _library()
    return _state["code"]


def provide(code: bytes) -> None:
    """Load a pool built elsewhere when this process cannot build its own (no C compiler)."""
    if _library() is None:
        _load(code)


def thread_pool() -> bool:
    """Whether ``codegen_parallel_for`` is available to compiled code in this process."""
    return os.environ.get("SYMFLUX_THREAD_POOL", "1") != "0" and _library() is not None


def set_num_threads(n: int | None) -> None:
    """Parallel loops use at most ``n`` threads from now on (None: ``OMP_NUM_THREADS`` when set,
    read at every loop, else as many as the code was compiled for)."""
    library = _library()
    if library is not None:
        library.codegen_set_num_threads(0 if n is None else max(1, int(n)))

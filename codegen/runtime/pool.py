"""What compiled programs keep between calls (``pool.c``): the persistent thread pool behind their
parallel loops, and the cache of their temporary buffers.

Built on first use with the system C compiler and cached on disk like kernels; its entry points
(``SYMBOLS``) are registered with LLVM. Without a compiler, ``thread_pool()`` is
False and the LLVM renderer starts threads per loop instead.
"""

from __future__ import annotations

import ctypes
import os
import threading

import llvmlite.binding as llvm

from ..cache import DiskCache
from .native import c_compiler, compile_with, load_library

SYMBOL = "codegen_parallel_for"
TEMP_ALLOC, TEMP_FREE = "codegen_temp_alloc", "codegen_temp_free"
SYMBOLS = (SYMBOL, TEMP_ALLOC, TEMP_FREE)


_state: dict = {"tried": False, "library": None, "code": None}
_building = threading.Lock()  # a second caller (the warm-up's thread and the first compile) waits for the first


def _library():
    """The loaded pool (built on first use), or None without a C compiler."""
    if not _state["tried"]:
        with _building:
            if not _state["tried"]:
                _build()
                _state["tried"] = True
    return _state["library"]


def _build() -> None:
    compiler = c_compiler()
    if compiler is not None:
        with open(os.path.join(os.path.dirname(__file__), "pool.c")) as f:
            source = f.read()
        try:
            _load(compile_with([compiler, "-O2", "-shared", "-fPIC", "-pthread"], source, ".c", DiskCache(), "pool.so"))
        except (RuntimeError, OSError):
            pass


def _load(code: bytes) -> None:
    library = load_library(code)
    for name in SYMBOLS:
        llvm.add_symbol(name, ctypes.cast(getattr(library, name), ctypes.c_void_p).value)
    library.codegen_set_num_threads.argtypes = [ctypes.c_int64]
    _state.update(library=library, code=code)


def called_by(code: bytes) -> bool:
    """Whether object code calls into this library."""
    return any(name.encode() in code for name in SYMBOLS)


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


def parallel_for_address() -> int | None:
    """The address of ``codegen_parallel_for`` for C code that runs its own work on the pool (None
    when there is no pool)."""
    if not thread_pool():
        return None
    return ctypes.cast(getattr(_library(), SYMBOL), ctypes.c_void_p).value


def set_num_threads(n: int | None) -> None:
    """Parallel loops use at most ``n`` threads from now on (None: ``OMP_NUM_THREADS`` when set,
    read at every loop, else as many as the code was compiled for)."""
    library = _library()
    if library is not None:
        library.codegen_set_num_threads(0 if n is None else max(1, int(n)))

"""BLAS and LAPACK for compiled programs (``linalg.c``): matrix functions a kernel calls by name.

Built on first use with the system C compiler and cached on disk like the thread pool; it calls
the BLAS and LAPACK that SciPy ships, through the function pointers ``scipy.linalg.cython_blas``
and ``cython_lapack`` export (as numba does), so no factorisation or GEMM kernel is written here.
Its entry points are registered with LLVM as ``codegen_<name>_<f64|f32>`` (``symbol``), which
compiled code declares and calls.
"""

from __future__ import annotations

import ctypes
import importlib.machinery
import importlib.util
import os
import sys

import llvmlite.binding as llvm

from ..cache import DiskCache
from . import pool
from .native import c_compiler, compile_with, load_library

NAMES = ("gemm", "inv", "solve", "slogdet_sign", "slogdet_log", "cholesky", "eigh_w", "eigh_v", "svd_s", "svd_u",
         "svd_vh", "qr_q", "qr_r")
BLAS = ("gemm",)
ROUTINES = ("getrf", "getri", "getrs", "potrf", "syevd", "gesdd", "geqrf", "orgqr")

_state: dict = {"library": None}


def symbol(name: str, dtype: str) -> str:
    """The entry point computing linalg ``name`` (see ``NAMES``) in ``dtype`` (float32/float64)."""
    return f"codegen_{name}_{'f32' if dtype == 'float32' else 'f64'}"


def called_by(code: bytes) -> bool:
    """Whether object code calls an entry point of this library."""
    return any(symbol(name, dtype).encode() in code for name in NAMES for dtype in ("float32", "float64"))


def _capsule_address(capsule) -> int:
    get_name, get_pointer = ctypes.pythonapi.PyCapsule_GetName, ctypes.pythonapi.PyCapsule_GetPointer
    get_name.restype, get_name.argtypes = ctypes.c_char_p, [ctypes.py_object]
    get_pointer.restype, get_pointer.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
    return get_pointer(capsule, get_name(capsule))


def _scipy_capsules(name: str) -> dict:
    """``scipy.linalg.<name>.__pyx_capi__`` (the BLAS or LAPACK function pointers), loaded without
    running ``scipy.linalg``'s package import (0.28 s, the most of a small model's first compile
    that calls GEMM; the two extension modules alone load in 0.03 s). They leave ``sys.modules``
    as they found it, so a later ``import scipy.linalg`` is the usual one."""
    qualified = "scipy.linalg." + name
    spec = importlib.util.find_spec("scipy")
    folder = os.path.join(spec.submodule_search_locations[0], "linalg") if spec else ""
    path = next((os.path.join(folder, name + suffix) for suffix in importlib.machinery.EXTENSION_SUFFIXES
                 if os.path.exists(os.path.join(folder, name + suffix))), None)
    try:
        if path is None or qualified in sys.modules:
            return importlib.import_module(qualified).__pyx_capi__
        spec = importlib.util.spec_from_file_location(qualified, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules.pop(qualified, None)
        return module.__pyx_capi__
    except ImportError as e:
        raise RuntimeError("compiled linear algebra calls SciPy's BLAS and LAPACK: pip install scipy") from e


def library() -> ctypes.CDLL:
    """The loaded library (built on first use), its LAPACK pointers set and its entry points known
    to LLVM. RuntimeError without a C compiler or SciPy."""
    if _state["library"] is None:
        compiler = c_compiler()
        if compiler is None:
            raise RuntimeError("compiled linear algebra needs a C compiler (cc) to build its BLAS/LAPACK calls")
        capsules = {name: _scipy_capsules(name) for name in ("cython_blas", "cython_lapack")}
        with open(os.path.join(os.path.dirname(__file__), "linalg.c")) as f:
            source = f.read()
        lib = load_library(compile_with([compiler, "-O2", "-shared", "-fPIC"], source, ".c", DiskCache(),
                                        "linalg.so"))
        lib.codegen_linalg_set.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
        for module, routines in (("cython_blas", BLAS), ("cython_lapack", ROUTINES)):
            for name in (prefix + routine for routine in routines for prefix in "ds"):
                lib.codegen_linalg_set(name.encode(), _capsule_address(capsules[module][name]))
        if pool.parallel_for_address():  # GEMM's blocks run on the pool's threads (see linalg.c)
            lib.codegen_linalg_parallel.argtypes = [ctypes.c_void_p, ctypes.c_int64]
            lib.codegen_linalg_parallel(pool.parallel_for_address(), min(os.cpu_count() or 1, 8))
        for name in NAMES:
            for dtype in ("float32", "float64"):
                entry = symbol(name, dtype)
                llvm.add_symbol(entry, ctypes.cast(getattr(lib, entry), ctypes.c_void_p).value)
        _state["library"] = lib
    return _state["library"]


def available() -> bool:
    """Whether compiled code can call this library here (a C compiler and SciPy)."""
    try:
        library()
    except RuntimeError:
        return False
    return True

"""Special functions libm lacks or computes otherwise than SciPy (``special.c``): polygamma, erf⁻¹
and log|Γ|, and NumPy's gcd and lcm, which compiled programs call by name (``SYMBOLS``).

The CPU runtime builds the library on first use with the system C compiler (cached on disk like
the thread pool) and registers its entry points with LLVM; exported C and CUDA code carry the same
text (``source``), qualified as static inline or device functions.
"""

from __future__ import annotations

import ctypes
import functools
import os

import llvmlite.binding as llvm

from ..cache import DiskCache
from .native import c_compiler, compile_with, load_library

SYMBOLS = ("codegen_polygamma", "codegen_erfinv", "codegen_gammaln", "codegen_gcd_i", "codegen_gcd_u", "codegen_lcm_i",
           "codegen_lcm_u")
# SymPy function → the entry point computing it in double (both renderers print these names)
FUNCTIONS = {"polygamma": "codegen_polygamma", "erfinv": "codegen_erfinv", "loggamma": "codegen_gammaln"}
_PATH = os.path.join(os.path.dirname(__file__), "special.c")


@functools.cache
def source(qualifier: str = "") -> str:
    """The C text of the functions, each declared ``qualifier`` (``static inline``, ``__device__ …``)."""
    with open(_PATH) as f:
        return f"#define SF_SPECIAL {qualifier}\n" + f.read()


def called_by(code: bytes) -> bool:
    """Whether object code calls into this library."""
    return any(name.encode() in code for name in SYMBOLS)


@functools.lru_cache(maxsize=1)
def library() -> ctypes.CDLL:
    """The loaded library (built on first use), its entry points known to LLVM. RuntimeError without
    a C compiler."""
    compiler = c_compiler()
    if compiler is None:
        raise RuntimeError("compiled polygamma, erfinv, gammaln, gcd and lcm need a C compiler (cc) for their library")
    lib = load_library(compile_with([compiler, "-O2", "-shared", "-fPIC"], source(), ".c", DiskCache(), "special.so"))
    for name in SYMBOLS:
        llvm.add_symbol(name, ctypes.cast(getattr(lib, name), ctypes.c_void_p).value)
    return lib

"""codegen: a standalone compiler from kernels (loop nests with SymPy bodies) to native code.

One shared kernel language (``kernel``), one renderer per target (``renderer.llvm``,
``renderer.c``), one runtime per device (``runtime.cpu``), a disk cache. It never imports symflux;
``codegen.lambdify`` is a fast ``sympy.lambdify`` for expressions over arrays.
"""

from .kernel import (
    Buffer,
    Call,
    If,
    Let,
    Loop,
    Program,
    Store,
    UnsupportedExpression,
    Update,
    flat_index,
    loop_var,
    loops,
)
from .lambdify import lambdify
from .renderer.c import CRenderer
from .renderer.cuda import CUDARenderer
from .renderer.llvm import LLVMRenderer
from .runtime.cpu import CPURuntime, default_runtime, start_warm_up

start_warm_up()  # LLVM's first use in this process, done while the importer goes on

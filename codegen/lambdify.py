"""``codegen.lambdify``: a compiled replacement for ``sympy.lambdify`` over arrays.

The expressions are CSE'd once and compiled to one native loop over the broadcast elements of the
arguments; the element count is a runtime parameter, so one compilation serves every size.
"""

from __future__ import annotations

import numpy as np
import sympy

from .kernel import Buffer, Let, Loop, Program, Store, loop_var
from .renderer.llvm import LLVMRenderer
from .runtime.cpu import default_runtime
from .target import cpu


class Lambdified:
    """``fn(*arrays)`` → one array per expression (a single array for a single expression)."""

    def __init__(self, args, exprs, dtype="float64"):
        self.single = not isinstance(exprs, (list, tuple))
        exprs = [sympy.sympify(exprs)] if self.single else [sympy.sympify(e) for e in exprs]
        self.args, self.dtype = list(args), np.dtype(dtype)
        n = sympy.Symbol("n", integer=True, nonnegative=True)
        i = loop_var("i")
        inputs = [Buffer(f"in{k}", self.dtype.name, n) for k in range(len(self.args))]
        outputs = [Buffer(f"out{k}", self.dtype.name, n) for k in range(len(exprs))]
        loads = {a: b[i] for a, b in zip(self.args, inputs)}
        replacements, reduced = sympy.cse([e.xreplace(loads) for e in exprs], symbols=sympy.numbered_symbols("c"))
        body = [Let(sym, self.dtype.name, value) for sym, value in replacements]
        body += [Store(out, i, value) for out, value in zip(outputs, reduced)]
        self.program = Program("lambdified", inputs + outputs, body=[Loop(i, n, tuple(body), parallel=True)],
                               sizes=[n])
        self.ir = LLVMRenderer(threads=cpu().threads).render(self.program)
        self.function = default_runtime().load(self.ir, "lambdified", len(inputs) + len(outputs), 1)
        self.n_outputs = len(exprs)

    def __call__(self, *values):
        if len(values) != len(self.args):
            names = ", ".join(map(str, self.args))
            raise TypeError(f"expected {len(self.args)} arguments ({names}), got {len(values)}")
        arrays = [np.ascontiguousarray(v, dtype=self.dtype) for v in np.broadcast_arrays(*values)]
        shape = arrays[0].shape if arrays else ()
        outputs = [np.empty(shape, dtype=self.dtype) for _ in range(self.n_outputs)]
        self.function(*[a.ctypes.data for a in arrays + outputs], int(np.prod(shape)))
        return outputs[0] if self.single else outputs


def lambdify(args, exprs, dtype="float64") -> Lambdified:
    """lambdify(args, exprs): compile SymPy ``exprs`` (one or a list) in the symbols ``args`` to a
    native function over broadcast arrays, like ``sympy.lambdify(args, exprs, "numpy")``."""
    return Lambdified(args, exprs, dtype)

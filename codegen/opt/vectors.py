"""Vector widths: the innermost loops a CPU's vectoriser can take whole, told how wide to go.

Left to choose, LLVM's loop vectoriser costs the loop body at every width it could use (2 to 16
lanes on an AVX-512 CPU, with a vector variant of each call for each): 10 ms of the 45 ms LLVM spent
on W1's fused derivatives, to pick the widest. A loop it can take whole is a float loop of
straight-line stores and locals whose every access is contiguous in the loop variable (or does not
move with it); on those, ``Target.vector_bits`` (the width LLVM picks for such a loop on this CPU,
``codegen.runtime.cpu.vector_bits``) over the widest type it touches is the width. Integer and
boolean loops, gathers, branches and reductions are left to LLVM's choice, and so is a loop that
calls a function without vector variants (a libm function), which only the renderer sees.

The LLVM renderer writes most hinted loops in vectors of that width itself
(``LLVMRenderer._vector_loop``), and LLVM then runs none of its loop passes on the module: its -O3
pipeline on W1's body took 15–22 ms, the few passes left 2–3.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..kernel import If, Let, Loop, Program, Store, loads
from .contraction import unit_stride


def hint_vector_width(program: Program, target) -> None:
    """Set ``Loop.vector`` on each innermost loop that vectorises whole (see the module)."""
    if not target.vector_bits:
        return
    buffers = program.buffers()
    program.body = [_hinted(s, target.vector_bits, buffers) for s in program.body]


def _hinted(stmt, bits: int, buffers: dict):
    if isinstance(stmt, If):
        return dataclasses.replace(stmt, body=tuple(_hinted(s, bits, buffers) for s in stmt.body))
    if not isinstance(stmt, Loop):
        return stmt
    if any(isinstance(s, (Loop, If)) for s in stmt.body):
        return dataclasses.replace(stmt, body=tuple(_hinted(s, bits, buffers) for s in stmt.body))
    lanes = _lanes(stmt, bits, buffers)
    return dataclasses.replace(stmt, vector=lanes) if lanes else stmt


def _lanes(loop: Loop, bits: int, buffers: dict) -> int:
    """The lanes ``loop`` vectorises at, or 0 where LLVM should judge."""
    if not loop.independent or loop.jam > 1 or not all(isinstance(s, (Let, Store)) for s in loop.body):
        return 0
    dtypes = {s.dtype for s in loop.body if isinstance(s, Let)}
    for s in loop.body:
        accesses = loads(s.value) | ({s.buffer[s.index]} if isinstance(s, Store) else set())
        if not all(unit_stride(a.indices[0], loop.var) or not a.indices[0].has(loop.var) for a in accesses):
            return 0
        dtypes |= {buffers[a.base.name].dtype for a in accesses}
    types = [np.dtype(d) for d in dtypes]
    if not any(t.kind == "f" for t in types) or any(t.kind == "c" for t in types):
        return 0
    lanes = bits // (8 * max(t.itemsize for t in types))
    return lanes if lanes > 1 and (not isinstance(loop.extent, int) or loop.extent >= lanes) else 0

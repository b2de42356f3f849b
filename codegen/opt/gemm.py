"""Big float contractions as calls of BLAS's GEMM (a target with BLAS: ``Target.blas``).

A contraction (``contraction.Contraction``) whose product is two factors — each reading the shared
(batch) output axes, its own output axes and every summed axis — is a batched matrix product: one
``codegen_gemm`` call (``codegen.runtime.linalg``), run in blocks on the thread pool. A factor that
is a load from memory laid out batch + rows + summed (or batch + summed + rows: a transpose) is read
where it lies; any other (a convolution's windows, a permuted view) is copied first, into that
layout or its transpose, whichever reads the factor in longer contiguous runs.
The product lands in batch + left + right order: in the output when that is its layout and nothing
follows, else in a temporary that one loop over the output reads back through the epilogue.
"""

from __future__ import annotations

import numpy as np
import sympy

from ..kernel import Call, Program, Store, dag_replace, flat_index, loads
from ..runtime import linalg
from .contraction import Contraction, contiguous_last, contraction, copied, factors, nest, row_major

# multiply-adds from which a float matrix product calls BLAS's GEMM. GEMM runs on our thread pool
# with OpenBLAS held to one thread per block, and costs LLVM nothing, while each product left to our
# loops is a register tile that LLVM takes ~40-60 ms to compile: from 2¹⁶ rather than 2²⁰, the MLP
# step's IR went 107k -> 43k characters and its LLVM time 0.5 -> 0.29 s of CPU, and W3's step ran
# as fast (batch 32: 733-762 µs against 762-819, alternating runs)
BLAS_WORK = 1 << 16
# ... when the GEMM needs its operands or its result copied (a convolution's windows, a transposed
# output): our loops on such strided reads run at a fraction of their matmul speed (LeNet's convolutions)
BLAS_WORK_COPIED = 1 << 18


def call_gemm(program: Program, target) -> None:
    """Each contraction worth BLAS's GEMM as GEMM calls and the copies around them."""
    body = []
    for stmt in program.body:
        c = contraction(stmt)
        body += (_as_gemm(c, program, target) if c is not None else None) or [stmt]
    program.body = body


def _roles(c: Contraction):
    """(coefficient, first, second, batch, left, right) when ``c`` is a batched matrix product of
    ``first`` (rows ``left``) and ``second`` (columns ``right``), the two in the output's order when
    it has one; else None (a diagonal, a sum within one factor, a product of three)."""
    split = factors(c.product)
    if split is None:
        return None
    coefficient, first, second = split
    reads = [first.free_symbols, second.free_symbols]
    out = c.out_vars
    if any(v not in reads[0] or v not in reads[1] for v in c.summed_vars) or \
            any(v not in reads[0] and v not in reads[1] for v in out):
        return None
    batch = [v for v in out if v in reads[0] and v in reads[1]]
    left, right = [v for v in out if v not in reads[1]], [v for v in out if v not in reads[0]]
    if out != batch + left + right and (out == batch + right + left or out[-1] in left):
        # the product in the output's order, else its last (contiguous) axis last: a row-wise copy back
        first, second, left, right = second, first, right, left
    return coefficient, first, second, batch, left, right


def _as_gemm(c: Contraction, program: Program, target) -> list | None:
    dtype, buf = c.acc.dtype, c.store.buffer
    if dtype not in ("float32", "float64") or buf.dtype != dtype or not c.fixed:
        return None
    if c.work < min(BLAS_WORK, BLAS_WORK_COPIED):
        return None
    roles = _roles(c)
    if roles is None:
        return None
    coefficient, first, second, batch, left, right = roles
    summed, sizes, buffers = c.summed_vars, c.sizes, program.buffers()
    extent = lambda variables: int(np.prod([sizes[v] for v in variables], dtype=np.int64))
    in_place = [_in_place(first, batch, left, summed, dtype, sizes, buffers),
                _in_place(second, batch, summed, right, dtype, sizes, buffers)]
    layout = batch + left + right
    direct = c.out_vars == layout and row_major(c.store.index, layout, sizes) and None not in in_place
    # asked last: SciPy and the BLAS library load only for programs that call them
    if c.work < (BLAS_WORK if direct else BLAS_WORK_COPIED) or not target.blas:
        return None
    statements, matrices = [], []
    for k, ((factor, own), found) in enumerate(zip([(first, left), (second, right)], in_place)):
        if found is None:  # copied into a matrix or its transpose, whichever reads the factor in longer runs
            summed_first = contiguous_last(factor, summed, own, sizes)
            order = batch + (summed + own if summed_first else own + summed)
            copy, matrix, _ = copied(program, factor, order, sizes, dtype)
            statements.append(copy)
            found = (matrix, summed_first == (k == 0))
        matrices.append(found)
    acc, epilogue = c.acc.var, c.store.value != c.acc.var or coefficient != 1
    sums, at = buf, c.store.index
    if (c.out_vars != layout or not row_major(at, layout, sizes) or epilogue and buf.name in program.aliased
            or any(load.base.name == buf.name for load in loads(c.store.value))):
        sums = program.temp(dtype, extent(layout))
        at = flat_index(layout, [sizes[v] for v in layout])
    statements.append(Call(linalg.symbol("gemm", dtype), (matrices[0][0], matrices[1][0]), (sums,),
                           (extent(batch), extent(left), extent(right), extent(summed),
                            int(matrices[0][1]), int(matrices[1][1]))))
    if sums is not buf or epilogue:
        value = dag_replace(c.store.value, {acc: coefficient * sums[at]}, evaluate=coefficient != 1)
        statements += nest(c.outer, (Store(buf, c.store.index, value),))
    return statements


def _in_place(factor, batch, rows, cols, dtype, sizes, buffers):
    """(buffer, transposed) when ``factor`` loads a ``dtype`` buffer laid out batch + rows + cols, or
    batch + cols + rows; else None."""
    buf = buffers.get(factor.base.name) if isinstance(factor, sympy.Indexed) else None
    if buf is None or buf.dtype != dtype:
        return None
    if row_major(factor.indices[0], batch + rows + cols, sizes):
        return buf, False
    if row_major(factor.indices[0], batch + cols + rows, sizes):
        return buf, True
    return None

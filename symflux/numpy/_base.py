"""Helpers every part of the array namespace shares: elementwise application on traced and plain values,
and the queries shape/ndim/size."""

from __future__ import annotations

import numpy as np
import sympy

from .. import interp, ops, trace
from ..array import Array, Tracer
from ..functions import shape_of
from ..ir import ARG, OBJECT, Node
from ..symbolic import on_symbols


def _is_array_like(x) -> bool:
    return isinstance(x, (np.ndarray, list, tuple)) and not isinstance(x, np.generic)


def _concrete_elementwise(body, operands, dtype=None):
    for o in operands:
        trace.refuse_dask(o, "a symflux function")
    if any(trace.is_symbolic(o) or _is_array_like(o) and trace.as_numpy(o).dtype == OBJECT
           for o in operands):
        if not any(_is_array_like(o) or isinstance(o, sympy.MatrixBase) for o in operands):
            return body.xreplace({ARG[i]: sympy.sympify(o) for i, o in enumerate(operands)})
        node = ops.map_(body, [trace.operand(o) for o in operands])
        return interp.evaluate([node], {}, exact=True)[0].view(Array)
    python = [isinstance(o, (int, float, complex)) and not isinstance(o, np.generic) for o in operands]
    values = [o if p else np.asarray(o) for o, p in zip(operands, python)]
    if dtype is None:
        strong = [v.dtype for v, p in zip(values, python) if not p]
        weak = [sympy.sympify(v) for v, p in zip(values, python) if p]
        dtype = ops.result_dtype(body, strong, weak)
    if np.dtype(dtype).kind in "fc":  # NumPy's float loops convert integer operands (and Python numbers) first
        values = [np.asarray(v, dtype if np.can_cast(type(v), dtype, "same_kind") else None) if p
                  else v.astype(dtype) if v.dtype.kind in "biu" else v for v, p in zip(values, python)]
    with np.errstate(all="ignore"):
        out = interp.body_function(body, len(values), False, np.dtype(dtype).kind == "c")(*values)
    out = np.asarray(out).astype(dtype, copy=False)
    return out.view(Array) if any(_is_array_like(o) for o in operands) else out[()]


@on_symbols
def apply_elementwise(builder, *operands, dtype=None):
    """One NumPy-style elementwise function: like a ufunc, a float function converts integer operands
    to its float type first (so ``rad2deg`` of int32 does not overflow in 180·x)."""
    body = builder(*ARG[:len(operands)])
    if trace.any_traced(operands):
        args = [trace.operand(o) for o in operands]
        node = ops.map_(body, args, dtype=dtype)
        if node.dtype.kind in "fc" and any(isinstance(a, Node) and a.dtype.kind in "biu" for a in args):
            node = ops.map_(body, [ops.cast(a, node.dtype) if isinstance(a, Node) and a.dtype.kind in "biu" else a
                                   for a in args], dtype=node.dtype)
        return Tracer(node)
    return _concrete_elementwise(body, operands, dtype)


def _node(x):
    return trace.operand_node(x)


def _plain(x):
    if isinstance(x, sympy.Basic):
        return np.asarray(x, dtype=object)
    return trace.as_numpy(x)


def _rewrap(result, like):
    if isinstance(result, np.ndarray) and (result.ndim or _is_array_like(like)):
        if result.ndim == 0:
            return result[()]
        return result.view(Array)
    return result


def _none_traced(*values) -> bool:
    """Whether NumPy itself computes a function of ``values``: none of them is traced."""
    return not trace.any_traced(list(values))


def _both_plain(a, b):
    return not trace.is_traced(a) and not trace.is_traced(b)


def shape(x):
    if isinstance(x, sympy.MatrixExpr):  # a vector symbol is 1-D
        return shape_of(x)
    return x.shape if trace.is_traced(x) else np.shape(x)


def ndim(x):
    return len(shape(x)) if isinstance(x, sympy.MatrixExpr) else x.ndim if trace.is_traced(x) else np.ndim(x)


def size(x):
    return x.size if trace.is_traced(x) else np.size(x)


def weak_result_type(*xs) -> np.dtype:
    """NumPy's result type of ``xs``, Python numbers weak (NEP 50: int8 with 7 is int8)."""
    return np.result_type(*[x if isinstance(x, (bool, int, float, complex)) else dtype_of(x) for x in xs])


def dtype_of(x) -> np.dtype:
    return trace.operand_node(x).dtype if trace.is_traced(x) else np.asarray(x).dtype


def result_type(*arrays_and_dtypes) -> np.dtype:
    """NumPy's ``result_type``, traced arrays read by their dtype."""
    return np.result_type(*[dtype_of(x) if trace.is_traced(x) else x for x in arrays_and_dtypes])


def iscomplexobj(x) -> bool:
    """Whether x's type is complex (its values are not looked at)."""
    return dtype_of(x).kind == "c" if trace.is_traced(x) else np.iscomplexobj(x)


def isrealobj(x) -> bool:
    """Whether x's type is not complex (its values are not looked at)."""
    return not iscomplexobj(x)

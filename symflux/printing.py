"""Printing: graphs as SymPy matrix expressions, LaTeX, and symbols.

``to_matexpr`` evaluates a graph over ``MatrixSymbol`` inputs into a SymPy ``MatrixExpr``, so the
gradient of ‖Wx + b − y‖² with respect to W prints as ``2*(W*x + b - y)*x.T``. Elementwise
bodies become matrix sums, scalar multiples and Hadamard products; contractions become
products and transposes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import sympy
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from .contract import parse_spec
from .functions import VectorSymbol, evaluated
from .ir import ARG, Node, toposort


class NoMatrixForm(ValueError):
    """The graph uses an operation that has no SymPy matrix-expression equivalent."""


def symbols(names: str, shape: Sequence | None = None, **assumptions: Any) -> Any:
    """SymPy symbols; with ``shape``, a ``MatrixSymbol``, or for ``(n,)`` a ``VectorSymbol``."""
    if shape is None:
        return sympy.symbols(names, **assumptions)
    shape = tuple(shape)
    if len(shape) not in (1, 2):
        raise ValueError(f"matrix symbols are 1-D or 2-D, got shape {shape}")
    kind = VectorSymbol if len(shape) == 1 else sympy.MatrixSymbol
    made = [kind(n, shape[0], shape[1] if len(shape) == 2 else 1) for n in names.replace(",", " ").split()]
    return made[0] if len(made) == 1 else tuple(made)


def _is_matrix(x) -> bool:
    return isinstance(x, sympy.MatrixExpr)


def _ones(shape):
    return sympy.OneMatrix(*shape)


def _elementwise(expr, env, shape):
    """``expr`` (a body over ARG symbols) applied to matrix/scalar values in ``env``."""
    if expr in env:
        return env[expr]
    if not expr.free_symbols & set(env):
        return expr
    parts = [_elementwise(a, env, shape) for a in expr.args]
    if isinstance(expr, sympy.Add):
        matrices = [p for p in parts if _is_matrix(p)]
        scalars = sympy.Add(*[p for p in parts if not _is_matrix(p)])
        return sympy.MatAdd(*matrices, *([scalars * _ones(shape)] if scalars != 0 else []))
    if isinstance(expr, sympy.Mul):
        matrices = [p for p in parts if _is_matrix(p)]
        scalar = sympy.Mul(*[p for p in parts if not _is_matrix(p)])
        product = matrices[0] if len(matrices) == 1 else sympy.HadamardProduct(*matrices)
        # unevaluated, so 2*(W*x + b) is not distributed into 2*W*x + 2*b
        return product if scalar == 1 else sympy.MatMul(scalar, product, evaluate=False)
    if isinstance(expr, sympy.Pow) and _is_matrix(parts[0]) and not _is_matrix(parts[1]):
        return sympy.HadamardPower(parts[0], parts[1])
    matrices = [sym for sym in expr.free_symbols & set(env) if _is_matrix(env[sym])]
    if len(matrices) == 1:  # a function of one matrix: apply it elementwise
        (sym,) = matrices
        d = sympy.Dummy("d")
        return ElementwiseApplyFunction(sympy.Lambda(d, expr.xreplace({sym: d})), env[sym])
    raise NoMatrixForm(f"no matrix form for the elementwise expression {expr}")


def _as_matrix(value, letters):
    """(matrix, row letter, column letter): vectors are columns, whose column letter is None."""
    if len(letters) == 2:
        return value, letters[0], letters[1]
    if len(letters) == 1:
        return value, letters[0], None
    raise NoMatrixForm(f"no matrix form for a {len(letters)}-dimensional operand")


def _transposed(m):
    return m[0].T, m[2], m[1]


def _contract(spec, a, b):
    """A contraction of ≤2-D operands as a matrix product (vectors as columns)."""
    sa, sb, so = parse_spec(spec)
    if not sa or not sb:
        return a * b
    shared = set(sa) & set(sb) - set(so)
    if len(shared) > 1:
        raise NoMatrixForm(f"no matrix form for the contraction {spec}")
    left, right = _as_matrix(a, sa), _as_matrix(b, sb)
    if shared:
        (c,) = shared
        left = left if left[2] == c else _transposed(left)
        right = right if right[1] == c else _transposed(right)
    else:  # outer product: column times row
        left = left if left[2] is None else _transposed(left)
        right = _transposed(right) if right[2] is None else right
    factors = [f for m in (left[0], right[0]) for f in (m.args if isinstance(m, sympy.MatMul) else (m,))]
    scalars = [f for f in factors if not _is_matrix(f)]
    product = sympy.MatMul(*scalars, *[f for f in factors if _is_matrix(f)], evaluate=False)
    row, col = left[1], right[2]
    if not so:
        return product[0, 0]
    if so == "".join(x for x in (row, col) if x is not None) and not (row is None and len(so) == 1):
        return product
    return product.T.doit()


def _sum_all(x, node: Node):
    if not _is_matrix(x):
        return x * sympy.Mul(*node.args[0].shape)
    rows, cols = x.shape
    return (sympy.OneMatrix(1, rows) * x * sympy.OneMatrix(cols, 1))[0, 0]


def to_matexpr(outputs, bindings: dict) -> list:
    """Evaluate ``outputs`` with MatrixExpr/SymPy values bound to the inputs."""
    values: dict[int, object] = {}
    for node in toposort(outputs):
        if node.op == "input":
            v = bindings[node]
        elif node.op == "const":
            v = node.value
            if isinstance(v, np.ndarray):
                v = v[()] if v.ndim == 0 else sympy.Matrix(v.reshape(v.shape[0], -1).tolist())
        else:
            args = [values[id(a)] for a in node.args]
            v = _matexpr_op(node, args)
        values[id(node)] = v
    return [values[id(o)] for o in outputs]


def _matexpr_op(node: Node, args):
    op = node.op
    if op == "map":
        shape = {2: node.shape, 1: node.shape + (1,)}.get(node.ndim, (1, 1))
        value = _elementwise(sympy.factor_terms(evaluated(node.body)), {ARG[i]: a for i, a in enumerate(args)}, shape)
        return value * _ones(shape) if node.ndim and not _is_matrix(value) else value
    if op == "einsum":
        return _contract(node.attrs[0], *args)
    if op == "permute" and node.ndim == 2:
        return args[0].T
    if op in ("detach", "reshape") and (not _is_matrix(args[0]) or 1 in args[0].shape or node.ndim == 2
                                         and tuple(args[0].shape) == node.shape):
        return args[0]
    if op == "sum" and len(node.attrs[0]) == node.args[0].ndim:
        return _sum_all(args[0], node)
    if op == "expand" and not _is_matrix(args[0]) and node.ndim == 2:
        return args[0] * _ones(node.shape)
    raise NoMatrixForm(f"no matrix-expression form for the {op} node {node}")


def latex(obj: Any, **settings: Any) -> str:
    """LaTeX for SymPy expressions, matrix expressions and arrays (as matrices)."""
    if isinstance(obj, np.ndarray):
        obj = sympy.Matrix(np.atleast_2d(obj).tolist()) if obj.ndim <= 2 else sympy.Array(obj.tolist())
    return sympy.latex(sympy.sympify(obj) if not isinstance(obj, sympy.Basic) else obj, **settings)


def as_matrix(obj: Any) -> sympy.Matrix:
    """An explicit ``sympy.Matrix`` for a tiny array or a matrix expression with numeric shape."""
    if isinstance(obj, sympy.MatrixExpr):
        return obj.as_explicit()
    arr = np.asarray(obj, dtype=object)
    return sympy.Matrix(np.atleast_2d(arr) if arr.ndim < 2 else arr)

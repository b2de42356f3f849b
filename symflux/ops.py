"""Smart constructors for graph nodes: shape and dtype inference plus local simplification.

Every node is built here. Constructors fold what is known locally (scalar constants inlined into
bodies, identity reshapes dropped, constant fills propagated), so graphs come out simplified as
they are built and differentiation never has to clean up after itself.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import sympy

from codegen.kernel import dag_atoms

from . import functions
from .ir import ARG, OBJECT, Const, Identity, Node, arg_symbol, make


class ShapeError(ValueError):
    """Shapes that do not fit together; the message names both."""


# -- shapes ----------------------------------------------------------------------------------------

def fmt_shape(shape) -> str:
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def dims_equal(a, b) -> bool:
    return bool(a == b) if isinstance(a, int) and isinstance(b, int) else sympy.simplify(a - b) == 0


def prod(dims):
    return math.prod(dims) if all(isinstance(d, int) for d in dims) else sympy.Mul(*dims)


def broadcast_shapes(*shapes, what: str = "operands") -> tuple:
    ndim = max((len(s) for s in shapes), default=0)
    out = []
    for i in range(ndim):
        dims = [s[len(s) - ndim + i] for s in shapes if len(s) - ndim + i >= 0]
        size = 1
        for d in dims:
            if dims_equal(d, 1):
                continue
            if not dims_equal(size, 1) and not dims_equal(size, d):
                listed = " and ".join(fmt_shape(s) for s in shapes)
                raise ShapeError(f"{what} could not be broadcast together: shapes {listed}")
            size = d
        out.append(size)
    return tuple(out)


def normalize_axes(axis, ndim: int) -> tuple:
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ShapeError(f"axis {a} is out of bounds for an array of {ndim} dimensions")
        out.append(int(a) % ndim)
    return tuple(sorted(set(out)))


# -- leaves ----------------------------------------------------------------------------------------

def const(value) -> Node:
    value = np.asarray(value) if not isinstance(value, sympy.MatrixBase | sympy.MatrixExpr) else value
    if isinstance(value, np.ndarray):
        return make("const", (), (Const(value),), value.shape, value.dtype)
    return make("const", (), (Const(value),), functions.shape_of(value), OBJECT)


def identity(shape, dtype) -> Node:
    """The n × n identity read as ``shape`` = (n, *S) with prod(S) = n: row k is the k-th unit array."""
    shape = tuple(shape)
    if prod(shape[1:]) != shape[0]:
        raise ShapeError(f"an identity of shape {fmt_shape(shape)} needs prod(shape[1:]) == shape[0]")
    return make("const", (), (Identity(shape, dtype),), shape, dtype)


_random_ids = itertools.count()


def rand(shape, dtype=np.float64) -> Node:
    """Fresh U[0, 1) samples on every evaluation (each call makes a distinct node)."""
    return make("rand", (), (next(_random_ids),), shape, dtype)


def is_fill(node: Node) -> bool:
    """A map without arguments: one scalar value broadcast to a shape."""
    return node.op == "map" and not node.args


def fill(value, shape, dtype) -> Node:
    return make("map", (), (sympy.sympify(value),), shape, dtype)


# -- elementwise -----------------------------------------------------------------------------------

def _weak_python(value: sympy.Basic):
    """The Python scalar with the same NumPy (NEP 50 weak) typing as a literal in a body."""
    if isinstance(value, sympy.logic.boolalg.BooleanAtom):
        return bool(value)
    if value.is_Integer:
        return int(value)
    if value is sympy.nan or value.is_number and value.is_extended_real:  # nan and ±oo are floats too
        return 1.0
    return 1j if value.is_number else None


def result_dtype(body, strong: list, weak: list, op=None) -> np.dtype:
    """NumPy's result dtype for ``body`` applied to typed arrays and weak Python scalars; ``op`` is
    the operation's body before its scalars were inlined (``x / 2`` is a division, ``x·½`` is not)."""
    if functions.is_boolean(body):
        return np.dtype(bool)
    if isinstance(body, functions.REAL_OF_COMPLEX) and OBJECT not in strong:  # |complex| is real, as in NumPy
        kind = np.result_type(*strong, *[_weak_python(w) for w in weak])
        if kind.kind == "c":
            return np.dtype(np.float32 if kind == np.complex64 else np.float64)
    pyweak = [_weak_python(w) for w in weak]
    if OBJECT in strong or any(w is None for w in pyweak):
        return OBJECT
    base = np.result_type(*strong, *pyweak) if strong or pyweak else np.dtype(np.int64)
    if base.kind in "biu":
        operation = body if op is None else op  # x / 1 is still a true division, x ** True a power
        if functions.keeps_integers(operation):
            # bools through an integer ufunc (square, //, %, **) take NumPy's first loop: int8
            return base if base.kind != "b" or functions.keeps_booleans(operation) else np.dtype(np.int8)
        return _float_of(base, operation)
    return base


def float_type(dtype: np.dtype) -> np.dtype:
    """The type NumPy's float functions (sin, sqrt, arctan2…) compute ``dtype`` in: floats as they
    are, integers in the smallest float holding them (int16: float32), float32 where that is float16
    (bool, 8-bit: symflux has no float16)."""
    dtype = np.dtype(dtype).newbyteorder("=")  # results are native, whatever the input's byte order
    if dtype.kind not in "biu":
        return dtype
    return np.dtype(np.float32) if np.result_type(dtype, np.float16).itemsize <= 4 else np.dtype(np.float64)


def _float_of(integers: np.dtype, op) -> np.dtype:
    """The float type of a float function of integers, as NumPy's loops pick it: float64 for a
    true division, else ``float_type``."""
    if any(p.exp.is_negative and p.base.free_symbols for p in dag_atoms(op, sympy.Pow)):
        return np.dtype(np.float64)
    return float_type(integers)


def _scalar_value(node: Node):
    """The SymPy scalar a node stands for, when it is a 0-d literal or a fill."""
    if is_fill(node):
        return node.body
    if node.op == "const" and node.shape == () and isinstance(node.value, np.ndarray):
        return sympy.sympify(node.value.item())
    return None


def type_matters(body, args, i) -> bool:
    """Whether the scalar node ``args[i]`` must stay an operand of its own type: inlined, its value
    would be a weakly typed literal, and NumPy's result type differs (an int8 2 minus a uint8 is
    int16; as a literal 2 it was computed in uint8)."""
    nodes = [a for a in args if isinstance(a, Node)]
    others = [a.dtype for k, a in enumerate(args) if isinstance(a, Node) and k != i]
    literals = [sympy.sympify(a) for a in args if not isinstance(a, Node)]
    typed = result_dtype(body, [a.dtype for a in nodes], literals, body)
    value = _scalar_value(args[i])
    return typed != result_dtype(body, others, literals + [sympy.S.Zero if value is None else value], body)


def _degenerate(body) -> bool:
    """Whether SymPy folded something IEEE arithmetic would not give (zoo, nan, i). A DAG walk:
    ``has`` walks the tree, exponential in the depth of a fused recurrence."""
    return bool(dag_atoms(body, (type(sympy.zoo), type(sympy.nan), type(sympy.I))))


def _runtime_scalar(a, strong) -> Node:
    """A scalar operand as a 0-d constant, typed as NumPy would type it beside ``strong`` dtypes."""
    if isinstance(a, Node):
        scalar = _scalar_value(a)
        return a if scalar is None else const(np.asarray(scalar).astype(a.dtype))
    value = sympy.sympify(a)
    return const(np.asarray(complex(value) if value.has(sympy.I) else float(value) if not value.is_Integer
                            else int(value), dtype=np.result_type(*strong, _weak_python(value))))


def map_(body, args, shape=None, dtype=None, inline=True) -> Node:
    """Elementwise ``body(*args)``; an arg may be a Node or a weak SymPy/Python scalar. Scalar
    operands are inlined into the body (``inline``), except where SymPy would fold the result into
    something IEEE arithmetic does not give (x/0.0 → zoo, 0/0 → nan): then they stay runtime values."""
    original = body = sympy.sympify(body)
    shapes = [a.shape for a in args if isinstance(a, Node)]
    if shape is not None:
        shapes.append(shape)
    out_shape = broadcast_shapes(*shapes)
    strong, weak, subs, kept = [], [], {}, []
    for i, a in enumerate(args):
        if not isinstance(a, Node):
            weak.append(sympy.sympify(a))
            subs[ARG[i]] = weak[-1]
            continue
        strong.append(a.dtype)
        scalar = _scalar_value(a) if inline else None
        if scalar is not None and type_matters(original, args, i):
            scalar = None
        if scalar is not None:
            subs[ARG[i]] = functions.typed_literal(scalar, a.dtype) if a.dtype.kind in "iu" else scalar
        else:
            kept.append((ARG[i], a))
    try:
        body, refused = (functions.substitute(body, subs) if subs else body), False
    except (ValueError, TypeError):  # SymPy refuses a folded constant (Min(nan, x), i > 0: "not comparable")
        body, refused = sympy.nan, True
    if dtype is None:
        dtype = result_dtype(body if body is not sympy.nan else original, strong, weak, original)
    # computed at run time instead: a NaN SymPy cannot fold into a truth value is true in a bool map
    if subs and (refused or dtype.kind in "fc" and _degenerate(body)) and not _degenerate(original):
        operands = [_runtime_scalar(a, strong) for a in args]
        return map_(original, operands, shape=out_shape, dtype=dtype, inline=False)
    # Deduplicate repeated args, drop unused ones, and renumber the survivors.
    free = body.free_symbols
    renumber, new_args = {}, []
    for sym, node in kept:
        if sym not in free:
            continue
        if node in new_args:
            renumber[sym] = arg_symbol(new_args.index(node))
        else:
            renumber[sym] = arg_symbol(len(new_args))
            new_args.append(node)
    if any(sym != new for sym, new in renumber.items()):
        body = functions.substitute(body, renumber)
    if body == ARG[0] and len(new_args) == 1 and new_args[0].dtype == dtype:
        return expand(new_args[0], out_shape)
    return make("map", tuple(new_args), (body,), out_shape, dtype)


def cast(x: Node, dtype) -> Node:
    dtype = np.dtype(dtype)
    if x.dtype == dtype:
        return x
    if OBJECT in (x.dtype, dtype):  # exact values: to an integer they truncate, to a bool test nonzero
        exact_to = dtype.kind if x.dtype == OBJECT else ""
        body = functions.trunc(ARG[0]) if exact_to in ("i", "u") else sympy.Ne(ARG[0], 0) if exact_to == "b" else ARG[0]
        return map_(body, [x], dtype=dtype)
    if dtype.kind == "b":  # nonzero (NaN too); a truth value has no derivative
        return map_(sympy.Ne(ARG[0], 0), [x], dtype=dtype)
    # a float to an integer truncates toward zero: trunc says so to differentiation (0, as in JAX)
    value = functions.trunc(ARG[0]) if x.dtype.kind in "fc" and dtype.kind in "iu" else ARG[0]
    return map_(functions.cast(value, sympy.Symbol(dtype.name)), [x], dtype=dtype)


# -- reductions -------------------------------------------------------------------------------------

def reduce(kind: str, x: Node, axis=None) -> Node:
    axes = normalize_axes(axis, x.ndim)
    if not axes:
        return x
    shape = tuple(d for i, d in enumerate(x.shape) if i not in axes)
    dtype = x.dtype
    if kind == "sum" and dtype.kind in "biu":  # NumPy sums small integers in the platform's width
        dtype = np.dtype(np.uint64 if dtype.kind == "u" else np.int64)
    if kind != "sum" and any(dims_equal(x.shape[a], 0) for a in axes):
        raise ShapeError(f"zero-size array to reduction operation {kind}imum which has no identity: "
                         f"shape {fmt_shape(x.shape)}, axes {axes}")
    if is_fill(x):
        count = prod([x.shape[a] for a in axes]) if kind == "sum" else 1
        return fill(functions.as_value(x.body) * count, shape, dtype)  # a truth value as 1 or 0
    return make(kind, (x,), (axes,), shape, dtype)


# -- movement ---------------------------------------------------------------------------------------

def reshape(x: Node, shape) -> Node:
    shape = tuple(shape)
    if not dims_equal(prod(shape), prod(x.shape)):
        raise ShapeError(f"cannot reshape an array of shape {fmt_shape(x.shape)} into shape {fmt_shape(shape)}")
    if shape == x.shape:
        return x
    if is_fill(x):
        return fill(x.body, shape, x.dtype)
    if x.op == "reshape":
        return reshape(x.args[0], shape)
    return make("reshape", (x,), (shape,), shape, x.dtype)


def permute(x: Node, perm) -> Node:
    perm = tuple(int(p) for p in perm)
    if sorted(perm) != list(range(x.ndim)):
        raise ShapeError(f"axes {perm} are not a permutation for shape {fmt_shape(x.shape)}")
    if perm == tuple(range(x.ndim)):
        return x
    shape = tuple(x.shape[p] for p in perm)
    if is_fill(x):
        return fill(x.body, shape, x.dtype)
    if x.op == "permute":
        inner = x.attrs[0]
        return permute(x.args[0], [inner[p] for p in perm])
    return make("permute", (x,), (perm,), shape, x.dtype)


def expand(x: Node, shape) -> Node:
    shape = tuple(shape)
    if broadcast_shapes(x.shape, shape, what="broadcast_to operands") != shape:
        raise ShapeError(f"cannot broadcast shape {fmt_shape(x.shape)} to {fmt_shape(shape)}")
    if shape == x.shape:
        return x
    if is_fill(x):
        return fill(x.body, shape, x.dtype)
    return make("expand", (x,), (shape,), shape, x.dtype)


def slice_length(start, stop, step):
    return max(0, -(-(stop - start) // step)) if step > 0 else max(0, -(-(start - stop) // -step))


def slice_(x: Node, slices) -> Node:
    """Basic slicing with one normalised (start, stop, step) triple per axis."""
    slices = tuple(tuple(int(v) for v in s) for s in slices)
    if all(s == (0, d, 1) for s, d in zip(slices, x.shape)):
        return x
    shape = tuple(slice_length(*s) for s in slices)
    if is_fill(x):
        return fill(x.body, shape, x.dtype)
    return make("slice", (x,), (slices,), shape, x.dtype)


def unslice(g: Node, shape, slices) -> Node:
    """Zeros of ``shape`` with ``g`` written at ``slices`` (the adjoint of slicing)."""
    if all(s == (0, d, 1) for s, d in zip(slices, shape)):
        return g
    return make("unslice", (g,), (tuple(slices),), tuple(shape), g.dtype)


def take(x: Node, idx: Node, axis: int) -> Node:
    shape = x.shape[:axis] + idx.shape + x.shape[axis + 1:]
    return make("take", (x, idx), (axis,), shape, x.dtype)


def scatter_add(v: Node, idx: Node, axis: int, size) -> Node:
    shape = v.shape[:axis] + (size,) + v.shape[axis + idx.ndim:]
    return make("scatter_add", (v, idx), (axis, size), shape, v.dtype)


def window_count(size, kernel, stride, dilation, pad_lo, pad_hi):
    """Sliding windows along one axis: floor((I + P_lo + P_hi − D(K−1) − 1)/S) + 1 (NNlib's
    ``output_size``); exact for integers, a SymPy formula for symbolic sizes."""
    span = size + pad_lo + pad_hi - dilation * (kernel - 1) - 1
    if all(isinstance(v, int) for v in (size, kernel, stride, dilation, pad_lo, pad_hi)):
        return span // stride + 1
    # keep (I + P − D(K−1) − 1)/S as one quotient: floor((n - 1)/2) + 1, not floor(n/2 - 1/2) + 1
    if stride == 1:
        return span + 1
    quotient = sympy.Mul(span, sympy.Pow(sympy.Integer(stride), -1, evaluate=False), evaluate=False)
    return sympy.floor(quotient) + 1


def unfold(x: Node, kernel, stride, dilation, pad, pad_value=0) -> Node:
    """Sliding windows (im2col): (N, C, *S) → (N, C, *out, *kernel), padding with ``pad_value``.

    ``pad`` holds one (low, high) pair per spatial axis. Convolution is an einsum of this with
    the weight, pooling a reduction over its window axes; ``fold`` is its adjoint."""
    spatial = x.shape[2:]
    out = []
    for size, k, s, d, (lo, hi) in zip(spatial, kernel, stride, dilation, pad):
        if isinstance(size, int) and size + lo + hi < d * (k - 1) + 1:
            raise ShapeError(f"window of size {k} (dilation {d}) is larger than the padded input "
                             f"{size} + {lo} + {hi} (input shape {fmt_shape(x.shape)})")
        out.append(window_count(size, k, s, d, lo, hi))
    attrs = (tuple(kernel), tuple(stride), tuple(dilation), tuple(map(tuple, pad)), pad_value)
    return make("unfold", (x,), attrs, x.shape[:2] + tuple(out) + tuple(kernel), x.dtype)


def fold(cols: Node, spatial, kernel, stride, dilation, pad) -> Node:
    """The adjoint of ``unfold``: sum windows (N, C, *out, *kernel) back into (N, C, *spatial)."""
    attrs = (tuple(spatial), tuple(kernel), tuple(stride), tuple(dilation), tuple(map(tuple, pad)))
    return make("fold", (cols,), attrs, cols.shape[:2] + tuple(spatial), cols.dtype)


def detach(x: Node, why: tuple = ()) -> Node:
    """``x`` as a constant for differentiation (stop_gradient). ``why=("shift",)`` marks a shift the
    result does not depend on (softmax's max), which formulas leave out."""
    return x if x.op in ("const", "detach") or is_fill(x) else make("detach", (x,), why, x.shape, x.dtype)


def compared(x: Node) -> Node:
    """``x`` for comparisons that must agree with each other (a sort's pairs, an extremum and the
    elements that attain it): without a derivative (``detach``), and marked so that the lowering
    stores the value once. Recomputed where each comparison reads it, SymPy may compose it into
    another expression for the same number (0.8a·0.8b as 0.64ab), rounded otherwise: an element
    then ranked twice, or no element matched its max."""
    return x if x.op == "const" or is_fill(x) else make("detach", (x,), ("compared",), x.shape, x.dtype)


def extremum_mask(node: Node, dtype) -> Node:
    """1 where an element of a max/min reduction's argument attains the result, else 0 (ties all
    count: derivatives share among them); the mask has no derivative."""
    x = node.args[0]
    keep = tuple(1 if a in node.attrs[0] else d for a, d in enumerate(x.shape))
    return map_(sympy.Piecewise((1, sympy.Eq(ARG[0], ARG[1])), (0, True)), [compared(x), reshape(node, keep)],
                dtype=dtype)


def concat(xs, axis: int) -> Node:
    xs = list(xs)
    if len(xs) == 1:
        return xs[0]
    first = xs[0].shape
    for x in xs[1:]:
        if x.ndim != len(first) or any(
                not dims_equal(a, b) for i, (a, b) in enumerate(zip(first, x.shape)) if i != axis):
            raise ShapeError(f"concatenate: shapes {fmt_shape(first)} and {fmt_shape(x.shape)} "
                             f"differ outside axis {axis}")
    size = sum(x.shape[axis] for x in xs)
    shape = first[:axis] + (size,) + first[axis + 1:]
    dtype = OBJECT if any(x.dtype == OBJECT for x in xs) else np.result_type(*[x.dtype for x in xs])
    return make("concat", tuple(cast(x, dtype) for x in xs), (axis,), shape, dtype)

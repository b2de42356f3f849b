"""The tensor graph: hash-consed nodes.

A ``Node`` is one tensor operation. Elementwise work is a ``map`` node whose body is a SymPy
expression over the positional symbols ``ARG[i]`` (one per argument, broadcast NumPy-style);
everything else (reductions, contractions, movement) is a small fixed set of ops. Building the same
node twice returns the same object, so the graph is a DAG and structural equality is identity.

Ops and their ``attrs``:

=============  =====================================  ===========================================
op             attrs                                  meaning
=============  =====================================  ===========================================
input          (uid, name)                            a leaf bound at evaluation time
const          (Const,)                               a literal array or SymPy object
rand           (uid,)                                 fresh U[0, 1) samples at every evaluation
map            (body,)                                body(args...) elementwise, broadcast
sum/max/min    (axes,)                                reduction over ``axes`` (no keepdims)
einsum         (spec,)                                two-operand contraction, e.g. ``ij,jk->ik``
reshape        (shape,)                               row-major reshape
permute        (perm,)                                axis permutation
expand         (shape,)                               ``numpy.broadcast_to``
slice          (slices,)                              basic slicing: (start, stop, step) per axis
unslice        (slices,)                              zeros of ``shape`` with the arg placed at slices
take           (axis,)                                ``numpy.take(x, idx, axis)``; idx is a const arg
scatter_add    (axis, size)                           inverse of take: ``numpy.add.at`` into zeros
concat         (axis,)                                ``numpy.concatenate``
detach         ()                                     identity whose derivative is zero
unfold         (kernel, stride, dilation, pad, value) sliding windows (N,C,*S) → (N,C,*out,*kernel)
fold           (spatial, kernel, stride, dilation,    the adjoint of unfold: windows summed back
                pad)
=============  =====================================  ===========================================
"""

from __future__ import annotations

import contextlib
import itertools
import weakref

import numpy as np
import sympy

from .functions import evaluated

# Positional symbols of elementwise bodies. ``real=True`` keeps derivatives of |x| and friends
# free of re()/im() terms.
ARG = [sympy.Symbol(f"_{i}", real=True) for i in range(64)]

OBJECT = np.dtype(object)


def arg_symbol(i: int) -> sympy.Symbol:
    while i >= len(ARG):
        ARG.append(sympy.Symbol(f"_{len(ARG)}", real=True))
    return ARG[i]


class Const:
    """A literal value with structural equality, so equal constants intern to one node."""

    __slots__ = ("value", "_key")

    def __init__(self, value):
        if isinstance(value, np.ndarray):
            value = value.astype(native(value.dtype))  # a copy, in native byte order
            value.flags.writeable = False
            if value.dtype == OBJECT:
                self._key = ("obj", value.shape, tuple(value.ravel().tolist()))
            else:
                self._key = (value.dtype.str, value.shape, value.tobytes())
        else:
            self._key = ("scalar", value)
        self.value = value

    def __eq__(self, other):
        return isinstance(other, Const) and self._key == other._key

    def __hash__(self):
        return hash(self._key)

    def __repr__(self):
        v = self.value
        return f"Const({v if not isinstance(v, np.ndarray) or v.size <= 6 else f'<{v.shape}>'})"


def size_of(shape) -> int | sympy.Expr:
    """The number of elements of ``shape``: an int, or a SymPy expression for symbolic sizes."""
    size = sympy.Mul(*shape) if shape else sympy.Integer(1)
    return int(size) if size.is_Integer else size


class Identity(Const):
    """The identity matrix n × n read as shape (n, *S) (one-hot rows: the seeds of Jacobians). Its
    key is its shape, and its values are made only if something evaluates them: contractions with
    it are renamings (``contract``), so usually nothing does."""

    __slots__ = ("shape", "dtype", "_array")

    def __init__(self, shape, dtype):
        self.shape, self.dtype, self._array = tuple(shape), np.dtype(dtype), None
        self._key = ("identity", self.shape, self.dtype.str)

    @property
    def value(self) -> np.ndarray:
        if self._array is None:
            self._array = np.eye(self.shape[0], dtype=self.dtype).reshape(self.shape)
            self._array.flags.writeable = False
        return self._array

    def __repr__(self):
        return f"Identity{self.shape}"


class Node:
    __slots__ = ("op", "args", "attrs", "shape", "dtype", "__weakref__")

    def __init__(self, op, args, attrs, shape, dtype):
        self.op, self.args, self.attrs, self.shape, self.dtype = op, args, attrs, shape, dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def body(self) -> sympy.Expr:
        return self.attrs[0]

    @property
    def value(self):
        return self.attrs[0].value

    def __repr__(self):
        attrs = ", ".join(map(str, self.attrs))
        return f"Node({self.op}[{attrs}], shape={self.shape}, dtype={self.dtype})"


_interned: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
_uids = itertools.count()


def native(dtype) -> np.dtype:
    """``dtype`` in this machine's byte order: graphs compute in native values whatever the input's order."""
    dtype = np.dtype(dtype)
    return dtype if dtype.isnative else dtype.newbyteorder("=")


def make(op: str, args: tuple, attrs: tuple, shape: tuple, dtype) -> Node:
    """The unique node for (op, args, attrs); shape and dtype are determined by those."""
    shape, dtype = tuple(shape), native(dtype)
    key = (op, tuple(id(a) for a in args), attrs, shape, dtype)
    node = _interned.get(key)
    if node is None:
        node = Node(op, tuple(args), attrs, shape, dtype)
        _interned[key] = node
        if _origins is not None and _layer_path:
            _origins[node] = tuple(_layer_path)
    return node


# -- where nodes come from (for pictures) ------------------------------------------------------------

_origins: weakref.WeakKeyDictionary | None = None  # node → the path of layers that made it, while recording
_layer_path: list[str] = []


@contextlib.contextmanager
def recording_origins():
    """Within: each new node remembers the layers (``layer_scope``) it was made in; yields that map."""
    global _origins
    saved, _origins = _origins, weakref.WeakKeyDictionary()
    try:
        yield _origins
    finally:
        _origins = saved


@contextlib.contextmanager
def layer_scope(name: str):
    """Nodes made within belong to layer ``name`` (nested in the enclosing ones), when recording."""
    if _origins is None:
        yield
        return
    _layer_path.append(name)
    try:
        yield
    finally:
        _layer_path.pop()


def new_input(shape, dtype, name: str = "x") -> Node:
    return make("input", (), (next(_uids), name), shape, dtype)


def toposort(outputs) -> list[Node]:
    """Every node reachable from ``outputs``, arguments before users."""
    order, seen = [], set()
    for root in outputs:
        if id(root) in seen:
            continue
        stack = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((a, False) for a in reversed(node.args) if id(a) not in seen)
    return order


def inputs_of(outputs) -> list[Node]:
    return [n for n in toposort(outputs) if n.op == "input"]


def count_ops(outputs) -> int:
    """Operation count: SymPy ``count_ops`` of each map body after CSE, plus one per other op."""
    total = 0
    for node in toposort(outputs):
        if node.op == "map":
            replacements, (body,) = sympy.cse(evaluated(node.body))
            total += sum(sympy.count_ops(e) for _, e in replacements) + sympy.count_ops(body)
        elif node.args:
            total += 1
    return total

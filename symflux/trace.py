"""Tracing state: which arrays are being tracked, and turning Python values into graph operands.

``gradient(f, params(W, b))`` tracks ``W`` and ``b`` by identity: while ``f`` runs, any operation
that touches them produces ``Tracer`` values instead of numbers. The stack of tracking scopes
lets nested gradients track the same array at several levels.
"""

from __future__ import annotations

import contextlib
import fractions
import numbers
import weakref

import numpy as np
import sympy

from . import interp, ops
from .array import Tracer, Trackable
from .ir import OBJECT, Node, new_input, toposort

_scopes: list[dict[int, object]] = []
# Graph inputs that some operation consumed. An argument that was used but whose derivative folded
# away (0*x) gets a zero gradient; one that was never used gets None, as in Zygote.
used_inputs: weakref.WeakSet = weakref.WeakSet()


# The values the inputs of open eager traces stand for (a gradient taken at numbers): Python control
# flow on a traced integer reads its value from them (a count, a size, Zygote's pow(x, n) recursing on
# n). On floats it raises and points to sf.where, which keeps both branches (DESIGN §5). Traces whose
# graph outlives the call (compile, train_step, vmap, make_graph) bind none, so branching there raises.
_concrete: dict[Node, object] = {}
# Inputs a concrete value was read from: when only control flow read them (Zygote's pow(x, n) in n),
# their gradient is None, not zero.
control_inputs: weakref.WeakSet = weakref.WeakSet()


@contextlib.contextmanager
def concrete(bindings: dict):
    """Within the block, the input nodes of ``bindings`` stand for its values (an eager trace)."""
    _concrete.update(bindings)
    try:
        yield
    finally:
        for node in bindings:
            _concrete.pop(node, None)


def concrete_value(tracer: Tracer):
    """The value of ``tracer`` from what its integer inputs stand for, or None where it reads a float
    input or one that stands for nothing known (a compile's input, a random draw, a symbolic matrix)."""
    nodes = toposort([tracer.node])
    inputs = [n for n in nodes if n.op == "input"]
    if any(n.op == "rand" for n in nodes) or not all(n in _concrete and n.dtype.kind in "biu" for n in inputs):
        return None
    bindings = {}
    for node in inputs:
        value = _concrete[node]
        if isinstance(value, Tracer):  # a nested trace's input: the enclosing trace's value
            value = concrete_value(value)
        if value is None or isinstance(value, sympy.MatrixExpr):
            return None
        bindings[node] = value
    control_inputs.update(inputs)
    return interp.evaluate([tracer.node], bindings, exact=any(map(is_exact_value, bindings.values())))[0]


def is_exact_value(v) -> bool:
    """Whether a value an input stands for calls for exact evaluation (SymPy, fractions, integers)."""
    if isinstance(v, (sympy.Basic, sympy.MatrixBase, fractions.Fraction)):
        return True
    if isinstance(v, int) and not isinstance(v, np.generic):
        return True
    arr = np.asarray(v) if isinstance(v, (list, np.ndarray, np.generic)) else None
    return arr is not None and arr.dtype.kind in "iuO"


# Open gradient computations; layers like Dropout and BatchNorm are active while one is.
_differentiating: list[bool] = []
# Open traces that record layer state assigned with traced values (their update lists).
_recorders: list[list] = []


@contextlib.contextmanager
def recording_state():
    """Within the block, layer state assigned a traced value (``set_state``) is recorded: yields the
    list of (obj, attr, traced value, value before the trace) the block assigned."""
    updates: list = []
    _recorders.append(updates)
    try:
        yield updates
    finally:
        _recorders.pop()


@contextlib.contextmanager
def differentiating():
    """Within the block a gradient is being taken (training-mode layers are active)."""
    _differentiating.append(True)
    try:
        yield
    finally:
        _differentiating.pop()


def is_differentiating() -> bool:
    return bool(_differentiating)


def set_state(obj, attr: str, value) -> None:
    """``setattr(obj, attr, value)`` for layer state (running statistics, recurrent state). A value
    assigned inside a trace is recorded, so the trace can produce its concrete value (and knows a
    state it overwrote before reading it, as ``reset`` does, is not one of its inputs)."""
    if _recorders:
        before = next((u[3] for u in _recorders[-1] if u[0] is obj and u[1] == attr), getattr(obj, attr, None))
        _recorders[-1].append((obj, attr, value, before))
    setattr(obj, attr, value)


def last_assignments(updates) -> list:
    """The last recorded assignment of each (object, attribute): a layer called twice in one trace
    (a sequence fed to a recurrent layer) leaves the state of its last call."""
    return list({(id(obj), attr): (obj, attr, value, before) for obj, attr, value, before in updates}.values())


def restore_state(updates) -> None:
    """Undo the assignments a trace recorded: the traced values must not outlive it."""
    for obj, attr, _, before in reversed(updates):
        setattr(obj, attr, before)


def assign_state(updates, values, new_array) -> None:
    """Give each recorded state (``recording_state``'s updates) its concrete value, taken in order
    from ``values`` (a tuple state takes one per item), as new arrays made by ``new_array``: never
    written into the old ones, which may be trainable parameters (a recurrent layer's initial state)."""
    values = iter(values)
    for obj, attr, value, _ in updates:
        new = tuple(new_array(next(values)) for _ in value) if isinstance(value, tuple) else new_array(next(values))
        setattr(obj, attr, new)


def state_parts(value) -> list:
    """(index, part) of a state value: a tuple's items, or the value itself (index None)."""
    return list(enumerate(value)) if isinstance(value, tuple) else [(None, value)]


def state_sources(updates, arrays, params=()) -> list:
    """Where each recorded state's value at trace time went: (position in ``arrays`` — the arrays a
    trace read as inputs — or None, obj, attr, tuple index, the value). A trackable array that is
    neither read nor one of the ``params`` was overwritten before any read: its position is "unread"."""
    def source(part):
        k = next((k for k, a in enumerate(arrays) if a is part), None)
        if k is None and isinstance(part, Trackable) and not any(part is p for p in params):
            return "unread"
        return k
    return [(source(part), obj, attr, i, part) for obj, attr, _, before in updates for i, part in state_parts(before)]


def current_arrays(arrays, sources):
    """``arrays`` (what a trace read) with layer state as it is now; None when the trace no longer
    fits it: the state changed shape or dtype, or state that was not an input is another object."""
    out = list(arrays)
    for k, obj, attr, i, before in sources:
        if k == "unread":
            continue
        value = getattr(obj, attr)
        value = value[i] if i is not None else value
        if k is None:
            if value is not before:
                return None
        elif not isinstance(value, np.ndarray) or value.shape != out[k].shape or value.dtype != out[k].dtype:
            return None
        else:
            out[k] = value
    return out


@contextlib.contextmanager
def tracking(mapping):
    """Within the block, arrays whose id is in ``mapping`` stand for the mapped Tracers
    (``mapping`` may also be an ``InputScope``)."""
    _scopes.append(mapping)
    try:
        yield
    finally:
        _scopes.pop()


class InputScope:
    """A tracking scope that makes every array it is asked about a graph input (how ``compile``
    passes model parameters without copying them: the same arrays are bound at every call)."""

    def __init__(self):
        self.arrays, self.tracers = [], {}

    def get(self, x):
        hit = self.tracers.get(id(x))
        if hit is None:
            hit = Tracer(new_input(x.shape, x.dtype, f"array{len(self.arrays)}"))
            self.tracers[id(x)] = hit
            self.arrays.append(x)
        return hit


def tracked(x):
    """The Tracer standing for array ``x`` in the innermost scope that tracks it, else None."""
    for scope in reversed(_scopes):
        hit = scope.get(x) if isinstance(scope, InputScope) else scope.get(id(x))
        if hit is not None:
            return hit
    return None


def is_traced(x) -> bool:
    if isinstance(x, Tracer):
        return True
    return bool(_scopes) and isinstance(x, Trackable) and tracked(x) is not None


def any_traced(values) -> bool:
    return any(is_traced(v) for v in values)


def is_symbolic(x) -> bool:
    """SymPy values (or arrays holding them) that call for exact evaluation."""
    if isinstance(x, (sympy.Basic, sympy.MatrixBase)):
        return True
    return isinstance(x, np.ndarray) and x.dtype == OBJECT


def operand(x):
    """A graph operand for ``x``: a Node, or a weakly typed SymPy scalar to inline into bodies."""
    if isinstance(x, Tracer):
        if x.node.op == "input":
            used_inputs.add(x.node)
        return x.node
    if isinstance(x, Trackable):
        hit = tracked(x) if _scopes else None
        return operand(hit) if hit is not None else ops.const(x.host_value())
    if isinstance(x, bool):  # weakly typed as a bool (NumPy: bool_array + True is bool)
        return sympy.true if x else sympy.false
    if isinstance(x, (int, float, complex, fractions.Fraction)) and not isinstance(x, np.generic):
        return sympy.sympify(x)
    if isinstance(x, sympy.Expr) and not isinstance(x, sympy.MatrixExpr):
        return x
    if isinstance(x, (sympy.MatrixBase, sympy.MatrixExpr)):
        return ops.const(x)
    if isinstance(x, (np.ndarray, np.generic, list, tuple, numbers.Number)):
        return ops.const(as_numpy(x))
    raise TypeError(f"cannot use a value of type {type(x).__name__} in a traced computation")


def operand_node(x) -> Node:
    """Like ``operand`` but always a Node (weak scalars become 0-d fills; a SymPy expression of
    symbols is an object value, not the integer its symbols would read as in a body)."""
    op = operand(x)
    if isinstance(op, Node):
        return op
    return ops.map_(op, [], shape=(), dtype=OBJECT if isinstance(op, sympy.Basic) and op.free_symbols else None)


def is_dask(x) -> bool:
    """A dask array (recognised without importing dask, which is optional)."""
    return type(x).__module__.startswith("dask.array")


def refuse_dask(x, what: str) -> None:
    """A clear error instead of computing a whole dask array here, silently."""
    if is_dask(x):
        raise TypeError(f"{what} got a dask array: symflux does not compute dask arrays implicitly (that "
                        "would load the whole array here). Compile the function, sf.compile(f), and call it on the "
                        "dask arrays: the result is a lazy dask array computed block by block")


def as_numpy(x) -> np.ndarray:
    """``x`` as a NumPy array; nested lists holding SymPy values become object arrays."""
    refuse_dask(x, "a symflux function")
    arr = np.asarray(x)
    if arr.dtype == OBJECT:
        return arr
    if arr.dtype.kind in "US":
        raise TypeError(f"cannot use strings as numbers: {x!r}")
    return arr

"""The one trace: a Python function run once on graph inputs, under every entry point (gradient and
the transforms, compile, train_step, back, make_graph, layer formulas).

``Trace(f, args)`` replaces the leaves of the arguments (pytrees) by Tracers over fresh ``input``
nodes, optionally tracks implicit parameters (``Params``) and the other arrays ``f`` reads as inputs
too, records the layer state ``f`` assigns (restoring it afterwards: traced values must not outlive
the trace), and flattens the output into nodes.
"""

from __future__ import annotations

import contextlib
import fractions
import inspect

import numpy as np
import sympy

from . import pytree, trace
from .array import Tracer, Trackable
from .functions import shape_of
from .ir import OBJECT, new_input
from .params import Params


class Leaf:
    """One traced argument leaf: its graph input and the value that input is bound to."""

    __slots__ = ("node", "value")

    def __init__(self, value, name):
        self.value = value
        shape, dtype = shape_dtype(value)
        self.node = new_input(shape, dtype, name)


def shape_dtype(value):
    """The shape and dtype of the graph input standing for ``value``."""
    if isinstance(value, Tracer) or isinstance(value, Trackable) and not isinstance(value, np.ndarray):
        return value.shape, value.dtype
    if isinstance(value, sympy.MatrixExpr):
        return shape_of(value), OBJECT
    if isinstance(value, sympy.MatrixBase):
        return value.shape, OBJECT
    if isinstance(value, (sympy.Basic, fractions.Fraction)):
        return (), OBJECT
    if isinstance(value, bool):
        raise TypeError("cannot differentiate with respect to a bool")
    if isinstance(value, int) and not isinstance(value, np.generic):
        return (), np.int64
    if isinstance(value, float) and not isinstance(value, np.generic):
        return (), np.float64
    arr = trace.as_numpy(value)
    if arr.dtype.kind not in "biufcO":
        raise TypeError(f"cannot differentiate with respect to an array of dtype {arr.dtype}")
    return arr.shape, arr.dtype


def _traceable(value) -> bool:
    return isinstance(value, (Tracer, Trackable, int, float, complex, fractions.Fraction, np.ndarray, np.generic,
                              list, sympy.Basic, sympy.MatrixBase)) and not isinstance(value, (bool, str))


def lift(value, name, leaves: list):
    """``value`` (a pytree) with every traceable leaf replaced by a Tracer over a fresh input;
    appends one ``Leaf`` (or None, for a leaf passed as it is) per leaf to ``leaves``."""
    flat, tree = pytree.flatten(value)
    lifted = []
    for k, v in enumerate(flat):
        if isinstance(v, Trackable) and trace._scopes and trace.tracked(v) is not None:
            v = trace.tracked(v)
        if not _traceable(v):
            leaves.append(None)
            lifted.append(v)
            continue
        leaves.append(Leaf(v, name if tree.kind == "leaf" else f"{name}[{k}]"))
        lifted.append(Tracer(leaves[-1].node))
    return pytree.unflatten(tree, lifted)


def arg_names(f, n=None):
    """The names of ``f``'s first ``n`` positional parameters (``argK`` past them); all of them for None."""
    try:
        names = [p.name for p in inspect.signature(f).parameters.values()
                 if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        names = []
    return [names[i] if i < len(names) else f"arg{i}" for i in range(len(names) if n is None else n)]


def _param_leaves(ps: Params):
    """A Leaf per parameter (bound to the outer Tracer when an enclosing trace tracks it)."""
    leaves = []
    for i, p in enumerate(ps):
        outer = trace.tracked(p) if trace._scopes else None
        leaves.append(Leaf(outer if outer is not None else p, f"param{i}"))
    return leaves


class Trace:
    """``f(*args)`` traced once.

    - ``argnums``: the arguments whose leaves become inputs (all by default); the others are passed
      as they are (static arguments, or arguments not differentiated).
    - ``params``: implicit parameters; each stands for a fresh input while ``f`` runs (``param_leaves``).
    - ``read_as_inputs``: any other trackable array ``f`` reads becomes an input too (``arrays``,
      ``array_inputs``), not a constant: compiled code then binds the live arrays at every call.
    - ``differentiating``: training-mode layers (Dropout, BatchNorm statistics) are active.
    - ``concrete``: the inputs stand for the arguments' values while ``f`` runs, so Python control flow
      on a traced integer takes the branch of its value (a gradient taken at numbers, as Zygote's
      ``gradient(pow, 2, 3)``); without it (compile, vmap), and on floats, such control flow raises.
    - ``has_aux``: ``f`` returns (output, aux); ``aux`` is kept apart.

    After the call: ``out`` (the output), ``flat_out``/``out_tree`` (its pytree leaves and shape),
    ``nodes`` (a node per output leaf, None for leaves that are not traced), ``leaves_per_arg``,
    ``leaves`` (the input leaves of the arguments, in order), and ``updates`` — the layer state ``f``
    assigned, as (obj, attr, traced value, value before), already restored.
    """

    def __init__(self, f, args=(), argnums=None, *, params=None, read_as_inputs=False, differentiating=False,
                 concrete=False, has_aux=False, what="trace"):
        self.args = tuple(args)
        self.argnums = tuple(range(len(self.args))) if argnums is None else tuple(argnums)
        names = arg_names(f, len(self.args))
        self.leaves_per_arg = [[] for _ in self.args]
        call_args = [lift(a, names[i], self.leaves_per_arg[i]) if i in self.argnums else a
                     for i, a in enumerate(self.args)]
        self.leaves = [lf for leaves in self.leaves_per_arg for lf in leaves if lf is not None]
        self.param_leaves = _param_leaves(params) if params is not None else []
        mapping = {id(p): Tracer(lf.node) for p, lf in zip(params or (), self.param_leaves)}
        self.scope = trace.InputScope() if read_as_inputs else None
        with contextlib.ExitStack() as stack:
            if differentiating:
                stack.enter_context(trace.differentiating())
            if concrete:
                stack.enter_context(trace.concrete({lf.node: lf.value for lf in self.leaves + self.param_leaves}))
            self.updates = stack.enter_context(trace.recording_state())
            if self.scope is not None:
                stack.enter_context(trace.tracking(self.scope))
            stack.enter_context(trace.tracking(mapping))
            try:
                out = f(*call_args)
            finally:
                trace.restore_state(self.updates)
        if has_aux:
            if not isinstance(out, tuple) or len(out) != 2:
                raise ValueError(f"{what}: with has_aux=True the function must return a pair (output, aux)")
            out, self.aux = out
        self.out = out
        self.flat_out, self.out_tree = pytree.flatten(out)
        self.nodes = [o.node if isinstance(o, Tracer) else None for o in self.flat_out]

    @property
    def arrays(self) -> list:
        """The trackable arrays ``f`` read (with ``read_as_inputs``), in the order of ``array_inputs``."""
        return self.scope.arrays if self.scope is not None else []

    @property
    def array_inputs(self) -> list:
        return [self.scope.tracers[id(a)].node for a in self.arrays]

    def per_argument(self, flat) -> tuple:
        """Per-leaf results (one per traced leaf, in order) rebuilt in the shape of each traced argument,
        None where a leaf was passed as it was."""
        flat = iter(flat)
        results = []
        for i in self.argnums:
            tree = pytree.flatten(self.args[i])[1]
            results.append(pytree.unflatten(tree, [next(flat) if lf is not None else None
                                                   for lf in self.leaves_per_arg[i]]))
        return tuple(results)

    def outputs(self, values):
        """The output pytree with ``values`` for its traced leaves (the others as they were)."""
        values = iter(values)
        return pytree.unflatten(self.out_tree, [next(values) if n is not None else o
                                                for n, o in zip(self.nodes, self.flat_out)])

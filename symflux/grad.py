"""Flux/Zygote's differentiation API on top of the symbolic reverse mode.

``gradient(f, *args)`` traces ``f`` on fresh graph inputs, back-propagates symbolically, fuses the
result, and then either evaluates it (concrete arguments: results follow the inputs' kinds) or,
when called on traced values inside an outer trace, splices the derivative graph into the outer
graph and returns Tracers. That is why nesting works to any order, and why perturbation
confusion cannot happen: each level differentiates with respect to its own input nodes only.
"""

from __future__ import annotations

import fractions
import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import sympy

from . import interp, ops, printing, pytree, trace
from .array import Array, Tracer
from .ir import Node, inputs_of
from .params import Grads, Params
from .simplify import fuse, substitute
from .tracing import Trace
from .vjp import backprop

# -- results → values ---------------------------------------------------------------------------

def _bindings(leaves) -> dict:
    return {leaf.node: leaf.value for leaf in leaves if leaf is not None}


def _python_number(x):
    """Exact SymPy scalars as Python numbers where that loses nothing (integer in → int out)."""
    if isinstance(x, sympy.Integer):
        return int(x)
    if isinstance(x, sympy.Float):
        return float(x)
    return x


def _exact_array(arr: np.ndarray, as_python: bool, dtype: np.dtype):
    """Exact values as an array: integers in ``dtype`` where the graph computes an integer type (int8
    stays int8, wrapping as NumPy's arithmetic wraps), numbers in ``dtype`` where it computes a float
    type (the gradient of a float array beside an integer one), else int64 or float64."""
    if not as_python:
        return arr.view(Array)
    flat = arr.ravel().tolist()
    if dtype.kind == "b" and all(isinstance(v, (sympy.logic.boolalg.BooleanAtom, sympy.Integer)) for v in flat):
        return np.array([bool(v) for v in flat], dtype=bool).reshape(arr.shape).view(Array)
    integers = all(isinstance(v, (int, sympy.Integer)) for v in flat)  # a scatter's zeros are Python ints
    if integers and dtype.kind != "f":
        target = dtype if dtype.kind in "biu" else np.dtype(np.int64)
        bits = np.array([int(v) % 2**64 for v in flat], dtype=np.uint64).reshape(arr.shape)
        return (bits.astype(target) if target.kind != "b" else bits != 0).view(Array)
    if integers or all(isinstance(v, (int, float, sympy.Integer, sympy.Float)) for v in flat):
        return arr.astype(dtype if dtype.kind == "f" else np.float64).view(Array)
    return arr.view(Array)


def _convert(value: np.ndarray, exact: bool, python_numbers: bool, as_matrix: bool, dtype: np.dtype):
    if exact:
        if value.ndim == 0:
            item = value[()]
            return _python_number(item) if python_numbers else item
        if as_matrix and value.ndim <= 2:
            return sympy.Matrix(value.reshape(value.shape[0], -1).tolist())
        return _exact_array(value, python_numbers, dtype)
    if value.ndim == 0:
        item = value[()]
        return float(item) if value.dtype == np.float64 else item
    return np.array(value).view(Array)


def finalize(nodes: list, leaves: list):
    """Tracers (inside an outer trace) or values (otherwise) for result ``nodes`` (None allowed)."""
    present = [n for n in nodes if n is not None]
    fused = iter(fuse(present))
    nodes = [next(fused) if n is not None else None for n in nodes]
    present = [n for n in nodes if n is not None]
    bindings = _bindings(leaves)
    outer = any(isinstance(v, Tracer) for v in bindings.values()) or any(
        leaf not in bindings for leaf in inputs_of(present))
    if outer:
        mapping = {leaf: trace.operand_node(v) for leaf, v in bindings.items()}
        spliced = iter(substitute(present, mapping))
        return [Tracer(next(spliced)) if n is not None else None for n in nodes]
    values = list(bindings.values())
    if any(isinstance(v, sympy.MatrixExpr) for v in values):
        results = iter(printing.formulas(present, bindings))
        return [next(results) if n is not None else None for n in nodes]
    exact = any(map(trace.is_exact_value, values))
    python_numbers = not any(trace.is_symbolic(v) for v in values)
    as_matrix = any(isinstance(v, sympy.MatrixBase) for v in values)
    evaluated = iter(interp.evaluate(present, bindings, exact=exact))
    return [_convert(next(evaluated), exact, python_numbers, as_matrix, n.dtype) if n is not None else None
            for n in nodes]


def finalize_with_aux(nodes: list, aux, leaves: list) -> tuple[list, Any]:
    """``finalize(nodes, leaves)``, and the pytree ``aux`` with its Tracers finalized alongside."""
    aux_flat, aux_tree = pytree.flatten(aux)
    traced = [a.node for a in aux_flat if isinstance(a, Tracer)]
    results = finalize(list(nodes) + traced, leaves)
    finalized = iter(results[len(nodes):])
    aux = pytree.unflatten(aux_tree, [next(finalized) if isinstance(a, Tracer) else a for a in aux_flat])
    return results[:len(nodes)], aux


# -- the transforms ------------------------------------------------------------------------------

def _scalar_output(out, what: str) -> Node | None:
    """The output node, checked to be a scalar (a size-1 array counts, as in autograd: it is read as
    its one element); None when the output does not depend on inputs."""
    if isinstance(out, (tuple, list, dict)):
        raise ValueError(f"{what}: the function must return a scalar, but it returned a {type(out).__name__}. "
                         "Return one value (a loss), or use sf.jacobian for several outputs.")
    shape = out.shape if isinstance(out, Tracer) else np.shape(out) if not isinstance(
        out, (sympy.Basic, sympy.MatrixBase)) else getattr(out, "shape", ())
    if tuple(shape) != () and all(ops.dims_equal(d, 1) for d in shape) and isinstance(out, Tracer):
        return ops.reshape(out.node, ())
    if tuple(shape) != ():
        raise ValueError(
            f"{what}: the function must return a scalar, but it returned an array of shape "
            f"{ops.fmt_shape(tuple(shape))}. Reduce it first (e.g. sf.sum or sf.mean), or use "
            "sf.jacobian for vector-valued functions.")
    return out.node if isinstance(out, Tracer) else None


def _differentiate(node: Node, wrt: list[Node]) -> tuple[Node, list]:
    """Back-propagate from scalar ``node``. The forward graph is fused first, so each elementwise
    region is differentiated as one SymPy body (exactly ``sympy.diff``), not op by op."""
    node = fuse([node])[0]
    return node, _zeros_if_used(backprop([node], [_seed(node)], wrt), wrt)


def _zeros_if_used(grads, wrt):
    """Zeros for inputs the function used but whose derivative vanished; None for unused ones, and for
    ones only its control flow read (Zygote: ``gradient(pow, 2, 3) == (12, nothing)``)."""
    used = lambda w: w in trace.used_inputs and w not in trace.control_inputs
    return [g if g is not None or not used(w) else ops.fill(0, w.shape, w.dtype) for g, w in zip(grads, wrt)]


def _seed(node: Node) -> Node:
    return ops.fill(1, (), node.dtype if node.dtype.kind in "fcO" else np.int64)


def _value_and_grads(f, args, argnums, what, has_aux=False):
    """(value, per-arg gradients) with results — and layer state updates — finalized together;
    with ``has_aux`` f returns (value, aux) and the value returned is that pair."""
    implicit = len(args) == 1 and isinstance(args[0], Params)
    t = Trace(f, () if implicit else args, argnums, params=args[0] if implicit else None, differentiating=True,
              concrete=True, has_aux=has_aux, what=what)
    value, gs, state, aux = _finish(t.out, t.param_leaves if implicit else t.leaves, t.updates, what,
                                    t.aux if has_aux else None)
    apply_state(state)
    value = (value, aux) if has_aux else value
    if implicit:
        return value, Grads(args[0], gs)
    grads = [None] * len(args)
    for i, g in zip(t.argnums, t.per_argument(gs)):
        grads[i] = g
    return value, printing.Gradients(grads)


def apply_state(assignments):
    """Give layer state its evaluated values. Called after the gradient's scope is closed, so a
    value that is still traced (a nested gradient) is recorded by the enclosing one."""
    for obj, attr, value in assignments:
        trace.set_state(obj, attr, value)


def _finish(out, leaves, updates, what, aux=None):
    """Differentiate ``out`` with respect to ``leaves``; evaluate value, gradients, state updates and
    the pytree ``aux``. Returns (value, gradients, state assignments to make with ``apply_state``, aux)."""
    node = _scalar_output(out, what)
    wrt = [lf.node for lf in leaves]
    node, grads = _differentiate(node, wrt) if node else (None, _zeros_if_used([None] * len(wrt), wrt))
    state = [trace.operand_node(v) for _, _, value, _ in updates
             for v in (value if isinstance(value, tuple) else (value,))]
    results, aux = finalize_with_aux([node, *grads, *state], aux, leaves)
    value = results[0] if node is not None else out
    new_state = iter(results[1 + len(grads):])
    assignments = [(obj, attr, tuple(next(new_state) for _ in old) if isinstance(old, tuple) else next(new_state))
                   for obj, attr, old, _ in updates]
    return value, results[1:1 + len(grads)], assignments, aux


def gradient(f: Callable[..., Any], *args: Any) -> tuple | Grads:
    """gradient(f, args...) -> tuple: ∂f/∂arg for each argument (None where f does not depend on it).

    ``gradient(f, params(...))`` (one ``Params`` argument, ``f`` taking no arguments) returns
    ``Grads`` indexed by parameter. ``f`` must return a scalar. Results follow the inputs: SymPy in,
    SymPy out; Python ints/rationals in, exact numbers out; float arrays in, arrays of that dtype out.
    """
    return _value_and_grads(f, args, range(len(args)), "gradient")[1]


def value_and_gradient(f: Callable[..., Any], *args: Any) -> tuple:
    """value_and_gradient(f, args...) -> (f(args...), gradient(f, args...))."""
    return _value_and_grads(f, args, range(len(args)), "value_and_gradient")


def value_and_grad(f: Callable[..., Any], argnums: int | tuple[int, ...] = 0,
                   has_aux: bool = False, holomorphic: bool = False) -> Callable[..., Any]:
    """JAX's value_and_grad: a function returning (f(args), ∂f/∂args[argnums]) — the gradient a
    tuple when argnums is a tuple; with ``has_aux`` f returns (value, aux) and so does the first item.
    A complex f's derivative is its complex one (``holomorphic`` is accepted for JAX's signature)."""
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)

    def value_and_gradient_of_f(*args, **kwargs):
        n = len(args)
        for a in nums:
            if not -n <= a < n:
                raise ValueError(f"argnums {argnums} out of range for {n} arguments")
        g = functools.partial(f, **kwargs) if kwargs else f  # keyword arguments are not differentiated (JAX)
        value, grads = _value_and_grads(g, args, [a % n for a in nums], "grad", has_aux)
        grads = [_zeros_where_unused(grads[i], args[i]) if i in [a % n for a in nums] else None for i in range(n)]
        return value, grads[argnums % n] if isinstance(argnums, int) else tuple(grads[a % n] for a in nums)

    value_and_gradient_of_f.__name__ = f"value_and_grad({getattr(f, '__name__', 'f')})"
    return value_and_gradient_of_f


def _zeros_where_unused(grad, arg):
    """JAX's gradient for the leaves of ``arg`` that f does not read: zeros like them (Flux's
    ``gradient`` says None there)."""
    leaves, tree = pytree.flatten(arg)
    return pytree.unflatten(tree, [g if g is not None else _zero_like(a)
                                   for g, a in zip(pytree.flatten_like(tree, grad), leaves)])


def _zero_like(value):
    if isinstance(value, (sympy.Basic, sympy.MatrixBase)):
        return value * 0 if isinstance(value, sympy.MatrixBase) else sympy.S.Zero
    if isinstance(value, (int, float, complex, fractions.Fraction)) and not isinstance(value, bool):
        return type(value)(0)
    if isinstance(value, (Tracer, np.ndarray, np.generic, list)):
        dtype = value.dtype if isinstance(value, Tracer) else np.asarray(value).dtype
        zeros = np.zeros(np.shape(value) if not isinstance(value, Tracer) else value.shape,
                         dtype if dtype.kind in "fcO" else np.float64)
        return zeros.view(Array) if zeros.ndim else zeros[()]
    return None  # not a number (a function, a string): nothing to differentiate


def grad(f: Callable[..., Any], argnums: int | tuple[int, ...] = 0, has_aux: bool = False,
         holomorphic: bool = False) -> Callable[..., Any]:
    """JAX-style grad: a function returning ∂f/∂args[argnums] (a tuple when argnums is a tuple; zeros
    for what f does not use); with ``has_aux`` f returns (value, aux) and the function returns (gradient, aux)."""
    both = value_and_grad(f, argnums, has_aux)

    def gradient_of_f(*args, **kwargs):
        value, grads = both(*args, **kwargs)
        return (grads, value[1]) if has_aux else grads

    gradient_of_f.__name__ = f"grad({getattr(f, '__name__', 'f')})"
    return gradient_of_f

"""JAX's transformations on symflux's graph: jvp, vjp, vmap, jacfwd, jacrev, jacobian, hessian, hvp.

Each traces the function once on fresh graph inputs, rewrites the graph (``jvp.push_forward``,
``vjp.backprop``, ``batching.batch``) and finalizes the result like ``gradient`` does: values for
concrete arguments, Tracers inside an outer trace, so every transform composes with every other.
Jacobians are batches of one-hot tangents or cotangents: the graph does not grow with the sizes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from . import ops, pytree
from .array import Tracer
from .batching import batch, move_axis, one_hot_rows
from .grad import finalize, finalize_with_aux
from .ir import Node, new_input, size_of
from .jvp import push_forward
from .simplify import fuse, substitute
from .tracing import Leaf, Trace
from .vjp import backprop

# -- tracing on pytrees -----------------------------------------------------------------------


def _traced(f, args, argnums, has_aux=False, what="transform") -> Trace:
    """``f`` traced for a transform: training-mode layers are active, as under ``gradient``, but
    layer state is left as it was (these transforms are pure, as in JAX); output nodes fused."""
    t = Trace(f, args, argnums, differentiating=True, concrete=True, has_aux=has_aux, what=what)
    fused = iter(fuse([n for n in t.nodes if n is not None]))
    t.nodes = [next(fused) if n is not None else None for n in t.nodes]
    return t


def _argnums(argnums, n):
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for a in nums:
        if not -n <= a < n:
            raise ValueError(f"argnums {argnums} out of range for {n} arguments")
    return tuple(a % n for a in nums)


def _zeros(node: Node) -> Node:
    return ops.fill(0, node.shape, node.dtype)


def _tangent_dtype(dtype):
    return dtype if dtype.kind in "fcO" else np.dtype(np.float64)


def _zeros_like(value):
    arr = np.asarray(value)
    return np.zeros(arr.shape, _tangent_dtype(arr.dtype))


def _leaf_for(value, like: Leaf, name: str, what: str) -> Leaf:
    """A graph input for a tangent or cotangent of ``like``'s shape."""
    leaf = Leaf(value, name)
    if tuple(leaf.node.shape) != tuple(like.node.shape):
        raise ValueError(f"{what}: {name} has shape {ops.fmt_shape(leaf.node.shape)} but must have "
                         f"the shape of its primal, {ops.fmt_shape(like.node.shape)}")
    return leaf


# -- forward and reverse mode -----------------------------------------------------------------

def jvp(f: Callable[..., Any], primals, tangents) -> tuple:
    """jvp(f, primals, tangents) -> (f(*primals), J·tangents), both shaped like f's output.

    ``primals`` and ``tangents`` are tuples of pytrees of the same structure and shapes."""
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    call = _traced(f, primals, range(len(primals)), what="jvp")
    flat_tangents = [t for tan in tangents for t in pytree.flatten(tan)[0]]
    all_leaves = [lf for ls in call.leaves_per_arg for lf in ls]
    if len(flat_tangents) != len(all_leaves):
        raise ValueError("jvp: tangents must have the same structure as primals")
    tangent_leaves = [_leaf_for(t, lf, f"tangent of {lf.node.attrs[1]}", "jvp")
                      for lf, t in zip(all_leaves, flat_tangents) if lf is not None]
    out_tangents = push_forward([n for n in call.nodes if n is not None],
                                {lf.node: tl.node for lf, tl in zip(call.leaves, tangent_leaves)})
    present = [n for n in call.nodes if n is not None]
    out_tangents = [t if t is not None else _zeros(n) for t, n in zip(out_tangents, present)]
    values = finalize(present + out_tangents, call.leaves + tangent_leaves)
    k = len(present)
    tangent_values = iter(values[k:])
    tangent_out = [next(tangent_values) if n is not None else _zeros_like(o)
                   for n, o in zip(call.nodes, call.flat_out)]
    return call.outputs(values[:k]), pytree.unflatten(call.out_tree, tangent_out)


def linearize(f: Callable[..., Any], *primals: Any) -> tuple:
    """linearize(f, *primals) -> (f(*primals), f_jvp): ``f_jvp(*tangents)`` is J·tangents at the
    primals (JAX's; each call is a ``jvp``)."""
    out = jvp(f, primals, primals)[0]  # traced as f_jvp traces it (training-mode layers active); any tangent does
    return out, lambda *tangents: jvp(f, primals, tangents)[1]


def vjp(f: Callable[..., Any], *primals: Any, has_aux: bool = False) -> tuple:
    """vjp(f, *primals) -> (f(*primals), vjp_fn): ``vjp_fn(cotangent)`` returns one cotangent per
    primal (shaped like it). With ``has_aux`` f returns (output, aux) and vjp returns a triple."""
    call = _traced(f, primals, range(len(primals)), has_aux, "vjp")
    present = [n for n in call.nodes if n is not None]
    values, aux = finalize_with_aux(present, call.aux if has_aux else None, call.leaves)
    out = call.outputs(values)
    wrt = [lf.node for lf in call.leaves]

    def vjp_fn(cotangent):
        flat = pytree.flatten(cotangent)[0]
        if len(flat) != len(call.nodes):
            raise ValueError(f"vjp_fn: the cotangent must have the structure of the output ({call.out_tree})")
        pairs = [(n, Leaf(c, f"cotangent {k}")) for k, (n, c) in enumerate(zip(call.nodes, flat)) if n is not None]
        for n, leaf in pairs:
            if tuple(leaf.node.shape) != tuple(n.shape):
                raise ValueError(f"vjp_fn: cotangent of shape {ops.fmt_shape(leaf.node.shape)} for an output "
                                 f"of shape {ops.fmt_shape(n.shape)}")
        grads = backprop([n for n, _ in pairs], [lf.node for _, lf in pairs], wrt) if pairs else [None] * len(wrt)
        grads = [g if g is not None else _zeros(w) for g, w in zip(grads, wrt)]
        return call.per_argument(finalize(grads, call.leaves + [lf for _, lf in pairs]))

    if has_aux:
        return out, vjp_fn, aux
    return out, vjp_fn


# -- batching -----------------------------------------------------------------------------------

def _axes_per_leaf(axes, value, what):
    """in_axes/out_axes as one axis per leaf of ``value``: ``axes`` is an int or None for all of it,
    or a container like ``value`` (a tuple or list with one entry per element, a dict with its keys)
    holding them, down to any depth (JAX's prefix trees)."""
    if axes is None or isinstance(axes, int):
        return [axes] * pytree.flatten(value)[1].num_leaves
    if isinstance(axes, (tuple, list)) and isinstance(value, (tuple, list)):
        if len(axes) != len(value):
            raise ValueError(f"{what} has {len(axes)} entries for {len(value)} values")
        return [a for ax, v in zip(axes, value) for a in _axes_per_leaf(ax, v, what)]
    if isinstance(axes, dict) and isinstance(value, dict):
        if set(axes) != set(value):
            raise ValueError(f"{what}: the keys {sorted(map(str, axes))} are not the value's {sorted(map(str, value))}")
        return [a for k, v in value.items() for a in _axes_per_leaf(axes[k], v, what)]
    raise ValueError(f"{what}: {axes!r} does not match a value of type {type(value).__name__} (give an int, None, "
                     "or a tuple, list or dict shaped like the value)")


def _moved_to_front(value, axis):
    if isinstance(value, Tracer):
        return Tracer(move_axis(value.node, axis, 0))
    return np.moveaxis(np.asarray(value), axis, 0)


def vmap(f: Callable[..., Any], in_axes=0, out_axes=0, axis_size: int | None = None) -> Callable[..., Any]:
    """vmap(f, in_axes=0, out_axes=0, axis_size=None): f mapped over an axis of its arguments, as one graph.

    ``in_axes`` is an int (every argument's axis), None (not mapped), or a tuple with one entry per
    argument (an int, None, or a pytree of them). The result stacks f's outputs along ``out_axes``;
    ``axis_size`` says how many when no argument is mapped (JAX's)."""

    def batched(*args, **kwargs):
        if kwargs:  # mapped over axis 0, as in JAX: one more argument, a dict
            per_arg = tuple(in_axes) if isinstance(in_axes, (list, tuple)) else (in_axes,) * len(args)
            return vmap(lambda *a: f(*a[:-1], **a[-1]), per_arg + (0,), out_axes, axis_size)(*args, kwargs)
        flat_args, in_tree = pytree.flatten(args)
        axes = _axes_per_leaf(tuple(in_axes) if isinstance(in_axes, list) else in_axes, args, "vmap: in_axes")
        sizes = {np.shape(a)[ax] if not isinstance(a, Tracer) else a.shape[ax]
                 for a, ax in zip(flat_args, axes) if ax is not None}
        sizes |= {axis_size} if axis_size is not None else set()
        if len(sizes) != 1:
            raise ValueError("vmap: " + ("no argument is mapped (every in_axes is None)" if not sizes else
                             f"mapped axes have different sizes {sorted(sizes)}"))
        size = sizes.pop()
        per_example, mapping, leaves = [], {}, []
        for a, ax in zip(flat_args, axes):
            if ax is None:
                per_example.append(a)
                continue
            front = _moved_to_front(a, ax % np.ndim(a) if not isinstance(a, Tracer) else ax % a.ndim)
            leaf = Leaf(front, "batch")
            element = new_input(leaf.node.shape[1:], leaf.node.dtype, "element")
            mapping[element] = leaf.node
            leaves.append(leaf)
            per_example.append(Tracer(element))
        t = Trace(f, pytree.unflatten(in_tree, per_example), argnums=())
        out, flat_out, out_tree = t.out, t.flat_out, t.out_tree
        nodes = [o.node if isinstance(o, Tracer) else ops.const(np.asarray(o)) for o in flat_out]
        outs = batch(nodes, mapping, size)
        out_axes_flat = _axes_per_leaf(out_axes, out, "vmap: out_axes")
        placed = []
        for node, o, ax in zip(outs, nodes, out_axes_flat):
            if ax is None:
                placed.append(o)
            else:
                placed.append(move_axis(node, 0, ax % node.ndim))
        return pytree.unflatten(out_tree, finalize(placed, leaves))

    batched.__name__ = f"vmap({getattr(f, '__name__', 'f')})"
    return batched


# -- Jacobians ----------------------------------------------------------------------------------

def _seed_dtype(node: Node):
    """One-hot seeds keep integer graphs integral, so exact inputs give exact Jacobians."""
    return node.dtype if node.dtype.kind in "fcO" else np.dtype(np.int64)


def _jacrev_nodes(out: Node, wrt: list[Node]) -> list[Node | None]:
    """∂out/∂w for each w, shape out.shape + w.shape: a batch of one-hot cotangents of ``out``."""
    dtype = _seed_dtype(out)
    size = size_of(out.shape)
    if size == 1:
        grads = backprop([out], [ops.fill(1, out.shape, dtype)], wrt)
        return [ops.reshape(g, out.shape + w.shape) if g is not None else None for g, w in zip(grads, wrt)]
    cotangent = new_input(out.shape, dtype, "cotangent")
    grads = backprop([out], [cotangent], wrt)
    present = [g for g in grads if g is not None]
    rows = iter(batch(present, {cotangent: one_hot_rows(out.shape, dtype)}, size))
    return [ops.reshape(next(rows), out.shape + w.shape) if g is not None else None for g, w in zip(grads, wrt)]


def _jacfwd_nodes(out: Node, wrt: list[Node]) -> list[Node | None]:
    """∂out/∂w for each w, shape out.shape + w.shape: a batch of one-hot tangents of ``w``."""
    jac = []
    for w in wrt:
        dtype = _seed_dtype(w)
        tangent = new_input(w.shape, dtype, "tangent")
        (t,) = push_forward([out], {w: tangent})
        size = size_of(w.shape)
        if t is None:
            jac.append(None)
        elif size == 1:
            jac.append(ops.reshape(substitute([t], {tangent: ops.fill(1, w.shape, dtype)})[0], out.shape + w.shape))
        else:
            (columns,) = batch([t], {tangent: one_hot_rows(w.shape, dtype)}, size)
            jac.append(ops.reshape(move_axis(columns, 0, out.ndim), out.shape + w.shape))
    return jac


def _jacobian(f, argnums, has_aux, nodes_of, what):
    def jacobian_of_f(*args, **kwargs):
        nums = _argnums(argnums, len(args))
        call = _traced(functools.partial(f, **kwargs) if kwargs else f, args, nums, has_aux, what)
        wrt = [lf.node for lf in call.leaves]
        blocks = []
        for n, o in zip(call.nodes, call.flat_out):
            if n is None:
                n = ops.const(np.asarray(o))
            blocks.append([j if j is not None else ops.fill(0, n.shape + w.shape, _seed_dtype(n))
                           for j, w in zip(nodes_of(n, wrt), wrt)])
        values, aux = finalize_with_aux([j for row in blocks for j in row], call.aux if has_aux else None, call.leaves)
        values = iter(values)
        per_output = []
        for _ in blocks:
            by_arg = call.per_argument([next(values) for _ in wrt])
            per_output.append(by_arg[0] if isinstance(argnums, int) else by_arg)
        jac = pytree.unflatten(call.out_tree, per_output)
        return (jac, aux) if has_aux else jac

    jacobian_of_f.__name__ = f"{what}({getattr(f, '__name__', 'f')})"
    return jacobian_of_f


def jacrev(f: Callable[..., Any], argnums: int | tuple[int, ...] = 0, has_aux: bool = False,
           holomorphic: bool = False) -> Callable[..., Any]:
    """JAX's jacrev: a function returning ∂f/∂args[argnums] by reverse mode (batched cotangents).
    Each Jacobian has shape ``out.shape + arg.shape``; outputs and arguments may be pytrees. A complex
    function's Jacobian is its complex derivative (``holomorphic`` is accepted for JAX's signature)."""
    return _jacobian(f, argnums, has_aux, _jacrev_nodes, "jacrev")


def jacfwd(f: Callable[..., Any], argnums: int | tuple[int, ...] = 0, has_aux: bool = False,
           holomorphic: bool = False) -> Callable[..., Any]:
    """JAX's jacfwd: like ``jacrev`` but by forward mode (batched tangents); cheaper for wide outputs."""
    return _jacobian(f, argnums, has_aux, _jacfwd_nodes, "jacfwd")


def jacobian(f: Callable[..., Any], *args: Any) -> Any:
    """jacobian(f, args...) -> tuple (Zygote): J[i] has shape f(args).shape + args[i].shape, None for
    an argument f does not use. ``jacobian(f)`` alone is JAX's ``jacrev(f)``."""
    if not args:
        return jacrev(f)
    call = _traced(f, args, range(len(args)), what="jacobian")
    if len(call.nodes) != 1:
        raise ValueError("jacobian: the function must return one array (use sf.jacrev for pytree outputs)")
    wrt = [lf.node for lf in call.leaves]
    out = call.nodes[0]
    jac = _jacrev_nodes(out, wrt) if out is not None else [None] * len(wrt)
    present = [j for j in jac if j is not None]
    values = iter(finalize(present, call.leaves))
    return call.per_argument([next(values) if j is not None else None for j in jac])


def hessian(f: Callable[..., Any], *args: Any, argnums: int | tuple[int, ...] = 0) -> Any:
    """hessian(f, x): the second derivatives of scalar f, shape x.shape + x.shape, as forward over
    reverse mode. ``hessian(f)`` alone (or with ``argnums``) is JAX's: a function of the arguments."""
    transform = jacfwd(jacrev(f, argnums), argnums)
    return transform(*args) if args else transform


def hvp(f: Callable[..., Any], x: Any, v: Any) -> Any:
    """hvp(f, x, v) = ∇²f(x)·v, forward mode over the gradient (no Hessian is formed)."""
    return jvp(jacrev(f), (x,), (v,))[1]

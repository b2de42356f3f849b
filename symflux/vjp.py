"""Symbolic reverse mode: one VJP rule per op, each written with graph ops.

A rule ``rule(node, g, i)`` returns the cotangent of ``node.args[i]`` given the cotangent ``g`` of
``node`` (or ``None`` for "no contribution"). Because rules build ordinary graph nodes, the result
of ``backprop`` can itself be differentiated: nested gradients work by construction.
"""

from __future__ import annotations

import numpy as np
import sympy

from codegen.kernel import dag_size

from . import contract, derived, fft_ops, linalg_ops, ops
from . import functions as fn
from .ir import ARG, Node, arg_symbol, toposort


def unbroadcast(g: Node, shape) -> Node:
    """Sum ``g`` over the axes that broadcasting added to an operand of ``shape``."""
    lead = g.ndim - len(shape)
    axes = list(range(lead)) + [
        lead + i for i, d in enumerate(shape) if ops.dims_equal(d, 1) and not ops.dims_equal(g.shape[lead + i], 1)]
    return ops.reshape(ops.reduce("sum", g, axes), shape)


def partial_derivative(body: sympy.Expr, sym: sympy.Symbol, out_sym: sympy.Symbol) -> sympy.Expr:
    """∂body/∂sym for a backward body. Where the derivative mentions the body itself it is
    written in terms of ``out_sym`` (the forward output: σ' = σ(1−σ), exp' = exp). Where carrying
    it out would make the body grow it stays an unevaluated ``Derivative``: nested gradients then
    merge into ``Derivative(body, (x, k))``, which SymPy evaluates once with its n-fold rules
    (Leibniz, Faà di Bruno) instead of k single steps that swell."""
    if body.has(sympy.Derivative):
        return sympy.Derivative(body, sym)
    if not derived.costly(body):
        return _partial(body, sym, out_sym)
    return derived.kept("partial", (body, sym, out_sym), lambda: _partial(body, sym, out_sym))


def _partial(body, sym, out_sym):
    eager = fn.carried_out(sympy.Derivative(body, sym))
    if eager == 0:
        return eager
    reused = eager.xreplace({body: out_sym}) if not body.is_Symbol else eager
    if reused != eager:
        return reused
    if dag_size(eager) <= dag_size(body):
        return eager
    return sympy.Derivative(body, sym)


def vjp_map(node: Node, g: Node, i: int):
    n = len(node.args)
    grad_sym, out_sym = arg_symbol(n), arg_symbol(n + 1)
    dtype = None
    if node.args[i].dtype.kind == "c":  # JAX's convention: g·∂f/∂z + conj(g)·conj(∂f/∂z̄)
        dz, dzbar = wirtinger(node.body, ARG[i], out_sym, complex_symbols(node, out_sym))
        body = grad_sym * dz + (fn.conj(grad_sym) * fn.conj(dzbar) if dzbar != 0 else 0)
    else:
        partial = real_partial(node.body, ARG[i], out_sym, complex_symbols(node, out_sym))
        body = grad_sym * partial
        if partial != 0 and (node.dtype.kind == "c" or g.dtype.kind == "c"):
            body = fn.real_part(body)  # a real input's cotangent is real (JAX), even folded to a number
            dtype = np.empty(0, np.result_type(node.dtype, g.dtype)).real.dtype
    if body == 0:
        return None
    contribution = ops.map_(body, [*node.args, g, node], dtype=dtype)
    return unbroadcast(contribution, node.args[i].shape)


def complex_symbols(node: Node, out: sympy.Symbol) -> set:
    """The symbols of ``node``'s body (and its output ``out``) that hold complex values."""
    held = {ARG[j] for j, a in enumerate(node.args) if a.dtype.kind == "c"}
    return held | ({out} if node.dtype.kind == "c" else set())


def real_partial(body: sympy.Expr, x: sympy.Symbol, out: sympy.Symbol, complex_symbols=()) -> sympy.Expr:
    """∂body/∂x for a real ``x``; through conj, real, imag and angle (of complex values elsewhere in
    the body) it is ∂f/∂z + ∂f/∂z̄ on the real axis."""
    if not any(body.has(f) for f in fn.OF_COMPLEX):
        return partial_derivative(body, x, out)
    return sum(wirtinger(body, x, out, complex_symbols), sympy.Integer(0))


def wirtinger(body: sympy.Expr, z: sympy.Symbol, out: sympy.Symbol, complex_symbols=()):
    """(∂f/∂z, ∂f/∂z̄) of a body of complex ``z``: (f'(z), 0) for holomorphic bodies; |z|, real, imag,
    conj and angle of z by their partials (``functions.WIRTINGER``); any other body (a derivative's
    body, say) by Wirtinger calculus: each complex symbol s becomes two independent variables s and
    s̄, conj(e) swaps them, |e| = √(e·ē), real, imag and angle likewise, and the partials are
    ordinary ones. ``complex_symbols``: the body's symbols that hold complex values."""
    if not any(body.has(f) for f in fn.WIRTINGER):
        return partial_derivative(body, z, out), sympy.Integer(0)
    if type(body) in fn.WIRTINGER and body.args == (z,):
        return fn.WIRTINGER[type(body)](z)
    pairs = {s: (sympy.Symbol(s.name + "_z"), sympy.Symbol(s.name + "_zbar")) for s in {z, *complex_symbols}}
    swap = {v: w for a, b in pairs.values() for v, w in ((a, b), (b, a))} | {sympy.I: -sympy.I}
    bar = lambda e: e.xreplace(swap)
    rules = {fn.conj: lambda e: bar(e), sympy.Abs: lambda e: sympy.sqrt(e * bar(e)),
             fn.real_part: lambda e: (e + bar(e)) / 2, fn.imag_part: lambda e: (e - bar(e)) / (2 * sympy.I),
             fn.angle: lambda e: (sympy.log(e) - sympy.log(bar(e))) / (2 * sympy.I)}
    holds_complex = lambda e: bool(e.free_symbols & set(swap))

    def rewrite(e):
        if e in pairs:
            return pairs[e][0]
        if not e.args:
            return e
        args = [rewrite(a) for a in e.args]
        if type(e) in rules and holds_complex(args[0]):
            return rules[type(e)](args[0])
        return e.func(*args)
    split = rewrite(body)
    back = {v: w for s, (a, b) in pairs.items() for v, w in ((a, s), (b, fn.conj(s)))}
    variable, conjugate = pairs[z]
    return tuple(fn.almost_everywhere(sympy.diff(split, v)).xreplace(back) for v in (variable, conjugate))


def vjp_sum(node: Node, g: Node, i: int):
    x = node.args[0]
    keep = tuple(1 if a in node.attrs[0] else d for a, d in enumerate(x.shape))
    return ops.expand(ops.reshape(g, keep), x.shape)


def vjp_extremum(node: Node, g: Node, i: int):
    """Ties share the cotangent equally (as torch.amax and jax.numpy.max do)."""
    keep = tuple(1 if a in node.attrs[0] else d for a, d in enumerate(node.args[0].shape))
    is_max = ops.extremum_mask(node, g.dtype)
    share = ops.map_(ARG[0] / ARG[1], [g, ops.reduce("sum", is_max, node.attrs[0])])
    return ops.map_(ARG[0] * ARG[1], [is_max, ops.reshape(share, keep)])


def vjp_einsum(node: Node, g: Node, i: int):
    sa, sb, so = contract.parse_spec(node.attrs[0])
    a, b = node.args
    if i == 0:
        return contract.einsum(f"{so},{sb}->{sa}", g, b)
    return contract.einsum(f"{sa},{so}->{sb}", a, g)


def vjp_concat(node: Node, g: Node, i: int):
    axis = node.attrs[0]
    start = sum(a.shape[axis] for a in node.args[:i])
    stop = start + node.args[i].shape[axis]
    slices = [(0, d, 1) for d in g.shape]
    slices[axis] = (start, stop, 1)
    return ops.slice_(g, slices)


RULES = {
    "map": vjp_map,
    "sum": vjp_sum,
    "max": vjp_extremum,
    "min": vjp_extremum,
    "einsum": vjp_einsum,
    "detach": lambda n, g, i: None,
    "reshape": lambda n, g, i: ops.reshape(g, n.args[0].shape),
    "permute": lambda n, g, i: ops.permute(g, np.argsort(n.attrs[0])),
    "expand": lambda n, g, i: unbroadcast(g, n.args[0].shape),
    "slice": lambda n, g, i: ops.unslice(g, n.args[0].shape, n.attrs[0]),
    "unslice": lambda n, g, i: ops.slice_(g, n.attrs[0]),
    "take": lambda n, g, i: ops.scatter_add(g, n.args[1], n.attrs[0], n.args[0].shape[n.attrs[0]]) if i == 0 else None,
    "scatter_add": lambda n, g, i: ops.take(g, n.args[1], n.attrs[0]) if i == 0 else None,
    "concat": vjp_concat,
    "unfold": lambda n, g, i: ops.fold(g, n.args[0].shape[2:], *n.attrs[:4]),
    "fold": lambda n, g, i: ops.unfold(g, *n.attrs[1:], pad_value=0),
    "linalg": linalg_ops.vjp,
    "fft": fft_ops.vjp,
}


def add(a: Node | None, b: Node | None) -> Node | None:
    if a is None:
        return b
    if b is None:
        return a
    return ops.map_(ARG[0] + ARG[1], [a, b])


def backprop(outputs, cotangents, wrt) -> list[Node | None]:
    """Cotangents of the ``wrt`` nodes, given cotangents of ``outputs``; None where unreached."""
    order = toposort(outputs)
    wanted = {id(w) for w in wrt}
    depends = set()
    for node in order:
        if id(node) in wanted or any(id(a) in depends for a in node.args):
            depends.add(id(node))
    grads: dict[int, Node] = {}
    for out, ct in zip(outputs, cotangents):
        grads[id(out)] = add(grads.get(id(out)), ct)
    for node in reversed(order):
        g = grads.get(id(node))
        if g is None or not node.args:
            continue
        for i, arg in enumerate(node.args):
            if id(arg) in depends:
                grads[id(arg)] = add(grads.get(id(arg)), RULES[node.op](node, g, i))
    return [_in_precision_of(grads.get(id(w)), w) for w in wrt]


def _in_precision_of(g: Node | None, w: Node) -> Node | None:
    """A float input's cotangent in the input's precision (float32 in, float32 gradient out, as JAX
    and PyTorch give), where it met wider values on its way (a float32 times a float64)."""
    if g is None or g.dtype == w.dtype or g.dtype.kind != w.dtype.kind or w.dtype.kind not in "fc":
        return g
    return ops.cast(g, w.dtype)

"""Symbolic forward mode: one JVP rule per op, beside the VJP rules of ``vjp``.

A rule ``rule(node, tangents)`` returns the tangent of ``node`` given its arguments' tangents
(``None`` for an argument that carries none). Elementwise bodies are differentiated by SymPy as in
reverse mode; every other op is linear or bilinear, so its tangent is the op applied to tangents.
"""

from __future__ import annotations

import sympy

from . import contract, fft_ops, linalg_ops, ops
from . import functions as fn
from .ir import ARG, Node, arg_symbol, toposort
from .vjp import add, complex_symbols, real_partial, wirtinger


def jvp_map(node: Node, tangents):
    """Σᵢ ∂body/∂argᵢ · tᵢ as one elementwise body (the output reused as in reverse mode); for a
    complex argument ∂f/∂z · t + ∂f/∂z̄ · conj(t)."""
    n = len(node.args)
    out_sym = arg_symbol(n)
    present = [(i, t) for i, t in enumerate(tangents) if t is not None]
    body = sympy.Integer(0)
    for k, (i, _) in enumerate(present):
        t = arg_symbol(n + 1 + k)
        if node.args[i].dtype.kind == "c":
            dz, dzbar = wirtinger(node.body, ARG[i], out_sym, complex_symbols(node, out_sym))
            body += t * dz + (fn.conj(t) * dzbar if dzbar != 0 else 0)
        else:
            body += t * real_partial(node.body, ARG[i], out_sym, complex_symbols(node, out_sym))
    if body == 0:
        return None
    if node.dtype.kind != "c" and any(node.args[i].dtype.kind == "c" for i, _ in present):
        body = fn.real_part(body)  # |z|, real, imag, angle: real values, real tangents
    return ops.map_(body, [*node.args, node, *(t for _, t in present)], shape=node.shape)


def jvp_extremum(node: Node, tangents):
    """The mean tangent of the elements that attain the extremum (ties share, as in reverse mode)."""
    axes = node.attrs[0]
    is_extremum = ops.extremum_mask(node, tangents[0].dtype)
    chosen = ops.reduce("sum", ops.map_(ARG[0] * ARG[1], [is_extremum, tangents[0]]), axes)
    return ops.map_(ARG[0] / ARG[1], [chosen, ops.reduce("sum", is_extremum, axes)])


def jvp_einsum(node: Node, tangents):
    spec, (a, b), (ta, tb) = node.attrs[0], node.args, tangents
    return add(contract.einsum(spec, ta, b) if ta is not None else None,
               contract.einsum(spec, a, tb) if tb is not None else None)


def jvp_concat(node: Node, tangents):
    parts = [t if t is not None else ops.fill(0, a.shape, a.dtype) for a, t in zip(node.args, tangents)]
    return ops.concat(parts, node.attrs[0])


def _first(rule):
    """A rule linear in the first argument only (the others are indices)."""
    return lambda node, tangents: rule(node, tangents[0]) if tangents[0] is not None else None


RULES = {
    "map": jvp_map,
    "sum": _first(lambda n, t: ops.reduce("sum", t, n.attrs[0])),
    "max": jvp_extremum,
    "min": jvp_extremum,
    "einsum": jvp_einsum,
    "detach": lambda n, tangents: None,
    "reshape": _first(lambda n, t: ops.reshape(t, n.shape)),
    "permute": _first(lambda n, t: ops.permute(t, n.attrs[0])),
    "expand": _first(lambda n, t: ops.expand(t, n.shape)),
    "slice": _first(lambda n, t: ops.slice_(t, n.attrs[0])),
    "unslice": _first(lambda n, t: ops.unslice(t, n.shape, n.attrs[0])),
    "take": _first(lambda n, t: ops.take(t, n.args[1], n.attrs[0])),
    "scatter_add": _first(lambda n, t: ops.scatter_add(t, n.args[1], *n.attrs)),
    "concat": jvp_concat,
    "unfold": _first(lambda n, t: ops.unfold(t, *n.attrs[:4], pad_value=0)),
    "fold": _first(lambda n, t: ops.fold(t, *n.attrs)),
    "linalg": linalg_ops.jvp,
    "fft": fft_ops.jvp,
}


def push_forward(outputs, tangents: dict) -> list[Node | None]:
    """Tangents of ``outputs`` given tangents of some inputs (``{input: tangent}``); None where an
    output does not depend on them."""
    known: dict[int, Node] = {id(k): v for k, v in tangents.items()}
    for node in toposort(outputs):
        if id(node) in known or not node.args:
            continue
        args = [known.get(id(a)) for a in node.args]
        if any(t is not None for t in args):
            t = RULES[node.op](node, args)
            if t is not None:
                known[id(node)] = t
    return [known.get(id(o)) for o in outputs]

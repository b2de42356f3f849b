"""Whole-graph rewrites: substitution and elementwise fusion.

Local simplification (constant inlining, identities) already happens in ``ops``; here live the
rewrites that need the whole graph: replacing leaves (how nested gradients splice an inner
derivative into the outer trace) and fusing chains of ``map`` nodes into one SymPy body.
"""

from __future__ import annotations

from collections import Counter

import sympy

from codegen.kernel import dag_atoms, dag_replace, dag_size

from . import contract, functions, ops
from .ir import ARG, Node, arg_symbol, make, toposort

# A map used by several consumers is still inlined into each when its body is this cheap;
# dearer bodies stay shared, so fusion never duplicates real work or swells expressions.
CHEAP_BODY_OPS = 8


def rebuild(node: Node, args) -> Node:
    """``node`` with new arguments, re-simplified by its smart constructor where it has one."""
    if all(a is b for a, b in zip(args, node.args)):
        return node
    if node.op == "map":
        return ops.map_(node.body, list(args), shape=node.shape, dtype=node.dtype)
    return make(node.op, tuple(args), node.attrs, node.shape, node.dtype)


def substitute(outputs, mapping: dict) -> list[Node]:
    """``outputs`` with every node ``k`` in ``mapping`` replaced by ``mapping[k]``."""
    new: dict[int, Node] = {id(k): v for k, v in mapping.items()}
    for node in toposort(outputs):
        if id(node) not in new:
            new[id(node)] = rebuild(node, [new[id(a)] for a in node.args])
    return [new[id(o)] for o in outputs]


def _cheap(body) -> bool:
    """Worth recomputing in each consumer: a little arithmetic, no transcendental functions."""
    return dag_size(body, CHEAP_BODY_OPS) <= CHEAP_BODY_OPS and not dag_atoms(body, sympy.Function)


def _complex(node: Node) -> bool:
    return node.dtype.kind == "c" or any(a.dtype.kind == "c" for a in node.args)


def _should_inline(new_arg: Node, old_arg: Node, consumer: Node, uses: Counter) -> bool:
    if new_arg.op != "map" or _complex(new_arg) or _complex(consumer):
        return False  # bodies' symbols are real: composed, SymPy would apply real-only identities
    return uses[id(old_arg)] == 1 or _cheap(new_arg.body)


def _in_its_type(inner, producer: Node, consumer: Node):
    """A value composed into a consumer keeps its producer's type: NumPy computed −x of uint8 in
    uint8 (it wraps) before adding an int16 (in the consumer's body −1·x would read as part of a
    subtraction done in int16); −2·(y > 7) with a strong int64 −2 is int64 though its composed body
    holds only literals; where(7, y, x) of uint8 y and int8 x is y read as int16, and of int8(y)
    and int32 x it is int8(y) widened to int32 (a cast is the producer's type only if to it); True +
    True is a bool (a sum of truth values is their ``or``); a float32 product is rounded to float32
    before a float64 consumer widens it."""
    dtype = producer.dtype
    if dtype.kind in "fc" and consumer.dtype.kind in "fc" and consumer.dtype != dtype and not inner.is_Atom:
        return functions.cast(inner, sympy.Symbol(dtype.name))
    cast_to_it = isinstance(inner, functions.cast) and str(inner.args[1]) == dtype.name
    if dtype.kind not in "biu" or cast_to_it or functions.is_boolean(inner):
        return inner
    if inner.is_Symbol and producer.args and producer.body.is_Symbol and \
            producer.args[ARG.index(producer.body)].dtype == dtype:  # the value read as it is
        return inner
    if inner.is_Number:
        return functions.typed_literal(inner, dtype)
    return functions.cast(inner, sympy.Symbol(dtype.name))


def _fuse_map(node: Node, args, old_args, uses: Counter) -> Node:
    typed = lambda i: not args[i].args and ops.type_matters(node.body, args, i)  # a constant whose type a literal loses
    inlined = [_should_inline(new, old, node, uses) and not typed(i) for i, (new, old) in
               enumerate(zip(args, old_args))]
    if not any(inlined):  # the node itself where its arguments are (half the calls of a nested gradient)
        return rebuild(node, args)
    body_args, subs = [], {}

    def symbol(arg: Node) -> sympy.Symbol:
        """The fused body's symbol for ``arg``, one per distinct node in the order they are met (as
        ``map_`` numbers them: else it renumbers the whole body, through SymPy's evaluation again)."""
        if arg not in body_args:
            body_args.append(arg)
        return arg_symbol(body_args.index(arg))

    for i, new_arg in enumerate(args):
        if inlined[i]:
            inner = dag_replace(new_arg.body, {ARG[j]: symbol(a) for j, a in enumerate(new_arg.args)})
            subs[ARG[i]] = _in_its_type(inner, new_arg, node)
        else:
            subs[ARG[i]] = symbol(new_arg)
    body = functions.substitute(node.body, subs)
    return ops.map_(body, body_args, shape=node.shape, dtype=node.dtype)


def _permuted_einsum(einsum: Node, perm) -> Node:
    """permute(einsum(a, b)) as one einsum writing the permuted layout (no transposed copy)."""
    sa, sb, so = contract.parse_spec(einsum.attrs[0])
    return contract.einsum(f"{sa},{sb}->{''.join(so[p] for p in perm)}", *einsum.args)


def fuse(outputs) -> list[Node]:
    """Fuse chains of elementwise maps into single SymPy bodies."""
    order = toposort(outputs)
    uses = Counter(id(a) for n in order for a in n.args)
    for o in outputs:
        uses[id(o)] += 1
    new: dict[int, Node] = {}
    for node in order:
        args = [new[id(a)] for a in node.args]
        if node.op == "map" and node.args:
            new[id(node)] = _fuse_map(node, args, node.args, uses)
        elif node.op == "permute" and args[0].op == "einsum" and uses[id(node.args[0])] == 1:
            new[id(node)] = _permuted_einsum(args[0], node.attrs[0])
        else:
            new[id(node)] = rebuild(node, args)
    return [new[id(o)] for o in outputs]

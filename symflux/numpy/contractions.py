"""Contractions: matmul, dot, tensordot, einsum, …"""

from __future__ import annotations

import builtins
import string

import numpy as np

from .. import contract, ops, trace
from ..array import Tracer
from ..symbolic import on_symbols
from ._base import _both_plain, _node, _plain, _rewrap, dtype_of, ndim, shape
from .arrangement import diagonal
from .elementwise import conj, multiply, subtract
from .manipulation import broadcast_to, expand_dims, moveaxis, reshape, stack
from .reductions import sum


@on_symbols
def matmul(a, b):
    """a @ b with NumPy's rules (1-D operands promoted, batch dimensions broadcast)."""
    if _both_plain(a, b):
        return _rewrap(np.matmul(_plain(a), _plain(b)), a)
    a, b = _node(a), _node(b)
    if a.ndim == 0 or b.ndim == 0:
        raise ops.ShapeError("matmul: operands must not be scalars (use * for scaling)")
    what = f"matmul of shapes {ops.fmt_shape(a.shape)} and {ops.fmt_shape(b.shape)}"
    if not ops.dims_equal(a.shape[-1], b.shape[-2 if b.ndim > 1 else 0]):
        raise ops.ShapeError(f"{what}: inner dimensions differ "
                             f"({a.shape[-1]} ≠ {b.shape[-2 if b.ndim > 1 else 0]})")
    if a.ndim <= 2 and b.ndim <= 2:
        sa, sb = ("ij" if a.ndim == 2 else "j"), ("jk" if b.ndim == 2 else "j")
        so = ("i" if a.ndim == 2 else "") + ("k" if b.ndim == 2 else "")
        return Tracer(contract.einsum(f"{sa},{sb}->{so}", a, b, what))
    a2 = a if a.ndim > 1 else ops.reshape(a, (1,) + a.shape)
    b2 = b if b.ndim > 1 else ops.reshape(b, b.shape + (1,))
    batch = ops.broadcast_shapes(a2.shape[:-2], b2.shape[:-2], what=what)
    letters = string.ascii_letters[3:3 + len(batch)]
    a2 = ops.expand(a2, batch + a2.shape[-2:])
    b2 = ops.expand(b2, batch + b2.shape[-2:])
    out = contract.einsum(f"{letters}ij,{letters}jk->{letters}ik", a2, b2, what)
    if a.ndim == 1:
        out = ops.reshape(out, out.shape[:-2] + out.shape[-1:])
    if b.ndim == 1:
        out = ops.reshape(out, out.shape[:-1])
    return Tracer(out)


@on_symbols
def dot(a, b):
    """NumPy's dot: scaling for scalars, matmul up to 2-D, sum over last/second-to-last beyond."""
    if _both_plain(a, b):
        return _rewrap(np.dot(_plain(a), _plain(b)), a)
    if np.ndim(a) == 0 if not trace.is_traced(a) else a.ndim == 0:
        return multiply(a, b)  # noqa: F821
    if np.ndim(b) == 0 if not trace.is_traced(b) else b.ndim == 0:
        return multiply(a, b)  # noqa: F821
    na, nb = _node(a), _node(b)
    if nb.ndim <= 2:
        return matmul(a, b)
    return tensordot(a, b, axes=([na.ndim - 1], [nb.ndim - 2]))


def outer(a, b):
    """outer(a, b)[i, j] = a[i]·b[j] (inputs flattened)."""
    return einsum("i,j->ij", reshape(a, (-1,)), reshape(b, (-1,)))


def inner(a, b):
    """Σ over the last axes of a and b; a scalar operand scales the other."""
    if ndim(a) == 0 or ndim(b) == 0:
        return multiply(a, b)
    return tensordot(a, b, axes=([-1], [-1]))


def kron(a, b):
    """The Kronecker product: block (i, j) is a[i, j]·b."""
    if _both_plain(a, b):
        return _rewrap(np.kron(_plain(a), _plain(b)), a)
    sa, sb = tuple(shape(a)), tuple(shape(b))
    d = builtins.max(len(sa), len(sb))
    sa, sb = (1,) * (d - len(sa)) + sa, (1,) * (d - len(sb)) + sb
    spread_a = reshape(a, tuple(x for n in sa for x in (n, 1)))
    blocks = multiply(spread_a, reshape(b, tuple(x for m in sb for x in (1, m))))
    return reshape(blocks, tuple(n * m for n, m in zip(sa, sb)))


def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """The cross product of 3-vectors (or 2-vectors, z = 0) along the given axes, broadcast."""
    if _both_plain(a, b):
        return _rewrap(np.cross(_plain(a), _plain(b), axisa, axisb, axisc, axis), a)
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = moveaxis(a, axisa, -1), moveaxis(b, axisb, -1)
    if shape(a)[-1] not in (2, 3) or shape(b)[-1] not in (2, 3):
        raise ValueError("incompatible dimensions for cross product (dimension must be 2 or 3)")
    u = [a[..., k] for k in range(shape(a)[-1])] + [0] * (3 - shape(a)[-1])
    v = [b[..., k] for k in range(shape(b)[-1])] + [0] * (3 - shape(b)[-1])
    z = subtract(multiply(u[0], v[1]), multiply(u[1], v[0]))
    if shape(a)[-1] == shape(b)[-1] == 2:
        return z
    x = subtract(multiply(u[1], v[2]), multiply(u[2], v[1]))
    y = subtract(multiply(u[2], v[0]), multiply(u[0], v[2]))
    parts = [p if trace.is_traced(p) else broadcast_to(p, shape(z)) for p in (x, y, z)]
    return moveaxis(stack(parts, axis=-1), -1, axisc)


def vdot(a, b):
    """vdot(a, b) = Σ conj(aᵢ)bᵢ over the flattened operands, in their dtype (as NumPy: no widening)."""
    a = conj(a) if dtype_of(a).kind == "c" else a
    return tensordot(reshape(a, (-1,)), reshape(b, (-1,)), axes=1)


def tensordot(a, b, axes=2):
    """NumPy's tensordot, recorded as one contraction."""
    if _both_plain(a, b):
        return _rewrap(np.tensordot(_plain(a), _plain(b), axes=axes), a)
    na, nb = _node(a), _node(b)
    if isinstance(axes, int):
        axes = (list(range(na.ndim - axes, na.ndim)), list(range(axes)))
    ax_a = [x % na.ndim for x in np.atleast_1d(axes[0])]
    ax_b = [x % nb.ndim for x in np.atleast_1d(axes[1])]
    letters = iter(string.ascii_letters)
    sa = [next(letters) for _ in range(na.ndim)]
    sb = [next(letters) for _ in range(nb.ndim)]
    for i, j in zip(ax_a, ax_b):
        sb[j] = sa[i]
    so = [c for i, c in enumerate(sa) if i not in ax_a] + [c for j, c in enumerate(sb) if j not in ax_b]
    return einsum(f"{''.join(sa)},{''.join(sb)}->{''.join(so)}", a, b)


def einsum(*operands, optimize=None):
    """NumPy's einsum, complete: implicit or explicit output, ``...``, repeated letters (diagonals,
    traces), any number of operands (contracted pairwise in ``numpy.einsum_path``'s greedy order),
    and the sublist form ``einsum(a, [0, 1], b, [1, 2], [0, 2])``."""
    spec, arrays = _einsum_spec(operands)
    if not trace.any_traced(arrays):
        return _rewrap(np.einsum(spec, *[_plain(a) for a in arrays]), arrays[0])
    nodes = [_node(a) for a in arrays]
    ins, out = _expand_ellipses(spec, nodes)
    nodes, ins = zip(*[_diagonals(n, s) for n, s in zip(nodes, ins)])
    return Tracer(_contract_all(list(nodes), list(ins), out))


def _einsum_spec(operands):
    """(spec string, arrays) from either calling form."""
    if isinstance(operands[0], str):
        return operands[0].replace(" ", ""), list(operands[1:])
    letters = string.ascii_letters
    write = lambda sub: "".join("..." if k is Ellipsis else letters[k] for k in sub)  # noqa: E731
    arrays, subs = list(operands[0::2]), list(operands[1::2])
    out = None
    if len(arrays) > len(subs):  # an output sublist came last
        out, arrays = arrays[-1], arrays[:-1]
    spec = ",".join(write(s) for s in subs)
    return (spec + "->" + write(out) if out is not None else spec), arrays


def _expand_ellipses(spec, nodes):
    """Input letter strings with ``...`` replaced by letters of their own (operands broadcast to a
    common shape there) and the output string (implicit: ``...``, then letters seen once, sorted)."""
    ins, out = (spec.split("->") + [None])[:2]
    ins = ins.split(",")
    if len(ins) != len(nodes):
        raise ValueError(f"einsum: {len(ins)} operand specs for {len(nodes)} operands")
    used = set(spec)
    spare = [c for c in string.ascii_letters if c not in used]
    width = builtins.max([n.ndim - len(s.replace("...", "")) for s, n in zip(ins, nodes) if "..." in s], default=0)
    dots = "".join(spare[:width])
    dims = [n.shape[s.index("..."):n.ndim - len(s) + s.index("...") + 3] if "..." in s else ()
            for s, n in zip(ins, nodes)]  # the axes the ellipsis stands for, wherever it stands
    common = ops.broadcast_shapes(*dims, what="einsum operands") if width else ()
    expanded = []
    for k, (s, n) in enumerate(zip(ins, nodes)):
        if "..." in s:
            before, after = s.split("...")
            mine = dots[width - len(dims[k]):]
            target = n.shape[:len(before)] + common[width - len(dims[k]):] + n.shape[n.ndim - len(after):]
            nodes[k] = ops.expand(n, target)
            s = before + mine + after
        if len(s) != nodes[k].ndim:
            raise ValueError(f"einsum: operand {k} has {nodes[k].ndim} dimensions but its spec {ins[k]!r} "
                             f"names {len(s)}")
        expanded.append(s)
    if out is None:
        counts = "".join(expanded)
        out = dots + "".join(sorted(c for c in set(counts) if counts.count(c) == 1 and c not in dots))
    else:
        out = out.replace("...", dots)
    return expanded, out


def _diagonals(node, letters):
    """A repeated letter within one operand reads its diagonal (``ii`` of a matrix is its diagonal)."""
    while len(set(letters)) != len(letters):
        c = next(ch for ch in letters if letters.count(ch) > 1)
        p = letters.index(c)
        q = letters.index(c, p + 1)
        node = _node(diagonal(Tracer(node), 0, p, q))
        letters = "".join(ch for k, ch in enumerate(letters) if k not in (p, q)) + c
    return node, letters


def _contract_all(nodes, ins, out):
    """Pairwise contractions in numpy.einsum_path's greedy order, then the last operand to ``out``."""
    if len(nodes) > 2:
        shapes = [np.broadcast_to(np.empty((), np.int8), n.shape) for n in nodes]
        path = np.einsum_path(",".join(ins) + "->" + out, *shapes, optimize="greedy")[0][1:]
        for pair in path:
            if len(pair) != 2 or len(nodes) <= 2:
                break
            i, j = sorted(pair)
            rest = "".join(ins[k] for k in range(len(ins)) if k not in (i, j)) + out
            kept = "".join(dict.fromkeys(c for c in ins[i] + ins[j] if c in rest))
            merged = contract.einsum(f"{ins[i]},{ins[j]}->{kept}", nodes[i], nodes[j])
            nodes = [n for k, n in enumerate(nodes) if k not in (i, j)] + [merged]
            ins = [s for k, s in enumerate(ins) if k not in (i, j)] + [kept]
    if len(nodes) == 2:
        return contract.einsum(f"{ins[0]},{ins[1]}->{out}", nodes[0], nodes[1])
    node, letters = nodes[0], ins[0]
    if not set(out) <= set(letters):
        raise ValueError(f"einsum: output letters {out!r} not among the operand's {letters!r}")
    reduced = ops.cast(ops.reduce("sum", node, [i for i, c in enumerate(letters) if c not in out]), node.dtype)
    kept = [c for c in letters if c in out]
    return ops.permute(reduced, [kept.index(c) for c in out])


def vecdot(x1, x2, axis=-1):
    """Σ conj(x1)·x2 along ``axis``, broadcasting the other axes (NumPy's ``vecdot``)."""
    product = multiply(conj(x1) if dtype_of(x1).kind == "c" else x1, x2)
    return sum(product, axis=axis, dtype=product.dtype)  # a gufunc: int32 stays int32


def matvec(x1, x2, /):
    """The matrix–vector products x1[..., m, n] @ x2[..., n] → [..., m], the batch axes broadcast."""
    if _both_plain(x1, x2):
        return _rewrap(np.matvec(_plain(x1), _plain(x2)), x1)
    if ndim(x1) < 2 or ndim(x2) < 1:
        raise ValueError("matvec: x1 must be a stack of matrices and x2 of vectors")
    return sum(multiply(x1, expand_dims(x2, -2)), axis=-1, dtype=_product_type(x1, x2))


def vecmat(x1, x2, /):
    """The vector–matrix products conj(x1[..., n]) @ x2[..., n, m] → [..., m], the batch axes broadcast."""
    if _both_plain(x1, x2):
        return _rewrap(np.vecmat(_plain(x1), _plain(x2)), x1)
    if ndim(x1) < 1 or ndim(x2) < 2:
        raise ValueError("vecmat: x1 must be a stack of vectors and x2 of matrices")
    return sum(multiply(expand_dims(conj(x1), -1), x2), axis=-2, dtype=_product_type(x1, x2))


def _product_type(x1, x2):
    return np.result_type(dtype_of(x1), dtype_of(x2))  # a gufunc: int32 stays int32

"""Contractions: matmul, dot, tensordot, einsum, …"""

from __future__ import annotations

import string

import numpy as np

from .. import contract, ops, trace
from ..array import Tracer
from ._base import _both_plain, _node, _plain, _rewrap
from .elementwise import multiply
from .manipulation import reshape


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
    return tensordot(a, b, axes=([-1], [-1]))


def vdot(a, b):
    """vdot(a, b) = Σ aᵢbᵢ over the flattened operands, in their dtype (as NumPy: no widening)."""
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


def einsum(spec: str, *operands):
    """einsum with one or two operands (explicit ``->`` output)."""
    if not any(trace.is_traced(o) for o in operands):
        return _rewrap(np.einsum(spec, *[_plain(o) for o in operands]), operands[0])
    spec = spec.replace(" ", "")
    if "->" not in spec:
        raise ValueError("einsum on traced arrays needs an explicit output, e.g. 'ij,jk->ik'")
    ins, out = spec.split("->")
    ins = ins.split(",")
    if len(ins) == 1:
        node = _node(operands[0])
        summed = [i for i, c in enumerate(ins[0]) if c not in out]
        kept = [c for c in ins[0] if c in out]
        reduced = ops.reduce("sum", node, summed)
        return Tracer(ops.permute(reduced, [kept.index(c) for c in out]))
    if len(ins) != 2:
        raise ValueError("einsum on traced arrays takes one or two operands; chain two-operand calls")
    return Tracer(contract.einsum(f"{ins[0]},{ins[1]}->{out}", _node(operands[0]), _node(operands[1])))

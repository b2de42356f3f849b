"""Two-operand contractions (einsum nodes) and the tensor algebra that simplifies them as they are built.

``einsum`` is the smart constructor every contraction goes through. Besides shape checks it reads
permuted operands through their permutation, treats a contraction with an identity (the one-hot
batches that make Jacobians and Hessians) as a renaming of the other operand's axes, moves scalar
factors out, and regroups chains ``(p q) r`` into the cheapest order, as ``numpy.einsum_path``
would: so the Hessian of ``xᵀAx`` comes out as ``A + Aᵀ`` and that of ``‖T − UVᵀ‖²`` as
``I ⊗ 2VᵀV``, with no n × n one-hot intermediates.
"""

from __future__ import annotations

import math
import re
import string

import numpy as np
import sympy

from . import ops
from .ir import ARG, OBJECT, Identity, Node, make

_SPEC = re.compile(r"^([a-zA-Z]*),([a-zA-Z]*)->([a-zA-Z]*)$")


def parse_spec(spec: str):
    m = _SPEC.match(spec)
    if not m:
        raise ValueError(f"bad einsum spec {spec!r}")
    return m.groups()


def einsum(spec: str, a: Node, b: Node, what: str = "einsum") -> Node:
    """Two-operand contraction; letters private to one operand are summed out beforehand."""
    sa, sb, so = parse_spec(spec)
    if len(sa) != a.ndim or len(sb) != b.ndim:
        raise ops.ShapeError(f"{what}: spec {spec!r} does not fit shapes {ops.fmt_shape(a.shape)} and "
                             f"{ops.fmt_shape(b.shape)}")
    sizes = _sizes(sa, sb, a, b, what)
    dtype = OBJECT if OBJECT in (a.dtype, b.dtype) else np.result_type(a.dtype, b.dtype)
    if a.op == "permute" or b.op == "permute":
        return einsum(f"{_unpermuted(sa, a)},{_unpermuted(sb, b)}->{so}", _unwrapped(a), _unwrapped(b), what)
    for e, x, se, sx in ((a, b, sa, sb), (b, a, sb, sa)):
        renamed = _identity_contraction(e, x, se, sx, so)
        if renamed is not None:
            return ops.cast(renamed, dtype)
    scaled = _scalar_factor_out(sa, sb, so, a, b, dtype)
    if scaled is not None:
        return scaled
    regrouped = _regrouped(sa, sb, so, a, b, sizes)
    if regrouped is not None:
        return ops.cast(regrouped, dtype)
    private_a = [i for i, ch in enumerate(sa) if ch not in sb and ch not in so]
    private_b = [i for i, ch in enumerate(sb) if ch not in sa and ch not in so]
    if private_a or private_b:
        a, b = ops.reduce("sum", a, private_a), ops.reduce("sum", b, private_b)
        sa = "".join(ch for i, ch in enumerate(sa) if i not in private_a)
        sb = "".join(ch for i, ch in enumerate(sb) if i not in private_b)
        return einsum(f"{sa},{sb}->{so}", a, b, what)
    if not sa or not sb:  # a scalar operand: this is elementwise scaling
        product = ops.map_(ARG[0] * ARG[1], [a, b])
        return ops.permute(product, [(sa + sb).index(ch) for ch in so])
    return make("einsum", (a, b), (f"{sa},{sb}->{so}",), tuple(sizes[ch] for ch in so), dtype)


def _sizes(sa, sb, a, b, what) -> dict:
    sizes = {}
    for letters, shape in ((sa, a.shape), (sb, b.shape)):
        for ch, d in zip(letters, shape):
            if ch in sizes and not ops.dims_equal(sizes[ch], d):
                raise ops.ShapeError(f"{what}: shapes {ops.fmt_shape(a.shape)} and {ops.fmt_shape(b.shape)} "
                                     f"do not align ({sizes[ch]} ≠ {d})")
            sizes.setdefault(ch, d)
    return sizes


def _fresh(used: str, n: int) -> str:
    return "".join([ch for ch in string.ascii_letters if ch not in used][:n])


# -- permutations ---------------------------------------------------------------------------------

def _unpermuted(letters: str, x: Node) -> str:
    """The letters of the permute's argument (axis ``perm[k]`` of the argument is axis k here)."""
    if x.op != "permute":
        return letters
    out = [""] * x.ndim
    for k, p in enumerate(x.attrs[0]):
        out[p] = letters[k]
    return "".join(out)


def _unwrapped(x: Node) -> Node:
    return x.args[0] if x.op == "permute" else x


# -- identities -----------------------------------------------------------------------------------

def is_identity(node: Node) -> bool:
    """An identity constant (``ops.identity``): contracting with it renames axes."""
    return node.op == "const" and isinstance(node.attrs[0], Identity)


def _identity_contraction(e: Node, x: Node, se: str, sx: str, so: str):
    """einsum of identity ``e`` (letters b s₁…sₖ: δ(b, flat(s))) with ``x`` as ``x`` with its axes
    renamed: the s letters merged into b, or its b axis split into the s letters. None otherwise."""
    if not is_identity(e) or len(set(se)) != len(se):
        return None
    b, s = se[0], se[1:]
    if b in so and b not in sx:
        return _merged_into_batch(e, x, b, s, sx, so)
    if b in sx and b not in so and all(ch in so and ch not in sx for ch in s):
        split = sx.replace(b, s)
        if not set(so) <= set(split):
            return None
        dims = [(dim,) if ch != b else e.shape[1:] for ch, dim in zip(sx, x.shape)]
        x = ops.reshape(x, tuple(d for group in dims for d in group))
        x = ops.reduce("sum", x, [i for i, ch in enumerate(split) if ch not in so])
        split = "".join(ch for ch in split if ch in so)
        return ops.permute(x, [split.index(ch) for ch in so])
    return None


def _merged_into_batch(e: Node, x: Node, b: str, s: str, sx: str, so: str):
    """δ(b, flat(s)) x: b splits into one axis per s letter; an s letter contracted with x becomes
    that axis of x, one that stays in the output keeps a small identity δ(bᵢ, sᵢ) of its own."""
    contracted = [ch for ch in s if ch in sx and ch not in so]
    diagonal = [ch for ch in s if ch in so and ch not in sx]
    if not contracted or len(contracted) + len(diagonal) != len(s):
        return None
    fresh = iter(_fresh(s + sx + so, len(diagonal)))
    parts = {ch: ch if ch in contracted else next(fresh) for ch in s}
    merged = so.replace(b, "".join(parts[ch] for ch in s))
    for ch, size in zip(s, e.shape[1:]):
        if ch in diagonal:
            x = einsum(f"{sx},{parts[ch]}{ch}->{sx}{parts[ch]}{ch}", x, ops.identity((size, size), e.dtype))
            sx += parts[ch] + ch
    if not set(merged) <= set(sx):
        return None
    x = ops.reduce("sum", x, [i for i, ch in enumerate(sx) if ch not in merged])
    sx = "".join(ch for ch in sx if ch in merged)
    x = ops.permute(x, [sx.index(ch) for ch in merged])
    return ops.reshape(x, tuple(e.shape[0] if ch == b else x.shape[merged.index(ch)] for ch in so))


# -- scalar factors and regrouping ----------------------------------------------------------------

def _scale(x: Node):
    """The factor c when ``x`` is ``c·y`` elementwise for a constant c (and the same dtype), else None."""
    if x.op != "map" or len(x.args) != 1 or x.dtype != x.args[0].dtype:
        return None
    c = sympy.diff(x.body, ARG[0])
    return c if c.is_number and x.body == c * ARG[0] else None


def _scalar_factor_out(sa, sb, so, a, b, dtype):
    """(c·p)·q as c·(p·q) where p is itself a contraction, so the chain can be regrouped."""
    for i, x in enumerate((a, b)):
        c = _scale(x)
        if c is not None and x.args[0].op == "einsum":
            args = (x.args[0], b) if i == 0 else (a, x.args[0])
            return ops.map_(c * ARG[0], [einsum(f"{sa},{sb}->{so}", *args)], dtype=dtype)
    return None


def _pair_cost(x: str, y: str, sizes) -> int:
    return math.prod(sizes[ch] for ch in set(x) | set(y))


def _kept(x: str, y: str, others: str) -> str:
    return "".join(ch for ch in dict.fromkeys(x + y) if ch in others)


def _regrouped(sa, sb, so, a, b, sizes):
    """einsum(einsum(p, q), r) regrouped as p(qr) or (pr)q when that costs under half the flops."""
    if not all(isinstance(d, int) for d in sizes.values()):
        return None
    for inner, r, s_inner, sr in ((a, b, sa, sb), (b, a, sb, sa)):
        if inner.op != "einsum":
            continue
        sp, sq, si = parse_spec(inner.attrs[0])
        rename = dict(zip(si, s_inner))
        fresh = iter(_fresh(sa + sb + so + sp + sq, len(sp + sq)))
        for ch in sp + sq:
            rename.setdefault(ch, next(fresh))
        sp, sq = "".join(rename[ch] for ch in sp), "".join(rename[ch] for ch in sq)
        p, q = inner.args
        all_sizes = dict(sizes, **{ch: d for ch, d in zip(sp + sq, p.shape + q.shape)})
        options = []
        for (x, sx), (y, sy), (z, sz) in (((p, sp), (q, sq), (r, sr)), ((q, sq), (r, sr), (p, sp)),
                                          ((p, sp), (r, sr), (q, sq))):
            middle = _kept(sx, sy, sz + so)
            cost = _pair_cost(sx, sy, all_sizes) + _pair_cost(middle, sz, all_sizes)
            options.append((cost, x, sx, y, sy, z, sz, middle))
        current, best = options[0], min(options, key=lambda o: o[0])
        if best is not current and 2 * best[0] < current[0]:
            _, x, sx, y, sy, z, sz, middle = best
            return einsum(f"{middle},{sz}->{so}", einsum(f"{sx},{sy}->{middle}", x, y), z)
    return None

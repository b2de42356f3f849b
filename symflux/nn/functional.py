"""Convolution and pooling as graph ops: windows (``unfold``) contracted with a weight, or reduced.

Layouts are batch-first: inputs (N, C, *spatial), weights (out, in/groups, *kernel) as in PyTorch.
``conv`` is cross-correlation (PyTorch's conv); true convolution flips the kernel first. Every
function works on traced and plain arrays; plain inputs are evaluated by the interpreter.
"""

from __future__ import annotations

import math
import string

import numpy as np

from .. import contract, interp, ops, trace
from ..array import Array, Tracer
from ..ir import OBJECT, Node


def _apply(build, *values):
    """``build(*nodes)`` as a Tracer when any value is traced, else evaluated to an array."""
    nodes = [trace.operand_node(v) for v in values]
    out = build(*nodes)
    if trace.any_traced(values):
        return Tracer(out)
    exact = any(n.dtype == OBJECT for n in nodes)
    return np.asarray(interp.evaluate([out], {}, exact=exact)[0]).copy().view(Array)


def _letters(n, start):
    return string.ascii_lowercase[start:start + n]


def flip_spatial(w: Node) -> Node:
    """The kernel reversed along its spatial axes (true convolution ↔ cross-correlation)."""
    return ops.slice_(w, [(0, d, 1) for d in w.shape[:2]] + [(d - 1, -1, -1) for d in w.shape[2:]])


def conv_node(x: Node, w: Node, stride, pad, dilation, groups=1) -> Node:
    """Cross-correlation of x (N, C, *S) with w (O, C/groups, *K)."""
    nd = w.ndim - 2
    kernel = w.shape[2:]
    cols = ops.unfold(x, kernel, stride, dilation, pad)          # (N, C, *out, *K)
    o, k = _letters(nd, 10), _letters(nd, 18)
    if groups == 1:
        return contract.einsum(f"nc{o}{k},dc{k}->nd{o}", cols, w)
    n, c = x.shape[:2]
    out_ch = w.shape[0]
    cols = ops.reshape(cols, (n, groups, c // groups) + cols.shape[2:])
    wg = ops.reshape(w, (groups, out_ch // groups) + w.shape[1:])
    y = contract.einsum(f"ngc{o}{k},gdc{k}->ngd{o}", cols, wg)
    return ops.reshape(y, (n, out_ch) + y.shape[3:])


def conv_transpose_node(x: Node, w: Node, stride, pad, dilation, out_spatial, groups=1) -> Node:
    """The adjoint of ``conv_node`` with weight w (C_in, C_out/groups, *K): (N, C_in, *S) → (N, C_out, *out)."""
    nd = w.ndim - 2
    o, k = _letters(nd, 10), _letters(nd, 18)
    if groups == 1:
        cols = contract.einsum(f"nc{o},cd{k}->nd{o}{k}", x, w)
    else:
        n, c = x.shape[:2]
        xg = ops.reshape(x, (n, groups, c // groups) + x.shape[2:])
        wg = ops.reshape(w, (groups, c // groups) + w.shape[1:])
        cols = contract.einsum(f"ngc{o},gcd{k}->ngd{o}{k}", xg, wg)
        cols = ops.reshape(cols, (n, groups * w.shape[1]) + cols.shape[3:])
    return ops.fold(cols, out_spatial, w.shape[2:], stride, dilation, pad)


def pool_node(x: Node, kernel, stride, pad, kind: str) -> Node:
    """Max (padding is −∞) or mean (padding counts as zeros, like NNlib) over windows."""
    nd = len(kernel)
    window_axes = tuple(range(x.ndim, x.ndim + nd))
    if kind == "max":
        cols = ops.unfold(x, kernel, stride, (1,) * nd, pad, pad_value=float("-inf"))
        return ops.reduce("max", cols, window_axes)
    cols = ops.unfold(x, kernel, stride, (1,) * nd, pad)
    return ops.map_(ops.ARG[0] / math.prod(kernel), [ops.reduce("sum", cols, window_axes)])


def conv(x, w, stride=1, pad=0, dilation=1, groups=1, flipped=False):
    """conv(x, w; stride, pad, dilation, groups): cross-correlation, or true convolution with
    ``flipped=True``. ``pad`` is normalised by ``normalise_pad``."""
    nd = np.ndim(w) - 2 if not trace.is_traced(w) else w.ndim - 2
    stride, dilation = expand(stride, nd), expand(dilation, nd)
    pad = normalise_pad(pad, nd)

    def build(xn, wn):
        _check_groups("conv", xn.shape, wn.shape, groups, wn.shape[1], wn.shape[0])
        return conv_node(xn, flip_spatial(wn) if flipped else wn, stride, pad, dilation, groups)
    return _apply(build, x, w)


def _check_groups(name, x_shape, w_shape, groups, per_group, divided):
    """x's channels must be ``groups`` × the weight's ``per_group``, and ``divided`` split into ``groups``."""
    if not isinstance(groups, (int, np.integer)) or groups < 1 or divided % groups:
        raise ops.ShapeError(f"{name}: groups={groups} must be a positive integer dividing the weight's {divided} "
                             f"channels (weight {w_shape})")
    if len(x_shape) != len(w_shape) or x_shape[1] != per_group * groups:
        raise ops.ShapeError(f"{name}: input of shape {x_shape} does not fit weight {w_shape} with groups={groups} "
                             f"(expected (N, {per_group * groups}, …) with {len(w_shape) - 2} spatial axes)")


def conv_transpose(x, w, stride=1, pad=0, dilation=1, groups=1, flipped=False):
    """The adjoint of ``conv`` (PyTorch's conv_transpose, weight (in, out/groups, *K))."""
    nd = np.ndim(w) - 2 if not trace.is_traced(w) else w.ndim - 2
    stride, dilation = expand(stride, nd), expand(dilation, nd)
    pad = normalise_pad(pad, nd)
    in_spatial = np.shape(x)[2:] if not trace.is_traced(x) else x.shape[2:]
    kernel = np.shape(w)[2:] if not trace.is_traced(w) else w.shape[2:]
    out = conv_transpose_size(in_spatial, kernel, stride, dilation, pad)

    def build(xn, wn):
        _check_groups("conv_transpose", xn.shape, wn.shape, groups, wn.shape[0] // groups, wn.shape[0])
        return conv_transpose_node(xn, flip_spatial(wn) if flipped else wn, stride, pad, dilation, out, groups)
    return _apply(build, x, w)


def maxpool(x, kernel, stride=None, pad=0):
    """maxpool(x, kernel; stride=kernel, pad=0) over the trailing spatial axes."""
    kernel = tuple(kernel)
    stride = expand(stride if stride is not None else kernel, len(kernel))
    return _apply(lambda xn: pool_node(xn, kernel, stride, normalise_pad(pad, len(kernel)), "max"), x)


def meanpool(x, kernel, stride=None, pad=0):
    """meanpool(x, kernel; stride=kernel, pad=0); padded positions count as zeros."""
    kernel = tuple(kernel)
    stride = expand(stride if stride is not None else kernel, len(kernel))
    return _apply(lambda xn: pool_node(xn, kernel, stride, normalise_pad(pad, len(kernel)), "mean"), x)


# -- sizes and padding ------------------------------------------------------------------------------

def expand(value, n: int, what: str = "value") -> tuple:
    """An int repeated n times, or a length-n tuple as given; ``what`` (e.g. "stride") must be ≥ 1."""
    value = (int(value),) * n if isinstance(value, (int, np.integer)) else tuple(value)
    if len(value) != n:
        raise ValueError(f"expected {n} values (one per spatial dimension), got {value}")
    if what != "value" and not all(isinstance(v, (int, np.integer)) and v >= 1 for v in value):
        raise ValueError(f"{what} must be positive integers, got {what}={value}")
    return value


def normalise_pad(pad, n: int) -> tuple:
    """((lo, hi) per spatial axis) from an int, n symmetric values, or 2n values (lo₁, hi₁, lo₂, …)."""
    if isinstance(pad, (int, np.integer)):
        return ((int(pad), int(pad)),) * n
    pad = tuple(pad)
    if pad and isinstance(pad[0], (tuple, list)):
        return tuple((int(lo), int(hi)) for lo, hi in pad)
    if len(pad) == n:
        return tuple((p, p) for p in pad)
    if len(pad) == 2 * n:
        return tuple(zip(pad[::2], pad[1::2]))
    raise ValueError(f"padding must have {n} or {2 * n} entries for {n} spatial dimensions, got {pad}")


def conv_transpose_size(spatial, kernel, stride, dilation, pad) -> tuple:
    """(I − 1)·S + 1 + (K − 1)·D − (P_lo + P_hi) per spatial axis."""
    return tuple((i - 1) * s + 1 + (k - 1) * d - (lo + hi)
                 for i, k, s, d, (lo, hi) in zip(spatial, kernel, stride, dilation, pad))

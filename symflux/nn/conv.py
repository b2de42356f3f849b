"""Convolution and pooling layers (NCHW), and ``outdims``.

Conv is true convolution (the kernel is flipped) as in Flux; CrossCor is cross-correlation
(PyTorch's conv2d). Weights are (out, in, *kernel); ConvTranspose's is (in, out, *kernel) like
PyTorch's, and it is the adjoint of Conv with that weight. Padding is an int, one value per
spatial axis, (lo, hi) pairs in the order of the spatial axes, or ``SamePad()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import sympy

from .. import numpy as F
from .. import ops
from ..graph import make_graph
from . import functional as fn
from .init import glorot_uniform, zeros32
from .layers import (
    Chain,
    Dense,
    Diagonal,
    Layer,
    Maxout,
    activation_name,
    identity,
    match_precision,
    shape_of,
)
from .template import Formula, applied


class SamePad:
    """Padding that keeps the spatial size (divided by the stride)."""

    def __repr__(self):
        return "SamePad()"


def _same_pad(kernel, dilation, stride, transposed):
    pads = []
    for k, d, s in zip(kernel, dilation, stride):
        # a transposed conv may need negative padding (cropping) to reach stride·in, as in Flux v0.11.2+
        amount = d * (k - 1) + 1 - (s if transposed else 1)
        pads.append(((amount + 1) // 2, amount // 2))
    return tuple(pads)


def _pairs(pad, kernel, dilation, stride, transposed=False):
    if isinstance(pad, SamePad):
        return _same_pad(kernel, dilation, stride, transposed)
    return fn.normalise_pad(pad, len(kernel))


def _spatial_input(layer, isize, channels):
    """The spatial part of ``isize``: (spatial…), (C, spatial…) or (N, C, spatial…) (channels checked)."""
    nd = len(layer.kernel)
    isize = tuple(isize)
    if len(isize) == nd:
        return isize
    if len(isize) in (nd + 1, nd + 2) and channels is not None and isize[-nd - 1] != channels:
        raise ValueError(f"{layer.signature()}: input has {isize[-nd - 1]} channels, expected {channels}")
    if len(isize) not in (nd + 1, nd + 2):
        raise ValueError(f"{layer.signature()}: input size {isize} does not have {nd} spatial dimensions")
    return isize[-nd:]


class _Conv(Layer):
    """Shared by Conv, CrossCor and DepthwiseConv: a (possibly grouped) convolution plus bias."""

    flipped = True

    def __init__(self, *args, stride=1, pad=0, dilation=1, groups=1, init=glorot_uniform, bias=True, weight=None,
                 activation=None):
        if not args and weight is None:
            name = type(self).__name__
            raise TypeError(f"{name}(kernel, (in, out), σ; …), {name}(weight, bias, σ; …) "
                            f"or {name}(weight=…, bias=…, activation=…, …)")
        if not args:  # Flux v0.11's keyword constructor
            args = (np.asarray(weight), bias) + ((activation,) if activation is not None else ())
        elif activation is not None:
            args = args[:2] + (activation,)
        if isinstance(args[0], np.ndarray):
            weight, b, *rest = args + (True,) * (2 - len(args))
            self.σ = rest[0] if rest else identity
        else:
            kernel, channels, *rest = args
            self.σ = rest[0] if rest else identity
            kernel = (kernel,) if isinstance(kernel, int) else tuple(kernel)
            if any(not isinstance(k, (int, np.integer)) or k < 1 for k in kernel):
                raise ValueError(f"{type(self).__name__}: kernel sizes must be positive integers, got {kernel}")
            n_in, n_out = channels
            self._check_channels(n_in, n_out)
            if not isinstance(groups, (int, np.integer)) or groups < 1 or n_in % groups or n_out % groups:
                raise ValueError(f"{type(self).__name__}: {n_in} => {n_out} channels do not split into "
                                 f"groups={groups}")
            weight = weight if weight is not None else init(*self._weight_shape(kernel, n_in, n_out, groups))
            b = bias
        self.weight = F.asarray(weight)
        self.groups = groups
        if not isinstance(groups, (int, np.integer)) or groups < 1 or self.weight.shape[0] % groups:
            raise ValueError(f"{type(self).__name__}: groups={groups} must divide the weight's "
                             f"{self.weight.shape[0]} channels of axis 0 (weight {self.weight.shape})")
        if b is True:
            b = zeros32(self.out_channels)
        self.bias = F.asarray(b) if b is not False and b is not None else None
        nd = self.weight.ndim - 2
        self.stride, self.dilation = fn.expand(stride, nd, "stride"), fn.expand(dilation, nd, "dilation")
        self.pad = _pairs(pad, self.kernel, self.dilation, self.stride, transposed=self._transposed)

    _transposed = False

    @staticmethod
    def _weight_shape(kernel, n_in, n_out, groups):
        return (n_out, n_in // groups) + kernel

    def _check_channels(self, n_in, n_out):
        for n in (n_in, n_out):
            if not isinstance(n, (int, np.integer)) or n < 1:
                raise ValueError(f"{type(self).__name__}: channel counts must be positive integers, got {n!r}")

    @property
    def kernel(self):
        return tuple(self.weight.shape[2:])

    @property
    def in_channels(self):
        return self.weight.shape[1] * self.groups

    @property
    def out_channels(self):
        return self.weight.shape[0]

    def signature(self):
        act = "" if self.σ is identity else f", {activation_name(self.σ)}"
        options = []
        if any(s != 1 for s in self.stride):
            options.append(f"stride={self.stride}")
        if any(map(any, self.pad)):
            options.append(f"pad={self.pad}")
        if any(d != 1 for d in self.dilation):
            options.append(f"dilation={self.dilation}")
        if self.groups != 1 and not isinstance(self, DepthwiseConv):
            options.append(f"groups={self.groups}")
        extra = "".join(", " + o for o in options)
        return f"{type(self).__name__}({self.kernel}, {self.in_channels} => {self.out_channels}{act}{extra})"

    def expr(self, input_shape=None):
        """``σ(conv(x, weight, stride=…, pad=…, dilation=…) + bias)`` (options that differ from the
        default); ``input_shape``, when given, is checked against the layer."""
        if input_shape is not None:
            self._check_input(np.zeros(tuple(input_shape), np.float32))
        options = {"stride": self.stride, "pad": self.pad, "dilation": self.dilation, "groups": self.groups}
        shown = {k: v for k, v in options.items() if v != _DEFAULTS[k](len(self.kernel))}
        y = applied(type(self).__name__.lower(), "x", "weight", **shown).expr
        y = sympy.Add(y, sympy.Symbol("bias"), evaluate=False) if self.bias is not None else y
        return Formula(sympy.Function(activation_name(self.σ))(y) if self.σ is not identity else y)

    def _check_input(self, x):
        shape = shape_of(x)
        nd = len(self.kernel)
        if len(shape) != nd + 2:
            raise ValueError(f"{self.signature()}: expected a batch of shape (N, C, {nd} spatial), got {shape}")
        if shape[1] != self.in_channels:
            raise ValueError(f"{self.signature()}: expected {self.in_channels} input channels "
                             f"(axis 1), got an input of shape {shape}")
        return shape

    def _convolve(self, x):
        return fn.conv(x, self.weight, self.stride, self.pad, self.dilation, self.groups, flipped=self.flipped)

    def __call__(self, x):
        self._check_input(x)
        x = match_precision(x, self.weight)
        try:
            y = self._convolve(x)
        except ops.ShapeError as e:
            raise ValueError(f"{self.signature()}: {e}") from None
        if self.bias is not None:
            y = F.add(y, F.reshape(self.bias, (-1,) + (1,) * len(self.kernel)))
        return self.σ(y)

    def outdims(self, isize):
        spatial = _spatial_input(self, isize, self.in_channels)
        out = []
        for size, k, s, d, (lo, hi) in zip(spatial, self.kernel, self.stride, self.dilation, self.pad):
            if isinstance(size, int) and size + lo + hi < (k - 1) * d + 1:
                raise ValueError(f"{self.signature()}: kernel {k} (dilation {d}) is larger than the padded "
                                 f"input {size} + {lo} + {hi}")
            out.append(ops.window_count(size, k, s, d, lo, hi))
        return tuple(out)


class Conv(_Conv):
    """Conv(kernel, (in, out), σ=identity; stride=1, pad=0, dilation=1, groups=1, init=glorot_uniform,
    bias=True) — y = σ.(conv(x, weight) .+ b), true convolution (flipped kernel) as in Flux.

    ``Conv(weight, bias, σ; …)`` builds it from arrays; weight is (out, in/groups, *kernel); ``groups``
    splits the channels into groups convolved apart (Flux's and PyTorch's); ``bias=False`` leaves
    the bias out."""


class CrossCor(_Conv):
    """CrossCor(kernel, (in, out), σ=identity; stride, pad, dilation, groups) — cross-correlation
    (no kernel flip; PyTorch's conv2d). Same constructors as Conv."""

    flipped = False


class DepthwiseConv(_Conv):
    """DepthwiseConv(kernel, (in, out), σ=identity; stride, pad, dilation) — each input channel
    convolved with out/in kernels of its own; weight (out, 1, *kernel); out must be a multiple of
    in. From arrays, ``DepthwiseConv(weight, bias, σ; groups=in)`` (groups defaults to out)."""

    def __init__(self, *args, groups=None, **kwargs):
        if args and not isinstance(args[0], np.ndarray):
            groups = args[1][0]  # from sizes: one group per input channel
        elif not groups:
            groups = np.shape(args[0] if args else kwargs.get("weight"))[0]
        super().__init__(*args, groups=groups, **kwargs)
        if self.weight.shape[1] != 1:
            raise ValueError(f"DepthwiseConv: weight must have shape (out, 1, *kernel) with out a multiple "
                             f"of the {groups} input channels, got {self.weight.shape}")

    def _check_channels(self, n_in, n_out):
        super()._check_channels(n_in, n_out)
        if n_out % n_in:
            raise ValueError(f"DepthwiseConv: output channels ({n_out}) must be an integer multiple of "
                             f"input channels ({n_in})")

    @staticmethod
    def _weight_shape(kernel, n_in, n_out, groups):
        return (n_out, 1) + kernel


class ConvTranspose(_Conv):
    """ConvTranspose(kernel, (in, out), σ=identity; stride, pad, dilation, groups) — the adjoint of Conv
    (Flux's ∇conv_data): upsamples. Weight (in, out/groups, *kernel); output size per axis
    (I − 1)·S + 1 + (K − 1)·D − (P_lo + P_hi)."""

    _transposed = True

    @staticmethod
    def _weight_shape(kernel, n_in, n_out, groups):
        return (n_in, n_out // groups) + kernel

    @property
    def in_channels(self):
        return self.weight.shape[0]

    @property
    def out_channels(self):
        return self.weight.shape[1] * self.groups

    def _convolve(self, x):
        return fn.conv_transpose(x, self.weight, self.stride, self.pad, self.dilation, self.groups, flipped=True)

    def outdims(self, isize):
        spatial = _spatial_input(self, isize, self.in_channels)
        return fn.conv_transpose_size(spatial, self.kernel, self.stride, self.dilation, self.pad)


_DEFAULTS = {"stride": lambda nd: (1,) * nd, "pad": lambda nd: ((0, 0),) * nd, "dilation": lambda nd: (1,) * nd,
             "groups": lambda nd: 1}


class _Pool(Layer):
    kind = "max"

    def expr(self, input_shape=None):
        """``maxpool(x, window=…, stride=…, pad=…)`` (stride and pad when not the default)."""
        if input_shape is not None:
            self(np.zeros(tuple(input_shape), np.float32))  # the shape is checked
        shown = {"window": self.k} | ({"stride": self.stride} if self.stride != self.k else {})
        shown |= {"pad": self.pad} if any(map(any, self.pad)) else {}
        return applied(f"{self.kind}pool", "x", **shown)

    def __init__(self, kernel, pad=0, stride=None):
        self.k = (kernel,) if isinstance(kernel, int) else tuple(kernel)
        self.k = fn.expand(self.k, len(self.k), "kernel")
        self.stride = fn.expand(stride if stride is not None else self.k, len(self.k), "stride")
        self.pad = _pairs(pad, self.k, (1,) * len(self.k), self.stride)

    def signature(self):
        extra = "" if self.stride == self.k else f", stride={self.stride}"
        extra += f", pad={self.pad}" if any(map(any, self.pad)) else ""
        return f"{type(self).__name__}({self.k}{extra})"

    def __call__(self, x):
        try:
            pool = fn.maxpool if self.kind == "max" else fn.meanpool
            return pool(x, self.k, self.stride, self.pad)
        except ops.ShapeError as e:
            raise ValueError(f"{self.signature()}: {e}") from None

    def outdims(self, isize):
        nd = len(self.k)
        spatial = tuple(isize)[-nd:]
        return tuple(ops.window_count(size, k, s, 1, lo, hi)
                     for size, k, s, (lo, hi) in zip(spatial, self.k, self.stride, self.pad))


class MaxPool(_Pool):
    """MaxPool(kernel; pad=0, stride=kernel) — the maximum over each window (padding is −∞)."""


class MeanPool(_Pool):
    """MeanPool(kernel; pad=0, stride=kernel) — the mean over each window (padding counts as 0)."""

    kind = "mean"


class _GlobalPool(Layer):
    kind = "max"

    def expr(self, input_shape=None):
        """``max(x, spatial axes)`` (or ``mean``): one value per example and channel."""
        return applied(self.kind, "x", axes="spatial")

    def signature(self):
        return f"{type(self).__name__}()"

    def __call__(self, x):
        axes = tuple(range(2, len(shape_of(x))))
        reduce = F.max if self.kind == "max" else F.mean
        return reduce(x, axis=axes, keepdims=True)


class GlobalMaxPool(_GlobalPool):
    """GlobalMaxPool() — (N, C, *spatial) → (N, C, 1, …): the maximum over all spatial positions."""


class GlobalMeanPool(_GlobalPool):
    """GlobalMeanPool() — (N, C, *spatial) → (N, C, 1, …): the mean over all spatial positions."""

    kind = "mean"


class _AdaptivePool(Layer):
    kind = "max"

    def expr(self, input_shape=None):
        """``maxpool(x, out=…)``: windows sized to give spatial size ``out``."""
        return applied(f"{self.kind}pool", "x", out=self.out)

    def __init__(self, out):
        self.out = (out,) if isinstance(out, int) else tuple(out)

    def signature(self):
        return f"{type(self).__name__}({self.out})"

    def __call__(self, x):
        spatial = shape_of(x)[-len(self.out):]
        stride = tuple(i // o for i, o in zip(spatial, self.out))
        kernel = tuple(i - (o - 1) * s for i, o, s in zip(spatial, self.out, stride))
        pool = fn.maxpool if self.kind == "max" else fn.meanpool
        return pool(x, kernel, stride, 0)

    def outdims(self, isize):
        return self.out


class AdaptiveMaxPool(_AdaptivePool):
    """AdaptiveMaxPool(out) — max pooling with stride in ÷ out and window in − (out − 1)·stride."""


class AdaptiveMeanPool(_AdaptivePool):
    """AdaptiveMeanPool(out) — mean pooling sized to give spatial size ``out``."""

    kind = "mean"


# -- outdims ----------------------------------------------------------------------------------------------

def _dense_outdims(layer: Dense, isize):
    n_in, n_out = layer.sizes
    if tuple(isize)[-1] != n_in:
        raise ValueError(f"{layer.signature()}: input size {tuple(isize)} does not have {n_in} features")
    return (n_out,)


def _has_outdims(layer) -> bool:
    return isinstance(layer, (Chain, Dense, Diagonal, Maxout)) or hasattr(layer, "outdims")


def _traced_outdims(layer, k, isize, channels) -> tuple:
    """The per-sample output size of a plain function in a Chain, from tracing it on (1, C, *isize)."""
    if channels is None or not all(isinstance(d, (int, np.integer)) for d in isize):
        raise TypeError(f"outdims: layer {k} ({getattr(layer, '__name__', layer)!r}) is a plain function and the "
                        f"channels before it are unknown; it stops the computation of output sizes")
    channel_axis = () if channels == () else (channels,)
    graph = make_graph(layer, np.zeros((1,) + channel_axis + tuple(isize), np.float32))
    if len(graph.outputs) != 1:
        raise TypeError(f"outdims: layer {k} ({getattr(layer, '__name__', layer)!r}) does not return one array")
    return tuple(graph.outputs[0].shape[1:])


def outdims(model: Any, isize: Sequence) -> tuple:
    """outdims(m, isize): the output size of ``m`` for input size ``isize`` without running it.

    Spatial sizes only (no channel or batch axis), layers applied in forward order; sizes may be
    SymPy symbols, giving formulas. Defined for Chain, Dense, Diagonal, Maxout and the conv/pool
    layers; a dimension mismatch raises ValueError naming the layer."""
    if isinstance(model, Chain):
        channels = None  # (): a feature vector (after Dense), an int: image channels, None: unknown
        for k, layer in enumerate(model.layers):
            if _has_outdims(layer):
                isize = outdims(layer, isize)
                vector = isinstance(layer, (Dense, Diagonal, Maxout))
                channels = getattr(layer, "out_channels", () if vector else channels)
            else:  # flatten, a reshaping lambda: traced on one sample of the current shape
                isize = _traced_outdims(layer, k, isize, channels)
                channels = () if len(isize) == 1 else None
        return tuple(isize)
    if isinstance(model, Dense):
        return _dense_outdims(model, isize)
    if isinstance(model, Diagonal):
        return (model.α.shape[0],)
    if isinstance(model, Maxout):
        return outdims(model.over[0], isize)
    if hasattr(model, "outdims"):
        return tuple(model.outdims(isize))
    raise TypeError(f"outdims is not defined for {model!r} (a plain function has no output size)")

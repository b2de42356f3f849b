"""``np.fft`` / ``sf.fft``: the discrete Fourier transforms on traced arrays, differentiable to any
order (``symflux.fft_ops`` holds the graph op and its rules). On plain values they are NumPy's own.
Their values are complex, which compiled code does not have: graphs with them run in the
interpreter, and ``sf.compile`` says so."""

from __future__ import annotations

import numpy as np

from .. import fft_ops as graph
from .. import trace
from ..array import Tracer
from ._base import _node, ndim, shape
from .arrangement import roll

__all__ = ["fft", "fft2", "fftfreq", "fftn", "fftshift", "ifft", "ifft2", "ifftn", "ifftshift", "irfft", "irfft2",
           "irfftn", "rfft", "rfft2", "rfftfreq", "rfftn"]


def _traced(a) -> bool:
    return trace.any_traced([a])


def _plan(kind, a, s, axes):
    """(axes, lengths) as NumPy's n-dimensional transforms choose them."""
    rank = ndim(a)
    if axes is None:
        axes = list(range(rank)) if s is None else list(range(rank - len(s), rank))
    axes = [ax % rank for ax in axes]
    if s is None:
        s = [shape(a)[ax] for ax in axes]
        if kind == "irfft":
            s[-1] = 2 * (s[-1] - 1)
    if len(s) != len(axes):
        raise ValueError(f"fft: shape {tuple(s)} and axes {tuple(axes)} have different lengths")
    return tuple(axes), tuple(int(n) for n in s)


def _transform(kind, a, s, axes, norm, numpy_name):
    if not _traced(a):
        return getattr(np.fft, numpy_name)(trace.as_numpy(a), s, axes, norm=norm)
    norm = "backward" if norm is None else norm
    if norm not in ("backward", "ortho", "forward"):
        raise ValueError(f"fft: norm must be 'backward', 'ortho' or 'forward', got {norm!r}")
    axes, lengths = _plan(kind, a, s, axes)
    return Tracer(graph.fft(kind, _node(a), axes, lengths, norm))


def _one_axis(kind, numpy_name):
    def transform(a, n=None, axis=-1, norm=None):
        if not _traced(a):
            return getattr(np.fft, numpy_name)(trace.as_numpy(a), n, axis, norm)
        return _transform(kind, a, None if n is None else [n], [axis], norm, kind + "n")
    transform.__name__ = numpy_name
    transform.__doc__ = f"NumPy's ``fft.{numpy_name}`` along one axis (``n``: crop or zero-pad it to n)."
    return transform


def _n_axes(kind, numpy_name, default_axes):
    def transform(a, s=None, axes=default_axes, norm=None):
        return _transform(kind, a, s, axes, norm, numpy_name)
    transform.__name__ = numpy_name
    transform.__doc__ = f"NumPy's ``fft.{numpy_name}`` over ``axes`` (``s``: crop or zero-pad them)."
    return transform


fft = _one_axis("fft", "fft")
ifft = _one_axis("ifft", "ifft")
rfft = _one_axis("rfft", "rfft")
irfft = _one_axis("irfft", "irfft")
fft2 = _n_axes("fft", "fft2", (-2, -1))
ifft2 = _n_axes("ifft", "ifft2", (-2, -1))
rfft2 = _n_axes("rfft", "rfft2", (-2, -1))
irfft2 = _n_axes("irfft", "irfft2", (-2, -1))
fftn = _n_axes("fft", "fftn", None)
ifftn = _n_axes("ifft", "ifftn", None)
rfftn = _n_axes("rfft", "rfftn", None)
irfftn = _n_axes("irfft", "irfftn", None)
fftfreq, rfftfreq = np.fft.fftfreq, np.fft.rfftfreq


def fftshift(x, axes=None):
    """The zero-frequency term moved to the centre of ``axes`` (all by default)."""
    axes = list(range(ndim(x))) if axes is None else [axes] if isinstance(axes, int) else list(axes)
    return roll(x, [shape(x)[ax] // 2 for ax in axes], axes) if axes else x


def ifftshift(x, axes=None):
    """The inverse of ``fftshift``."""
    axes = list(range(ndim(x))) if axes is None else [axes] if isinstance(axes, int) else list(axes)
    return roll(x, [-(shape(x)[ax] // 2) for ax in axes], axes) if axes else x

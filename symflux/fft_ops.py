"""The discrete Fourier transform as a graph op (the user-facing functions are ``symflux.numpy.fft``).

One op, ``fft``, with attributes (kind, axes, lengths, norm): ``kind`` is NumPy's ``fftn``,
``ifftn``, ``rfftn`` or ``irfftn`` over ``axes``, the input cropped or zero-padded to ``lengths``
(NumPy's ``s``). The interpreter evaluates it with NumPy (pocketfft). Derivatives are linear
transposes in JAX's convention for complex numbers (a real input's cotangent is real), written with
the op itself, so derivatives of any order work; the forward derivative of a linear map is the map.
Compiled code has no complex numbers: ``sf.compile`` refuses graphs with transforms, naming the
complex dtype, and they run in the interpreter.
"""

from __future__ import annotations

import numpy as np

from . import functions as fn
from . import ops
from .ir import ARG, Node, make

NUMPY = {"fft": np.fft.fftn, "ifft": np.fft.ifftn, "rfft": np.fft.rfftn, "irfft": np.fft.irfftn}


def _complex_of(dtype) -> np.dtype:
    return np.dtype(np.complex64 if dtype in (np.float32, np.complex64) else np.complex128)


def fft(kind: str, x: Node, axes: tuple, lengths: tuple, norm: str) -> Node:
    """NumPy's ``<kind>n(x, s=lengths, axes=axes, norm=norm)`` as a node (axes non-negative)."""
    if kind == "rfft" and x.dtype.kind == "c":
        raise TypeError(f"fft.rfft needs real input, got {x.dtype} (use fft.fft for complex input)")
    shape = list(x.shape)
    for axis, n in zip(axes, lengths):
        shape[axis] = n
    if kind == "rfft":
        shape[axes[-1]] = lengths[-1] // 2 + 1
    complex_dtype = _complex_of(x.dtype if x.dtype.kind in "fc" else np.float64)
    if kind != "rfft":
        x = ops.cast(x, complex_dtype)
    elif x.dtype.kind != "f":
        x = ops.cast(x, np.float64)
    dtype = np.dtype(np.float32 if complex_dtype == np.complex64 else np.float64) if kind == "irfft" else complex_dtype
    return make("fft", (x,), (kind, tuple(axes), tuple(lengths), norm), tuple(shape), dtype)


def evaluate(node: Node, values, exact: bool):
    if exact:
        raise TypeError("the Fourier transforms have no exact (symbolic) form here; pass floating-point values")
    kind, axes, lengths, norm = node.attrs
    return NUMPY[kind](values[0], s=lengths, axes=axes, norm=norm).astype(node.dtype, copy=False)


# -- derivatives ------------------------------------------------------------------------------------

def _resize(g: Node, axes, sizes) -> Node:
    """``g`` cropped or zero-padded at the end of each of ``axes`` to ``sizes`` (the transpose of
    NumPy's cropping and padding to ``s``)."""
    for axis, n in zip(axes, sizes):
        have = g.shape[axis]
        slices = [(0, d, 1) for d in g.shape]
        if have > n:
            slices[axis] = (0, n, 1)
            g = ops.slice_(g, slices)
        elif have < n:
            shape = list(g.shape)
            shape[axis] = n
            g = ops.unslice(g, tuple(shape), slices)
    return g


def vjp(node: Node, g: Node, i: int):
    kind, axes, lengths, norm = node.attrs
    x = node.args[0]
    sizes = [x.shape[a] for a in axes]
    if kind in ("fft", "ifft"):  # the DFT matrix (scaled) is symmetric: the transpose is the transform
        return _resize(fft(kind, g, axes, lengths, norm), axes, sizes)
    if kind == "rfft":  # x ↦ fftn(x)[…, :n//2+1]: pad the half spectrum, transform, keep the real part
        full = fft("fft", _resize(g, axes[-1:], lengths[-1:]), axes, lengths, norm)
        return _resize(ops.map_(fn.real_part(ARG[0]), [full]), axes, sizes)
    # irfft (JAX's rule): the rfft of the cotangent, the components that the half spectrum stands for
    # twice doubled, scaled as the inverse was, conjugated
    total = float(np.prod(lengths))
    scale = {"backward": 1 / total, "ortho": 1 / np.sqrt(total), "forward": 1.0}[norm]
    half = fft("rfft", g, axes, lengths, "backward")
    n, h = lengths[-1], half.shape[axes[-1]]
    mask = np.full(h, 2.0 * scale)
    mask[0] = scale
    if n % 2 == 0:
        mask[-1] = scale
    mask = mask.reshape([h if a == axes[-1] else 1 for a in range(half.ndim)]).astype(half.dtype)
    out = ops.map_(fn.conj(ARG[0] * ARG[1]), [half, ops.const(mask)])
    return _resize(out, axes, sizes)


def jvp(node: Node, tangents):
    kind, axes, lengths, norm = node.attrs
    return fft(kind, tangents[0], axes, lengths, norm)


def batch(node: Node, args, size):
    """A leading batch axis: the transformed axes move one up."""
    kind, axes, lengths, norm = node.attrs
    return fft(kind, args[0], tuple(a + 1 for a in axes), lengths, norm)

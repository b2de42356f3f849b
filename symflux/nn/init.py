"""Weight initialisers (Flux's defaults: Float32, Glorot)."""

from __future__ import annotations

import math

import numpy as np

from .. import rng
from ..array import Array


def nfan(*dims) -> tuple:
    """(fan_in, fan_out) of a weight of shape ``dims`` in Flux's layout: nfan(out, in) = (in, out);
    conv kernels (k…, in, out) multiply by the receptive field."""
    if len(dims) == 0:
        return (1, 1)
    if len(dims) == 1:
        return (1, dims[0])
    if len(dims) == 2:
        return (dims[1], dims[0])
    receptive = math.prod(dims[:-2])
    return (receptive * dims[-2], receptive * dims[-1])


def _fans(shape) -> tuple:
    """nfan for a weight in symflux's layout: Dense (out, in), conv (out, in, *kernel)."""
    if len(shape) <= 2:
        return nfan(*shape)
    return nfan(*shape[2:], shape[1], shape[0])


def glorot_uniform(*shape, dtype=np.float32) -> Array:
    """U(−√(6/(fan_in+fan_out)), +√(6/(fan_in+fan_out))), Float32."""
    fan_in, fan_out = _fans(shape)
    scale = math.sqrt(24.0 / (fan_in + fan_out))
    return ((rng.generator().random(shape) - 0.5) * scale).astype(dtype).view(Array)


def glorot_normal(*shape, dtype=np.float32) -> Array:
    """N(0, 2/(fan_in+fan_out)), Float32."""
    fan_in, fan_out = _fans(shape)
    return (rng.generator().standard_normal(shape) * math.sqrt(2.0 / (fan_in + fan_out))).astype(dtype).view(Array)


SQRT2 = math.sqrt(2)  # the gain for relu


def kaiming_uniform(*shape, gain=SQRT2, dtype=np.float32) -> Array:
    """U(−b, b) with b = gain·√(3/fan_in) (He et al.), Float32."""
    bound = gain * math.sqrt(3.0 / _fans(shape)[0])
    return ((rng.generator().random(shape) - 0.5) * 2 * bound).astype(dtype).view(Array)


def kaiming_normal(*shape, gain=SQRT2, dtype=np.float32) -> Array:
    """N(0, (gain/√fan_in)²) (He et al.), Float32."""
    return (rng.generator().standard_normal(shape) * (gain / math.sqrt(_fans(shape)[0]))).astype(dtype).view(Array)


def zeros32(*shape) -> Array:
    return np.zeros(shape, dtype=np.float32).view(Array)


def ones32(*shape) -> Array:
    return np.ones(shape, dtype=np.float32).view(Array)

"""Loss functions of Flux v0.11 (``Flux.Losses``), batch-first: the class axis is the last one.

Every loss takes ``agg`` (default ``sf.mean``; ``sf.sum`` or ``identity`` work too) and is made of
sf operations, so it works on plain arrays, traces under ``gradient``, and stays Float32 for
Float32 inputs.
"""

from __future__ import annotations

import functools

import numpy as np

from .. import numpy as F
from ..ops import ShapeError, fmt_shape


def _eps(x) -> float:
    dtype = getattr(x, "dtype", np.dtype(np.float64))
    return float(np.finfo(dtype if dtype.kind == "f" else np.float64).eps)


def _sizes_checked(loss):
    """Flux's ``_check_sizes``: ŷ and y of different shapes are a mistake (an (N, 1) prediction
    against (N,) targets would silently broadcast to (N, N)), not something to broadcast."""
    @functools.wraps(loss)
    def checked(ŷ, y, *args, **kwargs):
        a, b = F.shape(ŷ), F.shape(y)
        if a != b and a != () and b != ():
            raise ShapeError(f"{loss.__name__}: the prediction ŷ has shape {fmt_shape(a)} but the target y has "
                             f"shape {fmt_shape(b)}; they must match (reshape one, e.g. ŷ.reshape(-1))")
        return loss(ŷ, y, *args, **kwargs)
    return checked


def xlogy(x, y):
    """x·log(y), and 0 where x == 0 (so 0·log 0 = 0)."""
    return F.where(F.equal(x, 0), 0, F.multiply(x, F.log(y)))


def xlogx(x):
    return xlogy(x, x)


@_sizes_checked
def mse(ŷ, y, agg=F.mean):
    """mse(ŷ, y; agg=mean) = agg((ŷ .- y).^2)"""
    return agg(F.square(F.subtract(ŷ, y)))


@_sizes_checked
def mae(ŷ, y, agg=F.mean):
    """mae(ŷ, y; agg=mean) = agg(abs.(ŷ .- y))"""
    return agg(F.abs(F.subtract(ŷ, y)))


@_sizes_checked
def msle(ŷ, y, agg=F.mean, ϵ=None):
    """msle(ŷ, y; agg=mean, ϵ=eps) = agg(log.((ŷ .+ ϵ) ./ (y .+ ϵ)).^2)"""
    ϵ = _eps(ŷ) if ϵ is None else ϵ
    return agg(F.square(F.log(F.divide(F.add(ŷ, ϵ), F.add(y, ϵ)))))


@_sizes_checked
def huber_loss(ŷ, y, agg=F.mean, δ=1.0):
    """huber_loss(ŷ, y; agg=mean, δ=1): ½e² where e = |ŷ − y| < δ, else δ(e − ½δ)."""
    e = F.abs(F.subtract(ŷ, y))
    quadratic = F.multiply(0.5, F.square(e))
    linear = F.multiply(δ, F.subtract(e, 0.5 * δ))
    return agg(F.where(F.less(e, δ), quadratic, linear))


@_sizes_checked
def crossentropy(ŷ, y, dims=-1, agg=F.mean, ϵ=None):
    """crossentropy(ŷ, y; dims=-1, agg=mean, ϵ=eps) = agg(−sum(xlogy.(y, ŷ .+ ϵ); dims))"""
    ϵ = _eps(ŷ) if ϵ is None else ϵ
    return agg(F.negative(F.sum(xlogy(y, F.add(ŷ, ϵ)), axis=dims)))


@_sizes_checked
def logitcrossentropy(ŷ, y, dims=-1, agg=F.mean):
    """logitcrossentropy(ŷ, y; dims=-1, agg=mean) = agg(−sum(y .* logsoftmax(ŷ; dims); dims))"""
    return agg(F.negative(F.sum(F.multiply(y, F.logsoftmax(ŷ, axis=dims)), axis=dims)))


@_sizes_checked
def binarycrossentropy(ŷ, y, agg=F.mean, ϵ=None):
    """binarycrossentropy(ŷ, y; agg=mean, ϵ=eps) = agg(−xlogy(y, ŷ+ϵ) − xlogy(1−y, 1−ŷ+ϵ))"""
    ϵ = _eps(ŷ) if ϵ is None else ϵ
    positive = xlogy(y, F.add(ŷ, ϵ))
    negative = xlogy(F.subtract(1, y), F.add(F.subtract(1, ŷ), ϵ))
    return agg(F.negative(F.add(positive, negative)))


@_sizes_checked
def logitbinarycrossentropy(ŷ, y, agg=F.mean):
    """logitbinarycrossentropy(ŷ, y; agg=mean) = agg((1 − y)·ŷ − logσ(ŷ))"""
    return agg(F.subtract(F.multiply(F.subtract(1, y), ŷ), F.logsigmoid(ŷ)))


@_sizes_checked
def kldivergence(ŷ, y, dims=-1, agg=F.mean, ϵ=None):
    """kldivergence(ŷ, y; dims=-1, agg=mean) = agg(sum(xlogx.(y); dims)) + crossentropy(ŷ, y)"""
    entropy = agg(F.sum(xlogx(y), axis=dims))
    return F.add(entropy, crossentropy(ŷ, y, dims=dims, agg=agg, ϵ=ϵ))


@_sizes_checked
def poisson_loss(ŷ, y, agg=F.mean):
    """poisson_loss(ŷ, y; agg=mean) = agg(ŷ .− xlogy.(y, ŷ))"""
    return agg(F.subtract(ŷ, xlogy(y, ŷ)))


@_sizes_checked
def hinge_loss(ŷ, y, agg=F.mean):
    """hinge_loss(ŷ, y; agg=mean) = agg(max.(0, 1 .− ŷ .* y))"""
    return agg(F.maximum(0, F.subtract(1, F.multiply(ŷ, y))))


@_sizes_checked
def squared_hinge_loss(ŷ, y, agg=F.mean):
    """squared_hinge_loss(ŷ, y; agg=mean) = agg(max.(0, 1 .− ŷ .* y).^2)"""
    return agg(F.square(F.maximum(0, F.subtract(1, F.multiply(ŷ, y)))))


@_sizes_checked
def dice_coeff_loss(ŷ, y, smooth=1):
    """dice_coeff_loss(ŷ, y; smooth=1) = 1 − (2·sum(y .* ŷ) + smooth) / (sum(y.^2) + sum(ŷ.^2) + smooth)"""
    numerator = F.add(F.multiply(2, F.sum(F.multiply(y, ŷ))), smooth)
    denominator = F.add(F.add(F.sum(F.square(y)), F.sum(F.square(ŷ))), smooth)
    return F.subtract(1, F.divide(numerator, denominator))


@_sizes_checked
def tversky_loss(ŷ, y, β=0.7):
    """tversky_loss(ŷ, y; β=0.7) = 1 − (sum(y .* ŷ) + 1) / (sum(y .* ŷ + β(1 .− y) .* ŷ + (1 − β) y .* (1 .− ŷ)) + 1)"""
    true_positive = F.sum(F.multiply(y, ŷ))
    false_positive = F.multiply(β, F.multiply(F.subtract(1, y), ŷ))
    false_negative = F.multiply(1 - β, F.multiply(y, F.subtract(1, ŷ)))
    denominator = F.add(F.sum(F.add(F.add(F.multiply(y, ŷ), false_positive), false_negative)), 1)
    return F.subtract(1, F.divide(F.add(true_positive, 1), denominator))

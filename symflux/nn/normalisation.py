"""Dropout, BatchNorm and LayerNorm: layers whose behaviour depends on training mode.

They are active while a gradient is taken (or after ``trainmode``), as in Flux. BatchNorm's
running statistics are layer state: updated from concrete batch statistics, also when the
forward pass is traced (``trace.set_state`` replays the update with the evaluated values).
"""

from __future__ import annotations

import numpy as np

from .. import numpy as F
from .. import ops, rng, trace
from ..array import Tracer
from .init import ones32, zeros32
from .layers import Layer, activation_name, identity, is_training, match_precision, shape_of


class Dropout(Layer):
    """Dropout(p; dims=None) — in training, x .* mask with mask = (U[0,1) > p) / (1 − p);
    ``dims`` (an axis or tuple) gets independent mask values, other axes share them."""

    def __init__(self, p, dims=None):
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout: probability must be in [0, 1], got {p}")
        self.p, self.dims, self.active = p, dims, None

    def signature(self):
        return f"Dropout({self.p}{'' if self.dims is None else f', dims={self.dims}'})"

    def __call__(self, x):
        return dropout(x, self.p, self.dims, active=is_training(self))


def dropout(x, p, dims=None, active=True):
    """Flux's ``dropout(x, p; dims, active)``: x .* mask with mask = (U[0,1) > p) / (1 − p) when
    ``active``; ``dims`` (an axis or tuple) gets independent mask values, other axes share them."""
    if not active or p == 0:
        return x
    shape = shape_of(x)
    if dims is None:
        mask_shape = shape
    else:
        axes = {d % len(shape) for d in np.atleast_1d(dims)}
        mask_shape = tuple(n if i in axes else 1 for i, n in enumerate(shape))
    scale = 0.0 if p == 1 else 1.0 / (1.0 - p)
    dtype = x.dtype if hasattr(x, "dtype") and x.dtype.kind == "f" else np.float64
    if isinstance(x, Tracer):  # a random node: a cached graph draws a new mask every step
        uniform = Tracer(ops.rand(mask_shape, dtype))
    else:
        uniform = rng.generator().random(mask_shape).astype(dtype)
    mask = F.where(F.greater(uniform, p), scale, 0.0)
    return F.multiply(x, F.astype(mask, dtype))


def normalise(x, axis=-1, eps=1e-5):
    """Flux's ``normalise(x; dims, ϵ)``: (x − μ)/(σ + ϵ) with the mean and uncorrected standard
    deviation along ``axis`` (the feature axis, last in symflux's batch-first layout)."""
    mu = F.mean(x, axis=axis, keepdims=True)
    sigma = F.sqrt(F.mean(F.square(F.subtract(x, mu)), axis=axis, keepdims=True))
    return F.divide(F.subtract(x, mu), F.add(sigma, eps))


class BatchNorm(Layer):
    """BatchNorm(channels, λ=identity; initβ=zeros, initγ=ones, ϵ=1e-5, momentum=0.1)
    — y = λ.(γ .* (x .- μ) ./ sqrt.(σ2 .+ ϵ) .+ β) over the channel axis (axis 1, NCHW).

    Training uses the batch statistics (population variance) and updates the running ones:
    μ ← (1−m)μ + m·μ_batch, σ2 ← (1−m)σ2 + m·σ2_batch·n/(n−1). Only β and γ are trainable."""

    def __init__(self, channels, λ=identity, initβ=zeros32, initγ=ones32, ϵ=1e-5, momentum=0.1):
        self.λ, self.ϵ, self.momentum, self.active = λ, ϵ, momentum, None
        self.β, self.γ = F.asarray(initβ(channels)), F.asarray(initγ(channels))
        self.μ, self.σ2 = zeros32(channels), ones32(channels)

    def trainable(self):
        return [self.β, self.γ]

    def signature(self):
        act = "" if self.λ is identity else f", {activation_name(self.λ)}"
        return f"BatchNorm({self.β.shape[0]}{act})"

    def __call__(self, x):
        shape = shape_of(x)
        channels = self.β.shape[0]
        if len(shape) < 2 or shape[1] != channels:
            raise ValueError(f"{self.signature()}: expected {channels} channels on axis 1, "
                             f"got an input of shape {shape}")
        x = match_precision(x, self.γ)
        axes = (0,) + tuple(range(2, len(shape)))
        per_channel = (1, channels) + (1,) * (len(shape) - 2)
        if is_training(self):
            μ = F.mean(x, axis=axes, keepdims=True)
            σ2 = F.mean(F.square(F.subtract(x, μ)), axis=axes, keepdims=True)
            self._update_running(μ, σ2, int(np.prod([shape[a] for a in axes])), channels)
        else:
            μ, σ2 = F.reshape(self.μ, per_channel), F.reshape(self.σ2, per_channel)
        normalised = F.divide(F.subtract(x, μ), F.sqrt(F.add(σ2, self.ϵ)))
        y = F.add(F.multiply(F.reshape(self.γ, per_channel), normalised), F.reshape(self.β, per_channel))
        return self.λ(y)

    def _update_running(self, μ, σ2, n, channels):
        m = self.momentum
        batch_μ, batch_σ2 = F.reshape(F.stop_gradient(μ), (channels,)), F.reshape(F.stop_gradient(σ2), (channels,))
        correction = n / max(n - 1, 1)
        new_μ = F.add(F.multiply(1 - m, self.μ), F.multiply(m, batch_μ))
        new_σ2 = F.add(F.multiply(1 - m, self.σ2), F.multiply(m * correction, batch_σ2))
        trace.set_state(self, "μ", F.astype(new_μ, self.μ.dtype))
        trace.set_state(self, "σ2", F.astype(new_σ2, self.σ2.dtype))


class LayerNorm(Layer):
    """LayerNorm(n; ϵ=1e-5) — y = α .* (x .- μ) ./ (σ .+ ϵ) .+ β over the last (feature) axis,
    σ the population standard deviation (Flux v0.11: ϵ is added to σ)."""

    def __init__(self, n, ϵ=1e-5):
        self.α, self.β, self.ϵ = ones32(n), zeros32(n), ϵ

    def signature(self):
        return f"LayerNorm({self.α.shape[0]})"

    def __call__(self, x):
        x = match_precision(x, self.α)
        μ = F.mean(x, axis=-1, keepdims=True)
        σ = F.std(x, axis=-1, keepdims=True)
        normalised = F.divide(F.subtract(x, μ), F.add(σ, self.ϵ))
        return F.add(F.multiply(self.α, normalised), self.β)

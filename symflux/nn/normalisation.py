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
    sigma = F.std(x, axis=axis, keepdims=True)  # its derivative is 0 for a constant x: no NaN
    return F.divide(F.subtract(x, mu), F.add(sigma, eps))


class AlphaDropout(Layer):
    """AlphaDropout(p) — dropout for SELU networks (Klambauer et al.): in training, a dropped value
    becomes α′ = −λα (SELU's negative saturation) and the result is scaled and shifted, a·x + b, so
    that zero mean and unit variance are kept."""

    def __init__(self, p):
        if not 0 <= p <= 1:
            raise ValueError(f"AlphaDropout: probability must be in [0, 1], got {p}")
        self.p, self.active = p, None

    def signature(self):
        return f"AlphaDropout({self.p})"

    def __call__(self, x):
        p = self.p
        if not is_training(self) or p == 0:
            return x
        saturation = -1.0507009873554805 * 1.6732632423543772
        a = ((1 - p) * (1 + p * saturation**2)) ** -0.5
        b = -a * saturation * p
        dtype = x.dtype if hasattr(x, "dtype") and x.dtype.kind == "f" else np.float64
        uniform = Tracer(ops.rand(shape_of(x), dtype)) if isinstance(x, Tracer) else \
            rng.generator().random(shape_of(x)).astype(dtype)
        kept = F.where(F.greater(uniform, p), x, saturation)
        return F.add(F.multiply(a, kept), b)


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
            _update_running(self, F.reshape(μ, (channels,)), F.reshape(σ2, (channels,)),
                            int(np.prod([shape[a] for a in axes])))
        else:
            μ, σ2 = F.reshape(self.μ, per_channel), F.reshape(self.σ2, per_channel)
        normalised = F.divide(F.subtract(x, μ), F.sqrt(F.add(σ2, self.ϵ)))
        y = F.add(F.multiply(F.reshape(self.γ, per_channel), normalised), F.reshape(self.β, per_channel))
        return self.λ(y)



def _update_running(layer, μ, σ2, n):
    """μ ← (1−m)μ + m·μ_batch, σ2 ← (1−m)σ2 + m·σ2_batch·n/(n−1): the running statistics of a
    normalisation layer (layer state), from batch statistics of its running shape over n values."""
    m = layer.momentum
    new_μ = F.add(F.multiply(1 - m, layer.μ), F.multiply(m, F.stop_gradient(μ)))
    new_σ2 = F.add(F.multiply(1 - m, layer.σ2), F.multiply(m * n / max(n - 1, 1), F.stop_gradient(σ2)))
    trace.set_state(layer, "μ", F.astype(new_μ, layer.μ.dtype))
    trace.set_state(layer, "σ2", F.astype(new_σ2, layer.σ2.dtype))


class _GroupedNorm(Layer):
    """InstanceNorm and GroupNorm: statistics per sample over the spatial axes of each group of
    channels (one channel per group for InstanceNorm); running statistics per group, averaged over
    the batch (Flux v0.11), used outside training; γ and β per channel."""

    def __init__(self, channels, groups, λ, initβ, initγ, ϵ, momentum):
        if channels % groups:
            raise ValueError(f"{type(self).__name__}: {channels} channels do not split into {groups} groups")
        self.λ, self.ϵ, self.momentum, self.active, self.groups = λ, ϵ, momentum, None, groups
        self.β, self.γ = F.asarray(initβ(channels)), F.asarray(initγ(channels))
        self.μ, self.σ2 = zeros32(groups), ones32(groups)

    def trainable(self):
        return [self.β, self.γ]

    def __call__(self, x):
        shape = shape_of(x)
        channels, g = self.β.shape[0], self.groups
        if len(shape) < 3 or shape[1] != channels:
            raise ValueError(f"{self.signature()}: expected (N, {channels}, spatial…), got an input of shape {shape}")
        x = match_precision(x, self.γ)
        grouped = F.reshape(x, (shape[0], g, channels // g) + tuple(shape[2:]))
        axes = tuple(range(2, len(shape) + 1))
        per_group = (1, g) + (1,) * (len(shape) - 1)
        if is_training(self):
            μ = F.mean(grouped, axis=axes, keepdims=True)
            σ2 = F.mean(F.square(F.subtract(grouped, μ)), axis=axes, keepdims=True)
            n = channels // g * int(np.prod(shape[2:]))
            _update_running(self, F.mean(F.reshape(μ, (shape[0], g)), axis=0),
                            F.mean(F.reshape(σ2, (shape[0], g)), axis=0), n)
        else:
            μ, σ2 = F.reshape(self.μ, per_group), F.reshape(self.σ2, per_group)
        normalised = F.reshape(F.divide(F.subtract(grouped, μ), F.sqrt(F.add(σ2, self.ϵ))), shape)
        per_channel = (1, channels) + (1,) * (len(shape) - 2)
        return self.λ(F.add(F.multiply(F.reshape(self.γ, per_channel), normalised), F.reshape(self.β, per_channel)))


class InstanceNorm(_GroupedNorm):
    """InstanceNorm(channels, λ=identity; initβ=zeros, initγ=ones, ϵ=1e-5, momentum=0.1) — each sample's
    channels normalised over their spatial axes (NCHW), then y = λ.(γ·x̂ .+ β)."""

    def __init__(self, channels, λ=identity, initβ=zeros32, initγ=ones32, ϵ=1e-5, momentum=0.1):
        super().__init__(channels, channels, λ, initβ, initγ, ϵ, momentum)

    def signature(self):
        act = "" if self.λ is identity else f", {activation_name(self.λ)}"
        return f"InstanceNorm({self.β.shape[0]}{act})"


class GroupNorm(_GroupedNorm):
    """GroupNorm(channels, groups, λ=identity; initβ=zeros, initγ=ones, ϵ=1e-5, momentum=0.1) — each
    sample's channels split into ``groups`` groups, each normalised over its channels and spatial axes."""

    def __init__(self, channels, groups, λ=identity, initβ=zeros32, initγ=ones32, ϵ=1e-5, momentum=0.1):
        super().__init__(channels, groups, λ, initβ, initγ, ϵ, momentum)

    def signature(self):
        act = "" if self.λ is identity else f", {activation_name(self.λ)}"
        return f"GroupNorm({self.β.shape[0]}, {self.groups}{act})"


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

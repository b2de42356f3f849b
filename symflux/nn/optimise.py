"""Optimisers with Flux's update rules and defaults, ``update`` and ``train``.

``apply(x, Δ)`` returns the step Δ′ for parameter x (and, like Flux's ``apply!``, writes it into
Δ when Δ is a writable array); ``update`` subtracts it in place. State (moments, step counts) is
kept per parameter object.
"""

from __future__ import annotations

import numpy as np

from .. import numpy_api as F

ϵ = 1e-8


class Optimiser:
    """Optimiser(opts...) chains rules: each one's Δ′ is the next one's Δ (Flux's Optimiser)."""

    def __init__(self, *opts):
        self.opts = list(opts)

    def apply(self, x, Δ):
        for opt in self.opts:
            Δ = opt.apply(x, Δ)
        return Δ

    def graph_delta(self, x, g):
        for opt in self.opts:
            g = opt.graph_delta(x, g)
            if g is None:
                return None
        return g

    def __repr__(self):
        return f"Optimiser({', '.join(map(repr, self.opts))})"


class Rule:
    """Base of the single rules: per-parameter state keyed by identity."""

    def __init__(self):
        self.state = {}

    def _state(self, x, make):
        entry = self.state.get(id(x))
        if entry is None or entry[0] is not x:
            entry = (x, make())
            self.state[id(x)] = entry
        return entry[1]

    def graph_delta(self, x, g):
        """Δ′ as array operations on traced x and Δ, for rules without state (so a compiled step can
        apply them in place); None for rules that keep state."""
        return None

    def apply(self, x, Δ):
        Δ_new = self.step(x, np.asarray(Δ))
        if isinstance(Δ, np.ndarray) and Δ.flags.writeable and Δ.shape == np.shape(Δ_new):
            Δ[...] = Δ_new
            return Δ
        return Δ_new

    def __repr__(self):
        fields = ", ".join(f"{v!r}" for k, v in vars(self).items() if k != "state")
        return f"{type(self).__name__}({fields})"


class Descent(Rule):
    """Descent(η=0.1): Δ′ = η·Δ"""

    def __init__(self, eta=0.1):
        super().__init__()
        self.eta = eta

    def step(self, x, Δ):
        return self.eta * Δ

    def graph_delta(self, x, g):
        return F.multiply(self.eta, g)


class Momentum(Rule):
    """Momentum(η=0.01, ρ=0.9): v ← ρv − ηΔ; Δ′ = −v"""

    def __init__(self, eta=0.01, rho=0.9):
        super().__init__()
        self.eta, self.rho = eta, rho

    def step(self, x, Δ):
        v = self._state(x, lambda: np.zeros_like(Δ))
        v[...] = self.rho * v - self.eta * Δ
        return -v


class Nesterov(Rule):
    """Nesterov(η=0.001, ρ=0.9): d = ρ²v − (1+ρ)ηΔ; v ← ρv − ηΔ; Δ′ = −d"""

    def __init__(self, eta=0.001, rho=0.9):
        super().__init__()
        self.eta, self.rho = eta, rho

    def step(self, x, Δ):
        v = self._state(x, lambda: np.zeros_like(Δ))
        d = self.rho**2 * v - (1 + self.rho) * self.eta * Δ
        v[...] = self.rho * v - self.eta * Δ
        return -d


class RMSProp(Rule):
    """RMSProp(η=0.001, ρ=0.9): acc ← ρ·acc + (1−ρ)Δ²; Δ′ = Δ·η/(√acc + ϵ)"""

    def __init__(self, eta=0.001, rho=0.9):
        super().__init__()
        self.eta, self.rho = eta, rho

    def step(self, x, Δ):
        acc = self._state(x, lambda: np.zeros_like(Δ))
        acc[...] = self.rho * acc + (1 - self.rho) * Δ**2
        return Δ * self.eta / (np.sqrt(acc) + ϵ)


class _Moments(Rule):
    """Shared by the ADAM family: η, β = (β₁, β₂), and per parameter a first moment m, a second
    statistic v and the running powers and step βᵗ = [β₁ᵗ, β₂ᵗ, t], advanced by ``_advance``."""

    def __init__(self, eta=0.001, beta=(0.9, 0.999)):
        super().__init__()
        self.eta, self.beta = eta, tuple(beta)

    def _moments(self, x, Δ):
        """(m, v, βᵗ) for x, with m ← β₁m + (1−β₁)Δ already applied (v is the rule's to update)."""
        m, v, βp = self._state(x, lambda: [np.zeros_like(Δ), np.zeros_like(Δ), [*self.beta, 1]])
        m[...] = self.beta[0] * m + (1 - self.beta[0]) * Δ
        return m, v, βp

    def _advance(self, βp):
        βp[0], βp[1], βp[2] = βp[0] * self.beta[0], βp[1] * self.beta[1], βp[2] + 1


class ADAM(_Moments):
    """ADAM(η=0.001, β=(0.9, 0.999)): m ← β₁m + (1−β₁)Δ; v ← β₂v + (1−β₂)Δ²;
    Δ′ = m/(1−β₁ᵗ) / (√(v/(1−β₂ᵗ)) + ϵ) · η"""

    def step(self, x, Δ):
        m, v, βp = self._moments(x, Δ)
        v[...] = self.beta[1] * v + (1 - self.beta[1]) * Δ**2
        out = m / (1 - βp[0]) / (np.sqrt(v / (1 - βp[1])) + ϵ) * self.eta
        self._advance(βp)
        return out


class RADAM(_Moments):
    """RADAM(η=0.001, β=(0.9, 0.999)): ADAM with the variance rectification of Liu et al."""

    def step(self, x, Δ):
        b2 = self.beta[1]
        ρ_inf = 2 / (1 - b2) - 1
        m, v, βp = self._moments(x, Δ)
        v[...] = b2 * v + (1 - b2) * Δ**2
        ρ = ρ_inf - 2 * βp[2] * βp[1] / (1 - βp[1])
        if ρ > 4:
            r = np.sqrt((ρ - 4) * (ρ - 2) * ρ_inf / ((ρ_inf - 4) * (ρ_inf - 2) * ρ))
            out = m / (1 - βp[0]) / (np.sqrt(v / (1 - βp[1])) + ϵ) * self.eta * r
        else:
            out = m / (1 - βp[0]) * self.eta
        self._advance(βp)
        return out


class AdaMax(_Moments):
    """AdaMax(η=0.001, β=(0.9, 0.999)): u ← max(β₂u, |Δ|); Δ′ = η/(1−β₁ᵗ) · m/(u + ϵ)"""

    def step(self, x, Δ):
        m, u, βp = self._moments(x, Δ)
        u[...] = np.maximum(self.beta[1] * u, np.abs(Δ))
        out = self.eta / (1 - βp[0]) * m / (u + ϵ)
        self._advance(βp)
        return out


class ADAGrad(Rule):
    """ADAGrad(η=0.1): acc ← acc + Δ² (starting at ϵ); Δ′ = Δ·η/(√acc + ϵ)"""

    def __init__(self, eta=0.1):
        super().__init__()
        self.eta = eta

    def step(self, x, Δ):
        acc = self._state(x, lambda: np.full_like(Δ, ϵ))
        acc[...] = acc + Δ**2
        return Δ * self.eta / (np.sqrt(acc) + ϵ)


class ADADelta(Rule):
    """ADADelta(ρ=0.9): acc ← ρ·acc + (1−ρ)Δ²; Δ′ = Δ·√(Δacc + ϵ)/√(acc + ϵ); Δacc ← ρ·Δacc + (1−ρ)Δ′²"""

    def __init__(self, rho=0.9):
        super().__init__()
        self.rho = rho

    def step(self, x, Δ):
        acc, Δacc = self._state(x, lambda: [np.zeros_like(Δ), np.zeros_like(Δ)])
        acc[...] = self.rho * acc + (1 - self.rho) * Δ**2
        out = Δ * np.sqrt(Δacc + ϵ) / np.sqrt(acc + ϵ)
        Δacc[...] = self.rho * Δacc + (1 - self.rho) * out**2
        return out


class AMSGrad(Rule):
    """AMSGrad(η=0.001, β=(0.9, 0.999)): v̂ ← max(v̂, v); Δ′ = η·m/(√v̂ + ϵ) (state starts at ϵ)"""

    def __init__(self, eta=0.001, beta=(0.9, 0.999)):
        super().__init__()
        self.eta, self.beta = eta, tuple(beta)

    def step(self, x, Δ):
        b1, b2 = self.beta
        m, v, v_hat = self._state(x, lambda: [np.full_like(Δ, ϵ) for _ in range(3)])
        m[...] = b1 * m + (1 - b1) * Δ
        v[...] = b2 * v + (1 - b2) * Δ**2
        v_hat[...] = np.maximum(v_hat, v)
        return self.eta * m / (np.sqrt(v_hat) + ϵ)


class NADAM(_Moments):
    """NADAM(η=0.001, β=(0.9, 0.999)): ADAM with Nesterov momentum (Dozat)."""

    def step(self, x, Δ):
        b1, b2 = self.beta
        m, v, βp = self._moments(x, Δ)
        v[...] = b2 * v + (1 - b2) * Δ**2
        out = (b1 * m / (1 - b1 * βp[0]) + (1 - b1) * Δ / (1 - βp[0])) / (np.sqrt(v * b2 / (1 - βp[1])) + ϵ) * self.eta
        self._advance(βp)
        return out


class WeightDecay(Rule):
    """WeightDecay(wd=0): Δ′ = Δ + wd·x"""

    def __init__(self, wd=0.0):
        super().__init__()
        self.wd = wd

    def step(self, x, Δ):
        return Δ + self.wd * np.asarray(x)

    def graph_delta(self, x, g):
        return F.add(g, F.multiply(self.wd, x))


def ADAMW(eta=0.001, beta=(0.9, 0.999), decay=0.0) -> Optimiser:
    """ADAMW(η=0.001, β=(0.9, 0.999), decay=0) = Optimiser(ADAM(η, β), WeightDecay(decay))"""
    return Optimiser(ADAM(eta, beta), WeightDecay(decay))


class ClipValue(Rule):
    """ClipValue(θ): Δ′ = clamp(Δ, −θ, θ)"""

    def __init__(self, thresh):
        super().__init__()
        self.thresh = thresh

    def step(self, x, Δ):
        return np.clip(Δ, -self.thresh, self.thresh)

    def graph_delta(self, x, g):
        return F.clip(g, -self.thresh, self.thresh)


class ClipNorm(Rule):
    """ClipNorm(θ): Δ′ = Δ·θ/‖Δ‖ when ‖Δ‖ > θ"""

    def __init__(self, thresh):
        super().__init__()
        self.thresh = thresh

    def step(self, x, Δ):
        norm = np.sqrt(np.sum(Δ * Δ))
        return Δ * (self.thresh / norm) if norm > self.thresh else Δ


class ExpDecay(Rule):
    """ExpDecay(η=0.001, decay=0.1, decay_step=1000, clip=1e-4): Δ′ = η·Δ, with η ← max(η·decay, clip)
    every ``decay_step`` steps (counted per parameter, decayed once per step across parameters)."""

    def __init__(self, eta=0.001, decay=0.1, decay_step=1000, clip=1e-4):
        super().__init__()
        self.eta, self.decay, self.step_size, self.clip = eta, decay, decay_step, clip

    def step(self, x, Δ):
        counter = self._state(x, lambda: [0])
        counter[0] += 1
        at_boundary = [c for _, c in self.state.values() if c[0] % self.step_size == 0]
        if counter[0] % self.step_size == 0 and len(at_boundary) == 1:
            self.eta = max(self.eta * self.decay, self.clip)
        return Δ * self.eta


class InvDecay(Rule):
    """InvDecay(γ=0.001): Δ′ = Δ / (1 + γ·n) at the parameter's n-th step"""

    def __init__(self, gamma=0.001):
        super().__init__()
        self.gamma = gamma

    def step(self, x, Δ):
        counter = self._state(x, lambda: [1])
        out = Δ / (1 + self.gamma * counter[0])
        counter[0] += 1
        return out


OPTIMISERS = (Optimiser, Rule)

"""Optimisers with Flux's update rules and defaults.

Each rule is written once, as a pure function ``update(x, Δ, state) -> (Δ′, new_state)`` in sf
operations, with its per-parameter state as arrays from ``init_state(x)``. The same code runs
eagerly on NumPy arrays (``apply``, Flux's ``apply!``, which also writes Δ′ into Δ) and inside a
traced training step, where ``train_step`` compiles it and updates the parameters and the state
in place. State is kept per parameter object.
"""

from __future__ import annotations

import functools
import inspect

import numpy as np

from .. import numpy as F

ϵ = 1e-8

# The keywords people type (PyTorch's, Flux's Greek letters) → the constructors' parameter names.
KEYWORDS = {"lr": ("eta",), "learning_rate": ("eta",), "η": ("eta",), "betas": ("beta",), "β": ("beta",),
            "ρ": ("rho",), "momentum": ("rho",), "weight_decay": ("wd", "decay"), "γ": ("gamma",)}


def _with_keyword_aliases(init):
    params = inspect.signature(init).parameters

    @functools.wraps(init)
    def wrapped(*args, **kwargs):
        translated = {}
        for key, value in kwargs.items():
            name = next((n for n in KEYWORDS.get(key, ()) if n in params), key)
            if name in translated:
                raise TypeError(f"{init.__qualname__}: {key}= and {name}= both given")
            translated[name] = value
        return init(*args, **translated)
    return wrapped


class Rule:
    """Base of the optimisers: per-parameter state arrays keyed by identity. Constructors take Flux's
    positional arguments and keywords, including PyTorch's names (``ADAM(lr=1e-3, betas=…)``)."""

    #: rules whose step cannot be written per parameter (ExpDecay) run eagerly only
    traceable = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__init__" in vars(cls):
            cls.__init__ = _with_keyword_aliases(cls.__init__)

    def __init__(self):
        self.state = {}

    def init_state(self, x) -> list:
        return []

    def update(self, x, Δ, state):
        raise TypeError(f"{type(self).__name__} defines no update rule")

    def __setstate__(self, state):
        """After pickle or deepcopy the parameters are new objects: the state is keyed by their new
        identities (each entry holds its parameter, so they come back linked)."""
        self.__dict__.update(state)
        self.state = {id(x): (x, s) for x, s in state.get("state", {}).values()}

    def reduce(self, loss, grads: list) -> tuple:
        """(loss, gradients) as the update sees them: these ones here; averaged over the ranks of a
        data-parallel job by ``symflux.distributed.DistributedOptimizer``."""
        return loss, grads

    def state_for(self, x) -> list:
        """The state arrays of parameter ``x`` (created on first use)."""
        entry = self.state.get(id(x))
        if entry is None or entry[0] is not x:
            # arrays even for a 0-d parameter (where zeros + ϵ is a NumPy scalar): the state is updated in place
            entry = (x, [np.asarray(a) for a in self.init_state(np.asarray(x))])
            self.state[id(x)] = entry
        return entry[1]

    def apply(self, x, Δ):
        """Δ′ for parameter x; like Flux's ``apply!`` it is also written into Δ when possible."""
        state = self.state_for(x)
        Δ_new, new_state = self.update(np.asarray(x), np.asarray(Δ), state)
        for old, new in zip(state, new_state):
            old[...] = new
        Δ_new = np.asarray(Δ_new)
        if isinstance(Δ, np.ndarray) and Δ.flags.writeable and Δ.shape == Δ_new.shape:
            Δ[...] = Δ_new
            return Δ
        return Δ_new

    def __repr__(self):
        fields = ", ".join(f"{v!r}" for k, v in vars(self).items() if k != "state")
        return f"{type(self).__name__}({fields})"


class Optimiser(Rule):
    """Optimiser(opts...) chains rules: each one's Δ′ is the next one's Δ (Flux's Optimiser)."""

    def __init__(self, *opts):
        super().__init__()
        self.opts = list(opts)
        self.traceable = all(o.traceable for o in self.opts)

    def init_state(self, x):
        states = [o.state_for(x) for o in self.opts]
        self.counts = [len(s) for s in states]  # how the chained state splits between the rules
        return [a for s in states for a in s]

    def update(self, x, Δ, state):
        new_state, k = [], 0
        for o, n in zip(self.opts, self.counts):
            Δ, s = o.update(x, Δ, state[k:k + n])
            new_state += list(s)
            k += n
        return Δ, new_state

    def apply(self, x, Δ):
        for o in self.opts:
            Δ = o.apply(x, Δ)
        return Δ

    def __repr__(self):
        return f"Optimiser({', '.join(map(repr, self.opts))})"


def _zeros(x):
    return np.zeros_like(x, dtype=x.dtype if x.dtype.kind == "f" else np.float64)


def _powers(beta):
    """[β₁ᵗ, β₂ᵗ, t] for t = 1, as the ADAM family keeps them."""
    return np.array([beta[0], beta[1], 1.0])


class Descent(Rule):
    """Descent(η=0.1): Δ′ = η·Δ"""

    def __init__(self, eta=0.1):
        super().__init__()
        self.eta = eta

    def update(self, x, Δ, state):
        return F.multiply(self.eta, Δ), []


class _Accumulating(Rule):
    """Rules with a rate η, a decay ρ and one accumulator per parameter (starting at zero)."""

    default_eta = 0.001

    def __init__(self, eta=None, rho=0.9):
        super().__init__()
        self.eta, self.rho = self.default_eta if eta is None else eta, rho

    def init_state(self, x):
        return [_zeros(x)]


class Momentum(_Accumulating):
    """Momentum(η=0.01, ρ=0.9): v ← ρv − ηΔ; Δ′ = −v"""

    default_eta = 0.01

    def update(self, x, Δ, state):
        v = F.subtract(F.multiply(self.rho, state[0]), F.multiply(self.eta, Δ))
        return F.negative(v), [v]


class Nesterov(_Accumulating):
    """Nesterov(η=0.001, ρ=0.9): d = ρ²v − (1+ρ)ηΔ; v ← ρv − ηΔ; Δ′ = −d"""

    def update(self, x, Δ, state):
        (v,) = state
        d = F.subtract(F.multiply(self.rho**2, v), F.multiply((1 + self.rho) * self.eta, Δ))
        return F.negative(d), [F.subtract(F.multiply(self.rho, v), F.multiply(self.eta, Δ))]


class RMSProp(_Accumulating):
    """RMSProp(η=0.001, ρ=0.9): acc ← ρ·acc + (1−ρ)Δ²; Δ′ = Δ·η/(√acc + ϵ)"""

    def update(self, x, Δ, state):
        acc = F.add(F.multiply(self.rho, state[0]), F.multiply(1 - self.rho, F.square(Δ)))
        return F.divide(F.multiply(Δ, self.eta), F.add(F.sqrt(acc), ϵ)), [acc]


class _Moments(Rule):
    """The ADAM family: η, β = (β₁, β₂); state m, a second statistic v and βᵗ = [β₁ᵗ, β₂ᵗ, t]."""

    second_moment_start = 0.0

    def __init__(self, eta=0.001, beta=(0.9, 0.999)):
        super().__init__()
        self.eta, self.beta = eta, tuple(beta)

    def init_state(self, x):
        return [_zeros(x), _zeros(x) + self.second_moment_start, _powers(self.beta)]

    def moments(self, Δ, state):
        """m ← β₁m + (1−β₁)Δ, v ← β₂v + (1−β₂)Δ², and the powers advanced for the next step."""
        m, v, βp = state
        b1, b2 = self.beta
        m = F.add(F.multiply(b1, m), F.multiply(1 - b1, Δ))
        v = F.add(F.multiply(b2, v), F.multiply(1 - b2, F.square(Δ)))
        advanced = F.multiply(βp, np.array([b1, b2, 1.0])) + np.array([0.0, 0.0, 1.0])
        return m, v, βp, advanced


class ADAM(_Moments):
    """ADAM(η=0.001, β=(0.9, 0.999)): m ← β₁m + (1−β₁)Δ; v ← β₂v + (1−β₂)Δ²;
    Δ′ = m/(1−β₁ᵗ) / (√(v/(1−β₂ᵗ)) + ϵ) · η"""

    def update(self, x, Δ, state):
        m, v, βp, advanced = self.moments(Δ, state)
        Δ_new = F.multiply(F.divide(F.divide(m, 1 - βp[0]), F.add(F.sqrt(F.divide(v, 1 - βp[1])), ϵ)), self.eta)
        return Δ_new, [m, v, advanced]


class OADAM(_Moments):
    """OADAM(η=0.001, β=(0.5, 0.9)): optimistic ADAM — with the ADAM step d = m̂/(√v̂ + ϵ)·η,
    Δ′ = 2d − d_previous."""

    def __init__(self, eta=0.001, beta=(0.5, 0.9)):
        super().__init__(eta, beta)

    def init_state(self, x):
        return super().init_state(x) + [_zeros(x)]

    def update(self, x, Δ, state):
        m, v, βp, advanced = self.moments(Δ, state[:3])
        step = F.multiply(F.divide(F.divide(m, 1 - βp[0]), F.add(F.sqrt(F.divide(v, 1 - βp[1])), ϵ)), self.eta)
        return F.subtract(F.multiply(2, step), state[3]), [m, v, advanced, step]


class AdaBelief(_Moments):
    """AdaBelief(η=0.001, β=(0.9, 0.999)): m ← β₁m + (1−β₁)Δ; s ← β₂s + (1−β₂)(Δ − m)²;
    Δ′ = η·m/(√s + ϵ)"""

    def update(self, x, Δ, state):
        m, s, βp = state
        b1, b2 = self.beta
        m = F.add(F.multiply(b1, m), F.multiply(1 - b1, Δ))
        s = F.add(F.multiply(b2, s), F.multiply(1 - b2, F.square(F.subtract(Δ, m))))
        return F.multiply(self.eta, F.divide(m, F.add(F.sqrt(s), ϵ))), [m, s, βp]


class RADAM(_Moments):
    """RADAM(η=0.001, β=(0.9, 0.999)): ADAM with the variance rectification of Liu et al."""

    def update(self, x, Δ, state):
        m, v, βp, advanced = self.moments(Δ, state)
        ρ_inf = 2 / (1 - self.beta[1]) - 1
        ρ = ρ_inf - 2 * βp[2] * βp[1] / (1 - βp[1])
        r = F.sqrt(F.maximum((ρ - 4) * (ρ - 2) * ρ_inf / ((ρ_inf - 4) * (ρ_inf - 2) * ρ), 0))
        adaptive = F.multiply(F.divide(F.divide(m, 1 - βp[0]), F.add(F.sqrt(F.divide(v, 1 - βp[1])), ϵ)),
                              F.multiply(self.eta, r))
        plain = F.multiply(F.divide(m, 1 - βp[0]), self.eta)
        return F.where(F.greater(ρ, 4), adaptive, plain), [m, v, advanced]


class AdaMax(_Moments):
    """AdaMax(η=0.001, β=(0.9, 0.999)): u ← max(β₂u, |Δ|); Δ′ = η/(1−β₁ᵗ) · m/(u + ϵ)"""

    def update(self, x, Δ, state):
        m, _, βp, advanced = self.moments(Δ, state)
        u = F.maximum(F.multiply(self.beta[1], state[1]), F.abs(Δ))
        return F.multiply(F.divide(self.eta, 1 - βp[0]), F.divide(m, F.add(u, ϵ))), [m, u, advanced]


class NADAM(_Moments):
    """NADAM(η=0.001, β=(0.9, 0.999)): ADAM with Nesterov momentum (Dozat)."""

    def update(self, x, Δ, state):
        b1, b2 = self.beta
        m, v, βp, advanced = self.moments(Δ, state)
        numerator = F.add(F.divide(F.multiply(b1, m), 1 - b1 * βp[0]), F.divide(F.multiply(1 - b1, Δ), 1 - βp[0]))
        denominator = F.add(F.sqrt(F.divide(F.multiply(v, b2), 1 - βp[1])), ϵ)
        return F.multiply(F.divide(numerator, denominator), self.eta), [m, v, advanced]


class AMSGrad(_Moments):
    """AMSGrad(η=0.001, β=(0.9, 0.999)): v̂ ← max(v̂, v); Δ′ = η·m/(√v̂ + ϵ) (state starts at ϵ)"""

    def init_state(self, x):
        return [_zeros(x) + ϵ, _zeros(x) + ϵ, _zeros(x) + ϵ]

    def update(self, x, Δ, state):
        b1, b2 = self.beta
        m = F.add(F.multiply(b1, state[0]), F.multiply(1 - b1, Δ))
        v = F.add(F.multiply(b2, state[1]), F.multiply(1 - b2, F.square(Δ)))
        v_hat = F.maximum(state[2], v)
        return F.divide(F.multiply(self.eta, m), F.add(F.sqrt(v_hat), ϵ)), [m, v, v_hat]


class ADAGrad(Rule):
    """ADAGrad(η=0.1): acc ← acc + Δ² (starting at ϵ); Δ′ = Δ·η/(√acc + ϵ)"""

    def __init__(self, eta=0.1):
        super().__init__()
        self.eta = eta

    def init_state(self, x):
        return [_zeros(x) + ϵ]

    def update(self, x, Δ, state):
        acc = F.add(state[0], F.square(Δ))
        return F.divide(F.multiply(Δ, self.eta), F.add(F.sqrt(acc), ϵ)), [acc]


class ADADelta(Rule):
    """ADADelta(ρ=0.9): acc ← ρ·acc + (1−ρ)Δ²; Δ′ = Δ·√(Δacc + ϵ)/√(acc + ϵ); Δacc ← ρ·Δacc + (1−ρ)Δ′²"""

    def __init__(self, rho=0.9):
        super().__init__()
        self.rho = rho

    def init_state(self, x):
        return [_zeros(x), _zeros(x)]

    def update(self, x, Δ, state):
        acc = F.add(F.multiply(self.rho, state[0]), F.multiply(1 - self.rho, F.square(Δ)))
        Δ_new = F.divide(F.multiply(Δ, F.sqrt(F.add(state[1], ϵ))), F.sqrt(F.add(acc, ϵ)))
        Δacc = F.add(F.multiply(self.rho, state[1]), F.multiply(1 - self.rho, F.square(Δ_new)))
        return Δ_new, [acc, Δacc]


class WeightDecay(Rule):
    """WeightDecay(wd=0): Δ′ = Δ + wd·x"""

    def __init__(self, wd=0.0):
        super().__init__()
        self.wd = wd

    def update(self, x, Δ, state):
        return F.add(Δ, F.multiply(self.wd, x)), []


@_with_keyword_aliases
def ADAMW(eta=0.001, beta=(0.9, 0.999), decay=0.0) -> Optimiser:
    """ADAMW(η=0.001, β=(0.9, 0.999), decay=0) = Optimiser(ADAM(η, β), WeightDecay(decay))"""
    return Optimiser(ADAM(eta, beta), WeightDecay(decay))


class ClipValue(Rule):
    """ClipValue(θ): Δ′ = clamp(Δ, −θ, θ)"""

    def __init__(self, thresh):
        super().__init__()
        self.thresh = thresh

    def update(self, x, Δ, state):
        return F.clip(Δ, -self.thresh, self.thresh), []


class ClipNorm(Rule):
    """ClipNorm(θ): Δ′ = Δ·θ/‖Δ‖ when ‖Δ‖ > θ"""

    def __init__(self, thresh):
        super().__init__()
        self.thresh = thresh

    def update(self, x, Δ, state):
        norm = F.sqrt(F.sum(F.square(Δ)))
        return F.where(F.greater(norm, self.thresh), F.multiply(Δ, F.divide(self.thresh, norm)), Δ), []


class InvDecay(Rule):
    """InvDecay(γ=0.001): Δ′ = Δ / (1 + γ·n) at the parameter's n-th step"""

    def __init__(self, gamma=0.001):
        super().__init__()
        self.gamma = gamma

    def init_state(self, x):
        return [np.ones(1)]

    def update(self, x, Δ, state):
        (n,) = state
        return F.divide(Δ, F.add(1, F.multiply(self.gamma, n[0]))), [F.add(n, 1)]


class ExpDecay(Rule):
    """ExpDecay(η=0.001, decay=0.1, decay_step=1000, clip=1e-4): Δ′ = η·Δ, with η ← max(η·decay, clip)
    every ``decay_step`` steps (counted per parameter, decayed once per step across parameters).
    Its schedule couples the parameters, so it runs eagerly (not inside a compiled step)."""

    traceable = False

    def __init__(self, eta=0.001, decay=0.1, decay_step=1000, clip=1e-4):
        super().__init__()
        self.eta, self.decay, self.step_size, self.clip = eta, decay, decay_step, clip

    def init_state(self, x):
        return [np.zeros(1)]

    def apply(self, x, Δ):
        counter = self.state_for(x)[0]
        counter += 1
        at_boundary = [c for _, (c,) in self.state.values() if c[0] % self.step_size == 0]
        if counter[0] % self.step_size == 0 and len(at_boundary) == 1:
            self.eta = max(self.eta * self.decay, self.clip)
        out = np.asarray(Δ) * self.eta
        if isinstance(Δ, np.ndarray) and Δ.flags.writeable:
            Δ[...] = out
            return Δ
        return out


OPTIMISERS = (Rule,)

# PyTorch's spellings, where they differ only in case
Adam, AdamW, NAdam, RAdam, OAdam = ADAM, ADAMW, NADAM, RADAM, OADAM
Adagrad, Adadelta, RMSprop = ADAGrad, ADADelta, RMSProp

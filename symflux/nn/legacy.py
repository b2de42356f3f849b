"""The 2017 Flux API: ``@net`` models, ``back`` (accumulating parameter gradients) and
``update(model, η)`` (apply and clear them)."""

from __future__ import annotations

import functools

import numpy as np

from .. import numpy as F
from ..array import Array
from ..functor import functor
from ..grad import _finish, apply_state
from ..params import params
from ..tracing import Trace

# id(param) -> (param, accumulated gradient): by parameter, so gradients accumulated through a
# converted model (back(llvm(m), Δ, x)) are applied by update(m, η)
_accumulated: dict = {}


def net(obj):
    """@net: a class whose array fields are trackable parameters (wrapped as sf arrays on
    construction) and which ``params``, ``back``, ``update`` and the backends understand; or a
    function, which becomes a parameter-free model."""
    if isinstance(obj, type):
        init = obj.__init__

        @functools.wraps(init)
        def wrapped_init(self, *args, **kwargs):
            init(self, *args, **kwargs)
            for name, value in vars(self).items():
                if isinstance(value, np.ndarray) and not isinstance(value, Array):
                    setattr(self, name, F.asarray(value))

        obj.__init__ = wrapped_init
        return functor(obj)
    return Net(obj)


class Net:
    """A function as a model (what ``@net`` makes of a plain function)."""

    def __init__(self, f):
        self.f = f
        functools.update_wrapper(self, f)

    def __call__(self, *args):
        return self.f(*args)

    def __repr__(self):
        return f"@net {getattr(self.f, '__name__', 'model')}"


def back(model, Δ, *xs):
    """back(m, Δ, x...): back-propagate the output cotangent Δ through m at x; accumulate the
    parameter gradients (applied by ``update(m, η)``) and return the input gradient(s)."""
    ps = params(model)
    t = Trace(lambda *x: F.sum(F.multiply(model(*x), Δ)), xs, params=ps, differentiating=True, concrete=True)
    leaves = t.param_leaves
    _, grads, state, _ = _finish(t.out, leaves + t.leaves, t.updates, "back")
    apply_state(state)
    for p, g in zip(ps, grads):
        if g is not None:
            held = _accumulated.get(id(p))
            _accumulated[id(p)] = (p, held[1] + g if held is not None and held[0] is p else np.array(g))
    input_grads = grads[len(leaves):]
    return input_grads[0] if len(xs) == 1 else tuple(input_grads)


def update_model(model, η):
    """update(m, η): p ← p − η·Δp for every parameter with an accumulated gradient, then clear them."""
    for p in params(model):
        held = _accumulated.pop(id(p), None)
        if held is not None and held[0] is p:
            p -= η * held[1]
    return model

"""Recurrent layers: RNN and LSTM cells wrapped in ``Recur``, which keeps the state between calls.

Batch-first: each call takes one time step x of shape (in,) or (N, in). The state is layer state
(``trace.set_state``), so a sequence can be fed step by step inside ``gradient``; ``reset``
restores the initial state.
"""

from __future__ import annotations

import numpy as np

from .. import numpy as F
from .. import trace
from ..functor import children
from .init import glorot_uniform, zeros32
from .layers import Layer, activation_name, match_precision, shape_of
from .template import template


class _Cell(Layer):
    """A recurrent cell: ``cell(state, x) -> (new state, output)`` (Flux's ``m(h, x)``)."""

    def __call__(self, state, x):
        return self.step(state, x)

    def expr(self, input_shape=None):
        """The output of one step from the initial state, e.g. ``tanh(Wh·h + Wi·x + b)``."""
        return template(self, input_shape, call=lambda x: self.step(self.initial_state(), x)[1])


class RNNCell(_Cell):
    """RNNCell(in, out, σ=tanh) — h′ = σ.(Wi·x .+ Wh·h .+ b); the output is h′."""

    def __init__(self, n_in, n_out, σ=F.tanh, init=glorot_uniform):
        self.σ = σ
        self.Wi, self.Wh = init(n_out, n_in), init(n_out, n_out)
        self.b, self.h = init(n_out), zeros32(n_out)

    def initial_state(self):
        return self.h

    def step(self, h, x):
        h_new = self.σ(F.add(F.add(F.matmul(x, F.transpose(self.Wi)), F.matmul(h, F.transpose(self.Wh))), self.b))
        return h_new, h_new

    def signature(self):
        act = "" if self.σ is F.tanh else f", {activation_name(self.σ)}"
        return f"RNNCell({self.Wi.shape[1]}, {self.Wi.shape[0]}{act})"


class LSTMCell(_Cell):
    """LSTMCell(in, out) — gates [i; f; c; o] = Wi·x .+ Wh·h .+ b (forget bias starts at 1);
    c′ = σ(f)·c + σ(i)·tanh(c̃), h′ = σ(o)·tanh(c′); the output is h′."""

    def __init__(self, n_in, n_out, init=glorot_uniform):
        self.Wi, self.Wh = init(4 * n_out, n_in), init(4 * n_out, n_out)
        self.b = zeros32(4 * n_out)
        self.b[n_out:2 * n_out] = 1
        self.h, self.c = zeros32(n_out), zeros32(n_out)

    def initial_state(self):
        return (self.h, self.c)

    def step(self, state, x):
        h, c = state
        n = self.h.shape[0]
        gates = F.add(F.add(F.matmul(x, F.transpose(self.Wi)), F.matmul(h, F.transpose(self.Wh))), self.b)
        i, f, g, o = (gates[..., k * n:(k + 1) * n] for k in range(4))
        c_new = F.add(F.multiply(F.sigmoid(f), c), F.multiply(F.sigmoid(i), F.tanh(g)))
        h_new = F.multiply(F.sigmoid(o), F.tanh(c_new))
        return (h_new, c_new), h_new

    def signature(self):
        return f"LSTMCell({self.Wi.shape[1]}, {self.h.shape[0]})"


class GRUCell(_Cell):
    """GRUCell(in, out) — Flux's gates [r; z; h̃]: r = σ(Wi_r·x + Wh_r·h + b_r), z likewise,
    h̃ = tanh(Wi_h·x + r·(Wh_h·h) + b_h), h′ = (1 − z)·h̃ + z·h; the output is h′. (PyTorch's nn.GRU
    with b_ih = b and the hidden bias b_hh = 0.)"""

    def __init__(self, n_in, n_out, init=glorot_uniform):
        self.Wi, self.Wh = init(3 * n_out, n_in), init(3 * n_out, n_out)
        self.b, self.h = zeros32(3 * n_out), zeros32(n_out)

    def initial_state(self):
        return self.h

    def step(self, h, x):
        n = self.h.shape[0]
        gx, gh = F.add(F.matmul(x, F.transpose(self.Wi)), self.b), F.matmul(h, F.transpose(self.Wh))
        part = lambda g, k: g[..., k * n:(k + 1) * n]  # noqa: E731
        r = F.sigmoid(F.add(part(gx, 0), part(gh, 0)))
        z = F.sigmoid(F.add(part(gx, 1), part(gh, 1)))
        candidate = F.tanh(F.add(part(gx, 2), F.multiply(r, part(gh, 2))))
        h_new = F.add(F.multiply(F.subtract(1, z), candidate), F.multiply(z, h))
        return h_new, h_new

    def signature(self):
        return f"GRUCell({self.Wi.shape[1]}, {self.h.shape[0]})"


class Recur(Layer):
    """Recur(cell) — calls ``cell.step(state, x)`` and keeps the new state for the next call; a list
    of inputs is a sequence, giving the list of outputs (Flux's ``m.(seq)``)."""

    def __init__(self, cell):
        self.cell = cell
        self.state = cell.initial_state()

    def trainable(self):
        return [self.cell]

    def signature(self):
        return self.cell.signature().replace("Cell", "")

    def __call__(self, x):
        if isinstance(x, (list, tuple)) and x and all(np.ndim(step) >= 1 for step in x):
            return [self(step) for step in x]  # a sequence, one step after another (Flux's m.(seq))
        n_in = self.cell.Wi.shape[1]
        if shape_of(x)[-1] != n_in:
            raise ValueError(f"{self.signature()}: expected {n_in} input features, got shape {shape_of(x)}")
        new_state, y = self.cell.step(self.state, match_precision(x, self.cell.Wi))
        trace.set_state(self, "state", new_state)
        return y

    def reset(self):
        trace.set_state(self, "state", self.cell.initial_state())


def RNN(n_in, n_out, σ=F.tanh, init=glorot_uniform) -> Recur:
    """RNN(in, out, σ=tanh) = Recur(RNNCell(in, out, σ)); params are Wi, Wh, b and the initial h."""
    return Recur(RNNCell(n_in, n_out, σ, init))


def LSTM(n_in, n_out, init=glorot_uniform) -> Recur:
    """LSTM(in, out) = Recur(LSTMCell(in, out)); gate order input, forget, cell, output."""
    return Recur(LSTMCell(n_in, n_out, init))


def GRU(n_in, n_out, init=glorot_uniform) -> Recur:
    """GRU(in, out) = Recur(GRUCell(in, out)); gate order reset, update, candidate."""
    return Recur(GRUCell(n_in, n_out, init))


def reset(model):
    """reset(m): every Recur inside ``m`` goes back to its initial state."""
    if isinstance(model, Recur):
        model.reset()
    for child in children(model).values():
        reset(child)

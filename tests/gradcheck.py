"""Gradient checks: symflux's symbolic derivatives against central finite differences (float64)
and, where the op exists there, PyTorch: first derivatives, Hessian-vector products and third
directional derivatives.

Each op is wrapped as ``loss(x...) = sum(sin(op(x...)) * w)`` so that even linear ops have
non-trivial second and third derivatives, exercising the VJP rules of VJP rules.
"""

from __future__ import annotations

import numpy as np
import pytest

import symflux as sf

try:
    import torch
    torch.set_default_dtype(torch.float64)
except ImportError:  # the PyTorch comparisons skip; finite differences still run
    torch = None

EPS = 1e-6


def central_difference(f, x, eps=EPS):
    """∂f/∂x by central differences; ``f`` maps an array like ``x`` to a scalar or an array."""
    x = np.asarray(x, dtype=np.float64)
    probe = np.asarray(f(x))
    out = np.zeros(probe.shape + x.shape)
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = eps
        out[(...,) + i] = (np.asarray(f(x + step)) - np.asarray(f(x - step))) / (2 * eps)
    return out


def directional(f, x, v, eps=EPS):
    """d/dt f(x + t v) at t = 0, by central differences."""
    return (np.asarray(f(x + eps * v)) - np.asarray(f(x - eps * v))) / (2 * eps)


def _replace(values, i, new):
    return [new if j == i else v for j, v in enumerate(values)]


class Check:
    """One op on fixed inputs: builds the scalar loss and compares derivatives of each input."""

    def __init__(self, op, torch_op, inputs, seed=0):
        self.op, self.torch_op = op, torch_op
        self.inputs = [np.asarray(x, dtype=np.float64) for x in inputs]
        rng = np.random.default_rng(seed)
        out_shape = np.shape(op(*self.inputs))
        self.w = rng.uniform(0.5, 1.5, out_shape)
        self.v = [rng.standard_normal(x.shape) for x in self.inputs]
        self.u = [rng.standard_normal(x.shape) for x in self.inputs]

    def loss(self, *xs):
        return sf.sum(sf.sin(self.op(*xs)) * self.w)

    def loss_of(self, i):
        return lambda xi: self.loss(*_replace(self.inputs, i, xi))

    def grad_of(self, i):
        return lambda xi: np.asarray(sf.gradient(self.loss_of(i), xi)[0], dtype=np.float64)

    def hvp_of(self, i):
        return lambda xi: np.asarray(sf.hvp(self.loss_of(i), xi, self.v[i]), dtype=np.float64)

    # -- the three orders ------------------------------------------------------------------------
    def first(self, rtol=1e-5, atol=1e-6):
        grads = sf.gradient(self.loss, *self.inputs)
        for i, x in enumerate(self.inputs):
            fd = central_difference(self.loss_of(i), x)
            np.testing.assert_allclose(grads[i], fd, rtol=rtol, atol=atol, err_msg=f"input {i} vs FD")
            assert np.asarray(grads[i]).dtype == np.float64 and np.shape(grads[i]) == x.shape
        return grads

    def second(self, rtol=1e-5, atol=1e-6):
        out = []
        for i, x in enumerate(self.inputs):
            hv = self.hvp_of(i)(x)
            fd = directional(self.grad_of(i), x, self.v[i])
            np.testing.assert_allclose(hv, fd, rtol=rtol, atol=atol, err_msg=f"hvp {i} vs FD")
            out.append(hv)
        return out

    def third(self, rtol=1e-4, atol=1e-5):
        out = []
        for i, x in enumerate(self.inputs):
            hvp_i = lambda xi, i=i: sf.hvp(self.loss_of(i), xi, self.v[i])
            t3 = sf.gradient(lambda xi: sf.sum(hvp_i(xi) * self.u[i]), x)[0]
            fd = central_difference(lambda xi: np.sum(np.asarray(hvp_i(xi)) * self.u[i]), x)
            np.testing.assert_allclose(t3, fd, rtol=rtol, atol=atol, err_msg=f"third order {i} vs FD")
            out.append(np.asarray(t3, dtype=np.float64))
        return out

    # -- PyTorch reference ---------------------------------------------------------------------------
    def torch_derivatives(self):
        ts = [torch.tensor(x, requires_grad=True) for x in self.inputs]
        loss = (torch.sin(self.torch_op(*ts)) * torch.tensor(self.w)).sum()
        orders = ([], [], [])
        for i, t in enumerate(ts):
            g = _torch_grad(loss, t)
            hv = _torch_grad((g * torch.tensor(self.v[i])).sum(), t)
            t3 = _torch_grad((hv * torch.tensor(self.u[i])).sum(), t)
            for found, value in zip(orders, (g, hv, t3)):
                found.append(value.detach().numpy())
        return orders


def _torch_grad(y, x):
    """dy/dx keeping the graph for higher orders; zeros where y does not depend on x."""
    if not y.requires_grad:
        return torch.zeros_like(x)
    g = torch.autograd.grad(y, x, create_graph=True, allow_unused=True)[0]
    return torch.zeros_like(x) if g is None else g


def check_all_orders(op, torch_op, *inputs, third=True):
    """Gradients, Hessian-vector products and third derivatives vs FD, and vs PyTorch if present."""
    check = Check(op, torch_op, inputs)
    firsts = check.first()
    seconds = check.second()
    thirds = check.third() if third else None
    if torch_op is not None and torch is not None:
        t1, t2, t3 = check.torch_derivatives()
        for i in range(len(inputs)):
            np.testing.assert_allclose(firsts[i], t1[i], rtol=1e-9, atol=1e-10, err_msg=f"input {i} vs torch")
            np.testing.assert_allclose(seconds[i], t2[i], rtol=1e-9, atol=1e-10, err_msg=f"hvp {i} vs torch")
            if third:
                np.testing.assert_allclose(thirds[i], t3[i], rtol=1e-8, atol=1e-9,
                                           err_msg=f"third order {i} vs torch")


needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")

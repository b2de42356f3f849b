"""Basic layers: Dense, Chain, compose, Diagonal, Maxout, SkipConnection, flatten, Affine (2017).

Each layer is a symbolic template: its forward pass is made of sf operations, so the same call
evaluates plain arrays, traces into a graph under ``gradient``, and can be printed as a formula
(``layer.expr()``). Layers print like Flux: ``Dense(10 => 5, σ)  # 55 parameters``.
"""

from __future__ import annotations

import numpy as np

from .. import ir, trace
from .. import numpy as F
from ..array import Tracer
from ..functor import children
from ..params import params
from .init import glorot_uniform, ones32, zeros32
from .template import template


def identity(x):
    """identity(x) = x (the default activation)."""
    return x


def activation_name(f) -> str:
    if f is F.sigmoid:
        return "σ"
    return getattr(f, "__name__", repr(f))


def parameter_arrays(model) -> list:
    return list(params(model))


def parameter_count(model) -> int:
    return sum(int(np.size(p)) for p in parameter_arrays(model))


class Layer:
    """Base of the built-in layers: functor children are the public fields; Flux-style printing."""

    __functor_fields__ = None

    def signature(self) -> str:
        """How the layer was constructed, e.g. ``Dense(10 => 5, σ)``."""
        return type(self).__name__ + "()"

    def __repr__(self):
        n = parameter_count(self)
        return f"{self.signature()}  # {n:,} parameters" if n else self.signature()

    def expr(self, input_shape=None):
        """The layer's formula over symbols named after its fields, e.g. ``σ(W·x + b)``; for layers
        whose input size is not in their weights (convolutions, pooling) pass ``input_shape``."""
        return template(self, input_shape)


def shape_of(x) -> tuple:
    return tuple(x.shape) if isinstance(x, Tracer) else np.shape(x)


def match_precision(x, like):
    """Float64, integer and bool input to a Float32 layer computes in Float32 (Flux's precision rule)."""
    dtype = x.dtype if isinstance(x, (Tracer, np.ndarray)) else None
    if dtype is not None and dtype.kind in "biuf" and dtype != like.dtype and like.dtype.kind == "f":
        return F.astype(x, like.dtype)
    return x


def _check_size(name, value):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name}: sizes must be non-negative integers, got {value!r}")


class Dense(Layer):
    """Dense(in, out, σ=identity; initW=glorot_uniform, initb=zeros, bias=True) — y = σ.(W·x .+ b)

    ``Dense(W, b, σ)`` builds it from arrays. W has shape (out, in); x is (in,) or batch-first
    (N, in), giving (out,) or (N, out). Weights are Float32 like Flux. ``bias=False`` (or b = False)
    leaves the bias out (Flux's ``Zeros``): it is not a parameter.
    """

    def __init__(self, *args, initW=glorot_uniform, initb=zeros32, bias=True):
        if len(args) >= 2 and not isinstance(args[0], np.ndarray):
            n_in, n_out, *rest = args
            _check_size("Dense", n_in)
            _check_size("Dense", n_out)
            W, b = F.asarray(initW(n_out, n_in)), F.asarray(initb(n_out))
        elif len(args) >= 2:
            (W, b, *rest) = args
            bias = bias and b is not False and b is not None
            W, b = F.asarray(W), F.asarray(b if bias else 0.0)
            if W.ndim != 2:
                raise ValueError(f"Dense(W, b): W must be a matrix of shape (out, in), got shape {W.shape}")
            if bias and b.shape not in ((W.shape[0],), ()):
                raise ValueError(f"Dense(W, b): b must have shape ({W.shape[0]},) to match W of shape {W.shape}, "
                                 f"got {b.shape}")
        else:
            raise TypeError("Dense(in, out, σ) or Dense(W, b, σ)")
        if len(rest) > 1:
            raise TypeError("Dense takes at most one activation")
        self.W, self.b, self.σ = W, b if bias else None, rest[0] if rest else identity

    @property
    def sizes(self):
        return self.W.shape[1], self.W.shape[0]

    def signature(self):
        n_in, n_out = self.sizes
        act = "" if self.σ is identity else f", {activation_name(self.σ)}"
        return f"Dense({n_in} => {n_out}{act})"

    def __call__(self, x):
        shape = shape_of(x)
        if len(shape) == 0:
            raise ValueError(f"{self.signature()}: expected an array of {self.sizes[0]} features, got a scalar")
        if shape[-1] != self.sizes[0]:
            raise ValueError(f"{self.signature()}: expected {self.sizes[0]} input features (last axis), "
                             f"got an input of shape {shape}")
        x = match_precision(x, self.W)
        y = F.matmul(x, F.transpose(self.W))
        return self.σ(y if self.b is None else F.add(y, self.b))


class Chain(Layer):
    """Chain(layers...) — Chain(f, g)(x) == g(f(x)); indexable like a list (m[0], m[1:])."""

    def __init__(self, *layers):
        self.layers = tuple(layers)

    def __call__(self, x):
        for i, layer in enumerate(self.layers):
            with ir.layer_scope(f"[{i}] {_short(layer)}"):  # clusters in sf.draw
                x = layer(x)
        return x

    def __getitem__(self, i):
        return Chain(*self.layers[i]) if isinstance(i, slice) else self.layers[i]

    def __len__(self):
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)

    def signature(self):
        return "Chain(" + ", ".join(_short(layer) for layer in self.layers) + ")"

    def __repr__(self):
        lines = ["Chain("]
        for layer in self.layers:
            n = parameter_count(layer) if isinstance(layer, Layer) else 0
            text = f"  {_short(layer)},"
            lines.append(f"{text:<38}  # {n:,} parameters" if n else text)  # long lines keep two spaces
        total = parameter_arrays(self)
        count = sum(int(np.size(p)) for p in total)
        lines.append(f"){'':<38}# Total: {len(total)} arrays, {count:,} parameters")
        return "\n".join(lines)


def _short(layer) -> str:
    return layer.signature() if isinstance(layer, Layer) else activation_name(layer)


def compose(*fs) -> Chain:
    """compose(f, g)(x) == f(g(x)): Flux's ∘, in mathematical order."""
    return Chain(*reversed(fs))


def activations(chain: Chain, x) -> tuple:
    """Every intermediate output of ``chain`` applied to ``x``."""
    outs = []
    for layer in chain.layers:
        x = layer(x)
        outs.append(x)
    return tuple(outs)


class Diagonal(Layer):
    """Diagonal(n; initα=ones, initβ=zeros) — y = α .* x .+ β (broadcast over the last axis)."""

    def __init__(self, n, initα=ones32, initβ=zeros32):
        if isinstance(n, np.ndarray):
            self.α, self.β = F.asarray(n), F.asarray(initα)
        else:
            _check_size("Diagonal", n)
            self.α, self.β = F.asarray(initα(n)), F.asarray(initβ(n))

    def signature(self):
        return f"Diagonal({self.α.shape[0]})"

    def __call__(self, x):
        shape = shape_of(x)
        n = self.α.shape[0]
        if shape and shape[-1] not in (1, n):
            raise ValueError(f"{self.signature()}: input of shape {shape} does not broadcast with {n} features")
        return F.add(F.multiply(self.α, match_precision(x, self.α)), self.β)


class Maxout(Layer):
    """Maxout(layers) or Maxout(make_layer, n) — y = max.(layer₁(x), …, layerₙ(x)) elementwise."""

    def __init__(self, over, n=None):
        self.over = tuple(over() for _ in range(n)) if n is not None else tuple(over)

    def signature(self):
        return f"Maxout({', '.join(_short(o) for o in self.over)})"

    def __call__(self, x):
        out = self.over[0](x)
        for layer in self.over[1:]:
            out = F.maximum(out, layer(x))
        return out


class SkipConnection(Layer):
    """SkipConnection(layers, connection) — y = connection(layers(x), x)."""

    def __init__(self, layers, connection):
        self.layers, self.connection = layers, connection

    def signature(self):
        return f"SkipConnection({_short(self.layers)}, {activation_name(self.connection)})"

    def __call__(self, x):
        return self.connection(self.layers(x), x)


def flatten(x):
    """flatten(x): (N, …) → (N, prod(…)), keeping the batch (first) axis."""
    shape = shape_of(x)
    return F.reshape(x, (shape[0], -1))


class Affine(Layer):
    """Affine(in, out; init=randn/100) — the 2017 layer, row-vector layout: y = x·W .+ b,
    W of shape (in, out), b of shape (1, out), x of shape (batch, in)."""

    def __init__(self, n_in, n_out=None, init=None):
        if isinstance(n_in, np.ndarray):
            self.W, self.b = F.asarray(n_in), F.asarray(n_out)
            return
        _check_size("Affine", n_in)
        _check_size("Affine", n_out)
        init = init or (lambda *shape: F.randn(*shape) / 100)
        self.W, self.b = F.asarray(init(n_in, n_out)), F.asarray(init(1, n_out))

    @property
    def sizes(self):
        return self.W.shape[0], self.W.shape[1]

    def signature(self):
        return f"Affine({self.W.shape[0]}, {self.W.shape[1]})"

    def __call__(self, x):
        if shape_of(x)[-1] != self.W.shape[0]:
            raise ValueError(f"{self.signature()}: expected {self.W.shape[0]} input features, got shape {shape_of(x)}")
        return F.add(F.matmul(x, self.W), self.b)


def is_training(layer) -> bool:
    """Active in training mode: forced by trainmode/testmode, else while a gradient is taken."""
    mode = getattr(layer, "active", None)
    return trace.is_differentiating() if mode is None else mode


def set_mode(model, active):
    """Set ``active`` on every layer in ``model`` that has training behaviour."""
    seen = set()

    def visit(m):
        if id(m) in seen:
            return
        seen.add(id(m))
        if hasattr(m, "active"):
            m.active = active
        for child in children(m).values():
            visit(child)

    visit(model)
    return model


def trainmode(model, mode=True):
    """trainmode(m): Dropout/BatchNorm behave as in training even outside gradient (``None``: auto)."""
    return set_mode(model, mode)


def testmode(model, mode=True):
    """testmode(m): Dropout/BatchNorm behave as at test time even under gradient (``None``: auto)."""
    return set_mode(model, None if mode is None else not mode)

"""The array namespace (``sf.sum``, ``sf.exp``, ``sf.matmul``, …), on traced and plain values alike.

Each function records a graph node when any argument is traced, and otherwise computes directly:
NumPy for numbers, exact SymPy arithmetic for SymPy values. Elementwise functions are defined once,
as SymPy bodies (``ELEMENTWISE``); NumPy ufuncs and functions dispatch here through
``__array_ufunc__`` / ``__array_function__``.
"""

from __future__ import annotations

import builtins
import inspect
import string

import numpy as np
import sympy

from . import contract, interp, ops, rng, trace
from . import functions as fn
from .array import Array, Tracer, TracingError
from .ir import ARG, OBJECT
from .rng import seed  # noqa: F401  (sf.seed)

# -- elementwise ----------------------------------------------------------------------------------


def _is_array_like(x) -> bool:
    return isinstance(x, (np.ndarray, list, tuple)) and not isinstance(x, np.generic)


def _concrete_elementwise(body, operands, dtype=None):
    if any(trace.is_symbolic(o) or _is_array_like(o) and trace.as_numpy(o).dtype == OBJECT
           for o in operands):
        if not any(_is_array_like(o) or isinstance(o, sympy.MatrixBase) for o in operands):
            return body.xreplace({ARG[i]: sympy.sympify(o) for i, o in enumerate(operands)})
        node = ops.map_(body, [trace.operand(o) for o in operands])
        return interp.evaluate([node], {}, exact=True)[0].view(Array)
    python = [isinstance(o, (int, float, complex)) and not isinstance(o, np.generic) for o in operands]
    values = [o if p else np.asarray(o) for o, p in zip(operands, python)]
    if dtype is None:
        strong = [v.dtype for v, p in zip(values, python) if not p]
        weak = [sympy.sympify(v) for v, p in zip(values, python) if p]
        dtype = ops.result_dtype(body, strong, weak)
    with np.errstate(all="ignore"):
        out = interp.body_function(body, len(values), False)(*values)
    out = np.asarray(out).astype(dtype, copy=False)
    return out.view(Array) if any(_is_array_like(o) for o in operands) else out[()]


def apply_elementwise(builder, *operands, dtype=None):
    body = builder(*ARG[:len(operands)])
    if trace.any_traced(operands):
        return Tracer(ops.map_(body, [trace.operand(o) for o in operands], dtype=dtype))
    return _concrete_elementwise(body, operands, dtype)


def _arity(builder) -> int:
    """Required positional parameters of a body builder (SymPy classes take one)."""
    try:
        params = inspect.signature(builder).parameters.values()
    except (TypeError, ValueError):
        return 1
    required = [p for p in params if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(required) or 1


def _elementwise(name: str, builder, doc: str = ""):
    nargs = _arity(builder)

    def function(*operands):
        if len(operands) != nargs:
            raise TypeError(f"{name}() takes {nargs} argument{'s' * (nargs > 1)}, got {len(operands)}")
        return apply_elementwise(builder, *operands)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = doc or f"Elementwise ``{name}``, on traced and plain arrays."
    function.builder = builder
    return function


def _where_body(c, a, b):
    return sympy.Piecewise((a, fn.truth(c)), (b, True))


ELEMENTWISE = {
    "add": lambda a, b: a + b,
    "subtract": lambda a, b: a - b,
    "multiply": lambda a, b: a * b,
    "divide": lambda a, b: a / b,
    "power": lambda a, b: a**b,
    "negative": lambda a: -a,
    "positive": lambda a: a,
    "reciprocal": lambda a: 1 / a,
    "square": lambda a: a**2,
    "sqrt": sympy.sqrt,
    "cbrt": fn.cbrt,
    "exp": sympy.exp,
    "exp2": lambda a: 2**a,
    "expm1": fn.expm1,
    "log": sympy.log,
    "log2": lambda a: sympy.log(a, 2),
    "log10": lambda a: sympy.log(a, 10),
    "log1p": fn.log1p,
    "sin": sympy.sin, "cos": sympy.cos, "tan": sympy.tan,
    "arcsin": sympy.asin, "arccos": sympy.acos, "arctan": sympy.atan,
    "arctan2": lambda y, x: sympy.atan2(y, x),
    "sinh": sympy.sinh, "cosh": sympy.cosh, "tanh": sympy.tanh,
    "arcsinh": sympy.asinh, "arccosh": sympy.acosh, "arctanh": sympy.atanh,
    "abs": fn.abs_,
    "sign": fn.sign,
    "floor": sympy.floor,
    "ceil": sympy.ceiling,
    "floor_divide": fn.floor_divide,
    "remainder": fn.remainder,
    "maximum": fn.maximum,
    "minimum": fn.minimum,
    "where": _where_body,
    "greater": lambda a, b: a > b,
    "greater_equal": lambda a, b: a >= b,
    "less": lambda a, b: a < b,
    "less_equal": lambda a, b: a <= b,
    "equal": lambda a, b: sympy.Eq(a, b),
    "not_equal": lambda a, b: sympy.Ne(a, b),
    "logical_and": lambda a, b: sympy.And(fn.truth(a), fn.truth(b)),
    "logical_or": lambda a, b: sympy.Or(fn.truth(a), fn.truth(b)),
    "logical_not": lambda a: sympy.Not(fn.truth(a)),
    "isnan": lambda a: sympy.Ne(fn.isnan(a), 0),
    "isinf": lambda a: sympy.Ne(fn.isinf(a), 0),
    "isfinite": lambda a: sympy.Ne(fn.isfinite(a), 0),
    # activations (NNlib names; σ is sigmoid)
    "sigmoid": fn.sigmoid,
    "relu": fn.relu,
    "leakyrelu": fn.leakyrelu,
    "relu6": fn.relu6,
    "elu": fn.elu,
    "celu": fn.celu,
    "selu": fn.selu,
    "softplus": fn.softplus,
    "logsigmoid": fn.logsigmoid,
    "gelu": fn.gelu,
    "swish": fn.swish,
    "softsign": fn.softsign,
    "trelu": fn.trelu,
    "logcosh": fn.logcosh,
    "hardsigmoid": fn.hardsigmoid,
    "hardtanh": fn.hardtanh,
}

_namespace = globals()
for _name, _builder in ELEMENTWISE.items():
    _namespace[_name] = _elementwise(_name, _builder)
true_divide = divide  # noqa: F821
absolute = abs  # noqa: F821


def leakyrelu(x, a=0.01):  # noqa: F811  (takes a parameter)
    """leakyrelu(x, a=0.01) = x > 0 ? x : a·x"""
    return apply_elementwise(lambda v: fn.leakyrelu(v, sympy.nsimplify(a)), x)


def elu(x, alpha=1):  # noqa: F811
    """elu(x, α=1) = x > 0 ? x : α(eˣ − 1)"""
    return apply_elementwise(lambda v: fn.elu(v, sympy.nsimplify(alpha)), x)


def celu(x, alpha=1):  # noqa: F811
    """celu(x, α=1) = x > 0 ? x : α(e^(x/α) − 1)"""
    return apply_elementwise(lambda v: fn.celu(v, sympy.nsimplify(alpha)), x)


def trelu(x, theta=1):  # noqa: F811
    """trelu(x, θ=1) = x > θ ? x : 0"""
    return apply_elementwise(lambda v: fn.trelu(v, sympy.nsimplify(theta)), x)


mod = remainder  # noqa: F821


def clip(x, a_min=None, a_max=None):
    """clip(x, lo, hi) = min(max(x, lo), hi); either bound may be None. NaN stays NaN; with
    scalar bounds the gradient is 1 on [lo, hi], bounds included (PyTorch's clamp)."""
    if all(b is None or isinstance(b, (int, float)) and not isinstance(b, bool) for b in (a_min, a_max)):
        return apply_elementwise(lambda v: fn.clip(v, a_min, a_max), x)
    if a_min is not None:
        x = maximum(x, a_min)  # noqa: F821
    if a_max is not None:
        x = minimum(x, a_max)  # noqa: F821
    return x


def astype(x, dtype):
    dtype = np.dtype(dtype)
    if trace.is_traced(x):
        return Tracer(ops.cast(trace.operand_node(x), dtype))
    return np.asarray(x).astype(dtype).view(Array)


def stop_gradient(x):
    """The value of ``x``, treated as a constant by differentiation."""
    if trace.is_traced(x):
        return Tracer(ops.detach(trace.operand_node(x)))
    return x


# -- reductions -------------------------------------------------------------------------------------

def _node(x):
    return trace.operand_node(x)


def _keep(result, x_shape, axis, keepdims):
    if not keepdims:
        return result
    axes = ops.normalize_axes(axis, len(x_shape))
    return reshape(result, tuple(1 if i in axes else d for i, d in enumerate(x_shape)))


def _plain(x):
    if isinstance(x, sympy.Basic):
        return np.asarray(x, dtype=object)
    return trace.as_numpy(x)


def _rewrap(result, like):
    if isinstance(result, np.ndarray) and (result.ndim or _is_array_like(like)):
        if result.ndim == 0:
            return result[()]
        return result.view(Array)
    return result


def sum(x, axis=None, keepdims=False, dtype=None):
    """sum(x, axis=None, keepdims=False): NumPy's sum, differentiable."""
    if not trace.is_traced(x):
        return _rewrap(np.sum(_plain(x), axis=axis, keepdims=keepdims), x)
    node = _node(x)
    return _keep(Tracer(ops.reduce("sum", node, axis)), node.shape, axis, keepdims)


def mean(x, axis=None, keepdims=False, dtype=None):
    """mean(x, axis=None, keepdims=False) = sum(x, axis) / count."""
    shape = np.shape(x) if not trace.is_traced(x) else x.shape
    count = ops.prod([shape[a] for a in ops.normalize_axes(axis, len(shape))])
    if not trace.is_traced(x) and _plain(x).dtype != OBJECT:
        return _rewrap(np.mean(_plain(x), axis=axis, keepdims=keepdims), x)
    if x.dtype.kind in "biu":  # NumPy averages integers in float64
        x = astype(x, np.float64)
    total = sum(x, axis=axis, keepdims=keepdims)
    return divide(total, sympy.Integer(count) if isinstance(count, int) else count)  # noqa: F821


def _extremum(kind, x, axis, keepdims):
    if not trace.is_traced(x):
        plain = _plain(x)
        if plain.dtype == OBJECT:
            return _rewrap(interp.evaluate([ops.reduce(kind, ops.const(plain), axis)], {}, True)[0], x)
        return _rewrap(getattr(np, kind)(plain, axis=axis, keepdims=keepdims), x)
    node = _node(x)
    return _keep(Tracer(ops.reduce(kind, node, axis)), node.shape, axis, keepdims)


def max(x, axis=None, keepdims=False):
    """max(x, axis=None, keepdims=False); ties share the gradient equally."""
    return _extremum("max", x, axis, keepdims)


def min(x, axis=None, keepdims=False):
    """min(x, axis=None, keepdims=False); ties share the gradient equally."""
    return _extremum("min", x, axis, keepdims)


amax, amin = max, min


def prod(x, axis=None, keepdims=False):
    """prod(x, axis=None): the product as a chain of multiplies (graph size grows with the axis)."""
    if not trace.is_traced(x):
        return _rewrap(np.prod(_plain(x), axis=axis, keepdims=keepdims), x)
    if x.dtype.kind in "biu" and x.dtype.itemsize < 8:  # NumPy multiplies small integers in 64 bits
        x = astype(x, np.uint64 if x.dtype.kind == "u" else np.int64)
    shape = x.shape
    axes = ops.normalize_axes(axis, len(shape))
    moved = transpose(x, [i for i in range(len(shape)) if i not in axes] + list(axes))
    kept, count = moved.shape[:len(shape) - len(axes)], ops.prod([shape[a] for a in axes])
    if count == 0:  # the empty product
        return _keep(Tracer(ops.fill(1, kept, x.dtype if x.dtype.kind in "fcOu" else np.int64)), shape, axis, keepdims)
    flat = reshape(moved, kept + (count,))
    result = flat[..., 0]
    for i in range(1, flat.shape[-1]):
        result = result * flat[..., i]
    return _keep(result, shape, axis, keepdims)


def var(x, axis=None, ddof=0, keepdims=False):
    """var(x, axis=None, ddof=0) = sum((x - mean)²) / (n - ddof)."""
    shape = x.shape if trace.is_traced(x) else np.shape(x)
    n = ops.prod([shape[a] for a in ops.normalize_axes(axis, len(shape))])
    centred = subtract(x, mean(x, axis=axis, keepdims=True))  # noqa: F821
    return divide(sum(square(centred), axis=axis, keepdims=keepdims), n - ddof)  # noqa: F821


def std(x, axis=None, ddof=0, keepdims=False):
    """std(x, axis=None, ddof=0) = sqrt(var(x))."""
    return sqrt(var(x, axis=axis, ddof=ddof, keepdims=keepdims))  # noqa: F821


def logsumexp(x, axis=None, keepdims=False):
    """logsumexp(x, axis) = m + log(sum(exp(x − m))), m = max(x): stable in float32."""
    m = stop_gradient(max(x, axis=axis, keepdims=True))
    out = add(m, log(sum(exp(subtract(x, m)), axis=axis, keepdims=True)))  # noqa: F821
    return out if keepdims else squeeze(out, axis=ops.normalize_axes(axis, ndim(x)))


def softmax(x, axis=-1):
    """softmax(x, axis=-1) = exp(x − m) / sum(exp(x − m)), m = max(x, axis) (batch-first)."""
    e = exp(subtract(x, stop_gradient(max(x, axis=axis, keepdims=True))))  # noqa: F821
    return divide(e, sum(e, axis=axis, keepdims=True))  # noqa: F821


def logsoftmax(x, axis=-1):
    """logsoftmax(x, axis=-1) = x − logsumexp(x, axis)."""
    return subtract(x, logsumexp(x, axis=axis, keepdims=True))  # noqa: F821


# -- contraction ---------------------------------------------------------------------------------

def _both_plain(a, b):
    return not trace.is_traced(a) and not trace.is_traced(b)


def matmul(a, b):
    """a @ b with NumPy's rules (1-D operands promoted, batch dimensions broadcast)."""
    if _both_plain(a, b):
        return _rewrap(np.matmul(_plain(a), _plain(b)), a)
    a, b = _node(a), _node(b)
    if a.ndim == 0 or b.ndim == 0:
        raise ops.ShapeError("matmul: operands must not be scalars (use * for scaling)")
    what = f"matmul of shapes {ops.fmt_shape(a.shape)} and {ops.fmt_shape(b.shape)}"
    if not ops.dims_equal(a.shape[-1], b.shape[-2 if b.ndim > 1 else 0]):
        raise ops.ShapeError(f"{what}: inner dimensions differ "
                             f"({a.shape[-1]} ≠ {b.shape[-2 if b.ndim > 1 else 0]})")
    if a.ndim <= 2 and b.ndim <= 2:
        sa, sb = ("ij" if a.ndim == 2 else "j"), ("jk" if b.ndim == 2 else "j")
        so = ("i" if a.ndim == 2 else "") + ("k" if b.ndim == 2 else "")
        return Tracer(contract.einsum(f"{sa},{sb}->{so}", a, b, what))
    a2 = a if a.ndim > 1 else ops.reshape(a, (1,) + a.shape)
    b2 = b if b.ndim > 1 else ops.reshape(b, b.shape + (1,))
    batch = ops.broadcast_shapes(a2.shape[:-2], b2.shape[:-2], what=what)
    letters = string.ascii_letters[3:3 + len(batch)]
    a2 = ops.expand(a2, batch + a2.shape[-2:])
    b2 = ops.expand(b2, batch + b2.shape[-2:])
    out = contract.einsum(f"{letters}ij,{letters}jk->{letters}ik", a2, b2, what)
    if a.ndim == 1:
        out = ops.reshape(out, out.shape[:-2] + out.shape[-1:])
    if b.ndim == 1:
        out = ops.reshape(out, out.shape[:-1])
    return Tracer(out)


def dot(a, b):
    """NumPy's dot: scaling for scalars, matmul up to 2-D, sum over last/second-to-last beyond."""
    if _both_plain(a, b):
        return _rewrap(np.dot(_plain(a), _plain(b)), a)
    if np.ndim(a) == 0 if not trace.is_traced(a) else a.ndim == 0:
        return multiply(a, b)  # noqa: F821
    if np.ndim(b) == 0 if not trace.is_traced(b) else b.ndim == 0:
        return multiply(a, b)  # noqa: F821
    na, nb = _node(a), _node(b)
    if nb.ndim <= 2:
        return matmul(a, b)
    return tensordot(a, b, axes=([na.ndim - 1], [nb.ndim - 2]))


def outer(a, b):
    """outer(a, b)[i, j] = a[i]·b[j] (inputs flattened)."""
    return einsum("i,j->ij", reshape(a, (-1,)), reshape(b, (-1,)))


def inner(a, b):
    return tensordot(a, b, axes=([-1], [-1]))


def vdot(a, b):
    """vdot(a, b) = Σ aᵢbᵢ over the flattened operands, in their dtype (as NumPy: no widening)."""
    return tensordot(reshape(a, (-1,)), reshape(b, (-1,)), axes=1)


def tensordot(a, b, axes=2):
    """NumPy's tensordot, recorded as one contraction."""
    if _both_plain(a, b):
        return _rewrap(np.tensordot(_plain(a), _plain(b), axes=axes), a)
    na, nb = _node(a), _node(b)
    if isinstance(axes, int):
        axes = (list(range(na.ndim - axes, na.ndim)), list(range(axes)))
    ax_a = [x % na.ndim for x in np.atleast_1d(axes[0])]
    ax_b = [x % nb.ndim for x in np.atleast_1d(axes[1])]
    letters = iter(string.ascii_letters)
    sa = [next(letters) for _ in range(na.ndim)]
    sb = [next(letters) for _ in range(nb.ndim)]
    for i, j in zip(ax_a, ax_b):
        sb[j] = sa[i]
    so = [c for i, c in enumerate(sa) if i not in ax_a] + [c for j, c in enumerate(sb) if j not in ax_b]
    return einsum(f"{''.join(sa)},{''.join(sb)}->{''.join(so)}", a, b)


def einsum(spec: str, *operands):
    """einsum with one or two operands (explicit ``->`` output)."""
    if not any(trace.is_traced(o) for o in operands):
        return _rewrap(np.einsum(spec, *[_plain(o) for o in operands]), operands[0])
    spec = spec.replace(" ", "")
    if "->" not in spec:
        raise ValueError("einsum on traced arrays needs an explicit output, e.g. 'ij,jk->ik'")
    ins, out = spec.split("->")
    ins = ins.split(",")
    if len(ins) == 1:
        node = _node(operands[0])
        summed = [i for i, c in enumerate(ins[0]) if c not in out]
        kept = [c for c in ins[0] if c in out]
        reduced = ops.reduce("sum", node, summed)
        return Tracer(ops.permute(reduced, [kept.index(c) for c in out]))
    if len(ins) != 2:
        raise ValueError("einsum on traced arrays takes one or two operands; chain two-operand calls")
    return Tracer(contract.einsum(f"{ins[0]},{ins[1]}->{out}", _node(operands[0]), _node(operands[1])))


# -- movement -----------------------------------------------------------------------------------------

def _shape_with_inferred(shape, size):
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    if -1 in shape:
        known = ops.prod([d for d in shape if d != -1])
        shape = tuple(size // known if d == -1 else d for d in shape)
    return shape


def reshape(x, shape):
    """reshape(x, shape), row-major; one dimension may be -1."""
    if not trace.is_traced(x):
        return _rewrap(np.reshape(_plain(x), shape), x)
    node = _node(x)
    return Tracer(ops.reshape(node, _shape_with_inferred(shape, ops.prod(node.shape))))


def transpose(x, axes=None):
    """transpose(x, axes=None): reverse the axes, or permute them as given."""
    if not trace.is_traced(x):
        return _rewrap(np.transpose(_plain(x), axes), x)
    node = _node(x)
    perm = tuple(reversed(range(node.ndim))) if axes is None else tuple(a % node.ndim for a in axes)
    return Tracer(ops.permute(node, perm))


def swapaxes(x, a, b):
    n = x.ndim if trace.is_traced(x) else np.ndim(x)
    perm = list(range(n))
    perm[a], perm[b] = perm[b], perm[a]
    return transpose(x, perm)


def moveaxis(x, source, destination):
    n = x.ndim if trace.is_traced(x) else np.ndim(x)
    perm = [i for i in range(n) if i != source % n]
    perm.insert(destination % n, source % n)
    return transpose(x, perm)


def squeeze(x, axis=None):
    shape = x.shape if trace.is_traced(x) else np.shape(x)
    axes = [i for i, d in enumerate(shape) if d == 1] if axis is None else ops.normalize_axes(axis, len(shape))
    for a in axes:
        if shape[a] != 1:
            raise ops.ShapeError(f"cannot squeeze axis {a} of shape {ops.fmt_shape(shape)}: its size is not 1")
    return reshape(x, tuple(d for i, d in enumerate(shape) if i not in axes))


def expand_dims(x, axis):
    shape = list(x.shape if trace.is_traced(x) else np.shape(x))
    for a in sorted(ops.normalize_axes(axis, len(shape) + len(np.atleast_1d(axis)))):
        shape.insert(a, 1)
    return reshape(x, tuple(shape))


def broadcast_to(x, shape):
    if not trace.is_traced(x):
        return _rewrap(np.broadcast_to(_plain(x), shape), x)
    return Tracer(ops.expand(_node(x), tuple(shape)))


def concatenate(xs, axis=0):
    """concatenate(xs, axis=0), differentiable with respect to every piece."""
    xs = list(xs)
    if not trace.any_traced(xs):
        return _rewrap(np.concatenate([_plain(x) for x in xs], axis=axis), xs[0])
    nodes = [_node(x) for x in xs]
    return Tracer(ops.concat(nodes, axis % nodes[0].ndim))


def stack(xs, axis=0):
    xs = list(xs)
    if not trace.any_traced(xs):
        return _rewrap(np.stack([_plain(x) for x in xs], axis=axis), xs[0])
    return concatenate([expand_dims(x, axis) for x in xs], axis=axis)


def flip(x, axis=None):
    shape = x.shape if trace.is_traced(x) else np.shape(x)
    axes = ops.normalize_axes(axis, len(shape))
    index = tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(len(shape)))
    return getitem(x, index)


def ravel(x):
    return reshape(x, (-1,))


def shape(x):
    return x.shape if trace.is_traced(x) else np.shape(x)


def ndim(x):
    return x.ndim if trace.is_traced(x) else np.ndim(x)


def size(x):
    return x.size if trace.is_traced(x) else np.size(x)


def zeros_like(x, dtype=None):
    return zeros(shape(x), dtype=dtype or (x.dtype if hasattr(x, "dtype") else np.float64))


def ones_like(x, dtype=None):
    return ones(shape(x), dtype=dtype or (x.dtype if hasattr(x, "dtype") else np.float64))


# -- indexing -----------------------------------------------------------------------------------------

def _is_index_array(k) -> bool:
    return isinstance(k, (list, np.ndarray, Array)) and not isinstance(k, np.generic)


def _check_adjacent_advanced(key):
    """NumPy moves the result axes of non-adjacent integer/array indices to the front; we don't."""
    positions = [i for i, k in enumerate(key) if _is_index_array(k) or isinstance(k, (int, np.integer))]
    if positions != list(range(positions[0], positions[-1] + 1)):
        raise IndexError("an index array separated from integer indices by a slice is not supported "
                         "on traced arrays; index in two steps")


def getitem(x, key):
    """NumPy basic indexing plus one integer (or boolean) index array."""
    if not isinstance(key, tuple):
        key = (key,)
    if builtins.any(trace.is_traced(k) for k in key):
        raise TracingError("indexing with a traced array is not supported; use sf.where with a mask")
    if not trace.is_traced(x):
        return _rewrap(_plain(x)[key], x)
    node = _node(x)
    specified = builtins.sum(1 for k in key if k is not None and k is not Ellipsis)
    if specified > node.ndim:
        raise IndexError(f"too many indices ({specified}) for an array of shape {ops.fmt_shape(node.shape)}")
    at = next((i for i, k in enumerate(key) if k is Ellipsis), len(key))
    key = key[:at] + (slice(None),) * (node.ndim - specified) + key[at + 1:]
    slices, out_shape, advanced, axis = [], [], None, 0
    for k in key:
        if k is None:
            out_shape.append(1)
            continue
        dim = node.shape[axis]
        if isinstance(k, slice):
            s = k.indices(dim)
            slices.append(s)
            out_shape.append(ops.slice_length(*s))
        elif _is_index_array(k):
            idx = np.asarray(k)
            if idx.dtype == bool:
                idx = np.nonzero(idx)[0]
            if advanced is not None:
                raise IndexError("only one index array is supported on traced arrays")
            idx = np.where(idx < 0, idx + dim, idx).astype(np.int64)
            if idx.size and (idx.min() < 0 or idx.max() >= dim):
                raise IndexError(f"index out of bounds for axis {axis} with size {dim}")
            advanced = (axis, idx, len(out_shape))
            slices.append((0, dim, 1))
            out_shape.extend(idx.shape)
        else:
            i = int(k)
            if not -dim <= i < dim:
                raise IndexError(f"index {i} is out of bounds for axis {axis} with size {dim}")
            i %= dim
            slices.append((i, i + 1, 1))
        axis += 1
    result = ops.slice_(node, slices)
    if advanced is not None:
        _check_adjacent_advanced(key)
        result = ops.take(result, ops.const(advanced[1]), advanced[0])
    return Tracer(ops.reshape(result, tuple(out_shape)))


# -- NumPy dispatch ---------------------------------------------------------------------------

UFUNCS = {getattr(np, name): name for name in ELEMENTWISE if isinstance(getattr(np, name, None), np.ufunc)}
UFUNCS.update({np.true_divide: "divide", np.absolute: "abs", np.fabs: "abs", np.fmax: "maximum",
               np.fmin: "minimum", np.ceil: "ceil"})
_REDUCERS = {np.add: sum, np.maximum: max, np.minimum: min, np.multiply: prod}


def apply_ufunc(ufunc, method, inputs, kwargs):
    if kwargs.get("out") is not None:
        raise TracingError(f"numpy.{ufunc.__name__}(..., out=...) would modify an array in place, "
                                 "which tracing cannot record; assign the result instead")
    if method == "__call__":
        if ufunc is np.matmul:
            return matmul(*inputs)
        if ufunc in UFUNCS:
            return _namespace[UFUNCS[ufunc]](*inputs)
    elif method == "reduce" and ufunc in _REDUCERS:
        return _REDUCERS[ufunc](inputs[0], axis=kwargs.get("axis", 0), keepdims=kwargs.get("keepdims", False))
    raise TypeError(f"numpy.{ufunc.__name__}{'' if method == '__call__' else '.' + method} is not "
                    "supported on traced arrays (while tracing for gradient/compile); use the "
                    "sf.* functions, e.g. sf.exp, sf.sum, sf.where")


def apply_function(func, args, kwargs):
    impl = FUNCTIONS.get(func)
    if impl is None:
        raise TypeError(f"numpy.{func.__name__} is not supported on traced arrays (while tracing for "
                        "gradient/compile); supported NumPy functions: "
                        + ", ".join(sorted(f.__name__ for f in FUNCTIONS)))
    kwargs = {k: v for k, v in kwargs.items() if k not in ("dtype", "out", "order") or v is not None}
    return impl(*args, **kwargs)


FUNCTIONS = {
    np.sum: sum, np.mean: mean, np.max: max, np.amax: max, np.min: min, np.amin: min,
    np.prod: prod, np.var: var, np.std: std, np.reshape: reshape, np.transpose: transpose,
    np.swapaxes: swapaxes, np.moveaxis: moveaxis, np.squeeze: squeeze, np.expand_dims: expand_dims,
    np.broadcast_to: broadcast_to, np.concatenate: concatenate, np.stack: stack, np.flip: flip,
    np.ravel: ravel, np.dot: dot, np.outer: outer, np.inner: inner, np.vdot: vdot,
    np.tensordot: tensordot, np.einsum: einsum, np.where: lambda c, a, b: where(c, a, b),  # noqa: F821
    np.clip: clip, np.shape: shape, np.ndim: ndim, np.size: size, np.zeros_like: zeros_like,
    np.ones_like: ones_like, np.matmul: matmul,
}


# -- creation ---------------------------------------------------------------------------------------

def _dims(shape):
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else tuple(shape)


def array(obj, dtype=None) -> Array:
    """A trackable array from nested lists/arrays (SymPy values give an object array)."""
    if isinstance(obj, sympy.MatrixBase):
        obj = np.array(obj.tolist(), dtype=object)
    return np.array(obj, dtype=dtype).view(Array)


def asarray(obj, dtype=None) -> Array:
    return obj if isinstance(obj, Array) and dtype is None else array(obj, dtype)


def zeros(*shape, dtype=np.float64) -> Array:
    return np.zeros(_dims(shape), dtype=dtype).view(Array)


def ones(*shape, dtype=np.float64) -> Array:
    return np.ones(_dims(shape), dtype=dtype).view(Array)


def full(shape, value, dtype=None) -> Array:
    return np.full(shape, value, dtype=dtype).view(Array)


def eye(n, m=None, dtype=np.float64) -> Array:
    return np.eye(n, m, dtype=dtype).view(Array)


def arange(*args, dtype=None) -> Array:
    return np.arange(*args, dtype=dtype).view(Array)


def linspace(start, stop, num=50, dtype=None) -> Array:
    return np.linspace(start, stop, num, dtype=dtype).view(Array)


def rand(*shape, dtype=np.float64) -> Array:
    """Uniform [0, 1) samples of the given shape (float64, like NumPy)."""
    return rng.generator().random(_dims(shape)).astype(dtype).view(Array)


def randn(*shape, dtype=np.float64) -> Array:
    """Standard normal samples of the given shape (float64, like NumPy)."""
    return rng.generator().standard_normal(_dims(shape)).astype(dtype).view(Array)


__all__ = sorted(set(ELEMENTWISE) | {
    "true_divide", "absolute", "mod", "clip", "astype", "stop_gradient", "sum", "mean", "max", "min", "amax",
    "amin", "prod", "var", "std", "logsumexp", "softmax", "logsoftmax", "matmul", "dot", "outer",
    "inner", "vdot", "tensordot", "einsum", "reshape", "transpose", "swapaxes", "moveaxis", "squeeze",
    "expand_dims", "broadcast_to", "concatenate", "stack", "flip", "ravel", "shape", "ndim", "size",
    "zeros_like", "ones_like", "getitem", "seed", "array", "asarray", "zeros", "ones", "full", "eye",
    "arange", "linspace", "rand", "randn"})

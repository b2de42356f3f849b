"""The reference interpreter: evaluates any graph with NumPy.

Two modes share one table of op implementations:
- numeric: typed NumPy arrays, each node's result cast to its dtype;
- exact: object arrays of SymPy numbers/expressions (integers, rationals, symbols stay exact).
Every backend is tested against this interpreter.
"""

from __future__ import annotations

import functools

import numpy as np
import sympy
from sympy.printing.numpy import NumPyPrinter

from codegen.kernel import dag_cse, dag_replace, quotient

from . import fft_ops, linalg_ops, ops, rng
from .functions import NUMPY_IMPLS, evaluated, literals_folded
from .ir import ARG, OBJECT, Node, toposort

# truth values as the numbers 1 and 0 bodies take them for (SymPy's false is not 0: Ne(false, 0) holds)
_to_sympy = np.frompyfunc(lambda v: sympy.Integer(bool(v)) if isinstance(v, (bool, np.bool_)) else sympy.sympify(v),
                          1, 1)


def to_exact(value) -> np.ndarray:
    """An object array of SymPy values."""
    if isinstance(value, sympy.MatrixBase):
        value = np.array(value.tolist(), dtype=object)
    arr = np.asarray(value, dtype=object) if not isinstance(value, np.ndarray) else value
    return np.asarray(_to_sympy(arr), dtype=object).reshape(arr.shape)


class _ExactFloatPrinter(NumPyPrinter):
    """NumPy code with floats printed exactly (SymPy's default keeps 15 significant digits)."""

    def _print_Float(self, expr):
        return repr(float(expr))

    def _as_ordered_terms(self, expr, order=None):
        """Terms as stored, subtracted ones after the others and constants last: x − 1 rather than −1 + x,
        which NumPy refuses for an unsigned x (NEP 50: −1 is not a uint64), x − y rather than −y + x
        (−y of uint8 wraps in uint8 before it meets an int8 x), and no sorting, which compares
        coefficients (fails for NaN)."""
        args = list(expr.args)
        negative = [a for a in args if not a.is_Number and a.as_coeff_Mul()[0].is_negative]
        return [a for a in args if not a.is_Number and a not in negative] + negative + [a for a in args if a.is_Number]

    def _print_Mul(self, expr):  # x/3 divided, as NumPy divides it (and compiled code: ``quotient``)
        if expr.as_coeff_Mul()[0].is_negative and len(expr.args) > 1:
            # negated last: −x·y of uint32 x and int8 y is −(x·y) in int64 (−x wrapped in uint32 first)
            return f"-({self._print(-expr)})"  # a leading minus: a sum prints it as a subtraction
        numerator, denominator = quotient(expr)
        if denominator == 1:
            return super()._print_Mul(expr)
        return f"({self._print(numerator)})/({self._print(denominator)})"

    def _print_ImaginaryUnit(self, expr):
        """A real computation has no i: where SymPy's exact one leaves the reals (log(−½) = log ½ + iπ),
        NumPy's gives NaN, as compiled code does."""
        return "numpy.nan"

    _print_ComplexInfinity = _print_ImaginaryUnit

    def _print__FloatClass(self, expr):  # isnan, isinf, isfinite
        return f"numpy.{type(expr).__name__}({self._print(expr.args[0])})"

    def _print_And(self, expr):  # pairwise, so operands of different shapes broadcast
        return self._pairwise("numpy.logical_and", expr.args)

    def _print_Or(self, expr):
        return self._pairwise("numpy.logical_or", expr.args)

    def _print_ITE(self, expr):  # a truth value (SymPy's prints a float select, which no condlist takes)
        return "numpy.where({}, {}, {})".format(*map(self._print, expr.args))

    def _print_Piecewise(self, expr):
        """Nested ``where``s: SymPy's ``select(…, default=nan)`` makes every result a float (an int64
        near 2⁶³ came back rounded)."""
        if expr.args[-1].cond != sympy.true:
            return super()._print_Piecewise(expr)
        out = self._print(expr.args[-1].expr)
        for value, condition in reversed(expr.args[:-1]):
            out = f"numpy.where({self._print(condition)}, {self._print(value)}, {out})"
        return out

    def _pairwise(self, function, args):
        out = self._print(args[0])
        for a in args[1:]:
            out = f"{function}({out}, {self._print(a)})"
        return out

    def _print_Pow(self, expr, rational=False):
        if expr.base.is_Number and not expr.exp.is_Number:  # 2**x is a float function even of integers
            return f"numpy.power({float(expr.base)!r}, {self._print(expr.exp)})"
        return super()._print_Pow(expr, rational)


class _ComplexPrinter(_ExactFloatPrinter):
    """For bodies whose values are complex: i is i."""

    def _print_ImaginaryUnit(self, expr):
        return "1j"


@functools.lru_cache(maxsize=4096)
def body_function(body: sympy.Expr, nargs: int, exact: bool, complex_values: bool = False):
    """``body`` as a Python callable over ``nargs`` positional arrays (``complex_values``: it computes
    complex numbers, so i is not NaN).

    Exact mode substitutes values into the body (lambdify would print ``Rational(1, 2)`` as the
    float ``1/2``), elementwise over object arrays."""
    body = evaluated(body)
    if exact:
        body = literals_folded(body)
        substitute = lambda *values: dag_replace(body, dict(zip(ARG, values)))
        return np.frompyfunc(substitute, nargs, 1) if nargs else substitute
    printer = (_ComplexPrinter if complex_values else _ExactFloatPrinter)(
        {"fully_qualified_modules": False, "inline": True, "allow_unknown_functions": True, "user_functions": {}})
    # bound on the DAG: lambdify prints (and walks) the tree, exponential in a high derivative's depth
    shared, reduced = dag_cse(body, sympy.numbered_symbols("_shared"))
    # no docstring: it is str(body), which also sorts terms (and costs a second print of big bodies)
    return sympy.lambdify(ARG[:nargs], reduced, modules=[NUMPY_IMPLS, "numpy"], printer=printer, docstring_limit=0,
                          cse=lambda _: (shared, reduced))


def clear_caches() -> None:
    """Forget evaluated derivative bodies and compiled body functions (for cold timings)."""
    from sympy.core.cache import clear_cache
    body_function.cache_clear()
    evaluated.cache_clear()
    clear_cache()


def eval_map(node: Node, vals, exact: bool):
    complex_values = node.dtype.kind == "c" or any(np.iscomplexobj(v) for v in vals)
    fn = body_function(node.body, len(vals), exact, complex_values)
    if exact:
        out = np.asarray(fn(*vals) if vals else literals_folded(evaluated(node.body)), dtype=object)
        if node.dtype.kind == "b":  # truth values as the numbers 1 and 0, which sums and products take
            out = np.frompyfunc(lambda v: sympy.Integer(1 if v == sympy.true or v == 1 else 0)
                                if isinstance(v, (sympy.logic.boolalg.BooleanAtom, sympy.Integer)) else v, 1, 1)(out)
        return np.broadcast_to(np.asarray(out, dtype=object), node.shape)
    # bools as the integers they are, as compiled code reads them (−b of a bool raises in NumPy): in the
    # result's type if signed (or uint64: int64 would meet it in float64), else in int64, which keeps
    # NumPy's bool & −3 (int64) where uint32 refuses the literal
    as_int = node.dtype if node.dtype.kind == "i" or node.dtype == np.uint64 else np.dtype(np.int64)
    vals = [v.astype(as_int) if v.dtype == bool else v for v in vals]
    with np.errstate(all="ignore"):
        out = fn(*vals)
    return np.broadcast_to(np.asarray(out).astype(node.dtype, copy=False), node.shape)


def _extremum(kind, v, axes, exact):
    if not exact:
        return (np.max if kind == "max" else np.min)(v, axis=axes)
    pick = np.frompyfunc(sympy.Max if kind == "max" else sympy.Min, 2, 1)
    for a in sorted(axes, reverse=True):
        v = pick.reduce(v, axis=a)
    return np.asarray(v, dtype=object)


def _index(slices) -> tuple:
    """Python slices for normalised (start, stop, step) triples; a stop of -1 means 'past the start'
    (and an empty slice stays empty: ``x[-2::-1]`` of one element normalises to (-1, -1, -1))."""
    return tuple(slice(0, 0) if ops.slice_length(start, stop, step) == 0 else
                 slice(start, None if stop < 0 else stop, step) for start, stop, step in slices)


def _unslice(g, node):
    out = np.zeros(node.shape, dtype=g.dtype)
    out[_index(node.attrs[0])] = g
    return out


def _scatter_add(v, idx, node):
    axis, _ = node.attrs
    out = np.zeros(node.shape, dtype=v.dtype)
    index = (slice(None),) * axis + (np.asarray(idx, dtype=np.intp),)
    np.add.at(out, index, v)
    return out


def _pad(x, pad, value):
    """Pad the spatial axes by (lo, hi) each; negative amounts crop."""
    crop = (slice(None), slice(None)) + tuple(slice(max(-lo, 0), x.shape[2 + i] - max(-hi, 0))
                                              for i, (lo, hi) in enumerate(pad))
    widths = [(0, 0), (0, 0)] + [(max(lo, 0), max(hi, 0)) for lo, hi in pad]
    x = x[crop]
    return np.pad(x, widths, constant_values=value) if any(map(any, widths)) else x


def _unfold(x, node):
    kernel, stride, dilation, pad, pad_value = node.attrs
    nd = len(kernel)
    padded = _pad(x, pad, pad_value if x.dtype != object else sympy.sympify(pad_value))
    extents = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    windows = np.lib.stride_tricks.sliding_window_view(padded, extents, axis=tuple(range(2, 2 + nd)))
    index = (slice(None), slice(None)) + tuple(slice(None, None, s) for s in stride) \
        + tuple(slice(None, None, d) for d in dilation)
    return windows[index][(slice(None), slice(None)) + tuple(slice(0, o) for o in node.shape[2:2 + nd])]


def _fold(cols, node):
    spatial, kernel, stride, dilation, pad = node.attrs
    nd = len(kernel)
    out_sizes = cols.shape[2:2 + nd]
    # windows cover s(out−1) + d(k−1) + 1 padded positions; a negative low pad shifts the output
    shift = [max(-lo, 0) for lo, _ in pad]
    covered = [s * (n - 1) + d * (k - 1) + 1 for s, n, d, k in zip(stride, out_sizes, dilation, kernel)]
    size = [sh + max(c, lo + n) for sh, c, (lo, _), n in zip(shift, covered, pad, spatial)]
    buffer = np.zeros(cols.shape[:2] + tuple(size), dtype=cols.dtype)
    if cols.dtype == object:
        buffer[...] = sympy.S.Zero
    for offset in np.ndindex(*kernel):
        target = tuple(slice(sh + o * d, sh + o * d + s * (n - 1) + 1, s)
                       for sh, o, d, s, n in zip(shift, offset, dilation, stride, out_sizes))
        buffer[(slice(None), slice(None)) + target] += cols[(Ellipsis,) + offset]
    return buffer[(slice(None), slice(None)) + tuple(slice(sh + lo, sh + lo + n)
                                                     for sh, (lo, _), n in zip(shift, pad, spatial))]


def _einsum(a, b, node, exact):
    spec = node.attrs[0]
    if exact or a.dtype == OBJECT or b.dtype == OBJECT:
        return np.einsum(spec, a.astype(object), b.astype(object))
    return np.einsum(spec, a, b, optimize=True)


# Each entry: (node, argument values, exact) -> value.
EVAL = {
    "sum": lambda n, v, ex: np.sum(v[0], axis=n.attrs[0]),
    "max": lambda n, v, ex: _extremum("max", v[0], n.attrs[0], ex),
    "min": lambda n, v, ex: _extremum("min", v[0], n.attrs[0], ex),
    "einsum": lambda n, v, ex: _einsum(v[0], v[1], n, ex),
    "reshape": lambda n, v, ex: np.reshape(v[0], n.shape),
    "permute": lambda n, v, ex: np.transpose(v[0], n.attrs[0]),
    "expand": lambda n, v, ex: np.broadcast_to(v[0], n.shape),
    "detach": lambda n, v, ex: v[0],
    "slice": lambda n, v, ex: v[0][_index(n.attrs[0])],
    "unslice": lambda n, v, ex: _unslice(v[0], n),
    "take": lambda n, v, ex: np.take(v[0], np.asarray(v[1], dtype=np.intp), axis=n.attrs[0]),
    "scatter_add": lambda n, v, ex: _scatter_add(v[0], v[1], n),
    "concat": lambda n, v, ex: np.concatenate(v, axis=n.attrs[0]),
    "unfold": lambda n, v, ex: _unfold(v[0], n),
    "fold": lambda n, v, ex: _fold(v[0], n),
    "map": lambda n, v, ex: eval_map(n, v, ex),
    "linalg": linalg_ops.evaluate,
    "fft": fft_ops.evaluate,
}


def _leaf(node: Node, bindings, exact: bool):
    if node.op == "rand":
        return rng.generator().random(node.shape).astype(node.dtype)
    if node.op == "input":
        if node not in bindings:
            raise ValueError(f"the graph needs a value for input {node.attrs[1]!r}")
        value = bindings[node]
    else:
        value = node.value
    if exact:
        return to_exact(value)
    return np.asarray(value, dtype=node.dtype)


def evaluate(outputs, bindings: dict, exact: bool = False) -> list[np.ndarray]:
    """Values of ``outputs`` given ``bindings`` {input node: value}."""
    values: dict[int, np.ndarray] = {}
    for node in toposort(outputs):
        if node.op in ("input", "const", "rand"):
            values[id(node)] = _leaf(node, bindings, exact)
            continue
        args = [values[id(a)] for a in node.args]
        out = EVAL[node.op](node, args, exact)
        values[id(node)] = np.asarray(out, dtype=object if exact else node.dtype)
    return [values[id(o)] for o in outputs]

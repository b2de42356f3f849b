"""Index notation: the formula of a graph that has no matrix form (cumulative sums, concatenations,
contractions of three indices…), written entry by entry: ``(i) ↦ Σ_{p}(W[i, p]*x[p])``.

Each node's value is a function from index symbols to a SymPy expression over the entries of the
bound symbols; contractions and reductions become sums over fresh indices. The result is an
``IndexForm``: substitute matrices and call ``.doit()`` for the array of numbers.
"""

from __future__ import annotations

import itertools

import numpy as np
import sympy
from sympy.printing.str import StrPrinter

from .contract import parse_spec
from .functions import ArrayElement, VectorSymbol, evaluated
from .ir import ARG, Node, toposort

OUTPUT_LETTERS = "ijklmn"
SUM_LETTERS = "pqrstuvwabcdefgh"


class NoIndexForm(ValueError):
    """The graph uses an operation index notation here does not cover."""


class IndexForm(sympy.Expr):
    """An array given entry by entry: ``indices ↦ entry`` over index ranges ``shape``."""

    def __new__(cls, indices, entry, shape):
        return sympy.Expr.__new__(cls, sympy.Tuple(*indices), entry, sympy.Tuple(*shape))

    indices = property(lambda self: tuple(self.args[0]))
    entry = property(lambda self: self.args[1])
    shape = property(lambda self: tuple(self.args[2]))

    def _sympystr(self, printer):
        entry = _SumPrinter(printer._settings).doprint(self.entry)
        return f"({', '.join(map(str, self.indices))}) ↦ {entry}"

    def _latex(self, printer):
        return rf"\left({', '.join(map(str, self.indices))}\right) \mapsto {printer._print(self.entry)}"

    def doit(self, **hints):
        """The entries as a NumPy object array once the sizes and the symbols' values are concrete."""
        if not all(sympy.sympify(n).is_Integer for n in self.shape):
            return self
        out = np.empty(tuple(int(n) for n in self.shape), dtype=object)
        for at in itertools.product(*[range(int(n)) for n in self.shape]):
            out[at] = self.entry.xreplace(dict(zip(self.indices, map(sympy.Integer, at)))).doit()
        return out


class Iverson(sympy.Function):
    """[condition]: 1 where it holds, else 0 (so masks multiply, and sums keep their scope)."""

    @classmethod
    def eval(cls, condition):
        if condition in (sympy.true, sympy.false):
            return sympy.Integer(1 if condition else 0)
        return None

    def _sympystr(self, printer):
        c = self.args[0]
        text = f"{printer._print(c.lhs)} = {printer._print(c.rhs)}" if isinstance(c, sympy.Eq) else printer._print(c)
        return f"[{text}]"

    def _latex(self, printer):
        return rf"\left[{printer._print(self.args[0])}\right]"


def _as_iverson(body):
    """Piecewise((a, c), (0, True)) as a·[c]: SymPy folds piecewise conditions out of sums, across
    their bound indices, so masks are kept as factors."""
    def fold(pw):
        (value, condition), (otherwise, _) = pw.args
        return value * Iverson(condition) if otherwise == 0 else pw
    return body.replace(lambda e: isinstance(e, sympy.Piecewise) and len(e.args) == 2, fold)


def _mask_truth(body, bool_args):
    """Ne(m, 0) of a truth-valued argument m is m."""
    return body.xreplace({sympy.Ne(a, 0): a for a in bool_args})


class _SumPrinter(StrPrinter):
    def _print_Sum(self, expr):
        letters = ", ".join(str(limit[0]) for limit in expr.limits)
        return f"Σ_{{{letters}}}({self._print(expr.function)})"


def to_indexed(outputs: list[Node], bindings: dict) -> list:
    """``outputs`` in index notation, the inputs bound to SymPy scalars or matrix symbols."""
    fresh = (sympy.Symbol(c, integer=True) for c in itertools.chain(SUM_LETTERS, (f"p{k}" for k in itertools.count())))
    values: dict[int, object] = {}
    for node in toposort(outputs):
        args = [values[id(a)] for a in node.args]
        values[id(node)] = _entry_function(node, args, bindings, fresh)
    results = []
    for out in outputs:
        if out.ndim == 0:
            results.append(values[id(out)](()))
            continue
        indices = tuple(sympy.Symbol(OUTPUT_LETTERS[k], integer=True) for k in range(out.ndim))
        at = tuple(sympy.Integer(0) if n == 1 else i for i, n in zip(indices, out.shape))  # one entry: index 0
        entry = _within_ranges(values[id(out)](at), dict(zip(indices, out.shape)))
        results.append(IndexForm(indices, entry, out.shape))
    return results


def _within_ranges(entry, sizes: dict):
    """Index arithmetic that the ranges decide: i mod n = i and ⌊i/n⌋ = 0 for 0 ≤ i < n."""
    sizes = sizes | {limit[0]: limit[2] + 1 for s in entry.atoms(sympy.Sum) for limit in s.limits}

    def fits(e, n):
        return e in sizes and sympy.Le(sizes[e], n) == sympy.true

    entry = entry.replace(lambda e: isinstance(e, sympy.Mod) and fits(*e.args), lambda e: e.args[0])
    return entry.replace(lambda e: isinstance(e, sympy.floor) and e.args[0].is_Mul and len(e.args[0].args) == 2
                         and fits(e.args[0].args[1], 1 / e.args[0].args[0]), lambda e: sympy.Integer(0))


def _entry_function(node: Node, args, bindings, fresh):
    """(index tuple) → the entry of ``node`` there."""
    op = node.op
    if op == "input":
        return _element(bindings[node], node.ndim)
    if op == "const":
        return _constant(node)
    if op == "map":
        body = _as_iverson(_mask_truth(evaluated(node.body), [ARG[k] for k, a in enumerate(node.args)
                                                             if a.dtype == bool]))
        shapes = [a.shape for a in node.args]
        return lambda at: body.xreplace({ARG[k]: f(_broadcast_index(at, node.shape, s))
                                         for k, (f, s) in enumerate(zip(args, shapes))})
    if op in ("detach",):
        return args[0]
    if op == "permute":
        perm = node.attrs[0]
        return lambda at: args[0](tuple(at[perm.index(k)] for k in range(len(perm))))
    if op == "expand":
        old = node.args[0].shape
        return lambda at: args[0](_broadcast_index(at, node.shape, old))
    if op == "slice":
        return lambda at: args[0](tuple(start + step * i for i, (start, _, step) in zip(at, node.attrs[0])))
    if op == "sum":
        return _reduced(node, args[0], fresh)
    if op == "einsum":
        return _contracted(node, args, fresh)
    if op == "reshape":
        return _reshaped(node, args[0])
    if op == "concat":
        return _concatenated(node, args)
    if op == "unslice":
        return _unsliced(node, args[0])
    raise NoIndexForm(f"no index form for the {op} node {node}")


def _element(value, ndim):
    if ndim == 0:
        return lambda at: value
    if isinstance(value, VectorSymbol):
        return lambda at: value[at[0], 0]
    if isinstance(value, sympy.MatrixExpr):
        return lambda at: ArrayElement(value, at[0], at[1] if ndim == 2 else 0)
    return lambda at: sympy.IndexedBase(str(value))[at]


_MASKS = {"≤": (np.triu, sympy.Le), "≥": (np.tril, sympy.Ge)}


def _constant(node):
    value = np.asarray(node.value, dtype=object)
    if value.ndim == 0:
        return lambda at: sympy.sympify(value[()])
    if node.dtype == bool and value.ndim == 2 and value.shape[0] == value.shape[1]:
        ones = np.ones(value.shape, dtype=bool)
        for triangle, relation in _MASKS.values():  # cumulative sums' masks: i ≤ j, i ≥ j
            if np.array_equal(value.astype(bool), triangle(ones)):
                return lambda at, relation=relation: relation(at[0], at[1])
        if np.array_equal(value.astype(bool), np.eye(len(value), dtype=bool)):
            return lambda at: sympy.Eq(at[0], at[1])
    array = sympy.ImmutableDenseNDimArray(value.tolist(), value.shape)
    return lambda at: array[at]


def _broadcast_index(at, shape, arg_shape):
    """The index of an argument of shape ``arg_shape`` broadcast to ``shape`` (NumPy's rules)."""
    lead = len(shape) - len(arg_shape)
    return tuple(0 if n == 1 and shape[lead + k] != 1 else at[lead + k] for k, n in enumerate(arg_shape))


def _reduced(node, arg, fresh):
    axes = tuple(a % node.args[0].ndim for a in node.attrs[0])
    shape = node.args[0].shape

    def entry(at):
        kept = iter(at)
        summed = {a: next(fresh) for a in axes}
        inner = tuple(summed[k] if k in summed else next(kept) for k in range(len(shape)))
        return sympy.Sum(arg(inner), *[(summed[a], 0, shape[a] - 1) for a in axes])
    return entry


def _contracted(node, args, fresh):
    sa, sb, so = parse_spec(node.attrs[0])
    sizes = dict(zip(sa, node.args[0].shape)) | dict(zip(sb, node.args[1].shape))
    summed = [c for c in dict.fromkeys(sa + sb) if c not in so]

    def entry(at):
        letters = dict(zip(so, at)) | {c: next(fresh) for c in summed}
        product = args[0](tuple(letters[c] for c in sa)) * args[1](tuple(letters[c] for c in sb))
        return sympy.Sum(product, *[(letters[c], 0, sizes[c] - 1) for c in summed]) if summed else product
    return entry


def _reshaped(node, arg):
    """A reshape as index arithmetic, group by group of axes with equal sizes: split axes combine
    as i·n + j, merged ones come apart as (i // n, i % n)."""
    groups = _axis_groups(node.args[0].shape, node.shape)

    def entry(at):
        old, position = [], 0
        for old_sizes, new_sizes in groups:
            flat = sympy.Integer(0)
            for i, n in zip(at[position:position + len(new_sizes)], new_sizes):
                flat = flat * n + i
            position += len(new_sizes)
            strides = [sympy.Mul(*old_sizes[k + 1:]) for k in range(len(old_sizes))]
            old += [flat if len(old_sizes) == 1 else sympy.Mod(sympy.floor(flat / st), n)
                    for st, n in zip(strides, old_sizes)]
        return arg(tuple(old))
    return entry


def _axis_groups(old, new):
    """[(old sizes, new sizes)]: the shortest runs of axes whose sizes multiply to the same number."""
    groups, i, j = [], 0, 0
    while i < len(old) or j < len(new):
        a, b = [old[i]] if i < len(old) else [], [new[j]] if j < len(new) else []
        i, j = i + len(a), j + len(b)
        while sympy.Mul(*a) != sympy.Mul(*b):
            if i < len(old) and (j >= len(new) or _smaller(sympy.Mul(*a), sympy.Mul(*b))):
                a.append(old[i])
                i += 1
            elif j < len(new):
                b.append(new[j])
                j += 1
            else:
                raise NoIndexForm(f"no index form for reshaping {old} to {new}")
        groups.append((a, b))
    return groups


def _smaller(x, y) -> bool:
    comparison = sympy.Lt(x, y)
    if comparison not in (sympy.true, sympy.false):
        raise NoIndexForm("no index form for a reshape of symbolic sizes")
    return bool(comparison)


def _unsliced(node, arg):
    """The adjoint of a slice: the argument placed at start:stop (step 1), zeros elsewhere."""
    ranges = node.attrs[0]
    if any(step != 1 for _, _, step in ranges):
        raise NoIndexForm("no index form for a strided slice's adjoint")

    def entry(at):
        inner = tuple(i - start for i, (start, _, _) in zip(at, ranges))  # read outside: 0 (ArrayElement)
        inside = sympy.And(*[_within(i, start, stop, n) for i, (start, stop, _), n in zip(at, ranges, node.shape)])
        return arg(inner) * Iverson(inside)
    return entry


def _within(i, start, stop, size):
    """start ≤ i < stop for an index i of an axis of ``size``, without the bounds that always hold."""
    if stop - start == 1:
        return sympy.Eq(i, start)
    return sympy.And(*([start <= i] if start > 0 else []), *([i < stop] if stop < size else []))


def _concatenated(node, parts):
    axis = node.attrs[0]
    starts = list(itertools.accumulate([0] + [a.shape[axis] for a in node.args]))

    def entry(at):
        pieces = []
        for f, lo, hi in zip(parts, starts, starts[1:]):
            inner = at[:axis] + (at[axis] - lo,) + at[axis + 1:]
            pieces.append((f(inner), sympy.Lt(at[axis], hi)))
        return sympy.Piecewise(*pieces[:-1], (pieces[-1][0], True))
    return entry

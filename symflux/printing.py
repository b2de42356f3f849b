"""Printing: graphs as matrix-calculus formulas (SymPy matrix expressions), LaTeX, and symbols.

``to_matexpr`` evaluates a graph over ``MatrixSymbol`` inputs into a SymPy ``MatrixExpr``, so the
gradient of ‖Wx + b − y‖² with respect to W prints as ``2*(W*x + b - y)*x.T``. Arrays of one
dimension are columns; contractions become products, transposes, ``diag(·)`` and ``tr(·)``;
elementwise bodies become sums, scalar multiples, Hadamard products ``⊙`` and powers, and
functions applied entrywise, ``tanh.(W*x + b)`` (LaTeX: ``\\tanh(Wx + b)``, entrywise). Sums and
maxima of all entries print as ``sum(·)`` and ``max(·)``; ``𝟙`` is the all-ones matrix. Every
form is a SymPy expression: substituting concrete matrices and calling ``.doit()`` gives numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import sympy
from sympy.printing.precedence import PRECEDENCE, precedence
from sympy.printing.str import StrPrinter

from . import functions
from .contract import parse_spec
from .functions import Vector, VectorSymbol, evaluated
from .index_notation import to_indexed
from .ir import ARG, Identity, Node, size_of, toposort


class NoMatrixForm(ValueError):
    """The graph uses an operation that has no SymPy matrix-expression equivalent."""


def symbols(names: str, shape: Sequence | None = None, **assumptions: Any) -> Any:
    """SymPy symbols; with ``shape``, a ``MatrixSymbol``, or for ``(n,)`` a ``VectorSymbol``.
    Sizes may be numbers, SymPy symbols or names (``shape=("m", "n")``: positive integers)."""
    if shape is None:
        return sympy.symbols(names, **assumptions)
    shape = tuple(sympy.Symbol(s, integer=True, positive=True) if isinstance(s, str) else s for s in shape)
    if len(shape) not in (1, 2):
        raise ValueError(f"matrix symbols are 1-D or 2-D, got shape {shape}")
    kind = VectorSymbol if len(shape) == 1 else sympy.MatrixSymbol
    made = [kind(n, shape[0], shape[1] if len(shape) == 2 else 1) for n in names.replace(",", " ").split()]
    return made[0] if len(made) == 1 else tuple(made)


# -- the notation ------------------------------------------------------------------------------------

class Ones(sympy.OneMatrix):
    """The all-ones matrix, printed ``𝟙``."""

    def _sympystr(self, printer):
        return "𝟙"

    def _latex(self, printer):
        return r"\mathbb{1}"

    def doit(self, **hints):
        return self.as_explicit() if self.shape[0].is_Integer and self.shape[1].is_Integer else self


class Hadamard(sympy.HadamardProduct):
    """The entrywise product, printed ``A ⊙ B``."""

    def _sympystr(self, printer):
        return " ⊙ ".join(printer.parenthesize(a, PRECEDENCE["Mul"]) for a in self.args)

    def _latex(self, printer):
        return r" \odot ".join(printer.parenthesize(a, PRECEDENCE["Mul"]) for a in self.args)

    def doit(self, **hints):
        args = [a.doit(**hints) for a in self.args]
        if all(isinstance(a, sympy.MatrixBase) for a in args):
            out = args[0]
            for a in args[1:]:
                out = out.multiply_elementwise(a)
            return sympy.ImmutableMatrix(out)
        return Hadamard(*args)


class Entrywise(sympy.MatrixExpr):
    """``body`` (a Lambda) applied to matrices of one shape entry by entry: ``tanh.(W*x + b)``."""

    def __new__(cls, body: sympy.Lambda, *matrices):
        return sympy.Basic.__new__(cls, body, *matrices)

    body = property(lambda self: self.args[0])
    matrices = property(lambda self: self.args[1:])
    shape = property(lambda self: self.args[1].shape)

    def _entry(self, i, j, **kwargs):
        return self.body(*[m[i, j] for m in self.matrices])

    def doit(self, **hints):
        matrices = [m.doit(**hints) for m in self.matrices]
        if all(isinstance(m, sympy.MatrixBase) for m in matrices):
            rows, cols = matrices[0].shape
            return sympy.ImmutableMatrix(rows, cols, lambda i, j: self.body(*[m[i, j] for m in matrices]))
        return Entrywise(self.body, *matrices)

    @property
    def precedence(self):  # parenthesised as its body is
        return PRECEDENCE["Atom"] if isinstance(self.body.expr, sympy.Function) else precedence(self.body.expr)

    def _sympystr(self, printer):
        return _DottedPrinter(printer._settings).doprint(self._spelled(printer))

    def _latex(self, printer):
        return printer._print(self._spelled(printer))

    def _spelled(self, printer):
        """The body with each variable replaced by its matrix as printed (and named activations)."""
        body, variables = self.body.expr, self.body.variables
        name = _NAMED.get(body.xreplace(dict(zip(variables, _dummies(len(variables))))))
        if name is not None:
            body = _Activation(name, *variables)
        spelled = {v: _Spelled(printer._print(m), _is_atom(m)) for v, m in zip(variables, self.matrices)}
        return body.xreplace(spelled)


class _Activation(sympy.Function):
    """An activation known by name (relu is a Piecewise), printed as ``relu(·)``."""

    def __new__(cls, name, *args):
        obj = sympy.Expr.__new__(cls, *args)
        obj.name = name
        return obj

    def xreplace(self, rule):
        return _Activation(self.name, *[a.xreplace(rule) for a in self.args])

    def _sympystr(self, printer):
        return f"{self.name}({', '.join(printer._print(a) for a in self.args)})"

    def _latex(self, printer):
        name = self.name.rstrip("'")
        args = ", ".join(printer._print(a) for a in self.args)
        return rf"\operatorname{{{name}}}{self.name[len(name):]}\left({args}\right)"


class _Spelled(sympy.Symbol):
    """A matrix inside an entrywise body, printed as the matrix is (in parentheses unless atomic)."""

    def __new__(cls, text, atomic):
        obj = sympy.Symbol.__new__(cls, text)
        obj.precedence = PRECEDENCE["Atom"] if atomic else PRECEDENCE["Add"]
        return obj

    def _sympystr(self, printer):
        return self.name

    def _latex(self, printer):
        return self.name


def _is_atom(m) -> bool:
    return isinstance(m, (sympy.MatrixSymbol, Entrywise, Diag, sympy.Transpose)) or m.is_Atom


class _DottedPrinter(StrPrinter):
    """Julia's broadcasting notation for an entrywise body: ``1 - tanh.(W*x + b).^2``, ``a ⊙ b``."""

    def _print(self, expr, **kwargs):
        text = super()._print(expr, **kwargs)
        return text.replace("(", ".(", 1) if isinstance(expr, sympy.Function) else text

    def _print_Pow(self, expr, rational=False):
        if expr.exp.is_Number and expr.exp > 0:
            return f"{self.parenthesize(expr.base, PRECEDENCE['Pow'])}.^{self._print(expr.exp)}"
        return super()._print_Pow(expr, rational)

    def _print_Mul(self, expr):
        varying = [a for a in expr.args if a.atoms(_Spelled)]
        if len(varying) < 2:
            return super()._print_Mul(expr)
        fixed = sympy.Mul(*[a for a in expr.args if not a.atoms(_Spelled)])
        text = " ⊙ ".join(self.parenthesize(a, PRECEDENCE["Mul"]) for a in varying)
        return text if fixed == 1 else f"{self.parenthesize(fixed, PRECEDENCE['Mul'])}*{text}"


class _Named:
    """Printed as a function of its one argument: ``sum(M)``, ``diag(v)``."""

    name = ""

    def _sympystr(self, printer):
        return f"{self.name}({printer._print(self.args[0])})"

    def _latex(self, printer):
        return rf"\operatorname{{{self.name}}}\left({printer._print(self.args[0])}\right)"


class _Whole(_Named, sympy.Expr):
    """A scalar reduction over every entry of a matrix: ``sum(M)``, ``max(M)``."""

    is_commutative = True

    def __new__(cls, matrix):
        return sympy.Expr.__new__(cls, matrix)

    def doit(self, **hints):
        m = self.args[0].doit(**hints)
        if isinstance(m, sympy.MatrixBase):
            return self.reduce(list(m))
        return type(self)(m)


class Entry(_Whole):
    """The one entry of a 1 × 1 product: ``x.T*A*x``."""

    def _sympystr(self, printer):
        return printer._print(self.args[0])

    def _latex(self, printer):
        return printer._print(self.args[0])

    reduce = staticmethod(lambda entries: entries[0])


class Total(_Whole):
    name = "sum"
    reduce = staticmethod(sympy.Add.fromiter)


class Largest(_Whole):
    name = "max"
    reduce = staticmethod(lambda entries: sympy.Max(*entries))


class Softmax(_Named, sympy.MatrixExpr):
    """softmax(a) = exp.(a)/sum(exp.(a)) over every entry of a."""

    name = "softmax"

    def __new__(cls, matrix):
        return sympy.Basic.__new__(cls, matrix)

    shape = property(lambda self: self.args[0].shape)

    def doit(self, **hints):
        a = self.args[0].doit(**hints)
        if not isinstance(a, sympy.MatrixBase):
            return Softmax(a)
        e = a.applyfunc(sympy.exp)
        return sympy.ImmutableMatrix(e / sum(e))


def _is_exp(m) -> bool:
    return isinstance(m, Entrywise) and len(m.matrices) == 1 and m.body.expr == sympy.exp(m.body.variables[0])


class Diag(_Named, sympy.MatrixExpr):
    """diag(v): the square matrix with the column v on its diagonal."""

    name = "diag"

    def __new__(cls, vector):
        return sympy.Basic.__new__(cls, vector)

    shape = property(lambda self: (self.args[0].shape[0], self.args[0].shape[0]))

    def _entry(self, i, j, **kwargs):
        return sympy.KroneckerDelta(i, j) * self.args[0][i, 0]

    def doit(self, **hints):
        v = self.args[0].doit(**hints)
        return sympy.ImmutableMatrix(sympy.diag(*list(v))) if isinstance(v, sympy.MatrixBase) else Diag(v)


def _dummies(n: int) -> tuple:
    """The variables of entrywise bodies (the same symbols each time, so bodies compare equal)."""
    return sympy.symbols(f"_e0:{n}", real=True)


def _named_bodies() -> dict:
    """{body of one variable: name} for activations that are not one SymPy function (relu is a
    Piecewise), and their derivatives as ``name'``."""
    named = {}
    (d,) = _dummies(1)
    for name in functions.ACTIVATIONS:
        body = sympy.sympify(getattr(functions, name)(d))
        if body.has(sympy.Piecewise, sympy.Max, sympy.Min):
            named.setdefault(body, name)
            named.setdefault(body.diff(d), f"{name}'")
    return named


_NAMED = _named_bodies()


# -- graph → formula -----------------------------------------------------------------------------------

def _is_matrix(x) -> bool:
    return isinstance(x, sympy.MatrixExpr)


def _split_scalar(m):
    """(scalar, matrix) with m = scalar·matrix."""
    if isinstance(m, sympy.MatMul) and not _is_matrix(m.args[0]):
        return m.args[0], sympy.MatMul(*m.args[1:], evaluate=False) if len(m.args) > 2 else m.args[1]
    return sympy.Integer(1), m


def _scaled(scalar, m):
    """scalar·m without distributing: 2*(W*x + b) stays as written; exp.(a)/sum(exp.(a)) is softmax(a)."""
    if scalar == 1:
        return m
    if _is_exp(m) and not (k := scalar * Total(m)).has(Total(m)):
        return _scaled(k, Softmax(m.matrices[0]))
    c, m = _split_scalar(m)
    scalar *= c
    factors = m.args if isinstance(m, sympy.MatMul) else (m,)
    return sympy.MatMul(scalar, *factors, evaluate=False)


def _linear_coefficient(body, d):
    """c when ``body`` is c·d with c free of d, else None."""
    c = sympy.diff(body, d)
    return c if not c.has(d) and sympy.expand(body - c * d) == 0 else None


def _entrywise(expr, env):
    """``expr`` (a body over ARG symbols) applied to the matrices and scalars in ``env``."""
    if expr in env:
        return env[expr]
    matrix_args = sorted((s for s in expr.free_symbols if s in env and _is_matrix(env[s])), key=str)
    scalars = {s: v for s, v in env.items() if not _is_matrix(v)}
    if not matrix_args:
        return expr.xreplace(scalars)
    if len(matrix_args) == 1:
        return _apply(expr, [env[matrix_args[0]]], matrix_args, scalars)
    core = _core(expr, set(matrix_args))
    if core is not None:  # 1 − tanh(a + b)²: one function of the matrix a + b
        d = sympy.Dummy("core")
        return _apply(expr.xreplace({core: d}), [_entrywise(core, env)], [d], scalars)
    if isinstance(expr, sympy.Add):
        parts = [_entrywise(a, env) for a in _grouped(expr, env)]
        constant = sympy.Add(*[p for p in parts if not _is_matrix(p)])
        shape = env[matrix_args[0]].shape
        ones = [_scaled(constant, Ones(*shape))] if constant != 0 else []
        terms = [t for p in parts if _is_matrix(p) for t in (p.args if isinstance(p, sympy.MatAdd) else (p,))]
        counts: dict = {}
        for t in terms:  # X + X is 2*X
            counts[t] = counts.get(t, 0) + 1
        terms = [_scaled(k, t) for t, k in counts.items()] + ones
        return terms[0] if len(terms) == 1 else sympy.MatAdd(*terms)
    if isinstance(expr, sympy.Mul):
        parts = [_entrywise(a, env) for a in _grouped(expr, env)]
        return _hadamard(parts)
    return _apply(expr, [env[s] for s in matrix_args], matrix_args, scalars)


def _hadamard(parts):
    """The entrywise product of matrices and scalars, scalars in front and 𝟙 factors dropped."""
    scalar, matrices = sympy.Integer(1), []
    for p in parts:
        if _is_matrix(p):
            c, p = _split_scalar(p)
            scalar *= c
        if not _is_matrix(p):
            scalar *= p
        elif not isinstance(p, sympy.OneMatrix) or p is parts[-1] and not matrices:
            matrices.append(p)
    if not matrices:
        matrices = [next(p for p in parts if _is_matrix(p))]
    return _scaled(scalar, matrices[0] if len(matrices) == 1 else Hadamard(*matrices))


def _grouped(expr, env):
    """The terms or factors of ``expr`` joined by the matrices they read: σ(a)·(1 − σ(a))·g is one
    function of a, times g."""
    groups: dict = {}
    for a in expr.args:
        key = frozenset(s for s in a.free_symbols if s in env and _is_matrix(env[s]))
        groups.setdefault(key, []).append(a)
    return [expr.func(*parts) for parts in groups.values()] if len(groups) > 1 else list(expr.args)


def _core(expr, symbols):
    """The smallest proper subexpression through which alone ``expr`` reads ``symbols`` (the ``a + b``
    of ``1 − tanh(a + b)²``, wherever it occurs), or None."""
    d = sympy.Dummy()
    for sub in sympy.postorder_traversal(expr):
        if (sub != expr and isinstance(sub, sympy.Expr) and symbols <= sub.free_symbols
                and not expr.xreplace({sub: d}).free_symbols & symbols):
            return sub
    return None


_W = sympy.Wild("w")
_SIGMOID_FORMS = (sympy.exp(_W) / (sympy.exp(_W) + 1), 1 / (sympy.exp(-_W) + 1))


def _named_forms(body):
    """Known functions spelled out by differentiation, named again: eᵃ/(eᵃ + 1) is σ(a)."""
    for form in _SIGMOID_FORMS:
        body = body.replace(form, functions.sigmoid(_W))
    return body


def _apply(body, matrices, variables, scalars):
    """body(matrices) entrywise, composing with an entrywise argument: tanh.(tanh.(x))."""
    body = _named_forms(body).xreplace(scalars)
    if len(matrices) == 1:
        c = _linear_coefficient(body, variables[0])
        if c is not None:
            return _scaled(c, matrices[0])
        inner = matrices[0]
        if isinstance(inner, Entrywise) and len(inner.matrices) == 1 and not isinstance(body, sympy.Function):
            return Entrywise(sympy.Lambda(inner.body.variables, body.xreplace({variables[0]: inner.body.expr})),
                             *inner.matrices)
    dummies = _dummies(len(matrices))
    return Entrywise(sympy.Lambda(dummies, body.xreplace(dict(zip(variables, dummies)))), *matrices)


def _as_matrix(value, letters):
    """(matrix, row letter, column letter): vectors are columns, whose column letter is None."""
    if len(letters) == 2:
        return value, letters[0], letters[1]
    if len(letters) == 1:
        return value, letters[0], None
    raise NoMatrixForm(f"no matrix form for a {len(letters)}-dimensional operand")


def _transpose(m):
    return sympy.Transpose(m).doit(deep=False) if not isinstance(m, (Entrywise, Hadamard)) else sympy.Transpose(m)


def _product(*factors):
    """A matrix product with scalars in front and identities dropped."""
    flat = [f for m in factors for f in (m.args if isinstance(m, sympy.MatMul) else (m,))]
    flat = [f for f in flat if not isinstance(f, sympy.Identity)] or [factors[0]]
    scalar = sympy.Mul(*[f for f in flat if not _is_matrix(f)])
    matrices = [f for f in flat if _is_matrix(f)]
    product = matrices[0] if len(matrices) == 1 else sympy.MatMul(*matrices, evaluate=False)
    return _scaled(scalar, product)


def _contract(spec, a, b):
    """A contraction of ≤2-D operands as matrix algebra (vectors as columns)."""
    sa, sb, so = parse_spec(spec)
    if not sa or not sb:
        return _scaled(a, b) if _is_matrix(b) else _scaled(b, a) if _is_matrix(a) else a * b
    if isinstance(a, sympy.Identity) and len(set(sa)) == 2 and sa[1] not in so and sa[1] in sb:
        return _relabel(b, sb.replace(sa[1], sa[0]), so)
    if isinstance(b, sympy.Identity) and len(set(sb)) == 2 and sb[0] not in so and sb[0] in sa:
        return _relabel(a, sa.replace(sb[0], sb[1]), so)
    left, right = _as_matrix(a, sa), _as_matrix(b, sb)
    summed = (set(sa) & set(sb)) - set(so)
    kept = (set(sa) & set(sb)) & set(so)
    if len(summed) == 2 and not so:  # Σ A_ij B_ij = tr(AᵀB)
        if sa != sb:
            right = (_transpose(right[0]), right[2], right[1])
        return sympy.Trace(_product(_transpose(left[0]), right[0]))
    if kept and not summed:
        return _keep_shared(left, right, kept, so)
    if len(summed) > 1 or kept:
        raise NoMatrixForm(f"no matrix form for the contraction {spec}")
    if summed:
        (c,) = summed
        left = left if left[2] == c else (_transpose(left[0]), left[2], left[1])
        right = right if right[1] == c else (_transpose(right[0]), right[2], right[1])
    else:  # outer product: column times row
        left = left if left[2] is None else (_transpose(left[0]), left[2], left[1])
        right = (_transpose(right[0]), right[2], right[1]) if right[2] is None else right
    product = _product(left[0], right[0])
    row, col = left[1], right[2]
    if row is None and col is not None:  # a row: 1-D results are columns
        product, row, col = _transpose(product), col, None
    if not so:
        return Entry(product)
    return _relabel(product, "".join(x for x in (row, col) if x is not None), so)


def _relabel(m, letters, out):
    """m indexed by ``letters`` read with output letters ``out`` (a transpose or nothing)."""
    if letters == out or len(out) == 1:
        return m
    if letters == out[::-1]:
        return _transpose(m)
    raise NoMatrixForm(f"no matrix form for reading {letters} as {out}")


def _keep_shared(left, right, kept, out):
    """Products that keep a shared index: x ⊙ y, diag(x)·A, A·diag(x), A ⊙ B."""
    (ma, ra, ca), (mb, rb, cb) = left, right
    if ca is None and cb is None:  # i,i->i
        return _hadamard([ma, mb])
    if cb is None:  # A_ij x_j or A_ij x_i
        return _relabel(_product(ma, Diag(mb)) if rb == ca else _product(Diag(mb), ma), ra + ca, out)
    if ca is None:
        return _relabel(_product(mb, Diag(ma)) if ra == cb else _product(Diag(ma), mb), rb + cb, out)
    mb = mb if (rb, cb) == (ra, ca) else _transpose(mb)
    return _relabel(_hadamard([ma, mb]), ra + ca, out)


def _sum(x, node: Node):
    axes = tuple(a % node.args[0].ndim for a in node.attrs[0])
    if not _is_matrix(x):
        return x * sympy.Mul(*[node.args[0].shape[a] for a in axes])
    if len(axes) == node.args[0].ndim:
        if isinstance(x, sympy.MatMul) and not _is_matrix(x.args[0]):  # sum(c·M) = c·sum(M)
            rest = x.args[1:]
            return x.args[0] * Total(rest[0] if len(rest) == 1 else sympy.MatMul(*rest, evaluate=False))
        return Total(x)
    if axes == (1,):  # row sums
        return _product(x, Ones(x.shape[1], 1))
    if axes == (0,):  # column sums, as a column
        return _product(_transpose(x), Ones(x.shape[0], 1))
    raise NoMatrixForm(f"no matrix form for a sum over axes {axes}")


def _constant(node: Node):
    if isinstance(node.attrs[0], Identity) and node.ndim == 2:
        return sympy.Identity(node.shape[0])
    v = node.value
    if not isinstance(v, np.ndarray):
        return v
    if v.ndim == 0:
        return v[()]
    if v.dtype == bool:
        raise NoMatrixForm("no matrix form for a constant mask")
    flat = v.reshape(-1)
    if v.size and (flat == flat[0]).all():
        return _scaled(sympy.sympify(flat[0]), Ones(*_matrix_shape(node.shape)))
    return sympy.ImmutableMatrix(v.reshape(v.shape[0], -1).tolist())


def _matrix_shape(shape):
    return {2: shape, 1: (shape[0], 1)}.get(len(shape), (1, 1))


def formula(node: Node):
    """The value of a graph over constant matrix expressions, as one (a 1-D result as a ``Vector``)."""
    (value,) = formulas([node], {})
    return Vector(value) if node.ndim == 1 and _is_matrix(value) else value


def formulas(outputs, bindings: dict) -> list:
    """``outputs`` as matrix expressions (``to_matexpr``), or in index notation where a graph has no
    matrix form (``index_notation``)."""
    try:
        return to_matexpr(outputs, bindings)
    except NoMatrixForm:
        return to_indexed(outputs, bindings)


def to_matexpr(outputs, bindings: dict) -> list:
    """Evaluate ``outputs`` with MatrixExpr/SymPy values bound to the inputs."""
    values: dict[int, object] = {}
    for node in toposort(outputs):
        if node.op == "input":
            if node.ndim > 2:
                raise NoMatrixForm(f"no matrix form for an input of {node.ndim} dimensions")
            v = bindings[node]
        elif node.op == "const":
            v = _constant(node)
        else:
            v = _matexpr_op(node, [values[id(a)] for a in node.args])
        values[id(node)] = v
    return [values[id(o)] for o in outputs]


def _matexpr_op(node: Node, args):
    op = node.op
    if op == "map":
        args = [_broadcast(v, a.shape, node.shape) for v, a in zip(args, node.args)]
        value = _entrywise(sympy.factor_terms(evaluated(node.body)), {ARG[i]: a for i, a in enumerate(args)})
        spread = size_of(node.shape) != 1 and not _is_matrix(value)
        return _scaled(value, Ones(*_matrix_shape(node.shape))) if spread else value
    if op == "einsum":
        return _contract(node.attrs[0], *args)
    if op == "permute" and node.ndim == 2:
        return _transpose(args[0])
    if op == "detach" and node.attrs == ("shift",):
        return sympy.Integer(0)  # a stabilising shift (softmax, logsumexp): the result does not depend on it
    if op == "detach":
        return args[0]
    if op == "reshape":
        return _reshaped(args[0], node)
    if op == "sum":
        return _sum(args[0], node)
    if op == "max" and len(node.attrs[0]) == node.args[0].ndim:
        return Largest(args[0]) if _is_matrix(args[0]) else args[0]
    if op == "expand":
        return _broadcast(args[0], node.args[0].shape, node.shape)
    if op == "slice" and _is_matrix(args[0]) and all(step == 1 for _, _, step in node.attrs[0]):
        return _sliced(args[0], node.attrs[0])
    raise NoMatrixForm(f"no matrix-expression form for the {op} node {node}")


def _sliced(x, ranges):
    """x[a:b] of a vector (a column), x[a:b, c:d] of a matrix: LSTM's gates cut from one product."""
    rows = (ranges[0][0], ranges[0][1])
    cols = (ranges[1][0], ranges[1][1]) if len(ranges) == 2 else (0, 1)
    return sympy.MatrixSlice(x, rows, cols)


def _reshaped(x, node: Node):
    old = node.args[0].shape
    if size_of(node.shape) == 1:  # one entry: a scalar
        return x[0, 0] if _is_matrix(x) else x
    if not _is_matrix(x):
        return _scaled(x, Ones(*_matrix_shape(node.shape))) if node.ndim else x
    if node.ndim == 0 or tuple(x.shape) == _matrix_shape(node.shape):
        return x[0, 0] if node.ndim == 0 else x
    if node.ndim == 2 and node.shape[0] == 1 and x.shape[1] == 1:  # a vector read as a row
        return _transpose(x)
    if node.ndim == 1 and len(old) == 2 and old[0] == 1:  # a row read as a vector
        return _transpose(x)
    raise NoMatrixForm(f"no matrix form for reshaping {old} to {node.shape}")


def _broadcast(x, old, new):
    """``x`` of array shape ``old`` broadcast to ``new`` (NumPy's rules, vectors as columns)."""
    if not _is_matrix(x) or tuple(old) == tuple(new):
        return x
    old = (1,) * (len(new) - len(old)) + tuple(old) if len(old) == 1 and len(new) == 2 and old[0] == 1 else old
    shape = _matrix_shape(new)
    if len(new) == 2 and len(old) == 1 and new[0] == 1:  # a vector read as a row
        return _transpose(x)
    if len(new) == 2 and len(old) == 1:  # a vector broadcast over rows: 𝟙·xᵀ
        return _product(Ones(shape[0], 1), _transpose(x))
    if len(new) == 2 and old[1] == 1:  # a column broadcast over columns
        return _product(x, Ones(1, shape[1]))
    if len(new) == 2 and old[0] == 1:
        return _product(Ones(shape[0], 1), x)
    if tuple(x.shape) == shape:
        return x
    raise NoMatrixForm(f"no matrix form for broadcasting {old} to {new}")


class Gradients(tuple):
    """The tuple ``gradient`` returns, shown by Jupyter as LaTeX when it holds formulas or exact values."""

    def _repr_latex_(self):
        if not any(_is_exact(g) for g in self):
            return None
        return f"$\\displaystyle \\left( {latex(tuple(self))} \\right)$"


def _is_exact(value) -> bool:
    return isinstance(value, sympy.Basic) or isinstance(value, np.ndarray) and value.dtype == object


def latex(obj: Any, **settings: Any) -> str:
    """LaTeX for SymPy expressions, matrix expressions, formulas and arrays (as matrices)."""
    if isinstance(obj, np.ndarray):
        obj = sympy.Matrix(np.atleast_2d(obj).tolist()) if obj.ndim <= 2 else sympy.Array(obj.tolist())
    if isinstance(obj, tuple):
        return r",\ ".join(latex(o, **settings) for o in obj)
    return sympy.latex(sympy.sympify(obj) if not isinstance(obj, sympy.Basic) else obj, **settings)


def as_matrix(obj: Any) -> sympy.Matrix:
    """An explicit ``sympy.Matrix`` for a tiny array or a matrix expression with numeric shape."""
    if isinstance(obj, sympy.MatrixExpr):
        return obj.doit().as_explicit()
    arr = np.asarray(obj, dtype=object)
    return sympy.Matrix(np.atleast_2d(arr) if arr.ndim < 2 else arr)

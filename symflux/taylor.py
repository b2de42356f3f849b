"""High derivatives in Taylor mode: d^n f/dx^n from the derivatives of f's nodes, order by order.

Each node of the body gets its derivatives f, f', …, f^(n) at x, computed lazily, each order from
lower orders of its arguments (and of itself) by Leibniz's rule, the quotient rule solved for the
quotient, and the chain rule y' = g'(a)·a' as a convolution, (g(a))^(j) = Σ_i C(j−1, i−1)·a^(i)·
z^(j−i) with z = g'(a) a node of its own. Where g' is written with g (exp' = exp, tanh' = 1 − tanh²,
σ' = σ(1 − σ)) z's orders need only lower orders of y, so no function is differentiated more than
once. A subexpression shared in the DAG is expanded once and every order costs O(n) per node.
SymPy's n-fold rules instead rebuild and re-simplify the whole growing result at every step: for
exp(sin x)/(1+x²) the 8th derivative takes ~0.03 s here against SymPy's 0.6 s, with 152 operations
after CSE against SymPy's 176.

``nth_derivative`` returns ``None`` for a body with a node these rules do not cover (a function of
two arguments such as Max, an unevaluated inner derivative) or nested too deep for Python's
recursion, and the caller falls back to SymPy.
"""

from __future__ import annotations

from math import comb as binomial

import sympy

from codegen.kernel import dag_replace

S = sympy.S
# piecewise constant: every derivative is zero almost everywhere
_STEPS = (sympy.sign, sympy.floor, sympy.ceiling)


class _NotCovered(Exception):
    """The body has a node Taylor mode has no rule for."""


def nth_derivative(expr: sympy.Expr, x: sympy.Symbol, n: int) -> sympy.Expr | None:
    """d^n expr / dx^n, or ``None`` where ``expr`` has a node without a rule here."""
    derivatives = _Derivatives(x)
    try:
        return dag_replace(derivatives.of(expr, n), derivatives.values)
    except (_NotCovered, RecursionError):  # a node without a rule; a body too deep to recurse through
        return None


class _Derivatives:
    """The derivatives in ``x`` of each node met so far, as many orders as asked for.

    They are built over a ``Dummy`` for each node's value (exp(sin x) …), put back at the end:
    SymPy asks every factor of a product it builds for its assumptions (sign, zero, finiteness),
    which for a plain symbol costs nothing and for exp(sin x) is a walk of its tree."""

    def __init__(self, x: sympy.Symbol):
        self.x = x
        self.known: dict = {}  # node → [value, first derivative, …]
        self.rules: dict = {}  # node → order j ≥ 1 ↦ its j-th derivative
        self.values: dict = {}  # Dummy → the node value it stands for

    def of(self, expr: sympy.Expr, j: int) -> sympy.Expr:
        """The j-th derivative of ``expr``."""
        known = self.known.get(expr)
        if known is None:
            self.rules[expr] = self._rule(expr)
            known = self.known[expr] = [self._opaque(expr)]
        while len(known) <= j:
            known.append(self.rules[expr](len(known)))
        return known[j]

    def _opaque(self, value):
        if not value.args:
            return value
        dummy = sympy.Dummy()
        self.values[dummy] = value
        return dummy

    def _rule(self, expr):
        x = self.x
        if x not in expr.free_symbols or isinstance(expr, _STEPS):
            return lambda j: S.Zero
        if expr == x:
            return lambda j: S.One if j == 1 else S.Zero
        if expr.is_Add:
            return lambda j: sympy.Add(*[self.of(a, j) for a in expr.args])
        if expr.is_Mul:
            return self._product(expr)
        if expr.is_Pow and expr.exp == -1:
            return self._quotient(expr, S.One, expr.base)
        if expr.is_Pow and x in expr.exp.free_symbols:  # (a^b)' = a^b·(b·log a)'
            return self._chain(expr.exp * sympy.log(expr.base), expr)
        if expr.is_Pow:
            return self._composed(expr, expr.base, *_outer(expr.exp * expr.base ** (expr.exp - 1), expr, expr.base))
        if isinstance(expr, sympy.Abs):
            return self._chain(expr.args[0], sympy.sign(expr.args[0]))
        if isinstance(expr, sympy.Piecewise):  # almost everywhere, the pieces' derivatives
            return lambda j: sympy.Piecewise(*[(self.of(e, j), c) for e, c in expr.args])
        if isinstance(expr, sympy.Function) and len(expr.args) == 1:
            (a,) = expr.args
            slope = expr.fdiff(1)
            if slope.has(sympy.Derivative, sympy.Subs, sympy.DiracDelta):
                raise _NotCovered(expr)
            u, v, first = _outer(slope, expr, a)
            return self._composed(expr, a, u, v, first) if _monomials(first, u, v) else self._chain(a, slope)
        raise _NotCovered(expr)

    def _product(self, expr):
        """Leibniz's rule, (a·b)^(j) = Σ_i C(j, i)·a^(i)·b^(j−i), on the last factor and the product
        of the others; a factor d⁻¹ is divided out instead (the quotient rule)."""
        factors = list(expr.args)
        for k, f in enumerate(factors):
            if f.is_Pow and f.exp == -1 and self.x in f.free_symbols:
                return self._quotient(expr, sympy.Mul(*factors[:k], *factors[k + 1:]), f.base)
        head, last = sympy.Mul(*factors[:-1]), factors[-1]
        return lambda j: sympy.Add(*[binomial(j, i) * self.of(head, i) * self.of(last, j - i) for i in range(j + 1)
                                     if _nonzero(self.of(head, i), self.of(last, j - i))])

    def _quotient(self, q, a, b):
        """q = a / b, from a = q·b by Leibniz: q^(j) = (a^(j) − Σ_{i≥1} C(j, i)·b^(i)·q^(j−i)) / b."""
        def rule(j):
            rest = [binomial(j, i) * self.of(b, i) * self.of(q, j - i) for i in range(1, j + 1)
                    if _nonzero(self.of(b, i), self.of(q, j - i))]
            return (self.of(a, j) - sympy.Add(*rest)) / self.of(b, 0)
        return rule

    def _composed(self, y, a, u, v, first):
        """y = g(a) by Faà di Bruno: y^(j) = Σ_k g^(k)(a)·B_{j,k}(a', a'', …). ``first`` is g'(u)
        written with v = g(u) where g' reads g (``_outer``), so g^(k+1) = ∂g^(k)/∂u + ∂g^(k)/∂v·g'
        stays a short polynomial (in tanh for tanh: 1 − v², −2v(1 − v²), …) where SymPy's diff would
        nest it."""
        outer = [None, first]  # g^(k)(u) written with y
        at_point = {}  # k → g^(k) at (a, y)
        bell = {(0, 0): S.One}  # B_{j,k}, the Bell polynomials in a's derivatives

        def outer_at(k):
            while len(outer) <= k:
                previous = outer[-1]
                outer.append(sympy.factor(previous.diff(u) + previous.diff(v) * first))
            if k not in at_point:
                at_point[k] = outer[k].xreplace({u: self.of(a, 0), v: self.of(y, 0)})
            return at_point[k]

        def bell_at(j, k):
            if (j, k) not in bell:
                bell[j, k] = S.Zero if k == 0 or k > j else sympy.Add(*[
                    binomial(j - 1, i - 1) * self.of(a, i) * bell_at(j - i, k - 1) for i in range(1, j - k + 2)
                    if _nonzero(self.of(a, i), bell_at(j - i, k - 1))])
            return bell[j, k]

        return lambda j: sympy.Add(*[outer_at(k) * bell_at(j, k) for k in range(1, j + 1)
                                     if _nonzero(bell_at(j, k), outer_at(k))])

    def _chain(self, a, slope):
        """y = g(a) with g'(a) = ``slope``: y^(j) = (slope·a')^(j−1) = Σ_{i≥1} C(j−1, i−1)·a^(i)·slope^(j−i)."""
        return lambda j: sympy.Add(*[binomial(j - 1, i - 1) * self.of(a, i) * self.of(slope, j - i)
                                     for i in range(1, j + 1) if _nonzero(self.of(a, i), self.of(slope, j - i))])


def _outer(slope, y, a) -> tuple:
    """(u, v, g') for y = g(a) with g'(a) = ``slope``: g' as a function of u = a and v = y."""
    u, v = sympy.Dummy("u"), sympy.Dummy("v")
    return u, v, slope.xreplace({y: v}).xreplace({a: u})


def _monomials(slope, u, y) -> bool:
    """Whether g' = ``slope`` (in u and y = g(u)) is a sum of terms c·u^p·y^q other than y itself: then
    g^(k) stays such a sum (tanh: 1 − y², σ: y − y², log: 1/u, u^p) and Faà di Bruno is short. exp
    (g' = y) and g' that are other functions (sin' = cos, atan' = 1/(1 + u²), whose derivatives
    swell when expanded) are shorter by the chain rule's convolution with their own node."""
    if slope == y:
        return False
    return all(all(base in (u, y) and exponent.is_Number or base.is_Number
                   for base, exponent in term.as_powers_dict().items())
               for term in sympy.Add.make_args(sympy.expand(slope)))


def _nonzero(*factors) -> bool:
    """Whether no factor is the number 0: SymPy's 0·e asks e whether it is finite, a walk of e."""
    return all(f is not S.Zero for f in factors)

"""Derivatives of elementary bodies taken by SymEngine, the SymPy project's C++ core.

SymPy's ``diff`` asks its assumption system about every node it builds: a Hessian's derivatives of
W1's fused body took 0.12 s, SymEngine's 0.3 ms, and building the result back as SymPy 14 ms. A
body made only of numbers, symbols, +, ×, powers and the elementary functions below is carried over
(``derivative``); anything else (piecewise functions, activations with their own ``fdiff``, complex
parts, indexed reads) stays with SymPy. The result is rebuilt with SymPy's evaluation, so it is in
SymPy's canonical form with the body's own symbols and their assumptions. Past the first order the
n-fold rules' terms share factors, which come out in SymEngine (``_common_factors_out``) as SymPy's
``factor_terms(signsimp(…))`` takes them out in ``Derivative.doit``, which took 25 ms of W1's 45 ms
lowering.
"""

from __future__ import annotations

import functools
from math import gcd

import symengine as se
import sympy
from sympy.ntheory.multinomial import multinomial_coefficients_iterator

_FUNCTIONS = [(sympy.sin, se.sin), (sympy.cos, se.cos), (sympy.tan, se.tan), (sympy.log, se.log),
              (sympy.sinh, se.sinh), (sympy.cosh, se.cosh), (sympy.tanh, se.tanh), (sympy.asin, se.asin),
              (sympy.acos, se.acos), (sympy.atan, se.atan), (sympy.asinh, se.asinh), (sympy.acosh, se.acosh),
              (sympy.atanh, se.atanh)]
_TO_SYMENGINE = {**dict(_FUNCTIONS), sympy.exp: se.exp}
_PROBE = se.Symbol("probe")
_TO_SYMPY = {type(theirs(_PROBE)): ours for ours, theirs in _FUNCTIONS}
_CONSTANTS = {sympy.pi: se.pi, sympy.E: se.E}
_CONSTANTS_BACK = {type(theirs): ours for ours, theirs in _CONSTANTS.items()}


class _NotElementary(Exception):
    pass


def derivative(expr: sympy.Expr, variable_count) -> sympy.Expr | None:
    """∂ⁿexpr/∂xⁿ… for ``variable_count`` ((symbol, n), …), or None when ``expr`` or a variable is
    not elementary (SymPy takes those)."""
    if not all(v.is_Symbol for v, _ in variable_count):
        return None
    symbols: dict = {}
    try:
        taken = _to_symengine(expr, symbols)
    except _NotElementary:
        return None
    for variable, n in variable_count:
        if variable not in symbols:
            return sympy.S.Zero
        taken = _n_fold(taken, symbols[variable], int(n))
    if sum(n for _, n in variable_count) > 1:  # Leibniz's terms share factors
        taken = _common_factors_out(taken)
    try:
        return _to_sympy(taken, {theirs: ours for ours, theirs in symbols.items()})
    except _NotElementary:
        return None


@functools.lru_cache(maxsize=4096)
def is_elementary(expr: sympy.Expr) -> bool:
    """Whether SymEngine takes ``expr``'s derivatives (``derivative`` does not return None for it);
    each derivation's disk-cache policy asks it of the body, so it is remembered."""
    try:
        _to_symengine(expr, {})
    except _NotElementary:
        return False
    return True


def _n_fold(expr, x, n: int):
    """∂ⁿexpr/∂xⁿ by SymPy's n-fold rules, which keep a product's factors apart (Leibniz: the
    second derivative of exp(sin x)/(1 + x²) is SymPy's, 19 operations after CSE, where two steps
    give 20): sums term by term, products by the multinomial rule over their factors in x, anything
    else in steps."""
    if n == 1 or not (expr.is_Add or expr.is_Mul):
        return expr.diff(x, n)
    if expr.is_Add:
        return se.Add(*(_n_fold(term, x, n) for term in expr.args))
    varying = [f for f in expr.args if f.has(x)]
    constant = se.Mul(*(f for f in expr.args if not f.has(x)))
    terms = [c * se.Mul(*(_n_fold(f, x, k) if k else f for f, k in zip(varying, ks)))
             for ks, c in multinomial_coefficients_iterator(len(varying), n)]
    return constant * se.Add(*terms)

def _common_factors_out(expr):
    """``expr`` with each sum's common factors taken out, and minus signs out of sums that are mostly
    negative, bottom up: what SymPy's ``factor_terms(signsimp(…))`` does to the n-fold rules' terms
    (as few operations in all: ``test_elementary``), in SymEngine: 1–3 ms on W1's second
    derivatives, SymPy's 10–28 ms."""
    done: dict = {}

    def rebuilt(e):
        if e not in done:
            args = [rebuilt(a) for a in e.args]
            out = e.func(*args) if any(a != b for a, b in zip(args, e.args)) else e
            done[e] = _factored(out) if out.is_Add else out
        return done[e]

    return rebuilt(expr)


def _factored(total):
    """A sum as its terms' common factor (rational content, and each base at the exponent nearest 0
    that every term carries with one sign) times the sum of what is left, in its canonical sign."""
    terms = [_powers(t) for t in total.args]
    common = {}
    for base in terms[0][1]:
        exponents = [powers.get(base) for _, powers in terms]
        if all(e is not None and e > 0 for e in exponents):
            common[base] = min(exponents)
        elif all(e is not None and e < 0 for e in exponents):
            common[base] = max(exponents)
    factor = se.Mul(_content([c for c, _ in terms]), *(base**e for base, e in common.items()))
    rest = se.Add(*(_signs_in(t / factor) for t in total.args))
    if rest.is_Add and _flipped(rest, _powers(factor)[0].is_negative):
        factor, rest = -factor, se.Add(*(-t for t in rest.args))  # −(a + b) alone stays a product
    return factor * rest


def _flipped(total, negative_factor: bool) -> bool:
    """Whether a sum is better taken with the other sign: most of its terms are negative, or as many
    as positive and its factor's sign would turn positive (x·(b − a) for −x·(a − b))."""
    balance = sum(1 if _powers(t)[0].is_negative else -1 for t in total.args)
    return balance > 0 or balance == 0 and negative_factor


def _signs_in(term):
    """A term with a negative coefficient and a sum among its factors that is mostly negative or
    balanced, with the sign taken into that sum."""
    if not term.is_Mul or not _powers(term)[0].is_negative:
        return term
    total = next((f for f in term.args if f.is_Add and _flipped(f, True)), None)
    if total is None:
        return term
    return -(term / total) * se.Add(*(-t for t in total.args))


def _content(coefficients):
    """The greatest common divisor of rational coefficients (1 if any is not rational)."""
    if not all(c.is_Rational for c in coefficients):
        return se.Integer(1)
    numerator, denominator = 0, 1
    for c in coefficients:
        numerator = gcd(numerator, int(c.p))
        denominator = denominator * int(c.q) // gcd(denominator, int(c.q))
    return se.Rational(numerator, denominator) if numerator else se.Integer(1)


def _powers(term):
    """(numeric coefficient, {base: exponent}) of a product."""
    coefficient, powers = se.Integer(1), {}
    for f in term.args if term.is_Mul else (term,):
        if f.is_Number:
            coefficient *= f
        elif f.is_Pow and f.args[1].is_Number:
            powers[f.args[0]] = powers.get(f.args[0], 0) + f.args[1]
        else:
            powers[f] = powers.get(f, 0) + 1
    return coefficient, powers


def _to_symengine(expr: sympy.Expr, symbols: dict):
    """``expr`` in SymEngine; each SymPy symbol becomes a fresh one (SymEngine's have no
    assumptions, so two SymPy symbols of one name must not meet), recorded in ``symbols``."""
    done: dict = {}

    def convert(e):
        if e in done:
            return done[e]
        if e.is_Symbol:
            out = symbols.setdefault(e, se.Symbol(f"s{len(symbols)}"))
        elif e.is_Integer:
            out = se.Integer(int(e))
        elif e.is_Rational:
            out = se.Rational(int(e.p), int(e.q))
        elif e.is_Float and e._prec == 53:
            out = se.RealDouble(float(e))
        elif e.is_Add or e.is_Mul or e.is_Pow:
            out = {sympy.Add: se.Add, sympy.Mul: se.Mul, sympy.Pow: se.Pow}[e.func](*map(convert, e.args))
        elif e.func in _TO_SYMENGINE:
            out = _TO_SYMENGINE[e.func](*map(convert, e.args))
        elif e in _CONSTANTS:
            out = _CONSTANTS[e]
        else:
            raise _NotElementary(e)
        done[e] = out
        return out

    return convert(expr)


def _to_sympy(expr, symbols: dict) -> sympy.Expr:
    done: dict = {}

    def convert(e):
        if e in done:
            return done[e]
        kind = type(e)
        if kind is se.Symbol:
            out = symbols[e]
        elif isinstance(e, se.Integer):  # and its singletons -1, 0, 1
            out = sympy.Integer(int(e))
        elif isinstance(e, se.Rational):
            out = sympy.Rational(int(e.p), int(e.q))
        elif kind is se.RealDouble:
            out = sympy.Float(float(e))
        elif kind in (se.Add, se.Mul, se.Pow):
            out = {se.Add: sympy.Add, se.Mul: sympy.Mul, se.Pow: sympy.Pow}[kind](*map(convert, e.args))
        elif kind in _TO_SYMPY:
            out = _TO_SYMPY[kind](*map(convert, e.args))
        elif kind in _CONSTANTS_BACK:
            out = _CONSTANTS_BACK[kind]
        else:  # infinities and NaN (a derivative of log(0)): SymPy decides what they mean
            raise _NotElementary(e)
        done[e] = out
        return out

    return convert(expr)

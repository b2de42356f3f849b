"""The kernel language: loop nests whose bodies are SymPy expressions over indexed buffers.

A ``Program`` is one entry point: ``name(arg0, arg1, …)`` taking one pointer per argument buffer.
Its body is a list of statements; temporaries are allocated inside the entry point (so a
compiled program is re-entrant). Expressions are SymPy: ``Indexed(IndexedBase(buffer), flat)``
loads a buffer element, loop variables are integer Symbols, and the special functions below cover
integer division, modulo and counter-based random numbers.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import sympy


class UnsupportedExpression(TypeError):
    """An expression that a renderer cannot translate."""


DTYPES = ("float32", "float64", "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")


@dataclass(frozen=True)
class Buffer:
    name: str
    dtype: str
    size: int

    def __post_init__(self):
        if self.dtype not in DTYPES:
            raise TypeError(f"buffer {self.name!r}: unsupported dtype {self.dtype!r} (supported: {DTYPES})")

    @property
    def base(self) -> sympy.IndexedBase:
        return sympy.IndexedBase(self.name)

    def __getitem__(self, index) -> sympy.Indexed:
        return sympy.Indexed(self.base, index)


@dataclass(frozen=True)
class Loop:
    """``for var in range(extent)``. ``parallel``: worth running on several CPU threads.
    ``independent``: iterations write disjoint memory (a GPU may run them all at once)."""

    var: sympy.Symbol
    extent: int
    body: tuple
    parallel: bool = False
    independent: bool = True


@dataclass(frozen=True)
class Store:
    buffer: Buffer
    index: sympy.Expr
    value: sympy.Expr


@dataclass(frozen=True)
class Let:
    """Declare a local scalar and give it a value."""

    var: sympy.Symbol
    dtype: str
    value: sympy.Expr


@dataclass(frozen=True)
class Update:
    """var = op(var, value), op in ``add`` / ``max`` / ``min`` (a reduction step)."""

    var: sympy.Symbol
    op: str
    value: sympy.Expr


@dataclass(frozen=True)
class If:
    cond: sympy.Basic
    body: tuple


@dataclass(frozen=True)
class Call:
    """``function(inputs…, outputs…, sizes…)``: an external routine (a LAPACK-backed matrix function,
    ``codegen.runtime.linalg``) that reads ``inputs`` and writes ``outputs`` whole; ``sizes`` are
    passed as int64."""

    function: str
    inputs: tuple
    outputs: tuple
    sizes: tuple


@dataclass
class Program:
    """An entry point ``name(arg pointers…, size parameters…)``. Buffer sizes and loop extents are
    ints or the ``sizes`` symbols, which are passed as int64 after the buffer pointers."""

    name: str
    args: list
    temps: list = field(default_factory=list)
    body: list = field(default_factory=list)
    sizes: list = field(default_factory=list)
    # names of arguments that may share memory (an output written over an input): never ``noalias``
    aliased: set = field(default_factory=set)

    def buffers(self) -> dict:
        return {b.name: b for b in self.args + self.temps}


def loads(expr) -> set:
    """The buffer loads (``Indexed``) in ``expr``. Bodies are DAGs (a recurrence such as Newton's
    iteration shares each step twice), so every distinct subexpression is visited once; SymPy's
    ``atoms`` walks the tree, which is exponential in the depth of such a DAG."""
    return dag_atoms(expr, sympy.Indexed)


def dag_replace(expr, rule: dict):
    """``expr.xreplace(rule)``, rebuilding each distinct subexpression once (``xreplace`` walks the
    tree: exponential in the depth of a DAG whose steps are shared)."""
    done: dict = {}
    stack = [sympy.sympify(expr)]
    while stack:
        e = stack[-1]
        if e in done:
            stack.pop()
        elif e in rule or not e.args:
            done[e] = rule.get(e, e)
            stack.pop()
        else:
            pending = [a for a in e.args if a not in done]
            if pending:
                stack.extend(pending)
                continue
            args = tuple(done[a] for a in e.args)
            done[e] = e.func(*args) if any(a is not b for a, b in zip(args, e.args)) else e
            stack.pop()
    return done[sympy.sympify(expr)]


def canonical(stmt, known: dict) -> tuple:
    """(``stmt`` with its buffers renamed p0, p1, … and its loop and local variables v0, v1, … in
    order of appearance, [(original buffer, its new name's buffer)] in that order); ``known``: name →
    Buffer. Two statements that differ only in which buffers they run over (the same layer at two
    depths) usually have equal canonical forms: loads are numbered by where they read, not by name."""
    buffers: dict = {}
    symbols: dict = {}

    def buffer(b: Buffer) -> Buffer:
        if b.name not in buffers:
            buffers[b.name] = (b, Buffer(f"p{len(buffers)}", b.dtype, 0))  # a kernel sees a pointer: no size
        return buffers[b.name][1]

    names = itertools.count()

    def bound(var, integer):
        name = f"v{next(names)}"
        symbols[var] = loop_var(name) if integer else sympy.Symbol(name)
        return symbols[var]

    def expr(e):
        fresh = [load for load in dag_atoms(e, sympy.Indexed, inside=True) if load.base.name not in buffers]
        order = lambda load: (str(dag_replace(load.indices[0], symbols)), str(known[load.base.name]), load.base.name)
        for load in sorted(fresh, key=order):
            buffer(known[load.base.name])
        rule = {sympy.IndexedBase(name): new.base for name, (_, new) in buffers.items()} | symbols
        return dag_replace(e, rule)

    def walk(st):
        if isinstance(st, Loop):  # its variable is bound in its body only (a name may be reused after)
            outer = symbols.get(st.var)
            var = bound(st.var, True)
            body = tuple(walk(x) for x in st.body)
            if outer is not None:
                symbols[st.var] = outer
            return Loop(var, st.extent, body, st.parallel, st.independent)
        if isinstance(st, Store):
            target = buffer(st.buffer)
            return Store(target, expr(st.index), expr(st.value))
        if isinstance(st, Let):
            value = expr(st.value)
            return Let(symbols.get(st.var) or bound(st.var, False), st.dtype, value)
        if isinstance(st, Update):
            return Update(symbols[st.var], st.op, expr(st.value))
        if isinstance(st, If):
            return If(expr(st.cond), tuple(walk(x) for x in st.body))
        return Call(st.function, tuple(buffer(b) for b in st.inputs), tuple(buffer(b) for b in st.outputs), st.sizes)

    shape = walk(stmt)
    return shape, list(buffers.values())


def dag_atoms(expr, cls, inside: bool = False) -> set:
    """The subexpressions of ``expr`` of type ``cls``, visiting each distinct one once; ``inside``:
    also those within a found one (a load whose index is read from another buffer)."""
    found, seen, stack = set(), set(), [sympy.sympify(expr)]
    while stack:
        e = stack.pop()
        if e in seen:
            continue
        seen.add(e)
        if isinstance(e, cls):
            found.add(e)
            if not inside:
                continue
        stack.extend(e.args)
    return found


def dag_size(expr, limit: int | None = None) -> int:
    """The number of distinct operations in ``expr`` (a DAG measure, linear time), counting stops
    once it passes ``limit``."""
    count, seen, stack = 0, set(), [sympy.sympify(expr)]
    while stack and (limit is None or count <= limit):
        e = stack.pop()
        if e in seen or not e.args:
            continue
        seen.add(e)
        count += 1
        stack.extend(e.args)
    return count


def loop_var(name: str) -> sympy.Symbol:
    return sympy.Symbol(name, integer=True, nonnegative=True)


class idiv(sympy.Function):
    """Integer floor division of non-negative integers."""

    nargs = 2

    def _eval_is_integer(self):
        return True


class imod(sympy.Function):
    """Integer remainder of non-negative integers."""

    nargs = 2

    def _eval_is_integer(self):
        return True


class uniform(sympy.Function):
    """uniform(seed, counter): a U[0, 1) sample from the splitmix64 hash of (seed, counter)."""

    nargs = 2


def dtype_name(dtype) -> str:
    name = np.dtype(dtype).name
    if name not in DTYPES:
        raise TypeError(f"unsupported dtype {name!r} for code generation (supported: {DTYPES})")
    return name


def flat_index(index, shape) -> sympy.Expr:
    """The row-major offset of a multi-index in an array of ``shape``."""
    offset, stride = sympy.Integer(0), 1
    for i, n in zip(reversed(index), reversed(shape)):
        offset += i * stride
        stride *= n
    return offset


def loops(vars_, shape, body, parallel_outer=False) -> tuple:
    """A loop nest over ``shape`` around ``body`` (a tuple of statements)."""
    for depth, (v, n) in reversed(list(enumerate(zip(vars_, shape)))):
        body = (Loop(v, n, tuple(body), parallel_outer and depth == 0),)
    return tuple(body)

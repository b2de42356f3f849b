"""The kernel language: loop nests whose bodies are SymPy expressions over indexed buffers.

A ``Program`` is one entry point: ``name(arg0, arg1, …)`` taking one pointer per argument buffer.
Its body is a list of statements; temporaries are allocated inside the entry point (so a
compiled program is re-entrant). Expressions are SymPy: ``Indexed(IndexedBase(buffer), flat)``
loads a buffer element, loop variables are integer Symbols, and the special functions below cover
integer division, modulo and counter-based random numbers.
"""

from __future__ import annotations

import collections
import functools
from dataclasses import dataclass, field, replace

import numpy as np
import sympy
from sympy.functions.elementary.piecewise import ExprCondPair


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
    ``independent``: iterations write disjoint memory (a GPU may run them all at once).
    ``role``: ``"reduce"`` for a contraction's summed axes (the register-tiling pass looks for them).
    ``jam``: run the body for ``jam`` consecutive values of ``var`` at once, its inner loops jammed
    into one (a register tile: ``codegen.opt.tiling.unroll_and_jam``, expanded where it is printed).
    ``vector``: the lanes a CPU's vectoriser is told to run it at (0: its own choice;
    ``codegen.opt.vectors``)."""

    var: sympy.Symbol
    extent: int
    body: tuple
    parallel: bool = False
    independent: bool = True
    role: str = ""
    jam: int = 1
    vector: int = 0


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
    # how a GPU runs each top-level statement (``codegen.opt.gpu_shapes.KernelShape``), for CUDA
    kernel_shapes: list = field(default_factory=list)

    def buffers(self) -> dict:
        return {b.name: b for b in self.args + self.temps}

    def temp(self, dtype: str, size: int) -> Buffer:
        """A new temporary (for a pass: the first ``t<k>`` name no buffer has)."""
        names = self.buffers()
        buf = Buffer(next(f"t{k}" for k in range(len(names) + 1) if f"t{k}" not in names), dtype, size)
        self.temps.append(buf)
        return buf


def loads(expr) -> set:
    """The buffer loads (``Indexed``) in ``expr``, those inside another's index too (a gather reads
    its positions from a buffer: ``x[t[i]]`` reads t). Bodies are DAGs (a recurrence such as Newton's
    iteration shares each step twice), so every distinct subexpression is visited once; SymPy's
    ``atoms`` walks the tree, which is exponential in the depth of such a DAG."""
    return dag_atoms(expr, sympy.Indexed, inside=True)


def buffers_used(stmt) -> set:
    """Names of the buffers a statement (and its body) reads or writes."""
    names = set()
    exprs = []
    if isinstance(stmt, Call):
        names |= {b.name for b in stmt.inputs + stmt.outputs}
    if isinstance(stmt, Store):
        names.add(stmt.buffer.name)
        exprs += [stmt.index, stmt.value]
    elif isinstance(stmt, (Let, Update)):
        exprs.append(stmt.value)
    elif isinstance(stmt, If):
        exprs.append(stmt.cond)
    for e in exprs:
        names |= {a.base.name for a in loads(e)}
    for inner in getattr(stmt, "body", ()):
        names |= buffers_used(inner)
    return names


def replaced(stmt, rule: dict, buffers: dict | None = None, evaluate: bool = True):
    """``stmt`` with ``rule`` applied to every expression in it (and to the variables of its
    ``Let``s and ``Update``s), and the buffers named in ``buffers`` (name → Buffer) swapped;
    ``evaluate`` as for ``dag_replace``."""
    buffers = buffers or {}
    fix = lambda e: dag_replace(e, rule, evaluate)
    if isinstance(stmt, Call):
        return replace(stmt, inputs=tuple(buffers.get(b.name, b) for b in stmt.inputs),
                       outputs=tuple(buffers.get(b.name, b) for b in stmt.outputs))
    if isinstance(stmt, Store):
        return Store(buffers.get(stmt.buffer.name, stmt.buffer), fix(stmt.index), fix(stmt.value))
    if isinstance(stmt, Let):
        return Let(rule.get(stmt.var, stmt.var), stmt.dtype, fix(stmt.value))
    if isinstance(stmt, Update):
        return Update(rule.get(stmt.var, stmt.var), stmt.op, fix(stmt.value))
    if isinstance(stmt, If):
        return If(fix(stmt.cond), tuple(replaced(s, rule, buffers, evaluate) for s in stmt.body))
    return replace(stmt, body=tuple(replaced(s, rule, buffers, evaluate) for s in stmt.body))


def dag_replace(expr, rule: dict, evaluate: bool = True):
    """``expr.xreplace(rule)``, rebuilding each distinct subexpression once (``xreplace`` walks the
    tree: exponential in the depth of a DAG whose steps are shared). Without ``evaluate``, nothing is
    rebuilt through SymPy's evaluation: where ``rule`` renames (distinct symbols to distinct loads)
    it could simplify nothing and costs a walk of each argument (tanh's asks whether its argument is
    zero, negative, a multiple of iπ …), and where ``rule`` composes values computed apart (the
    lowering), SymPy's identities would cancel across them (y·x/y → x), which NumPy does not."""
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
            done[e] = rebuilt(e, tuple(done[a] for a in e.args), evaluate)
            stack.pop()
    return done[sympy.sympify(expr)]


def rebuilt(e, args, evaluate: bool = True):
    """``e`` with arguments ``args``, evaluated by SymPy if ``evaluate``, except where SymPy's
    evaluation takes a Piecewise into its branches and makes a zoo there (``piecewise``)."""
    if all(a is b for a, b in zip(args, e.args)):
        return e
    if not evaluate and isinstance(e, _UNEVALUATED) or _holds_unfolded(args):  # evaluated, it would fold again
        return _unevaluated(e.func, args)
    if _takes_branches(e, args):
        return _unless_zoo(lambda: e.func(*args), lambda: _unevaluated(e.func, args), args)
    if e.func in _STAYS and len(args) == 1 and _STAYS[e.func](args[0]):
        return e.func(args[0], evaluate=False)
    try:
        return e.func(*args)
    except RecursionError:  # SymPy's Piecewise can collapse nested conditions without end
        return _unevaluated(e.func, args)


# what SymPy evaluates as it builds: arithmetic, functions (Piecewise too), comparisons, logic
_UNEVALUATED = (sympy.Add, sympy.Mul, sympy.Pow, sympy.Function, sympy.core.relational.Relational,
                sympy.logic.boolalg.BooleanFunction, ExprCondPair)


def _takes_branches(e, args) -> bool:
    """Whether SymPy evaluates ``e`` from ``args`` branch by branch: a Piecewise or a pair whose
    condition reads a Piecewise, a negative power of a Piecewise or a product holding one."""
    if isinstance(e, ExprCondPair):
        return _reads_piecewise(args[1])
    if isinstance(e, sympy.Piecewise):
        return any(_reads_piecewise(pair.cond) for pair in args)
    if isinstance(e, sympy.Pow):
        return isinstance(args[0], sympy.Piecewise) and args[1].is_negative
    reciprocal = lambda a: isinstance(a, sympy.Pow) and isinstance(a.base, sympy.Piecewise) and a.exp.is_negative
    return isinstance(e, sympy.Mul) and any(map(reciprocal, args))


def _reads_piecewise(cond) -> bool:
    return isinstance(cond, sympy.Basic) and cond.has(sympy.Piecewise)


def _unfolded(e) -> bool:
    return isinstance(e, sympy.Piecewise) and any(_reads_piecewise(pair.cond) for pair in e.args)


def unfolded_conditions(expr) -> set:
    """The conditions of ``expr``'s Piecewise that read a Piecewise: kept unfolded (``piecewise``),
    which SymPy's own rebuilding (a derivative, unpickling) would fold again."""
    return {pair.cond for pw in dag_atoms(expr, sympy.Piecewise) for pair in pw.args if _reads_piecewise(pair.cond)}


# numbers SymPy's exp and log rewrite around: exp(iπ·n), log(i·x) = log x + iπ/2, ±∞·x
_SPECIAL_NUMBERS = (sympy.core.numbers.ImaginaryUnit, sympy.core.numbers.Infinity,
                    sympy.core.numbers.NegativeInfinity, sympy.core.numbers.ComplexInfinity, sympy.core.numbers.NaN)


def _variable_without(arg, kinds) -> bool:
    """Whether ``arg`` reads a variable and holds nothing of ``kinds``."""
    atoms = dag_atoms(arg, (sympy.Symbol, *kinds))
    return bool(atoms) and all(a.is_Symbol for a in atoms)


def _exp_stays(arg) -> bool:
    """Whether SymPy's exp(arg) is exp(arg) unevaluated: ``arg`` reads a variable and holds no log
    (exp(log x) = x, a log combined from a factor), no special number and no float term of a sum
    (exp(x + 0.5) = 1.6487…·exp(x)). SymPy finds that by taking exp of each term of a sum and
    ``logcombine`` of each factor of a product, asking its assumptions at each step (a third of a
    nested gradient's fusion). Whether ``arg`` is 0 for every value is not asked: exp(arg) is 1
    at every number then too."""
    floats = any(term.is_Float for term in sympy.Add.make_args(arg))
    return not floats and _variable_without(arg, (sympy.log, *_SPECIAL_NUMBERS))


def _log_stays(arg) -> bool:
    """Whether SymPy's log(arg) is log(arg) unevaluated: ``arg`` reads a variable, is no exponential
    (log(eˣ) = x for real x) and holds no special number. As for exp, whether ``arg`` is 0 for every
    value (log = zoo) is not asked."""
    exponential = isinstance(arg, (sympy.exp, sympy.exp_polar)) or arg.is_Pow and arg.base is sympy.E
    return not exponential and _variable_without(arg, _SPECIAL_NUMBERS)


# functions whose evaluation searches long to find, most often, nothing to do
_STAYS = {sympy.exp: _exp_stays, sympy.log: _log_stays}


def _holds_unfolded(args) -> bool:
    """Whether ``args`` hold a Piecewise kept unfolded, directly or as a power's base."""
    return any(_unfolded(a) or isinstance(a, sympy.Pow) and _unfolded(a.base) for a in args)


def _unevaluated(func, args):
    if issubclass(func, (ExprCondPair, sympy.Piecewise)):  # these fold even when told not to evaluate
        return sympy.Basic.__new__(func, *args)
    return func(*args, evaluate=False)


def _unless_zoo(evaluate, keep, args):
    """``evaluate()``, or ``keep()`` where it makes a zoo that ``args`` did not hold, or fails: it
    raises comparing a zoo, piecewise_fold asserts on some conditions nested in conditions, and
    rewriting a condition of conditions pops from an empty set (where(where(0, x, y), x, y))."""
    try:
        taken = evaluate()
    except (TypeError, AssertionError, KeyError):
        return keep()
    made_zoo = taken.has(sympy.zoo) and not any(isinstance(a, sympy.Basic) and a.has(sympy.zoo) for a in args)
    return keep() if made_zoo else taken


def piecewise(*pairs) -> sympy.Expr:
    """``sympy.Piecewise(*pairs)``, unless SymPy makes a zoo evaluating it. SymPy folds a Piecewise
    read by a condition out into branches (even unevaluated) and takes a negative power of a
    Piecewise in each branch: 1/relu(x) would become Piecewise((zoo, x ≤ 0), …), and zoo has no sign
    (IEEE: 1/+0 = +inf), so it compiled to NaN, or raised comparing zoo. There, as in
    ``dag_replace`` (``rebuilt``), the Piecewise is kept as it is."""
    pairs = [tuple(map(sympy.sympify, p)) for p in pairs]
    return _unless_zoo(lambda: sympy.Piecewise(*pairs), lambda: sympy.Basic.__new__(
        sympy.Piecewise, *(sympy.Basic.__new__(ExprCondPair, *p) for p in pairs)), [v for p in pairs for v in p])


def dag_cse(expr, symbols) -> tuple[list, sympy.Expr]:
    """(replacements, reduced), like ``sympy.cse(expr)`` without its rewriting: each operation that
    two others read is bound once to the next of ``symbols``, in dependency order. Linear in the
    DAG, where ``sympy.cse`` walks the tree, which a high derivative makes exponentially bigger."""
    expr = sympy.sympify(expr)
    readers, order, seen, stack = collections.Counter(), [], set(), [(expr, False)]
    while stack:
        e, expanded = stack.pop()
        if expanded:
            order.append(e)
        elif e not in seen:
            seen.add(e)
            stack.append((e, True))
            for a in e.args:
                readers[a] += 1
                stack.append((a, False))
    rule, replacements = {}, []
    for e in order:  # postorder: an operation after those it reads
        # a negation is not shared: a − b of int64 and uint8 subtracts, where −b alone is in uint8
        negation = isinstance(e, sympy.Mul) and len(e.args) == 2 and e.args[0] == -1
        if readers[e] > 1 and e.args and isinstance(e, sympy.Expr) and not negation:
            rule[e] = symbol = next(symbols)
            replacements.append((symbol, rebuilt(e, tuple(dag_replace(a, rule, False) for a in e.args), False)))
    return replacements, dag_replace(expr, rule, False)


COMMUTATIVE = (sympy.Add, sympy.Mul, sympy.Max, sympy.Min, sympy.And, sympy.Or)


class Shapes:
    """Structural keys of statements (``key``): two statements get the same key when they are equal
    up to a one-to-one renaming of their buffers and of their loop and local variables (the same
    layer at two depths), so one compiled kernel serves both.

    Each subexpression gets two numbers, by hash-consing (so a key costs time linear in the size of
    the statement's DAG): its *form*, blind to buffer names, which orders the operands of commutative
    operations (SymPy orders them by name, which differs from layer to layer); and its *shape*, which
    also numbers buffers where that ordered traversal first meets them. ``order`` keeps each
    expression's form, so a renderer folds sums and products in that order too: the same
    expression rounds the same in every kernel, whatever its buffers are called."""

    def __init__(self):
        self.ids: dict = {}
        self.order: dict = {}

    def _id(self, node: tuple) -> int:
        return self.ids.setdefault(node, len(self.ids))

    def operands(self, e) -> tuple:
        """``e``'s operands in the order its shape takes them (a commutative operation's by form)."""
        if isinstance(e, COMMUTATIVE) and all(a in self.order for a in e.args):
            return tuple(sorted(e.args, key=self.order.__getitem__))
        return e.args

    def key(self, stmt, known: dict) -> tuple:
        """(key, the buffers ``stmt`` uses in the order the key numbers them); ``known``: name →
        Buffer. Variables are numbered where they are bound; nothing is rebuilt, so the statement
        renders as it is."""
        buffers: dict = {}
        symbols: dict = {}
        memo: dict = {}  # expression → form
        shapes: dict = {}  # expression → shape

        def buffer(name: str) -> int:
            if name not in buffers:
                buffers[name] = len(buffers)
            return buffers[name]

        def bound(var) -> int:
            symbols[var] = len(symbols)
            memo.clear()  # a rebound name means another variable from here on
            shapes.clear()
            return symbols[var]

        def form(e) -> int:
            done = memo.get(e)
            if done is not None:
                return done
            if isinstance(e, sympy.Indexed):
                node = ("load", known[e.base.name].dtype, form(e.indices[0]))
            elif isinstance(e, sympy.Symbol):
                node = ("var", symbols[e]) if e in symbols else ("symbol", e.name, e.assumptions0.get("integer"))
            elif not e.args:
                node = (type(e), e)
            else:
                forms = [form(a) for a in e.args]
                node = (e.func, *(sorted(forms) if isinstance(e, COMMUTATIVE) else forms))
            memo[e] = self.order[e] = self._id(node)
            return memo[e]

        def shape(e) -> int:
            if not isinstance(e, sympy.Basic):  # a plain int index
                e = sympy.sympify(e)
            done = shapes.get(e)
            if done is not None:
                return done
            form(e)
            if isinstance(e, sympy.Indexed):
                shapes[e] = self._id(("load", buffer(e.base.name), memo[e], shape(e.indices[0])))
            elif not e.args or isinstance(e, sympy.Symbol):
                shapes[e] = memo[e]
            else:
                shapes[e] = self._id((memo[e], *(shape(a) for a in self.operands(e))))
            return shapes[e]

        def walk(st) -> int:
            if isinstance(st, Loop):  # its variable is bound in its body only (a name may be reused after)
                outer = symbols.get(st.var)
                node = ("loop", bound(st.var), st.extent, st.parallel, st.independent, st.jam, st.vector,
                        *(walk(x) for x in st.body))
                if outer is not None:
                    symbols[st.var] = outer
                    memo.clear()
                    shapes.clear()
                return self._id(node)
            if isinstance(st, Store):
                return self._id(("store", buffer(st.buffer.name), st.buffer.dtype, shape(st.index), shape(st.value)))
            if isinstance(st, Let):
                value = shape(st.value)
                var = symbols[st.var] if st.var in symbols else bound(st.var)
                return self._id(("let", var, st.dtype, value))
            if isinstance(st, Update):
                return self._id(("update", symbols[st.var], st.op, shape(st.value)))
            if isinstance(st, If):
                return self._id(("if", shape(st.cond), *(walk(x) for x in st.body)))
            return self._id(("call", st.function, *(buffer(b.name) for b in st.inputs + st.outputs),
                             len(st.inputs), st.sizes))

        key = walk(stmt)
        return key, [known[name] for name in buffers]


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


def product(factors) -> sympy.Expr:
    """The product of a canonical Mul's factors, rebuilt without SymPy's flattening (which queries
    assumptions: most of a renderer's time on a fresh body)."""
    factors = tuple(factors)
    if len(factors) < 2:
        return factors[0] if factors else sympy.S.One
    return sympy.Mul._from_args(factors)


def quotient(product_: sympy.Mul) -> tuple[sympy.Expr, sympy.Expr]:
    """``product_`` as numerator / denominator: the factors raised to a negative constant power go
    below, and so does a rational coefficient's denominator unless it is a power of two or scales
    another constant (x/3 is divided, as NumPy divides it: x·(1/3) rounds differently for a third
    of all x; x·(π/180) stays a product, which x·π would overflow). Like
    ``sympy.fraction(e, exact=True)`` without its assumption queries on symbolic powers."""
    above, below = [], []
    constants = sum(f.is_number for f in product_.args)
    for f in product_.args:
        if f.is_Pow and f.exp.is_Number and f.exp < 0:
            below.append(f.base if f.exp == -1 else sympy.Pow(f.base, -f.exp, evaluate=False))
        elif f.is_Rational and not f.is_Integer and f.q & (f.q - 1) and constants == 1:
            above += [sympy.Integer(f.p)] if f.p != 1 else []
            below.append(sympy.Integer(f.q))
        else:
            above.append(f)
    # inverted, the factors below are sorted again as SymPy sorts a Mul's (not multiplied: SymPy's
    # evaluation would ask about each power, most of the rendering of W1's Hessian)
    return product(above), product(sorted(below, key=_CANONICAL))


_CANONICAL = functools.cmp_to_key(sympy.Basic.compare)


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


_RELATIONS = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
              ">=": lambda a, b: a >= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b}


def literal_comparison(relation, dtype) -> bool | None:
    """The value of ``relation`` between an integer of ``dtype`` and an integer literal its type
    cannot hold (uint32 x < −3: False), as NumPy 2 compares Python integers, by value; None when
    it is not such a comparison. Converted to the type, as C and LLVM would, −3 became 2³² − 3."""
    dtype = np.dtype(dtype)
    if dtype.kind not in "iu":
        return None
    info = np.iinfo(dtype)
    lhs, rhs = relation.lhs, relation.rhs
    for literal, flip in ((rhs, False), (lhs, True)):
        if literal.is_Integer and not info.min <= int(literal) <= info.max:
            a, b = (int(literal), info.min) if flip else (info.min, int(literal))
            return _RELATIONS[relation.rel_op](a, b)
    return None


def dtype_name(dtype) -> str:
    name = np.dtype(dtype).name
    if name not in DTYPES:
        raise TypeError(f"unsupported dtype {name!r} for code generation (supported: {DTYPES})")
    return name


def flat_index(index, shape) -> sympy.Expr:
    """The row-major offset of a multi-index in an array of ``shape``."""
    return _flat_index(tuple(sympy.sympify(i) for i in index), tuple(shape))


@functools.lru_cache(maxsize=1 << 14)
def _flat_index(index: tuple, shape: tuple) -> sympy.Expr:
    # one Add of all the terms (SymPy flattens once): a lowering asks for the same offsets many times
    terms, stride = [], 1
    for i, n in zip(reversed(index), reversed(shape)):
        terms.append(i * stride)
        stride *= n
    offset = sympy.Add(*terms)
    return _recombined(offset) if offset.has(imod) else offset


def _recombined(offset: sympy.Expr) -> sympy.Expr:
    """``offset`` with each c·n·idiv(e, n) + c·imod(e, n) read as the c·e it was split from: a
    position split into window and offset and put back (a max-pool's gradient) then reads memory
    contiguously, which LLVM vectorises, instead of through a division per element."""
    quotients, remainders = {}, {}
    for term in sympy.Add.make_args(offset):
        c, f = term.as_coeff_Mul()
        if isinstance(f, idiv):
            quotients[f.args] = (c, term)
        elif isinstance(f, imod):
            remainders[f.args] = (c, term)
    for (e, n), (c, term) in remainders.items():
        if (e, n) in quotients and quotients[e, n][0] == c * n:
            offset = offset - term - quotients[e, n][1] + c * e
    return offset


def loops(vars_, shape, body, parallel_outer=False) -> tuple:
    """A loop nest over ``shape`` around ``body`` (a tuple of statements)."""
    for depth, (v, n) in reversed(list(enumerate(zip(vars_, shape)))):
        body = (Loop(v, n, tuple(body), parallel_outer and depth == 0),)
    return tuple(body)

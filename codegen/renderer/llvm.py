"""LLVM IR text for a kernel ``Program`` (``codegen.llvm_ir``: written as it is built; opaque pointers).

Statements dispatch to ``_stmt_<Class>``, SymPy expressions to ``_emit_<Class>`` (as SymPy's
printers do). Types are inferred bottom-up: loads have their buffer's type, loop variables are
i64, literals adapt to their context; floats win over integers. Elementwise float arithmetic has
no fast-math flags: each operation rounds as NumPy's does, so a value does not depend on whether
it was computed in the vector body or the scalar tail of a loop (LLVM fuses ``contract``
multiply–adds where it sees fit, which differs between the two). Only the terms of contractions (a
product of loads added to an accumulator) carry ``contract`` (FMA), and sums ``reassoc`` so they
vectorise: their order is the compiler's anyway.
"""

from __future__ import annotations

import functools

import numpy as np
import sympy

from .. import llvm_ir as ir
from ..kernel import (
    Call,
    Let,
    Loop,
    Program,
    Shapes,
    Store,
    UnsupportedExpression,
    Update,
    dag_atoms,
    idiv,
    imod,
    literal_comparison,
    product,
    quotient,
    uniform,
)
from ..opt.contraction import unit_stride
from ..opt.tiling import unroll_and_jam
from ..runtime import exact_trig, special
from ..runtime.llvm_worker import FAST_INSTRUCTIONS, VECTORISED
from ..runtime.pool import TEMP_ALLOC, TEMP_FREE, thread_pool
from .llvm_math import InlineMath
from .llvm_parallel import ParallelLoops
from .llvm_trig import InlineTrig
from .llvm_types import (
    CONTRACT,
    DTYPE_OF_KIND,
    F32,
    F64,
    FLOATS,
    I1,
    I32,
    I64,
    ITEMSIZE,
    KIND,
    PTR,
    REDUCTION,
    STORAGE,
    TYPES,
    is_signed,
)

# SymPy function → LLVM intrinsic (float only)
INTRINSICS = {"sqrt": "llvm.sqrt", "floor": "llvm.floor", "ceiling": "llvm.ceil", "rint": "llvm.rint",
              "trunc": "llvm.trunc"}
# NumPy's // and % (integer for integers), as the functions the kernel language names them by
DIVMOD = ("floor_divide", "remainder", "fmod")
# NumPy's bitwise ufuncs, of integers only (bools shift as int8)
BITWISE = ("bitwise_and", "bitwise_or", "bitwise_xor", "invert", "left_shift", "right_shift", "gcd", "lcm")
# SymPy function → C math library (double name; float adds an ``f``)
LIBM = {"asinh": "asinh", "acosh": "acosh", "atanh": "atanh", "atan2": "atan2", "erf": "erf", "erfc": "erfc",
        "cbrt": "cbrt", "gamma": "tgamma", "hypot": "hypot"}
# calls with no vector form: a loop computing them is left to LLVM's vectoriser, which knows none either
_SCALAR_FUNCTIONS = frozenset(special.FUNCTIONS) | frozenset(LIBM) | {"gcd", "lcm", "uniform"}


def _join(kinds):
    """The arithmetic kind of an operation on ``kinds``: NumPy's promotion, with literals weakly
    typed as NEP 50 has it (None: only literals, decided by context)."""
    return _promote(tuple(k for k in kinds if k is not None))


@functools.lru_cache(maxsize=1024)
def _promote(kinds):
    strong = [DTYPE_OF_KIND[k] for k in kinds if k in DTYPE_OF_KIND]
    if not strong:
        return "weak_float" if "weak_float" in kinds else "weak_int" if kinds else None
    result = np.result_type(*strong)
    if "weak_float" in kinds and result.kind in "biu":
        result = np.dtype(np.float64)
    elif "weak_int" in kinds and result.kind == "b":
        result = np.dtype(np.int64)
    return KIND[result.name]


class LLVMRenderer(InlineMath, InlineTrig, ParallelLoops):
    """``render(program)`` → LLVM IR text for one entry point. Top-level loops marked ``parallel``
    run their iterations in ``threads`` chunks (the caller takes the first): on the runtime's thread
    pool when ``pooled`` (by default, when it is available), else one POSIX thread per chunk."""

    STACK_BYTES = 1 << 16

    def __init__(self, threads: int = 1, min_parallel: int = 1 << 14, pooled: bool | None = None):
        self.threads, self.min_parallel = threads, min_parallel
        self.pooled = thread_pool() if pooled is None and threads > 1 else bool(pooled)

    def render(self, program: Program) -> str:
        """The program as one module of LLVM IR."""
        return self.render_parts(program, 1)[0]

    def render_parts(self, program: Program, parts: int) -> list[str]:
        """The program as up to ``parts`` modules, for a runtime that optimises them side by side
        and links them into one engine (``CPURuntime.object_code``): the entry point in the first,
        each kernel function in the module with the fewest instructions so far, declared in the
        first where the entry point calls it."""
        self.module = ir.Module(name=program.name)
        self.modules = [self.module] + [ir.Module(name=f"{program.name}.part{k}") for k in range(1, parts)]
        self.load = [0] * parts  # instructions rendered into each module
        self.tuned = [False] * parts  # whether a module needs LLVM's full register allocation
        self.scalar_loops: set = set()  # ids of the modules with loops for LLVM's vectoriser
        self.lanes = 0  # a vector loop's lanes while one is written (``_vector_body`` sets the rest of its state)
        self.splats: dict = {}  # (kind, lanes, value) → the vector constant, made once
        self.buffers = program.buffers()
        n = len(program.args)
        fn = ir.Function(self.module, ir.FunctionType(ir.VoidType(), [PTR] * n + [I64] * len(program.sizes)),
                         name=program.name)
        for arg, buf in zip(fn.args, program.args):
            if buf.name not in program.aliased:
                arg.add_attribute("noalias")
        self.fn = fn
        self.alloca_builder = ir.IRBuilder(fn.append_basic_block("entry"))
        start = fn.append_basic_block("start")
        self.builder = ir.IRBuilder(start)
        self.values = dict(zip(program.sizes, fn.args[n:]))
        self.sizes, self.program, self.n_parallel = list(program.sizes), program, 0
        self.locals, self.kinds, self.memo, self.kind_memo, self.reads_locals = {}, {}, {}, {}, {}
        self.arithmetic = ()  # fast-math flags of float arithmetic: CONTRACT while accumulating
        self.ptrs = {b.name: a for b, a in zip(program.args, fn.args)}
        heap = self._allocate_temps(program.temps)
        self.kernels: dict = {}
        self.shapes = Shapes()
        # loops and calls become kernels when each stands alone (what symflux emits); all stays in line
        # when loop bounds are parameters or top-level locals are shared (a Let before the loop that
        # updates it)
        separate = not program.sizes and not any(isinstance(stmt, (Let, Update)) for stmt in program.body)
        for stmt in program.body:
            if separate and isinstance(stmt, (Loop, Call)):
                self._kernel_call(stmt)
            else:
                self.tuned[0] |= _register_heavy(stmt)
                self._stmt(stmt)
        free = self._declare(TEMP_FREE if thread_pool() else "free", ir.VoidType(), [PTR])
        for name in heap:
            self.builder.call(free, [self.ptrs[name]])
        self.builder.ret_void()
        self.alloca_builder.branch(start)
        if not program.sizes:
            self._packed_entry(fn, n)
        return [("" if tuned else FAST_INSTRUCTIONS) + ("" if id(m) in self.scalar_loops else VECTORISED) + str(m)
                for m, tuned in zip(self.modules, self.tuned) if any(f.blocks for f in m.functions)]

    def _kernel_call(self, stmt):
        """``stmt`` as a call of a kernel function over the buffers it uses. Statements equal up to
        their buffers' names (``kernel.Shapes``: each hidden layer of a deep model) share one
        function, so the IR and LLVM's work grow with the distinct kernels, not with depth."""
        shape, used = self.shapes.key(stmt, self.buffers)
        aliased = tuple(b.name in self.program.aliased for b in used)
        fn = self.kernels.get((shape, aliased))
        if fn is None:
            fn = self.kernels[shape, aliased] = self._kernel_function(stmt, used, aliased)
        if fn.module is not self.module:  # rendered into another part: called through a declaration
            fn = self.module.globals.get(fn.name) or ir.Function(self.module, fn.ftype, name=fn.name)
        self.builder.call(fn, [self.ptrs[b.name] for b in used])
        self.memo.clear()  # it wrote its buffers

    def _kernel_function(self, stmt, params, aliased):
        """The function of ``params`` (buffers) that runs ``stmt``; equal-shaped statements call it
        with their own buffers in the same order."""
        saved = (self.module, self.fn, self.alloca_builder, self.builder, self.ptrs, self.values, self.locals,
                 self.kinds, self.memo, self.kind_memo, self.reads_locals, self.buffers)
        part = self.load.index(min(self.load))
        self.module = self.modules[part]
        self.tuned[part] |= _register_heavy(stmt)
        functions_before = len(self.module.functions)
        fn = ir.Function(self.module, ir.FunctionType(ir.VoidType(), [PTR] * len(params)),
                         name=f"{self.program.name}.kernel{len(self.kernels)}")
        if part == 0:  # else the entry point, in another module, calls it by name
            fn.linkage = "internal"
        fn.attributes.add("noinline")  # compiled once, called once per use
        for arg, shared in zip(fn.args, aliased):
            if not shared:
                arg.add_attribute("noalias")
        self.fn = fn
        self.alloca_builder = ir.IRBuilder(fn.append_basic_block("entry"))
        start = fn.append_basic_block("start")
        self.builder = ir.IRBuilder(start)
        self.ptrs = {b.name: a for b, a in zip(params, fn.args)}
        self.buffers = {b.name: b for b in params}
        self.values, self.locals, self.kinds = {}, {}, {}
        self.memo, self.kind_memo, self.reads_locals = {}, {}, {}
        self._stmt(stmt)
        self.builder.ret_void()
        self.alloca_builder.branch(start)
        self.load[part] += sum(len(b.instructions) for f in self.module.functions[functions_before:] for b in f.blocks)
        (self.module, self.fn, self.alloca_builder, self.builder, self.ptrs, self.values, self.locals, self.kinds,
         self.memo, self.kind_memo, self.reads_locals, self.buffers) = saved
        return fn

    def _allocate_temps(self, temps) -> list[str]:
        """Temporaries of a known size go on the stack while they fit in ``STACK_BYTES`` (no malloc on
        small, frequent calls); the rest on the heap, from the runtime's cache of temporaries when it
        is there (``pool.c``). Returns the names to free."""
        heap, on_stack = [], 0
        malloc = self._declare(TEMP_ALLOC if thread_pool() else "malloc", PTR, [I64])
        for t in temps:
            size = sympy.sympify(t.size)
            nbytes = int(size) * ITEMSIZE[t.dtype] if size.is_Integer else None
            if nbytes is not None and on_stack + nbytes <= self.STACK_BYTES:
                on_stack += nbytes
                slot = self.alloca_builder.alloca(STORAGE[t.dtype], size=ir.Constant(I64, max(int(size), 1)),
                                                  name=t.name, align=64)
                self.ptrs[t.name] = slot
                continue
            nbytes = self.builder.mul(self._emit(size, "i64"), ir.Constant(I64, ITEMSIZE[t.dtype]))
            self.ptrs[t.name] = self.builder.call(malloc, [nbytes])
            heap.append(t.name)
        return heap

    def _packed_entry(self, fn, n):
        """``name_packed(ptr args)``: the entry point taking one array of the ``n`` buffer pointers,
        for callers that keep the pointers in an array (``codegen.runtime.fastcall``)."""
        packed = ir.Function(self.module, ir.FunctionType(ir.VoidType(), [PTR]), name=fn.name + "_packed")
        b = ir.IRBuilder(packed.append_basic_block())
        args = [b.load(b.gep(packed.args[0], [ir.Constant(I64, k)], source_etype=PTR), typ=PTR) for k in range(n)]
        b.call(fn, args)
        b.ret_void()

    # -- statements ---------------------------------------------------------------------------------
    def _stmt(self, stmt):
        getattr(self, "_stmt_" + type(stmt).__name__)(stmt)

    def _stmt_Loop(self, loop):
        if loop.jam > 1:  # a register tile
            for stmt in unroll_and_jam(loop):
                self._stmt(stmt)
            return
        if loop.parallel and self.threads > 1 and not self.values.keys() - set(self.sizes):
            self._parallel_loop(loop)
            return
        self._serial_loop(loop, ir.Constant(I64, 0), self._emit(sympy.sympify(loop.extent), "i64"))

    def _serial_loop(self, loop, first, end, vectorise: bool = True):
        """``loop`` over [first, end); one it may ``vectorise`` in vectors (``_vector_loop``) where its
        body allows, else for LLVM's loop vectoriser at the width its ``vector`` hint says."""
        if vectorise and self._vectorisable(loop):
            self._vector_loop(loop, first, end)
            return
        if vectorise and not any(isinstance(s, Loop) for s in loop.body):  # an innermost loop LLVM may widen
            self.scalar_loops.add(id(self.module))
        b = self.builder
        before, blocks = b.block, len(self.fn.blocks)  # the loop's blocks follow
        header = self.fn.append_basic_block(f"{loop.var}.head")
        body = self.fn.append_basic_block(f"{loop.var}.body")
        done = self.fn.append_basic_block(f"{loop.var}.done")
        b.branch(header)
        b.position_at_end(header)
        i = b.phi(I64, name=str(loop.var))
        i.add_incoming(first, before)
        b.cbranch(b.icmp_signed("<", i, end), body, done)
        b.position_at_end(body)
        self.values[loop.var] = i
        for stmt in loop.body:
            self._stmt(stmt)
        step = b.add(i, ir.Constant(I64, 1), flags=("nuw", "nsw"))
        i.add_incoming(step, b.block)
        back = b.branch(header)
        if loop.vector and vectorise and _widenable(self.fn.blocks[blocks:]):
            back.set_metadata("llvm.loop", self._loop_hints(("llvm.loop.vectorize.width", loop.vector),
                                                            ("llvm.loop.interleave.count", 1)))
        b.position_at_end(done)
        del self.values[loop.var]

    def _vectorisable(self, loop) -> bool:
        """Whether ``loop`` (hinted ``vector`` by ``opt.vectors``: straight-line, contiguous) can be
        rendered in vectors here: each store contiguous into a buffer the loop does not read (its last
        vector overlaps the one before), no call without a vector form, no locals before it reassigned."""
        if self.lanes or loop.vector not in exact_trig.VECTOR_LANES:
            return False
        stored = {s.buffer.name for s in loop.body if isinstance(s, Store)}
        if stored & set(self.program.aliased) or any(isinstance(s, Let) and s.var in self.locals for s in loop.body):
            return False
        for s in loop.body:
            if isinstance(s, Store) and not (unit_stride(s.index, loop.var) and _plain_index(s.index, self.locals)):
                return False
            for e in dag_atoms(s.value, sympy.Basic, inside=True):
                read = isinstance(e, sympy.Indexed) and (e.base.name in stored or not _plain_index(e.indices[0],
                                                                                                      self.locals))
                if read or _scalar_only(e):
                    return False
        return True

    def _vector_loop(self, loop, first, end):
        """``loop`` in vectors of ``loop.vector`` lanes: the last vector overlaps the one before (it
        recomputes a few elements: the loop reads nothing it writes) so there is no scalar tail. An
        extent known only at run time may be under one vector: then the loop is scalar."""
        b, lanes = self.builder, loop.vector
        if isinstance(first, ir.Constant) and isinstance(end, ir.Constant):  # ``opt.vectors``: ≥ lanes
            self._vector_body(loop, first, end)
            return
        with b.if_else(b.icmp_signed(">=", b.sub(end, first), ir.Constant(I64, lanes))) as (wide, narrow):
            with wide:
                self._vector_body(loop, first, end)
            with narrow:
                self._serial_loop(loop, first, end, vectorise=False)

    def _vector_body(self, loop, first, end):
        """The loop over [first, end) in vectors; what is the same in every iteration is computed once
        before it (``_hoisted``), in blocks that branch to its header once the body is written."""
        b, lanes = self.builder, loop.vector
        last = b.sub(end, ir.Constant(I64, lanes))
        self.preheader = self.fn.append_basic_block(f"{loop.var}.pre")
        header = self.fn.append_basic_block(f"{loop.var}.head")
        body = self.fn.append_basic_block(f"{loop.var}.body")
        done = self.fn.append_basic_block(f"{loop.var}.done")
        b.branch(self.preheader)
        b.position_at_end(header)
        k = b.phi(I64, name=f"{loop.var}.k")
        b.cbranch(b.icmp_signed("<", k, end), body, done)
        b.position_at_end(body)
        self.values[loop.var] = b.select(b.icmp_signed("<", k, last), k, last, name=str(loop.var))
        saved = self.locals, self.kinds, self.memo
        self.locals, self.kinds, self.memo, self.scalar_memo = dict(self.locals), dict(self.kinds), {}, {}
        self.lanes, self.vector_var, self.vector_locals, self.varying, self.hoisted = lanes, loop.var, set(), {}, {}
        try:
            for stmt in loop.body:
                self._stmt(stmt)
        finally:
            self.lanes = 0
            self.locals, self.kinds, self.memo = saved
        k.add_incoming(b.add(k, ir.Constant(I64, lanes), flags=("nuw", "nsw")), b.block)
        back = b.branch(header)
        back.set_metadata("llvm.loop", self._loop_hints(("llvm.loop.isvectorized", 1)))
        b.position_at_end(self.preheader)
        b.branch(header)
        k.add_incoming(first, self.preheader)
        b.position_at_end(done)
        del self.values[loop.var]

    def _varies(self, e) -> bool:
        """Whether ``e`` differs between a vector loop's iterations: it reads the loop's variable or a
        local the loop assigns (memoised per loop: bodies are DAGs)."""
        hit = self.varying.get(e)
        if hit is None:
            hit = e == self.vector_var or e in self.vector_locals or any(map(self._varies, e.args))
            self.varying[e] = hit
        return hit

    def _hoisted(self, e, want: str):
        """``e``, the same in every iteration of the vector loop, computed in scalars before it and
        splatted: the module skips LLVM's loop-invariant code motion with the rest of -O3
        (x·exp(w) of a scalar w took 10× as long computing exp(w) in every iteration)."""
        if (e, want) not in self.hoisted:
            b, inside = self.builder, self.builder.block
            b.position_at_end(self.preheader)
            self.hoisted[e, want] = self._splat(self._scalar(lambda: self._emit(e, want)))
            self.preheader = b.block  # a branch (exact trigonometry) may have moved it on
            b.position_at_end(inside)
        return self.hoisted[e, want]

    def _scalar(self, compute):
        """``compute()`` in scalars within a vector loop's body: its addresses, its invariant values."""
        lanes, memo = self.lanes, self.memo
        self.lanes, self.memo = 0, self.scalar_memo
        try:
            return compute()
        finally:
            self.lanes, self.memo = lanes, memo

    def _splat(self, value):
        """A scalar ``value`` in every lane of a vector."""
        if isinstance(value, ir.Constant):
            return ir.Constant(ir.VectorType(value.type, self.lanes), value.constant)
        vector = ir.VectorType(value.type, self.lanes)
        one = self.builder.insert_element(ir.Constant(vector, ir.Undefined), value, ir.Constant(I32, 0))
        return self.builder.shuffle_vector(one, ir.Constant(vector, ir.Undefined),
                                           ir.Constant(ir.VectorType(I32, self.lanes), [0] * self.lanes))

    def _loop_hints(self, *hints):
        """A loop's own metadata node holding ``hints`` (name, value) for LLVM's loop passes: LLVM finds
        a loop's hints through a node whose first operand is itself (given once the node exists)."""
        m = self.fn.module
        hints = [m.add_metadata([ir.MetaDataString(m, name), ir.Constant(I32, value)]) for name, value in hints]
        node = m.add_metadata([*hints, ir.MetaDataString(m, f"loop {len(m.metadata)}")])  # one per loop
        node.operands = (node, *node.operands)
        return node

    def _stmt_Store(self, store):
        kind = KIND[store.buffer.dtype]
        own = [a for a in store.value.args if isinstance(a, sympy.Indexed) and a.base.name == store.buffer.name] \
            if isinstance(store.value, sympy.Add) else []
        accumulates = own and all(_product_of_loads(a) for a in store.value.args if a not in own)
        value = self._accumulating(store.value, kind) if accumulates else self._emit(store.value, kind)
        self.memo.clear()  # loads emitted so far may read what this store writes
        if store.buffer.dtype == "bool":
            value = self.builder.zext(value, self._type("i8"))
        self.builder.store(value, self._address(store.buffer.name, store.index),
                           align=ITEMSIZE[store.buffer.dtype] if self.lanes else None)

    def _stmt_Let(self, let):
        kind = KIND[let.dtype]
        reassigned = let.var in self.locals  # nothing memoised can read a variable before its first Let
        if not reassigned:
            self.locals[let.var] = self.alloca_builder.alloca(self._type(kind), name=str(let.var))
            self.kinds[let.var] = kind
            if self.lanes:
                self.vector_locals.add(let.var)
        self.builder.store(self._emit(let.value, kind), self.locals[let.var])
        if reassigned:
            self._forget(let.var)

    def _stmt_Update(self, update):
        kind = self.kinds[update.var]
        slot = self.locals[update.var]
        b = self.builder
        summand = update.op == "add" and _product_of_loads(update.value)
        old = b.load(slot, typ=self._type(kind))
        new = self._accumulating(update.value, kind) if summand else self._emit(update.value, kind)
        if update.op == "add":
            result = b.fadd(old, new, flags=self._reduction_flags(update.value)) if kind in FLOATS else b.add(old, new)
        else:
            result = self._extremum(update.op, kind, old, new)
        b.store(result, slot)
        self._forget(update.var)

    def _accumulating(self, value, kind):
        """``value`` (a sum's term that is a product of loads: a contraction) emitted with
        ``contract`` on its arithmetic, so multiply–adds may become FMAs. Nothing else gets it: a
        value computed twice (a max, then compared with ``Eq`` to route its gradient) must round the
        same way in every kernel."""
        self.arithmetic = CONTRACT
        try:
            return self._emit(value, kind)
        finally:
            self.arithmetic = ()

    @staticmethod
    def _reduction_flags(value):
        """``nsz`` too where the summand is a product of loads (a contraction): it lets LLVM use
        vector FMAs, and a product of loads has no loop-invariant factor that ``nsz`` would let it
        pull out of the sum (Σ c·xᵢ → c·Σ xᵢ turns a 0·∞ = NaN term into ±∞)."""
        loads_only = isinstance(value, sympy.Mul) and all(isinstance(f, sympy.Indexed) for f in value.args)
        return REDUCTION + ("nsz",) if loads_only else REDUCTION

    def _forget(self, var):
        """Drop memoised values that read local ``var`` (it was just reassigned)."""
        for key in [k for k in self.memo if var in self._locals_read(k[0])]:
            del self.memo[key]

    def _locals_read(self, e) -> frozenset:
        """The locals ``e`` reads (memoised per expression: ``_forget`` runs after every Update, over
        every memoised value, and SymPy's ``has`` walks the whole tree each time)."""
        hit = self.reads_locals.get(e)
        if hit is None:
            hit = frozenset((e,)) if e in self.locals else frozenset().union(*map(self._locals_read, e.args))
            self.reads_locals[e] = hit
        return hit

    def _stmt_Call(self, call):
        buffers = call.inputs + call.outputs
        fn = self._declare(call.function, ir.VoidType(), [PTR] * len(buffers) + [I64] * len(call.sizes))
        self.builder.call(fn, [self.ptrs[b.name] for b in buffers]
                          + [self._emit(sympy.sympify(n), "i64") for n in call.sizes])
        self.memo.clear()  # it wrote its outputs

    def _stmt_If(self, stmt):
        cond = self._emit(stmt.cond, "i1")
        with self.builder.if_then(cond):
            for s in stmt.body:
                self._stmt(s)

    # -- expressions ----------------------------------------------------------------------------------
    def kind(self, e) -> str | None:
        """The kind ``e`` computes in (memoised: bodies are DAGs that share subexpressions, and an
        unmemoised walk is exponential in the depth of a recurrence like Newton's iteration)."""
        if e.is_Symbol:
            return self.kinds.get(e, "i64")
        hit = self.kind_memo.get(e)
        if hit is None:
            hit = self.kind_memo[e] = self._kind(e)
        return hit

    def _kind(self, e) -> str | None:
        if isinstance(e, sympy.Indexed):
            return KIND[self.buffers[e.base.name].dtype]
        if e.is_Symbol:
            return self.kinds.get(e, "i64")
        if isinstance(e, (sympy.core.relational.Relational, sympy.logic.boolalg.Boolean)) and not e.is_Symbol:
            return "i1"
        if e.is_Integer:
            return "weak_int"
        if e.is_Number or e.is_NumberSymbol:
            return "weak_float"
        if isinstance(e, (idiv, imod)):
            return "i64"
        if isinstance(e, uniform):
            return "f64"
        if isinstance(e, sympy.Piecewise):
            return _join([self.kind(v) for v, _ in e.args])
        if type(e).__name__ == "cast":  # cast(x, dtype name)
            return KIND[str(e.args[1])]
        if type(e).__name__ in ("isnan", "isinf", "isfinite"):  # 1 or 0
            return "i1"
        kinds = [self.kind(a) for a in e.args]
        if isinstance(e, (sympy.Add, sympy.Mul, sympy.Max, sympy.Min, sympy.Abs, sympy.sign)) \
                or type(e).__name__ in DIVMOD:
            return _join(kinds)
        if type(e).__name__ in BITWISE:
            joined = _join(kinds)
            return "i8" if joined == "i1" else joined
        if isinstance(e, sympy.Pow) and e.exp.is_Integer and e.exp >= 0:
            return _join(kinds[:1])
        if isinstance(e, sympy.Pow) and not e.exp.is_Number:  # of integer arrays: NumPy's integer power
            joined = _join(kinds)
            return "i8" if joined == "i1" else joined  # bool ** bool: NumPy's int8 loop
        joined = _join(kinds)  # a function: computed in floating point
        return joined if joined in FLOATS else "f64" if joined not in ("weak_float", None) else "weak_float"

    def _emit(self, e, want: str):
        """``e`` as a value of kind ``want``. Values are memoised per basic block until the next
        store, so shared subexpressions are computed once without a CSE pass."""
        key = (e, want, id(self.builder.block))
        hit = self.memo.get(key)
        if hit is not None:
            return hit
        value = self._hoisted(e, want) if self.lanes and not self._varies(e) else self._emit_uncached(e, want)
        self.memo[key] = self.memo[(e, want, id(self.builder.block))] = value  # the block may have moved on
        return value

    def _rejoin(self, dominator):
        """The builder has moved past a diamond that began in block ``dominator``: what was
        emitted there is still available here."""
        here = id(self.builder.block)
        self.memo.update({(e, want, here): v for (e, want, block), v in list(self.memo.items())
                          if block == id(dominator)})

    def _emit_uncached(self, e, want: str):
        natural = self.kind(e)
        if natural in (None, "weak_int", "weak_float"):
            natural = want if want != "i1" else ("i64" if natural == "weak_int" else "f64")
        value = getattr(self, "_emit_" + type(e).__name__, self._emit_function)(e, natural)
        return self._convert(value, natural, want)

    def _float_to_int(self, v, dst):
        """As C converts for NumPy on x86: through a signed 32-bit integer (64-bit for i64 and u32),
        truncated. LLVM's fptosi to a narrower type is poison out of range, and vectorised it
        saturated: 130.0 → int8 gave 127 where NumPy gives −126."""
        b, target = self.builder, self._type(dst)
        if dst == "u64":  # from 2^63 on, through x − 2^63 with the top bit put back (2^64 and over: 0)
            top = self._constant(2.0**63, "f64" if getattr(v.type, "element", v.type) == F64 else "f32")
            high = b.xor(b.fptosi(b.fsub(v, top), target), self._constant(1 << 63, "i64"))
            return b.select(b.fcmp_ordered(">=", v, top), high, b.fptosi(v, target))
        wide = b.fptosi(v, self._type("i64" if dst in ("i64", "u32") else "i32"))
        return wide if wide.type == target else b.trunc(wide, target)

    def _convert(self, v, src, dst):
        b = self.builder
        if src == dst or TYPES[src] is TYPES[dst] and src != "i1":  # i32 and u32 share one type
            return v
        if src in FLOATS and dst in FLOATS:
            return b.fpext(v, self._type(dst)) if dst == "f64" else b.fptrunc(v, self._type(dst))
        if src in FLOATS:
            if dst == "i1":
                return b.fcmp_unordered("!=", v, self._constant(0, src))
            return self._float_to_int(v, dst)
        if dst in FLOATS:
            return b.sitofp(v, self._type(dst)) if is_signed(src) else b.uitofp(v, self._type(dst))
        if dst == "i1":
            return b.icmp_signed("!=", v, self._constant(0, src))
        if TYPES[dst].width > TYPES[src].width:
            return b.sext(v, self._type(dst)) if is_signed(src) else b.zext(v, self._type(dst))
        return b.trunc(v, self._type(dst))

    def _type(self, kind):
        """The LLVM type of a value of ``kind``: a vector of them in a vector loop's body."""
        return ir.VectorType(TYPES[kind], self.lanes) if self.lanes else TYPES[kind]

    def _constant(self, value, kind):
        if kind in FLOATS:
            value = float(value)
        elif kind == "i1":
            value = int(bool(value))
        else:
            width = TYPES[kind].width
            bits = int(value) & ((1 << width) - 1)  # two's complement: unsigned values above the signed range
            value = bits - (1 << width) if bits >> (width - 1) else bits
        scalar = ir.Constant(TYPES[kind], value)
        if not self.lanes:
            return scalar
        key = (kind, self.lanes, value.hex() if kind in FLOATS else value)  # hex: −0.0 is not 0.0
        if key not in self.splats:
            self.splats[key] = ir.Constant(self._type(kind), value)  # printed as LLVM's splat of one literal
        return self.splats[key]

    def _emit_Integer(self, e, kind):
        return self._constant(int(e), kind)

    _emit_One = _emit_Zero = _emit_NegativeOne = _emit_Integer

    def _emit_Float(self, e, kind):
        return self._constant(float(e), kind)

    _emit_Rational = _emit_Half = _emit_Pi = _emit_Exp1 = _emit_NaN = _emit_Infinity = _emit_NegativeInfinity \
        = _emit_EulerGamma = _emit_Float

    def _emit_ImaginaryUnit(self, e, kind):
        """What a real computation gives where SymPy's exact one leaves the reals (sqrt(−1), 1/0): NaN."""
        return self._constant(float("nan"), kind)

    _emit_ComplexInfinity = _emit_ImaginaryUnit

    def _emit_BooleanTrue(self, e, kind):
        return self._constant(1, kind)

    def _emit_BooleanFalse(self, e, kind):
        return self._constant(0, kind)

    def _emit_Symbol(self, e, kind):
        if e in self.locals:
            return self._convert(self.builder.load(self.locals[e], typ=self._type(self.kinds[e])), self.kinds[e], kind)
        if self.lanes:  # the vector loop's variable (anything else is ``_hoisted``): its lanes' indices
            value = self._splat(self.values[e])
            value = self.builder.add(value, ir.Constant(value.type, list(range(self.lanes))))
            return self._convert(value, "i64", kind)
        return self._convert(self.values[e], "i64", kind)

    _emit_Dummy = _emit_Symbol

    def _address(self, name, index):
        """The address of ``name[index]``; in a vector loop, of its first lane's element."""
        offset = lambda: self._emit(sympy.sympify(index), "i64")
        return self.builder.gep(self.ptrs[name], [self._scalar(offset) if self.lanes else offset()], inbounds=True,
                                source_etype=STORAGE[self.buffers[name].dtype])

    def _emit_Indexed(self, e, kind):
        dtype = self.buffers[e.base.name].dtype
        storage = ir.VectorType(STORAGE[dtype], self.lanes) if self.lanes else STORAGE[dtype]
        value = self.builder.load(self._address(e.base.name, e.indices[0]), typ=storage,
                                  align=ITEMSIZE[dtype] if self.lanes else None)
        if dtype == "bool":
            value = self.builder.trunc(value, self._type("i1"))
        return self._convert(value, KIND[dtype], kind)

    def _fold(self, e, kind, float_op, int_op):
        values = [self._emit(a, kind) for a in self.shapes.operands(e)]
        out = values[0]
        for v in values[1:]:
            out = float_op(out, v, flags=self.arithmetic) if kind in FLOATS else int_op(out, v)
        return out

    def _emit_Add(self, e, kind):
        if kind == "i1":  # NumPy's True + True is True
            return self._fold(e, kind, None, self.builder.or_)
        if kind not in FLOATS:
            return self._integer_sum(e, kind)
        return self._fold(e, kind, self.builder.fadd, self.builder.add)

    def _integer_sum(self, e, kind):
        """Terms with a negative coefficient subtracted: SymPy writes x − y as x + (−1)·y, and −1·y
        computed alone in y's type wraps there (int8 − uint8 is int16: 0 − 1 gave 255)."""
        added, subtracted = [], []
        for term in self.shapes.operands(e):
            negative = term.as_coeff_Mul()[0].is_negative
            (subtracted if negative else added).append(-term if negative else term)
        b = self.builder
        out = self._emit(added[0], kind) if added else self._constant(0, kind)
        for term in added[1:]:
            out = b.add(out, self._emit(term, kind))
        for term in subtracted:
            out = b.sub(out, self._emit(term, kind))
        return out

    def _emit_Mul(self, e, kind):
        if kind in FLOATS and e.args[0] == -1:
            return self.builder.fneg(self._emit(product(e.args[1:]), kind), flags=self.arithmetic)
        numerator, denominator = quotient(e)
        if kind in FLOATS and denominator != 1:  # a true division: x·(1/y) overflows for subnormal y
            return self.builder.fdiv(self._emit(numerator, kind), self._emit(denominator, kind), flags=self.arithmetic)
        return self._fold(e, kind, self.builder.fmul, self.builder.mul)

    def _float_class(self, e, test):
        """isnan/isinf/isfinite: constant for integers, an IEEE comparison for floats."""
        source = self.kind(e.args[0])
        source = {"weak_int": "i64", "weak_float": "f64", None: "f64"}.get(source, source)
        if source not in FLOATS:
            return self._constant(type(e).__name__ == "isfinite", "i1")
        x = self._emit(e.args[0], source)
        magnitude = self._intrinsic("llvm.fabs", source, [x])
        infinity = self._constant(float("inf"), source)
        if test == "nan":
            return self.builder.fcmp_unordered("uno", x, x)
        return self.builder.fcmp_ordered("==" if test == "inf" else "<", magnitude, infinity)

    def _emit_isnan(self, e, kind):
        return self._convert(self._float_class(e, "nan"), "i1", kind)

    def _emit_isinf(self, e, kind):
        return self._convert(self._float_class(e, "inf"), "i1", kind)

    def _emit_isfinite(self, e, kind):
        return self._convert(self._float_class(e, "finite"), "i1", kind)

    def _emit_cast(self, e, kind):
        """x converted to the dtype ``cast`` names (computed in its own kind first)."""
        source = self.kind(e.args[0])
        source = {"weak_int": "i64", "weak_float": "f64", None: "f64"}.get(source, source)
        return self._convert(self._emit(e.args[0], source), source, kind)

    def _emit_floor_divide(self, e, kind):
        return self._divmod(e, kind)[0]

    def _emit_remainder(self, e, kind):
        return self._divmod(e, kind)[1]

    def _emit_fmod(self, e, kind):
        """C's fmod (the dividend's sign): frem for floats; integers by zero (and MIN by −1) give 0."""
        b_ = self.builder
        a, b = (self._emit(x, kind) for x in e.args)
        if kind in FLOATS:
            return b_.frem(a, b)
        zero, one = self._constant(0, kind), self._constant(1, kind)
        by_zero = b_.icmp_signed("==", b, zero)
        if not is_signed(kind):
            return b_.select(by_zero, zero, b_.urem(a, b_.select(by_zero, one, b)))
        undefined = b_.or_(by_zero, b_.icmp_signed("==", b, self._constant(-1, kind)))
        return b_.select(undefined, zero, b_.srem(a, b_.select(undefined, one, b)))

    def _emit_gcd(self, e, kind):
        return self._integer_call("codegen_gcd", e, kind)

    def _emit_lcm(self, e, kind):
        return self._integer_call("codegen_lcm", e, kind)

    def _integer_call(self, name, e, kind):
        """The runtime's ``name`` (``codegen.runtime.special``) of integers: signed ones as int64,
        unsigned ones as uint64, the result cut back to ``kind``."""
        wide = "i64" if is_signed(kind) else "u64"
        fn = self._declare(f"{name}_{wide[0]}", I64, [I64] * len(e.args))
        return self._convert(self.builder.call(fn, [self._emit(a, wide) for a in e.args]), wide, kind)

    def _emit_bitwise_and(self, e, kind):
        return self.builder.and_(*(self._emit(x, kind) for x in e.args))

    def _emit_bitwise_or(self, e, kind):
        return self.builder.or_(*(self._emit(x, kind) for x in e.args))

    def _emit_bitwise_xor(self, e, kind):
        return self.builder.xor(*(self._emit(x, kind) for x in e.args))

    def _emit_invert(self, e, kind):
        return self.builder.not_(self._emit(e.args[0], kind))

    def _emit_left_shift(self, e, kind):
        return self._shift(e, kind, "left")

    def _emit_right_shift(self, e, kind):
        return self._shift(e, kind, "right")

    def _shift(self, e, kind, direction):
        """NumPy's shifts (``npy_lshift``/``npy_rshift``): a count past the width, or negative, gives 0,
        or −1 for a negative number shifted right, where LLVM's shift would be poison."""
        b_ = self.builder
        a, n = (self._emit(x, kind) for x in e.args)
        width, zero = TYPES[kind].width, self._constant(0, kind)
        inside = b_.icmp_unsigned("<", n, self._constant(width, kind))
        n = b_.select(inside, n, zero)
        if direction == "left":
            return b_.select(inside, b_.shl(a, n), zero)
        if not is_signed(kind):
            return b_.select(inside, b_.lshr(a, n), zero)
        return b_.select(inside, b_.ashr(a, n), b_.ashr(a, self._constant(width - 1, kind)))  # −1 or 0

    def _divmod(self, e, kind):
        """(a // b, a % b) as NumPy computes them (``npy_divmod``): the floor of the quotient and a
        remainder with the divisor's sign; integers divided by zero give 0, MIN // −1 wraps."""
        b_ = self.builder
        a, b = (self._emit(x, kind) for x in e.args)
        zero, one = self._constant(0, kind), self._constant(1, kind)
        if kind not in FLOATS:
            by_zero = b_.icmp_signed("==", b, zero)
            if not is_signed(kind):
                safe = b_.select(by_zero, one, b)
                return (b_.select(by_zero, zero, b_.udiv(a, safe)), b_.select(by_zero, zero, b_.urem(a, safe)))
            minimum = self._constant(-(1 << (TYPES[kind].width - 1)), kind)
            wraps = b_.and_(b_.icmp_signed("==", a, minimum), b_.icmp_signed("==", b, self._constant(-1, kind)))
            safe = b_.select(b_.or_(by_zero, wraps), one, b)
            q, r = b_.sdiv(a, safe), b_.srem(a, safe)
            adjust = b_.and_(b_.icmp_signed("!=", r, zero),
                             b_.icmp_signed("!=", b_.icmp_signed("<", r, zero), b_.icmp_signed("<", b, zero)))
            q = b_.select(adjust, b_.sub(q, one), q)
            r = b_.select(adjust, b_.add(r, b), r)
            return b_.select(by_zero, zero, q), b_.select(b_.or_(by_zero, wraps), zero, r)
        mod = b_.frem(a, b)
        div = b_.fdiv(b_.fsub(a, mod), b)
        fix = b_.and_(b_.fcmp_unordered("!=", mod, zero),
                      b_.icmp_signed("!=", b_.fcmp_ordered("<", b, zero), b_.fcmp_ordered("<", mod, zero)))
        mod = b_.select(fix, b_.fadd(mod, b), mod)
        div = b_.select(fix, b_.fsub(div, one), div)
        mod = b_.select(b_.fcmp_ordered("==", mod, zero), self._intrinsic("llvm.copysign", kind, [zero, b]), mod)
        floored = self._intrinsic("llvm.floor", kind, [div])
        floored = b_.select(b_.fcmp_ordered(">", b_.fsub(div, floored), self._constant(0.5, kind)),
                            b_.fadd(floored, one), floored)
        quotient = b_.fdiv(a, b)
        floored = b_.select(b_.fcmp_ordered("==", div, zero), self._intrinsic("llvm.copysign", kind, [zero, quotient]),
                            floored)
        by_zero = b_.fcmp_ordered("==", b, zero)
        return b_.select(by_zero, quotient, floored), b_.select(by_zero, b_.frem(a, b), mod)

    def _emit_Pow(self, e, kind):
        base, exp = e.args
        b = self.builder
        if exp.is_Integer and kind not in FLOATS:
            out = self._constant(1, kind)
            for _ in range(int(exp)):
                out = b.mul(out, self._emit(base, kind))
            return out
        if kind not in FLOATS:
            return self._integer_power(base, exp, kind)
        x = self._emit(base, kind)
        if exp.is_Integer and abs(int(exp)) <= 8:
            out = self._power(x, abs(int(exp)), kind)
            return b.fdiv(self._constant(1, kind), out, flags=self.arithmetic) if exp < 0 else out
        if exp == sympy.Rational(1, 2) or exp == sympy.Rational(-1, 2) or exp.is_Float and exp == 0.5:
            # NumPy's x ** 0.5 is its square root (−0 at −0, NaN at −∞); x ** −0.5 stays pow's
            root = self._intrinsic("llvm.sqrt", kind, [x])
            return root if exp > 0 else b.fdiv(self._constant(1, kind), root, flags=self.arithmetic)
        return self._intrinsic("llvm.pow", kind, [x, self._emit(exp, kind)])

    def _integer_power(self, base, exponent, kind):
        """Integers to an integer array's powers (NumPy's integer power), by squaring in a loop over
        the exponent's bits, wrapping as NumPy's. A negative power is 1/xⁿ truncated, ±1 or 0
        (NumPy raises)."""
        b, t = self.builder, TYPES[kind]
        x, n = self._emit(base, kind), self._emit(exponent, kind)
        one, zero = ir.Constant(t, 1), ir.Constant(t, 0)
        entry = b.block
        head, step, done = (b.append_basic_block(f"power.{part}") for part in ("head", "step", "done"))
        b.branch(head)
        b.position_at_end(head)
        result, square, bits = b.phi(t), b.phi(t), b.phi(t)
        more = b.icmp_signed(">", bits, zero) if is_signed(kind) else b.icmp_unsigned("!=", bits, zero)
        b.cbranch(more, step, done)
        b.position_at_end(step)
        for phi, start, following in ((result, one, b.select(b.trunc(bits, I1), b.mul(result, square), result)),
                                      (square, x, b.mul(square, square)), (bits, n, b.lshr(bits, one))):
            phi.add_incoming(start, entry)
            phi.add_incoming(following, step)
        b.branch(head)
        b.position_at_end(done)
        self._rejoin(entry)
        if not is_signed(kind):
            return result
        minus_one = ir.Constant(t, -1)
        inverse = b.select(b.icmp_signed("==", x, one), one, b.select(
            b.icmp_signed("==", x, minus_one), b.select(b.trunc(n, I1), minus_one, one), zero))
        return b.select(b.icmp_signed("<", n, zero), inverse, result)

    def _power(self, x, n, kind):
        """x**n by repeated squaring."""
        result, square = None, x
        while n:
            if n & 1:
                result = square if result is None else self.builder.fmul(result, square, flags=self.arithmetic)
            n >>= 1
            if n:
                square = self.builder.fmul(square, square, flags=self.arithmetic)
        return result if result is not None else self._constant(1, kind)

    def _select_chain(self, pairs, default, kind):
        out = default
        for value, cond in reversed(pairs):
            out = self.builder.select(self._emit(cond, "i1"), self._emit(value, kind), out)
        return out

    def _emit_Piecewise(self, e, kind):
        pairs = list(e.args)
        if pairs[-1][1] == sympy.true:
            default = self._emit(pairs.pop()[0], kind)
        else:
            default = self._constant(float("nan") if kind in FLOATS else 0, kind)
        return self._select_chain(pairs, default, kind)

    def _emit_Max(self, e, kind):
        return self._minmax(e, kind, ">")

    def _emit_Min(self, e, kind):
        return self._minmax(e, kind, "<")

    def _minmax(self, e, kind, op):
        values = [self._emit(a, kind) for a in e.args]
        out = values[0]
        for v in values[1:]:
            out = self._extremum("max" if op == ">" else "min", kind, out, v)
        return out

    def _extremum(self, op, kind, a, b):
        """max/min of two values: NaN if either is NaN (NumPy's ``maximum``), unsigned where ``kind`` is."""
        if kind in FLOATS:
            return self._intrinsic("llvm.maximum" if op == "max" else "llvm.minimum", kind, [a, b])
        compare = self.builder.icmp_signed if is_signed(kind) else self.builder.icmp_unsigned
        return self.builder.select(compare(">" if op == "max" else "<", b, a), b, a)

    def _emit_Abs(self, e, kind):
        x = self._emit(e.args[0], kind)
        if kind in FLOATS:
            return self._intrinsic("llvm.fabs", kind, [x])
        if not is_signed(kind):
            return x
        return self.builder.select(self.builder.icmp_signed("<", x, self._constant(0, kind)), self.builder.neg(x), x)

    def _emit_sign(self, e, kind):
        """−1, 0 or 1; −0.0 gives +0.0 and NaN stays NaN (NumPy's ``sign``)."""
        b = self.builder
        x = self._emit(e.args[0], kind)
        zero, one = self._constant(0, kind), self._constant(1, kind)
        if kind in FLOATS:
            nonzero = b.select(b.fcmp_ordered("==", x, zero), zero, x)
            inner = b.select(b.fcmp_ordered("<", x, zero), self._constant(-1, kind), nonzero)
            return b.select(b.fcmp_ordered(">", x, zero), one, inner)
        if not is_signed(kind):
            return b.select(b.icmp_unsigned(">", x, zero), one, zero)
        inner = b.select(b.icmp_signed("<", x, zero), self._constant(-1, kind), zero)
        return b.select(b.icmp_signed(">", x, zero), one, inner)

    def _compare(self, e, op):
        kind = _join([self.kind(a) for a in e.args])
        kind = {"weak_int": "i64", "weak_float": "f64", None: "i64", "i1": "i64"}.get(kind, kind)
        settled = None if kind in FLOATS else literal_comparison(e, DTYPE_OF_KIND[kind])
        if settled is not None:
            return self._constant(settled, "i1")
        lhs, rhs = self._emit(e.lhs, kind), self._emit(e.rhs, kind)
        if kind in FLOATS:
            return self.builder.fcmp_unordered(op, lhs, rhs) if op == "!=" else self.builder.fcmp_ordered(op, lhs, rhs)
        return (self.builder.icmp_signed if is_signed(kind) else self.builder.icmp_unsigned)(op, lhs, rhs)

    def _emit_StrictGreaterThan(self, e, kind):
        return self._compare(e, ">")

    def _emit_GreaterThan(self, e, kind):
        return self._compare(e, ">=")

    def _emit_StrictLessThan(self, e, kind):
        return self._compare(e, "<")

    def _emit_LessThan(self, e, kind):
        return self._compare(e, "<=")

    def _emit_Equality(self, e, kind):
        return self._compare(e, "==")

    def _emit_Unequality(self, e, kind):
        return self._compare(e, "!=")

    def _emit_And(self, e, kind):
        return self._fold(e, "i1", None, self.builder.and_)

    def _emit_Or(self, e, kind):
        return self._fold(e, "i1", None, self.builder.or_)

    def _emit_Not(self, e, kind):
        return self.builder.not_(self._emit(e.args[0], "i1"))

    _emit_logical_not = _emit_Not  # a Not that SymPy does not rewrite (¬(x > 0) is not x ≤ 0 for NaN)

    def _emit_ITE(self, e, kind):
        cond, then, otherwise = (self._emit(a, "i1") for a in e.args)
        return self.builder.select(cond, then, otherwise)

    def _emit_idiv(self, e, kind):
        return self.builder.sdiv(self._emit(e.args[0], "i64"), self._emit(e.args[1], "i64"))

    def _emit_imod(self, e, kind):
        return self.builder.srem(self._emit(e.args[0], "i64"), self._emit(e.args[1], "i64"))

    def _emit_uniform(self, e, kind):
        """splitmix64(seed + counter·golden) → the top 53 bits as a double in [0, 1)."""
        b = self.builder
        golden = ir.Constant(I64, 0x9E3779B97F4A7C15)
        z = b.add(self._emit(e.args[0], "i64"), b.mul(self._emit(e.args[1], "i64"), golden))
        for shift, mult in ((30, 0xBF58476D1CE4E5B9), (27, 0x94D049BB133111EB)):
            z = b.mul(b.xor(z, b.lshr(z, ir.Constant(I64, shift))), ir.Constant(I64, mult))
        z = b.xor(z, b.lshr(z, ir.Constant(I64, 31)))
        return b.fmul(b.uitofp(b.lshr(z, ir.Constant(I64, 11)), F64), ir.Constant(F64, 2.0**-53))

    def _emit_function(self, e, kind):
        name = type(e).__name__
        if name in special.FUNCTIONS:  # the runtime's, in double (as SciPy's float32 loops compute too)
            fn = self._declare(special.FUNCTIONS[name], F64, [F64] * len(e.args))
            return self._convert(self.builder.call(fn, [self._emit(a, "f64") for a in e.args]), "f64", kind)
        args = [self._emit(a, kind) for a in e.args]
        if name in INTRINSICS:
            return self._intrinsic(INTRINSICS[name], kind, args)
        if name in LIBM:
            return self._libm(LIBM[name], kind, args)
        raise UnsupportedExpression(f"the LLVM renderer has no rule for {name} (in {e})")

    def _intrinsic(self, name, kind, args):
        ty, scalar = self._type(kind), "f32" if TYPES[kind] is F32 else "f64"
        fn = self._declare(f"{name}.{f'v{self.lanes}{scalar}' if self.lanes else scalar}", ty, [ty] * len(args))
        return self.builder.call(fn, args)

    def _libm(self, name, kind, args):
        ty = TYPES[kind]
        fn = self._declare(name + ("f" if ty is F32 else ""), ty, [ty] * len(args))
        return self.builder.call(fn, args)

    def _declare(self, name, ret, params):
        fn = self.module.globals.get(name)
        if fn is None:
            fn = ir.Function(self.module, ir.FunctionType(ret, params), name=name)
        return fn


def _scalar_only(e) -> bool:
    """Whether ``e`` is rendered in scalars only: a call without a vector form, or an integer power
    of an array (a loop over the exponent's bits)."""
    return type(e).__name__ in _SCALAR_FUNCTIONS or isinstance(e, sympy.Pow) and not e.exp.is_Number


def _plain_index(index, locals_) -> bool:
    """Whether a flat ``index`` reads no local variable (a vector loop computes addresses in scalars)."""
    return not any(symbol in locals_ for symbol in index.free_symbols)


def _product_of_loads(e) -> bool:
    """A product of buffer loads and numbers (the term of a contraction)."""
    return isinstance(e, sympy.Mul) and all(isinstance(f, sympy.Indexed) or f.is_Number for f in e.args)


def _register_heavy(stmt) -> bool:
    """Whether ``stmt`` keeps values in registers across iterations — a reduction, a register
    tile, rows accumulated over a summed loop, a library call's neighbours — where LLVM's fast
    register allocator spills (W3's step ran 2× slower): its module is compiled with the full code
    generator, the rest with the fast one (``llvm_worker.FAST_INSTRUCTIONS``)."""
    if isinstance(stmt, (Update, Call)):
        return True
    if isinstance(stmt, Loop) and (stmt.jam > 1 or stmt.role == "reduce" or not stmt.independent):
        return True
    return any(_register_heavy(s) for s in getattr(stmt, "body", ()))


def _widenable(blocks) -> bool:
    """Whether LLVM's vectoriser can widen every call in ``blocks`` (intrinsics, functions that name
    vector variants): told a width for a loop it cannot vectorise (a libm call), LLVM prints a
    warning on the user's terminal."""
    return all(callee.name.startswith("llvm.") or any("vector-function-abi-variant" in a for a in callee.attributes)
               for block in blocks for callee in block.callees)

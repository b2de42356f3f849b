"""Parallel loops for the LLVM renderer: a top-level loop is outlined into
``name.parallelN(ctx, start, end)`` and its iterations run in chunks, on the runtime's persistent
thread pool (``codegen_parallel_for``) or, without it, on POSIX threads started per loop."""

from __future__ import annotations

import sympy

from .. import llvm_ir as ir
from .llvm_types import I32, I64, PTR


class ParallelLoops:
    """Mixin of ``LLVMRenderer``: outlining and threading of loops marked ``parallel``."""

    # -- parallel loops -------------------------------------------------------------------------------
    def _parallel_loop(self, loop):
        """Outline ``loop`` as body(ctx, start, end); run chunk k > 0 on thread k, chunk 0 here. A
        constant extent was judged worth the threads by whoever marked the loop parallel; an extent
        known only at run time (size parameters) must reach ``min_parallel``."""
        extent = self._emit(sympy.sympify(loop.extent), "i64")
        if sympy.sympify(loop.extent).is_Integer:
            self._threaded_loop(loop, extent)
            return
        big = self.builder.icmp_signed(">=", extent, ir.Constant(I64, self.min_parallel))
        with self.builder.if_else(big) as (threaded, serial):
            with threaded:
                self._threaded_loop(loop, extent)
            with serial:
                self._serial_loop(loop, ir.Constant(I64, 0), extent)

    def _threaded_loop(self, loop, extent):
        names = list(self.ptrs)
        body_fn = self._outline(loop, names)
        b = self.builder
        words = [b.ptrtoint(self.ptrs[n], I64) for n in names] + [self.values[s] for s in self.sizes]
        ctx = self._words("ctx", words)
        if self.pooled:  # the runtime's persistent workers (codegen/runtime/pool.c)
            run = self._declare("codegen_parallel_for", ir.VoidType(), [PTR, PTR, I64, I64])
            b.call(run, [body_fn, ctx, extent, ir.Constant(I64, self.threads)])
            return
        thread_fn = self._thread_entry(body_fn)
        chunk = b.sdiv(b.add(extent, ir.Constant(I64, self.threads - 1)), ir.Constant(I64, self.threads))
        create = self._declare("pthread_create", I32, [PTR, PTR, PTR, PTR])
        join = self._declare("pthread_join", I32, [I64, PTR])
        handles = []
        for k in range(1, self.threads):
            start = b.mul(chunk, ir.Constant(I64, k))
            start = b.select(b.icmp_signed("<", start, extent), start, extent)
            end = b.add(start, chunk)
            end = b.select(b.icmp_signed("<", end, extent), end, extent)
            job = self._words(f"job{k}", [b.ptrtoint(ctx, I64), start, end])
            handle = self.alloca_builder.alloca(I64, name=f"thread{k}")
            b.call(create, [handle, ir.Constant(PTR, None), thread_fn, job])
            handles.append(handle)
        first_end = b.select(b.icmp_signed("<", chunk, extent), chunk, extent)
        b.call(body_fn, [ctx, ir.Constant(I64, 0), first_end])
        for handle in handles:
            b.call(join, [b.load(handle, typ=I64), ir.Constant(PTR, None)])

    def _words(self, name, words):
        """A stack array of i64 words holding ``words``."""
        array = self.alloca_builder.alloca(I64, size=len(words), name=name)
        for k, word in enumerate(words):
            self.builder.store(word, self.builder.gep(array, [ir.Constant(I64, k)], source_etype=I64))
        return array

    def _word(self, builder, array, k):
        return builder.load(builder.gep(array, [ir.Constant(I64, k)], source_etype=I64), typ=I64)

    def _outline(self, loop, names):
        saved = (self.fn, self.alloca_builder, self.builder, self.ptrs, self.values, self.locals, self.kinds)
        self.n_parallel += 1
        fn = ir.Function(self.module, ir.FunctionType(ir.VoidType(), [PTR, I64, I64]),
                         name=f"{self.program.name}.parallel{self.n_parallel}")
        fn.linkage = "internal"
        self.fn = fn
        self.alloca_builder = ir.IRBuilder(fn.append_basic_block("entry"))
        start = fn.append_basic_block("start")
        self.builder = ir.IRBuilder(start)
        ctx, first, end = fn.args
        word = lambda k: self._word(self.builder, ctx, k)
        self.ptrs = {n: self.builder.inttoptr(word(k), PTR) for k, n in enumerate(names)}
        self.values = {s: word(len(names) + k) for k, s in enumerate(self.sizes)}
        self.locals, self.kinds = {}, {}
        self._serial_loop(loop, first, end)
        self.builder.ret_void()
        self.alloca_builder.branch(start)
        (self.fn, self.alloca_builder, self.builder, self.ptrs, self.values, self.locals, self.kinds) = saved
        return fn

    def _thread_entry(self, body_fn):
        fn = ir.Function(self.module, ir.FunctionType(PTR, [PTR]), name=body_fn.name + ".thread")
        fn.linkage = "internal"
        b = ir.IRBuilder(fn.append_basic_block())
        ctx, start, end = (self._word(b, fn.args[0], k) for k in range(3))
        b.call(body_fn, [b.inttoptr(ctx, PTR), start, end])
        b.ret(ir.Constant(PTR, None))
        return fn

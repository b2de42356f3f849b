"""Lowering a (fused) graph to one codegen ``Program``: the schedule.

Every graph node has a value at each multi-index (``Lowering.value``). Movement ops are index
arithmetic and never touch memory. Elementwise maps are inlined into their consumers: a map feeding
a reduction becomes its prologue, a map consuming a contraction its epilogue, and elementwise
outputs of one shape share one loop (horizontal fusion with a joint CSE). A node gets a buffer
only when it is an output, a reduction or contraction, elementwise work a contraction would
otherwise recompute in its inner loop, or the end of a chain of maps that would inline more than
``MAX_INLINED_OPS`` operations (so compile time stays linear in the chain's length); temporaries
with disjoint lifetimes share memory.
Contractions are emitted in one canonical form — loops over the output around a sum over the
contracted axes (``role="reduce"``) — and reductions accumulate floats in float64 on a CPU, in their
own precision on a GPU (``target="gpu"``: a tree of partial sums). Loops are marked
``independent=False`` where iterations may write the same element. GEMM calls, the contractions'
loop order and packing, register tiles, threads, row fusion, buffer reuse and GPU kernel shapes are
the optimiser's (``codegen.opt``).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import sympy

from codegen import Buffer, Call, If, Let, Loop, Program, Store, Update, flat_index, loop_var, loops
from codegen.kernel import dag_size, dtype_name, idiv, imod, loads, uniform
from codegen.opt import optimise
from codegen.runtime import linalg
from codegen.target import CUDA, cpu

from .contract import parse_spec
from .functions import cast, evaluated, is_boolean, substitute, typed_literal
from .ir import ARG, OBJECT, Node, toposort
from .ops import type_matters

MOVEMENT = {"reshape", "permute", "expand", "slice", "unslice", "concat", "take", "detach", "unfold"}
KERNELS = {"sum", "max", "min", "einsum", "fold", "scatter_add", "linalg"}
INNER_LOOP_CONSUMERS = {"einsum", "fold", "scatter_add"}
CHEAP_SHARED_OPS = 4
MAX_INLINED_OPS = 64  # a chain of maps inlined past this gets a buffer: SymPy's rebuilding of ever
# larger bodies would make compile time quadratic in the chain's length (Newton's x = (x + a/x)/2)


class LoweringError(TypeError):
    """The graph uses something the compiled backends cannot run (e.g. exact SymPy values)."""


class Lowered:
    """A graph lowered to a Program: which arrays to pass, in which order, and what comes back."""

    def __init__(self, program, inputs, consts, outputs, seed):
        self.program, self.inputs, self.consts, self.outputs, self.seed = program, inputs, consts, outputs, seed


def _storage(node: Node) -> str:
    if node.dtype == OBJECT:
        raise LoweringError("compiled code needs numeric arrays; this graph holds exact SymPy values "
                            "(call it uncompiled, or pass floats)")
    return dtype_name(node.dtype)


class Lowering:
    def __init__(self, inputs, outputs, in_place=None, target=None):
        self.target = target or cpu()
        self.gpu = bool(self.target.warp)
        self.order = toposort(outputs)
        self.outputs = outputs
        consumers: dict[int, list] = {}
        for node in self.order:
            for a in node.args:
                consumers.setdefault(id(a), []).append(node)
        self.consumers = consumers
        self.buffers: dict[int, Buffer] = {}
        args, consts = [], []
        for i, node in enumerate(inputs):
            self.buffers[id(node)] = Buffer(f"in{i}", _storage(node), _size(node))
            args.append(self.buffers[id(node)])
        for node in self.order:
            if node.op == "const" and id(node) not in self.buffers:
                self.buffers[id(node)] = Buffer(f"c{len(consts)}", _storage(node), _size(node))
                consts.append(node)
                args.append(self.buffers[id(node)])
        self.has_random = any(n.op == "rand" for n in self.order)
        self.seed = Buffer("seed", "uint64", 1)
        if self.has_random:
            args.append(self.seed)
        out_buffers = [Buffer(f"out{k}", _storage(o), _size(o)) for k, o in enumerate(outputs)]
        self.program = Program("graph", args + out_buffers)
        self.consts = consts
        self.counter = 0
        self.inlined: dict[int, int] = {}
        hot = self._feeds_inner_loops()
        self.compared = self._compared()
        first_output = {}
        for node, buf in zip(outputs, out_buffers):
            first_output.setdefault(id(node), buf)
        in_place = dict(in_place or {})
        deferred = {id(outputs[k]) for k in in_place}  # written over an input: after every other read
        aliased = {self.buffers[id(inputs[j])].name: k for k, j in in_place.items()}
        self.program.aliased = set(aliased) | {out_buffers[k].name for k in in_place}
        self.temps, fused_outputs = [], self._horizontal_group(outputs, first_output, deferred)
        self.epilogue_of = self._epilogues(hot, first_output, fused_outputs, deferred)
        fused_einsum = {id(m): e for e, m in self.epilogue_of.values()}
        for node in self.order:  # kernels in dependency order, outputs written in place
            if id(node) in self.buffers:
                continue
            if id(node) in fused_outputs:
                self.buffers[id(node)] = first_output[id(node)]
                continue
            if id(node) in deferred:  # its output buffer is an input's memory: never read it early
                if self.consumers.get(id(node)) and self._materialise(node, hot):
                    self.buffers[id(node)] = self._temp(_storage(node), _size(node))
                    self._kernel(node, self.buffers[id(node)])
                continue
            if id(node) in self.epilogue_of:  # computed by its consumer's kernel
                continue
            if id(node) in first_output:
                self.buffers[id(node)] = first_output[id(node)]
            elif self._materialise(node, hot):
                self.buffers[id(node)] = self._temp(_storage(node), _size(node))
            else:
                continue
            if id(node) in fused_einsum:  # a contraction with this map as its epilogue
                self._kernel_einsum(fused_einsum[id(node)], self.buffers[id(node)], epilogue=node)
            else:
                self._kernel(node, self.buffers[id(node)])
        self.program.temps = self.temps
        for group in _by_shape([n for n in self.order if id(n) in fused_outputs]):
            self._fused_elementwise(group, [first_output[id(n)] for n in group])
        # Outputs that read overwritten memory elsewhere are computed aside first, while every input
        # still holds its old value; then the ones that read it only at their own index are written
        # straight over it; then the aside ones are copied over.
        staged, direct = [], []
        for k, j in in_place.items():
            node, buf = outputs[k], first_output[id(outputs[k])]
            own = self.buffers[id(inputs[j])].name
            einsum = fused_einsum.get(id(node))
            if einsum is not None and id(einsum) not in self.buffers:  # an update of a contraction (SGD's W − η·∇W)
                if self._contraction_fits_over(einsum, node, aliased, own):
                    direct.append((node, buf))
                    continue
                self.buffers[id(einsum)] = self._temp(_storage(einsum), _size(einsum))
                self._kernel_einsum(einsum, self.buffers[id(einsum)])
            if id(node) in self.buffers:  # computed earlier for its consumers
                staged.append((node, self.buffers[id(node)], buf))
            elif self._safe_in_place(node, buf, aliased, own):
                direct.append((node, buf))
            else:
                temp = self._temp(buf.dtype, buf.size)
                self._kernel(node, temp)
                staged.append((node, temp, buf))
        for node, buf in direct:
            einsum = fused_einsum.get(id(node))
            if einsum is not None and id(einsum) not in self.buffers:
                self._kernel_einsum(einsum, buf, epilogue=node)
            else:
                self._kernel(node, buf)
        for node, temp, buf in staged:
            v = self._vars(node.ndim, "c")
            at = flat_index(v, node.shape)
            self._emit(loops(v, node.shape, [Store(buf, at, temp[at])]))
        for k, (node, buf) in enumerate(zip(outputs, out_buffers)):  # repeated outputs, inputs returned
            if k not in in_place and self.buffers[id(node)] is not buf:
                v = self._vars(node.ndim)
                self._emit(loops(v, node.shape, [Store(buf, flat_index(v, node.shape), self.value(node, v))]))

    # -- scheduling ----------------------------------------------------------------------------------
    def _feeds_inner_loops(self) -> set:
        """Nodes whose values a contraction reads inside its inner loops (directly or via movement)."""
        hot = set()
        for node in reversed(self.order):
            for consumer in self.consumers.get(id(node), []):
                moves = consumer.op in MOVEMENT or _gathers(consumer)
                if consumer.op in INNER_LOOP_CONSUMERS and not moves or moves and id(consumer) in hot:
                    hot.add(id(node))
        return hot

    def _compared(self) -> set:
        """The maps whose values (moved or not) comparisons read through ``ops.compared``: stored
        once, so that every comparison and the reductions beside them read the same bits."""
        stored = set()
        for node in self.order:
            if node.op == "detach" and node.attrs == ("compared",):
                x = node.args[0]
                while x.op in MOVEMENT and len(x.args) == 1:
                    x = x.args[0]
                stored.add(id(x))
        return stored

    def _materialise(self, node, hot) -> bool:
        if node.op in KERNELS and not _gathers(node):
            return True
        if node.op != "map" or not node.args:
            return False
        if id(node) in hot or self._inlined_ops(node) > MAX_INLINED_OPS:
            return True
        if id(node) in self.compared:
            return True
        shared = len(self.consumers.get(id(node), [])) > 1
        return shared and dag_size(evaluated(node.body), CHEAP_SHARED_OPS) > CHEAP_SHARED_OPS

    def _inlined_ops(self, node) -> int:
        """About how many operations ``node``'s value has once the maps it reads without a buffer are
        inlined (each counted once: SymPy shares repeated subexpressions)."""
        if id(node) in self.buffers or not node.args:
            return 1
        known = self.inlined.get(id(node))
        if known is None:
            own = dag_size(evaluated(node.body), MAX_INLINED_OPS) if node.op == "map" else 1
            known = own + sum(self._inlined_ops(a) for a in {id(a): a for a in node.args}.values())
            self.inlined[id(node)] = known
        return known

    def _temp(self, dtype, size) -> Buffer:
        """A new temporary buffer of the program."""
        buf = Buffer(f"t{len(self.temps)}", dtype, size)
        self.temps.append(buf)
        return buf

    def _vars(self, n, prefix="i"):
        self.counter += 1
        return [loop_var(f"{prefix}{self.counter}_{k}") for k in range(n)]

    def _epilogues(self, hot, first_output, fused_outputs, deferred) -> dict:
        """{id(einsum): (einsum, map)} for contractions whose only consumer is an elementwise map of
        the same shape and dtype that gets a buffer anyway: the contraction's kernel computes the
        map (bias, activation) as it stores, and the contraction itself is never materialised."""
        pairs, taken = {}, set()
        for node in self.order:
            users = self.consumers.get(id(node), [])
            if node.op != "einsum" or id(node) in first_output or len(users) != 1:
                continue
            m = users[0]
            if (m.op == "map" and m.shape == node.shape and m.dtype == node.dtype
                    and id(m) not in fused_outputs and id(m) not in taken
                    and (id(m) not in deferred or not self.consumers.get(id(m)))
                    and (id(m) in first_output or self._materialise(m, hot))):
                pairs[id(node)] = (node, m)
                taken.add(id(m))  # a map is the epilogue of one contraction; others feed it as buffers
        return pairs

    def _epilogue(self, einsum, m, acc, idx):
        """The value of map ``m`` at ``idx`` with the contraction's result there being ``acc``."""
        body = evaluated(m.body)
        subs = {ARG[i]: acc if a is einsum else self.value(a, _broadcast(idx, m.shape, a.shape))
                for i, a in enumerate(m.args)}
        return substitute(body, subs, evaluate=False)

    def _safe_in_place(self, node, buf, aliased, own) -> bool:
        """Whether ``node`` can be written straight over input ``own``: it reads aliased (overwritten)
        memory only as ``own`` at the very index it writes."""
        v = self._vars(node.ndim, "a")
        at = flat_index(v, node.shape)
        value = self.compute(node, v) if node.op not in KERNELS or _gathers(node) else None
        if value is None:
            return False
        return _reads_only_own(value, aliased, own, at)

    def _contraction_fits_over(self, einsum, m, aliased, own) -> bool:
        """Whether ``einsum`` with its epilogue ``m`` can be written straight over input ``own``: the
        operands read no overwritten memory, and ``m`` reads it only as ``own`` where it writes."""
        operands = [self.value(a, self._vars(a.ndim, "a")) for a in einsum.args]
        if any(e.base.name in aliased for value in operands for e in loads(value)):
            return False
        v = self._vars(m.ndim, "a")
        at = flat_index(v, m.shape)
        return _reads_only_own(self._epilogue(einsum, m, sympy.Symbol("acc"), v), aliased, own, at)

    def _horizontal_group(self, outputs, first_output, deferred) -> set:
        """Elementwise outputs that nothing else reads: computed together at the end, in one loop
        per shape, sharing common subexpressions (the 5 derivatives of W1 in one pass). Outputs
        written over inputs are scheduled separately."""
        candidates = [o for o in self.order if id(o) in first_output and o.op == "map" and o.args
                      and not self.consumers.get(id(o)) and id(o) not in deferred]
        groups = [g for g in _by_shape(candidates) if len(g) > 1]
        return {id(n) for g in groups for n in g}

    def _fused_elementwise(self, nodes, bufs):
        v = self._vars(nodes[0].ndim)
        values = [self.compute(n, v) for n in nodes]
        # every value is computed before any store (an output may be written over an input); the
        # renderers compute subexpressions the outputs share once
        results = [sympy.Symbol(f"out{self.counter}_{k}") for k in range(len(nodes))]
        body = [Let(r, b.dtype, value) for r, b, value in zip(results, bufs, values)]
        body += [Store(b, flat_index(v, n.shape), r) for n, b, r in zip(nodes, bufs, results)]
        self._emit(loops(v, nodes[0].shape, body))

    # -- values ----------------------------------------------------------------------------------------
    def value(self, node: Node, idx):
        """The value of ``node`` at multi-index ``idx`` (a SymPy expression)."""
        buf = self.buffers.get(id(node))
        if buf is not None:
            return buf[flat_index(idx, node.shape)]
        return self.compute(node, idx)

    def compute(self, node: Node, idx):
        return getattr(self, "_value_" + node.op)(node, list(idx))

    def _value_map(self, node, idx):
        body = evaluated(node.body)
        subs = {ARG[i]: self._typed(node, i, self.value(a, _broadcast(idx, node.shape, a.shape)))
                for i, a in enumerate(node.args)}
        return substitute(body, subs, evaluate=False) if subs else body  # as the interpreter computes it

    @staticmethod
    def _typed(node, i, value):
        """An argument's value composed in its own type: a constant as a typed literal where a weak
        one could change the arithmetic (integers always: an int64 −3 times a uint8 is int64, a bare
        −3 took uint8; floats where the result's type differs), and a computed integer value in a
        conversion to its type, which the renderers compute it in (abs of int8 converted to uint8
        after, not before)."""
        dtype = node.args[i].dtype
        if value.is_Number:
            return typed_literal(value, dtype) if dtype.kind in "iu" or type_matters(node.body, node.args, i) \
                else value
        if dtype.kind in "biu" and not isinstance(value, (sympy.Indexed, cast)) and not is_boolean(value):
            return cast(value, sympy.Symbol(dtype.name), evaluate=False)
        return value

    def _value_input(self, node, idx):
        raise LoweringError("an input of the graph was not given as an argument")

    _value_const = _value_input

    def _value_rand(self, node, idx):
        return uniform(self.seed[0] + node.attrs[0], flat_index(idx, node.shape))

    def _value_detach(self, node, idx):
        return self.value(node.args[0], idx)

    def _value_reshape(self, node, idx):
        arg = node.args[0]
        flat = flat_index(idx, node.shape)
        if id(arg) in self.buffers:
            return self.buffers[id(arg)][flat]
        return self.value(arg, _unraveled(idx, node.shape, arg.shape))

    def _value_permute(self, node, idx):
        perm = node.attrs[0]
        src = [None] * len(perm)
        for out_axis, in_axis in enumerate(perm):
            src[in_axis] = idx[out_axis]
        return self.value(node.args[0], src)

    def _value_expand(self, node, idx):
        return self.value(node.args[0], _broadcast(idx, node.shape, node.args[0].shape))

    def _value_slice(self, node, idx):
        return self.value(node.args[0], [start + step * i for i, (start, _, step) in zip(idx, node.attrs[0])])

    def _value_unslice(self, node, idx):
        """The slice's value where it landed, else 0. Each position ``idx[k]`` lies in
        ``[0, node.shape[k])``, so a bound that holds over that whole range is left out, and a source
        index that cannot leave its axis is not clamped: SymPy's assumptions would decide the same,
        at a millisecond per condition (most of a convolution gradient's lowering)."""
        src, conds = [], []
        for i, (start, _, step), n, extent in zip(idx, node.attrs[0], node.args[0].shape, node.shape):
            distance, lowest, highest = (i - start, -start, extent - 1 - start) if step > 0 else \
                (start - i, start - extent + 1, start)
            span = abs(step) * n  # the distances the slice covers: [0, span)
            bounds = ([distance >= 0] if lowest < 0 else []) + ([distance < span] if highest >= span else [])
            position = idiv(distance, abs(step)) if abs(step) != 1 else distance
            src.append(_clamped(position, n) if bounds else position)
            conds += bounds + ([sympy.Eq(imod(distance, abs(step)), 0)] if abs(step) != 1 else [])
        value = self.value(node.args[0], src)
        return sympy.Piecewise((value, sympy.And(*conds)), (0, True)) if conds else value

    def _value_concat(self, node, idx):
        axis = node.attrs[0]
        pieces, start = [], 0
        for arg in node.args:
            n = arg.shape[axis]
            local = list(idx)
            local[axis] = idx[axis] - start
            local[axis] = _clamped(local[axis], n)
            pieces.append((self.value(arg, local), idx[axis] < start + n))
            start += n
        pieces[-1] = (pieces[-1][0], True)
        return sympy.Piecewise(*pieces)

    def _value_take(self, node, idx):
        x, indices = node.args
        axis = node.attrs[0]
        k = indices.ndim
        position = self.value(indices, idx[axis:axis + k])
        return self.value(x, idx[:axis] + [position] + idx[axis + k:])

    def _value_unfold(self, node, idx):
        kernel, stride, dilation, pad, pad_value = node.attrs
        x = node.args[0]
        nd = len(kernel)
        positions = [idx[2 + d] * stride[d] + idx[2 + nd + d] * dilation[d] - pad[d][0] for d in range(nd)]
        if not any(lo or hi for lo, hi in pad):  # every window lies inside: no clamps, no conditions
            return self.value(x, idx[:2] + positions)
        conds = [c for pos, n in zip(positions, x.shape[2:]) for c in (pos >= 0, pos < n)]
        load = self.value(x, idx[:2] + [_clamped(pos, n) for pos, n in zip(positions, x.shape[2:])])
        return sympy.Piecewise((load, sympy.And(*conds)), (sympy.Float(pad_value), True))

    # -- kernels --------------------------------------------------------------------------------------------
    def _emit(self, statements):
        """Append a kernel. One that is not a sequence of loops (a reduction to a scalar: declare,
        loop, store) is wrapped in one single-iteration loop, so every top-level statement is
        self-contained."""
        statements = list(statements)
        if len(statements) > 1 and not all(isinstance(s, Loop) for s in statements):
            statements = [Loop(loop_var(f"once{self.counter}"), 1, tuple(statements))]
            self.counter += 1
        self.program.body += statements

    def _kernel(self, node, buf):
        rule = getattr(self, "_kernel_" + node.op, None)
        if rule is not None:
            rule(node, buf)
            return
        v = self._vars(node.ndim)
        self._emit(loops(v, node.shape, [Store(buf, flat_index(v, node.shape), self.compute(node, v))]))

    def _kernel_linalg(self, node, buf):
        """A call of the LAPACK-backed routine (``codegen.runtime.linalg``) on its arguments' buffers
        (copied into one first where an argument has none: a transpose, an elementwise map)."""
        name = node.attrs[0]
        args = []
        for a in node.args:
            if id(a) not in self.buffers:
                self.buffers[id(a)] = self._temp(_storage(a), _size(a))
                self._kernel(a, self.buffers[id(a)])
            args.append(self.buffers[id(a)])
        a = node.args[0]
        batch = int(np.prod(a.shape[:-2], dtype=np.int64))
        sizes = (batch, *a.shape[-2:]) if name.startswith(("svd", "qr")) else (batch, a.shape[-1])
        if name == "solve":
            sizes += (node.args[1].shape[-1],)
        self._emit([Call(linalg.symbol(name, buf.dtype), tuple(args), (buf,), sizes)])

    def _zero(self, node, buf):
        v = self._vars(node.ndim, "z")
        self._emit(loops(v, node.shape, [Store(buf, flat_index(v, node.shape), sympy.Integer(0))]))

    def _reduction(self, node, buf, op):
        x = node.args[0]
        axes = node.attrs[0]
        out_vars, red_vars = self._vars(node.ndim), self._vars(len(axes), "r")
        full, o, r = [], iter(out_vars), iter(red_vars)
        for axis in range(x.ndim):
            full.append(next(r) if axis in axes else next(o))
        acc = sympy.Symbol(f"acc{self.counter}")
        accumulate = "float64" if buf.dtype == "float32" and not self.gpu and op == "add" else buf.dtype
        init = sympy.Integer(0) if op == "add" else _identity(op, np.dtype(accumulate))
        inner = loops(red_vars, [x.shape[a] for a in axes], [Update(acc, op, self.value(x, full))])
        body = [Let(acc, accumulate, init), *inner, Store(buf, flat_index(out_vars, node.shape), acc)]
        self._emit(loops(out_vars, node.shape, body))

    def _kernel_sum(self, node, buf):
        self._reduction(node, buf, "add")

    def _kernel_max(self, node, buf):
        self._reduction(node, buf, "max")

    def _kernel_min(self, node, buf):
        self._reduction(node, buf, "min")

    def _kernel_einsum(self, node, buf, epilogue=None):
        """The canonical form (``codegen.opt.contraction``): loops over the output around a sum over
        the contracted axes (``role="reduce"``), stored through ``epilogue``; the optimiser picks
        the innermost loop, packs operands or calls GEMM."""
        sa, sb, so = parse_spec(node.attrs[0])
        a, b = node.args
        sizes = dict(zip(sa, a.shape)) | dict(zip(sb, b.shape))
        contracted = [c for c in dict.fromkeys(sa + sb) if c not in so]
        var = dict(zip(so + "".join(contracted), self._vars(len(so) + len(contracted))))
        product = self.value(a, [var[c] for c in sa]) * self.value(b, [var[c] for c in sb])
        out_vars = [var[c] for c in so]
        out_index = flat_index(out_vars, node.shape)
        finish = (lambda value: value) if epilogue is None else \
            (lambda value: self._epilogue(node, epilogue, value, out_vars))
        if not contracted:  # an outer product: plain elementwise loops
            self._emit(loops(out_vars, node.shape, [Store(buf, out_index, finish(product))]))
            return
        acc = sympy.Symbol(f"acc{self.counter}")
        summed = loops([var[c] for c in contracted], [sizes[c] for c in contracted], [Update(acc, "add", product)])
        body = [Let(acc, buf.dtype, sympy.Integer(0)), *_marked(summed, len(contracted), role="reduce"),
                Store(buf, out_index, finish(acc))]
        self._emit(loops(out_vars, node.shape, body))

    def _value_fold(self, node, idx):
        """Where windows do not overlap (``_gathers``): the one window element landing at ``idx``,
        or 0 where none does (a stride longer than the window, or a remainder the windows missed)."""
        spatial, kernel, stride, _, pad = node.attrs
        cols = node.args[0]
        nd = len(kernel)
        windows, offsets, conds = [], [], []
        for d in range(nd):
            shifted = idx[2 + d] + pad[d][0]
            window, offset = (idiv(shifted, stride[d]), imod(shifted, stride[d])) if stride[d] != 1 else (shifted, 0)
            n = cols.shape[2 + d]
            if (spatial[d] - 1 + pad[d][0]) // stride[d] >= n:
                conds.append(window < n)
                window = _clamped(window, n)
            if stride[d] > kernel[d]:
                conds.append(offset < kernel[d])
                offset = _clamped(offset, kernel[d])
            windows.append(window)
            offsets.append(offset)
        value = self.value(cols, idx[:2] + windows + offsets)
        return sympy.Piecewise((value, sympy.And(*conds)), (0, True)) if conds else value

    def _kernel_fold(self, node, buf):
        if _gathers(node):
            v = self._vars(node.ndim)
            self._emit(loops(v, node.shape, [Store(buf, flat_index(v, node.shape), self._value_fold(node, v))]))
            return
        spatial, kernel, stride, dilation, pad = node.attrs
        cols = node.args[0]
        nd = len(kernel)
        self._zero(node, buf)
        v = self._vars(cols.ndim, "f")
        target, conds = list(v[:2]), []
        for d in range(nd):
            pos = v[2 + d] * stride[d] + v[2 + nd + d] * dilation[d] - pad[d][0]
            conds += [pos >= 0, pos < spatial[d]]
            target.append(pos)
        at = flat_index(target, node.shape)
        update = Store(buf, at, buf[at] + self.value(cols, v))
        guarded = [update] if not any(lo or hi for lo, hi in pad) else [If(sympy.And(*conds), (update,))]
        # windows overlap: only (batch, channel) iterations write disjoint elements
        windows = _marked(loops(v[2:], cols.shape[2:], guarded), len(v) - 2, independent=False)
        self._emit(loops(v[:2], cols.shape[:2], windows))

    def _kernel_scatter_add(self, node, buf):
        values, indices = node.args
        axis, _ = node.attrs
        self._zero(node, buf)
        v = self._vars(values.ndim, "s")
        k = indices.ndim
        position = self.value(indices, v[axis:axis + k])
        at = flat_index(v[:axis] + [position] + v[axis + k:], node.shape)
        # several values may land on one target: neither threads nor a GPU grid
        nest = loops(v, values.shape, [Store(buf, at, buf[at] + self.value(values, v))])
        self._emit(_marked(nest, values.ndim, independent=False))


def _gathers(node: Node) -> bool:
    """Whether ``node`` is a fold whose windows do not overlap (a max-pool's gradient): each position
    gets at most one window element, read in place like any movement, rather than a scatter-add."""
    if node.op != "fold":
        return False
    _, kernel, stride, dilation, _ = node.attrs
    return all(dil == 1 and s >= k for k, s, dil in zip(kernel, stride, dilation))


def _reads_only_own(value, aliased, own, at) -> bool:
    """Whether ``value`` reads overwritten memory only as buffer ``own`` at flat index ``at``."""
    overwritten = [e for e in loads(value) if e.base.name in aliased]
    return all(e.base.name == own and sympy.expand(e.indices[0] - at) == 0 for e in overwritten)


def _identity(op: str, dtype: np.dtype):
    """The start of a max/min reduction in ``dtype``: ∓∞, the integer type's bound, False/True."""
    if dtype.kind == "f":
        return sympy.S.NegativeInfinity if op == "max" else sympy.S.Infinity
    if dtype.kind == "b":
        return sympy.Integer(op == "min")
    info = np.iinfo(dtype)
    return sympy.Integer(int(info.min) if op == "max" else int(info.max))


def _marked(nest, depth: int, **fields) -> tuple:
    """``nest`` with ``fields`` set on its outer ``depth`` loop levels (``independent=False``: they
    may write the same element; ``role="reduce"``: a contraction's summed axes)."""
    if depth == 0:
        return tuple(nest)
    return tuple(dataclasses.replace(s, **fields, body=_marked(s.body, depth - 1, **fields))
                 if isinstance(s, Loop) else s for s in nest)


def _by_shape(nodes) -> list[list]:
    groups: dict = {}
    for n in nodes:
        groups.setdefault(n.shape, []).append(n)
    return list(groups.values())


def _size(node: Node) -> int:
    return int(np.prod(node.shape)) if node.shape else 1


def _broadcast(idx, out_shape, arg_shape):
    lead = len(out_shape) - len(arg_shape)
    return [sympy.Integer(0) if n == 1 else idx[lead + k] for k, n in enumerate(arg_shape)]


def _unraveled(idx, shape, arg_shape):
    """The multi-index into ``arg_shape`` of the element at ``idx`` of its reshape to ``shape`` (each
    ``idx[k]`` lies in ``[0, shape[k])``). Each axis is a digit of the flat offset, read off the
    offset's terms where their ranges decide it: merging or splitting axes needs no division then
    (LeNet's pooling gradient divided four times an element through flatten and back)."""
    if 0 in arg_shape:  # nothing is ever read from an empty array
        return [sympy.Integer(0)] * len(arg_shape)
    terms, stride = [], 1
    for i, n in zip(reversed(idx), reversed(shape)):
        i = sympy.sympify(i)
        if n != 1 and i != 0:  # (coefficient, index, its largest value)
            terms.append((stride, i, int(i) if i.is_Integer else n - 1))
        stride *= n
    digits, stride = [], 1
    for n in reversed(arg_shape):
        digits.append(_digit(terms, stride, n) if n != 1 else sympy.Integer(0))
        stride *= n
    return digits[::-1]


def _digit(terms, stride, n):
    """``(Σ c·i // stride) mod n`` for ``terms`` (c, i, the largest i): the terms that are multiples
    of ``stride`` divide exactly, the rest under one ``idiv`` unless they cannot reach ``stride``;
    terms that are multiples of ``n`` leave the remainder, and none is taken if the sum cannot reach
    ``n``. Constant indices are folded."""
    high = [(c // stride, i, most) for c, i, most in terms if c % stride == 0]
    low = [(c, i, most) for c, i, most in terms if c % stride]
    top = sum(c * most for c, _, most in low)
    if top >= stride:
        rest = sympy.Add(*[c * i for c, i, _ in low])
        high.append((1, rest // stride if rest.is_Integer else idiv(rest, stride), top // stride))
    kept = [(c, i, most) for c, i, most in high if c % n]
    value = sympy.Add(*[c * i for c, i, _ in kept])
    if sum(c * most for c, _, most in kept) < n:
        return value
    return value % n if value.is_Integer else imod(value, n)


def _clamped(i, n):
    """An index kept in range for a load that a condition may discard (no out-of-bounds reads)."""
    return sympy.Max(sympy.Min(i, n - 1), 0)


def lower(inputs, outputs, in_place=None, target="cpu") -> Lowered:
    """Lower the graph from ``inputs`` to ``outputs`` into one Program for ``target`` ("cpu" or
    "gpu"). ``in_place`` maps output positions to the input positions whose memory they overwrite
    (computed after every read)."""
    transform = next((n for n in toposort(outputs) if n.op == "fft"), None)
    if transform is not None:
        raise TypeError(f"fft.{transform.attrs[0]} computes complex numbers, which compiled code does not have: it "
                        "runs in the interpreter (call the function without sf.compile)")
    matrix = next((n for n in toposort(outputs) if n.op == "linalg"), None)
    if matrix is not None and target == "gpu":
        raise TypeError(f"linalg.{matrix.attrs[0].split('_')[0]} runs on the CPU (LAPACK): the CUDA backend has no "
                        "matrix factorisations; use sf.compile without a GPU, or call the function uncompiled")
    lowering = Lowering(list(inputs), list(outputs), in_place, CUDA if target == "gpu" else cpu())
    optimise(lowering.program, lowering.target)
    return Lowered(lowering.program, list(inputs), lowering.consts, list(outputs),
                   lowering.seed if lowering.has_random else None)

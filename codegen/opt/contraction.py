"""Contractions arranged for a CPU's vector units, and the reading of a contraction's loop nest that
the contraction passes share.

The lowering emits every contraction in one canonical form (``Contraction``): independent loops over
its output around ``acc = 0``, loops over its summed axes (``role="reduce"``) adding a product to
``acc``, and a store of the sum (through an epilogue: a bias, an activation). ``arrange_contractions``
puts innermost the loop along which most memory accesses are contiguous:

- a summed axis: the dot-product form, a vectorised reduction (register-tiled later: ``tiling``);
- an output axis, in a big product: its operands copied ("packed") so the summed axes are last and
  contiguous, and the dot form again (an O(n²) copy for an O(n³) product);
- an output axis otherwise: the axpy form, output rows accumulated in memory, vectorised along them.

A GPU keeps the canonical form: its threads share each dot product (``gpu_shapes``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import sympy

from ..kernel import Let, Loop, Program, Store, Update, dag_replace, flat_index, loads

PACK_WORK = 1 << 16  # multiply-adds above which packing the operands for the dot form pays


@dataclass(frozen=True)
class Contraction:
    """A top-level nest in the canonical form: ``outer`` loops (outermost first) around ``acc``, the
    ``summed`` loops around ``acc += product``, and ``store`` of the sum."""

    outer: tuple
    acc: Let
    summed: tuple
    product: sympy.Expr
    store: Store

    @property
    def out_vars(self) -> list:
        """The output's loop variables (a scalar's contraction sits in a loop of one iteration)."""
        used = self.store.index.free_symbols | self.product.free_symbols
        return [loop.var for loop in self.outer if loop.var in used]

    @property
    def summed_vars(self) -> list:
        return [loop.var for loop in self.summed]

    @property
    def sizes(self) -> dict:
        return {loop.var: loop.extent for loop in self.outer + self.summed}

    @property
    def fixed(self) -> bool:
        """Whether every extent is a number (not a size parameter)."""
        return all(isinstance(n, int) for n in self.sizes.values())

    @property
    def work(self) -> int:
        """Multiply–adds (extents must be ``fixed``)."""
        return int(np.prod(list(self.sizes.values()), dtype=np.int64))

    def rebuilt(self, summed=None, product=None) -> Loop:
        """The nest with its summed loops in another order, or another product."""
        summed = self.summed if summed is None else summed
        add = Update(self.acc.var, "add", self.product if product is None else product)
        return nest(self.outer, (self.acc, *nest(summed, (add,)), self.store))[0]


def contraction(stmt) -> Contraction | None:
    """``stmt`` read as a contraction in the canonical form, or None."""
    outer, body = [], (stmt,)
    while len(body) == 1 and isinstance(body[0], Loop) and body[0].independent and body[0].role != "reduce":
        outer.append(body[0])
        body = body[0].body
    if not outer or len(body) != 3:
        return None
    acc, summed_nest, store = body
    if not (isinstance(acc, Let) and isinstance(summed_nest, Loop) and summed_nest.role == "reduce"
            and isinstance(store, Store)):
        return None
    summed, inner = [], (summed_nest,)
    while len(inner) == 1 and isinstance(inner[0], Loop) and inner[0].role == "reduce":
        summed.append(inner[0])
        inner = inner[0].body
    if len(inner) != 1 or not isinstance(inner[0], Update) or inner[0].var != acc.var or inner[0].op != "add":
        return None
    return Contraction(tuple(outer), acc, tuple(summed), inner[0].value, store)


def nest(levels, body) -> tuple:
    """The loops ``levels`` (outermost first) nested around ``body``, each keeping its marks."""
    for loop in reversed(levels):
        body = (dataclasses.replace(loop, body=tuple(body)),)
    return tuple(body)


def factors(product):
    """(coefficient, first, second): ``product`` as a number times two factors, or None."""
    coefficient, rest = product.as_coeff_Mul()
    if rest.is_Pow and rest.exp == 2:
        return coefficient, rest.base, rest.base
    parts = sympy.Mul.make_args(rest)
    return (coefficient, *parts) if len(parts) == 2 else None


def row_major(index, order, sizes) -> bool:
    """Whether the flat ``index`` walks an array laid out as the variables ``order`` (outermost
    first), contiguously: the stride of each is the product of the extents after it."""
    strides = _strides(index, set(order))
    if strides is None:
        return False
    expected = 1
    for v in reversed(order):
        if sizes[v] != 1 and strides.get(v, 0) != expected:
            return False
        expected *= sizes[v]
    return True


def _strides(index, variables) -> dict | None:
    """{variable: coefficient} when ``index`` is an integer combination of ``variables`` (no offset)."""
    found: dict = {}
    for term in sympy.Add.make_args(index):
        if term == 0:
            continue
        coefficient, v = term.as_coeff_Mul()
        if v not in variables or not coefficient.is_Integer:
            return None
        found[v] = found.get(v, 0) + int(coefficient)
    return found


def copied(program: Program, value, order, sizes, dtype) -> tuple:
    """(the loop nest storing ``value`` into a new temporary laid out as ``order``, the temporary,
    its load where ``value`` was). Axes of one element get no loop; the longest of the others
    goes outermost, for the threads to share, and the last innermost, contiguous."""
    value = value.xreplace({v: sympy.Integer(0) for v in order if sizes[v] == 1})
    order = [v for v in order if sizes[v] != 1]
    shape = [sizes[v] for v in order]
    copy = program.temp(dtype, int(np.prod(shape, dtype=np.int64)))
    at = flat_index(order, shape)
    outer = max(order[:-1], key=sizes.get, default=None)
    levels = [v for v in order if v is outer] + [v for v in order if v is not outer]
    return nest([Loop(v, sizes[v], ()) for v in levels], (Store(copy, at, value),))[0], copy, copy[at]


def contiguous_last(value, first, second, sizes) -> bool:
    """Whether copying ``value`` with the variables ``second`` last reads it more contiguously than
    with ``first`` last: unit stride along the innermost, the longer of two such."""
    indices = [load.indices[0] for load in loads(value)]
    reach = [sizes[group[-1]] if group and all(unit_stride(i, group[-1]) for i in indices) else 0
             for group in (first, second)]
    return reach[1] > reach[0]


def arrange_contractions(program: Program, target) -> None:
    """Each contraction with the loop of most contiguous accesses innermost (not on a GPU)."""
    if target.warp:
        return
    body = []
    for stmt in program.body:
        c = contraction(stmt)
        body += _arranged(c, program) if c is not None else [stmt]
    program.body = body


def _arranged(c: Contraction, program: Program) -> list:
    summed = c.summed_vars
    inner = innermost(c.out_vars, summed, c.product, c.store.index)
    if inner in summed:
        return [c.rebuilt(summed=[s for s in c.summed if s.var != inner] + [s for s in c.summed if s.var == inner])]
    split = factors(c.product) if c.fixed and c.work >= PACK_WORK else None
    if split is None:
        return _axpy(c, inner, program)
    copies, product = [], split[0]
    for factor in split[1:]:
        order = [v for v in c.out_vars + summed if factor.has(v)]
        if isinstance(factor, sympy.Indexed) and row_major(factor.indices[0], order, c.sizes):
            product *= factor
            continue
        copy, _, load = copied(program, factor, order, c.sizes, _dtype_of(factor, program, c.acc.dtype))
        copies.append(copy)
        product *= load
    return copies + [c.rebuilt(product=product)]


def _dtype_of(value, program: Program, default: str) -> str:
    """The dtype of the buffers ``value`` reads when they share one, else ``default``."""
    dtypes = {program.buffers()[load.base.name].dtype for load in loads(value)}
    return dtypes.pop() if len(dtypes) == 1 else default


def _axpy(c: Contraction, inner, program: Program) -> list:
    """Zero the sums, accumulate ``sums[out] += product`` with the output loop ``inner`` innermost
    (the summed loops outside it write the same elements: ``independent=False``), then apply the
    epilogue. The sums go to the output unless it is another precision, or an epilogue reads it
    while it holds an input's values (``Program.aliased``)."""
    buf, acc = c.store.buffer, c.acc.var
    epilogue = c.store.value != acc
    sums, at = buf, c.store.index
    if c.acc.dtype != buf.dtype or epilogue and buf.name in program.aliased:
        out = [loop for loop in c.outer if loop.var in c.out_vars]
        sums = program.temp(c.acc.dtype, int(np.prod([loop.extent for loop in out], dtype=np.int64)))
        at = flat_index([loop.var for loop in out], [loop.extent for loop in out])
    zero = nest(c.outer, (Store(sums, at, sympy.Integer(0)),))
    rows = [dataclasses.replace(s, independent=False) for s in c.summed]
    levels = [loop for loop in c.outer if loop.var != inner] + rows + [loop for loop in c.outer if loop.var == inner]
    statements = [*zero, *nest(levels, (Store(sums, at, sums[at] + c.product),))]
    if sums is not buf or epilogue:
        value = dag_replace(c.store.value, {acc: sums[at]}, evaluate=False)
        statements += nest(c.outer, (Store(buf, c.store.index, value),))
    return statements


def innermost(out_vars, summed_vars, product, out_index):
    """The loop variable to put innermost: the one along which most memory accesses are contiguous
    (unit stride), preferring the last output axis on ties."""
    accesses = [e.indices[0] for e in loads(product)]

    def unit_strides(v):
        count = sum(1 for index in accesses if unit_stride(index, v))
        return count + (1 if v in out_vars and unit_stride(out_index, v) else 0)

    candidates = list(summed_vars) + list(out_vars)
    return max(reversed(candidates), key=unit_strides) if candidates else None


def unit_stride(index, v) -> bool:
    """Whether the flat ``index`` is ``v`` plus terms without ``v`` (∂index/∂v = 1, read off the
    sum's terms: ``sympy.diff`` cost more than the rest of a contraction's lowering)."""
    coefficient = 0
    for term in sympy.Add.make_args(index):
        if term == v:
            coefficient += 1
        elif term.has(v):
            factor, rest = term.as_coeff_Mul()
            if rest != v:
                return False
            coefficient += factor
    return coefficient == 1

"""GPU kernel shapes: how the threads of a grid share each top-level statement.

One ``KernelShape`` per statement of the program (``program.kernel_shapes``), chosen from its structure:

- ``empty``: a loop with no iterations (no launch);
- ``atomic``: loops whose iterations may hit the same element and only accumulate
  (``x[i] = x[i] + v``): every iteration its own thread, with atomic adds;
- ``single``: nothing independent to split: one thread;
- ``phased``: rows whose body is a sequence of row reductions and row maps (softmax: max, sum of
  exponentials, normalise): a team of threads per row runs the phases in turn;
- ``matmul``: a reduction whose product splits into ``A(m, k) · B(k, n)`` over large ``m`` and
  ``n``: an output tile per block through shared memory;
- ``cooperative``: independent loops around a long reduction: a team (a warp, or the block) per
  output element, combining strided partial sums;
- ``grid``: a nest of independent loops: one thread per element of the collapsed nest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import sympy

from ..kernel import If, Let, Loop, Program, Store, Update

TILE = 128  # output tile edge of the shared-memory matrix multiply (16×16 threads, 8×8 outputs each)
TILE_K = 8
MIN_TILED = 16 * TILE * TILE  # outputs from which the tiled multiply beats a warp per output
COOPERATIVE = 64  # reduction length from which a warp shares one output
BLOCK_COOPERATIVE = 4096  # … and from which a whole block does


@dataclass(frozen=True)
class KernelShape:
    """``levels``: the (var, extent) the grid (or its teams) iterates over; ``body``: what each
    iteration runs; ``team``: threads per iteration (phased, cooperative); ``parts``: the phases
    (phased), or ``(lets, reduced levels, updates, tail)`` then, for matmul, ``(a factors,
    b factors, m vars, n vars, batch vars)``."""

    kind: str
    levels: tuple = ()
    body: tuple = ()
    team: int = 0
    parts: tuple = ()


def shape_kernels(program: Program, target) -> None:
    """Give the program its GPU kernel shapes (only for a target with warps)."""
    if target.warp:
        program.kernel_shapes = [kernel_shape(stmt, target) for stmt in program.body]


def kernel_shape(stmt, target) -> KernelShape:
    every, leaf = nest(stmt, independent_only=False)
    if any(n == 0 for _, n in every):
        return KernelShape("empty")
    levels, body = nest(stmt, independent_only=True)
    if len(levels) < len(every) and _accumulates_only(leaf):
        return KernelShape("atomic", tuple(every), tuple(leaf))
    if not levels:
        return KernelShape("single", body=(stmt,))
    phases = _phases(body)
    if phases is not None and len(phases) >= 2:
        longest = max(_prod(n for _, n in phase[1]) for phase in phases)
        if longest >= COOPERATIVE:
            return KernelShape("phased", tuple(levels), team=_team(longest, target), parts=tuple(phases))
    reduction = _reduction(body)
    if reduction is not None:
        split = _matmul(levels, *reduction)
        if split is not None:
            return KernelShape("matmul", tuple(levels), parts=(reduction, split))
        length = _prod(n for _, n in reduction[1])
        if length >= COOPERATIVE:
            return KernelShape("cooperative", tuple(levels), team=_team(length, target), parts=reduction)
    return KernelShape("grid", tuple(levels), tuple(body))


def _team(length: int, target) -> int:
    return target.block_threads if length >= BLOCK_COOPERATIVE else target.warp


def _prod(values) -> int:
    return math.prod(int(v) for v in values)


def nest(stmt, independent_only: bool):
    """The perfect loop nest at the top of ``stmt`` (only independent loops if asked):
    ([(var, extent), …], body statements)."""
    levels, body = [], (stmt,)
    while len(body) == 1 and isinstance(body[0], Loop) and (body[0].independent or not independent_only):
        levels.append((body[0].var, int(body[0].extent)))
        body = body[0].body
    return levels, body


def _reduction(body):
    """``(lets, levels, updates, tail)`` when ``body`` is ``Let accs; a loop nest of Updates to
    them; statements using them``, else None."""
    n_lets = 0
    while n_lets < len(body) and isinstance(body[n_lets], Let):
        n_lets += 1
    lets, rest = list(body[:n_lets]), list(body[n_lets:])
    if not lets or not rest:
        return None
    levels, updates = nest(rest[0], independent_only=False)
    accs = {let.var for let in lets}
    if not levels or not all(isinstance(u, Update) and u.var in accs for u in updates):
        return None
    return lets, levels, list(updates), rest[1:]


def _phases(body):
    """``body`` as phases — ``("reduce", levels, lets, updates, row stores)`` or ``("map", levels,
    leaf statements)`` over independent inner loops — or None when it is anything else."""
    phases, rest = [], list(body)
    while rest:
        reduction = _reduction(rest)
        if reduction is not None:
            lets, levels, updates, tail = reduction
            n_stores = 0
            while n_stores < len(tail) and isinstance(tail[n_stores], Store):
                n_stores += 1
            phases.append(("reduce", levels, lets, updates, tail[:n_stores]))
            rest = tail[n_stores:]
            continue
        levels, leaf = nest(rest[0], independent_only=True)
        if not levels or any(isinstance(s, (Loop, Let, Update)) for s in leaf):
            return None
        phases.append(("map", levels, list(leaf)))
        rest = rest[1:]
    return phases


def accumulation(store):
    """The increment ``v`` of a float store ``x[i] = x[i] + v``, else None."""
    if not isinstance(store, Store) or not store.buffer.dtype.startswith("float"):
        return None
    increment = store.value - store.buffer[store.index]
    return None if increment.has(store.buffer[store.index]) else increment


def _accumulates_only(statements) -> bool:
    for s in statements:
        if isinstance(s, (Loop, If)):
            if not _accumulates_only(s.body):
                return False
        elif accumulation(s) is None:
            return False
    return True


def _matmul(levels, lets, red_levels, updates, tail):
    """The split of a reduction worth the shared-memory tiles (see ``_split_product``), or None."""
    if len(lets) != 1 or len(updates) != 1 or updates[0].op != "add":
        return None
    split = _split_product(updates[0].value, [v for v, _ in levels])
    if split is None:
        return None
    _, _, m_vars, n_vars, _ = split
    extent = dict(levels)
    m, n, k = _prod(extent[v] for v in m_vars), _prod(extent[v] for v in n_vars), _prod(e for _, e in red_levels)
    if m * n < MIN_TILED or min(m, n) < TILE // 2 or k < TILE_K:
        return None
    return split


def _split_product(product, outer_vars):
    """``(a_factors, b_factors, m_vars, n_vars, batch_vars)`` when ``product`` multiplies factors
    over (m, k) with factors over (n, k), m and n disjoint and non-empty (vars in both sides, or in
    neither, are batch); else None."""
    outer = set(outer_vars)
    factors = sympy.Mul.make_args(product)
    sets = [f.free_symbols & outer for f in factors]
    with_outer = [s for s in sets if s]
    if len(with_outer) < 2:
        return None
    batch = set.intersection(*with_outer) | (outer - set.union(*with_outer))
    groups, shared = [], []  # groups: [vars, factors] joined when they share a non-batch var
    for f, s in zip(factors, sets):
        own = s - batch
        if not own:
            shared.append(f)
            continue
        joined = [g for g in groups if g[0] & own]
        merged = [set(own).union(*(g[0] for g in joined)), [f] + [x for g in joined for x in g[1]]]
        groups = [g for g in groups if g not in joined] + [merged]
    if len(groups) != 2:
        return None
    (m_set, a), (n_set, b) = groups
    return (a + shared, b, [v for v in outer_vars if v in m_set], [v for v in outer_vars if v in n_set],
            [v for v in outer_vars if v in batch])

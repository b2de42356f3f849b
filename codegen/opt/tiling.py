"""Register tiles: the independent loops around a contraction unrolled and jammed.

A contraction is lowered as independent loops over its output around an inner loop over its summed
axes (``role="reduce"``). Unrolling an output loop whose variable some operand's load does not
depend on, and jamming the copies into one inner loop, lets each such load feed several products:
a 4×4 tile of scalar accumulators around a dot product, 4 vector rows around an axpy (whose rows
are vectors already, so one unrolled loop). Every element still sums in the same order.

An epilogue that calls functions (``tanh(acc + b)``) is not copied into the tile: the tile stores
its sums (in the output, or a temporary where the output's memory is read or is of another
precision) and one loop over the output applies the epilogue, vectorised, once per element.
Sixteen inline copies of tanh in every tile made half of an MLP's machine code.

Small windows (a 2×2 pooling's max, its ties' count) are unrolled whole, since our LLVM pipeline
unrolls no loops (for compile time): the loop around them is then innermost, and LLVM vectorises it.
"""

from __future__ import annotations

import dataclasses

import sympy

from ..kernel import Let, Loop, Program, Store, Update, dag_atoms, loads, loop_var, replaced


def register_tiles(program: Program, target) -> None:
    """Tile each top-level contraction nest by ``target.register_tile`` (no tiles when it is 0)."""
    if not target.register_tile:
        return
    body: list = []
    for stmt in program.body:
        body += tiled(stmt, target.register_tile, program)
    program.body = body


# the most iterations of a window's loop nest that are unrolled whole (3×3)
WINDOW = 9


def unroll_windows(program: Program, target) -> None:
    """Mark each loop nest of at most ``WINDOW`` iterations in all around nothing but updates (a
    reduction's summed loops) to be unrolled whole when printed (``jam`` = its extent). CPU targets
    only: a GPU's thread shapes read loops as they are."""
    if target.register_tile:
        program.body = [_windows_unrolled(s) for s in program.body]


def _windows_unrolled(stmt):
    if not isinstance(stmt, Loop):
        return stmt
    if stmt.jam == 1 and _window(stmt):
        return _jam_whole(stmt)
    return dataclasses.replace(stmt, body=tuple(_windows_unrolled(s) for s in stmt.body))


def _window(loop) -> bool:
    """Whether ``loop`` and the loops nested directly in it run at most ``WINDOW`` updates of
    accumulators, and nothing else."""
    iterations, body = 1, (loop,)
    while len(body) == 1 and isinstance(body[0], Loop):
        if not isinstance(body[0].extent, int):
            return False
        iterations *= body[0].extent
        body = body[0].body
    return iterations <= WINDOW and all(isinstance(s, Update) for s in body)


def _jam_whole(loop):
    body = loop.body
    if len(body) == 1 and isinstance(body[0], Loop):
        body = (_jam_whole(body[0]),)
    return dataclasses.replace(loop, jam=loop.extent, body=body)


def tiled(stmt, factor: int, program: Program) -> list:
    """``stmt`` as top-level statements with its register tile (itself when there is none): the
    tiled loops innermost of the output loops, marked ``jam`` (expanded by ``unroll_and_jam`` when
    printed, once per distinct kernel: the copies cost SymPy rebuilds that grew with depth); a
    costly epilogue moves to a loop of its own."""
    levels, inner = [], (stmt,)
    while len(inner) == 1 and isinstance(inner[0], Loop) and inner[0].independent and inner[0].role != "reduce":
        levels.append(inner[0])
        inner = inner[0].body
    leaves = _reduced(inner)
    if not levels or leaves is None:
        return [stmt]
    offsets = [load.indices[0] for leaf in leaves for load in loads(leaf.value)]
    most = 2 if any(isinstance(leaf, Update) for leaf in leaves) else 1
    chosen: list = []
    for loop in reversed(levels):
        if (len(chosen) < most and isinstance(loop.extent, int) and loop.extent >= factor
                and any(not i.has(loop.var) for i in offsets)):
            chosen.insert(0, loop)
    if not chosen:
        return [stmt]
    inner, epilogue = _epilogue_apart(levels, inner, program)
    nest = tuple(inner)
    for loop in reversed(chosen):
        nest = (dataclasses.replace(loop, body=nest, jam=factor),)
    for loop in reversed([lv for lv in levels if all(lv is not c for c in chosen)]):
        nest = (dataclasses.replace(loop, body=nest),)
    return list(nest) + epilogue


def unroll_and_jam(loop: Loop) -> list:
    """``loop`` (``jam`` > 1, and the loops of the same ``jam`` nested directly in it) as plain
    statements: a loop over blocks of ``jam`` iterations of each, around one copy of the innermost
    body per combination of offsets, the copies' loops merged into one; the remainders unrolled."""
    chain, body = [loop], loop.body
    while len(body) == 1 and isinstance(body[0], Loop) and body[0].jam == loop.jam:
        chain.append(body[0])
        body = body[0].body
    return _unrolled(chain, body, loop.jam)


def _epilogue_apart(levels, inner, program) -> tuple[list, list]:
    """(``inner`` storing bare sums, the loop nest that applies the epilogue): a store of ``inner``
    whose value calls a function of its one accumulator stores the sum instead, and the epilogue
    reads it back. The sum goes where the result will (same precision, nothing else reading that
    memory), else to a new temporary."""
    accumulators = {s.var: s.dtype for s in inner if isinstance(s, Let)}
    body, epilogue = [], []
    for s in inner:
        acc = accumulators.keys() & s.value.free_symbols if isinstance(s, Store) else set()
        if len(acc) != 1 or not dag_atoms(s.value, sympy.Function):
            body.append(s)
            continue
        acc = acc.pop()
        sums = s.buffer
        if (accumulators[acc] != sums.dtype or sums.name in program.aliased
                or any(load.base.name == sums.name for load in loads(s.value))):
            sums = program.temp(accumulators[acc], s.buffer.size)
        body.append(Store(sums, s.index, acc))
        apply = replaced(s, {acc: sums[s.index]}, evaluate=False)
        for loop in reversed(levels):
            apply = dataclasses.replace(loop, body=(apply,))
        epilogue.append(apply)
    return body, epilogue


def _reduced(body):
    """The statements inside ``body``'s loop over summed axes (Updates of accumulators, or the
    Stores of an axpy), or None when it has none."""
    for s in body:
        if isinstance(s, Loop) and s.role == "reduce":
            inner = s.body
            while len(inner) == 1 and isinstance(inner[0], Loop):
                inner = inner[0].body
            if all(isinstance(x, (Update, Store)) for x in inner):
                return inner
            return None
    return None


def _unrolled(chosen, body, factor, substitutions=({},)) -> list:
    """Loops over blocks of ``factor`` iterations of each chosen loop (a remainder after each, fully
    unrolled) around one jammed copy of ``body`` per combination of offsets."""
    if not chosen:
        return _jammed([_copy(body, sub, k) for k, sub in enumerate(substitutions)])
    loop, rest = chosen[0], chosen[1:]
    n, block = loop.extent, loop_var(f"{loop.var}_block")
    main = [s | {loop.var: factor * block + r} for s in substitutions for r in range(factor)]
    tail = [s | {loop.var: n - n % factor + r} for s in substitutions for r in range(n % factor)]
    nest = [dataclasses.replace(loop, var=block, extent=n // factor, jam=1,
                                body=tuple(_unrolled(rest, body, factor, main)))]
    return nest + (_unrolled(rest, body, factor, tail) if tail else [])


def _copy(body, substitution: dict, k: int) -> list:
    """``body`` at the offsets ``substitution``, its local accumulators renamed for copy ``k``."""
    rule = dict(substitution)
    for s in body:
        if isinstance(s, Let):
            rule[s.var] = s.var.func(f"{s.var.name}_{k}", **s.var.assumptions0)
    # without SymPy's evaluation: offsets only shift index arithmetic, which LLVM folds (evaluating
    # each copy was a third of an MLP's rendering)
    return [replaced(s, rule, evaluate=False) for s in body]


def _jammed(copies: list) -> list:
    """Copies of one statement list merged position by position: their loops into one loop over
    the jammed bodies, everything else side by side."""
    merged = []
    for parts in zip(*copies):
        if isinstance(parts[0], Loop):
            merged.append(dataclasses.replace(parts[0], body=tuple(_jammed([p.body for p in parts]))))
        else:
            merged += parts
    return merged

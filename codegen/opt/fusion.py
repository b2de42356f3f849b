"""Producer–consumer fusion of consecutive loops.

A row reduction and what consumes it per row (softmax: the row max, the sum of exponentials, the
normalised row) become one loop over rows, each row finished before the next. The CPU keeps the
row in cache; a GPU runs the whole row in one block: one kernel instead of three.

A temporary that one loop nest stores element by element and only the next nest, over the same
iterations, reads at the element it stored (GEMM's product read back into another layout, then
scattered by a convolution's gradient) is not stored at all: the consumer computes the value
where it read it.
"""

from __future__ import annotations

import dataclasses

import sympy

from ..kernel import Call, If, Let, Loop, Program, Store, Update, buffers_used, dag_replace, loads, replaced


def fuse_rows(program: Program, target) -> None:
    """Merge each top-level loop into the one before it when that is safe (see ``_fused``)."""
    body: list = []
    for stmt in program.body:
        fused = _fused(body[-1], stmt, program.aliased) if body else None
        if fused is None:
            body.append(stmt)
        else:
            body[-1] = fused
    program.body = body


def _fused(first, second, aliased: set):
    """One loop doing ``first`` then ``second`` per iteration, or None. Safe when both loops are
    independent over the same extent, ``second`` reads what ``first`` writes only at the index
    ``first`` stores it in the same iteration, and ``second`` writes nothing ``first`` touches."""
    if not (isinstance(first, Loop) and isinstance(second, Loop) and first.independent and second.independent
            and first.extent == second.extent and first.jam == second.jam == 1):
        return None
    renamed = tuple(replaced(s, {second.var: first.var}, evaluate=False) for s in second.body)
    first_reads, first_writes = _accesses(first.body)
    reads, writes = _accesses(renamed)
    produced = reads.keys() & first_writes
    if not produced or writes & (first_reads.keys() | first_writes):
        return None
    # an output written over an input (two names of one memory): keep the order of whole loops
    # when one loop writes that memory and the other touches it; reading it in both is harmless
    if (aliased & first_writes and aliased & (reads.keys() | writes)
            or aliased & writes and aliased & (first_reads.keys() | first_writes)):
        return None
    per_row = _row_stores(first.body)
    if any(per_row.get(name) is None or reads[name] != {per_row[name]} for name in produced):
        return None
    return dataclasses.replace(first, body=first.body + renamed)


def _accesses(statements) -> tuple[dict, set]:
    """({buffer name: the indices it is read at}, {names of buffers written})."""
    reads: dict = {}
    writes: set = set()
    for stmt in statements:
        exprs = {Store: lambda s: (s.index, s.value), Let: lambda s: (s.value,), Update: lambda s: (s.value,),
                 If: lambda s: (s.cond,), Loop: lambda s: ()}[type(stmt)](stmt)
        for e in exprs:
            for load in loads(e):
                reads.setdefault(load.base.name, set()).add(load.indices[0])
        if isinstance(stmt, Store):
            writes.add(stmt.buffer.name)
        if isinstance(stmt, (Loop, If)):
            inner_reads, inner_writes = _accesses(stmt.body)
            for name, indices in inner_reads.items():
                reads.setdefault(name, set()).update(indices)
            writes |= inner_writes
    return reads, writes


def _row_stores(statements) -> dict:
    """{buffer name: index} for buffers stored once per iteration, at the top of the loop body
    (None for buffers also stored elsewhere in it)."""
    rows: dict = {}
    for stmt in statements:
        if isinstance(stmt, Store):
            rows[stmt.buffer.name] = sympy.sympify(stmt.index) if stmt.buffer.name not in rows else None
        elif isinstance(stmt, (Loop, If)):
            rows.update(dict.fromkeys(_accesses(stmt.body)[1]))
    return rows


def inline_stores(program: Program, target) -> None:
    """Compute each temporary that only one later loop nest reads, at the element its producer
    stored in the same iteration, where that nest reads it (see ``_inlined``); the statements in
    between (a zeroing pass) must leave the producer's operands alone. Names of memory written in
    place (``program.aliased``) count as one: moving a read of an input past a write of the output
    over it would read the new values."""
    temps = {b.name for b in program.temps}
    touched = lambda names: names | program.aliased if names & program.aliased else names
    body = list(program.body)
    k = 0
    while k < len(body):
        levels, inner = _perfect(body[k])
        store = inner[0] if inner is not None and len(inner) == 1 and isinstance(inner[0], Store) else None
        if store is not None and store.buffer.name in temps:
            name = store.buffer.name
            sources = touched(buffers_used(store) - {name})
            j = next((j for j in range(k + 1, len(body)) if name in buffers_used(body[j])), None)
            if j is not None and not any(touched(_writes(s)) & sources for s in body[k + 1:j + 1]):
                inlined = _inlined(levels, store, body[j], body[j + 1:])
                if inlined is not None:
                    body[j] = inlined
                    del body[k]
                    continue
        k += 1
    program.body = body


def _inlined(levels, store, second, later: list):
    """``second`` reading ``store``'s value (the statement inside the perfect nest ``levels``) in
    place of the temporary, or None. ``second`` must be a perfect nest over the same extents,
    ``store`` at a different element each iteration; ``second`` reads it only at that element;
    nothing later does. (The caller has checked that nothing from the producer to ``second``
    writes what the producer reads.)"""
    other, _ = _perfect(second)
    if len(other) != len(levels) or any(a.extent != b.extent for a, b in zip(levels, other)):
        return None
    name = store.buffer.name
    if not _injective(store.index, levels):  # an element stored twice holds the last value
        return None
    rename = {a.var: b.var for a, b in zip(levels, other)}  # the producer's iteration in the consumer's terms
    index, value = dag_replace(store.index, rename, evaluate=False), dag_replace(store.value, rename, evaluate=False)
    reads, writes = _accesses((second,))
    if reads.get(name) != {sympy.sympify(index)} or name in writes or any(name in buffers_used(s) for s in later):
        return None
    return replaced(second, {store.buffer[index]: value}, evaluate=False)


def _injective(index, levels) -> bool:
    """Whether each iteration of ``levels`` stores a different element: ``index`` is a constant plus
    one multiple of each loop's variable, the multiples as digits that cannot carry into each other."""
    coefficients, variables = {}, {loop.var: loop.extent for loop in levels}
    for term in sympy.Add.make_args(sympy.sympify(index)):
        c, v = term.as_coeff_Mul()
        if v in variables and v not in coefficients and c.is_Integer and c > 0:
            coefficients[v] = int(c)
        elif not term.is_Integer:
            return False
    if any(n != 1 and v not in coefficients for v, n in variables.items()):
        return False
    reach = 0  # the largest offset the smaller digits add
    for v in sorted(coefficients, key=coefficients.get):
        if coefficients[v] <= reach:
            return False
        reach += coefficients[v] * (variables[v] - 1)
    return True


def _perfect(stmt) -> tuple[list, tuple | None]:
    """(the loops of a perfect nest, outermost first; the statements inside the innermost)."""
    levels, body = [], (stmt,)
    while len(body) == 1 and isinstance(body[0], Loop) and body[0].jam == 1:
        levels.append(body[0])
        body = body[0].body
    return levels, (body if levels else None)


def _writes(stmt) -> set:
    return {b.name for b in stmt.outputs} if isinstance(stmt, Call) else _accesses((stmt,))[1]

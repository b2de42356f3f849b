"""Producer–consumer fusion of consecutive row loops.

A row reduction and what consumes it per row (softmax: the row max, the sum of exponentials, the
normalised row) become one loop over rows, each row finished before the next. The CPU keeps the
row in cache; a GPU runs the whole row in one block: one kernel instead of three.
"""

from __future__ import annotations

import dataclasses

import sympy

from ..kernel import If, Let, Loop, Program, Store, Update, loads, replaced


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
    renamed = tuple(replaced(s, {second.var: first.var}) for s in second.body)
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

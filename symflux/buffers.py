"""Buffer reuse: temporaries whose lifetimes do not overlap share one allocation."""

from __future__ import annotations

import dataclasses

import sympy

from codegen import Buffer, Call, If, Let, Program, Store, Update
from codegen.kernel import dag_replace, loads


def _names_used(stmt) -> set:
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
        names |= _names_used(inner)
    return names


def _rename(stmt, buffers: dict, bases: dict):
    """``stmt`` with temporaries renamed to their shared buffers."""
    fix = lambda e: dag_replace(e, bases)
    if isinstance(stmt, Call):
        return dataclasses.replace(stmt, inputs=tuple(buffers.get(b.name, b) for b in stmt.inputs),
                                   outputs=tuple(buffers.get(b.name, b) for b in stmt.outputs))
    if isinstance(stmt, Store):
        return Store(buffers.get(stmt.buffer.name, stmt.buffer), fix(stmt.index), fix(stmt.value))
    if isinstance(stmt, Let):
        return Let(stmt.var, stmt.dtype, fix(stmt.value))
    if isinstance(stmt, Update):
        return Update(stmt.var, stmt.op, fix(stmt.value))
    if isinstance(stmt, If):
        return If(fix(stmt.cond), tuple(_rename(s, buffers, bases) for s in stmt.body))
    return dataclasses.replace(stmt, body=tuple(_rename(s, buffers, bases) for s in stmt.body))


def reuse_buffers(program: Program) -> None:
    """Let temporaries whose lifetimes (first to last top-level kernel using them) do not overlap
    share one allocation of the same dtype, sized for the largest."""
    uses = [_names_used(s) for s in program.body]
    life = {}
    for t in program.temps:
        steps = [k for k, names in enumerate(uses) if t.name in names]
        life[t.name] = (steps[0], steps[-1]) if steps else (0, 0)
    shared, free_after, assignment = [], [], {}
    for t in sorted(program.temps, key=lambda b: life[b.name][0]):
        first, last = life[t.name]
        slot = next((k for k, (dtype, end) in enumerate(free_after) if dtype == t.dtype and end < first), None)
        if slot is None:
            shared.append([t.name, t.dtype, t.size])
            free_after.append((t.dtype, last))
            slot = len(shared) - 1
        else:
            shared[slot][2] = max(shared[slot][2], t.size)
            free_after[slot] = (t.dtype, last)
        assignment[t.name] = slot
    if len(shared) == len(program.temps):
        return
    physical = [Buffer(f"s{k}", dtype, size) for k, (_, dtype, size) in enumerate(shared)]
    buffers = {name: physical[slot] for name, slot in assignment.items()}
    bases = {sympy.IndexedBase(name): buf.base for name, buf in buffers.items()}
    program.body = [_rename(s, buffers, bases) for s in program.body]
    program.temps = physical

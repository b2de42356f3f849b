"""Buffer reuse: temporaries whose lifetimes do not overlap share one allocation."""

from __future__ import annotations

import sympy

from ..kernel import Buffer, Program, buffers_used, replaced


def reuse_buffers(program: Program, target) -> None:
    """Let temporaries whose lifetimes (first to last top-level kernel using them) do not overlap
    share one allocation of the same dtype, sized for the largest."""
    uses = [buffers_used(s) for s in program.body]
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
    # one statement never uses two temporaries that share a slot (their lifetimes do not overlap)
    program.body = [replaced(s, bases, buffers, evaluate=False) for s in program.body]
    program.temps = physical

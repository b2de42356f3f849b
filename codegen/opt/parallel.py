"""Parallel marking: top-level loops worth splitting across CPU threads."""

from __future__ import annotations

import dataclasses

from ..kernel import If, Loop, Program


def mark_parallel(program: Program, target) -> None:
    """Mark a top-level loop ``parallel`` when its nest holds ``target.parallel_work`` loop-body
    executions and its iterations write disjoint memory (not a loop over summed rows)."""
    if target.threads < 2:
        return
    program.body = [dataclasses.replace(s, parallel=True) if _worth_threads(s, target) else s for s in program.body]


def _worth_threads(stmt, target) -> bool:
    return (isinstance(stmt, Loop) and stmt.independent and _fixed(stmt) and stmt.extent > 1
            and work(stmt) >= target.parallel_work)


def _fixed(loop) -> bool:
    """Whether the nest's extents are numbers (a size parameter's loop is judged at run time)."""
    return isinstance(loop.extent, int) and all(_fixed(s) for s in loop.body if isinstance(s, Loop))


def work(stmt) -> int:
    """Executions of the innermost statements of a loop nest (the longest path)."""
    if isinstance(stmt, Loop):
        return int(stmt.extent) * max((work(s) for s in stmt.body), default=1)
    if isinstance(stmt, If):
        return max((work(s) for s in stmt.body), default=1)
    return 1

"""What a machine offers the loop optimiser (``codegen.opt``): the capabilities its passes consult."""

from __future__ import annotations

import os
from dataclasses import dataclass

from .runtime import linalg
from .runtime.cpu import vector_bits
from .runtime.pool import thread_pool


@dataclass(frozen=True)
class Target:
    """``threads``: the most CPU threads a loop is compiled for (1: none); ``parallel_work``: loop-body
    executions from which splitting a loop across them pays; ``register_tile``: rows of a
    contraction's register tile (0: none); ``vector_bits``: the width of the vectors a loop is
    vectorised to (0: the compiler chooses); ``warp``, ``block_threads``, ``shared_memory`` (bytes):
    a GPU's."""

    name: str
    threads: int = 1
    parallel_work: int = 0
    register_tile: int = 0
    vector_bits: int = 0
    warp: int = 0
    block_threads: int = 0
    shared_memory: int = 0

    @property
    def blas(self) -> bool:
        """Whether contractions may call BLAS's GEMM (asked only of big ones: SciPy and the BLAS
        library load only for programs that call them)."""
        return self.name == "cpu" and linalg.available()


def cpu() -> Target:
    """This machine's CPU. Waking the runtime's thread pool costs a few µs (W3 at batch 256: 1.6 ms
    a step from 2¹⁵ loop-body executions, 1.9–2.4 ms from 2¹⁸); starting threads per loop, when
    there is no pool, ~30 µs."""
    return Target("cpu", threads=min(os.cpu_count() or 1, 8), parallel_work=1 << 15 if thread_pool() else 1 << 18,
                  register_tile=4, vector_bits=vector_bits())


CUDA = Target("cuda", warp=32, block_threads=256, shared_memory=48 * 1024)

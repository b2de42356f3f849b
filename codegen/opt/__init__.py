"""The loop optimiser: one ordered list of passes over a kernel ``Program`` for a ``Target``.

The lowering (``symflux.lower``) emits plain loop nests — a contraction in one canonical form,
independent loops over its output around a loop over its summed axes (``role="reduce"``,
``contraction.Contraction``) — and ``optimise`` reshapes them for the machine. Each pass takes
``(program, target)``, changes the program in place and does nothing where the target lacks what
it uses:

1. ``call_gemm``: big float matrix products as calls of BLAS's GEMM (``Target.blas``);
2. ``arrange_contractions``: the loop of most contiguous accesses innermost, operands packed for
   it (a CPU's vector units; a GPU keeps the canonical form);
3. ``inline_stores``: a temporary read only by the next loop nest, at the element stored in the
   same iteration, computed there instead (GEMM's product read back into another layout);
4. ``reuse_buffers``: temporaries with disjoint lifetimes share memory (before the tiles: renaming
   costs time in the size of the program, which they multiply);
5. ``register_tiles``: unroll-and-jam the output loops around a contraction (CPU registers);
6. ``unroll_windows``: small summed windows (a pooling's 2×2) unrolled whole (CPU);
7. ``fuse_rows``: consecutive loops over the same rows into one (softmax's three passes);
8. ``mark_parallel``: top-level loops worth the CPU's threads;
9. ``hint_vector_width``: the width of innermost loops a CPU vectorises whole (``vectors``);
10. ``shape_kernels``: how a GPU's threads share each statement (``gpu_shapes``).

Renderers only print what this leaves.
"""

from __future__ import annotations

from ..kernel import Program
from .buffers import reuse_buffers
from .contraction import arrange_contractions
from .fusion import fuse_rows, inline_stores
from .gemm import call_gemm
from .gpu_shapes import shape_kernels
from .parallel import mark_parallel
from .tiling import register_tiles, unroll_windows
from .vectors import hint_vector_width

PASSES = (call_gemm, arrange_contractions, inline_stores, reuse_buffers, register_tiles, unroll_windows, fuse_rows,
          mark_parallel, hint_vector_width, shape_kernels)


def optimise(program: Program, target) -> Program:
    """Run every pass, in order, over ``program`` (in place); returns it."""
    for run in PASSES:
        run(program, target)
    return program

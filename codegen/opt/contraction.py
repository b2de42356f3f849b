"""The lowering's choices for a contraction: which loop goes innermost, when to pack its operands,
when to call BLAS's GEMM instead (and in which roles). Pure functions over a contraction's letters,
loop variables and product expression; the register tile is a pass (``tiling``)."""

from __future__ import annotations

import numpy as np
import sympy

from ..kernel import loads

PACK_WORK = 1 << 16  # multiply-adds above which transposing operands for the dot form pays


def innermost(out_letters, contracted, var, product, out_index):
    """The loop letter to put innermost: the one along which most memory accesses are contiguous
    (unit stride), preferring the last output axis on ties."""
    accesses = [e.indices[0] for e in loads(product)]

    def unit_strides(letter):
        v = var[letter]
        count = sum(1 for index in accesses if unit_stride(index, v))
        return count + (1 if letter in out_letters and unit_stride(out_index, v) else 0)

    candidates = list(contracted) + list(out_letters)
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


def product_size(sizes) -> int:
    return int(np.prod(list(sizes.values())))


# multiply-adds from which a float matrix product calls BLAS's GEMM. Measured on W3's products since
# GEMM runs on our thread pool with OpenBLAS held to one thread per block: 6.4 M (batch 32) runs at
# 648 µs a step in GEMM against 791 µs as generated loops, and 0.2 M (batch 1) is the same either
# way (116 µs); each product left to GEMM is also one register tile fewer for LLVM to compile
BLAS_WORK = 1 << 20
# ... when the GEMM needs its operands or its result copied (a convolution's windows, a transposed
# output): our loops on such strided reads run at a fraction of their matmul speed (LeNet's convolutions)
BLAS_WORK_COPIED = 1 << 18


def gemm_roles(sa: str, sb: str, so: str):
    """(batch, left, right, contracted, swapped) when einsum ``sa,sb->so`` is a batched matrix product:
    the GEMM writes batch + left + right, ``left`` the letters of the operand that comes first
    (``swapped``: that is b). That layout is ``so`` when it can be, else a permutation of it that the
    caller copies into place. None for diagonals, or sums within one operand."""
    if len(set(sa)) != len(sa) or len(set(sb)) != len(sb):
        return None
    batch = "".join(c for c in so if c in sa and c in sb)
    only_a = "".join(c for c in so if c in sa and c not in sb)
    only_b = "".join(c for c in so if c in sb and c not in sa)
    contracted = "".join(c for c in sa if c in sb and c not in so)
    if set(sa) != set(batch + only_a + contracted) or set(sb) != set(batch + only_b + contracted):
        return None
    if so != batch + only_a + only_b and so == batch + only_b + only_a:
        return batch, only_b, only_a, contracted, True
    return batch, only_a, only_b, contracted, False

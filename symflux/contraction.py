"""How contractions are scheduled: which loop goes innermost, the register tile, when to pack.

Pure functions over a contraction's letters, loop variables and product expression; the kernels
themselves are emitted by ``symflux.lower``.
"""

from __future__ import annotations

import numpy as np
import sympy

from codegen.kernel import loads

JAM = 4  # rows of a register tile
PACK_WORK = 1 << 16  # multiply-adds above which transposing operands for the dot form pays


def innermost(out_letters, contracted, var, product, out_index):
    """The loop letter to put innermost: the one along which most memory accesses are contiguous
    (unit stride), preferring the last output axis on ties."""
    accesses = [e.indices[0] for e in loads(product)]

    def unit_strides(letter):
        v = var[letter]
        count = sum(1 for index in accesses if sympy.diff(index, v) == 1)
        return count + (1 if letter in out_letters and sympy.diff(out_index, v) == 1 else 0)

    candidates = list(contracted) + list(out_letters)
    return max(reversed(candidates), key=unit_strides) if candidates else None


def tile(out_letters, inner, var, product, sizes):
    """The register tile for a contraction: up to two (letter, factor) pairs, outermost first."""
    offsets = [e.indices[0] for e in loads(product)]

    def shares_a_load(letter):  # unrolling it lets the unrolled rows share some operand's loads
        return any(not idx.has(var[letter]) for idx in offsets)

    tiles = []
    for letter in reversed(out_letters):
        if len(tiles) == 2 or letter == inner:
            continue
        if sizes[letter] >= JAM and shares_a_load(letter):
            tiles.insert(0, (letter, JAM))
    return tiles


def product_size(sizes) -> int:
    return int(np.prod(list(sizes.values())))

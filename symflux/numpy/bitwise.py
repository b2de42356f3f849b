"""NumPy's bitwise ufuncs (and the operators ``&``, ``|``, ``^``, ``~``, ``<<``, ``>>``): on the bits
of integers (two's complement, in the operands' common type), and on bools as NumPy's bool loops
compute them, logically (``~True`` is False); and ``gcd``/``lcm`` of integers. Floats are refused,
as NumPy refuses them."""

from __future__ import annotations

import numpy as np

from .. import functions as fn
from ._base import apply_elementwise, dtype_of
from .elementwise import logical_and, logical_not, logical_or, not_equal


def _kind(x) -> str:
    if isinstance(x, bool):
        return "b"
    return "i" if isinstance(x, int) else dtype_of(x).kind


def _checked(name, *xs, takes="biu") -> bool:
    """Whether every operand is a bool; raises, as NumPy does, for operands of kinds not in ``takes``."""
    kinds = [_kind(x) for x in xs]
    if any(k not in takes for k in kinds):
        types = ", ".join(str(np.result_type(x) if isinstance(x, (bool, int, float, complex)) else dtype_of(x))
                          for x in xs)
        accepted = "integers and bools" if "b" in takes else "integers"
        raise TypeError(f"ufunc '{name}' not supported for the input types ({types}): it takes {accepted}")
    return all(k == "b" for k in kinds)


def bitwise_and(x1, x2):
    """x1 & x2: the bits both have (``and`` of bools)."""
    return logical_and(x1, x2) if _checked("bitwise_and", x1, x2) else apply_elementwise(fn.bitwise_and, x1, x2)


def bitwise_or(x1, x2):
    """x1 | x2: the bits either has (``or`` of bools)."""
    return logical_or(x1, x2) if _checked("bitwise_or", x1, x2) else apply_elementwise(fn.bitwise_or, x1, x2)


def bitwise_xor(x1, x2):
    """x1 ^ x2: the bits exactly one has (``!=`` of bools)."""
    return not_equal(x1, x2) if _checked("bitwise_xor", x1, x2) else apply_elementwise(fn.bitwise_xor, x1, x2)


def invert(x):
    """~x: every bit flipped (−x − 1 for signed integers; ``not`` of bools)."""
    return logical_not(x) if _checked("invert", x) else apply_elementwise(fn.invert, x)


def left_shift(x1, x2):
    """x1 << x2 (0 once shifted past the type's width; bools are shifted as int8, as in NumPy)."""
    _checked("left_shift", x1, x2)
    return apply_elementwise(fn.left_shift, x1, x2)


def right_shift(x1, x2):
    """x1 >> x2, arithmetic for signed integers (past the width: 0, or −1 for negative x1)."""
    _checked("right_shift", x1, x2)
    return apply_elementwise(fn.right_shift, x1, x2)


bitwise_not = bitwise_invert = invert
bitwise_left_shift, bitwise_right_shift = left_shift, right_shift


def gcd(x1, x2):
    """The greatest common divisor of |x1| and |x2| (NumPy's ``gcd``: integers only)."""
    _checked("gcd", x1, x2, takes="iu")
    return apply_elementwise(fn.gcd, x1, x2)


def lcm(x1, x2):
    """The least common multiple of |x1| and |x2|, wrapping in their type (NumPy's ``lcm``)."""
    _checked("lcm", x1, x2, takes="iu")
    return apply_elementwise(fn.lcm, x1, x2)

"""symflux's random generator: behind ``sf.rand``/``sf.randn``, Dropout masks in the interpreter and
the seeds of compiled code's random numbers; ``sf.seed(n)`` makes all of them reproducible."""

from __future__ import annotations

import numpy as np

_generator = np.random.default_rng()


def generator() -> np.random.Generator:
    return _generator


def seed(n: int) -> None:
    """Reseed the generator behind ``sf.rand`` / ``sf.randn`` (and every random number symflux draws)."""
    global _generator
    _generator = np.random.default_rng(n)


def new_seed() -> int:
    """A seed for one compiled call's random numbers."""
    return int(_generator.integers(0, 2**63))

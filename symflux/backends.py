"""The one registry of backends, and what every backend's executable shares.

A backend name (``backend="llvm"``) maps to an executable class: ``cls(inputs, outputs, donate)``
turns a graph into a callable for fixed input shapes, ``exe(values)`` → output arrays. ``compile``
and ``train_step`` both build their callables here, by name; each backend's module registers itself
(``interp`` the reference interpreter, ``compile`` native CPU code, ``gpu`` CUDA).

Updating in place is one mechanism for every caller: the input positions in ``donate`` may be
overwritten by outputs of their shape and dtype (JAX's buffer donation). ``compile(…,
donate_argnums=…)`` donates arguments; a training step donates its parameters and optimiser state
and lists their new values first, in the same order, so each is written over its own array.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

_EXECUTABLES: dict[str, type] = {}
ALIASES = {None: "interpreter"}  # train_step(…, backend=None): the reference interpreter


def register(name: str, executable: type) -> None:
    """``executable(inputs, outputs, donate)`` compiles a graph; calling it with the input arrays
    returns the outputs."""
    _EXECUTABLES[name] = executable


def names() -> tuple:
    return tuple(_EXECUTABLES)


def executable(name: str | None, what: str = "compile") -> type:
    """The executable class of backend ``name``; a clear error naming the choices otherwise."""
    name = ALIASES.get(name, name)
    if name not in _EXECUTABLES:
        raise ValueError(f"{what}: unknown backend {name!r}; choose one of {names()}")
    return _EXECUTABLES[name]


def donation(inputs: Sequence, outputs: Sequence, donate: Iterable[int]) -> dict[int, int]:
    """{output position: input position}: each output, in order, takes the first donated input of
    its shape and dtype not taken yet; the rest get new memory."""
    free = sorted(set(donate))
    pairs = {}
    for k, out in enumerate(outputs):
        j = next((j for j in free if inputs[j].shape == out.shape and inputs[j].dtype == out.dtype), None)
        if j is not None:
            pairs[k] = j
            free.remove(j)
    return pairs


class Executable:
    """What the executables of every backend share: the donation map (``in_place``) and binding."""

    def __init__(self, inputs: Sequence, outputs: Sequence, donate: Iterable[int] = ()):
        self.inputs, self.outputs = list(inputs), list(outputs)
        self.in_place = donation(self.inputs, self.outputs, donate)

    n_inputs = property(lambda self: len(self.inputs))

    @classmethod
    def prepare(cls) -> None:
        """Start what the first compile will wait for (called when a compiled function or a training
        step is made, so it overlaps the first call's tracing)."""

    def bound(self, fixed: dict) -> Bound:
        """A caller for repeated calls whose inputs at the positions in ``fixed`` are always the
        given arrays: ``bound(values)`` passes ``values`` for the other inputs, in order."""
        return Bound(self, fixed)


class Bound:
    def __init__(self, exe: Executable, fixed: dict):
        self.exe, self.fixed = exe, fixed
        self.varying = [k for k in range(exe.n_inputs) if k not in fixed]

    def __call__(self, values) -> list:
        given = dict(zip(self.varying, values))
        return self.exe([self.fixed[k] if k in self.fixed else given[k] for k in range(self.exe.n_inputs)])

    def fast(self, result: int):
        """A C-level caller returning output ``result``; None where the backend has none."""
        return None

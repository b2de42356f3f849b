"""The one registry of backends: a name (``backend="llvm"``) → the executable class that turns a graph
into a callable for it. ``compile`` and ``train_step`` look backends up here; each backend's module
registers itself (``compile`` the CPU, ``gpu`` CUDA)."""

from __future__ import annotations

_EXECUTABLES: dict[str, type] = {}


def register(name: str, executable: type) -> None:
    """``executable(inputs, outputs, in_place)`` compiles a graph; calling it with the input arrays
    returns the outputs."""
    _EXECUTABLES[name] = executable


def names() -> tuple:
    return tuple(_EXECUTABLES)


def executable(name: str, what: str = "compile") -> type:
    """The executable class of backend ``name``; a clear error naming the choices otherwise."""
    if name not in _EXECUTABLES:
        raise ValueError(f"{what}: unknown backend {name!r}; choose one of {names()}")
    return _EXECUTABLES[name]

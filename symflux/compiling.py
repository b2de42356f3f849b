"""What every compile runs inside (``sf.compile``, ``train_step``): the cyclic collector paused, and a
progress line (tqdm: terminals and notebooks) for compiles that take more than a second, naming the
stage they are in."""

from __future__ import annotations

import contextlib
import contextvars
import gc
import time

from tqdm.auto import tqdm

SHOW_AFTER_S = 1.0


class _Line(tqdm):
    monitor_interval = 0  # no monitor thread: the line is redrawn at every stage


class _Progress:
    """One compile's line, drawn from the first stage that begins after ``SHOW_AFTER_S``."""

    def __init__(self, what: str):
        self.what, self.start, self.line = what, time.monotonic(), None

    def stage(self, name: str) -> None:
        elapsed = time.monotonic() - self.start
        if self.line is None and elapsed >= SHOW_AFTER_S:
            self.line = _Line(total=None, leave=False, bar_format="{desc}")
        if self.line is not None:
            self.line.set_description_str(f"compiling {self.what}: {name} ({elapsed:.1f} s)")

    def close(self) -> None:
        if self.line is not None:
            self.line.close()


_current: contextvars.ContextVar = contextvars.ContextVar("compile_progress", default=None)


@contextlib.contextmanager
def compiling(what: str):
    """Compiling ``what`` (a function's name). A compile inside another shows no line of its own."""
    if _current.get() is not None:
        yield
        return
    progress = _Progress(what)
    token = _current.set(progress)
    enabled = gc.isenabled()
    gc.disable()  # the SymPy objects a compile allocates all live to its end: full passes free nothing
    try:
        yield
    finally:
        if enabled:
            gc.enable()
        _current.reset(token)
        progress.close()


def stage(name: str) -> None:
    """The current compile is now doing ``name``: shown once the compile has taken a second."""
    progress = _current.get()
    if progress is not None:
        progress.stage(name)

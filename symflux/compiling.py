"""What every compile runs inside (``sf.compile``, ``train_step``): the cyclic collector paused, and a
progress line (tqdm: terminals and notebooks) for compiles that take more than a second, naming the
stage they are in."""

from __future__ import annotations

import contextlib
import contextvars
import gc
import threading

from tqdm.auto import tqdm

SHOW_AFTER_S = 1.0

_line: contextvars.ContextVar = contextvars.ContextVar("compile_progress", default=None)


@contextlib.contextmanager
def compiling(what: str):
    """Compiling ``what`` (a function's name). A compile inside another shows no line of its own."""
    if _line.get() is not None:
        yield
        return
    line = tqdm(total=None, desc=f"compiling {what}", delay=SHOW_AFTER_S, leave=False, mininterval=0,
                bar_format="{desc} [{elapsed}]{postfix}")
    shown = threading.Timer(SHOW_AFTER_S, line.refresh)  # a long stage still shows up after a second
    shown.daemon = True
    token = _line.set(line)
    enabled = gc.isenabled()
    gc.disable()  # the SymPy objects a compile allocates all live to its end: full passes free nothing
    try:
        shown.start()
        yield
    finally:
        if enabled:
            gc.enable()
        shown.cancel()
        _line.reset(token)
        line.close()


def stage(name: str) -> None:
    """The current compile is now doing ``name`` (shown once it has taken more than a second)."""
    line = _line.get()
    if line is not None:
        line.set_postfix_str(name, refresh=False)
        line.update(0)  # redraws only past the delay

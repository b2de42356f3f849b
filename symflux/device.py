"""``GPUArray``: an array that lives in GPU memory (made by ``sf.gpu``).

It holds a device buffer, a shape and a dtype, nothing else: its values are computed by functions
compiled with ``backend="cuda"``, which read and write it without copies. Inside such a function
(while it is traced) it stands for a graph input and supports every array operation; outside, it
acts as a read-only NumPy array whose values are copied to the host on use (``sf.cpu(x)`` makes
the copy explicit).
"""

from __future__ import annotations

import numpy as np

from . import trace
from .array import Trackable

_OPERATORS = ("add", "radd", "sub", "rsub", "mul", "rmul", "truediv", "rtruediv", "floordiv", "rfloordiv",
              "pow", "rpow", "matmul", "rmatmul", "mod", "rmod", "neg", "pos", "abs", "getitem",
              "lt", "le", "gt", "ge")


class GPUArray(Trackable):
    """GPUArray(buffer, shape, dtype, driver): ``shape``-shaped ``dtype`` values at ``buffer``."""

    __array_priority__ = 100  # NumPy defers mixed operations to us

    def __init__(self, buffer, shape, dtype, driver):
        self.buffer, self.shape, self.dtype, self.driver = buffer, tuple(shape), np.dtype(dtype), driver

    ndim = property(lambda self: len(self.shape))
    size = property(lambda self: int(np.prod(self.shape)))
    nbytes = property(lambda self: self.size * self.dtype.itemsize)

    def numpy(self) -> np.ndarray:
        """A host copy of the values."""
        host = np.empty(self.shape, self.dtype)
        self.driver.to_host(host, self.buffer)
        return host

    def host_value(self) -> np.ndarray:
        return self.numpy()

    def __array__(self, dtype=None, copy=None):
        host = self.numpy()
        return host if dtype is None else host.astype(dtype)

    def __float__(self):
        return float(self.numpy())

    def item(self):
        return self.numpy().item()

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of a 0-d GPUArray")
        return self.shape[0]

    def __repr__(self):
        return f"gpu({np.array2string(self.numpy(), separator=', ', threshold=20)}, dtype={self.dtype.name})"

    def _operand(self):
        """The traced value this array stands for inside a compiled function, else a host copy."""
        hit = trace.tracked(self) if trace._scopes else None
        return self.numpy() if hit is None else hit

    def __getattr__(self, name):  # .T, .reshape, .sum, …
        if name.startswith("__") or name in ("buffer", "shape", "dtype", "driver"):
            raise AttributeError(name)
        return getattr(self._operand(), name)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        inputs = tuple(x._operand() if isinstance(x, GPUArray) else x for x in inputs)
        return getattr(ufunc, method)(*inputs, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        args = tuple(x._operand() if isinstance(x, GPUArray) else x for x in args)
        return func(*args, **kwargs)


def _operator(name):
    dunder = f"__{name}__"

    def method(self, *args):
        return getattr(self._operand(), dunder)(*args)
    method.__name__ = dunder
    return method


for _name in _OPERATORS:
    setattr(GPUArray, f"__{_name}__", _operator(_name))

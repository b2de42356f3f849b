"""The GPU side of ``sf.compile``: ``gpu``/``cpu`` moving arrays and models, and ``CUDAExecutable``,
a graph lowered for the GPU, rendered as CUDA C and run by ``codegen.runtime.cuda``.

Source generation needs no GPU (``.source()``); running loads the runtime on first call, which
raises ``BackendUnavailable`` with what is missing when there is no GPU runtime.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from codegen import CUDARenderer
from codegen.runtime.cuda import default_cuda_runtime

from . import backends
from .array import Array
from .device import GPUArray
from .functor import fmap
from .ir import Node
from .lower import lower
from .rng import new_seed


def _upload(array: np.ndarray, driver) -> GPUArray:
    host = np.asarray(array, order="C")
    buffer = driver.alloc(host.nbytes)
    driver.to_device(buffer, host)
    return GPUArray(buffer, host.shape, host.dtype, driver)


def gpu(x: Any) -> Any:
    """gpu(x): ``x`` in GPU memory — an array becomes a ``GPUArray``; a model (or any container)
    becomes a copy whose arrays are (Flux's ``gpu``). Compiled ``backend="cuda"`` functions then
    read and update them in place, and return results on the GPU."""
    driver = default_cuda_runtime().driver
    move = lambda a: a if isinstance(a, GPUArray) else _upload(np.asarray(a), driver)
    if isinstance(x, (np.ndarray, list, int, float, np.generic)):
        return move(x)
    return fmap(move, x)


def cpu(x: Any) -> Any:
    """cpu(x): the inverse of ``gpu``: GPU arrays (also inside models) copied to host ``Array``s."""
    move = lambda a: a.numpy().view(Array) if isinstance(a, GPUArray) else a
    return move(x) if isinstance(x, GPUArray) else fmap(move, x)


class CUDAExecutable(backends.Executable):
    """A graph compiled for fixed input shapes as CUDA kernels: ``exe(values)`` → outputs.

    Inputs may be host arrays (copied in) or ``GPUArray``s (used in place). When any input is on
    the GPU the outputs stay there (``GPUArray``); otherwise they are copied back to the host.
    Outputs written over donated inputs overwrite their memory (a host input gets the new values
    copied back)."""

    def __init__(self, inputs: list[Node], outputs: list[Node], donate=()):
        super().__init__(inputs, outputs, donate)
        self.lowered = lower(self.inputs, self.outputs, self.in_place, target="gpu")
        self.module = CUDARenderer().render(self.lowered.program)
        self.program = None

    def source(self) -> str:
        return self.module.source

    def _load(self):
        if self.program is None:
            runtime = default_cuda_runtime()
            temps = [_nbytes(t.size, t.dtype) for t in self.lowered.program.temps]
            self.program = runtime.load(self.module, temps)
            self.driver = runtime.driver
            self.consts = [_upload(np.asarray(c.value, dtype=c.dtype), self.driver) for c in self.lowered.consts]
        return self.program

    def _argument(self, node, value) -> GPUArray:
        if isinstance(value, GPUArray):
            if value.shape != node.shape or value.dtype != node.dtype:
                raise ValueError(f"compiled for a {np.dtype(node.dtype).name} input of shape {node.shape}, got a "
                                 f"GPUArray of shape {value.shape} and dtype {value.dtype.name}")
            return value
        arr = np.asarray(value, dtype=node.dtype)
        if arr.shape != node.shape:
            raise ValueError(f"compiled for an input of shape {node.shape}, got {arr.shape}")
        return _upload(arr, self.driver)

    def __call__(self, values) -> list:
        program = self._load()
        args = [self._argument(n, v) for n, v in zip(self.lowered.inputs, values)] + self.consts
        if self.lowered.seed is not None:
            args.append(_upload(np.array([new_seed()], dtype=np.uint64), self.driver))
        outputs = [args[self.in_place[k]] if k in self.in_place else
                   GPUArray(self.driver.alloc(_nbytes(int(np.prod(o.shape)), o.dtype)), o.shape, o.dtype, self.driver)
                   for k, o in enumerate(self.lowered.outputs)]
        program([a.buffer.ptr for a in args + outputs])
        for k, j in self.in_place.items():  # host inputs updated in place get their new values
            if not isinstance(values[j], GPUArray):
                values[j][...] = outputs[k].numpy()
        if any(isinstance(v, GPUArray) for v in values):
            return outputs
        return [o.numpy() for o in outputs]


def _nbytes(count, dtype) -> int:
    return int(count) * np.dtype(dtype).itemsize


backends.register("cuda", CUDAExecutable)

"""The GPU runtime: rendered CUDA C → cubin (nvcc, disk-cached) → kernels launched in order.

The runtime needs little from a GPU — compile a module, allocate, copy, launch — and takes it
from a *driver*: ``PyCUDADriver`` (pycuda, a real GPU) or ``EmulatorDriver``
(``codegen.runtime.cuda_emulator``: the same CUDA C run on CPU threads, for machines without a
GPU and for testing). ``default_cuda_runtime()`` picks pycuda, or the emulator when
``SYMFLUX_CUDA_EMULATE=1``; without either it raises ``BackendUnavailable`` saying what is missing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading

import numpy as np

from ..cache import DiskCache
from .cuda_emulator import EmulatorDriver
from .device_memory import BackendUnavailable, DeviceBuffer
from .native import compile_with

INSTALL_HINT = ("install the GPU runtime with `pip install \"symflux[cuda]\"` (pycuda; with CUDA_ROOT set to the CUDA "
                "toolkit, see docs/backends.md); set SYMFLUX_CUDA_EMULATE=1 to run the CUDA kernels on the CPU; "
                "backend=\"llvm\" runs natively on the CPU")


def find_nvcc() -> str | None:
    """nvcc from $CUDA_ROOT / $CUDA_HOME / $CUDA_PATH, the PATH, or /usr/local/cuda."""
    for variable in ("CUDA_ROOT", "CUDA_HOME", "CUDA_PATH"):
        root = os.environ.get(variable)
        if root and os.path.exists(os.path.join(root, "bin", "nvcc")):
            return os.path.join(root, "bin", "nvcc")
    default = "/usr/local/cuda/bin/nvcc"
    return shutil.which("nvcc") or (default if os.path.exists(default) else None)


class PyCUDADriver:
    """The first CUDA GPU, through pycuda's driver API (the device's primary context, made current
    around each call so any thread may call)."""

    def __init__(self, cache: DiskCache | None = None):
        try:
            import pycuda.driver as cuda
        except ImportError as e:  # not installed, or installed without a CUDA driver (libcuda) to load
            raise BackendUnavailable(f"the CUDA backend needs pycuda and a CUDA driver ({e}): {INSTALL_HINT}") from e
        try:
            cuda.init()
            if cuda.Device.count() == 0:
                raise BackendUnavailable(f"pycuda found no CUDA GPU on this machine: {INSTALL_HINT}")
            self.device = cuda.Device(0)
            self.context = self.device.retain_primary_context()
        except cuda.Error as e:
            raise BackendUnavailable(f"no usable CUDA GPU ({e}): {INSTALL_HINT}") from e
        self.cuda, self.cache = cuda, cache or DiskCache()
        self.nvcc = find_nvcc()
        if self.nvcc is None:
            raise BackendUnavailable("the CUDA backend needs nvcc (set CUDA_ROOT to the CUDA toolkit)")
        major, minor = self.device.compute_capability()
        self.arch = f"sm_{major}{minor}"
        self.name = f"{self.device.name()} ({self.arch})"

    @contextlib.contextmanager
    def current(self):
        self.context.push()
        try:
            yield
        finally:
            self.cuda.Context.pop()

    def compile(self, module):
        cubin = compile_with([self.nvcc, f"-arch={self.arch}", "-cubin", "-O3"], module.kernels, ".cu", self.cache,
                             "kernel.cubin")
        with self.current():
            handle = self.cuda.module_from_buffer(cubin)
        functions = {}
        for launch in module.launches:
            functions[launch.kernel] = handle.get_function(launch.kernel)
            functions[launch.kernel].prepare("P" * len(module.params))
        return handle, functions

    def launch(self, compiled, kernel, blocks, threads, pointers):
        with self.current():
            compiled[1][kernel].prepared_call((blocks, 1, 1), (threads, 1, 1), *pointers)

    def alloc(self, nbytes: int) -> DeviceBuffer:
        with self.current():
            memory = self.cuda.mem_alloc(max(nbytes, 1))
        return DeviceBuffer(int(memory), nbytes, memory)

    def to_device(self, buffer: DeviceBuffer, host: np.ndarray):
        if host.nbytes:
            with self.current():
                self.cuda.memcpy_htod(buffer.ptr, host)

    def to_host(self, host: np.ndarray, buffer: DeviceBuffer):
        if host.nbytes:
            with self.current():
                self.cuda.memcpy_dtoh(host, buffer.ptr)

    def copy(self, dst: DeviceBuffer, src: DeviceBuffer, nbytes: int):
        if nbytes:
            with self.current():
                self.cuda.memcpy_dtod(dst.ptr, src.ptr, nbytes)

    def synchronize(self):
        with self.current():
            self.cuda.Context.synchronize()


class CUDAProgram:
    """A loaded module: ``program(pointers)`` launches every kernel on the program's buffers (device
    pointers, in ``Program.args`` order) and its temporaries, which live as long as it does."""

    def __init__(self, driver, module, temp_bytes: list[int]):
        self.driver, self.module = driver, module
        self.compiled = driver.compile(module)
        self.temps = [driver.alloc(n) for n in temp_bytes]
        self._lock = threading.Lock()  # the temporaries are shared: one call at a time

    def __call__(self, pointers):
        args = [*pointers, *(t.ptr for t in self.temps)]
        with self._lock:
            for launch in self.module.launches:
                self.driver.launch(self.compiled, launch.kernel, launch.blocks, launch.threads, args)


class CUDARuntime:
    def __init__(self, driver):
        self.driver = driver

    def load(self, module, temp_bytes: list[int]) -> CUDAProgram:
        return CUDAProgram(self.driver, module, temp_bytes)


_default: CUDARuntime | None = None
_default_lock = threading.Lock()


def default_cuda_runtime() -> CUDARuntime:
    """The process's GPU runtime (created on first use): pycuda on the first GPU, or the CPU
    emulator when the environment variable SYMFLUX_CUDA_EMULATE is 1."""
    global _default
    with _default_lock:
        if _default is None:
            if os.environ.get("SYMFLUX_CUDA_EMULATE") == "1":
                _default = CUDARuntime(EmulatorDriver())
            else:
                _default = CUDARuntime(PyCUDADriver())
        return _default


def reset_default_cuda_runtime() -> None:
    """Forget the default runtime (the next use chooses again, e.g. after changing the environment)."""
    global _default
    with _default_lock:
        _default = None

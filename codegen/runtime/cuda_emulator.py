"""Run generated CUDA C on the CPU: one OS thread per CUDA thread, a block at a time.

The kernels are compiled by the host C++ compiler against a small shim (``KERNEL_SHIM``) that
supplies the CUDA built-ins the renderer uses — ``threadIdx``, ``__syncthreads``,
``__shfl_down_sync`` (through per-thread slots and a per-warp barrier), ``atomicAdd``, ``__shared__``
(one static array per kernel, which is per block because blocks run one after another) — from a
support library (``SUPPORT``, compiled once). Device memory is host memory. Generated kernels
stride over their work by the grid, so the emulator launches at most ``MAX_BLOCKS`` blocks.

Slow by design, and exact in what it checks: thread indexing, the shuffle and shared-memory
reductions, the tiled multiply's cooperative loads, atomics and bounds, without a GPU.
"""

from __future__ import annotations

import ctypes
import functools
import os
import shutil

import numpy as np

from ..cache import DiskCache
from .device_memory import BackendUnavailable, DeviceBuffer
from .native import compile_with, load_library

MAX_BLOCKS = 2

SUPPORT = r"""
#include <barrier>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

struct uint3 { unsigned x, y, z; };
static thread_local uint3 thread_idx, block_idx;
static uint3 block_dim, grid_dim;
static std::unique_ptr<std::barrier<>> block_barrier;
static std::vector<std::unique_ptr<std::barrier<>>> warp_barriers;
static unsigned char slots[1024][8];
static std::mutex atomic_mutex, run_mutex;

extern "C" {
uint3 emu_thread_idx(void) { return thread_idx; }
uint3 emu_block_idx(void) { return block_idx; }
uint3 emu_block_dim(void) { return block_dim; }
uint3 emu_grid_dim(void) { return grid_dim; }
void emu_syncthreads(void) { block_barrier->arrive_and_wait(); }
void emu_syncwarp(void) { warp_barriers[thread_idx.x / 32]->arrive_and_wait(); }
void *emu_slot(unsigned t) { return slots[t]; }
void emu_lock(void) { atomic_mutex.lock(); }
void emu_unlock(void) { atomic_mutex.unlock(); }

void emu_run(unsigned blocks, unsigned threads, void (*kernel)(void **), void **args) {
    std::lock_guard<std::mutex> guard(run_mutex);
    grid_dim = {blocks, 1, 1};
    block_dim = {threads, 1, 1};
    for (unsigned b = 0; b < blocks; b++) {
        block_barrier = std::make_unique<std::barrier<>>(threads);
        warp_barriers.clear();
        for (unsigned w = 0; w * 32 < threads; w++)
            warp_barriers.push_back(std::make_unique<std::barrier<>>(std::min(32u, threads - 32 * w)));
        std::vector<std::thread> team;
        for (unsigned t = 0; t < threads; t++)
            team.emplace_back([=] { thread_idx = {t, 0, 0}; block_idx = {b, 0, 0}; kernel(args); });
        for (auto &thread : team) thread.join();
    }
}
}
"""

KERNEL_SHIM = r"""
#include <stdint.h>
#include <math.h>
#include <string.h>
struct uint3 { unsigned x, y, z; };
extern "C" {
uint3 emu_thread_idx(void); uint3 emu_block_idx(void); uint3 emu_block_dim(void); uint3 emu_grid_dim(void);
void emu_syncthreads(void); void emu_syncwarp(void); void *emu_slot(unsigned t);
void emu_lock(void); void emu_unlock(void);
}
#define threadIdx (emu_thread_idx())
#define blockIdx (emu_block_idx())
#define blockDim (emu_block_dim())
#define gridDim (emu_grid_dim())
#define __global__
#define __device__
#define __shared__ static
#define __launch_bounds__(n)
#define __syncthreads() emu_syncthreads()
#define __syncwarp() emu_syncwarp()
template <class T> static T __shfl_down_sync(unsigned, T value, int delta) {
    unsigned t = threadIdx.x;
    memcpy(emu_slot(t), &value, sizeof(T));
    emu_syncwarp();
    T result = value;
    if (t % 32 + delta < 32 && t + delta < blockDim.x) memcpy(&result, emu_slot(t + delta), sizeof(T));
    emu_syncwarp();
    return result;
}
template <class T> static T atomicAdd(T *address, T value) {
    emu_lock();
    T old = *address;
    *address = old + value;
    emu_unlock();
    return old;
}
"""


def _compiler() -> str:
    compiler = os.environ.get("CXX") or shutil.which("g++") or shutil.which("clang++")
    if compiler is None:
        raise BackendUnavailable("the CUDA emulator needs a C++20 compiler (g++ or clang++)")
    return compiler


@functools.cache
def _support(code: bytes) -> ctypes.CDLL:
    """The support library, loaded once per process: kernels resolve its symbols in the first copy
    loaded (RTLD_GLOBAL), so a second copy's launches would set thread indices they never read."""
    library = load_library(code, ctypes.RTLD_GLOBAL)
    library.emu_run.argtypes = [ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
    return library


class EmulatorDriver:
    """The driver interface of ``codegen.runtime.cuda`` over CPU threads and host memory."""

    name = "CUDA emulator (CPU threads)"

    def __init__(self, cache: DiskCache | None = None):
        self.cache, self.compiler = cache or DiskCache(), _compiler()
        flags = [self.compiler, "-std=c++20", "-O1", "-shared", "-fPIC", "-pthread"]
        self.support = _support(compile_with(flags, SUPPORT, ".cpp", self.cache, "support.so"))
        self.flags = flags + ["-Wno-unknown-pragmas"]
        self._libraries: list = []  # loaded kernels stay mapped

    def compile(self, module):
        trampolines = []
        for launch in module.launches:
            args = ", ".join(f"({ctype} *)a[{k}]" for k, (_, ctype) in enumerate(module.params))
            trampolines.append(f'extern "C" void emu_call_{launch.kernel}(void **a) {{ {launch.kernel}({args}); }}')
        source = KERNEL_SHIM + module.kernels + "\n" + "\n".join(trampolines) + "\n"
        library = load_library(compile_with(self.flags, source, ".cpp", self.cache, "kernels.so"))
        self._libraries.append(library)
        return {launch.kernel: ctypes.cast(getattr(library, f"emu_call_{launch.kernel}"), ctypes.c_void_p).value
                for launch in module.launches}

    def launch(self, compiled, kernel, blocks, threads, pointers):
        args = (ctypes.c_void_p * max(len(pointers), 1))(*pointers)
        self.support.emu_run(min(blocks, MAX_BLOCKS), threads, compiled[kernel], args)

    def alloc(self, nbytes: int) -> DeviceBuffer:
        memory = np.zeros(max(nbytes, 1), np.uint8)
        return DeviceBuffer(memory.ctypes.data, nbytes, memory)

    def to_device(self, buffer: DeviceBuffer, host: np.ndarray):
        ctypes.memmove(buffer.ptr, np.ascontiguousarray(host).ctypes.data, host.nbytes)

    def to_host(self, host: np.ndarray, buffer: DeviceBuffer):
        ctypes.memmove(host.ctypes.data, buffer.ptr, host.nbytes)

    def copy(self, dst: DeviceBuffer, src: DeviceBuffer, nbytes: int):
        ctypes.memmove(dst.ptr, src.ptr, nbytes)

    def synchronize(self):
        pass

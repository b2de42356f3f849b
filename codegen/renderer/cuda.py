"""CUDA C for a kernel ``Program``, over the same kernel language as the LLVM and C renderers.

Each top-level statement of the program becomes one ``__global__`` kernel (launch order is the
dependency order). A top-level loop whose iterations are independent becomes a grid-stride loop
over its variable, so any grid size covers it; other statements run on one thread. The host
entry point ``name(void *arg0, …)`` takes device pointers, allocates temporaries with
``cudaMalloc`` and launches the kernels in order on the default stream.
"""

from __future__ import annotations

from ..kernel import Loop, Program
from .c import CTYPE, CRenderer, KernelCPrinter

DEVICE_PRELUDE = """\
#include <stdint.h>
#include <math.h>
#include <cuda_runtime.h>

__device__ static inline double sf_sigmoid(double x) {
    double e = exp(-fabs(x));
    return x >= 0 ? 1 / (1 + e) : e / (1 + e);
}
__device__ static inline double sf_softplus(double x) { return (x > 0 ? x : 0) + log1p(exp(-fabs(x))); }
__device__ static inline double sf_uniform(uint64_t seed, uint64_t counter) {
    uint64_t z = seed + counter * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1.0p-53;
}
"""

THREADS_PER_BLOCK = 256
MAX_BLOCKS = 65535


class CUDARenderer(CRenderer):
    """``render(program)`` → CUDA C source (kernels and a host launcher)."""

    def render(self, program: Program, embed: dict | None = None) -> tuple[str, str]:
        if embed:
            raise ValueError("the CUDA renderer passes every buffer as a device pointer (nothing embedded)")
        self.printer = KernelCPrinter({"strict": False})
        buffers = program.args + program.temps
        params = ", ".join([f"{CTYPE[b.dtype]} *__restrict__ {b.name}" for b in buffers]
                           + [f"int64_t {s}" for s in program.sizes])
        names = ", ".join([b.name for b in buffers] + [str(s) for s in program.sizes])
        lines = [DEVICE_PRELUDE]
        launches = []
        for k, stmt in enumerate(program.body):
            kernel = f"{program.name}_k{k}"
            lines += [f'extern "C" __global__ void {kernel}({params}) {{', *self._kernel_body(stmt), "}", ""]
            grid = self._grid(stmt)
            launches.append(f"{kernel}<<<{grid}, {THREADS_PER_BLOCK if grid != '1' else 1}>>>({names});")
        host_params = ", ".join([f"void *{b.name}_ptr" for b in program.args] + [f"int64_t {s}" for s in program.sizes])
        host = [f'extern "C" int {program.name}({host_params}) {{']
        host += [f"    {CTYPE[b.dtype]} *{b.name} = ({CTYPE[b.dtype]} *){b.name}_ptr;" for b in program.args]
        host += [f"    {CTYPE[t.dtype]} *{t.name}; cudaMalloc((void **)&{t.name}, sizeof({CTYPE[t.dtype]}) * "
                 f"({self.printer.doprint(t.size)}));" for t in program.temps]
        host += ["    " + launch for launch in launches]
        host += [f"    cudaFree({t.name});" for t in program.temps]
        host += ["    return (int)cudaGetLastError();", "}"]
        return "\n".join(lines + host) + "\n", ""

    def _grid(self, stmt) -> str:
        if not isinstance(stmt, Loop) or not stmt.independent:
            return "1"
        if isinstance(stmt.extent, int):
            return str(max(1, min(MAX_BLOCKS, -(-stmt.extent // THREADS_PER_BLOCK))))
        blocks = f"((({self.printer.doprint(stmt.extent)}) + {THREADS_PER_BLOCK - 1}) / {THREADS_PER_BLOCK})"
        return f"(int)({blocks} < {MAX_BLOCKS} ? {blocks} : {MAX_BLOCKS})"

    def _kernel_body(self, stmt) -> list[str]:
        if isinstance(stmt, Loop) and stmt.independent:
            v, extent = stmt.var, self.printer.doprint(stmt.extent)
            head = (f"for (int64_t {v} = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; {v} < {extent}; "
                    f"{v} += (int64_t)gridDim.x * blockDim.x) {{")
            return ["    " + head, *["    " + line for line in self._block(stmt.body)], "    }"]
        return ["    " + line for line in self._stmt(stmt)]

"""CUDA C for a kernel ``Program``, over the same kernel language as the LLVM and C renderers.

Each top-level statement becomes one ``__global__`` kernel (launch order is dependency order),
printed in the shape ``codegen.opt.gpu_shapes`` chose for it (``program.kernel_shapes``): a thread per
element of a collapsed loop nest (``grid``), a warp or block per output of a long reduction
combined with warp shuffles and shared memory (``cooperative``), a team per row through a row's
phases (``phased``), a 128×128 output tile per block through shared memory with 8×8 outputs per
thread (``matmul``), a thread per iteration with ``atomicAdd`` (``atomic``), or one thread
(``single``).

Every kernel strides over its work by the grid, so it is correct for any number of blocks (the
runtime or an emulator may launch fewer). float32 programs print float arithmetic (``expf``,
``1.0F``). ``module.kernels`` compiles alone (to PTX/cubin); ``module.host`` adds a C entry point
``name(void *arg0, …)`` taking device pointers, which launches the kernels in order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import sympy
from sympy.codegen.ast import float32, real

from ..kernel import Program, UnsupportedExpression, loads
from ..opt.contraction import unit_stride
from ..opt.gpu_shapes import TILE, TILE_K, accumulation
from ..runtime import special
from ..target import CUDA
from .c import CTYPE, DIVMOD, CRenderer, KernelCPrinter

DEVICE_PRELUDE = """\
#include <stdint.h>
#include <math.h>
#include <type_traits>
#define SF_MAX(a, b) ((a) != (a) || (b) != (b) ? (a) + (b) : (a) > (b) ? (a) : (b))
#define SF_MIN(a, b) ((a) != (a) || (b) != (b) ? (a) + (b) : (a) < (b) ? (a) : (b))
#define SF_SIGN(x) ((x) > 0 ? 1 : (x) < 0 ? -1 : (x) == 0 ? 0 : (x))
""" + DIVMOD.replace("static inline", "__device__ static inline") + special.source("__device__ static inline") + """\
#define SF_DIVMOD(f, a, b) sf_divmod_pick(f##_d, f##_i, f##_u, a, b)
#define SF_SHIFT(f, a, b) sf_divmod_pick(f##_i, f##_i, f##_u, a, b)
template <class T> __device__ static inline T SF_ABS(T x) {
    if constexpr (std::is_floating_point<T>::value) return fabs(x);
    else if constexpr (std::is_unsigned<T>::value) return x;
    else return x < 0 ? -x : x;
}
template <class D, class I, class U, class A, class B>
__device__ static inline auto sf_divmod_pick(D d, I i, U u, A a, B b) {
    if constexpr (std::is_floating_point<decltype(a + b)>::value) return d(a, b);
    else if constexpr (std::is_same<decltype(a + b), unsigned long long>::value
                       || std::is_same<decltype(a + b), unsigned long>::value) return u(a, b);
    else return i(a, b);
}

template <class T> __device__ static inline T sf_sigmoid(T x) {
    T e = exp(-fabs(x));
    return x >= 0 ? 1 / (1 + e) : e / (1 + e);
}
template <class T> __device__ static inline T sf_softplus(T x) { return (x > 0 ? x : 0) + log1p(exp(-fabs(x))); }
__device__ static inline double sf_uniform(uint64_t seed, uint64_t counter) {
    uint64_t z = seed + counter * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1.0p-53;
}
"""

THREADS, WARP = CUDA.block_threads, CUDA.warp
MAX_BLOCKS = 65535
MICRO = TILE // 16  # 16×16 threads, each computing MICRO×MICRO outputs


@dataclass(frozen=True)
class Launch:
    kernel: str
    blocks: int
    threads: int


@dataclass
class CUDAModule:
    """Rendered CUDA C: ``kernels`` (device code), ``host`` (the C launcher) and the launches in order."""

    name: str
    kernels: str
    host: str
    launches: list
    params: list  # (name, C type) of every kernel parameter: the program's buffers, then its temporaries

    @property
    def source(self) -> str:
        return self.kernels + "\n" + self.host


class CUDAPrinter(KernelCPrinter):
    """Kernel expressions as CUDA C; with ``single=True`` real arithmetic is float32."""

    def __init__(self, single: bool):
        super().__init__({"strict": False, "type_aliases": {real: float32}} if single else {"strict": False})


class CUDARenderer(CRenderer):
    """``render(program)`` → a ``CUDAModule``."""

    def render(self, program: Program, embed: dict | None = None) -> CUDAModule:
        if embed:
            raise ValueError("the CUDA renderer passes every buffer as a device pointer (nothing embedded)")
        if program.sizes:
            raise UnsupportedExpression("CUDA kernels are rendered for fixed sizes (program.sizes must be empty)")
        if len(program.kernel_shapes) != len(program.body):
            raise ValueError("the program has no GPU kernel shapes: run codegen.opt.optimise(program, CUDA) first")
        buffers = program.args + program.temps
        floats = {b.dtype for b in buffers if b.dtype.startswith("float")}
        self.printer = CUDAPrinter(single=floats == {"float32"})
        self.declared = {}
        self.printer.buffers = {b.name: b.dtype for b in buffers}
        params = ", ".join(f"{CTYPE[b.dtype]} *{b.name}" for b in buffers)
        lines, launches = [DEVICE_PRELUDE], []
        for k, shape in enumerate(program.kernel_shapes):
            if shape.kind == "empty":  # no iterations
                continue
            body, blocks, threads = getattr(self, "_shape_" + shape.kind)(shape)
            name = f"{program.name}_k{k}"
            lines += [f'extern "C" __global__ void __launch_bounds__({threads}) {name}({params}) {{',
                      *["    " + line for line in body], "}", ""]
            launches.append(Launch(name, blocks, threads))
        return CUDAModule(program.name, "\n".join(lines), self._host(program, launches), launches,
                          [(b.name, CTYPE[b.dtype]) for b in buffers])

    def _host(self, program, launches) -> str:
        names = ", ".join(b.name for b in program.args + program.temps)
        lines = ["#include <cuda_runtime.h>",
                 f'extern "C" int {program.name}(' + ", ".join(f"void *{b.name}_ptr" for b in program.args) + ") {"]
        lines += [f"    {CTYPE[b.dtype]} *{b.name} = ({CTYPE[b.dtype]} *){b.name}_ptr;" for b in program.args]
        lines += [f"    {CTYPE[t.dtype]} *{t.name}; cudaMalloc((void **)&{t.name}, sizeof({CTYPE[t.dtype]}) * "
                  f"{max(int(t.size), 1)});" for t in program.temps]
        lines += [f"    {launch.kernel}<<<{launch.blocks}, {launch.threads}>>>({names});" for launch in launches]
        lines += [f"    cudaFree({t.name});" for t in program.temps]
        lines += ["    return (int)cudaGetLastError();", "}", ""]
        return "\n".join(lines)

    # -- kernel shapes (codegen.opt.gpu_shapes) ------------------------------------------------------
    def _shape_single(self, shape):
        return ["if (blockIdx.x == 0 && threadIdx.x == 0) {", *self._block(shape.body), "}"], 1, 1

    def _shape_grid(self, shape):
        return self._grid_stride(shape.levels, shape.body)

    def _grid_stride(self, levels, body):
        n = math.prod(e for _, e in levels)
        head = (f"for (int64_t gid = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; gid < {n}; "
                "gid += (int64_t)gridDim.x * blockDim.x) {")
        return [head, *self._unflatten("gid", levels), *self._block(body), "}"], _blocks(n, THREADS), THREADS

    def _shape_atomic(self, shape):
        self.atomic = True
        try:
            return self._grid_stride(shape.levels, shape.body)
        finally:
            self.atomic = False

    def _unflatten(self, flat, levels, indent="    ") -> list[str]:
        """Declarations of the nest's variables from a row-major flat index."""
        lines, stride = [], math.prod(n for _, n in levels)
        for k, (var, n) in enumerate(levels):
            stride //= n
            value = flat if stride == 1 else f"{flat} / {stride}"
            if k > 0 and n != 1:
                value = f"({value}) % {n}"
            lines.append(f"{indent}const int64_t {var} = {value if n != 1 else 0};")
        return lines

    def _shape_cooperative(self, shape):
        """A team per output (a warp, or the block for long reductions): strided shares, combined."""
        lets, red_levels, updates, tail = shape.parts
        lines = self._team_reduce(lets, red_levels, updates, shape.team)
        lines += ["if (lane == 0) {", *self._block(tail), "}"]
        return self._per_team(shape.levels, shape.team, lines)

    def _shape_phased(self, shape):
        """A team per row runs the row's phases in turn, synchronised between them, so the row
        never leaves the team."""
        team = shape.team
        sync = "__syncthreads();" if team == THREADS else "__syncwarp();"
        lines = []
        for k, (kind, nest, *rest) in enumerate(shape.parts):
            if kind == "reduce":
                lets, updates, stores = rest
                lines += self._team_reduce(lets, nest, updates, team, suffix=f"_{k}")
                lines += ["if (lane == 0) {", *self._block(stores), "}"]
            else:
                n = math.prod(e for _, e in nest)
                lines += [f"for (int64_t e{k} = lane; e{k} < {n}; e{k} += {team}) {{",
                          *self._unflatten(f"e{k}", nest), *self._block(rest[0]), "}"]
            lines.append(sync)  # what this phase stored is seen by the next
        return self._per_team(shape.levels, team, lines)

    def _per_team(self, levels, team, lines):
        """``lines`` run by a team of ``team`` threads (``lane`` in it) per iteration of ``levels``."""
        n = math.prod(e for _, e in levels)
        teams = THREADS // team
        head = [f"const int lane = threadIdx.x % {team};",
                f"for (int64_t gid = (int64_t)blockIdx.x * {teams} + threadIdx.x / {team}; gid < {n}; "
                f"gid += (int64_t)gridDim.x * {teams}) {{", *self._unflatten("gid", levels)]
        return head + ["    " + line for line in lines] + ["}"], _blocks(n, teams), THREADS

    def _team_reduce(self, lets, red_levels, updates, team, suffix="") -> list[str]:
        """The accumulators ``lets`` over ``red_levels`` shared by the team's lanes; lane 0 ends up
        with the totals (a block combines its warps' partials through shared memory)."""
        r = math.prod(n for _, n in red_levels)
        lines = [line for let in lets for line in self._stmt(let)]
        lines += [f"for (int64_t red{suffix} = lane; red{suffix} < {r}; red{suffix} += {team}) {{",
                  *self._unflatten(f"red{suffix}", red_levels), *self._block(updates), "}"]
        ops = {u.var: u.op for u in updates}
        for let in lets:
            lines += self._warp_combine(let.var, ops[let.var])
        if team > WARP:
            for a, let in enumerate(lets):
                lines += [f"__shared__ {CTYPE[let.dtype]} partial{suffix}_{a}[{THREADS // WARP}];",
                          f"if (threadIdx.x % {WARP} == 0) partial{suffix}_{a}[threadIdx.x / {WARP}] = {let.var};"]
            lines.append("__syncthreads();")
            for a, let in enumerate(lets):
                init = self.printer.doprint(let.value)
                lines += [f"{let.var} = threadIdx.x < {THREADS // WARP} ? partial{suffix}_{a}[threadIdx.x] : {init};",
                          *self._warp_combine(let.var, ops[let.var])]
            lines.append("__syncthreads();")
        return lines

    def _warp_combine(self, acc, op) -> list[str]:
        other = f"{acc}_other"
        step = (f"{acc} += {other};" if op == "add" else
                f"if ({other} {'>' if op == 'max' else '<'} {acc} || {other} != {other}) {acc} = {other};")
        return [f"for (int offset = {WARP // 2}; offset > 0; offset /= 2) {{",
                f"    auto {other} = __shfl_down_sync(0xffffffffu, {acc}, offset);", f"    {step}", "}"]

    def _shape_matmul(self, shape):
        """Σ_k A(m, k)·B(k, n) over a 128×128 tile of (m, n) per block, through shared memory."""
        (lets, red_levels, updates, tail), (a, b, m_vars, n_vars, batch_vars) = shape.parts
        extent = dict(shape.levels)
        m, n = math.prod(extent[v] for v in m_vars), math.prod(extent[v] for v in n_vars)
        k = math.prod(e for _, e in red_levels)
        m_levels = [(v, extent[v]) for v in m_vars]
        n_levels = [(v, extent[v]) for v in n_vars]
        batch_levels = [(v, extent[v]) for v in batch_vars]
        dtype = CTYPE[lets[0].dtype]
        m_tiles, n_tiles, batch = -(-m // TILE), -(-n // TILE), math.prod(e for _, e in batch_levels)
        tiles = m_tiles * n_tiles * batch
        lines = [f"__shared__ {dtype} a_tile[{TILE_K}][{TILE}];", f"__shared__ {dtype} b_tile[{TILE_K}][{TILE}];",
                 "const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;",
                 f"for (int64_t tile = blockIdx.x; tile < {tiles}; tile += gridDim.x) {{",
                 f"    const int64_t bz = tile / {m_tiles * n_tiles};",
                 f"    const int64_t m0 = tile / {n_tiles} % {m_tiles} * {TILE}, n0 = tile % {n_tiles} * {TILE};",
                 *self._unflatten("bz", batch_levels),
                 f"    {dtype} sums[{MICRO}][{MICRO}] = {{}};",
                 f"    for (int64_t k0 = 0; k0 < {k}; k0 += {TILE_K}) {{"]
        lines += self._load_tile("a_tile", a, "m0", m, m_levels, k, red_levels)
        lines += self._load_tile("b_tile", b, "n0", n, n_levels, k, red_levels)
        lines += ["        __syncthreads();",
                  "        #pragma unroll",
                  f"        for (int kk = 0; kk < {TILE_K}; kk++) {{",
                  f"            {dtype} a[{MICRO}], b[{MICRO}];",
                  "            #pragma unroll",
                  f"            for (int i = 0; i < {MICRO}; i++) {{ a[i] = a_tile[kk][ty + 16 * i]; "
                  "b[i] = b_tile[kk][tx + 16 * i]; }",
                  "            #pragma unroll",
                  f"            for (int i = 0; i < {MICRO}; i++)",
                  "                #pragma unroll",
                  f"                for (int j = 0; j < {MICRO}; j++) sums[i][j] += a[i] * b[j];",
                  "        }", "        __syncthreads();", "    }",
                  f"    for (int i = 0; i < {MICRO}; i++)",
                  f"        for (int j = 0; j < {MICRO}; j++) {{",
                  "            const int64_t m = m0 + ty + 16 * i, n = n0 + tx + 16 * j;",
                  f"            if (m >= {m} || n >= {n}) continue;",
                  *self._unflatten("m", m_levels, " " * 12), *self._unflatten("n", n_levels, " " * 12),
                  f"            {dtype} {lets[0].var} = sums[i][j];",
                  *["        " + line for line in self._block(tail)], "        }", "}"]
        return lines, min(tiles, MAX_BLOCKS), THREADS

    def _load_tile(self, tile, factors, origin, rows, row_levels, k, red_levels) -> list[str]:
        """Cooperative load of a TILE_K × TILE slice of one operand; consecutive threads read along
        whichever of (row, k) the operand is contiguous in."""
        value = sympy.Mul(*factors)
        offsets = [e.indices[0] for e in loads(value)]
        k_inner = red_levels and any(unit_stride(i, red_levels[-1][0]) for i in offsets)
        rr, kk = (f"l / {TILE_K}", f"l % {TILE_K}") if k_inner else (f"l % {TILE}", f"l / {TILE}")
        return [f"        for (int l = threadIdx.x; l < {TILE * TILE_K}; l += {THREADS}) {{",
                f"            const int rr = {rr}, kk = {kk};",
                f"            const int64_t row = {origin} + rr, k = k0 + kk;",
                f"            if (row < {rows} && k < {k}) {{",
                *self._unflatten("row", row_levels, " " * 16), *self._unflatten("k", red_levels, " " * 16),
                f"                {tile}[kk][rr] = {self.printer.doprint(value)};",
                f"            }} else {tile}[kk][rr] = 0;", "        }"]

    # -- statements -------------------------------------------------------------------------------------
    atomic = False

    def _stmt_Store(self, store):
        increment = accumulation(store) if self.atomic else None
        if increment is None:
            return super()._stmt_Store(store)
        ctype = CTYPE[store.buffer.dtype]
        index = self.printer.doprint(store.index)
        return [f"atomicAdd(&{store.buffer.name}[{index}], ({ctype})({self.printer.doprint(increment)}));"]


def _blocks(work: int, per_block: int) -> int:
    return max(1, min(MAX_BLOCKS, -(-work // per_block)))

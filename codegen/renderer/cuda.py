"""CUDA C for a kernel ``Program``, over the same kernel language as the LLVM and C renderers.

Each top-level statement becomes one ``__global__`` kernel (launch order is dependency order),
shaped by what the statement is:

- a nest of independent loops: one thread per element of the collapsed nest (a grid-stride loop,
  so any grid covers it);
- independent loops around a reduction (``Let acc; loops { Update acc }; Store``): when the
  reduction is long, a warp (or a whole block) per output element, each thread accumulating a
  strided share, combined with warp shuffles (and shared memory across warps);
- a reduction whose product splits into ``A(m, k) · B(k, n)`` over large ``m`` and ``n``: a
  128×128 output tile per block through shared memory, 8×8 outputs per thread;
- loops whose iterations may hit the same element and only accumulate (``x[i] = x[i] + v``):
  every iteration its own thread, with ``atomicAdd``;
- anything else: one thread.

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

from ..kernel import If, Let, Loop, Program, Store, UnsupportedExpression, Update, loads
from .c import CTYPE, DIVMOD, CRenderer, KernelCPrinter

DEVICE_PRELUDE = """\
#include <stdint.h>
#include <math.h>
#include <type_traits>
#define SF_MAX(a, b) ((a) != (a) || (b) != (b) ? (a) + (b) : (a) > (b) ? (a) : (b))
#define SF_MIN(a, b) ((a) != (a) || (b) != (b) ? (a) + (b) : (a) < (b) ? (a) : (b))
#define SF_SIGN(x) ((x) > 0 ? 1 : (x) < 0 ? -1 : (x))
""" + DIVMOD.replace("static inline", "__device__ static inline") + """\
#define SF_DIVMOD(f, a, b) sf_divmod_pick(f##_d, f##_i, f##_u, a, b)
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

THREADS = 256
WARP = 32
MAX_BLOCKS = 65535
TILE = 128  # output tile edge of the shared-memory matrix multiply
TILE_K = 8
MICRO = TILE // 16  # 16×16 threads, each computing MICRO×MICRO outputs
MIN_TILED = 16 * TILE * TILE  # outputs from which the tiled multiply beats a warp per output
COOPERATIVE = 64  # reduction length from which a warp shares one output
BLOCK_COOPERATIVE = 4096  # … and from which a whole block does


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


def _prod(values) -> int:
    return math.prod(int(v) for v in values)


def _nest(stmt, independent_only: bool):
    """The perfect loop nest at the top of ``stmt`` (only independent loops if asked):
    ([(var, extent), …], body statements)."""
    levels, body = [], (stmt,)
    while len(body) == 1 and isinstance(body[0], Loop) and (body[0].independent or not independent_only):
        levels.append((body[0].var, int(body[0].extent)))
        body = body[0].body
    return levels, body


def _reduction(body):
    """``(lets, levels, updates, tail)`` when ``body`` is ``Let accs; a loop nest of Updates to
    them; statements using them``, else None."""
    n_lets = 0
    while n_lets < len(body) and isinstance(body[n_lets], Let):
        n_lets += 1
    lets, rest = list(body[:n_lets]), list(body[n_lets:])
    if not lets or not rest:
        return None
    levels, updates = _nest(rest[0], independent_only=False)
    accs = {let.var for let in lets}
    if not levels or not all(isinstance(u, Update) and u.var in accs for u in updates):
        return None
    return lets, levels, list(updates), rest[1:]


def _phases(body):
    """``body`` as phases — ``("reduce", levels, lets, updates, row stores)`` or ``("map", levels,
    leaf statements)`` over independent inner loops — or None when it is anything else."""
    phases, rest = [], list(body)
    while rest:
        reduction = _reduction(rest)
        if reduction is not None:
            lets, levels, updates, tail = reduction
            n_stores = 0
            while n_stores < len(tail) and isinstance(tail[n_stores], Store):
                n_stores += 1
            phases.append(("reduce", levels, lets, updates, tail[:n_stores]))
            rest = tail[n_stores:]
            continue
        levels, leaf = _nest(rest[0], independent_only=True)
        if not levels or any(isinstance(s, (Loop, Let, Update)) for s in leaf):
            return None
        phases.append(("map", levels, list(leaf)))
        rest = rest[1:]
    return phases


def _accumulation(store):
    """The increment ``v`` of a float store ``x[i] = x[i] + v``, else None."""
    if not isinstance(store, Store) or not store.buffer.dtype.startswith("float"):
        return None
    increment = store.value - store.buffer[store.index]
    return None if increment.has(store.buffer[store.index]) else increment


def _accumulates_only(statements) -> bool:
    for s in statements:
        if isinstance(s, (Loop, If)):
            if not _accumulates_only(s.body):
                return False
        elif _accumulation(s) is None:
            return False
    return True


def _split_product(product, outer_vars):
    """``(a_factors, b_factors, m_vars, n_vars, batch_vars)`` when ``product`` multiplies factors
    over (m, k) with factors over (n, k), m and n disjoint and non-empty (vars in both sides, or in
    neither, are batch); else None."""
    outer = set(outer_vars)
    factors = sympy.Mul.make_args(product)
    sets = [f.free_symbols & outer for f in factors]
    with_outer = [s for s in sets if s]
    if len(with_outer) < 2:
        return None
    batch = set.intersection(*with_outer) | (outer - set.union(*with_outer))
    groups, shared = [], []  # groups: [vars, factors] joined when they share a non-batch var
    for f, s in zip(factors, sets):
        own = s - batch
        if not own:
            shared.append(f)
            continue
        joined = [g for g in groups if g[0] & own]
        merged = [set(own).union(*(g[0] for g in joined)), [f] + [x for g in joined for x in g[1]]]
        groups = [g for g in groups if g not in joined] + [merged]
    if len(groups) != 2:
        return None
    (m_set, a), (n_set, b) = groups
    return (a + shared, b, [v for v in outer_vars if v in m_set], [v for v in outer_vars if v in n_set],
            [v for v in outer_vars if v in batch])


class CUDARenderer(CRenderer):
    """``render(program)`` → a ``CUDAModule``."""

    SCALAR_TEMP = "auto"

    def render(self, program: Program, embed: dict | None = None) -> CUDAModule:
        if embed:
            raise ValueError("the CUDA renderer passes every buffer as a device pointer (nothing embedded)")
        if program.sizes:
            raise UnsupportedExpression("CUDA kernels are rendered for fixed sizes (program.sizes must be empty)")
        buffers = program.args + program.temps
        floats = {b.dtype for b in buffers if b.dtype.startswith("float")}
        self.printer = CUDAPrinter(single=floats == {"float32"})
        params = ", ".join(f"{CTYPE[b.dtype]} *{b.name}" for b in buffers)
        lines, launches = [DEVICE_PRELUDE], []
        for k, stmt in enumerate(program.body):
            kernel = self._kernel(stmt)
            if kernel is None:  # no iterations
                continue
            body, blocks, threads = kernel
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

    # -- kernel shapes ----------------------------------------------------------------------------------
    def _kernel(self, stmt):
        """(body lines, blocks, threads) for one top-level statement; None when it does nothing."""
        every, leaf = _nest(stmt, independent_only=False)
        if any(n == 0 for _, n in every):
            return None
        levels, body = _nest(stmt, independent_only=True)
        if len(levels) < len(every) and _accumulates_only(leaf):
            return self._atomic(every, leaf)
        if not levels:
            return ["if (blockIdx.x == 0 && threadIdx.x == 0) {", *self._block([stmt]), "}"], 1, 1
        phased = self._phased(levels, body)
        if phased is not None:
            return phased
        reduction = _reduction(body)
        if reduction is not None:
            tiled = self._tiled_matmul(levels, *reduction)
            if tiled is not None:
                return tiled
            if _prod(n for _, n in reduction[1]) >= COOPERATIVE:
                return self._cooperative(levels, *reduction)
        return self._grid_stride(levels, body)

    def _grid_stride(self, levels, body):
        n = _prod(e for _, e in levels)
        head = (f"for (int64_t gid = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; gid < {n}; "
                "gid += (int64_t)gridDim.x * blockDim.x) {")
        return [head, *self._unflatten("gid", levels), *self._block(body), "}"], _blocks(n, THREADS), THREADS

    def _atomic(self, levels, leaf):
        self.atomic = True
        try:
            return self._grid_stride(levels, leaf)
        finally:
            self.atomic = False

    def _unflatten(self, flat, levels, indent="    ") -> list[str]:
        """Declarations of the nest's variables from a row-major flat index."""
        lines, stride = [], _prod(n for _, n in levels)
        for k, (var, n) in enumerate(levels):
            stride //= n
            value = flat if stride == 1 else f"{flat} / {stride}"
            if k > 0 and n != 1:
                value = f"({value}) % {n}"
            lines.append(f"{indent}const int64_t {var} = {value if n != 1 else 0};")
        return lines

    def _cooperative(self, levels, lets, red_levels, updates, tail):
        """A warp (long reductions: a block) per output; threads take strided shares, then combine."""
        r = _prod(n for _, n in red_levels)
        team = THREADS if r >= BLOCK_COOPERATIVE else WARP
        lines = self._team_reduce(lets, red_levels, updates, team)
        lines += ["if (lane == 0) {", *self._block(tail), "}"]
        return self._per_team(levels, team, lines)

    def _phased(self, levels, body):
        """Rows whose body is a sequence of row reductions and row maps (softmax: max, sum of
        exponentials, normalise) in one kernel: a team of threads per row runs the phases in turn,
        synchronised between them, so the row never leaves the team. None for other bodies."""
        phases = _phases(body)
        if phases is None or len(phases) < 2:
            return None
        longest = max(_prod(n for _, n in phase[1]) for phase in phases)
        if longest < COOPERATIVE:
            return None
        team = THREADS if longest >= BLOCK_COOPERATIVE else WARP
        sync = "__syncthreads();" if team == THREADS else "__syncwarp();"
        lines = []
        for k, (kind, nest, *rest) in enumerate(phases):
            if kind == "reduce":
                lets, updates, stores = rest
                lines += self._team_reduce(lets, nest, updates, team, suffix=f"_{k}")
                lines += ["if (lane == 0) {", *self._block(stores), "}"]
            else:
                n = _prod(e for _, e in nest)
                lines += [f"for (int64_t e{k} = lane; e{k} < {n}; e{k} += {team}) {{",
                          *self._unflatten(f"e{k}", nest), *self._block(rest[0]), "}"]
            lines.append(sync)  # what this phase stored is seen by the next
        return self._per_team(levels, team, lines)

    def _per_team(self, levels, team, lines):
        """``lines`` run by a team of ``team`` threads (``lane`` in it) per iteration of ``levels``."""
        n = _prod(e for _, e in levels)
        teams = THREADS // team
        head = [f"const int lane = threadIdx.x % {team};",
                f"for (int64_t gid = (int64_t)blockIdx.x * {teams} + threadIdx.x / {team}; gid < {n}; "
                f"gid += (int64_t)gridDim.x * {teams}) {{", *self._unflatten("gid", levels)]
        return head + ["    " + line for line in lines] + ["}"], _blocks(n, teams), THREADS

    def _team_reduce(self, lets, red_levels, updates, team, suffix="") -> list[str]:
        """The accumulators ``lets`` over ``red_levels`` shared by the team's lanes; lane 0 ends up
        with the totals (a block combines its warps' partials through shared memory)."""
        r = _prod(n for _, n in red_levels)
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

    def _tiled_matmul(self, levels, lets, red_levels, updates, tail):
        """Σ_k A(m, k)·B(k, n) over a 128×128 tile of (m, n) per block, through shared memory."""
        if len(lets) != 1 or len(updates) != 1 or updates[0].op != "add":
            return None
        split = _split_product(updates[0].value, [v for v, _ in levels])
        if split is None:
            return None
        a, b, m_vars, n_vars, batch_vars = split
        extent = dict(levels)
        m, n, k = _prod(extent[v] for v in m_vars), _prod(extent[v] for v in n_vars), _prod(e for _, e in red_levels)
        if m * n < MIN_TILED or min(m, n) < TILE // 2 or k < TILE_K:
            return None
        m_levels = [(v, extent[v]) for v in m_vars]
        n_levels = [(v, extent[v]) for v in n_vars]
        batch_levels = [(v, extent[v]) for v in batch_vars]
        dtype = CTYPE[lets[0].dtype]
        m_tiles, n_tiles, batch = -(-m // TILE), -(-n // TILE), _prod(e for _, e in batch_levels)
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
        k_inner = red_levels and any(sympy.diff(i, red_levels[-1][0]) == 1 for i in offsets)
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
        increment = _accumulation(store) if self.atomic else None
        if increment is None:
            return super()._stmt_Store(store)
        ctype = CTYPE[store.buffer.dtype]
        index = self.printer.doprint(store.index)
        return [f"atomicAdd(&{store.buffer.name}[{index}], ({ctype})({self.printer.doprint(increment)}));"]


def _blocks(work: int, per_block: int) -> int:
    return max(1, min(MAX_BLOCKS, -(-work // per_block)))

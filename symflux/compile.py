"""``sf.compile``: any traceable function — an expression, a gradient, a model, a training step —
as one native callable, specialised on the shapes and dtypes it is called with.

Arrays the function reads (a model's parameters) become inputs bound at every call, so updating
them in place (training) is seen by the compiled function and nothing is copied. Each signature
is traced, fused, lowered and compiled once; object code is also cached on disk.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from codegen import CRenderer, LLVMRenderer, default_runtime
from codegen.runtime import pool
from codegen.runtime.cuda import BackendUnavailable  # noqa: F401  (sf.BackendUnavailable)
from codegen.runtime.fastcall import dispatcher
from codegen.target import cpu

from . import backends, dask_arrays, ops, pytree, trace
from .array import Array, Tracer, TracingError, copied
from .compiling import compiling, stage
from .device import GPUArray
from .ir import Node
from .lower import lower
from .rng import new_seed
from .simplify import fuse, substitute
from .tracing import Trace, arg_names


def set_num_threads(n: int | None) -> None:
    """set_num_threads(n): compiled code runs its parallel loops on at most ``n`` threads from now on;
    None goes back to the default — ``OMP_NUM_THREADS`` when it is set (read at every call, so a Dask
    worker or an MPI rank that sets it is not oversubscribed), else up to the cores (at most 8)."""
    pool.set_num_threads(n)


class Executable(backends.Executable):
    """A graph compiled to native CPU code for fixed input shapes: ``exe(arrays)`` → output arrays.
    Outputs written over donated inputs are computed after every other kernel.

    It pickles as its object code, its LLVM IR (recompiled where the object code does not fit the
    machine: another CPU or LLVM) and its constants — no graph; unpickling links the code, once per
    process for the same bytes. Loading object code runs it: unpickle only what you trust."""

    def __init__(self, inputs: list[Node], outputs: list[Node], donate=()):
        super().__init__(inputs, outputs, donate)
        stage("lowering")
        lowered = lower(self.inputs, self.outputs, self.in_place)
        program = lowered.program
        self.input_specs = [(n.shape, n.dtype) for n in lowered.inputs]
        self.output_specs = [(o.shape, o.dtype) for o in lowered.outputs]
        self.has_seed, self.n_args, self.entry = lowered.seed is not None, len(program.args), program.name
        self.consts = [np.ascontiguousarray(c.value, dtype=c.dtype) for c in lowered.consts]
        stage("rendering LLVM IR")
        self.ir = LLVMRenderer(threads=cpu().threads).render_parts(program, default_runtime().parts)
        self._load(default_runtime().object_code(self.ir, lambda done, n: stage(f"LLVM {done}/{n} modules")))

    @classmethod
    def prepare(cls) -> None:
        default_runtime()  # starts LLVM's optimiser process while the first call traces

    def _load(self, object_code: bytes):
        self.object_code = object_code
        self.code = default_runtime().link_object(object_code, [self.entry, self.entry + "_packed"])
        self.function = self.code.function(0, self.n_args)
        self.packed_address = self.code.addresses[1]

    n_inputs = property(lambda self: len(self.input_specs))

    def __getstate__(self):
        state = {k: v for k, v in vars(self).items() if k not in ("inputs", "outputs", "code", "function",
                                                                  "packed_address")}
        state["toolchain"] = default_runtime().toolchain
        state["pool"] = pool.library_code() if pool.called_by(self.object_code) else None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.inputs = self.outputs = None  # the graph stays where it was traced

    def __getattr__(self, name):
        """The code is linked at the first call after unpickling, not before: a pickle may carry
        signatures this process never calls."""
        if name not in ("code", "function", "packed_address") or "toolchain" not in self.__dict__:
            raise AttributeError(name)
        toolchain, shipped_pool = self.__dict__.pop("toolchain"), self.__dict__.pop("pool")
        if shipped_pool is not None:
            pool.provide(shipped_pool)
        runtime = default_runtime()
        self._load(self.object_code if toolchain == runtime.toolchain else runtime.object_code(self.ir))
        return getattr(self, name)

    def _arguments(self, arrays) -> list[np.ndarray]:
        args = []
        for (shape, dtype), value in zip(self.input_specs, arrays):
            arr = np.asarray(value, dtype=dtype, order="C")
            if arr.shape != shape:
                raise ValueError(f"compiled for an input of shape {shape}, got {arr.shape}")
            args.append(arr)
        return args + self.consts

    def _seed(self) -> list:
        return [np.array([new_seed()], dtype=np.uint64)] if self.has_seed else []

    def __call__(self, arrays) -> list[np.ndarray]:
        args = self._arguments(arrays)
        outputs = [args[self.in_place[k]] if k in self.in_place else np.empty(shape, dtype=dtype)
                   for k, (shape, dtype) in enumerate(self.output_specs)]
        buffers = args + self._seed() + outputs
        self.function(*[a.ctypes.data for a in buffers])
        return outputs

    def bound(self, fixed: dict) -> BoundExecutable:
        """A fast caller for repeated calls: inputs at positions in ``fixed`` are always the given
        arrays (their pointers are taken once), the others are copied into persistent buffers,
        and outputs go to persistent buffers (valid until the next call; not re-entrant)."""
        return BoundExecutable(self, fixed)

    def source(self) -> str:
        return "\n".join(self.ir)


backends.register("llvm", Executable)


class BoundExecutable(backends.Bound):
    def __init__(self, exe: Executable, fixed: dict):
        super().__init__(exe, fixed)
        specs = exe.input_specs
        self.inputs = [fixed[k] if k in fixed else np.empty(shape, dtype) for k, (shape, dtype) in enumerate(specs)]
        self.copied = [(k, self.inputs[k]) for k in range(len(specs)) if k not in fixed]
        self.outputs = [self.inputs[exe.in_place[k]] if k in exe.in_place else np.empty(shape, dtype)
                        for k, (shape, dtype) in enumerate(exe.output_specs)]
        self.seed = exe._seed()
        buffers = self.inputs + exe.consts + self.seed + self.outputs
        self.buffers = buffers
        self.pointers = [a.ctypes.data for a in buffers]

    def fast(self, result: int):
        """A C-level caller (``codegen.runtime.fastcall``) taking the copied inputs' arrays in place
        and returning output ``result`` as a scalar, or NotImplemented for arguments that do not fit;
        None when unavailable (no extension, or random numbers that need a new seed per call)."""
        if self.seed:
            return None
        arg_slots = [k for k, _ in self.copied]
        return dispatcher(self.exe.packed_address, self.buffers, arg_slots, self.outputs[result], owner=self.exe.code)

    def __call__(self, values) -> list[np.ndarray]:
        for (_, buf), value in zip(self.copied, values):
            np.copyto(buf, value, casting="same_kind")
        if self.seed:
            self.seed[0][0] = new_seed()
        self.exe.function(*self.pointers)
        return self.outputs


class Traced:
    """``f`` traced on arguments like ``args``: graph inputs (the arguments' arrays, then the arrays
    the function read) and outputs, and the structure to rebuild results in.

    Layer state the function assigns (``trace.set_state``: running statistics, recurrent state) is
    computed as extra outputs, assigned after each call (``trace.assign_state``), and read afresh at each
    call, so a compiled model advances its state exactly as the model does."""

    def __init__(self, f, args, static=()):
        try:
            t = Trace(f, args, [i for i in range(len(args)) if i not in static], read_as_inputs=True)
        except TracingError as e:
            names = arg_names(f, len(args))
            numbers = [f"{names[i]!r} (position {i})" for i, a in enumerate(args)
                       if i not in static and isinstance(a, (int, float)) and not isinstance(a, bool)]
            if not numbers:
                raise
            raise TracingError(
                f"{e}\nWhile compiling, the Python numbers {', '.join(numbers)} are traced as 0-d arrays. "
                "If one is a shape, a size or an index, make it static: sf.compile(f, static_argnums=(…))"
            ) from None
        self.structure, self.arrays = t.out_tree, t.arrays
        # one entry per argument leaf (None for static ones), to bind call values in order
        self.leaves = [lf for i, a in enumerate(args)
                       for lf in ([None] * pytree.flatten(a)[1].num_leaves if i in static else t.leaves_per_arg[i])]
        self.leaf_args = [i for i, a in enumerate(args) for _ in range(pytree.flatten(a)[1].num_leaves)]
        self.arg_inputs = [lf.node for lf in t.leaves]
        self.array_inputs = t.array_inputs
        self.state = trace.last_assignments(t.updates)
        self.state_sources = trace.state_sources(self.state, t.arrays)
        nodes = [v.node if isinstance(v, Tracer) else trace.operand_node(v) for v in t.flat_out]
        nodes += [trace.operand_node(v) for _, _, value, _ in self.state for _, v in trace.state_parts(value)]
        self.outputs = fuse(nodes)
        self.n_results = len(nodes) - sum(len(trace.state_parts(value)) for _, _, value, _ in self.state)

    def current_arrays(self):
        """The arrays to bind at a call (``trace.current_arrays``); None when the trace no longer fits."""
        return trace.current_arrays(self.arrays, self.state_sources)




class _Signature:
    """A function compiled for one signature of arguments: its executable, and what a call binds and
    rebuilds (which argument leaves are inputs, the arrays it reads, its layer state, the result
    structure). It holds no graph, so it pickles with the executable's object code."""

    def __init__(self, f, args, backend="llvm", static=(), donate=()):
        with compiling(getattr(f, "__name__", type(f).__name__)):
            stage("tracing")
            t = Traced(f, args, static)
            inputs = t.arg_inputs + t.array_inputs
            self.executable = backends.executable(backend)(inputs, t.outputs, _donated(t, donate))
        self.leaf_mask = [lf is not None for lf in t.leaves]
        self.structure, self.arrays, self.n_results = t.structure, t.arrays, t.n_results
        self.state_sources = t.state_sources
        # what assign_state needs of each assignment: the object, the attribute, one slot per part
        self.state = [(obj, attr, tuple(None for _ in value) if isinstance(value, tuple) else None, None)
                      for obj, attr, value, _ in t.state]

    def current_arrays(self):
        """The arrays to bind at a call (``trace.current_arrays``); None when the trace no longer fits."""
        return trace.current_arrays(self.arrays, self.state_sources)

    def run(self, args, arrays):
        values = [v for v, bound in zip(pytree.flatten(args)[0], self.leaf_mask) if bound]
        outputs = _as_results(self.executable(values + arrays))
        trace.assign_state(self.state, outputs[self.n_results:], copied)
        return pytree.unflatten(self.structure, outputs[:self.n_results])

    @property
    def portable(self) -> bool:
        """Whether it pickles as compiled code (the CPU backend's executables do)."""
        return isinstance(self.executable, Executable)


def _donated(t: Traced, donate) -> list[int]:
    """The graph input positions of the array leaves of the arguments at ``donate``."""
    arg_leaves = [owner for lf, owner in zip(t.leaves, t.leaf_args) if lf is not None]
    return [k for k, owner in enumerate(arg_leaves) if owner in donate]


class Compiled:
    """``sf.compile(f, backend="llvm")``: call it like ``f``; compiles per argument signature. Its
    one child is ``f`` (so ``params(sf.compile(model))`` are the model's parameters)."""

    __functor_fields__ = ("f",)

    def __init__(self, f, backend="llvm", static_argnums=(), donate_argnums=(), static_argnames=()):
        backends.executable(backend).prepare()  # an unknown name fails here, not at the first call
        self.f, self.backend = f, backend
        self.static_names = (static_argnames,) if isinstance(static_argnames, str) else tuple(static_argnames)
        self.static = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)
        self.static += tuple(i for i, name in enumerate(arg_names(f))
                             if name in self.static_names and i not in self.static)
        self.donate = (donate_argnums,) if isinstance(donate_argnums, int) else tuple(donate_argnums)
        self._signatures: dict = {}
        self._last = None

    def _signature(self, args, keywords=False, static_keywords=None):
        """(the compiled signature for ``args``, the arrays to bind for this call). With ``keywords``
        the last argument is the dict of keyword arguments; ``static_keywords`` are passed as they are."""
        key = tuple(("static", a) if i in self.static else _key(a) for i, a in enumerate(args))
        key += (pytree.flatten(args)[1], keywords, tuple(sorted((static_keywords or {}).items())))
        sig = self._signatures.get(key)
        arrays = sig.current_arrays() if sig is not None else None
        if arrays is None:  # new arguments, or state of a new shape
            f = _WithKeywords(self.f, static_keywords or {}, keywords) if keywords or static_keywords else self.f
            sig = self._signatures[key] = _Signature(f, args, self.backend, self.static, self.donate)
            arrays = sig.current_arrays()
        self._last = sig
        return sig, arrays

    def __call__(self, *args, **kwargs):
        if trace._scopes or trace.any_traced(pytree.flatten((args, kwargs))[0]):
            # inside gradient, compile, vmap…: a compiled function is its function, traced through
            return self.f(*args, **kwargs)
        if not kwargs and any(trace.is_dask(a) for a in pytree.flatten(args)[0]):
            return dask_arrays.call(self, args)
        static = {k: v for k, v in kwargs.items() if k in self.static_names}
        traced = {k: v for k, v in kwargs.items() if k not in static}
        if traced:  # traced like positional ones (as jax.jit does): one more argument, their dict
            args = args + (traced,)
        sig, arrays = self._signature(args, bool(traced), static)
        return sig.run(args, arrays)

    def lower(self, *example_args):
        """Trace and compile for ``example_args`` without running; ``.source()`` shows the code
        (LLVM IR, or CUDA C for ``backend="cuda"``, which needs no GPU)."""
        return self._signature(example_args)[0].executable

    def source(self) -> str:
        if self._last is None:
            raise ValueError("nothing compiled yet: call the function or .lower(*example_args) first")
        return self._last.executable.source()

    def __repr__(self):
        return f"compile({getattr(self.f, '__name__', self.f)!r}, backend={self.backend!r})"

    def __copy__(self):
        """A copy compiles afresh: ``fmap`` (``sf.f32``, ``sf.gpu``) gives it a new model."""
        return Compiled(self.f, self.backend, self.static, self.donate, self.static_names)

    def __reduce__(self):
        """A compiled function pickles as its function and options (the function must pickle: a
        model, a module-level function, or any function under cloudpickle, which Dask uses) with
        the object code of the signatures it has compiled, so the other process runs them without
        tracing or compiling again. The arrays the function reads travel once, as data, with it."""
        compiled = {key: sig for key, sig in self._signatures.items() if sig.portable}
        return _restored, (self.f, self.backend, self.static, self.donate, compiled, self.static_names)


class _WithKeywords:
    """``f`` with the ``static`` keyword arguments and, when given, the others as a last, dict
    argument (picklable as ``f``)."""

    def __init__(self, f, static: dict, traced: bool):
        self.f, self.static, self.traced = f, static, traced

    def __call__(self, *args):
        if self.traced:
            return self.f(*args[:-1], **self.static, **args[-1])
        return self.f(*args, **self.static)


def _restored(f, backend, static, donate, signatures, static_names=()) -> Compiled:
    compiled = Compiled(f, backend, static, donate, static_names)
    compiled._signatures.update(signatures)
    return compiled


def compile(f: Callable[..., Any], backend: str = "llvm", static_argnums=(), donate_argnums=(),  # noqa: A001
            static_argnames=()) -> Compiled:
    """compile(f, backend="llvm", static_argnums=(), donate_argnums=(), static_argnames=()): f as native
    code, specialised lazily on argument shapes and dtypes, as with ``jax.jit``. ``backend`` names a
    registered backend: ``"llvm"`` (CPU), ``"cuda"`` (GPU) or ``"interpreter"`` (the NumPy reference,
    for debugging). Arguments at ``static_argnums`` or named in ``static_argnames`` (shapes, sizes,
    flags; positional or keyword) are passed as they are and compiled for each value; other keyword
    arguments are traced like positional ones; the arrays of arguments at ``donate_argnums`` may be
    overwritten by results of their shape and dtype, which are then returned in them (an update in
    place: ``w = step(w, x)`` allocates nothing)."""
    return Compiled(f, backend, static_argnums, donate_argnums, static_argnames)


class CExport:
    """C source and header of a function with its parameters embedded (see ``export_c``)."""

    def __init__(self, name, c, h, inputs, outputs):
        self.name, self.c, self.h, self.inputs, self.outputs = name, c, h, inputs, outputs

    def write(self, directory: str) -> tuple[str, str]:
        """Write ``name.c`` and ``name.h`` into ``directory``; returns their paths."""
        paths = os.path.join(directory, self.name + ".c"), os.path.join(directory, self.name + ".h")
        for path, text in zip(paths, (self.c, self.h)):
            with open(path, "w") as f:
                f.write(text)
        return paths


def export_c(f: Callable[..., Any], *example_args: Any, name: str = "model") -> CExport:
    """export_c(f, *example_args, name="model"): ``f`` as a C function for inputs shaped like the
    examples, with every array it reads (a trained model's parameters) embedded as constants.

    ABI (also documented in the header): ``void name(void *in0, …, void *out0, …)``, one pointer per
    input then per output, each a contiguous row-major array of the documented dtype and size."""
    if not name.isidentifier():
        raise ValueError(f"export_c: name must be a C identifier, got {name!r}")
    t = Traced(f, example_args)
    embedded = {node: ops.const(np.asarray(a)) for node, a in zip(t.array_inputs, t.arrays)}
    outputs = substitute(t.outputs, embedded) if embedded else t.outputs
    lowered = lower(t.arg_inputs, outputs)
    lowered.program.name = name
    embed = {b.name: c.value for b, c in zip(lowered.program.args[len(t.arg_inputs):], lowered.consts)}
    c_source, header = CRenderer().render(lowered.program, embed)
    return CExport(name, c_source, header, [(n.shape, n.dtype) for n in t.arg_inputs],
                   [(n.shape, n.dtype) for n in outputs])


def llvm(model: Callable[..., Any]) -> Compiled:
    """The 2017 conversion: ``sf.llvm(m)`` runs m as compiled CPU code."""
    return Compiled(model, "llvm")


def cuda(model: Callable[..., Any]) -> Compiled:
    """The 2017 conversion: ``sf.cuda(m)`` runs m as CUDA kernels (pycuda); ``.lower(x).source()``
    shows them on any machine. Without a GPU runtime a call raises ``BackendUnavailable``."""
    return Compiled(model, "cuda")


# -- argument and result structure ---------------------------------------------------------------------

def _key(a):
    """What a compiled signature depends on: each leaf's shape and dtype, or its value if static."""
    return tuple(_leaf_key(v) for v in pytree.flatten(a)[0])


def _leaf_key(a):
    if isinstance(a, GPUArray):
        return ("gpu", a.shape, a.dtype.str)
    if isinstance(a, (np.ndarray, list)) or isinstance(a, (int, float, np.generic)) and not isinstance(a, bool):
        arr = np.asarray(a)
        return ("array", arr.shape, arr.dtype.str)
    return ("static", a)


def _as_results(arrays):
    return [a if isinstance(a, GPUArray) else a[()] if a.ndim == 0 else a.view(Array) for a in arrays]


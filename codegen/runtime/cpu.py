"""The CPU runtime: LLVM IR → optimised native code (MCJIT) → a ctypes function per program.

LLVM's optimiser runs in a child process (``llvm_worker.py``, see ``Optimiser``): llvmlite's pass
pipeline leaks ~50 kB per run, which a process that compiles thousands of programs cannot afford.
A program may come as several modules (``LLVMRenderer.render_parts``: its kernels spread over
them), optimised at once by as many processes, one per core, and linked into one engine; their
object code travels as one ``parts`` container. Object code is cached on disk
(``codegen.cache``); a cached object that fails to load is discarded and rebuilt.
Compiled programs are re-entrant (temporaries live on the callee's heap)
and ctypes releases the GIL during the call, so they can run from several threads at once.
Machine code lives as long as the ``NativeCode`` that loaded it: the functions handed out keep
it alive, and it is released with the last of them (500 compiles no longer keep 127 MiB).
"""

from __future__ import annotations

import atexit
import collections
import ctypes
import functools
import hashlib
import itertools
import os
import queue
import re
import struct
import subprocess
import sys
import threading
import weakref
from collections.abc import Callable

import llvmlite
import llvmlite.binding as llvm

from ..cache import DiskCache
from . import exact_trig, linalg, llvm_worker, pool, special

_lock = threading.Lock()
_initialised = False
_linked: weakref.WeakValueDictionary = weakref.WeakValueDictionary()  # (code hash, names) → NativeCode
_recent: collections.OrderedDict = collections.OrderedDict()  # the last RECENT ones, kept loaded
RECENT = 32  # code that comes and goes (a Dask worker unpickling each task's function) is linked once
PARTS_MAGIC = b"\x7fsymflux-parts"
PARTS_PER_OPTIMISER = 2
_libraries: dict = {}  # name → NativeCode linked for the process's life
_library_lock = threading.Lock()


@functools.cache
def host_cpu() -> tuple[str, str]:
    """This CPU's name and LLVM feature string (asking LLVM takes ~0.8 ms: asked once)."""
    return llvm.get_host_cpu_name(), llvm.get_host_cpu_features().flatten()


def _target_machine(fast: bool = False):
    """A new target machine for this CPU (``llvm_worker.machine``: ``fast`` code generation or -O3's)."""
    global _initialised
    with _lock:
        if not _initialised:
            llvm.initialize_native_target()
            llvm.initialize_native_asmprinter()
            _initialised = True
    return llvm_worker.machine(*host_cpu(), fast)


@functools.cache
def _compiling_machine(fast: bool):
    """The target machine this process compiles with (``fast`` or -O3 code generation), made once."""
    return _target_machine(fast)


@functools.cache
def toolchain() -> str:
    """What object code depends on: llvmlite's and LLVM's versions, the target, the CPU and its features."""
    return "|".join([llvmlite.__version__, ".".join(map(str, llvm.llvm_version_info)), llvm.get_process_triple(),
                     *host_cpu()])


@functools.cache
def fused_multiply_add() -> bool:
    """Whether this CPU has fused multiply–add instructions (x86's FMA3; every ARMv8 has them)."""
    features = host_cpu()[1].split(",")
    return "+fma" in features or "+neon" in features


# a loop LLVM vectorises at the widest vectors it prefers on the CPU: out[i] = a[i]·a[i] in doubles
_VECTOR_PROBE = """define void @probe(ptr noalias %out, ptr noalias %a) {
entry:
  br label %loop
loop:
  %i = phi i64 [0, %entry], [%next, %loop]
  %at = getelementptr inbounds double, ptr %a, i64 %i
  %y = load double, ptr %at
  %to = getelementptr inbounds double, ptr %out, i64 %i
  %z = fmul double %y, %y
  store double %z, ptr %to
  %next = add nuw nsw i64 %i, 1
  %more = icmp ult i64 %next, 4096
  br i1 %more, label %loop, label %done
done:
  ret void
}
"""


@functools.cache
def vector_bits() -> int:
    """The width (bits) of the vectors LLVM's loop vectoriser prefers on this CPU (512 on AMD's
    AVX-512 cores, 256 on Intel's, where it avoids 512-bit vectors, …): asked of LLVM once per
    machine, kept in the disk cache."""
    cache = DiskCache()
    key = cache.key("vector bits", toolchain())
    stored = cache.get(key)
    if stored is None:
        optimised = llvm_worker.answer(_compiling_machine, b"i", _VECTOR_PROBE).decode()
        lanes = [int(n) for n in re.findall(r"<(\d+) x double>", optimised)]
        stored = str(64 * max(lanes, default=1)).encode()
        cache.put(key, stored)
    return int(stored)


def parts(objects: list[bytes]) -> bytes:
    """Several objects as one: a single one as it is, more in a length-prefixed container."""
    if len(objects) == 1:
        return objects[0]
    return PARTS_MAGIC + struct.pack(f"<{len(objects) + 1}Q", len(objects), *map(len, objects)) + b"".join(objects)


def objects(code: bytes) -> list[bytes]:
    """The objects in ``code`` (from ``parts``)."""
    if not code.startswith(PARTS_MAGIC):
        return [code]
    at = len(PARTS_MAGIC)
    (n,) = struct.unpack_from("<Q", code, at)
    sizes = struct.unpack_from(f"<{n}Q", code, at + 8)
    at += 8 * (n + 1)
    found = []
    for size in sizes:
        found.append(code[at:at + size])
        at += size
    return found


def ctypes_function(address: int, n_args: int, n_sizes: int = 0, owner=None):
    """The native function at ``address`` taking ``n_args`` pointers then ``n_sizes`` int64 sizes;
    it keeps ``owner`` (the code it lives in) alive."""
    function = ctypes.CFUNCTYPE(None, *([ctypes.c_void_p] * n_args + [ctypes.c_int64] * n_sizes))(address)
    function.owner = owner
    return function


class NativeCode:
    """Loaded machine code: the entry points' ``addresses``, valid while this object lives."""

    def __init__(self, engine, addresses: list[int]):
        self.engine, self.addresses = engine, addresses

    def function(self, k: int, n_args: int, n_sizes: int = 0):
        """Entry point ``k`` as a ctypes function (holding this code alive)."""
        return ctypes_function(self.addresses[k], n_args, n_sizes, owner=self)


class Optimiser:
    """The LLVM optimiser process: one at a time, started ahead of its first request and replaced
    after ``RECYCLE`` programs (that bounds the memory LLVM leaves behind to its lifetime)."""

    RECYCLE = 256
    WORKER = os.path.join(os.path.dirname(__file__), "llvm_worker.py")

    def __init__(self, cpu: str, features: str):
        self.argv = [sys.executable, self.WORKER, cpu, features]
        self.process, self.served, self.owner, self.ready = None, 0, os.getpid(), False
        self.lock, self.starting = threading.Lock(), threading.Lock()
        atexit.register(self.stop)

    def start(self) -> None:
        """Start the process if none runs (it loads LLVM while the caller traces and lowers)."""
        if self.owner != os.getpid():  # a forked child must not share its parent's pipes
            self.process, self.served, self.owner = None, 0, os.getpid()
            self.lock, self.starting = threading.Lock(), threading.Lock()
        with self.starting:
            if self.process is None:
                self.process = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
                self.ready = False

    def wait_ready(self) -> None:
        """Start the process if none runs, and wait until it has loaded LLVM."""
        self.start()
        with self.lock:
            self.start()
            process = self.process  # None if stopped meanwhile (at exit)
            if process is not None and not self.ready:
                self.ready = process.stdout.readline() == b"ready\n"

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and self.owner == os.getpid():
            process.stdin.close()
            process.wait()
            process.stdout.close()

    def request(self, kind: bytes, ir_text: str) -> bytes:
        """``kind`` o (object code), i (optimised IR) or a (assembly) of ``ir_text``."""
        self.start()  # outside the lock: in a forked child it replaces the parent's lock too
        with self.lock:
            self.start()  # another thread may have stopped it to recycle it
            process, payload = self.process, ir_text.encode()
            try:
                if not self.ready:
                    self.ready = process.stdout.readline() == b"ready\n"
                process.stdin.write(kind + struct.pack("<Q", len(payload)) + payload)
                process.stdin.flush()
                status = process.stdout.read(1)
                reply = process.stdout.read(struct.unpack("<Q", process.stdout.read(8))[0])
            except (OSError, struct.error):
                status = b""
            if status not in (b"+", b"-"):
                self.process = None
                raise RuntimeError(f"LLVM's optimiser stopped (exit status {process.wait()}) compiling this program")
            self.served += 1
            if self.served % self.RECYCLE == 0:
                self.stop()
        if status == b"-":
            raise RuntimeError(reply.decode())
        return reply


class CPURuntime:
    """Compiles LLVM IR text to native functions, through the disk cache."""

    def __init__(self, cache: DiskCache | None = None):
        self.cache = cache if cache is not None else DiskCache()
        self.links = 0  # pieces of object code loaded by this process
        cpu, features = host_cpu()
        self.toolchain = toolchain()
        # one optimiser per core (at most 4): a program's modules compile side by side
        self.optimisers = [Optimiser(cpu, features) for _ in range(min(os.cpu_count() or 1, 4))]
        # they start in turn, from a thread (starting a process costs the caller 3 ms), each once the
        # one before has loaded LLVM (0.1 s of CPU each): together they would take the cores from the
        # caller's tracing
        self.starter = threading.Thread(target=lambda: [o.wait_ready() for o in self.optimisers], daemon=True)
        self.starter.start()

    @property
    def parts(self) -> int:
        """How many modules a program is best split into: a few per optimiser, which take them
        biggest first as they finish the last (LLVM's time is not proportional to a module's size)."""
        return 1 if len(self.optimisers) == 1 else PARTS_PER_OPTIMISER * len(self.optimisers)

    def optimised_ir(self, ir_text: str) -> str:
        """``ir_text`` after LLVM's O3 pipeline (what ``object_code`` compiles)."""
        return self.optimisers[0].request(b"i", ir_text).decode()

    def object_code(self, ir: str | list[str], progress: Callable[[int, int], None] | None = None) -> bytes:
        """Object code for one module's IR text, or for a program's modules (``render_parts``),
        each optimised in its own process at the same time; ``progress(done, total)`` after each."""
        texts = [ir] if isinstance(ir, str) else list(ir)
        key = self._key(ir)
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        replies = self._compiled(texts, progress)
        failed = next((r for r in replies if isinstance(r, RuntimeError)), None)
        if failed is not None:
            raise failed
        code = replies[0] if len(texts) == 1 else parts(replies)
        self.cache.put(key, code)
        return code

    def _compiled(self, texts: list[str], progress) -> list:
        """Object code (or the RuntimeError) of each module, from the optimiser processes; while the
        first is still loading LLVM (0.2 s), the caller compiles in this process instead (llvmlite's
        pipeline leaks ~50 kB a run, which a process's first few programs can afford)."""
        replies: list = [None] * len(texts)
        pending: queue.SimpleQueue = queue.SimpleQueue()
        for k in sorted(range(len(texts)), key=lambda k: -len(texts[k])):  # the biggest first
            pending.put(k)
        finished = itertools.count(1)
        lock = threading.Lock()

        def work(optimiser, here=False):  # each optimiser takes the next module until none is left
            while True:
                try:
                    k = pending.get_nowait()
                except queue.Empty:
                    return
                try:
                    if here and not optimiser.ready:
                        replies[k] = llvm_worker.answer(_compiling_machine, b"o", texts[k])
                    else:
                        replies[k] = optimiser.request(b"o", texts[k])
                except RuntimeError as e:  # raised below, in the caller's thread
                    replies[k] = e
                if progress is not None:
                    with lock:
                        progress(next(finished), len(texts))
        threads = [threading.Thread(target=work, args=(o,)) for o in self.optimisers[1:len(texts)]]
        for thread in threads:
            thread.start()
        work(self.optimisers[0], here=True)
        for thread in threads:
            thread.join()
        return replies

    def _key(self, ir: str | list[str]) -> str:
        return DiskCache.key(*([ir] if isinstance(ir, str) else ir), self.toolchain)

    def load(self, ir_text: str, name: str, n_args: int, n_sizes: int = 0):
        """The entry point ``name`` of ``ir_text`` as a ctypes function of pointers and int64 sizes."""
        return self.link(ir_text, [name]).function(0, n_args, n_sizes)

    def link(self, ir_text: str, names: list[str]) -> NativeCode:
        """``ir_text`` loaded as native code, with the addresses of its entry points ``names``."""
        try:
            return self.link_object(self.object_code(ir_text), names)
        except RuntimeError:  # an unloadable (damaged) cache entry: rebuild from the IR
            self.cache.discard(self._key(ir_text))
            return self.link_object(self.object_code(ir_text), names)

    def link_object(self, code: bytes, names: list[str]) -> NativeCode:
        """Object code (from ``object_code``, possibly made by another process with the same
        ``toolchain``) loaded once per process while it is in use: the same bytes give the same
        ``NativeCode``. The thread pool and the libraries it may call (BLAS/LAPACK, special functions) are
        loaded first."""
        key = (hashlib.sha256(code).digest(), tuple(names))
        with _lock:
            loaded = _linked.get(key)
        if loaded is None:
            if pool.called_by(code):
                pool.thread_pool()
            if linalg.called_by(code):
                linalg.library()
            if exact_trig.called_by(code):
                self.provide_exact_trig()
            if special.called_by(code):
                special.library()
            loaded = self._link(code, names)
        with _lock:
            _linked[key] = loaded
            _recent[key] = loaded
            _recent.move_to_end(key)
            while len(_recent) > RECENT:
                _recent.popitem(last=False)
        return loaded

    def provide_exact_trig(self) -> None:
        """The ``exact_trig`` library linked once in this process, its functions given to every
        engine by name (compiled once per machine, through the disk cache)."""
        with _library_lock:
            if "exact_trig" not in _libraries:
                self.links += 1
                _provide_exact_trig(self._library_code(exact_trig))

    def _library_code(self, library) -> bytes:
        """Object code of a runtime ``library`` module's ``library_ir()``, cached under the module's
        source (``_library_key``)."""
        key = _library_key(library)
        code = self.cache.get(key)
        if code is None:
            code = self.object_code(library.library_ir())
            self.cache.put(key, code)
        return code

    def _link(self, code: bytes, names: list[str]) -> NativeCode:
        self.links += 1
        return _loaded(code, names)

    def assembly(self, ir_text: str) -> str:
        return self.optimisers[0].request(b"a", ir_text).decode()


def _loaded(code: bytes, names: list[str]) -> NativeCode:
    """Object ``code`` loaded into a new engine, with the addresses of its entry points ``names``."""
    machine = _target_machine()  # the engine owns (and frees with itself) its target machine: a fresh one
    with _lock:
        engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), machine)
        for part in objects(code):
            engine.add_object_file(llvm.ObjectFileRef.from_data(part))
        engine.finalize_object()
        addresses = [engine.get_function_address(name) for name in names]
        missing = [n for n, a in zip(names, addresses) if not a]
        if missing:
            raise RuntimeError(f"entry points {missing} not found in the compiled object")
    return NativeCode(engine, addresses)


def _library_key(library) -> str:
    """The disk cache's key of a runtime ``library`` module's object code: its source (building the
    IR to look its object up cost a process's first link 4 ms)."""
    with open(library.__file__, "rb") as source:
        return DiskCache.key(library.__name__, source.read().decode(), toolchain())


def _provide_exact_trig(code: bytes) -> None:
    """The ``exact_trig`` library's object ``code`` loaded, its functions given to every engine by name;
    the caller holds ``_library_lock``."""
    library = _loaded(code, list(exact_trig.SYMBOLS))
    for name, address in zip(exact_trig.SYMBOLS, library.addresses):
        llvm.add_symbol(name, address)
    _libraries["exact_trig"] = library  # kept for the process's life: engines call into it


# what a vector loop is made of (``LLVMRenderer._vector_loop``), compiled and loaded by ``warm_up``
_WARM_UP_IR = llvm_worker.FAST_INSTRUCTIONS + llvm_worker.VECTORISED + """define void @warm(ptr noalias %out, ptr %a) {
entry:
  br label %loop
loop:
  %i = phi i64 [0, %entry], [%next, %loop]
  %at = getelementptr inbounds double, ptr %a, i64 %i
  %x = load <4 x double>, ptr %at, align 8
  %y = call <4 x double> @llvm.fma.v4f64(<4 x double> %x, <4 x double> %x, <4 x double> splat (double 1.0))
  %z = fdiv <4 x double> %x, %y
  %r = call <4 x double> @llvm.rint.v4f64(<4 x double> %z)
  %negative = fcmp olt <4 x double> %r, zeroinitializer
  %w = select <4 x i1> %negative, <4 x double> %z, <4 x double> %r
  %to = getelementptr inbounds double, ptr %out, i64 %i
  store <4 x double> %w, ptr %to, align 8
  %next = add nuw nsw i64 %i, 4
  %more = icmp ult i64 %next, 64
  br i1 %more, label %loop, label %done
done:
  ret void
}
declare <4 x double> @llvm.fma.v4f64(<4 x double>, <4 x double>, <4 x double>)
declare <4 x double> @llvm.rint.v4f64(<4 x double>)
"""
_warming: list[threading.Thread] = []


def warm_up() -> None:
    """Do in this process what its first compile would otherwise wait for: load the thread pool,
    initialise LLVM's target, compile and load a small module (the first use of LLVM's code
    generator and loader in a process costs 5–10 ms more than the next) and load the exact
    trigonometry if this machine has built it."""
    try:
        pool.thread_pool()
        _loaded(llvm_worker.answer(_compiling_machine, b"o", _WARM_UP_IR), ["warm"])
        trig = DiskCache().get(_library_key(exact_trig))  # built once per machine, by the first program needing it
        with _library_lock:
            if trig is not None and "exact_trig" not in _libraries:
                _provide_exact_trig(trig)
    except (RuntimeError, OSError):  # the first compile meets the same failure, and reports it
        pass


def start_warm_up() -> None:
    """``warm_up`` in a background thread, once, while the caller goes on (importing, tracing). An
    exit or a fork waits for it: LLVM must not be torn down under it, and a child must not inherit
    LLVM's lock held by a thread it does not have."""
    if not _warming:
        thread = threading.Thread(target=warm_up, daemon=True, name="codegen LLVM warm-up")
        _warming.append(thread)
        thread.start()
        atexit.register(thread.join)
        os.register_at_fork(before=thread.join)


_default: CPURuntime | None = None


def default_runtime() -> CPURuntime:
    global _default
    if _default is None:
        _default = CPURuntime()
    return _default

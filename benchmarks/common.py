"""Timing helpers shared by the benchmark scripts: medians of repeats, pretty units, tables."""

import os
import statistics
import subprocess
import sys
import tempfile
import time

# compile times are measured cold: a fresh disk cache for every benchmark run
os.environ.setdefault("SYMFLUX_CACHE_DIR", tempfile.mkdtemp(prefix="symflux-bench-"))


def bench(fn, repeat=7, target=0.2):
    """(median, min) seconds per call; the inner loop count makes one repeat take about ``target``."""
    t0 = time.perf_counter()
    fn()
    number = max(1, int(target / max(time.perf_counter() - t0, 1e-9)))
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    return statistics.median(times), min(times)


def cold(fn, setup=None, repeat=5):
    """(median, min, last result) of single calls, each after ``setup`` (e.g. clearing caches)."""
    times, result = [], None
    for _ in range(repeat):
        if setup:
            setup()
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times), result


def fmt(seconds):
    if seconds is None:
        return "–"
    for unit, scale in (("s", 1), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds * 1e9:.0f} ns"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def write_result(name, text):
    """Save a table under benchmarks/results/ (ignored by git) and return it."""
    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name + ".md"), "w") as f:
        f.write(text + "\n")
    return text


# symflux's runtime libraries (thread pool and temporaries, fast-call extension, BLAS/LAPACK glue, exact
# trigonometry) are built once per machine and cached, as jaxlib ships its runtime built
RUNTIME = ("from codegen.runtime import cpu, fastcall, linalg, pool; pool.thread_pool(); fastcall.dispatcher_type(); "
           "linalg.available(); cpu.default_runtime().provide_exact_trig(); cpu.vector_bits()")


def build_runtime(env=None) -> None:
    """Build symflux's runtime libraries into the disk cache of ``env`` (this process's by default)
    from another process, so that nothing of them is loaded or started here."""
    subprocess.run([sys.executable, "-c", RUNTIME], env=env, check=True)


def cold_process(program: str, runtime_built: bool = False) -> str:
    """stdout of ``program`` run by a fresh Python with empty compilation caches (symflux's and JAX's);
    with ``runtime_built``, symflux's runtime libraries are built into that cache first. Raises
    ModuleNotFoundError when the program needs a peer that is not installed."""
    env = dict(os.environ, SYMFLUX_CACHE_DIR=tempfile.mkdtemp(prefix="symflux-cold-"),
               JAX_COMPILATION_CACHE_DIR=tempfile.mkdtemp(prefix="jax-cold-"))
    if runtime_built:
        build_runtime(env)
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=env)
    if out.returncode:
        if "ModuleNotFoundError" in out.stderr:
            raise ModuleNotFoundError(out.stderr.strip().splitlines()[-1])
        raise RuntimeError(out.stderr)
    return out.stdout

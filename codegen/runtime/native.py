"""External compilers through the disk cache, and loading what they produce.

Used for what LLVM does not build: CUDA C (nvcc), the CUDA emulator (g++) and the fast-call
extension (cc). Outputs are cached by source, command line and compiler (its installed file).
"""

from __future__ import annotations

import ctypes
import functools
import importlib.machinery
import importlib.util
import os
import shutil
import subprocess
import tempfile

from ..cache import DiskCache


def c_compiler() -> str | None:
    """The system C compiler ($CC, cc or gcc), or None."""
    return os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")


@functools.cache
def _tool_identity(tool: str) -> str:
    """The installed compiler ``tool`` names (its resolved path, size and modification time):
    what its output is keyed by, without starting it (``--version``: 2–5 ms a process)."""
    path = os.path.realpath(shutil.which(tool) or tool)
    try:
        info = os.stat(path)
    except OSError:
        return path
    return f"{path}|{info.st_size}|{info.st_mtime_ns}"


def compile_with(compiler: list[str], source: str, suffix: str, cache: DiskCache, output: str) -> bytes:
    """``compiler + [-o out, file]`` on ``source`` (written as ``kernel<suffix>``), through the disk
    cache (keyed by source, command line and the compiler's identity). RuntimeError with the compiler's
    message when it fails."""
    key = DiskCache.key(source, " ".join(compiler), _tool_identity(compiler[0]))
    cached = cache.get(key)
    if cached is not None:
        return cached
    with tempfile.TemporaryDirectory(prefix="symflux-") as directory:
        path, out = os.path.join(directory, "kernel" + suffix), os.path.join(directory, output)
        with open(path, "w") as f:
            f.write(source)
        result = subprocess.run([*compiler, "-o", out, path], capture_output=True, text=True)
        if result.returncode != 0:
            tool = os.path.basename(compiler[0])
            raise RuntimeError(f"{tool} rejected the generated code:\n{result.stderr[:4000]}")
        with open(out, "rb") as f:
            code = f.read()
    cache.put(key, code)
    return code


def _private_file(code: bytes, suffix: str) -> str:
    fd, path = tempfile.mkstemp(prefix="symflux-", suffix=suffix)
    with os.fdopen(fd, "wb") as f:
        f.write(code)
    return path


def load_library(code: bytes, mode=ctypes.DEFAULT_MODE) -> ctypes.CDLL:
    """A shared object from bytes (its private file is removed once mapped)."""
    path = _private_file(code, ".so")
    try:
        return ctypes.CDLL(path, mode=mode)
    finally:
        os.remove(path)


def load_extension(code: bytes, name: str):
    """A Python extension module ``name`` from the bytes of its shared object."""
    path = _private_file(code, ".so")
    try:
        loader = importlib.machinery.ExtensionFileLoader(name, path)
        module = importlib.util.module_from_spec(importlib.util.spec_from_file_location(name, path, loader=loader))
        loader.exec_module(module)
        return module
    finally:
        os.remove(path)

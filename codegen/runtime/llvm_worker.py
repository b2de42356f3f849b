"""The LLVM optimiser process: IR text in, object code (or optimised IR, or assembly) out.

LLVM's optimisation pipeline, as llvmlite builds it, leaves ~50 kB behind on every run (its pass
instrumentation is never freed), so a process that compiles many distinct programs would grow
without bound. This script runs that pipeline in a child process that ``cpu.Optimiser`` replaces
every so many programs; an LLVM crash ends this process, not the user's.

Run by ``cpu.Optimiser`` as ``python llvm_worker.py CPU FEATURES``; it imports llvmlite only.
Frames on stdin: one request byte (``o`` object code, ``i`` optimised IR, ``a`` assembly), an
8-byte little-endian length, the IR text. Replies on stdout: ``+`` or ``-`` (an error message
follows), an 8-byte length, the bytes.

A module whose text begins with ``FAST_INSTRUCTIONS`` is optimised as any other but turned into
machine code by LLVM's fast instruction selector and register allocator (its -O0 code generation):
a third of the time for straight-line vector code such as W1's fused derivatives (19 → 5 ms, the
same speed within 6 %), which a renderer marks; loops around register tiles and reductions need
the full allocator (W3 ran 2× slower without it). A module marked ``VECTORISED`` has its loops
in vectors already (``LLVMRenderer._vector_loop``): of LLVM's passes it needs only locals in
registers, constants folded and branches simplified, a tenth of the -O3 pipeline's time.
"""

import os
import struct
import sys

import llvmlite.binding as llvm

FAST_INSTRUCTIONS = "; symflux: fast instruction selection\n"
VECTORISED = "; symflux: vectorised\n"


def machine(cpu: str, features: str, fast: bool = False):
    """A target machine for ``cpu``: LLVM's -O3 code generation, or -O0's (``fast``); LLVM's native
    target must be initialised."""
    return llvm.Target.from_default_triple().create_target_machine(cpu=cpu, features=features, opt=0 if fast else 3,
                                                                   reloc="default", codemodel="jitdefault")


def _optimised(machine, ir_text: str):
    # a context per module: types and constants interned in LLVM's global context are never freed
    module = llvm.parse_assembly(ir_text, llvm.create_context())
    module.triple = machine.triple
    module.data_layout = str(machine.target_data)
    module.verify()
    if VECTORISED in _header(ir_text):  # loops in vectors already: registers for locals, constants folded
        passes = llvm.create_new_module_pass_manager()
        passes.add_sroa_pass()
        passes.add_instruction_combine_pass()
        passes.add_simplify_cfg_pass()
        passes.run(module, llvm.create_pass_builder(machine, llvm.create_pipeline_tuning_options(speed_level=0)))
        return module
    options = llvm.create_pipeline_tuning_options(speed_level=3)
    options.loop_vectorization = True
    options.slp_vectorization = True
    options.loop_unrolling = False
    builder = llvm.create_pass_builder(machine, options)
    builder.getModulePassManager().run(module, builder)
    return module


def answer(machines, request: bytes, ir_text: str) -> bytes:
    """What ``request`` asks of ``ir_text``, with ``machines`` (``fast`` → target machine); run
    here, or in the caller's process while this one starts."""
    module = _optimised(machines(False), ir_text)
    if request == b"i":
        return str(module).encode()
    emitter = machines(FAST_INSTRUCTIONS in _header(ir_text))
    return emitter.emit_object(module) if request == b"o" else emitter.emit_assembly(module).encode()


def _header(ir_text: str) -> str:
    """The renderer's marks at the top of a module (``FAST_INSTRUCTIONS``, ``VECTORISED``)."""
    return ir_text[:len(FAST_INSTRUCTIONS) + len(VECTORISED)]


def _read(stream, n: int) -> bytes:
    data = stream.read(n)
    if len(data) < n:
        raise EOFError
    return data


def main() -> None:
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    made = {fast: machine(sys.argv[1], sys.argv[2], fast) for fast in (False, True)}
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    sink.write(b"ready\n")
    sink.flush()
    while True:
        try:
            request = _read(source, 1)
            ir_text = _read(source, struct.unpack("<Q", _read(source, 8))[0]).decode()
        except EOFError:
            return
        try:
            status, reply = b"+", answer(made.__getitem__, request, ir_text)
        except RuntimeError as e:  # invalid IR: the caller's error
            status, reply = b"-", str(e).encode()
        sink.write(status + struct.pack("<Q", len(reply)) + reply)
        sink.flush()


if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:  # the caller is gone (a terminated pool worker): nothing to answer, or to say
        os._exit(0)

"""The LLVM optimiser process: IR text in, object code (or optimised IR, or assembly) out.

LLVM's optimisation pipeline, as llvmlite builds it, leaves ~50 kB behind on every run (its pass
instrumentation is never freed), so a process that compiles many distinct programs would grow
without bound. This script runs that pipeline in a child process that ``cpu.Optimiser`` replaces
every so many programs; an LLVM crash ends this process, not the user's.

Run by ``cpu.Optimiser`` as ``python llvm_worker.py CPU FEATURES``; it imports llvmlite only.
Frames on stdin: one request byte (``o`` object code, ``i`` optimised IR, ``a`` assembly), an
8-byte little-endian length, the IR text. Replies on stdout: ``+`` or ``-`` (an error message
follows), an 8-byte length, the bytes.
"""

import struct
import sys

import llvmlite.binding as llvm


def _machine(cpu: str, features: str):
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    return llvm.Target.from_default_triple().create_target_machine(cpu=cpu, features=features, opt=3,
                                                                   reloc="default", codemodel="jitdefault")


def _optimised(machine, ir_text: str):
    # a context per module: types and constants interned in LLVM's global context are never freed
    module = llvm.parse_assembly(ir_text, llvm.create_context())
    module.triple = machine.triple
    module.data_layout = str(machine.target_data)
    module.verify()
    options = llvm.create_pipeline_tuning_options(speed_level=3)
    options.loop_vectorization = True
    options.slp_vectorization = True
    options.loop_unrolling = False
    builder = llvm.create_pass_builder(machine, options)
    builder.getModulePassManager().run(module, builder)
    return module


def answer(machine, request: bytes, ir_text: str) -> bytes:
    """What ``request`` asks of ``ir_text``; run here, or in the caller's process while this one starts."""
    module = _optimised(machine, ir_text)
    if request == b"o":
        return machine.emit_object(module)
    if request == b"a":
        return machine.emit_assembly(module).encode()
    return str(module).encode()


def _read(stream, n: int) -> bytes:
    data = stream.read(n)
    if len(data) < n:
        raise EOFError
    return data


def main() -> None:
    machine = _machine(sys.argv[1], sys.argv[2])
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
            status, reply = b"+", answer(machine, request, ir_text)
        except RuntimeError as e:  # invalid IR: the caller's error
            status, reply = b"-", str(e).encode()
        sink.write(status + struct.pack("<Q", len(reply)) + reply)
        sink.flush()


if __name__ == "__main__":
    main()

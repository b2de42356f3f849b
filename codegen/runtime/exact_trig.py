"""The exact trigonometry library: libm's sin, cos and tan behind functions the loop vectoriser can
widen under a mask, for the arguments the inline reduction cannot take (|x| > 2⁴⁰, ±∞).

A conditional libm call blocks vectorisation unless the call names vector variants
(``vector-function-abi-variant``); these variants test the mask once and call libm per lane only
when some lane is huge. They are compiled once per machine (the disk cache) and linked into every
engine, as the thread pool is: compiled into each program they were 40 % of W1's LLVM time. A
program declares them (``declare``), with the variant mapping on the scalar's declaration.
"""

from __future__ import annotations

from .. import llvm_ir as ir

FUNCTIONS = ("sin", "cos", "tan")
VECTOR_LANES = (2, 4, 8, 16)  # vector widths the loop vectoriser may pick for doubles
F64, I1, I32 = ir.DoubleType(), ir.IntType(1), ir.IntType(32)
_ATTRIBUTES = ("nounwind", "willreturn", "memory(none)")


def scalar_name(function: str) -> str:
    return f"{function}.exact"


def variant_name(function: str, lanes: int) -> str:
    return f"{scalar_name(function)}.v{lanes}"


SYMBOLS = tuple(name for f in FUNCTIONS for name in (scalar_name(f), *(variant_name(f, n) for n in VECTOR_LANES)))


def called_by(code: bytes) -> bool:
    """Whether object code calls into this library."""
    return any(scalar_name(f).encode() in code for f in FUNCTIONS)


def declare(module: ir.Module, function: str) -> ir.Function:
    """``function``'s exact scalar in ``module``, the library declared there with its vector
    variants, which ``llvm.compiler.used`` keeps from being dropped as unused declarations before the
    vectoriser has called them."""
    if scalar_name(function) not in module.globals:
        variants = []
        for f in FUNCTIONS:
            scalar = ir.Function(module, ir.FunctionType(F64, [F64]), name=scalar_name(f))
            variants += [ir.Function(module, _variant_type(n), name=variant_name(f, n)) for n in VECTOR_LANES]
            mappings = ",".join(f"_ZGV_LLVM_M{n}v_{scalar.name}({variant_name(f, n)})" for n in VECTOR_LANES)
            for attribute in (*_ATTRIBUTES, f'"vector-function-abi-variant"="{mappings}"'):
                scalar.attributes.add(attribute)
        used = ir.GlobalVariable(module, ir.ArrayType(ir.PointerType(), len(variants)), "llvm.compiler.used")
        used.linkage, used.section = "appending", "llvm.metadata"
        used.initializer = ir.Constant(used.value_type, variants)
    return module.globals[scalar_name(function)]


def library_ir() -> str:
    """The library's module: each function's scalar and its masked variants."""
    module = ir.Module(name="exact_trig")
    for function in FUNCTIONS:
        libm = ir.Function(module, ir.FunctionType(F64, [F64]), name=function)
        scalar = ir.Function(module, ir.FunctionType(F64, [F64]), name=scalar_name(function))
        body = ir.IRBuilder(scalar.append_basic_block())
        body.ret(body.call(libm, scalar.args))
        for lanes in VECTOR_LANES:
            _define_variant(module, scalar, function, lanes)
    return str(module)


def _variant_type(lanes: int) -> ir.FunctionType:
    vector = ir.VectorType(F64, lanes)
    return ir.FunctionType(vector, [vector, ir.VectorType(I1, lanes)])


def _define_variant(module: ir.Module, scalar: ir.Function, function: str, lanes: int) -> None:
    """<lanes x double> variant: the argument itself unless the mask has a lane set, else
    ``scalar`` on every lane (the caller keeps only the masked lanes)."""
    fn = ir.Function(module, _variant_type(lanes), name=variant_name(function, lanes))
    vector = fn.function_type.return_type
    x, mask = fn.args
    entry, each, done = fn.append_basic_block(), fn.append_basic_block(), fn.append_basic_block()
    b = ir.IRBuilder(entry)
    some = b.icmp_unsigned("!=", b.bitcast(mask, ir.IntType(lanes)), ir.Constant(ir.IntType(lanes), 0))
    b.cbranch(some, each, done)
    b.position_at_end(each)
    lane, partial = b.phi(I32), b.phi(vector)
    out = b.insert_element(partial, b.call(scalar, [b.extract_element(x, lane)]), lane)
    following = b.add(lane, ir.Constant(I32, 1))
    lane.add_incoming(ir.Constant(I32, 0), entry)
    lane.add_incoming(following, each)
    partial.add_incoming(x, entry)
    partial.add_incoming(out, each)
    b.cbranch(b.icmp_unsigned("<", following, ir.Constant(I32, lanes)), each, done)
    b.position_at_end(done)
    result = b.phi(vector)
    result.add_incoming(x, entry)
    result.add_incoming(out, each)
    b.ret(result)

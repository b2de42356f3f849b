"""codegen.llvm_ir: IR text built as llvmlite.ir builds it, read and run by LLVM."""

import ctypes
import math

import llvmlite.binding as llvm
import numpy as np
import pytest

from codegen import default_runtime
from codegen import llvm_ir as ir

F32, F64, I1, I64, PTR = ir.FloatType(), ir.DoubleType(), ir.IntType(1), ir.IntType(64), ir.PointerType()


def _parsed(module: ir.Module):
    parsed = llvm.parse_assembly(str(module), llvm.create_context())
    parsed.verify()
    return parsed


def _clamped_doubles() -> ir.Module:
    """out[i] = min(max(x[i], lo), hi) over n elements, a phi loop with names that repeat."""
    module = ir.Module("clamp")
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), [PTR, PTR, I64]), name="clamp")
    out, x, n = fn.args
    out.add_attribute("noalias")
    entry, head, body, done = (fn.append_basic_block(name) for name in ("entry", "i", "i", "i"))
    b = ir.IRBuilder(entry)
    b.branch(head)
    b.position_at_end(head)
    i = b.phi(I64, name="i")
    i.add_incoming(ir.Constant(I64, 0), entry)
    b.cbranch(b.icmp_signed("<", i, n), body, done)
    b.position_at_end(body)
    value = b.load(b.gep(x, [i], inbounds=True, source_etype=F64), typ=F64, name="i")
    low = b.select(b.fcmp_unordered("<", value, ir.Constant(F64, -1.5)), ir.Constant(F64, -1.5), value)
    high = b.select(b.fcmp_ordered(">", low, ir.Constant(F64, 2.25)), ir.Constant(F64, 2.25), low)
    b.store(high, b.gep(out, [i], inbounds=True, source_etype=F64))
    step = b.add(i, ir.Constant(I64, 1), flags=("nuw", "nsw"))
    i.add_incoming(step, body)
    b.branch(head).set_metadata("llvm.loop", _loop_node(module))
    b.position_at_end(done)
    b.ret_void()
    return module


def _loop_node(module):
    hint = module.add_metadata([ir.MetaDataString(module, "llvm.loop.vectorize.enable"), ir.Constant(I1, 1)])
    node = module.add_metadata([hint])
    node.operands = (node, *node.operands)
    return node


def test_a_loop_is_read_by_llvm_and_runs():
    module = _clamped_doubles()
    text = str(module)  # blocks and values share a function's names
    assert all(line in text for line in ("i.2:\n", "%i.3 = phi i64 [0, %entry], [%", "%i.4 = load double, ptr %"))
    assert 'define void @"clamp"(ptr noalias %.0, ptr %.1, i64 %.2)' in text and "!llvm.loop !1" in text
    _parsed(module)
    x = np.array([-3.0, -1.5, 0.0, 2.0, 2.5, math.nan, -math.inf])
    out = np.zeros_like(x)
    function = default_runtime().link(text, ["clamp"]).function(0, 2, 1)
    function(out.ctypes.data, x.ctypes.data, len(x))
    np.testing.assert_array_equal(out, np.where(np.isnan(x) | (x < -1.5), -1.5, np.minimum(x, 2.25)))  # ult: NaN too


def test_repeated_names_are_made_unique_and_odd_ones_quoted():
    module = ir.Module("names")
    fn = ir.Function(module, ir.FunctionType(F64, [F64]), name='odd "name"')
    b = ir.IRBuilder(fn.append_basic_block("a b"))
    x = b.fadd(fn.args[0], fn.args[0], name="x")
    y = b.fmul(x, x, name="x")
    z = b.fsub(y, x, name="x y")
    taken = b.fmul(z, z, name=f".{fn.unnamed + 1}")  # the name the next unnamed value would be given
    w = b.fadd(z, taken)
    b.ret(w)
    assert (x.ref, y.ref, z.ref, w.ref) == ("%x", "%x.1", '%"x y"', taken.ref + ".1")
    assert '@"odd \\22name\\22"' in str(module) and '"a b":' in str(module)
    _parsed(module)


@pytest.mark.parametrize("value", [0.0, -0.0, 1.0 / 3.0, 5e-324, 1e30, math.inf, -math.inf, math.nan])
@pytest.mark.parametrize("lanes", [0, 4])
def test_constants_keep_their_bits(value, lanes):
    """Doubles print as their bits; floats as the double of their float32 value; a vector's constant
    as LLVM's splat of one literal (−0.0 stays −0.0, not zeroinitializer)."""
    module = ir.Module("constants")
    for kind, stored in ((F64, value), (F32, float(np.float32(value)))):
        t = ir.VectorType(kind, lanes) if lanes else kind
        fn = ir.Function(module, ir.FunctionType(ir.VoidType(), [PTR]), name=f"store.{kind}")
        b = ir.IRBuilder(fn.append_basic_block())
        b.store(ir.Constant(t, stored), fn.args[0], align=4)
        b.ret_void()
    assert "zeroinitializer" not in str(module)
    _parsed(module)
    out64, out32 = np.zeros(max(lanes, 1)), np.zeros(max(lanes, 1), np.float32)
    code = default_runtime().link(str(module), ["store.double", "store.float"])
    code.function(0, 1)(out64.ctypes.data)
    code.function(1, 1)(out32.ctypes.data)
    bits = lambda a: a.view(np.uint64 if a.dtype == np.float64 else np.uint32).tolist()
    if math.isnan(value):
        assert np.isnan(out64).all() and np.isnan(out32).all()
    else:
        assert bits(out64) == bits(np.full_like(out64, value)) and bits(out32) == bits(np.full_like(out32, value))


def test_branches_join_and_say_which_way_is_likely():
    module = ir.Module("branches")
    fn = ir.Function(module, ir.FunctionType(I64, [I64]), name="sign")
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    slot = b.alloca(I64, name="slot", align=8)
    b.store(ir.Constant(I64, 0), slot)
    x = fn.args[0]
    with b.if_else(b.icmp_signed(">", x, ir.Constant(I64, 0))) as (positive, otherwise):
        with positive:
            b.store(ir.Constant(I64, 1), slot)
        with otherwise:
            with b.if_then(b.icmp_signed("<", x, ir.Constant(I64, 0)), likely=False):
                b.store(b.neg(b.load(slot, typ=I64)), slot)
                b.store(b.sub(b.load(slot, typ=I64), ir.Constant(I64, 1)), slot)
    b.ret(b.load(slot, typ=I64))
    assert "!prof" in str(module) and '!"branch_weights", i32 1, i32 99' in str(module)
    _parsed(module)
    function = default_runtime().link(str(module), ["sign"]).function(0, 0, 1)
    function.restype = ctypes.c_int64
    assert [function(v) for v in (-7, 0, 5)] == [-1, 0, 1]

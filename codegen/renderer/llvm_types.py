"""LLVM types and flags shared by the LLVM renderer's parts."""

from llvmlite import ir

I1, I8, I32, I64 = ir.IntType(1), ir.IntType(8), ir.IntType(32), ir.IntType(64)
F32, F64 = ir.FloatType(), ir.DoubleType()
PTR = ir.PointerType()
STORAGE = {"float32": F32, "float64": F64, "int64": I64, "int32": I32, "bool": I8, "uint64": I64}
ITEMSIZE = {"float32": 4, "float64": 8, "int64": 8, "int32": 4, "bool": 1, "uint64": 8}
KIND = {"float32": "f32", "float64": "f64", "int64": "i64", "int32": "i32", "bool": "i1", "uint64": "i64"}
TYPES = {"f32": F32, "f64": F64, "i64": I64, "i32": I32, "i1": I1}
FLOATS = ("f32", "f64")
CONTRACT = ("contract",)
REDUCTION = ("contract", "reassoc", "nsz")

"""LLVM types and flags shared by the LLVM renderer's parts.

A value's *kind* names its arithmetic: ``f32``/``f64``, ``i1`` (bool), signed ``i8``…``i64`` and
unsigned ``u8``…``u64``. Unsigned kinds share LLVM's integer types with the signed ones and differ
in comparisons, extension, conversion to float and division."""

import numpy as np

from .. import llvm_ir as ir

I1, I8, I16, I32, I64 = ir.IntType(1), ir.IntType(8), ir.IntType(16), ir.IntType(32), ir.IntType(64)
F32, F64 = ir.FloatType(), ir.DoubleType()
PTR = ir.PointerType()
TYPES = {"f32": F32, "f64": F64, "i1": I1, "i8": I8, "i16": I16, "i32": I32, "i64": I64,
         "u8": I8, "u16": I16, "u32": I32, "u64": I64}
KIND = {"float32": "f32", "float64": "f64", "bool": "i1", "int8": "i8", "int16": "i16", "int32": "i32",
        "int64": "i64", "uint8": "u8", "uint16": "u16", "uint32": "u32", "uint64": "u64"}
DTYPE_OF_KIND = {k: np.dtype(d) for d, k in KIND.items()}
STORAGE = {dtype: (I8 if kind == "i1" else TYPES[kind]) for dtype, kind in KIND.items()}
ITEMSIZE = {dtype: np.dtype(dtype).itemsize for dtype in KIND}
FLOATS = ("f32", "f64")
UNSIGNED = ("u8", "u16", "u32", "u64")
CONTRACT = ("contract",)
# reassoc lets sums vectorise; nsz only for contractions (LLVMRenderer._reduction_flags)
REDUCTION = ("contract", "reassoc")


def is_signed(kind: str) -> bool:
    return kind not in UNSIGNED and kind != "i1"

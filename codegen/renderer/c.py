"""C source for a kernel ``Program``: the same kernels as the LLVM renderer, as portable C99.

Expressions print through SymPy's ``C99CodePrinter`` (``_print_<Class>`` additions below);
statements through ``_stmt_<Class>``. ABI: ``void name(void *arg0, …)``, one pointer per
argument buffer in order; buffers given in ``embed`` become ``static const`` arrays instead.
"""

from __future__ import annotations

import numpy as np
import sympy
from sympy.codegen.ast import real as real_type
from sympy.printing.c import C99CodePrinter

from ..kernel import Program, UnsupportedExpression, literal_comparison, quotient
from ..opt.tiling import unroll_and_jam
from ..runtime import special

CTYPE = {"float32": "float", "float64": "double", "bool": "uint8_t", "int8": "int8_t", "int16": "int16_t",
         "int32": "int32_t", "int64": "int64_t", "uint8": "uint8_t", "uint16": "uint16_t", "uint32": "uint32_t",
         "uint64": "uint64_t"}

# NumPy's // and % (npy_divmod): the floor of the quotient, a remainder with the divisor's sign;
# integers divided by zero give 0 and MIN // -1 wraps. ``T`` is the type, ``N`` a name suffix.
DIVMOD = """\
static inline double sf_floor_divide_d(double a, double b) {
    if (b == 0) return a / b;
    double mod = fmod(a, b), div = (a - mod) / b;
    if (mod != 0 && ((b < 0) != (mod < 0))) div -= 1.0;
    if (div == 0) return copysign(0.0, a / b);
    double f = floor(div);
    return div - f > 0.5 ? f + 1.0 : f;
}
static inline double sf_remainder_d(double a, double b) {
    double mod = fmod(a, b);
    if (b == 0) return mod;
    if (mod != 0) return ((b < 0) != (mod < 0)) ? mod + b : mod;
    return copysign(0.0, b);
}
static inline int64_t sf_floor_divide_i(int64_t a, int64_t b) {
    if (b == 0) return 0;
    if (b == -1) return (int64_t)(0 - (uint64_t)a);
    int64_t q = a / b, r = a % b;
    return (r != 0 && ((r < 0) != (b < 0))) ? q - 1 : q;
}
static inline int64_t sf_remainder_i(int64_t a, int64_t b) {
    if (b == 0 || b == -1) return 0;
    int64_t r = a % b;
    return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}
static inline double sf_fmod_d(double a, double b) { return fmod(a, b); }
static inline int64_t sf_fmod_i(int64_t a, int64_t b) { return b == 0 || b == -1 ? 0 : a % b; }
static inline uint64_t sf_fmod_u(uint64_t a, uint64_t b) { return b ? a % b : 0; }
static inline int64_t sf_abs_i(int64_t a) { return a < 0 ? (int64_t)(0 - (uint64_t)a) : a; }
static inline uint64_t sf_abs_u(uint64_t a) { return a; }
static inline uint64_t sf_floor_divide_u(uint64_t a, uint64_t b) { return b ? a / b : 0; }
static inline uint64_t sf_remainder_u(uint64_t a, uint64_t b) { return b ? a % b : 0; }
static inline double sf_power_d(double a, double b) { return pow(a, b); }
static inline uint64_t sf_power_u(uint64_t a, uint64_t b) {
    uint64_t r = 1;
    for (; b; b >>= 1, a *= a) if (b & 1) r *= a;
    return r;
}
/* NumPy's shifts (npy_lshift, npy_rshift), in 64 bits: a narrower type keeps the low bits it would have */
static inline int64_t sf_left_shift_i(int64_t a, int64_t b) {
    return (uint64_t)b < 64 ? (int64_t)((uint64_t)a << b) : 0;
}
static inline uint64_t sf_left_shift_u(uint64_t a, uint64_t b) { return b < 64 ? a << b : 0; }
static inline int64_t sf_right_shift_i(int64_t a, int64_t b) { return (uint64_t)b < 64 ? a >> b : a < 0 ? -1 : 0; }
static inline uint64_t sf_right_shift_u(uint64_t a, uint64_t b) { return b < 64 ? a >> b : 0; }
static inline int64_t sf_power_i(int64_t a, int64_t b) {  /* NumPy raises for b < 0: 1/a^|b| truncated */
    if (b < 0) return a == 1 ? 1 : a == -1 ? ((b & 1) ? -1 : 1) : 0;
    return (int64_t)sf_power_u((uint64_t)a, (uint64_t)b);
}
"""

PRELUDE = """\
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
""" + DIVMOD + special.source("static inline") + """\
#define SF_DIVMOD(f, a, b) _Generic((a) + (b), double: f##_d, float: f##_d, uint64_t: f##_u, default: f##_i)(a, b)
#define SF_ABS(x) _Generic((x), double: fabs, float: fabsf, uint64_t: sf_abs_u, default: sf_abs_i)(x)
#define SF_SHIFT(f, a, b) _Generic((a) + (b), uint64_t: f##_u, default: f##_i)(a, b)

/* NumPy's maximum/minimum/sign: NaN in, NaN out (for integers the NaN tests are false) */
#define SF_MAX(a, b) ((a) != (a) || (b) != (b) ? (a) + (b) : (a) > (b) ? (a) : (b))
#define SF_MIN(a, b) ((a) != (a) || (b) != (b) ? (a) + (b) : (a) < (b) ? (a) : (b))
#define SF_SIGN(x) ((x) > 0 ? 1 : (x) < 0 ? -1 : (x) == 0 ? 0 : (x))
static inline double sf_sigmoid(double x) { double e = exp(-fabs(x)); return x >= 0 ? 1 / (1 + e) : e / (1 + e); }
static inline double sf_softplus(double x) { return (x > 0 ? x : 0) + log1p(exp(-fabs(x))); }
static inline double sf_uniform(uint64_t seed, uint64_t counter) {
    uint64_t z = seed + counter * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1.0p-53;
}
"""


_MIRRORED = {"<": ">", ">": "<", "<=": ">=", ">=": "<=", "==": "==", "!=": "!="}


def _integral(dtype) -> bool:
    return dtype is not None and np.dtype(dtype).kind in "biu"


class KernelCPrinter(C99CodePrinter):
    """C99 expressions for kernel bodies: flat-indexed loads and symflux's special functions."""

    # terms in the order they are stored: sorting them compares coefficients, which fails for NaN
    _default_settings = {**C99CodePrinter._default_settings, "order": "none"}
    _kf = {**C99CodePrinter._kf, **special.FUNCTIONS}  # what libm has not: special.c's

    buffers: dict = {}  # name → dtype, of the program being rendered
    result = None  # the dtype of the value being stored (integer loads are converted to it)
    compared = False  # printing a comparison's operands, whose loads (only) take their common type

    def _print_Indexed(self, expr):
        """A load; an integer one into a store of another integer type converted first, as NumPy
        converts operands to the result type (C would compute int32 with uint32 in unsigned)."""
        result, self.result = self.result, None  # an index is an index
        load = f"{expr.base.label}[{self._print(expr.indices[0])}]"
        self.result = result
        stored = self.buffers.get(str(expr.base.label))
        if result != stored and _integral(stored) and result is not None and np.dtype(result).kind in "iu":
            return f"(({CTYPE[result]}){load})"
        return load

    def _print_Mul(self, expr):
        numerator, denominator = quotient(expr)
        if denominator == 1:
            return super()._print_Mul(expr)
        # a true division even of integers (C's / would truncate, and trap on INT_MIN / -1)
        real = self.type_aliases.get(real_type, real_type)
        return f"({self._print(numerator)})/(({self.type_mappings[real]})({self._print(denominator)}))"

    def _print_cbrt(self, expr):  # C99's (SymPy's printer knows only its own cbrt)
        return f"cbrt({self._print(expr.args[0])})"

    def _print_rint(self, expr):  # C99's, halves to even in the default rounding mode
        return f"rint({self._print(expr.args[0])})"

    def _print_trunc(self, expr):
        return f"trunc({self._print(expr.args[0])})"

    def _print_hypot(self, expr):
        return f"hypot({self._print(expr.args[0])}, {self._print(expr.args[1])})"

    def _print_sigmoid(self, expr):
        return f"sf_sigmoid({self._print(expr.args[0])})"

    def _print_softplus(self, expr):
        return f"sf_softplus({self._print(expr.args[0])})"

    def _print_idiv(self, expr):
        return f"(({self._print(expr.args[0])}) / ({self._print(expr.args[1])}))"

    def _print_imod(self, expr):
        return f"(({self._print(expr.args[0])}) % ({self._print(expr.args[1])}))"

    def _print_bitwise_and(self, expr):
        return "(({}) & ({}))".format(*map(self._print, expr.args))

    def _print_bitwise_or(self, expr):
        return "(({}) | ({}))".format(*map(self._print, expr.args))

    def _print_bitwise_xor(self, expr):
        return "(({}) ^ ({}))".format(*map(self._print, expr.args))

    def _print_invert(self, expr):
        return f"(~({self._print(expr.args[0])}))"

    def _print_gcd(self, expr):  # special.c's
        return "SF_SHIFT(codegen_gcd, {}, {})".format(*map(self._print, expr.args))

    def _print_lcm(self, expr):
        return "SF_SHIFT(codegen_lcm, {}, {})".format(*map(self._print, expr.args))

    def _print_left_shift(self, expr):
        return "SF_SHIFT(sf_left_shift, {}, {})".format(*map(self._print, expr.args))

    def _print_right_shift(self, expr):
        return "SF_SHIFT(sf_right_shift, {}, {})".format(*map(self._print, expr.args))

    def _print_uniform(self, expr):
        return f"sf_uniform((uint64_t)({self._print(expr.args[0])}), (uint64_t)({self._print(expr.args[1])}))"

    def _print_Relational(self, expr):
        """Integer loads and casts compared in their NumPy common type (C compares int32 with uint32
        unsigned); a signed side against uint64, which share none, compared exactly, as NumPy does."""
        lhs, rhs = self._integer_operands(expr.lhs), self._integer_operands(expr.rhs)
        if lhs and rhs and all(d.kind == "i" for d in lhs) and all(d == np.uint64 for d in rhs):
            return self._signed_against_uint64(expr.lhs, expr.rel_op, expr.rhs)
        if lhs and rhs and all(d == np.uint64 for d in lhs) and all(d.kind == "i" for d in rhs):
            return self._signed_against_uint64(expr.rhs, _MIRRORED[expr.rel_op], expr.lhs)
        loads = self._integer_operands(expr)
        common = np.result_type(*loads) if loads else None
        settled = literal_comparison(expr, common) if common is not None else None
        if settled is not None:  # C would convert the literal to the loads' type: uint32 x < −3
            return str(int(settled))
        result, self.result = self.result, common.name if common is not None and common.kind in "iu" else None
        compared, self.compared = self.compared, True
        text = super()._print_Relational(expr)
        self.result, self.compared = result, compared
        return text

    def _integer_operands(self, side) -> list:
        """The dtypes of the buffers ``side`` reads and of the casts it computes (a cast's own type,
        not its operand's: int8 x < uint32(x) compares in int64), when all are integers or bools."""
        loads, stack, seen = [], [side], set()
        while stack:
            e = stack.pop()
            if e in seen:
                continue
            seen.add(e)
            if type(e).__name__ == "cast":
                loads.append(np.dtype(str(e.args[1])))
            elif isinstance(e, sympy.Indexed):
                loads.append(np.dtype(self.buffers.get(str(e.base.label), "float64")))
            else:
                stack.extend(e.args)
        return loads if loads and all(_integral(d) for d in loads) else []

    def _signed_against_uint64(self, signed, op, unsigned):
        """A negative value is below every uint64; a nonnegative one compares as a uint64."""
        s, u = self._print(signed), self._print(unsigned)
        return f"(({s}) < 0 ? (0 {op} 1) : ((uint64_t)({s}) {op} ({u})))"

    def _print_ITE(self, expr):
        c, a, b = (self._print(x) for x in expr.args)
        return f"(({c}) ? ({a}) : ({b}))"

    def _print_Piecewise(self, expr):
        """Nested ``?:``, each branch in the stored integer type: C's ``?:`` takes its branches'
        common C type, which for int8 and uint32 is unsigned (−1 became 4294967295 in an int64)."""
        typed = self.result is not None and np.dtype(self.result).kind in "iu" and not self.compared
        value_of = (lambda v: f"(({CTYPE[self.result]})({self._print(v)}))") if typed else self._print
        pairs = list(expr.args)
        out = value_of(pairs.pop()[0]) if pairs[-1][1] == sympy.true else "NAN"
        for value, cond in reversed(pairs):
            out = f"(({self._print(cond)}) ? ({value_of(value)}) : ({out}))"
        return out

    def _print_Max(self, expr):
        return self._extremum(expr, "SF_MAX")

    def _print_Min(self, expr):
        return self._extremum(expr, "SF_MIN")

    def _extremum(self, expr, macro):
        out = self._print(expr.args[0])
        for arg in expr.args[1:]:
            out = f"{macro}({out}, {self._print(arg)})"
        return out

    def _print_isnan(self, expr):
        return f"isnan((double)({self._print(expr.args[0])}))"

    def _print_isinf(self, expr):
        return f"isinf((double)({self._print(expr.args[0])}))"

    def _print_isfinite(self, expr):
        return f"isfinite((double)({self._print(expr.args[0])}))"

    def _print_cast(self, expr):
        """Into an integer type, the value computed in it: fusion casts a value to the type its
        producer computed it in (uint32 · int8 in int64, which C would multiply unsigned), and an
        explicit conversion's operand is a load or such a cast."""
        target = str(expr.args[1])
        floating = self._float_valued(expr.args[0])
        result, self.result = self.result, target if np.dtype(target).kind in "iu" and not floating else None
        compared, self.compared = self.compared, False
        value = self._print(expr.args[0])
        self.result, self.compared = result, compared
        if target == "bool":  # nonzero, as NumPy converts (a uint8_t would keep 2)
            converted = f"((uint8_t)(({value}) != 0))"
        elif target != "uint64" and np.dtype(target).kind in "iu" and floating:
            # a float to an integer through a signed 32-bit integer (64-bit for int64 and uint32),
            # as NumPy converts on x86 (−2.0 to uint8 is 254; C leaves a conversion out of range undefined)
            through = "int64_t" if target in ("int64", "uint32") else "int32_t"
            converted = f"(({CTYPE[target]})({through})({value}))"
        else:
            converted = f"(({CTYPE[target]})({value}))"
        if result != target and not compared and _integral(result) and np.dtype(result).kind in "iu" \
                and np.dtype(target).kind in "iu":
            # then into the integer type arithmetic computes in, as a load is: C would negate a
            # uint32 in uint32 where int8 − uint32 is int64 (a comparison's operands keep theirs)
            return f"(({CTYPE[result]}){converted})"
        return converted

    def _float_valued(self, e) -> bool:
        """Whether ``e``'s value is a float: a truncation, a float literal or load among its values
        (a condition's float literal makes no float: where(x > 0.5, i, j) of integers is one)."""
        if type(e).__name__ == "trunc" or isinstance(e, sympy.Float):
            return True
        if isinstance(e, sympy.Indexed):
            return np.dtype(self.buffers.get(str(e.base.label), "float64")).kind == "f"
        if type(e).__name__ == "cast":
            return np.dtype(str(e.args[1])).kind == "f"
        if isinstance(e, sympy.Piecewise):
            return any(self._float_valued(value) for value, _ in e.args)
        if isinstance(e, (sympy.core.relational.Relational, sympy.logic.boolalg.Boolean)):
            return False
        return any(self._float_valued(a) for a in e.args)

    def _print_floor_divide(self, expr):
        return f"SF_DIVMOD(sf_floor_divide, {self._print(expr.args[0])}, {self._print(expr.args[1])})"

    def _print_fmod(self, expr):
        return f"SF_DIVMOD(sf_fmod, {self._print(expr.args[0])}, {self._print(expr.args[1])})"

    def _print_remainder(self, expr):
        return f"SF_DIVMOD(sf_remainder, {self._print(expr.args[0])}, {self._print(expr.args[1])})"

    def _print_Abs(self, expr):  # SymPy's printer picks fabs or abs only when it knows the type
        return f"SF_ABS({self._print(expr.args[0])})"

    def _print_sign(self, expr):
        return f"SF_SIGN({self._print(expr.args[0])})"

    def _print_Pow(self, expr):
        if expr.is_number and not expr.is_Integer:  # a constant such as sqrt(3): its value
            return self._print(sympy.Float(float(expr)))
        if expr.exp.is_Integer and 2 <= expr.exp <= 8:  # products: exact (and wrapping) for integers too
            base = f"({self._print(expr.base)})"
            return "(" + "*".join([base] * int(expr.exp)) + ")"
        if not expr.exp.is_Number:  # pow for floats, NumPy's integer power for integer arrays
            return f"SF_DIVMOD(sf_power, {self._print(expr.base)}, {self._print(expr.exp)})"
        return super()._print_Pow(expr)

    def _print_BooleanTrue(self, expr):  # C99 has no true/false without stdbool.h
        return "1"

    def _print_BooleanFalse(self, expr):
        return "0"

    def _print_ImaginaryUnit(self, expr):
        """A real computation has no i (sqrt(−½) folded by SymPy): NumPy's result is NaN."""
        return "NAN"

    _print_ComplexInfinity = _print_ImaginaryUnit

    def _print_Infinity(self, expr):
        return "INFINITY"

    def _print_NegativeInfinity(self, expr):
        return "(-INFINITY)"


def _c_float(value) -> str:
    """A float as a C constant expression: math.h's NAN and INFINITY where Python would print nan, inf."""
    value = float(value)
    if np.isnan(value):
        return "NAN"
    return repr(value) if np.isfinite(value) else ("INFINITY" if value > 0 else "-INFINITY")


class CRenderer:
    """``render(program, embed)`` → (C source, header)."""

    def render(self, program: Program, embed: dict | None = None) -> tuple[str, str]:
        embed = embed or {}
        self.printer = KernelCPrinter({"strict": False})
        self.declared: dict = {}  # local → its C type, for reduction steps
        self.printer.buffers = {name: b.dtype for name, b in program.buffers().items()}
        params = [b for b in program.args if b.name not in embed]
        signature = f"void {program.name}(" + ", ".join(f"void *{b.name}_ptr" for b in params) \
            + "".join(f", int64_t {s}" for s in program.sizes) + ")"
        lines = [PRELUDE]
        for name, data in embed.items():
            buf = program.buffers()[name]
            values = ", ".join(_c_float(v) if buf.dtype.startswith("float") else str(int(v)) for v in np.ravel(data))
            lines.append(f"static const {CTYPE[buf.dtype]} {name}[{max(np.size(data), 1)}] = {{{values}}};")
        lines.append(signature + " {")
        qualifier = lambda b: "" if b.name in program.aliased else "restrict "
        body = [f"{CTYPE[b.dtype]} *{qualifier(b)}{b.name} = ({CTYPE[b.dtype]} *){b.name}_ptr;" for b in params]
        body += [f"{CTYPE[t.dtype]} *{t.name} = malloc(sizeof({CTYPE[t.dtype]}) * ({self.printer.doprint(t.size)}));"
                 for t in program.temps]
        for stmt in program.body:
            body += self._stmt(stmt)
        body += [f"free({t.name});" for t in program.temps]
        lines += ["    " + line for line in body] + ["}"]
        header = self._header(program, params, signature)
        return "\n".join(lines) + "\n", header

    def _header(self, program, params, signature) -> str:
        guard = program.name.upper() + "_H"
        doc = [f" *   {b.name}: {CTYPE[b.dtype]}[{b.size}]" for b in params]
        return "\n".join([f"#ifndef {guard}", f"#define {guard}", "#include <stdint.h>", "",
                          f"/* {program.name}: one call computes every output.",
                          " * Arguments, in order (row-major, contiguous; outputs are written):", *doc, " */",
                          signature + ";", "", f"#endif  /* {guard} */", ""])

    def _stmt(self, stmt) -> list[str]:
        return getattr(self, "_stmt_" + type(stmt).__name__)(stmt)

    def _block(self, statements) -> list[str]:
        return ["    " + line for s in statements for line in self._stmt(s)]

    def _stmt_Loop(self, loop):
        if loop.jam > 1:  # a register tile
            return [line for stmt in unroll_and_jam(loop) for line in self._stmt(stmt)]
        extent = self.printer.doprint(loop.extent)
        return [f"for (int64_t {loop.var} = 0; {loop.var} < {extent}; {loop.var}++) {{",
                *self._block(loop.body), "}"]

    def _stmt_Store(self, store):
        self.printer.result = store.buffer.dtype
        value = self.printer.doprint(store.value)
        self.printer.result = None
        return [f"{store.buffer.name}[{self.printer.doprint(store.index)}] = ({CTYPE[store.buffer.dtype]})({value});"]

    def _stmt_Let(self, let):
        self.declared[let.var] = CTYPE[let.dtype]
        return [f"{CTYPE[let.dtype]} {let.var} = {self.printer.doprint(let.value)};"]

    def _stmt_Update(self, update):
        value = self.printer.doprint(update.value)
        if update.op == "add":
            return [f"{update.var} += {value};"]
        op = ">" if update.op == "max" else "<"
        # in the accumulator's type: through a double, 64-bit integers past 2⁵³ would round
        return [f"{{ {self.declared[update.var]} v = {value}; if (v {op} {update.var} || v != v) {update.var} = v; }}"]

    def _stmt_If(self, stmt):
        return [f"if ({self.printer.doprint(stmt.cond)}) {{", *self._block(stmt.body), "}"]

    def _stmt_Call(self, call):
        raise UnsupportedExpression(f"{call.function}: matrix functions call symflux's LAPACK runtime, which C "
                                    "and CUDA code do not include (use sf.compile on the CPU)")

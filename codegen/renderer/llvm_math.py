"""Vectorisable math for the LLVM renderer: exp, log, log1p, expm1, tanh, sigmoid and softplus as
inline arithmetic (no library calls), so loops containing them vectorise. Accurate to a few ulp,
with IEEE special values (tested against NumPy in tests/symflux/test_compile.py)."""

from __future__ import annotations

import math

import sympy

from ..runtime.cpu import fused_multiply_add


class InlineMath:
    """Mixin of ``LLVMRenderer``: ``_emit_<function>`` rules built from plain IR arithmetic."""

    def _f64(self, value):
        return self._constant(value, "f64")

    def _i64(self, value):
        return self._constant(value, "i64")

    def _horner(self, z, coefficients):
        """The polynomial with ``coefficients`` (highest power first) at ``z``, with FMAs."""
        p = self._f64(coefficients[0])
        for a in coefficients[1:]:
            p = self._multiply_add(p, z, self._f64(a))
        return p

    def _multiply_add(self, x, y, z):
        """x·y + z in double precision: one fused operation where the CPU has it, else two roundings.
        Written out, not left to LLVM (``contract``), which fuses in the vector body and, with its
        fast instruction selector, not in the scalar loop: an element's value would depend on its
        position in the array."""
        if fused_multiply_add():
            return self._intrinsic("llvm.fma", "f64", [x, y, z])
        return self.builder.fadd(self.builder.fmul(x, y), z)

    # -- vectorisable exponentials ------------------------------------------------------------------
    # exp is inline arithmetic (no library call), so loops containing it vectorise: Cody–Waite
    # reduction x = k·ln2 + r, a degree-13 Taylor polynomial for e^r (|r| ≤ ln2/2, error < 1e-17),
    # and 2^k assembled from exponent bits in two halves (covering subnormal and infinite results).
    LN2_HI, LN2_LO = 6.93147180369123816490e-01, 1.90821492927058770002e-10

    def _exp64(self, x):
        b = self.builder
        c = self._f64
        k = self._intrinsic("llvm.rint", "f64", [b.fmul(x, c(1.4426950408889634))])
        r = b.fsub(b.fsub(x, b.fmul(k, c(self.LN2_HI))), b.fmul(k, c(self.LN2_LO)))
        p = self._horner(r, [1.0 / math.factorial(n) for n in range(13, -1, -1)])
        k = b.select(b.fcmp_ordered("<", k, c(-1100.0)), c(-1100.0), b.select(b.fcmp_ordered(">", k, c(1100.0)),
                                                                               c(1100.0), k))
        ki = b.fptosi(k, self._type("i64"))
        half = b.ashr(ki, self._i64(1))
        scale = lambda e: b.bitcast(b.shl(b.add(e, self._i64(1023)), self._i64(52)), self._type("f64"))
        out = b.fmul(b.fmul(p, scale(half)), scale(b.sub(ki, half)))
        out = b.select(b.fcmp_ordered(">", x, c(709.782712893384)), c(math.inf), out)
        out = b.select(b.fcmp_ordered("<", x, c(-745.1332191019412)), c(0.0), out)
        return b.select(b.fcmp_unordered("uno", x, x), x, out)

    def _expm1_small(self, x):
        """e^x − 1 for |x| ≤ 1 by its Taylor series (no cancellation near 0)."""
        p = self._horner(x, [1.0 / math.factorial(n) for n in range(18, 0, -1)])
        return self.builder.fmul(p, x)

    def _in_f64(self, e, kind, compute):
        """Evaluate ``compute(x)`` on the argument in double precision, returning ``kind``."""
        x = self._emit(e.args[0], "f64")
        return self._convert(compute(x), "f64", kind)

    def _log64(self, x):
        """log x = k·ln2 + 2·atanh(s), s = (m − 1)/(m + 1), x = m·2^k with m in [√½, √2); subnormals
        are scaled by 2^54 first. Special values: log 0 = −∞, log x<0 = NaN, log ∞ = ∞."""
        b = self.builder
        c = self._f64
        i64 = self._i64
        tiny = b.fcmp_ordered("<", x, c(2.2250738585072014e-308))
        scaled = b.select(tiny, b.fmul(x, c(2.0**54)), x)
        bits = b.bitcast(scaled, self._type("i64"))
        k = b.sub(b.and_(b.lshr(bits, i64(52)), i64(0x7FF)), i64(1023))
        k = b.select(tiny, b.sub(k, i64(54)), k)
        m = b.bitcast(b.or_(b.and_(bits, i64(0xFFFFFFFFFFFFF)), i64(1023 << 52)), self._type("f64"))
        big = b.fcmp_ordered(">", m, c(math.sqrt(2.0)))
        m = b.select(big, b.fmul(m, c(0.5)), m)
        k = b.select(big, b.add(k, i64(1)), k)
        s = b.fdiv(b.fsub(m, c(1.0)), b.fadd(m, c(1.0)))
        s2 = b.fmul(s, s)
        p = self._horner(s2, [1.0 / n for n in range(27, 0, -2)])
        kf = b.sitofp(k, self._type("f64"))
        out = b.fadd(b.fmul(kf, c(self.LN2_HI)), b.fadd(b.fmul(kf, c(self.LN2_LO)), b.fmul(c(2.0), b.fmul(s, p))))
        out = b.select(b.fcmp_ordered("==", x, c(0.0)), c(-math.inf), out)
        out = b.select(b.fcmp_ordered("==", x, c(math.inf)), c(math.inf), out)
        out = b.select(b.fcmp_ordered(">=", x, c(0.0)), out, c(math.nan))  # x < 0 gives NaN
        return b.select(b.fcmp_unordered("uno", x, x), x, out)  # NaN stays NaN

    def _log1p64(self, t):
        """log(1 + t) accurately for small t: log(u)·t/(u − 1), u = 1 + t (t itself where u == 1)."""
        b = self.builder
        u = b.fadd(self._f64(1.0), t)
        d = b.fsub(u, self._f64(1.0))
        ratio = b.fmul(self._log64(u), b.fdiv(t, d))  # t/d first: log(u)·t overflows for t ≳ 1e306
        ratio = b.select(b.fcmp_ordered("==", u, self._f64(math.inf)), u, ratio)
        return b.select(b.fcmp_ordered("==", d, self._f64(0.0)), t, ratio)

    def _emit_log1p(self, e, kind):
        return self._in_f64(e, kind, self._log1p64)

    def _emit_expm1(self, e, kind):
        """The Taylor series for |x| < 0.5 (no cancellation), e^x − 1 beyond."""
        def expm1(x):
            b = self.builder
            small = b.fcmp_ordered("<", self._intrinsic("llvm.fabs", "f64", [x]), self._f64(0.5))
            return b.select(small, self._expm1_small(x), b.fsub(self._exp64(x), self._f64(1.0)))
        return self._in_f64(e, kind, expm1)

    def _emit_log(self, e, kind):
        if len(e.args) == 2:  # log(x, base)
            return self._emit(sympy.log(e.args[0]) / sympy.log(e.args[1]), kind)
        return self._in_f64(e, kind, self._log64)

    def _emit_exp(self, e, kind):
        return self._in_f64(e, kind, self._exp64)

    def _emit_tanh(self, e, kind):
        """tanh x = t/(t+2), t = expm1(2x), for |x| < 0.5; else sign(x)·(1 − 2/(e^{2|x|} + 1))."""
        def tanh(x):
            b = self.builder
            c = self._f64
            ax = self._intrinsic("llvm.fabs", "f64", [x])
            t = self._expm1_small(b.fmul(x, c(2.0)))
            small = b.fdiv(t, b.fadd(t, c(2.0)))
            e2 = self._exp64(b.fmul(ax, c(2.0)))
            large = b.fsub(c(1.0), b.fdiv(c(2.0), b.fadd(e2, c(1.0))))
            large = self._intrinsic("llvm.copysign", "f64", [large, x])
            return b.select(b.fcmp_ordered("<", ax, c(0.5)), small, large)
        return self._in_f64(e, kind, tanh)

    def _emit_sigmoid(self, e, kind):
        """Stable: e = exp(−|x|); x ≥ 0 ? 1/(1+e) : e/(1+e)."""
        b = self.builder
        x = self._emit(e.args[0], kind)
        t = self._convert(self._exp64(self._convert(b.fneg(self._intrinsic("llvm.fabs", kind, [x])), kind, "f64")),
                          "f64", kind)
        denom = b.fadd(self._constant(1, kind), t)
        return b.select(b.fcmp_ordered(">=", x, self._constant(0, kind)), b.fdiv(self._constant(1, kind), denom),
                        b.fdiv(t, denom))

    def _emit_softplus(self, e, kind):
        """Stable: max(x, 0) + log1p(exp(−|x|))."""
        b = self.builder
        x = self._emit(e.args[0], kind)
        t = self._convert(self._exp64(self._convert(b.fneg(self._intrinsic("llvm.fabs", kind, [x])), kind, "f64")),
                          "f64", kind)
        positive = b.select(b.fcmp_ordered(">", x, self._constant(0, kind)), x, self._constant(0, kind))
        log1p = self._convert(self._log1p64(self._convert(t, kind, "f64")), "f64", kind)
        return b.fadd(positive, log1p)

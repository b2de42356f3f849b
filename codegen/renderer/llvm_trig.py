"""Vectorisable trigonometry for the LLVM renderer: sin, cos, tan, atan, asin, acos, sinh and cosh
as inline arithmetic, so loops containing them vectorise (a libm call per element does not).

sin/cos/tan reduce x = k·π/2 + r with π/2 split into three doubles and one FMA per part. For |x| ≥ 1,
x − k·A is a multiple of 2⁻⁵² below 1, so the first step is exact and r keeps its relative accuracy
even next to a multiple of π/2. fdlibm's kernels give sin r and cos r on |r| ≤ π/4. Arguments
beyond ``HUGE_ANGLE`` (and ±∞) take a branch to libm, which reduces exactly (Payne–Hanek), through
the runtime's ``exact_trig`` library; the branch is off the vector path and almost never taken.
atan is Cephes' rational approximation after reducing |x| to [0, 0.66]; asin and acos are written
with atan.
"""

from __future__ import annotations

import math

import sympy

from ..runtime import exact_trig

PIO2 = (1.5707963267948966, 6.123233995736766e-17, -1.4973849048591698e-33)  # π/2 = A + B + C
SIN = (-1.66666666666666324348e-01, 8.33333333332248946124e-03, -1.98412698298579493134e-04,
       2.75573137070700676789e-06, -2.50507602534068634195e-08, 1.58969099521155010221e-10)
COS = (4.16666666666666019037e-02, -1.38888888888741095749e-03, 2.48015872894767294178e-05,
       -2.75573143513906633035e-07, 2.08757232129817482790e-09, -1.13596475577881948265e-11)
ATAN_P = (-8.750608600031904122785e-1, -1.615753718733365076637e1, -7.500855792314704667340e1,
          -1.228866684490136173410e2, -6.485021904942025371773e1)
ATAN_Q = (1.0, 2.485846490142306297962e1, 1.650270098316988542046e2, 4.328810604912902668951e2,
          4.853903996359136964868e2, 1.945506571482613964425e2)
SIN_COS = sympy.Symbol("sin_cos")  # tags the memo key of a shared reduction
PIO2_TAIL = 6.123233995736765886130e-17  # π/2 − double(π/2), added back after the reduction


class InlineTrig:
    """Mixin of ``LLVMRenderer``: ``_emit_<function>`` rules for the circular and hyperbolic functions."""

    HUGE_ANGLE = 2.0**40

    def _fma(self, a, x, y):
        return self._intrinsic("llvm.fma", "f64", [a, x, y])

    def _quadrant(self, x):
        """(r, q): x = k·π/2 + r, |r| ≲ π/4, q = k mod 4 as a double (0…3)."""
        b = self.builder
        k = self._intrinsic("llvm.rint", "f64", [b.fmul(x, self._f64(2 / math.pi))])
        minus_k = b.fneg(k)
        r = x
        for part in PIO2:
            r = self._fma(minus_k, self._f64(part), r)
        r = b.select(b.fcmp_ordered("==", k, self._f64(0.0)), x, r)  # exact when no reduction is needed
        quarter = self._intrinsic("llvm.floor", "f64", [b.fmul(k, self._f64(0.25))])
        return r, b.fsub(k, b.fmul(quarter, self._f64(4.0)))

    def _sin_cos(self, r):
        """fdlibm's __kernel_sin and __kernel_cos on |r| ≤ π/4 (errors below 2⁻⁵⁸)."""
        b = self.builder
        z = b.fmul(r, r)
        sin = self._multiply_add(b.fmul(z, r), self._horner(z, SIN[::-1]), r)
        half = b.fmul(z, self._f64(0.5))
        w = b.fsub(self._f64(1.0), half)
        tail = b.fmul(b.fmul(z, z), self._horner(z, COS[::-1]))
        cos = b.fadd(w, b.fadd(b.fsub(b.fsub(self._f64(1.0), w), half), tail))
        return sin, cos

    def _trig(self, e, kind, name, pick):
        """Inline ``pick(sin r, cos r, q, odd)`` on the reduced argument; libm for huge |x|."""
        x, sin, cos, q, odd = self._reduced(e.args[0])
        b = self.builder
        value = pick(sin, cos, q, odd)
        if name != "cos":  # sin and tan are odd: ±0 ↦ ±0, which the polynomial loses
            value = b.select(b.fcmp_ordered("==", x, self._f64(0.0)), x, value)
        return self._convert(self._unless_huge(x, value, name), "f64", kind)

    def _reduced(self, argument):
        """(x, sin r, cos r, q, odd) for ``argument``, computed once for its sin, cos and tan."""
        x = self._emit(argument, "f64")
        key = (sympy.Tuple(SIN_COS, argument), "f64", id(self.builder.block))
        if key not in self.memo:
            b = self.builder
            r, q = self._quadrant(x)
            half_q = self._intrinsic("llvm.floor", "f64", [b.fmul(q, self._f64(0.5))])
            odd = b.fcmp_ordered("==", b.fsub(q, b.fmul(half_q, self._f64(2.0))), self._f64(1.0))
            self.memo[key] = (x, *self._sin_cos(r), q, odd)
        return self.memo[key]

    def _unless_huge(self, x, value, name):
        """``value``, or libm's ``name``(x) when |x| > HUGE_ANGLE or x is ±∞ (a rarely taken branch)."""
        b = self.builder
        huge = b.fcmp_ordered(">", self._intrinsic("llvm.fabs", "f64", [x]), self._f64(self.HUGE_ANGLE))
        if self.lanes:  # the library's vector variant calls libm on the huge lanes, if any
            exact_trig.declare(self.module, name)
            return b.select(huge, b.call(self.module.globals[exact_trig.variant_name(name, self.lanes)], [x, huge]),
                            value)
        inline_block = b.block
        with b.if_then(huge, likely=False):
            exact = b.call(exact_trig.declare(self.module, name), [x])
            exact_block = b.block
        merged = b.phi(self._type("f64"))
        merged.add_incoming(value, inline_block)
        merged.add_incoming(exact, exact_block)
        self._rejoin(inline_block)
        return merged

    def _emit_sin(self, e, kind):
        def pick(sin, cos, q, odd):  # quadrants: sin, cos, −sin, −cos
            v = self.builder.select(odd, cos, sin)
            return self.builder.select(self.builder.fcmp_ordered(">=", q, self._f64(2.0)), self.builder.fneg(v), v)
        return self._trig(e, kind, "sin", pick)

    def _emit_cos(self, e, kind):
        def pick(sin, cos, q, odd):  # quadrants: cos, −sin, −cos, sin
            b = self.builder
            v = b.select(odd, sin, cos)
            flip = b.and_(b.fcmp_ordered(">=", q, self._f64(1.0)), b.fcmp_ordered("<=", q, self._f64(2.0)))
            return b.select(flip, b.fneg(v), v)
        return self._trig(e, kind, "cos", pick)

    def _emit_tan(self, e, kind):
        def pick(sin, cos, q, odd):  # tan r, or −cot r in odd quadrants
            b = self.builder
            return b.select(odd, b.fdiv(b.fneg(cos), sin), b.fdiv(sin, cos))
        return self._trig(e, kind, "tan", pick)

    # -- inverse functions ----------------------------------------------------------------------------
    def _atan64(self, x):
        """Cephes: |x| > tan 3π/8 → π/2 + atan(−1/|x|); |x| > 0.66 → π/4 + atan((|x|−1)/(|x|+1));
        then t + t³·P(t²)/Q(t²). About 1 ulp; atan(±∞) = ±π/2, the sign of zero kept."""
        b = self.builder
        a = self._intrinsic("llvm.fabs", "f64", [x])
        big = b.fcmp_ordered(">", a, self._f64(2.41421356237309504880))
        mid = b.fcmp_ordered(">", a, self._f64(0.66))
        one = self._f64(1.0)
        t = b.select(big, b.fdiv(self._f64(-1.0), a), b.select(mid, b.fdiv(b.fsub(a, one), b.fadd(a, one)), a))
        offset = b.select(big, self._f64(math.pi / 2), b.select(mid, self._f64(math.pi / 4), self._f64(0.0)))
        tail = b.select(big, self._f64(PIO2_TAIL), b.select(mid, self._f64(PIO2_TAIL / 2), self._f64(0.0)))
        z = b.fmul(t, t)
        ratio = b.fdiv(b.fmul(z, self._horner(z, ATAN_P)), self._horner(z, ATAN_Q))
        y = b.fadd(offset, b.fadd(self._multiply_add(t, ratio, t), tail))
        return self._intrinsic("llvm.copysign", "f64", [y, x])

    def _emit_atan(self, e, kind):
        return self._in_f64(e, kind, self._atan64)

    def _emit_asin(self, e, kind):
        """asin x = atan(x / √((1 − x)(1 + x))): 1 − x is exact near 1, so no cancellation."""
        def asin(x):
            b = self.builder
            root = self._intrinsic("llvm.sqrt", "f64", [b.fmul(b.fsub(self._f64(1.0), x), b.fadd(self._f64(1.0), x))])
            return self._atan64(b.fdiv(x, root))
        return self._in_f64(e, kind, asin)

    def _emit_acos(self, e, kind):
        """acos x = 2·atan(√((1 − x)/(1 + x)))."""
        def acos(x):
            b = self.builder
            root = self._intrinsic("llvm.sqrt", "f64", [b.fdiv(b.fsub(self._f64(1.0), x), b.fadd(self._f64(1.0), x))])
            return b.fmul(self._f64(2.0), self._atan64(root))
        return self._in_f64(e, kind, acos)

    # -- hyperbolic functions -------------------------------------------------------------------------
    def _half_exp_squared(self, a):
        """e^a / 2 as (e^{a/2}/2)·e^{a/2}: finite up to a = 710.47, where e^a alone overflows."""
        h = self._exp64(self.builder.fmul(a, self._f64(0.5)))
        return self.builder.fmul(self.builder.fmul(h, self._f64(0.5)), h)

    def _emit_sinh(self, e, kind):
        """sinh |x| = (t + t/(t + 1))/2 with t = e^|x| − 1 (no cancellation), e^|x|/2 beyond 22."""
        def sinh(x):
            b = self.builder
            a = self._intrinsic("llvm.fabs", "f64", [x])
            small = b.fcmp_ordered("<", a, self._f64(0.5))
            t = b.select(small, self._expm1_small(a), b.fsub(self._exp64(a), self._f64(1.0)))
            y = b.fmul(self._f64(0.5), b.fadd(t, b.fdiv(t, b.fadd(t, self._f64(1.0)))))
            y = b.select(b.fcmp_ordered("<", a, self._f64(22.0)), y, self._half_exp_squared(a))
            return self._intrinsic("llvm.copysign", "f64", [y, x])
        return self._in_f64(e, kind, sinh)

    def _emit_cosh(self, e, kind):
        """cosh x = (e^|x| + e^−|x|)/2, e^|x|/2 beyond 22."""
        def cosh(x):
            b = self.builder
            a = self._intrinsic("llvm.fabs", "f64", [x])
            ea = self._exp64(a)
            y = b.fmul(self._f64(0.5), b.fadd(ea, b.fdiv(self._f64(1.0), ea)))
            return b.select(b.fcmp_ordered("<", a, self._f64(22.0)), y, self._half_exp_squared(a))
        return self._in_f64(e, kind, cosh)

/* Special functions as SciPy computes them where libm has none or differs: polygamma ψ⁽ⁿ⁾
   (digamma for n = 0), erf⁻¹ and log|Γ|; and NumPy's gcd and lcm of integers.
   One text, three uses: the CPU runtime's library (SF_SPECIAL empty: exported symbols LLVM code
   calls), exported C (static inline) and CUDA device code (__device__ static inline). */
#include <math.h>
#ifndef SF_SPECIAL
#define SF_SPECIAL
#endif

/* log|Γ(x)|: libm's lgamma, except −∞ at −∞ (SciPy's gammaln; C's lgamma gives +∞). */
SF_SPECIAL double codegen_gammaln(double x) {
    return x == -INFINITY ? x : lgamma(x);
}

/* cot(πx), from the distance r to the nearest integer (exact): cos(πr) = sin(π(½ − |r|)) is exactly 0
   at the half-integers, where the reflections below cancel. */
SF_SPECIAL double codegen_cotpi(double x) {
    double r = x - round(x);
    return sin(3.141592653589793 * (0.5 - fabs(r))) / sin(3.141592653589793 * r);
}

/* ψ(x): the reflection ψ(x) = ψ(1 − x) − π/tan(πx) below 0, the recurrence ψ(x) = ψ(x + 1) − 1/x up
   to 10, then the asymptotic series. Poles: ∓∞ at ±0 (SciPy's), NaN at the negative integers. */
SF_SPECIAL double codegen_digamma(double x) {
    if (isnan(x) || x == -INFINITY) return NAN;
    if (x == 0) return signbit(x) ? INFINITY : -INFINITY;
    double result = 0;
    if (x < 0) {
        if (x == floor(x)) return NAN;
        result = -3.141592653589793 * codegen_cotpi(x);
        x = 1 - x;
    }
    for (; x < 10; x += 1) result -= 1 / x;
    double t = 1 / (x * x);  /* Σ B₂ₖ/(2k x²ᵏ), k = 1…7 */
    double series = t * (1.0 / 12 - t * (1.0 / 120 - t * (1.0 / 252 - t * (1.0 / 240 - t * (1.0 / 132 - t * (
        691.0 / 32760 - t / 12))))));
    return result + log(x) - 0.5 / x - series;
}

#define SF_REFLECTED_ORDERS 40

/* π⁻ⁿ dⁿ/dxⁿ cot(πx) = Pₙ(cot πx) for n ≤ SF_REFLECTED_ORDERS: P₀(c) = c, Pₖ₊₁(c) = −(1 + c²) Pₖ′(c). */
SF_SPECIAL double codegen_cot_derivative(int n, double x) {
    double p[SF_REFLECTED_ORDERS + 2] = {0, 1}, c = codegen_cotpi(x);
    for (int k = 0; k < n; k++) {  /* P has degree k + 1; its derivative times −(1 + c²) has degree k + 2 */
        double next[SF_REFLECTED_ORDERS + 2] = {0};
        for (int i = 1; i <= k + 1; i++) {
            next[i - 1] -= i * p[i];
            next[i + 1] -= i * p[i];
        }
        for (int i = 0; i <= k + 2; i++) p[i] = next[i];
    }
    double value = 0;
    for (int i = n + 1; i >= 0; i--) value = value * c + p[i];
    return value;
}

/* ψ⁽ⁿ⁾(x) = (−1)ⁿ⁺¹ n! ζ(n + 1, x) for n ≥ 1 (as SciPy computes it): Hurwitz ζ as its first terms
   up to a ≥ s + 10, then the Euler–Maclaurin tail; below 0 from ψ⁽ⁿ⁾(1 − x) by the reflection
   ψ⁽ⁿ⁾(x) = (−1)ⁿ ψ⁽ⁿ⁾(1 − x) − πⁿ⁺¹ Pₙ(cot πx) (no sum over the distance to 0). ±∞ with the sign of
   (−1)ⁿ⁺¹ at the poles (0 and the negative integers, −∞ too); NaN for n that is not a natural number. */
SF_SPECIAL double codegen_polygamma(double n, double x) {
    if (n == 0) return codegen_digamma(x);
    if (!(n > 0) || n != floor(n) || isnan(x)) return NAN;
    double sign = fmod(n, 2.0) == 1 ? 1 : -1, s = n + 1, sum = 0, a = x;
    if (x == INFINITY) return sign * 0.0;
    if (x <= 0 && x == floor(x)) return sign * INFINITY;
    if (x < 0 && n <= SF_REFLECTED_ORDERS)
        return -sign * codegen_polygamma(n, 1 - x) - pow(3.141592653589793, s) * codegen_cot_derivative((int)n, x);
    for (; a < s + 10; a += 1) sum += pow(a, -s);
    /* B₂ⱼ/(2j)!, j = 1…7: the tail a¹⁻ˢ/(s − 1) + a⁻ˢ/2 + Σ B₂ⱼ/(2j)! s(s + 1)…(s + 2j − 2) a⁻ˢ⁻²ʲ⁺¹ */
    const double bernoulli[7] = {1.0 / 12, -1.0 / 720, 1.0 / 30240, -1.0 / 1209600, 1.0 / 47900160,
                                 -691.0 / 1307674368000.0, 1.0 / 74724249600.0};
    double tail = pow(a, 1 - s) / (s - 1) + 0.5 * pow(a, -s), rising = s, power = pow(a, -s - 1);
    for (int j = 0; j < 7; j++) {
        tail += bernoulli[j] * rising * power;
        rising *= (s + 2 * j + 1) * (s + 2 * j + 2);
        power /= a * a;
    }
    return sign * tgamma(n + 1) * (sum + tail);
}

/* erf⁻¹(y): Giles' approximation ("Approximating the erfinv function", 2010), then Newton steps on
   erf, or on log erfc beyond |y| = ½, where 1 − |y| is exact. ±∞ at ±1, NaN outside [−1, 1]. */
SF_SPECIAL double codegen_erfinv(double y) {
    if (isnan(y) || y < -1 || y > 1) return NAN;
    if (y == 1 || y == -1) return y * INFINITY;
    if (y == 0) return y;
    double w = -log((1 - y) * (1 + y)), p;
    if (w < 5) {
        w -= 2.5;
        p = 2.81022636e-08;
        p = 3.43273939e-07 + p * w;
        p = -3.5233877e-06 + p * w;
        p = -4.39150654e-06 + p * w;
        p = 0.00021858087 + p * w;
        p = -0.00125372503 + p * w;
        p = -0.00417768164 + p * w;
        p = 0.246640727 + p * w;
        p = 1.50140941 + p * w;
    } else {
        w = sqrt(w) - 3;
        p = -0.000200214257;
        p = 0.000100950558 + p * w;
        p = 0.00134934322 + p * w;
        p = -0.00367342844 + p * w;
        p = 0.00573950773 + p * w;
        p = -0.0076224613 + p * w;
        p = 0.00943887047 + p * w;
        p = 1.00167406 + p * w;
        p = 2.83297682 + p * w;
    }
    double x = p * y, slope;  /* erf′(x) = 2/√π e^(−x²) */
    for (int k = 0; k < 4; k++) {
        slope = 1.1283791670955126 * exp(-x * x);
        if (fabs(y) <= 0.5) {
            x -= (erf(x) - y) / slope;
        } else {  /* on log erfc(|x|) = log(1 − |y|), which Newton solves in a few steps far into the tail */
            double tail = erfc(fabs(x));
            x += (y > 0 ? 1 : -1) * (log(tail) - log(1 - fabs(y))) * tail / slope;
        }
    }
    return x;
}

/* NumPy's gcd and lcm: of |a| and |b| (two's complement: |−2⁶³| stays −2⁶³), lcm as |a|/gcd·|b|
   wrapping; signed operands as int64, unsigned as uint64 (narrower types keep the low bits). */
SF_SPECIAL unsigned long long codegen_gcd_u(unsigned long long a, unsigned long long b) {
    while (b) {
        unsigned long long rest = a % b;
        a = b;
        b = rest;
    }
    return a;
}

SF_SPECIAL long long codegen_gcd_i(long long a, long long b) {
    return (long long)codegen_gcd_u(a < 0 ? 0ull - (unsigned long long)a : a, b < 0 ? 0ull - (unsigned long long)b : b);
}

SF_SPECIAL unsigned long long codegen_lcm_u(unsigned long long a, unsigned long long b) {
    unsigned long long g = codegen_gcd_u(a, b);
    return g ? a / g * b : 0;
}

SF_SPECIAL long long codegen_lcm_i(long long a, long long b) {
    return (long long)codegen_lcm_u(a < 0 ? 0ull - (unsigned long long)a : a, b < 0 ? 0ull - (unsigned long long)b : b);
}

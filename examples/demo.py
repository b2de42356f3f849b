"""The seed story end to end: exact derivatives, nested to third order, matrix calculus, and the
linear-regression example of Flux's "Simple Models" with its loss going down."""

import sympy

import symflux as sf
from symflux import gradient, params


def section(title):
    print(f"\n== {title} ==")


section("Derivatives, exactly")
f = lambda x: 3 * x**2 + 2 * x + 1
df = lambda x: gradient(f, x)[0]
d2f = lambda x: gradient(df, x)[0]
x = sf.symbols("x")
print("f(x)    =", f(x))
print("f'(x)   =", df(x), "   f'(2) =", df(2))
print("f''(x)  =", d2f(x), "          f''(2) =", d2f(2))

section("Nested to third order")
d = lambda g: (lambda v: gradient(g, v)[0])
g = lambda v: sf.exp(sf.sin(v)) / (1 + v**2)
for k, h in enumerate([d(g), d(d(g)), d(d(d(g)))], start=1):
    expr = h(x)
    print(f"d^{k}/dx^{k} exp(sin x)/(1+x²) = {expr}")
    print(f"   at x = 1/2 (exact → float): {sympy.N(expr.subs(x, sympy.Rational(1, 2)))}")
print("sin'''(1.0) =", d(d(d(sf.sin)))(1.0), "(= -cos(1))")

section("Arrays: integer in, exact integer out")
loss2 = lambda a, b: sf.sum((a - b) ** 2)
print("gradient(sum((x-y)^2), [2,1], [2,0]) =", gradient(loss2, [2, 1], [2, 0]))

section("Matrix calculus")
m, n = sympy.symbols("m n", integer=True, positive=True)
W, xv = sf.symbols("W", shape=(m, n)), sf.symbols("x", shape=(n,))
b, y = sf.symbols("b", shape=(m,)), sf.symbols("y", shape=(m,))
dW = gradient(lambda W: sf.sum((W @ xv + b - y) ** 2), W)[0]
print("∂/∂W ‖Wx + b − y‖² =", dW)
print("LaTeX:", sf.latex(dW))

section("Linear regression with implicit parameters (Flux 'Simple Models')")
sf.seed(0)
W, b = sf.rand(2, 5), sf.rand(2)
predict = lambda x: W @ x + b


def loss(x, y):
    return sf.sum((y - predict(x)) ** 2)


x, y = sf.rand(5), sf.rand(2)
for step in range(6):
    gs = gradient(lambda: loss(x, y), params(W, b))
    print(f"step {step}: loss = {loss(x, y):.6f}")
    W -= 0.1 * gs[W]
    b -= 0.1 * gs[b]

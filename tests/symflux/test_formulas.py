"""Matrix-calculus formulas: readable (no Lambda, *1, x*I), and right — each printed form, with
concrete matrices substituted, equals the numeric gradient."""

import random

import numpy as np
import pytest
import sympy

import symflux as sf
from symflux.printing import to_matexpr

rng = np.random.default_rng(3)
m, n, k = 3, 2, 2
W, V = sf.symbols("W", shape=(m, n)), sf.symbols("V", shape=(k, m))
x, w = sf.symbols("x", shape=(n,)), sf.symbols("w", shape=(n,))
b, y = sf.symbols("b", shape=(m,)), sf.symbols("y", shape=(m,))
X, A = sf.symbols("X", shape=(m, n)), sf.symbols("A", shape=(n, n))
v = sf.symbols("v", shape=(n,))
SYMBOLS = [W, V, x, w, b, y, X, A, v]
VALUES = {s: rng.integers(-3, 4, size=(s.shape[0],) if isinstance(s, sf.functions.VectorSymbol) else s.shape) / 4
          for s in SYMBOLS}


def numeric(f, *args):
    """f's result on the concrete values, with symbols replaced by arrays."""
    return f(*[VALUES[a] if isinstance(a, sympy.MatrixSymbol) else a for a in args])


def evaluated(formula) -> np.ndarray:
    rules = {s: sympy.ImmutableMatrix(np.asarray(VALUES[s]).reshape(s.shape).tolist()) for s in SYMBOLS}
    value = sympy.sympify(formula).subs(rules).doit()
    value = value.doit() if hasattr(value, "doit") else value
    return np.array(sympy.Matrix(value).tolist() if isinstance(value, sympy.MatrixBase) else value, dtype=float)


CASES = {
    "tanh layer": (lambda W: sf.sum(sf.tanh(W @ x + b)), W),
    "sigmoid layer": (lambda W: sf.sum(sf.σ(W @ x + b)), W),
    "relu layer": (lambda W: sf.sum(sf.relu(W @ x + b)), W),
    "mean loss": (lambda W: sf.mean(sf.tanh(W @ x + b)), W),
    "least squares": (lambda W: sf.sum((W @ x + b - y) ** 2), W),
    "logistic regression": (lambda w: sf.sum(sf.log(1 + sf.exp(-y * (X @ w)))), w),
    "softmax cross-entropy": (lambda W: -sf.sum(y * sf.logsoftmax(W @ x)), W),
    "two-layer MLP": (lambda W: sf.sum(V @ sf.tanh(W @ x + b)), W),
    "sum of 2W": (lambda W: sf.sum(2 * W), W),
}


@pytest.mark.parametrize("name", CASES)
def test_gradient_formulas_are_readable_and_right(name):
    f, wrt = CASES[name]
    (formula,) = sf.gradient(f, wrt)
    text = str(formula)
    for ugly in ("Lambda", "*1", "x*I", "HadamardPower", "ElementwiseApplyFunction"):
        assert ugly not in text, text
    # the same function on arrays: symbols captured by f are replaced by their values
    values = {s: VALUES[s] for s in SYMBOLS}
    numeric_f = _on_values(f, values)
    (expected,) = sf.gradient(numeric_f, VALUES[wrt].astype(float))
    got = evaluated(formula).reshape(np.shape(expected))
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


def _on_values(f, values):
    """f with the matrix symbols it closes over bound to arrays."""
    free = f.__code__.co_names
    g = dict(f.__globals__)
    g.update({name: values[obj] for name, obj in f.__globals__.items() if name in free and obj in values
              if isinstance(obj, sympy.MatrixSymbol)})
    return type(f)(f.__code__, g, f.__name__, f.__defaults__, f.__closure__)


def test_layer_formulas_print_entrywise_functions_by_name():
    assert str(sf.tanh(W @ x + b)) == "tanh.(W*x + b)"
    assert "relu'.(W*x + b)" in str(sf.gradient(CASES["relu layer"][0], W)[0])
    assert str(sf.gradient(CASES["least squares"][0], W)[0]) == "2*(W*x + b - y)*x.T"


def test_vector_symbols_are_one_dimensional_arrays():
    xs = sf.symbols("x", shape=(3,))
    assert str(sf.sum(sf.exp(xs))) == "sum(exp.(x))"  # not the matrix exponential
    assert str(sf.sum(xs**2)) == "sum(x.^2)"
    q = sf.symbols("Q", shape=(3, 3))
    assert str(xs @ q @ xs) == "x.T*Q*x" and str(-xs) == "-x" and sf.shape(-xs) == (3,)
    assert str(xs * xs) == "x.^2" and str(xs * sf.exp(xs)) == "x ⊙ exp.(x)"


def test_hessians_and_hvps_are_matrix_expressions():
    nn = sympy.Symbol("n", integer=True, positive=True)
    xs, As = sf.symbols("x", shape=(nn,)), sf.symbols("A", shape=(nn, nn))
    assert str(sf.hessian(lambda z: z @ As @ z, xs)) == "A + A.T"
    Xs, ys = sf.symbols("X", shape=("m", nn)), sf.symbols("y", shape=("m",))
    assert str(sf.hessian(lambda z: sf.sum((Xs @ z - ys) ** 2), xs)) == "2*X.T*X"
    vs = sf.symbols("v", shape=(nn,))
    assert str(sf.hvp(lambda z: z @ As @ z, xs, vs)) == "A*v + A.T*v"
    (hv,) = [sf.hvp(lambda z: z @ A @ z, w, v)]
    a, vv = VALUES[A], VALUES[v]
    np.testing.assert_allclose(evaluated(hv).ravel(), (a + a.T) @ vv)


def test_layer_formulas():
    assert str(sf.Dense(3, 2, sf.σ).expr()) == "σ(W·x + b)"
    assert sf.latex(sf.Dense(3, 2, sf.σ).expr()) == r"\sigma\left(W x + b\right)"
    assert sf.Dense(3, 2, sf.σ).expr()._repr_latex_().startswith(r"$\displaystyle \sigma")
    assert str(sf.Chain(sf.Dense(3, 2, sf.relu), sf.softmax).expr()) == "softmax(relu(layers[0].W·x + layers[0].b))"
    assert "Max(" in str(sf.Maxout(lambda: sf.Dense(3, 2), 2).expr())


def test_an_entrywise_function_of_many_matrices_keeps_every_one():
    vs = sf.symbols("a b c d e", shape=(2,))
    graph = sf.make_graph(lambda a, b, c, d, e: sf.maximum(sf.maximum(a, b), sf.maximum(c, sf.maximum(d, e))),
                          *[np.ones(2)] * 5).fused()
    assert len(graph.nodes) == 6  # one map of five arrays
    (formula,) = to_matexpr(graph.outputs, dict(zip(graph.inputs, vs)))
    values = [np.array([k, 5 - k]) for k in range(5)]
    rules = {s: sympy.ImmutableMatrix(v.reshape(2, 1).tolist()) for s, v in zip(vs, values)}
    got = np.array(sympy.Matrix(formula.subs(rules).doit()).tolist(), dtype=float).ravel()
    np.testing.assert_array_equal(got, np.max(values, axis=0))


def test_formulas_of_every_kind_of_layer():
    assert str(sf.Conv((3, 3), (1, 2), sf.relu).expr(input_shape=(1, 1, 5, 5))) == "relu(bias + conv(x, weight))"
    assert "stride=(2, 2)" in str(sf.Conv((3, 3), (1, 2), stride=2).expr())
    with pytest.raises(ValueError, match="input channels"):
        sf.Conv((3, 3), (1, 2)).expr(input_shape=(1, 3, 5, 5))
    assert str(sf.MaxPool((2, 2)).expr(input_shape=(1, 1, 4, 4))) == "maxpool(x, window=(2, 2))"
    assert str(sf.GlobalMeanPool().expr()) == "mean(x, axes=spatial)"
    assert str(sf.BatchNorm(3).expr(input_shape=(1, 3))) == "γ.T ⊙ ((x - μ.T) ⊙ 1/sqrt(σ2.T + 1.0e-5)) + β.T"
    assert str(sf.RNN(3, 2).expr()) == "tanh(cell.Wh·cell.h + cell.Wi·x + cell.b)"
    assert "σ((cell.Wh·cell.h + cell.Wi·x + cell.b)[:2, :])" in str(sf.LSTM(3, 2).expr())
    assert "Lambda" not in str(sf.GRU(3, 2).expr())


def test_logistic_regression_names_the_sigmoid():
    (formula,) = sf.gradient(CASES["logistic regression"][0], w)
    assert str(formula) == "X.T*((-y) ⊙ σ.((-y) ⊙ (X*w)))"


INDEX_CASES = {
    "cumulative sum": lambda v: sf.sum(sf.cumsum(v) ** 2),
    "slices": lambda v: sf.sum(v[1:] ** 2) + v[0] * v[2],
    "differences": lambda v: sf.sum(sf.diff(v) ** 2),
    "concatenation": lambda v: sf.sum(sf.concatenate([v, v**2]) * sf.arange(8.0)),
}


@pytest.mark.parametrize("name", INDEX_CASES)
def test_graphs_without_a_matrix_form_print_in_index_notation(name):
    vs = sf.symbols("v", shape=(4,))
    (formula,) = sf.gradient(INDEX_CASES[name], vs)
    assert str(formula).startswith("(i) ↦ ") and "Lambda" not in str(formula)
    values = np.array([1.0, -2.0, 3.0, 0.5])
    got = np.array(formula.subs(vs, sympy.ImmutableMatrix(values)).doit(), dtype=float)
    np.testing.assert_allclose(got, sf.gradient(INDEX_CASES[name], values)[0])


def test_index_notation_reads_like_the_sums_it_stands_for():
    vs = sf.symbols("v", shape=(4,))
    assert str(sf.gradient(INDEX_CASES["cumulative sum"], vs)[0]) == "(i) ↦ Σ_{r}(2*Σ_{s}(v[s]*[s <= r])*[i <= r])"
    assert str(sf.gradient(lambda v: sf.sum(v[1:] ** 2), vs)[0]) == "(i) ↦ 2*v[i]*[i >= 1]"
    assert r"\sum_{r=0}^{3}" in sf.latex(sf.gradient(INDEX_CASES["cumulative sum"], vs)[0])


def test_recurrent_cells_and_per_example_normalisation_have_formulas():
    assert str(sf.RNNCell(3, 2).expr()) == "tanh(Wh·h + Wi·x + b)"
    assert "⊙ c)" in str(sf.LSTMCell(3, 2).expr()) and "⊙ h" in str(sf.GRUCell(3, 2).expr())
    cell = sf.RNNCell(3, 2)
    state, out = cell(cell.initial_state(), np.ones(3))  # Flux's m(h, x)
    np.testing.assert_allclose(out, state)
    assert str(sf.InstanceNorm(3).expr(input_shape=(1, 3, 4))) == \
        "(i, j, k) ↦ (x[0, j, k] - μ[j])*γ[j]/sqrt(σ2[j] + 1.0e-5) + β[j]"
    assert str(sf.GroupNorm(4, 2).expr(input_shape=(1, 4, 3))).startswith("(i, j, k) ↦ ")


def test_repeated_terms_are_collected():
    column = sf.symbols("X", shape=(3, 1))
    assert str(sf.gradient(lambda u: (u.T @ u)[0, 0], column)[0]) == "2*X"


# -- exact derivatives of random compositions against sympy.diff -----------------------------------

_x, _y = sympy.symbols("x y", real=True)
_UNARY = [sf.sin, sf.tanh, sf.exp, lambda a: sf.log(1 + a**2), sf.sigmoid, sf.softplus, lambda a: sf.sqrt(1 + a**2),
          sf.arctan, lambda a: a**3, lambda a: 1 / (2 + sf.cos(a)), sf.abs, sf.elu, sf.gelu, sf.logcosh, sf.expm1,
          lambda a: sf.maximum(a, 0.3 * a), sf.softsign]
_BINARY = [lambda a, b: a + b, lambda a, b: a * b, lambda a, b: a / (1 + b**2), lambda a, b: sf.hypot(a, b),
           lambda a, b: sf.arctan2(a, 1 + b**2), lambda a, b: sf.logaddexp(a, b), lambda a, b: a**2 * b]


def _composition(rnd, depth):
    if depth == 0:
        return rnd.choice([lambda a, b: a, lambda a, b: b])
    if rnd.random() < 0.5:
        u, g = rnd.choice(_UNARY), _composition(rnd, depth - 1)
        return lambda a, b: u(g(a, b))
    o, g, h = rnd.choice(_BINARY), _composition(rnd, depth - 1), _composition(rnd, depth - 1)
    return lambda a, b: o(g(a, b), h(a, b))


@pytest.mark.parametrize("seed", range(24))
def test_exact_first_and_second_derivatives_are_sympys(seed):
    """Derivatives of symbols, and nested ones where the inner gradient is given a symbol (which
    became an integer: ∂²(x²y)/∂x² was 2·y.astype(int64), 0 at y = −0.4), equal sympy.diff's."""
    rnd = random.Random(seed)
    f = _composition(rnd, rnd.randint(1, 4))
    expr = f(_x, _y)
    got = [*sf.gradient(f, _x, _y), sf.gradient(lambda a: sf.gradient(f, a, _y)[0], _x)[0]]
    want = [sympy.diff(expr, _x), sympy.diff(expr, _y), sympy.diff(expr, _x, 2)]
    for point in ({_x: 0.7, _y: -0.4}, {_x: -1.3, _y: 0.9}):
        for g, w in zip(got, want):
            np.testing.assert_allclose(complex(sympy.N(sympy.sympify(g or 0).subs(point))),
                                       complex(sympy.N(w.subs(point))), rtol=1e-9, atol=1e-12)

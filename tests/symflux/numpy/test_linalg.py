"""np.linalg on traced arrays: values against NumPy, first/second/third derivatives against finite
differences and PyTorch, JVP against VJP, vmap against a loop, exact results for SymPy matrices."""

import numpy as np
import pytest
import sympy
from gradcheck import check_all_orders, torch

import symflux as sf

T = torch
rng = np.random.default_rng(31)


def well_conditioned(n=3, batch=()):
    return rng.standard_normal(batch + (n, n)) + 3 * np.eye(n)


def spd(n=3, batch=()):
    m = rng.standard_normal(batch + (n, n))
    return m @ np.swapaxes(m, -1, -2) + n * np.eye(n)


def sym(f):
    """f of the symmetric part, so derivatives are checked along symmetric directions."""
    return lambda a: f((a + np.swapaxes(a, -1, -2)) / 2)


def tsym(f):
    return (lambda a: f((a + a.transpose(-1, -2)) / 2)) if T else None


def _svd_vectors(lib, a):
    """Sign-invariant functions of U and Vh (each column's sign is arbitrary)."""
    u, s, vh = lib.linalg.svd(a, full_matrices=False)
    return lib.sum(u ** 2 * s, axis=-1) + lib.sum(vh ** 4)


CASES = {
    "inv": (np.linalg.inv, lambda a: T.linalg.inv(a), well_conditioned),
    "inv batched": (np.linalg.inv, lambda a: T.linalg.inv(a), lambda: well_conditioned(3, (2,))),
    "det": (np.linalg.det, lambda a: T.linalg.det(a), well_conditioned),
    "slogdet": (lambda a: np.linalg.slogdet(a)[1], lambda a: T.linalg.slogdet(a)[1], well_conditioned),
    "solve vector": (lambda a: np.linalg.solve(a, a[0] * 2 + 1), lambda a: T.linalg.solve(a, a[0] * 2 + 1),
                     well_conditioned),
    "solve matrix": (lambda a: np.linalg.solve(a, a.T @ a), lambda a: T.linalg.solve(a, a.T @ a), well_conditioned),
    "cholesky": (sym(np.linalg.cholesky), tsym(lambda a: T.linalg.cholesky(a)), spd),
    "eigh values": (sym(lambda a: np.linalg.eigh(a)[0]), tsym(lambda a: T.linalg.eigh(a)[0]), spd),
    "eigh vectors": (sym(lambda a: np.abs(np.linalg.eigh(a)[1])), tsym(lambda a: T.linalg.eigh(a)[1].abs()), spd),
    "eigvalsh": (sym(np.linalg.eigvalsh), tsym(lambda a: T.linalg.eigvalsh(a)), spd),
    "svd values": (lambda a: np.linalg.svd(a, compute_uv=False), lambda a: T.linalg.svdvals(a),
                   lambda: rng.standard_normal((4, 3))),
    "svd vectors": (lambda a: _svd_vectors(np, a), (lambda a: _svd_vectors(T, a)) if T else None,
                    lambda: rng.standard_normal((4, 3))),
    "qr Q": (lambda a: np.linalg.qr(a)[0], (lambda a: T.linalg.qr(a)[0]) if T else None,
             lambda: rng.standard_normal((5, 3))),
    "qr R": (lambda a: np.linalg.qr(a)[1], (lambda a: T.linalg.qr(a)[1]) if T else None,
             lambda: rng.standard_normal((2, 4, 4))),
    "norm fro": (np.linalg.norm, lambda a: T.linalg.norm(a), well_conditioned),
    "norm nuc": (lambda a: np.linalg.norm(a, "nuc"), lambda a: T.linalg.matrix_norm(a, "nuc"), well_conditioned),
    "norm 2": (lambda a: np.linalg.norm(a, 2), lambda a: T.linalg.matrix_norm(a, 2), well_conditioned),
    "norm 1": (lambda a: np.linalg.norm(a, 1), lambda a: T.linalg.matrix_norm(a, 1), well_conditioned),
    "norm vector 3": (lambda a: np.linalg.norm(a, 3, axis=1), lambda a: T.linalg.vector_norm(a, 3, dim=1),
                      well_conditioned),
    "pinv": (np.linalg.pinv, lambda a: T.linalg.pinv(a), lambda: rng.standard_normal((4, 3))),
    "matrix_power -2": (lambda a: np.linalg.matrix_power(a, -2), lambda a: T.linalg.matrix_power(a, -2),
                        well_conditioned),
    "matrix_power 5": (lambda a: np.linalg.matrix_power(a, 5) / 100, lambda a: T.linalg.matrix_power(a, 5) / 100,
                       lambda: well_conditioned() / 3),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_derivatives(name):
    f, ref, sample = CASES[name]
    a = sample()
    traced = sf.vmap(f)(a[None])[0]
    np.testing.assert_allclose(traced, f(a), rtol=1e-10, atol=1e-12)
    check_all_orders(f, ref if T else None, a)


def test_jvp_matches_vjp():
    a, v, u = well_conditioned(), rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    for f in (np.linalg.inv, lambda x: np.linalg.cholesky(x @ x.T), lambda x: np.linalg.eigh(x + x.T)[1]):
        _, t = sf.jvp(f, (a,), (v,))
        _, back = sf.vjp(f, a)
        np.testing.assert_allclose(np.sum(t * u), np.sum(back(u)[0] * v), rtol=1e-9)


def test_hessian_of_log_det_is_tensor_level():
    a = spd(4)
    H = sf.hessian(lambda x: np.linalg.slogdet(x)[1], a)
    ainv = np.linalg.inv(a)
    np.testing.assert_allclose(H, -np.einsum("li,jk->ijkl", ainv, ainv), rtol=1e-9, atol=1e-12)


def test_exact_inverse_and_determinant_of_symbols():
    x, y = sympy.symbols("x y")
    m = sf.array([[x, 1], [0, y]])
    (g,) = sf.gradient(lambda a: sf.sum(np.linalg.inv(a)), m)
    inverse = sympy.Matrix([[x, 1], [0, y]]).inv()
    expected = -(inverse.T * sympy.ones(2, 2) * inverse.T)
    assert sympy.simplify(sympy.Matrix(g) - expected) == sympy.zeros(2, 2)


COMPILED = ["inv", "inv batched", "det", "slogdet", "solve vector", "solve matrix", "cholesky", "eigh values",
            "eigh vectors", "eigvalsh", "svd values", "svd vectors", "qr Q", "qr R", "norm nuc", "norm 2", "pinv",
            "matrix_power -2"]


@pytest.mark.parametrize("name", COMPILED)
def test_compiled_values_and_gradients_call_lapack(name):
    """sf.compile runs the factorisations through SciPy's LAPACK: values as NumPy's in float64 and
    float32 (which stays float32), gradients as the interpreter's."""
    f = CASES[name][0]
    a = CASES[name][2]()
    np.testing.assert_allclose(sf.compile(f)(a), f(a), rtol=1e-10, atol=1e-12)
    single = sf.compile(f)(a.astype(np.float32))
    assert single.dtype == np.float32
    np.testing.assert_allclose(single, f(a), rtol=2e-4, atol=2e-4)
    grad = lambda x: sf.gradient(lambda y: sf.sum(f(y) ** 2), x)[0]
    np.testing.assert_allclose(sf.compile(grad)(a), grad(a), rtol=1e-8, atol=1e-10)


def test_compiled_linalg_of_shapes_batches_and_failures():
    """Batched and empty stacks, the U and Vᴴ of an SVD; where NumPy raises LinAlgError compiled code
    gives NaN (JAX's convention), and an exactly singular matrix has slogdet (0, −inf)."""
    stack = well_conditioned(3, (2, 2))
    np.testing.assert_allclose(sf.compile(np.linalg.inv)(stack), np.linalg.inv(stack), rtol=1e-12)
    b = rng.standard_normal((2, 2, 3, 2))
    np.testing.assert_allclose(sf.compile(np.linalg.solve)(stack, b), np.linalg.solve(stack, b), rtol=1e-12)
    empty = np.zeros((0, 3, 3))
    assert sf.compile(np.linalg.inv)(empty).shape == (0, 3, 3)
    wide = rng.standard_normal((3, 5))
    u, s, vh = sf.compile(lambda x: np.linalg.svd(x, full_matrices=False))(wide)
    np.testing.assert_allclose((u * s) @ vh, wide, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(u.T @ u, np.eye(3), atol=1e-12)
    singular = np.array([[1.0, 2.0], [2.0, 4.0]])
    assert np.isnan(sf.compile(np.linalg.inv)(singular)).all()
    assert np.isnan(sf.compile(np.linalg.cholesky)(-np.eye(2))).all()
    sign, logdet = sf.compile(np.linalg.slogdet)(singular)
    assert sign == 0 and logdet == -np.inf


def test_exported_c_and_cuda_say_linalg_needs_the_cpu_runtime():
    with pytest.raises(TypeError, match="LAPACK"):
        sf.export_c(np.linalg.inv, np.eye(2))
    with pytest.raises(TypeError, match="LAPACK"):
        sf.cuda(np.linalg.inv).lower(np.eye(2)).source()


def test_qr_modes_and_wide_matrices():
    """Values for every shape; derivatives need m ≥ n (as in JAX), and say so."""
    wide = rng.standard_normal((3, 5))
    q, r = sf.vmap(np.linalg.qr)(wide[None])
    np.testing.assert_allclose(q[0] @ r[0], wide, atol=1e-12)
    np.testing.assert_allclose(sf.vmap(lambda a: np.linalg.qr(a, mode="r"))(wide[None])[0], np.linalg.qr(wide)[1])
    with pytest.raises(TypeError, match="m ≥ n"):
        sf.grad(lambda a: np.sum(np.linalg.qr(a)[1]))(wide)


def test_linalg_errors_name_shapes():
    with pytest.raises(sf.ShapeError, match="square matrices.*\\(2, 3\\)"):
        sf.gradient(lambda v: sf.sum(np.linalg.inv(v)), np.ones((2, 3)))


def test_general_eigenvalues_and_their_derivatives():
    """eig/eigvals of general (non-symmetric) matrices: complex, as in JAX; the eigenvalues'
    derivatives (Giles 4.60) against finite differences, real for a real matrix; the eigenvectors'
    derivative is refused, as in JAX; compiled code refuses complex values."""
    a = rng.standard_normal((4, 4))
    w, v = sf.vmap(np.linalg.eig)(a[None])
    np.testing.assert_allclose(np.sort_complex(w[0]), np.sort_complex(np.linalg.eigvals(a)), rtol=1e-12)
    np.testing.assert_allclose(a @ v[0], v[0] * w[0], atol=1e-12)

    def loss(x):
        values = np.linalg.eigvals(x)
        return np.sum(np.abs(values) ** 2 + np.real(values) ** 3)
    grad = sf.grad(loss)(a)
    assert grad.dtype == np.float64
    eps, want = 1e-6, np.zeros_like(a)
    for i in np.ndindex(a.shape):
        step = np.zeros_like(a)
        step[i] = eps
        want[i] = (loss(a + step) - loss(a - step)) / (2 * eps)
    np.testing.assert_allclose(grad, want, rtol=1e-6, atol=1e-7)
    with pytest.raises(TypeError, match="eigenvectors"):
        sf.grad(lambda x: np.sum(np.abs(np.linalg.eig(x)[1])))(a)
    with pytest.raises(TypeError, match="complex"):
        sf.compile(np.linalg.eigvals)(a)


def test_sympy_matrices_and_arrays_of_expressions_give_exact_results():
    m = sympy.Matrix([[2, 1], [1, 3]])
    assert sf.linalg.det(m) == 5 and sf.linalg.slogdet(m) == (1, sympy.log(5))
    assert sf.linalg.inv(m) == m.inv() and isinstance(sf.linalg.inv(m), sympy.MatrixBase)
    assert sf.linalg.solve(m, sympy.Matrix([1, 2])) == m.LUsolve(sympy.Matrix([1, 2]))
    assert sf.linalg.cholesky(m) == m.cholesky()
    assert sf.linalg.norm(m) == sympy.sqrt(15) and sf.linalg.norm(m, 1) == 4
    x, y = sympy.symbols("x y", real=True)
    a = np.array([[x, y], [0, 1]], dtype=object)
    assert sympy.simplify(sf.linalg.det(a) - x) == 0
    assert sympy.simplify(sympy.Matrix(sf.linalg.inv(a)) - sympy.Matrix(a.tolist()).inv()) == sympy.zeros(2, 2)
    assert sf.linalg.vector_norm(np.array([3, 4], dtype=object) * x) == 5 * sympy.Abs(x)
    with pytest.raises(TypeError, match="exact"):
        sf.linalg.svd(m)


def test_exact_determinants_inside_gradients():
    m = sympy.Matrix([[2, 1], [1, 3]])
    assert sf.gradient(sf.linalg.det, m)[0] == sympy.Matrix([[3, -1], [-1, 2]])


COMPLEX_A = np.array([[3 + 1j, 1 - 2j, 0.5j], [-1j, 2.5, 1 + 1j], [0.5, -1 + 0.5j, 4 - 1j]])
COMPLEX_VALUES = [
    ("pinv", lambda m, a: m.linalg.pinv(a[:, :2])), ("lstsq", lambda m, a: m.linalg.lstsq(a[:, :2], a[:, 2])[0]),
    ("lstsq residuals", lambda m, a: m.linalg.lstsq(a[:, :2], a[:, 2])[1]),
    ("svdvals", lambda m, a: m.linalg.svd(a, compute_uv=False)),
    ("eigvalsh", lambda m, a: m.linalg.eigvalsh(a @ a.conj().T)),
    ("slogdet", lambda m, a: m.linalg.slogdet(a)[1]), ("norm 2", lambda m, a: m.linalg.norm(a, 2)),
    ("nuc", lambda m, a: m.linalg.norm(a, "nuc")), ("cond", lambda m, a: m.linalg.cond(a)),
]


@pytest.mark.parametrize("name,f", COMPLEX_VALUES, ids=[c[0] for c in COMPLEX_VALUES])
def test_complex_matrices_give_numpys_values_and_dtypes(name, f):
    want = f(np, COMPLEX_A)
    got = sf.vmap(lambda a: f(sf, a))(COMPLEX_A[None])[0]
    np.testing.assert_allclose(got, want, rtol=1e-10)
    assert got.dtype == np.asarray(want).dtype


def _wirtinger_gradient(f, a, h=1e-6):
    """JAX's gradient of a real f of complex a, ∂f/∂x − i·∂f/∂y, by central differences."""
    g = np.zeros_like(a)
    for k in np.ndindex(a.shape):
        for step, weight in ((h, 1), (1j * h, -1j)):
            e = np.zeros_like(a)
            e[k] = step
            g[k] += weight * (f(a + e) - f(a - e)) / (2 * h)
    return g


@pytest.mark.parametrize("name,f", [
    ("det", lambda m, a: m.real(m.linalg.det(a) * (1 - 2j))), ("slogdet", lambda m, a: m.linalg.slogdet(a)[1]),
    ("inv", lambda m, a: m.real(m.sum(m.linalg.inv(a)) * 1j)),
    ("solve", lambda m, a: m.imag(m.sum(m.linalg.solve(a, a[0])))),
])
def test_complex_derivatives_of_inverses_and_determinants(name, f):
    np.testing.assert_allclose(sf.grad(lambda a: f(sf, a))(COMPLEX_A),
                               _wirtinger_gradient(lambda a: f(np, a), COMPLEX_A), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("f", [lambda a: sf.linalg.svd(a, compute_uv=False),
                               lambda a: sf.linalg.cholesky(a @ sf.conj(a.T)),
                               lambda a: sf.linalg.eigvalsh(a @ sf.conj(a.T)), lambda a: sf.linalg.qr(a)[1],
                               lambda a: sf.linalg.pinv(a)])
def test_derivatives_of_complex_decompositions_are_refused_not_wrong(f):
    with pytest.raises(TypeError, match="complex"):
        sf.grad(lambda a: sf.sum(sf.abs(f(a))))(COMPLEX_A)
    with pytest.raises(TypeError, match="complex"):
        sf.jvp(lambda a: sf.abs(f(a)), (COMPLEX_A,), (COMPLEX_A,))

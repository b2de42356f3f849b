"""np.fft and complex numbers on traced arrays: values against NumPy, gradients in JAX's convention
(∂f/∂x − i·∂f/∂y for a complex input x + iy, real for a real one) against finite differences and
PyTorch, second derivatives, forward mode and vmap; compiled code refuses them by name."""

import numpy as np
import pytest
from gradcheck import torch

import symflux as sf

rng = np.random.default_rng(41)
X = rng.standard_normal((4, 6))
Z = rng.standard_normal((4, 6)) + 1j * rng.standard_normal((4, 6))


def jax_convention_gradient(f, a, eps=1e-6):
    """Central differences of a real scalar ``f``: along the real part, minus i times along the imaginary."""
    grad = np.zeros(a.shape, dtype=a.dtype)
    for i in np.ndindex(a.shape):
        step = np.zeros(a.shape)
        step[i] = eps
        grad[i] = (f(a + step) - f(a - step)) / (2 * eps)
        if np.iscomplexobj(a):
            grad[i] -= 1j * (f(a + 1j * step) - f(a - 1j * step)) / (2 * eps)
    return grad


TRANSFORMS = {
    "fft": (lambda v: np.fft.fft(v), Z),
    "fft of real": (lambda v: np.fft.fft(v, axis=0), X),
    "ifft n=8": (lambda v: np.fft.ifft(v, 8), Z),
    "rfft": (lambda v: np.fft.rfft(v), X),
    "rfft n=9 ortho": (lambda v: np.fft.rfft(v, 9, norm="ortho"), X),
    "irfft": (lambda v: np.fft.irfft(v), Z),
    "irfft n=7": (lambda v: np.fft.irfft(v, 7), Z),
    "fft2 forward": (lambda v: np.fft.fft2(v, norm="forward"), Z),
    "ifft2": (lambda v: np.fft.ifft2(v), Z),
    "rfft2": (lambda v: np.fft.rfft2(v), X),
    "irfft2": (lambda v: np.fft.irfft2(v), Z),
    "fftn s": (lambda v: np.fft.fftn(v, s=(3, 8), axes=(0, 1)), Z),
    "ifftn": (lambda v: np.fft.ifftn(v), Z),
    "rfftn s": (lambda v: np.fft.rfftn(v, s=(5, 4), axes=(0, 1)), X),
    "irfftn": (lambda v: np.fft.irfftn(v, s=(4, 9), axes=(0, 1)), Z),
    "fftshift": (lambda v: np.fft.fftshift(v), Z),
    "ifftshift axis": (lambda v: np.fft.ifftshift(v, axes=1), X),
}


def _loss(f):
    """A real loss of a transform's (complex or real) values that no symmetry makes trivial."""
    weights = np.linspace(0.5, 1.5, 99)

    def loss(v):
        out = f(v)
        flat = np.reshape(out, (-1,))
        w = weights[: flat.shape[0]]
        return np.sum(np.abs(flat) ** 2 * w) + np.sum(np.real(flat) * w[::-1]) + np.sum(np.imag(flat) ** 3)
    return loss


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_values_and_gradients(name):
    f, a = TRANSFORMS[name]
    traced = sf.vmap(f)(a[None])[0]
    np.testing.assert_allclose(traced, f(a), rtol=1e-12, atol=1e-12)
    assert traced.dtype == f(a).dtype
    loss = _loss(f)
    grad = sf.grad(loss)(a)
    assert grad.dtype == a.dtype
    np.testing.assert_allclose(grad, jax_convention_gradient(loss, a), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", ["rfft", "irfft n=7", "fft2 forward", "rfftn s"])
def test_second_derivatives_and_forward_mode(name):
    f, a = TRANSFORMS[name]
    loss = _loss(f)
    v = rng.standard_normal(a.shape) if not np.iscomplexobj(a) else rng.standard_normal(a.shape) + 0j
    # the Hessian-vector product of a real input, against differences of the gradient
    if not np.iscomplexobj(a):
        hvp = sf.jvp(sf.grad(loss), (a,), (v,))[1]
        eps = 1e-6
        np.testing.assert_allclose(hvp, (sf.grad(loss)(a + eps * v) - sf.grad(loss)(a - eps * v)) / (2 * eps),
                                   rtol=1e-5, atol=1e-6)
    tangent = sf.jvp(f, (a,), (v,))[1]  # linear: the transform of the tangent
    np.testing.assert_allclose(tangent, f(v), rtol=1e-12, atol=1e-12)


@pytest.mark.skipif(torch is None, reason="PyTorch is the reference")
def test_real_pipelines_match_pytorch():
    def ours(v):
        spectrum = np.fft.rfft(v, axis=-1)
        return np.sum(np.fft.irfft(spectrum * np.exp(-np.abs(spectrum)), 6) ** 2)

    t = torch.tensor(X, requires_grad=True)
    spectrum = torch.fft.rfft(t, dim=-1)
    (torch.fft.irfft(spectrum * torch.exp(-spectrum.abs()), 6) ** 2).sum().backward()
    np.testing.assert_allclose(sf.grad(ours)(X), t.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_float32_stays_single_precision():
    x = X.astype(np.float32)
    assert sf.vmap(np.fft.rfft)(x[None]).dtype == np.complex64
    assert sf.grad(lambda v: np.sum(np.abs(np.fft.rfft(v)) ** 2))(x).dtype == np.float32


def test_compiled_code_says_transforms_run_in_the_interpreter():
    with pytest.raises(TypeError, match="fft.rfft computes complex numbers"):
        sf.compile(lambda v: np.sum(np.abs(np.fft.rfft(v))))(X)
    with pytest.raises(TypeError, match="needs real input"):
        sf.vmap(np.fft.rfft)(Z[None])


# -- complex numbers ---------------------------------------------------------------------------------

COMPLEX = {
    "abs": lambda z: np.abs(z),
    "abs squared": lambda z: np.abs(z) ** 2,  # SymPy's real-only |x|² = x² must not apply
    "real": lambda z: np.real(z * z),
    "imag": lambda z: np.imag(np.exp(z)),
    "conj": lambda z: np.real(np.conj(z) * (2 + 1j)),
    "angle": lambda z: np.angle(z) ** 2,
    "log of exp": lambda z: np.abs(np.log(np.exp(z))),  # the principal log, not z
    "sqrt of square": lambda z: np.real(np.sqrt(z * z)),
    "holomorphic": lambda z: np.real(np.sin(z) * z ** 3 + 1 / z),
}


@pytest.mark.parametrize("name", sorted(COMPLEX))
def test_complex_values_and_gradients(name):
    f = COMPLEX[name]
    z = Z[:2, :3].copy()
    z[0, 0] = -2.5 + 0.5j  # left half plane, where exp and log differ from the identity
    np.testing.assert_allclose(sf.vmap(f)(z[None])[0], f(z), rtol=1e-12)
    loss = lambda v: np.sum(f(v))
    np.testing.assert_allclose(sf.grad(loss)(z), jax_convention_gradient(loss, z), rtol=1e-6, atol=1e-6)


def test_complex_functions_on_plain_values_and_real_inputs():
    assert sf.abs(3 + 4j) == 5.0 and sf.real(3 + 4j) == 3.0 and sf.imag(3 + 4j) == 4.0
    assert sf.conj(3 + 4j) == 3 - 4j and sf.angle(1j) == pytest.approx(np.pi / 2)
    x = np.array([-1.5, 0.0, 2.0, np.nan])
    for f in (np.real, np.imag, np.conj, np.angle, lambda v: np.angle(v, deg=True)):
        np.testing.assert_array_equal(sf.vmap(f)(x[None])[0], f(x))
    # a real input through complex intermediates has a real gradient
    g = sf.grad(lambda v: np.sum(np.abs(v * (1 + 2j) + 1j) ** 3))(X[0])
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, jax_convention_gradient(lambda v: np.sum(np.abs(v * (1 + 2j) + 1j) ** 3), X[0]),
                               rtol=1e-6)

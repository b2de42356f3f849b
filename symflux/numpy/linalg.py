"""``np.linalg`` / ``sf.linalg``: inverses, solves, determinants, norms, Cholesky, symmetric
eigensystems, singular values and vectors, QR, pseudo-inverses, least squares and matrix powers,
batched over leading axes and differentiable to any order (``symflux.linalg_ops`` holds the graph op
and its rules). On plain values they are NumPy's own; ``sf.compile`` calls SciPy's LAPACK."""

from __future__ import annotations

import builtins
from collections import namedtuple

import numpy as np

from .. import linalg_ops as graph
from .. import ops, trace
from ..array import Tracer
from ._base import _node, _plain, _rewrap, ndim, shape
from .contractions import matmul
from .elementwise import abs, divide, exp, greater, multiply, not_equal, power, sqrt, subtract, where
from .manipulation import broadcast_to, moveaxis, reshape, swapaxes
from .reductions import max, min, sum

SlogdetResult = namedtuple("SlogdetResult", "sign logabsdet")
EighResult = namedtuple("EighResult", "eigenvalues eigenvectors")
EigResult = namedtuple("EigResult", "eigenvalues eigenvectors")
SVDResult = namedtuple("SVDResult", "U S Vh")
QRResult = namedtuple("QRResult", "Q R")


def _traced(*values) -> bool:
    return trace.any_traced(list(values))


def _op(name, *values):
    return Tracer(graph.linalg(name, *[_node(v) for v in values]))


def inv(a):
    """The inverse of each matrix in the last two axes."""
    return _op("inv", a) if _traced(a) else _rewrap(np.linalg.inv(_plain(a)), a)


def solve(a, b):
    """x with a @ x = b (b a vector, or matrices in its last two axes, batch axes broadcast)."""
    if not _traced(a, b):
        return _rewrap(np.linalg.solve(_plain(a), _plain(b)), a)
    vector = ndim(b) == 1
    b = reshape(b, (shape(b)[0], 1)) if vector else b
    lead = ops.broadcast_shapes(tuple(shape(a))[:-2], tuple(shape(b))[:-2], what="linalg.solve operands")
    x = _op("solve", broadcast_to(a, lead + tuple(shape(a))[-2:]), broadcast_to(b, lead + tuple(shape(b))[-2:]))
    return reshape(x, tuple(shape(x))[:-1]) if vector else x


def slogdet(a):
    """(sign, log |det|) of each matrix."""
    if not _traced(a):
        return SlogdetResult(*np.linalg.slogdet(_plain(a)))
    return SlogdetResult(_op("slogdet_sign", a), _op("slogdet_log", a))


def det(a):
    """The determinant of each matrix (sign · exp(log |det|): its derivative is det · A⁻ᵀ)."""
    if not _traced(a):
        return _rewrap(np.linalg.det(_plain(a)), a)
    sign, log = slogdet(a)
    return multiply(sign, exp(log))


def cholesky(a, upper=False):
    """L with a = L Lᵀ (lower; ``upper=True`` gives Lᵀ)."""
    if not _traced(a):
        lower = np.linalg.cholesky(_plain(a))
        return _rewrap(np.swapaxes(lower, -1, -2) if upper else lower, a)
    lower = _op("cholesky", a)
    return swapaxes(lower, -1, -2) if upper else lower


def eigh(a, UPLO="L"):
    """Eigenvalues (ascending) and eigenvectors (columns) of symmetric matrices."""
    if not _traced(a):
        return EighResult(*np.linalg.eigh(_plain(a), UPLO))
    return EighResult(_op("eigh_w", a), _op("eigh_v", a))


def eig(a):
    """Eigenvalues and right eigenvectors (columns, unit length) of square matrices; complex when
    traced (as in JAX: NumPy gives real arrays when every eigenvalue is real). Derivatives: of the
    eigenvalues."""
    if not _traced(a):
        return EigResult(*np.linalg.eig(_plain(a)))
    return EigResult(_op("eig_w", a), _op("eig_v", a))


def eigvals(a):
    """The eigenvalues of square matrices (complex when traced, as in JAX)."""
    return _op("eig_w", a) if _traced(a) else _rewrap(np.linalg.eigvals(_plain(a)), a)


def eigvalsh(a, UPLO="L"):
    """The eigenvalues (ascending) of symmetric matrices."""
    return _op("eigh_w", a) if _traced(a) else _rewrap(np.linalg.eigvalsh(_plain(a), UPLO), a)


def svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    """U, S, Vh (reduced when traced: U is m × k, Vh k × n); S alone with ``compute_uv=False``."""
    if not _traced(a):
        out = np.linalg.svd(_plain(a), full_matrices, compute_uv, hermitian)
        return SVDResult(*out) if compute_uv else _rewrap(out, a)
    if not compute_uv:
        return _op("svd_s", a)
    m, n = tuple(shape(a))[-2:]
    if full_matrices and m != n:
        raise ValueError("linalg.svd of a traced non-square matrix: pass full_matrices=False")
    return SVDResult(_op("svd_u", a), _op("svd_s", a), _op("svd_vh", a))


def qr(a, mode="reduced"):
    """Q, R with a = Q R, Q's columns orthonormal and R upper triangular (reduced: Q is m × k,
    R k × n, k = min(m, n)); R alone with ``mode='r'``. Derivatives for m ≥ n, as in JAX."""
    if not _traced(a):
        out = np.linalg.qr(_plain(a), mode)
        return QRResult(*out) if mode in ("reduced", "complete") else out
    m, n = tuple(shape(a))[-2:]
    if mode not in ("reduced", "complete", "r") or (mode == "complete" and m > n):
        raise ValueError(f"linalg.qr of a traced array: mode {mode!r} is not supported (use 'reduced' or 'r')")
    r = _op("qr_r", a)
    return r if mode == "r" else QRResult(_op("qr_q", a), r)


def svdvals(x):
    """The singular values (descending) of each matrix."""
    return svd(x, compute_uv=False)


def pinv(a, rcond=None, hermitian=False):
    """The Moore–Penrose pseudo-inverse, V diag(1/s) Uᵀ over singular values above rcond · max(s)."""
    if not _traced(a):
        return _rewrap(np.linalg.pinv(_plain(a)) if rcond is None else np.linalg.pinv(_plain(a), rcond), a)
    # (AᵀA)⁺Aᵀ with (AᵀA)⁺ from its eigensystem (λ = s²), so every derivative has a rule
    m, n = tuple(shape(a))[-2:]
    rcond = np.finfo(np.float64).eps * builtins.max(m, n) if rcond is None else rcond
    at = swapaxes(a, -1, -2)
    gram = matmul(at, a) if m >= n else matmul(a, at)
    w, v = eigh(gram)
    keep = greater(w, multiply(max(w, axis=-1, keepdims=True), rcond**2))
    inverse = where(keep, divide(1.0, where(keep, w, 1.0)), 0.0)
    gram_pinv = matmul(multiply(v, reshape(inverse, tuple(shape(inverse))[:-1] + (1, shape(inverse)[-1]))),
                       swapaxes(v, -1, -2))
    return matmul(gram_pinv, at) if m >= n else matmul(at, gram_pinv)


def lstsq(a, b, rcond=None):
    """(x, residuals, rank, s): the least-squares solution of a @ x = b, through the pseudo-inverse."""
    if not _traced(a, b):
        return np.linalg.lstsq(_plain(a), _plain(b), rcond=rcond)
    m, n = tuple(shape(a))
    s = svd(a, compute_uv=False)
    x = matmul(pinv(a, rcond), b)
    tol = multiply(max(s), (np.finfo(np.float64).eps * builtins.max(m, n)) if rcond is None else rcond)
    rank = sum(greater(s, tol).astype(np.int64))
    residuals = sum(power(subtract(matmul(a, x), b), 2), axis=0) if m > n else np.empty((0,))
    return x, residuals, rank, s


def matrix_power(a, n):
    """a multiplied by itself n times (n < 0: the inverse's powers; n = 0: the identity)."""
    if not _traced(a):
        return _rewrap(np.linalg.matrix_power(_plain(a), n), a)
    if n < 0:
        a, n = inv(a), -n
    if n == 0:
        return broadcast_to(np.eye(shape(a)[-1]), tuple(shape(a)))
    result, square = None, a
    while n:
        if n & 1:
            result = square if result is None else matmul(result, square)
        n >>= 1
        if n:
            square = matmul(square, square)
    return result


def norm(x, ord=None, axis=None, keepdims=False):
    """Vector norms (ord None/2, 1, inf, −inf, 0, p) and matrix norms ('fro', 'nuc', 2, −2, 1, −1, inf,
    −inf) as NumPy defines them."""
    if not _traced(x):
        return _rewrap(np.linalg.norm(_plain(x), ord, axis, keepdims), x)
    n = ndim(x)
    if axis is None and (ord is None or n == 1 or n > 2):
        return _vector_norm(reshape(x, (-1,)), ord, 0, False) if not keepdims else \
            reshape(_vector_norm(reshape(x, (-1,)), ord, 0, False), (1,) * n)
    if axis is None:
        axis = (0, 1)
    if isinstance(axis, (int, np.integer)) or len(axis) == 1:
        return _vector_norm(x, ord, int(np.atleast_1d(axis)[0]), keepdims)
    return _matrix_norm(x, ord, tuple(a % n for a in axis), keepdims)


def _vector_norm(x, ord, axis, keepdims):
    a = abs(x)
    if ord is None or ord == 2:
        return sqrt(sum(multiply(x, x), axis=axis, keepdims=keepdims))
    if ord == np.inf:
        return max(a, axis=axis, keepdims=keepdims)
    if ord == -np.inf:
        return min(a, axis=axis, keepdims=keepdims)
    if ord == 0:
        return sum(not_equal(x, 0).astype(x.dtype), axis=axis, keepdims=keepdims)
    if ord == 1:
        return sum(a, axis=axis, keepdims=keepdims)
    return power(sum(power(a, ord), axis=axis, keepdims=keepdims), 1.0 / ord)


def _matrix_norm(x, ord, axes, keepdims):
    row, col = axes
    if ord in (None, "fro"):
        out = sqrt(sum(multiply(x, x), axis=axes))
    elif ord in ("nuc", 2, -2):
        s = svd(moveaxis(moveaxis(x, row, -2), col if col > row else col + 1, -1), compute_uv=False)
        out = sum(s, axis=-1) if ord == "nuc" else (max if ord == 2 else min)(s, axis=-1)
    elif ord in (1, -1):
        out = (max if ord == 1 else min)(sum(abs(x), axis=row), axis=col - 1 if col > row else col)
    elif ord in (np.inf, -np.inf):
        out = (max if ord == np.inf else min)(sum(abs(x), axis=col), axis=row - 1 if row > col else row)
    else:
        raise ValueError(f"invalid norm order {ord!r} for matrices")
    if keepdims:
        out = reshape(out, tuple(1 if i in axes else d for i, d in enumerate(shape(x))))
    return out

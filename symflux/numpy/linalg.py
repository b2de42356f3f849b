"""``np.linalg`` / ``sf.linalg``: inverses, solves, determinants, norms, Cholesky, symmetric
eigensystems, singular values and vectors, QR, pseudo-inverses, least squares and matrix powers,
batched over leading axes and differentiable to any order (``symflux.linalg_ops`` holds the graph op
and its rules). On plain values they are NumPy's own; ``sf.compile`` calls SciPy's LAPACK."""

from __future__ import annotations

import builtins
from collections import namedtuple

import numpy as np

from .. import linalg_ops as graph
from .. import ops
from .. import trace as tracing
from ..array import Tracer
from ..symbolic import exactly
from ._base import _node, _plain, _rewrap, ndim, shape
from .arrangement import diagonal as _diagonal
from .contractions import cross as _cross
from .contractions import matmul, tensordot, vecdot  # noqa: F401  (np.linalg has them too)
from .contractions import outer as _outer
from .elementwise import abs, astype, conj, divide, exp, greater, multiply, not_equal, power, real, subtract, where
from .manipulation import broadcast_to, matrix_transpose, moveaxis, reshape, swapaxes  # noqa: F401
from .reductions import abs_squared, max, min, root, sum

SlogdetResult = namedtuple("SlogdetResult", "sign logabsdet")
EighResult = namedtuple("EighResult", "eigenvalues eigenvectors")
EigResult = namedtuple("EigResult", "eigenvalues eigenvectors")
SVDResult = namedtuple("SVDResult", "U S Vh")
QRResult = namedtuple("QRResult", "Q R")


# the functions, not the helpers they are written with (``from symflux.linalg import *``, ``dir``)
__all__ = ["EigResult", "EighResult", "QRResult", "SVDResult", "SlogdetResult", "cholesky", "cond", "cross", "det",
           "diagonal", "eig", "eigh", "eigvals", "eigvalsh", "inv", "lstsq", "matmul", "matrix_norm", "matrix_power",
           "matrix_rank", "matrix_transpose", "multi_dot", "norm", "outer", "pinv", "qr", "slogdet", "solve", "svd",
           "svdvals", "tensordot", "tensorinv", "tensorsolve", "trace", "vecdot", "vector_norm"]


def _traced(*values) -> bool:
    return tracing.any_traced(list(values))


def _op(name, *values):
    return Tracer(graph.linalg(name, *[_node(v) for v in values]))


@exactly
def inv(a):
    """The inverse of each matrix in the last two axes."""
    return _op("inv", a) if _traced(a) else _rewrap(np.linalg.inv(_plain(a)), a)


@exactly
def solve(a, b):
    """x with a @ x = b (b a vector, or matrices in its last two axes, batch axes broadcast)."""
    if not _traced(a, b):
        return _rewrap(np.linalg.solve(_plain(a), _plain(b)), a)
    vector = ndim(b) == 1
    b = reshape(b, (shape(b)[0], 1)) if vector else b
    lead = ops.broadcast_shapes(tuple(shape(a))[:-2], tuple(shape(b))[:-2], what="linalg.solve operands")
    x = _op("solve", broadcast_to(a, lead + tuple(shape(a))[-2:]), broadcast_to(b, lead + tuple(shape(b))[-2:]))
    return reshape(x, tuple(shape(x))[:-1]) if vector else x


@exactly
def slogdet(a):
    """(sign, log |det|) of each matrix."""
    if not _traced(a):
        return SlogdetResult(*np.linalg.slogdet(_plain(a)))
    # of a complex matrix the op is log det's holomorphic branch (what det differentiates); NumPy's is real
    log = _op("slogdet_log", a)
    return SlogdetResult(_op("slogdet_sign", a), real(log) if log.dtype.kind == "c" else log)


@exactly
def det(a):
    """The determinant of each matrix (sign · exp(log |det|): its derivative is det · A⁻ᵀ)."""
    if not _traced(a):
        return _rewrap(np.linalg.det(_plain(a)), a)
    return multiply(_op("slogdet_sign", a), exp(_op("slogdet_log", a)))


@exactly
def cholesky(a, upper=False):
    """L with a = L Lᵀ (lower; ``upper=True`` gives Lᵀ)."""
    if not _traced(a):
        lower = np.linalg.cholesky(_plain(a))
        return _rewrap(np.swapaxes(lower, -1, -2) if upper else lower, a)
    lower = _op("cholesky", a)
    return swapaxes(lower, -1, -2) if upper else lower


@exactly
def eigh(a, UPLO="L"):
    """Eigenvalues (ascending) and eigenvectors (columns) of symmetric matrices."""
    if not _traced(a):
        return EighResult(*np.linalg.eigh(_plain(a), UPLO))
    return EighResult(_op("eigh_w", a), _op("eigh_v", a))


@exactly
def eig(a):
    """Eigenvalues and right eigenvectors (columns, unit length) of square matrices; complex when
    traced (as in JAX: NumPy gives real arrays when every eigenvalue is real). Derivatives: of the
    eigenvalues."""
    if not _traced(a):
        return EigResult(*np.linalg.eig(_plain(a)))
    return EigResult(_op("eig_w", a), _op("eig_v", a))


@exactly
def eigvals(a):
    """The eigenvalues of square matrices (complex when traced, as in JAX)."""
    return _op("eig_w", a) if _traced(a) else _rewrap(np.linalg.eigvals(_plain(a)), a)


@exactly
def eigvalsh(a, UPLO="L"):
    """The eigenvalues (ascending) of symmetric matrices."""
    return _op("eigh_w", a) if _traced(a) else _rewrap(np.linalg.eigvalsh(_plain(a), UPLO), a)


@exactly
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


@exactly
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


@exactly
def svdvals(x):
    """The singular values (descending) of each matrix."""
    return svd(x, compute_uv=False)


@exactly
def pinv(a, rcond=None, hermitian=False):
    """The Moore–Penrose pseudo-inverse, V diag(1/s) Uᴴ over singular values above rcond · max(s)."""
    if not _traced(a):
        return _rewrap(np.linalg.pinv(_plain(a)) if rcond is None else np.linalg.pinv(_plain(a), rcond), a)
    # (AᴴA)⁺Aᴴ with (AᴴA)⁺ from its eigensystem (λ = s²), so every derivative has a rule
    m, n = tuple(shape(a))[-2:]
    rcond = np.finfo(np.float64).eps * builtins.max(m, n) if rcond is None else rcond
    at = _adjoint(a)
    gram = matmul(at, a) if m >= n else matmul(a, at)
    w, v = eigh(gram)
    keep = greater(w, multiply(max(w, axis=-1, keepdims=True), rcond**2))
    inverse = where(keep, divide(1.0, where(keep, w, 1.0)), 0.0)
    gram_pinv = matmul(multiply(v, reshape(inverse, tuple(shape(inverse))[:-1] + (1, shape(inverse)[-1]))),
                       _adjoint(v))
    return matmul(gram_pinv, at) if m >= n else matmul(at, gram_pinv)


def _adjoint(x):
    """The conjugate transpose of each matrix (the transpose of real ones)."""
    return conj(swapaxes(x, -1, -2)) if x.dtype.kind == "c" else swapaxes(x, -1, -2)


@exactly
def lstsq(a, b, rcond=None):
    """(x, residuals, rank, s): the least-squares solution of a @ x = b, through the pseudo-inverse."""
    if not _traced(a, b):
        return np.linalg.lstsq(_plain(a), _plain(b), rcond=rcond)
    m, n = tuple(shape(a))
    s = svd(a, compute_uv=False)
    x = matmul(pinv(a, rcond), b)
    tol = multiply(max(s), (np.finfo(np.float64).eps * builtins.max(m, n)) if rcond is None else rcond)
    rank = sum(greater(s, tol).astype(np.int64))
    residuals = sum(abs_squared(subtract(matmul(a, x), b)), axis=0) if m > n else np.empty((0,))
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


@exactly
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
        return root(sum(abs_squared(x), axis=axis, keepdims=keepdims))
    if ord == np.inf:
        return max(a, axis=axis, keepdims=keepdims)
    if ord == -np.inf:
        return min(a, axis=axis, keepdims=keepdims)
    if ord == 0:
        return sum(not_equal(x, 0).astype(x.dtype), axis=axis, keepdims=keepdims)
    if ord == 1:
        return sum(a, axis=axis, keepdims=keepdims)
    return root(sum(power(a, ord), axis=axis, keepdims=keepdims), ord)


def _matrix_norm(x, ord, axes, keepdims):
    row, col = axes
    if ord in (None, "fro"):
        out = root(sum(abs_squared(x), axis=axes))
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


@exactly
def vector_norm(x, /, *, axis=None, keepdims=False, ord=2):
    """The vector norm (``norm``'s orders) of x over ``axis``: all of x when None, several axes read
    as one vector."""
    if not _traced(x):
        return _rewrap(np.linalg.vector_norm(_plain(x), axis=axis, keepdims=keepdims, ord=ord), x)
    dims = tuple(shape(x))
    axes = ops.normalize_axes(axis, len(dims))
    kept = tuple(d for i, d in enumerate(dims) if i not in axes)
    length = int(np.prod([dims[i] for i in axes], dtype=np.int64))
    out = _vector_norm(reshape(moveaxis(x, axes, tuple(range(-len(axes), 0))), kept + (length,)), ord, -1, False)
    return reshape(out, tuple(1 if i in axes else d for i, d in enumerate(dims))) if keepdims else out


@exactly
def matrix_norm(x, /, *, keepdims=False, ord="fro"):
    """The matrix norm (``norm``'s orders) of each matrix in the last two axes."""
    if not _traced(x):
        return _rewrap(np.linalg.matrix_norm(_plain(x), keepdims=keepdims, ord=ord), x)
    return norm(x, ord=ord, axis=(-2, -1), keepdims=keepdims)


@exactly
def cond(x, p=None):
    """The condition number: σ_max/σ_min for p None, 2 (−2: its inverse), else ‖x‖ₚ·‖x⁻¹‖ₚ."""
    if not _traced(x):
        return _rewrap(np.linalg.cond(_plain(x), p), x)
    if p in (None, 2, -2):
        s = svd(x, compute_uv=False)
        return divide(max(s, axis=-1), min(s, axis=-1)) if p != -2 else divide(min(s, axis=-1), max(s, axis=-1))
    return multiply(norm(x, p, axis=(-2, -1)), norm(inv(x), p, axis=(-2, -1)))


def matrix_rank(A, tol=None, hermitian=False, *, rtol=None):
    """How many singular values exceed ``tol`` (default σ_max·max(M, N)·ε, or σ_max·``rtol``), as
    int64; a vector's rank is 1 unless it is all zeros."""
    if not _traced(A):
        return _rewrap(np.asarray(np.linalg.matrix_rank(_plain(A), tol, hermitian, rtol=rtol)), A)
    if ndim(A) < 2:
        return astype(not_equal(sum(not_equal(A, 0)), 0), np.int64)
    s = svd(A, compute_uv=False)
    if tol is None:
        m, n = tuple(shape(A))[-2:]
        rtol = builtins.max(m, n) * np.finfo(np.dtype(s.dtype)).eps if rtol is None else rtol
        tol = multiply(max(s, axis=-1, keepdims=True), rtol)
    else:
        tol = reshape(tol, tuple(np.shape(tol)) + (1,)) if tracing.is_traced(tol) or np.ndim(tol) else tol
    return sum(astype(greater(s, tol), np.int64), axis=-1)


def multi_dot(arrays, *, out=None):
    """The product of a chain of matrices, multiplied in the cheapest order (the first and last may
    be vectors, read as a row and a column), as NumPy's ``multi_dot``."""
    if not _traced(*arrays):
        return _rewrap(np.linalg.multi_dot([_plain(a) for a in arrays], out=out), arrays[0])
    if len(arrays) < 2:
        raise ValueError("multi_dot: expecting at least two arrays")
    first, last = ndim(arrays[0]) == 1, ndim(arrays[-1]) == 1
    chain = list(arrays)
    if first:
        chain[0] = reshape(chain[0], (1, shape(chain[0])[0]))
    if last:
        chain[-1] = reshape(chain[-1], (shape(chain[-1])[0], 1))
    result = _chain_product(chain, _chain_order([tuple(shape(a)) for a in chain]), 0, len(chain) - 1)
    if first or last:
        return reshape(result, tuple(d for d, vector in zip(shape(result), (first, last)) if not vector))
    return result


def _chain_order(shapes):
    """split[i][j]: where the cheapest product of matrices i..j splits (the matrix-chain order)."""
    n = len(shapes)
    dims = [shapes[0][0]] + [s[1] for s in shapes]
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j], split[i][j] = builtins.min(
                (cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1], k) for k in range(i, j))
    return split


def _chain_product(chain, split, i, j):
    if i == j:
        return chain[i]
    k = split[i][j]
    return matmul(_chain_product(chain, split, i, k), _chain_product(chain, split, k + 1, j))


@exactly
def tensorinv(a, ind=2):
    """The inverse of ``a`` read as a matrix of its first ``ind`` axes by the rest: shaped
    a.shape[ind:] + a.shape[:ind]."""
    if not _traced(a):
        return _rewrap(np.linalg.tensorinv(_plain(a), ind), a)
    dims = tuple(shape(a))
    rows, cols = int(np.prod(dims[:ind])), int(np.prod(dims[ind:]))
    if rows != cols:
        raise ValueError(f"tensorinv: a of shape {dims} is not square read as {rows} × {cols}")
    return reshape(inv(reshape(a, (rows, cols))), dims[ind:] + dims[:ind])


@exactly
def tensorsolve(a, b, axes=None):
    """x with tensordot(a, x, x.ndim) = b: ``a`` read as a matrix of b's axes by the rest."""
    if not _traced(a, b):
        return _rewrap(np.linalg.tensorsolve(_plain(a), _plain(b), axes), a)
    if axes is not None:
        a = moveaxis(a, axes, tuple(range(ndim(a) - len(axes), ndim(a))))
    dims = tuple(shape(a))
    unknown = dims[ndim(b):]
    rows, cols = int(np.prod(dims[:ndim(b)])), int(np.prod(unknown))
    if rows != cols:
        raise ValueError(f"tensorsolve: a of shape {dims} is not square read as {rows} × {cols}")
    return reshape(solve(reshape(a, (rows, cols)), reshape(b, (rows,))), unknown)


def outer(x1, x2, /):
    """The outer product of two vectors (np.linalg's: 1-D operands only)."""
    if ndim(x1) != 1 or ndim(x2) != 1:
        raise ValueError("linalg.outer: the operands must be 1-D vectors")
    return _outer(x1, x2)


def cross(x1, x2, /, *, axis=-1):
    """The cross product of 3-vectors along ``axis`` (np.linalg's: 3-vectors only)."""
    if shape(x1)[axis] != 3 or shape(x2)[axis] != 3:
        raise ValueError("linalg.cross: both operands must have 3 elements along the axis")
    return _cross(x1, x2, axis=axis)


def diagonal(x, /, *, offset=0):
    """The diagonals of the matrices in the last two axes."""
    return _diagonal(x, offset, -2, -1)


def trace(x, /, *, offset=0, dtype=None):
    """The traces of the matrices in the last two axes."""
    return sum(_diagonal(x, offset, -2, -1), axis=-1, dtype=dtype)

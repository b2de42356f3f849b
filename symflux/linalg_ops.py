"""Matrix functions as graph ops: inverse, solve, log-determinant, Cholesky, symmetric and general
eigensystems, singular values and vectors, QR, batched over leading axes as NumPy does (the user-facing functions are
``symflux.numpy.linalg``).

One op, ``linalg``, with the function's name as its attribute: evaluated by NumPy's LAPACK routines
(SymPy's exact ones for object arrays), differentiated by the rules of the literature (Giles 2008,
"An extended collection of matrix derivative results"; Murray 2016 for Cholesky) written with graph
ops — including ``linalg`` nodes themselves, so derivatives of any order work — and batched by
adding a leading axis. Compiled CPU code calls the same LAPACK routines through SciPy
(``codegen.runtime.linalg``; ``lower`` emits a ``Call``); C export and CUDA refuse them.
"""

from __future__ import annotations

import numpy as np
import sympy

from . import contract, ops
from . import functions as fn
from .ir import ARG, OBJECT, Node, make

# name → (number of arguments, output shape from the argument shapes)
SHAPES = {
    "inv": (1, lambda a: a),
    "solve": (2, lambda a, b: b),
    "slogdet_sign": (1, lambda a: a[:-2]),
    "slogdet_log": (1, lambda a: a[:-2]),
    "cholesky": (1, lambda a: a),
    "eigh_w": (1, lambda a: a[:-1]),
    "eigh_v": (1, lambda a: a),
    "svd_s": (1, lambda a: a[:-2] + (min(a[-2:]),)),
    "svd_u": (1, lambda a: a[:-1] + (min(a[-2:]),)),
    "svd_vh": (1, lambda a: a[:-2] + (min(a[-2:]), a[-1])),
    "qr_q": (1, lambda a: a[:-1] + (min(a[-2:]),)),
    "qr_r": (1, lambda a: a[:-2] + (min(a[-2:]), a[-1])),
    "eig_w": (1, lambda a: a[:-1]),
    "eig_v": (1, lambda a: a),
}
GENERAL_EIGEN = ("eig_w", "eig_v")  # complex results, always (as in JAX)
REAL_VALUED = ("svd_s", "eigh_w")  # real for complex matrices too (NumPy; slogdet's real part is taken outside)
# rules written for real matrices (transposes, not conjugate transposes): complex ones are refused
REAL_RULES = ("cholesky", "eigh_w", "eigh_v", "svd_s", "svd_u", "svd_vh", "qr_q", "qr_r")


def linalg(name: str, *args: Node) -> Node:
    """The ``name`` node of ``args`` (square matrices in the last two axes, except for the SVD)."""
    a = args[0]
    if a.ndim < 2 or (not name.startswith(("svd", "qr")) and not ops.dims_equal(a.shape[-1], a.shape[-2])):
        raise ops.ShapeError(f"linalg.{name.split('_')[0]}: expected a stack of square matrices, got shape "
                             f"{ops.fmt_shape(a.shape)}")
    if name == "solve" and (args[1].ndim < 2 or not ops.dims_equal(args[1].shape[-2], a.shape[-1])
                            or args[1].shape[:-2] != a.shape[:-2]):
        raise ops.ShapeError(f"linalg.solve: shapes {ops.fmt_shape(a.shape)} and {ops.fmt_shape(args[1].shape)} "
                             "do not fit")
    dtype = OBJECT if any(x.dtype == OBJECT for x in args) else np.result_type(*[x.dtype for x in args], 1.0)
    args = tuple(ops.cast(x, dtype) for x in args)
    if name in GENERAL_EIGEN and dtype != OBJECT:
        dtype = np.result_type(dtype, np.complex64)
    if name in REAL_VALUED and dtype != OBJECT:
        dtype = np.empty(0, dtype).real.dtype
    return make("linalg", args, (name,), SHAPES[name][1](*[x.shape for x in args]), dtype)


# -- evaluation -------------------------------------------------------------------------------------

def _numeric(name, a, b=None):
    if name == "inv":
        return np.linalg.inv(a)
    if name == "solve":
        return np.linalg.solve(a, b)
    if name.startswith("slogdet"):
        sign, log = np.linalg.slogdet(a)
        return sign if name == "slogdet_sign" else log
    if name == "cholesky":
        return np.linalg.cholesky(a)
    if name.startswith("eigh"):
        w, v = np.linalg.eigh(a)
        return w if name == "eigh_w" else v
    if name.startswith("qr"):
        return np.linalg.qr(a)[0 if name == "qr_q" else 1]
    if name in GENERAL_EIGEN:
        w, v = np.linalg.eig(a)
        return (w if name == "eig_w" else v).astype(np.result_type(a.dtype, np.complex64))
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return {"svd_s": s, "svd_u": u, "svd_vh": vh}[name]


def _exact(name, a, b=None):
    """One matrix in exact arithmetic (SymPy)."""
    m = sympy.Matrix(a.tolist())
    if name == "inv":
        out = m.inv()
    elif name == "solve":
        out = m.LUsolve(sympy.Matrix(b.tolist()))
    elif name.startswith("slogdet"):
        det = m.det()  # a scalar, which ``evaluate`` stores as an element (an array would be stored whole)
        return sympy.sign(det) if name == "slogdet_sign" else sympy.log(sympy.Abs(det))
    elif name == "cholesky":
        out = m.cholesky(hermitian=False)
    else:
        raise TypeError(f"linalg.{name.split('_')[0]} has no exact (symbolic) form here; pass floating-point values")
    return np.array(out.tolist(), dtype=object)


def evaluate(node: Node, values, exact: bool):
    name = node.attrs[0]
    if not exact:
        return _numeric(name, *values)
    a = np.asarray(values[0], dtype=object)
    out = np.empty(node.shape, dtype=object)
    for index in np.ndindex(*a.shape[:-2]):
        out[index] = _exact(name, a[index], *(np.asarray(v, dtype=object)[index] for v in values[1:]))
    return out


# -- helpers in graph ops ---------------------------------------------------------------------------

def _letters(n):
    return "abcdefghijklmnopqrstuvw"[:n]


def mm(a: Node, b: Node) -> Node:
    """Batched matrix product over the last two axes."""
    lead = _letters(a.ndim - 2)
    return contract.einsum(f"{lead}xy,{lead}yz->{lead}xz", a, b)


def T(a: Node) -> Node:
    return ops.permute(a, tuple(range(a.ndim - 2)) + (a.ndim - 1, a.ndim - 2))


def _times(a, b):
    return ops.map_(ARG[0] * ARG[1], [a, b])


def _plus(a, b):
    return ops.map_(ARG[0] + ARG[1], [a, b])


def _minus(a, b):
    return ops.map_(ARG[0] - ARG[1], [a, b])


def _diag_embed(w: Node) -> Node:
    n = w.shape[-1]
    return _times(ops.reshape(w, w.shape + (1,)), ops.const(np.eye(n, dtype=w.dtype)))


def _diagonal(m: Node) -> Node:
    return ops.reduce("sum", _times(m, ops.const(np.eye(m.shape[-1], dtype=m.dtype))), [m.ndim - 1])


def _symmetric(m: Node) -> Node:
    return ops.map_((ARG[0] + ARG[1]) / 2, [m, T(m)])


def _phi(m: Node) -> Node:
    """The lower triangle with the diagonal halved (Murray's Φ)."""
    n = m.shape[-1]
    return _times(m, ops.const((np.tril(np.ones((n, n))) - np.eye(n) / 2).astype(m.dtype)))


def _gaps(w: Node) -> Node:
    """F[i, j] = 1 / (w[j] − w[i]) off the diagonal, 0 on it (no 0/0 there)."""
    n = w.shape[-1]
    off = ops.const(1 - np.eye(n, dtype=w.dtype))
    body = sympy.Piecewise((1 / (ARG[1] - ARG[0]), sympy.Ne(ARG[2], 0)), (0, True))
    return ops.map_(body, [ops.reshape(w, w.shape + (1,)), ops.reshape(w, w.shape[:-1] + (1, n)), off])


def _svd_tangents(a: Node, da: Node):
    """(dU, dVh) of the reduced SVD a = U diag(s) Vh (Townsend 2016): with dP = Uᵀ dA V and
    F[i, j] = 1/(s_j² − s_i²), dU = U (F ∘ (dP S + S dPᵀ)) + (I − U Uᵀ) dA V S⁻¹, and likewise for V."""
    u, s, vh = linalg("svd_u", a), linalg("svd_s", a), linalg("svd_vh", a)
    v = T(vh)
    dp = mm(mm(T(u), da), v)
    squares = _gaps(ops.map_(ARG[0] ** 2, [s]))
    row = ops.reshape(s, s.shape[:-1] + (1, s.shape[-1]))  # right-multiplying by S scales columns
    ps, sp = _times(dp, row), _times(T(row), dp)  # dP S and S dP
    inverse_s = ops.map_(1 / ARG[0], [row])
    du = _plus(mm(u, _times(squares, _plus(ps, T(ps)))),
               _times(mm(_projector(u), mm(da, v)), inverse_s))
    dv = _plus(mm(v, _times(squares, _plus(sp, T(sp)))),
               _times(mm(_projector(v), mm(T(da), u)), inverse_s))
    return du, T(dv)


def _projector(q: Node) -> Node:
    """I − Q Qᵀ: the projector onto the complement of Q's columns."""
    return _minus(ops.const(np.eye(q.shape[-2], dtype=q.dtype)), mm(q, T(q)))


def _scalar_per_matrix(g: Node) -> Node:
    return ops.reshape(g, g.shape + (1, 1))


# -- reverse mode -----------------------------------------------------------------------------------

def _real_rule(name: str, a: Node) -> None:
    if name in REAL_RULES and a.dtype.kind == "c":
        raise TypeError(f"linalg.{name.split('_')[0]} of a complex matrix has no derivative here (its rules are "
                        "written for real matrices); differentiate with a real matrix, or stop_gradient the value")


def vjp(node: Node, g: Node, i: int):
    name, a = node.attrs[0], node.args[0]
    _real_rule(name, a)
    if name == "inv":
        return ops.map_(-ARG[0], [mm(mm(T(node), g), T(node))])
    if name == "solve":
        gb = linalg("solve", T(a), g)
        return ops.map_(-ARG[0], [mm(gb, T(node))]) if i == 0 else gb
    if name == "slogdet_log":
        return _times(_scalar_per_matrix(g), T(linalg("inv", a)))
    if name == "slogdet_sign":
        return None
    if name == "cholesky":
        inverse = linalg("inv", node)
        return _symmetric(mm(mm(T(inverse), _phi(mm(T(node), g))), inverse))
    if name == "eigh_w":
        v = linalg("eigh_v", a)
        return mm(mm(v, _diag_embed(g)), T(v))
    if name == "eigh_v":
        inner = _times(_gaps(linalg("eigh_w", a)), mm(T(node), g))
        return _symmetric(mm(mm(node, inner), T(node)))
    if name == "svd_s":
        return mm(mm(linalg("svd_u", a), _diag_embed(g)), linalg("svd_vh", a))
    if name.startswith("qr"):
        return _qr_vjp(a, g, name)
    if name == "eig_w":  # the transpose of dA ↦ diag(V⁻¹ dA V), real for a real A
        v = linalg("eig_v", a)
        back = mm(mm(T(linalg("inv", v)), _diag_embed(g)), T(v))
        return back if a.dtype.kind == "c" else ops.map_(fn.real_part(ARG[0]), [back])
    if name == "eig_v":
        raise _EIGENVECTORS
    return _svd_vector_vjp(a, g, name)


_EIGENVECTORS = TypeError("the derivative of linalg.eig's eigenvectors is not defined here (as in JAX: they are "
                          "unique only up to a complex factor); differentiate the eigenvalues (linalg.eigvals), "
                          "or use eigh for symmetric matrices")


def _tall(a: Node, what: str) -> None:
    if not a.shape[-2] >= a.shape[-1]:
        raise TypeError(f"the derivative of linalg.qr needs m ≥ n (as in JAX); got a matrix of shape "
                        f"{ops.fmt_shape(a.shape[-2:])} ({what})")


def _copy_upper(m: Node) -> Node:
    """m's upper triangle (diagonal included) mirrored into its strictly lower one."""
    n = m.shape[-1]
    upper, strict = (ops.const(np.triu(np.ones((n, n)), k).astype(m.dtype)) for k in (0, 1))
    return _plus(_times(m, upper), T(_times(m, strict)))


def _qr_vjp(a: Node, g: Node, name: str) -> Node:
    """Ā for a cotangent of Q or R of the reduced QR (m ≥ n), the transpose of ``_qr_tangents``:
    with M = R̄Rᵀ − QᵀQ̄, Ā = (Q̄ + Q copyltu(M)) R⁻ᵀ."""
    _tall(a, "reverse mode")
    q, r = linalg("qr_q", a), linalg("qr_r", a)
    if name == "qr_q":
        m = ops.map_(-ARG[0], [mm(T(q), g)])
        y = _plus(g, mm(q, _copy_upper(m)))
    else:
        y = mm(q, _copy_upper(mm(g, T(r))))
    return T(linalg("solve", r, T(y)))


def _qr_tangents(a: Node, da: Node):
    """(dQ, dR) of the reduced QR (m ≥ n; JAX's rule): with X = dA R⁻¹, C = QᵀX and Ω the
    skew-symmetric part of C's strictly lower triangle, dQ = Q(Ω − C) + X and dR = (C − Ω) R."""
    _tall(a, "forward mode")
    q, r = linalg("qr_q", a), linalg("qr_r", a)
    x = T(linalg("solve", T(r), T(da)))
    c = mm(T(q), x)
    n = c.shape[-1]
    lower = _times(c, ops.const(np.tril(np.ones((n, n)), -1).astype(c.dtype)))
    omega = _minus(lower, T(lower))
    return _plus(mm(q, _minus(omega, c)), x), mm(_minus(c, omega), r)


def _svd_vector_vjp(a: Node, g: Node, name: str) -> Node:
    """Ā for a cotangent of the singular vectors (Townsend 2016; the transpose of ``_svd_tangents``).
    With F[i, j] = 1/(s_j² − s_i²): from Ū, U (F ∘ (UᵀŪ − ŪᵀU)) S Vᵀ + (I − UUᵀ) Ū S⁻¹ Vᵀ; from V̄
    (the transpose of Vh's cotangent), U S (F ∘ (VᵀV̄ − V̄ᵀV)) Vᵀ + U S⁻¹ V̄ᵀ (I − VVᵀ)."""
    u, s, vh = linalg("svd_u", a), linalg("svd_s", a), linalg("svd_vh", a)
    gaps = _gaps(ops.map_(ARG[0] ** 2, [s]))
    row = ops.reshape(s, s.shape[:-1] + (1, s.shape[-1]))  # right-multiplying by S scales columns
    inverse = ops.map_(1 / ARG[0], [row])
    if name == "svd_u":
        skew = _times(gaps, _minus(mm(T(u), g), mm(T(g), u)))
        return _plus(mm(mm(u, _times(skew, row)), vh), mm(_times(mm(_projector(u), g), inverse), vh))
    v, gv = T(vh), T(g)
    skew = _times(gaps, _minus(mm(T(v), gv), mm(T(gv), v)))
    return _plus(mm(mm(u, _times(T(row), skew)), vh), mm(u, mm(_times(T(inverse), T(gv)), _projector(v))))


# -- forward mode -----------------------------------------------------------------------------------

def jvp(node: Node, tangents):
    name, a = node.attrs[0], node.args[0]
    _real_rule(name, a)
    da = tangents[0]
    if name == "inv":
        return ops.map_(-ARG[0], [mm(mm(node, da), node)])
    if name == "solve":
        rhs = tangents[1] if len(tangents) > 1 and tangents[1] is not None else None
        if da is not None:
            change = ops.map_(-ARG[0], [mm(da, node)])
            rhs = change if rhs is None else _plus(rhs, change)
        return linalg("solve", a, rhs)
    if name == "slogdet_log":
        return ops.reduce("sum", _times(T(linalg("inv", a)), da), [a.ndim - 2, a.ndim - 1])
    if name == "slogdet_sign":
        return None
    if name == "cholesky":
        inverse = linalg("inv", node)
        return mm(node, _phi(mm(mm(inverse, da), T(inverse))))
    if name in ("eigh_w", "eigh_v"):
        v = node if name == "eigh_v" else linalg("eigh_v", a)
        rotated = mm(mm(T(v), da), v)
        return _diagonal(rotated) if name == "eigh_w" else mm(v, _times(_gaps(linalg("eigh_w", a)), rotated))
    if name == "svd_s":
        return _diagonal(mm(mm(T(linalg("svd_u", a)), da), T(linalg("svd_vh", a))))
    if name.startswith("qr"):
        return _qr_tangents(a, da)[0 if name == "qr_q" else 1]
    if name == "eig_w":  # eqn 4.60 of Giles, as JAX: diag(V⁻¹ dA V)
        v = linalg("eig_v", a)
        return _diagonal(mm(linalg("solve", v, ops.cast(da, v.dtype)), v))
    if name == "eig_v":
        raise _EIGENVECTORS
    return _svd_tangents(a, da)[0 if name == "svd_u" else 1]


# -- batching ---------------------------------------------------------------------------------------

def batch(node: Node, args, size):
    """Every linalg op is batched over leading axes already: the batch axis is one more."""
    full = [b if b is not None else ops.expand(ops.reshape(a, (1,) + a.shape), (size,) + a.shape)
            for a, b in zip(node.args, args)]
    return linalg(node.attrs[0], *full)

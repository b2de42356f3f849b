"""The einsum constructor's algebra: permuted operands, identities, scalar factors, regrouping."""

import numpy as np
import pytest

from symflux import contract, interp, ir, ops

rng = np.random.default_rng(11)


def evaluate(node, bindings):
    return interp.evaluate([node], bindings)[0]


def test_permuted_operands_are_read_through():
    a = ir.new_input((3, 4), np.float64)
    b = ir.new_input((4, 5), np.float64)
    node = contract.einsum("ij,jk->ik", ops.permute(ops.permute(a, (1, 0)), (1, 0)), b)
    assert node.args == (a, b)
    node = contract.einsum("ji,jk->ik", ops.permute(a, (1, 0)), b)
    A, B = rng.standard_normal((3, 4)), rng.standard_normal((4, 5))
    np.testing.assert_allclose(evaluate(node, {a: A, b: B}), A @ B)
    assert node.op == "einsum" and node.args[0] is a


@pytest.mark.parametrize("spec,shape_e,shape_x", [
    ("bi,ij->bj", (4, 4), (4, 3)),            # s contracted: x itself
    ("bi,jb->ij", (4, 4), (3, 4)),            # b contracted: x's axis renamed
    ("bij,jk->bik", (6, 3, 2), (2, 5)),       # one s contracted, one diagonal: I ⊗ x
    ("bij,ijk->bk", (6, 3, 2), (3, 2, 5)),    # several s contracted
    ("bij,bk->ijk", (6, 3, 2), (6, 5)),       # b split into the s letters
])
def test_identity_contractions_rename_axes(spec, shape_e, shape_x):
    n = shape_e[0]
    e = ops.identity(shape_e, np.float64)
    x = ir.new_input(shape_x, np.float64)
    X = rng.standard_normal(shape_x)
    node = contract.einsum(spec, e, x)
    np.testing.assert_allclose(evaluate(node, {x: X}), np.einsum(spec, np.eye(n).reshape(shape_e), X))
    assert all(n.op != "einsum" or not contract.is_identity(n.args[0]) or n.args[0].shape[0] < shape_e[0]
               for n in ir.toposort([node]))
    assert max(np.prod(m.shape) for m in ir.toposort([node]) if m.op != "const") <= max(
        np.prod(node.shape), np.prod(shape_x))


def test_other_constants_are_contracted_and_identities_made_lazily():
    x = ir.new_input((3, 2), np.float64)
    assert contract.einsum("ij,jk->ik", ops.const(np.eye(3)[::-1].copy()), x).op == "einsum"
    big = ops.identity((10**5, 10**5), np.float64)  # 80 GB if it were made
    assert big is ops.identity((10**5, 10**5), np.float64) and contract.is_identity(big)
    np.testing.assert_array_equal(ops.identity((4, 2, 2), np.float64).value, np.eye(4).reshape(4, 2, 2))


def test_chains_are_regrouped_by_cost_and_scalars_move_out():
    big, small = ir.new_input((50, 50), np.float64), ir.new_input((50, 2), np.float64)
    v = ir.new_input((50,), np.float64)
    inner = contract.einsum("ij,jk->ik", big, big)  # 50³ flops
    node = contract.einsum("ik,k->i", ops.map_(3 * ir.ARG[0], [inner]), v)
    B, V = rng.standard_normal((50, 50)), rng.standard_normal(50)
    np.testing.assert_allclose(evaluate(node, {big: B, v: V}), 3 * B @ B @ V, rtol=1e-12)
    assert inner not in ir.toposort([node])  # B (B v): two matrix-vector products
    keep = contract.einsum("ij,jk->ik", contract.einsum("ij,jk->ik", big, small), ops.permute(small, (1, 0)))
    assert keep.op == "einsum"

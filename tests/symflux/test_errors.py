"""Bad input gets errors that name the user's thing (DESIGN.md §5)."""

import numpy as np
import pytest

import symflux as sf
from symflux import gradient


def test_non_scalar_output_points_to_jacobian():
    with pytest.raises(ValueError, match=r"must return a scalar.*shape \(2,\).*jacobian"):
        gradient(lambda x: x * 2, [1.0, 2.0])


def test_control_flow_on_traced_value_points_to_where():
    with pytest.raises(sf.TracingError, match=r"control flow.*sf\.where"):
        gradient(lambda x: x if x > 0 else -x, 1.0)
    with pytest.raises(sf.TracingError, match="control flow"):
        gradient(lambda x: x and x, 1.0)


def test_shape_mismatches_name_both_shapes():
    with pytest.raises(sf.ShapeError, match=r"\(2,\) and \(3,\)"):
        gradient(lambda x: sf.sum(x @ sf.ones(3)), sf.ones(2))
    with pytest.raises(sf.ShapeError, match=r"\(2, 3\) and \(4,\)"):
        gradient(lambda x: sf.sum(x + sf.ones(4)), sf.ones((2, 3)))
    with pytest.raises(sf.ShapeError, match=r"cannot reshape.*\(6,\).*\(4,\)"):
        gradient(lambda x: sf.sum(sf.reshape(x, (4,))), sf.ones(6))


def test_unsupported_numpy_function_is_named():
    with pytest.raises(TypeError, match=r"numpy\.unique is not supported"):
        gradient(lambda x: np.sum(np.unique(x)), sf.ones((2, 2)))
    with pytest.raises(TypeError, match=r"numpy\.histogram is not supported on traced arrays"):
        gradient(lambda x: np.sum(np.histogram(x)[0]), sf.ones(3))


def test_plain_numpy_array_in_params_explains_how_to_track():
    with pytest.raises(TypeError, match=r"plain numpy\.ndarray.*sf\.array"):
        sf.params(np.ones(3))


def test_conversions_of_traced_values_are_explained():
    with pytest.raises(sf.TracingError, match="float"):
        gradient(lambda x: float(x), 1.0)
    with pytest.raises(sf.TracingError, match="NumPy array"):
        gradient(lambda x: np.asarray(x).sum(), sf.ones(2))
    with pytest.raises(sf.TracingError, match="immutable"):
        gradient(lambda x: x.__setitem__(0, 1.0), sf.ones(2))
    with pytest.raises(sf.TracingError, match="in place"):
        gradient(lambda x: np.add(x, 1, out=x), sf.ones(2))
    with pytest.raises(sf.TracingError, match="item"):
        gradient(lambda x: x[0].item(), sf.ones(2))
    with pytest.raises(sf.TracingError, match="tolist"):
        gradient(lambda x: sum(x.tolist()), sf.ones(2))
    with pytest.raises(sf.TracingError, match="depends on the values"):
        gradient(lambda x: x[x.nonzero()].sum(), sf.ones(2))
    with pytest.raises(sf.TracingError, match="immutable"):
        gradient(lambda x: x.fill(0.0), sf.ones(2))
    with pytest.raises(sf.TracingError, match="round"):
        gradient(lambda x: round(x[0]), sf.ones(2))
    with pytest.raises(TypeError, match="bytes"):
        gradient(lambda x: x.view(np.int64).sum(), sf.ones(2))
    with pytest.raises(TypeError, match="length="):
        sf.compile(lambda i: sf.bincount(i))(np.array([1, 2]))


def test_index_errors():
    with pytest.raises(IndexError, match="out of bounds"):
        gradient(lambda x: x[5], sf.ones(3))
    with pytest.raises(IndexError, match="too many indices"):
        gradient(lambda x: x[0, 0], sf.ones(3))


def test_nan_and_inf_propagate_like_numpy():
    g = gradient(lambda x: sf.sum(sf.log(x)), np.array([0.0, np.nan, 1.0]))[0]
    assert np.isinf(g[0]) and np.isnan(g[1]) and g[2] == 1.0
    s = sf.sigmoid(np.array([-1000.0, 1000.0], dtype=np.float32))
    assert s.dtype == np.float32 and list(s) == [0.0, 1.0]
    assert np.isfinite(sf.logsumexp(np.array([1000.0, 1000.0], dtype=np.float32)))
    assert np.allclose(sf.softmax(np.array([1000.0, 0.0], dtype=np.float32)), [1.0, 0.0])

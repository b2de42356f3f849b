"""symflux: exact symbolic differentiation and code generation with Flux's model-building API.

>>> import symflux as sf
>>> f = lambda x: 3*x**2 + 2*x + 1
>>> sf.gradient(f, 2)
(14,)
"""

import types as _types

from . import array_methods  # noqa: F401  (installs the NumPy surface on Array and Tracer)
from . import interp as _interp_module
from . import numpy as _np_api
from . import trace as _trace_module
from .array import Array, Tracer, TracingError
from .compile import BackendUnavailable, Compiled, compile, cuda, export_c, llvm, set_num_threads
from .device import GPUArray
from .draw import draw, plot_history
from .functor import children, f32, f64, fmap, functor, trainable
from .gpu import cpu, gpu
from .grad import grad, gradient, value_and_grad, value_and_gradient
from .graph import Graph, make_graph
from .ir import count_ops
from .nn import *  # noqa: F401,F403  (layers, losses, optimisers, training)
from .nn.functional import conv, conv_transpose, maxpool, meanpool
from .numpy import *  # noqa: F401,F403  (the NumPy-style namespace: sum, exp, matmul, …)
from .numpy import fft, linalg, sigmoid, special
from .ops import ShapeError
from .params import Grads, Params, params
from .printing import as_matrix, latex, symbols
from .transforms import hessian, hvp, jacfwd, jacobian, jacrev, jvp, linearize, vjp, vmap

jit = compile
σ = sigmoid
logσ = _np_api.logsigmoid
hardσ = _np_api.hardsigmoid


def _callable_as(module, function):
    """``module`` (symflux's, reached as ``sf.<name>``) also NumPy's function of that name when called:
    ``sf.trace(a)`` is ``np.trace(a)`` and ``sf.interp(x, xp, fp)`` ``np.interp``, where calling the
    module raised "'module' object is not callable"."""
    module.__class__ = type(f"CallableModule[{function.__name__}]", (_types.ModuleType,),
                            {"__call__": staticmethod(function)})


_callable_as(_trace_module, _np_api.trace)
_callable_as(_interp_module, _np_api.interp)

__version__ = "0.1.0"

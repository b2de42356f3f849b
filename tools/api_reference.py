"""Write docs/api.md from the public API's signatures and docstrings: python tools/api_reference.py"""

import inspect
import pathlib
import re

import symflux as sf

SECTIONS = {
    "Differentiation": ["gradient", "value_and_gradient", "grad", "jacobian", "hessian", "hvp", "params", "Params",
                        "Grads", "functor", "fmap", "f32", "f64", "stop_gradient"],
    "Transformations (JAX's names)": ["value_and_grad", "jvp", "linearize", "vjp", "vmap", "jacfwd", "jacrev"],
    "Arrays and symbols": ["array", "asarray", "zeros", "ones", "full", "eye", "arange", "linspace", "rand", "randn",
                           "seed", "symbols", "Array", "Tracer"],
    "Printing and pictures": ["latex", "as_matrix", "make_graph", "Graph", "draw", "plot_history"],
    "Compiling": ["compile", "Compiled", "export_c", "llvm", "cuda", "BackendUnavailable", "train_step", "TrainStep"],
    "Layers": ["Dense", "Affine", "Chain", "compose", "activations", "Diagonal", "Maxout", "SkipConnection", "Conv",
               "CrossCor", "ConvTranspose", "DepthwiseConv", "SamePad", "MaxPool", "MeanPool", "GlobalMaxPool",
               "GlobalMeanPool", "AdaptiveMaxPool", "AdaptiveMeanPool", "flatten", "Dropout", "BatchNorm",
               "LayerNorm", "RNN", "LSTM", "GRU", "reset", "trainmode", "testmode", "outdims", "conv", "conv_transpose",
               "maxpool", "meanpool", "glorot_uniform", "glorot_normal", "nfan"],
    "Losses": ["mse", "mae", "msle", "huber_loss", "crossentropy", "logitcrossentropy", "binarycrossentropy",
               "logitbinarycrossentropy", "kldivergence", "poisson_loss", "hinge_loss", "squared_hinge_loss",
               "dice_coeff_loss", "tversky_loss"],
    "Optimisers and training": ["Descent", "Momentum", "Nesterov", "RMSProp", "ADAM", "RADAM", "AdaMax", "ADAGrad",
                                "ADADelta", "AMSGrad", "NADAM", "ADAMW", "WeightDecay", "ClipValue", "ClipNorm",
                                "ExpDecay", "InvDecay", "Optimiser", "update", "train", "stop", "throttle"],
    "Data utilities": ["DataLoader", "onehot", "onehotbatch", "onecold", "batch", "batchseq", "unstack", "unsqueeze",
                       "chunk", "frequencies", "epochs"],
    "The 2017 API": ["net", "back"],
    "Array functions": ["sum", "mean", "max", "min", "prod", "var", "std", "nansum", "nanmean", "nanmax", "nanmin",
                        "nanprod", "nanvar", "nanstd", "logsumexp", "softmax", "logsoftmax",
                        "cumsum", "cumprod", "diff", "matmul", "dot", "outer", "inner", "vdot", "tensordot", "einsum",
                        "kron", "cross", "reshape", "transpose", "swapaxes", "moveaxis", "rollaxis", "squeeze",
                        "expand_dims", "broadcast_to", "concatenate", "stack", "hstack", "vstack", "dstack",
                        "column_stack", "append", "split", "array_split", "atleast_1d", "atleast_2d", "atleast_3d",
                        "flip", "fliplr", "flipud", "rot90", "roll", "tile", "repeat", "pad", "diag", "diagonal",
                        "numpy.trace", "tril", "triu", "take", "take_along_axis", "select", "sort", "argsort",
                        "partition", "argmax", "argmin", "at", "where", "clip", "astype",
                        "floor", "ceil", "trunc", "rint", "round", "nan_to_num", "hypot",
                        "logaddexp", "logaddexp2", "sinc", "fmod", "fmax", "fmin", "fabs", "float_power",
                        "heaviside", "logical_xor", "divmod", "deg2rad", "rad2deg", "leakyrelu", "elu", "celu",
                        "trelu", "real", "imag", "conj", "angle",
                        "all", "any", "allclose", "isclose", "count_nonzero", "ptp", "average", "median", "quantile",
                        "percentile", "nanargmax", "nanargmin", "nancumsum", "nancumprod", "cov", "corrcoef",
                        "convolve", "correlate", "trapezoid", "numpy.interp", "polyval", "ediff1d", "vander",
                        "signbit", "copysign", "isposinf", "isneginf", "modf", "full_like", "empty_like", "tri",
                        "logspace", "meshgrid", "broadcast_arrays", "matrix_transpose", "vecdot", "bitwise_and",
                        "bitwise_or", "bitwise_xor", "invert", "left_shift", "right_shift", "gcd", "lcm",
                        "searchsorted", "digitize", "delete", "compress", "extract", "choose", "piecewise",
                        "apply_along_axis", "resize", "indices", "unravel_index", "ravel_multi_index", "polyder",
                        "polyint", "ldexp",
                        "cumulative_sum", "cumulative_prod", "matvec", "vecmat", "block", "diagflat", "insert",
                        "isin", "bincount", "nanmedian", "nanquantile", "nanpercentile", "numpy.gradient", "unwrap",
                        "polyadd", "polysub", "polymul", "polyfit", "copy", "numpy.unstack", "ascontiguousarray",
                        "diag_indices_from", "tril_indices_from", "triu_indices_from", "isreal", "iscomplex",
                        "real_if_close", "isrealobj", "iscomplexobj", "result_type", "geomspace", "numpy.identity",
                        "empty", "poly", "array_equal", "array_equiv", "argpartition", "sort_complex"],
    "Linear algebra (sf.linalg, np.linalg)": [
        "linalg.inv", "linalg.solve", "linalg.det", "linalg.slogdet", "linalg.cholesky", "linalg.eig",
        "linalg.eigvals", "linalg.eigh",
        "linalg.eigvalsh", "linalg.svd", "linalg.svdvals", "linalg.qr", "linalg.pinv", "linalg.lstsq",
        "linalg.matrix_power", "linalg.norm", "linalg.vector_norm", "linalg.matrix_norm", "linalg.cond",
        "linalg.matrix_rank", "linalg.multi_dot", "linalg.tensorinv", "linalg.tensorsolve", "linalg.outer",
        "linalg.cross", "linalg.diagonal", "linalg.trace"],
    "Special functions (sf.special, scipy.special's ufuncs on traced arrays)": [
        "special.erf", "special.erfc", "special.erfinv", "special.gamma", "special.gammaln", "special.digamma",
        "special.polygamma", "special.expit", "special.logit", "special.ndtr", "special.entr", "special.xlogy",
        "special.xlog1py", "special.logsumexp", "special.softmax", "special.log_softmax"],
    "Fourier transforms (sf.fft, np.fft; in the interpreter)": [
        "fft.fft", "fft.ifft", "fft.rfft", "fft.irfft", "fft.fft2", "fft.ifft2", "fft.rfft2", "fft.irfft2", "fft.fftn",
        "fft.ifftn", "fft.rfftn", "fft.irfftn", "fft.fftshift", "fft.ifftshift"],
}

LEFT_OUT = """## The NumPy surface: what is left out, and why

Every function above works on plain values (it is NumPy's), on traced values (a graph), through
`np.<name>` on traced arrays (`__array_function__`), in the interpreter, in `sf.compile` and — except
`sf.linalg`, which compiled code runs through SciPy's LAPACK — in `sf.export_c`. Not (yet) there:

- `lstsq` on traced arrays goes through the pseudo-inverse, not LAPACK's least-squares drivers.
  Derivatives of `qr` need m ≥ n, and `eig`'s eigenvectors have none (they are unique only up to a
  complex factor): both as in JAX. `eig`/`eigvals` of traced arrays are complex even where NumPy
  returns real arrays (every eigenvalue real), as in JAX, and run in the interpreter.
- `sf.linalg` in exported C and CUDA code: the factorisations are calls into SciPy's LAPACK, which
  only `sf.compile` on the CPU links (`codegen/runtime/linalg.c`); `export_c` and the CUDA backend
  refuse them by name. Where NumPy raises `LinAlgError` (a singular matrix, one that is not
  positive definite), compiled code returns NaN, as JAX does.
- Complex numbers in compiled code: the interpreter computes with complex arrays (values as
  NumPy's; `abs`, `angle`, `real`, `imag` real) and differentiates them in JAX's convention
  (holomorphic functions by their complex derivative; a real function's gradient is
  ∂f/∂x − i·∂f/∂y; a real input's is real), to any order. Compiled code and exported C refuse
  complex dtypes with a `TypeError` naming them. So `np.fft`, whose values are complex, runs in the
  interpreter (NumPy's pocketfft), and `sf.compile` of a graph with a transform says so.
- `np.array([...])`/`np.asarray` of lists holding traced values and `np.r_`/`np.c_`: NumPy converts
  the items itself, which a traced value cannot allow; `sf.array([...])`, `sf.r_`, `sf.c_` do it.
- `np.put_along_axis` and other in-place writers: traced arrays are immutable; use
  `x.at[index].set(v)` (JAX's, on traced values) or `sf.at(x)[index].set(v)` / `.add(v)`.
- `sort`/`argsort`/`partition` on traced values compare every pair along the axis (n² work): meant
  for the short axes of models; `cumsum` is an n × n masked sum for the same reason (graph size
  constant, work quadratic). `median`/`quantile`/`percentile` sort, so the same holds; their `q` must
  be constant. `convolve`/`correlate` gather (n + m) × m windows; `interp` needs constant `xp`.
- What decides a result's shape must be constant while tracing, as in JAX: the positions `delete`
  removes and `insert` fills, the conditions of `compress`/`extract`, `digitize`'s bins, a traced
  `bincount`'s `length=` (JAX's keyword). `nonzero`, `argwhere`, `unique`, `histogram`, boolean masks
  that are traced and `real_if_close` of traced complex values (shapes or types that depend on
  values) are not there for traced arrays.
- Integer index arrays may be traced (`x[labels]`, `take`, `take_along_axis` of a function's integer
  arguments, an `argmax`): they gather, and their gradient scatters back. Constant indices out of
  range raise NumPy's `IndexError`; traced ones cannot be checked while tracing and are clamped into
  range instead (negative ones count from the end first), as JAX's gathers do — nothing is read
  outside the array.
- NumPy 2's `np.ascontiguousarray`/`asfortranarray`/`asanyarray` convert before any dispatch, so on
  traced values use `sf.ascontiguousarray` and friends (a traced value's layout is the compiler's).
  `np.gradient` and `np.unstack` are `sf.numpy.gradient`/`sf.numpy.unstack` (`sf.gradient` and
  `sf.unstack` are Flux's). `polyfit` on traced values needs constant `x` and `w` (the fit is linear
  in `y`) and has no `full`/`cov`.
- `quantile` of integers in float64 where NumPy interpolates in the integers' own type (which wraps
  at the extremes); `cov` without `fweights`/`aweights` on traced arrays; `nanargmax`/`nanargmin`
  give 0 for an all-NaN slice where NumPy raises.
- The bit-level ufuncs `bitwise_count`, `frexp`, `nextafter` and `spacing` work on plain arrays
  only (no derivative to take; a traced call names the function).
  Of a ufunc's keywords, traced calls apply `dtype=` (the loop NumPy picks for that output type)
  and `vecdot`'s `axis=`, and refuse `where=`, `axes=`, `signature=` and other castings by name.
- `sf.interp` and `sf.trace` are the reference interpreter and the tracing modules, and, called,
  NumPy's `interp` and `trace` (also `sf.numpy.interp`, `sf.numpy.trace`).
"""


def entry(name) -> str:
    obj = sf
    for part in name.split("."):
        obj = getattr(obj, part)
    try:
        signature = str(inspect.signature(obj))
    except (TypeError, ValueError):
        signature = "(...)"
    signature = re.sub(r"<(?:function|class) ([\w.]+)(?: at 0x[0-9a-f]+)?>", r"\1", signature)
    doc = inspect.getdoc(obj) or ""
    first = doc.split("\n\n")[0].replace("\n", " ")
    return f"- **`sf.{name}{signature}`** — {first}"


def render() -> str:
    lines = ["# API reference", "", "Generated from the docstrings by `python tools/api_reference.py`; "
             "`tests/test_docs.py` checks it is current. Elementwise functions (`sf.exp`, `sf.sin`, "
             "`sf.tanh`, `sf.sigmoid`/`sf.σ`, `sf.relu`, `sf.softplus`, `sf.gelu`, `sf.swish`, …, and "
             "every NumPy ufunc name in `symflux.numpy.ELEMENTWISE`) work on traced and plain arrays.", ""]
    for title, names in SECTIONS.items():
        lines += [f"## {title}", ""] + [entry(n) for n in names] + [""]
    return "\n".join(lines) + "\n" + LEFT_OUT


if __name__ == "__main__":
    path = pathlib.Path(__file__).resolve().parent.parent / "docs" / "api.md"
    path.write_text(render())
    print(f"wrote {path}")

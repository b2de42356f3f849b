"""Write docs/api.md from the public API's signatures and docstrings: python tools/api_reference.py"""

import inspect
import pathlib
import re

import symflux as sf

SECTIONS = {
    "Differentiation": ["gradient", "value_and_gradient", "grad", "jacobian", "hessian", "hvp", "params", "Params",
                        "Grads", "functor", "fmap", "f32", "f64", "stop_gradient"],
    "Arrays and symbols": ["array", "asarray", "zeros", "ones", "full", "eye", "arange", "linspace", "rand", "randn",
                           "seed", "symbols", "Array", "Tracer"],
    "Printing and pictures": ["latex", "as_matrix", "make_graph", "Graph", "draw", "plot_history"],
    "Compiling": ["compile", "Compiled", "export_c", "llvm", "cuda", "BackendUnavailable", "train_step", "TrainStep"],
    "Layers": ["Dense", "Affine", "Chain", "compose", "activations", "Diagonal", "Maxout", "SkipConnection", "Conv",
               "CrossCor", "ConvTranspose", "DepthwiseConv", "SamePad", "MaxPool", "MeanPool", "GlobalMaxPool",
               "GlobalMeanPool", "AdaptiveMaxPool", "AdaptiveMeanPool", "flatten", "Dropout", "BatchNorm",
               "LayerNorm", "RNN", "LSTM", "reset", "trainmode", "testmode", "outdims", "conv", "conv_transpose",
               "maxpool", "meanpool", "glorot_uniform", "glorot_normal", "nfan"],
    "Losses": ["mse", "mae", "msle", "huber_loss", "crossentropy", "logitcrossentropy", "binarycrossentropy",
               "logitbinarycrossentropy", "kldivergence", "poisson_loss", "hinge_loss", "squared_hinge_loss",
               "dice_coeff_loss", "tversky_loss"],
    "Optimisers and training": ["Descent", "Momentum", "Nesterov", "RMSProp", "ADAM", "RADAM", "AdaMax", "ADAGrad",
                                "ADADelta", "AMSGrad", "NADAM", "ADAMW", "WeightDecay", "ClipValue", "ClipNorm",
                                "ExpDecay", "InvDecay", "Optimiser", "update", "train", "stop", "throttle"],
    "The 2017 API": ["net", "back"],
    "Array functions": ["sum", "mean", "max", "min", "prod", "var", "std", "logsumexp", "softmax", "logsoftmax",
                        "matmul", "dot", "outer", "inner", "tensordot", "einsum", "reshape", "transpose", "swapaxes",
                        "moveaxis", "squeeze", "expand_dims", "broadcast_to", "concatenate", "stack", "flip",
                        "where", "clip", "astype", "leakyrelu", "elu", "celu", "trelu"],
}


def entry(name) -> str:
    obj = getattr(sf, name)
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
    return "\n".join(lines)


if __name__ == "__main__":
    path = pathlib.Path(__file__).resolve().parent.parent / "docs" / "api.md"
    path.write_text(render())
    print(f"wrote {path}")

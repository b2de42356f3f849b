"""``sf.save(path, model, opt=None)`` / ``sf.load(path)``: a portable file that loads without running
code — a NumPy ``.npz`` of every array (parameters, layer state, optimiser state) plus a JSON
description of the structure. Only symflux's own layer and optimiser classes and functions of the
``sf`` namespace can appear in it, so loading builds nothing else (unlike pickle)."""

from __future__ import annotations

import json

import numpy as np

from .. import numpy as F
from ..array import Array
from ..params import params
from . import layers
from .layers import Layer
from .optimise import Rule

FORMAT = "symflux-save-1"


def _classes(base) -> dict:
    found, todo = {}, [base]
    while todo:
        cls = todo.pop()
        if cls.__module__.startswith("symflux."):
            found[cls.__name__] = cls
        todo.extend(cls.__subclasses__())
    return found


# The functions a saved model may name: the array namespace's (activations, softmax, …) and the layers'.
FUNCTIONS = {name: f for module in (F, layers) for name, f in vars(module).items()
             if callable(f) and not isinstance(f, type) and not name.startswith("_")}


def _functions() -> dict:
    """id → name of the functions a file may name."""
    return {id(f): name for name, f in FUNCTIONS.items()}


class _Encoder:
    def __init__(self):
        self.arrays, self.seen, self.names = {}, {}, _functions()

    def array(self, a) -> dict:
        if id(a) not in self.seen:  # shared arrays (tied weights) stay shared
            self.seen[id(a)] = f"a{len(self.arrays)}"
            self.arrays[self.seen[id(a)]] = np.asarray(a)
        return {"array": self.seen[id(a)]}

    def value(self, x, where: str):
        if isinstance(x, np.ndarray):
            return self.array(x)
        if x is None or isinstance(x, (bool, int, float, str)):
            return x
        if isinstance(x, np.generic):
            return x.item()
        if isinstance(x, np.dtype):
            return {"dtype": x.str}
        if isinstance(x, (tuple, list)):
            return {type(x).__name__: [self.value(v, f"{where}[{i}]") for i, v in enumerate(x)]}
        if isinstance(x, (Layer, Rule)):
            kind = "layer" if isinstance(x, Layer) else "rule"
            fields = {k: self.value(v, f"{where}.{k}") for k, v in vars(x).items() if k != "state" or kind == "layer"}
            return {kind: type(x).__name__, "fields": fields}
        if callable(x) and id(x) in self.names:
            return {"function": self.names[id(x)]}
        raise TypeError(f"sf.save: {where} is a {type(x).__name__} ({x!r}), which a saved file cannot describe: only "
                        "symflux layers, arrays, numbers and sf.* functions can be saved (use pickle for the rest)")


def save(path, model, opt=None) -> None:
    """Write ``model`` (and the optimiser ``opt`` with its per-parameter state) to ``path`` (.npz)."""
    enc = _Encoder()
    description = {"format": FORMAT, "model": enc.value(model, "model")}
    if opt is not None:
        order = {id(p): i for i, p in enumerate(params(model))}
        description["opt"] = enc.value(opt, "opt")
        description["opt_state"] = _rule_states(opt, order, enc)
    np.savez(path, __structure__=np.array(json.dumps(description)), **enc.arrays)


def _rule_states(rule, order, enc) -> list:
    """[[parameter index, [arrays]], …] for a rule and each rule chained inside it."""
    own = [[order[key], [enc.array(a) for a in arrays]] for key, (_, arrays) in rule.state.items() if key in order]
    return [own] + [s for r in getattr(rule, "opts", ()) for s in _rule_states(r, order, enc)]


class _Decoder:
    def __init__(self, arrays):
        self.arrays, self.layers, self.rules = arrays, _classes(Layer), _classes(Rule)
        self.made = {}

    def value(self, x):
        if not isinstance(x, dict):
            return x
        if "array" in x:
            key = x["array"]
            if key not in self.made:
                self.made[key] = np.array(self.arrays[key]).view(Array)
            return self.made[key]
        if "dtype" in x:
            return np.dtype(x["dtype"])
        if "tuple" in x or "list" in x:
            items = [self.value(v) for v in x.get("tuple", x.get("list"))]
            return tuple(items) if "tuple" in x else items
        if "function" in x:
            if x["function"] not in FUNCTIONS:
                raise ValueError(f"sf.load: unknown function {x['function']!r} in the file")
            return FUNCTIONS[x["function"]]
        table, name = (self.layers, x["layer"]) if "layer" in x else (self.rules, x["rule"])
        if name not in table:
            raise ValueError(f"sf.load: unknown class {name!r} in the file")
        obj = object.__new__(table[name])
        for key, value in x["fields"].items():
            object.__setattr__(obj, key, self.value(value))
        if "rule" in x:
            obj.state = {}
        return obj


def load(path):
    """The model saved at ``path``, or (model, opt) when an optimiser was saved with it."""
    with np.load(path, allow_pickle=False) as data:
        description = json.loads(str(data["__structure__"]))
        if description.get("format") != FORMAT:
            raise ValueError(f"sf.load: {path} is not a symflux save file")
        dec = _Decoder({k: data[k] for k in data.files if k != "__structure__"})
        model = dec.value(description["model"])
        if "opt" not in description:
            return model
        opt = dec.value(description["opt"])
    ps = list(params(model))
    for rule, entries in zip(_rules(opt), description["opt_state"]):
        rule.state = {id(ps[i]): (ps[i], [dec.value(a) for a in arrays]) for i, arrays in entries}
    return model, opt


def _rules(rule) -> list:
    return [rule] + [r for o in getattr(rule, "opts", ()) for r in _rules(o)]

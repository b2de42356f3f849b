"""Training: ``update`` (Flux's update!), ``train_step`` (one traced loss + gradient + update), ``train``.

``train_step`` traces the loss and its gradient once per input signature (shapes and dtypes of the
batch and parameters) and re-evaluates that graph on every call, so a step costs evaluation, not
tracing. Like ``jax.jit``, it assumes the loss is a pure function of the parameters and the batch.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from .. import backends, pytree, trace
from .. import numpy as F
from ..array import Tracer, copied
from ..compile import Executable
from ..compiling import compiling, stage
from ..device import GPUArray
from ..gpu import gpu
from ..grad import _differentiate, _scalar_output
from ..ir import new_input
from ..params import Grads, Params, params
from ..simplify import fuse
from ..tracing import Trace
from . import legacy
from .optimise import OPTIMISERS, Rule


def update(*args):
    """update(opt, ps, gs) / update(opt, x, x̄): x ← x − apply(opt, x, x̄), skipping None gradients;
    update(x, x̄): x ← x − x̄; update(model, η): the 2017 form (apply and clear accumulated gradients)."""
    first = args[0]
    if isinstance(first, OPTIMISERS):
        opt, target, grads = args
        if isinstance(target, np.ndarray):
            target -= opt.apply(target, grads)
            return target
        pairs = [(p, g) for p, g in _parameter_gradients(target, grads) if g is not None]
        _, reduced = opt.reduce(0.0, [g for _, g in pairs])
        for (p, _), g in zip(pairs, reduced):
            p -= opt.apply(p, g)
        return target
    if isinstance(first, np.ndarray) and len(args) == 2 and isinstance(args[1], np.ndarray):
        first -= args[1]
        return first
    return legacy.update_model(*args)


def _parameter_gradients(target, grads):
    """(parameter, gradient) pairs: from ``Grads`` by parameter, or from a gradient shaped like the
    model (``gradient(lambda m: …, model)``) by position."""
    if isinstance(grads, Grads):
        return [(p, grads[p]) for p in (target if isinstance(target, Params) else params(target))]
    leaves, treedef = pytree.flatten(target)
    return [(p, g) for p, g in zip(leaves, pytree.flatten_like(treedef, grads)) if isinstance(p, np.ndarray)]


class _Plan:
    """A traced training step for one input signature. When the optimiser's rule is elementwise
    and stateless, the update is part of the graph: the step donates the parameters and the
    optimiser state to their new values, which are written over them. Otherwise the gradients are
    outputs and the update runs in NumPy."""

    def __init__(self, loss, ps, batch, opt, aliases, backend):
        stage("tracing")
        batch_inputs = [new_input(*_shape_dtype(b), f"batch{i}") for i, b in enumerate(batch)]
        # a parameter passed as data is that parameter, as in Flux: train!(loss, params(r), (r,), opt)
        t = Trace(lambda: loss(*[trace.tracked(ps[a]) if a is not None else Tracer(n)
                                 for n, a in zip(batch_inputs, aliases)]),
                  params=ps, read_as_inputs=True, differentiating=True)
        leaves, out = t.param_leaves, t.out
        node = _scalar_output(out, "train_step")
        stage("differentiating")
        node, grads = _differentiate(node, [lf.node for lf in leaves]) if node is not None else \
            (trace.operand_node(out), [None] * len(leaves))
        # Arrays the loss reads besides the parameters (layer state such as BatchNorm's running
        # statistics, captured data) are inputs bound at every call, never constants of the trace.
        param_inputs = [lf.node for lf in leaves] + t.array_inputs
        self.read_arrays = t.arrays
        self.has_grad = [g is not None for g in grads]
        updates = trace.last_assignments(t.updates)
        self.state_sources = trace.state_sources(updates, t.arrays, ps)
        # what assign_state needs of each layer-state assignment: the object, the attribute, its parts
        self.updates = [(obj, attr, tuple(None for _ in value) if isinstance(value, tuple) else None, None)
                        for obj, attr, value, _ in updates]
        # state arrays are new objects after every step: passed per call, never bound once
        self.per_call = sorted({len(ps) + k for k, *_ in self.state_sources if isinstance(k, int)})
        state = [trace.operand_node(v) for _, _, value, _ in updates for _, v in trace.state_parts(value)]
        rule = self._traced_rule(leaves, grads, ps, opt)
        self.in_graph_update = rule is not None
        self.state_arrays, state_inputs, replacing, donate = [], [], [], []
        self.first_state = len(param_inputs) + len(batch_inputs)
        if self.in_graph_update:
            new_params, state_pairs, new_states = rule
            self.state_arrays = [a for _, a in state_pairs]
            state_inputs = [n for n, _ in state_pairs]
            updated = [k for k, p in enumerate(new_params) if p is not None]
            # the new values first, in the order of the arrays they replace: each is written over its own
            replacing = [new_params[k] for k in updated] + new_states
            donate = updated + list(range(self.first_state, self.first_state + len(new_states)))
            results = [node]
        else:
            results = [node, *[g for g in grads if g is not None]]
        self.first, self.n_grads = len(replacing), len(results) - 1
        outputs = fuse([*replacing, *results, *state])
        self.exe = backends.executable(backend, "train_step")(param_inputs + batch_inputs + state_inputs, outputs,
                                                              donate)
        assert self.exe.in_place == dict(enumerate(donate)), "each new value goes over its own array"
        self.bound = self.fast = None

    def __getstate__(self):
        """No graph and no callers: the executable (object code) and what binds its arrays."""
        return {k: v for k, v in vars(self).items() if k not in ("bound", "fast")} | {"bound": None, "fast": None}

    @property
    def portable(self) -> bool:
        return isinstance(self.exe, Executable)

    @staticmethod
    def _traced_rule(leaves, grads, ps, opt):
        """The optimiser step as graph nodes: (new parameters, [(state input, state array)], new
        states), written in place by the compiled step; None when the rule cannot be traced."""
        if not opt.traceable or not all(isinstance(p, GPUArray) or p.flags.c_contiguous for p in ps):
            return None
        new_params, state_inputs, new_states = [], [], []
        for leaf, g, p in zip(leaves, grads, ps):
            if g is None:
                new_params.append(None)
                continue
            arrays = opt.state_for(p)
            nodes = [new_input(a.shape, a.dtype, "opt_state") for a in arrays]
            state_inputs += list(zip(nodes, arrays))
            x = Tracer(leaf.node)
            delta, updated = opt.update(x, Tracer(g), [Tracer(n) for n in nodes])
            new_params.append(F.astype(F.subtract(x, delta), leaf.node.dtype).node)
            new_states += [F.astype(u, a.dtype).node if isinstance(u, Tracer) else trace.operand_node(u)
                           for u, a in zip(updated, arrays)]
        return new_params, state_inputs, new_states

    def bound_arrays(self, ps):
        """The parameters and the arrays the loss reads, layer state as it is now; None when the
        plan no longer fits that state (``trace.current_arrays``)."""
        arrays = trace.current_arrays(self.read_arrays, self.state_sources)
        return None if arrays is None else [*ps, *arrays]

    def run(self, ps, batch) -> list:
        """The loss, the gradients (when the update is not in the graph), then the new layer state."""
        ps = self.bound_arrays(ps)
        if self.bound is None:
            on_gpu = any(isinstance(p, GPUArray) for p in ps)  # then the optimiser state lives there too
            fixed = {k: a for k, a in enumerate(ps) if k not in self.per_call}
            fixed |= {self.first_state + j: gpu(a) if on_gpu else a for j, a in enumerate(self.state_arrays)}
            bound = self.exe.bound(fixed)
            self.bound = lambda ps, batch: bound([*[ps[k] for k in self.per_call], *batch])
            if self.in_graph_update and not self.updates:  # the step's only result is the loss
                self.fast = bound.fast(self.first)
        return self.bound(ps, batch)[self.first:]


class TrainStep:
    """step = train_step(loss, ps, opt); step(*batch) updates ``ps`` in place and returns the loss.
    ``backend="llvm"`` (default) runs the traced step as native code, ``"cuda"`` as GPU kernels (with
    parameters from ``sf.gpu(model)`` they, and the optimiser state, stay on the GPU), ``None``
    through the interpreter. A step is not re-entrant: it updates shared parameters."""

    def __init__(self, loss, ps, opt, backend="llvm"):
        backends.executable(backend, "train_step").prepare()  # an unknown name fails here
        self.loss, self.params, self.opt, self.backend = loss, params(ps), opt, backend
        self._plans: dict = {}
        self._fast = None  # the last plan's C-level caller: step(*batch) with no Python in between
        self._param_signature = tuple((p.shape, p.dtype.str) for p in self.params)

    def _signature(self, batch):
        return tuple(_shape_dtype(b) for b in batch) + self._param_signature

    def __call__(self, *batch):
        if self._fast is not None:
            loss = self._fast(*batch)
            if loss is not NotImplemented:
                return loss
        aliases = tuple(next((k for k, p in enumerate(self.params) if b is p), None) for b in batch)
        batch = [np.array(b) if _shares_memory(b, self.params) else b for b in batch]  # never read what is written
        key = self._signature(batch) + aliases
        plan = self._plans.get(key)
        if plan is None or plan.state_sources and plan.bound_arrays(self.params) is None:
            with compiling("train_step"):
                plan = self._plans[key] = _Plan(self.loss, self.params, batch, self.opt, aliases, self.backend)
        values = plan.run(self.params, batch)
        self._fast = plan.fast
        loss = values[0]
        if not plan.in_graph_update:
            if any(isinstance(p, GPUArray) for p in self.params):
                raise TypeError(f"train_step: {self.opt!r} cannot update parameters on the GPU (its rule is not "
                                "traceable into the compiled step); train on the CPU or use a traceable optimiser")
            # the gradients as every process sees them (averaged over ranks by a DistributedOptimizer)
            loss, grads = self.opt.reduce(loss, [np.array(g) for g in values[1:1 + plan.n_grads]])
            grads = iter(grads)
            for p, has in zip(self.params, plan.has_grad):
                if has:
                    p -= self.opt.apply(p, next(grads))
        trace.assign_state(plan.updates, values[1 + plan.n_grads:], copied)
        return np.asarray(loss)[()]

    def __repr__(self):
        return f"train_step(<{len(self.params)} parameters>, {self.opt!r})"

    def __reduce__(self):
        """Pickles as its loss, parameters, optimiser (with its state) and backend, with the object code
        of the steps it has compiled for the CPU: the other process goes on without tracing again."""
        plans = {key: plan for key, plan in self._plans.items() if plan.portable}
        return _restored_step, (self.loss, self.params, self.opt, self.backend, plans)


def _restored_step(loss, ps, opt, backend, plans) -> TrainStep:
    step = TrainStep(loss, ps, opt, backend)
    step._plans.update(plans)
    return step


def train_step(loss: Callable[..., Any], ps: Any, opt: Rule, backend: str | None = "llvm") -> TrainStep:
    """train_step(loss, ps, opt, backend="llvm"): a callable ``step(*batch)`` doing loss + gradient +
    update in place, traced once per input signature and compiled (``"cuda"``: GPU kernels;
    ``"interpreter"`` or ``None``: the reference interpreter). The parameters and the optimiser state
    are donated to their new values, as ``sf.compile(…, donate_argnums=…)`` donates arguments."""
    return TrainStep(loss, ps, opt, backend)


def _shares_memory(b, ps) -> bool:
    return isinstance(b, np.ndarray) and any(isinstance(p, np.ndarray) and np.may_share_memory(b, p) for p in ps)


def _shape_dtype(b):
    if isinstance(b, (np.ndarray, GPUArray)):
        return b.shape, b.dtype
    return np.shape(b), np.asarray(b).dtype


class StopTraining(Exception):
    """Raised by ``stop()`` inside a callback to end ``train`` early."""


def stop():
    """Call from a callback to stop ``train`` (Flux.stop())."""
    raise StopTraining()


class SkipStep(Exception):
    """Raised by ``skip()`` to go on with ``train``'s next batch."""


def skip():
    """Call from a callback (or an eagerly run loss) to go on with the next batch (Flux.skip())."""
    raise SkipStep()


def throttle(f, timeout: float, leading: bool = True, trailing: bool = False):
    """Flux's ``throttle``: a version of ``f`` that runs at most once every ``timeout`` seconds —
    at the first call of a window (``leading``), and/or once at its end with the latest arguments
    (``trailing``, from a timer thread)."""
    state = {"last": -float("inf"), "pending": None, "timer": None}
    lock = threading.Lock()

    def fire():
        with lock:
            pending, state["pending"], state["timer"] = state["pending"], None, None
            state["last"] = time.monotonic()
        if pending is not None:
            f(*pending[0], **pending[1])

    def throttled(*args, **kwargs):
        with lock:
            now = time.monotonic()
            if now - state["last"] >= timeout and state["timer"] is None:
                state["last"] = now
                run_now = leading
                if not leading and trailing:
                    state["pending"] = (args, kwargs)
            else:
                run_now = False
                if trailing:
                    state["pending"] = (args, kwargs)
            if trailing and state["pending"] is not None and state["timer"] is None:
                state["timer"] = threading.Timer(max(0.0, state["last"] + timeout - now), fire)
                state["timer"].daemon = True
                state["timer"].start()
        return f(*args, **kwargs) if run_now else None
    return throttled


def _progress(total, enabled):
    """A tqdm progress bar (terminals and notebooks alike): the compile phase, then steps with their
    rate and the loss; by default it appears only once a run has taken more than a second."""
    return tqdm(total=total, desc="compiling", unit="step", disable=enabled is False,
                delay=0.0 if enabled else 1.0, leave=True, dynamic_ncols=True)


_steps: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _cached_step(loss, ps, opt, backend="llvm") -> TrainStep:
    """The training step for (loss, parameters, optimiser), kept while ``loss`` lives: calling
    ``train`` once per epoch (the Flux idiom) reuses the traced and compiled step."""
    ps = params(ps)
    key = (tuple(id(p) for p in ps), id(opt), backend)
    try:
        steps = _steps.setdefault(loss, {})
    except TypeError:  # a loss that cannot be weakly referenced: no reuse
        return train_step(loss, ps, opt, backend)
    if key not in steps:
        steps[key] = train_step(loss, ps, opt, backend)
    return steps[key]


def train(loss: Callable[..., Any], ps: Any, data: Iterable, opt: Rule, epochs: int = 1,
          cb: Callable[[], Any] | Sequence[Callable[[], Any]] | None = None,
          progress: bool | None = None, backend: str | None = "llvm") -> list[float]:
    """train(loss, ps, data, opt; epochs=1, cb=None, progress=None, backend="llvm") — for each batch d
    in data (a list, a ``DataLoader``, …), take the gradient of loss(*d) (a non-tuple d is passed as
    one argument) and update ``ps`` with ``opt``; then call ``cb`` (a function or list of them;
    ``stop()`` ends training, ``skip()`` goes on with the next batch). The step is traced and compiled
    once per loss and signature (``backend`` as in ``train_step``; None: the interpreter). Shows a
    progress bar on long runs (``progress=True/False`` forces it). Returns the loss history."""
    step = _cached_step(loss, ps, opt, backend)
    callbacks = cb if isinstance(cb, (list, tuple)) else [cb] if cb else []
    total = len(data) * epochs if hasattr(data, "__len__") else None
    display, history = _progress(total, progress), []
    try:
        for _ in range(epochs):
            for d in data:
                try:
                    history.append(float(step(*(d if isinstance(d, tuple) else (d,)))))
                    display.set_description("training", refresh=False)
                    display.set_postfix(loss=f"{history[-1]:.6g}", refresh=False)
                    display.update(1)
                    for f in callbacks:
                        f()
                except SkipStep:
                    continue
    except StopTraining:
        pass
    finally:
        display.close()
    return history

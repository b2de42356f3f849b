"""Data-parallel training over MPI (the Horovod pattern), with mpi4py: every rank holds the whole
model, trains on its own shard of each batch, and the ranks average their gradients with one fused
allreduce per step, so they stay identical.

    from symflux import distributed as dist
    dist.broadcast_parameters(ps)                   # every rank starts from rank 0's parameters
    opt = dist.DistributedOptimizer(sf.ADAM(1e-3))
    step = sf.train_step(loss, ps, opt)             # gradient (compiled), allreduce, update
    for x, y in batches:
        step(*dist.shard((x, y)))

Run with ``mpirun -n 4 python train.py``. Install: ``pip install "symflux[distributed]"`` (mpi4py and
the MPICH runtime from PyPI), or mpi4py built against your cluster's MPI.
"""

from __future__ import annotations

import numpy as np

from .nn.optimise import Rule
from .params import params

try:
    from mpi4py import MPI
except ImportError:  # mpi4py is optional
    MPI = None


def _world():
    if MPI is None:
        raise ImportError("symflux.distributed needs mpi4py: pip install \"symflux[distributed]\"")
    return MPI.COMM_WORLD


def rank() -> int:
    """This process's rank (0 … size() − 1)."""
    return _world().Get_rank()


def size() -> int:
    """The number of ranks."""
    return _world().Get_size()


def broadcast_parameters(ps, root: int = 0) -> None:
    """Give every rank ``root``'s values of the parameters ``ps`` (a model or ``Params``), in place."""
    comm = _world()
    for p in params(ps):
        buffer = p if p.flags.c_contiguous else np.ascontiguousarray(p)
        comm.Bcast(buffer, root=root)
        if buffer is not p:
            p[...] = buffer


def shard(data, rank_: int | None = None, size_: int | None = None):
    """This rank's part of ``data``: of an array, a contiguous block of its rows (``np.array_split``);
    of a tuple or list of arrays, the same rows of each (a batch and its labels together)."""
    r = rank() if rank_ is None else rank_
    n = size() if size_ is None else size_
    if isinstance(data, (tuple, list)):
        return type(data)(shard(d, r, n) for d in data)
    return np.array_split(np.asarray(data), n)[r]


class DistributedOptimizer(Rule):
    """``opt`` applied to gradients averaged over all ranks: before each step every rank's gradients
    (and its loss) go through one allreduce of a single flat buffer. With ``sf.train_step`` the
    compiled step computes the gradients, the ranks reduce them, and the update follows."""

    traceable = False  # the allreduce sits between the compiled gradient and the update

    def __init__(self, opt: Rule):
        super().__init__()
        self.opt = opt

    def apply(self, x, Δ):
        return self.opt.apply(x, Δ)

    def reduce(self, loss, grads: list) -> tuple:
        """(mean loss, mean gradients) over the ranks: one allreduce of everything."""
        comm = _world()
        dtype = np.result_type(np.float32, *[np.asarray(g).dtype for g in grads])  # the gradients' precision
        flat = np.concatenate([np.ravel(g) for g in grads] + [[loss]]).astype(dtype, copy=False)
        comm.Allreduce(MPI.IN_PLACE, flat, op=MPI.SUM)
        flat /= comm.Get_size()
        out, at = [], 0
        for g in grads:
            g = np.asarray(g)
            out.append(flat[at:at + g.size].reshape(g.shape).astype(g.dtype))
            at += g.size
        return flat[-1], out

    def __repr__(self):
        return f"DistributedOptimizer({self.opt!r})"

"""CUDA C generated for every op, every gradient and whole models compiles with nvcc to PTX for
sm_90 (no GPU needed). One .cu file holds all programs, so nvcc runs once."""

import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "symflux"))
from test_compile import with_gradient  # noqa: E402
from test_vjp_rules import BINARY, CONTRACTIONS, MOVEMENT, REDUCTIONS, UNARY  # noqa: E402

import symflux as sf  # noqa: E402
from codegen import CUDARenderer  # noqa: E402
from symflux.compile import Traced  # noqa: E402
from symflux.lower import lower  # noqa: E402

CUDA_NVCC = pathlib.Path("/usr/local/cuda/bin/nvcc")
NVCC = shutil.which("nvcc") or (str(CUDA_NVCC) if CUDA_NVCC.exists() else None)
rng = np.random.default_rng(0)


def cuda_source(f, *args, name):
    traced = Traced(f, args)
    lowered = lower(traced.arg_inputs + traced.array_inputs, traced.outputs, target="gpu")
    lowered.program.name = name
    return CUDARenderer().render(lowered.program).source


def programs():
    cases = [(f"unary_{n}", with_gradient(UNARY[n][0], 1), (UNARY[n][2]((3, 4)),)) for n in sorted(UNARY)]
    cases += [(f"binary_{n}", with_gradient(op, 2), (sa((2, 3)), sb((3,)))) for n, (op, _, sa, sb) in BINARY.items()]
    cases += [(f"reduce_{k}", with_gradient(op, 1), (rng.standard_normal((2, 3, 4)),))
              for k, (_, op, _) in enumerate(REDUCTIONS)]
    cases += [(f"contract_{k}", with_gradient(op, 2), (rng.standard_normal(sa), rng.standard_normal(sb)))
              for k, (_, op, sa, sb, _) in enumerate(CONTRACTIONS)]
    cases += [(f"move_{k}", with_gradient(op, 1), (rng.standard_normal((2, 3, 4)),))
              for k, (_, op, _) in enumerate(MOVEMENT)]
    cnn = sf.Chain(sf.Conv((3, 3), (1, 4), sf.relu, pad=1), sf.MaxPool((2, 2)), sf.flatten, sf.Dense(36, 10),
                   sf.softmax)
    x = np.zeros((2, 1, 6, 6), np.float32)
    cases.append(("cnn_forward", cnn, (x,)))
    for width in (1000, 5000):  # one kernel of phases per row: a warp, then a block per row
        cases.append((f"softmax_{width}", with_gradient(lambda a: sf.softmax(a, axis=1), 1),
                      (rng.standard_normal((4, width)).astype(np.float32),)))
    cases.append(("cnn_gradient", lambda a: sf.gradient(lambda: sf.sum(cnn(a)), sf.params(cnn)).values(), (x,)))
    return cases


@pytest.mark.skipif(NVCC is None, reason="nvcc is not installed")
def test_generated_cuda_compiles_to_ptx_for_sm90(tmp_path):
    sources = []
    for k, (name, f, args) in enumerate(programs()):
        source = cuda_source(f, *args, name=f"p{k}_{name}")
        sources.append(source if k == 0 else source[source.index('extern "C"'):])
    unit = tmp_path / "all.cu"
    unit.write_text("\n".join(sources))
    result = subprocess.run([NVCC, "-arch=sm_90", "-ptx", str(unit), "-o", str(tmp_path / "all.ptx")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[:3000]
    ptx = (tmp_path / "all.ptx").read_text()
    assert ptx.count(".entry") >= len(sources)

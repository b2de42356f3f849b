"""GPU: elementwise bandwidth, 4096³ float32 matmul and the MLP 784-256-10 training step (batch
256 and 4096), symflux's CUDA backend beside PyTorch CUDA when it is installed.
Needs a GPU and pycuda (`pip install ".[cuda]"`). Run: python benchmarks/gpu.py"""

import statistics
import time

import numpy as np
from common import fmt, table, write_result

import symflux as sf
from codegen.runtime.cuda import default_cuda_runtime

LR = 0.01


def timed(fn, sync, repeat=7, number=10):
    """Median seconds per call, the device synchronised around each batch of calls."""
    fn()
    sync()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        sync()
        times.append((time.perf_counter() - t0) / number)
    return statistics.median(times)


def torch_cuda():
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    torch.backends.cuda.matmul.allow_tf32 = False  # like for like: full float32
    return torch


def peak_bandwidth(driver) -> float:
    """Bytes per second from the memory clock and bus width (DDR: two transfers per clock)."""
    attr = driver.cuda.device_attribute
    clock_khz = driver.device.get_attribute(attr.MEMORY_CLOCK_RATE)
    bus_bits = driver.device.get_attribute(attr.GLOBAL_MEMORY_BUS_WIDTH)
    return 2 * clock_khz * 1e3 * bus_bits / 8


def elementwise(driver, torch):
    n = 1 << 26
    x = sf.gpu(np.random.default_rng(0).random(n, dtype=np.float32))
    f = sf.compile(lambda x: x * 2 + 1, backend="cuda")
    ours = timed(lambda: f(x), driver.synchronize)
    rows = [["symflux", fmt(ours), f"{2 * x.nbytes / ours / 1e9:.0f} GB/s",
             f"{2 * x.nbytes / ours / peak_bandwidth(driver):.0%}"]]
    if torch:
        t = torch.rand(n, device="cuda")
        theirs = timed(lambda: t * 2 + 1, torch.cuda.synchronize)
        rows.append(["PyTorch", fmt(theirs), f"{2 * x.nbytes / theirs / 1e9:.0f} GB/s",
                     f"{2 * x.nbytes / theirs / peak_bandwidth(driver):.0%}"])
    return table(["x*2+1, 2²⁶ float32", "time", "bandwidth", "of peak"], rows)


def matmul(driver, torch):
    n = 4096
    rng = np.random.default_rng(0)
    a, b = (sf.gpu(rng.standard_normal((n, n)).astype(np.float32)) for _ in range(2))
    f = sf.compile(lambda a, b: a @ b, backend="cuda")
    ours = timed(lambda: f(a, b), driver.synchronize, number=3)
    rows = [["symflux", fmt(ours), f"{2 * n ** 3 / ours / 1e12:.1f} TFLOP/s"]]
    if torch:
        ta, tb = (torch.randn(n, n, device="cuda") for _ in range(2))
        theirs = timed(lambda: ta @ tb, torch.cuda.synchronize, number=3)
        rows.append(["PyTorch (cuBLAS)", fmt(theirs), f"{2 * n ** 3 / theirs / 1e12:.1f} TFLOP/s"])
        rows.append(["symflux / cuBLAS throughput", f"{theirs / ours:.0%}", ""])
    return table(["4096³ float32 matmul", "time", "throughput"], rows)


def mlp(driver, torch, batch):
    rng = np.random.default_rng(0)
    model = sf.gpu(sf.Chain(sf.Dense(784, 256, sf.tanh), sf.Dense(256, 10)))
    step = sf.train_step(lambda x, y: sf.logitcrossentropy(model(x), y), sf.params(model), sf.Descent(LR),
                         backend="cuda")
    x = sf.gpu(rng.random((batch, 784), dtype=np.float32))
    y = sf.gpu(np.eye(10, dtype=np.float32)[rng.integers(0, 10, batch)])
    ours = timed(lambda: step(x, y), driver.synchronize)
    row = [str(batch), fmt(ours)]
    if torch:
        net = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.Tanh(), torch.nn.Linear(256, 10)).cuda()
        opt = torch.optim.SGD(net.parameters(), lr=LR)
        tx = torch.rand(batch, 784, device="cuda")
        ty = torch.randint(0, 10, (batch,), device="cuda")

        def torch_step():
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(tx), ty)
            loss.backward()
            opt.step()
            return loss.item()  # symflux's step returns the loss as a number too
        theirs = timed(torch_step, torch.cuda.synchronize)
        row += [fmt(theirs), f"{ours / theirs:.2f}×"]
    return row


def main():
    driver = default_cuda_runtime().driver
    torch = torch_cuda()
    print(f"device: {driver.name}; PyTorch CUDA: {'yes' if torch else 'not installed'}")
    sections = [elementwise(driver, torch), matmul(driver, torch),
                table(["MLP step, batch", "symflux", "PyTorch", "ratio"], [mlp(driver, torch, b) for b in (256, 4096)])]
    print(write_result("gpu", "\n\n".join(sections)))


if __name__ == "__main__":
    main()

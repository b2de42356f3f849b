"""Train an MLP and a small CNN on scikit-learn's 8×8 handwritten digits; report test accuracy and
save the loss curves. Needs the ``examples`` extra: ``pip install ".[examples]"``.

Run: python examples/train_digits.py [--epochs N] [--plot PATH]
"""

import argparse
import time

import numpy as np

import symflux as sf
from symflux import Chain, Conv, Dense, MaxPool, params


def load_digits(seed=0):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None]  # (N, 1, 8, 8), NCHW
    y = np.eye(10, dtype=np.float32)[digits.target]
    return train_test_split(x, y, test_size=0.25, random_state=seed, stratify=digits.target)


def batches(x, y, size, rng):
    order = rng.permutation(len(x))
    return [(x[order[i:i + size]], y[order[i:i + size]]) for i in range(0, len(x), size)]


def accuracy(model, x, y):
    return float(np.mean(np.argmax(model(x), axis=1) == np.argmax(y, axis=1)))


def fit(name, model, data, epochs, lr, seed=0):
    x_train, x_test, y_train, y_test = data
    loss = lambda x, y: sf.logitcrossentropy(model(x), y)
    opt = sf.ADAM(lr)
    step = sf.train_step(loss, params(model), opt)
    rng = np.random.default_rng(seed)
    curve, start = [], time.perf_counter()
    for _ in range(epochs):
        losses = [float(step(xb, yb)) for xb, yb in batches(x_train, y_train, 32, rng)]
        curve.append(float(np.mean(losses)))
    seconds = time.perf_counter() - start
    acc = accuracy(model, x_test, y_test)
    print(f"{name}: test accuracy {acc:.2%} after {epochs} epochs, {seconds:.1f} s "
          f"({seconds / epochs * 1e3:.0f} ms per epoch), final training loss {curve[-1]:.4f}")
    return acc, curve, seconds


def mlp():
    return Chain(sf.flatten, Dense(64, 128, sf.relu), Dense(128, 10))


def cnn():
    return Chain(Conv((3, 3), (1, 16), sf.relu, pad=1), MaxPool((2, 2)),
                 Conv((3, 3), (16, 32), sf.relu, pad=1), MaxPool((2, 2)),
                 sf.flatten, Dense(128, 10))


def plot(curves, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, curve in curves.items():
        ax.plot(range(1, len(curve) + 1), curve, label=name)
    ax.set(xlabel="epoch", ylabel="training loss (logit cross-entropy)", yscale="log", title="8×8 digits")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    print(f"loss curves saved to {path}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--plot", default="digits_loss.png")
    args = parser.parse_args(argv)
    sf.seed(0)
    data = load_digits()
    results = {"MLP": fit("MLP 64-128-10", mlp(), data, args.epochs, 3e-3),
               "CNN": fit("CNN conv16-conv32", cnn(), data, args.epochs, 3e-3)}
    plot({name: curve for name, (_, curve, _) in results.items()}, args.plot)
    return {name: acc for name, (acc, _, _) in results.items()}


if __name__ == "__main__":
    main()

"""Next-character prediction with a GRU on a public-domain text (the opening of Lewis Carroll's
"Alice's Adventures in Wonderland", 1865): train, save with sf.save, load, and keep training.

    python examples/char_gru.py [--epochs 20] [--save model.npz]
"""

from __future__ import annotations

import argparse
import pathlib
import tempfile

import numpy as np

import symflux as sf

TEXT = """Alice was beginning to get very tired of sitting by her sister on the bank, and of having
nothing to do: once or twice she had peeped into the book her sister was reading, but it had no
pictures or conversations in it, and what is the use of a book, thought Alice without pictures or
conversations? So she was considering in her own mind (as well as she could, for the hot day made
her feel very sleepy and stupid), whether the pleasure of making a daisy-chain would be worth the
trouble of getting up and picking the daisies, when suddenly a White Rabbit with pink eyes ran close
by her. There was nothing so very remarkable in that; nor did Alice think it so very much out of the
way to hear the Rabbit say to itself, Oh dear! Oh dear! I shall be late!"""

SEQUENCE, HIDDEN, BATCH = 12, 48, 32


def encode(text):
    chars = sorted(set(text))
    return chars, np.array([chars.index(c) for c in text])


def batches(ids, vocab, rng):
    """One epoch of (inputs, targets): one-hot sequences (T, N, V) and the next characters (T, N, V)."""
    starts = rng.permutation(len(ids) - SEQUENCE - 1)
    eye = np.eye(vocab, dtype=np.float32)
    for k in range(0, len(starts) - BATCH + 1, BATCH):
        window = np.stack([ids[s:s + SEQUENCE + 1] for s in starts[k:k + BATCH]], axis=1)  # (T+1, N)
        yield eye[window[:-1]], eye[window[1:]]


def model_for(vocab):
    return sf.Chain(sf.GRUCell(vocab, HIDDEN), sf.Dense(HIDDEN, vocab))


def unroll(model, xs):
    """The cell run over the steps of ``xs`` from its initial state (functionally: the state is a
    value, not layer state), with the readout of every step."""
    cell, readout = model
    h = cell.initial_state()
    for x in xs:
        h, out = cell.step(h, x)
        yield readout(out)


def loss_of(model):
    def loss(xs, ys):
        return sum(sf.logitcrossentropy(y_hat, ys[t]) for t, y_hat in enumerate(unroll(model, xs))) / SEQUENCE
    return loss


def epoch_loss(model, ids, vocab, rng):
    loss = loss_of(model)
    return float(np.mean([loss(x, y) for x, y in batches(ids, vocab, rng)]))


def train(model, opt, ids, vocab, epochs, rng):
    loss = loss_of(model)
    for _ in sf.epochs(epochs):
        # the interpreter: LLVM takes ~30 s to compile this 12-step unrolled graph today
        sf.train(loss, sf.params(model), list(batches(ids, vocab, rng)), opt, progress=False, backend=None)
    return epoch_loss(model, ids, vocab, np.random.default_rng(0))


def sample(model, chars, start="Alice ", n=60):
    """Greedy continuation of ``start``."""
    cell, readout = model
    eye = np.eye(len(chars), dtype=np.float32)
    h, out = cell.initial_state(), start
    for c in start:
        h, y = cell.step(h, eye[[chars.index(c)]])
    for _ in range(n):
        c = chars[int(np.argmax(np.asarray(readout(y))[0]))]
        out += c
        h, y = cell.step(h, eye[[chars.index(c)]])
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--save", default=None, help="where to save the model (default: a temporary file)")
    args = parser.parse_args(argv)
    sf.seed(0)
    rng = np.random.default_rng(0)
    chars, ids = encode(TEXT)
    model, opt = model_for(len(chars)), sf.ADAM(0.01)
    start = epoch_loss(model, ids, len(chars), np.random.default_rng(0))
    half = train(model, opt, ids, len(chars), args.epochs // 2, rng)
    path = pathlib.Path(args.save or tempfile.mkdtemp()) / "char_gru.npz" if not args.save else pathlib.Path(args.save)
    sf.save(path, model, opt)
    model, opt = sf.load(path)  # resume from the file, optimiser state included
    resumed = epoch_loss(model, ids, len(chars), np.random.default_rng(0))
    final = train(model, opt, ids, len(chars), args.epochs - args.epochs // 2, rng)
    text = sample(model, chars)
    print(f"loss per character: start {start:.3f}, after {args.epochs // 2} epochs {half:.3f}, "
          f"reloaded {resumed:.3f}, after {args.epochs} epochs {final:.3f}")
    print(f"sample: {text!r}")
    return {"start": start, "half": half, "resumed": resumed, "final": final, "sample": text}


if __name__ == "__main__":
    main()

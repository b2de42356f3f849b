"""The examples run end to end: the seed demo, and the digits training reaching 97 % accuracy."""

import importlib.util
import pathlib
import subprocess
import sys

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"


def load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_demo_runs():
    out = subprocess.run([sys.executable, str(EXAMPLES / "demo.py")], capture_output=True, text=True, check=True)
    assert "f'(x)   = 6*x + 2" in out.stdout and "2*(W*x + b - y)*x.T" in out.stdout
    losses = [float(line.split("=")[1]) for line in out.stdout.splitlines() if line.startswith("step")]
    assert losses == sorted(losses, reverse=True)


def test_digits_reach_97_percent(tmp_path):
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    accuracies = load("train_digits").main(["--epochs", "30", "--plot", str(tmp_path / "loss.png")])
    assert accuracies["MLP"] >= 0.97 and accuracies["CNN"] >= 0.97
    assert (tmp_path / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_char_gru_trains_saves_loads_and_keeps_training(tmp_path):
    result = load("char_gru").main(["--epochs", "6", "--save", str(tmp_path / "gru.npz")])
    assert result["resumed"] == result["half"]  # the reloaded model (and ADAM state) is the saved one
    assert result["final"] < result["half"] < result["start"] / 2
    assert result["sample"].startswith("Alice ") and (tmp_path / "gru.npz").exists()

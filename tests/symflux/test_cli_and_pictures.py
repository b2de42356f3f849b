"""The command line, the REPL (through a pseudo-terminal), and the pictures."""

import os
import pty
import select
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import symflux as sf
from symflux.cli import main

SVG = "{http://www.w3.org/2000/svg}"


def run(*args):
    return subprocess.run([sys.executable, "-m", "symflux", *args], capture_output=True, text=True)


def test_diff_prints_closed_forms(capsys):
    assert main(["diff", "sin(x)*exp(x)", "--wrt", "x", "--order", "2"]) == 0
    assert capsys.readouterr().out.strip() == "2*exp(x)*cos(x)"
    assert main(["diff", "x^2 y + 3x", "--wrt", "x", "y"]) == 0
    assert capsys.readouterr().out.splitlines() == ["d/dx: 2*x*y + 3", "d/dy: x**2"]
    assert main(["diff", "sin(x)*exp(x)", "--latex"]) == 0
    assert capsys.readouterr().out.strip() == r"e^{x} \sin{\left(x \right)} + e^{x} \cos{\left(x \right)}"


def test_diff_prints_generated_code(capsys):
    assert main(["diff", "tanh(x)", "--llvm", "--size", "8"]) == 0
    assert 'define void @"graph"' in capsys.readouterr().out
    assert main(["diff", "x**3", "--c"]) == 0
    out = capsys.readouterr().out
    assert "void derivative(void *in0_ptr, void *out0_ptr);" in out and "static inline" in out
    assert main(["diff", "tanh(x)", "--cuda"]) == 0
    out = capsys.readouterr().out
    assert "__global__" in out and "graph_k0(" in out


@pytest.mark.parametrize("args,message", [
    (["diff", "sin(x"], "unbalanced parentheses"),
    (["diff", "x +* 2"], "cannot parse"),
    (["diff", "x", "--order", "0"], "--order"),
])
def test_bad_input_is_one_line(args, message):
    result = run(*args)
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("symflux: error:") and message in lines[0]
    assert "Traceback" not in result.stderr


def test_python_dash_m_and_console_script_agree():
    assert run("diff", "x**2").stdout.strip() == "2*x"


@pytest.mark.parametrize("shell", ["plain", "ipython"])
def test_repl_through_a_pseudo_terminal(shell):
    if shell == "ipython":
        pytest.importorskip("IPython")
    prompt = b">>> " if shell == "plain" else b"In ["
    pid, fd = pty.fork()
    if pid == 0:  # the child: the REPL on the pseudo-terminal
        options = ["--plain"] if shell == "plain" else []
        os.execv(sys.executable, [sys.executable, "-m", "symflux", "repl", *options])
    output = b""

    def read_until(*tokens, timeout=60):
        nonlocal output
        end = time.time() + timeout
        while not any(t in output for t in tokens) and time.time() < end:
            if select.select([fd], [], [], 0.5)[0]:
                try:
                    output += os.read(fd, 4096)
                except OSError:
                    break
        return any(t in output for t in tokens)

    assert read_until(prompt)
    os.write(fd, b"gradient(lambda v: v**3, x)[0]\n")
    assert read_until(b"3*x**2", "3⋅x".encode())  # pretty printing is on: the 2 sits above the line
    os.write(fd, b"exit()\n")
    read_until(b"Do you really want to exit", timeout=3)
    os.write(fd, b"y\n")
    os.waitpid(pid, 0)
    assert b"symflux REPL" in output


def test_draw_svg_has_the_graph(tmp_path):
    f = lambda x: sf.sum(sf.sin(x) * x)
    root = ET.fromstring(sf.draw(f, np.ones(3)))
    labels = [t.text for t in root.iter(SVG + "text")]
    assert root.tag == SVG + "svg" and "input" in labels and "sin(_0)" in labels and "sum" in labels
    grad_labels = [t.text for t in ET.fromstring(sf.draw(f, np.ones(3), gradient=True)).iter(SVG + "text")]
    assert "_0*cos(_0) + sin(_0)" in grad_labels
    path = sf.draw(f, np.ones(3), path=str(tmp_path / "g.svg"))
    assert ET.parse(path).getroot().tag == SVG + "svg"
    assert "digraph" in sf.draw(f, np.ones(3), format="dot")
    assert "map[sin(_0)]" in sf.draw(f, np.ones(3), format="text")


def test_draw_png_and_loss_plot(tmp_path):
    pytest.importorskip("matplotlib")
    png = sf.draw(lambda x: sf.tanh(x @ x.T), np.ones((2, 2)), gradient=False, path=str(tmp_path / "g.png"))
    assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    W = sf.array([1.0, 2.0])
    history = sf.train(lambda: sf.sum(W**2), sf.params(W), [()] * 20, sf.Descent(0.1))
    sf.plot_history(history, str(tmp_path / "loss.png"))
    assert (tmp_path / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    sf.plot_history(history, str(tmp_path / "loss.svg"))
    assert ET.parse(tmp_path / "loss.svg").getroot().tag == SVG + "svg"


@pytest.mark.parametrize("expression,message", [
    ("__import__('os').system('touch pwned')", "unknown function '__import__'"),
    ("x.__class__", "only numbers, names"),
    ("(lambda: x)()", "only numbers, names, + - * / ^ and known functions are allowed, not '(lambda: x)()'"),
    ("x[0]", "only numbers, names"),
    ("open('/etc/passwd')", "unknown function 'open'"),
    ("10**10**10*x", "too large"),
    ("(" * 1000 + "x" + ")" * 1000, "longer than"),
    ("(" * 100 + "x" + ")" * 100, "nests parentheses"),
    ("foo(x)", "unknown function 'foo'"),
])
def test_the_command_line_never_evaluates_python(expression, message, tmp_path):
    start = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "symflux", "diff", expression], capture_output=True, text=True,
                            cwd=tmp_path)
    assert time.monotonic() - start < 30
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_command_line_accepts_known_functions_and_implicit_products(capsys):
    assert main(["diff", "relu(x)*x + σ(x) + 2x(x+1)"]) == 0
    want = "x*Piecewise((0, x <= 0), (1, True)) + 4*x + (1 - σ(x))*σ(x) + Piecewise((0, x <= 0), (x, True)) + 2"
    assert capsys.readouterr().out.strip() == want
    assert main(["diff", "abs(x)"]) == 0
    assert capsys.readouterr().out.strip() == "sign(x)"
    assert main(["diff", "max(x, y)", "--wrt", "x"]) == 0  # ties split the derivative, as sf.gradient's
    assert capsys.readouterr().out.strip() == "Piecewise((1, x - y > 0), (1/2, Eq(x - y, 0)), (0, True))"
    assert main(["diff", "min(x, 2)"]) == 0
    assert capsys.readouterr().out.strip() == "Piecewise((1, x < 2), (1/2, Eq(x, 2)), (0, True))"
    assert main(["diff", "gammaln(x)", "--order", "2"]) == 0  # SciPy's names for the special functions
    assert capsys.readouterr().out.strip() == "polygamma(1, x)"


@pytest.mark.parametrize("args,message", [(["diff", "x", "--order", "400"], "--order"),
                                          (["diff", "x", "--size", "100000000000"], "--size")])
def test_command_line_limits(args, message):
    result = run(*args)
    assert result.returncode == 2 and message in result.stderr


def test_cli_infers_the_variable_and_reports_its_version(capsys):
    from symflux.cli import main
    assert main(["diff", "t^2"]) == 0 and capsys.readouterr().out.strip() == "2*t"
    assert main(["diff", "x*y"]) == 2 and "several variables (x, y)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"symflux {sf.__version__}"


def test_cli_takes_the_variables_after_the_expression(capsys):
    """``symflux diff "x**2*y" x y`` (as one types sympy.diff's arguments): it was an argparse error;
    a variable that is no name is refused, with --wrt too (it printed the derivative 0)."""
    from symflux.cli import main
    assert main(["diff", "x**2*y", "x", "y"]) == 0 and capsys.readouterr().out.split("\n")[:2] == ["d/dx: 2*x*y",
                                                                                              "d/dy: x**2"]
    assert main(["diff", "sin(x)", "x", "--order", "2"]) == 0 and capsys.readouterr().out.strip() == "-sin(x)"
    for bad in (["diff", "x", "__import__('os')"], ["diff", "sin(x)", "--wrt", "sin"]):
        assert main(bad) == 2 and "is not a variable name" in capsys.readouterr().err


def test_draw_returns_a_picture_notebooks_show():
    picture = sf.draw(lambda x: sf.sin(x) * x, 1.0)
    assert isinstance(picture, str) and picture._repr_svg_().startswith("<") and "svg" in picture[:200]
    assert sf.draw(lambda x: x * 2, 1.0, format="text")._repr_svg_() is None


def test_pictures_leave_the_matplotlib_backend_alone(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    before = matplotlib.get_backend()
    matplotlib.use("svg")
    try:
        fig = sf.plot_history([3.0, 2.0, 1.0], str(tmp_path / "loss.png"))
        sf.draw(lambda x: sf.sin(x) * x, 1.0, path=str(tmp_path / "graph.png"))
        assert matplotlib.get_backend() == "svg"
        assert type(fig).__name__ == "Figure" and (tmp_path / "loss.png").read_bytes()[:4] == b"\x89PNG"
    finally:
        matplotlib.use(before)

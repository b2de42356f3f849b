"""A notebook executed in a real kernel (nbclient): pictures, formulas and tables show as such."""

import nbformat
import pytest
from nbclient import NotebookClient

CELLS = {
    "setup": "import numpy as np\nimport symflux as sf\n"
             "W, x = sf.symbols('W', shape=(2, 3)), sf.symbols('x', shape=(3,))",
    "graph": "sf.draw(lambda u: sf.sum(sf.tanh(u) * u), np.ones(3), gradient=True)",
    "layer formula": "sf.Dense(3, 2, sf.σ).expr()",
    "gradient formula": "sf.gradient(lambda W: sf.sum(sf.tanh(W @ x)), W)",
    "exact gradient": "sf.gradient(lambda t: t**3, sf.symbols('t'))",
    "numeric gradient": "sf.gradient(lambda v: sf.sum(v**2), np.ones(2))",
    "grads table": "m = sf.Dense(2, 1)\nsf.gradient(lambda: sf.sum(m(np.ones(2))), sf.params(m))",
    "loss curve": "sf.plot_history([3.0, 2.0, 1.5, 1.2])",
    "plots still work": "import matplotlib.pyplot as plt\nplt.plot([1, 2]); plt.gcf().canvas.get_default_filetype()",
    "loss curve with pyplot loaded": "sf.plot_history([3.0, 2.0])",
}


@pytest.fixture(scope="module")
def outputs():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code) for code in CELLS.values()])
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    return {name: cell.outputs for name, cell in zip(CELLS, nb.cells)}


def _mimes(cell_outputs):
    return [set(o.get("data", {})) for o in cell_outputs if o.output_type in ("execute_result", "display_data")]


@pytest.mark.parametrize("name, mime", [("graph", "image/svg+xml"), ("layer formula", "text/latex"),
                                        ("gradient formula", "text/latex"), ("exact gradient", "text/latex"),
                                        ("grads table", "text/html")])
def test_each_result_shows_in_its_rich_form(outputs, name, mime):
    (shown,) = _mimes(outputs[name])
    assert mime in shown


def test_plain_numbers_stay_plain_text(outputs):
    (shown,) = _mimes(outputs["numeric gradient"])
    assert shown == {"text/plain"}


def test_a_loss_curve_shows_once_and_later_plots_still_work(outputs):
    assert [("image/png" in m) for m in _mimes(outputs["loss curve"])] == [True]
    assert [("image/png" in m) for m in _mimes(outputs["loss curve with pyplot loaded"])] == [True]
    assert not any(o.output_type == "error" for cell in outputs.values() for o in cell)
    assert any("image/png" in m for m in _mimes(outputs["plots still work"]))

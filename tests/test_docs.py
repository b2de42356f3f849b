"""Every example in the docs runs, and prints what the docs say."""

import doctest
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_doc_examples(path):
    # Markdown fences end an example's expected output, as a blank line does in a docstring.
    text = re.sub(r"^\s*```.*$", "", path.read_text(), flags=re.MULTILINE)
    test = doctest.DocTestParser().get_doctest(text, {}, path.name, str(path), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert runner.failures == 0


def test_api_reference_is_current():
    import importlib.util
    spec = importlib.util.spec_from_file_location("api_reference", ROOT / "tools" / "api_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (ROOT / "docs" / "api.md").read_text() == module.render(), "run: python tools/api_reference.py"


def test_the_closed_form_picture_is_current(tmp_path):
    import html
    import importlib.util
    spec = importlib.util.spec_from_file_location("formula_pictures", ROOT / "tools" / "formula_pictures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert "(images/closed_forms.svg)" in (ROOT / "docs" / "guide.md").read_text()
    committed = (ROOT / "docs" / "images" / "closed_forms.svg").read_text()
    expected = html.escape(module.describe(module.formulas()), quote=False)
    assert f"<dc:description>{expected}</dc:description>" in committed, "run: python tools/formula_pictures.py"
    assert module.render(tmp_path / "f.svg").read_text().startswith("<?xml")

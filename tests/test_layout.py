"""The code's layout (DESIGN.md §2): codegen never imports symflux, no module imports the project
inside a function, and the modules' imports form no cycle."""

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ("symflux", "codegen")


def _modules():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def _imported(name: str, path: pathlib.Path, node: ast.ImportFrom | ast.Import) -> list[str]:
    """The project modules an import statement names (``from . import a, b`` names a and b)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] in PACKAGES]
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    base = package[:len(package) - node.level + 1] if node.level else []
    module = ".".join(base + ([node.module] if node.module else []))
    if module.split(".")[0] not in PACKAGES:
        return []
    known = dict(_modules())
    return [f"{module}.{a.name}" if f"{module}.{a.name}" in known else module for a in node.names]


def _imports():
    graph, inside_functions = {}, []
    for name, path in _modules():
        tree = ast.parse(path.read_text())
        graph[name] = {m for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))
                       for m in _imported(name, path, node)}
        for fn in ast.walk(tree):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                inside_functions += [f"{path.relative_to(ROOT)}:{n.lineno}" for n in ast.walk(fn)
                                     if isinstance(n, (ast.Import, ast.ImportFrom)) and _imported(name, path, n)]
    return graph, inside_functions


def test_codegen_never_imports_symflux():
    graph, _ = _imports()
    assert not [(m, d) for m, deps in graph.items() if m.startswith("codegen") for d in deps
                if d.startswith("symflux")]


def test_no_project_imports_inside_functions():
    assert _imports()[1] == []


def test_module_imports_form_no_cycle():
    graph, _ = _imports()
    graph = {m: {d for d in deps if d in graph and d != m and not m.startswith(d + ".")} for m, deps in graph.items()}
    state, cycles = {}, []

    def visit(m, path):
        state[m] = "open"
        for d in sorted(graph[m]):
            if state.get(d) == "open":
                cycles.append(path[path.index(d):] + [d] if d in path else [m, d])
            elif d not in state:
                visit(d, path + [d])
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert cycles == []

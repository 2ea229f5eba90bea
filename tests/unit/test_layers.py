"""The architecture, checked: the core is pure (no I/O, no CLI, no cluster client) and the package's
imports form no cycle. Walks the source with ``ast``, so function-level imports count too."""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "kubectl_dagster"
# What the core may not import, directly or through a module of ours it imports.
FORBIDDEN = {
    "os",
    "sys",
    "subprocess",
    "click",
    "kubernetes",
    "urllib",
    "urllib3",
    "socket",
    "http",
    "shutil",
    "tempfile",
    "pathlib",
    "fcntl",
    "io",
}
PURE_TOP_LEVEL = ("constants", "errors", "yamlio", "naming")


def _module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: pathlib.Path):
    """(imported module, line) for every import in the file, relative ones resolved."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                yield (
                    (
                        candidate
                        if (PACKAGE.parent / (candidate.replace(".", "/") + ".py")).exists()
                        or (PACKAGE.parent / candidate.replace(".", "/")).is_dir()
                        else base
                    ),
                    node.lineno,
                )


def _ours(name: str) -> bool:
    return name == "kubectl_dagster" or name.startswith("kubectl_dagster.")


def _graph():
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        graph[_module_name(path)] = {name for name, _ in _imports(path) if _ours(name) and name != "kubectl_dagster"}
    return graph


CORE_FILES = sorted(list((PACKAGE / "core").glob("*.py")) + [PACKAGE / f"{name}.py" for name in PURE_TOP_LEVEL])


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_core_module_imports_no_io(path):
    bad = [(name, line) for name, line in _imports(path) if name.split(".")[0] in FORBIDDEN]
    assert not bad, f"{path.name} imports {bad}"
    pure = {f"kubectl_dagster.{name}" for name in PURE_TOP_LEVEL}
    ours = [(name, line) for name, line in _imports(path) if _ours(name) and name != "kubectl_dagster"]
    outside = [(n, line) for n, line in ours if not n.startswith("kubectl_dagster.core") and n not in pure]
    assert not outside, f"{path.name} imports non-core modules {outside}"


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_core_module_opens_no_files(path):
    calls = [
        node.lineno
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("open", "input", "print")
    ]
    assert not calls, f"{path.name} calls open/input/print at lines {calls}"


def test_package_imports_have_no_cycle():
    graph = _graph()
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(target) :] + [target]))
            if target not in state:
                visit(target)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_the_checker_sees_a_forbidden_import(tmp_path):
    """The walk is not vacuous: a core-like file importing os is caught, relative imports resolve."""
    imports = dict(_imports(PACKAGE / "run.py"))
    assert "os" in imports and "kubectl_dagster.core.render" in imports

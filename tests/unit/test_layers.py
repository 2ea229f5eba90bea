"""The architecture, checked. Each package's ``__init__`` docstring says what lives there and, on a line
``May import: …``, which of our packages its modules may import; this test holds every module to the rule of its
package. On top: base and core are pure (no I/O, no CLI, no cluster client), the import graph has no cycle, and
every module stays under 400 lines. Walks the source with ``ast``, so function-level imports count too."""

import ast
import pathlib
import re
import statistics

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "kubectl_dagster"
# What the pure layers (base, core) may not import from the standard library or elsewhere.
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
PURE = ("base", "core")
MAX_MODULE_LINES = 400
RULE = re.compile(r"May import:\s*(.+?)\.(?:\s|$)", re.S)


def _module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_ours(candidate: str) -> bool:
    path = PACKAGE.parent / candidate.replace(".", "/")
    return path.with_suffix(".py").exists() or path.is_dir()


def _imports(path: pathlib.Path):
    """(imported module, line) for every import in the file, relative ones resolved."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
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
                yield (candidate if _is_ours(candidate) else base), node.lineno


def _ours(name: str) -> bool:
    return name.startswith("kubectl_dagster.")


def _short(name: str) -> str:
    return name.removeprefix("kubectl_dagster.")


def _packages():
    return sorted(path.parent for path in PACKAGE.rglob("__init__.py") if path.parent != PACKAGE)


def _rule(package: pathlib.Path):
    """The package's docstring and the packages its ``May import:`` line allows (its own always)."""
    doc = ast.get_docstring(ast.parse((package / "__init__.py").read_text())) or ""
    found = RULE.search(doc)
    own = _short(_module_name(package / "__init__.py"))
    if not found:
        return doc, None
    words = [w.strip() for w in re.split(r",|\band\b", found.group(1)) if w.strip()]
    allowed = {w.split()[-1] for w in words if not w.startswith("nothing")}
    return doc, allowed | {own}


def _allowed(target: str, allowed) -> bool:
    return any(target == a or target.startswith(a + ".") for a in allowed)


PACKAGES = _packages()
MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_each_package_says_in_two_lines_what_lives_there_and_what_it_may_import(package):
    doc, allowed = _rule(package)
    assert doc, f"{package.name}/__init__.py has no docstring"
    assert len(doc.strip().splitlines()) <= 2, f"{package.name}: the docstring is over two lines"
    assert allowed is not None, f"{package.name}: the docstring has no 'May import: …' line"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_module_imports_only_what_its_package_allows(path):
    package = path.parent
    if package == PACKAGE:
        return  # kubectl_dagster/__init__ and __main__: the entry, may import the CLI
    _, allowed = _rule(package)
    ours = [(_short(name), line) for name, line in _imports(path) if _ours(name)]
    bad = [(name, line) for name, line in ours if not _allowed(name, allowed)]
    assert not bad, f"{path.relative_to(PACKAGE)} imports {bad}; its package allows {sorted(allowed)}"


PURE_MODULES = [p for p in MODULES if p.relative_to(PACKAGE).parts[0] in PURE]


@pytest.mark.parametrize("path", PURE_MODULES, ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_pure_module_imports_no_io(path):
    bad = [(name, line) for name, line in _imports(path) if name.split(".")[0] in FORBIDDEN]
    assert not bad, f"{path.name} imports {bad}"


@pytest.mark.parametrize("path", PURE_MODULES, ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_pure_module_opens_no_files(path):
    calls = [
        node.lineno
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("open", "input", "print")
    ]
    assert not calls, f"{path.name} calls open/input/print at lines {calls}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_module_is_under_400_lines(path):
    lines = len(path.read_text().splitlines())
    assert lines < MAX_MODULE_LINES, f"{path.relative_to(PACKAGE)} has {lines} lines; split it by what its parts do"


def test_package_imports_have_no_cycle():
    graph = {
        _module_name(path): {name for name, _ in _imports(path) if _ours(name) and name != "kubectl_dagster"}
        for path in MODULES
    }
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


def test_the_checker_sees_what_it_checks(tmp_path):
    """The walk is not vacuous: relative imports resolve, a rule line parses, and a forbidden edge is caught."""
    imports = dict(_imports(PACKAGE / "shells" / "run.py"))
    assert "os" in imports and "kubectl_dagster.core.chart.render" in imports
    _, chart = _rule(PACKAGE / "core" / "chart")
    assert chart == {"base", "core.assets", "core.spec", "core.policy", "core.chart"}
    assert not _allowed("shells.kube", chart) and not _allowed("core.registry.entries", chart)
    _, base = _rule(PACKAGE / "base")
    assert base == {"base"}


def _function_sizes():
    return sorted(
        node.end_lineno - node.lineno + 1
        for path in MODULES
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    )


def test_functions_stay_small():
    """Median at most 8 lines and 90th percentile at most 25 (statistics.quantiles' default method), the figures
    of the codebases we learn from; a long function is a place to name the steps."""
    sizes = _function_sizes()
    median, p90 = statistics.median(sizes), statistics.quantiles(sizes, n=10)[-1]
    assert median <= 8 and p90 <= 25, f"function sizes: median {median}, p90 {p90} over {len(sizes)} functions"

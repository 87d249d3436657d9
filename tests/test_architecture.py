"""The import direction of DESIGN.md holds: import-linter's contracts (.importlinter) are kept, no two
modules import each other even through others, an import inside a function says why it is there, and
no module grows past ~600 lines without saying why at its top, and no test module imports another
(what tests share lives in conftest.py, factories.py and helpers.py)."""

import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("portal", "api")
MAX_LINES = 650


def project_modules():
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def imported_names(module, path, node):
    """The modules an import statement names, as dotted paths."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join([*package, base] if base else package)
    return [f"{base}.{alias.name}" for alias in node.names] + [base]


def nearest(modules, name):
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name


def module_level_imports(tree):
    """Imports that run when the module is imported: at the top, or under a top-level if/try."""
    for node in tree.body:
        for inner in ast.walk(node) if isinstance(node, ast.If | ast.Try) else [node]:
            if isinstance(inner, ast.Import | ast.ImportFrom):
                yield inner


def function_level_imports(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    yield inner


def import_graph(modules):
    graph = defaultdict(set)
    for module, path in modules.items():
        for node in module_level_imports(ast.parse(path.read_text())):
            for name in imported_names(module, path, node):
                target = nearest(modules, name)
                if target and target != module and not module.startswith(target + "."):
                    graph[module].add(target)
    return graph


def cycles(graph, nodes):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(max(10_000, sys.getrecursionlimit()))

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in nodes:
        if node not in index:
            visit(node)
    return found


def test_the_import_contracts_are_kept():
    result = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_no_two_modules_import_each_other_even_through_others():
    modules = project_modules()
    assert cycles(import_graph(modules), sorted(modules)) == []


def test_an_import_inside_a_function_says_why_it_is_there():
    unexplained = []
    for module, path in project_modules().items():
        lines = path.read_text().splitlines()
        for node in function_level_imports(ast.parse("\n".join(lines))):
            names = imported_names(module, path, node)
            if not any(name.startswith(PACKAGES) for name in names):
                continue
            said = [lines[node.lineno - 1], lines[node.lineno - 2] if node.lineno > 1 else ""]
            if not any("#" in line for line in said):
                unexplained.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert unexplained == []


def test_no_module_passes_six_hundred_lines_without_saying_why_at_its_top():
    too_long = []
    for path in project_modules().values():
        text = path.read_text()
        docstring = ast.get_docstring(ast.parse(text)) or ""
        if text.count("\n") > MAX_LINES and "Longer than" not in docstring:
            too_long.append(f"{path.relative_to(ROOT)} ({text.count(chr(10))} lines)")
    assert too_long == []


def test_no_test_module_imports_another_test_module():
    importing = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        if "vendor" in path.parts:
            continue
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = imported_names(module, path, node)
                if any(name.startswith("tests.") and name.rpartition(".")[2].startswith("test_") for name in names):
                    importing.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert importing == []

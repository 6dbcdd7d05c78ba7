"""Issue 34, items 3 to 5, read from the source: no import cycle among fer_keras's modules, every
error class in fer_keras/errors.py, no built-in error raised outside layers/ and losses/, and none
of the names the refactor retired left behind."""

import ast

import pytest

from tests.helpers import ROOT

pytestmark = pytest.mark.backend_neutral

PACKAGE = ROOT / "fer_keras"
BUILT_IN = {"ValueError", "TypeError", "RuntimeError", "KeyError"}
KERAS_CONVENTION = ("layers", "losses")  # bad constructor arguments are ValueErrors there, as in Keras


def modules():
    """{dotted name: (path, parsed source)} of every module of the package."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = (path, ast.parse(path.read_text()))
    return found


MODULES = modules()


def _target(name):
    """The module `name` imports: itself when it is one, else the package that holds it."""
    while name not in MODULES and "." in name:
        name = name.rpartition(".")[0]
    return name


def imports(name):
    """[(imported module, at module level?, inside a function?)] of module `name`."""
    path, tree = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []

    def visit(node, top):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                found.extend((_target(a.name), top) for a in child.names if a.name.startswith("fer_keras"))
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    parts = package.split(".")
                    base = ".".join(parts[: len(parts) - child.level + 1] + ([base] if base else []))
                if base.startswith("fer_keras"):
                    found.extend((_target(f"{base}.{a.name}"), top) for a in child.names)
            visit(child, top and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    visit(tree, True)
    return [(target, top) for target, top in found if target != name]


def cycles(graph):
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def strong(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            strong(v)
    return found


def is_package(name):
    return MODULES[name][0].name == "__init__.py"


def test_no_import_cycle_at_module_level():
    graph = {name: {t for t, top in imports(name) if top} for name in MODULES}
    assert cycles(graph) == []


def test_no_import_cycle_among_modules_in_functions_either():
    """Imports inside functions too. The one exception: a function that looks a name up on its own
    package at call time (fer_keras.data, .data.faces, .export: "the package: a replaced X is the
    one used"), which lets tests replace it there; those edges to a package are left out."""
    graph = {name: {t for t, top in imports(name) if top or not (is_package(t) and name.startswith(t + "."))}
             for name in MODULES}
    assert cycles(graph) == []


def raises(tree):
    """(line, exception name) of every `raise Name(...)` / `raise Name` in `tree`."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(exc, ast.Name):
                yield node.lineno, exc.id


def test_no_built_in_error_is_raised_outside_layers_and_losses():
    found = [f"{path.relative_to(PACKAGE.parent)}:{line} raises {exc}" for name, (path, tree) in MODULES.items()
             if name.split(".")[1:2] not in ([k] for k in KERAS_CONVENTION) for line, exc in raises(tree)
             if exc in BUILT_IN]
    assert found == []


def test_every_error_class_is_defined_in_errors_py_and_is_a_fer_keras_error():
    import fer_keras.errors as errors

    defined = [f"{name}.{node.name}" for name, (_, tree) in MODULES.items() for node in ast.walk(tree)
               if isinstance(node, ast.ClassDef) and node.name.endswith("Error")]
    assert all(d.startswith("fer_keras.errors.") for d in defined), defined
    classes = [getattr(errors, d.rpartition(".")[2]) for d in defined]
    assert all(issubclass(c, errors.FerKerasError) for c in classes)
    assert all(issubclass(c, ValueError) for c in classes if c not in (errors.FerKerasError, errors.NonFiniteLossError))


def test_the_retired_modules_and_aliases_are_gone():
    import importlib.util

    import fer_keras.models

    for name in ("inference", "trained", "runlock", "runrecord", "runspace", "safewrite", "data.errors"):
        assert importlib.util.find_spec(f"fer_keras.{name}") is None, name
    assert not hasattr(fer_keras.models, "available_models")

"""The package's shape: no import cycles between codesign's modules, and the README's layout section
names every top-level module and package of codesign/ (and nothing that is gone)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "codesign"


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported(tree: ast.Module, modules: dict[str, Path]) -> set[str]:
    """codesign modules a module imports anywhere in its text (lazy imports inside functions too)."""

    def target(name: str) -> str | None:
        while name and name not in modules:  # `from pkg.mod import name`: the module, not the name
            name = name.rpartition(".")[0]
        return name or None

    found: set[str] = set()
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)  # annotations only: never executed
            continue
        if isinstance(node, ast.Import):
            found.update(t for a in node.names if (t := target(a.name)))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.update(t for a in node.names if (t := target(f"{node.module}.{a.name}")))
        stack.extend(ast.iter_child_nodes(node))
    return found


def test_no_import_cycles_between_modules():
    """Every `import` a codesign module writes is an edge, at module top or inside a function: a lazy
    import only delays the coupling (it keeps TensorFlow out of `codesign --help`), so a cycle through
    one is still two modules that cannot be read, tested or moved apart. The implicit import of a parent
    package (`codesign.synth` when `codesign.synth.boards` is imported) is not an edge: a package's
    __init__ may re-export its modules. `if TYPE_CHECKING:` blocks are skipped."""
    modules = _modules()
    graph = {name: _imported(ast.parse(path.read_text()), modules) - {name} for name, path in modules.items()}

    # Tarjan's strongly connected components: any with more than one module is a cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
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
                cycles.append(sorted(component))

    for name in sorted(graph):
        if name not in index:
            visit(name)
    assert not cycles, f"import cycles: {cycles}"


def test_readme_layout_matches_the_package():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Layout", 1)[1].split("```", 2)[1]
    lines = section.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("codesign/"))
    listed = set()
    for line in lines[start + 1 :]:
        if line and not line.startswith(" "):
            break  # the next top-level folder (models/, ...)
        m = re.match(r"  (\S+)", line)
        if m:
            listed.add(m.group(1))
    present = {
        p.name + ("/" if p.is_dir() else "")
        for p in PACKAGE.iterdir()
        if p.name != "__init__.py" and not p.name.startswith((".", "__pycache__"))
    }
    assert listed == present, (
        f"README layout: missing {sorted(present - listed)}, gone {sorted(listed - present)}"
    )

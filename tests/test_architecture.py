"""The layout of docs/architecture.md, checked: no import cycle among gridwatch's modules,
and no project import hidden inside a function unless a comment says why. The layers
themselves are import-linter's contracts in pyproject.toml (`lint-imports`, run by .ci/run).
"""
from __future__ import annotations

import ast
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("dashboard", "callbacks", "layouts", "data_sources", "simulator")


def test_no_import_cycle():
    graph = grimp.build_graph(*PACKAGES)
    cycles = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back:
                cycles.append(" -> ".join((module, *back)))
    assert cycles == [], cycles[:5]


def _hidden_imports(source: str) -> list[tuple[int, str]]:
    lines = source.splitlines()
    out = []
    for fn in ast.walk(ast.parse(source)):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(fn):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                module = node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
                if not module or module.split(".")[0] not in PACKAGES:
                    continue
                said = lines[node.lineno - 1] + (lines[node.lineno - 2] if node.lineno > 1 else "")
                if "#" not in said:  # the reason, on the line or the one above
                    out.append((node.lineno, lines[node.lineno - 1].strip()))
    return out


def test_no_project_import_hidden_in_a_function_without_a_reason():
    hidden = [f"{path.relative_to(ROOT)}:{line}: {text}"
              for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))
              for line, text in _hidden_imports(path.read_text(encoding="utf-8"))]
    assert hidden == []


def test_the_check_sees_a_hidden_import():
    source = "def f():\n    from dashboard.domain import kpis\n    return kpis\n"
    assert _hidden_imports(source) == [(2, "from dashboard.domain import kpis")]
    assert _hidden_imports("def f():\n    # why: optional\n    import dashboard\n") == []

"""The package's plan: the method on top, the replication beside it importing the top level and never the reverse, no
import circle, and the protocol's path free of the book's extras (pandas, scipy, statsmodels)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "seedinit"


def imports() -> dict[str, set[str]]:
    """Each module of the package (dotted) and the package modules it imports, at any depth of its code."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
                deps |= {target} | {f"{target}.{a.name}" for a in node.names}
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                deps |= {a.name for a in node.names} if isinstance(node, ast.Import) else {node.module or ""}
        found[name] = {d for d in deps if d.startswith("seedinit")}
    modules = set(found)
    return {m: {d for d in deps if d in modules and d != m} for m, deps in found.items()}


def test_the_top_level_never_imports_the_replication_and_no_module_imports_one_that_imports_it_back():
    graph = imports()
    top = {m for m in graph if not m.startswith("seedinit.replication") and m != "seedinit.__main__"}
    assert not [(m, d) for m in top for d in graph[m] if d.startswith("seedinit.replication")]

    def reaches(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for d in graph[todo.pop()] - seen:
                seen.add(d)
                todo.append(d)
        return seen

    assert [m for m in graph if m in reaches(m)] == []


BLOCK = """
import importlib.abc, sys
class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("pandas", "scipy", "statsmodels", "seaborn"):
            raise ModuleNotFoundError(f"No module named {name!r}")
sys.meta_path.insert(0, Absent())
"""


def test_without_the_books_extras_the_command_line_plans_the_protocol():
    """``pip install .`` without extras: ``seedinit run``, ``sweep`` and ``reproduce`` import, and stage 2 is planned
    from the records (the delta each cell's grid chose) without pandas, scipy or statsmodels."""
    code = (
        BLOCK
        + """
from seedinit import load_records
from seedinit.replication import cli, protocol
records = load_records("book/results")
runs = protocol.planned(["mnist"], [0.1], records, studies=True)
assert protocol.chosen_deltas(records)[("mnist", 0.1)] == 0.9 and len(runs) > 100
assert not {"pandas", "scipy", "statsmodels"} & set(sys.modules)
print(len(runs))
"""
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PACKAGE.parent)
    assert done.returncode == 0 and int(done.stdout) > 100, done.stderr[-2000:]

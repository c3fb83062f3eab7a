"""Fail when a module uses another module's private names (``_name``).

Checks every module of ``matcher``, ``projects`` and ``funders``:

- ``from package.module import _name`` and ``import package._module``;
- ``module._name`` where ``module`` is a project module imported here;
- ``obj._name`` where ``_name`` is defined in no class or function of this module
  (a private method or attribute of another module's class).

Also: the library's own layers (``core`` up to ``evaluation``, and the ``projects`` and
``funders`` packages) import from the module that defines a name, never from the ``matcher``
front door, whose lazy names would hide an upward import from ``lint-imports``; the features on
top (``cli``, ``planning``, ``workspace``, ``web``) use the front door.

Dunder names (``__version__``, ``__init__``) are public. Prints ``path:line: what``
for each use and exits 1 if there is any, 0 otherwise. Run from the repository root::

    python scripts/check_private_imports.py
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("matcher", "projects", "funders")
#: Top features: they may import the ``matcher`` front door.
FRONT_DOOR_USERS = ("matcher/cli/", "matcher/planning/", "matcher/workspace/", "matcher/web/")


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _own_names(tree: ast.Module) -> set[str]:
    """Private names this module defines: functions, classes, attributes set on self/cls, globals."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def check(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    own = _own_names(tree)
    modules: set[str] = set()  # local names bound to project modules
    found = []
    where = path.relative_to(ROOT)
    uses_front_door = str(where).startswith(FRONT_DOOR_USERS) or str(where) == "matcher/__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "matcher" and not uses_front_door:
            found.append(f"{where}:{node.lineno}: imports from the matcher front door (import the defining module)")
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in PACKAGES:
            for alias in node.names:
                if _private(alias.name):
                    found.append(f"{where}:{node.lineno}: imports {node.module}.{alias.name}")
                else:
                    modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in PACKAGES:
                    if any(_private(part) for part in alias.name.split(".")):
                        found.append(f"{where}:{node.lineno}: imports {alias.name}")
                    modules.add((alias.asname or alias.name).split(".")[0])
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr) and isinstance(node.ctx, ast.Load):
            base = node.value
            if isinstance(base, ast.Name) and base.id in ("self", "cls"):
                continue
            if isinstance(base, ast.Name) and base.id in modules:
                found.append(f"{where}:{node.lineno}: uses {base.id}.{node.attr}")
            elif node.attr not in own:
                found.append(f"{where}:{node.lineno}: uses {ast.unparse(node)} (private to another module)")
    return found


def main() -> int:
    problems = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            problems += check(path)
    for line in problems:
        print(line)
    print(f"{len(problems)} use(s) of another module's private names", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

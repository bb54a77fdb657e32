"""Partners sits below incentives (DESIGN.md §8): it learns of incentives' interest through
events and registered panels, never by importing it."""

from __future__ import annotations

import ast
from pathlib import Path

from django.conf import settings

HIGHER_FLOORS = ("incentives",)


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_partners_imports_nothing_from_incentives():
    partners = Path(settings.BASE_DIR) / "partners"
    sources = sorted(partners.rglob("*.py"))
    assert len(sources) > 10
    wrong = {
        f"{path.relative_to(settings.BASE_DIR)}: {module}"
        for path in sources
        for module in imports_of(path)
        if module.split(".")[0] in HIGHER_FLOORS
    }
    assert wrong == set()


def test_the_check_sees_an_import_inside_a_function(tmp_path):
    source = tmp_path / "late.py"
    source.write_text("def f():\n    from incentives.tasks import x\n    import incentives\n")
    assert imports_of(source) == {"incentives.tasks", "incentives"}

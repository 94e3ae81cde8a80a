"""The dependency rule: the pure core imports only the standard library (and ``levpref.errors``/itself)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import levpref

ROOT = Path(levpref.__file__).parent
PURE = [
    *sorted((ROOT / "domain").glob("*.py")),
    *sorted((ROOT / "auth").glob("*.py")),
    ROOT / "ratelimit.py",
    ROOT / "errors.py",
]
ALLOWED_LEVPREF = ("levpref.errors", "levpref.domain", "levpref.auth", "levpref.ratelimit")


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


@pytest.mark.parametrize("path", PURE, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_pure_core_imports_only_the_standard_library(path: Path) -> None:
    for name in _imports(path):
        top = name.split(".")[0]
        if top == "levpref":
            assert name.startswith(ALLOWED_LEVPREF), f"{path.name} imports {name}"
        else:
            assert top in sys.stdlib_module_names or top == "__future__", f"{path.name} imports {name}"


def test_the_pure_core_has_no_clock_or_float_in_the_money_path() -> None:
    for path in (ROOT / "domain").glob("*.py"):
        text = path.read_text()
        assert "import time" not in text
        assert "datetime" not in text
        assert "float(" not in text, f"{path.name} converts to float"


@pytest.mark.parametrize("path", sorted((ROOT / "service").glob("*.py")), ids=lambda p: p.name)
def test_use_cases_reach_storage_only_through_their_ports(path: Path) -> None:
    for name in _imports(path):
        assert not name.startswith(("levpref.adapters.storage", "levpref.adapters.http", "levpref.bootstrap")), (
            f"service/{path.name} imports {name}"
        )

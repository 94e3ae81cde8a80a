"""The dependency rule: the pure core imports only the standard library (and ``levpref.errors``/itself), and nothing
inside the arrows (``domain``, ``auth``, ``ratelimit``, ``errors``, ``service``) imports an adapter or the composition
root, in any spelling: ``import levpref.adapters.x``, ``from levpref.adapters import x``, ``from levpref import
adapters``, relative imports, and imports under ``if TYPE_CHECKING:`` or inside functions alike."""

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


INNER = [*PURE, *sorted((ROOT / "service").glob("*.py"))]
OUTER = ("levpref.adapters", "levpref.bootstrap")


def _package(path: Path) -> str:
    """The dotted package a module of ``levpref`` lives in (``levpref.service`` for ``service/admin.py``)."""
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1])


def _imports(path: Path) -> list[str]:
    return _imports_of(path.read_text(), path)


def _imports_of(source: str, path: Path) -> list[str]:
    """Every module the source at ``path`` imports, made absolute, wherever the statement is (``ast.walk`` sees
    imports under ``if TYPE_CHECKING:`` and inside functions too)."""
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = _package(path).split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            names.append(base)
            names += [f"{base}.{alias.name}" for alias in node.names]  # ``from levpref import adapters``
    return names


def _reaches_outward(name: str) -> bool:
    return any(name == outer or name.startswith(outer + ".") for outer in OUTER)


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


@pytest.mark.parametrize("path", INNER, ids=lambda p: str(p.relative_to(ROOT)))
def test_nothing_inside_the_arrows_imports_an_adapter_or_the_composition_root(path: Path) -> None:
    outward = [name for name in _imports(path) if _reaches_outward(name)]
    assert not outward, f"{path.relative_to(ROOT)} imports {outward}"


@pytest.mark.parametrize(
    "source",
    [
        "import levpref.adapters.secretbox",
        "from levpref.adapters.kraken_instruments import canonical_instrument",
        "from levpref import adapters",
        "from levpref import bootstrap as b",
        "from ..adapters import jsonwire",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from levpref.adapters.wire import scenario",
        "def f():\n    import levpref.bootstrap",
    ],
)
def test_the_import_rule_sees_every_spelling(source: str) -> None:
    names = _imports_of(source, ROOT / "service" / "probe.py")  # a module that is never written: only its place
    assert any(_reaches_outward(name) for name in names), names

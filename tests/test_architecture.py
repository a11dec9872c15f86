"""The import graph runs one way, as ARCHITECTURE.md draws it; read from the source's AST.

Every import counts, local and ``TYPE_CHECKING`` ones included: a local import may defer
a heavy module for start-up speed, never hide an import against the layers. Tests and
benchmarks use azcost as its users do: public modules and public names only.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "azcost"
USERS = sorted([*(ROOT / "tests").glob("*.py"), *(ROOT / "bench").glob("*.py")])
"""The test and benchmark files, which import azcost's public API only."""
_LOADERS = frozenset({"import_module", "importorskip"})

BOTTOM = frozenset({"errors", "_input", "_lazy", "_parse", "_paths", "_text", "_version"})
"""Modules any layer may import; they import only each other."""

MAY_IMPORT: dict[str, frozenset[str]] = {
    **dict.fromkeys(BOTTOM, BOTTOM),
    "pricing": BOTTOM,
    "ledger": BOTTOM | {"pricing"},
    "azure": BOTTOM | {"pricing"},
    "callback": BOTTOM | {"pricing", "ledger"},
    "invoice": BOTTOM | {"pricing", "ledger", "azure"},
    # the public top: the package's own re-exports and the helpers users import
    "azcost": BOTTOM | {"pricing", "ledger", "callback", "invoice", "embeddings", "chat"},
    "inputs": BOTTOM,  # the input boundary of the bottom row, public
    "chat": BOTTOM | {"pricing", "ledger", "callback"},
    "testing": BOTTOM | {"pricing", "ledger", "callback"},
    "embeddings": BOTTOM | {"pricing", "ledger", "callback"},
    # the command line sits on everything; ``python -m azcost`` on the command line
    "cli": BOTTOM | {"azcost", "pricing", "ledger", "callback", "azure", "invoice", "testing"},
    "__main__": frozenset({"cli"}),
}
"""What each part of azcost may import (besides itself)."""


def _part(dotted: str) -> str:
    """The part of azcost a dotted name belongs to: a subpackage, a module, or ``azcost``."""
    name = dotted.split(".")[1] if "." in dotted else "azcost"
    if (PACKAGE / name).is_dir() or (PACKAGE / f"{name}.py").is_file():
        return name
    return "azcost"  # a name re-exported by azcost/__init__.py


def _module(path: Path) -> tuple[str, list[str]]:
    """The dotted name of a module file and the package its relative imports start from."""
    parts = ["azcost", *path.relative_to(PACKAGE).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
        return ".".join(parts), parts
    return ".".join(parts), parts[:-1]


def _imports(source: str, path: Path) -> Iterator[tuple[int, str]]:
    """(line, dotted name) of every azcost name imported by *source*, the module at *path*."""
    _, package = _module(path)
    for node in ast.walk(ast.parse(source, str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1])
                stem = f"{base}.{node.module}" if node.module else base
            else:
                stem = node.module or ""
            names = [stem] if node.module else [f"{stem}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            if name == "azcost" or name.startswith("azcost."):
                yield node.lineno, name


def _against_the_layers(source: str, path: Path) -> list[str]:
    """``file:line: part imports name`` for each import of *source* its layer does not allow."""
    me = _part(_module(path)[0])
    allowed = MAY_IMPORT.get(me, frozenset())
    return [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {me} imports {name}"
        for line, name in _imports(source, path)
        if _part(name) != me and _part(name) not in allowed
    ]


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_every_part_of_azcost_has_a_layer() -> None:
    parts = {_part(_module(path)[0]) for path in _modules()}
    assert parts <= MAY_IMPORT.keys(), (
        f"{sorted(parts - MAY_IMPORT.keys())}: add to MAY_IMPORT here and to ARCHITECTURE.md"
    )


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_run_down_the_layers(path: Path) -> None:
    assert _against_the_layers(path.read_text(encoding="utf-8"), path) == []


@pytest.mark.parametrize(
    ("module", "source", "line"),
    [
        ("pricing/_table.py", "def f() -> None:\n    from ..ledger import Ledger\n", 2),
        ("ledger/_writer.py", "from ..callback._tally import build_record\n", 1),
        ("ledger/_audit.py", "if TYPE_CHECKING:\n    import azcost.cli\n", 2),
        ("azure/_retail.py", "from .. import ledger\n", 1),
        ("errors.py", "from .pricing import PricingTable\n", 1),
    ],
)
def test_an_import_against_the_layers_is_named_with_its_line(
    module: str, source: str, line: int
) -> None:
    (found,) = _against_the_layers(source, PACKAGE / module)
    assert found.startswith(f"azcost/{module}:{line}: ")


def _private(dotted: str) -> bool:
    """Whether a dotted azcost name goes through a private module or names a private object."""
    parts = dotted.split(".")
    return parts[0] == "azcost" and any(
        p.startswith("_") and not (p.startswith("__") and p.endswith("__")) for p in parts[1:]
    )


def _private_imports(source: str, path: Path) -> list[str]:
    """``file:line: name`` for each private azcost module or name *source* imports."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source, str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
        elif (  # importlib.import_module("azcost._x"), pytest.importorskip("azcost._x")
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in _LOADERS
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.lineno, node.args[0].value))
    return [f"{path.relative_to(ROOT)}:{line}: {name}" for line, name in found if _private(name)]


@pytest.mark.parametrize("path", USERS, ids=lambda p: str(p.relative_to(ROOT)))
def test_tests_and_benchmarks_import_public_names_only(path: Path) -> None:
    assert _private_imports(path.read_text(encoding="utf-8"), path) == [], (
        "export the name from its subpackage's __all__ (or azcost.testing), or test it "
        "through a public path"
    )


@pytest.mark.parametrize(
    ("source", "name"),
    [
        ("from azcost.ledger._db import create_ledger_engine\n", "azcost.ledger._db"),
        ("from azcost.callback import _tally\n", "azcost.callback._tally"),
        ("from azcost.pricing import _plain_or_quoted\n", "azcost.pricing._plain_or_quoted"),
        ("def f() -> None:\n    import azcost._input as i\n", "azcost._input"),
        ("pytest.importorskip('azcost.callback._scope')\n", "azcost.callback._scope"),
    ],
)
def test_an_import_of_a_private_name_is_named_with_its_line(source: str, name: str) -> None:
    (found,) = _private_imports(source, ROOT / "tests" / "test_x.py")
    assert found.startswith("tests/test_x.py:")
    assert name in found


def test_public_names_and_the_version_may_be_imported() -> None:
    source = (
        "import azcost\nfrom azcost import __version__, audit\nfrom azcost.ledger import Ledger\n"
    )
    assert _private_imports(source, ROOT / "bench" / "bench_x.py") == []

"""Layers point one way: no module of ticketlab imports a module of a higher layer.

Every module under ticketlab/ is read with ``ast`` (nothing is imported), and every
``ticketlab.*`` import in it, at module level, inside functions or under ``TYPE_CHECKING``,
is checked against :data:`LAYERS`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import ticketlab

PACKAGE = Path(ticketlab.__file__).parent

# Rank of each top-level module or package of ticketlab: a module may import its own rank
# or lower ones, never a higher one.
LAYERS: dict[str, int] = {
    # leaves: import nothing above themselves
    "__init__": 0, "errors": 0, "registry": 0, "config": 0, "atomic": 0, "seeding": 0, "text": 0, "plotting": 0,
    "stats": 0,
    "data": 1, "models": 1,
    "masks": 2,
    "pruning": 3, "training": 3, "tickets": 3, "strong": 3, "imc": 3, "sparse": 3,
    "runs": 4,  # run directories and their execution
    # tickets exported as compact/sparse/ONNX networks: reads run directories, and strong runs write
    # their source network with its module specs, so it shares the runs' rank
    "export": 4,
    "report": 5,  # reads run results: tables, plots, pages
    "cli": 6, "__main__": 6,
}

# (importing module, imported module) pairs that break the layering today, each with a
# comment naming the issue that removes it. Empty since issue 13: keep it so.
KNOWN_VIOLATIONS: set[tuple[str, str]] = set()


def module_name(path: Path) -> str:
    """``ticketlab/runs/store.py`` -> ``ticketlab.runs.store``; a package's ``__init__`` is the package."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every ``ticketlab`` module that ``path`` imports, relative imports resolved."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            found.add(source)
            # "from ticketlab import report" imports the module ticketlab.report, not a name of ticketlab.
            found.update(f"{source}.{alias.name}" for alias in node.names if is_module(f"{source}.{alias.name}"))
    return {m for m in found if m == "ticketlab" or m.startswith("ticketlab.")}


def is_module(dotted: str) -> bool:
    """Whether ``dotted`` names a module or package of ticketlab (rather than a name inside one)."""
    path = PACKAGE.parent.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def layer(module: str) -> str:
    """The key of ``module`` in :data:`LAYERS`: its top-level part below ``ticketlab``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def modules() -> list[Path]:
    """Every module file of ticketlab, sorted."""
    return sorted(PACKAGE.rglob("*.py"))


def violations() -> set[tuple[str, str]]:
    """Every (importer, imported) pair where the imported module sits in a higher layer."""
    found: set[tuple[str, str]] = set()
    for path in modules():
        importer = module_name(path)
        for imported in imported_modules(path):
            if layer(imported) in LAYERS and LAYERS[layer(imported)] > LAYERS[layer(importer)]:
                found.add((importer, imported))
    return found


def test_every_module_has_a_layer() -> None:
    # A new top-level module or package must be placed in LAYERS before anything can be checked.
    unplaced = {layer(module_name(p)) for p in modules()} - set(LAYERS)
    imported = {layer(m) for p in modules() for m in imported_modules(p)} - set(LAYERS)
    assert not unplaced and not imported, f"add to LAYERS: {sorted(unplaced | imported)}"


def test_no_module_imports_a_higher_layer() -> None:
    new = violations() - KNOWN_VIOLATIONS
    assert not new, "lower layers import higher ones:\n" + "\n".join(f"  {a} imports {b}" for a, b in sorted(new))


def test_known_violations_still_exist() -> None:
    # An entry whose import is gone must leave the set, so the set only ever shrinks to empty.
    stale = KNOWN_VIOLATIONS - violations()
    assert not stale, "fixed, remove from KNOWN_VIOLATIONS:\n" + "\n".join(f"  {a}, {b}" for a, b in sorted(stale))


def fake_package(root: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str]) -> Path:
    """A throwaway ``ticketlab`` package under ``root`` holding ``files`` (path: source), read in place of the real one."""
    fake = root / "ticketlab"
    for module in ("__init__", "errors", "masks/__init__", "runs/__init__", "runs/store", "report/__init__",
                   "report/table", *files):
        path = (fake / module).with_suffix(".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files.get(module, ""))
    monkeypatch.setattr(f"{__name__}.PACKAGE", fake)
    return fake


@pytest.mark.parametrize("source, expected", [
    ("import ticketlab.report.table", {"ticketlab.report.table"}),
    ("from ticketlab.report import format_table", {"ticketlab.report"}),
    ("from ticketlab import report, errors", {"ticketlab", "ticketlab.report", "ticketlab.errors"}),
    ("def f():\n    from ticketlab.cli.main import main", {"ticketlab.cli.main"}),
    ("from ..report.table import percent", {"ticketlab.report.table"}),
    ("from . import store", {"ticketlab.runs", "ticketlab.runs.store"}),
    ("import torch\nfrom pathlib import Path", set()),
])
def test_imports_are_read_wherever_they_stand(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str,
                                              expected: set[str]) -> None:
    # The checker itself can fail: a fake ticketlab/runs/probe.py is read as the real ones are.
    fake = fake_package(tmp_path, monkeypatch, {"runs/probe": source})
    assert imported_modules(fake / "runs" / "probe.py") == expected


def test_a_lower_layer_importing_a_higher_one_is_caught(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_package(tmp_path, monkeypatch, {
        "masks/bad": "def table():\n    from ticketlab.report import format_table\n",
        "runs/fine": "from ticketlab.masks import bad\nfrom ticketlab.errors import ConfigError\n",
    })
    assert violations() == {("ticketlab.masks.bad", "ticketlab.report")}

"""The package map (docs/architecture.md) holds: each package imports only the packages below it.

    trading_pipeline   the core: no queue, no process, no screen
    jobqueue           the work list (RQ on Redis)          -> core
    stack              `pipeline up`'s processes            -> core, jobqueue
    daemon, workers    the processes                        -> core, jobqueue, stack
    ui, cli            the screens                          -> everything above
    testkit            helpers for tests and benchmarks     -> anything; nothing in production imports it

Function-level imports count too: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
OURS = {"trading_pipeline", "jobqueue", "stack", "daemon", "workers", "ui", "cli", "testkit"}
ALLOWED: dict[str, set[str]] = {
    "trading_pipeline": set(),
    "jobqueue": {"trading_pipeline"},
    "stack": {"trading_pipeline", "jobqueue"},
    "daemon": {"trading_pipeline", "jobqueue", "stack"},
    "workers": {"trading_pipeline", "jobqueue", "stack"},
    "ui": {"trading_pipeline", "jobqueue", "stack"},
    "cli": {"trading_pipeline", "jobqueue", "stack", "daemon", "workers", "ui"},
    "testkit": OURS,
}
CORE_MUST_NOT_USE = {"rq", "redis", "streamlit", "watchdog", "typer", "rich"}
"""Third-party packages that would make the core know a queue, a process or a screen."""


def _imports(path: Path) -> set[str]:
    """Top-level names of every module ``path`` imports, at any depth of the file."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _files(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_the_packages_below_it(package: str) -> None:
    """No arrow runs back up the map."""
    wrong = {
        str(path.relative_to(REPO)): sorted((_imports(path) & OURS) - ALLOWED[package] - {package})
        for path in _files(package)
    }
    assert {f: names for f, names in wrong.items() if names} == {}


def test_the_core_uses_no_queue_process_or_screen_library() -> None:
    """The core is what every process shares; RQ, Redis, watchdog and screens stay outside it."""
    used = {
        str(p.relative_to(REPO)): sorted(_imports(p) & CORE_MUST_NOT_USE) for p in _files("trading_pipeline")
    }
    assert {f: names for f, names in used.items() if names} == {}


def test_the_map_covers_every_package() -> None:
    """A new top-level package gets a place in the map (and in this test) before it lands."""
    packages = {p.parent.name for p in REPO.glob("*/__init__.py")}
    assert packages - {"tests", "benchmarks"} == set(ALLOWED)

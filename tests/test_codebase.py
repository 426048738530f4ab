"""The codebase keeps its own rules: lint, format, strict types, small files, packages from this repo."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
MAX_LINES = 650


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=600)


PACKAGES = ["trading_pipeline", "jobqueue", "stack", "cli", "daemon", "workers", "ui", "testkit"]


@pytest.mark.parametrize("package", PACKAGES)
def test_packages_import_from_this_repository(package: str) -> None:
    """`daemon` and friends are ours, not a same-named distribution such as python-daemon."""
    module = importlib.import_module(package)
    assert module.__file__ is not None
    assert Path(module.__file__).resolve().is_relative_to(REPO)


def test_python_daemon_is_not_installed() -> None:
    """python-daemon also installs a top-level `daemon`; nothing may pull it in."""
    from importlib.metadata import PackageNotFoundError, distribution

    with pytest.raises(PackageNotFoundError):
        distribution("python-daemon")


def test_no_source_file_exceeds_the_line_limit() -> None:
    """No Python file over 650 lines: split it by responsibility instead."""
    tracked = _run("git", "ls-files", "*.py").stdout.split()
    files = tracked or [str(p.relative_to(REPO)) for p in REPO.rglob("*.py") if ".venv" not in p.parts]
    too_long = {f: n for f in files if (n := len((REPO / f).read_text().splitlines())) > MAX_LINES}
    assert too_long == {}


def test_ruff_lint_is_clean() -> None:
    """`ruff check` reports nothing."""
    result = _run(str(BIN / "ruff"), "check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean() -> None:
    """Every file is formatted as `ruff format` would write it."""
    result = _run(str(BIN / "ruff"), "format", "--check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_is_clean() -> None:
    """Every package type-checks under mypy --strict (the list is in pyproject)."""
    result = _run(str(BIN / "mypy"), "--no-incremental")
    assert result.returncode == 0, result.stdout + result.stderr

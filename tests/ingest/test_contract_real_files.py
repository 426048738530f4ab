"""The shared contract checker passes: `pipeline ingest FILE --json` on every real sample file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

CHECKER = Path(__file__).resolve().parents[3] / "shared" / "checks" / "ingest_contract.py"
PIPELINE = Path(sys.executable).parent / "pipeline"


@pytest.mark.integration
def test_ingest_contract_checker_passes_on_the_real_files(real_data: Path) -> None:
    """ingest_contract.py reads back every stored Parquet against hand-read values and exits 0."""
    if not CHECKER.is_file():
        pytest.skip(f"contract checker not present at {CHECKER}")
    result = subprocess.run(
        [sys.executable, str(CHECKER), str(PIPELINE), str(real_data)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr

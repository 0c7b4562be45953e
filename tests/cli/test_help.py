"""``--help`` of the app and of every command (commands import their modules lazily)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from movierecs.cli import app

COMMANDS = [
    "data", "data download", "load", "train", "evaluate", "recommend", "promote", "serve", "consume", "ui", "demo",
    "keys", "keys add", "keys list",
]  # fmt: skip


def test_app_help_lists_every_command() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0, result.output
    for command in COMMANDS:
        assert command.split()[0] in result.output


@pytest.mark.parametrize("command", COMMANDS)
def test_command_help(command: str) -> None:
    result = CliRunner().invoke(app, [*command.split(), "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    assert command.split()[-1] in result.output


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("train", ["--dataset", "--interactions", "--output-dir", "--no-register", "--factors", "--tune"]),
        ("recommend", ["--model", "--users-file", "--output", "-k"]),
        ("evaluate", ["--dataset", "--split", "--json", "--weightings"]),
        ("promote", ["--version", "--tolerance", "--force"]),
        ("data download", ["--dataset", "--dest"]),
    ],
)
def test_documented_options(command: str, options: list[str]) -> None:
    result = CliRunner().invoke(app, [*command.split(), "--help"], env={"COLUMNS": "200"})
    for option in options:
        assert option in result.output, (command, option)


def test_no_arguments_shows_help() -> None:
    result = CliRunner().invoke(app, [])
    assert "Usage:" in result.output

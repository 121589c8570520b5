"""The root command loads command modules lazily: `regie --help` lists every command from
its table without importing the engine, and the table says what the commands say."""

from __future__ import annotations

import importlib
import subprocess
import sys

from regie.cli import COMMANDS


def test_the_table_lists_every_command_with_its_own_help() -> None:
    modules = {module for module, _help in COMMANDS.values()}
    real = {
        command.name: (module, command.get_short_help_str(limit=45))
        for module in modules
        for command in importlib.import_module(f"regie.{module}").COMMANDS
    }
    assert real == COMMANDS


def test_help_of_the_root_imports_no_engine() -> None:
    code = (
        "import sys\n"
        "from regie.cli import cli\n"
        "try:\n"
        "    cli(['--help'], prog_name='regie')\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [m for m in ('sqlalchemy', 'sqlmodel', 'regie.engine', 'rich', 'holidays')"
        " if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "Commands:" in out.stdout and "withdraw" in out.stdout
    assert out.stdout.strip().splitlines()[-1] == "[]"

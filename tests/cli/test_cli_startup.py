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
        for command in importlib.import_module(f"regie.cli.{module}").COMMANDS
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


def test_help_of_every_command_imports_no_engine() -> None:
    """`regie CMD --help` stays as cheap as `regie --help` (issue 15): the engine and the
    heavy libraries are loaded when a command runs, not when it describes itself."""
    code = (
        "import sys, types\n"
        "from regie.cli import COMMANDS, cli\n"
        "for name in sorted(COMMANDS):\n"
        "    try:\n"
        "        cli([name, '--help'], prog_name='regie')\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = ('sqlalchemy', 'sqlmodel', 'alembic', 'pydantic', 'holidays', 'jinja2', 'rich',"
        " 'babel', 'transitions', 'regie.engine.', 'regie.notifications.')\n"
        "loaded = sorted({m.split('.')[0] if not m.startswith('regie') else m"
        " for m, mod in sys.modules.items() if m.startswith(heavy)"
        # a lazy module (regie.lazy) not yet used is not of type ModuleType
        " and m != 'regie.notifications.types' and type(mod) is types.ModuleType})\n"
        "print(loaded)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "withdraw" in out.stdout
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_the_choices_offered_without_the_engine_are_the_engines() -> None:
    from regie.cli import words
    from regie.engine import mandate
    from regie.notifications import sink, smtp_settings, types

    assert tuple(words.STANCES["en"]) == tuple(words.STANCES["nl"]) == mandate.STANCES
    assert sink.DEFAULT_PORT == smtp_settings.DEFAULT_PORT == types.SINK_PORT

"""Commands registered on `regie` by this module (see cli.py)."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []

"""The `pluralist` command. Thin: parse, call the library, print.

base.py holds what every command shares (the group, one-line errors, option types);
each *_commands module registers its commands on the group when imported.
"""

from __future__ import annotations

from . import data_commands, elicit_commands, model_commands, serve_commands  # noqa: F401  (importing registers the commands)
from .base import cli

__all__ = ["cli", "main"]


def main():
    cli(prog_name="pluralist")

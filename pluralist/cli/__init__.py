"""The `pluralist` command. Thin: parse, call the library, print.

base.py holds what every command shares (the group, one-line errors, option types);
each *_commands module registers its commands on the group when imported.
"""

from __future__ import annotations

from . import (data_commands, elicit_commands, model_commands,  # noqa: F401  (importing
               serve_commands)                                  # registers the commands)
from .base import cli

__all__ = ["cli", "main"]


def main():
    from ..runtime import configure_threads

    configure_threads()   # before torch is imported: its thread pool starts then
    cli(prog_name="pluralist")

"""The `pluralist` command. Thin: parse, call the library, print.

base.py holds what every command shares (the group, one-line errors, option types);
each *_commands module registers its commands on the group when imported.
"""

from __future__ import annotations

from . import (aggregate_commands, data_commands, elicit_commands,  # noqa: F401  (importing
               model_commands, serve_commands)                     # registers the commands)
from .base import cli

__all__ = ["cli", "main"]


def main():
    from ..runtime import configure_threads

    configure_threads()   # before torch is imported: its thread pool starts then
    cli(prog_name="pluralist")

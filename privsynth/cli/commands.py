"""Kept for old imports (``from privsynth.cli import commands``): registration is explicit now.

Every command is listed in :data:`privsynth.cli.app.COMMANDS` and loaded on first use; importing
this module registers nothing and loads no command module.
"""

from privsynth.cli.app import COMMANDS

__all__ = ["COMMANDS"]

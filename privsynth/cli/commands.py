"""Imports every command module so each registers its commands on ``app``.

A command module that is missing in this build is skipped; the others still work.
"""

import importlib

for _name in ("synth", "schema", "audit", "certify", "report", "registry", "dpaudit", "sample"):
    try:
        importlib.import_module(f"privsynth.cli.{_name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"privsynth.cli.{_name}":
            raise

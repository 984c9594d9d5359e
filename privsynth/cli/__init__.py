"""The privsynth command line (typer): thin commands over the Python API."""

from privsynth.cli.app import app, main

__all__ = ["app", "main"]

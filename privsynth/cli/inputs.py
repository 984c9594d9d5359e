"""DATA / ``--example`` / ``--schema``: the command line's wording for where the inputs are.

The library (:func:`privsynth.pipeline.load_inputs`) takes two paths; the CLI resolves the bundled
example and explains a missing schema here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from privsynth.errors import InputError
from privsynth.io import EXAMPLE_SCHEMA, EXAMPLE_TABLE, example_path

NO_SCHEMA_HELP = (
    "no --schema given. privsynth reads nothing about your data's domain for free; get a schema "
    "one of two ways: (1) `privsynth schema infer DATA -o schema.json` writes a draft read from "
    "the data (NOT private: review it and replace values with public knowledge), or "
    "(2) `privsynth schema infer DATA --epsilon 0.1 -o schema.json` writes a differentially "
    "private draft (its cost is recorded). A Private-PGM domain file also works."
)


def resolve_inputs(
    data: Path | None, schema: Path | None, *, example: bool = False
) -> tuple[Path, Path]:
    """(table, schema) paths from DATA, ``--example`` and ``--schema``, with the CLI's errors."""
    if example and data is not None:
        raise InputError("give either a DATA file or --example, not both")
    if not example and data is None:
        raise InputError("no input table: give a DATA file (CSV or Parquet) or --example")
    if example:
        data = example_path(EXAMPLE_TABLE)
        schema = schema or example_path(EXAMPLE_SCHEMA)
    assert data is not None
    if schema is None:
        plain = "://" not in str(data) and not any(ch in str(data) for ch in "*?[")
        if plain and not Path(data).is_file():
            raise InputError(f"{data}: no such file")
        raise InputError(NO_SCHEMA_HELP)
    return Path(data), Path(schema)


def load_inputs(
    data: Path | None, schema: Path | None, *, example: bool = False, **options: Any
) -> Any:
    """:func:`privsynth.pipeline.load_inputs` after :func:`resolve_inputs` (for ``dp-audit``)."""
    from privsynth.pipeline import load_inputs as load

    table, schema_path = resolve_inputs(data, schema, example=example)
    return load(table, schema_path, **options)

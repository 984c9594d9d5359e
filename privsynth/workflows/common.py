"""Helpers the workflows share: column checks, the holdout split, the attack run.

The split: ``round(n * fraction)`` holdout rows drawn by a seeded permutation of the row positions.
It is a function of the private table's size and the seed, which is why a seed the user did not
give is written nowhere (docs/privacy.md). The attacks and the split are evaluation, internal
output: they spend no privacy budget and never reach a mechanism.

For a large file (the DuckDB engine), :func:`split_file` makes the same split without reading the
file into pandas: DuckDB streams the rows in file order (``preserve_insertion_order``) in Arrow
batches, and each batch's rows go to a train or a holdout Parquet file by the same positions
:func:`split_holdout` gives (a boolean mask of n bytes is the only per-row memory besides the
permutation). The files lie in a private temporary folder; the synthesizer reads the training
file through the engine. A CSV's cells are copied as the text they are, a Parquet file's as they
are typed, so reading either file with ``io.read_table`` gives the rows the pandas path selects
(tests/test_certify_split.py), except where a column's numeric reading depends on rows of the
other part (a column numeric in the training rows only): then the types differ, the values do not.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from privsynth.errors import OptionError
from privsynth.progress import Progress


def split_holdout(n: int, fraction: float, seed: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Seeded (train, holdout) row positions; the holdout is ``round(n * fraction)`` rows."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    n_h = int(round(n * fraction))
    if n_h < 1 or n - n_h < 1:
        raise OptionError("holdout_fraction", f"{fraction} leaves no train or no holdout rows")
    return np.sort(perm[n_h:]), np.sort(perm[:n_h])


# rows per Arrow batch when a file is split in the engine
SPLIT_BATCH_ROWS = 1 << 17


@dataclass(frozen=True)
class SplitFiles:
    """A file split in the engine: Parquet files of the training and the holdout rows."""

    train: Path
    holdout: Path
    n_train: int
    n_holdout: int


def split_file(
    data: str | os.PathLike[str],
    n_rows: int,
    fraction: float,
    seed: int | None,
    folder: str | os.PathLike[str],
    *,
    config: Any = None,
) -> SplitFiles:
    """Write the rows :func:`split_holdout` selects for ``n_rows`` rows into ``folder`` as
    ``train.parquet`` and ``holdout.parquet``, streaming the file through DuckDB (module
    docstring); a file that does not have ``n_rows`` rows is an error (it changed)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from privsynth.engines import EngineConfig
    from privsynth.engines.duckdb_engine import DuckDBEngine, expand_paths, table_function
    from privsynth.errors import InputError

    _, holdout_rows = split_holdout(n_rows, fraction, seed)
    is_holdout = np.zeros(n_rows, dtype=bool)
    is_holdout[holdout_rows] = True
    paths = (Path(folder) / "train.parquet", Path(folder) / "holdout.parquet")
    con, tmp = DuckDBEngine(config or EngineConfig()).connect()
    writers: list[Any] = []
    done = 0
    try:
        query = con.sql(f"SELECT * FROM {table_function(expand_paths(data))}")
        for batch in query.to_arrow_reader(SPLIT_BATCH_ROWS):
            rows = pa.Table.from_batches([batch])
            if done + rows.num_rows > n_rows:
                raise InputError(f"{data}: the file changed while it was being split; run again")
            mask = is_holdout[done : done + rows.num_rows]
            writers = writers or [pq.ParquetWriter(p, rows.schema) for p in paths]
            writers[0].write_table(rows.filter(pa.array(~mask)))
            writers[1].write_table(rows.filter(pa.array(mask)))
            done += rows.num_rows
    finally:
        for w in writers:
            w.close()
        con.close()
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    if done != n_rows:
        raise InputError(f"{data}: the file changed while it was being split; run again")
    return SplitFiles(paths[0], paths[1], n_rows - len(holdout_rows), len(holdout_rows))


class EngineSplit(NamedTuple):
    """:func:`split_in_engine`'s parts: the training and holdout rows as
    :func:`privsynth.workflows.audit.read_lean` gives them (text columns as Categoricals), the
    training rows encoded in DuckDB, and per part the text columns ``as_read`` turns back into
    ``read_table``'s form (``text["train"]``, ``text["holdout"]``)."""

    train: pd.DataFrame
    holdout: pd.DataFrame
    source: Any
    text: dict[str, dict[str, Any]]


def split_in_engine(inputs: Any, fraction: float, seed: int | None) -> EngineSplit:
    """The training and holdout rows of ``inputs`` whose data is an engine's encoded table of a
    large file: :func:`split_file` into a private temporary folder, the training file encoded for
    the synthesizer, both parts read lean for the attacks (text columns as Categoricals: a few
    bytes a cell instead of a Python string); the folder is removed before returning. The full
    table's encoding is closed (its row count stays)."""
    import tempfile

    from privsynth.engines import close_table, encode_table
    from privsynth.workflows.audit import read_lean

    n_rows = int(inputs.data.n_rows)
    close_table(inputs.data)
    with tempfile.TemporaryDirectory(prefix="privsynth-split-") as folder:
        files = split_file(inputs.path, n_rows, fraction, seed, folder)
        train_source = encode_table(str(files.train), inputs.schema, engine="duckdb")
        (train, train_text), (holdout, holdout_text) = (
            read_lean(files.train),
            read_lean(files.holdout),
        )
    return EngineSplit(train, holdout, train_source, {"train": train_text, "holdout": holdout_text})


def check_columns(
    columns: Sequence[str],
    *,
    target: str | None = None,
    secrets: Sequence[str] | None = None,
    qi: Sequence[str] | None = None,
    policy: Any = None,
) -> None:
    """Every column a setting or the policy names exists in the data (InputError before any work).

    A bad one raises :class:`OptionError` naming the field (``target``, ``secret``, ``qi``).
    """
    columns = list(columns)
    named = [("target", target)] + [("secret", c) for c in secrets or []]
    named += [("qi", c) for c in qi or []]
    for field, col in named:
        if col is not None and col not in columns:
            raise OptionError(field, f"{col!r}: no such column (columns: {', '.join(columns)})")
    if policy is not None:
        from reports.policy import check_policy_columns

        check_policy_columns(policy, columns)


def run_attacks(
    tables: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame],
    progress: Progress,
    **settings: Any,
) -> Any:
    """``attacks.run_audit`` on (train, holdout, synthetic) under a progress bar.

    ``settings`` go to ``run_audit`` unchanged (``column_types``, ``qi``, ``secrets``, ``seed``,
    ``n_jobs``). An :class:`attacks.AuditInputError` is an ``InputError``: it needs no translation.
    """
    from attacks import AUDIT_STEPS, run_audit

    with progress.task("auditing", total=AUDIT_STEPS) as advance:
        last = [0]

        def on_progress(step: str, done: int, total: int) -> None:
            advance(done - last[0], description=f"auditing: {step}")
            last[0] = done

        result = run_audit(*tables, progress=on_progress, **settings)
        advance(AUDIT_STEPS - last[0])
    return result


def reserve(config: Any, kind: str) -> Any:
    """The registry's reservation of ``config``'s budget (None without a registry), taken before
    any private data is read (docs/governance.md)."""
    from privsynth.registry.reservation import cli_reserve

    reg = config.registry
    return cli_reserve(
        reg.registry,
        reg.source,
        reg.parent,
        kind=kind,
        epsilon=config.epsilon,
        delta=config.delta,
        method=config.method,
        rho=config.budget.rho,
    )

"""Reading and writing tables (CSV and Parquet, chosen by extension), with atomic writes.

Reading is deliberately plain: every CSV cell is read as text, trimmed, missing markers become NA,
and a column whose every non-missing cell parses as a number becomes numeric. Type decisions beyond
that belong to the schema, which names the column and row of any value it cannot accept.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from privsynth.errors import InputError

DEFAULT_MISSING: tuple[str, ...] = ("", "?", "NA", "N/A", "NaN", "nan", "null", "NULL")
TABLE_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq")


def _kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        return "csv"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    raise InputError(f"{path}: unsupported table format (use one of {', '.join(TABLE_SUFFIXES)})")


def read_table(
    path: str | os.PathLike[str],
    *,
    missing: Iterable[str] = DEFAULT_MISSING,
    trim: bool = True,
) -> pd.DataFrame:
    """Read a CSV or Parquet table; cells equal to a ``missing`` marker (after trimming) become NA."""
    path = Path(path)
    kind = _kind(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    markers = set(missing)
    try:
        if kind == "csv":
            # header=None makes the parser count fields on every line against the first one, so a
            # row with extra fields is an error rather than silently shifting into an index.
            raw = pd.read_csv(path, header=None, dtype=str, keep_default_na=False, na_filter=False)
            if len(raw) == 0:
                raise InputError(f"{path}: the file is empty")
            df = raw.iloc[1:].reset_index(drop=True)
            df.columns = raw.iloc[0].tolist()
        else:
            df = pd.read_parquet(path)
    except InputError:
        raise
    except pd.errors.EmptyDataError as exc:
        raise InputError(f"{path}: the file is empty") from exc
    except Exception as exc:  # pandas/pyarrow raise many types; the user needs one line
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: cannot read table: {first}") from exc
    if df.shape[1] == 0:
        raise InputError(f"{path}: the table has no columns")
    dupes = df.columns[df.columns.duplicated()].tolist()
    if dupes:
        raise InputError(f"{path}: duplicate column names {dupes}")
    df.columns = [str(c).strip() if trim else str(c) for c in df.columns]
    for col in df.columns:
        s = df[col]
        if s.dtype == object or pd.api.types.is_string_dtype(s):
            s = s.astype(object)
            text = s.where(s.isna(), s.astype(str))
            if trim:
                text = text.str.strip()
            text = text.where(~text.isin(markers), None)
            df[col] = _maybe_numeric(text)
    return df


def _maybe_numeric(text: pd.Series) -> pd.Series:
    """Numbers if every present cell parses as one (integers stay integers), else the text."""
    present = text.notna()
    if not present.any():
        return text.astype(object)
    nums = pd.to_numeric(text, errors="coerce")
    if nums[present].isna().any():
        return text.astype(object)
    finite = nums[present].to_numpy(dtype=float)
    if np.all(np.isfinite(finite)) and np.all(finite == np.round(finite)) and not present.all():
        return nums.astype("Int64")
    if np.all(np.isfinite(finite)) and np.all(finite == np.round(finite)):
        return nums.astype(np.int64)
    return nums.astype(float)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it into place only if the block succeeds."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"{path}: output folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise InputError(f"{path}: output folder {parent} is not writable")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write text atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_table(df: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write a CSV or Parquet table atomically (no partial file is ever left at ``path``)."""
    path = Path(path)
    kind = _kind(path)
    with atomic_path(path) as tmp:
        if kind == "csv":
            gz = path.name.lower().endswith(".gz")
            df.to_csv(tmp, index=False, compression="gzip" if gz else None)
        else:
            df.to_parquet(tmp, index=False)


def sha256_file(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes (streamed)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def example_path(name: str) -> Path:
    """Path of a file bundled in ``privsynth/data`` (the Adult example and its schema)."""
    return Path(str(resources.files("privsynth") / "data" / name))


EXAMPLE_TABLE = "adult.csv.gz"
EXAMPLE_SCHEMA = "adult-schema.json"

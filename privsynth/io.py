"""Reading and writing tables (CSV and Parquet, chosen by extension), with atomic writes.

Reading is deliberately plain: every CSV cell is read as text, trimmed, missing markers become NA,
and a column whose every non-missing cell parses as a number becomes numeric. Type decisions beyond
that belong to the schema, which names the column and row of any value it cannot accept.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import hashlib
import os
from collections.abc import Iterable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from privsynth.errors import InputError
from privsynth.outputs import atomic_group

DEFAULT_MISSING: tuple[str, ...] = ("", "?", "NA", "N/A", "NaN", "nan", "null", "NULL")
TABLE_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq")


def table_format(path: Path) -> str:
    """``"csv"`` or ``"parquet"`` from the file name (InputError for any other suffix)."""
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
    """Read a CSV or Parquet table; cells equal to a ``missing`` marker (after trimming) become NA.

    A CSV row with fewer or more fields than the header is an error naming the row; so are column
    names that are equal after trimming, and ``inf``/``-inf`` in a numeric column.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a table file")
    kind = table_format(path)
    _check_readable(path)
    markers = set(missing)
    try:
        df = _read_csv_strict(path) if kind == "csv" else pd.read_parquet(path)
    except InputError:
        raise
    except Exception as exc:  # pandas/pyarrow raise many types; the user needs one line
        if isinstance(exc, UnicodeDecodeError) or "invalid UTF8" in str(exc):
            raise InputError(
                f"{path}: the file is not UTF-8 text; save it as UTF-8 (for example "
                "`iconv -f latin1 -t utf-8`)"
            ) from None
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: cannot read table: {first}") from exc
    if df.shape[1] == 0:
        raise InputError(f"{path}: the table has no columns")
    _check_separator(path, kind, df)
    names = [str(c).strip() if trim else str(c) for c in df.columns]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(
            f"{path}: duplicate column names {dupes}"
            + (" (after trimming spaces)" if len(set(map(str, df.columns))) == len(names) else "")
        )
    df.columns = names
    for col in df.columns:
        s, where = df[col], f"{path}: column {col!r}"
        if kind == "csv" or s.dtype == object or pd.api.types.is_string_dtype(s):
            df[col] = _clean_text(s, markers, trim, where)
        elif pd.api.types.is_float_dtype(s):
            _check_finite(s, where)
    return df


def _check_separator(path: Path, kind: str, df: pd.DataFrame) -> None:
    """A CSV read as one column whose name holds ';', a tab or '|' was written with another
    separator: an error saying so, not a one-column table that fails later as a column mismatch."""
    if kind != "csv" or df.shape[1] != 1:
        return
    name = str(df.columns[0])
    for sep, label in ((";", "';'"), ("\t", "tabs"), ("|", "'|'")):
        if sep in name:
            raise InputError(
                f"{path}: the header is one column that contains {label}: the file looks "
                f"separated by {label}, and privsynth reads comma-separated CSV; save it with "
                "commas (quote fields that contain commas)"
            )


def _clean_text(s: pd.Series, markers: set[str], trim: bool, where: str) -> pd.Series:
    """Trim, mark missing and parse one text column, working on its distinct values.

    Every step is a function of the cell's text alone, so it runs once per distinct value and is
    mapped back to the rows by their codes: the same result as cell by cell, at the cost of a hash
    pass. A column holding other objects than text (mixed Parquet objects) goes cell by cell.
    """
    if isinstance(s.dtype, pd.CategoricalDtype):  # the CSV reader's dictionary-encoded text
        codes, uniques = s.cat.codes.to_numpy(), s.cat.categories.to_numpy(dtype=object)
    elif pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty"):
        codes, uniques = pd.factorize(s.astype(object), use_na_sentinel=True)
        uniques = np.asarray(uniques, dtype=object)
    else:
        s = s.astype(object)
        codes, uniques = np.arange(len(s)), np.asarray(s.where(s.isna(), s.astype(str)), object)
    text = pd.Series(uniques, dtype=object)
    if trim:
        text = text.str.strip()
    text = text.where(~text.isin(markers), None)
    codes = np.asarray(codes, dtype=np.intp)
    out = _numeric_or_text(text, codes, where)
    absent = codes < 0
    if out.dtype == object and absent.any():  # a missing cell keeps its own NA (None or NaN)
        values = out.to_numpy(dtype=object, copy=True)
        values[absent] = s.to_numpy(dtype=object)[absent]
        out = pd.Series(values, dtype=object)
    out.index = s.index  # a Parquet file may carry its own index
    return out


def numbers_from_distinct(text: pd.Series, codes: np.ndarray, where: str) -> pd.Series | None:
    """The numeric column read_table makes of a text column given by its distinct values, or
    None when some present value is not a number (read_table keeps such a column as text).

    ``text`` holds the distinct values already trimmed with the missing markers as None, and row
    ``i`` has ``text[codes[i]]`` (a negative code: a null in the file). The result is
    read_table's exactly (integers stay integers, a missing cell makes the column ``Int64`` or
    float NaN, ``inf`` is the same one-line error) and costs one pass over ``codes``: no Python
    string per cell. Used by ``workflows.audit.read_lean`` for numbers stored as text.
    """
    present = text.notna().to_numpy()
    if not present.any() or pd.to_numeric(text[present], errors="coerce").isna().any():
        return None
    return _numeric_or_text(text, np.asarray(codes, dtype=np.intp), where)


def _numeric_or_text(text: pd.Series, codes: np.ndarray, where: str) -> pd.Series:
    """Numbers if every present cell parses as one (integers stay integers), else the text.

    ``text`` holds the distinct values (None where missing); row ``i`` has ``text[codes[i]]``, and
    a negative code is a missing cell.
    """
    absent = codes < 0
    present_u = text.notna().to_numpy()
    if not present_u.any():
        return pd.Series([None] * len(codes), dtype=object)
    safe = np.where(absent, 0, codes)
    rows_present = ~absent & present_u[safe]
    nums = pd.to_numeric(text, errors="coerce")
    if nums[present_u].isna().any():
        out = text.to_numpy(dtype=object)[safe]
        out[absent] = None
        return pd.Series(out, dtype=object)
    every = bool(rows_present.all())
    if every and nums.dtype.kind == "i" and int(nums.abs().max()) <= _EXACT_INT:
        return pd.Series(nums.to_numpy(dtype=np.int64)[safe])  # every cell present and exact
    per_value = nums.to_numpy(dtype=float, na_value=np.nan)
    values = per_value[safe]
    values[~rows_present] = np.nan
    _check_finite(pd.Series(values), where)
    finite = per_value[present_u]
    whole = np.all(finite == np.round(finite)) and np.all(np.abs(finite) <= _EXACT_INT)
    if whole and not every:
        return pd.Series(values).round().astype("Int64")
    if whole:
        return pd.Series(values.astype(np.int64))
    return pd.Series(values)


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a table file")
    if not path.is_file():
        raise InputError(f"{path}: is not a regular file (a pipe or device); give a table file")
    if not os.access(path, os.R_OK):
        raise InputError(f"{path}: permission denied (the file is not readable)")


def _header(path: Path) -> list[str]:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as fh:  # type: ignore[operator]
        try:
            return next(csv.reader(fh))
        except StopIteration:
            raise InputError(f"{path}: the file is empty") from None


def _read_csv_strict(path: Path) -> pd.DataFrame:
    """Every cell as text; a row whose field count differs from the header's is an error."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    header = _header(path)
    names = [f"c{i}" for i in range(len(header))]
    ragged: list[tuple[int | None, int]] = []

    def on_bad_row(row: Any) -> str:
        ragged.append((row.number, row.actual_columns))
        return "error"

    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(
                column_names=names, skip_rows=1, use_threads=False, block_size=1 << 24
            ),
            parse_options=pacsv.ParseOptions(invalid_row_handler=on_bad_row),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except Exception:
        if ragged:
            number, got = ragged[0]
            at = f"data row {number - 1}" if number else "a row"
            raise InputError(
                f"{path}: {at} has {got} fields but the header has {len(header)}; "
                "fix the row (quote fields that contain commas)"
            ) from None
        raise
    import pyarrow.compute as pc

    columns = {}
    for i, name in enumerate(names):  # dictionary-encoded: the text is cleaned per distinct value
        encoded = pc.dictionary_encode(table.column(name).combine_chunks())
        columns[i] = pd.Categorical.from_codes(
            encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64),
            categories=pd.Index(encoded.dictionary.to_numpy(zero_copy_only=False), dtype=object),
        )
    df = pd.DataFrame(columns, index=pd.RangeIndex(table.num_rows))
    df.columns = header
    return df


def _check_finite(nums: pd.Series, where: str) -> None:
    values = nums.to_numpy(dtype=float, na_value=np.nan)
    infinite = np.isinf(values)
    if infinite.any():
        row = int(np.flatnonzero(infinite)[0]) + 1
        raise InputError(
            f"{where}: value {values[row - 1]!s} at data row {row} is not a finite number "
            f"({int(infinite.sum())} rows); remove it or give it as a missing value"
        )


# Integers stay integers only where float64 holds them exactly (|x| <= 2**53); larger whole numbers,
# and anything beyond the int64 range, become floats rather than wrapping around.
_EXACT_INT = 2.0**53


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it into place only if the block succeeds.

    The file gets the user's usual permissions (umask), and SIGTERM cleans up like SIGINT
    (see ``privsynth.outputs``).
    """
    with atomic_group([path]) as (tmp,):
        yield tmp


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write text atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_table(df: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write a CSV or Parquet table atomically (no partial file is ever left at ``path``)."""
    table_format(Path(path))
    with atomic_path(path) as tmp:
        write_table_file(df, tmp, like=path)


def write_table_file(
    df: pd.DataFrame, path: str | os.PathLike[str], *, like: str | os.PathLike[str] | None = None
) -> None:
    """Write a table to ``path`` in the format ``like``'s name gives (default: ``path``'s).

    Not atomic by itself: for a temporary from ``privsynth.outputs.atomic_group``.
    """
    kind_of = Path(like if like is not None else path)
    if table_format(kind_of) == "csv":
        gz = kind_of.name.lower().endswith(".gz")
        df.to_csv(path, index=False, compression="gzip" if gz else None)
    else:
        df.to_parquet(path, index=False)


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

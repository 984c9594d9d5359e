"""Draft a schema from the data itself (NOT differentially private) for a person to review.

Every value in such a draft (the category lists, the exact minimum and maximum) is read from the
private table: rare categories and extreme values are exactly what identifies people. The draft says
so in the file, and the command says so on the terminal. ``privsynth.schema_dp`` makes a private one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from privsynth.errors import InputError
from privsynth.schema import DEFAULT_BINS, ColumnSpec, Schema

NOT_PRIVATE_WARNING = (
    "DRAFT DERIVED FROM PRIVATE DATA - NOT DIFFERENTIALLY PRIVATE. Categories and min/max bounds "
    "below were read from the data and can reveal individuals (rare categories, extreme values). "
    "Review every column: replace bounds and category lists with public knowledge, drop rare "
    'categories (set "other": true), mark direct identifiers {"type": "exclude"}, then '
    "delete this warning. Or make a private draft with `privsynth schema infer --epsilon`."
)
DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%d/%m/%Y", "%m/%d/%Y")
# A text column with this many distinct values, nearly all unique, looks like an identifier.
ID_MIN_DISTINCT = 100
ID_UNIQUE_SHARE = 0.9
# A text column whose rows are at least this share numbers (not all) gets a note: likely a
# numeric column with stray text, which the audit refuses (attacks.geometry).
MOSTLY_NUMBERS = 0.95


def mostly_numbers_note(values: pd.Series, counts: np.ndarray) -> str:
    """The note of a categorical draft whose distinct present ``values`` (with row ``counts``)
    are at least ``MOSTLY_NUMBERS`` numbers by rows but not all; "" otherwise. No figure and no
    value: a note can outlive the review of a draft (bounds and categories are replaced by public
    knowledge, a note may be left), so it carries nothing read from the data."""
    numeric = pd.to_numeric(values.astype(str), errors="coerce").notna().to_numpy()
    rows = np.asarray(counts, dtype=np.int64)
    total, other = int(rows.sum()), int(rows[~numeric].sum())
    if total == 0 or other == 0 or (total - other) < MOSTLY_NUMBERS * total:
        return ""
    return (
        f"at least {MOSTLY_NUMBERS:.0%} of the rows are numbers but some are not, so the column "
        "is drafted categorical; if it is numeric, fix or blank the other values (or name them "
        "with --missing) and infer again"
    )


def detect_datetime_format(values: pd.Series) -> str | None:
    """The first format in DATE_FORMATS that parses every present value, if any."""
    sample = values.dropna().astype(str)
    if sample.empty:
        return None
    for fmt in DATE_FORMATS:
        parsed = pd.to_datetime(sample, format=fmt, errors="coerce")
        if parsed.notna().all():
            # dates outside pandas' nanosecond range (1677-2262) stay text (categorical)
            inside = parsed.between(pd.Timestamp.min, pd.Timestamp.max)
            return fmt if inside.all() else None
    return None


def looks_like_identifier(values: pd.Series) -> bool:
    present = values.dropna()
    n_distinct = present.nunique()
    return n_distinct >= ID_MIN_DISTINCT and n_distinct >= ID_UNIQUE_SHARE * len(present)


def datetime_spec(name: str, nullable: bool, text: pd.Series, bins: int) -> ColumnSpec | None:
    """A datetime column's spec when every value has one detected format, else None."""
    fmt = detect_datetime_format(text)
    if fmt is None:
        return None
    stamps = pd.to_datetime(text, format=fmt)
    return ColumnSpec(
        name,
        "datetime",
        nullable,
        format=fmt,
        lower=stamps.min().strftime(fmt),
        upper=stamps.max().strftime(fmt),
        bins=bins,
    )


def infer_column(name: str, values: pd.Series, bins: int = DEFAULT_BINS) -> ColumnSpec:
    """A draft spec for one column, from its values."""
    nullable = bool(values.isna().any())
    present = values.dropna()
    if present.empty:
        raise InputError(f"column {name!r} has no values at all; drop it or describe it by hand")
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        x = present.to_numpy(dtype=float)
        lo, hi = float(np.min(x)), float(np.max(x))
        # Only an integer dtype is an integer column: the reader keeps whole numbers beyond
        # 2**53 (or int64) as floats, and so must the schema, or they would wrap.
        if pd.api.types.is_integer_dtype(values):
            if looks_like_identifier(present) and present.nunique() == len(present):
                return ColumnSpec(
                    name, "exclude", note="every value unique: looks like an identifier"
                )
            lo_i, hi_i = int(lo), int(hi)
            n_bins = hi_i - lo_i + 1 if hi_i - lo_i + 1 <= 100 else bins
            return ColumnSpec(name, "integer", nullable, lower=lo_i, upper=hi_i, bins=n_bins)
        return ColumnSpec(name, "float", nullable, lower=lo, upper=hi, bins=bins)
    text = present.astype(str)
    spec = datetime_spec(name, nullable, text, bins)
    if spec is not None:
        return spec
    if looks_like_identifier(text):
        return ColumnSpec(
            name, "exclude", note="nearly every value unique: looks like an identifier"
        )
    distinct = text.value_counts(sort=False)
    note = mostly_numbers_note(pd.Series(distinct.index, dtype=object), distinct.to_numpy())
    categories = sorted(distinct.index.tolist())
    return ColumnSpec(name, "categorical", nullable, categories=categories, note=note)


def infer_schema(df: pd.DataFrame, *, bins: int = DEFAULT_BINS) -> Schema:
    """A draft schema read from ``df`` (not private; see the module docstring)."""
    if len(df) == 0:
        raise InputError("the table has no rows")
    columns = [infer_column(str(c), df[c], bins) for c in df.columns]
    if all(c.type == "exclude" for c in columns):
        raise InputError("every column looks like an identifier; nothing to synthesize")
    return Schema(
        columns,
        provenance={"source": "inferred from the data (not differentially private)", "dp": None},
        warning=NOT_PRIVATE_WARNING,
    )

"""The public schema: for each column its type and finite domain (categories, bounds and bins).

The schema is public information. Everything a synthesizer may know about the data without paying
privacy budget is here; nothing in it is read from the private table at fit time. A schema file is
JSON with one entry per column; a Private-PGM domain file (``{"col": k, ...}``) is accepted too.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from privsynth.domain import Domain
from privsynth.errors import InputError, SchemaError
from privsynth.limits import MAX_BINS, MAX_COLUMN_CODES, check_bins, check_column_codes

SCHEMA_FORMAT = "privsynth-schema/1"
ColumnType = Literal["categorical", "integer", "float", "datetime", "exclude"]
COLUMN_TYPES: tuple[str, ...] = ("categorical", "integer", "float", "datetime", "exclude")
# The one Schema -> attack-harness type mapping (``attacks`` knows categorical, numeric, datetime);
# ``exclude`` columns are not synthesized, so they are not audited either.
AUDIT_TYPES: dict[str, str] = {
    "categorical": "categorical",
    "integer": "numeric",
    "float": "numeric",
    "datetime": "datetime",
}
_KEYS: dict[str, set[str]] = {
    "categorical": {"type", "categories", "nullable", "other", "other_label", "note", "role"},
    "integer": {"type", "lower", "upper", "bins", "nullable", "note", "role"},
    "float": {"type", "lower", "upper", "bins", "nullable", "note", "role"},
    "datetime": {"type", "format", "lower", "upper", "bins", "nullable", "note", "role"},
    "exclude": {"type", "note", "role"},
}
DEFAULT_BINS = 32
# Largest integer bound: float64 (the encoding's arithmetic) holds every integer up to 2**53.
MAX_EXACT_INTEGER = 2**53
# What a column is to an attacker (optional; read by ``privsynth audit``): quasi-identifiers are
# the attacker's assumed knowledge, sensitive columns the secrets attribute inference targets.
COLUMN_ROLES: tuple[str, ...] = ("quasi_identifier", "sensitive")


@dataclass
class ColumnSpec:
    """One column's public domain. Numbers are clipped to [lower, upper] and binned."""

    name: str
    type: ColumnType
    nullable: bool = False
    categories: list[Any] | None = None
    other: bool = False  # categorical: unseen values go to an extra "other" code instead of failing
    other_label: str | None = None  # default "other" ("other (not listed)" if that is a category)
    lower: float | str | None = None
    upper: float | str | None = None
    bins: int | list[float] | None = None
    format: str | None = None  # datetime: strftime/strptime format
    note: str = ""
    from_pgm: bool = field(default=False, repr=False, compare=False)  # Private-PGM domain file
    role: str | None = None  # "quasi_identifier", "sensitive" or None (see COLUMN_ROLES)

    def __post_init__(self) -> None:
        where = f"schema column {self.name!r}"
        if self.role is not None and self.role not in COLUMN_ROLES:
            raise SchemaError(
                f"{where}: unknown role {self.role!r} (use one of {COLUMN_ROLES}, or omit it)"
            )
        if self.type not in COLUMN_TYPES:
            raise SchemaError(f"{where}: unknown type {self.type!r} (use one of {COLUMN_TYPES})")
        _check_field_types(self, where)
        if self.type == "categorical":
            self._check_categories(where)
        elif self.type in ("integer", "float", "datetime"):
            self._check_numeric(where)
        check_column_codes(self.n_codes(), where=where)

    def _check_categories(self, where: str) -> None:
        if not self.categories:
            raise SchemaError(f"{where}: a categorical column needs a non-empty 'categories' list")
        if len(self.categories) > MAX_COLUMN_CODES:
            check_column_codes(len(self.categories), where=where)
        bad = [c for c in self.categories if not _is_category_value(c)]
        if bad:
            raise SchemaError(
                f"{where}: category {bad[0]!r} is not a string or a finite number "
                '(missing values are allowed with "nullable": true, not as a category)'
            )
        keys = {_key(c) for c in self.categories}
        if len(keys) != len(self.categories):
            raise SchemaError(f"{where}: duplicate categories")
        if self.other_label is None:
            self.other_label = "other" if "other" not in keys else "other (not listed)"
        elif self.other and _key(self.other_label) in keys:
            raise SchemaError(
                f"{where}: other_label {self.other_label!r} is also a category, so the two could "
                "not be told apart in the output; choose another other_label"
            )

    def _check_numeric(self, where: str) -> None:
        if self.lower is None or self.upper is None:
            raise SchemaError(f"{where}: needs public 'lower' and 'upper' bounds")
        if self.type == "datetime" and not self.format:
            raise SchemaError(f"{where}: a datetime column needs a 'format' (e.g. '%Y-%m-%d')")
        lo, hi = self.numeric_bounds()
        if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
            raise SchemaError(f"{where}: bounds must be finite with lower <= upper")
        if not math.isfinite(hi - lo):
            raise SchemaError(f"{where}: the range upper - lower overflows; use smaller bounds")
        if self.type == "integer" and max(abs(lo), abs(hi)) > MAX_EXACT_INTEGER:
            raise SchemaError(
                f"{where}: integer bounds beyond +-2**53 cannot be held exactly; "
                'use "type": "float" for this column'
            )
        if self.type == "integer" and math.ceil(lo) > math.floor(hi):
            raise SchemaError(f"{where}: no integer lies between lower {lo:g} and upper {hi:g}")
        if self.bins is None:
            self.bins = DEFAULT_BINS
        if isinstance(self.bins, list):
            edges = np.asarray(self.bins, dtype=float)
            if edges.size < 2 or not np.all(np.isfinite(edges)) or np.any(np.diff(edges) <= 0):
                raise SchemaError(f"{where}: 'bins' edges must be finite and increasing")
            if edges[0] != lo or edges[-1] != hi:
                raise SchemaError(
                    f"{where}: 'bins' edges must start at lower ({self.lower}) and end at upper "
                    f"({self.upper}), got {_num(edges[0])} .. {_num(edges[-1])}; values outside "
                    "the edges would fall in no bin"
                )
            if edges.size - 1 > MAX_BINS:
                check_bins(edges.size - 1, what=f"{where}: 'bins'")
        elif not isinstance(self.bins, int) or isinstance(self.bins, bool) or self.bins < 1:
            raise SchemaError(f"{where}: 'bins' must be a positive integer or a list of edges")
        else:
            check_bins(self.bins, what=f"{where}: 'bins'")

    # -- numeric domain -------------------------------------------------------------------------
    def numeric_bounds(self) -> tuple[float, float]:
        """Bounds as floats (datetimes as seconds since the epoch)."""
        if self.type == "datetime":
            return _parse_time(self.lower, self.format, self.name), _parse_time(
                self.upper, self.format, self.name
            )
        try:
            return float(self.lower), float(self.upper)  # type: ignore[arg-type]
        except (TypeError, ValueError) as exc:
            raise SchemaError(f"schema column {self.name!r}: bounds must be numbers") from exc

    def bin_edges(self) -> np.ndarray:
        """Left edges of each bin plus the right end (len = n_bins + 1).

        Integers: bin i holds the integers in [edges[i], edges[i+1]); the last bin includes upper.
        Floats and datetimes: [edges[i], edges[i+1]), the last bin closed at upper.
        """
        lo, hi = self.numeric_bounds()
        if isinstance(self.bins, list):
            edges = np.asarray(self.bins, dtype=float)
            if self.type == "integer":
                edges = np.ceil(edges)
                edges[-1] = math.floor(float(self.bins[-1])) + 1
                if np.any(np.diff(edges) <= 0):
                    raise SchemaError(
                        f"schema column {self.name!r}: an integer bin holds no integer; widen the edges"
                    )
            return edges
        k = int(self.bins or DEFAULT_BINS)
        if self.type == "integer":
            lo, hi = math.ceil(lo), math.floor(hi)
            width = hi - lo + 1
            if width <= k:
                return np.arange(lo, hi + 2, dtype=float)
            return np.unique(np.ceil(np.linspace(lo, hi + 1, k + 1)))
        if lo == hi:
            return np.array([lo, hi + 1.0])
        return np.linspace(lo, hi, k + 1)

    def n_values(self) -> int:
        """Number of codes for present values (NA's code, if nullable, comes after these)."""
        if self.type == "categorical":
            return len(self.categories or []) + int(self.other)
        if self.type == "exclude":
            return 0
        return len(self.bin_edges()) - 1

    def n_codes(self) -> int:
        return self.n_values() + int(self.nullable)

    def unseen_value_fix(self) -> str:
        """How a user admits a value outside this column's categories (for error messages)."""
        if self.from_pgm:
            return (
                "a Private-PGM domain file has codes 0..k-1 only: recode the value, raise k, "
                'or write a privsynth schema with "other": true'
            )
        return 'add it to the schema or set "other": true'

    # -- serialisation --------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        if self.role is not None:
            out["role"] = self.role
        if self.type == "exclude":
            if self.note:
                out["note"] = self.note
            return out
        if self.type == "categorical":
            out["categories"] = list(self.categories or [])
            if self.other:
                out["other"] = True
                if self.other_label != "other":
                    out["other_label"] = self.other_label
        else:
            if self.type == "datetime":
                out["format"] = self.format
            out["lower"] = self.lower
            out["upper"] = self.upper
            out["bins"] = self.bins
        out["nullable"] = bool(self.nullable)
        if self.note:
            out["note"] = self.note
        return out

    @classmethod
    def from_dict(cls, name: str, data: Any) -> ColumnSpec:
        if not isinstance(data, dict):
            raise SchemaError(
                f"schema column {name!r}: expected an object, got {type(data).__name__}"
            )
        ctype = data.get("type")
        if not isinstance(ctype, str) or ctype not in _KEYS:
            raise SchemaError(
                f"schema column {name!r}: unknown type {ctype!r} (use one of {COLUMN_TYPES})"
            )
        unknown = set(data) - _KEYS[ctype]
        if unknown:
            raise SchemaError(
                f"schema column {name!r}: unknown keys {sorted(unknown)} for type {ctype}"
            )
        return cls(name=name, **data)


_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "nullable": (bool,),
    "other": (bool,),
    "other_label": (str, type(None)),
    "note": (str,),
    "format": (str, type(None)),
}


def _check_field_types(spec: ColumnSpec, where: str) -> None:
    """Strict JSON types: a boolean is true/false (not "no" or 0), categories a list, etc."""
    for name, types in _FIELD_TYPES.items():
        value = getattr(spec, name)
        if not isinstance(value, types):
            want = " or ".join("null" if t is type(None) else _JSON_NAMES[t] for t in types)
            raise SchemaError(f"{where}: {name!r} must be {want}, got {value!r}")
    if spec.categories is not None and not isinstance(spec.categories, list):
        raise SchemaError(
            f'{where}: \'categories\' must be a list such as ["a", "b"], got {spec.categories!r}'
        )
    bound_types = (str,) if spec.type == "datetime" else (int, float)
    for name in ("lower", "upper"):
        value = getattr(spec, name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, bound_types)):
            want = "a date string" if spec.type == "datetime" else "a number"
            raise SchemaError(f"{where}: {name!r} must be {want}, got {value!r}")
    if isinstance(spec.bins, list) and any(
        isinstance(e, bool) or not isinstance(e, int | float) for e in spec.bins
    ):
        raise SchemaError(f"{where}: 'bins' edges must be numbers, got {spec.bins!r}")


_JSON_NAMES = {bool: "true or false", str: "a string", int: "an integer", float: "a number"}


def _is_category_value(value: Any) -> bool:
    if isinstance(value, bool):
        return True
    if isinstance(value, str | int):
        return True
    return isinstance(value, float) and math.isfinite(value)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _key(value: Any) -> str:
    """Category identity used for matching data to the schema: ``encoding.category_key``."""
    from privsynth.encoding import category_key  # encoding imports this module

    return category_key(value)


# Datetimes are encoded as float seconds and decoded through pandas' nanosecond timestamps, so
# schema bounds must lie in the range those can hold (about 1677-09-22 to 2262-04-11).
_TIME_MIN, _TIME_MAX = -9.2e9, 9.2e9


def datetime_seconds(stamps: Any) -> np.ndarray:
    """Seconds since the epoch of parsed datetimes, in any pandas resolution, without wrapping.

    (``to_numpy("datetime64[ns]")`` silently wraps dates outside 1677-2262 under pandas 3.)
    """
    import pandas as pd

    delta = pd.Series(stamps) - pd.Timestamp("1970-01-01")
    return delta.dt.total_seconds().to_numpy(dtype=float, na_value=np.nan)


def _parse_time(value: Any, fmt: str | None, name: str) -> float:
    import pandas as pd

    try:
        ts = pd.to_datetime(str(value), format=fmt)
    except (ValueError, TypeError, OverflowError) as exc:
        raise SchemaError(
            f"schema column {name!r}: {value!r} does not match format {fmt!r}"
        ) from exc
    seconds = float(datetime_seconds([ts])[0])
    if not _TIME_MIN <= seconds <= _TIME_MAX:
        raise SchemaError(
            f"schema column {name!r}: date {value!r} is outside the supported range "
            "1677-09-22 .. 2262-04-11"
        )
    return seconds


@dataclass
class Schema:
    """An ordered list of column specs plus provenance (how the schema was made)."""

    columns: list[ColumnSpec]
    provenance: dict[str, Any] = field(default_factory=dict)
    warning: str = ""
    constraints: list[Any] = field(default_factory=list)  # public row rules, see constraints.py

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise SchemaError("schema: duplicate column names")
        if not self.synth_columns:
            raise SchemaError("schema: every column is excluded; nothing to synthesize")
        from privsynth.constraints import parse_constraints

        self.rules = parse_constraints(self.constraints or None, self.columns)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def synth_columns(self) -> list[ColumnSpec]:
        """The columns that are modelled and synthesized (not excluded)."""
        return [c for c in self.columns if c.type != "exclude"]

    def audit_types(self) -> dict[str, str]:
        """Column -> attack type (:data:`AUDIT_TYPES`) for every synthesized column."""
        return {c.name: AUDIT_TYPES[c.type] for c in self.synth_columns}

    @property
    def excluded(self) -> list[str]:
        """The columns the schema declares ``exclude`` (neither synthesized nor audited)."""
        return [c.name for c in self.columns if c.type == "exclude"]

    def names_with_role(self, role: str) -> list[str]:
        """The columns declared with ``role`` (``quasi_identifier`` or ``sensitive``)."""
        return [c.name for c in self.columns if c.role == role]

    def __getitem__(self, name: str) -> ColumnSpec:
        for c in self.columns:
            if c.name == name:
                return c
        raise SchemaError(f"schema has no column {name!r}")

    def domain(self) -> Domain:
        """The finite public domain of the synthesized columns."""
        return Domain(
            tuple(c.name for c in self.synth_columns),
            tuple(c.n_codes() for c in self.synth_columns),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"format": SCHEMA_FORMAT}
        if self.warning:
            out["warning"] = self.warning
        if self.provenance:
            out["provenance"] = self.provenance
        out["columns"] = {c.name: c.to_dict() for c in self.columns}
        if self.rules:
            out["constraints"] = self.rules.to_list()
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    def hash(self) -> str:
        """SHA-256 of the canonical JSON of the columns (provenance and warnings excluded)."""
        body: dict[str, Any] = {c.name: c.to_dict() for c in self.columns}
        if self.rules:  # rules change the output; schemas without any keep their old hash
            body = {"columns": body, "constraints": self.rules.to_list()}
        canon = json.dumps(body, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canon.encode()).hexdigest()

    @classmethod
    def from_dict(cls, data: Any) -> Schema:
        if not isinstance(data, dict) or not data:
            raise SchemaError("schema: expected a JSON object with a 'columns' entry")
        if "columns" not in data:
            if all(isinstance(v, int) and not isinstance(v, bool) for v in data.values()):
                return cls.from_pgm_domain(data)
            raise SchemaError(
                "schema: expected a privsynth schema ({'columns': {...}}) or a Private-PGM domain "
                "file ({'column': number_of_codes, ...})"
            )
        unknown = set(data) - {"format", "warning", "provenance", "columns", "constraints"}
        if unknown:
            raise SchemaError(f"schema: unknown top-level keys {sorted(unknown)}")
        fmt = data.get("format", SCHEMA_FORMAT)
        if fmt != SCHEMA_FORMAT:
            raise SchemaError(f"schema: unsupported format {fmt!r} (expected {SCHEMA_FORMAT!r})")
        cols = data["columns"]
        if not isinstance(cols, dict) or not cols:
            raise SchemaError("schema: 'columns' must be a non-empty object")
        if not isinstance(data.get("provenance") or {}, dict):
            raise SchemaError("schema: 'provenance' must be an object")
        if not isinstance(data.get("warning", ""), str):
            raise SchemaError("schema: 'warning' must be a string")
        return cls(
            columns=[ColumnSpec.from_dict(str(n), spec) for n, spec in cols.items()],
            provenance=dict(data.get("provenance") or {}),
            warning=str(data.get("warning", "")),
            constraints=data.get("constraints") or [],
        )

    @classmethod
    def from_pgm_domain(cls, sizes: dict[str, int]) -> Schema:
        """A Private-PGM domain: every column an integer-coded categorical 0..k-1."""
        bad = [n for n, k in sizes.items() if k < 1]
        if bad:
            raise SchemaError(f"domain file: columns {bad} need at least one code")
        for n, k in sizes.items():
            check_column_codes(int(k), where=f"domain file: column {n!r}")
        cols = [
            ColumnSpec(n, "categorical", categories=list(range(int(k))), from_pgm=True)
            for n, k in sizes.items()
        ]
        return cls(cols, provenance={"source": "Private-PGM domain file"})


def load_schema(path: str | os.PathLike[str]) -> Schema:
    """Read a privsynth schema JSON or a Private-PGM domain JSON."""
    path = Path(path)
    if path.is_dir():
        raise SchemaError(f"{path}: is a folder, not a schema file")
    if not path.is_file():
        raise SchemaError(f"{path}: no such schema file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise SchemaError(
            f"{path}: not UTF-8 text (byte {exc.start}); save the schema as UTF-8 JSON"
        ) from exc
    except json.JSONDecodeError as exc:
        raise SchemaError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    except RecursionError as exc:
        raise SchemaError(f"{path}: JSON nested too deeply to be a schema") from exc
    except OSError as exc:
        raise SchemaError(f"{path}: cannot read: {exc.strerror}") from exc
    try:
        return Schema.from_dict(data)
    except InputError as exc:
        raise SchemaError(f"{path}: {exc}") from exc

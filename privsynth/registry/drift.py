"""Drift: a new version of a source against the version a release was made from, and against the
released synthetic table. **Computed on private data without DP: internal output only.**

Distances. Every column is discretised on the baseline (the old source version): a categorical
column into its 15 most frequent baseline values plus "other"; a numeric column into 8 quantile
bins of the baseline, open at both ends; missing values get a cell of their own. For each column
and each pair of columns the total variation distance (TVD) between the two tables' empirical
distributions over those cells is reported with a simultaneous confidence interval.

Intervals. For ``n`` i.i.d. rows over ``k`` cells, the Bretagnolle-Huber-Carol inequality gives
``P(||p_hat - p||_1 >= e) <= 2^k exp(-n e^2 / 2)``, so with probability ``1 - a``,
``||p_hat - p||_1 <= sqrt(2 (k ln 2 + ln(1/a)) / n)``. TVD is half the L1 distance and a metric,
so ``|TVD(p_hat, q_hat) - TVD(p, q)| <= (e_p + e_q) / 2``. Splitting ``alpha`` over both tables and
all ``m`` columns and pairs (Bonferroni, ``a = alpha / (2 m)``) makes every interval hold at once
with probability at least ``1 - alpha``, whatever the dependence between columns: the intervals
are exact finite-sample bounds, conservative (wide for large 2-way tables), and assume only that
rows are independent draws (not true of panel data with repeated individuals: deduplicate first).
The null study in ``tests/test_registry_drift.py`` (random halves of Adult) measures the
false-alarm rate.

Recommendation. Refresh iff some column's lower bound exceeds ``max_tvd``, some pair's exceeds
``max_tvd_2way``, or (with ``refresh_on_schema_change``) the schema changed: a column added or
removed, a category the schema does not have, a value outside the schema's bounds. Values or
ranges merely unseen in the baseline sample are listed but never recommend refresh alone (any
sample misses rare values; their mass is in the TVD's "other" cell).
Thresholds come from the ``[drift]`` table of a policy TOML file.
"""

from __future__ import annotations

import itertools
import math
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from privsynth.errors import InputError

TOP_CATEGORIES = 15
NUMERIC_BINS = 8
_DRIFT_KEYS = {"max_tvd", "max_tvd_2way", "confidence", "refresh_on_schema_change"}


@dataclass(frozen=True, kw_only=True)
class DriftPolicy:
    """Thresholds for recommending a refresh (the ``[drift]`` table of a policy file)."""

    max_tvd: float = 0.05
    max_tvd_2way: float = 0.1
    confidence: float = 0.95
    refresh_on_schema_change: bool = True

    def __post_init__(self) -> None:
        for name in ("max_tvd", "max_tvd_2way"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
                raise InputError(f"[drift] {name} must be a number in (0, 1), got {value!r}")
        if not 0.5 <= self.confidence < 1:
            raise InputError(f"[drift] confidence must be in [0.5, 1), got {self.confidence!r}")
        if not isinstance(self.refresh_on_schema_change, bool):
            raise InputError("[drift] refresh_on_schema_change must be true or false")


def load_drift_policy(spec: str | None) -> DriftPolicy:
    """Defaults for None or a preset name; else the ``[drift]`` table of a TOML file."""
    if spec is None or spec in ("standard", "strict"):
        return DriftPolicy()
    path = Path(spec)
    if not path.is_file():
        raise InputError(f"policy {spec!r}: no such file")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"policy {spec}: not valid TOML: {exc}") from None
    table = data.get("drift", {})
    if not isinstance(table, dict):
        raise InputError(f"policy {spec}: [drift] must be a table")
    unknown = sorted(set(table) - _DRIFT_KEYS)
    if unknown:
        raise InputError(
            f"policy {spec}: unknown [drift] keys {unknown} (known: {sorted(_DRIFT_KEYS)})"
        )
    return DriftPolicy(**table)


@dataclass(frozen=True)
class Distance:
    """TVD between two tables over ``columns`` with its simultaneous interval."""

    columns: tuple[str, ...]
    tvd: float
    low: float
    high: float
    cells: int


@dataclass(frozen=True)
class SchemaChange:
    """A change of columns or domain; ``triggers``: it recommends refresh (see schema_changes)."""

    column: str
    kind: str  # added, removed, new_category, out_of_bounds, unseen_value, outside_baseline_range
    detail: str
    triggers: bool


@dataclass(frozen=True)
class DriftResult:
    release_id: str | None
    rows: dict[str, int]
    baseline: list[Distance]  # new source version vs the release's source version
    synthetic: list[Distance]  # new source version vs the released synthetic table
    changes: list[SchemaChange]
    policy: DriftPolicy
    refresh: bool
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["note"] = "computed on private data without differential privacy: internal use only"
        return out


def _cells(base: pd.Series, others: list[pd.Series]) -> list[np.ndarray]:
    """Integer codes of the baseline's discretisation for ``base`` and each of ``others``."""
    present = base.dropna()
    if pd.api.types.is_numeric_dtype(base) and not pd.api.types.is_bool_dtype(base):
        qs = np.unique(
            np.quantile(present.to_numpy(dtype=float), np.linspace(0, 1, NUMERIC_BINS + 1)[1:-1])
        )

        def code(s: pd.Series) -> np.ndarray:
            vals = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
            out = np.searchsorted(qs, vals, side="right")
            return np.where(np.isnan(vals), len(qs) + 1, out)
    else:
        top = pd.Index(_text(present)).value_counts().index[:TOP_CATEGORIES]

        def code(s: pd.Series) -> np.ndarray:
            out = top.get_indexer(_text(s))
            out = np.where(out < 0, len(top), out)  # "other"
            return np.where(s.isna().to_numpy(), len(top) + 1, out)

    return [code(s).astype(np.int64) for s in [base, *others]]


def _text(s: pd.Series) -> np.ndarray:
    """Values as text, vectorised (one record's value never changes another's key)."""
    return np.asarray(s.astype(object).to_numpy(), dtype=object).astype(str)


def _uniques(s: pd.Series) -> set[str]:
    return set(_text(pd.Series(s.dropna().unique())))


def _bhc(n: int, k: int, a: float) -> float:
    """Half the L1 radius of the BHC bound: TVD(p_hat, p) <= this with probability 1 - a."""
    return 0.5 * math.sqrt(2.0 * (k * math.log(2.0) + math.log(1.0 / a)) / n)


def _tvd(x: np.ndarray, y: np.ndarray, k: int) -> float:
    px = np.bincount(x, minlength=k) / len(x)
    py = np.bincount(y, minlength=k) / len(y)
    return float(0.5 * np.abs(px - py).sum())


def distances(
    a: pd.DataFrame, b: pd.DataFrame, codes_a: dict[str, np.ndarray], codes_b: dict[str, np.ndarray],
    sizes: dict[str, int], policy: DriftPolicy,
) -> list[Distance]:  # fmt: skip
    """Per-column and 2-way TVDs between tables a and b with simultaneous intervals."""
    cols = list(codes_a)
    groups = [(c,) for c in cols] + list(itertools.combinations(cols, 2))
    a_each = (1.0 - policy.confidence) / (2 * len(groups))
    out = []
    for g in groups:
        if len(g) == 1:
            k, xa, xb = sizes[g[0]], codes_a[g[0]], codes_b[g[0]]
        else:
            k = sizes[g[0]] * sizes[g[1]]
            xa = codes_a[g[0]] * sizes[g[1]] + codes_a[g[1]]
            xb = codes_b[g[0]] * sizes[g[1]] + codes_b[g[1]]
        t = _tvd(xa, xb, k)
        r = _bhc(len(a), k, a_each) + _bhc(len(b), k, a_each)
        out.append(Distance(tuple(g), t, max(0.0, t - r), min(1.0, t + r), k))
    return out


def schema_changes(base: pd.DataFrame, new: pd.DataFrame, schema: Any | None) -> list[SchemaChange]:
    """Columns added or removed; against the schema (public domain): categories it lacks and values
    outside its bounds (both would need a new schema, so they recommend refresh); without a schema,
    values or ranges the baseline did not show (informational: a rare value can be missing from
    any sample, so these alone never recommend refresh)."""
    out = [
        SchemaChange(c, "added", "column not in the baseline", True)
        for c in new.columns
        if c not in base.columns
    ]
    out += [
        SchemaChange(c, "removed", "column missing from the new version", True)
        for c in base.columns
        if c not in new.columns
    ]
    specs = {c.name: c for c in schema.columns} if schema is not None else {}
    for col in [c for c in base.columns if c in new.columns]:
        spec = specs.get(col)
        if spec is not None and spec.type in ("integer", "float"):
            out += _range_change(
                col, new[col], float(spec.lower), float(spec.upper), "schema", True
            )
        elif spec is not None and spec.categories:
            out += _new_values(
                col, new[col], {str(v) for v in spec.categories}, "schema", not spec.other
            )
        elif pd.api.types.is_numeric_dtype(base[col]) and not base[col].dropna().empty:
            lo, hi = float(base[col].min()), float(base[col].max())
            out += _range_change(col, new[col], lo, hi, "baseline", False)
        elif not pd.api.types.is_numeric_dtype(base[col]):
            out += _new_values(col, new[col], _uniques(base[col]), "baseline", False)
    return out


def _range_change(
    col: str, values: pd.Series, lo: float, hi: float, against: str, triggers: bool
) -> list[SchemaChange]:
    vals = pd.to_numeric(values, errors="coerce")
    bad = int(((vals < lo) | (vals > hi)).sum())
    if not bad:
        return []
    kind = "out_of_bounds" if against == "schema" else "outside_baseline_range"
    return [
        SchemaChange(col, kind, f"{bad} values outside the {against}'s [{lo:g}, {hi:g}]", triggers)
    ]


def _new_values(
    col: str, values: pd.Series, known: set[str], against: str, triggers: bool
) -> list[SchemaChange]:
    fresh = sorted(_uniques(values) - known)
    if not fresh:
        return []
    kind = "new_category" if against == "schema" else "unseen_value"
    return [SchemaChange(col, kind, f"{len(fresh)} not in the {against}: {fresh[:5]}", triggers)]


def compute_drift(
    baseline: pd.DataFrame,
    new: pd.DataFrame,
    synthetic: pd.DataFrame | None = None,
    *,
    schema: Any | None = None,
    policy: DriftPolicy | None = None,
    release_id: str | None = None,
) -> DriftResult:
    """Distances, schema changes and the refresh recommendation (see the module docstring)."""
    policy = policy or DriftPolicy()
    if len(baseline) == 0 or len(new) == 0:
        raise InputError("drift needs rows in both the baseline and the new version")
    cols = [c for c in baseline.columns if c in new.columns]
    if synthetic is not None:
        cols = [c for c in cols if c in synthetic.columns]
    if not cols:
        raise InputError("drift: the tables share no columns")
    codes: dict[str, dict[str, np.ndarray]] = {"base": {}, "new": {}, "syn": {}}
    sizes: dict[str, int] = {}
    for c in cols:
        others = [new[c]] + ([synthetic[c]] if synthetic is not None else [])
        coded = _cells(baseline[c], others)
        codes["base"][c], codes["new"][c] = coded[0], coded[1]
        if synthetic is not None:
            codes["syn"][c] = coded[2]
        sizes[c] = int(max(int(x.max()) for x in coded)) + 1
    base_d = distances(baseline, new, codes["base"], codes["new"], sizes, policy)
    syn_d = (
        distances(synthetic, new, codes["syn"], codes["new"], sizes, policy)
        if synthetic is not None
        else []
    )
    changes = schema_changes(baseline, new, schema)
    reasons = []
    if policy.refresh_on_schema_change:
        reasons += [f"{c.column}: {c.kind} ({c.detail})" for c in changes if c.triggers]
    reasons += [
        f"{' x '.join(d.columns)}: TVD {d.tvd:.3f}, lower bound {d.low:.3f} > "
        f"{policy.max_tvd if len(d.columns) == 1 else policy.max_tvd_2way}"
        for d in base_d
        if d.low > (policy.max_tvd if len(d.columns) == 1 else policy.max_tvd_2way)
    ]
    rows = {"baseline": len(baseline), "new": len(new)}
    if synthetic is not None:
        rows["synthetic"] = len(synthetic)
    return DriftResult(release_id, rows, base_d, syn_d, changes, policy, bool(reasons), reasons)


def drift_for_release(
    reg: Any,
    release_id: str,
    *,
    data: Path,
    baseline: Path | None = None,
    synthetic: Path | None = None,
    schema: Path | None = None,
    policy: str | None = None,
) -> DriftResult:
    """``privsynth drift``: the release's recorded source version and synthetic table vs ``data``."""
    from privsynth.io import read_table
    from privsynth.registry.reaudit import synthetic_of
    from privsynth.schema import load_schema

    pol = load_drift_policy(policy)
    rel = reg.release(release_id)
    if baseline is None:
        if not rel.input_path:
            raise InputError(f"release {rel.id}: no source version recorded; give --baseline")
        baseline = Path(rel.input_path)
    loaded_schema = load_schema(schema) if schema is not None else None
    syn = (
        read_table(synthetic_of(rel, synthetic))
        if (synthetic or rel.synthetic_path or rel.manifest_path)
        else None
    )
    return compute_drift(
        read_table(baseline),
        read_table(data),
        syn,
        schema=loaded_schema,
        policy=pol,
        release_id=rel.id,
    )


def render_drift(result: DriftResult, console: Any) -> None:
    """Terminal view: verdict, the largest distances, schema changes."""
    from rich.table import Table

    console.print(
        "[bold yellow]INTERNAL:[/bold yellow] computed on private data without DP; do not publish."
    )
    word = (
        "[bold red]REFRESH RECOMMENDED[/bold red]"
        if result.refresh
        else "[bold green]no refresh needed[/bold green]"
    )
    console.print(f"drift of release {result.release_id}: {word}  (rows {result.rows})")
    for r in result.reasons[:10]:
        console.print(f"  - {r}", highlight=False)
    if len(result.reasons) > 10:
        console.print(f"  ... and {len(result.reasons) - 10} more (--json lists every one)")
    for c in result.changes:
        console.print(f"  schema change: {c.column}: {c.kind} ({c.detail})", highlight=False)
    table = Table(
        title=f"largest distances (TVD, {result.policy.confidence:.0%} simultaneous interval)"
    )
    for col in ("columns", "new vs source version", "interval", "new vs synthetic"):
        table.add_column(col)
    syn = {d.columns: d for d in result.synthetic}
    for d in sorted(result.baseline, key=lambda d: -d.low)[:12]:
        s = syn.get(d.columns)
        table.add_row(
            " x ".join(d.columns),
            f"{d.tvd:.3f}",
            f"[{d.low:.3f}, {d.high:.3f}]",
            "-" if s is None else f"{s.tvd:.3f}",
        )
    console.print(table)

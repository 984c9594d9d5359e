"""A catalogue of planted leaks and of nulls, for calibrating the release gate.

Every scenario is a function ``make(split, rng) -> synthetic`` of a :class:`Split` (disjoint
train, holdout and fresh population rows of one real table) and a seeded generator; both gate
engineers' benchmarks and tests import it. Leak levels are shares of the synthetic rows.

Nulls (the synthetic table carries nothing specific to the training records):
  ``fresh``: a fresh sample of the population, as large as train;
  ``mode_collapse``: 500 fresh rows repeated to that size (a degenerate generator that leaks
  nothing);
  ``dp_eps1`` / ``dp_eps10``: privsynth's MST at epsilon 1 / 10 fitted on train (Adult's bundled
  schema, or a coded table's domain file; privsynth's synthesizers are imported here, in the
  benchmark, never by ``attacks/``).
The integer-coded shared tables (``adult_pgm``: Adult train + test discretised, 48,842 rows;
``nltcs``: 16 binary columns, many natural duplicates; ``titanic``: 1,304 rows) run the nulls and
the leaks that name no Adult column (verbatim, rarest and near copies; a near copy changes a
column with at most ``MAX_CHANGE_LEVELS`` values) on their own splits.

Leaks (rows of the fresh sample replaced by rows derived from training records):
  ``copies_{0.1,0.3,1,3}pct``: verbatim copies of random training records;
  ``rare_copies_{0.3,1}pct``: verbatim copies of the training records farthest from the holdout
  (the rarest);
  ``near_copies_{1,3}pct``: copies with one categorical column changed to another level;
  ``jitter_{3,10}pct``: copies with small numeric noise (age +-1, hours +1..2, fnlwgt +-3%);
  ``qi_unique_{1,3}pct``: training records unique on the quasi-identifiers, their QIs (with the
  education-num that education determines) reproduced with the other columns from the population;
  ``partial_attr_{3,10}pct``: demographic QIs (with the education-num that education
  determines) + occupation + income of training records, other columns from the population
  (partial-knowledge attribute leak);
  ``rare_class_attr``: every training record of a rare occupation class gets its QIs (with
  education-num) and secret reproduced;
  ``linkage_{3,10}pct``: two disjoint column subsets (demographics with the education-num that
  education determines; work and income) of the same training records joined in one synthetic
  row, the rest (fnlwgt, capital gain and loss, native country) from the population;
  ``subgroup_overfit``: one subgroup (a native country other than the US) copied with jitter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
ADULT = ROOT / "privsynth" / "data" / "adult.csv.gz"
SHARED = ROOT.parent / "shared" / "data"
QI = ["age", "sex", "race", "marital-status", "education", "native-country"]
DEMOGRAPHIC = ["age", "sex", "race", "marital-status", "education", "relationship"]
WORK = ["workclass", "occupation", "hours-per-week", "income"]
CATEGORICAL = [
    "workclass",
    "education",
    "marital-status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "native-country",
    "income",
]


# a near copy on a table other than Adult changes a column with at most this many values
MAX_CHANGE_LEVELS = 50
# the integer-coded shared tables (<table>.csv with <table>-domain.json in ../shared/data)
CODED = ("adult_pgm", "nltcs", "titanic")


@dataclass(frozen=True)
class Split:
    """Disjoint train / holdout / fresh rows of one table."""

    train: pd.DataFrame
    holdout: pd.DataFrame
    fresh: pd.DataFrame
    table: str = "adult"


@lru_cache(maxsize=4)
def load(table: str = "adult") -> pd.DataFrame:
    if table == "adult":
        return pd.read_csv(ADULT, skipinitialspace=True, na_values=["?"])
    bundled = ROOT / "privsynth" / "data" / f"{table}.csv.gz"  # adult_pgm ships with the package
    path = bundled if bundled.is_file() else SHARED / f"{table}.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the shared table {table!r} is not there")
    return pd.read_csv(path)


def binary_adult(columns: list[str] | None = None) -> pd.DataFrame:
    """A duplicate-heavy all-binary table from Adult (like NLTCS): 12 0/1 indicators, or the
    named subset of them (8 give at most 256 distinct rows). For tests of coded tables."""
    df = load("adult")
    flags = {
        "male": df["sex"].eq("Male"),
        "rich": df["income"].eq(">50K"),
        "over40": df["age"].ge(40),
        "long_hours": df["hours-per-week"].gt(40),
        "gain": df["capital-gain"].gt(0),
        "loss": df["capital-loss"].gt(0),
        "married": df["marital-status"].str.startswith("Married"),
        "white": df["race"].eq("White"),
        "us": df["native-country"].eq("United-States"),
        "private": df["workclass"].eq("Private"),
        "degree": df["education-num"].ge(13),
        "husband": df["relationship"].eq("Husband"),
    }
    out = pd.DataFrame(flags).astype(np.int64)
    return out if columns is None else out[list(columns)]


def domain_path(table: str) -> Path:
    """The public domain file of a coded shared table (its DP synthesizers' schema)."""
    if table not in CODED:
        raise ValueError(f"table {table!r} has no domain file; coded tables: {', '.join(CODED)}")
    bundled = ROOT / "privsynth" / "data" / f"{table}-domain.json"
    return bundled if bundled.is_file() else SHARED / f"{table}-domain.json"


def split(seed: int, table: str = "adult", n_real: int = 16_000, train_share: float = 0.8) -> Split:
    """A seeded 80/20 train/holdout split of ``n_real`` rows, and the rest as fresh rows."""
    df = load(table)
    n_real = min(n_real, len(df) // 2)
    p = np.random.default_rng(seed).permutation(len(df))
    n_t = int(round(train_share * n_real))
    take = [p[:n_t], p[n_t:n_real], p[n_real:]]
    parts = [df.iloc[t].reset_index(drop=True) for t in take]
    return Split(parts[0], parts[1], parts[2], table)


def _base(s: Split, rng: np.random.Generator) -> pd.DataFrame:
    """A fresh population sample as large as train (with replacement only if needed)."""
    n = len(s.train)
    idx = rng.choice(len(s.fresh), size=n, replace=n > len(s.fresh))
    return s.fresh.iloc[idx].reset_index(drop=True)


def _plant(base: pd.DataFrame, rows: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    out = base.copy()
    at = rng.choice(len(out), size=len(rows), replace=False)
    for c in out.columns:
        out[c] = out[c].astype(object) if out[c].dtype != rows[c].dtype else out[c]
        out.loc[at, c] = rows[c].to_numpy()
    return out.astype(base.dtypes.to_dict(), errors="ignore")


def leak_count(s: Split, share: float) -> int:
    """The number of training records a leak of ``share`` (of train) plants: at least one."""
    return max(1, int(round(share * len(s.train))))


def fresh(s: Split, rng: np.random.Generator) -> pd.DataFrame:
    return _base(s, rng)


def mode_collapse(s: Split, rng: np.random.Generator) -> pd.DataFrame:
    few = s.fresh.iloc[rng.choice(len(s.fresh), size=500, replace=False)]
    return few.iloc[np.arange(len(s.train)) % 500].reset_index(drop=True)


def copies(
    share: float, rare: bool = False
) -> Callable[[Split, np.random.Generator], pd.DataFrame]:
    def make(s: Split, rng: np.random.Generator) -> pd.DataFrame:
        k = leak_count(s, share)
        if rare:
            idx = np.argsort(-rarity(s))[:k]
        else:
            idx = rng.choice(len(s.train), size=k, replace=False)
        return _plant(_base(s, rng), s.train.iloc[idx].reset_index(drop=True), rng)

    return make


def rarity(s: Split) -> np.ndarray:
    """Per training record, its distance to the nearest holdout record (shared geometry)."""
    from attacks.geometry import encode_tables, infer_column_types
    from attacks.neighbors import NeighborIndex

    _, enc = encode_tables({"t": s.train, "h": s.holdout}, infer_column_types(s.train))
    dist, _ = NeighborIndex.build(enc["h"].X).search(enc["t"].X, 1)
    return dist[:, 0]


def near_copies(share: float) -> Callable[[Split, np.random.Generator], pd.DataFrame]:
    def make(s: Split, rng: np.random.Generator) -> pd.DataFrame:
        k = leak_count(s, share)
        rows = s.train.iloc[rng.choice(len(s.train), size=k, replace=False)].reset_index(drop=True)
        cats = changeable_columns(s)
        which = rng.integers(0, len(cats), size=k)
        for j, c in enumerate(cats):
            sel = np.flatnonzero(which == j)
            levels = s.train[c].dropna().unique()
            for i in sel:  # k is small (a few hundred rows)
                other = levels[levels != rows.at[i, c]]
                rows.at[i, c] = other[rng.integers(0, other.size)] if other.size else rows.at[i, c]
        return _plant(_base(s, rng), rows, rng)

    return make


def changeable_columns(s: Split) -> list[str]:
    """The columns a near copy may change: Adult's categorical columns; on another table the
    columns with at most ``MAX_CHANGE_LEVELS`` distinct values in train (the coded tables'
    categorical columns: NLTCS's 16 flags, Titanic's all but Age, adult_pgm's all but its four
    binned numbers)."""
    if s.table == "adult":
        return [c for c in CATEGORICAL if c in s.train.columns]
    levels = s.train.nunique(dropna=True)
    return [c for c in s.train.columns if 2 <= levels[c] <= MAX_CHANGE_LEVELS]


def jitter_rows(rows: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Adult rows with small numeric noise: age +-1, hours-per-week +1..2, fnlwgt +-3%."""
    rows = rows.copy()
    k = len(rows)
    rows["age"] = rows["age"] + rng.integers(-1, 2, k)
    rows["hours-per-week"] = rows["hours-per-week"] + rng.integers(1, 3, k)
    rows["fnlwgt"] = (rows["fnlwgt"] * rng.uniform(0.97, 1.03, k)).round().astype(int)
    return rows


def jitter(share: float) -> Callable[[Split, np.random.Generator], pd.DataFrame]:
    def make(s: Split, rng: np.random.Generator) -> pd.DataFrame:
        k = leak_count(s, share)
        rows = s.train.iloc[rng.choice(len(s.train), size=k, replace=False)].reset_index(drop=True)
        return _plant(_base(s, rng), jitter_rows(rows, rng), rng)

    return make


def _partial(s: Split, rng: np.random.Generator, src: np.ndarray, cols: list[str]) -> pd.DataFrame:
    """Fresh rows with ``cols`` taken from the training records ``src``."""
    base = _base(s, rng)
    at = rng.choice(len(base), size=src.size, replace=False)
    for c in cols:
        vals = base[c].astype(object).to_numpy().copy()
        vals[at] = s.train[c].astype(object).to_numpy()[src]
        base[c] = pd.Series(vals).astype(s.train[c].dtype, errors="ignore")
    return base


def qi_unique(share: float) -> Callable[[Split, np.random.Generator], pd.DataFrame]:
    def make(s: Split, rng: np.random.Generator) -> pd.DataFrame:
        key = pd.concat([s.train[QI], s.holdout[QI]]).fillna("NA").map(str).agg("|".join, axis=1)
        counts = key.value_counts()
        unique = np.flatnonzero(key.iloc[: len(s.train)].map(counts).to_numpy() == 1)
        k = min(leak_count(s, share), unique.size)
        return _partial(s, rng, rng.choice(unique, size=k, replace=False), consistent(QI))

    return make


def consistent(cols: list[str]) -> list[str]:
    """``cols`` with the columns that Adult derives from them: ``education-num`` is a function of
    ``education`` (one code per level), so a leak that copies a record's education copies its
    education-num too. Taking it from a fresh row would make the planted records internally
    inconsistent (a check of education-num against education, or an attacker reading
    education-num, would see a fresh value), which is no realistic generator."""
    return [*cols, "education-num"] if "education" in cols and "education-num" not in cols else cols


def partial_attr(share: float) -> Callable[[Split, np.random.Generator], pd.DataFrame]:
    def make(s: Split, rng: np.random.Generator) -> pd.DataFrame:
        k = leak_count(s, share)
        src = rng.choice(len(s.train), size=k, replace=False)
        return _partial(s, rng, src, consistent([*QI, "occupation", "income"]))

    return make


def rare_class_attr(s: Split, rng: np.random.Generator) -> pd.DataFrame:
    counts = s.train["occupation"].value_counts()
    rare = counts[counts >= 20].index[-3:]  # the three rarest classes with 20+ records
    src = np.flatnonzero(s.train["occupation"].isin(rare).to_numpy())
    return _partial(s, rng, src, consistent([*QI, "occupation"]))


def linkage(share: float) -> Callable[[Split, np.random.Generator], pd.DataFrame]:
    def make(s: Split, rng: np.random.Generator) -> pd.DataFrame:
        k = leak_count(s, share)
        src = rng.choice(len(s.train), size=k, replace=False)
        return _partial(s, rng, src, consistent([*DEMOGRAPHIC, *WORK]))

    return make


def subgroup_overfit(s: Split, rng: np.random.Generator) -> pd.DataFrame:
    country = s.train["native-country"].value_counts().index[1]  # the largest non-US group
    src = np.flatnonzero((s.train["native-country"] == country).to_numpy())
    rows = jitter_rows(s.train.iloc[src].reset_index(drop=True), rng)
    return _plant(_base(s, rng), rows, rng)


def dp(epsilon: float) -> Callable[[Split, np.random.Generator], pd.DataFrame]:
    def make(s: Split, rng: np.random.Generator) -> pd.DataFrame:
        from privsynth.io import example_path
        from privsynth.schema import load_schema
        from privsynth.synthesizers import get_synthesizer

        path = example_path("adult-schema.json") if s.table == "adult" else domain_path(s.table)
        schema = load_schema(path)
        seed = int(rng.integers(0, 2**31))
        model = get_synthesizer("mst")(epsilon=epsilon, seed=seed).fit(s.train, schema)
        return model.sample()

    return make


NULLS: dict[str, Callable[[Split, np.random.Generator], pd.DataFrame]] = {
    "fresh": fresh,
    "mode_collapse": mode_collapse,
    "dp_eps1": dp(1.0),
    "dp_eps10": dp(10.0),
}
LEAKS: dict[str, Callable[[Split, np.random.Generator], pd.DataFrame]] = {
    "copies_0.1pct": copies(0.001),
    "copies_0.3pct": copies(0.003),
    "copies_1pct": copies(0.01),
    "copies_3pct": copies(0.03),
    "rare_copies_0.3pct": copies(0.003, rare=True),
    "rare_copies_1pct": copies(0.01, rare=True),
    "near_copies_1pct": near_copies(0.01),
    "near_copies_3pct": near_copies(0.03),
    "jitter_3pct": jitter(0.03),
    "jitter_10pct": jitter(0.10),
    "qi_unique_1pct": qi_unique(0.01),
    "qi_unique_3pct": qi_unique(0.03),
    "partial_attr_3pct": partial_attr(0.03),
    "partial_attr_10pct": partial_attr(0.10),
    "rare_class_attr": rare_class_attr,
    "linkage_3pct": linkage(0.03),
    "linkage_10pct": linkage(0.10),
    "subgroup_overfit": subgroup_overfit,
}
SCENARIOS = {**NULLS, **LEAKS}

# The columns each leak reproduces verbatim from its training records (None: every column), for
# the oracle power bound of benchmarks/gate_power_bound.py. Leaks that perturb what they copy
# (near copies, jitter, the jittered subgroup) have no such set and are left out.
LEAK_COLUMNS: dict[str, list[str] | None] = {
    **{name: None for name in LEAKS if "copies" in name and not name.startswith("near")},
    "qi_unique_1pct": consistent(QI),
    "qi_unique_3pct": consistent(QI),
    "partial_attr_3pct": consistent([*QI, "occupation", "income"]),
    "partial_attr_10pct": consistent([*QI, "occupation", "income"]),
    "rare_class_attr": consistent([*QI, "occupation"]),
    "linkage_3pct": consistent([*DEMOGRAPHIC, *WORK]),
    "linkage_10pct": consistent([*DEMOGRAPHIC, *WORK]),
}
# scenarios that must run on Adult (they name Adult's columns); the copies, near copies, mode
# collapse and the DP nulls (MST on the table's domain file) run on every shared table
ADULT_ONLY = {
    name
    for name in SCENARIOS
    if name.startswith(("jitter", "qi_unique", "partial_attr", "linkage"))
    or name in ("rare_class_attr", "subgroup_overfit")
}


def make(
    name: str, seed: int, table: str = "adult", n_real: int = 16_000
) -> tuple[Split, pd.DataFrame]:
    """(split, synthetic) for scenario ``name`` at ``seed``."""
    if name not in SCENARIOS:
        raise KeyError(f"unknown scenario {name!r}; known: {sorted(SCENARIOS)}")
    if table != "adult" and name in ADULT_ONLY:
        raise ValueError(f"scenario {name!r} needs the Adult table")
    s = split(seed, table, n_real)
    rng = np.random.default_rng([seed, 7])
    return s, SCENARIOS[name](s, rng)

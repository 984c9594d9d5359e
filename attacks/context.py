"""The prepared triple shared by the attacks: validated, encoded once, and a cache of
nearest-neighbour searches so that no search runs twice in a suite.

Two views of the real tables:

* the full tables ``"train_all"`` and ``"holdout_all"``: what the size-free comparisons use
  (exact and near copies as shares of records reproduced, DCR against the whole training set
  with null share n_T / (n_T + n_H), every training record a member in membership inference);
  comparing at equal size would shrink a leak by n_used / n_train;
* the seeded equal-size subsample ``"train"`` / ``"holdout"`` (``train_rows``,
  ``holdout_rows``): kept for the attacks whose statistic is not size-free (attribute inference
  targets, the NNDR ratio).

Too-small inputs raise :class:`attacks.errors.AttackCannotRun` inside each attack ("not enough
data"), so the verdict is INCONCLUSIVE rather than an interval computed from one row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from attacks import neighbors as nb
from attacks.config import MAX_QUERY_ROWS, AuditConfig
from attacks.errors import AttackCannotRun, AuditInputError
from attacks.geometry import EncodedTable, Geometry, encode_tables, validate_tables
from attacks.knowledge import near_unique_columns
from attacks.rowkeys import RowKeys, RowMatches
from attacks.split import check_holdout_apart

__all__ = ["MAX_QUERY_ROWS", "MIN_ROWS", "TABLES", "AuditData"]

TABLES = ("train", "holdout", "synthetic", "train_all", "holdout_all")
# Below this many rows in any table the distance and membership attacks report "not enough
# data" (status error -> INCONCLUSIVE verdict) instead of degenerate intervals.
MIN_ROWS = 20


@dataclass
class AuditData:
    """Encoded (train, holdout, synthetic) with the seeded equal-size subsample of the larger of
    train and holdout, and the :class:`~attacks.config.AuditConfig` it was prepared with.
    ``train_rows`` / ``holdout_rows`` index the original tables; ``n_jobs`` is the resolved
    thread count (>= 1; results do not depend on it)."""

    geometry: Geometry
    tables: dict[str, EncodedTable]
    train_rows: np.ndarray
    holdout_rows: np.ndarray
    config: AuditConfig
    n_jobs: int = 1
    qi: list[str] | None = None
    secrets: list[str] | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    _query_rows: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _indexes: dict[str, nb.NeighborIndex] = field(default_factory=dict, repr=False)
    _searches: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = field(
        default_factory=dict, repr=False
    )
    _fused: bool = field(default=False, repr=False)
    _row_keys: RowKeys | None = field(default=None, repr=False)
    _near_unique: list[str] | None = field(default=None, repr=False)

    @classmethod
    def prepare(
        cls,
        train: pd.DataFrame,
        holdout: pd.DataFrame,
        synthetic: pd.DataFrame,
        config: AuditConfig | None = None,
        *,
        column_types: dict[str, str] | None = None,
        qi: Sequence[str] | None = None,
        secrets: Sequence[str] | None = None,
        seed: int | None = None,
        n_jobs: int | None = None,
    ) -> AuditData:
        """Validate and encode the triple. ``column_types``, ``qi`` and ``secrets`` describe the
        data; ``config`` says how to audit it (default :class:`AuditConfig()`), with ``seed``
        and ``n_jobs`` as shortcuts that replace the config's fields when given."""
        cfg = (config or AuditConfig()).with_overrides(seed=seed, n_jobs=n_jobs)
        try:
            jobs = nb.resolve_jobs(cfg.n_jobs)
        except ValueError as exc:
            raise AuditInputError(str(exc)) from None
        frames, types = validate_tables(
            {"train": train, "holdout": holdout, "synthetic": synthetic},
            column_types,
            qi=qi,
            secrets=secrets,
        )
        geo, enc = encode_tables(
            frames, types, scaling=cfg.scaling, seed=cfg.seed, fit_on=("train", "holdout")
        )
        keys = RowKeys(geo, enc)
        key_t, key_h, _ = keys.keys(list(geo.columns))
        check_holdout_apart(key_t, key_h)  # a holdout drawn from train voids every control
        train_rows, holdout_rows = _equal_size_rows(len(enc["train"]), len(enc["holdout"]), cfg)
        data = cls(
            geometry=geo,
            tables=enc,
            train_rows=train_rows,
            holdout_rows=holdout_rows,
            config=cfg,
            n_jobs=jobs,
            qi=list(qi) if qi is not None else None,
            secrets=list(secrets) if secrets is not None else None,
            _row_keys=keys,
        )
        data.settings = data._describe()
        return data

    def _describe(self) -> dict[str, Any]:
        """The audit's settings as recorded in the result (sizes, subsampling, geometry)."""
        cfg, geo = self.config, self.geometry
        n_t, n_h = len(self.tables["train"]), len(self.tables["holdout"])
        n_used = self.n_used
        subsampled = "train" if n_t > n_used else "holdout" if n_h > n_used else None
        return {
            "seed": cfg.seed,
            "n_train": n_t,
            "n_holdout": n_h,
            "n_synthetic": len(self.tables["synthetic"]),
            "n_used": n_used,
            "subsampled": subsampled,
            "subsampling": (
                f"seeded uniform sample without replacement of {n_used} {subsampled} rows"
                if subsampled
                else "none (equal sizes)"
            ),
            "columns": list(geo.columns),
            "column_types": dict(geo.types),
            "scaling": cfg.scaling,
            "dim": geo.dim,
            "qi": self.qi,
            "secrets": self.secrets,
            "neighbors": {
                "exact_max_rows": cfg.neighbors.exact_max_rows,
                "nprobe": cfg.neighbors.nprobe,
                "max_query_rows": cfg.neighbors.max_query_rows,
                "threads": self.n_jobs,
                "indexes": {},
            },
        }

    @property
    def seed(self) -> int:
        return self.config.seed

    # --- the comparison sets -------------------------------------------------------------
    def canonical(self, name: str) -> str:
        """``name`` with "train"/"holdout" mapped to "train_all"/"holdout_all" when the
        subsample is the whole table (so the same search is never run twice)."""
        if name == "train" and self.train_rows.size == len(self.tables["train"]):
            return "train_all"
        if name == "holdout" and self.holdout_rows.size == len(self.tables["holdout"]):
            return "holdout_all"
        return name

    def matrix(self, name: str) -> np.ndarray:
        """Encoded rows of "train" (the used subsample), "holdout" (used), "synthetic",
        "train_all" or "holdout_all" (every record)."""
        name = self.canonical(name)
        if name.endswith("_all"):
            return self.tables[name[: -len("_all")]].X
        if name == "train":
            return self.tables["train"].X[self.train_rows]
        if name == "holdout":
            return self.tables["holdout"].X[self.holdout_rows]
        return self.tables["synthetic"].X

    def query_rows(self, name: str) -> np.ndarray:
        """Positions in ``matrix(name)`` of the records that query the searches (targets of the
        attacks): all of them, or a seeded uniform sample of ``max_query_rows`` when larger
        (recorded in ``settings["neighbors"]["query_sample"]``)."""
        name = self.canonical(name)
        rows = self._query_rows.get(name)
        if rows is None:
            n = self.matrix(name).shape[0]
            rows = np.arange(n)
            if n > self.config.neighbors.max_query_rows > 0:
                rng = np.random.default_rng([self.seed, 1 + TABLES.index(name)])
                rows = np.sort(
                    rng.choice(n, size=self.config.neighbors.max_query_rows, replace=False)
                )
                self.settings["neighbors"].setdefault("query_sample", {})[name] = {
                    "rows": int(rows.size),
                    "of": int(n),
                    "method": "seeded uniform sample without replacement",
                }
            self._query_rows[name] = rows
        return rows

    def codes(self, name: str) -> np.ndarray:
        """Exact-equality codes (high-cardinality categoricals) of the rows of ``matrix(name)``."""
        name = self.canonical(name)
        table = self.tables[name[: -len("_all")] if name.endswith("_all") else name]
        c = table.codes(self.geometry.exact_columns)
        if name == "train":
            return c[self.train_rows]
        if name == "holdout":
            return c[self.holdout_rows]
        return c

    def query_codes(self, name: str) -> np.ndarray:
        """Exact-equality codes of the query records of ``name``."""
        rows = self.query_rows(name)
        c = self.codes(name)
        return c if rows.size == c.shape[0] else c[rows]

    def query_matrix(self, name: str) -> np.ndarray:
        """Encoded rows of the query records of ``name`` (see :meth:`query_rows`)."""
        rows = self.query_rows(name)
        x = self.matrix(name)
        return x if rows.size == x.shape[0] else x[rows]

    @property
    def n_used(self) -> int:
        return int(self.train_rows.size)

    def size(self, name: str) -> int:
        """Rows of ``matrix(name)``."""
        return int(self.matrix(name).shape[0])

    def original_rows(self, name: str) -> np.ndarray:
        """Positions in the user's table of the query records of ``name``."""
        name = self.canonical(name)
        q = self.query_rows(name)
        if name == "train":
            return self.train_rows[q]
        if name == "holdout":
            return self.holdout_rows[q]
        return q

    def require_rows(self, attack: str, minimum: int = MIN_ROWS) -> None:
        """Raise "not enough data" when a table is too small for intervals to mean anything."""
        for name in ("train", "holdout", "synthetic"):
            n = len(self.tables[name])
            if n < minimum:
                raise AttackCannotRun(
                    f"{attack}: not enough data: the {name} table has {n} row(s); at least "
                    f"{minimum} are needed for a valid interval"
                )

    # --- exact row keys -----------------------------------------------------------------
    @property
    def row_keys(self) -> RowKeys:
        """Exact row keys over (train, holdout, synthetic), cached per column set
        (:mod:`attacks.rowkeys`): ``row_keys.keys(columns)`` is one int64 array per table."""
        if self._row_keys is None:
            self._row_keys = RowKeys(self.geometry, self.tables)
        return self._row_keys

    def row_matches(self, columns: Sequence[str]) -> RowMatches:
        """Exact matches of the full train, holdout and synthetic tables on ``columns``."""
        return RowMatches.of(self.row_keys, columns)

    def near_unique_columns(self) -> list[str]:
        """The near-unique number and datetime columns (a survey weight, a timestamp:
        :func:`attacks.knowledge.near_unique_columns`) that exact-agreement keys leave out,
        decided on the full train and holdout records only, never on the synthetic table; none
        when fewer than two columns would remain (key on everything rather than on nothing);
        cached."""
        if self._near_unique is None:
            tr, ho = self.tables["train"], self.tables["holdout"]
            real = {
                c: np.concatenate([tr.value_matrix([c])[:, 0], ho.value_matrix([c])[:, 0]])
                for c in self.geometry.columns
            }
            skip = near_unique_columns(real, self.geometry.types)
            self._near_unique = skip if len(self.geometry.columns) - len(skip) >= 2 else []
        return list(self._near_unique)

    # --- neighbour searches --------------------------------------------------------------
    def build_index(
        self, base: np.ndarray, label: str, codes: np.ndarray | None = None
    ) -> nb.NeighborIndex:
        """An index over ``base`` (``n_jobs`` threads; ``codes``: its exact-equality codes),
        described under ``settings["neighbors"]["indexes"][label]``."""
        index = nb.NeighborIndex.build(
            base,
            exact_max_rows=self.config.neighbors.exact_max_rows,
            nprobe=self.config.neighbors.nprobe,
            seed=self.seed,
            threads=self.n_jobs,
            codes=codes,
        )
        info: dict[str, Any] = {"rows": len(index), "exact": index.exact}
        if not index.exact:
            info.update(nlist=index.nlist, nprobe=index.nprobe)
        self.settings["neighbors"]["indexes"][label] = info
        return index

    def record_recall(self, index: nb.NeighborIndex, query: np.ndarray, label: str) -> None:
        info = self.settings["neighbors"]["indexes"].get(label, {})
        if not index.exact and "recall_at_1" not in info:
            rec = index.recall(query, seed=self.seed)
            self.settings["neighbors"]["indexes"][label]["recall_at_1"] = rec

    def index(self, name: str) -> nb.NeighborIndex:
        name = self.canonical(name)
        if name not in self._indexes:
            self._indexes[name] = self.build_index(self.matrix(name), name, self.codes(name))
        return self._indexes[name]

    def neighbors(self, query: str, base: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """k nearest ``base`` rows of every query record of ``query`` (:meth:`query_rows`; all
        records up to ``max_query_rows``), cached; indices into the used sets."""
        query, base = self.canonical(query), self.canonical(base)
        key = (query, base)
        cached = self._searches.get(key)
        if cached is not None and cached[0].shape[1] >= min(k, self.size(base)):
            return cached[0][:, :k], cached[1][:, :k]
        q = self.query_matrix(query)
        index = self.index(base)
        self.record_recall(index, q, base)
        d, i = index.search(q, k, query_codes=self.query_codes(query))
        if index.codes is not None:
            info = self.settings["neighbors"]["indexes"][base]
            info["inexact_queries"] = info.get("inexact_queries", 0) + index.inexact
            index.inexact = 0
        self._searches[key] = (d, i)
        return d, i

    def fuse_distance_searches(self) -> None:
        """Run the searches of DCR and the two membership attacks in one pass per real table
        where they can be fused (:func:`attacks.neighbors.cross_search`): ``real_all`` ->
        synthetic (the membership scores' k, DCR's worst-case view), synthetic -> ``real_all``
        (DCR) and synthetic -> the equal-size view (NNDR, k = 2), all from one distance matrix
        instead of two transposed flat searches. Only for exact searches of every record
        without exact-equality columns (else each search runs on its own when asked);
        idempotent, so an attack run alone gets the same neighbours as in the suite."""
        if self._fused:
            return
        self._fused = True
        cfg = self.config
        k = max(cfg.membership_distance.k, cfg.membership_density.k)
        limit = min(cfg.neighbors.exact_max_rows, cfg.neighbors.max_query_rows)
        if self.geometry.exact_columns or self.size("synthetic") > limit:
            return
        for real in ("train", "holdout"):
            if self.size(f"{real}_all") <= limit:
                self._fuse(real, k)

    def _fuse(self, real: str, k: int) -> None:
        full, view = f"{real}_all", self.canonical(real)
        rows = self.train_rows if real == "train" else self.holdout_rows
        sub = None if view == full else rows
        res = nb.cross_search(
            self.matrix(full),
            self.matrix("synthetic"),
            k,
            2 if sub is None else 1,
            subset=sub,
            k_subset=2,
            threads=self.n_jobs,
        )
        indexes = self.settings["neighbors"]["indexes"]
        for name in ("synthetic", full) if sub is None else ("synthetic", full, view):
            indexes.setdefault(name, {"rows": self.size(name), "exact": True})
        self._searches[(full, "synthetic")] = res.ab
        self._searches[("synthetic", full)] = res.ba
        if res.ba_subset is not None:
            self._searches[("synthetic", view)] = res.ba_subset


def _equal_size_rows(n_t: int, n_h: int, cfg: AuditConfig) -> tuple[np.ndarray, np.ndarray]:
    """Rows of train and holdout in the equal-size view: the larger table is subsampled
    (seeded, uniform, without replacement) to the smaller one's size."""
    n_used = min(n_t, n_h)
    rng = np.random.default_rng(cfg.seed)
    train_rows, holdout_rows = np.arange(n_t), np.arange(n_h)
    if n_t > n_used:
        train_rows = np.sort(rng.choice(n_t, size=n_used, replace=False))
    elif n_h > n_used:
        holdout_rows = np.sort(rng.choice(n_h, size=n_used, replace=False))
    return train_rows, holdout_rows

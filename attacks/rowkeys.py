"""Exact row keys: one integer per row for its combination of values on some columns, the same
across the tables of an audit, so that "is this record's combination in the synthetic table?",
"is it unique among the real records?" and "how many real records share it?" are
``np.bincount`` look-ups instead of sorts of 64-bit hashes (``np.unique`` / ``np.isin``).

Definition. For the tables T_1, ..., T_m (in an audit: train, holdout, synthetic) and columns
C, two rows are equivalent when they hold equal values in every column of C (a missing number
equals a missing number; 0.0 equals -0.0; categoricals compare by their shared code). The key of
a row is the rank of its class in order of first appearance over the concatenation T_1 ... T_m:
dense (0 .. classes - 1), exact (no hashing, so no collision), and independent of the order of
C. It is what ``pd.factorize`` of the rows' hashes gives (``attacks.singling_out``'s
``combination_keys``) whenever the hashes do not collide, label for label, so cluster labels
built from keys are unchanged.

Construction. Each column becomes digits: a categorical column its shared codes (0 .. levels -
1), any other column the first-appearance codes of its values (``pd.factorize``, missing its own
code). Digits are combined in mixed radix, key = key x n_c + digit_c, which is injective while
the product of the radices stays below 2^62; when the next column would pass that, the running
key is first re-densified with ``pd.factorize`` (its radix becomes the number of classes so
far). A final ``pd.factorize`` gives the first-appearance ranks. Cost: O(rows x columns)
integer operations and one hash pass per re-densification; no sort.

:class:`RowKeys` caches the digits per column (int32) and the keys per column set, within a
byte budget (least recently used keys are dropped first), so the attacks that share column sets
(exact and near copies, singling out, exact-match inference) compute each key once.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from attacks.geometry import EncodedTable, Geometry

__all__ = [
    "KEY_CACHE_BYTES",
    "RowKeys",
    "RowMatches",
    "combine_digits",
    "first_appearance",
    "n_distinct",
    "sorted_inverse",
    "unique_counts",
    "unique_sorted",
]

# bytes of keys (not digits) kept by a RowKeys cache; the least recently used go first (on Adult
# every column set of a suite fits; at a million rows about six keys do)
KEY_CACHE_BYTES = 64 << 20
_RADIX_LIMIT = 1 << 62


def first_appearance(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Dense codes of ``values`` in order of first appearance (NaN one value, 0.0 = -0.0) and
    the number of distinct values."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    return codes.astype(np.int64, copy=False), len(uniques)


def combine_digits(digits: Sequence[tuple[np.ndarray, int]]) -> np.ndarray:
    """First-appearance ranks of the rows' digit tuples (``digits``: per column, the codes and
    their radix). Exact: mixed radix, re-densified before it could overflow."""
    if not digits:
        raise ValueError("row keys need at least one column")
    key, radix = digits[0][0].astype(np.int64), max(int(digits[0][1]), 1)
    for codes, n in digits[1:]:
        n = max(int(n), 1)
        if radix * n >= _RADIX_LIMIT:
            key, radix = first_appearance(key)
        key = key * n + codes
        radix *= n
    return first_appearance(key)[0]


@dataclass
class RowKeys:
    """Row keys over the concatenation of ``tables`` (in that order), cached.

    ``keys(columns)`` returns one int64 array per table; equal keys mean equal rows on
    ``columns``, in any table."""

    geometry: Geometry
    tables: dict[str, EncodedTable]
    order: tuple[str, ...] = ("train", "holdout", "synthetic")
    budget: int = KEY_CACHE_BYTES
    _digits: dict[str, tuple[np.ndarray, int]] = field(default_factory=dict, repr=False)
    _keys: OrderedDict[tuple[str, ...], np.ndarray] = field(default_factory=OrderedDict, repr=False)

    @property
    def bounds(self) -> np.ndarray:
        return np.cumsum([0, *[len(self.tables[t]) for t in self.order]])

    def digits(self, column: str) -> tuple[np.ndarray, int]:
        """A column's digits over the concatenated tables and their radix."""
        got = self._digits.get(column)
        if got is None:
            stacked = np.concatenate([self.tables[t].values[column] for t in self.order])
            if self.geometry.types.get(column) == "categorical":
                codes, n = stacked, int(self.geometry.n_levels[column])
            else:
                codes, n = first_appearance(stacked)
            got = (codes.astype(np.int32 if n < 2**31 else np.int64), n)  # half the memory
            self._digits[column] = got
        return got

    def concatenated(self, columns: Sequence[str]) -> np.ndarray:
        """The keys of every row of the concatenated tables on ``columns``."""
        name = tuple(sorted(set(columns)))
        key = self._keys.get(name)
        if key is not None:
            self._keys.move_to_end(name)
            return key
        key = combine_digits([self.digits(c) for c in name])
        key.setflags(write=False)
        self._keys[name] = key
        used = sum(k.nbytes for k in self._keys.values())
        while used > self.budget and len(self._keys) > 1:
            used -= self._keys.popitem(last=False)[1].nbytes
        return key

    def keys(self, columns: Sequence[str]) -> list[np.ndarray]:
        """Per table (in ``order``), the keys of its rows on ``columns`` (read-only views)."""
        key, b = self.concatenated(columns), self.bounds
        return [key[b[i] : b[i + 1]] for i in range(len(self.order))]


@dataclass(frozen=True)
class RowMatches:
    """Exact matching of train, holdout and synthetic rows on some columns, from their keys:
    whether each record's combination is in the synthetic table, each synthetic row's in train
    or holdout, and whether a record is unique on the columns among the real records (train and
    holdout together)."""

    key_t: np.ndarray
    key_h: np.ndarray
    key_s: np.ndarray
    count_t: np.ndarray  # per key: rows of train with it
    count_h: np.ndarray
    count_s: np.ndarray

    @classmethod
    def of(cls, keys: RowKeys, columns: Sequence[str]) -> RowMatches:
        """``keys`` over (train, holdout, synthetic), in that order."""
        if keys.order != ("train", "holdout", "synthetic"):
            raise ValueError("RowMatches needs keys over (train, holdout, synthetic)")
        k_t, k_h, k_s = keys.keys(columns)
        n = int(keys.concatenated(columns).max(initial=-1)) + 1
        counts = [np.bincount(k, minlength=n) for k in (k_t, k_h, k_s)]
        return cls(k_t, k_h, k_s, *counts)

    @property
    def train_in_synthetic(self) -> np.ndarray:
        return self.count_s[self.key_t] > 0

    @property
    def holdout_in_synthetic(self) -> np.ndarray:
        return self.count_s[self.key_h] > 0

    @property
    def synthetic_in_train(self) -> np.ndarray:
        return self.count_t[self.key_s] > 0

    @property
    def synthetic_in_holdout(self) -> np.ndarray:
        return self.count_h[self.key_s] > 0

    @property
    def unique_train(self) -> np.ndarray:
        """Training records whose combination no other real record (train or holdout) has."""
        return (self.count_t[self.key_t] + self.count_h[self.key_t]) == 1

    @property
    def unique_holdout(self) -> np.ndarray:
        return (self.count_t[self.key_h] + self.count_h[self.key_h]) == 1

    def distinct_train(self, rows: np.ndarray) -> int:
        """Distinct combinations among the training records selected by the mask ``rows``."""
        return int(np.count_nonzero(np.bincount(self.key_t[rows], minlength=1)))


# --- drop-in replacements of np.unique for integer arrays ------------------------------------
def unique_counts(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(x, return_counts=True)`` for an integer array, by hashing (one pass) and
    sorting only the distinct values."""
    codes, uniq = pd.factorize(np.asarray(x).ravel())
    counts = np.bincount(codes, minlength=len(uniq))
    order = np.argsort(uniq, kind="stable")
    return np.asarray(uniq)[order], counts[order]


def unique_sorted(x: np.ndarray) -> np.ndarray:
    """``np.unique(x)`` for an integer array (hash, then sort the distinct values)."""
    return np.sort(np.asarray(pd.unique(np.asarray(x).ravel())))


def sorted_inverse(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(x, return_inverse=True)`` for a 1-d array of non-negative integers whose
    largest value is at most a few times its length (codes, row positions, tree leaves): a
    presence table instead of a sort. Other arrays fall back to ``np.unique``."""
    x = np.asarray(x)
    top = int(x.max(initial=0)) if x.size else 0
    if x.ndim != 1 or x.dtype.kind not in "iu" or (x.size and x.min() < 0) or top > 4 * x.size:
        return np.unique(x, return_inverse=True)
    present = np.zeros(top + 1, dtype=bool)
    present[x] = True
    rank = np.cumsum(present) - 1
    return np.flatnonzero(present).astype(x.dtype), rank[x]


def n_distinct(x: np.ndarray) -> int:
    """``np.unique(x).size`` for an integer array."""
    return int(pd.unique(np.asarray(x).ravel()).size)

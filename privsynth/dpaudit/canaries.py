"""Canaries (target records) chosen to be easy to detect, and small worst-case base tables.

DP bounds the distinguishability of *every* pair of neighbouring tables, so an audit may pick the
pair that is easiest to tell apart: the bound it finds is then closest to the truth. Under our
add/remove relation (docs/privacy.md) the pair is ``D`` and ``D + x``. Every canary is a full record
of integer codes over the public domain (schema codes), so any generator can receive it.

- ``out-of-support``: each column takes its value of lowest count in ``D`` (zero when one exists),
  so ``x`` lands in an empty (or the emptiest) cell of every marginal containing such a column.
- ``empty-cell``: an in-distribution looking record (each column's most common value) except for
  one pair of columns set to the cell of their two-way marginal that is empty in ``D`` while its
  two values are common: it hides from one-way statistics and shows in the measured pair.
- ``isolated``: the real record of ``D`` farthest (Hamming) from all others; the game then uses
  ``D`` minus that record as the base, so the pair is still ``(base, base + x)``.

``worst_case_base(domain, n)``: ``n`` copies of one record; with the ``out-of-support`` canary
(which then differs from it in every column) this is the standard small worst-case table.

``public_base(domain, n)``: a table built from the public domain alone (row ``r`` takes code
``r mod size`` in every column), so an audit on it reads no private data (the release report's
audit, ``audit.audit_for_report``). Every one-way cell holds about ``n / size`` rows, so the
``empty-cell`` canary it gets (code 0 everywhere, but one pair of columns in an empty two-way
cell of non-empty values) sits in large one-way cells that post-processing (simplex projection,
MST's compression) does not clip or merge, and in a two-way cell a pair measurement sees.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from privsynth.domain import Domain
from privsynth.errors import InputError

KINDS = ("out-of-support", "empty-cell", "isolated")
PUBLIC_BASE_ROWS = 300


@dataclass(frozen=True, kw_only=True)
class Canary:
    """The target record (codes in domain order), how it was chosen, and the base it goes with."""

    kind: str
    codes: tuple[int, ...]
    note: str
    removed_row: int | None = None  # isolated: the row of the given table taken out of the base

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InputError(f"unknown canary {self.kind!r}; choose one of {', '.join(KINDS)}")

    def array(self) -> np.ndarray:
        return np.asarray(self.codes, dtype=np.int64)


def _counts(codes: np.ndarray, domain: Domain, j: int) -> np.ndarray:
    return np.bincount(codes[:, j], minlength=domain.shape[j])


def out_of_support(codes: np.ndarray, domain: Domain) -> Canary:
    """Each column's least frequent code in ``codes``."""
    picks = [int(np.argmin(_counts(codes, domain, j))) for j in range(len(domain))]
    zero = sum(int(_counts(codes, domain, j)[c] == 0) for j, c in enumerate(picks))
    return Canary(
        kind="out-of-support",
        codes=tuple(picks),
        note=f"each column's rarest value; {zero} of {len(domain)} columns take a value absent from the base",
    )


def empty_cell(codes: np.ndarray, domain: Domain) -> Canary:
    """Modes everywhere except one pair set to an empty two-way cell of common values."""
    d = len(domain)
    counts = [_counts(codes, domain, j) for j in range(d)]
    x = [int(np.argmax(c)) for c in counts]
    best: tuple[float, int, int, int, int] | None = None
    for j, k in itertools.combinations(range(d), 2):
        joint = np.zeros((domain.shape[j], domain.shape[k]), dtype=np.int64)
        np.add.at(joint, (codes[:, j], codes[:, k]), 1)
        expected = np.outer(counts[j], counts[k]).astype(float)
        expected[joint > 0] = -1.0  # only empty cells qualify
        a, b = np.unravel_index(int(np.argmax(expected)), expected.shape)
        if expected[a, b] > 0 and (best is None or expected[a, b] > best[0]):
            best = (float(expected[a, b]), j, k, int(a), int(b))
    if best is None:
        raise InputError(
            "no two-way marginal of the base table has an empty cell between values it contains; "
            "use --canary out-of-support"
        )
    _, j, k, a, b = best
    x[j], x[k] = a, b
    names = domain.attrs
    return Canary(
        kind="empty-cell",
        codes=tuple(x),
        note=f"modes, with ({names[j]}, {names[k]}) = codes ({a}, {b}): an empty cell of that two-way marginal",
    )


def isolated(codes: np.ndarray, chunk: int = 512) -> Canary:
    """The record with the largest Hamming distance to its nearest other record (first on ties)."""
    n = codes.shape[0]
    if n < 2:
        raise InputError("the isolated canary needs a base table of at least 2 rows")
    nearest = np.empty(n, dtype=np.int64)
    for s in range(0, n, chunk):
        block = codes[s : s + chunk]
        dist = (block[:, None, :] != codes[None, :, :]).sum(axis=2)
        dist[np.arange(block.shape[0]), np.arange(s, s + block.shape[0])] = codes.shape[1] + 1
        nearest[s : s + block.shape[0]] = dist.min(axis=1)
    row = int(np.argmax(nearest))
    return Canary(
        kind="isolated",
        codes=tuple(int(v) for v in codes[row]),
        note=f"real row {row + 1}: {int(nearest[row])} columns from its nearest neighbour",
        removed_row=row,
    )


def choose(kind: str, codes: np.ndarray, domain: Domain) -> Canary:
    """The canary of ``kind`` for base ``codes``."""
    if kind == "out-of-support":
        return out_of_support(codes, domain)
    if kind == "empty-cell":
        return empty_cell(codes, domain)
    if kind == "isolated":
        return isolated(codes)
    raise InputError(f"unknown canary {kind!r}; choose one of {', '.join(KINDS)}")


def base_for(canary: Canary, codes: np.ndarray) -> np.ndarray:
    """The base table of the game: ``codes`` without the canary's own row (if it is real)."""
    if canary.removed_row is None:
        return codes
    return np.delete(codes, canary.removed_row, axis=0)


def worst_case_base(domain: Domain, n: int, record: np.ndarray | None = None) -> np.ndarray:
    """``n`` copies of ``record`` (default: code 0 in every column)."""
    if n < 1:
        raise InputError(f"the worst-case base table needs at least 1 row, got {n}")
    rec = np.zeros(len(domain), dtype=np.int64) if record is None else np.asarray(record)
    return np.tile(rec.astype(np.int64), (n, 1))


def public_base(domain: Domain, n: int = PUBLIC_BASE_ROWS) -> np.ndarray:
    """``n`` rows from the domain alone: row ``r`` has code ``r mod size_j`` in column ``j``."""
    if n < 2:
        raise InputError(f"the public base table needs at least 2 rows, got {n}")
    r = np.arange(n, dtype=np.int64)[:, None]
    return r % np.asarray(domain.shape, dtype=np.int64)[None, :]

"""Nearest synthetic row in the quasi-identifier space of each secret, from one shared search.

The attribute attack needs, for every secret column ``s``, each target's nearest synthetic row
over the QI columns other than ``s``. Instead of one index and one search per secret, one exact
search over the union of the QI columns returns ``k`` candidates per target, and each secret's
distances are recomputed exactly (float64) on those candidates by removing the secret's own
contribution. That is exact whenever a certificate holds: a row outside the candidates has
squared union distance at least the k-th candidate's, ``D_k``, and removing column ``s`` lowers a
squared distance by at most ``M_s`` (1 for a one-hot categorical, 2 for an embedded one, and for
a number the largest squared gap from the target's value to the base's range), so if the best
candidate is below ``D_k - M_s`` (less a float32 margin) nothing outside can beat or tie it.
Targets where the certificate fails (measured: under 1% on Adult with ``k = 128``) get their own
search in the secret's QI space, refined the same way. Ties go to the lowest synthetic row index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import faiss
import numpy as np

from attacks.geometry import Geometry
from attacks.neighbors import set_threads

DEFAULT_CANDIDATES = 128
# faiss ranks by float32 squared distances; an absolute margin far above their rounding error
# (norms here are at most a few tens) keeps the certificate sound.
_MARGIN = 1e-3
# faiss answers a batch of queries with one matrix product only when the batch is large (1.15:
# queries x dims >= 128,000); smaller batches take a per-query path about 4x slower here. So the
# search runs in large batches and only the exact refinement in small ones (bounded memory).
_SEARCH_BATCH = 16_384
_REFINE_BATCH = 512


@dataclass
class QINeighbours:
    """Nearest base row per query for each secret, and how many queries needed the fallback."""

    nearest: dict[str, np.ndarray]
    fallback: dict[str, int]
    candidates: int


def nearest_per_secret(
    geometry: Geometry,
    base: np.ndarray,
    queries: np.ndarray,
    qi: Sequence[str],
    secrets: Sequence[str],
    *,
    k: int = DEFAULT_CANDIDATES,
    threads: int = 1,
) -> QINeighbours:
    """For each secret, the index of the nearest ``base`` row of every ``queries`` row over the
    columns ``qi`` without the secret (``base`` and ``queries`` are full encodings)."""
    qi = list(qi)
    union = _Space(geometry, qi)
    b, q = union.take(base), union.take(queries)
    n, nq = b.shape[0], q.shape[0]
    k = int(min(max(k, 1), n))
    set_threads(threads)
    index = faiss.IndexFlatL2(b.shape[1])
    index.add(b)
    lo, hi = b.min(axis=0).astype(np.float64), b.max(axis=0).astype(np.float64)
    nearest = {s: np.empty(nq, dtype=np.int64) for s in secrets}
    uncertain: dict[str, list[np.ndarray]] = {s: [] for s in secrets}
    for s0 in range(0, nq, _SEARCH_BATCH):
        _, cand_batch = index.search(q[s0 : s0 + _SEARCH_BATCH], k)
        for s1 in range(0, cand_batch.shape[0], _REFINE_BATCH):
            start = s0 + s1
            cand = cand_batch[s1 : s1 + _REFINE_BATCH]
            qc = q[start : start + cand.shape[0]]
            parts = union.contributions(qc, b, cand)
            total = _sum_columns(parts)
            # rows outside the candidates are at squared union distance >= the k-th candidate's
            bound = np.full(qc.shape[0], np.inf) if k >= n else total.max(axis=1) - _MARGIN
            for s in secrets:
                if s in qi:
                    dist = _sum_columns(parts, skip=qi.index(s))
                    slack = union.max_contribution(s, qc, lo, hi)
                else:
                    dist, slack = total, np.zeros(qc.shape[0])
                pick, best = _lowest(dist, cand)
                nearest[s][start : start + qc.shape[0]] = pick
                uncertain[s].append(start + np.flatnonzero(~(best < bound - slack)))
    fallback: dict[str, int] = {}
    for s in secrets:
        bad = np.concatenate(uncertain[s])
        if bad.size:
            rest = [c for c in qi if c != s]
            nearest[s][bad] = _search_subspace(geometry, rest, base, queries[bad], k, threads)
        fallback[s] = int(bad.size)
    return QINeighbours(nearest, fallback, k)


class _Space:
    """The encoding dimensions of some columns, with each column's position inside them."""

    def __init__(self, geometry: Geometry, columns: Sequence[str]) -> None:
        self.geometry = geometry
        self.columns = list(columns)
        self.dims = geometry.dims(self.columns)
        self.local: list[slice] = []
        start = 0
        for c in self.columns:
            width = geometry.slices[c].stop - geometry.slices[c].start
            self.local.append(slice(start, start + width))
            start += width

    def take(self, x: np.ndarray) -> np.ndarray:
        out = np.ascontiguousarray(x[:, self.dims], dtype=np.float32)
        return out if out.shape[1] else np.zeros((x.shape[0], 1), dtype=np.float32)

    def max_contribution(
        self, column: str, q: np.ndarray, lo: np.ndarray, hi: np.ndarray
    ) -> np.ndarray:
        """Per query, the largest squared distance ``column`` can add against any base row
        (``lo``/``hi``: the base's per-dimension minimum and maximum in this space)."""
        geo = self.geometry
        if geo.types[column] == "categorical":
            width = geo.slices[column].stop - geo.slices[column].start
            # one-hot / sqrt(2): different levels are exactly 1 apart; embedded levels (unit
            # vectors / sqrt(2)) at most 2
            return np.full(q.shape[0], 1.0 if width == geo.n_levels[column] else 2.0)
        sl = self.local[self.columns.index(column)]
        qq = q[:, sl].astype(np.float64)
        return np.maximum((qq - lo[sl]) ** 2, (qq - hi[sl]) ** 2).sum(axis=1)

    def contributions(self, q: np.ndarray, b: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """Exact float64 squared distance per column between each query and its candidate rows
        ``idx`` (shape: columns x queries x candidates)."""
        out = np.empty((len(self.columns), *idx.shape))
        cand = b[idx]
        for i, sl in enumerate(self.local):
            diff = np.subtract(cand[:, :, sl], q[:, None, sl], dtype=np.float64)
            out[i] = np.einsum("ijk,ijk->ij", diff, diff)
        return out


def _sum_columns(parts: np.ndarray, skip: int = -1) -> np.ndarray:
    """Sum over the column axis, column by column in a fixed order, so the shared search and
    the fallback add the same numbers the same way."""
    total = np.zeros(parts.shape[1:])
    for i, p in enumerate(parts):
        if i != skip:
            total += p
    return total


def _lowest(dist: np.ndarray, cand: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the candidate at the smallest distance (lowest row index among ties)."""
    best = dist.min(axis=1)
    tied = np.where(dist == best[:, None], cand, np.iinfo(np.int64).max)
    return tied.min(axis=1), best


def _search_subspace(
    geometry: Geometry,
    columns: list[str],
    base: np.ndarray,
    queries: np.ndarray,
    k: int,
    threads: int,
) -> np.ndarray:
    """The fallback: a search in the secret's own QI space (faiss top-k, then the same exact
    float64 refinement; ties beyond the k candidates go to the lowest index among them)."""
    if not columns:  # no QI left: every row is equally near; the lowest index wins
        return np.zeros(queries.shape[0], dtype=np.int64)
    space = _Space(geometry, columns)
    b, q = space.take(base), space.take(queries)
    k = min(k, b.shape[0])
    set_threads(threads)
    index = faiss.IndexFlatL2(b.shape[1])
    index.add(b)
    out = np.empty(q.shape[0], dtype=np.int64)
    for s0 in range(0, q.shape[0], _SEARCH_BATCH):
        _, cand_batch = index.search(q[s0 : s0 + _SEARCH_BATCH], k)
        for s1 in range(0, cand_batch.shape[0], _REFINE_BATCH):
            cand = cand_batch[s1 : s1 + _REFINE_BATCH]
            qc = q[s0 + s1 : s0 + s1 + cand.shape[0]]
            out[s0 + s1 : s0 + s1 + cand.shape[0]] = _lowest(
                _sum_columns(space.contributions(qc, b, cand)), cand
            )[0]
    return out


_BLOCK_CELLS = 4_000_000  # query x base distances held at once (16 MB of float32)


def nearest_on_columns(
    geometry: Geometry, base: np.ndarray, queries: np.ndarray, columns: Sequence[str]
) -> np.ndarray:
    """Index of the nearest ``base`` row of every ``queries`` row over ``columns`` (squared L2
    in the shared encoding; ties go to the lowest index). Blocked float32 matrix products: for
    the small knowledge sets (2-4 columns), where most distances tie exactly, this is far
    cheaper than a top-k search whose certificate fails on ties. Only distinct base rows and
    distinct queries are searched (:func:`distinct_rows`). Exactly equal rows get bitwise-equal
    distances, so exact ties always go to the lowest index; rows whose distances differ by less
    than float32 rounding may be ranked either way."""
    space = _Space(geometry, list(columns))
    b, q = space.take(base), space.take(queries)
    first, _ = distinct_rows(b)
    b = b[first]
    q_first, q_of = distinct_rows(q)
    q = q[q_first]
    sq = (b.astype(np.float64) ** 2).sum(axis=1).astype(np.float32)
    out = np.empty(q.shape[0], dtype=np.int64)
    step = max(1, _BLOCK_CELLS // max(b.shape[0], 1))
    for s in range(0, q.shape[0], step):
        out[s : s + step] = np.argmin(sq[None, :] - 2.0 * (q[s : s + step] @ b.T), axis=1)
    return first[out][q_of]


def distinct_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ascending positions of the first occurrence of each distinct row of ``x`` (bytewise),
    and each row's position among them.

    Searching only these rows gives the same lowest-index nearest row: equal rows are at equal
    distance, and the lowest index among tied rows is always a first occurrence. On a few
    columns (the small knowledge sets) the synthetic table has far fewer distinct rows than
    rows, so the distance blocks shrink by that factor; equal queries get one answer."""
    rows = np.ascontiguousarray(x).reshape(x.shape[0], -1)
    rows = rows.view(np.dtype((np.void, rows.dtype.itemsize * max(rows.shape[1], 1))))
    _, first, inv = np.unique(rows.ravel(), return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return first[order].astype(np.int64), rank[inv.ravel()].astype(np.int64)

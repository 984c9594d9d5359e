"""Nearest-neighbour search with faiss, chunked so memory is O(n), with exact distance refinement.

Up to ``EXACT_MAX_ROWS`` base rows the search is exact (``IndexFlatL2``). Above that an inverted
file index (``IndexIVFFlat``, ``nlist ~ 2 sqrt(n)`` lists, ``nprobe`` probed) is used, and its
recall@1 is measured against an exact search on a random sample of queries.

Exact-equality columns (high-cardinality categoricals, see ``geometry.py``) are not in the
vectors: an index built with their ``codes`` takes ``k + EXTRA_CANDIDATES`` candidates from the
vector search, adds every base row that shares a code with the query (up to ``GROUP_CAP`` per
column), and adds 1 per mismatching code to each candidate's squared distance before ranking. A
row outside the candidates mismatches every one of the e codes and is at vector distance at
least the last vector candidate's, so its squared distance is at least that plus e: the result is
exact whenever the k-th refined distance is below that bound and no group was capped. Queries
without this certificate are counted in ``inexact`` (the same rule applies to train and holdout
alike, so the null symmetry of every test is kept even then).

``threads`` is the number of OpenMP threads faiss uses for this index's searches; results do not
depend on it (each query is answered whole by one thread, and distances are recomputed exactly).
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass
from typing import Any

import faiss
import numpy as np

EXACT_MAX_ROWS = 200_000
DEFAULT_NPROBE = 8
CHUNK_ROWS = 16_384
# candidates of the brute-force pass that certifies an approximate index's recall, and the
# base rows per block of that pass
RECALL_CANDIDATES = 16
RECALL_BLOCK_ROWS = 131_072
EXTRA_CANDIDATES = 32
GROUP_CAP = 64  # rows per shared code added as candidates
CODE_CHUNK_ROWS = 2_048
# k-means iterations for the IVF coarse quantizer (faiss's default is 25; recall is measured)
IVF_TRAIN_ITERS = 10


def resolve_jobs(n_jobs: int | None) -> int:
    """Threads to use: ``n_jobs`` if positive; None or -1 = every CPU this process may use;
    -2 = all but one, and so on (scikit-learn's convention for negative values)."""
    try:
        avail = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        avail = os.cpu_count() or 1
    if n_jobs is None:
        return avail
    n = int(n_jobs)
    if n == 0:
        raise ValueError("n_jobs must be a positive number of threads or negative (-1 = all)")
    return max(1, n if n > 0 else avail + 1 + n)


@dataclass
class NeighborIndex:
    """An index over ``base`` rows (float32, C-contiguous)."""

    base: np.ndarray
    index: faiss.Index
    exact: bool
    nlist: int = 0
    nprobe: int = 0
    threads: int = 1
    codes: np.ndarray | None = None  # (n, e) exact-equality codes, or None
    inexact: int = 0  # queries whose exact-equality refinement lacked a certificate

    @classmethod
    def build(
        cls,
        base: np.ndarray,
        *,
        exact_max_rows: int = EXACT_MAX_ROWS,
        nprobe: int = DEFAULT_NPROBE,
        seed: int = 0,
        threads: int = 1,
        codes: np.ndarray | None = None,
    ) -> NeighborIndex:
        codes = None if codes is None or codes.shape[1] == 0 else np.asarray(codes, np.int64)
        base = np.ascontiguousarray(base, dtype=np.float32)
        n, d = base.shape
        d_eff = max(d, 1)
        if d == 0:
            base = np.zeros((n, 1), dtype=np.float32)
        threads = max(1, int(threads))
        set_threads(threads)
        if n <= exact_max_rows:
            index = faiss.IndexFlatL2(d_eff)
            index.add(base)
            return cls(base, index, exact=True, threads=threads, codes=codes)
        nlist = int(min(max(2 * math.sqrt(n), 64), 8192))
        quantizer = faiss.IndexFlatL2(d_eff)
        index = faiss.IndexIVFFlat(quantizer, d_eff, nlist)
        rng = np.random.default_rng(seed)
        sample = base[np.sort(rng.choice(n, size=min(n, 40 * nlist), replace=False))]
        index.cp.seed = int(seed)
        index.cp.niter = IVF_TRAIN_ITERS
        index.train(sample)
        for s in range(0, n, 262_144):
            index.add(base[s : s + 262_144])
        index.nprobe = int(nprobe)
        return cls(
            base, index, exact=False, nlist=nlist, nprobe=int(nprobe), threads=threads, codes=codes
        )

    def __len__(self) -> int:
        return self.base.shape[0]

    def search(
        self,
        query: np.ndarray,
        k: int = 1,
        *,
        chunk_rows: int = CHUNK_ROWS,
        query_codes: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest base rows of each query row: (distances float64, indices int64).

        Distances are recomputed exactly in float64 from the vectors (no float32 cancellation),
        so identical records are at distance exactly 0 and ties compare reliably. The order is
        exact among the candidates faiss returns (its float32 ranking can misorder rows whose
        distances differ by about 1e-7 relative): a caller that needs the exact nearest distance
        asks for a few more neighbours than it reads (the membership scores ask for 5). With
        ``query_codes`` (and an index built with codes) exact-equality columns are added.
        """
        query = np.ascontiguousarray(query, dtype=np.float32)
        if query.shape[1] == 0:
            query = np.zeros((query.shape[0], 1), dtype=np.float32)
        use_codes = self.codes is not None and query_codes is not None
        k_out = int(min(k, len(self)))
        k = int(min(k + EXTRA_CANDIDATES, len(self))) if use_codes else k_out
        nq = query.shape[0]
        dist = np.empty((nq, k_out), dtype=np.float64)
        idx = np.empty((nq, k_out), dtype=np.int64)
        set_threads(self.threads)
        if use_codes:
            chunk_rows = min(chunk_rows, CODE_CHUNK_ROWS)
        for s in range(0, nq, chunk_rows):
            q = query[s : s + chunk_rows]
            _, ii = self.index.search(q, k)
            missing = ii < 0  # an IVF probe can return fewer than k
            capped = np.zeros(q.shape[0], dtype=bool)
            if use_codes:
                k_vec = ii.shape[1]
                extra, capped = self._same_code_rows(query_codes[s : s + chunk_rows])
                ii = np.concatenate([ii, extra], axis=1)
                missing = np.concatenate([missing, extra < 0], axis=1)
            ii = np.where(missing, 0, ii)
            diff = np.subtract(self.base[ii], q[:, None, :], dtype=np.float64)
            d2 = np.einsum("ijk,ijk->ij", diff, diff)
            if use_codes:
                qc = np.asarray(query_codes[s : s + chunk_rows], dtype=np.int64)
                vec_last = np.where(missing[:, :k_vec], -np.inf, d2[:, :k_vec]).max(axis=1)
                d2 = d2 + (self.codes[ii] != qc[:, None, :]).sum(axis=2)
            dd = np.sqrt(d2)
            dd[missing] = np.inf
            # a row found by both routes is kept once (missing slots get distinct keys)
            if use_codes:
                dd = _dedupe(dd, np.where(missing, -1 - np.arange(ii.shape[1]), ii))
            order = np.argsort(dd, axis=1, kind="stable")[:, :k_out]
            dist[s : s + chunk_rows] = np.take_along_axis(dd, order, axis=1)
            idx[s : s + chunk_rows] = np.take_along_axis(ii, order, axis=1)
            if use_codes and k < len(self):
                bound = vec_last + self.codes.shape[1] + 1e-9
                bad = (dist[s : s + chunk_rows, -1] ** 2 > bound) | capped
                self.inexact += int(bad.sum())
        return dist, idx

    def _same_code_rows(self, qcodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Base rows sharing each query's code, per exact column (-1 padded, ``GROUP_CAP``
        per column), and whether a group was larger than the cap."""
        if not hasattr(self, "_groups"):
            self._groups = [(np.argsort(col, kind="stable"), np.sort(col)) for col in self.codes.T]
        parts, capped = [], np.zeros(qcodes.shape[0], dtype=bool)
        for j, (order, srt) in enumerate(self._groups):
            lo = np.searchsorted(srt, qcodes[:, j], side="left")
            hi = np.searchsorted(srt, qcodes[:, j], side="right")
            capped |= (hi - lo) > GROUP_CAP
            pos = lo[:, None] + np.arange(GROUP_CAP)[None, :]
            ok = pos < hi[:, None]
            parts.append(np.where(ok, order[np.minimum(pos, order.size - 1)], -1))
        return np.concatenate(parts, axis=1), capped

    def recall(self, query: np.ndarray, *, sample: int = 256, seed: int = 0) -> float:
        """Recall@1 of this index on a random sample of ``query`` (1.0 for an exact index):
        the share of sampled queries whose returned neighbour is at the exact NN distance."""
        if self.exact:
            return 1.0
        rng = np.random.default_rng(seed)
        take = np.sort(rng.choice(query.shape[0], size=min(sample, query.shape[0]), replace=False))
        q = np.ascontiguousarray(query[take], dtype=np.float32)
        approx, _ = self.search(q, 1)
        # the exact nearest distance: a brute-force float32 pass over the whole base for
        # RECALL_CANDIDATES candidates, refined in float64; the true nearest is among them
        # unless that many rows tie with it to float32 rounding, and then any of them is
        # within the 1e-4 tolerance
        best, _ = _refine(q, self.base, _brute_candidates(q, self.base, RECALL_CANDIDATES))
        return float(np.mean(approx[:, 0] <= best[:, 0] + 1e-4))


def _brute_candidates(q: np.ndarray, base: np.ndarray, k: int) -> np.ndarray:
    """Each query's ``k`` nearest base rows by float32 squared distance (up to a per-query
    constant: ||y||^2 - 2 x.y), from blocks of the base (one matrix product and faiss's heap
    selection each), merged."""
    k = min(k, base.shape[0])
    vals, idx = [], []
    for s in range(0, base.shape[0], RECALL_BLOCK_ROWS):
        b = base[s : s + RECALL_BLOCK_ROWS]
        g = _sq_norms(b)[None, :] - 2.0 * (q @ b.T)
        d, i = faiss.kmin(np.ascontiguousarray(g, dtype=np.float32), min(k, b.shape[0]))
        vals.append(d)
        idx.append(i + s)
    v, i = np.concatenate(vals, axis=1), np.concatenate(idx, axis=1)
    top = np.argsort(v, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(i, top, axis=1).astype(np.int64)


def _dedupe(dd: np.ndarray, ii: np.ndarray) -> np.ndarray:
    """Per row, keep the first occurrence of each index (later ones get distance inf)."""
    order = np.argsort(ii, axis=1, kind="stable")
    srt = np.take_along_axis(ii, order, axis=1)
    dup = np.zeros_like(srt, dtype=bool)
    dup[:, 1:] = srt[:, 1:] == srt[:, :-1]
    mask = np.zeros_like(dup)
    np.put_along_axis(mask, order, dup, axis=1)
    return np.where(mask, np.inf, dd)


def set_threads(n: int) -> None:
    # OpenMP's thread count is per calling thread, so a worker thread sets its own.
    faiss.omp_set_num_threads(int(n))


# --- both directions from one distance matrix ---------------------------------------------
# Elements of a distance block (rows x base rows), float32: 64 MiB, but at least sqrt(n_a) rows,
# which bounds the column minima kept (n_a / rows x n_b floats) by the block's size. Larger
# blocks give the BLAS kernel longer panels: on Adult (26,048 x 26,048 and 6,513 x 26,048,
# 110 dims, one thread) 644-row blocks took 5.8 s against 6.9 s for the 161-row (8 MiB) blocks
# used before, interleaved A/B over 3 rounds, results identical (benchmarks/results/attacks.md);
# 2^25 elements was no faster.
CROSS_BLOCK_ELEMENTS = 1 << 24


@dataclass(frozen=True)
class CrossResult:
    """The exact kNN of ``a`` in ``b`` (``ab``), of ``b`` in ``a`` (``ba``) and, optionally, of
    ``b`` in the rows ``subset`` of ``a`` (``ba_subset``, indices into ``a[subset]``): each a
    (distances float64, indices int64) pair as :meth:`NeighborIndex.search` returns."""

    ab: tuple[np.ndarray, np.ndarray]
    ba: tuple[np.ndarray, np.ndarray]
    ba_subset: tuple[np.ndarray, np.ndarray] | None = None


def cross_search(
    a: np.ndarray,
    b: np.ndarray,
    k_ab: int,
    k_ba: int,
    *,
    subset: np.ndarray | None = None,
    k_subset: int = 0,
    threads: int = 1,
) -> CrossResult:
    """Exact k-nearest neighbours in both directions between ``a`` and ``b`` from ONE pass over
    their squared-distance matrix, with the semantics of an exact :class:`NeighborIndex`:
    candidates are the k smallest float32 squared distances (ties to the lower index, as faiss
    ranks them), whose distances are recomputed in float64 and stably sorted.

    Two transposed flat searches compute the same matrix twice. Here each block of ``a`` rows
    (one matrix product of the augmented vectors [-2x, ||x||^2, 1] . [y, 1, ||y||^2]) gives
    its rows' top ``k_ab`` (faiss heap selection) and its column minima. The top ``k_ba`` of a
    column lie in the ``k_ba`` blocks with the smallest minima (each of them holds an element
    at least as small), so those column x block products alone are recomputed afterwards:
    k_ba / blocks of the first product. The same for the ``a`` rows at the sorted positions
    ``subset`` (``k_subset``, indices into ``a[subset]``). Memory: one block of
    max(``CROSS_BLOCK_ELEMENTS``, sqrt(n_a) x n_b) float32 and the blocks' column minima."""
    a = np.ascontiguousarray(a, dtype=np.float32)
    b = np.ascontiguousarray(b, dtype=np.float32)
    n_a, n_b = a.shape[0], b.shape[0]
    k_ab, k_ba = min(k_ab, n_b), min(k_ba, n_a)
    sub = None if subset is None else np.asarray(subset, dtype=np.int64)
    k_sub = 0 if sub is None else min(k_subset, sub.size)
    a_aug = np.column_stack([-2.0 * a, _sq_norms(a), np.ones(n_a, np.float32)])
    b_aug = np.ascontiguousarray(np.column_stack([b, np.ones(n_b, np.float32), _sq_norms(b)]).T)
    rows = max(1, min(n_a, max(CROSS_BLOCK_ELEMENTS // max(n_b, 1), math.isqrt(n_a))))
    perm, head = _subset_first(n_a, rows, sub if k_sub else None)
    a_perm = a_aug if perm is None else a_aug[perm]
    buf = np.empty((rows, n_b), dtype=np.float32)
    ab_i = np.empty((n_a, k_ab), dtype=np.int64)
    col, col_sub = _ColumnMinima(), _ColumnMinima()
    set_threads(threads)
    with _blas_threads(threads):
        for g, s in enumerate(range(0, n_a, rows)):
            e = min(s + rows, n_a)
            block = np.matmul(a_perm[s:e], b_aug, out=buf[: e - s])
            _, top = faiss.kmin(block, k_ab)
            ab_i[slice(s, e) if perm is None else perm[s:e]] = top
            m = int(head[g]) if k_sub else 0
            lo_min = block[:m].min(axis=0) if m else None
            hi_min = block[m:].min(axis=0) if m < e - s else None
            col.add(_min_of(lo_min, hi_min), np.arange(s, e), s)
            if m:
                lo = int(np.searchsorted(sub, s))
                col_sub.add(lo_min, sub[lo : lo + m], lo)
        ba_i = col.top_k(a_aug, b_aug, k_ba)
        sub_i = col_sub.top_k(a_aug, b_aug, k_sub) if k_sub else None
    out_sub = None if sub_i is None else _refine(b, a[sub], sub_i)
    return CrossResult(_refine(a, b, ab_i), _refine(b, a, ba_i), out_sub)


def _subset_first(
    n: int, rows: int, sub: np.ndarray | None
) -> tuple[np.ndarray | None, np.ndarray]:
    """A row order that, within each block of ``rows`` rows, puts the block's ``sub`` rows
    first (both parts in their original order), and how many there are per block: the
    subset's column minima are then a slice of the block product, not a gathered copy of it.
    Only the product's rows move; every selection still sees rows in original order."""
    if sub is None or sub.size == 0:
        return None, np.zeros(0, np.int64)
    block = np.arange(n) // rows
    in_sub = np.zeros(n, bool)
    in_sub[sub] = True
    perm = np.lexsort((np.arange(n), ~in_sub, block))
    return perm, np.bincount(block[sub], minlength=int(block[-1]) + 1)


def _min_of(x: np.ndarray | None, y: np.ndarray | None) -> np.ndarray:
    if x is None or y is None:
        return x if y is None else y  # type: ignore[return-value]
    return np.minimum(x, y)


@functools.lru_cache(maxsize=1)
def _blas_controller() -> Any:
    from threadpoolctl import ThreadpoolController  # scikit-learn's dependency

    return ThreadpoolController()


def _blas_threads(threads: int) -> Any:
    """numpy's BLAS limited to ``threads`` for the block products (inspecting the loaded
    libraries once: it takes ~50 ms)."""
    return _blas_controller().limit(limits=max(1, int(threads)), user_api="blas")


def _sq_norms(x: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", x, x, dtype=np.float32)


class _ColumnMinima:
    """Column minima of row blocks, then every column's top k (smallest float32 value, then
    lowest row) from the k blocks with the smallest minima (ties to the earlier block)."""

    def __init__(self) -> None:
        self.mins: list[np.ndarray] = []
        self.groups: list[tuple[np.ndarray, int]] = []

    def add(self, minima: np.ndarray, rows: np.ndarray, first: int) -> None:
        """A block's column minima over ``rows`` of ``a``; its rows are numbered from
        ``first`` in the output."""
        self.mins.append(minima)
        self.groups.append((rows, first))

    def top_k(self, a_aug: np.ndarray, b_aug: np.ndarray, k: int) -> np.ndarray:
        mins = np.stack(self.mins)
        n_b, kb = mins.shape[1], min(k, mins.shape[0])
        best = _smallest_rows(mins, kb)
        val = np.full((n_b, kb, k), np.inf, dtype=np.float32)
        idx = np.full((n_b, kb, k), -1, dtype=np.int64)
        order = np.argsort(best.ravel(), kind="stable")  # (slot, column) pairs by block
        starts = np.searchsorted(best.ravel()[order], np.arange(len(self.groups) + 1))
        for g, (rows, first) in enumerate(self.groups):
            slot, cols = np.divmod(order[starts[g] : starts[g + 1]], n_b)
            if cols.size == 0:
                continue
            # one row per column, so faiss's heap selection (strict improvement: the lowest
            # row among ties) picks each column's k smallest of the block
            part = np.ascontiguousarray(b_aug[:, cols].T) @ a_aug[rows].T
            kk = min(k, part.shape[1])
            d, i = faiss.kmin(part, kk)
            val[cols, slot, :kk], idx[cols, slot, :kk] = d, first + i
        val, idx = val.reshape(n_b, -1), idx.reshape(n_b, -1)
        order = np.lexsort((idx, val))[:, :k]
        return np.take_along_axis(idx, order, axis=1)


def _smallest_rows(x: np.ndarray, k: int) -> np.ndarray:
    """Per column, the rows of its ``k`` smallest values, ties to the lower row (the first ``k``
    of a stable argsort along axis 0, by ``k`` passes of argmin: k is small, the rows many)."""
    out = np.empty((k, x.shape[1]), dtype=np.int64)
    work = x if k == 1 else x.copy()
    cols = np.arange(x.shape[1])
    for j in range(k):
        out[j] = np.argmin(work, axis=0)  # the first occurrence among ties
        if j + 1 < k:
            work[out[j], cols] = np.inf
    return out


def _refine(q: np.ndarray, base: np.ndarray, cand: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Float64 distances of the candidates, stably sorted (as :meth:`NeighborIndex.search`)."""
    dist = np.empty(cand.shape, dtype=np.float64)
    idx = np.empty(cand.shape, dtype=np.int64)
    for s in range(0, q.shape[0], CHUNK_ROWS):
        ii = cand[s : s + CHUNK_ROWS]
        diff = np.subtract(base[ii], q[s : s + CHUNK_ROWS, None, :], dtype=np.float64)
        dd = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))
        order = np.argsort(dd, axis=1, kind="stable")
        dist[s : s + CHUNK_ROWS] = np.take_along_axis(dd, order, axis=1)
        idx[s : s + CHUNK_ROWS] = np.take_along_axis(ii, order, axis=1)
    return dist, idx

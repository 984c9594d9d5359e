"""Nearest-neighbour search with faiss, chunked so memory is O(n), with exact distance refinement.

Up to ``EXACT_MAX_ROWS`` base rows the search is exact (``IndexFlatL2``). Above that an inverted
file index (``IndexIVFFlat``, ``nlist ~ 2 sqrt(n)`` lists, ``nprobe`` probed) is used, and its
recall@1 is measured against an exact search on a random sample of queries.

``threads`` is the number of OpenMP threads faiss uses for this index's searches; results do not
depend on it (each query is answered whole by one thread, and distances are recomputed exactly).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import faiss
import numpy as np

EXACT_MAX_ROWS = 200_000
DEFAULT_NPROBE = 8
CHUNK_ROWS = 16_384
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

    @classmethod
    def build(
        cls,
        base: np.ndarray,
        *,
        exact_max_rows: int = EXACT_MAX_ROWS,
        nprobe: int = DEFAULT_NPROBE,
        seed: int = 0,
        threads: int = 1,
    ) -> NeighborIndex:
        base = np.ascontiguousarray(base, dtype=np.float32)
        n, d = base.shape
        d_eff = max(d, 1)
        if d == 0:
            base = np.zeros((n, 1), dtype=np.float32)
        threads = max(1, int(threads))
        _threads(threads)
        if n <= exact_max_rows:
            index = faiss.IndexFlatL2(d_eff)
            index.add(base)
            return cls(base, index, exact=True, threads=threads)
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
        return cls(base, index, exact=False, nlist=nlist, nprobe=int(nprobe), threads=threads)

    def __len__(self) -> int:
        return self.base.shape[0]

    def search(
        self, query: np.ndarray, k: int = 1, *, chunk_rows: int = CHUNK_ROWS
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest base rows of each query row: (distances float64, indices int64).

        Distances are recomputed exactly in float64 from the vectors (no float32 cancellation),
        so identical records are at distance exactly 0 and ties compare reliably.
        """
        query = np.ascontiguousarray(query, dtype=np.float32)
        if query.shape[1] == 0:
            query = np.zeros((query.shape[0], 1), dtype=np.float32)
        k = int(min(k, len(self)))
        nq = query.shape[0]
        dist = np.empty((nq, k), dtype=np.float64)
        idx = np.empty((nq, k), dtype=np.int64)
        _threads(self.threads)
        for s in range(0, nq, chunk_rows):
            q = query[s : s + chunk_rows]
            _, ii = self.index.search(q, k)
            missing = ii < 0  # an IVF probe can return fewer than k
            ii = np.where(missing, 0, ii)
            diff = self.base[ii].astype(np.float64) - q[:, None, :].astype(np.float64)
            dd = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))
            dd[missing] = np.inf
            order = np.argsort(dd, axis=1, kind="stable")
            dist[s : s + chunk_rows] = np.take_along_axis(dd, order, axis=1)
            idx[s : s + chunk_rows] = np.take_along_axis(ii, order, axis=1)
        return dist, idx

    def recall(self, query: np.ndarray, *, sample: int = 256, seed: int = 0) -> float:
        """Recall@1 of this index on a random sample of ``query`` (1.0 for an exact index):
        the share of sampled queries whose returned neighbour is at the exact NN distance."""
        if self.exact:
            return 1.0
        rng = np.random.default_rng(seed)
        take = np.sort(rng.choice(query.shape[0], size=min(sample, query.shape[0]), replace=False))
        q = np.ascontiguousarray(query[take], dtype=np.float32)
        approx, _ = self.search(q, 1)
        best = np.full(q.shape[0], np.inf)
        for s in range(0, len(self), 131_072):
            b = self.base[s : s + 131_072].astype(np.float64)
            g = (q.astype(np.float64) ** 2).sum(1)[:, None] + (b**2).sum(1)[None, :] - 2 * q @ b.T
            best = np.minimum(best, np.sqrt(np.maximum(g.min(axis=1), 0.0)))
        return float(np.mean(approx[:, 0] <= best + 1e-4))


def _threads(n: int) -> None:
    # OpenMP's thread count is per calling thread, so a worker thread sets its own.
    faiss.omp_set_num_threads(int(n))

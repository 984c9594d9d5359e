"""Contingency tables of encoded data: the single place where private counts are computed.

Everything that reads the private data's counts calls ``marginal`` (or ``marginals`` for a batch);
a synthesizer must pass the result through a mechanism in ``privsynth.privacy`` (which charges the
ledger) before using it.

The private data reaches this module in one of two forms:

- an integer code matrix (rows x attributes), counted here with numpy (``bincount``);
- a :class:`MarginalOracle`: an object that answers exact counts for cliques without handing out
  rows. The engines of ``privsynth.engines`` (numpy, DuckDB, Spark) return one, so a synthesizer
  never reads a row and never knows which engine counted. Every oracle must return exactly the
  counts numpy would on the same codes (int64, C order over ``domain.project(clique)``).

:func:`compress` re-expresses either form over a coarser domain (MST merges rare values): for a
matrix it maps the codes; for an oracle it sums the original counts over the merged codes, which
gives the identical counts without touching rows (a merged cell's count is the sum of its cells).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from privsynth.domain import Domain

Clique = tuple[str, ...]


@runtime_checkable
class MarginalOracle(Protocol):
    """Exact counts of a private table over a public domain, without access to its rows."""

    @property
    def domain(self) -> Domain: ...

    def marginals(self, cliques: Sequence[Sequence[str]]) -> dict[Clique, np.ndarray]:
        """Exact int64 counts per clique, flattened C-order over ``domain.project(clique)``."""
        ...


def code_dtype(size: int) -> type[np.signedinteger]:
    """The smallest signed integer type that holds the codes ``0..size`` of an attribute."""
    for dtype in (np.int8, np.int16, np.int32):
        if size <= np.iinfo(dtype).max:
            return dtype
    return np.int64


def flat_index(columns: Sequence[np.ndarray], shape: Sequence[int]) -> np.ndarray:
    """C-order flat index of per-attribute code arrays over ``shape`` (numpy's
    ``ravel_multi_index``), in int32 where the clique's cells fit, built in place column by
    column (no rows x clique matrix is formed)."""
    cells = int(np.prod(shape, dtype=object))
    dtype = np.int32 if cells < 2**31 else np.int64
    flat = np.asarray(columns[0]).astype(dtype)
    for col, k in zip(columns[1:], shape[1:], strict=True):
        flat *= dtype(k)
        flat += col
    return flat


def _count_columns(
    columns: Sequence[np.ndarray], shape: Sequence[int], n: int, weights: np.ndarray | None
) -> np.ndarray:
    if len(columns) == 0:
        total = n if weights is None else int(np.sum(weights))
        return np.array([total], dtype=np.int64)
    flat = flat_index(columns, shape) if len(columns) > 1 else columns[0]
    out = np.bincount(flat, weights=weights, minlength=int(np.prod(shape)))
    return np.rint(out).astype(np.int64) if weights is not None else out.astype(np.int64)


def count_codes(
    codes: np.ndarray, domain: Domain, clique: Sequence[str], weights: np.ndarray | None = None
) -> np.ndarray:
    """Exact counts of ``codes`` over ``clique`` (``weights``: rows standing for that many rows).

    Vectorised: ravel the clique's codes into one index per row and bincount it. Weighted sums
    are exact in float64 (integers below 2**53) and returned as int64.
    """
    clique = tuple(clique)
    shape = domain.project(clique).shape
    columns = [codes[:, j] for j in domain.axes(clique)]
    return _count_columns(columns, shape, codes.shape[0], weights)


class CodesOracle:
    """The in-memory oracle: codes, optionally with a weight (multiplicity) per row.

    A weighted table is the table's histogram of distinct code tuples: the SQL engines count it
    once in the database and answer every later marginal from it here, exactly. The codes are
    held as one contiguous array per attribute in the smallest integer type that holds them
    (``code_dtype``), so a marginal reads only its clique's columns, at 1-2 bytes a cell.
    """

    def __init__(
        self, codes: np.ndarray, domain: Domain, weights: np.ndarray | None = None
    ) -> None:
        codes = np.asarray(codes)
        if codes.ndim != 2 or codes.shape[1] != len(domain):
            raise ValueError(f"codes must have shape (n, {len(domain)}), got {codes.shape}")
        columns = [codes[:, j].astype(code_dtype(k)) for j, k in enumerate(domain.shape)]
        self._init(columns, codes.shape[0], domain, weights)

    @classmethod
    def from_columns(
        cls, columns: Sequence[np.ndarray], domain: Domain, weights: np.ndarray | None = None
    ) -> CodesOracle:
        """The oracle of one code array per attribute of ``domain`` (all of one length)."""
        if len(columns) != len(domain) or len({np.shape(c) for c in columns}) > 1:
            raise ValueError(f"need {len(domain)} code arrays of one length")
        out = cls.__new__(cls)
        n = int(np.shape(columns[0])[0]) if columns else 0
        out._init([np.ascontiguousarray(c) for c in columns], n, domain, weights)
        return out

    def _init(
        self,
        columns: list[np.ndarray],
        n: int,
        domain: Domain,
        weights: np.ndarray | None,
    ) -> None:
        self._columns = columns
        self._n = n
        self._domain = domain
        self._weights = None if weights is None else np.asarray(weights, dtype=np.float64)

    @property
    def domain(self) -> Domain:
        return self._domain

    @property
    def n_rows(self) -> int:
        return self._n if self._weights is None else int(self._weights.sum())

    @property
    def n_tuples(self) -> int:
        """The number of (weighted) code tuples held."""
        return self._n

    def marginals(self, cliques: Sequence[Sequence[str]]) -> dict[Clique, np.ndarray]:
        out = {}
        for c in cliques:
            c = tuple(c)
            cols = [self._columns[j] for j in self._domain.axes(c)]
            out[c] = _count_columns(cols, self._domain.project(c).shape, self._n, self._weights)
        return out


class CompressedOracle:
    """An oracle over a coarser domain: each attribute's codes mapped by ``forward[a]``."""

    def __init__(
        self, base: MarginalOracle, domain: Domain, forward: Mapping[str, np.ndarray]
    ) -> None:
        self._base = base
        self._domain = domain
        self._forward = {a: np.asarray(f, dtype=np.int64) for a, f in forward.items()}

    @property
    def domain(self) -> Domain:
        return self._domain

    def marginals(self, cliques: Sequence[Sequence[str]]) -> dict[Clique, np.ndarray]:
        cliques = [tuple(c) for c in cliques]
        raw = self._base.marginals(cliques)
        out = {}
        for cl in cliques:
            counts = raw[cl].reshape(self._base.domain.project(cl).shape)
            for axis, a in enumerate(cl):
                if a in self._forward:
                    counts = _merge_axis(counts, axis, self._forward[a], self._domain[a])
            out[cl] = counts.reshape(-1).astype(np.int64)
        return out


def _merge_axis(counts: np.ndarray, axis: int, forward: np.ndarray, size: int) -> np.ndarray:
    moved = np.moveaxis(counts, axis, 0)
    merged = np.zeros((size,) + moved.shape[1:], dtype=np.int64)
    np.add.at(merged, forward, moved)
    return np.moveaxis(merged, 0, axis)


def marginal(
    codes: np.ndarray | MarginalOracle, domain: Domain, clique: Sequence[str]
) -> np.ndarray:
    """Exact counts over ``clique``, flattened C-order over ``domain.project(clique)``."""
    return marginals(codes, domain, [clique])[tuple(clique)]


def marginals(
    codes: np.ndarray | MarginalOracle, domain: Domain, cliques: Sequence[Sequence[str]]
) -> dict[Clique, np.ndarray]:
    """``marginal`` for several cliques (an oracle counts them in one batch where it can)."""
    if isinstance(codes, np.ndarray):
        return {tuple(c): count_codes(codes, domain, c) for c in cliques}
    if codes.domain != domain:
        raise ValueError("the marginal oracle's domain differs from the one asked for")
    return codes.marginals([tuple(c) for c in cliques])


def compress(
    codes: np.ndarray | MarginalOracle,
    domain: Domain,
    new_domain: Domain,
    forward: Mapping[str, np.ndarray],
) -> np.ndarray | MarginalOracle:
    """The data over ``new_domain``, attribute ``a``'s codes mapped by ``forward[a]``."""
    if isinstance(codes, np.ndarray):
        out = codes.copy()
        for j, a in enumerate(domain.attrs):
            if a in forward:
                out[:, j] = np.asarray(forward[a])[codes[:, j]]
        return out
    return CompressedOracle(codes, new_domain, forward)


def n_rows(codes: np.ndarray | MarginalOracle) -> int:
    """The (private) number of rows: never released without a mechanism."""
    if isinstance(codes, np.ndarray):
        return int(codes.shape[0])
    return int(codes.n_rows)  # type: ignore[attr-defined]

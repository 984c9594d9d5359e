"""Contingency tables of encoded data: the single place where private counts are computed.

Everything that reads the private data's counts calls ``marginal``; a synthesizer must pass the
result through a mechanism in ``privsynth.privacy`` (which charges the ledger) before using it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from privsynth.domain import Domain


def marginal(codes: np.ndarray, domain: Domain, clique: Sequence[str]) -> np.ndarray:
    """Exact counts of ``codes`` over ``clique``, flattened C-order over ``domain.project(clique)``.

    Vectorised: ravel the clique's codes into one index per row and bincount it.
    """
    clique = tuple(clique)
    shape = domain.project(clique).shape
    if len(clique) == 0:
        return np.array([codes.shape[0]], dtype=np.int64)
    cols = codes[:, domain.axes(clique)]
    flat = np.ravel_multi_index(tuple(cols.T), shape) if len(clique) > 1 else cols[:, 0]
    return np.bincount(flat, minlength=int(np.prod(shape))).astype(np.int64)


def marginals(
    codes: np.ndarray, domain: Domain, cliques: Sequence[Sequence[str]]
) -> dict[tuple[str, ...], np.ndarray]:
    """``marginal`` for several cliques."""
    return {tuple(c): marginal(codes, domain, c) for c in cliques}

"""A dense table over a sub-domain: a clique's log-potential, indexed by attribute name.

A :class:`GraphicalModel <privsynth.model.GraphicalModel>` keeps one per maximal clique; the
estimator, the saved-model store and the samplers read its ``values`` directly (numpy arrays in
the domain's axis order) and use :meth:`Factor.aligned` to broadcast one table into a larger
clique by name, whatever the attribute order of each. Arithmetic is plain numpy on ``values``.

:func:`sum_axes` is the sum over a set of axes that the hot paths (belief propagation, the loss's
marginals, marginal queries) use instead of ``ndarray.sum(axis=...)``. numpy reduces an axis fast
when a large contiguous block follows it, but slowly (an inner loop of a few elements) when the
axes after it hold only a few cells: summing the last axis of length 2 of a (9, 15, 6, 2, 99, 2)
clique took 3-10 ms against 0.1 ms for the first axis. ``sum_axes`` sums each run of adjacent
axes as a matrix product instead when fewer than 16 cells follow it: viewing the array as
``(outer, K * s)`` (``K`` the run's cells, ``s`` the cells after it) the sum is its product with
``K`` stacked ``s x s`` identities, ``N * s`` multiply-adds in BLAS (``s = 1``: a matrix-vector
product with ones). The result equals numpy's up to the order of the additions (relative
differences of a few ulps; tests/test_model_sums.py). Callers run it under
:func:`one_blas_thread`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
from threadpoolctl import ThreadpoolController

from privsynth.domain import Domain

__all__ = ["Factor", "logsumexp_axes", "one_blas_thread", "sum_axes"]

_SMALL_INNER = 16  # fewer cells than this after a summed run: sum it by a matrix product
_SMALL_ARRAY = 4096  # arrays with fewer cells are summed by numpy directly


def logsumexp_axes(values: np.ndarray, axes: Sequence[int]) -> np.ndarray:
    """Stable ``log(sum(exp(values)))`` over ``axes`` (per-slice max shift; -inf slices stay -inf)."""
    axes = tuple(axes)
    if not axes:
        return np.array(values, dtype=np.float64, copy=True)
    shift = np.max(values, axis=axes, keepdims=True)
    shift[~np.isfinite(shift)] = 0.0
    tmp = np.subtract(values, shift)
    np.exp(tmp, out=tmp)
    total = np.sum(tmp, axis=axes, keepdims=True)
    with np.errstate(divide="ignore"):
        np.log(total, out=total)
    total += shift
    return np.squeeze(total, axis=axes)


def one_blas_thread() -> Any:
    """A context in which BLAS runs on one thread: :func:`sum_axes`'s products are small and
    memory-bound, and OpenBLAS's worker threads made them 5-10x slower on a loaded machine. The
    estimator and the model's queries enter it once per call (the BLAS libraries are looked up
    once per process; entering costs microseconds after that)."""
    return _controller().limit(limits=1, user_api="blas")


@lru_cache(maxsize=1)
def _controller() -> ThreadpoolController:
    return ThreadpoolController()


def sum_axes(values: np.ndarray, axes: Sequence[int]) -> np.ndarray:
    """``values.sum(axis=axes)`` (a new array, or ``values`` itself when ``axes`` is empty), fast
    for every axis pattern (module docstring): runs of adjacent summed axes, last run first."""
    if not axes:
        return values
    if values.size < _SMALL_ARRAY:  # too small for the layout to matter: numpy's own sum
        return values.sum(axis=tuple(axes))
    axes = sorted(set(axes))
    arr = np.ascontiguousarray(values)
    runs: list[list[int]] = []
    for ax in axes:
        if runs and runs[-1][-1] == ax - 1:
            runs[-1].append(ax)
        else:
            runs.append([ax])
    for run in reversed(runs):  # later runs first: earlier axes keep their positions
        arr = _sum_run(arr, run[0], run[-1] + 1)
    return arr


def _sum_run(arr: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """``arr`` (C-contiguous) summed over the adjacent axes ``lo .. hi - 1``."""
    shape = arr.shape
    outer, run, inner = math.prod(shape[:lo]), math.prod(shape[lo:hi]), math.prod(shape[hi:])
    out_shape = shape[:lo] + shape[hi:]
    if inner >= _SMALL_INNER or run <= 1 or arr.size == 0:
        return arr.reshape(outer, run, inner).sum(axis=1).reshape(out_shape)
    return (arr.reshape(outer, run * inner) @ _stacked(run, inner)).reshape(out_shape)


@lru_cache(maxsize=256)
def _stacked(run: int, inner: int) -> np.ndarray:
    """``run`` stacked ``inner x inner`` identities (``(run * inner, inner)``; ones for 1)."""
    out = np.tile(np.eye(inner), (run, 1))
    out.flags.writeable = False
    return out


class Factor:
    """Dense array ``values`` (shape ``domain.shape``) indexed by the attributes of ``domain``."""

    __slots__ = ("domain", "values")

    def __init__(self, domain: Domain, values: np.ndarray | float) -> None:
        arr = np.asarray(values, dtype=np.float64)
        if arr.ndim == 0:
            arr = np.full(domain.shape, float(arr))
        elif arr.size != domain.size():
            raise ValueError(f"Factor: {arr.size} values for a domain of {domain.size()} cells")
        self.domain = domain
        self.values = arr.reshape(domain.shape)

    @classmethod
    def zeros(cls, domain: Domain) -> Factor:
        """All-zero factor (a uniform log-potential)."""
        return cls(domain, np.zeros(domain.shape))

    @property
    def attrs(self) -> tuple[str, ...]:
        return self.domain.attrs

    def aligned(self, target: Domain) -> np.ndarray:
        """Values transposed and reshaped (size-1 axes) so they broadcast against ``target``."""
        missing = [a for a in self.domain.attrs if a not in target]
        if missing:
            raise ValueError(f"Factor: attributes {missing} not in target domain")
        own = [a for a in target.attrs if a in self.domain]
        vals = (
            self.values.transpose(self.domain.axes(own)) if own != list(self.attrs) else self.values
        )
        shape = tuple(target[a] if a in self.domain else 1 for a in target.attrs)
        return vals.reshape(shape)

    def transpose(self, attrs: Sequence[str]) -> Factor:
        """Same table with axes reordered to ``attrs`` (a permutation of this factor's attrs)."""
        attrs = tuple(attrs)
        if set(attrs) != set(self.attrs) or len(attrs) != len(self.attrs):
            raise ValueError("Factor.transpose: attrs must be a permutation of the factor's attrs")
        return Factor(self.domain.project(attrs), self.values.transpose(self.domain.axes(attrs)))

    def __repr__(self) -> str:
        return f"Factor({self.domain.to_dict()})"

"""The estimator's log-potentials, kept in the measured groups' own coordinates.

**Why.** The model is ``p(x) ∝ exp(sum_H theta_H(x_H))`` over the junction tree's maximal
cliques ``H``. Every step the estimator takes moves each ``theta_H`` by a sum of *group-shaped*
arrays broadcast into the host: mirror descent by ``-alpha dL/dmu_g`` for each measured group
``g`` hosted in ``H``, the scaled step by its per-group ratios, momentum by a difference of two
such sums. So during one fit

    theta_H = base_H + sum_{g hosted in H} delta_g      (delta_g broadcast into H)

exactly, with ``base_H`` the starting potentials (zero, or the warm start's) and ``delta_g`` one
array per measured group, shaped as its marginal. On AIM's models the hosts are large and the
groups small (the final fit at 2M rows: 1.26M host cells, 13,499 group cells), and belief
propagation's cost was the host-sized ``exp`` (6.6 ns a cell on this machine against 0.3 ns for
a multiply). In these coordinates a step costs group-sized arithmetic only, and a host's
``exp(theta_H + messages)`` is a *product* of small factors, each exponentiated at its own size:
``exp(base_H - max)`` once per fit, ``exp(delta_g - max delta_g)`` per group and
``exp(m - max m)`` per incoming message, multiplied together smallest unions first
(:func:`product_order`) so that about one or two passes touch the host's cells
(:mod:`privsynth.model.calibration` runs it). The maxima are kept apart as one log shift per
host; every factor is at most 1, so nothing overflows, and where a separator slice's sum falls
under the underflow guard the host is redone from its dense potentials in log space (exact).

The arithmetic is the same up to rounding: a product of exponentials instead of the
exponential of a sum, and per-group sums instead of per-host ones (relative differences of a
few ulps per cell; tests/test_model_potentials.py).

Everything here is post-processing of noisy measurements: it never reads data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

__all__ = ["Potentials", "PotentialLayout", "product_order"]

Clique = tuple[str, ...]
Shape = tuple[int, ...]
_INNER = 32  # fewer cells in a factor's innermost run: multiply slice by slice (mul_into)
_LOOP = 256  # ... looping over at most this many slices
_SMALL = 4096  # arrays with fewer cells are multiplied by numpy directly


@dataclass(frozen=True)
class PotentialLayout:
    """What stays fixed during one fit: the hosts, their starting potentials (and those
    exponentiated once, with their log shift) and, per measured group, its host and broadcast
    shape. A host whose starting potentials are all ``-inf`` or not finite has ``base_exp``
    None and is always calibrated from its dense potentials."""

    shapes: dict[Clique, Shape]
    base: dict[Clique, np.ndarray | None]  # None: zero
    base_exp: dict[Clique, tuple[np.ndarray | None, float] | None]  # (None, 0): base is zero
    hosts: tuple[Clique, ...]  # per group
    bshapes: tuple[Shape, ...]  # per group
    members: dict[Clique, tuple[int, ...]]  # groups hosted in each clique
    cells: dict[Clique, int]  # cells of each clique

    @classmethod
    def build(
        cls,
        shapes: dict[Clique, Shape],
        base: dict[Clique, np.ndarray] | None,
        hosts: Sequence[Clique],
        bshapes: Sequence[Shape],
    ) -> PotentialLayout:
        """The layout of ``shapes`` (host -> shape) with starting potentials ``base`` (None:
        all zero) and groups hosted at ``hosts`` with broadcast shapes ``bshapes``."""
        bases: dict[Clique, np.ndarray | None] = {}
        exps: dict[Clique, tuple[np.ndarray | None, float] | None] = {}
        for h in shapes:
            b = None if base is None else base.get(h)
            if b is not None and not np.any(b):
                b = None
            bases[h] = b
            exps[h] = (None, 0.0) if b is None else _exp_shifted(b)
        members: dict[Clique, list[int]] = {h: [] for h in shapes}
        for i, h in enumerate(hosts):
            members[h].append(i)
        return cls(
            shapes=dict(shapes),
            base=bases,
            base_exp=exps,
            hosts=tuple(hosts),
            bshapes=tuple(tuple(s) for s in bshapes),
            members={h: tuple(v) for h, v in members.items()},
            cells={h: int(np.prod(s, dtype=np.int64)) for h, s in shapes.items()},
        )


def _exp_shifted(values: np.ndarray) -> tuple[np.ndarray, float] | None:
    """``(exp(values - max), max)``; None when the maximum is not finite."""
    shift = float(values.max()) if values.size else 0.0
    if not np.isfinite(shift):
        return None
    out = np.subtract(values, shift)
    np.exp(out, out=out)
    return out, shift


@dataclass(frozen=True)
class Potentials:
    """``theta_H = base_H + sum_g delta_g`` (module docstring): the layout and one array per
    measured group (shaped as the group's marginal, the objective's group order)."""

    layout: PotentialLayout
    deltas: tuple[np.ndarray, ...]

    @classmethod
    def start(cls, layout: PotentialLayout, group_shapes: Sequence[Shape]) -> Potentials:
        """The starting point: the layout's base, every delta zero."""
        return cls(layout, tuple(np.zeros(s) for s in group_shapes))

    def moved(self, direction: Sequence[np.ndarray], step: float) -> Potentials:
        """These potentials moved by ``step * direction`` (one array per group)."""
        if step == 1.0:
            new = tuple(np.add(d, v) for d, v in zip(self.deltas, direction, strict=True))
        else:
            new = tuple(d + step * v for d, v in zip(self.deltas, direction, strict=True))
        return Potentials(self.layout, new)

    def dense_host(self, host: Clique) -> np.ndarray:
        """``theta_H`` as one array (a new one)."""
        lay = self.layout
        b = lay.base[host]
        out = np.zeros(lay.shapes[host]) if b is None else np.array(b, dtype=np.float64)
        for i in lay.members[host]:
            out += self.deltas[i].reshape(lay.bshapes[i])
        return out

    def dense(self) -> dict[Clique, np.ndarray]:
        """Every host's ``theta_H`` (what a :class:`GraphicalModel` keeps)."""
        return {h: self.dense_host(h) for h in self.layout.shapes}

    def factors(self, host: Clique) -> tuple[list[np.ndarray], float] | None:
        """``exp(theta_H - shift)`` as broadcast-shaped factors, each at most 1, and ``shift``;
        None when a factor's maximum is not finite (use :meth:`dense_host`)."""
        lay = self.layout
        base = lay.base_exp[host]
        if base is None:
            return None
        arr, shift = base
        out = [] if arr is None else [arr]
        for i in lay.members[host]:
            got = _exp_shifted(self.deltas[i])
            if got is None:
                return None
            out.append(got[0].reshape(lay.bshapes[i]))
            shift += got[1]
        return out, shift


def multiply_all(factors: list[np.ndarray], shape: Shape) -> np.ndarray:
    """The product of broadcast-shaped ``factors`` as a new array of ``shape``; the inputs are
    never written. Factors smaller than the host are first multiplied together while their
    union stays under a quarter of the host's cells (smallest unions first,
    :func:`product_order`); the rest go into one host-sized array, each by :func:`mul_into`."""
    cells = int(np.prod(shape, dtype=np.int64))
    small = [f for f in factors if f.size < cells]
    full = [f.reshape(shape) for f in factors if f.size == cells]
    acc = np.array(full[0], dtype=np.float64, copy=True) if full else np.ones(shape)
    for f in full[1:]:
        np.multiply(acc, f, out=acc)
    arrs: list[np.ndarray | None] = list(small)
    merges, rest = product_order(tuple(f.shape for f in small), cells // 4)
    for i, j in merges:
        arrs[i] = np.multiply(arrs[i], arrs[j])
        arrs[j] = None
    for k in rest:
        mul_into(acc, arrs[k])
    return acc


def mul_into(acc: np.ndarray, factor: np.ndarray) -> None:
    """``acc *= factor`` (``acc`` C-contiguous, ``factor`` broadcast-shaped), fast for every
    broadcast pattern. numpy's inner loop runs over the innermost run of axes on which the
    factor is materialised throughout or broadcast throughout; when that run holds few cells
    (hosts often end in a 2-valued target) it crawls: 1.1 ms against 0.16 ms for a 240K-cell
    host. The trailing short runs (:func:`_loop_block`) are then looped over in Python, one
    strided slice per cell of them, so each multiply's inner loop is a long run. The same
    products, element for element."""
    if acc.size < _SMALL:
        np.multiply(acc, factor, out=acc)
        return
    shape, fs = acc.shape, factor.shape
    k, cells = _loop_block(shape, fs)
    if k == len(shape):
        np.multiply(acc, factor, out=acc)
        return
    lead = fs[:k]
    if int(np.prod(lead, dtype=np.int64)) * cells > acc.size // 4:
        np.multiply(acc, factor, out=acc)
        return
    a = acc.reshape(shape[:k] + (cells,))
    b = np.ascontiguousarray(np.broadcast_to(factor, lead + shape[k:])).reshape(lead + (cells,))
    for i in range(cells):
        np.multiply(a[..., i], b[..., i], out=a[..., i])


def _loop_block(shape: Shape, fs: Shape) -> tuple[int, int]:
    """``(k, cells)``: the trailing axes ``k..`` (``cells`` cells in all, at most ``_LOOP``)
    made of runs too short for numpy's inner loop; the run before them is long or reaches the
    first axis. A run is a maximal block of adjacent axes on which ``fs`` (the factor's shape)
    is materialised throughout or broadcast throughout (axes of length 1 join any run)."""
    k, cells = len(shape), 1
    while k > 0:
        j, kind, run = k, None, 1
        while j > 0:
            n = shape[j - 1]
            here = fs[j - 1] == n
            if n != 1 and kind is not None and here != kind:
                break
            if n != 1:
                kind, run = here, run * n
            j -= 1
        if run >= _INNER or j == 0 or cells * run > _LOOP:
            return k, cells
        k, cells = j, cells * run
    return k, cells


@lru_cache(maxsize=4096)
def product_order(
    shapes: tuple[Shape, ...], limit: int
) -> tuple[tuple[tuple[int, int], ...], tuple[int, ...]]:
    """``(merges, rest)``: pairs ``(i, j)`` (factor ``j`` multiplied into factor ``i``), each
    time the pair whose broadcast union has the fewest cells (ties: lowest indices) while that
    union has at most ``limit`` cells; ``rest``, the factors left. Memoised by the shapes (fixed
    during a fit)."""
    live = {i: s for i, s in enumerate(shapes)}
    steps: list[tuple[int, int]] = []
    while len(live) > 1:
        keys = sorted(live)
        best = None
        for x, i in enumerate(keys):
            for j in keys[x + 1 :]:
                union = tuple(max(a, b) for a, b in zip(live[i], live[j], strict=True))
                cells = int(np.prod(union, dtype=np.int64))
                if best is None or cells < best[0]:
                    best = (cells, i, j, union)
        if best[0] > limit:  # type: ignore[index]
            break
        _, i, j, union = best  # type: ignore[misc]
        steps.append((i, j))
        live[i] = union
        del live[j]
    return tuple(steps), tuple(sorted(live))

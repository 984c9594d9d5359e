"""The estimator's objective: measurements merged per clique, the loss and its gradient.

Objective (a convex function of the model's clique marginals ``mu``)::

    L(mu) = sum_r ||mu_r - y_r||^2 / sigma_r^2

where ``mu_r`` is the model's marginal (counts, scaled to ``total``) on measurement ``r``'s clique.
Measurements of one clique merge exactly into one :class:`MeasuredGroup`: weight
``w = sum_r 1/sigma_r^2``, target the weighted mean ``ybar``, and a constant
``sum_r w_r ||y_r||^2 - w ||ybar||^2`` that keeps the loss value equal to the sum above. Each group
lives in the smallest maximal clique (``host``) holding it. Everything here is post-processing of
noisy measurements.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from privsynth.domain import Domain
from privsynth.model.factor import Factor, logsumexp_axes, sum_axes
from privsynth.model.graphical_model import GraphicalModel
from privsynth.model.junction_tree import JunctionTree
from privsynth.model.measurements import Measurement, project_simplex

__all__ = [
    "MarginalPlan",
    "MeasuredGroup",
    "group_marginals",
    "group_measurements",
    "loss_and_gradients",
    "plan_marginals",
    "spread_to_hosts",
    "warm_theta",
]

Clique = tuple[str, ...]


@dataclass
class MeasuredGroup:
    """All measurements of one clique, merged: weight ``w`` = sum 1/sigma^2, target = weighted mean."""

    host: Clique  # maximal clique holding it
    clique: Clique  # the measured attributes, canonical order
    sum_axes: tuple[int, ...]  # host axes summed out to reach the clique
    bshape: tuple[int, ...]  # clique marginal's broadcast shape in the host
    target: np.ndarray  # canonical-order array
    weight: float
    const: float  # loss offset from merging: sum_r w_r ||y_r||^2 - w ||ybar||^2
    feasible: np.ndarray  # target projected onto {x >= 0, sum x = total}


def group_measurements(
    domain: Domain, tree: JunctionTree, measurements: Sequence[Measurement], total: float
) -> list[MeasuredGroup]:
    """Merge measurements per clique, attach each to its host; largest clique first.

    The order lets :func:`loss_and_gradients` sum a small marginal from an already computed bigger
    one instead of from the whole host clique.
    """
    acc: dict[Clique, list] = {}
    for m in measurements:
        canon = domain.canonical(m.clique)
        if len(canon) != len(m.clique):
            raise ValueError(f"measurement clique {m.clique} has unknown or repeated attributes")
        shape = domain.project(m.clique).shape
        if m.values.size != int(np.prod(shape, dtype=np.int64)):
            raise ValueError(f"measurement on {m.clique}: {m.values.size} values for shape {shape}")
        y = m.values.reshape(shape).transpose([m.clique.index(a) for a in canon])
        w = 1.0 / m.sigma**2
        entry = acc.setdefault(canon, [0.0, np.zeros(domain.project(canon).shape), 0.0])
        entry[0] += w
        entry[1] = entry[1] + w * y
        entry[2] += w * float(np.sum(y * y))
    out = []
    for canon, (w, wy, wyy) in acc.items():
        host = tree.containing(canon)
        target = wy / w
        out.append(
            MeasuredGroup(
                host=host,
                clique=canon,
                sum_axes=tuple(i for i, a in enumerate(host) if a not in canon),
                bshape=tuple(domain[a] if a in canon else 1 for a in host),
                target=target,
                weight=w,
                const=wyy - w * float(np.sum(target * target)),
                feasible=project_simplex(target, total),
            )
        )
    return sorted(out, key=lambda g: -g.target.size)


@dataclass(frozen=True)
class MarginalPlan:
    """How the measured groups' marginals are summed from the calibrated cliques.

    ``steps[k] = (source, axes)``: the array of step ``k`` is ``source`` (a host clique, or an
    earlier step's index) summed over ``axes``; ``of_group[i]`` is the step giving group ``i``.
    Groups sharing a host share the passes over it: where two or more of them leave out one of
    the host's attributes, the host is first summed down to the union of their attributes and
    they are taken from that smaller array (recursively), so a host of ``M`` cells holding ``k``
    groups costs about one pass over ``M`` instead of ``k``.
    """

    steps: tuple[tuple[Clique | int, tuple[int, ...]], ...]
    of_group: tuple[int, ...]


def plan_marginals(domain: Domain, groups: Sequence[MeasuredGroup]) -> MarginalPlan:
    """The reduction plan of ``groups`` (see :class:`MarginalPlan`)."""
    steps: list[tuple[Clique | int, tuple[int, ...]]] = []
    of_group = [-1] * len(groups)
    by_host: dict[Clique, list[int]] = {}
    for i, g in enumerate(groups):
        by_host.setdefault(g.host, []).append(i)
    for host, members in by_host.items():
        _plan_node(host, host, members, (domain, groups, steps, of_group))
    return MarginalPlan(tuple(steps), tuple(of_group))


def _plan_node(src: Clique | int, attrs: Clique, todo: list[int], ctx: tuple) -> None:
    """Plan the groups ``todo`` (inside ``attrs``) from the array ``src`` over ``attrs``."""
    domain, groups, steps, of_group = ctx

    def emit(source: Clique | int, axes: tuple[int, ...]) -> int:
        steps.append((source, axes))
        return len(steps) - 1

    while todo:
        if len(todo) == 1 or len(attrs) <= 1:
            for i in todo:
                want = set(groups[i].clique)
                of_group[i] = emit(src, tuple(k for k, a in enumerate(attrs) if a not in want))
            return
        unused = {a: sum(a not in groups[i].clique for i in todo) for a in attrs}
        x = max(attrs, key=lambda a: (unused[a], domain[a]))
        if unused[x] < 2:  # no reduction shared by two groups: each one directly
            for i in todo:
                want = set(groups[i].clique)
                of_group[i] = emit(src, tuple(k for k, a in enumerate(attrs) if a not in want))
            return
        sub = [i for i in todo if x not in groups[i].clique]
        keep = {a for i in sub for a in groups[i].clique}
        child_attrs = tuple(a for a in attrs if a in keep)
        child = emit(src, tuple(k for k, a in enumerate(attrs) if a not in keep))
        _plan_node(child, child_attrs, sub, ctx)
        todo = [i for i in todo if x in groups[i].clique]


def group_marginals(plan: MarginalPlan, mu: dict[Clique, np.ndarray]) -> list[np.ndarray]:
    """Every group's model marginal (the groups' order) by ``plan`` from the clique marginals."""
    vals: list[np.ndarray] = []
    for source, axes in plan.steps:
        arr = vals[source] if isinstance(source, int) else mu[source]
        vals.append(sum_axes(arr, axes))
    return [vals[k] for k in plan.of_group]


def spread_to_hosts(
    plan: MarginalPlan, per_group: Sequence[np.ndarray]
) -> dict[Clique, np.ndarray]:
    """The adjoint of :func:`group_marginals`: per-group arrays (each shaped as its group's
    marginal) broadcast back up the plan and summed per host clique.

    ``sum_i <per_group[i], marginal_i(mu)>`` is linear in ``mu``; this returns its gradient with
    respect to each host's ``mu`` (broadcast-shaped where a host got only size-1 contributions).
    Walking the plan backwards, an intermediate array's contributions are summed at its own
    (smaller) size before they are broadcast into its source, so a host with ``k`` groups costs
    about as many full-size passes as it has direct reductions, not ``k``. The arrays given are
    never modified. The estimator no longer needs it (it moves the potentials in the groups'
    own coordinates, :mod:`privsynth.model.potentials`); it stays the plan's adjoint for
    callers that want host-shaped directions.
    """
    acc: dict[int, np.ndarray] = {k: a for k, a in zip(plan.of_group, per_group, strict=True)}
    out: dict[Clique, np.ndarray] = {}
    owned: set = set()
    for k in range(len(plan.steps) - 1, -1, -1):
        arr = acc.pop(k, None)
        if arr is None:
            continue
        source, axes = plan.steps[k]
        if axes:
            arr = np.expand_dims(arr, axes)
        if isinstance(source, int):
            _add_into(acc, source, arr, owned)
        else:
            _add_into(out, source, arr, owned)
    return out


def _add_into(store: dict, key: object, arr: np.ndarray, owned: set) -> None:
    """``store[key] += arr`` without writing into arrays the store does not own."""
    have = store.get(key)
    if have is None:
        store[key] = arr
    elif (id(store), key) in owned and have.shape == np.broadcast_shapes(have.shape, arr.shape):
        have += arr
    else:
        store[key] = have + arr
        owned.add((id(store), key))


def loss_and_gradients(
    groups: list[MeasuredGroup], mu: dict[Clique, np.ndarray], plan: MarginalPlan
) -> tuple[float, list[np.ndarray], list[np.ndarray]]:
    """Loss, per-group marginals and per-group gradients ``dL/dmu_r = 2 w (mu_r - ybar)``."""
    loss = 0.0
    grads = []
    margs = group_marginals(plan, mu)
    for g, m in zip(groups, margs, strict=True):
        diff = m - g.target
        loss += g.weight * float(np.sum(diff * diff)) + g.const
        grads.append(2.0 * g.weight * diff)
    return loss, margs, grads


def warm_theta(
    domain: Domain, tree: JunctionTree, warm: GraphicalModel
) -> dict[Clique, np.ndarray]:
    """Carry a previous model's log-potentials into a new tree.

    A potential whose clique fits inside a new maximal clique is added there (exact: the new model
    starts as the old distribution). One that fits nowhere (the old tree had fill-in the new one
    lacks) is log-marginalised onto its largest overlap with a new clique: an approximate start.
    """
    theta = {c: np.zeros(domain.project(c).shape) for c in tree.maximal_cliques}
    for c, f in warm.potentials.items():
        host = tree.containing(c)
        if host is not None:
            theta[host] += Factor(domain.project(c), f.values).aligned(domain.project(host))
            continue
        host = max(tree.maximal_cliques, key=lambda h: (len(set(h) & set(c)), -domain.size(h)))
        shared = tuple(a for a in c if a in host)
        if not shared:
            continue
        drop = tuple(i for i, a in enumerate(c) if a not in shared)
        vals = logsumexp_axes(f.values, drop)
        theta[host] += Factor(domain.project(shared), vals).aligned(domain.project(host))
    return theta

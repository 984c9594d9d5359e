"""The model engine's fast paths (issue 12/15): bit-mask triangulation, the per-component size
memo, shared marginal reductions and the packed-key sort of the sampler, each against a plain
reference."""

from __future__ import annotations

import random

import numpy as np
import pytest
from model_problems import shared_host_groups

from privsynth.domain import Domain
from privsynth.model import JunctionTree, model_size_mb
from privsynth.model.graphical_model import assign_cells, sorted_at_random
from privsynth.model.junction_tree import tree_cells
from privsynth.model.objective import group_marginals, plan_marginals


def _reference_order(dom: Domain, cliques, criterion: str):
    """Greedy elimination on Python sets, as the engine had it before bit masks."""
    sizes, rank = dom.to_dict(), {a: i for i, a in enumerate(dom.attrs)}
    adj = {a: set() for a in dom.attrs}
    for c in cliques:
        for a in c:
            adj[a] |= set(c) - {a}
    order, elim = [], []
    while adj:

        def key(v):
            cells = sizes[v] * int(np.prod([sizes[u] for u in adj[v]], dtype=object))
            if criterion == "min_weight":
                return (cells, rank[v])
            nb = list(adj[v])
            fill = sum(1 for i, a in enumerate(nb) for b in nb[i + 1 :] if b not in adj[a])
            return (fill, cells, rank[v])

        v = min(adj, key=key)
        nbrs = adj.pop(v)
        for u in nbrs:
            adj[u].discard(v)
            adj[u] |= nbrs - {u}
        order.append(v)
        elim.append(frozenset(nbrs | {v}))
    maximal = [c for i, c in enumerate(elim) if not any(c < d for d in elim) and c not in elim[:i]]
    return order, maximal


def _random_case(rng: random.Random):
    n = rng.randint(1, 30)
    dom = Domain(tuple(f"x{i}" for i in range(n)), tuple(rng.randint(1, 30) for _ in range(n)))
    k = rng.randint(0, 2 * n)
    cliques = [tuple(rng.sample(dom.attrs, rng.randint(1, min(4, n)))) for _ in range(k)]
    return dom, cliques


def test_triangulation_matches_the_set_reference_and_sizes_per_component():
    rng = random.Random(0)
    for _ in range(150):
        dom, cliques = _random_case(rng)
        tree = JunctionTree(dom, cliques)
        best = None
        for criterion in ("min_weight", "min_fill"):
            order, maximal = _reference_order(dom, cliques, criterion)
            cells = sum(dom.size(m) for m in maximal)
            if best is None or cells < best[0]:
                best = (cells, order, maximal)
        assert tree.elimination_order == best[1]
        assert tree.maximal_cliques == [dom.canonical(m) for m in best[2][::-1]]
        # the size without building the tree: the sum over connected components, memoised
        assert tree_cells(dom, cliques) == tree.size_cells() == best[0]
        assert model_size_mb(dom, cliques) == tree.size_mb()


def test_clique_tree_has_the_running_intersection_property():
    rng = random.Random(1)
    for _ in range(40):
        dom, cliques = _random_case(rng)
        tree = JunctionTree(dom, cliques)
        nb = tree.neighbors()
        for a in dom.attrs:  # the cliques holding a form a connected subtree
            holding = {c for c in tree.maximal_cliques if a in c}
            seen, stack = set(), [next(iter(holding))]
            while stack:
                c = stack.pop()
                seen.add(c)
                stack += [d for d in nb[c] if d in holding and d not in seen]
            assert seen == holding


def test_shared_reductions_equal_direct_sums():
    rng = np.random.default_rng(0)
    dom, tree, groups = shared_host_groups(rng)
    plan = plan_marginals(dom, groups)
    mu = {c: rng.random(dom.project(c).shape) for c in tree.maximal_cliques}
    got = group_marginals(plan, mu)
    passes_over_hosts = sum(1 for source, _ in plan.steps if not isinstance(source, int))
    assert passes_over_hosts < len(groups)  # the hosts are shared, not summed once per group
    for g, m in zip(groups, got, strict=True):
        direct = mu[g.host].sum(axis=g.sum_axes) if g.sum_axes else mu[g.host]
        np.testing.assert_allclose(m, direct, rtol=1e-12)


@pytest.mark.parametrize("sizes", [[7, 3, 5], [2**40, 2**30, 3]])  # one packed word; several
def test_sorted_at_random_sorts_by_keys_and_breaks_ties_at_random(sizes):
    rng = np.random.default_rng(0)
    n = 5000
    keys = [rng.integers(0, min(s, 6), size=n) for s in sizes]
    order = sorted_at_random(keys, sizes, np.random.default_rng(1))
    assert sorted(order.tolist()) == list(range(n))
    ranked = np.stack([k[order] for k in keys], axis=1)
    assert all(tuple(ranked[i]) <= tuple(ranked[i + 1]) for i in range(n - 1))
    other = sorted_at_random(keys, sizes, np.random.default_rng(2))
    assert not np.array_equal(order, other)  # ties come out in another order
    assert np.array_equal(np.stack([k[other] for k in keys], axis=1), ranked)


def test_assign_cells_interleaves_cells_along_the_earlier_columns():
    """One group, two cells 50/50: each value of the earlier column gets half of each cell."""
    rng = np.random.default_rng(0)
    n = 4000
    rows = np.zeros(n, dtype=np.int64)
    data = rng.integers(0, 4, size=(n, 1))
    counts = np.array([[n // 2, n // 2]])
    picked = assign_cells(rows, counts, data, [0], rng)
    for v in range(4):
        share = picked[data[:, 0] == v].mean()
        assert abs(share - 0.5) < 0.01
    random_pick = assign_cells(rows, counts, data, [0], rng, stratify=False)
    spread = max(abs(random_pick[data[:, 0] == v].mean() - 0.5) for v in range(4))
    assert spread > max(abs(picked[data[:, 0] == v].mean() - 0.5) for v in range(4))

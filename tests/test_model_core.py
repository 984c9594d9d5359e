"""Factor alignment, junction-tree construction, log-space BP and exact projection vs brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from privsynth.domain import Domain
from privsynth.model import Factor, GraphicalModel, JunctionTree, model_size_mb

DOM = Domain(tuple("abcdefg"), (2, 3, 2, 4, 2, 3, 2))
SHAPES = {
    "chain": [("a", "b"), ("b", "c"), ("c", "d"), ("d", "e")],
    "star": [("a", "b"), ("a", "c"), ("a", "d"), ("a", "e", "f")],
    "cycle_fill_in": [("a", "b"), ("b", "c"), ("c", "d"), ("d", "a"), ("e", "f"), ("b", "e")],
    "grid_fill_in": [
        ("a", "b"),
        ("b", "c"),
        ("a", "d"),
        ("b", "e"),
        ("c", "f"),
        ("d", "e"),
        ("e", "f"),
    ],
    "disconnected": [("a", "b", "c"), ("e", "f")],
}


def _random_model(cliques, seed: int, total: float = 1000.0) -> tuple[GraphicalModel, np.ndarray]:
    rng = np.random.default_rng(seed)
    tree = JunctionTree(DOM, cliques)
    pots = {
        c: Factor(DOM.project(c), 1.5 * rng.standard_normal(DOM.project(c).shape))
        for c in tree.maximal_cliques
    }
    joint = _log_joint(pots)
    p = np.exp(joint - joint.max())
    return GraphicalModel(DOM, tree, pots, total=total), p / p.sum() * total


def _log_joint(pots) -> np.ndarray:
    """sum_C theta_C over the full domain (brute force)."""
    joint = np.zeros(DOM.shape)
    for f in pots.values():
        joint = joint + f.aligned(DOM)
    return joint


def _brute(joint: np.ndarray, attrs) -> np.ndarray:
    attrs = tuple(attrs)
    out = joint.sum(axis=tuple(i for i, a in enumerate(DOM.attrs) if a not in attrs))
    canon = DOM.canonical(attrs)
    return out.transpose([canon.index(a) for a in attrs])


def test_factor_alignment_and_transpose():
    rng = np.random.default_rng(0)
    f = Factor(DOM.project(("b", "a")), rng.standard_normal((3, 2)))
    target = DOM.project(("c", "a", "b"))
    al = f.aligned(target)
    assert al.shape == (1, 2, 3)
    np.testing.assert_array_equal(np.broadcast_to(al, target.shape)[1], f.values.T)
    assert np.allclose(f.transpose(("a", "b")).values, f.values.T)
    assert f.transpose(("a", "b")).attrs == ("a", "b")
    with pytest.raises(ValueError, match="not in target"):
        f.aligned(DOM.project(("a", "c")))
    with pytest.raises(ValueError, match="permutation"):
        f.transpose(("a",))
    with pytest.raises(ValueError, match="values for a domain"):
        Factor(DOM.project(("a",)), np.zeros(3))
    assert np.all(Factor.zeros(DOM.project(("a", "b"))).values == 0)


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_calibrated_marginals_match_brute_force(shape):
    model, joint = _random_model(SHAPES[shape], seed=len(shape))
    for clique in SHAPES[shape]:
        assert any(set(clique) <= set(m) for m in model.tree.maximal_cliques)
    for clique, marg in model.marginals().items():
        np.testing.assert_allclose(marg, _brute(joint, clique), rtol=1e-10, atol=1e-10)
        assert np.isclose(marg.sum(), model.total)


@pytest.mark.parametrize("shape", ["chain", "cycle_fill_in", "grid_fill_in", "disconnected"])
def test_project_any_subset_is_exact(shape):
    model, joint = _random_model(SHAPES[shape], seed=7)
    subsets = [s for k in (1, 2, 3) for s in itertools.combinations(DOM.attrs, k)]
    for attrs in subsets[::3] + [("g", "a"), ("e", "a", "d"), ("f", "c", "a", "g")]:
        np.testing.assert_allclose(model.project(attrs), _brute(joint, attrs), rtol=1e-9, atol=1e-9)
    assert model.project(("d", "a")).shape == (4, 2)


def test_extreme_potentials_stay_finite():
    tree = JunctionTree(DOM, SHAPES["chain"])
    rng = np.random.default_rng(3)
    pots = {
        c: Factor(DOM.project(c), 300.0 * rng.standard_normal(DOM.project(c).shape))
        for c in tree.maximal_cliques
    }
    model = GraphicalModel(DOM, tree, pots, total=50.0)
    for marg in model.marginals().values():
        assert np.all(np.isfinite(marg)) and np.isclose(marg.sum(), 50.0)
    assert np.all(np.isfinite(model.project(("a", "e"))))


def test_chain_has_no_fill_in_and_size_is_real():
    dom = Domain(tuple("pqrstu"), (5, 4, 3, 6, 2, 7))
    chain = [("p", "q"), ("q", "r"), ("r", "s"), ("s", "t"), ("t", "u")]
    tree = JunctionTree(dom, chain)
    assert sorted(tree.maximal_cliques) == sorted(chain)
    assert len(tree.edges) == len(tree.maximal_cliques) - 1
    cells = sum(dom.size(c) for c in chain)
    assert tree.size_cells() == cells
    assert model_size_mb(dom, chain) == pytest.approx(cells * 8 / 2**20)
    # a 4-cycle needs one chord: two triangles
    cyc = JunctionTree(dom, [("p", "q"), ("q", "r"), ("r", "s"), ("p", "s")])
    assert all(len(c) == 3 for c in cyc.maximal_cliques if set(c) & {"p", "q", "r", "s"} == set(c))
    assert model_size_mb(dom, [("p", "q"), ("q", "r"), ("r", "s"), ("p", "s")]) == cyc.size_mb()
    assert set(tree.elimination_order) == set(dom.attrs)


def test_running_intersection_property():
    for cliques in SHAPES.values():
        tree = JunctionTree(DOM, cliques)
        nb = tree.neighbors()
        for attr in DOM.attrs:
            holders = {c for c in tree.maximal_cliques if attr in c}
            assert holders, attr
            start = next(iter(holders))
            seen, stack = {start}, [start]
            while stack:
                for d in nb[stack.pop()]:
                    if d in holders and d not in seen:
                        seen.add(d)
                        stack.append(d)
            assert seen == holders, (cliques, attr)


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_project_many_all_pairs_and_triples_exact(shape):
    model, joint = _random_model(SHAPES[shape], seed=11)
    queries = [s for k in (1, 2, 3, 4) for s in itertools.combinations(DOM.attrs, k)]
    queries += [("g", "a"), ("f", "c", "a"), ()]
    got = model.project_many(queries)
    assert set(got) == set(queries)
    for attrs in queries:
        want = _brute(joint, attrs) if attrs else model.total
        np.testing.assert_allclose(got[attrs], want, rtol=1e-9, atol=1e-9)
    # single calls agree (cached or not) and return fresh, writable arrays
    fresh, _ = _random_model(SHAPES[shape], seed=11)
    for attrs in [("a", "g"), ("e", "c"), ("g", "b", "d"), ("d", "a", "f")]:
        arr = fresh.project(attrs)
        np.testing.assert_allclose(arr, _brute(joint, attrs), rtol=1e-9, atol=1e-9)
        arr[...] = -1.0
        np.testing.assert_allclose(fresh.project(attrs), _brute(joint, attrs), rtol=1e-9, atol=1e-9)


def test_tagged_pass_matches_elimination():
    model, joint = _random_model(SHAPES["grid_fill_in"], seed=5)
    for attrs in [("a", "f"), ("a", "b", "f"), ("c", "d"), ("a", "d", "f")]:
        canon = DOM.canonical(attrs)
        tag = model._best_tag(canon)
        assert tag is not None
        target = next(a for a in canon if a not in tag)
        via_pass = model._tagged_pass(tag, {target})[target]
        np.testing.assert_allclose(via_pass, model._eliminate(canon, model.marginals()), atol=1e-9)
        np.testing.assert_allclose(via_pass, _brute(joint, canon), atol=1e-9)


def test_calibration_extreme_and_zero_potentials():
    tree = JunctionTree(DOM, SHAPES["grid_fill_in"])
    rng = np.random.default_rng(9)
    pots = {}
    for c in tree.maximal_cliques:
        v = rng.standard_normal(DOM.project(c).shape) * 400.0
        v[rng.random(v.shape) < 0.3] = -np.inf  # structural zeros
        v.flat[0] = 0.0
        pots[c] = Factor(DOM.project(c), v)
    model = GraphicalModel(DOM, tree, pots, total=100.0)
    joint = _log_joint(pots)
    p = np.exp(joint - joint.max())
    p = p / p.sum() * 100.0
    for clique, marg in model.marginals().items():
        assert np.all(np.isfinite(marg))
        np.testing.assert_allclose(marg, _brute(p, clique), rtol=1e-8, atol=1e-8)

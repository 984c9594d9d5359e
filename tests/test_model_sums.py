"""The estimator's fast paths: ``sum_axes`` against numpy, belief propagation on large cliques
(the matrix-product sums and the clique-wide shift, with its per-slice fallback) against brute
force, ``spread_to_hosts`` against the per-group broadcast sum, and momentum against plain
mirror descent."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from model_problems import shared_host_groups

from privsynth.domain import Domain
from privsynth.model import Factor, GraphicalModel, JunctionTree, Measurement, calibration, estimate
from privsynth.model.calibration import calibrate
from privsynth.model.factor import sum_axes
from privsynth.model.objective import plan_marginals, spread_to_hosts


@pytest.mark.parametrize("shape", [(9, 15, 6, 2, 99, 2), (3, 700, 2), (40, 1, 5, 33)])
def test_sum_axes_equals_numpy_for_every_axis_subset(shape):
    arr = np.random.default_rng(0).random(shape) * 1e3
    assert sum_axes(arr, ()) is arr
    for k in range(1, len(shape) + 1):
        for axes in itertools.combinations(range(len(shape)), k):
            got, want = sum_axes(arr, axes), arr.sum(axis=axes)
            assert got.shape == want.shape
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)


# cliques of 4096 and 3072 cells with short trailing axes: the matrix-product sums run
BIG = Domain(tuple("abcde"), (16, 16, 8, 2, 3))
BIG_CLIQUES = [("a", "b", "c", "d"), ("c", "d", "e")]


def _brute_marginals(tree: JunctionTree, theta: dict, total: float) -> dict:
    joint = np.zeros(BIG.shape)
    for c, t in theta.items():
        joint = joint + Factor(BIG.project(c), t).aligned(BIG)
    p = np.exp(joint - joint.max())
    p *= total / p.sum()
    out = {}
    for c in tree.maximal_cliques:
        out[c] = p.sum(axis=tuple(i for i, a in enumerate(BIG.attrs) if a not in c))
    return out


@pytest.mark.parametrize("offset", [0.0, 800.0])
def test_large_clique_calibration_matches_brute_force(offset, monkeypatch):
    """``offset`` pushes one separator slice of the leaf 800 nats down and lifts it as much in
    the root: its sum underflows under the clique-wide shift, so the per-slice path must run;
    the joint (and so every marginal) is the same as without the offset."""
    rng = np.random.default_rng(3)
    tree = JunctionTree(BIG, BIG_CLIQUES)
    theta = {c: 3.0 * rng.standard_normal(BIG.project(c).shape) for c in tree.maximal_cliques}
    want = _brute_marginals(tree, theta, 1000.0)
    root, leaf = tree.plan.rooting.order[0], tree.plan.rooting.order[1]
    shifted = {c: t.copy() for c, t in theta.items()}
    sep = [a for a in leaf if a in root]
    index = tuple(0 if a in sep else slice(None) for a in leaf)  # slice c = 0, d = 0 of the leaf
    shifted[leaf][index] -= offset
    shifted[root][tuple(0 if a in sep else slice(None) for a in root)] += offset
    per_slice = []
    original = calibration._message_per_slice
    monkeypatch.setattr(
        calibration, "_message_per_slice", lambda *a: per_slice.append(1) or original(*a)
    )
    got, _ = calibrate(tree, shifted, 1000.0)
    assert len(per_slice) == (1 if offset else 0)  # the fallback runs exactly when needed
    for c in tree.maximal_cliques:
        np.testing.assert_allclose(got[c], want[c], rtol=1e-9, atol=1e-9)
        assert np.isclose(got[c].sum(), 1000.0)


def test_spread_to_hosts_is_the_per_group_broadcast_sum():
    rng = np.random.default_rng(0)
    dom, tree, groups = shared_host_groups(rng)
    arrays = [rng.standard_normal(g.target.shape) for g in groups]
    kept = [a.copy() for a in arrays]
    got = spread_to_hosts(plan_marginals(dom, groups), arrays)
    want: dict = {}
    for g, a in zip(groups, arrays, strict=True):
        full = np.broadcast_to(a.reshape(g.bshape), dom.project(g.host).shape)
        want[g.host] = want.get(g.host, 0.0) + full
    assert set(got) == set(want)
    for h, w in want.items():
        np.testing.assert_allclose(np.broadcast_to(got[h], w.shape), w, rtol=1e-12, atol=1e-12)
    assert all(np.array_equal(a, k) for a, k in zip(arrays, kept, strict=True))  # untouched


def _noisy_problem(seed: int = 4):
    dom = Domain(tuple("abcdef"), (2, 3, 2, 4, 2, 3))
    cliques = [("a", "b"), ("b", "c"), ("c", "d"), ("d", "a"), ("e", "f"), ("b", "e")]
    rng = np.random.default_rng(seed)
    tree = JunctionTree(dom, cliques)
    pots = {
        c: Factor(dom.project(c), rng.standard_normal(dom.project(c).shape))
        for c in tree.maximal_cliques
    }
    truth = GraphicalModel(dom, tree, pots, total=1000.0)
    noise = np.random.default_rng(1)
    ms = [
        Measurement(c, truth.project(c).ravel() + 5 * noise.standard_normal(dom.size(c)), 5.0)
        for c in [(a,) for a in dom.attrs] + cliques
    ]
    return dom, ms


def test_momentum_descends_monotonically_to_the_same_optimum():
    dom, ms = _noisy_problem()
    losses: list[float] = []
    fast = estimate(
        dom,
        ms,
        iters=5000,
        tol=1e-14,
        gap_stop=False,  # both to the optimum (the gap rule stops within the noise of it)
        callback=lambda i, loss: losses.append(loss),
    )
    plain = estimate(dom, ms, iters=20000, tol=1e-15, momentum=False, gap_stop=False)
    assert all(b <= a + 1e-9 * abs(a) for a, b in itertools.pairwise(losses))  # never increases
    assert fast.fit_info["loss"] == pytest.approx(plain.fit_info["loss"], rel=2e-3)
    assert "momentum_restarts" in fast.fit_info

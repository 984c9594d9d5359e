"""The model engine's seams (issue 13): the Estimator protocol, the hybrid estimator's parts, the
tree-owned caches and the merged helpers (total estimate, simplex projection, union-find)."""

from __future__ import annotations

import numpy as np
import pytest

from privsynth.domain import Domain
from privsynth.model import (
    Estimator,
    Factor,
    GraphicalModel,
    HybridEstimator,
    JunctionTree,
    Measurement,
    calibrate,
    estimate,
    estimate_total,
    project_simplex,
)
from privsynth.model.disjoint_set import DisjointSet
from privsynth.model.estimation import MirrorStep, Objective, ScaledStep, StopRule
from privsynth.model.objective import group_measurements

DOM = Domain(tuple("abcdef"), (2, 3, 2, 4, 2, 3))
CLIQUES = [("a", "b"), ("b", "c"), ("c", "d"), ("d", "a"), ("e", "f"), ("b", "e")]


def _measurements(seed: int = 0, sigma: float = 5.0) -> list[Measurement]:
    rng = np.random.default_rng(seed)
    tree = JunctionTree(DOM, CLIQUES)
    pots = {
        c: Factor(DOM.project(c), rng.standard_normal(DOM.project(c).shape))
        for c in tree.maximal_cliques
    }
    truth = GraphicalModel(DOM, tree, pots, total=2000.0)
    return [
        Measurement(c, truth.project(c).ravel() + sigma * rng.standard_normal(DOM.size(c)), sigma)
        for c in CLIQUES
    ]


def test_hybrid_estimator_is_an_estimator_and_estimate_delegates_to_it() -> None:
    ms = _measurements()
    est = HybridEstimator(iters=60)
    assert isinstance(est, Estimator)
    a = est.estimate(DOM, ms)
    b = estimate(DOM, ms, iters=60)
    for c in a.tree.maximal_cliques:  # the same arithmetic, bit for bit
        np.testing.assert_array_equal(a.potentials[c].values, b.potentials[c].values)
    assert a.fit_info == b.fit_info
    assert a.fit_info["calibrations"] >= a.fit_info["iterations"] + 1


def test_a_callback_stops_the_loop() -> None:
    seen: list[int] = []
    model = HybridEstimator(iters=500, callback=lambda it, loss: seen.append(it) or it == 3)
    fit = model.estimate(DOM, _measurements())
    assert seen == [1, 2, 3] and fit.fit_info["iterations"] == 3
    assert fit.fit_info["converged"] is False


def test_objective_trial_is_an_armijo_test() -> None:
    ms = _measurements()
    tree = JunctionTree(DOM, [m.clique for m in ms])
    total = estimate_total(ms, DOM)
    objective = Objective(tree, group_measurements(DOM, tree, ms, total), total)
    state = objective.start(None)
    zero = [np.zeros(g.target.shape) for g in objective.groups]
    ok, same = objective.trial(state, zero, 1.0)
    assert not ok and same.loss == pytest.approx(state.loss)  # no predicted decrease
    mirror = MirrorStep(alpha=1e6, alpha_safe=1e-12)  # far too large: backtracks until accepted
    new = mirror.take(objective, state)
    assert new.loss < state.loss and mirror.alpha < 1e6
    assert objective.calibrations >= 3


def test_scaled_step_backs_off_exponentially() -> None:
    step = ScaledStep(beta=0.5, floor=1e-9)
    cooldowns = []
    for _ in range(7):
        step.back_off()
        cooldowns.append(step.cooldown)
    assert cooldowns == [2, 4, 8, 16, 32, 64, 64]
    assert [step.ready() for _ in range(64)] == [False] * 64
    assert step.ready()


def test_stop_rule_noise_level_and_mirror_stall() -> None:
    noisy = StopRule(tol=1e-6, scale=1.0, noise_floor=10.0, noise_step=1.0)
    results = [noisy.update(gain=0.5, loss=100.0, mirror=False) for _ in range(5)]
    assert results[:4] == [(False, False)] * 4 and results[4] == (True, False)
    stall = StopRule(tol=1e-3, scale=1.0, noise_floor=1e9, noise_step=1.0)
    assert stall.update(gain=1e-6, loss=1.0, mirror=False) == (False, True)  # hand over
    assert [stall.update(gain=1e-6, loss=1.0, mirror=True)[0] for _ in range(5)] == [False] * 4 + [
        True
    ]
    moving = StopRule(tol=1e-3, scale=1.0, noise_floor=1e9, noise_step=1.0)
    assert not any(moving.update(gain=0.5, loss=1.0, mirror=True)[0] for _ in range(20))


def _fire(rule: StopRule, losses) -> int | None:
    """The step at which ``rule`` first says converged on ``losses`` (None: never)."""
    prev = losses[0]
    for k, loss in enumerate(losses[1:], start=1):
        if rule.update(gain=prev - loss, loss=loss, mirror=True)[0]:
            return k
        prev = loss
    return None


def test_gap_rule_stops_only_within_the_noise_of_the_optimum() -> None:
    """A 1/k descent (loss = optimum + C/k) over 10,000 noisy values with the optimum at 4,000:
    the gap rule stops once the loss still to gain is below 5% of the noise energy left
    (values - loss), not before; never on a noiseless fit or without ``values``."""
    k = np.arange(1, 5001, dtype=float)
    c = 2e5
    noisy = 4000.0 + c / k
    rule = StopRule(tol=1e-12, scale=1e12, noise_floor=1e12, noise_step=0.0, values=1e4)
    at = _fire(rule, noisy)
    assert at is not None and 50 <= at < 5000
    # k times the last quarter's mean gain is 4/3 of a 1/k rate's true gap: the rule stops with
    # the true gap at most its threshold (not early) and at least half of it (not late)
    threshold = 0.05 * (1e4 - noisy[at])
    assert 0.5 * threshold <= noisy[at] - 4000.0 <= threshold
    no_values = StopRule(tol=1e-12, scale=1e12, noise_floor=1e12, noise_step=0.0)
    assert _fire(no_values, noisy) is None
    noiseless = StopRule(tol=1e-12, scale=1e12, noise_floor=1e12, noise_step=0.0, values=1e4)
    assert _fire(noiseless, c / k) is None  # heads to 0: not evidently noisy


def test_tree_owns_its_rootings_and_plan() -> None:
    tree = JunctionTree(DOM, CLIQUES)
    assert tree.plan is tree.plan
    for root in tree.maximal_cliques:
        r = tree.rooting(root)
        assert r is tree.rooting(root) and r.order[0] == root and r.parent[root] is None
        assert sorted(r.order) == sorted(tree.maximal_cliques)
        for c in r.order:
            for k in r.children[c]:
                assert r.parent[k] == c and r.below[k] <= r.below[c]
        assert r.below[root] == frozenset(DOM.attrs)
    theta = {c: np.zeros(DOM.project(c).shape) for c in tree.maximal_cliques}
    before = set(vars(tree))
    calibrate(tree, theta, 10.0)
    assert set(vars(tree)) == before  # nothing written onto the tree by its users


def test_estimate_total_per_measurement_domains() -> None:
    small = Domain(("a", "b"), (2, 2))  # e.g. a compressed domain
    m1 = Measurement(("a",), np.array([60.0, 40.0]), 1.0)
    m2 = Measurement(("b",), np.array([70.0, 70.0, 60.0]), 2.0)
    m3 = Measurement(("b",), np.array([150.0, 45.0]), 2.0)
    want = (100 / 2 + 200 / 12 + 195 / 8) / (1 / 2 + 1 / 12 + 1 / 8)
    assert estimate_total([m1, m2, m3], [DOM, DOM, small]) == pytest.approx(want)
    with pytest.raises(ValueError, match="one domain per measurement"):
        estimate_total([m1, m2], [DOM])


def test_project_simplex_any_shape() -> None:
    y = np.array([[3.0, -1.0], [0.5, 2.5]])
    x = project_simplex(y, 4.0)
    assert x.shape == y.shape and x.sum() == pytest.approx(4.0) and (x >= 0).all()
    np.testing.assert_array_equal(x.ravel(), project_simplex(y.ravel(), 4.0))
    np.testing.assert_array_equal(project_simplex(y, 0.0), np.zeros_like(y))


def test_disjoint_set() -> None:
    ds = DisjointSet("abcde")
    assert ds.union("a", "b") and ds.union("c", "d") and not ds.union("b", "a")
    assert ds.connected("a", "b") and not ds.connected("a", "c")
    assert ds.union("b", "d") and ds.connected("a", "c") and not ds.connected("a", "e")

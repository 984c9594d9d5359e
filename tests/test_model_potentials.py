"""The estimator's potentials in group coordinates (privsynth.model.potentials) and the product
path of belief propagation (calibration.calibrate_potentials) against the dense log-space one."""

from __future__ import annotations

import itertools
import json
from importlib import resources

import numpy as np
import pandas as pd
import pytest

from privsynth.domain import Domain
from privsynth.model import JunctionTree, Measurement, calibrate, calibration, estimate
from privsynth.model.calibration import calibrate_potentials
from privsynth.model.objective import group_measurements
from privsynth.model.potentials import (
    PotentialLayout,
    Potentials,
    mul_into,
    multiply_all,
    product_order,
)

DOM = Domain(tuple("abcdefg"), (2, 3, 2, 4, 2, 3, 2))
MEASURED = [("a", "b"), ("b", "c"), ("c", "d"), ("d", "a"), ("e", "f"), ("b", "e"), ("f", "g")]
MEASURED += [("a",), ("d",), ("g",), ("b", "c", "d")]


def _potentials(
    seed: int, base_scale: float, delta_scale: float
) -> tuple[JunctionTree, Potentials]:
    """Random potentials on the tree of MEASURED: a dense base per host plus one random delta
    per measured group (the estimator's coordinates)."""
    rng = np.random.default_rng(seed)
    tree = JunctionTree(DOM, MEASURED)
    ms = [Measurement(c, np.ones(DOM.size(c)), 1.0) for c in MEASURED]
    groups = group_measurements(DOM, tree, ms, 100.0)
    shapes = {c: DOM.project(c).shape for c in tree.maximal_cliques}
    base = {c: base_scale * rng.standard_normal(s) for c, s in shapes.items()}
    layout = PotentialLayout.build(
        shapes, base, [g.host for g in groups], [g.bshape for g in groups]
    )
    deltas = tuple(delta_scale * rng.standard_normal(g.target.shape) for g in groups)
    return tree, Potentials(layout, deltas)


@pytest.fixture
def products(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, ...]]:
    """The shapes of every clique built by products (the factored path, not the fallback)."""
    seen: list[tuple[int, ...]] = []

    def counted(factors: list[np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
        seen.append(shape)
        return multiply_all(factors, shape)

    monkeypatch.setattr(calibration, "multiply_all", counted)
    return seen


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_product_calibration_equals_dense_log_space(seed: int, products: list) -> None:
    tree, pots = _potentials(seed, 1.5, 1.0)
    mu, log_z = calibrate_potentials(tree, pots, 500.0, cells_per_factor=0)
    assert len(products) == len(tree.maximal_cliques)  # every clique by products
    ref_mu, ref_log_z = calibrate(tree, pots.dense(), 500.0)
    assert log_z == pytest.approx(ref_log_z, rel=1e-12)
    for c in tree.maximal_cliques:
        np.testing.assert_allclose(mu[c], ref_mu[c], rtol=1e-10, atol=1e-12)
        assert mu[c].sum() == pytest.approx(500.0)
    products.clear()  # the default threshold: these cliques are too small for products
    mu, _ = calibrate_potentials(tree, pots, 500.0)
    assert products == []
    for c in tree.maximal_cliques:
        np.testing.assert_allclose(mu[c], ref_mu[c], rtol=1e-10, atol=1e-12)


def test_product_calibration_on_a_large_clique(products: list) -> None:
    """A clique large enough for the default threshold (a 2-valued last axis, the slow
    broadcast pattern :func:`mul_into` handles) goes by products and matches the dense path."""
    dom = Domain(("a", "b", "c", "d", "e"), (12, 9, 15, 20, 2))
    measured = [("a", "b"), ("b", "c"), ("a", "c"), ("c", "d"), ("d", "e"), ("a",), ("e",)]
    tree = JunctionTree(dom, measured + [("a", "b", "c", "d", "e")])
    ms = [Measurement(c, np.ones(dom.size(c)), 1.0) for c in measured]
    groups = group_measurements(dom, tree, ms, 100.0)
    shapes = {c: dom.project(c).shape for c in tree.maximal_cliques}
    rng = np.random.default_rng(11)
    base = {c: rng.standard_normal(s) for c, s in shapes.items()}
    layout = PotentialLayout.build(
        shapes, base, [g.host for g in groups], [g.bshape for g in groups]
    )
    pots = Potentials(layout, tuple(rng.standard_normal(g.target.shape) for g in groups))
    mu, log_z = calibrate_potentials(tree, pots, 1000.0)
    assert products == [(12, 9, 15, 20, 2)]
    ref_mu, ref_log_z = calibrate(tree, pots.dense(), 1000.0)
    assert log_z == pytest.approx(ref_log_z, rel=1e-12)
    np.testing.assert_allclose(
        mu[tree.maximal_cliques[0]], ref_mu[tree.maximal_cliques[0]], rtol=1e-10
    )


def test_product_calibration_falls_back_where_products_underflow() -> None:
    """Deltas of +-400 nats and structural zeros (-inf) in the base: products of factors each
    at most 1 underflow, the guard sends those cliques through the exact log-space path, and
    the marginals still equal the dense calibration's."""
    tree, pots = _potentials(3, 1.0, 400.0)
    base = {c: np.array(v) for c, v in pots.layout.base.items()}
    rng = np.random.default_rng(4)
    for v in base.values():
        v[rng.random(v.shape) < 0.2] = -np.inf
        v.flat[0] = 0.0
    lay = pots.layout
    layout = PotentialLayout.build(lay.shapes, base, lay.hosts, lay.bshapes)
    pots = Potentials(layout, pots.deltas)
    mu, log_z = calibrate_potentials(tree, pots, 100.0, cells_per_factor=0)
    ref_mu, ref_log_z = calibrate(tree, pots.dense(), 100.0)
    assert log_z == pytest.approx(ref_log_z, rel=1e-10)
    for c in tree.maximal_cliques:
        assert np.all(np.isfinite(mu[c]))
        np.testing.assert_allclose(mu[c], ref_mu[c], rtol=1e-8, atol=1e-9)


def test_zero_base_and_moves_are_group_sized() -> None:
    tree, pots = _potentials(5, 0.0, 1.0)
    assert all(b is None for b in pots.layout.base.values())  # a zero base is not stored
    step = [np.full(d.shape, 0.5) for d in pots.deltas]
    moved = pots.moved(step, 2.0)
    for old, new in zip(pots.deltas, moved.deltas, strict=True):
        np.testing.assert_allclose(new, old + 1.0)
    dense, moved_dense = pots.dense(), moved.dense()
    for c, v in dense.items():  # each host moves by 1 per group it holds
        n = len(pots.layout.members[c])
        np.testing.assert_allclose(moved_dense[c], v + n)


def test_mul_into_equals_numpy_for_every_broadcast_pattern() -> None:
    """Every pattern of a shape large enough for the sliced path (over 4,096 cells), with
    short and long runs and a 2-valued last axis."""
    rng = np.random.default_rng(6)
    shape = (3, 2, 25, 2, 14, 2)
    for kept in itertools.product([False, True], repeat=len(shape)):
        fs = tuple(n if k else 1 for n, k in zip(shape, kept, strict=True))
        acc = rng.random(shape)
        factor = rng.random(fs)
        want = acc * factor
        mul_into(acc, factor)
        np.testing.assert_array_equal(acc, want)  # the same products, element for element


def test_multiply_all_equals_the_plain_product() -> None:
    rng = np.random.default_rng(7)
    shape = (4, 3, 5, 2)
    shapes = [(4, 1, 1, 1), (1, 3, 5, 1), (4, 1, 1, 2), (1, 1, 5, 2), shape, (1, 3, 1, 1)]
    factors = [rng.random(s) for s in shapes]
    kept = [f.copy() for f in factors]
    got = multiply_all(factors, shape)
    want = np.ones(shape)
    for f in factors:
        want = want * f
    np.testing.assert_allclose(got, want, rtol=1e-14)
    for f, k in zip(factors, kept, strict=True):  # inputs never written
        np.testing.assert_array_equal(f, k)
    assert multiply_all([], (2, 3)).tolist() == np.ones((2, 3)).tolist()
    merges, rest = product_order(((4, 1), (1, 3), (4, 3)), 12)
    assert merges[0] == (0, 1) and len(rest) == 1


def test_fitted_model_matches_its_dense_calibration_on_adult() -> None:
    """A noisy fit on the bundled Adult: the marginals the fit adopted (product path) equal
    those of calibrating the model's dense potentials from scratch (log-space path)."""
    data = resources.files("privsynth.data")
    sizes = json.loads(data.joinpath("adult_pgm-domain.json").read_text())
    cols = ["age", "sex", "race", "income>50K", "relationship"]
    with data.joinpath("adult_pgm.csv.gz").open("rb") as fh:
        df = pd.read_csv(fh, compression="gzip", usecols=cols)
    dom = Domain(tuple(cols), tuple(int(sizes[c]) for c in cols))
    rng = np.random.default_rng(8)
    ms = []
    for clique in [("age", "sex"), ("sex", "race"), ("race", "income>50K"), ("income>50K", "age")]:
        idx = np.ravel_multi_index([df[a].to_numpy() for a in clique], dom.project(clique).shape)
        y = np.bincount(idx, minlength=dom.size(clique)).astype(float)
        ms.append(Measurement(clique, y + rng.normal(0, 5.0, y.size), 5.0))
    ms.append(Measurement(("relationship",), np.bincount(df["relationship"]).astype(float), 5.0))
    model = estimate(dom, ms, iters=150)
    ref, _ = calibrate(model.tree, {c: f.values for c, f in model.potentials.items()}, model.total)
    for c in model.tree.maximal_cliques:
        np.testing.assert_allclose(model.project(c), ref[c], rtol=1e-9, atol=1e-7)

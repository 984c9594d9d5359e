"""GraphicalModel.sample(): marginal fidelity of both methods, reproducibility, output format."""

from __future__ import annotations

import numpy as np
import pytest

from privsynth.domain import Domain
from privsynth.model import Factor, GraphicalModel, JunctionTree
from privsynth.model.graphical_model import assign_cells

DOM = Domain(tuple("abcdefg"), (2, 3, 2, 4, 2, 3, 5))
CLIQUES = [("a", "b"), ("b", "c"), ("c", "d"), ("d", "a"), ("e", "f"), ("b", "e")]  # g: unmodelled
N = 20_000


def _model(seed: int = 0) -> GraphicalModel:
    rng = np.random.default_rng(seed)
    tree = JunctionTree(DOM, CLIQUES)
    pots = {
        c: Factor(DOM.project(c), rng.standard_normal(DOM.project(c).shape))
        for c in tree.maximal_cliques
    }
    return GraphicalModel(DOM, tree, pots, total=N)


def _counts(data: np.ndarray, attrs) -> np.ndarray:
    cols = tuple(data[:, DOM.attrs.index(a)] for a in attrs)
    idx = np.ravel_multi_index(cols, DOM.project(attrs).shape)
    return np.bincount(idx, minlength=DOM.size(attrs)).reshape(DOM.project(attrs).shape)


@pytest.mark.parametrize("method", ["rounding", "sampling"])
def test_format_and_reproducibility(method):
    model = _model()
    a = model.sample(N, np.random.default_rng(42), method=method)
    b = model.sample(N, np.random.default_rng(42), method=method)
    assert a.shape == (N, len(DOM)) and a.dtype.kind == "i"
    assert a.tobytes() == b.tobytes()
    assert np.all(a >= 0) and np.all(a < np.array(DOM.shape))
    c = model.sample(N, np.random.default_rng(43), method=method)
    assert c.tobytes() != a.tobytes()


def test_rounding_matches_model_marginals_closely():
    model = _model(1)
    data = model.sample(N, np.random.default_rng(0), method="rounding")
    for clique, marg in model.marginals().items():
        # root clique: each cell within 1 record; others: within 1 per separator group
        groups = DOM.size(clique) if clique != model.tree.maximal_cliques[0] else 1
        err = np.abs(_counts(data, clique) - marg)
        assert err.max() <= groups + 1e-9, clique
        assert err.sum() / N < 0.01, clique
    for attrs in [("a", "f"), ("d", "e")]:  # out-of-clique pairs too
        assert np.abs(_counts(data, attrs) - model.project(attrs)).sum() / N < 0.01


def test_sampling_marginals_within_chi_square_bound():
    model = _model(2)
    data = model.sample(N, np.random.default_rng(0), method="sampling")
    for clique in [*model.tree.maximal_cliques, ("a", "f")]:
        expected = model.project(clique)
        observed = _counts(data, clique)
        chi2 = float(np.sum((observed - expected) ** 2 / expected))
        df = expected.size - 1
        assert chi2 < df + 6 * np.sqrt(2 * df), (clique, chi2, df)


def test_unequal_n_and_tiny_n():
    model = _model(3)
    for method in ("rounding", "sampling"):
        for n in (1, 7, 1234):
            data = model.sample(n, np.random.default_rng(n), method=method)
            assert data.shape == (n, len(DOM))
    with pytest.raises(ValueError):
        model.sample(5, np.random.default_rng(0), method="bogus")


def test_rounding_stratifies_out_of_clique_pairs():
    """Records of a group get the new cells interleaved along earlier columns: pairs across
    cliques track the model more closely than with a random assignment (same cell counts)."""
    model = _model(3)
    pairs = [("a", "f"), ("d", "e"), ("c", "f"), ("a", "e"), ("d", "f")]

    def err(stratify: bool) -> float:
        tot = 0.0
        for seed in range(5):
            rng = np.random.default_rng(seed)
            data = model.sample(N, rng, method="rounding", stratify=stratify)
            for p in pairs:
                tot += np.abs(_counts(data, p) - model.project(p)).sum()
        return tot

    assert err(True) < 0.8 * err(False)


@pytest.mark.parametrize("stratify", [True, False])
def test_rounding_assignment_keeps_group_counts(stratify):
    rng = np.random.default_rng(0)
    rows = rng.integers(0, 3, size=500)
    group = np.bincount(rows, minlength=3)
    counts = np.array([[group[0] - 3, 3, 0], [0, group[1], 0], [1, 1, group[2] - 2]])
    data = rng.integers(0, 4, size=(500, 2))
    picked = assign_cells(rows, counts, data, [0, 1], rng, stratify=stratify)
    got = np.zeros((3, 3), dtype=int)
    np.add.at(got, (rows, picked), 1)
    assert np.array_equal(got, counts)

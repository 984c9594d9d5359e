"""GraphicalModel.sample(): marginal fidelity of both methods, reproducibility, output format."""

from __future__ import annotations

import numpy as np
import pytest

from privsynth.domain import Domain
from privsynth.model import Factor, GraphicalModel, JunctionTree

DOM = Domain(tuple("abcdefg"), (2, 3, 2, 4, 2, 3, 5))
CLIQUES = [("a", "b"), ("b", "c"), ("c", "d"), ("d", "a"), ("e", "f"), ("b", "e")]  # g: unmodelled
N = 20_000


def _model(seed: int = 0) -> GraphicalModel:
    rng = np.random.default_rng(seed)
    tree = JunctionTree(DOM, CLIQUES)
    pots = {c: Factor.random(DOM.project(c), rng) for c in tree.maximal_cliques}
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

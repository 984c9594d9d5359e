"""Shared model-test set-ups (not a test module)."""

from __future__ import annotations

import itertools

import numpy as np

from privsynth.domain import Domain
from privsynth.model import JunctionTree, Measurement
from privsynth.model.objective import group_measurements


def shared_host_groups(rng: np.random.Generator) -> tuple[Domain, JunctionTree, list]:
    """Seven attributes, two host cliques and 14 random subsets of them measured (plus the hosts),
    grouped onto the tree's cliques: many measurement groups sharing few hosts. Draws from
    ``rng``, which the caller keeps using."""
    dom = Domain(tuple("abcdefg"), (3, 4, 2, 5, 3, 2, 4))
    host_sets = [("a", "b", "c", "d", "e"), ("e", "f", "g")]
    subsets = [s for h in host_sets for r in (1, 2, 3) for s in itertools.combinations(h, r)]
    chosen = [subsets[i] for i in rng.choice(len(subsets), 14, replace=False)] + list(host_sets)
    ms = [Measurement(c, rng.random(dom.size(c)) * 100, 2.0) for c in chosen]
    tree = JunctionTree(dom, [m.clique for m in ms])
    return dom, tree, group_measurements(dom, tree, ms, 1000.0)

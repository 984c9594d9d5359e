"""Marginal counts against pandas groupby, on real data."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from privsynth.encoding import encode
from privsynth.marginals import marginal
from privsynth.schema import Schema


def test_marginals_match_groupby(adult_pgm: pd.DataFrame, adult_pgm_schema: Schema) -> None:
    enc = encode(adult_pgm, adult_pgm_schema)
    dom = enc.domain
    cols = ["age", "workclass", "sex", "income>50K", "native-country"]
    for clique in [
        *itertools.combinations(cols, 1),
        *itertools.combinations(cols, 2),
        tuple(cols[:3]),
    ]:
        counts = marginal(enc.codes, dom, clique).reshape(dom.project(clique).shape)
        expected = np.zeros(dom.project(clique).shape, dtype=np.int64)
        for key, n in adult_pgm.groupby(list(clique)).size().items():
            expected[key if isinstance(key, tuple) else (key,)] = n
        assert np.array_equal(counts, expected), clique
        assert counts.sum() == len(adult_pgm)


def test_attribute_order_is_respected(adult_pgm: pd.DataFrame, adult_pgm_schema: Schema) -> None:
    enc = encode(adult_pgm, adult_pgm_schema)
    dom = enc.domain
    ab = marginal(enc.codes, dom, ("sex", "race")).reshape(2, 5)
    ba = marginal(enc.codes, dom, ("race", "sex")).reshape(5, 2)
    assert np.array_equal(ab, ba.T)

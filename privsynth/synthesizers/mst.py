"""MST: maximum-spanning-tree marginals (McKenna, Miklau and Sheldon 2021; NIST 2018 winner).

The budget (zCDP rho) is split in three equal parts:

1. every one-way marginal, each with the same Gaussian noise (``d`` measurements, rho/3 in all);
2. a spanning tree over the columns, grown edge by edge as in Kruskal's algorithm, each edge
   picked by the exponential mechanism among the pairs that join two different components, with
   quality the L1 error of the pair's marginal under the model fitted to the noisy one-way
   marginals (sensitivity 1); ``d - 1`` selections, rho/3 in all;
3. the ``d - 1`` two-way marginals of the tree: each takes ``rho_remaining / edges left``, so
   the last takes exactly what is left (about rho/3 in all).

Between 1 and 2, as in the reference, each column's values with noisy one-way count below
``3 sigma`` are merged into one code (post-processing); steps 2 and 3 and the model work on that
compressed domain and sampling spreads a merged code back over its values.

A graphical model is fitted to all measurements and sampled.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from privsynth.domain import Domain
from privsynth.marginals import compress
from privsynth.model.disjoint_set import DisjointSet
from privsynth.model.measurements import Measurement, estimate_total
from privsynth.privacy.budget import Budget
from privsynth.privacy.mechanisms import select
from privsynth.synthesizers.graphical import (
    Compression,
    GraphicalSynthesizer,
    independent_model,
)
from privsynth.synthesizers.workload import TrueAnswers, l1_errors

# values whose noisy one-way count is below this many sigmas are merged (the reference's rule)
_COMPRESS_SIGMAS = 3.0


class MSTSynthesizer(GraphicalSynthesizer):
    """MST: noisy one-way marginals plus the two-way marginals of a privately chosen tree."""

    name = "mst"

    def __init__(
        self,
        epsilon: float | Budget = 1.0,
        delta: float = 1e-9,
        *,
        pgm_iters: int = 1000,
        compress: bool = True,
        sample_method: str = "rounding",
        seed: int | None = None,
        noise_seed: int | None = None,
        quiet: bool = True,
        progress: Any = None,
    ) -> None:
        super().__init__(
            epsilon,
            delta,
            pgm_iters=pgm_iters,
            sample_method=sample_method,
            seed=seed,
            noise_seed=noise_seed,
            quiet=quiet,
            progress=progress,
        )
        self.compress = compress

    def _noisy_total(self) -> float:
        """As the base, but the one-way measurements count on the data's (uncompressed) domain."""
        raw, later = self._raw_oneway, self.measurements_[len(self._raw_oneway) :]
        domains = [self.domain_] * len(raw) + [self.fit_domain_] * len(later)
        return estimate_total([*raw, *later], domains)

    def _compress(self, codes: np.ndarray) -> np.ndarray:
        """Merge each column's values with noisy count below ``3 sigma`` into one (post-processing).

        The one-way measurements are re-expressed on the compressed domain: kept cells as
        measured; the merged cell is the sum of its noisy cells (variance ``k sigma^2`` for ``k``
        merged values) combined, by inverse variance, with the noisy total minus the kept cells
        (see docs/synthesizers.md). Returns the codes over the compressed domain.
        """
        total = self._noisy_total()
        raw = list(self.measurements_)
        self._raw_oneway = raw
        sizes = {}
        new_meas = []
        comp: dict[str, Compression] = {}
        for m in raw:
            (a,) = m.clique
            y = m.values
            keep = np.flatnonzero(y >= _COMPRESS_SIGMAS * m.sigma)
            if y.size - keep.size < 2:  # nothing (or a single value) to merge: leave as is
                sizes[a] = y.size
                new_meas.append(m)
                continue
            c = Compression(y.size, keep, y)
            comp[a] = c
            sizes[a] = c.new_size
            k = float(y.size - keep.size)
            merged = float(y[c.merged].sum())
            # total - kept: variance ~ (keep.size + 1) sigma^2 (the total is much more precise)
            other = total - float(y[keep].sum())
            v1, v2 = k, keep.size + 1.0
            merged = (merged / v1 + other / v2) / (1 / v1 + 1 / v2)
            new_meas.append(Measurement(m.clique, np.append(y[keep], merged), m.sigma))
        self.compression_ = comp
        self.fit_domain_ = Domain.from_dict(sizes)
        self.measurements_ = new_meas
        forward = {a: c.forward for a, c in comp.items()}
        return compress(codes, self.domain_, self.fit_domain_, forward)

    def _fit(self, codes: np.ndarray, domain: Domain) -> None:
        ledger = self.ledger_
        rho = ledger.rho_budget
        d = len(domain)
        self.reporter.note(
            f"MST: {d} columns, domain size {float(domain.size()):.3g} cells, "
            f"model-size cap: none needed (a tree of {max(d - 1, 0)} two-way marginals), "
            f"rho budget {rho:.4g}"
        )
        self._start()
        self._raw_oneway: list[Measurement] = []
        self.tree_: list[tuple[str, str]] = []
        # parts of the budget: one-way, selection, two-way (no selection when the tree is forced)
        parts = (1 / 3, 1 / 3, 1 / 3) if d > 2 else ((1.0, 0.0, 0.0) if d == 1 else (0.5, 0.0, 0.5))
        steps = d + 2 * max(d - 1, 0)
        with self.reporter.task("MST", total=steps) as advance:
            rho1 = parts[0] * rho / d
            for a in domain.attrs:
                if d == 1:  # the only measurement takes exactly the whole budget
                    rho1 = ledger.rho_remaining
                self._measure(codes, (a,), rho1)
                advance(description=f"MST one-way marginals ({self._budget_text()})")
            if d == 1:
                model = independent_model(domain, self.measurements_, self._noisy_total())
                self._finish(model)
                return
            if self.compress:
                codes = self._compress(codes)
            domain = self.fit_domain_
            model = independent_model(domain, self.measurements_, self._noisy_total())

            if d == 2:
                tree = [tuple(domain.attrs)]
            else:
                tree = self._select_tree(codes, domain, model, parts[1] * rho / (d - 1), advance)
            # the two-way measurements share what is left; the last takes exactly the rest
            for i, e in enumerate(tree):
                self._measure(codes, e, ledger.rho_remaining / (len(tree) - i))
                advance(description=f"MST two-way marginals ({self._budget_text()})")
            self.tree_ = [tuple(e) for e in tree]
        model = self._estimate(model, self.pgm_iters)
        self._finish(model)
        self.reporter.note(f"MST: tree {self.tree_}, {self._budget_text()}")

    def _select_tree(
        self, codes: np.ndarray, domain: Domain, model: Any, rho_edge: float, advance: Any
    ) -> list[tuple[str, ...]]:
        """Kruskal's algorithm with each edge picked by the exponential mechanism (share ``rho_edge``)."""
        d = len(domain)
        pairs = list(itertools.combinations(domain.attrs, 2))
        errors = dict(zip(pairs, l1_errors(TrueAnswers(codes, domain), model, pairs), strict=True))
        ds = DisjointSet(domain.attrs)
        tree: list[tuple[str, ...]] = []
        for i in range(d - 1):
            cands = [e for e in pairs if not ds.connected(*e)]
            idx = select(
                np.array([errors[e] for e in cands]),
                sensitivity=1.0,
                rho=rho_edge,
                ledger=self.ledger_,
                noise=self.noise_,
                what=f"MST edge {i + 1}: select 1 of {len(cands)} pairs",
            )
            e = cands[idx]
            ds.union(*e)
            tree.append(e)
            advance(description=f"MST spanning tree ({self._budget_text()})")
        return tree

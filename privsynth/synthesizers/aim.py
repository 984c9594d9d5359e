"""AIM: an adaptive and iterative mechanism for workload-aware synthetic data.

McKenna, Mullins, Sheldon and Miklau, "AIM: An Adaptive and Iterative Mechanism for Differentially
Private Synthetic Data", VLDB 2022. In outline:

1. measure every one-way marginal with Gaussian noise ``sigma_0`` (the probe); from its noisy
   total (post-processing) noisy one-way marginals are topped up; smallest columns first, a
   column that no budget could measure (:func:`~privsynth.synthesizers.affordable.drowned` at
   the noisy total so far) is left out and stays uniform in an independent fallback
   (docs/synthesizers.md);
2. repeat: choose, with the exponential mechanism, the candidate marginal ``r`` (from the
   workload's downward closure) that the current model gets most wrong, in the sense of
   ``w_r * (||M_r(D) - M_r(p)||_1 - sqrt(2/pi) * sigma * n_r)`` (the expected error of the model
   minus the noise its measurement would add); measure it; refit the model (warm start);
   if the fit barely moved on ``r``, halve sigma and double the selection epsilon (annealing);
3. the last round spends exactly what is left; refit longer; sample from the model.

The model-size cap grows with the fraction of the budget spent, so early rounds (noisy, cheap) can
only add small cliques. See docs/synthesizers.md for the accounting and our deviations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from privsynth.domain import Domain
from privsynth.errors import InputError
from privsynth.privacy.budget import Budget
from privsynth.privacy.mechanisms import gaussian_scale, select, selection_scale
from privsynth.synthesizers.affordable import affordable, one_way_share
from privsynth.synthesizers.graphical import GraphicalSynthesizer, independent_model
from privsynth.synthesizers.workload import (
    SizeFilter,
    TrueAnswers,
    candidate_weights,
    check_positive,
    expected_noise_l1,
    freeze_workload,
    l1_errors,
    resolve_frozen,
)

ROUNDS_PER_COLUMN = 4


def default_rounds(n_columns: int) -> int:
    """T = 4 d rounds (the paper uses 16 d; see docs/synthesizers.md for why fewer).

    Each round then costs ``rho / T`` four times more, so the one-way marginals (``d / T`` of the
    budget) and every selected marginal are measured with half the noise. On adult (d = 14) this
    was more accurate at epsilon 0.1 and 1 and, with fewer rounds, much faster at epsilon 10.
    """
    return ROUNDS_PER_COLUMN * n_columns


class AIMSynthesizer(GraphicalSynthesizer):
    """AIM (workload-adaptive marginal selection with a graphical model)."""

    name = "aim"

    def __init__(
        self,
        epsilon: float | Budget = 1.0,
        delta: float = 1e-9,
        *,
        workload: str | Sequence[Any] | Mapping[Any, float] = "all-2way",
        target: str | None = None,
        max_model_size_mb: float = 10.0,
        rounds: int | None = None,
        alpha: float = 0.9,
        round_iters: int = 25,
        pgm_iters: int = 1000,
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
        self.workload = workload
        self.target = target
        self.max_model_size_mb = max_model_size_mb
        self.rounds = rounds
        self.alpha = alpha
        self.round_iters = round_iters

    def _validate_params(self) -> None:
        super()._validate_params()
        freeze_workload(self.workload, self.target)
        check_positive("max_model_size_mb", self.max_model_size_mb)
        check_positive("rounds", self.rounds, integer=True, allow_none=True)
        check_positive("round_iters", self.round_iters, integer=True)
        alpha = self.alpha
        if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 1:
            raise InputError(f"alpha must be a number strictly between 0 and 1, got {alpha!r}")

    def _fit(self, codes: np.ndarray, domain: Domain) -> None:
        candidates, rounds = self._plan(domain)
        ledger = self.ledger_
        # rho shares of one round: measurement and selection (annealing multiplies both by 4)
        shares = (
            float(self.alpha) * ledger.rho_budget / rounds,
            (1 - float(self.alpha)) * ledger.rho_budget / rounds,
        )
        self._start()
        truth = TrueAnswers(codes, domain)
        size_filter = SizeFilter(domain)
        self.history_: list[dict[str, Any]] = []
        with self.reporter.task("AIM", total=100) as advance:
            shown = 0.0

            def show(text: str) -> None:
                nonlocal shown
                pct = 100.0 * ledger.rho_spent / ledger.rho_budget
                advance(pct - shown, description=f"AIM {text} ({self._budget_text()})")
                shown = pct

            base = len(domain) * shares[0] / ledger.rho_budget
            self._probe(codes, domain, base * ledger.rho_budget)
            # the record count, from the noisy one-way marginals just charged (never the data's)
            n_hat = self._noisy_total()
            share = one_way_share(domain, ledger.rho_budget, n_hat, base)
            if share > base:  # small n x rho: the one-way marginals get more before any round
                extra = share * ledger.rho_budget - ledger.rho_spent
                self._one_way_pass(codes, domain, extra, n_hat)
                n_hat = self._noisy_total()
            model = independent_model(domain, self.measurements_, n_hat)
            show("one-way marginals")
            last = False
            while not last:
                step = self._next_round(shares, candidates, size_filter, n_hat)
                if step is None:  # no marginal of 2+ columns is worth its noise any more
                    self._one_way_pass(codes, domain, None, n_hat)
                    break
                shares, cands, limit, last = step
                model, shares = self._round(codes, truth, model, candidates, cands, shares, last)
                self.history_[-1]["size_cap_mb"] = limit
                show(f"round {len(self.history_)}")
            model = self._final_model(model)
        self._finish(model)
        self.reporter.note(
            f"AIM: {len(self.history_)} rounds, {len(self.measurements_)} measurements, "
            f"model {model.fit_info.get('size_mb', 0.0):.3g} MB, {self._budget_text()}"
        )

    def _plan(self, domain: Domain) -> tuple[dict[tuple[str, ...], float], int]:
        """The candidates (with their weights) and the number of rounds; checked before spending."""
        workload = resolve_frozen(domain, freeze_workload(self.workload, self.target), self.target)
        candidates = candidate_weights(workload)
        d = len(domain)
        rounds = int(self.rounds) if self.rounds is not None else default_rounds(d)
        if rounds <= d:
            raise InputError(
                f"rounds must exceed the number of columns ({d}): the one-way marginals alone "
                f"use {d} rounds' worth of measurement budget"
            )
        self.reporter.note(
            f"AIM: {d} columns, domain size {float(domain.size()):.3g} cells, "
            f"{len(workload)} workload marginals, {len(candidates)} candidates, "
            f"model-size cap {self.max_model_size_mb:g} MB, rho budget {self.ledger_.rho_budget:.4g}"
        )
        return candidates, rounds

    def _next_round(
        self,
        shares: tuple[float, float],
        candidates: Mapping[tuple[str, ...], float],
        size_filter: SizeFilter,
        n_hat: float,
    ) -> tuple[tuple[float, float], list[tuple[str, ...]], float, bool] | None:
        """The next round's shares, candidates, size cap and whether it is the last; ``None`` when
        no candidate of two or more columns is affordable even with all that is left.

        A round where nothing is affordable is annealed before it spends anything (4x the rho:
        fewer, better measured rounds), down to one last round that takes all that is left.
        """
        ledger = self.ledger_
        rho_measure, rho_select = shares
        while True:
            remaining = ledger.rho_remaining
            last = remaining < 2.0 * (rho_measure + rho_select)
            if last:  # the last round spends exactly what is left: alpha of it measuring
                rho_measure = float(self.alpha) * remaining
                rho_select = remaining - rho_measure
            planned = ledger.rho_spent + rho_measure + rho_select
            limit = self.max_model_size_mb * min(planned / ledger.rho_budget, 1.0)
            # affordability first: it needs domain sizes only, the size filter a junction tree
            # per candidate (same result, far less work on wide tables)
            worth = affordable(
                self._usable(list(candidates)), self.domain_, gaussian_scale(rho_measure), n_hat
            )
            cands = size_filter([m.clique for m in self.measurements_], worth, limit)
            if cands:
                return (rho_measure, rho_select), cands, limit, last
            if last:
                return None
            rho_measure, rho_select = 4.0 * rho_measure, 4.0 * rho_select

    def _round(
        self,
        codes: np.ndarray,
        truth: TrueAnswers,
        model: Any,
        candidates: Mapping[tuple[str, ...], float],
        cands: list[tuple[str, ...]],
        shares: tuple[float, float],
        last: bool,
    ) -> tuple[Any, tuple[float, float]]:
        """One select-measure-refit round; returns the model and the next round's shares."""
        rho_measure, rho_select = shares
        domain, t = self.domain_, len(self.history_) + 1
        sigma = gaussian_scale(rho_measure)
        weights = np.array([candidates[c] for c in cands])
        bias = np.array([expected_noise_l1(sigma, domain.size(c)) for c in cands])
        idx = select(
            weights * (l1_errors(truth, model, cands) - bias),
            sensitivity=float(weights.max()),
            rho=rho_select,
            ledger=self.ledger_,
            noise=self.noise_,
            what=f"AIM round {t}: select 1 of {len(cands)} candidates",
        )
        cl = cands[idx]
        before = np.ravel(model.project(cl))
        if last:  # the measurement takes exactly the rest (no rounding left over)
            rho_measure = self.ledger_.rho_remaining
            sigma = gaussian_scale(rho_measure)
        self._measure(codes, cl, rho_measure)
        model = self._estimate(model, self.round_iters)
        moved = float(np.abs(np.ravel(model.project(cl)) - before).sum())
        annealed = (not last) and moved <= expected_noise_l1(sigma, domain.size(cl))
        self.history_.append(
            {
                "round": t,
                "clique": cl,
                "rho_measure": rho_measure,
                "rho_select": rho_select,
                "sigma": sigma,
                # the selection's epsilon, as in its ledger entry
                "epsilon": 2.0
                * float(weights.max())
                / selection_scale(rho_select, float(weights.max())),
                "candidates": len(cands),
                "model_mb": float(model.fit_info.get("size_mb", 0.0)),
                "annealed": annealed,
            }
        )
        factor = 4.0 if annealed else 1.0  # halve sigma and double the selection epsilon
        return model, (factor * shares[0], factor * shares[1])

"""MWEM in its modern form: MWEM's select-measure-refit loop over a graphical model (MWEM+PGM).

Hardt, Ligett and McSherry (2012) keep a full-domain distribution and update it multiplicatively;
here, as in McKenna et al.'s MWEM+PGM (the baseline of the AIM paper), the distribution is a
graphical model fitted to every measurement so far, so it scales to wide tables. Each of ``T``
rounds spends ``rho / T``:

1. pick the workload marginal the model answers worst, by the exponential mechanism on its L1
   error (sensitivity 1) minus the L1 norm of the noise its measurement would carry (a public
   constant per marginal), at the rho share ``(1 - a) rho / T``;
2. measure it at the rho share ``a rho / T`` (``sigma = gaussian_scale(a rho / T)``, about
   ``1 / sqrt(2 a rho / T)``);
3. refit the model, warm-started from the previous round's.

``a = 0.9`` (90% of each round to measurement) is fixed, not a tuning knob. Candidates whose
addition would grow the model's junction tree beyond the cap (scaled by the fraction of rounds
done) are skipped. The last round's measurement takes exactly what is left of the budget.

Budget awareness (see :mod:`privsynth.synthesizers.affordable`): from round 2 on, the record count
is estimated from the noisy measurements made so far (post-processing), and when no candidate's
measurement at this round's sigma would carry expected L1 noise below ``0.25 n`` the rounds stop
and all that is left measures the one-way marginals; on a small or very private table MWEM then
ends close to the independent baseline instead of spending its rounds on pure-noise marginals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from privsynth.domain import Domain
from privsynth.errors import InputError
from privsynth.privacy.budget import Budget
from privsynth.privacy.mechanisms import gaussian_scale, select
from privsynth.synthesizers.affordable import affordable, one_way_weights
from privsynth.synthesizers.graphical import GraphicalSynthesizer
from privsynth.synthesizers.workload import (
    SizeFilter,
    TrueAnswers,
    check_positive,
    expected_noise_l1,
    freeze_workload,
    l1_errors,
    resolve_frozen,
)

# Fraction of each round's rho that goes to the measurement (the rest selects).
MEASURE_SHARE = 0.9


def default_rounds(n_columns: int) -> int:
    """T = number of columns (at least 2): enough rounds for a tree spanning every column."""
    return max(2, n_columns)


class MWEMSynthesizer(GraphicalSynthesizer):
    """MWEM+PGM: rounds of select-worst / measure / refit over a workload of marginals."""

    name = "mwem"

    def __init__(
        self,
        epsilon: float | Budget = 1.0,
        delta: float = 1e-9,
        *,
        workload: str | Sequence[Any] | Mapping[Any, float] = "all-2way",
        target: str | None = None,
        rounds: int | None = None,
        max_model_size_mb: float = 80.0,
        round_iters: int = 100,
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
        self.rounds = rounds
        self.max_model_size_mb = max_model_size_mb
        self.round_iters = round_iters

    def _validate_params(self) -> None:
        super()._validate_params()
        freeze_workload(self.workload, self.target)
        check_positive("rounds", self.rounds, integer=True, allow_none=True)
        check_positive("max_model_size_mb", self.max_model_size_mb)
        check_positive("round_iters", self.round_iters, integer=True)

    def _fit(self, codes: np.ndarray, domain: Domain) -> None:
        frozen = freeze_workload(self.workload, self.target)
        workload = resolve_frozen(domain, frozen, self.target)
        cliques = list(workload)
        ledger = self.ledger_
        rho = ledger.rho_budget
        rounds = int(self.rounds) if self.rounds is not None else default_rounds(len(domain))
        # rho shares per round: measure and select; the last measurement takes exactly the rest
        rho_measure = MEASURE_SHARE * rho / rounds
        rho_select = (1.0 - MEASURE_SHARE) * rho / rounds
        sigma = gaussian_scale(rho_measure)
        cap = float(self.max_model_size_mb)
        size_filter = SizeFilter(domain)
        if not size_filter([], cliques, cap):
            raise InputError(
                f"every workload marginal alone makes a model larger than max_model_size_mb={cap:g}"
            )
        self._note_start(domain, len(cliques), rounds, cap, rho)
        self._start()
        truth = TrueAnswers(codes, domain)
        self.history_: list[dict[str, Any]] = []
        model = None
        with self.reporter.task("MWEM", total=rounds) as advance:
            for t in range(1, rounds + 1):
                last = t == rounds
                measured = [m.clique for m in self.measurements_]
                cands = size_filter(measured, cliques, cap * t / rounds) or size_filter(
                    measured, cliques, cap
                )
                if not cands:  # the model is full: the rest of the budget re-measures
                    cands = list(dict.fromkeys(measured))
                if t > 1 and not affordable(cands, domain, sigma, self._noisy_total()):
                    self._one_ways_take_the_rest(codes, domain, t)  # see module docstring
                    break
                bias = np.array([expected_noise_l1(sigma, domain.size(c)) for c in cands])
                scores = l1_errors(truth, model, cands) - bias
                idx = select(
                    scores,
                    sensitivity=1.0,
                    rho=rho_select,
                    ledger=ledger,
                    noise=self.noise_,
                    what=f"MWEM round {t}: select 1 of {len(cands)} marginals",
                )
                cl = cands[idx]
                rho_t = ledger.rho_remaining if last else rho_measure
                self._measure(codes, cl, rho_t)
                sigma_t = gaussian_scale(rho_t)
                model = self._estimate(model, self.pgm_iters if last else self.round_iters)
                self.history_.append(
                    {"round": t, "clique": cl, "sigma": sigma_t, "candidates": len(cands)}
                )
                advance(description=f"MWEM round {t} ({self._budget_text()})")
        if len(self.history_) < rounds:  # stopped early: refit on everything measured
            model = self._estimate(model, self.pgm_iters)
        self._finish(model)
        self.reporter.note(
            f"MWEM: {len(self.history_)} rounds, model {model.fit_info.get('size_mb', 0.0):.3g} MB, "
            f"{self._budget_text()}"
        )

    def _note_start(
        self, domain: Domain, n_cliques: int, rounds: int, cap: float, rho: float
    ) -> None:
        self.reporter.note(
            f"MWEM: {len(domain)} columns, domain size {float(domain.size()):.3g} cells, "
            f"{n_cliques} workload marginals, {rounds} rounds, model-size cap {cap:g} MB, "
            f"rho budget {rho:.4g}"
        )

    def _one_ways_take_the_rest(self, codes: np.ndarray, domain: Domain, t: int) -> None:
        """No workload marginal is worth its noise at this budget: spend what is left on the
        one-way marginals (split by ``k^(2/3)``, the last column takes exactly the rest)."""
        weights = one_way_weights(domain)
        total = self.ledger_.rho_remaining
        for i, a in enumerate(domain.attrs):
            last = i == len(domain) - 1
            self._measure(codes, (a,), self.ledger_.rho_remaining if last else total * weights[i])
        self.reporter.note(f"MWEM: round {t}: nothing affordable, the rest measures one-ways")

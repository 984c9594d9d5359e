"""MWEM in its modern form: MWEM's select-measure-refit loop over a graphical model (MWEM+PGM).

Hardt, Ligett and McSherry (2012) keep a full-domain distribution and update it multiplicatively;
here, as in McKenna et al.'s MWEM+PGM (the baseline of the AIM paper), the distribution is a
graphical model fitted to every measurement so far, so it scales to wide tables. The budget
``rho`` is spent as:

0. the probe: every one-way marginal, ``rho / (T + 1)`` in all split by ``k^(2/3)``; from its
   noisy total ``n_hat`` (post-processing), a top-up of the one-way marginals to
   :func:`~privsynth.synthesizers.affordable.one_way_share` of ``rho`` where they are noisy (as in
   AIM); then each of ``T`` rounds spends an equal part of what is left:
1. pick the workload marginal the model answers worst, by the exponential mechanism on its L1
   error (sensitivity 1) minus the L1 norm of the noise its measurement would carry (a public
   constant per marginal), at the rho share ``(1 - a)`` of the round;
2. measure it at the rho share ``a`` of the round;
3. refit the model, warm-started from the previous round's.

``a = 0.9`` (90% of each round to measurement) is fixed, not a tuning knob. Candidates whose
addition would grow the model's junction tree beyond the cap (scaled by the fraction of rounds
done) are skipped. The last round's measurement takes exactly what is left of the budget.

Budget awareness (see :mod:`privsynth.synthesizers.affordable`): before every round, from the
noisy total of the measurements so far, when no candidate's measurement at the round's sigma
would carry expected L1 noise below ``NOISE_SIGNAL_RATIO * n_hat`` the rounds stop and all that
is left tops up the one-way marginals towards their capped shares; a run that measured one-way
marginals only ends as the shrunk independent model (``shrunk_one_ways``), as AIM does. A column
:func:`~privsynth.synthesizers.affordable.drowned` at the noisy total of what was measured before
it (smallest columns first) gets nothing from then on and no workload marginal containing it is
a candidate (post-processing of ``n_hat``). So on a
small or very private table MWEM spends no budget on a pure-noise 2-way marginal and ends better
than the DP independent baseline, not only level with it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from privsynth.domain import Domain
from privsynth.errors import InputError
from privsynth.privacy.budget import Budget
from privsynth.privacy.mechanisms import gaussian_scale, select
from privsynth.synthesizers.affordable import affordable, one_way_share
from privsynth.synthesizers.graphical import GraphicalSynthesizer, independent_model
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
        cliques = list(resolve_frozen(domain, frozen, self.target))
        ledger = self.ledger_
        rho = ledger.rho_budget
        rounds = int(self.rounds) if self.rounds is not None else default_rounds(len(domain))
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
        shares = self._one_ways_first(codes, domain, rounds)
        model = independent_model(domain, self.measurements_, self._noisy_total())
        with self.reporter.task("MWEM", total=rounds) as advance:
            for t in range(1, rounds + 1):
                measured = [m.clique for m in self.measurements_ if len(m.clique) > 1]
                cands = size_filter(measured, cliques, cap * t / rounds) or size_filter(
                    measured, cliques, cap
                )
                if not cands:  # the model is full: the rest of the budget re-measures
                    cands = list(dict.fromkeys(measured))
                cands = self._usable(cands)
                if not affordable(cands, domain, gaussian_scale(shares[0]), self._noisy_total()):
                    self._one_ways_take_the_rest(codes, domain, t)  # see module docstring
                    break
                model = self._round(codes, truth, model, cands, shares, t == rounds)
                advance(description=f"MWEM round {t} ({self._budget_text()})")
        if len(self.history_) < rounds:  # stopped early: the last fit on everything measured
            model = self._final_model(model)
        self._finish(model)
        self.reporter.note(
            f"MWEM: {len(self.history_)} rounds, model {model.fit_info.get('size_mb', 0.0):.3g} MB, "
            f"{self._budget_text()}"
        )

    def _one_ways_first(
        self, codes: np.ndarray, domain: Domain, rounds: int
    ) -> tuple[float, float]:
        """The probe (one round's worth, ``rho / (rounds + 1)``, on the one-way marginals split by
        ``k^(2/3)``), then, where the noisy total says the one-way marginals are noisy, a top-up
        to :func:`one_way_share` of the budget (as AIM); returns the rounds' (measure, select)
        shares of what is left (the last measurement takes exactly the rest)."""
        rho = self.ledger_.rho_budget
        base = 1.0 / (rounds + 1)
        self._probe(codes, domain, base * rho)
        n_hat = self._noisy_total()
        share = one_way_share(domain, rho, n_hat, base)
        if share > base:
            self._one_way_pass(codes, domain, share * rho - self.ledger_.rho_spent, n_hat)
        part = self.ledger_.rho_remaining / rounds
        return MEASURE_SHARE * part, (1.0 - MEASURE_SHARE) * part

    def _round(
        self,
        codes: np.ndarray,
        truth: TrueAnswers,
        model: Any,
        cands: list[tuple[str, ...]],
        shares: tuple[float, float],
        last: bool,
    ) -> Any:
        """One select-measure-refit round (the last one's measurement takes the rest)."""
        rho_measure, rho_select = shares
        t, domain = len(self.history_) + 1, self.domain_
        sigma = gaussian_scale(rho_measure)
        bias = np.array([expected_noise_l1(sigma, domain.size(c)) for c in cands])
        idx = select(
            l1_errors(truth, model, cands) - bias,
            sensitivity=1.0,
            rho=rho_select,
            ledger=self.ledger_,
            noise=self.noise_,
            what=f"MWEM round {t}: select 1 of {len(cands)} marginals",
        )
        cl = cands[idx]
        rho_t = self.ledger_.rho_remaining if last else rho_measure
        self._measure(codes, cl, rho_t)
        model = self._estimate(model, self.pgm_iters if last else self.round_iters)
        self.history_.append(
            {"round": t, "clique": cl, "sigma": gaussian_scale(rho_t), "candidates": len(cands)}
        )
        return model

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
        one-way marginals, each column topped up towards its capped share (``_one_way_pass``)."""
        self._one_way_pass(codes, domain, None, self._noisy_total())
        self.reporter.note(f"MWEM: round {t}: nothing affordable, the rest measures one-ways")

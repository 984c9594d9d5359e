"""One-run auditing (Steinke, Nasr and Jagielski 2023): many canaries, ONE run of the generator.

For generators too slow for thousands of runs. ``m`` canaries ``x_1 .. x_m`` (distinct records of
the public domain, none equal to a base row, drawn from the audit seed) are each put in the
training table independently with probability 1/2 (``S_i`` in or out, also from the seed). The
generator runs ONCE on the base plus the included canaries. Every canary gets a score (how
strongly the output suggests it was in: ``count``, its exact copies in the output, then ``nn``
closeness as a tie-break; for our own synthesizers the white-box statistic of its cells, as in the
game). The auditor guesses "in" for the ``k_in`` highest scores and "out" for the ``k_out`` lowest
(both fixed before the run; ties broken by a seeded random order, independent of ``S``) and
abstains on the rest; ``W`` is the number of correct guesses among ``r = k_in + k_out``.

**Guarantee** (their Theorem 5.2, for add/remove neighbours as ours): if the generator is
(epsilon, delta)-DP, then with ``q = e^eps / (1 + e^eps)`` and every ``v``

    P[W >= v] <= P[Bin(r, q) >= v] + 2 m delta max_{1 <= i <= v} P[v > Bin(r, q) >= v - i] / i,

so the right side at the observed ``W`` is a p-value for "(epsilon, delta)-DP holds", and the
bound is the largest epsilon it rejects at ``1 - confidence``.

**Weaker than the game.** Each canary is one bit of evidence, read against the noise of all the
other canaries' effects (they share marginal cells), and ``r`` guesses cap the bound (all correct:
about ``log(r / 3)`` at 95%). A one-run bound far below the claim says little; one above it is a
violation at the stated confidence like any other. The many-run game (``audit.run_audit``) is the
tight audit; this is the cheap screen.
"""

from __future__ import annotations

import math
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from privsynth.domain import Domain
from privsynth.dpaudit.game import new_workdir
from privsynth.dpaudit.generators import (
    GeneratorSpec,
    decode_fixed,
    fit_privsynth,
    run_command,
)
from privsynth.dpaudit.scores import count_score, nn_score, whitebox_score
from privsynth.errors import InputError
from privsynth.progress import QUIET, Progress
from privsynth.schema import Schema


@dataclass(frozen=True, kw_only=True)
class OneRunConfig:
    """How many canaries and guesses; validated on construction."""

    canaries: int = 1000
    guess_in: int | None = None  # default: a tenth of the canaries
    guess_out: int = 0
    confidence: float = 0.95
    seed: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.canaries, bool) or not isinstance(self.canaries, int):
            raise InputError(
                f"--one-run must be an integer number of canaries, got {self.canaries!r}"
            )
        if self.canaries < 10:
            raise InputError(f"--one-run needs at least 10 canaries, got {self.canaries}")
        k_in = self.k_in
        if k_in < 0 or self.guess_out < 0 or not 1 <= k_in + self.guess_out <= self.canaries:
            raise InputError(
                f"guesses ({k_in} in, {self.guess_out} out) must be >= 0, at least 1 in all and "
                f"at most the {self.canaries} canaries"
            )
        if not 0.5 <= self.confidence < 1:
            raise InputError(f"--confidence must be in [0.5, 1), got {self.confidence}")

    @property
    def k_in(self) -> int:
        return self.canaries // 10 if self.guess_in is None else self.guess_in


def p_value(epsilon: float, m: int, r: int, v: int, delta: float) -> float:
    """P-value of "(epsilon, delta)-DP" after ``v`` correct of ``r`` guesses on ``m`` canaries."""
    q = 1.0 / (1.0 + math.exp(-epsilon))
    head = float(stats.binom.sf(v - 1, r, q))
    if delta == 0 or v == 0:
        return min(head, 1.0)
    below = stats.binom.cdf(v - 1, r, q) - stats.binom.cdf(v - 1 - np.arange(1, v + 1), r, q)
    alpha = float(np.max(below / np.arange(1, v + 1)))
    return min(head + 2.0 * m * delta * alpha, 1.0)


def one_run_epsilon(m: int, r: int, v: int, delta: float, confidence: float = 0.95) -> float:
    """The largest epsilon the one-run test rejects (0 when it rejects none)."""
    gamma = 1.0 - confidence
    if p_value(0.0, m, r, v, delta) > gamma:
        return 0.0
    lo, hi = 0.0, 1.0
    while p_value(hi, m, r, v, delta) <= gamma and hi < 64:
        lo, hi = hi, 2 * hi
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if p_value(mid, m, r, v, delta) <= gamma else (lo, mid)
    return lo


def draw_canaries(base: np.ndarray, domain: Domain, m: int, seed: int) -> np.ndarray:
    """``m`` distinct records of the domain, none a base row (uniform codes, seeded)."""
    rng = np.random.default_rng([seed, 11])
    sizes = np.asarray(domain.shape, dtype=np.int64)
    if float(np.prod(sizes.astype(float))) < 2 * (m + base.shape[0]):
        raise InputError(
            f"the domain has too few records ({float(np.prod(sizes.astype(float))):.0f}) for "
            f"{m} distinct canaries; use fewer (--one-run) or more columns"
        )
    seen = {tuple(r) for r in base.tolist()}
    out: list[tuple[int, ...]] = []
    while len(out) < m:
        for row in (rng.integers(0, sizes, size=(2 * m, sizes.size))).tolist():
            t = tuple(row)
            if t not in seen:
                seen.add(t)
                out.append(t)
                if len(out) == m:
                    break
    return np.asarray(out, dtype=np.int64)


def _scores(output: Any, canaries: np.ndarray, base: np.ndarray) -> np.ndarray:
    """Each canary's score in the one output: white-box where there is one, else count + nn."""
    fitted = output.fitted
    wb = [whitebox_score(fitted, base, x) for x in canaries] if fitted is not None else [None]
    if wb[0] is not None:
        return np.asarray(wb, dtype=float)
    synth = output.codes
    return np.array([count_score(synth, x) + nn_score(synth, x) / 1e3 for x in canaries])


@dataclass(frozen=True, kw_only=True)
class OneRunReport:
    """The one-run audit's result: guesses, the bound and the verdict."""

    generator: dict[str, Any]
    canaries: int
    included: int
    guesses: int
    correct: int
    epsilon_lb: float
    claim_epsilon: float | None
    delta: float
    confidence: float
    seconds: float

    @property
    def verdict(self) -> str:
        if self.claim_epsilon is None:
            return "no claim"
        return "violation" if self.epsilon_lb > self.claim_epsilon else "consistent"

    @property
    def exit_code(self) -> int:
        return 1 if self.verdict == "violation" else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "privsynth-dpaudit-onerun/1",
            "verdict": self.verdict,
            "claim": None
            if self.claim_epsilon is None
            else {"epsilon": self.claim_epsilon, "delta": self.delta},
            "epsilon_lower_bound": self.epsilon_lb,
            "confidence": self.confidence,
            "canaries": self.canaries,
            "included": self.included,
            "guesses": self.guesses,
            "correct": self.correct,
            "generator": self.generator,
            "seconds": round(self.seconds, 2),
            "method": "one run (Steinke, Nasr and Jagielski 2023, Theorem 5.2)",
        }

    def summary_lines(self) -> list[str]:
        lines = [
            f"dp-audit --one-run: {self.canaries} canaries ({self.included} included), one run; "
            f"{self.correct} of {self.guesses} guesses correct",
            f"epsilon lower bound {self.epsilon_lb:.3f} at delta {self.delta:g} "
            f"({100 * self.confidence:g}%; weaker than the many-run game)",
        ]
        if self.verdict == "violation":
            lines.append(
                f"VIOLATION: the bound {self.epsilon_lb:.3f} exceeds the claimed epsilon "
                f"{self.claim_epsilon:g}"
            )
        elif self.verdict == "consistent":
            lines.append("consistent with the claim (a lower bound does not prove the claim)")
        else:
            lines.append("no claim: the bound is the finding")
        return lines


def one_run_audit(
    spec: GeneratorSpec,
    base: np.ndarray,
    domain: Domain,
    *,
    config: OneRunConfig | None = None,
    schema: Schema | None = None,
    progress: Progress = QUIET,
) -> OneRunReport:
    """Audit ``spec`` with one run on ``base`` plus a random half of ``config.canaries`` canaries."""
    config = config or OneRunConfig()
    if spec.command is not None and schema is None:
        raise InputError("an external generator needs the schema (to write and read its tables)")
    base = np.asarray(base, dtype=np.int64)
    canaries = draw_canaries(base, domain, config.canaries, config.seed)
    rng = np.random.default_rng([config.seed, 12])
    inside = rng.random(config.canaries) < 0.5
    train = np.vstack([base, canaries[inside]])
    t0 = time.perf_counter()
    seed = int(rng.integers(0, 2**62))
    with progress.task("dp-audit one run", total=1) as advance:
        if spec.method is not None:
            noise_seed = None if spec.noise == "opendp" else seed
            output = fit_privsynth(spec, train, domain, noise_seed)
        else:
            assert schema is not None
            workdir = new_workdir()
            try:
                table = decode_fixed(train, schema)
                output = run_command(spec, table, schema, seed, Path(workdir))
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
        advance()
    order = np.lexsort((rng.random(config.canaries), _scores(output, canaries, base)))
    k_in, k_out = config.k_in, config.guess_out
    correct = int(inside[order[config.canaries - k_in :]].sum()) if k_in else 0
    correct += int((~inside[order[:k_out]]).sum())
    r = k_in + k_out
    eps = one_run_epsilon(config.canaries, r, correct, spec.delta, config.confidence)
    return OneRunReport(
        generator=spec.describe(),
        canaries=config.canaries,
        included=int(inside.sum()),
        guesses=r,
        correct=correct,
        epsilon_lb=eps,
        claim_epsilon=spec.epsilon,
        delta=spec.delta,
        confidence=config.confidence,
        seconds=time.perf_counter() - t0,
    )
